//! Delivery: what a device has not acknowledged (`/v1/sync`, `/v1/events`), and its
//! acknowledgements.

use serde::{Deserialize, Serialize};

/// `GET /v1/sync?limit=N&wait=S`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct SyncQuery {
    /// Most entries in the answer.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Seconds to wait for something when nothing is pending (long poll, at most 30).
    #[serde(default)]
    pub wait: Option<u64>,
}

/// A Welcome for the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Welcome {
    /// Its inbox ID, to acknowledge.
    pub id: u64,
    /// The room it joins.
    pub room: String,
    /// The Welcome (base64).
    pub welcome: String,
    /// The ratchet tree of the epoch the Welcome joins (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratchet_tree: Option<String>,
}

/// Another user asks the device's user for consent to add it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentRequest {
    /// Its inbox ID, to acknowledge.
    pub id: u64,
    /// Who asks.
    pub user: String,
    /// For which room; absent: any room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// A user knocks on a room the device's user may let it into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Knock {
    /// Its inbox ID, to acknowledge.
    pub id: u64,
    /// The room.
    pub room: String,
    /// The knocker.
    pub user: String,
}

/// A member suggests a room to the device's user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suggestion {
    /// Its inbox ID, to acknowledge.
    pub id: u64,
    /// The room.
    pub room: String,
    /// The member who suggests it.
    pub user: String,
}

/// One entry of a room's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    /// The room.
    pub room: String,
    /// Its place in the room's log.
    pub seq: u64,
    /// `commit`, `proposal` or `message`.
    pub kind: String,
    /// The epoch it belongs to.
    pub epoch: u64,
    /// The sending client (or the provider, for its own proposals).
    pub sender: String,
    /// The MLS message (base64).
    pub message: String,
}

/// What the device has not acknowledged: its Welcomes, consent requests and knocks (each
/// acknowledged by ID), then room log entries (acknowledged by position).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncBatch {
    /// Welcomes.
    pub welcomes: Vec<Welcome>,
    /// Consent requests; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<ConsentRequest>,
    /// Knocks; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub knocks: Vec<Knock>,
    /// Rooms members suggest; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
    /// Room log entries.
    pub entries: Vec<Entry>,
}

/// One room position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoomAck {
    /// The room.
    pub room: String,
    /// Everything up to this position is received.
    pub seq: u64,
}

/// `POST /v1/ack`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Ack {
    /// Every Welcome up to this ID (IDs can become visible out of order on PostgreSQL:
    /// prefer `welcomes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<u64>,
    /// These inbox items (Welcomes, consent requests and knocks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub welcomes: Vec<u64>,
    /// Room logs, each up to a position.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<RoomAck>,
}
