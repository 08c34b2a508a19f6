//! The rules every store must keep, one check each.

use std::collections::BTreeSet;

use mimi_policy::id::{ClientId, RoomId, UserId};
use mimi_store::prelude::*;
use mimi_store::{
    Append, EntryKind, NewEntry, NewRoom, Position, RoomUpdate, StoreError, TokenOwner,
};

use crate::harness::Db;

mod accounts;
mod consent;
mod delivery;
mod federation;
mod rooms;

pub use accounts::*;
pub use consent::*;
pub use delivery::*;
pub use federation::*;
pub use rooms::*;

fn user(name: &str) -> UserId {
    UserId::new("example.com", name).unwrap()
}

fn client(name: &str, device: &str) -> ClientId {
    ClientId::new(user(name), device).unwrap()
}

fn room_id(name: &str) -> RoomId {
    RoomId::new("example.com", name).unwrap()
}

async fn with_devices(db: &Db, clients: &[&ClientId]) {
    for c in clients {
        let _ = db
            .store
            .create_user(c.user(), "hash", c.user().as_str())
            .await;
        db.store.add_device(c).await.unwrap();
    }
}

fn new_room(name: &str, members: Vec<ClientId>, discoverable: bool) -> NewRoom {
    NewRoom {
        id: room_id(name),
        epoch: 0,
        snapshot: b"state 0".to_vec(),
        document: format!("{{\"name\":\"{name}\"}}"),
        discoverable,
        members,
        skeleton: Some(format!("skeleton-of-{name}")),
    }
}

fn entry(kind: EntryKind, sender: &ClientId, body: &str) -> NewEntry {
    NewEntry {
        kind,
        sender: sender.to_string(),
        body: body.as_bytes().to_vec(),
    }
}

fn commit(room: &str, version: u64, epoch: u64, sender: &ClientId) -> RoomUpdate {
    RoomUpdate {
        id: room_id(room),
        expected_version: version,
        epoch,
        document: format!("{{\"name\":\"{room}\",\"epoch\":{epoch}}}"),
        discoverable: true,
        entry: entry(EntryKind::Commit, sender, &format!("commit to {epoch}")),
        group_info: Some(format!("group info {epoch}").into_bytes()),
        added: Vec::new(),
        removed: Vec::new(),
        answered_knocks: Vec::new(),
        welcome: None,
    }
}

/// The snapshot of `room` after log entry `seq`, with trees for the Welcomes of `trees`.
fn snapshot(room: &str, seq: u64, trees: &[u64]) -> mimi_store::RoomSnapshot {
    mimi_store::RoomSnapshot {
        id: room_id(room),
        seq,
        snapshot: format!("state {seq}").into_bytes(),
        welcome_trees: trees
            .iter()
            .map(|s| (*s, format!("tree {s}").into_bytes()))
            .collect(),
    }
}
