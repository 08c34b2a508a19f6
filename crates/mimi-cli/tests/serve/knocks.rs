//! Answering knocks from the command line: the pending knocks one may answer, approve
//! (the knocker is added), deny (alias: decline).

use crate::client::{account, events, mimi, ok};
use crate::server::{Server, scratch};

#[test]
fn a_moderator_lists_the_knocks_it_may_answer_and_approves_or_denies_each() {
    let dir = scratch("knocks");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, zed, carol] = ["alice", "bob", "zed", "carol"].map(|p| dir.join(p));
    for (p, user) in [
        (&alice, "alice"),
        (&bob, "bob"),
        (&zed, "zed"),
        (&carol, "carol"),
    ] {
        account(p, &url, user);
    }
    // Knock-first and listed.
    ok(&alice, &["room", "create", "team"]);
    ok(&bob, &["room", "knock", "team"]);
    ok(&zed, &["room", "knock", "team"]);

    let listed = events(&ok(&alice, &["room", "knocks", "team", "--json"]));
    let users: Vec<&str> = listed[0]["knocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["user"].as_str().unwrap())
        .collect();
    assert_eq!(users.len(), 2, "{listed:?}");
    assert!(users.contains(&"mimi://example.com/u/bob"), "{listed:?}");
    assert!(users.contains(&"mimi://example.com/u/zed"), "{listed:?}");
    // For a person: one knock a line, aligned, with the command that lets it in.
    let text = ok(&alice, &["room", "knocks", "team"]);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("s ago"), "{text}");
    assert!(
        text.contains("`mimi room approve mimi://example.com/r/team mimi://example.com/u/bob`"),
        "{text}"
    );
    // carol may answer none of them.
    let none = events(&ok(&carol, &["room", "knocks", "team", "--json"]));
    assert_eq!(none[0]["knocks"], serde_json::json!([]));

    let approved = events(&ok(&alice, &["room", "approve", "team", "bob", "--json"]));
    assert_eq!(approved[0]["room"], "mimi://example.com/r/team");
    assert_eq!(events(&ok(&bob, &["sync", "--json"]))[0]["event"], "joined");
    ok(&alice, &["room", "deny", "team", "zed"]);
    let left = events(&ok(&alice, &["room", "knocks", "team", "--json"]));
    assert_eq!(left[0]["knocks"], serde_json::json!([]));
    // Denied, zed may knock again; `decline` still says the same.
    ok(&zed, &["room", "knock", "team"]);
    ok(&alice, &["room", "decline", "team", "zed"]);
    let twice = mimi(&alice, &["room", "deny", "team", "zed"]);
    assert!(!twice.ok);
    assert!(twice.stderr.contains("no-knock"), "{}", twice.stderr);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_member_suggests_a_room_and_the_user_joins_or_knocks_as_it_lets_them() {
    let dir = scratch("suggest");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(|p| dir.join(p));
    for (p, u) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
        account(p, &url, u);
    }
    ok(&alice, &["room", "create", "lobby", "--preset", "open"]);
    ok(&alice, &["room", "create", "team"]);
    let told = events(&ok(&alice, &["room", "suggest", "lobby", "bob", "--json"]));
    assert_eq!(told[0]["user"], "mimi://example.com/u/bob");
    let heard = ok(&bob, &["sync"]);
    assert!(
        heard.contains(
            "suggests mimi://example.com/r/lobby: `mimi room join mimi://example.com/r/lobby`"
        ),
        "{heard}"
    );
    ok(&bob, &["room", "join", "lobby"]);
    // A members-only room: the suggestion leads to a knock.
    ok(&alice, &["room", "suggest", "team", "carol"]);
    let heard = events(&ok(&carol, &["sync", "--json"]));
    assert_eq!(heard[0]["event"], "suggested", "{heard:?}");
    ok(&carol, &["room", "knock", "team"]);
    // Only someone in the room suggests it; an unknown user is told of as a known one.
    let refused = mimi(&carol, &["room", "suggest", "lobby", "bob", "--json"]);
    assert!(!refused.ok);
    assert!(refused.stdout.contains("not-in-room"), "{}", refused.stdout);
    ok(&alice, &["room", "suggest", "lobby", "nobody-here"]);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
