//! The rules every store must keep, one check each.

use std::collections::BTreeSet;

use mimi_policy::id::{ClientId, RoomId, UserId};
use mimi_store::{
    Append, EntryKind, NewEntry, NewRoom, Position, RoomUpdate, Store, StoreError, TokenOwner,
};

use crate::harness::Db;

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
        let _ = db.store.create_user(c.user(), "hash").await;
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
        snapshot: format!("state {epoch}").into_bytes(),
        document: format!("{{\"name\":\"{room}\",\"epoch\":{epoch}}}"),
        discoverable: true,
        entry: entry(EntryKind::Commit, sender, &format!("commit to {epoch}")),
        added: Vec::new(),
        removed: Vec::new(),
        answered_knocks: Vec::new(),
        welcome: None,
        ratchet_tree: None,
    }
}

pub async fn users_are_unique_and_keep_their_password_hash(db: &Db) {
    let s = &db.store;
    s.create_user(&user("alice"), "argon2-hash-a")
        .await
        .unwrap();
    let again = s.create_user(&user("alice"), "other").await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(
        s.password_hash(&user("alice")).await.unwrap().as_deref(),
        Some("argon2-hash-a")
    );
    assert_eq!(s.password_hash(&user("nobody")).await.unwrap(), None);
}

pub async fn tokens_name_their_user_and_device(db: &Db) {
    let s = &db.store;
    s.create_user(&user("alice"), "h").await.unwrap();
    let account = TokenOwner {
        user: user("alice"),
        client: None,
    };
    let device = TokenOwner {
        user: user("alice"),
        client: Some(client("alice", "phone")),
    };
    s.insert_token("t-hash", &account).await.unwrap();
    s.insert_token("d-hash", &device).await.unwrap();
    assert_eq!(s.token_owner("t-hash").await.unwrap(), Some(account));
    assert_eq!(s.token_owner("d-hash").await.unwrap(), Some(device));
    assert_eq!(s.token_owner("unknown").await.unwrap(), None);
    let orphan = TokenOwner {
        user: user("nobody"),
        client: None,
    };
    let orphan = s.insert_token("t2", &orphan).await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
}

pub async fn the_provider_key_is_created_once(db: &Db) {
    let first = db
        .store
        .provider_key("example.com", b"key one")
        .await
        .unwrap();
    let other = db.reopen().await;
    let second = other.provider_key("example.com", b"key two").await.unwrap();
    assert_eq!(first, b"key one");
    assert_eq!(second, b"key one");
    assert_eq!(
        other
            .provider_key("example.org", b"key three")
            .await
            .unwrap(),
        b"key three"
    );
    other.close().await;
}

pub async fn devices_need_their_user_and_are_unique(db: &Db) {
    let s = &db.store;
    let phone = client("alice", "phone");
    let orphan = s.add_device(&phone).await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
    s.create_user(&user("alice"), "h").await.unwrap();
    s.add_device(&phone).await.unwrap();
    s.add_device(&client("alice", "laptop")).await.unwrap();
    let again = s.add_device(&phone).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(
        s.devices(&user("alice")).await.unwrap(),
        vec![client("alice", "laptop"), phone.clone()]
    );
    let device_token = TokenOwner {
        user: user("alice"),
        client: Some(phone.clone()),
    };
    s.insert_token("phone-token", &device_token).await.unwrap();
    assert_eq!(s.remove_device(&phone).await.unwrap(), Some(vec![]));
    assert_eq!(s.remove_device(&phone).await.unwrap(), None);
    assert_eq!(
        s.token_owner("phone-token").await.unwrap(),
        None,
        "its token is gone"
    );
    assert_eq!(
        s.devices(&user("alice")).await.unwrap(),
        vec![client("alice", "laptop")]
    );
}

pub async fn key_packages_are_handed_out_once_then_the_last_resort(db: &Db) {
    let s = &db.store;
    let bob = client("bob", "phone");
    with_devices(db, &[&bob]).await;
    assert_eq!(s.claim_key_package(&bob).await.unwrap(), None);
    s.add_key_packages(
        &bob,
        &[
            (b"kp1".to_vec(), false),
            (b"kp2".to_vec(), false),
            (b"last".to_vec(), true),
        ],
    )
    .await
    .unwrap();
    assert_eq!(s.key_package_count(&bob).await.unwrap(), 2);
    let first = s.claim_key_package(&bob).await.unwrap().unwrap();
    let second = s.claim_key_package(&bob).await.unwrap().unwrap();
    assert_eq!(
        BTreeSet::from([first, second]),
        BTreeSet::from([b"kp1".to_vec(), b"kp2".to_vec()])
    );
    assert_eq!(s.key_package_count(&bob).await.unwrap(), 0);
    // The last-resort KeyPackage is handed out every time, and kept.
    for _ in 0..2 {
        assert_eq!(
            s.claim_key_package(&bob).await.unwrap().as_deref(),
            Some(&b"last"[..])
        );
    }
    // Removing the device removes its KeyPackages.
    s.remove_device(&bob).await.unwrap();
    assert_eq!(s.claim_key_package(&bob).await.unwrap(), None);
}

pub async fn concurrent_claims_never_hand_out_a_key_package_twice(db: &Db) {
    let bob = client("bob", "phone");
    with_devices(db, &[&bob]).await;
    let kps: Vec<(Vec<u8>, bool)> = (0..40)
        .map(|i| (format!("kp{i}").into_bytes(), false))
        .collect();
    db.store.add_key_packages(&bob, &kps).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = db.store.clone();
        let bob = bob.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(kp) = store.claim_key_package(&bob).await.unwrap() {
                got.push(kp);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 40, "every KeyPackage handed out once");
    assert_eq!(distinct.len(), 40);
}

pub async fn rooms_are_created_once_and_loaded_back(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    s.create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    let again = s.create_room(&new_room("team", vec![], true)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let r = s.load_room(&room_id("team")).await.unwrap().unwrap();
    assert_eq!((r.version, r.epoch, r.last_seq), (1, 0, 0));
    assert_eq!(r.snapshot, b"state 0");
    assert_eq!(
        s.room_version(&room_id("team")).await.unwrap(),
        Some((1, 0))
    );
    assert_eq!(s.load_room(&room_id("none")).await.unwrap(), None);
    assert_eq!(
        s.memberships(&alice).await.unwrap().len(),
        1,
        "the creator is a member"
    );
}

pub async fn room_updates_are_compare_and_swap_on_the_version(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    s.create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    assert_eq!(
        s.update_room(&commit("team", 1, 1, &alice)).await.unwrap(),
        1
    );
    // Computed from version 1 again: refused, with the room's current version and epoch.
    let late = s.update_room(&commit("team", 1, 1, &alice)).await;
    assert!(
        matches!(
            late,
            Err(StoreError::Stale {
                version: 2,
                epoch: 1
            })
        ),
        "{late:?}"
    );
    // Nothing of it was written.
    let log = s.read_log(&room_id("team"), 0, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].body, b"commit to 1");
    assert_eq!(log[0].epoch, 0, "a commit is sent in the epoch it ends");
    let r = s.load_room(&room_id("team")).await.unwrap().unwrap();
    assert_eq!((r.version, r.epoch, r.last_seq), (2, 1, 1));
    assert_eq!(r.snapshot, b"state 1");
    // A proposal bumps the version but not the epoch.
    let mut proposal = commit("team", 2, 1, &alice);
    proposal.entry = entry(EntryKind::Proposal, &alice, "self-remove");
    assert_eq!(s.update_room(&proposal).await.unwrap(), 2);
    assert_eq!(
        s.room_version(&room_id("team")).await.unwrap(),
        Some((3, 1))
    );
    let unknown = s.update_room(&commit("none", 1, 1, &alice)).await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "{unknown:?}"
    );
}

pub async fn concurrent_room_updates_exactly_one_wins(db: &Db) {
    let alice = client("alice", "phone");
    db.store
        .create_room(&new_room("race", vec![alice.clone()], false))
        .await
        .unwrap();
    // Two stores on one database, as two processes would be.
    let other = db.reopen().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        let alice = alice.clone();
        tasks.push(tokio::spawn(async move {
            store.update_room(&commit("race", 1, 1, &alice)).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(seq) => {
                won += 1;
                assert_eq!(seq, 1);
            }
            Err(StoreError::Stale { version, epoch }) => assert_eq!((version, epoch), (2, 1)),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(
        db.store
            .read_log(&room_id("race"), 0, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    other.close().await;
}

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
        },
        // "other" moved to epoch 1: this part is refused, the rest is written.
        Append {
            room: &other,
            epoch: 0,
            entries: &two[..1],
        },
        Append {
            room: &team,
            epoch: 0,
            entries: &two[1..],
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
    add.ratchet_tree = Some(b"tree 1".to_vec());
    s.update_room(&add).await.unwrap();
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

pub async fn consent_is_asked_granted_per_room_or_for_all_and_revoked(db: &Db) {
    let s = &db.store;
    let (alice, bob) = (user("alice"), user("bob"));
    let (team, club) = (room_id("team"), room_id("club"));
    s.create_user(&bob, "hash").await.unwrap();
    assert!(matches!(
        s.request_consent(&user("nobody"), &alice, None).await,
        Err(StoreError::NotFound(_))
    ));
    let bob_phone = client("bob", "phone");
    s.add_device(&bob_phone).await.unwrap();
    s.request_consent(&bob, &alice, Some(&team)).await.unwrap();
    s.request_consent(&bob, &alice, Some(&team)).await.unwrap();
    // bob's device hears of it, once.
    let told = s.inbox(&bob_phone, 0).await.unwrap();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].kind, mimi_store::InboxKind::ConsentRequest);
    assert_eq!(told[0].room, Some(team.clone()));
    assert_eq!(told[0].body, alice.as_str().as_bytes());
    assert!(
        !s.has_consent(&bob, &alice, Some(&team)).await.unwrap(),
        "asked, not given"
    );
    assert_eq!(
        s.consents(&bob).await.unwrap(),
        vec![mimi_store::Consent {
            requester: alice.clone(),
            room: Some(team.clone()),
            granted: false
        }]
    );
    s.grant_consent(&bob, &alice, Some(&team)).await.unwrap();
    assert!(s.has_consent(&bob, &alice, Some(&team)).await.unwrap());
    assert!(
        !s.has_consent(&bob, &alice, Some(&club)).await.unwrap(),
        "that room only"
    );
    assert!(
        !s.has_consent(&bob, &alice, None).await.unwrap(),
        "not any room"
    );
    assert!(
        !s.has_consent(&bob, &user("carol"), Some(&team))
            .await
            .unwrap()
    );
    s.grant_consent(&bob, &alice, None).await.unwrap();
    assert!(
        s.has_consent(&bob, &alice, Some(&club)).await.unwrap(),
        "any room"
    );
    assert!(s.revoke_consent(&bob, &alice, None).await.unwrap());
    assert!(!s.revoke_consent(&bob, &alice, None).await.unwrap());
    assert!(!s.has_consent(&bob, &alice, Some(&club)).await.unwrap());
    assert!(s.has_consent(&bob, &alice, Some(&team)).await.unwrap());
    // A request does not undo a grant.
    s.request_consent(&bob, &alice, Some(&team)).await.unwrap();
    assert!(s.has_consent(&bob, &alice, Some(&team)).await.unwrap());
}

pub async fn a_knock_tells_the_moderators_once_and_the_add_ends_it(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    let bob = client("bob", "phone");
    with_devices(db, &[&alice, &bob]).await;
    s.create_room(&new_room("team", vec![alice.clone()], false))
        .await
        .unwrap();
    let team = room_id("team");
    assert!(matches!(
        s.knock(&room_id("nowhere"), bob.user(), &[]).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(!s.has_knocked(&team, bob.user()).await.unwrap());
    assert!(
        s.knock(&team, bob.user(), &[alice.user().clone()])
            .await
            .unwrap()
    );
    assert!(
        !s.knock(&team, bob.user(), &[alice.user().clone()])
            .await
            .unwrap(),
        "already pending"
    );
    assert!(s.has_knocked(&team, bob.user()).await.unwrap());
    let told = s.inbox(&alice, 0).await.unwrap();
    assert_eq!(told.len(), 1, "once: {told:?}");
    assert_eq!(told[0].kind, mimi_store::InboxKind::Knock);
    assert_eq!(told[0].room, Some(team.clone()));
    assert_eq!(told[0].body, bob.user().as_str().as_bytes());
    assert!(s.inbox(&bob, 0).await.unwrap().is_empty());
    let mut add = commit("team", 1, 1, &alice);
    add.added = vec![bob.clone()];
    s.update_room(&add).await.unwrap();
    assert!(!s.has_knocked(&team, bob.user()).await.unwrap(), "answered");
}

/// alice's room `team`, on which bob and carol knocked (alice is told of both).
async fn two_knocks(db: &Db) -> (ClientId, ClientId, ClientId, RoomId) {
    let s = &db.store;
    let alice = client("alice", "phone");
    let bob = client("bob", "phone");
    let carol = client("carol", "phone");
    with_devices(db, &[&alice, &bob, &carol]).await;
    s.create_room(&new_room("team", vec![alice.clone()], false))
        .await
        .unwrap();
    let team = room_id("team");
    let moderators = [alice.user().clone()];
    assert!(s.knock(&team, bob.user(), &moderators).await.unwrap());
    assert!(s.knock(&team, carol.user(), &moderators).await.unwrap());
    (alice, bob, carol, team)
}

pub async fn a_withdrawn_knock_goes_with_its_undelivered_notifications(db: &Db) {
    let s = &db.store;
    let (alice, bob, carol, team) = two_knocks(db).await;
    let moderators = [alice.user().clone()];
    assert!(s.withdraw_knock(&team, bob.user()).await.unwrap());
    assert!(!s.has_knocked(&team, bob.user()).await.unwrap());
    let told = s.inbox(&alice, 0).await.unwrap();
    assert_eq!(told.len(), 1, "only carol's is left: {told:?}");
    assert_eq!(told[0].body, carol.user().as_str().as_bytes());
    assert!(s.has_knocked(&team, carol.user()).await.unwrap());
    assert!(
        !s.withdraw_knock(&team, bob.user()).await.unwrap(),
        "nothing left to withdraw"
    );
    // Knocking again is a new knock: the moderators are told again.
    assert!(s.knock(&team, bob.user(), &moderators).await.unwrap());
    assert_eq!(s.inbox(&alice, 0).await.unwrap().len(), 2);
}

pub async fn a_change_that_places_a_knocker_answers_its_knock(db: &Db) {
    let s = &db.store;
    let (alice, bob, carol, team) = two_knocks(db).await;
    // A change that bans bob (no client added): his knock and its notice go with it.
    let mut ban = commit("team", 1, 1, &alice);
    ban.answered_knocks = vec![bob.user().clone()];
    s.update_room(&ban).await.unwrap();
    assert!(!s.has_knocked(&team, bob.user()).await.unwrap());
    assert!(s.has_knocked(&team, carol.user()).await.unwrap());
    let told = s.inbox(&alice, 0).await.unwrap();
    assert_eq!(told.len(), 1, "only carol's is left: {told:?}");
    assert_eq!(told[0].body, carol.user().as_str().as_bytes());
}

pub async fn allowance_claims_count_until_used(db: &Db) {
    let s = &db.store;
    let (alice, bob) = (user("alice"), user("bob"));
    s.create_user(&bob, "hash").await.unwrap();
    let (team, club) = (room_id("team"), room_id("club"));
    assert!(matches!(
        s.record_allowance_claim(&alice, &user("nobody"), None, 2)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 0);
    assert!(
        s.record_allowance_claim(&alice, &bob, Some(&team), 2)
            .await
            .unwrap()
    );
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 1);
    assert_eq!(
        s.allowance_claims(&alice, &bob, Some(&team)).await.unwrap(),
        1
    );
    assert_eq!(
        s.allowance_claims(&alice, &bob, Some(&club)).await.unwrap(),
        0,
        "claimed for another room"
    );
    assert!(
        s.record_allowance_claim(&alice, &bob, None, 2)
            .await
            .unwrap()
    );
    assert_eq!(
        s.allowance_claims(&alice, &bob, Some(&club)).await.unwrap(),
        1
    );
    assert!(
        !s.record_allowance_claim(&alice, &bob, Some(&club), 2)
            .await
            .unwrap(),
        "the allowance is used up"
    );
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 2);
    assert_eq!(s.allowance_claims(&bob, &alice, None).await.unwrap(), 0);
    // An add to club uses the any-room claim; team's stays.
    s.use_allowance_claims(&alice, &bob, &club).await.unwrap();
    assert_eq!(
        s.allowance_claims(&alice, &bob, Some(&team)).await.unwrap(),
        1
    );
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 1);
    s.use_allowance_claims(&alice, &bob, &team).await.unwrap();
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 0);
}

pub async fn expired_allowance_claims_are_purged_by_the_next_claim(db: &Db) {
    use sqlx::Connection as _;
    let s = &db.store;
    let (alice, bob) = (user("alice"), user("bob"));
    s.create_user(&bob, "hash").await.unwrap();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let rows = "SELECT COUNT(*) FROM allowance_claims WHERE requester_id = $1";
    // Two days old: it counts for nothing, and nothing else would ever delete it.
    sqlx::query(
        "INSERT INTO allowance_claims (requester_id, target_id, room_id, created_at) \
         VALUES ($1, $2, '', $3)",
    )
    .bind(alice.as_str())
    .bind(bob.as_str())
    .bind(1_i64)
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 0);
    assert!(
        s.record_allowance_claim(&alice, &bob, None, 1)
            .await
            .unwrap()
    );
    let left: i64 = sqlx::query_scalar(rows)
        .bind(alice.as_str())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 1, "only the new claim");
    conn.close().await.unwrap();
}

pub async fn the_directory_lists_only_discoverable_rooms(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    s.create_room(&new_room("public", vec![alice.clone()], true))
        .await
        .unwrap();
    s.create_room(&new_room("hidden", vec![alice.clone()], false))
        .await
        .unwrap();
    let listed: Vec<RoomId> = s
        .directory()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(listed, vec![room_id("public")]);
    // A commit that hides the room takes it out of the directory.
    let mut hide = commit("public", 1, 1, &alice);
    hide.discoverable = false;
    s.update_room(&hide).await.unwrap();
    assert!(s.directory().await.unwrap().is_empty());
}

pub async fn everything_survives_reopening_the_database(db: &Db) {
    let alice = client("alice", "phone");
    with_devices(db, &[&alice]).await;
    db.store
        .create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    db.store
        .update_room(&commit("team", 1, 1, &alice))
        .await
        .unwrap();
    db.store
        .append_messages(
            &room_id("team"),
            1,
            &[entry(EntryKind::Message, &alice, "kept")],
        )
        .await
        .unwrap();
    db.store.close().await;
    let s = db.reopen().await;
    assert_eq!(
        s.devices(&user("alice")).await.unwrap(),
        vec![alice.clone()]
    );
    let r = s.load_room(&room_id("team")).await.unwrap().unwrap();
    assert_eq!((r.version, r.epoch, r.last_seq), (2, 1, 2));
    assert_eq!(s.pending(&alice, 10).await.unwrap().len(), 2);
    s.close().await;
}
