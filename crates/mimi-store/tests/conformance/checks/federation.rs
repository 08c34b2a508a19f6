//! Federation: relayed entries and Welcomes are kept once, until acknowledged, and never
//! delivered again when a hub pushes twice.

use super::*;

fn hub_room() -> RoomId {
    RoomId::new("a.example", "club").unwrap()
}

fn entry(seq: u64) -> mimi_store::LogEntry {
    mimi_store::LogEntry {
        room: hub_room(),
        seq,
        kind: EntryKind::Message,
        epoch: 1,
        sender: "mimi://a.example/d/alice/phone".into(),
        body: vec![seq as u8],
    }
}

pub async fn relayed_entries_are_kept_once_and_never_again_after_their_ack(db: &Db) {
    let s = &db.store;
    let bob = client("bob", "laptop");
    s.relay_entries(&bob, &[entry(3), entry(4)]).await.unwrap();
    // Pushed again (the hub did not hear the answer), with one more.
    s.relay_entries(&bob, &[entry(4), entry(5)]).await.unwrap();
    let seqs = |v: Vec<mimi_store::LogEntry>| v.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(s.relayed_pending(&bob, 10).await.unwrap()), [3, 4, 5]);
    assert_eq!(seqs(s.relayed_pending(&bob, 2).await.unwrap()), [3, 4]);
    assert!(
        s.relayed_pending(&client("bob", "phone"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    s.ack_relayed(&bob, &hub_room(), 4).await.unwrap();
    assert_eq!(seqs(s.relayed_pending(&bob, 10).await.unwrap()), [5]);
    // What was acknowledged comes back no more.
    s.relay_entries(&bob, &[entry(3), entry(4)]).await.unwrap();
    assert_eq!(seqs(s.relayed_pending(&bob, 10).await.unwrap()), [5]);
}

pub async fn a_relayed_welcome_is_delivered_once(db: &Db) {
    let s = &db.store;
    let bob = client("bob", "laptop");
    assert!(
        s.relay_welcome(&bob, &hub_room(), 7, b"welcome", b"tree")
            .await
            .unwrap()
    );
    assert!(
        !s.relay_welcome(&bob, &hub_room(), 7, b"welcome", b"tree")
            .await
            .unwrap()
    );
    let inbox = s.inbox(&bob, 0).await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].kind, mimi_store::InboxKind::Welcome);
    assert_eq!(inbox[0].ratchet_tree.as_deref(), Some(&b"tree"[..]));
    s.ack_inbox(&bob, inbox[0].id).await.unwrap();
    // Pushed again after the device took it: not again.
    assert!(
        !s.relay_welcome(&bob, &hub_room(), 7, b"welcome", b"tree")
            .await
            .unwrap()
    );
    assert!(s.inbox(&bob, 0).await.unwrap().is_empty());
}

pub async fn a_hub_pushes_to_the_foreign_members_of_its_rooms(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    let bob = ClientId::parse("mimi://b.example/d/bob/laptop").unwrap();
    with_devices(db, &[&alice]).await;
    let team = room_id("team");
    s.create_room(&NewRoom {
        id: team.clone(),
        epoch: 0,
        snapshot: b"state".to_vec(),
        document: "{}".into(),
        discoverable: false,
        members: vec![alice.clone(), bob.clone()],
        skeleton: None,
    })
    .await
    .unwrap();
    assert_eq!(s.foreign_recipients("example.com").await.unwrap(), [bob]);
    assert!(
        s.foreign_recipients("b.example")
            .await
            .unwrap()
            .contains(&alice)
    );
}

pub async fn a_peers_key_package_is_known_for_its_own_client_only(db: &Db) {
    let s = &db.store;
    let bob = ClientId::parse("mimi://b.example/d/bob/laptop").unwrap();
    let fake = ClientId::parse("mimi://b.example/d/bob/fake").unwrap();
    assert!(!s.peer_key_package_known(&bob, b"ref-1").await.unwrap());
    s.record_peer_key_packages(&[(bob.clone(), b"ref-1".to_vec())])
        .await
        .unwrap();
    s.record_peer_key_packages(&[(bob.clone(), b"ref-1".to_vec())])
        .await
        .unwrap();
    assert!(s.peer_key_package_known(&bob, b"ref-1").await.unwrap());
    assert!(!s.peer_key_package_known(&fake, b"ref-1").await.unwrap());
    assert!(!s.peer_key_package_known(&bob, b"ref-2").await.unwrap());
}

pub async fn a_devices_rooms_of_other_providers_are_known_until_it_is_deleted(db: &Db) {
    let s = &db.store;
    let laptop = client("bob", "laptop");
    let phone = client("bob", "phone");
    s.record_foreign_room(&laptop, &hub_room()).await.unwrap();
    s.record_foreign_room(&laptop, &hub_room()).await.unwrap();
    s.record_foreign_room(&client("carol", "x"), &hub_room())
        .await
        .unwrap();
    assert_eq!(
        s.foreign_rooms_of_user(&user("bob")).await.unwrap(),
        [(laptop.clone(), hub_room())]
    );
    assert!(s.take_foreign_rooms(&phone).await.unwrap().is_empty());
    assert_eq!(s.take_foreign_rooms(&laptop).await.unwrap(), [hub_room()]);
    assert!(
        s.foreign_rooms_of_user(&user("bob"))
            .await
            .unwrap()
            .is_empty()
    );
    // A removal asked by another provider is pending once.
    let team = room_id("team");
    let guest = ClientId::parse("mimi://b.example/d/bob/laptop").unwrap();
    assert!(s.add_pending_removal(&team, &guest).await.unwrap());
    assert!(!s.add_pending_removal(&team, &guest).await.unwrap());
    assert_eq!(s.pending_removals(10).await.unwrap().len(), 1);
}

pub async fn a_knock_across_providers_is_a_knock_until_answered_or_withdrawn(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    with_devices(db, &[&alice]).await;
    let team = room_id("team");
    let dave = UserId::parse("mimi://b.example/u/dave").unwrap();
    assert!(
        s.peer_knock(&team, &dave, &[alice.user().clone()])
            .await
            .unwrap()
    );
    assert!(
        !s.peer_knock(&team, &dave, &[alice.user().clone()])
            .await
            .unwrap()
    );
    assert!(s.has_knocked(&team, &dave).await.unwrap());
    assert_eq!(s.knocks(&team).await.unwrap()[0].0, dave);
    // The moderator's device hears of it, once.
    let told = s.inbox(&alice, 0).await.unwrap();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].kind, mimi_store::InboxKind::Knock);
    assert!(s.withdraw_knock(&team, &dave).await.unwrap());
    assert!(!s.has_knocked(&team, &dave).await.unwrap());
    assert!(s.inbox(&alice, 0).await.unwrap().is_empty());
}
