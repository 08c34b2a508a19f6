//! A malicious member cannot cut others off: alice's client (here, a proxy that garbles her
//! commits) sends a commit whose membership tag is garbage. The provider, without the epoch's
//! secrets, takes it; bob's two devices and carol cannot process it. Each rejoins in its own
//! place, reports alice's client to the provider, and reads new messages.

use serde_json::Value;

use crate::client::{account, events, ok};
use crate::commands::second_device;
use crate::server::{Server, scratch};

const OPERATOR: &str = "operator-secret-for-tests";

fn the_event<'a>(events: &'a [Value], kind: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == kind)
        .unwrap_or_else(|| panic!("no {kind} event in {events:?}"))
}

#[test]
fn members_cut_off_by_a_forged_commit_rejoin_report_it_and_read_again() {
    let dir = scratch("rejoin");
    let server = Server::start(&dir, &["--metrics-token", OPERATOR]);
    let proxy = crate::proxy::Proxy::start(server.addr, "/commits");
    let direct = format!("http://{}", server.addr);
    let via_proxy = format!("http://{}", proxy.addr);
    let [alice, bob, bob_phone, carol, dave] =
        ["alice", "bob", "bob-phone", "carol", "dave"].map(|p| dir.join(p));
    ok(
        &alice,
        &[
            "account", "create", "--server", &via_proxy, "--user", "alice",
        ],
    );
    for (profile, user) in [(&bob, "bob"), (&carol, "carol"), (&dave, "dave")] {
        account(profile, &direct, user);
        ok(profile, &["consent", "grant", "alice"]);
    }
    second_device(&bob_phone, &direct, "bob", "phone");
    ok(&alice, &["room", "create", "team"]);
    ok(&alice, &["room", "add", "team", "bob"]);
    ok(&alice, &["room", "add", "team", "carol"]);
    for p in [&bob, &bob_phone, &carol] {
        assert_eq!(events(&ok(p, &["sync", "--json"]))[0]["event"], "joined");
    }

    // alice's add of dave reaches the provider garbled; her own client merges it.
    proxy.forge_commits(true);
    ok(&alice, &["room", "add", "team", "dave"]);
    proxy.forge_commits(false);
    assert_eq!(
        events(&ok(&dave, &["sync", "--json"]))[0]["event"],
        "joined"
    );

    // Each of bob's devices and carol are cut off, rejoin on their own and say so.
    for p in [&bob, &bob_phone, &carol] {
        let got = events(&ok(p, &["sync", "--json"]));
        let rejoined = the_event(&got, "rejoined");
        assert_eq!(rejoined["committer"], "mimi://example.com/d/alice/cli");
        assert_eq!(rejoined["room"], "mimi://example.com/r/team");
    }
    // A person reads it too.
    for p in [&alice, &dave] {
        ok(p, &["sync"]);
    }

    // Everyone reads everyone again.
    ok(&alice, &["send", "team", "after the storm"]);
    for p in [&bob, &bob_phone, &carol, &dave] {
        let got = ok(p, &["sync"]);
        assert!(got.contains("after the storm"), "{got}");
    }
    ok(&bob, &["send", "team", "bob is back"]);
    for p in [&alice, &bob_phone, &carol, &dave] {
        let got = ok(p, &["sync"]);
        assert!(got.contains("bob is back"), "{got}");
    }

    // The provider holds one report per device, each naming alice's client and the entry.
    let (status, body) =
        crate::http::request(server.addr, "GET", "/v1/reports", Some(OPERATOR), None).unwrap();
    assert_eq!(status, 200, "{body}");
    let reports = body["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 3, "{body}");
    for r in reports {
        assert_eq!(r["alleged_abuser"], "mimi://example.com/d/alice/cli");
        assert_eq!(r["reason"], "unreadable-commit");
        assert_eq!(r["room"], "mimi://example.com/r/team");
        assert!(r["seq"].as_u64().is_some(), "{r}");
    }
    let mut reporters: Vec<&str> = reports
        .iter()
        .map(|r| r["reporter"].as_str().unwrap())
        .collect();
    reporters.sort();
    assert_eq!(
        reporters,
        [
            "mimi://example.com/u/bob",
            "mimi://example.com/u/bob",
            "mimi://example.com/u/carol"
        ]
    );
    // Nobody else reads them.
    let guessed = crate::http::request(server.addr, "GET", "/v1/reports", Some("guess"), None);
    assert_eq!(guessed.unwrap().0, 401);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
