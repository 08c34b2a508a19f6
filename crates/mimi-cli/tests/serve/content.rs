//! Every message is MIMI content: the sender and every receiver name it by the same message
//! ID, shown short in `mimi sync`.

use crate::client::{alice_adds_bob_to_team, events, ok};

#[test]
fn a_message_is_mimi_content_with_one_id_for_its_sender_and_its_receivers() {
    let dir = crate::server::scratch("content-ids");
    let (server, alice, bob) = alice_adds_bob_to_team(&dir);
    ok(&bob, &["sync"]);
    let sent = events(&ok(&alice, &["send", "team", "**hello** bob", "--json"]));
    let id = sent[0]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("01") && id.len() == 64, "{id}");
    let plain = events(&ok(
        &alice,
        &["send", "team", "no *markup*", "--plain", "--json"],
    ));
    assert_ne!(plain[0]["id"], id.as_str());
    let got = events(&ok(&bob, &["sync", "--json"]));
    let messages: Vec<_> = got.iter().filter(|e| e["event"] == "message").collect();
    assert_eq!(messages.len(), 2, "{got:?}");
    assert_eq!(messages[0]["text"], "**hello** bob");
    assert_eq!(messages[0]["id"], id.as_str());
    assert_eq!(messages[1]["id"], plain[0]["id"]);
    // For people: the text, and the ID short enough to copy.
    ok(&alice, &["send", "team", "once more"]);
    let line = ok(&bob, &["sync"]);
    assert!(line.contains("once more (#"), "{line}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn replies_reactions_edits_and_deletes_reach_the_others_and_their_history() {
    let dir = crate::server::scratch("content-changes");
    let (server, alice, bob) = alice_adds_bob_to_team(&dir);
    ok(&bob, &["sync"]);
    let sent = events(&ok(&alice, &["send", "team", "hello bob", "--json"]));
    let hello = sent[0]["id"].as_str().unwrap().to_owned();
    let short = format!("#{}", &hello[2..10]);
    assert!(ok(&bob, &["sync"]).contains(&short));
    // bob answers and reacts by the short ID his sync showed him.
    let reply = events(&ok(
        &bob,
        &["send", "team", "hi alice", "--reply-to", &short, "--json"],
    ));
    ok(&bob, &["react", "team", &short, "❤"]);
    ok(&bob, &["react", "team", &short, "👍"]);
    ok(&bob, &["unreact", "team", &short, "👍"]);
    let seen = ok(&alice, &["sync"]);
    assert!(
        seen.contains(&format!("(reply to {short}) hi alice")),
        "{seen}"
    );
    assert!(seen.contains(&format!("reacted ❤ to {short}")), "{seen}");
    // Only its sender edits or deletes a message.
    let forged = crate::client::mimi(&bob, &["edit", "team", &short, "forged"]);
    assert!(
        !forged.ok && forged.stderr.contains("only its sender"),
        "{}",
        forged.stderr
    );
    ok(&alice, &["edit", "team", &short, "hello **bob**!"]);
    assert!(ok(&bob, &["sync"]).contains(&format!("edited {short}: hello **bob**!")));
    let history = events(&ok(&bob, &["history", "team", "--json"]));
    let messages = history[0]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{history:?}");
    assert_eq!(messages[0]["text"], "hello **bob**!");
    assert_eq!(messages[0]["edited"], true);
    assert_eq!(messages[0]["reactions"], serde_json::json!({"❤": 1}));
    assert_eq!(messages[1]["id"], reply[0]["id"]);
    assert_eq!(messages[1]["inReplyTo"], hello.as_str());
    // Deleted, for both.
    ok(&alice, &["delete", "team", &short]);
    ok(&bob, &["sync"]);
    for who in [&alice, &bob] {
        let h = events(&ok(who, &["history", "team", "--json"]));
        assert_eq!(h[0]["messages"][0]["deleted"], true, "{h:?}");
    }
    let text = ok(&bob, &["history", "team"]);
    assert!(
        text.contains("(deleted)") && text.contains(&format!("(reply to {short}) hi alice")),
        "{text}"
    );
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_mention_links_its_user_and_an_expiring_message_goes_when_its_time_comes() {
    let dir = crate::server::scratch("content-mention");
    let (server, alice, bob) = alice_adds_bob_to_team(&dir);
    ok(&bob, &["sync"]);
    ok(&alice, &["send", "team", "thanks @bob, not @nobody"]);
    let got = ok(&bob, &["sync"]);
    assert!(
        got.contains("thanks [@bob](mimi://example.com/u/bob), not @nobody"),
        "{got}"
    );
    let doomed = events(&ok(
        &alice,
        &[
            "send",
            "team",
            "self-destructs",
            "--expires",
            "2s",
            "--json",
        ],
    ));
    let short = format!("#{}", &doomed[0]["id"].as_str().unwrap()[2..10]);
    assert!(ok(&bob, &["sync"]).contains("self-destructs"));
    std::thread::sleep(std::time::Duration::from_millis(2500));
    // Past its time it is nowhere: not even to react to.
    let late = crate::client::mimi(&bob, &["react", "team", &short, "❤"]);
    assert!(
        !late.ok && late.stderr.contains("no message"),
        "{}",
        late.stderr
    );
    for who in [&alice, &bob] {
        let h = events(&ok(who, &["history", "team", "--json"]));
        let texts: Vec<_> = h[0]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(texts.len(), 1, "{texts:?}");
        assert!(texts[0].starts_with("thanks"), "{texts:?}");
    }
    let bad = crate::client::mimi(&alice, &["send", "team", "x", "--expires", "soon"]);
    assert!(!bad.ok && bad.stderr.contains("90s"), "{}", bad.stderr);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_attachment_is_encrypted_by_its_sender_and_read_back_by_a_member() {
    let dir = crate::server::scratch("content-attachment");
    let (server, alice, bob) = alice_adds_bob_to_team(&dir);
    ok(&bob, &["sync"]);
    let file = dir.join("notes.bin");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let sent = events(&ok(
        &alice,
        &[
            "send",
            "team",
            "the notes",
            "--file",
            file.to_str().unwrap(),
            "--json",
        ],
    ));
    let short = format!("#{}", &sent[0]["id"].as_str().unwrap()[2..10]);
    let seen = ok(&bob, &["sync"]);
    assert!(
        seen.contains("(attachment notes.bin, application/octet-stream, 100000 bytes: the notes)"),
        "{seen}"
    );
    let out = dir.join("got.bin");
    ok(
        &bob,
        &[
            "attachment",
            "get",
            "team",
            &short,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&out).unwrap(), data);
    // The provider holds ciphertext only: the file's bytes appear nowhere in its database.
    let mut db = std::fs::read(dir.join("mimi.db")).unwrap();
    db.extend(std::fs::read(dir.join("mimi.db-wal")).unwrap_or_default());
    assert!(db.len() > data.len(), "the attachment is in the database");
    assert!(
        !db.windows(64).any(|w| w == &data[1000..1064]),
        "the provider stored the plaintext"
    );
    let history = ok(&bob, &["history", "team"]);
    assert!(history.contains("(attachment notes.bin"), "{history}");
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn room_list_shows_this_devices_rooms_with_unread_counts_and_the_last_message() {
    let dir = crate::server::scratch("content-room-list");
    let (server, alice, bob) = alice_adds_bob_to_team(&dir);
    ok(&bob, &["sync"]);
    ok(&alice, &["send", "team", "one"]);
    ok(&alice, &["send", "team", "two"]);
    ok(&bob, &["send", "team", "mine does not count"]);
    ok(&bob, &["sync"]);
    let listed = events(&ok(&bob, &["room", "list", "--json"]));
    let rooms = listed[0]["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 1, "{listed:?}");
    assert_eq!(rooms[0]["room"], "mimi://example.com/r/team");
    assert_eq!(rooms[0]["unread"], 2);
    assert_eq!(rooms[0]["last"]["text"], "mine does not count");
    let text = ok(&bob, &["room", "list"]);
    assert!(text.contains("2 unread"), "{text}");
    // Read: none unread.
    ok(&bob, &["history", "team"]);
    let listed = events(&ok(&bob, &["room", "list", "--json"]));
    assert_eq!(listed[0]["rooms"][0]["unread"], 0);
    // The provider's directory is --directory.
    assert!(
        ok(&bob, &["room", "list", "--directory"])
            .lines()
            .all(|l| l.starts_with("mimi://"))
    );
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
