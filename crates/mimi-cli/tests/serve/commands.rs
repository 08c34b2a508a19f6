//! What the client commands promise, one rule per test: devices, removing every device of a
//! user, leaving, rooms from a room document, `MIMI_PROFILE`, and the three ways to name a
//! user.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::client::{account, alice_adds_bob_to_team, events, mimi, ok};
use crate::server::{Server, scratch};

/// `room show ROOM --json`, as seen from `profile`.
fn show(profile: &Path, room: &str) -> Value {
    serde_json::from_str(&ok(profile, &["room", "show", room, "--json"])).unwrap()
}

/// The client names `user` has in the room document `doc`.
fn clients_of(doc: &Value, user: &str) -> Vec<String> {
    doc["clients"][user]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect()
}

/// Every user named in the document's `user-affiliations`, whatever its role.
fn affiliated(doc: &Value) -> Vec<String> {
    doc["user-affiliations"]
        .as_object()
        .into_iter()
        .flat_map(|roles| roles.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_owned))
        .collect()
}

/// A second profile for `user`'s existing account: `account login`, then `device add`.
pub(crate) fn second_device(profile: &Path, url: &str, user: &str, device: &str) -> String {
    let logged = ok(
        profile,
        &["account", "login", "--server", url, "--user", user],
    );
    assert!(logged.contains("mimi device add"), "{logged}");
    let added = events(&ok(profile, &["device", "add", device, "--json"]));
    added[0]["client"].as_str().unwrap().to_owned()
}

#[test]
fn device_add_lists_the_new_device_and_remove_unlists_it() {
    let dir = scratch("cmd-devices");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let (laptop, phone) = (dir.join("laptop"), dir.join("phone"));
    account(&laptop, &url, "alice");
    let listed = ok(&laptop, &["device", "list"]);
    assert_eq!(listed.trim(), "mimi://example.com/d/alice/cli");

    // A second profile of the same account becomes its second device.
    ok(
        &phone,
        &["account", "login", "--server", &url, "--user", "alice"],
    );
    let added = ok(&phone, &["device", "add", "phone"]);
    assert!(
        added.contains("this profile is now mimi://example.com/d/alice/phone"),
        "{added}"
    );
    // A profile is one device: it cannot be added twice.
    let twice = mimi(&phone, &["device", "add", "tablet"]);
    assert!(!twice.ok);
    assert!(
        twice.stderr.contains("already the device"),
        "{}",
        twice.stderr
    );
    let listed: Vec<String> = ok(&laptop, &["device", "list"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        listed,
        [
            "mimi://example.com/d/alice/cli",
            "mimi://example.com/d/alice/phone"
        ],
        "text: one client a line"
    );
    let json = events(&ok(&phone, &["device", "list", "--json"]));
    assert_eq!(
        json[0]["devices"],
        serde_json::json!([
            "mimi://example.com/d/alice/cli",
            "mimi://example.com/d/alice/phone"
        ])
    );

    let removed = ok(&laptop, &["device", "remove", "phone"]);
    assert_eq!(removed.trim(), "removed phone");
    let json = events(&ok(&laptop, &["device", "list", "--json"]));
    assert_eq!(
        json[0]["devices"],
        serde_json::json!(["mimi://example.com/d/alice/cli"])
    );

    // An unknown device is a clear error, and changes nothing.
    let unknown = mimi(&laptop, &["device", "remove", "tablet"]);
    assert!(!unknown.ok);
    assert!(
        unknown
            .stderr
            .contains("no device mimi://example.com/d/alice/tablet"),
        "{}",
        unknown.stderr
    );
    let again = mimi(&laptop, &["device", "remove", "phone", "--json"]);
    assert!(!again.ok, "a removed device is unknown: {}", again.stdout);
    assert!(again.stderr.contains("no device"), "{}", again.stderr);
    assert_eq!(
        ok(&laptop, &["device", "list"]).trim(),
        "mimi://example.com/d/alice/cli"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

/// alice's room `team` with bob's two devices (laptop, phone) in it, each joined: the
/// provider, and alice's, the laptop's and the phone's profiles.
fn bob_on_two_devices_in_alices_room(dir: &Path) -> (Server, PathBuf, PathBuf, PathBuf) {
    let server = Server::start(dir, &[]);
    let url = format!("http://{}", server.addr);
    let alice = dir.join("alice");
    let (laptop, phone) = (dir.join("bob-laptop"), dir.join("bob-phone"));
    account(&alice, &url, "alice");
    ok(
        &laptop,
        &[
            "account", "create", "--server", &url, "--user", "bob", "--device", "laptop",
        ],
    );
    assert_eq!(
        second_device(&phone, &url, "bob", "phone"),
        "mimi://example.com/d/bob/phone"
    );
    ok(&laptop, &["consent", "grant", "alice"]);
    ok(&alice, &["room", "create", "team"]);
    ok(&alice, &["room", "add", "team", "bob"]);
    for device in [&laptop, &phone] {
        let joined = events(&ok(device, &["sync", "--json"]));
        assert_eq!(joined[0]["event"], "joined", "{joined:?}");
    }
    let bob = "mimi://example.com/u/bob";
    assert_eq!(clients_of(&show(&alice, "team"), bob), ["laptop", "phone"]);
    (server, alice, laptop, phone)
}

#[test]
fn room_remove_removes_every_device_of_the_user() {
    let dir = scratch("cmd-remove");
    let (server, alice, laptop, phone) = bob_on_two_devices_in_alices_room(&dir);
    let bob = "mimi://example.com/u/bob";
    ok(&phone, &["send", "team", "from the phone"]);
    let got = ok(&alice, &["sync"]);
    assert!(
        got.contains("mimi://example.com/d/bob/phone: from the phone"),
        "{got}"
    );

    let removed = ok(&alice, &["room", "remove", "team", "bob"]);
    assert!(
        removed.contains("removed mimi://example.com/u/bob from mimi://example.com/r/team"),
        "{removed}"
    );
    let doc = show(&alice, "team");
    assert!(clients_of(&doc, bob).is_empty(), "{doc}");
    assert!(doc["clients"].get(bob).is_none(), "{doc}");
    // Neither device can send: not before it hears of the removal (the provider refuses),
    // nor after (it is no longer in the room).
    for device in [&laptop, &phone] {
        let refused = mimi(device, &["send", "team", "still here?"]);
        assert!(!refused.ok, "{}", refused.stdout);
    }
    for device in [&laptop, &phone] {
        let got = events(&ok(device, &["sync", "--json"]));
        assert!(
            got.iter()
                .any(|e| e["event"] == "left" && e["room"] == "mimi://example.com/r/team"),
            "{got:?}"
        );
        let refused = mimi(device, &["send", "team", "still here?"]);
        assert!(!refused.ok, "{}", refused.stdout);
    }
    // Nothing bob's devices tried reached alice; the room goes on without him.
    let got = events(&ok(&alice, &["sync", "--json"]));
    assert!(got.iter().all(|e| e["text"].is_null()), "{got:?}");
    ok(&alice, &["send", "team", "alone now"]);
    // Removing a user who has no client left is an error.
    let again = mimi(&alice, &["room", "remove", "team", "bob"]);
    assert!(!again.ok);
    assert!(
        again.stderr.contains("has no client in"),
        "{}",
        again.stderr
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn room_leave_is_committed_by_another_member_and_the_leaver_can_no_longer_send() {
    let dir = scratch("cmd-leave");
    let (server, alice, bob) = alice_adds_bob_to_team(&dir);
    assert_eq!(events(&ok(&bob, &["sync", "--json"]))[0]["event"], "joined");

    let left = events(&ok(&bob, &["room", "leave", "team", "--json"]));
    assert_eq!(left[0]["left"], true, "{left:?}");
    assert_eq!(left[0]["room"], "mimi://example.com/r/team");
    // Only proposed: bob is still in the room until a member commits it.
    let bob_id = "mimi://example.com/u/bob";
    assert_eq!(clients_of(&show(&alice, "team"), bob_id), ["cli"]);

    // bob, asked to leave, does nothing more in the room meanwhile.
    let refused = mimi(&bob, &["send", "team", "one more thing"]);
    assert!(!refused.ok, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("asked to leave"),
        "{}",
        refused.stderr
    );
    // alice's sync reads the proposal and commits it.
    let synced = events(&ok(&alice, &["sync", "--json"]));
    assert!(synced.iter().any(|e| e["event"] == "changed"), "{synced:?}");
    ok(&alice, &["send", "team", "bye bob"]);
    let doc = show(&alice, "team");
    assert!(doc["clients"].get(bob_id).is_none(), "{doc}");
    assert!(!affiliated(&doc).contains(&bob_id.to_owned()), "{doc}");
    // bob is told he is out, reads nothing sent after, and cannot send any more.
    let got = events(&ok(&bob, &["sync", "--json"]));
    assert!(
        got.iter()
            .any(|e| e["event"] == "left" && e["room"] == "mimi://example.com/r/team"),
        "{got:?}"
    );
    assert!(got.iter().all(|e| e["text"] != "bye bob"), "{got:?}");
    let refused = mimi(&bob, &["send", "team", "still here?"]);
    assert!(!refused.ok, "{}", refused.stdout);
    let got = events(&ok(&alice, &["sync", "--json"]));
    assert!(got.iter().all(|e| e["text"].is_null()), "{got:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn room_create_with_policy_creates_the_room_the_document_describes() {
    let dir = scratch("cmd-policy");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let alice = dir.join("alice");
    account(&alice, &url, "alice");
    // The semi-open example, as `mimi policy check` reads it: alice owns it, carol is an
    // admin, workgroups are preauthorized, members only, not discoverable; unlike the
    // default preset (administrated: knock-first, discoverable, no admin).
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/rooms/semi-open.json"
    );
    let created = events(&ok(
        &alice,
        &["room", "create", "plans", "--policy", example, "--json"],
    ));
    // Hidden, named by this device: its name gets an unguessable tag, and `plans` still
    // finds it here.
    let room = created[0]["room"].as_str().unwrap().to_owned();
    assert!(room.starts_with("mimi://example.com/r/plans~"), "{room}");
    let doc = show(&alice, "plans");
    assert_eq!(doc["id"], room.as_str(), "{doc}");
    assert_eq!(doc["policy"]["membership"], "members-only", "{doc}");
    assert_eq!(doc["policy"]["discoverable"], false, "{doc}");
    assert_eq!(
        doc["user-affiliations"]["admin"],
        serde_json::json!(["mimi://example.com/u/carol"]),
        "{doc}"
    );
    assert!(
        doc["preauth-member"]
            .to_string()
            .contains("engineering@example.com"),
        "{doc}"
    );
    // The group holds only the creating device, whatever clients the document lists.
    assert_eq!(
        doc["clients"],
        serde_json::json!({"mimi://example.com/u/alice": ["cli"]}),
        "{doc}"
    );
    // Not discoverable: the directory does not list it (a preset room is listed).
    ok(&alice, &["room", "create", "lobby"]);
    let listed = ok(&alice, &["room", "list", "--directory"]);
    assert!(listed.contains("mimi://example.com/r/lobby"), "{listed}");
    assert!(!listed.contains("mimi://example.com/r/plans"), "{listed}");
    // Asked for, the exact name stays.
    let exact = events(&ok(
        &alice,
        &[
            "room",
            "create",
            "plans",
            "--policy",
            example,
            "--exact-name",
            "--json",
        ],
    ));
    assert_eq!(exact[0]["room"], "mimi://example.com/r/plans");
    // A file that is not a room document is refused, naming the problem.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"policy": {"membership": "sometimes"}}"#).unwrap();
    let refused = mimi(
        &alice,
        &[
            "room",
            "create",
            "nowhere",
            "--policy",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!refused.ok);
    assert!(refused.stderr.contains("sometimes"), "{}", refused.stderr);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn mimi_profile_selects_the_profile_directory_without_profile() {
    let dir = scratch("cmd-env");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let chosen = dir.join("chosen");
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let by_env = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
            .args(args)
            .env("MIMI_PROFILE", &chosen)
            .env("HOME", &home)
            .env("MIMI_PASSWORD", "correct horse battery")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mimi {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    by_env(&["account", "create", "--server", &url, "--user", "alice"]);
    by_env(&["room", "create", "team"]);
    assert!(chosen.join("profile.json").is_file());
    assert!(chosen.join("device.mls").is_file());
    assert!(!home.join(".mimi").exists(), "not the default ~/.mimi");
    // The same profile, named by --profile: the account and the room made through the
    // variable are there.
    let doc = show(&chosen, "team");
    assert_eq!(
        doc["clients"],
        serde_json::json!({"mimi://example.com/u/alice": ["cli"]})
    );
    // And --profile wins over the variable.
    let other = dir.join("other");
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(["device", "list", "--profile"])
        .arg(&other)
        .env("MIMI_PROFILE", &chosen)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&other.display().to_string()), "{stderr}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_user_may_be_named_bare_with_its_domain_or_by_uri() {
    let dir = scratch("cmd-names");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let alice = dir.join("alice");
    account(&alice, &url, "alice");
    // Each grants alice under another form of her name, and she adds each under another
    // form of theirs.
    let people = [
        ("bob", "alice", "bob"),
        ("carol", "alice@example.com", "carol@example.com"),
        (
            "dave",
            "mimi://example.com/u/alice",
            "mimi://example.com/u/dave",
        ),
    ];
    ok(&alice, &["room", "create", "team"]);
    for (name, grants, added_as) in people {
        let profile = dir.join(name);
        account(&profile, &url, name);
        ok(&profile, &["consent", "grant", grants, "--room", "team"]);
        let consents = events(&ok(&profile, &["consent", "list", "--json"]));
        assert_eq!(
            consents[0]["consents"][0]["user"], "mimi://example.com/u/alice",
            "{name} granted {grants}: {consents:?}"
        );
        ok(&alice, &["room", "add", "team", added_as]);
        let joined = events(&ok(&profile, &["sync", "--json"]));
        assert_eq!(joined[0]["event"], "joined", "{name}: {joined:?}");
    }
    let doc = show(&alice, "team");
    for name in ["bob", "carol", "dave"] {
        let user = format!("mimi://example.com/u/{name}");
        assert_eq!(clients_of(&doc, &user), ["cli"], "{doc}");
        assert!(affiliated(&doc).contains(&user), "{doc}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_deleted_devices_removal_is_committed_by_the_next_member_that_syncs() {
    let dir = scratch("cmd-deleted");
    let (server, alice, laptop, _phone) = bob_on_two_devices_in_alices_room(&dir);
    let bob = "mimi://example.com/u/bob";
    // bob deletes his phone: the provider proposes its removal from the room, and alice's
    // next sync commits it.
    ok(&laptop, &["device", "remove", "phone"]);
    let synced = events(&ok(&alice, &["sync", "--json"]));
    assert!(synced.iter().any(|e| e["event"] == "changed"), "{synced:?}");
    assert_eq!(clients_of(&show(&alice, "team"), bob), ["laptop"]);
    // The room goes on: bob's laptop follows the commit and reads alice's message.
    ok(&alice, &["send", "team", "phone gone"]);
    let got = ok(&laptop, &["sync"]);
    assert!(got.contains("alice/cli: phone gone"), "{got}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_example_room_document_creates_a_room_or_says_why_it_cannot() {
    let dir = scratch("cmd-examples");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let alice = dir.join("alice");
    account(&alice, &url, "alice");
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/rooms");
    // The documents describe rooms in use, with other users' devices: created by alice's
    // device alone, users there only by their devices are not in the room yet, and users
    // with an affiliation keep it.
    for (file, name) in [
        ("administrated", "administrated"),
        ("bots", "bots"),
        ("logging", "logging"),
        ("moderated", "moderated"),
        ("open", "open"),
        ("semi-open", "semi-open"),
        ("rp04-cooperative", "friends"),
    ] {
        let path = format!("{examples}/{file}.json");
        let created = mimi(&alice, &["room", "create", name, "--policy", &path]);
        assert!(created.ok, "{file}: {}", created.stderr);
        let doc = show(&alice, name);
        assert_eq!(
            clients_of(&doc, "mimi://example.com/u/alice").len(),
            1,
            "{file}: {doc}"
        );
    }
    let doc = show(&alice, "moderated");
    assert!(
        affiliated(&doc).contains(&"mimi://example.com/u/bob".to_owned()),
        "bob keeps his membership: {doc}"
    );
    // A fixed-membership room is fixed with its occupants' devices, which alice's device
    // alone cannot bring.
    for file in ["one-on-one", "fixed-membership-logging", "rp04-fixed"] {
        let path = format!("{examples}/{file}.json");
        let document: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let id = document["id"].as_str().unwrap();
        let refused = mimi(&alice, &["room", "create", id, "--policy", &path]);
        assert!(!refused.ok, "{file}: {}", refused.stdout);
        assert!(
            refused
                .stderr
                .contains("fixed-membership room's occupants are fixed"),
            "{file}: {}",
            refused.stderr
        );
    }
    // A document naming its room is created under that name only.
    let path = format!("{examples}/rp04-cooperative.json");
    let refused = mimi(&alice, &["room", "create", "other", "--policy", &path]);
    assert!(!refused.ok);
    assert!(
        refused
            .stderr
            .contains("is for mimi://example.com/r/friends"),
        "{}",
        refused.stderr
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
