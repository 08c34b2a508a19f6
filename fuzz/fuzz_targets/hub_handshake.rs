//! MLS messages through the hub's pipeline: as a handshake (with the same bytes as
//! GroupInfo), as a handshake replayed from the log, and as an application message. Must
//! never panic.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use mimi_mls::hub::{Hub, HubRoom};
use mimi_mls::member::Client;
use mimi_policy::document::parse_room;
use mimi_policy::id::{ClientId, ProviderId};

thread_local! {
    static ROOM: RefCell<(Hub, HubRoom, ClientId)> = RefCell::new(setup());
}

fn setup() -> (Hub, HubRoom, ClientId) {
    let hub = Hub::new(ProviderId::parse("example.com").unwrap()).unwrap();
    let alice = Client::new(ClientId::parse("mimi://example.com/d/alice/phone").unwrap()).unwrap();
    let room = parse_room(
        r#"{"id": "mimi://example.com/r/fuzz",
            "user-affiliations": {"owner": ["alice@example.com"]},
            "clients": {"alice@example.com": ["phone"]}}"#,
    )
    .unwrap();
    let group = alice.create_room(&room, &hub.external_sender()).unwrap();
    let hosted = hub
        .load_room(
            &alice.group_info(&group).unwrap(),
            &group.ratchet_tree().unwrap(),
        )
        .unwrap();
    (hub, hosted, alice.id().clone())
}

fuzz_target!(|data: &[u8]| {
    ROOM.with(|cell| {
        let (hub, hosted, alice) = &mut *cell.borrow_mut();
        let _ = hosted.process(hub, data, Some(data));
        let _ = hosted.process(hub, data, None);
        let _ = hosted.replay(hub, data, Some(data));
        let _ = hosted.check_message(hub, alice, data);
    });
});
