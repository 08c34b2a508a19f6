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
    // A persistent room's last member does not leave it; it destroys it.
    let last = refusal(&alice, &["room", "leave", "team"]);
    assert_eq!(last["code"], "last-member", "{last}");
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
    assert!(ok(&alice, &["room", "list"]).contains("r/party"));
    let left = events(&ok(&alice, &["room", "leave", "party", "--json"]));
    assert_eq!(left[0]["destroyed"], true, "{left:?}");
    assert!(!ok(&alice, &["room", "list"]).contains("r/party"));
    let shown = mimi(&alice, &["room", "show", "party"]);
    assert!(!shown.ok, "{}", shown.stdout);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
