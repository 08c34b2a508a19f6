//! The recent end of each room's log, in memory and already rendered as the JSON a device
//! receives. A message is rendered once when it is written, instead of read from the
//! database, base64-encoded and serialized again for each member that syncs; the database
//! stays the truth.
//!
//! A room's tail only ever holds a contiguous run of its log, written by this process:
//! an entry that does not follow the last one (a commit, which is not put here, or an
//! entry another process wrote) starts the tail again. A device is served from the tail
//! only when the tail holds the entry right after its position; otherwise it reads the
//! database as before. Entries are put here only after their transaction committed, so the
//! tail never shows what the database does not hold.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use mimi_policy::id::RoomId;
use mimi_store::EntryKind;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::routes::to_b64;

/// Most entries a room's tail keeps.
const PER_ROOM: usize = 4_096;

/// Most bytes a room's tail keeps (messages can be large).
const PER_ROOM_BYTES: usize = 8 << 20;

/// Most bytes all tails keep together; past it, other rooms' tails are dropped.
const TOTAL_BYTES: usize = 64 << 20;

/// A log entry as a device receives it (`/v1/sync`'s `entries`).
#[derive(Serialize)]
struct Wire<'a> {
    room: &'a str,
    seq: u64,
    kind: &'static str,
    epoch: u64,
    sender: &'a str,
    message: String,
}

/// A log entry, rendered.
#[derive(Debug)]
pub struct Rendered {
    /// The room.
    pub room: RoomId,
    /// Its position in the room's log.
    pub seq: u64,
    json: Box<RawValue>,
}

impl Rendered {
    /// Renders an entry once.
    pub fn new(
        room: &RoomId,
        seq: u64,
        kind: EntryKind,
        epoch: u64,
        sender: &str,
        body: &[u8],
    ) -> Self {
        let wire = Wire {
            room: room.as_str(),
            seq,
            kind: match kind {
                EntryKind::Commit => "commit",
                EntryKind::Proposal => "proposal",
                EntryKind::Message => "message",
            },
            epoch,
            sender,
            message: to_b64(body),
        };
        // Strings and integers: serializing cannot fail.
        let json = serde_json::value::to_raw_value(&wire).unwrap_or_else(|e| {
            tracing::error!(error = %e, "rendering a log entry");
            RawValue::NULL.to_owned()
        });
        Self {
            room: room.clone(),
            seq,
            json,
        }
    }

    /// The rendered JSON's size, bytes.
    pub fn bytes(&self) -> usize {
        self.json.get().len()
    }

    /// The rendered JSON, as a device receives it.
    pub fn json(&self) -> &str {
        self.json.get()
    }

    /// A message of `room` at `seq` as another process of this provider rendered it
    /// ([`Rendered::json`], carried with its wake-up: [`crate::wake`]); `None` unless
    /// `json` is such an entry, whole, exactly as this process renders it.
    pub fn message_from_json(room: &RoomId, seq: u64, json: &str) -> Option<Self> {
        #[derive(serde::Deserialize)]
        struct Heard {
            epoch: u64,
            sender: String,
            message: String,
        }
        use base64::Engine as _;
        let heard: Heard = serde_json::from_str(json).ok()?;
        let body = base64::engine::general_purpose::STANDARD
            .decode(&heard.message)
            .ok()?;
        let again = Self::new(
            room,
            seq,
            EntryKind::Message,
            heard.epoch,
            &heard.sender,
            &body,
        );
        (again.json() == json).then_some(again)
    }
}

/// An entry in a sync answer, shared with the tail it came from.
#[derive(Debug, Clone)]
pub struct Shared(pub Arc<Rendered>);

impl Serialize for Shared {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.json.serialize(s)
    }
}

#[derive(Default)]
struct RoomTail {
    entries: VecDeque<Arc<Rendered>>,
    bytes: usize,
}

impl RoomTail {
    fn last_seq(&self) -> Option<u64> {
        self.entries.back().map(|e| e.seq)
    }
}

#[derive(Default)]
struct Inner {
    rooms: HashMap<RoomId, RoomTail>,
    bytes: usize,
}

/// Every room's tail.
#[derive(Default)]
pub struct Tails {
    inner: Mutex<Inner>,
}

impl Tails {
    /// Adds entries of `room` just written, in log order.
    pub fn push(&self, room: &RoomId, entries: Vec<Rendered>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let inner = &mut *inner;
        let tail = inner.rooms.entry(room.clone()).or_default();
        for e in entries {
            match tail.last_seq() {
                Some(last) if e.seq == last + 1 => {}
                // A gap, or a log that starts again (a room of the same name, destroyed or
                // vacated since, in another process): the tail starts again at this entry.
                _ => {
                    inner.bytes -= tail.bytes;
                    *tail = RoomTail::default();
                }
            }
            tail.bytes += e.bytes();
            inner.bytes += e.bytes();
            tail.entries.push_back(Arc::new(e));
            while tail.entries.len() > PER_ROOM || tail.bytes > PER_ROOM_BYTES {
                let Some(old) = tail.entries.pop_front() else {
                    break;
                };
                tail.bytes -= old.bytes();
                inner.bytes -= old.bytes();
            }
        }
        if inner.bytes > TOTAL_BYTES {
            // Over budget: keep only this room's tail (the others are read from the
            // database until they fill again).
            inner.rooms.retain(|id, _| id == room);
            inner.bytes = inner.rooms.get(room).map_or(0, |t| t.bytes);
        }
    }

    /// Drops `room`'s tail: the room is gone or vacant, and a room of the same name starts
    /// a log of its own.
    pub fn forget(&self, room: &RoomId) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if let Some(tail) = inner.rooms.remove(room) {
            inner.bytes -= tail.bytes;
        }
    }

    /// The position of the last entry of `room` in its tail (written: the log holds it).
    pub fn last_seq(&self, room: &RoomId) -> Option<u64> {
        self.inner.lock().ok()?.rooms.get(room)?.last_seq()
    }

    /// Up to `limit` entries of `room` after `after`, for a reader woken by messages this
    /// process stored ([`crate::wake::Topic::Messages`]), which are in the tail before the
    /// wake-up: none when the tail ends at `after`; `None` when it does not hold the entry
    /// right after `after` (the database must answer).
    pub fn since(&self, room: &RoomId, after: u64, limit: usize) -> Option<Vec<Shared>> {
        let inner = self.inner.lock().ok()?;
        if inner.rooms.get(room)?.last_seq()? == after {
            return Some(Vec::new());
        }
        drop(inner);
        self.after(room, after, u64::MAX, limit)
    }

    /// Entries of `room` after `after` up to `through`, at most `limit`; `None` when the
    /// tail does not hold the entry right after `after`. The answer ends before `through`
    /// when the tail does.
    pub fn after(
        &self,
        room: &RoomId,
        after: u64,
        through: u64,
        limit: usize,
    ) -> Option<Vec<Shared>> {
        let inner = self.inner.lock().ok()?;
        let tail = inner.rooms.get(room)?;
        let first = tail.entries.front()?.seq;
        if after + 1 < first || after >= tail.last_seq()? {
            return None;
        }
        let skip = usize::try_from(after + 1 - first).ok()?;
        Some(
            tail.entries
                .iter()
                .skip(skip)
                .take_while(|e| e.seq <= through)
                .take(limit)
                .map(|e| Shared(e.clone()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn room(name: &str) -> RoomId {
        RoomId::new("example.com", name).unwrap()
    }

    fn entries(r: &RoomId, seqs: std::ops::RangeInclusive<u64>) -> Vec<Rendered> {
        seqs.map(|s| Rendered::new(r, s, EntryKind::Message, 0, "c", b"body"))
            .collect()
    }

    fn seqs(v: Option<Vec<Shared>>) -> Option<Vec<u64>> {
        v.map(|v| v.iter().map(|e| e.0.seq).collect())
    }

    #[test]
    fn the_tail_serves_only_a_contiguous_run_that_starts_at_or_before_the_position() {
        let tails = Tails::default();
        let r = room("team");
        tails.push(&r, entries(&r, 5..=8));
        assert_eq!(seqs(tails.after(&r, 4, 100, 10)), Some(vec![5, 6, 7, 8]));
        assert_eq!(seqs(tails.after(&r, 6, 100, 10)), Some(vec![7, 8]));
        assert_eq!(
            seqs(tails.after(&r, 6, 7, 10)),
            Some(vec![7]),
            "up to `through`"
        );
        assert_eq!(seqs(tails.after(&r, 4, 100, 2)), Some(vec![5, 6]), "limit");
        // Entry 4 is not held: the database must answer.
        assert_eq!(seqs(tails.after(&r, 3, 100, 10)), None);
        // Caught up with the tail: the database may hold more (another process).
        assert_eq!(seqs(tails.after(&r, 8, 100, 10)), None);
        assert_eq!(seqs(tails.after(&room("other"), 0, 100, 10)), None);
        // A gap (10 after 8) starts the tail again.
        tails.push(&r, entries(&r, 10..=10));
        assert_eq!(seqs(tails.after(&r, 6, 100, 10)), None);
        assert_eq!(seqs(tails.after(&r, 9, 100, 10)), Some(vec![10]));
        // Woken by this process's messages: caught up is nothing new; behind the tail's
        // start is for the database.
        assert_eq!(seqs(tails.since(&r, 10, 10)), Some(vec![]));
        assert_eq!(seqs(tails.since(&r, 9, 10)), Some(vec![10]));
        assert_eq!(seqs(tails.since(&r, 6, 10)), None);
        assert_eq!(seqs(tails.since(&room("other"), 0, 10)), None);
    }

    #[test]
    fn a_log_that_starts_again_replaces_the_tail_and_a_forgotten_room_has_none() {
        let tails = Tails::default();
        let r = room("team");
        tails.push(&r, entries(&r, 1..=5));
        // A room of the same name, its log starting again at 1 (destroyed or vacated since,
        // by another process): the old entries are never served for it.
        let new = |s| Rendered::new(&r, s, EntryKind::Message, 0, "c", b"new");
        tails.push(&r, vec![new(1), new(2)]);
        let served = tails.after(&r, 0, 100, 10).unwrap();
        assert_eq!(served.len(), 2);
        assert!(served.iter().all(|e| e.0.json.to_string().contains("bmV3")));
        tails.forget(&r);
        assert_eq!(seqs(tails.after(&r, 0, 100, 10)), None);
        assert_eq!(tails.inner.lock().unwrap().bytes, 0);
    }

    #[test]
    fn a_rendered_entry_is_the_json_sync_sends() {
        let r = room("team");
        let e = Rendered::new(
            &r,
            3,
            EntryKind::Commit,
            7,
            "mimi://example.com/c/a/b",
            b"\x01\x02",
        );
        let v: serde_json::Value = serde_json::to_value(Shared(Arc::new(e))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "room": r.as_str(), "seq": 3, "kind": "commit", "epoch": 7,
                "sender": "mimi://example.com/c/a/b", "message": "AQI=",
            })
        );
    }

    #[test]
    fn a_room_tail_of_large_messages_stays_within_its_byte_budget() {
        let tails = Tails::default();
        let r = room("team");
        let big = vec![0u8; 1 << 20];
        let large: Vec<Rendered> = (1..=40)
            .map(|s| Rendered::new(&r, s, EntryKind::Message, 0, "c", &big))
            .collect();
        tails.push(&r, large);
        let inner = tails.inner.lock().unwrap();
        assert!(inner.bytes <= PER_ROOM_BYTES, "{} bytes", inner.bytes);
        assert_eq!(inner.rooms[&r].last_seq(), Some(40), "the newest stay");
    }

    #[test]
    fn a_room_tail_keeps_its_newest_entries_only() {
        let tails = Tails::default();
        let r = room("team");
        tails.push(&r, entries(&r, 1..=(PER_ROOM as u64 + 10)));
        assert_eq!(seqs(tails.after(&r, 5, 20, 100)), None);
        assert_eq!(seqs(tails.after(&r, 10, 12, 100)), Some(vec![11, 12]));
    }
}
