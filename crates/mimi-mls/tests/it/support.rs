//! Rooms and clients for the tests.

use std::collections::BTreeMap;

use mimi_mls::member::Client;
use mimi_policy::Room;
use mimi_policy::document::SeedDocument;
use mimi_policy::id::{ClientId, RoomId, UserId};
use mimi_policy::preset::preset;

/// A client by URI.
pub fn client(uri: &str) -> Client {
    Client::new(ClientId::parse(uri).unwrap()).unwrap()
}

/// A preset room about to be created: only `creator`'s client is in the group.
pub fn new_room(name: &str, creator: &ClientId) -> Room {
    let mut doc: SeedDocument = preset(name).unwrap();
    doc.id = Some(RoomId::parse("mimi://example.com/r/team").unwrap());
    doc.clients = BTreeMap::from([(creator.user().clone(), vec![creator.name().to_owned()])]);
    // Voice overrides name users in the room; a new room has only its creator.
    doc.voice = Default::default();
    doc.into_room().unwrap()
}

/// `user`'s URI.
pub fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}
