//! Accounts and devices.

use serde::{Deserialize, Serialize};

/// `POST /v1/accounts` and `POST /v1/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// A bare name on the provider, `name@domain` or `mimi://domain/u/name`.
    pub user: String,
    /// The account's password.
    pub password: String,
}

/// An account's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    /// The user, `mimi://domain/u/name`.
    pub user: String,
    /// The account's bearer token. Secret.
    pub token: String,
}

/// `POST /v1/account/pseudonyms`: the caller's pseudonym in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PseudonymRequest {
    /// The room, `mimi://domain/r/name`.
    pub room: String,
}

/// `POST /v1/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// The device's name, unique in the account.
    pub name: String,
}

/// A registered device and its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    /// The client, `mimi://domain/d/user/device`.
    pub client: String,
    /// The device's bearer token. Secret.
    pub token: String,
}

/// The account's devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Devices {
    /// Their client URIs.
    pub devices: Vec<String>,
}

/// `GET /v1/account/rooms`: the rooms of this provider where the account has a device (and,
/// asked by a device, that device has not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountRooms {
    /// The rooms' URIs.
    pub rooms: Vec<String>,
}

/// `POST /v1/account/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The account's password now.
    pub password: String,
    /// The password from now on.
    pub new_password: String,
}

/// `POST /v1/account/revoke-tokens`: the account's password, asked again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Reauthenticate {
    /// The account's password.
    pub password: String,
}
