//! Every action answers, in every preset and in the RP-04 example room.

use super::*;

/// The fields each action takes, as a template: the strings `$PEER`, `$PEER_CLIENT`,
/// `$STRANGER`, `$STRANGER_CLIENT` and `$ROOM` are replaced by the room's values.
const FIELDS: &[(&str, &str)] = &[
    ("create-room", r#"{"existing-rooms": []}"#),
    ("add-client", r#"{"target": "$STRANGER_CLIENT"}"#),
    (
        "fetch-keypackage",
        r#"{"target": "$STRANGER", "consent": false, "knocked": true,
            "outstanding-keypackages": 1, "keypackage-quota": 2}"#,
    ),
    (
        "external-join",
        r#"{"link": {"issued-by": "system@example.com", "password": "pw", "uses": 1, "max-uses": 3}}"#,
    ),
    ("rejoin", "{}"),
    (
        "fetch-groupinfo",
        r#"{"link": {"issued-by": "system@example.com"}}"#,
    ),
    ("remove-client", r#"{"target": "$PEER_CLIENT"}"#),
    ("self-remove", "{}"),
    ("leave", "{}"),
    ("destroy", "{}"),
    ("vacate", "{}"),
    ("send-message", "{}"),
    ("update-policy", r#"{"policy": "$ROOM"}"#),
    ("psk", "{}"),
    ("reinit", "{}"),
    ("update", r#"{"seconds-since-last-update": 60}"#),
    (
        "external-proposal",
        r#"{"proposal": "remove", "target": "$PEER_CLIENT"}"#,
    ),
    ("ban", r#"{"target": "$PEER"}"#),
    ("unban", r#"{"target": "$PEER"}"#),
    ("kick", r#"{"target": "$PEER"}"#),
    ("grant-voice", r#"{"target": "$PEER"}"#),
    ("revoke-voice", r#"{"target": "$PEER"}"#),
    (
        "set-affiliation",
        r#"{"target": "$PEER", "affiliation": "admin"}"#,
    ),
    ("change-role", r#"{"target": "$PEER", "role": 2}"#),
    ("knock", "{}"),
    (
        "accept-knock",
        r#"{"target": "$STRANGER", "knocked": true}"#,
    ),
];

/// Replaces every string equal to a variable's name by the variable's value.
fn fill(template: Value, vars: &[(&str, &Value)]) -> Value {
    match template {
        Value::String(s) => match vars.iter().find(|(name, _)| *name == s) {
            Some((_, value)) => (*value).clone(),
            None => Value::String(s),
        },
        Value::Object(map) => map.into_iter().map(|(k, v)| (k, fill(v, vars))).collect(),
        Value::Array(items) => items.into_iter().map(|v| fill(v, vars)).collect(),
        other => other,
    }
}

/// A valid operation for `action` in `room`: the first user with clients acts through its
/// first client on the second (the peer), or on a stranger.
fn op_for(action: &str, room: &Value) -> Value {
    let (_, template) = FIELDS
        .iter()
        .find(|(a, _)| *a == action)
        .unwrap_or_else(|| panic!("no operation template for `{action}`"));
    let clients = room["clients"].as_object().expect("room has clients");
    let mut users = clients.iter();
    let member = |(user, names): (&String, &Value)| json!({ "user": user, "client": names[0] });
    let actor = member(users.next().expect("an actor"));
    let peer = member(users.next().expect("a peer"));
    let stranger = json!({ "user": "zed@example.org" });
    let stranger_client = json!({ "user": "zed@example.org", "client": "laptop" });
    let vars: [(&str, &Value); 5] = [
        ("$PEER", &json!({ "user": peer["user"] })),
        ("$PEER_CLIENT", &peer),
        ("$STRANGER", &stranger),
        ("$STRANGER_CLIENT", &stranger_client),
        ("$ROOM", room),
    ];
    let mut op = fill(
        serde_json::from_str(template).expect("template is JSON"),
        &vars,
    );
    op["actor"] = actor;
    op["action"] = json!(action);
    op
}

/// Decides every action in the room document `doc`, checking each answer is well formed.
fn decide_every_action(doc: &str) -> Vec<Value> {
    let room_value: Value = serde_json::from_str(doc).expect("room is JSON");
    let room = scratch(doc);
    ACTIONS
        .iter()
        .map(|action| decide(&room, &op_for(action, &room_value)))
        .collect()
}

#[test]
fn check_answers_every_action_in_every_preset() {
    for name in preset::names() {
        let decisions = decide_every_action(&preset_doc(name));
        assert_eq!(decisions.len(), ACTIONS.len(), "{name}");
    }
}

#[test]
fn check_answers_every_action_in_the_rp04_example_room() {
    let doc = std::fs::read_to_string(root().join("examples/rooms/rp04-cooperative.json"))
        .expect("example room");
    let decisions = decide_every_action(&doc);
    // Role-table rooms are decided by capabilities; only KeyPackage access, which does not
    // depend on the room, names a seed rule when allowed, and a rejoin, which keeps a
    // client's own place in every room, mimi's own.
    for d in decisions.iter().filter(|d| d["decision"] == "allow") {
        let rule = d["rule"].as_str().unwrap_or_default();
        assert!(
            rule.starts_with("RP-") || rule.starts_with("SEED-KP-") || rule == "MIMI-REJOIN",
            "{d}"
        );
    }
    assert!(decisions.iter().any(|d| d["decision"] == "deny"));
}

#[test]
fn every_action_has_an_operation_template_and_no_template_is_stale() {
    assert_eq!(FIELDS.len(), ACTIONS.len());
    for (action, _) in FIELDS {
        assert!(
            ACTIONS.contains(action),
            "template for unknown action `{action}`"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Specific seed decisions, one preset at a time.
