//! `mimi account logout`, `login` and `password` on a profile in use.

use std::process::Command;

use crate::client::{alice_adds_bob_to_team, mimi, ok};
use crate::server::scratch;

#[test]
fn a_logged_out_profile_is_refused_until_it_logs_in_again_and_keeps_its_rooms() {
    let dir = scratch("logout");
    let (_server, alice, bob) = alice_adds_bob_to_team(&dir);
    ok(&bob, &["sync"]);
    ok(&bob, &["account", "logout"]);
    let refused = mimi(&bob, &["sync"]);
    assert!(!refused.ok);
    assert!(refused.stderr.contains("logged out"), "{}", refused.stderr);
    // The profile holds no token any more.
    let profile = std::fs::read_to_string(bob.join("profile.json")).unwrap();
    assert!(profile.contains("\"account_token\": \"\""), "{profile}");
    ok(&alice, &["send", "team", "while you were out"]);
    ok(&bob, &["account", "login"]);
    let got = ok(&bob, &["sync"]);
    assert!(got.contains("while you were out"), "{got}");
}

#[test]
fn a_changed_password_is_the_one_that_logs_in() {
    let dir = scratch("password");
    let (_server, _alice, bob) = alice_adds_bob_to_team(&dir);
    let run = |args: &[&str], password: &str, new: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mimi"));
        cmd.args(args)
            .arg("--profile")
            .arg(&bob)
            .env("MIMI_PASSWORD", password);
        if let Some(new) = new {
            cmd.env("MIMI_NEW_PASSWORD", new);
        }
        cmd.output().unwrap()
    };
    let changed = run(
        &["account", "password"],
        "correct horse battery",
        Some("battery staple 2"),
    );
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    ok(&bob, &["account", "logout"]);
    let old = run(&["account", "login"], "correct horse battery", None);
    assert!(!old.status.success());
    let new = run(&["account", "login"], "battery staple 2", None);
    assert!(
        new.status.success(),
        "{}",
        String::from_utf8_lossy(&new.stderr)
    );
    ok(&bob, &["sync"]);
}

fn profile(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("profile.json")).unwrap()).unwrap()
}

#[test]
fn a_device_tops_up_its_key_packages_when_they_run_low() {
    let dir = scratch("top-up");
    let (server, alice, bob) = alice_adds_bob_to_team(&dir);
    let alice_token = profile(&alice)["account_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_token = profile(&bob)["device"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let available = || {
        let (status, v) = crate::http::request(
            server.addr,
            "GET",
            "/v1/key-packages",
            Some(&bob_token),
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "{v}");
        v["available"].as_u64().unwrap()
    };
    // alice's add took one; she claims six more (bob lets her add him to any room).
    let claim = serde_json::json!({"user": "bob"});
    for _ in 0..6 {
        let (status, v) = crate::http::request(
            server.addr,
            "POST",
            "/v1/key-packages/claim",
            Some(&alice_token),
            Some(&claim),
        )
        .unwrap();
        assert_eq!(status, 200, "{v}");
    }
    assert_eq!(available(), 3);
    ok(&bob, &["sync"]);
    assert_eq!(available(), 10, "topped up to ten");
    // Enough left: the next sync uploads nothing.
    ok(&bob, &["sync"]);
    assert_eq!(available(), 10);
}
