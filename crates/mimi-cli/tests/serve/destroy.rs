//! The ends of a room: `mimi room destroy` by its last member, a temporary room that goes
//! with its last member's leave, and a persistent room that stays.

use crate::client::{account, create_from, events, mimi, ok, people};
use crate::moderation::refusal;
use crate::server::{Server, scratch};

#[test]
fn the_last_member_destroys_a_room_and_its_name_is_free_again() {
    let dir = scratch("destroy-last");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob] = people(&dir, &url, ["alice", "bob"]);
    ok(&bob, &["consent", "grant", "alice"]);
    ok(&alice, &["room", "create", "team", "--exact-name"]);
    ok(&alice, &["room", "add", "team", "bob"]);
    ok(&bob, &["sync"]);

    // Not while bob is in it.
    let refused = refusal(&alice, &["room", "destroy", "team"]);
    assert_eq!(
        (&refused["code"], &refused["rule"]),
        (&"not-allowed".into(), &"SEED-DESTROY".into())
    );
    ok(&bob, &["room", "leave", "team"]);
    ok(&alice, &["sync"]);
    ok(&bob, &["sync"]);
    let gone = events(&ok(&alice, &["room", "destroy", "team", "--json"]));
    assert_eq!(gone[0]["destroyed"], true);
    let shown = mimi(&alice, &["room", "show", "team"]);
    assert!(
        !shown.ok && shown.stderr.contains("not-found"),
        "{}",
        shown.stderr
    );
    // The name is free: bob makes a new room of it.
    ok(&bob, &["room", "create", "team", "--exact-name"]);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_temporary_room_goes_with_its_last_members_leave() {
    let dir = scratch("destroy-temporary");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let alice = dir.join("alice");
    account(&alice, &url, "alice");
    let doc = serde_json::json!({
        "policy": {"membership": "open", "persistent": false, "discoverable": true},
        "owning-system": ["system@example.com"],
        "user-affiliations": {"owner": ["alice@example.com"]},
    });
    create_from(&alice, &dir, "party", &doc);
    assert!(ok(&alice, &["room", "list", "--directory"]).contains("r/party"));
    let left = events(&ok(&alice, &["room", "leave", "party", "--json"]));
    assert_eq!(left[0]["destroyed"], true, "{left:?}");
    assert!(!ok(&alice, &["room", "list", "--directory"]).contains("r/party"));
    let shown = mimi(&alice, &["room", "show", "party"]);
    assert!(!shown.ok, "{}", shown.stdout);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_last_member_leaves_a_persistent_room_which_keeps_its_policy_for_the_first_one_back() {
    let dir = scratch("destroy-vacant");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, carol, dave] = people(&dir, &url, ["alice", "carol", "dave"]);
    // Knock-first, carol pre-authorized as a member.
    ok(
        &alice,
        &[
            "room",
            "create",
            "team",
            "--exact-name",
            "--preauth",
            "user:carol@example.com",
        ],
    );
    ok(&alice, &["send", "team", "before"]);
    let left = events(&ok(&alice, &["room", "leave", "team", "--json"]));
    assert_eq!(
        (&left[0]["vacant"], &left[0]["destroyed"]),
        (&true.into(), &false.into()),
        "{left:?}"
    );
    // Still in the provider's directory.
    assert!(ok(&dave, &["room", "list", "--directory"]).contains("r/team"));

    // The room stays: its document, with alice still its owner and nobody in it.
    let doc: serde_json::Value =
        serde_json::from_str(&ok(&dave, &["room", "show", "team", "--json"])).unwrap();
    assert_eq!(
        doc["user-affiliations"]["owner"][0], "mimi://example.com/u/alice",
        "{doc}"
    );
    assert_eq!(doc["clients"], serde_json::json!({}), "{doc}");
    // Its name is not free, and its policy still decides who comes in.
    assert!(!mimi(&dave, &["room", "create", "team", "--exact-name"]).ok);
    let refused = refusal(&dave, &["room", "join", "team"]);
    assert_eq!(refused["code"], "knock-required", "{refused}");

    // carol comes back first and starts the group again; alice, its owner, follows.
    let joined = events(&ok(&carol, &["room", "join", "team", "--json"]));
    assert_eq!(joined[0]["room"], "mimi://example.com/r/team", "{joined:?}");
    ok(&alice, &["room", "join", "team"]);
    ok(&carol, &["sync"]);
    ok(&alice, &["send", "team", "after"]);
    let heard = ok(&carol, &["sync"]);
    assert!(
        heard.contains("after") && !heard.contains("before"),
        "{heard}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&ok(&alice, &["room", "show", "team", "--json"])).unwrap();
    assert_eq!(
        doc["user-affiliations"]["owner"][0], "mimi://example.com/u/alice",
        "{doc}"
    );
    assert_eq!(
        doc["user-affiliations"]["member"][0], "mimi://example.com/u/carol",
        "{doc}"
    );
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
