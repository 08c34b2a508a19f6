//! Joining by oneself (external commit) from the command line: an open room, a room that
//! pre-authorizes the joiner's domain, and the refusals of rooms that do not let one in.

use std::path::PathBuf;

use crate::client::{account, create_from, events, mimi, ok};
use crate::commands::second_device;
use crate::server::{Server, scratch};

#[test]
fn a_stranger_joins_an_open_room_by_itself_and_brings_its_other_devices() {
    let dir = scratch("join-open");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, bob_phone] = ["alice", "bob", "bob-phone"].map(|p| dir.join(p));
    account(&alice, &url, "alice");
    account(&bob, &url, "bob");
    second_device(&bob_phone, &url, "bob", "phone");
    ok(&alice, &["room", "create", "lobby", "--preset", "open"]);

    // No consent, no invitation: the room is open.
    let joined = events(&ok(&bob, &["room", "join", "lobby", "--json"]));
    assert_eq!(joined[0]["room"], "mimi://example.com/r/lobby");
    assert_eq!(
        joined[0]["devices"],
        serde_json::json!(["mimi://example.com/d/bob/phone"])
    );
    assert_eq!(
        events(&ok(&bob_phone, &["sync", "--json"]))[0]["event"],
        "joined"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&ok(&alice, &["room", "show", "lobby", "--json"])).unwrap();
    assert_eq!(
        doc["clients"]["mimi://example.com/u/bob"],
        serde_json::json!(["cli", "phone"]),
        "{doc}"
    );

    ok(&alice, &["sync"]);
    ok(&alice, &["send", "lobby", "welcome, bob"]);
    for p in [&bob, &bob_phone] {
        let got = ok(p, &["sync"]);
        assert!(got.contains("welcome, bob"), "{got}");
    }
    ok(&bob, &["send", "lobby", "thanks"]);
    let got = ok(&alice, &["sync"]);
    assert!(got.contains("thanks"), "{got}");

    // Once in, joining again says so and changes nothing.
    let again = mimi(&bob, &["room", "join", "lobby"]);
    assert!(!again.ok);
    assert!(again.stderr.contains("already"), "{}", again.stderr);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_semi_open_room_lets_in_its_providers_users_and_others_are_told_why_not() {
    let dir = scratch("join-refused");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob] = ["alice", "bob"].map(|p| dir.join(p));
    account(&alice, &url, "alice");
    account(&bob, &url, "bob");

    // Semi-open: the creator's own domain is pre-authorized as members.
    let created = events(&ok(
        &alice,
        &["room", "create", "plans", "--preset", "semi-open", "--json"],
    ));
    let plans = created[0]["room"].as_str().unwrap().to_owned();
    let doc: serde_json::Value =
        serde_json::from_str(&ok(&alice, &["room", "show", "plans", "--json"])).unwrap();
    assert_eq!(
        doc["preauth-member"],
        serde_json::json!([{"domain": "example.com"}]),
        "{doc}"
    );
    let joined = events(&ok(&bob, &["room", "join", &plans, "--json"]));
    assert_eq!(joined[0]["room"], plans.as_str());
    let doc: serde_json::Value =
        serde_json::from_str(&ok(&bob, &["room", "show", "plans", "--json"])).unwrap();
    assert!(
        doc["user-affiliations"]["member"]
            .to_string()
            .contains("mimi://example.com/u/bob"),
        "{doc}"
    );

    // A knock-first room: the refusal names its code and rule.
    ok(&alice, &["room", "create", "team"]);
    let refused = mimi(&bob, &["room", "join", "team"]);
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains("knock-required"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("SEED-JOIN-KNOCK"),
        "{}",
        refused.stderr
    );
    // A room that does not exist (or is hidden from the joiner: the same answer).
    let missing = mimi(&bob, &["room", "join", "nothing-here"]);
    assert!(!missing.ok);
    assert!(missing.stderr.contains("not-found"), "{}", missing.stderr);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn adding_a_user_again_adds_only_its_devices_not_in_the_room() {
    let dir = scratch("add-missing");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, bob_phone] = ["alice", "bob", "bob-phone"].map(|p| dir.join(p));
    account(&alice, &url, "alice");
    account(&bob, &url, "bob");
    ok(&bob, &["consent", "grant", "alice"]);
    ok(&alice, &["room", "create", "team"]);
    ok(&alice, &["room", "add", "team", "bob"]);
    // bob's new phone is not in the room; adding bob again brings it, and only it.
    second_device(&bob_phone, &url, "bob", "phone");
    ok(&alice, &["room", "add", "team", "bob"]);
    for p in [&bob, &bob_phone] {
        assert_eq!(events(&ok(p, &["sync", "--json"]))[0]["event"], "joined");
    }
    // With every device in, there is nothing to add, and the answer says so.
    let again = mimi(&alice, &["room", "add", "team", "bob"]);
    assert!(!again.ok);
    assert!(again.stderr.contains("already-in-room"), "{}", again.stderr);
    ok(&alice, &["send", "team", "both of you"]);
    for p in [&bob, &bob_phone] {
        let got = ok(p, &["sync"]);
        assert!(got.contains("both of you"), "{got}");
    }
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_join_link_with_the_rooms_password_lets_one_in_and_a_bad_one_is_refused_by_its_code() {
    let dir = scratch("join-link");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob] = ["alice", "bob"].map(|p| dir.join(p));
    account(&alice, &url, "alice");
    account(&bob, &url, "bob");
    // A members-only room with one join link and a password.
    let mut doc: serde_json::Value =
        serde_json::from_str(&ok(&alice, &["policy", "preset", "administrated"])).unwrap();
    doc["policy"]["membership"] = "members-only".into();
    doc["policy"]["join-links"] = serde_json::json!(["door-42"]);
    doc["policy"]["password"] = "sesame".into();
    for list in [
        "preauth-owner",
        "preauth-admin",
        "preauth-member",
        "preauth-visitor",
    ] {
        doc[list] = serde_json::json!([]);
    }
    // alice alone: the preset's example occupants (bob among them) go.
    doc["user-affiliations"] = serde_json::json!({"owner": ["alice@example.com"]});
    doc["clients"] = serde_json::json!({});
    let path = dir.join("club.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    ok(
        &alice,
        &["room", "create", "club", "--policy", path.to_str().unwrap()],
    );

    for (args, code) in [
        (vec!["room", "join", "club"], "registration-required"),
        (
            vec![
                "room",
                "join",
                "club",
                "--link",
                "door-7",
                "--password",
                "sesame",
            ],
            "bad-link",
        ),
        (
            vec![
                "room",
                "join",
                "club",
                "--link",
                "door-42",
                "--password",
                "open",
            ],
            "bad-password",
        ),
        (
            vec!["room", "join", "club", "--link", "door-42"],
            "bad-password",
        ),
    ] {
        let refused = mimi(&bob, &args);
        assert!(!refused.ok, "{args:?}");
        assert!(
            refused.stderr.contains(code),
            "{args:?}: {}",
            refused.stderr
        );
        assert!(
            refused.stderr.contains("SEED-JOIN"),
            "{args:?}: {}",
            refused.stderr
        );
    }
    let joined = events(&ok(
        &bob,
        &[
            "room",
            "join",
            "club",
            "--link",
            "door-42",
            "--password",
            "sesame",
            "--json",
        ],
    ));
    assert_eq!(joined[0]["room"], "mimi://example.com/r/club");
    ok(&alice, &["sync"]);
    ok(&alice, &["send", "club", "come in"]);
    let got = ok(&bob, &["sync"]);
    assert!(got.contains("come in"), "{got}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_join_whose_answer_was_lost_is_made_again_in_the_same_place() {
    let dir = scratch("join-lost");
    let server = Server::start(&dir, &[]);
    let proxy = crate::proxy::Proxy::start(server.addr, "/commits");
    let direct = format!("http://{}", server.addr);
    let via_proxy = format!("http://{}", proxy.addr);
    let [alice, bob] = ["alice", "bob"].map(|p| dir.join(p));
    account(&alice, &direct, "alice");
    ok(
        &bob,
        &["account", "create", "--server", &via_proxy, "--user", "bob"],
    );
    ok(&alice, &["room", "create", "lobby", "--preset", "open"]);
    // The provider takes bob's join; bob never hears so, and keeps nothing of it.
    proxy.lose(true);
    assert!(!mimi(&bob, &["room", "join", "lobby"]).ok);
    proxy.lose(false);
    // Joining again replaces the client the provider holds for bob.
    ok(&bob, &["room", "join", "lobby"]);
    let doc: serde_json::Value =
        serde_json::from_str(&ok(&alice, &["room", "show", "lobby", "--json"])).unwrap();
    assert_eq!(
        doc["clients"]["mimi://example.com/u/bob"],
        serde_json::json!(["cli"]),
        "{doc}"
    );
    ok(&alice, &["sync"]);
    ok(&alice, &["send", "lobby", "found you"]);
    let got = ok(&bob, &["sync"]);
    assert!(got.contains("found you"), "{got}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_new_device_joins_its_users_rooms_on_its_first_sync() {
    let dir = scratch("join-new-device");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, bob_phone] = ["alice", "bob", "bob-phone"].map(|p| dir.join(p));
    account(&alice, &url, "alice");
    account(&bob, &url, "bob");
    ok(&bob, &["consent", "grant", "alice"]);
    ok(&alice, &["room", "create", "team"]);
    ok(&alice, &["room", "add", "team", "bob"]);
    // A room that takes one device per user.
    let doc = serde_json::json!({
        "policy": {"membership": "members-only", "multi-device": false},
        "owning-system": ["system@example.com"],
        "user-affiliations": {"owner": ["alice@example.com"]},
    });
    create_from(&alice, &dir, "single", &doc);
    ok(&alice, &["room", "add", "single", "bob"]);
    ok(&bob, &["sync"]);

    // bob's new phone: its first sync brings it into his rooms, by itself.
    second_device(&bob_phone, &url, "bob", "phone");
    let got = events(&ok(&bob_phone, &["sync", "--json"]));
    assert!(
        got.iter()
            .any(|e| e["event"] == "joined" && e["room"] == "mimi://example.com/r/team"),
        "{got:?}"
    );
    let refused = got
        .iter()
        .find(|e| e["event"] == "join-failed")
        .unwrap_or_else(|| panic!("{got:?}"));
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("single-device"),
        "{refused}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&ok(&alice, &["room", "show", "team", "--json"])).unwrap();
    assert_eq!(
        doc["clients"]["mimi://example.com/u/bob"],
        serde_json::json!(["cli", "phone"]),
        "{doc}"
    );
    ok(&alice, &["sync"]);
    ok(&alice, &["send", "team", "hello, phone"]);
    assert!(ok(&bob_phone, &["sync"]).contains("hello, phone"));
    // Only the first sync does this.
    assert!(events(&ok(&bob_phone, &["sync", "--json"])).is_empty());
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

/// alice's room `brisk`, whose clients update their leaves at least every 4 seconds, with
/// bob in it: the scratch directory, the provider, alice's and bob's profiles.
fn brisk_room(name: &str) -> (PathBuf, Server, PathBuf, PathBuf) {
    let dir = scratch(name);
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob] = ["alice", "bob"].map(|p| dir.join(p));
    account(&alice, &url, "alice");
    account(&bob, &url, "bob");
    ok(&bob, &["consent", "grant", "alice"]);
    let doc = serde_json::json!({
        "policy": {"membership": "members-only", "mls": {"update-max-interval": 4}},
        "owning-system": ["system@example.com"],
        "user-affiliations": {"owner": ["alice@example.com"]},
    });
    create_from(&alice, &dir, "brisk", &doc);
    ok(&alice, &["room", "add", "brisk", "bob"]);
    ok(&bob, &["sync"]);
    (dir, server, alice, bob)
}

#[test]
fn a_device_refreshes_its_leaf_before_the_rooms_update_max_interval_runs_out() {
    let (dir, server, alice, bob) = brisk_room("leaf-refresh");
    // Half the interval on, bob's sync refreshes his leaf by itself...
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let got = events(&ok(&bob, &["sync", "--json"]));
    assert!(got.iter().any(|e| e["event"] == "changed"), "{got:?}");
    // ...so more than the interval after he joined, his message is still taken.
    std::thread::sleep(std::time::Duration::from_millis(2000));
    ok(&bob, &["send", "brisk", "still fresh"]);
    let seen = ok(&alice, &["sync"]);
    assert!(seen.contains("still fresh"), "{seen}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_idle_follower_refreshes_its_leaf_before_the_rooms_update_max_interval_runs_out() {
    let (dir, server, alice, bob) = brisk_room("leaf-refresh-follow");
    // bob only follows; nothing arrives for him, yet his leaf is refreshed in time.
    let (mut follower, rx) = crate::client::follower(&bob);
    let changed = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the idle follower refreshed nothing");
    assert!(changed.contains("\"changed\""), "{changed}");
    let _ = follower.kill();
    let _ = follower.wait();
    let seen = events(&ok(&alice, &["sync", "--json"]));
    assert!(seen.iter().any(|e| e["event"] == "changed"), "{seen:?}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
