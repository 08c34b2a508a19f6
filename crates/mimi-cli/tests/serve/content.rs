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
