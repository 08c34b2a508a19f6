//! Every change to a room takes one path: **stage, decide, write, merge**.
//!
//! 1. Stage: the hub checks the handshake against the room as this process holds it (locked
//!    and as recent as the database) and says what it would do (`mimi_mls::hub::Staged`),
//!    changing nothing.
//! 2. Decide: what only the provider knows (consent, knocks, the allowance) is handed to the
//!    policy engine (`mimi_policy::host::add_at_commit`) for every user the commit adds.
//! 3. Write: one transaction compares the room's version and stores its next state, the
//!    log entry, the members, the Welcomes and the answered knocks.
//! 4. Merge: only then does the cached room take the staged state; its snapshot is then
//!    refreshed, off the transaction (until it is, the room is its older snapshot with the
//!    log entry replayed).
//!
//! A refusal at any step leaves the cached room as it was. When another process changed the
//! room first, the write is refused as stale and the whole path runs again on the room as
//! the database now has it (usually ending `wrong-epoch`). Federation's relayed handshakes
//! will take this path too.

use mimi_mls::hub::{Accepted, Staged};
use mimi_policy::host::{AddFacts, add_at_commit, handshake_visible_to};
use mimi_policy::id::{ClientId, RoomId, UserId};
use mimi_store::prelude::*;
use mimi_store::{EntryKind, NewEntry, RoomSnapshot, RoomUpdate, StoreError};

use crate::error::ApiError;
use crate::routes::document;
use crate::state::{AppState, LoadedRoom};

/// How often a change is run again against a room another process changed meanwhile.
pub const RETRIES: usize = 3;

/// A handshake as a client submitted it.
pub struct Submitted {
    /// The commit or proposal, an MLS message.
    pub message: Vec<u8>,
    /// The committer's GroupInfo for the new epoch (commits only).
    pub group_info: Option<Vec<u8>>,
    /// The Welcome for the clients a commit adds.
    pub welcome: Option<Vec<u8>>,
}

/// Where a stored handshake stands: the room's epoch after it and its place in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The room's epoch.
    pub epoch: u64,
    /// The log entry's sequence number.
    pub seq: u64,
}

/// Takes `client`'s handshake into room `id`: stage, decide, write, merge.
pub async fn submit(
    state: &AppState,
    id: &RoomId,
    client: &ClientId,
    submitted: &Submitted,
) -> Result<Stored, ApiError> {
    for _ in 0..RETRIES {
        let mut room = state.room(id).await?;
        // Before the message is read: a hidden room answers an outsider as a missing one.
        if !handshake_visible_to(room.hub.policy(), client.user()).is_allowed() {
            return Err(ApiError::NoRoom(id.clone()));
        }
        let staged = room.hub.stage_as(
            &state.hub,
            client,
            &submitted.message,
            submitted.group_info.as_deref(),
        )?;
        for newcomer in staged.newcomers() {
            decide_newcomer(state, &room, id, client.user(), newcomer).await?;
        }
        // Another provider's device comes in by a KeyPackage its provider handed out
        // (keyMaterial), never by one the committer made in its name.
        for (added, reference) in staged.added_key_package_refs(&state.hub) {
            if added.user().domain() != state.domain.domain()
                && !state
                    .store
                    .peer_key_package_known(&added, &reference)
                    .await?
            {
                return Err(ApiError::forbidden(
                    "unknown-key-package",
                    format!(
                        "{added} is added with a KeyPackage its provider did not hand out; \
                         claim its KeyPackages first"
                    ),
                ));
            }
        }
        let entry = NewEntry {
            kind: match staged.accepted() {
                Accepted::Commit { .. } => EntryKind::Commit,
                Accepted::Proposal => EntryKind::Proposal,
            },
            sender: client.to_string(),
            body: submitted.message.clone(),
        };
        let welcome = submitted.welcome.clone();
        let newcomers = staged.newcomers().to_vec();
        if let Some(stored) = write_and_merge(state, id, &mut room, staged, entry, welcome).await? {
            drop(room);
            // KeyPackages claimed under the allowance are used now.
            for user in &newcomers {
                if let Err(e) = state
                    .store
                    .use_allowance_claims(client.user(), user, id)
                    .await
                {
                    tracing::warn!(error = %e, "ending allowance claims");
                }
            }
            return Ok(stored);
        }
    }
    Err(ApiError::Busy)
}

/// Decides whether `committer` may add `newcomer` to the room, from the provider's facts.
async fn decide_newcomer(
    state: &AppState,
    room: &LoadedRoom,
    id: &RoomId,
    committer: &UserId,
    newcomer: &UserId,
) -> Result<(), ApiError> {
    let facts = AddFacts {
        consent: state
            .store
            .has_consent(newcomer, committer, Some(id))
            .await?,
        knocked: state.store.has_knocked(id, newcomer).await?,
        allowance_claims: state
            .store
            .allowance_claims(committer, newcomer, Some(id))
            .await?,
    };
    let decision = add_at_commit(room.hub.policy(), committer, newcomer, facts);
    if decision.is_allowed() {
        Ok(())
    } else {
        Err(crate::routes::consent::consent_required(
            decision,
            committer,
            newcomer,
            Some(id),
        ))
    }
}

/// Writes a staged change with its log entry in one transaction, if the room is still at
/// the version `room` was read at, then merges it into `room` and refreshes the room's
/// snapshot (with the ratchet tree the change's Welcome waits for). `None`: another process
/// changed the room first, and `room` is left as it was (the next read replaces it).
pub async fn write_and_merge(
    state: &AppState,
    id: &RoomId,
    room: &mut LoadedRoom,
    staged: Staged,
    entry: NewEntry,
    welcome: Option<Vec<u8>>,
) -> Result<Option<Stored>, ApiError> {
    let after = staged.room();
    let update = RoomUpdate {
        id: id.clone(),
        expected_version: room.version,
        epoch: staged.epoch(),
        document: document(after),
        discoverable: after.components().base.discoverable.0,
        entry,
        group_info: staged.group_info().map(<[u8]>::to_vec),
        added: staged.added().to_vec(),
        removed: staged.removed().to_vec(),
        answered_knocks: staged.placed().to_vec(),
        welcome,
    };
    let seq = match state.store.update_room(&update).await {
        Ok(seq) => seq,
        Err(StoreError::Stale { .. }) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    match room.hub.merge(staged) {
        Ok(()) => {
            room.version += 1;
            save_snapshot(state, id, room, seq, update.welcome.is_some()).await;
        }
        // Not expected (the room is locked from stage to merge); the version left behind
        // makes the next request read the room from the database, replaying the change.
        Err(e) => tracing::error!(room = %id, error = %e, "merging a written change"),
    }
    // The room's devices, and those it adds (their Welcomes are in their inboxes).
    state.wakes.room(id);
    state.wakes.users(update.added.iter().map(ClientId::user));
    Ok(Some(Stored {
        epoch: update.epoch,
        seq,
    }))
}

/// Refreshes the snapshot of a room just changed by log entry `seq`. Off the change's
/// transaction: if it fails, the change stays in the log to replay, and the removal sweeper
/// reads the room again (`AppState::settle_rooms_behind`), which saves it.
async fn save_snapshot(state: &AppState, id: &RoomId, room: &LoadedRoom, seq: u64, welcome: bool) {
    let snapshot = (|| {
        let welcome_trees = if welcome {
            vec![(seq, room.hub.ratchet_tree()?)]
        } else {
            Vec::new()
        };
        Ok::<_, mimi_mls::MlsError>(RoomSnapshot {
            id: id.clone(),
            seq,
            snapshot: room.hub.snapshot()?,
            welcome_trees,
        })
    })();
    let saved = match snapshot {
        Ok(snapshot) => state
            .store
            .save_snapshot(&snapshot)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e.into()),
    };
    if let Err(e) = saved {
        tracing::warn!(room = %id, error = %e, "saving the room's snapshot; it is replayed later");
    }
}
