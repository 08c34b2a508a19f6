//! Delivery: a device reads what it has not acknowledged (its Welcomes, then every room
//! log entry after its position) and acknowledges explicitly, so a device that was away
//! receives everything, in order, when it returns.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mimi_policy::id::{ClientId, RoomId};
use mimi_store::prelude::*;
use mimi_store::{InboxKind, Position};
use serde::Serialize;

use super::{ApiJson, ApiQuery, to_b64};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tail::{Rendered, Shared};
use mimi_api::{Ack, SyncQuery};

/// Most entries in one answer.
const MAX_LIMIT: u32 = 1_000;

/// Longest long poll, seconds.
const MAX_WAIT: u64 = 30;

/// An answer's entries stop at this many bytes (at least one entry is always given): a
/// thousand large messages would otherwise make an answer of tens of MiB.
const MAX_ANSWER_BYTES: usize = 4 << 20;

/// A Welcome for the device.
#[derive(Serialize)]
pub struct Welcome {
    pub(crate) id: u64,
    room: String,
    welcome: String,
    /// The ratchet tree of the epoch the Welcome joins.
    #[serde(skip_serializing_if = "Option::is_none")]
    ratchet_tree: Option<String>,
}

/// Another user asks the device's user for consent to add it (`mimi consent grant`).
#[derive(Serialize)]
pub struct ConsentRequest {
    pub(crate) id: u64,
    user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<String>,
}

/// A user knocks on a room the device's user may let it into (`mimi room add`).
#[derive(Serialize)]
pub struct Knock {
    pub(crate) id: u64,
    room: String,
    user: String,
}

/// A member suggests a room to the device's user (`mimi room join`, or `knock`).
#[derive(Serialize)]
pub struct Suggestion {
    pub(crate) id: u64,
    room: String,
    user: String,
}

#[cfg(test)]
impl Suggestion {
    /// A suggestion of `room` by `user`.
    pub(crate) fn new(id: u64, room: &str, user: &str) -> Self {
        Self {
            id,
            room: room.to_owned(),
            user: user.to_owned(),
        }
    }
}

/// What the device has not acknowledged.
#[derive(Serialize, Default)]
pub struct Batch {
    pub(crate) welcomes: Vec<Welcome>,
    /// Consent requests (acknowledged like Welcomes, by ID); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) requests: Vec<ConsentRequest>,
    /// Knocks (acknowledged like Welcomes, by ID); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) knocks: Vec<Knock>,
    /// Rooms members suggest (acknowledged like Welcomes, by ID); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) suggestions: Vec<Suggestion>,
    /// Room log entries (`{room, seq, kind, epoch, sender, message}`), rendered.
    pub(crate) entries: Vec<Shared>,
    /// The device's places in the rooms of this provider it is in (not sent: what its
    /// waiter watches).
    #[serde(skip)]
    pub(crate) positions: Vec<Position>,
    /// True if entries were left out (the limit, or the answer's size): more are pending.
    #[serde(skip)]
    pub(crate) more: bool,
}

impl Batch {
    /// Nothing to deliver.
    pub(crate) fn is_empty(&self) -> bool {
        self.only_entries() && self.entries.is_empty()
    }

    /// Log entries and nothing else (no Welcomes, requests, knocks or suggestions).
    pub(crate) fn only_entries(&self) -> bool {
        self.welcomes.is_empty()
            && self.requests.is_empty()
            && self.knocks.is_empty()
            && self.suggestions.is_empty()
    }
}

/// What the calling device has not acknowledged yet.
#[utoipa::path(get, path = "/v1/sync", tag = "delivery", security(("bearer" = [])), params(SyncQuery), responses((status = 200, description = "what the device has not acknowledged", body = mimi_api::SyncBatch), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SyncQuery>,
) -> Result<Json<Batch>, ApiError> {
    let client = caller.device()?;
    let limit = query.limit.unwrap_or(MAX_LIMIT).clamp(1, MAX_LIMIT);
    let wait = Duration::from_secs(query.wait.unwrap_or(0).min(MAX_WAIT));
    let deadline = tokio::time::Instant::now() + wait;
    // Watching before reading: what is stored after the read wakes the wait.
    let wake = state.wakes.subscribe(Some(client.user().clone()));
    loop {
        let b = batch(&state, client, limit).await?;
        let now = tokio::time::Instant::now();
        if !b.is_empty() || now >= deadline {
            return Ok(Json(b));
        }
        if wake.watch(b.positions.iter().map(|p| p.room.clone())) {
            // A room not watched until now: what it received meanwhile woke nobody.
            continue;
        }
        tokio::select! {
            _ = tokio::time::timeout(deadline - now, wake.wait()) => {}
            // Shutting down: answer now, with nothing.
            () = state.stopped() => return Ok(Json(b)),
        }
    }
}

/// Up to `limit` entries `client` has not acknowledged, after its Welcomes.
pub(crate) async fn batch(
    state: &AppState,
    client: &ClientId,
    limit: u32,
) -> Result<Batch, ApiError> {
    let mut welcomes = Vec::new();
    let mut requests = Vec::new();
    let mut knocks = Vec::new();
    let mut suggestions = Vec::new();
    // A Welcome whose ratchet tree is not written yet waits, and so does what follows it
    // in the inbox (acknowledged up to a position) and its room's entries (the device
    // cannot read them before it joins).
    let mut held = std::collections::BTreeSet::new();
    for item in state.store.inbox(client, 0).await? {
        if item.kind == InboxKind::Welcome && item.ratchet_tree.is_none() {
            held.extend(item.room.clone());
        }
        if !held.is_empty() {
            continue;
        }
        match item.kind {
            InboxKind::Welcome => welcomes.push(Welcome {
                id: item.id,
                room: item.room.map(|r| r.to_string()).unwrap_or_default(),
                welcome: to_b64(&item.body),
                ratchet_tree: item.ratchet_tree.as_deref().map(to_b64),
            }),
            InboxKind::ConsentRequest => requests.push(ConsentRequest {
                id: item.id,
                user: String::from_utf8_lossy(&item.body).into_owned(),
                room: item.room.map(|r| r.to_string()),
            }),
            InboxKind::Knock => knocks.push(Knock {
                id: item.id,
                room: item.room.map(|r| r.to_string()).unwrap_or_default(),
                user: String::from_utf8_lossy(&item.body).into_owned(),
            }),
            InboxKind::Suggestion => suggestions.push(Suggestion {
                id: item.id,
                room: item.room.map(|r| r.to_string()).unwrap_or_default(),
                user: String::from_utf8_lossy(&item.body).into_owned(),
            }),
        }
    }
    let positions = state.store.positions(client).await?;
    let mut entries = match from_tails(state, &positions, limit) {
        Some(entries) => entries,
        None => state
            .store
            .pending(client, limit)
            .await?
            .into_iter()
            .map(|e| {
                let r = Rendered::new(&e.room, e.seq, e.kind, e.epoch, &e.sender, &e.body);
                Shared(Arc::new(r))
            })
            .collect(),
    };
    // What hubs of other providers fanned out to the device, after its own provider's.
    if state.peers.is_some() {
        let left = (limit as usize).saturating_sub(entries.len());
        if left > 0 {
            entries.extend(
                state
                    .store
                    .relayed_pending(client, left as u32)
                    .await?
                    .into_iter()
                    .map(|e| {
                        let r = Rendered::new(&e.room, e.seq, e.kind, e.epoch, &e.sender, &e.body);
                        Shared(Arc::new(r))
                    }),
            );
        }
    }
    entries.retain(|e| !held.contains(&e.0.room));
    // In order, so a shorter answer is still a prefix of what is pending.
    let mut total = 0;
    let fit = entries
        .iter()
        .take_while(|e| {
            total += e.0.bytes();
            total <= MAX_ANSWER_BYTES
        })
        .count();
    let more = entries.len() >= limit as usize || fit.max(1) < entries.len();
    entries.truncate(fit.max(1));
    Ok(Batch {
        welcomes,
        requests,
        knocks,
        suggestions,
        entries,
        positions,
        more,
    })
}

/// Up to `limit` pending entries from the rooms' tails in memory, exactly what the
/// database would give (by room, then position); `None` when some room's pending entries
/// are not all in its tail (the caller reads the database instead).
fn from_tails(state: &AppState, positions: &[Position], limit: u32) -> Option<Vec<Shared>> {
    let mut entries = Vec::new();
    let mut left = limit as usize;
    for p in positions {
        let through = p.until_seq.map_or(p.last_seq, |u| u.min(p.last_seq));
        if through <= p.acked_seq {
            continue;
        }
        if left == 0 {
            break;
        }
        match state.tails.after(&p.room, p.acked_seq, through, left) {
            // Everything pending in this room, or as much as the answer takes.
            Some(got) if got.len() == left || got.last().is_some_and(|e| e.0.seq == through) => {
                left -= got.len();
                entries.extend(got);
            }
            // The tail is behind the log (a commit, another process's entries, or a
            // batch not rendered yet): the database answers, as the answer must hold
            // everything pending up to the limit.
            _ => return None,
        }
    }
    Some(entries)
}

/// Acknowledges Welcomes (by ID, or up to an ID) and room logs up to positions. Room
/// positions are answered before they are on disk when nothing else is written with them:
/// one lost in a crash only has its entries sent again (decision 0019).
#[utoipa::path(post, path = "/v1/ack", tag = "delivery", security(("bearer" = [])), request_body = Ack, responses((status = 204, description = "acknowledged"), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn ack(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Ack>,
) -> Result<StatusCode, ApiError> {
    let client = caller.device()?;
    // The whole body is checked before anything is acknowledged.
    if body.welcomes.len() > MAX_LIMIT as usize {
        return Err(ApiError::bad_request(
            "too-many",
            format!("at most {MAX_LIMIT} Welcomes per acknowledgement"),
        ));
    }
    let rooms = body
        .rooms
        .iter()
        .map(|r| {
            RoomId::parse(&r.room)
                .map(|room| (room, r.seq))
                .map_err(|e| ApiError::bad_request("bad-room", format!("`{}`: {e}", r.room)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // A position past the end of a room's log is a client's mistake: taken, it would hold
    // back everything the room receives until the log caught up with it (the store never
    // takes one; this check gives the error). A room's tail holds only written entries: a
    // position within it needs no database read.
    let unsure = rooms
        .iter()
        .any(|(room, seq)| state.tails.last_seq(room).is_none_or(|last| *seq > last));
    if unsure {
        let positions = state.store.positions(client).await?;
        for (room, seq) in &rooms {
            if let Some(p) = positions.iter().find(|p| p.room == *room)
                && *seq > p.last_seq
            {
                return Err(ApiError::bad_request(
                    "ack-beyond-log",
                    format!(
                        "{room} has {} entries; {seq} is past the last of them",
                        p.last_seq
                    ),
                ));
            }
        }
    }
    if let Some(id) = body.welcome {
        state.store.ack_inbox(client, id).await?;
    }
    if !body.welcomes.is_empty() {
        state.store.ack_inbox_items(client, &body.welcomes).await?;
    }
    let mut acked = false;
    // A position in a room the device is not (or no longer) in changes nothing: an ack
    // repeated after a lost answer, or after the device's removal, is not an error.
    for (room, seq) in rooms {
        if room.domain() != state.domain.domain() && state.peers.is_some() {
            // Relayed from the room's hub.
            state.store.ack_relayed(client, &room, seq).await?;
        } else {
            state.writer.ack(client.clone(), room, seq).await?;
        }
        acked = true;
    }
    if acked {
        // The device's event streams that left entries out send them now.
        state.wakes.acked(client.user());
    }
    Ok(StatusCode::NO_CONTENT)
}
