//! Join links from the command line: created by owners and admins, listed in the room's
//! policy by their commit (so the hub and every member know who issued them), refused with
//! their own code when unknown or revoked, expired, used up, or without their password.

use crate::client::{events, mimi, ok, people};
use crate::moderation::refusal;
use crate::server::{Server, scratch};

#[test]
fn a_join_link_lets_as_many_holders_in_as_it_has_uses_until_revoked() {
    let dir = scratch("links-uses");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, carol, dave, erin] =
        people(&dir, &url, ["alice", "bob", "carol", "dave", "erin"]);
    ok(&bob, &["consent", "grant", "alice"]);
    ok(&alice, &["room", "create", "team"]);
    ok(&alice, &["room", "add", "team", "bob"]);
    ok(&bob, &["sync"]);

    // A member issues no links.
    let refused = refusal(&bob, &["room", "link", "create", "team"]);
    assert_eq!(
        (&refused["code"], &refused["rule"]),
        (&"not-allowed".into(), &"SEED-LINK".into())
    );
    let created = events(&ok(
        &alice,
        &["room", "link", "create", "team", "--uses", "2", "--json"],
    ));
    let link = created[0]["link"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with("mimi://example.com/r/team?link="),
        "{link}"
    );
    assert!(link.ends_with("&uses=2"), "{link}");
    let listed = events(&ok(&alice, &["room", "link", "list", "team", "--json"]));
    assert_eq!(listed[0]["links"][0]["link"], link.as_str());
    assert_eq!(listed[0]["links"][0]["uses"], 2);
    // bob's client took the listing commit: the link's issuer is checked by every member.
    ok(&bob, &["sync"]);

    ok(&carol, &["room", "join", "team", "--link", &link]);
    // Trying again costs carol no second use.
    let again = mimi(&carol, &["room", "join", "team", "--link", &link]);
    assert!(again.stderr.contains("already"), "{}", again.stderr);
    ok(&dave, &["room", "join", "team", "--link", &link]);
    let spent = refusal(&erin, &["room", "join", "team", "--link", &link]);
    assert_eq!(
        (&spent["code"], &spent["rule"]),
        (&"link-exhausted".into(), &"SEED-JOIN-3".into())
    );
    let doc: serde_json::Value =
        serde_json::from_str(&ok(&alice, &["room", "show", "team", "--json"])).unwrap();
    let members = doc["user-affiliations"]["member"].to_string();
    assert!(
        members.contains("u/carol") && members.contains("u/dave"),
        "{doc}"
    );

    // Revoked, a link is refused like one never issued.
    ok(&alice, &["sync"]);
    let fresh = events(&ok(&alice, &["room", "link", "create", "team", "--json"]));
    let fresh = fresh[0]["link"].as_str().unwrap().to_owned();
    ok(&alice, &["room", "link", "revoke", "team", &fresh]);
    let revoked = refusal(&erin, &["room", "join", "team", "--link", &fresh]);
    assert_eq!(revoked["code"], "bad-link", "{revoked}");
    let forged = refusal(
        &erin,
        &[
            "room",
            "join",
            "team",
            "--link",
            "mimi://example.com/r/team?link=AAAA",
        ],
    );
    assert_eq!(forged["code"], "bad-link", "{forged}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_link_asks_for_its_password_and_stops_when_it_expires_and_admins_issue_links_too() {
    let dir = scratch("links-terms");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, carol, frank, gina] = people(&dir, &url, ["alice", "carol", "frank", "gina"]);
    ok(&carol, &["consent", "grant", "alice"]);
    ok(&alice, &["room", "create", "team"]);
    ok(&alice, &["room", "add", "team", "carol"]);
    ok(&alice, &["room", "affiliation", "team", "carol", "admin"]);
    ok(&carol, &["sync"]);

    // carol, an admin, issues a link with a password.
    let created = events(&ok(
        &carol,
        &[
            "room",
            "link",
            "create",
            "team",
            "--password",
            "sesame",
            "--json",
        ],
    ));
    let link = created[0]["link"].as_str().unwrap().to_owned();
    assert!(
        !link.contains("password"),
        "the hash stays in the room: {link}"
    );
    for args in [
        vec!["room", "join", "team", "--link", &link],
        vec![
            "room",
            "join",
            "team",
            "--link",
            &link,
            "--password",
            "open",
        ],
    ] {
        let refused = refusal(&frank, &args);
        assert_eq!(refused["code"], "bad-password", "{refused}");
    }
    ok(
        &frank,
        &[
            "room",
            "join",
            "team",
            "--link",
            &link,
            "--password",
            "sesame",
        ],
    );

    // A link of one second is expired a moment later.
    ok(&carol, &["sync"]);
    let created = events(&ok(
        &carol,
        &[
            "room",
            "link",
            "create",
            "team",
            "--expires",
            "1s",
            "--json",
        ],
    ));
    let short = created[0]["link"].as_str().unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let late = refusal(&gina, &["room", "join", "team", "--link", &short]);
    assert_eq!(late["code"], "link-expired", "{late}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_password_protected_open_room_asks_every_newcomer_for_its_password() {
    let dir = scratch("links-room-password");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob] = people(&dir, &url, ["alice", "bob"]);
    ok(&alice, &["room", "create", "lounge", "--preset", "open"]);
    ok(
        &alice,
        &["room", "policy", "lounge", "--set", "password=hunter2"],
    );
    let link = events(&ok(&alice, &["room", "link", "create", "lounge", "--json"]));
    let link = link[0]["link"].as_str().unwrap().to_owned();
    // The room is discoverable: anyone sees its document, but not its secrets.
    let shown = ok(&bob, &["room", "show", "lounge", "--json"]);
    assert!(shown.contains("\"open\""), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains(&link),
        "{shown}"
    );
    assert!(ok(&alice, &["room", "show", "lounge"]).contains("hunter2"));
    // Nor does the directory.
    let profile: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bob.join("profile.json")).unwrap()).unwrap();
    let token = profile["account_token"].as_str().unwrap();
    let (status, listed) =
        crate::http::request(server.addr, "GET", "/v1/directory", Some(token), None).unwrap();
    assert_eq!(status, 200);
    let listed = listed.to_string();
    assert!(listed.contains("r/lounge"), "{listed}");
    assert!(
        !listed.contains("hunter2") && !listed.contains("link="),
        "{listed}"
    );
    let refused = refusal(&bob, &["room", "join", "lounge"]);
    assert_eq!(
        (&refused["code"], &refused["rule"]),
        (&"bad-password".into(), &"SEED-JOIN-PASSWORD".into())
    );
    let wrong = refusal(&bob, &["room", "join", "lounge", "--password", "hunter3"]);
    assert_eq!(wrong["code"], "bad-password", "{wrong}");
    ok(&bob, &["room", "join", "lounge", "--password", "hunter2"]);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
