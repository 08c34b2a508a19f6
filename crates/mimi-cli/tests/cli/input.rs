//! Bad input is refused with a clear error naming the field, and exit status 2.

use super::*;
use crate::presets::{ALICE, BOB};

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
