//! `GET /v1/events`: a server-sent events stream of what the calling device has not
//! acknowledged. Each `pending` event carries a batch shaped like `/v1/sync`'s, with only
//! entries not sent on this stream before; the device still acknowledges with `/v1/ack`, so
//! a dropped stream loses nothing. The stream sleeps until something is stored for the
//! device's user or one of its rooms (by any process: [`crate::wake`]).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse as _, Response};
use futures_util::{Stream, StreamExt as _};
use mimi_policy::id::{ClientId, RoomId};
use tokio::time::{Instant, Sleep};

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
            self.mark_sent(&b.entries);
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
        for (room, last) in &woken.rooms {
            let (room, last) = (&**room, *last);
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
        self.mark_sent(&entries);
        Some(Batch {
            entries,
            ..Batch::default()
        })
    }
}

impl Cursor {
    /// Notes `entries` (in log order) as sent: a room's name is copied only the first time.
    fn mark_sent(&mut self, entries: &[crate::tail::Shared]) {
        for e in entries {
            match self.sent.get_mut(e.0.room.as_str()) {
                Some(seq) => *seq = e.0.seq,
                None => {
                    self.sent.insert(e.0.room.to_string(), e.0.seq);
                }
            }
        }
    }
}

/// An event of the stream: `event: NAME`, then `data` (if any) as `data:` lines.
fn event(name: &str, data: Option<&str>) -> Bytes {
    let mut out = String::with_capacity(name.len() + data.map_or(0, str::len) + 24);
    out.push_str("event: ");
    out.push_str(name);
    out.push('\n');
    // A line break would end the line (what follows would be read as a field): each piece
    // goes on a `data:` line of its own. The data here never has one (compact JSON, error
    // codes); this keeps the stream well formed if it did.
    for line in data.into_iter().flat_map(|d| d.split(['\n', '\r'])) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out.into()
}

/// The `pending` event carrying `batch`. A batch of log entries alone (every message a
/// device receives while it keeps up) is put together from the entries' rendered JSON in
/// one allocation, the bytes `serde_json` would write for it; a room's hundred streams
/// each made one per message through a growing buffer before.
fn pending_event(batch: &Batch) -> Bytes {
    const HEAD: &[u8] = b"event: pending\ndata: {\"welcomes\":[],\"entries\":[";
    const END: &[u8] = b"]}\n\n";
    if !batch.only_entries() {
        return match serde_json::to_string(batch) {
            Ok(json) => event("pending", Some(&json)),
            Err(_) => event("error", None),
        };
    }
    let size = batch.entries.iter().map(|e| e.0.bytes() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(HEAD.len() + size + END.len());
    out.extend_from_slice(HEAD);
    for (i, e) in batch.entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(e.0.json().as_bytes());
    }
    out.extend_from_slice(END);
    out.into()
}

/// A keep-alive: a comment line, which devices skip.
const KEEP_ALIVE: Bytes = Bytes::from_static(b":\n\n");

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
) -> Result<Response, ApiError> {
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
    let stopping = cursor.state.clone();
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        let event = match cursor.next().await {
            Ok(b) => pending_event(&b),
            Err(e) => event("error", Some(e.code())),
        };
        Some((Ok(event), cursor))
    })
    // The provider is shutting down: the stream ends (the device reconnects). One wait for
    // the stream's whole life: waiting anew for each event registered and dropped a waiter
    // of the shutdown signal, shared by every stream, for each stream of a room at every
    // message.
    .take_until(async move { stopping.stopped().await });
    let every = params.keepalive.map_or(KEEPALIVE, |s| {
        Duration::from_secs(s).clamp(Duration::from_secs(1), KEEPALIVE)
    });
    let body = Body::from_stream(KeptAlive::new(stream, every));
    Ok((
        [
            (CONTENT_TYPE, "text/event-stream"),
            (CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

/// The grid idle streams' keep-alives fall due on: fine enough that the keep-alives due
/// together take a fraction of a millisecond to send (10,000 idle devices: about 13 each
/// time), which a message arriving meanwhile waits out.
const KEEPALIVE_TICK: Duration = Duration::from_millis(20);

/// The latest point of the keep-alives' grid not after `t` (the grid starts at the first
/// call in the process); `t` itself if it comes before the grid's start.
fn on_grid(t: Instant) -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    let Some(since) = t.checked_duration_since(start) else {
        return t;
    };
    let tick = KEEPALIVE_TICK.as_nanos();
    let ticks = since.as_nanos() / tick;
    match u64::try_from(ticks * tick) {
        Ok(nanos) => start + Duration::from_nanos(nanos),
        // Centuries after the start.
        Err(_) => t,
    }
}

/// An event stream that sends a keep-alive comment when it has been idle for `every`, as
/// axum's own keep-alive does, except that keep-alives fall due on a grid of
/// [`KEEPALIVE_TICK`] (at most `every` after the last event, never later): the provider's
/// timers then wake it at most fifty times a second for all its idle streams, instead of
/// once for each keep-alive (10,000 idle devices: about 670 times a second, one keep-alive
/// each).
struct KeptAlive<S> {
    inner: Pin<Box<S>>,
    every: Duration,
    due: Pin<Box<Sleep>>,
}

impl<S> KeptAlive<S> {
    fn new(inner: S, every: Duration) -> Self {
        Self {
            inner: Box::pin(inner),
            every,
            due: Box::pin(tokio::time::sleep_until(on_grid(Instant::now() + every))),
        }
    }
}

impl<S: Stream<Item = Result<Bytes, Infallible>>> Stream for KeptAlive<S> {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Poll::Ready(item) = this.inner.as_mut().poll_next(cx) {
            if item.is_some() {
                let due = on_grid(Instant::now() + this.every);
                this.due.as_mut().reset(due);
            }
            return Poll::Ready(item);
        }
        if this.due.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        // The next one `every` from now, on the grid: `every` after this one was due when
        // it was sent on time (a whole number of seconds keeps its grid point), and no
        // keep-alives sent back to back to catch up after the stream was not read a while.
        let due = on_grid(Instant::now() + this.every);
        this.due.as_mut().reset(due);
        Poll::Ready(Some(Ok(KEEP_ALIVE)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that never yields.
    fn silent() -> impl Stream<Item = Result<Bytes, Infallible>> {
        futures_util::stream::pending()
    }

    fn entries(n: u64) -> Vec<crate::tail::Shared> {
        let room = RoomId::new("example.com", "lobby").unwrap();
        (1..=n)
            .map(|seq| {
                crate::tail::Shared(std::sync::Arc::new(crate::tail::Rendered::new(
                    &room,
                    seq,
                    mimi_store::EntryKind::Message,
                    3,
                    "alice@example.com/phone",
                    &[seq as u8; 40],
                )))
            })
            .collect()
    }

    #[test]
    fn a_batch_of_entries_alone_is_sent_as_the_bytes_its_serialization_would_be() {
        for n in [1, 3] {
            let batch = Batch {
                entries: entries(n),
                ..Batch::default()
            };
            let json = serde_json::to_string(&batch).unwrap();
            assert_eq!(pending_event(&batch), event("pending", Some(&json)));
            let text = String::from_utf8(pending_event(&batch).to_vec()).unwrap();
            assert!(text.starts_with("event: pending\ndata: {") && text.ends_with("}\n\n"));
            let data = text.lines().nth(1).unwrap().strip_prefix("data: ").unwrap();
            let v: serde_json::Value = serde_json::from_str(data).unwrap();
            assert_eq!(v["entries"].as_array().unwrap().len(), n as usize);
            assert_eq!(v["entries"][0]["seq"], 1);
        }
    }

    #[test]
    fn a_batch_with_more_than_entries_is_serialized_whole() {
        let batch = Batch {
            entries: entries(1),
            suggestions: vec![super::super::sync::Suggestion::new(
                7,
                "mimi://example.com/r/lobby",
                "mimi://example.com/u/bob",
            )],
            ..Batch::default()
        };
        let json = serde_json::to_string(&batch).unwrap();
        assert!(json.contains("\"suggestions\""), "{json}");
        assert_eq!(pending_event(&batch), event("pending", Some(&json)));
    }

    #[test]
    fn a_line_break_in_an_events_data_cannot_start_a_field_of_its_own() {
        let bytes = event("error", Some("one\nevent: forged\rtwo"));
        assert_eq!(
            &bytes[..],
            b"event: error\ndata: one\ndata: event: forged\ndata: two\n\n"
        );
        assert_eq!(&event("error", None)[..], b"event: error\n\n");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_streams_opened_apart_are_kept_alive_together_on_the_grid() {
        use futures_util::StreamExt as _;
        let every = Duration::from_secs(15);
        // From a point of the grid: well after its start, which another test's clock may
        // have set later than this one's (time is paused: waiting costs nothing)...
        let now = Instant::now();
        let later = on_grid(now + Duration::from_secs(3600)) + KEEPALIVE_TICK;
        tokio::time::advance(later - now).await;
        let mut streams = Vec::new();
        let mut opened = Vec::new();
        // ...streams opened at moments between the grid's points.
        for _ in 0..3 {
            opened.push(Instant::now());
            streams.push(KeptAlive::new(silent(), every));
            tokio::time::advance(KEEPALIVE_TICK / 4).await;
        }
        // Each due on the grid, never later than asked and at most one tick early: all
        // three at the same point.
        let due = streams[0].due.deadline();
        assert_eq!(on_grid(due), due);
        for (stream, opened) in streams.iter().zip(&opened) {
            assert_eq!(stream.due.deadline(), due);
            assert!(due <= *opened + every && due + KEEPALIVE_TICK > *opened + every);
        }
        // They are sent at one wake-up of the timers.
        let mut fired = Vec::new();
        for stream in &mut streams {
            assert!(stream.next().await.is_some());
            fired.push(Instant::now());
        }
        assert!(fired.iter().all(|t| *t == fired[0]), "{fired:?}");
        // The next ones `every` later, together still.
        for stream in &streams {
            assert_eq!(stream.due.deadline(), due + every);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_not_read_for_a_while_gets_one_keep_alive_not_a_burst() {
        use futures_util::StreamExt as _;
        let every = Duration::from_secs(1);
        let mut stream = KeptAlive::new(silent(), every);
        // The device stops reading for a minute (its socket full), then reads again.
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(stream.next().await.is_some());
        let read = Instant::now();
        let due = stream.due.deadline();
        assert!(
            due > read + every - KEEPALIVE_TICK && due <= read + every,
            "{due:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_puts_the_next_keep_alive_off() {
        use futures_util::StreamExt as _;
        let every = Duration::from_secs(5);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<Bytes, Infallible>>();
        let events =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|e| (e, rx)) },
            );
        let mut stream = KeptAlive::new(events, every);
        tokio::time::advance(Duration::from_secs(3)).await;
        tx.send(Ok(event("x", None))).unwrap();
        assert!(stream.next().await.is_some());
        let sent = Instant::now();
        // The keep-alive is due `every` after the event (on the grid), not after the start.
        let due = stream.due.deadline();
        assert!(due > sent + every - KEEPALIVE_TICK && due <= sent + every);
        assert!(stream.next().await.is_some());
        assert!(Instant::now() >= due);
    }
}
