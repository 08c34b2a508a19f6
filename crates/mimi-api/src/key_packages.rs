//! KeyPackages: a device uploads its own, others claim them to add its user.

use serde::{Deserialize, Serialize};

/// `POST /v1/key-packages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// KeyPackages (`MLSMessage`, base64), each used once.
    pub key_packages: Vec<String>,
    /// A last-resort KeyPackage, handed out when the others are gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_resort: Option<String>,
}

/// How many were stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stored {
    /// KeyPackages stored.
    pub stored: usize,
}

/// `POST /v1/key-packages/claim`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The user whose devices' KeyPackages are claimed.
    pub user: String,
    /// The room the KeyPackages are for (consent may be for that room only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// One KeyPackage of one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Claimed {
    /// The client.
    pub client: String,
    /// Its KeyPackage (`MLSMessage`, base64).
    pub key_package: String,
}

/// KeyPackages for a user's devices, one each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimedAll {
    /// One per device.
    pub key_packages: Vec<Claimed>,
}

/// `GET /v1/key-packages`: how many of the calling device's KeyPackages are left to hand
/// out (its last-resort one aside), so that it uploads more before they run out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyPackageCount {
    /// Unused KeyPackages, not counting the last-resort one.
    pub available: u64,
}
