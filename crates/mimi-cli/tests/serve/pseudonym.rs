//! Semi-anonymous rooms (the seed's "Non-anonymous vs. Semi-anonymous"): a user takes part
//! under a pseudonym its provider issues for that room alone; the others see only the
//! pseudonym; moderation and bans act on it; a non-anonymous room refuses it.

use serde_json::{Value, json};

use crate::client::{create_from, events, mimi, ok, people};
use crate::moderation::refusal;
use crate::server::{Server, scratch};

fn open_room(anonymous: bool) -> Value {
    json!({
        "policy": {"membership": "open", "discoverable": true, "semi-anonymous": anonymous},
        "owning-system": ["system@example.com"],
        "user-affiliations": {"owner": ["alice@example.com"]},
    })
}

#[test]
fn a_pseudonym_takes_part_in_a_semi_anonymous_room_for_its_user_and_is_banned_as_itself() {
    let dir = scratch("pseudonym");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, carol] = people(&dir, &url, ["alice", "bob", "carol"]);
    create_from(&alice, &dir, "masks", &open_room(true));
    create_from(&alice, &dir, "plain", &open_room(false));

    // bob comes in under a pseudonym of the provider's: `~` and random characters.
    let joined = events(&ok(
        &bob,
        &["room", "join", "masks", "--pseudonym", "--json"],
    ));
    let mask = joined[0]["as"].as_str().unwrap().to_owned();
    assert!(mask.starts_with("mimi://example.com/u/~"), "{mask}");
    ok(&alice, &["sync"]);
    ok(&bob, &["send", "masks", "who am I"]);
    // The others see the pseudonym, never bob: in what he says and in the room.
    let heard = ok(&alice, &["sync", "--json"]);
    assert!(heard.contains("who am I"), "{heard}");
    assert!(!heard.contains("/bob"), "{heard}");
    // Not even the device's name: bob's is `cli`, his pseudonym's device has its own.
    let said = events(&heard)
        .into_iter()
        .find(|e| e["event"] == "message")
        .unwrap();
    let sender = said["sender"].as_str().unwrap();
    assert!(sender.starts_with(&mask.replace("/u/", "/d/")), "{sender}");
    assert!(!sender.ends_with("/cli"), "{sender}");
    let doc = ok(&alice, &["room", "show", "masks", "--json"]);
    assert!(doc.contains(&mask) && !doc.contains("/bob"), "{doc}");
    // The same pseudonym for the room, every time; bob's own sync hears the room.
    ok(&alice, &["send", "masks", "hello, stranger"]);
    assert!(ok(&bob, &["sync"]).contains("hello, stranger"));

    // A non-anonymous room refuses a pseudonym, by its rule.
    let refused = refusal(&bob, &["room", "join", "plain", "--pseudonym"]);
    assert_eq!(
        (&refused["code"], &refused["rule"]),
        (&"pseudonym-not-allowed".into(), &"SEED-ANON".into()),
        "{refused}"
    );
    // Refused, the pseudonym does not stand in for bob there: he joins as himself.
    let himself = events(&ok(&bob, &["room", "join", "plain", "--json"]));
    assert_eq!(himself[0]["as"], "mimi://example.com/u/bob", "{himself:?}");
    // ...and, being in it as himself, cannot come in under a pseudonym as well.
    let twice = mimi(&bob, &["room", "join", "plain", "--pseudonym"]);
    assert!(
        !twice.ok && twice.stderr.contains("leave it first"),
        "{}",
        twice.stderr
    );
    // Nobody signs up under a pseudonym's name.
    let squat = mimi(
        &dir.join("squatter"),
        &[
            "account",
            "create",
            "--server",
            &url,
            "--user",
            "~abcdefghijklmnop",
        ],
    );
    assert!(
        !squat.ok && squat.stderr.contains("reserved-name"),
        "{}",
        squat.stderr
    );

    // A ban acts on the pseudonym: bob cannot come back under it, nor get another there.
    let name = mask.trim_start_matches("mimi://example.com/u/");
    ok(
        &alice,
        &["room", "ban", "masks", &format!("{name}@example.com")],
    );
    ok(&bob, &["sync"]);
    let banned = refusal(&bob, &["room", "join", "masks", "--pseudonym"]);
    assert_eq!(banned["code"], "banned", "{banned}");

    // Being added under a pseudonym: carol lets alice add her pseudonym, and hands it over.
    let granted = events(&ok(
        &carol,
        &[
            "consent",
            "grant",
            "alice",
            "--room",
            "masks",
            "--pseudonym",
            "--json",
        ],
    ));
    let carols = granted[0]["as"].as_str().unwrap().to_owned();
    assert!(
        carols.starts_with("mimi://example.com/u/~") && carols != mask,
        "{carols}"
    );
    ok(&alice, &["room", "add", "masks", &carols]);
    let welcomed = ok(&carol, &["sync"]);
    assert!(welcomed.contains("masks"), "{welcomed}");
    ok(&carol, &["send", "masks", "added as a mask"]);
    let heard = ok(&alice, &["sync"]);
    assert!(
        heard.contains("added as a mask") && !heard.contains("carol"),
        "{heard}"
    );
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_pseudonym_knocks_and_the_owner_lets_it_in_without_learning_who_it_is() {
    let dir = scratch("pseudonym-knock");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, dave] = people(&dir, &url, ["alice", "dave"]);
    let mut doc = open_room(true);
    doc["policy"]["membership"] = "knock-first".into();
    create_from(&alice, &dir, "masks", &doc);
    ok(&dave, &["room", "knock", "masks", "--pseudonym"]);
    let knocks = events(&ok(&alice, &["sync", "--json"]));
    let knocker = knocks
        .iter()
        .find(|e| e["event"] == "knocked")
        .and_then(|e| e["user"].as_str())
        .unwrap_or_else(|| panic!("no knock: {knocks:?}"))
        .to_owned();
    assert!(knocker.starts_with("mimi://example.com/u/~"), "{knocker}");
    ok(&alice, &["room", "add", "masks", &knocker]);
    assert!(ok(&dave, &["sync"]).contains("masks"));
    ok(&dave, &["send", "masks", "thanks"]);
    let heard = ok(&alice, &["sync"]);
    assert!(
        heard.contains("thanks") && !heard.contains("dave"),
        "{heard}"
    );
    // Once the pseudonym left, dave acts in the room as himself again: his knock is his.
    ok(&dave, &["room", "leave", "masks"]);
    ok(&alice, &["sync"]);
    ok(&dave, &["room", "knock", "masks"]);
    let knocks = ok(&alice, &["sync"]);
    assert!(knocks.contains("mimi://example.com/u/dave"), "{knocks}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
