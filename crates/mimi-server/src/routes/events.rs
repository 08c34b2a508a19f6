//! `GET /v1/events`: a server-sent events stream of what the calling device has not
//! acknowledged. Each `pending` event carries a batch shaped like `/v1/sync`'s, with only
//! entries not sent on this stream before; the device still acknowledges with `/v1/ack`, so
//! a dropped stream loses nothing. The stream sleeps until something is stored for the
//! device's user or one of its rooms (by any process: [`crate::wake`]).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use mimi_policy::id::{ClientId, RoomId};

use super::sync::{Batch, batch};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Most entries in one event.
const LIMIT: u32 = 1_000;

struct Cursor {
    state: AppState,
    client: ClientId,
    /// The stream's place among the device's open streams, freed when it ends.
    _slot: crate::limits::StreamSlot,
    sent: BTreeMap<String, u64>,
    /// Welcomes sent, by inbox ID: IDs may become visible out of order (PostgreSQL assigns
    /// them before commit), so the stream remembers which it sent, not the highest.
    sent_welcomes: BTreeSet<u64>,
    /// Registered before the first read: a change after any read wakes the next wait.
    wake: crate::wake::Subscription,
    /// True once a read found nothing new (the next read waits for a wake-up first).
    idle: bool,
    /// The rooms the device is in and not removed from, as of the last full read: only
    /// their tails are for it.
    live: BTreeSet<RoomId>,
}

impl Cursor {
    /// The next batch with something new, waiting as long as it takes.
    async fn next(&mut self) -> Result<Batch, ApiError> {
        loop {
            if self.idle {
                self.wake.wait().await;
                if let Some(b) = self.tail_batch(self.wake.woken()) {
                    if !b.is_empty() {
                        return Ok(b);
                    }
                    continue;
                }
            }
            // An acknowledgement during the read may let out what the read leaves out.
            self.wake.wake_on_ack(true);
            let mut b = batch(&self.state, &self.client, LIMIT).await?;
            // A room not watched until now: what it received meanwhile woke nobody, so the
            // next read is at once.
            let new_rooms = self.wake.watch(b.positions.iter().map(|p| p.room.clone()));
            self.live = b
                .positions
                .iter()
                .filter(|p| p.until_seq.is_none())
                .map(|p| p.room.clone())
                .collect();
            // A room the device left is forgotten: if it comes back (or a room of the same
            // name is made), its entries are not taken for ones already sent.
            let rooms: BTreeSet<&str> = b.positions.iter().map(|p| p.room.as_str()).collect();
            self.sent.retain(|r, _| rooms.contains(r.as_str()));
            // Entries left out are sent once those before them are acknowledged.
            self.wake.wake_on_ack(b.more);
            // Acknowledged inbox items leave the inbox; forget them here too.
            let present: BTreeSet<u64> = b
                .welcomes
                .iter()
                .map(|w| w.id)
                .chain(b.requests.iter().map(|r| r.id))
                .chain(b.knocks.iter().map(|k| k.id))
                .chain(b.suggestions.iter().map(|s| s.id))
                .collect();
            self.sent_welcomes.retain(|id| present.contains(id));
            b.welcomes.retain(|w| !self.sent_welcomes.contains(&w.id));
            b.requests.retain(|r| !self.sent_welcomes.contains(&r.id));
            b.knocks.retain(|k| !self.sent_welcomes.contains(&k.id));
            b.suggestions
                .retain(|s| !self.sent_welcomes.contains(&s.id));
            b.entries.retain(|e| {
                self.sent
                    .get(e.0.room.as_str())
                    .is_none_or(|&s| e.0.seq > s)
            });
            // Waits next time unless a room is new, or what was left out may be unsent.
            self.idle = !new_rooms && (!b.more || b.is_empty());
            if b.is_empty() {
                continue;
            }
            self.sent_welcomes.extend(b.welcomes.iter().map(|w| w.id));
            self.sent_welcomes.extend(b.requests.iter().map(|r| r.id));
            self.sent_welcomes.extend(b.knocks.iter().map(|k| k.id));
            self.sent_welcomes
                .extend(b.suggestions.iter().map(|s| s.id));
            for e in &b.entries {
                self.sent.insert(e.0.room.to_string(), e.0.seq);
            }
            return Ok(b);
        }
    }
}

impl Cursor {
    /// What a wake-up by rooms' logs alone brings, straight from their tails in memory:
    /// the messages right after those this stream sent, with no database read. `None`
    /// when the wake-up was for something else, or a tail does not follow on from what was
    /// sent (a commit, which only the database holds and which may change who receives
    /// what, another process's entries, a room not sent from yet): the caller reads
    /// everything again.
    fn tail_batch(&mut self, woken: crate::wake::Woken) -> Option<Batch> {
        if woken.all {
            return None;
        }
        let mut entries = Vec::new();
        let mut left = LIMIT as usize;
        for (room, &last) in &woken.rooms {
            if !self.live.contains(room) {
                return None;
            }
            let sent = *self.sent.get(room.as_str())?;
            let got = self.state.tails.since(room, sent, left)?;
            // The tail must reach the last message the wake-up named (another process's
            // may have come in out of order), unless the answer is full.
            let reached = got.last().map_or(sent, |e| e.0.seq);
            if reached < last && got.len() < left {
                return None;
            }
            left -= got.len();
            entries.extend(got);
            if left == 0 {
                // More may follow: the next call reads without waiting.
                self.idle = false;
                break;
            }
        }
        for e in &entries {
            self.sent.insert(e.0.room.to_string(), e.0.seq);
        }
        Some(Batch {
            entries,
            ..Batch::default()
        })
    }
}

/// `GET /v1/events?keepalive=S`: how often, in seconds, an idle stream sends a keep-alive
/// comment (1 to 15; default 15), for a device that has something to do on its own clock
/// (refresh its leaves before a room's `update-max-interval` runs out).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct StreamParams {
    /// Seconds between keep-alives, 1 to 15.
    keepalive: Option<u64>,
}

/// The longest and default time between keep-alives of an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// The calling device's stream.
#[utoipa::path(get, path = "/v1/events", tag = "delivery", security(("bearer" = [])), params(StreamParams), responses((status = 200, description = "server-sent events: `pending` events whose data is a sync batch (`SyncBatch`)", content_type = "text/event-stream", body = String), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    super::ApiQuery(params): super::ApiQuery<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let client = caller.device()?.clone();
    let slot = state.streams.open(&client)?;
    let wake = state.wakes.subscribe(Some(client.user().clone()));
    let cursor = Cursor {
        state,
        client,
        _slot: slot,
        sent: BTreeMap::new(),
        sent_welcomes: BTreeSet::new(),
        wake,
        idle: false,
        live: BTreeSet::new(),
    };
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        let state = cursor.state.clone();
        let next = tokio::select! {
            next = cursor.next() => next,
            // The provider is shutting down: the stream ends (the device reconnects).
            () = state.stopped() => return None,
        };
        let event = match next {
            // Serialized in one piece, then given as the event's data (a compact JSON text
            // has no line break): `json_data` writes through a writer that checks every
            // fragment, a cost each stream of a room paid for every message.
            Ok(b) => match serde_json::to_string(&b) {
                Ok(json) => Event::default().event("pending").data(json),
                Err(_) => Event::default().event("error"),
            },
            Err(e) => Event::default().event("error").data(e.code()),
        };
        Some((Ok(event), cursor))
    });
    let every = params.keepalive.map_or(KEEPALIVE, |s| {
        Duration::from_secs(s).clamp(Duration::from_secs(1), KEEPALIVE)
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(every)))
}
