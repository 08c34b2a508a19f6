//! One profile used by several `mimi` processes at once: each load-change-save holds the
//! profile's lock, so no process writes state older than another's and no key is used twice.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::{alice_adds_bob_to_team, events, follower, ok};
use crate::server::scratch;

/// The texts of every message `profile` receives, syncing until `want` of them came.
fn receive(profile: &std::path::Path, want: usize) -> BTreeSet<String> {
    let mut texts = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while texts.len() < want && Instant::now() < deadline {
        let got = events(&ok(profile, &["sync", "--json"]));
        if got.is_empty() {
            std::thread::sleep(Duration::from_millis(100));
        }
        texts.extend(
            got.iter()
                .filter(|e| e["event"] == "message")
                .map(|e| e["text"].as_str().unwrap().to_owned()),
        );
    }
    texts
}

#[test]
fn a_follower_and_fifty_sends_on_one_profile_at_once_lose_and_reuse_no_key() {
    let dir = scratch("one-profile");
    let (server, alice, bob) = alice_adds_bob_to_team(&dir);
    ok(&bob, &["sync"]);
    // alice follows on her profile: every batch bob's messages bring changes her state.
    let (mut follower, rx) = follower(&alice);
    // Fifty sends from alice's profile at once, while bob's messages reach her follower.
    let sends: Vec<_> = (0..50)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_mimi"))
                .args(["send", "team", &format!("message {i}"), "--profile"])
                .arg(&alice)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for i in 0..10 {
        ok(&bob, &["send", "team", &format!("from bob {i}")]);
    }
    for send in sends {
        let out = send.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a send failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // bob decrypts all fifty: no two of them used one message key.
    let got = receive(&bob, 50);
    let want: BTreeSet<String> = (0..50).map(|i| format!("message {i}")).collect();
    assert_eq!(got, want);
    // alice's follower read bob's ten.
    let mut from_bob = BTreeSet::new();
    while from_bob.len() < 10 {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("bob's messages reach alice's follower");
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        if event["event"] == "message" {
            from_bob.insert(event["text"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(from_bob.len(), 10);
    // Nothing was rolled back: alice's next message is read too.
    ok(&alice, &["send", "team", "after it all"]);
    assert!(receive(&bob, 1).contains("after it all"));
    follower.kill().unwrap();
    follower.wait().unwrap();
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(unix)]
#[test]
fn a_profile_and_its_secrets_are_readable_by_their_owner_alone() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch("private-profile");
    let (server, alice, _bob) = alice_adds_bob_to_team(&dir);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&alice), 0o700);
    for file in ["profile.json", "device.mls"] {
        assert_eq!(mode(&alice.join(file)), 0o600, "{file}");
    }
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
