//! `mimi policy` run as a user runs it: the built binary, real files, stdout, stderr and the
//! exit status.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use mimi_policy::operation::ACTIONS;
use mimi_policy::preset;
use serde_json::{Value, json};

/// The workspace root: README, docs and examples are read from here, and commands run here.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What one run of the binary produced.
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn mimi(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run mimi");
    Run {
        status: out.status.code().expect("exit status"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Writes `contents` to a fresh file under the test scratch directory.
fn scratch(contents: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{}-{n}.json", std::process::id()));
    std::fs::write(&path, contents).expect("write scratch file");
    path
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `mimi policy preset NAME`, which must succeed.
fn preset_doc(name: &str) -> String {
    let run = mimi(&["policy", "preset", name]);
    assert_eq!(run.status, 0, "preset {name}: {}", run.stderr);
    run.stdout
}

/// `mimi policy check` on two files.
fn check(room: &Path, op: &Path) -> Run {
    mimi(&[
        "policy",
        "check",
        "--room",
        path_str(room),
        "--op",
        path_str(op),
    ])
}

/// Decides `op` in `room`, asserting a clean exit and a well-formed decision object.
fn decide(room: &Path, op: &Value) -> Value {
    let run = check(room, &scratch(&op.to_string()));
    assert_eq!(run.status, 0, "{op}: {}", run.stderr);
    assert!(run.stderr.is_empty(), "{op}: {}", run.stderr);
    let decision: Value = serde_json::from_str(&run.stdout).expect("decision is JSON");
    assert_well_formed(&decision, op);
    decision
}

fn assert_well_formed(d: &Value, op: &Value) {
    let obj = d.as_object().expect("decision is an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "decision", "reason", "rule"], "{op}: {d}");
    let text = |k: &str| d[k].as_str().unwrap_or_default();
    assert!(matches!(text("decision"), "allow" | "deny"), "{op}: {d}");
    assert_eq!(
        text("code") == "ok",
        text("decision") == "allow",
        "{op}: {d}"
    );
    for k in ["code", "rule", "reason"] {
        assert!(!text(k).is_empty(), "{op}: empty {k} in {d}");
    }
}

/// Asserts `d` is `decision`/`code`/`rule`.
#[track_caller]
fn assert_decision(d: &Value, expected: [&str; 3], what: &str) {
    let got = [&d["decision"], &d["code"], &d["rule"]].map(|v| v.as_str().unwrap_or_default());
    assert_eq!(got, expected, "{what}: {d}");
}

/// Asserts a refused input: exit 2, nothing on stdout, `needles` on stderr, no panic.
#[track_caller]
fn assert_input_error(run: &Run, needles: &[&str]) {
    assert_eq!(
        run.status, 2,
        "stdout {:?}, stderr {:?}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "expected {needle:?} in {:?}",
            run.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The README and the documented examples.

/// The first ```LANG block of `text` that contains `needle`.
fn first_block<'a>(text: &'a str, lang: &str, needle: &str) -> &'a str {
    let fence = format!("```{lang}\n");
    let mut rest = text;
    loop {
        let start = rest.find(&fence).expect("block") + fence.len();
        let len = rest[start..].find("```").expect("block end");
        let block = &rest[start..start + len];
        if block.contains(needle) {
            return block;
        }
        rest = &rest[start + len + 3..];
    }
}

#[test]
fn readme_policy_command_prints_the_documented_decision() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let command = first_block(&readme, "sh", "policy check").replace("\\\n", " ");
    let args: Vec<&str> = command
        .split_whitespace()
        .skip_while(|w| *w != "--")
        .skip(1)
        .collect();
    assert_eq!(args[..2], ["policy", "check"], "{command}");
    let documented: Value =
        serde_json::from_str(first_block(&readme, "json", "decision")).expect("json");

    let run = mimi(&args);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let got: Value = serde_json::from_str(&run.stdout).expect("decision is JSON");
    for key in ["decision", "code", "rule"] {
        assert_eq!(got[key], documented[key], "{key}");
    }
    let reason = documented["reason"].as_str().expect("reason");
    let prefix = reason.trim_end_matches("...").trim_end();
    assert!(got["reason"].as_str().expect("reason").starts_with(prefix));
    assert_decision(&got, ["deny", "not-allowed", "SEED-ADD-4"], "README");
}

#[test]
fn every_example_in_the_docs_decides_as_documented() {
    let docs = std::fs::read_to_string(root().join("docs/policy.md")).expect("docs/policy.md");
    let table = docs
        .split("<!-- examples-table")
        .nth(1)
        .expect("the examples table");
    let rows: Vec<Vec<String>> = table
        .lines()
        .filter(|l| l.starts_with("| `ops/"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect();
    assert!(rows.len() >= ACTIONS.len(), "only {} examples", rows.len());
    let examples = root().join("examples");
    let mut shown: Vec<String> = Vec::new();
    for row in &rows {
        let [op_file, room_file, action, decision, code, rule] = &row[..] else {
            panic!("malformed row {row:?}");
        };
        let op: Value = serde_json::from_str(
            &std::fs::read_to_string(examples.join(op_file)).expect("example op"),
        )
        .expect("example op is JSON");
        assert_eq!(op["action"], action.as_str(), "{op_file}");
        let d = decide(&examples.join(room_file), &op);
        assert_decision(
            &d,
            [decision.as_str(), code.as_str(), rule.as_str()],
            op_file,
        );
        shown.push(action.clone());
    }
    for action in ACTIONS {
        assert!(
            shown.iter().any(|a| a == action),
            "no example for `{action}`"
        );
    }
    let files = std::fs::read_dir(examples.join("ops"))
        .expect("examples/ops")
        .count();
    assert_eq!(
        files,
        rows.len(),
        "every examples/ops file has a row in the docs"
    );
}

#[test]
fn example_rooms_named_after_presets_are_the_preset_output() {
    for name in preset::names() {
        let file = root().join(format!("examples/rooms/{name}.json"));
        let text = std::fs::read_to_string(&file).expect("example room");
        assert_eq!(text, preset_doc(name), "{}", file.display());
    }
}

// ---------------------------------------------------------------------------------------------
// Every action in every room.

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
    (
        "fetch-groupinfo",
        r#"{"link": {"issued-by": "system@example.com"}}"#,
    ),
    ("remove-client", r#"{"target": "$PEER_CLIENT"}"#),
    ("self-remove", "{}"),
    ("leave", "{}"),
    ("destroy", "{}"),
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
    // depend on the room, names a seed rule when allowed.
    for d in decisions.iter().filter(|d| d["decision"] == "allow") {
        let rule = d["rule"].as_str().unwrap_or_default();
        assert!(
            rule.starts_with("RP-") || rule.starts_with("SEED-KP-"),
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

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";
const ZED: &str = "zed@example.org";

fn by(user: &str, client: &str, action: &str) -> Value {
    json!({ "actor": { "user": user, "client": client }, "action": action })
}

fn on(mut op: Value, user: &str, client: Option<&str>) -> Value {
    op["target"] = match client {
        Some(c) => json!({ "user": user, "client": c }),
        None => json!({ "user": user }),
    };
    op
}

#[track_caller]
fn assert_preset_decides(preset: &str, cases: &[(Value, [&str; 3])]) {
    let room = scratch(&preset_doc(preset));
    for (op, expected) in cases {
        assert_decision(&decide(&room, op), *expected, &format!("{preset}: {op}"));
    }
}

#[test]
fn one_on_one_keeps_its_two_occupants() {
    assert_preset_decides(
        "one-on-one",
        &[
            (
                on(by(ALICE, "phone", "add-client"), BOB, Some("tablet")),
                ["allow", "ok", "SEED-ADD-1"],
            ),
            (
                on(by(ALICE, "phone", "add-client"), ZED, Some("laptop")),
                ["deny", "fixed-membership", "SEED-ADD-FIXED"],
            ),
            (
                by(BOB, "phone", "leave"),
                ["deny", "fixed-membership", "SEED-LEAVE-FIXED"],
            ),
        ],
    );
}

#[test]
fn administrated_room_lets_admins_add_and_members_not() {
    assert_preset_decides(
        "administrated",
        &[
            (
                on(by(CAROL, "desktop", "add-client"), ZED, Some("laptop")),
                ["allow", "ok", "SEED-ADD-3"],
            ),
            (
                on(by(BOB, "phone", "add-client"), ZED, Some("laptop")),
                ["deny", "not-allowed", "SEED-ADD-4"],
            ),
            (
                by(ZED, "laptop", "external-join"),
                ["deny", "knock-required", "SEED-JOIN-KNOCK"],
            ),
        ],
    );
}

#[test]
fn open_room_takes_strangers_but_not_outcasts() {
    assert_preset_decides(
        "open",
        &[
            (
                by(ZED, "laptop", "external-join"),
                ["allow", "ok", "SEED-JOIN-2"],
            ),
            (
                by("mallory@example.net", "laptop", "external-join"),
                ["deny", "banned", "SEED-OUTCAST"],
            ),
        ],
    );
}

#[test]
fn semi_open_room_admits_preauthorized_domains_only() {
    assert_preset_decides(
        "semi-open",
        &[
            (
                by("yuri@example.net", "phone", "external-join"),
                ["allow", "ok", "SEED-JOIN-1"],
            ),
            (
                by(ZED, "laptop", "external-join"),
                ["deny", "registration-required", "SEED-JOIN-5"],
            ),
        ],
    );
}

#[test]
fn moderated_room_needs_voice_to_send() {
    assert_preset_decides(
        "moderated",
        &[
            (
                by("erin@example.org", "phone", "send-message"),
                ["allow", "ok", "SEED-SEND-2"],
            ),
            (
                by("dave@example.org", "laptop", "send-message"),
                ["deny", "no-voice", "SEED-SEND-2"],
            ),
            (
                on(by(CAROL, "desktop", "revoke-voice"), ALICE, None),
                ["deny", "cannot-revoke-moderator-voice", "MUC-VOICE-ADMIN"],
            ),
        ],
    );
}

#[test]
fn fixed_membership_logging_room_protects_its_logger() {
    let logger = "financial_transactions_chat_logger@example.com";
    assert_preset_decides(
        "fixed-membership-logging",
        &[
            (
                by(BOB, "desktop", "send-message"),
                ["allow", "ok", "SEED-SEND-1"],
            ),
            (
                on(
                    by(ALICE, "phone", "remove-client"),
                    logger,
                    Some("archiver"),
                ),
                ["deny", "system-user-protected", "SEED-REMOVE-SYSTEM"],
            ),
            (
                on(by(ALICE, "phone", "add-client"), BOB, Some("laptop")),
                ["deny", "single-device", "SEED-MULTI-DEVICE"],
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input: exit 2 and a message naming the problem, never a panic.

const GOOD_OP: &str =
    r#"{"actor": {"user": "bob@example.com", "client": "phone"}, "action": "send-message"}"#;

/// Runs `check` with the administrated preset and `op`, expecting an input error.
#[track_caller]
fn assert_op_refused(op: &str, needles: &[&str]) {
    let op_file = scratch(op);
    let run = check(&scratch(&preset_doc("administrated")), &op_file);
    let mut all = vec![path_str(&op_file)];
    all.extend_from_slice(needles);
    assert_input_error(&run, &all);
}

/// Runs `check` with `room` and a valid operation, expecting an input error.
#[track_caller]
fn assert_room_refused(room: &str, needles: &[&str]) {
    let room_file = scratch(room);
    let run = check(&room_file, &scratch(GOOD_OP));
    let mut all = vec![path_str(&room_file)];
    all.extend_from_slice(needles);
    assert_input_error(&run, &all);
}

#[test]
fn unknown_action_is_refused_with_the_list_of_actions() {
    assert_op_refused(
        r#"{"actor": {"user": "bob@example.com"}, "action": "fly"}"#,
        &["action", "unknown action `fly`", "accept-knock"],
    );
}

#[test]
fn unknown_field_in_the_operation_is_refused() {
    assert_op_refused(
        r#"{"actor": {"user": "bob@example.com"}, "action": "leave", "urgent": true}"#,
        &["unknown field `urgent`"],
    );
    assert_op_refused(
        r#"{"actor": {"user": "bob@example.com", "device": "x"}, "action": "leave"}"#,
        &["actor", "unknown field `device`"],
    );
}

#[test]
fn unknown_field_in_the_room_is_refused() {
    assert_room_refused(
        r#"{"user-affiliations": {"owner": ["alice@example.com"]}, "colour": "red"}"#,
        &["unknown field `colour`"],
    );
    assert_room_refused(
        r#"{"user-affiliations": {"owner": ["alice@example.com"]}, "policy": {"loud": true}}"#,
        &["policy.loud", "unknown field `loud`"],
    );
}

#[test]
fn wrong_types_are_refused_naming_the_field() {
    assert_op_refused(
        r#"{"actor": {"user": 42, "client": "phone"}, "action": "leave"}"#,
        &["actor.user", "invalid type: integer `42`"],
    );
    assert_op_refused(
        r#"{"actor": {"user": "bob@example.com"}, "action": "fetch-keypackage",
            "target": {"user": "zed@example.org"}, "consent": "yes"}"#,
        &["consent", "expected a boolean"],
    );
    assert_room_refused(
        r#"{"user-affiliations": {"owner": ["alice@example.com"]}, "policy": {"moderated": "true"}}"#,
        &["policy.moderated", "expected a boolean"],
    );
}

#[test]
fn empty_or_ownerless_lists_are_refused() {
    assert_room_refused(
        r#"{"user-affiliations": {"owner": ["alice@example.com"]},
            "clients": {"bob@example.com": []}}"#,
        &["clients.mimi://example.com/u/bob", "empty client list"],
    );
    assert_room_refused(
        r#"{"user-affiliations": {"member": ["bob@example.com"]},
            "clients": {"bob@example.com": ["phone"]}}"#,
        &["user-affiliations.owner", "at least one owner"],
    );
}

#[test]
fn malformed_user_ids_are_refused() {
    assert_op_refused(
        r#"{"actor": {"user": "bob"}, "action": "leave"}"#,
        &["actor.user", "`bob` is not a user identifier"],
    );
    assert_room_refused(
        r#"{"user-affiliations": {"owner": ["alice@exa mple.com"]}}"#,
        &["user-affiliations.owner[0]", "is not a valid domain"],
    );
}

#[test]
fn a_field_the_action_does_not_use_is_refused() {
    assert_op_refused(
        r#"{"actor": {"user": "bob@example.com"}, "action": "leave",
            "target": {"user": "zed@example.org"}}"#,
        &["target", "does not apply to action `leave`"],
    );
}

#[test]
fn missing_required_fields_are_refused() {
    assert_op_refused(
        r#"{"actor": {"user": "alice@example.com"}, "action": "set-affiliation",
            "target": {"user": "bob@example.com"}}"#,
        &["affiliation", "`set-affiliation` needs `affiliation`"],
    );
    assert_op_refused(
        r#"{"actor": {"user": "bob@example.com"}, "action": "add-client",
            "target": {"user": "zed@example.org"}}"#,
        &["target.client", "needs the target's client"],
    );
    assert_op_refused(r#"{"action": "leave"}"#, &["missing field `actor`"]);
}

#[test]
fn invalid_json_is_refused_naming_the_file() {
    assert_op_refused(r#"{"actor": "#, &["not valid JSON"]);
    assert_room_refused("[1, 2", &["not valid JSON"]);
    assert_room_refused("[]", &["a room document is a JSON object"]);
}

#[test]
fn missing_file_is_refused_naming_it() {
    let run = check(Path::new("no/such/room.json"), &scratch(GOOD_OP));
    assert_input_error(&run, &["no/such/room.json", "cannot read"]);
}

#[test]
fn unknown_preset_is_refused_with_the_list_of_presets() {
    let run = mimi(&["policy", "preset", "lobby"]);
    assert_input_error(
        &run,
        &[
            "unknown preset `lobby`",
            "one-on-one",
            "fixed-membership-logging",
        ],
    );
}

#[test]
fn missing_arguments_are_usage_errors() {
    assert_input_error(&mimi(&["policy", "check", "--room", "x.json"]), &["--op"]);
}

// ---------------------------------------------------------------------------------------------
// Fixed-membership room IDs.

const ALICE_AND_BOB: &str = "im:mimi=%23%23H3KXYXiu7lFs0kqCvgmaRYGeOYANVApd4Ok-25FhxGM@example.com";

fn fixed_room_id(args: &[&str]) -> Run {
    let mut all = vec!["policy", "fixed-room-id"];
    all.extend_from_slice(args);
    mimi(&all)
}

#[test]
fn fixed_room_id_is_the_seed_hash_of_the_sorted_users() {
    for args in [
        ["--domain", "example.com", ALICE, BOB],
        ["--domain", "example.com", BOB, ALICE],
        [
            "--domain",
            "example.com",
            "mimi://example.com/u/bob",
            "im:%40alice@example.com",
        ],
        ["--domain", "example.com", "bob", "alice"],
    ] {
        let run = fixed_room_id(&args);
        assert_eq!(run.status, 0, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, format!("{ALICE_AND_BOB}\n"), "{args:?}");
    }
}

#[test]
fn fixed_room_id_needs_users_and_a_valid_domain() {
    assert_input_error(
        &fixed_room_id(&["--domain", "example.com"]),
        &["at least one participant"],
    );
    assert_input_error(
        &fixed_room_id(&["--domain", "exa mple.com", ALICE]),
        &["`exa mple.com` is not a valid domain"],
    );
    assert_input_error(
        &fixed_room_id(&["--domain", "example.com", "a b@example.com"]),
        &["user `a b@example.com`", "not a valid name"],
    );
}
