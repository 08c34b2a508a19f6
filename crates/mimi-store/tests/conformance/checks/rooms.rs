//! Rooms: creation, compare-and-swap updates, the directory, reopening.

use super::*;

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

pub async fn a_vacant_room_keeps_its_name_and_policy_until_one_starts_it_again(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    s.create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    s.update_room(&commit("team", 1, 1, &alice)).await.unwrap();
    // Computed from an old version: refused, nothing written.
    let late = s
        .vacate_room(&room_id("team"), 1, b"policy", "{\"nobody\":1}")
        .await;
    assert!(matches!(late, Err(StoreError::Stale { .. })), "{late:?}");
    assert_eq!(s.vacant_room(&room_id("team")).await.unwrap(), None);

    s.vacate_room(&room_id("team"), 2, b"policy", "{\"nobody\":1}")
        .await
        .unwrap();
    assert_eq!(
        s.vacant_room(&room_id("team")).await.unwrap().as_deref(),
        Some(&b"policy"[..])
    );
    // No message of the old group lands in it.
    let late = s
        .append_messages(
            &room_id("team"),
            1,
            &[entry(EntryKind::Message, &alice, "hi")],
        )
        .await;
    assert!(late.is_err(), "{late:?}");
    // Nobody loads it, nobody is in it, its log is gone; its name stays taken.
    assert_eq!(s.load_room(&room_id("team")).await.unwrap(), None);
    assert_eq!(s.room_version(&room_id("team")).await.unwrap(), None);
    assert!(s.memberships(&alice).await.unwrap().is_empty());
    assert!(
        s.read_log(&room_id("team"), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let taken = s.create_room(&new_room("team", vec![], true)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let listed = s.directory().await.unwrap();
    assert_eq!(listed.len(), 1, "still listed");
    assert_eq!(listed[0].document, "{\"nobody\":1}", "with nobody in it");
    // Vacant already: not again.
    assert!(
        s.vacate_room(&room_id("team"), 3, b"policy", "{}")
            .await
            .is_err()
    );

    // The first one back: a fresh room in its place, once, and only on the policy kept.
    let bob = client("bob", "laptop");
    let mut back = new_room("team", vec![bob.clone()], true);
    back.snapshot = b"state again".to_vec();
    let stale = s.refound_room(&back, b"an older policy").await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    s.refound_room(&back, b"policy").await.unwrap();
    let r = s.load_room(&room_id("team")).await.unwrap().unwrap();
    // At a version no copy of the old group had.
    assert_eq!((r.version, r.last_seq), (4, 0));
    assert_eq!(r.snapshot, b"state again");
    assert_eq!(s.vacant_room(&room_id("team")).await.unwrap(), None);
    assert_eq!(s.memberships(&bob).await.unwrap().len(), 1);
    let second = s.refound_room(&back, b"policy").await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{second:?}");
    let never = s
        .refound_room(&new_room("other", vec![], true), b"policy")
        .await;
    assert!(matches!(never, Err(StoreError::Conflict(_))), "{never:?}");
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

pub async fn a_room_is_its_snapshot_and_the_handshakes_logged_since(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    with_devices(db, &[&alice]).await;
    s.create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    let team = room_id("team");
    // Two handshakes and a message, no snapshot saved: the room is the creation snapshot
    // with both handshakes to replay, in order, each with its GroupInfo.
    s.update_room(&commit("team", 1, 1, &alice)).await.unwrap();
    s.append_messages(&team, 1, &[entry(EntryKind::Message, &alice, "hi")])
        .await
        .unwrap();
    let mut proposal = commit("team", 2, 1, &alice);
    proposal.entry = entry(EntryKind::Proposal, &alice, "self-remove");
    proposal.group_info = None;
    s.update_room(&proposal).await.unwrap();
    let r = s.load_room(&team).await.unwrap().unwrap();
    assert_eq!(
        (r.snapshot.as_slice(), r.snapshot_seq),
        (&b"state 0"[..], 0)
    );
    let replay: Vec<String> = r
        .unsettled
        .iter()
        .map(|h| {
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let info = h.group_info.as_deref().map(text);
            format!("{} {} {info:?}", h.seq, text(&h.body))
        })
        .collect();
    assert_eq!(
        replay,
        ["1 commit to 1 Some(\"group info 1\")", "3 self-remove None"]
    );
    assert!(s.rooms_behind(10).await.unwrap().contains(&team));
    // A snapshot after the commit leaves the proposal to replay.
    s.save_snapshot(&snapshot("team", 1, &[])).await.unwrap();
    let r = s.load_room(&team).await.unwrap().unwrap();
    assert_eq!(
        (r.snapshot.as_slice(), r.snapshot_seq),
        (&b"state 1"[..], 1)
    );
    assert_eq!(r.unsettled.len(), 1);
    assert_eq!(r.unsettled[0].seq, 3);
    // An older snapshot never replaces a newer one.
    s.save_snapshot(&snapshot("team", 3, &[])).await.unwrap();
    s.save_snapshot(&snapshot("team", 1, &[])).await.unwrap();
    let r = s.load_room(&team).await.unwrap().unwrap();
    assert_eq!(
        (r.snapshot.as_slice(), r.snapshot_seq),
        (&b"state 3"[..], 3)
    );
    assert!(r.unsettled.is_empty());
    assert!(!s.rooms_behind(10).await.unwrap().contains(&team));
}

pub async fn a_rooms_attachments_stay_within_its_quota_and_go_with_it(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    s.create_room(&new_room("team", vec![alice.clone()], true))
        .await
        .unwrap();
    assert!(
        s.put_blob(&room_id("team"), "a", &alice, &[1; 60], 100)
            .await
            .unwrap()
    );
    // 60 + 60 would pass 100: refused, nothing kept.
    assert!(
        !s.put_blob(&room_id("team"), "b", &alice, &[2; 60], 100)
            .await
            .unwrap()
    );
    assert_eq!(s.blob(&room_id("team"), "b").await.unwrap(), None);
    assert!(
        s.put_blob(&room_id("team"), "c", &alice, &[3; 40], 100)
            .await
            .unwrap()
    );
    assert_eq!(
        s.blob(&room_id("team"), "a").await.unwrap(),
        Some(vec![1; 60])
    );
    let again = s.put_blob(&room_id("team"), "c", &alice, &[4], 1000).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert!(s.delete_room(&room_id("team")).await.unwrap());
    assert_eq!(s.blob(&room_id("team"), "a").await.unwrap(), None);
}
