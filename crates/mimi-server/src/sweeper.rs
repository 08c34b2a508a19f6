//! The removal sweeper: a deleted device leaves every room it was in. The hub proposes each
//! removal as the room's external sender (staged, written and merged like any handshake,
//! see [`crate::handshake`]) once per epoch until a member's commit removes the device.
//! Each round also reads again the rooms whose snapshot fell behind their log, which saves
//! it (and the ratchet trees their waiting Welcomes need).

use mimi_policy::id::{ClientId, RoomId};
use mimi_store::prelude::*;
use mimi_store::{EntryKind, NewEntry};

use crate::AppState;
use crate::error::ApiError;
use crate::handshake::{RETRIES, write_and_merge};

/// How often the provider retries the pending removals.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Retries deleted devices' pending removals: at start (a crash may have left some) and
/// then every [`SWEEP_EVERY`].
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        state.limits.forget_idle();
        match state.settle_rooms_behind(100).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rooms = n, "snapshots that fell behind saved"),
            Err(e) => tracing::warn!("saving snapshots that fell behind: {e}"),
        }
        match sweep(&state, 1_000).await {
            Ok(0) => {}
            Ok(left) => tracing::info!(left, "device removals still pending"),
            Err(e) => tracing::warn!("sweeping removals: {e}"),
        }
    }
}

/// Carries out the pending removals of deleted devices from their rooms (up to `limit`),
/// one sweep at a time per process: the hub proposes each removal once per epoch until a
/// member's commit removes the device (that commit ends it, see `Store::update_room`), and
/// a removal from a room that no longer holds the device, or is gone, ends here. A removal
/// that fails for a passing reason (the database, a busy room) stays for the next sweep.
/// Returns how many are still pending of those tried.
pub async fn sweep(state: &AppState, limit: u32) -> Result<usize, ApiError> {
    let _one_at_a_time = state.sweeping.lock().await;
    let mut left = 0;
    for pending in state.store.pending_removals(limit).await? {
        let (room, client) = (&pending.room, &pending.client);
        match propose_removal(state, room, client, pending.proposed_epoch).await {
            Ok(None) => state.store.finish_removal(room, client).await?,
            Ok(Some(epoch)) => {
                if pending.proposed_epoch != Some(epoch) {
                    state.store.removal_proposed(room, client, epoch).await?;
                }
                left += 1;
            }
            Err(e) if e.is_passing() => {
                tracing::warn!(%room, %client, "removal stays pending: {e}");
                left += 1;
            }
            // The room is gone or refuses the proposal for good: nothing more to do.
            Err(e) => {
                tracing::warn!(%room, %client, "removal given up: {e}");
                state.store.finish_removal(room, client).await?;
            }
        }
    }
    Ok(left)
}

/// The hub proposes removing `client` from `room` (a deleted device) as the room's external
/// sender, unless it did so already in the room's current epoch (`proposed`); the proposal
/// is stored and delivered, and a member commits it. Returns the epoch the proposal stands
/// in, or `None` when the room no longer holds the client (the removal is done).
async fn propose_removal(
    state: &AppState,
    id: &RoomId,
    client: &ClientId,
    proposed: Option<u64>,
) -> Result<Option<u64>, ApiError> {
    for _ in 0..RETRIES {
        let mut room = state.room(id).await?;
        if !room.hub.policy().has_client(client.user(), client.name()) {
            return Ok(None);
        }
        let epoch = room.hub.epoch();
        if proposed == Some(epoch) {
            // Proposed in this epoch already: waiting for a member's commit.
            return Ok(Some(epoch));
        }
        let (proposal, staged) = room.hub.stage_remove(&state.hub, client)?;
        let entry = NewEntry {
            kind: EntryKind::Proposal,
            sender: state.domain.to_string(),
            body: proposal,
        };
        if let Some(stored) = write_and_merge(state, id, &mut room, staged, entry, None).await? {
            return Ok(Some(stored.epoch));
        }
    }
    Err(ApiError::Busy)
}
