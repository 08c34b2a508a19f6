//! Moderation from the command line (XEP-0045's vocabulary): kick, remove, ban, unban,
//! voice, devoice and affiliations, each decided by the seed's moderation rules at the
//! acting client, at the hub and at every member; refusals print `{code, rule, message}`.

use serde_json::Value;

use crate::client::{events, mimi, ok, people};
use crate::server::{Server, scratch};

/// The `{code, rule, message}` a refused `--json` command prints.
pub(crate) fn refusal(profile: &std::path::Path, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = mimi(profile, &args);
    assert!(!out.ok, "mimi {args:?} was not refused: {}", out.stdout);
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

#[test]
fn a_banned_user_stays_out_by_every_way_in_until_unbanned() {
    let dir = scratch("mod-ban");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob] = people(&dir, &url, ["alice", "bob"]);
    ok(&bob, &["consent", "grant", "alice"]);
    ok(&alice, &["room", "create", "lobby", "--preset", "open"]);
    ok(&bob, &["room", "join", "lobby"]);
    ok(&alice, &["sync"]);

    let banned = events(&ok(
        &alice,
        &[
            "room",
            "ban",
            "lobby",
            "bob",
            "--reason",
            "spam\x1b[2J",
            "--json",
        ],
    ));
    assert_eq!(banned[0]["user"], "mimi://example.com/u/bob");
    assert_eq!(banned[0]["action"], "ban");
    // bob reads that he is out, and why (a peer's control characters shown, not obeyed).
    let told = ok(&bob, &["sync"]);
    assert!(told.contains("no longer in"), "{told}");
    assert!(told.contains("(reason: spam\\u{1b}[2J)"), "{told}");

    // Out by joining, by being added, by knocking.
    let join = refusal(&bob, &["room", "join", "lobby"]);
    assert_eq!(join["code"], "banned", "{join}");
    assert!(join["rule"].is_string(), "{join}");
    let add = refusal(&alice, &["room", "add", "lobby", "bob"]);
    assert_eq!(add["code"], "banned", "{add}");
    let knock = refusal(&bob, &["room", "knock", "lobby"]);
    assert_eq!(knock["code"], "banned", "{knock}");

    // Unbanned, the open room lets him in again.
    ok(&alice, &["room", "unban", "lobby", "bob"]);
    ok(&bob, &["room", "join", "lobby"]);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn remove_ends_a_membership_while_kick_keeps_it() {
    let dir = scratch("mod-kick");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob] = people(&dir, &url, ["alice", "bob"]);
    ok(&bob, &["consent", "grant", "alice"]);
    // Members only: only members and the pre-authorized come in by themselves.
    ok(&alice, &["room", "create", "team"]);
    ok(&alice, &["room", "add", "team", "bob"]);
    ok(&bob, &["sync"]);

    let kicked = events(&ok(
        &alice,
        &[
            "room", "kick", "team", "bob", "--reason", "cool off", "--json",
        ],
    ));
    assert_eq!(kicked[0]["action"], "kick");
    let told = ok(&bob, &["sync"]);
    assert!(told.contains("(reason: cool off)"), "{told}");
    // Still a member: he comes back by himself.
    ok(&bob, &["room", "join", "team"]);

    ok(&alice, &["sync"]);
    ok(&alice, &["room", "remove", "team", "bob"]);
    ok(&bob, &["sync"]);
    let doc: Value =
        serde_json::from_str(&ok(&alice, &["room", "show", "team", "--json"])).unwrap();
    assert!(!doc.to_string().contains("u/bob"), "{doc}");
    // No longer a member: the room does not let him back by himself.
    let join = refusal(&bob, &["room", "join", "team"]);
    assert_eq!(join["code"], "knock-required", "{join}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn voice_and_affiliations_follow_the_muc_order() {
    let dir = scratch("mod-voice");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, dave, erin] = people(&dir, &url, ["alice", "dave", "erin"]);
    ok(
        &alice,
        &["room", "create", "stage", "--preset", "moderated"],
    );
    ok(&dave, &["room", "join", "stage"]);
    ok(&erin, &["room", "join", "stage"]);
    ok(&alice, &["sync"]);
    ok(&dave, &["sync"]);

    // A visitor of a moderated room has no voice until a moderator gives it.
    let quiet = refusal(&dave, &["send", "stage", "hello?"]);
    assert_eq!(quiet["code"], "no-voice", "{quiet}");
    ok(&alice, &["room", "voice", "stage", "dave"]);
    ok(&dave, &["sync"]);
    ok(&dave, &["send", "stage", "hello!"]);
    // A visitor gives nobody voice.
    ok(&erin, &["sync"]);
    let voice = refusal(&erin, &["room", "voice", "stage", "erin"]);
    assert_eq!(
        (&voice["code"], &voice["rule"]),
        (&"not-allowed".into(), &"MUC-VOICE".into())
    );

    // alice makes dave an admin; an admin manages those below, never its equals or owners.
    let made = events(&ok(
        &alice,
        &["room", "affiliation", "stage", "dave", "admin", "--json"],
    ));
    assert_eq!(made[0]["affiliation"], "admin");
    ok(&dave, &["sync"]);
    ok(&erin, &["sync"]);
    let kick = refusal(&dave, &["room", "kick", "stage", "alice"]);
    assert_eq!(kick["code"], "equal-or-higher-affiliation", "{kick}");
    let devoice = refusal(&dave, &["room", "devoice", "stage", "alice"]);
    assert_eq!(
        devoice["code"], "cannot-revoke-moderator-voice",
        "{devoice}"
    );
    let promote = refusal(&dave, &["room", "affiliation", "stage", "erin", "admin"]);
    assert_eq!(
        (&promote["code"], &promote["rule"]),
        (&"not-allowed".into(), &"MUC-AFFILIATION-2".into())
    );
    ok(&dave, &["room", "affiliation", "stage", "erin", "member"]);
    let text = ok(&alice, &["sync"]);
    assert!(text.contains("changed"), "{text}");
    let doc: Value =
        serde_json::from_str(&ok(&alice, &["room", "show", "stage", "--json"])).unwrap();
    assert_eq!(
        doc["user-affiliations"]["admin"],
        serde_json::json!(["mimi://example.com/u/dave"]),
        "{doc}"
    );
    assert_eq!(
        doc["user-affiliations"]["member"],
        serde_json::json!(["mimi://example.com/u/erin"]),
        "{doc}"
    );
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
