//! Delivery: logs, batches, members, acknowledgements, inboxes, deleted devices.

use super::*;

pub async fn messages_are_appended_only_in_the_current_epoch(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    s.create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    let batch = [
        entry(EntryKind::Message, &alice, "one"),
        entry(EntryKind::Message, &alice, "two"),
    ];
    assert_eq!(
        s.append_messages(&room_id("team"), 0, &batch)
            .await
            .unwrap(),
        vec![1, 2]
    );
    s.update_room(&commit("team", 1, 1, &alice)).await.unwrap();
    let old = s.append_messages(&room_id("team"), 0, &batch).await;
    assert!(
        matches!(old, Err(StoreError::Stale { epoch: 1, .. })),
        "{old:?}"
    );
    assert_eq!(
        s.append_messages(&room_id("team"), 1, &batch[..1])
            .await
            .unwrap(),
        vec![4]
    );
    let log = s.read_log(&room_id("team"), 0, 10).await.unwrap();
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(log[3].kind, EntryKind::Message);
    assert_eq!(log[3].epoch, 1);
    assert_eq!(s.read_log(&room_id("team"), 2, 1).await.unwrap()[0].seq, 3);
}

pub async fn an_append_of_any_length_takes_the_next_places_in_order_and_needs_its_room(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    s.create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    let team = room_id("team");
    // One message, then more than one statement's rows (PostgreSQL writes up to 100 rows
    // in one statement with the room's counter, more in several).
    for (count, from) in [(1, 1), (250, 2), (100, 252)] {
        let batch: Vec<NewEntry> = (0..count)
            .map(|i| entry(EntryKind::Message, &alice, &format!("m{}", from + i)))
            .collect();
        let seqs = s.append_messages(&team, 0, &batch).await.unwrap();
        assert_eq!(seqs, (from..from + count).collect::<Vec<u64>>());
    }
    let mut log = Vec::new();
    while log.len() < 351 {
        let after = log.last().map_or(0, |e: &mimi_store::LogEntry| e.seq);
        let page = s.read_log(&team, after, 1_000).await.unwrap();
        assert!(!page.is_empty(), "the log ends at {after}");
        log.extend(page);
    }
    for e in &log {
        assert_eq!(
            e.body,
            format!("m{}", e.seq).into_bytes(),
            "each body at its place"
        );
        assert_eq!((e.kind, e.epoch), (EntryKind::Message, 0));
        assert_eq!(e.sender, alice.to_string());
    }
    let nowhere = s
        .append_messages(
            &room_id("nowhere"),
            0,
            &[entry(EntryKind::Message, &alice, "lost")],
        )
        .await;
    assert!(
        matches!(nowhere, Err(StoreError::NotFound(_))),
        "{nowhere:?}"
    );
}

pub async fn a_batch_writes_appends_and_acks_together_and_refuses_only_a_stale_append(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    for name in ["team", "other"] {
        s.create_room(&new_room(name, vec![alice.clone()], true))
            .await
            .unwrap();
    }
    let (team, other) = (room_id("team"), room_id("other"));
    s.append_messages(&team, 0, &[entry(EntryKind::Message, &alice, "first")])
        .await
        .unwrap();
    s.update_room(&commit("other", 1, 1, &alice)).await.unwrap();
    let two = [
        entry(EntryKind::Message, &alice, "a"),
        entry(EntryKind::Message, &alice, "b"),
    ];
    let appends = [
        Append {
            room: &team,
            epoch: 0,
            entries: &two,
            announce: None,
        },
        // "other" moved to epoch 1: this part is refused, the rest is written.
        Append {
            room: &other,
            epoch: 0,
            entries: &two[..1],
            announce: None,
        },
        Append {
            room: &team,
            epoch: 0,
            entries: &two[1..],
            announce: None,
        },
    ];
    let acks = [
        (alice.clone(), team.clone(), 1),
        (client("eve", "x"), team.clone(), 1),
    ];
    let written = s.write_batch(&appends, &acks).await.unwrap();
    assert_eq!(written.appended[0].as_ref().unwrap(), &[2, 3]);
    assert!(
        matches!(written.appended[1], Err(StoreError::Stale { epoch: 1, .. })),
        "{:?}",
        written.appended[1]
    );
    assert_eq!(written.appended[2].as_ref().unwrap(), &[4]);
    assert_eq!(written.acked, [true, false]);
    let log = s.read_log(&team, 0, 10).await.unwrap();
    let bodies: Vec<&[u8]> = log.iter().map(|e| e.body.as_slice()).collect();
    assert_eq!(bodies, [&b"first"[..], b"a", b"b", b"b"]);
    // Only the commit is in the other room's log.
    assert_eq!(s.read_log(&other, 0, 10).await.unwrap().len(), 1);
    assert_eq!(
        s.positions(&alice).await.unwrap(),
        [
            Position {
                room: other.clone(),
                acked_seq: 0,
                until_seq: None,
                last_seq: 1,
            },
            Position {
                room: team.clone(),
                acked_seq: 1,
                until_seq: None,
                last_seq: 4,
            },
        ]
    );
}

pub async fn members_receive_from_their_add_until_their_removal(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    let bob = client("bob", "phone");
    with_devices(db, &[&alice, &bob]).await;
    s.create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    s.append_messages(
        &room_id("team"),
        0,
        &[entry(EntryKind::Message, &alice, "before bob")],
    )
    .await
    .unwrap();
    let mut add = commit("team", 1, 1, &alice);
    add.added = vec![bob.clone()];
    let add_seq = s.update_room(&add).await.unwrap();
    s.append_messages(
        &room_id("team"),
        1,
        &[entry(EntryKind::Message, &alice, "hi bob")],
    )
    .await
    .unwrap();
    // bob gets what follows the commit that added him, alice everything.
    let bodies =
        |v: Vec<mimi_store::LogEntry>| -> Vec<Vec<u8>> { v.into_iter().map(|e| e.body).collect() };
    assert_eq!(
        bodies(s.pending(&bob, 100).await.unwrap()),
        vec![b"hi bob".to_vec()]
    );
    assert_eq!(s.pending(&alice, 100).await.unwrap().len(), 3);
    assert_eq!(add_seq, 2);
    // A user's rooms are those of any of its clients.
    assert_eq!(s.user_rooms(bob.user()).await.unwrap(), [room_id("team")]);
    let mut remove = commit("team", 2, 2, &alice);
    remove.removed = vec![bob.clone()];
    let remove_seq = s.update_room(&remove).await.unwrap();
    s.append_messages(
        &room_id("team"),
        2,
        &[entry(EntryKind::Message, &alice, "bob is gone")],
    )
    .await
    .unwrap();
    // bob still receives the commit that removed him (so he learns of it), nothing after.
    let left = s.pending(&bob, 100).await.unwrap();
    assert_eq!(
        left.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [remove_seq - 1, remove_seq]
    );
    assert!(s.memberships(&bob).await.unwrap().is_empty());
    assert!(s.user_rooms(bob.user()).await.unwrap().is_empty());
    assert_eq!(s.user_rooms(alice.user()).await.unwrap(), [room_id("team")]);
    // His position says so without reading the log: pending up to the removal only.
    assert_eq!(
        s.positions(&bob).await.unwrap(),
        [Position {
            room: room_id("team"),
            // He starts after the commit that added him.
            acked_seq: add_seq,
            until_seq: Some(remove_seq),
            last_seq: remove_seq + 1,
        }]
    );
    assert_eq!(
        s.ack(&[(bob.clone(), room_id("team"), remove_seq)])
            .await
            .unwrap(),
        [true]
    );
    assert_eq!(s.pending(&bob, 100).await.unwrap(), vec![]);
    // Once acknowledged, his position is gone: a further ack is told he is not in the room.
    assert_eq!(
        s.ack(&[(bob.clone(), room_id("team"), remove_seq)])
            .await
            .unwrap(),
        [false]
    );
    assert_eq!(s.pending(&alice, 2).await.unwrap().len(), 2, "limit");
}

pub async fn acknowledgements_only_move_forward(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    s.create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    let msgs: Vec<NewEntry> = (0..5)
        .map(|i| entry(EntryKind::Message, &alice, &format!("m{i}")))
        .collect();
    s.append_messages(&room_id("team"), 0, &msgs).await.unwrap();
    let team = room_id("team");
    assert_eq!(
        s.ack(&[(alice.clone(), team.clone(), 3)]).await.unwrap(),
        [true]
    );
    assert_eq!(
        s.ack(&[(alice.clone(), team.clone(), 1)]).await.unwrap(),
        [true]
    );
    let pending = s.pending(&alice, 100).await.unwrap();
    assert_eq!(pending.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(s.memberships(&alice).await.unwrap()[0].acked_seq, 3);
    assert_eq!(s.delivery_backlog().await.unwrap(), 2);
    // Several in one call; a client outside the room is told so.
    let acks = [
        (client("eve", "x"), team.clone(), 5),
        (alice.clone(), team.clone(), 4),
    ];
    assert_eq!(s.ack(&acks).await.unwrap(), [false, true]);
    assert_eq!(s.memberships(&alice).await.unwrap()[0].acked_seq, 4);
    // A position past the end of the log is never taken (it would hold back what the room
    // receives next), alone or in a batch.
    s.ack(&[(alice.clone(), team.clone(), 99)]).await.unwrap();
    s.write_batch(&[], &[(alice.clone(), team.clone(), 6)])
        .await
        .unwrap();
    assert_eq!(s.memberships(&alice).await.unwrap()[0].acked_seq, 4);
    s.ack(&[(alice.clone(), team.clone(), 5)]).await.unwrap();
    assert_eq!(s.memberships(&alice).await.unwrap()[0].acked_seq, 5);
}

pub async fn welcomes_go_to_the_added_clients_inboxes(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    let bob = client("bob", "phone");
    let carol = client("carol", "desk");
    with_devices(db, &[&alice, &bob, &carol]).await;
    s.create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    let mut add = commit("team", 1, 1, &alice);
    add.added = vec![bob.clone(), carol.clone()];
    add.welcome = Some(b"welcome".to_vec());
    let seq = s.update_room(&add).await.unwrap();
    // The Welcome waits for the ratchet tree of its epoch.
    let waiting = s.inbox(&bob, 0).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].ratchet_tree, None);
    let r = s.load_room(&room_id("team")).await.unwrap().unwrap();
    assert!(r.unsettled[0].welcome_waiting);
    s.save_snapshot(&snapshot("team", seq, &[seq]))
        .await
        .unwrap();
    for c in [&bob, &carol] {
        let inbox = s.inbox(c, 0).await.unwrap();
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox[0].room, Some(room_id("team")));
        assert_eq!(inbox[0].kind, mimi_store::InboxKind::Welcome);
        assert_eq!(inbox[0].body, b"welcome");
        assert_eq!(inbox[0].ratchet_tree.as_deref(), Some(&b"tree 1"[..]));
    }
    assert!(s.inbox(&alice, 0).await.unwrap().is_empty());
    let id = s.inbox(&bob, 0).await.unwrap()[0].id;
    s.ack_inbox(&bob, id).await.unwrap();
    assert!(s.inbox(&bob, 0).await.unwrap().is_empty());
    assert_eq!(s.inbox(&carol, 0).await.unwrap().len(), 1);
    // By ID: only the items named go.
    let id = s.inbox(&carol, 0).await.unwrap()[0].id;
    s.ack_inbox_items(&carol, &[id + 1000]).await.unwrap();
    assert_eq!(s.inbox(&carol, 0).await.unwrap().len(), 1);
    s.ack_inbox_items(&carol, &[id]).await.unwrap();
    assert!(s.inbox(&carol, 0).await.unwrap().is_empty());
}

pub async fn an_inbox_item_of_an_unknown_kind_is_never_delivered_as_another(db: &Db) {
    use sqlx::Connection as _;
    let s = &db.store;
    let bob = client("bob", "phone");
    with_devices(db, &[&bob]).await;
    // As a newer version would write it, during a rolling upgrade.
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query("INSERT INTO inbox (client_id, kind, room_id, body) VALUES ($1, 99, '', $2)")
        .bind(bob.to_string())
        .bind(&b"from the future"[..])
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert!(s.inbox(&bob, 0).await.unwrap().is_empty());
    s.request_consent(bob.user(), &user("alice"), None)
        .await
        .unwrap();
    let items = s.inbox(&bob, 0).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].kind, mimi_store::InboxKind::ConsentRequest);
}

pub async fn a_deleted_device_leaves_its_rooms_before_its_name_is_reused(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    let bob = client("bob", "phone");
    with_devices(db, &[&alice, &bob]).await;
    for name in ["team", "club"] {
        s.create_room(&new_room(name, vec![alice.clone()], true))
            .await
            .unwrap();
    }
    let mut add = commit("team", 1, 1, &alice);
    add.added = vec![bob.clone()];
    add.welcome = Some(b"welcome".to_vec());
    s.update_room(&add).await.unwrap();
    assert_eq!(
        s.remove_device(&bob).await.unwrap(),
        Some(vec![room_id("team")])
    );
    assert_eq!(s.remove_device(&bob).await.unwrap(), None, "gone");
    // Nothing of the old device is left for a new one of the same name to inherit.
    assert!(s.inbox(&bob, 0).await.unwrap().is_empty());
    assert!(s.pending(&bob, 100).await.unwrap().is_empty());
    let pending = s.pending_removals(10).await.unwrap();
    assert_eq!(
        pending,
        vec![mimi_store::PendingRemoval {
            room: room_id("team"),
            client: bob.clone(),
            proposed_epoch: None
        }]
    );
    s.removal_proposed(&room_id("team"), &bob, 1).await.unwrap();
    assert_eq!(
        s.pending_removals(10).await.unwrap()[0].proposed_epoch,
        Some(1)
    );
    // A commit adding the deleted device is refused, and writes nothing.
    let mut ghost = commit("club", 1, 1, &alice);
    ghost.added = vec![bob.clone()];
    assert!(matches!(
        s.update_room(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        s.room_version(&room_id("club")).await.unwrap(),
        Some((1, 0))
    );
    assert!(matches!(s.add_device(&bob).await, Err(StoreError::Busy(_))));
    // The commit that removes it finishes the removal.
    let mut remove = commit("team", 2, 2, &alice);
    remove.removed = vec![bob.clone()];
    s.update_room(&remove).await.unwrap();
    assert!(s.pending_removals(10).await.unwrap().is_empty());
    s.add_device(&bob).await.unwrap();
    assert!(s.memberships(&bob).await.unwrap().is_empty());
}

pub async fn a_snapshot_never_passes_a_commit_whose_welcome_waits(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    let bob = client("bob", "phone");
    with_devices(db, &[&alice, &bob]).await;
    s.create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    let team = room_id("team");
    let mut add = commit("team", 1, 1, &alice);
    add.added = vec![bob.clone()];
    add.welcome = Some(b"welcome".to_vec());
    let first = s.update_room(&add).await.unwrap();
    // The process stopped before the snapshot; a later commit's snapshot comes with its
    // own trees only.
    let second = s.update_room(&commit("team", 2, 2, &alice)).await.unwrap();
    s.save_snapshot(&snapshot("team", second, &[]))
        .await
        .unwrap();
    let r = s.load_room(&team).await.unwrap().unwrap();
    assert_eq!(
        r.snapshot_seq, 0,
        "still before the waiting Welcome's commit"
    );
    assert_eq!(r.unsettled.len(), 2);
    assert!(s.rooms_behind(10).await.unwrap().contains(&team));
    // A replay from there gives the Welcome its tree, and the snapshot moves on.
    s.save_snapshot(&snapshot("team", second, &[first]))
        .await
        .unwrap();
    let r = s.load_room(&team).await.unwrap().unwrap();
    assert_eq!(r.snapshot_seq, second);
    let inbox = s.inbox(&bob, 0).await.unwrap();
    assert_eq!(inbox[0].ratchet_tree.as_deref(), Some(&b"tree 1"[..]));
}
