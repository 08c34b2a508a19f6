//! Policy changes from the command line: settings (`room policy --set`), a whole edited
//! document (`--policy FILE`) and the pre-authorization lists (`room preauth`), each one
//! commit the engine decides (owners only in a seed room).

use serde_json::Value;

use crate::client::{events, mimi, ok, people};
use crate::moderation::refusal;
use crate::server::{Server, scratch};

fn show(profile: &std::path::Path, room: &str) -> Value {
    serde_json::from_str(&ok(profile, &["room", "show", room, "--json"])).unwrap()
}

#[test]
fn an_owner_changes_the_rooms_settings_and_a_member_may_not() {
    let dir = scratch("policy-set");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, carol] = people(&dir, &url, ["alice", "bob", "carol"]);
    ok(&bob, &["consent", "grant", "alice"]);
    ok(&alice, &["room", "create", "team"]);
    ok(&alice, &["room", "add", "team", "bob"]);
    ok(&bob, &["sync"]);

    let refused = refusal(
        &bob,
        &["room", "policy", "team", "--set", "membership=open"],
    );
    assert_eq!(
        (&refused["code"], &refused["rule"]),
        (&"not-allowed".into(), &"SEED-POLICY".into())
    );
    let refused = refusal(&carol, &["room", "join", "team"]);
    assert_eq!(refused["code"], "knock-required");

    let changed = events(&ok(
        &alice,
        &[
            "room",
            "policy",
            "team",
            "--set",
            "membership=open",
            "--set",
            "max-users=20",
            "--json",
        ],
    ));
    assert_eq!(changed[0]["policy"]["membership"], "open", "{changed:?}");
    assert_eq!(changed[0]["policy"]["max-users"], 20, "{changed:?}");
    // Open now: carol comes in by herself; bob's client took the change too.
    ok(&carol, &["room", "join", "team"]);
    ok(&bob, &["sync"]);
    ok(&bob, &["send", "team", "hi carol"]);

    // A whole document, edited: the room shares its history with newcomers.
    ok(&alice, &["sync"]);
    let mut doc = show(&alice, "team");
    doc["policy"]["history"] = true.into();
    let file = dir.join("team.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    ok(
        &alice,
        &["room", "policy", "team", "--policy", file.to_str().unwrap()],
    );
    assert_eq!(show(&alice, "team")["policy"]["history"], true);
    // Making it moderated would take the voice of carol, who has no affiliation: that is a
    // change of people, made by their own operations, and the engine says so.
    let refused = refusal(
        &alice,
        &["room", "policy", "team", "--set", "moderated=true"],
    );
    assert_eq!(refused["rule"], "SEED-POLICY-SHAPE", "{refused}");

    // Nonsense changes nothing and says what is wrong.
    let bad = mimi(&alice, &["room", "policy", "team", "--set", "colour=blue"]);
    assert!(!bad.ok);
    assert!(bad.stderr.contains("colour"), "{}", bad.stderr);
    assert_eq!(show(&alice, "team")["policy"]["moderated"], false);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn pre_authorized_claims_join_by_themselves_until_taken_off_the_list() {
    let dir = scratch("policy-preauth");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, carol, dave, erin] = people(&dir, &url, ["alice", "carol", "dave", "erin"]);
    // Members only, with carol pre-authorized at creation.
    ok(
        &alice,
        &[
            "room",
            "create",
            "team",
            "--preauth",
            "user:carol@example.com",
        ],
    );
    let listed = events(&ok(&alice, &["room", "preauth", "list", "team", "--json"]));
    assert_eq!(
        listed[0]["preauth"],
        serde_json::json!([{"role": "member", "claim": "user:mimi://example.com/u/carol"}])
    );
    ok(&carol, &["room", "join", "team"]);
    ok(&alice, &["sync"]);

    // The whole provider, as admins: dave joins as one.
    ok(
        &alice,
        &[
            "room",
            "preauth",
            "add",
            "team",
            "--role",
            "admin",
            "domain:example.com",
        ],
    );
    let text = ok(&alice, &["room", "preauth", "list", "team"]);
    assert!(text.contains("admin   domain:example.com"), "{text}");
    ok(&dave, &["room", "join", "team"]);
    let doc = show(&alice, "team");
    assert!(
        doc["user-affiliations"]["admin"]
            .as_array()
            .unwrap()
            .contains(&"mimi://example.com/u/dave".into()),
        "{doc}"
    );

    // Taken off the list, the claim lets nobody else in.
    ok(&alice, &["sync"]);
    ok(
        &alice,
        &[
            "room",
            "preauth",
            "remove",
            "team",
            "--role",
            "admin",
            "domain:example.com",
        ],
    );
    let refused = refusal(&erin, &["room", "join", "team"]);
    assert_eq!(refused["code"], "knock-required", "{refused}");
    // Only owners change the lists; a malformed claim changes nothing.
    ok(&carol, &["sync"]);
    let refused = refusal(
        &carol,
        &["room", "preauth", "add", "team", "domain:example.com"],
    );
    assert_eq!(refused["code"], "not-allowed", "{refused}");
    let bad = mimi(&alice, &["room", "preauth", "add", "team", "planet:mars"]);
    assert!(!bad.ok);
    assert!(bad.stderr.contains("kind:value"), "{}", bad.stderr);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_team_its_provider_puts_a_user_in_lets_it_join_a_room_that_preauthorizes_the_team() {
    let dir = scratch("policy-claims");
    // The operator says erin is in team sales; dave is in a workgroup only.
    let server = Server::start(
        &dir,
        &[
            "--claim",
            "erin=team:sales",
            "--claim",
            "dave=workgroup:ops",
        ],
    );
    let url = format!("http://{}", server.addr);
    let [alice, dave, erin] = people(&dir, &url, ["alice", "dave", "erin"]);
    ok(
        &alice,
        &["room", "create", "team", "--preauth", "team:sales"],
    );
    let refused = refusal(&dave, &["room", "join", "team"]);
    assert_eq!(refused["code"], "knock-required", "{refused}");
    ok(&erin, &["room", "join", "team"]);
    // alice's client checked the provider's signature on erin's claims as it took the join.
    let synced = ok(&alice, &["sync"]);
    assert!(synced.contains("changed (epoch 1)"), "{synced}");
    let doc = show(&alice, "team");
    assert!(
        doc["user-affiliations"]["member"]
            .as_array()
            .unwrap()
            .contains(&"mimi://example.com/u/erin".into()),
        "{doc}"
    );
    assert_eq!(server.terminate(), Some(0));

    // A claim the provider cannot assert stops it at start, with what to write instead.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .args(["--claim", "erin=domain:elsewhere.example"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("team, workgroup or group"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
