//! The `mimi` client commands against a running `mimi serve`: two people, a room, an add,
//! encrypted messages both ways, a provider restart in between.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::server::{Server, scratch};

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn mimi(profile: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(args)
        .arg("--profile")
        .arg(profile)
        .env("MIMI_PASSWORD", "correct horse battery")
        .output()
        .unwrap();
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn ok(profile: &Path, args: &[&str]) -> String {
    let out = mimi(profile, args);
    assert!(out.ok, "mimi {args:?} failed: {}", out.stderr);
    out.stdout
}

fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn two_people_chat_through_the_cli_across_a_provider_restart() {
    let dir = scratch("cli");
    let server = Server::start(&dir, &[]);
    let addr = server.addr.to_string();
    let url = format!("http://{addr}");
    let alice = dir.join("alice");
    let bob = dir.join("bob");
    ok(
        &alice,
        &["account", "create", "--server", &url, "--user", "alice"],
    );
    ok(
        &bob,
        &[
            "account", "create", "--server", &url, "--user", "bob", "--device", "laptop",
        ],
    );

    let created = ok(
        &alice,
        &[
            "room",
            "create",
            "team",
            "--preset",
            "administrated",
            "--json",
        ],
    );
    assert_eq!(events(&created)[0]["room"], "mimi://example.com/r/team");
    // bob has not said alice may add him: she asks, he grants.
    let refused = mimi(&alice, &["room", "add", "team", "bob"]);
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains("mimi consent request"),
        "{}",
        refused.stderr
    );
    ok(&alice, &["consent", "request", "bob", "--room", "team"]);
    let asked = ok(&bob, &["consent", "list"]);
    assert!(asked.contains("mimi://example.com/u/alice"), "{asked}");
    ok(&bob, &["consent", "grant", "alice", "--room", "team"]);
    ok(&alice, &["room", "add", "team", "bob"]);
    let joined = events(&ok(&bob, &["sync", "--json"]));
    assert_eq!(joined[0]["event"], "joined");

    ok(&alice, &["send", "team", "hello bob"]);
    let got = ok(&bob, &["sync"]);
    assert!(
        got.contains("mimi://example.com/d/alice/cli: hello bob"),
        "{got}"
    );

    // bob answers; the provider restarts before alice reads it.
    ok(&bob, &["send", "team", "hi alice"]);
    server.terminate();
    let server = Server::start_at(&dir, &addr, &[]);
    let got = events(&ok(&alice, &["sync", "--json"]));
    let texts: Vec<&str> = got.iter().filter_map(|e| e["text"].as_str()).collect();
    assert_eq!(texts, ["hi alice"]);

    // The room document, the directory, and a clear error for a refused request.
    let doc: Value = serde_json::from_str(&ok(&bob, &["room", "show", "team", "--json"])).unwrap();
    assert_eq!(
        doc["user-affiliations"]["member"][0],
        "mimi://example.com/u/bob"
    );
    let listed = ok(&bob, &["room", "list"]);
    assert!(listed.contains("mimi://example.com/r/team"), "{listed}");
    let refused = mimi(&bob, &["send", "elsewhere", "hello?"]);
    assert!(!refused.ok);
    assert!(refused.stderr.contains("not in"), "{}", refused.stderr);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_commit_whose_answer_was_lost_is_confirmed_by_the_next_sync() {
    let dir = scratch("lost");
    let server = Server::start(&dir, &[]);
    let proxy = crate::proxy::Proxy::start(server.addr, "/commits");
    let via_proxy = format!("http://{}", proxy.addr);
    let direct = format!("http://{}", server.addr);
    let alice = dir.join("alice");
    let bob = dir.join("bob");
    ok(
        &alice,
        &[
            "account", "create", "--server", &via_proxy, "--user", "alice",
        ],
    );
    ok(
        &bob,
        &["account", "create", "--server", &direct, "--user", "bob"],
    );
    ok(&alice, &["room", "create", "team"]);
    ok(&bob, &["consent", "grant", "alice"]);

    // The provider takes alice's add, but her answer is lost.
    proxy.lose(true);
    let lost = mimi(&alice, &["room", "add", "team", "bob"]);
    assert!(!lost.ok, "{}", lost.stdout);
    proxy.lose(false);
    // Until she hears what became of it, she cannot build on it.
    let early = mimi(&alice, &["send", "team", "too early"]);
    assert!(!early.ok);
    assert!(early.stderr.contains("mimi sync"), "{}", early.stderr);
    // Her sync finds the commit delivered and merges it: she and the room agree again.
    let synced = events(&ok(&alice, &["sync", "--json"]));
    assert_eq!(synced[0]["event"], "changed", "{synced:?}");
    assert_eq!(synced[0]["epoch"], 1);
    assert_eq!(events(&ok(&bob, &["sync", "--json"]))[0]["event"], "joined");
    ok(&alice, &["send", "team", "welcome bob"]);
    let got = ok(&bob, &["sync"]);
    assert!(got.contains("welcome bob"), "{got}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sync_follow_prints_messages_as_the_event_stream_pushes_them() {
    use std::io::{BufRead as _, BufReader};
    let dir = scratch("follow");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let (alice, bob) = (dir.join("alice"), dir.join("bob"));
    ok(
        &alice,
        &["account", "create", "--server", &url, "--user", "alice"],
    );
    ok(
        &bob,
        &["account", "create", "--server", &url, "--user", "bob"],
    );
    ok(&bob, &["consent", "grant", "alice"]);
    ok(&alice, &["room", "create", "team"]);
    ok(&alice, &["room", "add", "team", "bob"]);
    let mut follower = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(["sync", "--follow", "--json", "--profile"])
        .arg(&bob)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || -> Value {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("an event within 20 s");
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(next()["event"], "joined");
    ok(&alice, &["send", "team", "pushed to you"]);
    assert_eq!(next()["text"], "pushed to you");
    // The stream survives the provider's restart: bob's follower reconnects.
    let addr = server.addr.to_string();
    server.terminate();
    let server = Server::start_at(&dir, &addr, &[]);
    ok(&alice, &["send", "team", "after the restart"]);
    assert_eq!(next()["text"], "after the restart");
    follower.kill().unwrap();
    follower.wait().unwrap();
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_welcome_the_device_cannot_use_is_reported_and_does_not_block_the_next() {
    use crate::crash::{add, create_room, person};
    let dir = scratch("bad-welcome");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    // bob uses the CLI; alice drives MLS by hand, to send him a broken Welcome first.
    let bob = dir.join("bob");
    ok(
        &bob,
        &["account", "create", "--server", &url, "--user", "bob"],
    );
    ok(&bob, &["consent", "grant", "alice"]);
    let alice = person(server.addr, "alice");
    let mut team = create_room(server.addr, &alice, "team");
    add(
        server.addr,
        &alice,
        &mut team,
        "team",
        "bob",
        Some(b"not a Welcome"),
    );
    let mut club = create_room(server.addr, &alice, "club");
    add(server.addr, &alice, &mut club, "club", "bob", None);

    let got = events(&ok(&bob, &["sync", "--json"]));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["event"], "join-failed");
    assert_eq!(got[0]["room"], "mimi://example.com/r/team");
    assert_eq!(got[1]["event"], "joined");
    assert_eq!(got[1]["room"], "mimi://example.com/r/club");
    // Both were acknowledged: the next sync has nothing, and no error.
    assert_eq!(ok(&bob, &["sync", "--json"]), "");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
