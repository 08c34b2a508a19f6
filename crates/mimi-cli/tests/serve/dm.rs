//! `mimi dm`: the fixed-membership room of a set of people, named from its occupants by the
//! seed's convention; the first creates it and asks the others, who accept by running
//! `mimi dm` with the same people; nobody is added or removed later.

use crate::client::{events, ok, people};
use crate::moderation::refusal;
use crate::server::{Server, scratch};

#[test]
fn the_same_people_always_get_the_same_fixed_room_and_nobody_else_gets_in() {
    let dir = scratch("dm");
    let server = Server::start(&dir, &[]);
    let url = format!("http://{}", server.addr);
    let [alice, bob, carol] = people(&dir, &url, ["alice", "bob", "carol"]);

    let opened = events(&ok(&alice, &["dm", "bob", "--json"]));
    assert_eq!(opened[0]["created"], true, "{opened:?}");
    let room = opened[0]["room"].as_str().unwrap().to_owned();
    // bob hears of it, and accepts by running the same.
    let heard = ok(&bob, &["sync"]);
    assert!(
        heard.contains("`mimi dm mimi://example.com/u/alice`"),
        "{heard}"
    );
    let joined = events(&ok(&bob, &["dm", "alice", "--json"]));
    assert_eq!(joined[0]["created"], false, "{joined:?}");
    assert_eq!(joined[0]["room"], room.as_str());
    ok(&alice, &["sync"]);
    ok(&alice, &["send", &room, "just us"]);
    assert!(ok(&bob, &["sync"]).contains("just us"));
    ok(&bob, &["send", &room, "indeed"]);
    assert!(ok(&alice, &["sync"]).contains("indeed"));
    // Again: the same room.
    let again = events(&ok(&alice, &["dm", "bob", "--json"]));
    assert_eq!(again[0]["room"], room.as_str());

    // Nobody is added or removed later.
    ok(&carol, &["consent", "grant", "alice"]);
    let add = refusal(&alice, &["room", "add", &room, "carol"]);
    assert_eq!(add["code"], "fixed-membership", "{add}");
    let remove = refusal(&alice, &["room", "remove", &room, "bob"]);
    assert_eq!(remove["code"], "fixed-membership", "{remove}");
    // To an outsider the hidden room does not exist.
    let join = refusal(&carol, &["room", "join", &room]);
    assert_eq!(join["code"], "not-found", "{join}");

    // Three people: another room, the same for each of them.
    let group = events(&ok(&alice, &["dm", "bob", "carol", "--json"]));
    let group_room = group[0]["room"].as_str().unwrap().to_owned();
    assert_ne!(group_room, room);
    let carol_in = events(&ok(&carol, &["dm", "bob", "alice", "--json"]));
    assert_eq!(carol_in[0]["room"], group_room.as_str());
    assert_eq!(carol_in[0]["created"], false);
    assert_eq!(server.terminate(), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}
