//! Durable state of a mimi provider, on SQLite (embedded, the default) or PostgreSQL (several
//! `mimi serve` processes may share one database).
//!
//! - accounts, bearer tokens (stored hashed) and devices (a user's clients);
//! - KeyPackages, each handed out at most once, the last-resort one kept;
//! - rooms: the hub's state of each room as an opaque snapshot with a version, changed only
//!   by compare-and-swap on that version, so the database, not a process's memory, orders a
//!   room's commits ([`Store::update_room`]);
//! - one delivery log per room (commits, proposals, messages, each with a sequence number)
//!   with each member client's acknowledged position, and a per-client inbox for what is not
//!   a room's yet (Welcomes).
//!
//! Every write is one transaction, committed before the call returns: what a caller
//! acknowledges is on disk (SQLite runs in WAL mode with `synchronous=FULL`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod sql;
mod sqlite_writer;

use std::future::Future;

use mimi_policy::id::{ClientId, RoomId, UserId};

pub use sql::{Backend, SqlStore};

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
    Backend(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Backend(e.to_string())
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
            n => Err(StoreError::Backend(format!("unknown log entry kind {n}"))),
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

/// Messages for one room, sent in one epoch: one part of a [`Store::write_batch`].
#[derive(Debug, Clone, Copy)]
pub struct Append<'a> {
    /// The room.
    pub room: &'a RoomId,
    /// The epoch they were sent in.
    pub epoch: u64,
    /// The messages, in order.
    pub entries: &'a [NewEntry],
}

/// What a [`Store::write_batch`] did.
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
    /// The ratchet tree of the epoch the Welcome joins.
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
    /// The hub's state of the room.
    pub snapshot: Vec<u8>,
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
    /// The hub's state after the change.
    pub snapshot: Vec<u8>,
    /// The room document after the change.
    pub document: String,
    /// Listed in the directory after the change.
    pub discoverable: bool,
    /// What goes into the room's log (the commit or the proposal).
    pub entry: NewEntry,
    /// Clients the change adds to the group: they receive what follows the entry. Each
    /// must be a registered device ([`StoreError::NotFound`] otherwise, nothing written).
    pub added: Vec<ClientId>,
    /// Clients the change removes: they receive the entry (so they learn of their removal)
    /// and nothing after it.
    pub removed: Vec<ClientId>,
    /// Users the change gives a place in the room (added, or banned): their knocks on it
    /// are answered and go (as those of the added clients' users always do).
    pub answered_knocks: Vec<UserId>,
    /// A Welcome for the added clients, put in each one's inbox.
    pub welcome: Option<Vec<u8>>,
    /// The ratchet tree after the change, stored with the Welcome.
    pub ratchet_tree: Option<Vec<u8>>,
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

/// The provider's durable state. [`SqlStore`] implements it on SQLite and PostgreSQL; the
/// conformance suite (`tests/conformance.rs`) runs against both.
pub trait Store: Send + Sync {
    /// Creates a user with its password hash; [`StoreError::Conflict`] if it exists.
    fn create_user(
        &self,
        user: &UserId,
        password_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The password hash of a user.
    fn password_hash(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// The provider's signing key for `domain`: the one stored, or `fresh` stored now if there
    /// is none (the first of several processes to start wins, all get the same key).
    fn provider_key(
        &self,
        domain: &str,
        fresh: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;

    /// Records a bearer token (by its hash) for a user, or for one of its clients.
    fn insert_token(
        &self,
        token_hash: &str,
        owner: &TokenOwner,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Who a token (by its hash) belongs to.
    fn token_owner(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<TokenOwner>, StoreError>> + Send;

    /// Registers a client under its user; [`StoreError::Conflict`] if it exists,
    /// [`StoreError::NotFound`] if the user does not.
    fn add_device(&self, client: &ClientId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A user's clients.
    fn devices(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<ClientId>, StoreError>> + Send;

    /// Deletes a client with its KeyPackages, tokens, inbox and room positions, and records
    /// its removal from each room it was in as pending (see [`Store::pending_removals`]), in
    /// one transaction. Returns those rooms; `None` if the client did not exist. Until its
    /// removals are done, [`Store::add_device`] refuses the client's name.
    fn remove_device(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<Option<Vec<RoomId>>, StoreError>> + Send;

    /// Up to `limit` removals of deleted clients from rooms that are not done yet, those
    /// never proposed first.
    fn pending_removals(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PendingRemoval>, StoreError>> + Send;

    /// Records that the hub proposed a pending removal in `epoch`.
    fn removal_proposed(
        &self,
        room: &RoomId,
        client: &ClientId,
        epoch: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the removal of a deleted client from a room as done (a commit removed it, or
    /// the room no longer holds it). [`Store::update_room`] does this for the clients its
    /// commit removes.
    fn finish_removal(
        &self,
        room: &RoomId,
        client: &ClientId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a client's KeyPackages (`true`: the last-resort one, handed out every time no
    /// other is left).
    fn add_key_packages(
        &self,
        client: &ClientId,
        key_packages: &[(Vec<u8>, bool)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Hands out one of a client's KeyPackages: an unused one, each at most once, else the
    /// newest last-resort one; `None` if it has neither.
    fn claim_key_package(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// How many unused, not last-resort KeyPackages a client has.
    fn key_package_count(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Records that `requester` asks `target` for consent to add it (to `room`, or any room),
    /// and tells each of the target's devices ([`InboxKind::ConsentRequest`]); an existing
    /// request or grant stays as it is, and is not told again. [`StoreError::NotFound`] if
    /// the target does not exist.
    fn request_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// `target` lets `requester` add it (to `room`, or any room), whether asked or not.
    fn grant_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Withdraws a grant or refuses a request; false if there was neither.
    fn revoke_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// What `target` was asked and has granted.
    fn consents(
        &self,
        target: &UserId,
    ) -> impl Future<Output = Result<Vec<Consent>, StoreError>> + Send;

    /// Records `user`'s knock on `room` and tells the devices of `notify` (the users who
    /// may let it in) through their inboxes ([`InboxKind::Knock`]), once per knock; false
    /// if the knock was already pending. [`StoreError::NotFound`] for an unknown room or
    /// user.
    fn knock(
        &self,
        room: &RoomId,
        user: &UserId,
        notify: &[UserId],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Withdraws `user`'s pending knock on `room`, with the notifications of it that no
    /// device has received yet; false if there was none.
    fn withdraw_knock(
        &self,
        room: &RoomId,
        user: &UserId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Whether `user` has a pending knock on `room` (a commit adding the user ends it).
    fn has_knocked(
        &self,
        room: &RoomId,
        user: &UserId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records that `requester` is handed `target`'s KeyPackages (for `room`, or any) under
    /// the provider's allowance, without consent, if it holds fewer than `allowance` such
    /// claims (from the last day); false, recording nothing, if not. Counted and recorded
    /// atomically: concurrent claims cannot pass the allowance together.
    fn record_allowance_claim(
        &self,
        requester: &UserId,
        target: &UserId,
        room: Option<&RoomId>,
        allowance: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// How many claims of `target`'s KeyPackages under the allowance `requester` holds
    /// unused (from the last day): all of them with `room` `None`, else those for `room`
    /// or any room.
    fn allowance_claims(
        &self,
        requester: &UserId,
        target: &UserId,
        room: Option<&RoomId>,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Ends `requester`'s claims of `target`'s KeyPackages under the allowance for `room`
    /// and for any room (a commit of `requester` added `target` to `room`).
    fn use_allowance_claims(
        &self,
        requester: &UserId,
        target: &UserId,
        room: &RoomId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether `target` lets `requester` add it to `room` (a grant for that room or for any
    /// room; with `room` `None`, only a grant for any room counts).
    fn has_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Creates a room at version 1; [`StoreError::Conflict`] if it exists.
    fn create_room(&self, room: &NewRoom) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A room's record.
    fn load_room(
        &self,
        id: &RoomId,
    ) -> impl Future<Output = Result<Option<RoomRecord>, StoreError>> + Send;

    /// A room's current version and epoch.
    fn room_version(
        &self,
        id: &RoomId,
    ) -> impl Future<Output = Result<Option<(u64, u64)>, StoreError>> + Send;

    /// Applies a change to a room's hub state if the room is still at the version it was
    /// computed from, appending its entry to the log, updating the members, putting the
    /// Welcome in the added clients' inboxes and ending the added users' knocks, in one
    /// transaction. Returns the entry's
    /// sequence number; [`StoreError::Stale`] (nothing written) if another change won.
    fn update_room(
        &self,
        update: &RoomUpdate,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Appends application messages sent in `epoch`, if the room is still in that epoch;
    /// returns their sequence numbers, or [`StoreError::Stale`] (nothing written).
    fn append_messages(
        &self,
        room: &RoomId,
        epoch: u64,
        messages: &[NewEntry],
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;

    /// Appends (each as [`Store::append_messages`]: one whose room left its epoch gets
    /// [`StoreError::Stale`] and writes nothing, the others are written) and
    /// acknowledgements (as [`Store::ack`]) in one transaction: one flush to disk covers
    /// them all. An error of the whole batch writes nothing.
    fn write_batch(
        &self,
        appends: &[Append<'_>],
        acks: &[(ClientId, RoomId, u64)],
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// Up to `limit` entries of a room's log after `after_seq`, in order.
    fn read_log(
        &self,
        room: &RoomId,
        after_seq: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LogEntry>, StoreError>> + Send;

    /// The rooms a client is in (not those it was removed from).
    fn memberships(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<Vec<Membership>, StoreError>> + Send;

    /// The client's position in each room it receives (also those it is being removed
    /// from), ordered by room, with each log's end: what it has pending, without reading
    /// the entries.
    fn positions(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<Vec<Position>, StoreError>> + Send;

    /// Up to `limit` log entries a client has not acknowledged, over all its rooms, in order
    /// within each room.
    fn pending(
        &self,
        client: &ClientId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LogEntry>, StoreError>> + Send;

    /// Acknowledges rooms' logs, each `(client, room, seq)` up to `seq` (a position never
    /// moves back), in one transaction; for each, false if the client is not in the room. A
    /// removed client that acknowledges the commit removing it leaves the room's delivery.
    fn ack(
        &self,
        acks: &[(ClientId, RoomId, u64)],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;

    /// A client's inbox after `after_id`.
    fn inbox(
        &self,
        client: &ClientId,
        after_id: u64,
    ) -> impl Future<Output = Result<Vec<InboxItem>, StoreError>> + Send;

    /// Deletes a client's inbox items up to `id`.
    fn ack_inbox(
        &self,
        client: &ClientId,
        id: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes these items of a client's inbox.
    fn ack_inbox_items(
        &self,
        client: &ClientId,
        ids: &[u64],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Room log entries not yet acknowledged, summed over every member device.
    fn delivery_backlog(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The discoverable rooms, by ID.
    fn directory(&self) -> impl Future<Output = Result<Vec<DirectoryEntry>, StoreError>> + Send;
}
