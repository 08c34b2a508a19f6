//! The seed's six "Specific examples", each end to end: real `mimi` processes against a
//! real `mimi serve`, what the example allows and each refusal it implies.

use serde_json::Value;

use crate::client::{create_from, events, ok, people};
use crate::moderation::refusal;
use crate::server::{Server, scratch};

fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or_default()
}

#[test]
fn seed_example_one_on_one() {
    let dir = scratch("seed-one-on-one");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, carol] = &people(&dir, &url, ["alice", "bob", "carol"]);
    let room = events(&ok(alice, &["dm", "bob", "--json"]))[0]["room"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(bob, &["dm", "alice"]);
    ok(alice, &["sync"]);
    ok(alice, &["send", &room, "hi bob"]);
    assert!(ok(bob, &["sync"]).contains("hi bob"));
    // Nobody else, and nobody out.
    ok(carol, &["consent", "grant", "alice"]);
    assert_eq!(
        code(&refusal(alice, &["room", "add", &room, "carol"])),
        "fixed-membership"
    );
    assert_eq!(
        code(&refusal(bob, &["room", "kick", &room, "alice"])),
        "fixed-membership"
    );
    assert_eq!(
        code(&refusal(alice, &["room", "leave", &room])),
        "fixed-membership"
    );
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn seed_example_administrated() {
    let dir = scratch("seed-administrated");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, carol, dave] = &people(&dir, &url, ["alice", "bob", "carol", "dave"]);
    ok(bob, &["consent", "grant", "alice"]);
    ok(
        alice,
        &["room", "create", "team", "--preset", "administrated"],
    );
    ok(alice, &["room", "add", "team", "bob"]);
    ok(bob, &["sync"]);
    // Members only: strangers knock, and a moderator lets them in.
    assert_eq!(
        code(&refusal(carol, &["room", "join", "team"])),
        "knock-required"
    );
    ok(carol, &["room", "knock", "team"]);
    ok(alice, &["room", "approve", "team", "carol"]);
    ok(carol, &["sync"]);
    // A member adds nobody and removes nobody.
    ok(dave, &["consent", "grant", "bob"]);
    ok(bob, &["sync"]);
    assert_eq!(
        code(&refusal(bob, &["room", "add", "team", "dave"])),
        "not-allowed"
    );
    assert_eq!(
        code(&refusal(bob, &["room", "kick", "team", "carol"])),
        "not-allowed"
    );
    // The owner makes bob an admin, who then manages members but not the owner.
    ok(alice, &["sync"]);
    ok(alice, &["room", "affiliation", "team", "bob", "admin"]);
    ok(bob, &["sync"]);
    ok(bob, &["room", "kick", "team", "carol"]);
    assert_eq!(
        code(&refusal(bob, &["room", "kick", "team", "alice"])),
        "equal-or-higher-affiliation"
    );
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn seed_example_open() {
    let dir = scratch("seed-open");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, mallory] = &people(&dir, &url, ["alice", "bob", "mallory"]);
    ok(alice, &["room", "create", "lobby", "--preset", "open"]);
    // Public: listed, and anyone joins and speaks.
    assert!(ok(bob, &["room", "list", "--directory"]).contains("r/lobby"));
    ok(bob, &["room", "join", "lobby"]);
    ok(bob, &["send", "lobby", "hello all"]);
    ok(mallory, &["room", "join", "lobby"]);
    // Anyone but the banned.
    ok(alice, &["sync"]);
    ok(alice, &["room", "ban", "lobby", "mallory"]);
    ok(mallory, &["sync"]);
    assert_eq!(
        code(&refusal(mallory, &["room", "join", "lobby"])),
        "banned"
    );
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn seed_example_semi_open() {
    let dir = scratch("seed-semi-open");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, carol] = &people(&dir, &url, ["alice", "bob", "carol"]);
    let room = events(&ok(
        alice,
        &["room", "create", "plans", "--preset", "semi-open", "--json"],
    ))[0]["room"]
        .as_str()
        .unwrap()
        .to_owned();
    // Hidden, with an unguessable name; the provider's users come in by themselves.
    assert!(!ok(bob, &["room", "list", "--directory"]).contains("plans"));
    ok(bob, &["room", "join", &room]);
    // Taken off the list, the provider's users no longer do.
    ok(alice, &["sync"]);
    ok(
        alice,
        &[
            "room",
            "preauth",
            "remove",
            &room,
            "--role",
            "member",
            "domain:example.com",
        ],
    );
    assert_eq!(code(&refusal(carol, &["room", "join", &room])), "not-found");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn seed_example_moderated() {
    let dir = scratch("seed-moderated");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, dave] = &people(&dir, &url, ["alice", "dave"]);
    ok(alice, &["room", "create", "stage", "--preset", "moderated"]);
    ok(dave, &["room", "join", "stage"]);
    // A visitor listens; it speaks once given voice, and not after it is taken.
    assert_eq!(
        code(&refusal(dave, &["send", "stage", "may I?"])),
        "no-voice"
    );
    ok(alice, &["sync"]);
    ok(alice, &["room", "voice", "stage", "dave"]);
    ok(dave, &["sync"]);
    ok(dave, &["send", "stage", "thank you"]);
    ok(alice, &["sync"]);
    ok(alice, &["room", "devoice", "stage", "dave"]);
    ok(dave, &["sync"]);
    assert_eq!(
        code(&refusal(dave, &["send", "stage", "again?"])),
        "no-voice"
    );
    // A visitor moderates nobody.
    assert_eq!(
        code(&refusal(dave, &["room", "devoice", "stage", "alice"])),
        "not-allowed"
    );
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn seed_example_fixed_membership_with_logging() {
    let dir = scratch("seed-logging");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob] = &people(&dir, &url, ["alice", "bob"]);
    ok(bob, &["consent", "grant", "alice"]);
    let doc = serde_json::json!({
        "policy": {"membership": "members-only", "fixed-membership": true,
                   "multi-device": false, "logging": true},
        "preauth-member": [{"system": "archiver@example.com"}],
        "owning-system": ["system@example.com"],
        "user-affiliations": {"owner": ["alice@example.com"], "admin": ["bob@example.com"]},
    });
    let room = create_from(alice, &dir, "ledger", &doc)[0]["room"]
        .as_str()
        .unwrap()
        .to_owned();
    // No logger on this provider yet: nothing may be said, and nobody brought in.
    assert_eq!(
        code(&refusal(alice, &["send", &room, "unrecorded"])),
        "logger-required"
    );
    assert_eq!(
        code(&refusal(alice, &["room", "add", &room, "bob"])),
        "logger-required"
    );
    // With the provider's logger, told of the room, it may.
    let addr = server.addr.to_string();
    server.terminate();
    let server = Server::start_at(&dir, &addr, &["--logger", "archiver"]);
    // The logger's account is made as it starts: tell it of the room once it exists (a
    // suggestion to a user not there yet is answered alike, and counts against the
    // suggester's limit all the same).
    let logger = dir.join("logger").join("profile.json");
    for _ in 0..100 {
        if logger.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(logger.exists(), "the logger never started");
    ok(alice, &["room", "suggest", &room, "archiver"]);
    let mut said = false;
    for _ in 0..100 {
        ok(alice, &["sync"]);
        if mimi_ok(alice, &["send", &room, "on the record"]) {
            said = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(said, "the logger never came in");
    ok(alice, &["room", "add", &room, "bob"]);
    ok(alice, &["send", &room, "welcome, bob"]);
    assert!(ok(bob, &["sync"]).contains("welcome, bob"));
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

fn mimi_ok(profile: &std::path::Path, args: &[&str]) -> bool {
    crate::client::mimi(profile, args).ok
}
