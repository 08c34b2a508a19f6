//! A hosted room survives a round trip through its snapshot: same epoch, room, GroupInfo and
//! stored proposals, and it goes on accepting (and refusing) commits as before.

use mimi_mls::hub::Accepted;

use crate::flow::World;
use crate::support::user;

#[test]
fn a_restored_room_keeps_its_state_and_stored_proposals() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let (c, g) = w.member(bob);
    let proposal = g.self_remove(c).unwrap();
    assert_eq!(
        w.hosted.process(&w.hub, &proposal, None).unwrap(),
        Accepted::Proposal
    );
    let before_gi = w.hosted.group_info(&w.hub).unwrap().to_vec();
    let snapshot = w.hosted.snapshot().unwrap();
    let mut restored = w.hub.restore_room(&snapshot).unwrap();
    assert_eq!(restored.epoch(), w.hosted.epoch());
    assert_eq!(restored.room().unwrap(), w.hosted.room().unwrap());
    assert_eq!(
        restored.ratchet_tree().unwrap(),
        w.hosted.ratchet_tree().unwrap()
    );
    assert_eq!(restored.group_info(&w.hub).unwrap(), before_gi.as_slice());
    // The same snapshot twice is the same bytes.
    assert_eq!(restored.snapshot().unwrap(), snapshot);
    // The stored SelfRemove is still there: a commit referencing it is accepted.
    w.hosted = restored;
    let (c, g) = w.member(0);
    g.process(c, &proposal).unwrap();
    let out = g.commit_pending(c).unwrap();
    w.submit(0, &out).unwrap();
    assert_eq!(
        w.hosted
            .room()
            .unwrap()
            .client_count_of(&user("bob@example.com")),
        0
    );
}

#[test]
fn a_restored_room_serves_a_pending_group_info_only_after_checking_it() {
    let mut w = World::new("administrated");
    let zed = crate::support::client("mimi://example.org/d/zed/laptop");
    let (c, g) = w.member(0);
    let mut out = g.add(c, vec![crate::flow::key_package(&zed)]).unwrap();
    let n = out.group_info.len();
    out.group_info[n - 1] ^= 0x01;
    w.submit(0, &out).unwrap();
    // Snapshotted before anyone fetched the GroupInfo: its signature is still unchecked.
    let mut restored = w.hub.restore_room(&w.hosted.snapshot().unwrap()).unwrap();
    assert_eq!(
        restored.group_info(&w.hub).err().unwrap().code(),
        "bad-group-info"
    );
}

#[test]
fn a_corrupt_snapshot_is_an_error() {
    let w = World::new("administrated");
    let snapshot = w.hosted.snapshot().unwrap();
    for bad in [&b""[..], b"garbage", &snapshot[..snapshot.len() / 2]] {
        assert_eq!(
            w.hub.restore_room(bad).err().unwrap().code(),
            "malformed-mls"
        );
    }
}

#[test]
fn a_hub_restarted_with_its_key_is_the_same_external_sender() {
    let mut w = World::new("administrated");
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let key = w.hub.key().unwrap();
    let id = mimi_policy::id::ProviderId::parse("example.com").unwrap();
    let again = mimi_mls::hub::Hub::with_key(id.clone(), &key, Box::new(|| 0)).unwrap();
    assert_eq!(again.external_sender(), w.hub.external_sender());
    // Its Remove proposals are accepted as the room's external sender.
    let mut restored = again.restore_room(&w.hosted.snapshot().unwrap()).unwrap();
    let bob = mimi_policy::id::ClientId::parse("mimi://example.com/d/bob/phone").unwrap();
    restored.propose_remove(&again, &bob).unwrap();
    let err = mimi_mls::hub::Hub::with_key(id, b"not a key", Box::new(|| 0))
        .err()
        .unwrap();
    assert_eq!(err.code(), "malformed-mls");
}

#[test]
fn a_saved_client_restores_with_its_groups_and_keys() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let room = w.hosted.room().unwrap().id.unwrap();
    // bob's state goes to disk and back.
    let saved = w.members[bob].0.save().unwrap();
    let restored = mimi_mls::member::Client::restore(&saved).unwrap();
    assert_eq!(restored.id(), w.members[bob].0.id());
    let mut group = restored.group(&room).unwrap().unwrap();
    assert_eq!(group.epoch(), w.members[bob].1.epoch());
    // It reads what alice sends and alice reads what it sends.
    let (c, g) = w.member(0);
    let ct = g.encrypt(c, b"after the restart").unwrap();
    let got = group.process(&restored, &ct).unwrap();
    assert!(matches!(
        got,
        mimi_mls::member::Incoming::Message { ref plaintext, .. } if plaintext == b"after the restart"
    ));
    let reply = group.encrypt(&restored, b"back").unwrap();
    let (c, g) = w.member(0);
    assert!(matches!(
        g.process(c, &reply).unwrap(),
        mimi_mls::member::Incoming::Message { .. }
    ));
    assert!(
        restored
            .group(&mimi_policy::id::RoomId::new("example.com", "other").unwrap())
            .unwrap()
            .is_none()
    );
    assert_eq!(
        mimi_mls::member::Client::restore(b"garbage")
            .err()
            .unwrap()
            .code(),
        "malformed-mls"
    );
}
