//! Durable state of a mimi provider, on SQLite (embedded, the default) or PostgreSQL (several
//! `mimi serve` processes may share one database).
//!
//! - accounts, bearer tokens (stored hashed) and devices (a user's clients);
//! - KeyPackages, each handed out at most once, the last-resort one kept;
//! - rooms: the hub's state of each room as an opaque snapshot with a version, changed only
//!   by compare-and-swap on that version, so the database, not a process's memory, orders a
//!   room's commits ([`Rooms::update_room`]);
//! - one delivery log per room (commits, proposals, messages, each with a sequence number)
//!   with each member client's acknowledged position, and a per-client inbox for what is not
//!   a room's yet (Welcomes).
//!
//! Every write is one transaction, committed before the call returns: what a caller
//! acknowledges is on disk (SQLite runs in WAL mode with `synchronous=FULL`), except a batch
//! of delivery acknowledgements alone, which the next flushed commit makes durable
//! (decision 0019).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod sql;
mod sqlite_writer;
mod store {
    pub mod accounts;
    pub mod blobs;
    pub mod consents;
    pub mod delivery;
    pub mod federation;
    pub mod key_packages;
    pub mod links;
    pub mod reports;
    pub mod rooms;
}

use mimi_policy::id::{ClientId, RoomId, UserId};

pub use sql::{Backend, Listener, Notifier, SqlStore, drop_schema, scratch_schema};
pub use store::accounts::Accounts;
pub use store::blobs::Blobs;
pub use store::consents::Consents;
pub use store::delivery::Delivery;
pub use store::federation::Federation;
pub use store::key_packages::KeyPackages;
pub use store::links::Links;
pub use store::reports::Reports;
pub use store::rooms::Rooms;

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The thing being created exists already.
    #[error("already exists: {0}")]
    Conflict(String),
    /// Not now: something must finish first (the message says what).
    #[error("{0}")]
    Busy(String),
    /// The thing named does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The room changed since the caller read it (another commit or proposal won).
    #[error("the room changed: it is at version {version}, epoch {epoch}")]
    Stale {
        /// The room's current version.
        version: u64,
        /// The room's current epoch.
        epoch: u64,
    },
    /// The database failed or holds something unreadable.
    #[error("database: {0}")]
    Backend(#[source] BackendError),
}

/// A database failure: what failed, and the driver's (or decoder's) error as the source.
#[derive(Debug, Clone)]
pub struct BackendError {
    what: String,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Some(source) if self.what.is_empty() => write!(f, "{source}"),
            Some(source) => write!(f, "{}: {source}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl StoreError {
    /// A database failure told in words, with no error behind it.
    pub fn backend(what: impl Into<String>) -> Self {
        Self::Backend(BackendError {
            what: what.into(),
            source: None,
        })
    }

    /// A database failure while doing `what`, caused by `source`.
    pub fn backend_from(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Backend(BackendError {
            what: what.into(),
            source: Some(std::sync::Arc::new(source)),
        })
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::backend_from("", e)
    }
}

/// What a room log entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// An accepted commit.
    Commit,
    /// A stored standalone proposal.
    Proposal,
    /// An application message.
    Message,
}

impl EntryKind {
    fn code(self) -> i64 {
        match self {
            Self::Commit => 1,
            Self::Proposal => 2,
            Self::Message => 3,
        }
    }

    fn from_code(code: i64) -> Result<Self, StoreError> {
        match code {
            1 => Ok(Self::Commit),
            2 => Ok(Self::Proposal),
            3 => Ok(Self::Message),
            n => Err(StoreError::backend(format!("unknown log entry kind {n}"))),
        }
    }
}

/// One entry of a room's delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The room.
    pub room: RoomId,
    /// Position in the room's log, from 1.
    pub seq: u64,
    /// What it is.
    pub kind: EntryKind,
    /// The epoch it was sent in.
    pub epoch: u64,
    /// The client (or system user) that sent it.
    pub sender: String,
    /// The MLS message.
    pub body: Vec<u8>,
}

/// A new entry for a room's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// What it is.
    pub kind: EntryKind,
    /// The client (or system user) that sent it.
    pub sender: String,
    /// The MLS message.
    pub body: Vec<u8>,
}

/// Messages for one room, sent in one epoch: one part of a [`Delivery::write_batch`].
#[derive(Debug, Clone, Copy)]
pub struct Append<'a> {
    /// The room.
    pub room: &'a RoomId,
    /// The epoch they were sent in.
    pub epoch: u64,
    /// The messages, in order.
    pub entries: &'a [NewEntry],
    /// A notification to send with the messages, when the database has listeners.
    pub announce: Option<Announce<'a>>,
}

/// A notification sent with an [`Append`] as it commits (PostgreSQL's `NOTIFY`), so that
/// listeners hear of the messages without a round trip to the database after it: sent if
/// and only if the room's log ended at `after` (the append's first position is
/// `after + 1`: what a payload naming positions was made for), and the append is
/// written. A database without listeners (SQLite) sends nothing.
#[derive(Debug, Clone, Copy)]
pub struct Announce<'a> {
    /// The channel.
    pub channel: &'a str,
    /// The payload.
    pub payload: &'a str,
    /// Where the room's log must end.
    pub after: u64,
}

/// What a [`Delivery::write_batch`] did.
#[derive(Debug)]
pub struct Written {
    /// For each append, its sequence numbers, or why nothing of it was written.
    pub appended: Vec<Result<Vec<u64>, StoreError>>,
    /// For each acknowledgement, false if the client is not in the room.
    pub acked: Vec<bool>,
}

/// What an inbox item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxKind {
    /// A Welcome to a room.
    Welcome,
    /// Another user asks the client's user for consent to add it (`body`: the requester's
    /// user ID).
    ConsentRequest,
    /// A user knocks on a room the client's user may let it into (`body`: the knocker's
    /// user ID).
    Knock,
    /// A member suggests a room to the client's user (`body`: the member's user ID).
    Suggestion,
}

/// One item of a client's inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    /// Position in the client's inbox.
    pub id: u64,
    /// What it is.
    pub kind: InboxKind,
    /// The room it is about (a Welcome's; a consent request's, unless it is for any room).
    pub room: Option<RoomId>,
    /// The Welcome (MLS message), or the requester's user ID.
    pub body: Vec<u8>,
    /// The ratchet tree of the epoch the Welcome joins; `None` while it waits for its
    /// commit's snapshot ([`Rooms::save_snapshot`]): such a Welcome is not to be delivered
    /// yet, nor anything after it, nor its room's entries.
    pub ratchet_tree: Option<Vec<u8>>,
}

/// Who a bearer token speaks for: a user, and one of its clients for a device's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    /// The user.
    pub user: UserId,
    /// The client, for a device's token.
    pub client: Option<ClientId>,
}

/// An abuse report as a member sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    /// The room it is about.
    pub room: RoomId,
    /// Who reports.
    pub reporter: UserId,
    /// Whom it reports: a user's or a client's URI.
    pub alleged_abuser: String,
    /// The kind of abuse, a stable code.
    pub reason: String,
    /// For people; may be empty.
    pub note: String,
    /// The room log entry it is about, if any.
    pub seq: Option<u64>,
}

/// An abuse report as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Its ID.
    pub id: u64,
    /// When it came, Unix seconds.
    pub created_at: u64,
    /// What was reported.
    pub report: NewReport,
}

/// A room as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    /// The room.
    pub id: RoomId,
    /// Bumped by every change of the hub state.
    pub version: u64,
    /// The MLS epoch.
    pub epoch: u64,
    /// The last sequence number of its log (0 when empty).
    pub last_seq: u64,
    /// The hub's state of the room as of log entry `snapshot_seq`.
    pub snapshot: Vec<u8>,
    /// The log entry the snapshot includes (0: the room as created).
    pub snapshot_seq: u64,
    /// The handshakes logged after the snapshot, in order: the room's state is the snapshot
    /// with these replayed onto it (usually none: the snapshot is refreshed after each one).
    pub unsettled: Vec<LoggedHandshake>,
}

/// A handshake of a room's log that its snapshot does not include yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedHandshake {
    /// Its place in the log.
    pub seq: u64,
    /// The commit or proposal (an MLS message).
    pub body: Vec<u8>,
    /// The committer's GroupInfo for the new epoch (commits).
    pub group_info: Option<Vec<u8>>,
    /// A Welcome of this commit waits for the ratchet tree of its epoch.
    pub welcome_waiting: bool,
}

/// A room's refreshed snapshot, and the ratchet trees its waiting Welcomes join with.
#[derive(Debug, Clone)]
pub struct RoomSnapshot {
    /// The room.
    pub id: RoomId,
    /// The last log entry the snapshot includes.
    pub seq: u64,
    /// The hub's state of the room after that entry.
    pub snapshot: Vec<u8>,
    /// For commits (by log entry) whose Welcomes wait: the ratchet tree of the epoch each
    /// starts.
    pub welcome_trees: Vec<(u64, Vec<u8>)>,
}

/// What the directory shows of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The room.
    pub id: RoomId,
    /// Its room document (JSON).
    pub document: String,
}

/// A new room.
#[derive(Debug, Clone)]
pub struct NewRoom {
    /// The room.
    pub id: RoomId,
    /// The MLS epoch it starts at.
    pub epoch: u64,
    /// The hub's state of the room.
    pub snapshot: Vec<u8>,
    /// Its room document (JSON).
    pub document: String,
    /// Listed in the directory.
    pub discoverable: bool,
    /// The clients in its group (the creator's).
    pub members: Vec<ClientId>,
    /// The TR39 skeleton of its name (`mimi_policy::name::skeleton`): no two rooms share
    /// one. `None` for a room without a name of its own (the `im:` forms).
    pub skeleton: Option<String>,
}

/// A change of a room's hub state, applied only if the room is still at `expected_version`.
#[derive(Debug, Clone)]
pub struct RoomUpdate {
    /// The room.
    pub id: RoomId,
    /// The version the change was computed from.
    pub expected_version: u64,
    /// The epoch after the change.
    pub epoch: u64,
    /// The room document after the change.
    pub document: String,
    /// Listed in the directory after the change.
    pub discoverable: bool,
    /// What goes into the room's log (the commit or the proposal).
    pub entry: NewEntry,
    /// The committer's GroupInfo for the new epoch, logged with a commit so that the room
    /// can be replayed from an older snapshot.
    pub group_info: Option<Vec<u8>>,
    /// Clients the change adds to the group: they receive what follows the entry. Each
    /// must be a registered device ([`StoreError::NotFound`] otherwise, nothing written).
    pub added: Vec<ClientId>,
    /// Clients the change removes: they receive the entry (so they learn of their removal)
    /// and nothing after it.
    pub removed: Vec<ClientId>,
    /// Users the change gives a place in the room (added, or banned): their knocks on it
    /// are answered and go (as those of the added clients' users always do).
    pub answered_knocks: Vec<UserId>,
    /// A Welcome for the added clients, put in each one's inbox. It is delivered once
    /// [`Rooms::save_snapshot`] has given it the ratchet tree of its epoch.
    pub welcome: Option<Vec<u8>>,
}

/// A user's consent to being added to rooms by another user, asked for or given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Who asks (or was allowed) to add the target.
    pub requester: UserId,
    /// The room it is for; `None`: any room.
    pub room: Option<RoomId>,
    /// Given (true) or only asked for.
    pub granted: bool,
}

/// A deleted client's removal from a room, not done yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRemoval {
    /// The room.
    pub room: RoomId,
    /// The deleted client.
    pub client: ClientId,
    /// The epoch of the hub's last Remove proposal for it, if any.
    pub proposed_epoch: Option<u64>,
}

/// A room a client is in, with what it has acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The room.
    pub room: RoomId,
    /// The last sequence number the client acknowledged.
    pub acked_seq: u64,
}

/// Where a client is in one room's log, and where the log ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The room.
    pub room: RoomId,
    /// The last sequence number the client acknowledged.
    pub acked_seq: u64,
    /// For a removed client, the last entry it receives (the commit removing it).
    pub until_seq: Option<u64>,
    /// The room log's last sequence number.
    pub last_seq: u64,
}

/// The provider's durable state, one trait per responsibility. [`SqlStore`] implements them
/// on SQLite and PostgreSQL; the conformance suite (`tests/conformance.rs`) runs against
/// both. Bring the methods into scope with `use mimi_store::prelude::*`.
pub trait Store:
    Accounts + KeyPackages + Consents + Rooms + Delivery + Reports + Links + Blobs + Federation
{
}

impl<T: Accounts + KeyPackages + Consents + Rooms + Delivery + Reports + Links + Blobs + Federation>
    Store for T
{
}

/// The store's traits, for their methods: `use mimi_store::prelude::*`.
pub mod prelude {
    pub use crate::{
        Accounts as _, Blobs as _, Consents as _, Delivery as _, Federation as _, KeyPackages as _,
        Links as _, Reports as _, Rooms as _, Store as _,
    };
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[tokio::test]
    async fn a_database_failure_keeps_the_drivers_error_as_its_source() {
        let Err(err) = SqlStore::open("sqlite:///proc/mimi-none/x.db").await else {
            panic!("opened a database where none can be");
        };
        let StoreError::Backend(backend) = &err else {
            panic!("not a database failure: {err:?}");
        };
        assert!(backend.source().is_some(), "{err}");
        assert!(err.source().is_some(), "{err}");
    }
}
