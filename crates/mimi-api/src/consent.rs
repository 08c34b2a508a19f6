//! Consent to be added to rooms.

use serde::{Deserialize, Serialize};

/// `POST /v1/consent/{request,grant,revoke}`: the other user, and the room (none: any room).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    /// The other user.
    pub user: String,
    /// The room (a URI, or a bare name on the provider); none: any room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// One consent, asked for or given, as the target sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentView {
    /// The other user.
    pub user: String,
    /// The room; absent: any room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// Whether it is given (else only asked for).
    pub granted: bool,
}

/// The caller's consents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consents {
    /// Every consent asked of or given by the caller.
    pub consents: Vec<ConsentView>,
}
