//! Rooms: the provider, creation, the directory, handshakes, messages, GroupInfo, knocks.

use serde::{Deserialize, Serialize};

/// `GET /v1/provider`: the provider as rooms name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Provider {
    /// Its domain.
    pub domain: String,
    /// The `ExternalSender` (TLS, base64) every room it hosts must list.
    pub external_sender: String,
}

/// `POST /v1/rooms`: the creator's new group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    /// The group's GroupInfo (`MLSMessage`, base64).
    pub group_info: String,
    /// Its ratchet tree (TLS, base64).
    pub ratchet_tree: String,
    /// Starting a vacant persistent room's group again: the join link and room password
    /// the first one back presents, as for `POST .../group-info` (both may be absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refound: Option<JoinInfo>,
}

/// A room and its epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomCreated {
    /// The room, `mimi://domain/r/name`.
    pub room: String,
    /// Its epoch.
    pub epoch: u64,
}

/// One room of the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Listed {
    /// The room.
    pub room: String,
    /// Its room document.
    pub document: serde_json::Value,
}

/// `GET /v1/directory`: the discoverable rooms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Directory {
    /// Every discoverable room.
    pub rooms: Vec<Listed>,
}

/// `POST .../commits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Commit {
    /// The commit, a PublicMessage (base64).
    pub commit: String,
    /// The committer's GroupInfo for the new epoch (base64).
    pub group_info: String,
    /// The Welcome for the clients it adds (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<String>,
}

/// `POST .../proposals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// The proposal, a PublicMessage (base64).
    pub proposal: String,
}

/// A handshake's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Handshake {
    /// The room's epoch after it.
    pub epoch: u64,
    /// Its place in the room's log.
    pub seq: u64,
}

/// `POST .../messages`: one message, or several sent together; all are stored or none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// One PrivateMessage (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Several (1 to 100), instead of `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<String>>,
}

/// Stored messages: `seq` for one, `seqs` for several.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sent {
    /// The message's place in the room's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The messages' places, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seqs: Option<Vec<u64>>,
}

/// What a joiner needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupInfo {
    /// The GroupInfo of the current epoch (base64).
    pub group_info: String,
    /// The ratchet tree (base64).
    pub ratchet_tree: String,
    /// The current epoch.
    pub epoch: u64,
    /// The team, workgroup and group claims the provider asserts about the caller, signed
    /// for its external commit (base64 `ProviderClaims`; absent when it asserts none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
    /// For a vacant persistent room (its last member left), the policy entries its next
    /// group starts from (TLS `Entry entries<V>`, base64); `group_info` and `ratchet_tree`
    /// are empty then, and the caller starts the group again (`POST /v1/rooms` with
    /// `refound`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vacant: Option<String>,
}

/// `POST /v1/rooms/{provider}/{room}/group-info`: what a joiner presents to be given the
/// GroupInfo (the plain `GET` presents nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JoinInfo {
    /// A join link of the room (one of its `join_links`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The room's password, with the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A knock, recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Knocked {
    /// The room.
    pub room: String,
    /// The knocker.
    pub user: String,
    /// How many users were told now (those the room lets accept knocks); 0 when the knock
    /// was already pending and they were told then.
    pub told: usize,
}

/// `POST /v1/rooms/{provider}/{room}/suggest`: suggest the room to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Suggest {
    /// The user (`bob`, `bob@domain` or a URI).
    pub user: String,
}

/// A room suggested. The same answer whether the user exists or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suggested {
    /// The room.
    pub room: String,
    /// The user it was suggested to.
    pub user: String,
}

/// `POST /v1/rooms/{provider}/{room}/vacate`: the last member left a persistent room, which
/// stays, empty, with its policy and participant list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vacated {
    /// The room.
    pub room: String,
    /// Always true.
    pub vacant: bool,
}

/// `POST /v1/rooms/{provider}/{room}/attachments`: the attachment kept, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Uploaded {
    /// Its ID in the room (`GET .../attachments/{id}`).
    pub id: String,
    /// Its size in bytes.
    pub size: u64,
}

/// `DELETE /v1/rooms/{provider}/{room}`: the room is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Destroyed {
    /// The room.
    pub room: String,
    /// Always true.
    pub destroyed: bool,
}

/// A knock, withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Withdrawn {
    /// The room.
    pub room: String,
    /// The knocker.
    pub user: String,
    /// Always true.
    pub withdrawn: bool,
}

/// A knock, declined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Declined {
    /// The room.
    pub room: String,
    /// The knocker.
    pub user: String,
    /// Always true.
    pub declined: bool,
}

/// One pending knock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingKnock {
    /// The knocker.
    pub user: String,
    /// When it knocked, Unix seconds.
    pub since: u64,
}

/// `GET /v1/rooms/{provider}/{room}/knocks`: the pending knocks the caller may answer,
/// oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Knocks {
    /// The room.
    pub room: String,
    /// The knocks.
    pub knocks: Vec<PendingKnock>,
}

/// The kinds of abuse a report names: `unreadable-commit` (a change the hub accepted that
/// the reporting device could not process; it rejoined), `spam`, `harassment`, `other`.
pub const REPORT_REASONS: &[&str] = &["unreadable-commit", "spam", "harassment", "other"];

/// Longest note of an abuse report, bytes.
pub const MAX_REPORT_NOTE: usize = 2000;

/// `POST /v1/rooms/{provider}/{room}/reports`: an abuse report to the room's hub
/// (protocol-06 §5.9); the reporting user is the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AbuseReport {
    /// Whom it reports: a user (`bob@example.com`) or a client (`mimi://example.com/d/bob/phone`).
    pub alleged_abuser: String,
    /// The kind of abuse, one of [`REPORT_REASONS`].
    pub reason: String,
    /// For people; may be empty; at most [`MAX_REPORT_NOTE`] bytes.
    #[serde(default)]
    pub note: String,
    /// The room log entry it is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// One abuse report as the provider keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportView {
    /// Its ID.
    pub id: u64,
    /// When it came, Unix seconds.
    pub created_at: u64,
    /// The room.
    pub room: String,
    /// Who reported.
    pub reporter: String,
    /// As reported.
    pub alleged_abuser: String,
    /// As reported.
    pub reason: String,
    /// As reported.
    pub note: String,
    /// As reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// `GET /v1/reports` (operator): the latest abuse reports, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reports {
    /// The reports.
    pub reports: Vec<ReportView>,
}
