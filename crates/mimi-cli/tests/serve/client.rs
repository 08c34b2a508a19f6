//! The `mimi` client commands against a running `mimi serve`: two people, a room, an add,
//! encrypted messages both ways, a provider restart in between.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::server::{Server, scratch};

pub(crate) struct Out {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub(crate) fn mimi(profile: &Path, args: &[&str]) -> Out {
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

pub(crate) fn ok(profile: &Path, args: &[&str]) -> String {
    let out = mimi(profile, args);
    assert!(out.ok, "mimi {args:?} failed: {}", out.stderr);
    out.stdout
}

/// `profile` creates room `name` from the seed document `doc` (written under `dir`), and
/// prints what `room create --json` prints.
pub(crate) fn create_from(profile: &Path, dir: &Path, name: &str, doc: &Value) -> Vec<Value> {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, doc.to_string()).unwrap();
    let path = path.to_str().unwrap();
    events(&ok(
        profile,
        &["room", "create", name, "--policy", path, "--json"],
    ))
}

/// An account (and its first device) on the provider at `url` for each of `names`, each in
/// a profile of its own under `dir`; the profiles, in order.
pub(crate) fn people<const N: usize>(dir: &Path, url: &str, names: [&str; N]) -> [PathBuf; N] {
    names.map(|name| {
        let profile = dir.join(name);
        account(&profile, url, name);
        profile
    })
}

/// Creates `user`'s account (and its first device) on the provider at `url`.
pub(crate) fn account(profile: &Path, url: &str, user: &str) {
    ok(
        profile,
        &["account", "create", "--server", url, "--user", user],
    );
}

/// alice's room `team` with bob added (not yet joined): the provider, alice's and bob's
/// profiles.
pub(crate) fn alice_adds_bob_to_team(dir: &Path) -> (Server, PathBuf, PathBuf) {
    let server = Server::start(dir, &[]);
    let url = format!("http://{}", server.addr);
    let (alice, bob) = (dir.join("alice"), dir.join("bob"));
    account(&alice, &url, "alice");
    account(&bob, &url, "bob");
    ok(&bob, &["consent", "grant", "alice"]);
    ok(&alice, &["room", "create", "team"]);
    ok(&alice, &["room", "add", "team", "bob"]);
    (server, alice, bob)
}

/// `mimi sync --follow --json` on `profile`, and its output lines as they come.
pub(crate) fn follower(profile: &Path) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead as _, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(["sync", "--follow", "--json", "--profile"])
        .arg(profile)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

pub(crate) fn events(stdout: &str) -> Vec<Value> {
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
    account(&alice, &url, "alice");
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
    let told = events(&ok(&bob, &["sync", "--json"]));
    assert_eq!(told[0]["event"], "consent-requested", "{told:?}");
    assert_eq!(told[0]["user"], "mimi://example.com/u/alice");
    assert_eq!(told[0]["room"], "mimi://example.com/r/team");
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
    let listed = ok(&bob, &["room", "list", "--directory"]);
    assert!(listed.contains("mimi://example.com/r/team"), "{listed}");
    let refused = mimi(&bob, &["send", "elsewhere", "hello?"]);
    assert!(!refused.ok);
    assert!(refused.stderr.contains("not in"), "{}", refused.stderr);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_knock_reaches_the_owner_who_adds_the_knocker_without_a_consent_request() {
    let dir = scratch("knock");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let alice = dir.join("alice");
    let bob = dir.join("bob");
    account(&alice, &url, "alice");
    account(&bob, &url, "bob");
    // The administrated preset is knock-first.
    ok(
        &alice,
        &["room", "create", "lobby", "--preset", "administrated"],
    );
    let none = mimi(&bob, &["room", "knock", "lobby", "--withdraw"]);
    assert!(!none.ok, "nothing to withdraw yet");
    assert!(none.stderr.contains("no pending knock"), "{}", none.stderr);
    ok(&bob, &["room", "knock", "lobby"]);
    let withdrawn = events(&ok(
        &bob,
        &["room", "knock", "lobby", "--withdraw", "--json"],
    ));
    assert_eq!(withdrawn[0]["withdrawn"], true, "{withdrawn:?}");
    // Knocking again is a new knock, announced again.
    let knocked = events(&ok(&bob, &["room", "knock", "lobby", "--json"]));
    assert_eq!(knocked[0]["told"], 1, "{knocked:?}");
    // alice declines it before her device hears of it; bob knocks once more.
    let declined = ok(&alice, &["room", "decline", "lobby", "bob"]);
    assert!(
        declined.contains("declined mimi://example.com/u/bob's knock"),
        "{declined}"
    );
    let again = mimi(&alice, &["room", "decline", "lobby", "bob"]);
    assert!(!again.ok);
    assert!(
        again.stderr.contains("no pending knock"),
        "{}",
        again.stderr
    );
    ok(&bob, &["room", "knock", "lobby"]);
    let told = ok(&alice, &["sync"]);
    assert!(
        told.contains("mimi://example.com/u/bob knocks on mimi://example.com/r/lobby"),
        "{told}"
    );
    ok(&alice, &["room", "add", "lobby", "bob"]);
    let joined = events(&ok(&bob, &["sync", "--json"]));
    assert_eq!(joined[0]["event"], "joined", "{joined:?}");
    assert_eq!(joined[0]["room"], "mimi://example.com/r/lobby");
    // A room that takes no knocks says so.
    ok(&alice, &["room", "create", "club", "--preset", "open"]);
    let refused = mimi(&bob, &["room", "knock", "club"]);
    assert!(!refused.ok);
    assert!(refused.stderr.contains("knock"), "{}", refused.stderr);
    drop(server);
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
    account(&bob, &direct, "bob");
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

    // A commit the provider never received: alice's next change finds the room's epoch
    // unmoved, drops it and goes on.
    proxy.drop_requests(true);
    assert!(!mimi(&alice, &["room", "remove", "team", "bob"]).ok);
    proxy.drop_requests(false);
    ok(&alice, &["send", "team", "still epoch 1"]);
    let got = ok(&bob, &["sync"]);
    assert!(got.contains("still epoch 1"), "{got}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sync_follow_prints_messages_as_the_event_stream_pushes_them() {
    let dir = scratch("follow");
    let (server, alice, bob) = alice_adds_bob_to_team(&dir);
    let (mut follower, rx) = follower(&bob);
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
    account(&bob, &url, "bob");
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

/// The README's walkthrough, run as written: its shell block, line by line, with `mimi`
/// being this build's binary instead of `cargo run` and the provider on a free port. The
/// comments that show output (`# joined ...`, `# [room] sender: text`) are checked, the
/// messages shown must be alice's to bob and bob's reply, and the provider restarts before
/// the last command (alice receiving the reply).
#[test]
fn the_readme_walkthrough_works_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("account create"))
        .expect("the README's walkthrough");
    let cargo_run = r#"mimi() { cargo run --release --quiet -- "$@"; }"#;
    assert!(
        block.contains(cargo_run),
        "the walkthrough defines mimi() with cargo run"
    );
    let dir = scratch("readme");
    std::fs::create_dir_all(&dir).unwrap();
    let server = Server::start_for(&dir, "127.0.0.1:0", "localhost", &[]);
    let addr = server.addr.to_string();
    let scripted = |line: &str| {
        line.replace("http://127.0.0.1:8470", &format!("http://{addr}"))
            .replace("/tmp/", &format!("{}/", dir.display()))
            .replace(cargo_run, r#"mimi() { "$MIMI_BIN" "$@"; }"#)
    };
    let (prelude, commands): (Vec<&str>, Vec<&str>) = block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .partition(|l| l.starts_with("export ") || l.starts_with("mimi()"));
    let prelude: Vec<String> = prelude.iter().map(|l| scripted(l)).collect();
    assert_eq!(prelude.len(), 2, "{prelude:?}");
    let mut server = Some(server);
    let mut shown = Vec::new();
    for (i, line) in commands.iter().enumerate() {
        if i + 1 == commands.len() {
            // Restart-safe: the provider stops and starts again before the last command.
            server.take().unwrap().terminate();
            server = Some(Server::start_for(&dir, &addr, "localhost", &[]));
        }
        let script = format!("set -e\n{}\n{}\n", prelude.join("\n"), scripted(line));
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("MIMI_BIN", env!("CARGO_BIN_EXE_mimi"))
            .env_remove("MIMI_PROFILE")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "README line {line:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some((_, comment)) = line.split_once("# ") {
            // Shown output ends where the comment says "...".
            let expected = comment.trim().trim_end_matches("...").trim_end();
            if ["joined", "[", "mimi://"]
                .iter()
                .any(|p| expected.starts_with(p))
            {
                assert!(stdout.contains(expected), "{line:?} printed {stdout:?}");
                shown.push(expected.to_owned());
            }
        }
    }
    // A two-way exchange: bob reads alice's message, and alice (after the restart) bob's
    // reply.
    let room = "[mimi://localhost/r/team]";
    assert_eq!(
        shown
            .iter()
            .filter(|s| s.starts_with('['))
            .collect::<Vec<_>>(),
        [
            &format!("{room} mimi://localhost/d/alice/cli: hello **bob** (#"),
            &format!("{room} mimi://localhost/d/bob/cli: hi alice (#"),
        ],
        "the messages the walkthrough shows"
    );
    assert!(
        commands
            .last()
            .unwrap()
            .contains("--profile /tmp/alice sync"),
        "alice reads bob's reply last, after the restart"
    );
    assert_eq!(server.take().unwrap().terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
