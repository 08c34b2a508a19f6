//! One test per rule of the seed's "Authorizing MLS primitives", each with its allowed and
//! its denied side. Rooms are the seed presets (`mimi policy preset NAME`), patched per case.

mod messages_and_policy;
mod ways_in;
mod ways_out;

use serde_json::json;

pub(super) const ALICE: &str = "alice@example.com"; // owner
pub(super) const CAROL: &str = "carol@example.com"; // admin
pub(super) const BOB: &str = "bob@example.com"; // member
pub(super) const DAVE: &str = "dave@provider1.example"; // member on another provider
pub(super) const MALLORY: &str = "mallory@example.net"; // outcast
pub(super) const ZED: &str = "zed@example.org"; // a stranger
pub(super) const LOGGER: &str = "financial_transactions_chat_logger@example.com";

pub(super) fn op(actor: serde_json::Value, action: &str) -> serde_json::Value {
    json!({ "actor": actor, "action": action })
}

pub(super) fn op_on(
    actor: serde_json::Value,
    action: &str,
    t: serde_json::Value,
) -> serde_json::Value {
    json!({ "actor": actor, "action": action, "target": t })
}
