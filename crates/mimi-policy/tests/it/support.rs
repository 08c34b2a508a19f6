//! Building rooms and operations from JSON, and asserting decisions.

use mimi_policy::document::room_from_value;
use mimi_policy::operation::Operation;
use mimi_policy::preset::{PRESETS, preset};
use mimi_policy::{Decision, Room, authorize};
use serde_json::Value;

/// A preset's room document as JSON, users spelled as in the preset file (`alice@example.com`)
/// so that patches can name them the same way.
pub fn preset_json(name: &str) -> Value {
    let (_, text) = PRESETS.iter().find(|(n, _)| *n == name).unwrap();
    let mut doc: Value = serde_json::from_str(text).unwrap();
    if let Some(id) = preset(name).unwrap().id {
        doc["id"] = Value::String(id.to_string());
    }
    doc
}

/// Merges `patch` into `base` (RFC 7386: objects merge, `null` deletes, anything else replaces).
pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(&k);
                } else {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

/// A preset with `patch` merged in.
pub fn room(name: &str, patch: Value) -> Room {
    let mut doc = preset_json(name);
    merge(&mut doc, patch);
    room_from_value(doc).unwrap()
}

/// Decides `op` (JSON) in `room`.
pub fn decide(room: &Room, op: Value) -> Decision {
    let op = Operation::from_json(op.clone()).unwrap_or_else(|e| panic!("bad op {op}: {e}"));
    authorize(room, &op)
}

/// Asserts `op` is allowed by `rule`.
#[track_caller]
pub fn allow(room: &Room, op: Value, rule: &str) {
    let d = decide(room, op.clone());
    assert!(
        d.is_allowed() && d.rule().id == rule,
        "expected allow by {rule} for {op}, got {:?}",
        d.report()
    );
}

/// Asserts `op` is denied with `code` by `rule`.
#[track_caller]
pub fn deny(room: &Room, op: Value, code: &str, rule: &str) {
    let d = decide(room, op.clone());
    assert!(
        !d.is_allowed() && d.code() == code && d.rule().id == rule,
        "expected deny {code} by {rule} for {op}, got {:?}",
        d.report()
    );
}

/// A user actor with one of its clients.
pub fn user(u: &str, client: &str) -> Value {
    serde_json::json!({ "user": u, "client": client })
}

/// A system actor.
pub fn system(s: &str) -> Value {
    serde_json::json!({ "system": s })
}

/// A target user, optionally with a client.
pub fn target(u: &str, client: Option<&str>) -> Value {
    match client {
        Some(c) => serde_json::json!({ "user": u, "client": c }),
        None => serde_json::json!({ "user": u }),
    }
}
