//! Stage, then merge: a staged handshake says what it would do and changes nothing until it
//! is merged, and it merges only into the state it was checked against.

use mimi_mls::hub::Accepted;
use mimi_policy::operation::Action;

use crate::flow::{World, key_package};
use crate::support::{client, user};

#[test]
fn a_staged_commit_changes_nothing_until_it_is_merged() {
    let mut w = World::new("administrated");
    let bob = client("mimi://example.com/d/bob/phone");
    let (c, g) = w.member(0);
    let out = g.add(c, vec![key_package(&bob)]).unwrap();
    let before = w.hosted.snapshot().unwrap();
    let staged = w
        .hosted
        .stage(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
    // What it would do.
    assert_eq!(staged.accepted(), &Accepted::Commit { epoch: 1 });
    assert_eq!(staged.epoch(), 1);
    assert_eq!(staged.added(), [bob.id().clone()]);
    assert!(staged.removed().is_empty());
    assert_eq!(staged.newcomers(), [user("bob@example.com")]);
    assert!(staged.room().has_client(bob.id().user(), bob.id().name()));
    // The room is as it was.
    assert_eq!(w.hosted.epoch(), 0);
    assert_eq!(w.hosted.snapshot().unwrap(), before);
    assert!(
        !w.hosted
            .policy()
            .has_client(bob.id().user(), bob.id().name())
    );
    // Dropped: still as it was, and the same commit stages again.
    drop(staged);
    let staged = w
        .hosted
        .stage(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
    w.hosted.merge(staged).unwrap();
    assert_eq!(w.hosted.epoch(), 1);
    assert!(
        w.hosted
            .policy()
            .has_client(bob.id().user(), bob.id().name())
    );
}

#[test]
fn a_staged_commit_names_the_operations_it_decided() {
    let mut w = World::new("administrated");
    let bob = client("mimi://example.com/d/bob/phone");
    let (c, g) = w.member(0);
    let out = g.add(c, vec![key_package(&bob)]).unwrap();
    let staged = w
        .hosted
        .stage(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
    let alice = user("alice@example.com");
    let added = staged.operations().iter().find_map(|op| match &op.action {
        Action::AddClient { target, .. } => Some((op.actor.id().clone(), target.clone())),
        _ => None,
    });
    let (actor, target) = added.expect("the commit's Add is a decided AddClient");
    assert_eq!(actor, alice);
    assert_eq!(&target.user, bob.id().user());
    assert_eq!(target.client.as_deref(), Some(bob.id().name()));
    // A standalone proposal names its own operation.
    drop(staged);
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let (c, g) = w.member(bob);
    let proposal = g.self_remove(c).unwrap();
    let staged = w.hosted.stage(&w.hub, &proposal, None).unwrap();
    assert!(
        staged
            .operations()
            .iter()
            .any(|op| matches!(op.action, Action::SelfRemove))
    );
}

#[test]
fn a_room_restored_from_an_older_snapshot_replays_its_log_to_the_same_state() {
    let mut w = World::new("administrated");
    let old = w.hosted.snapshot().unwrap();
    let mut log: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
    // A commit adding bob, then bob's SelfRemove proposal.
    let bob = client("mimi://example.com/d/bob/phone");
    let (c, g) = w.member(0);
    let out = g.add(c, vec![key_package(&bob)]).unwrap();
    w.submit(0, &out).unwrap();
    log.push((out.commit.clone(), Some(out.group_info.clone())));
    let joined = bob
        .join(
            out.welcome.as_ref().unwrap(),
            &w.hosted.ratchet_tree().unwrap(),
        )
        .unwrap();
    w.members.push((bob, joined));
    let (c, g) = w.member(1);
    let proposal = g.self_remove(c).unwrap();
    w.hosted.process(&w.hub, &proposal, None).unwrap();
    log.push((proposal.clone(), None));

    let mut restored = w.hub.restore_room(&old).unwrap();
    assert_eq!(restored.epoch(), 0);
    for (message, group_info) in &log {
        restored
            .replay(&w.hub, message, group_info.as_deref())
            .unwrap();
    }
    assert_eq!(restored.epoch(), w.hosted.epoch());
    assert_eq!(
        restored.ratchet_tree().unwrap(),
        w.hosted.ratchet_tree().unwrap()
    );
    assert_eq!(restored.policy(), w.hosted.policy());
    assert_eq!(
        restored.group_info(&w.hub).unwrap(),
        w.hosted.group_info(&w.hub).unwrap()
    );
    // The replayed proposal is stored: alice's commit of it is accepted by both.
    let (c, g) = w.member(0);
    g.process(c, &proposal).unwrap();
    let out = g.commit_pending(c).unwrap();
    let staged = restored
        .stage(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
    assert_eq!(
        staged.removed(),
        [client("mimi://example.com/d/bob/phone").id().clone()]
    );
    w.hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
}

#[test]
fn a_replay_checks_the_message_as_mls_does() {
    let mut w = World::new("administrated");
    let old = w.hosted.snapshot().unwrap();
    let bob = client("mimi://example.com/d/bob/phone");
    let (c, g) = w.member(0);
    let out = g.add(c, vec![key_package(&bob)]).unwrap();
    let mut restored = w.hub.restore_room(&old).unwrap();
    // A commit without its GroupInfo, or a tampered one, is not replayed.
    assert!(restored.replay(&w.hub, &out.commit, None).is_err());
    // A byte of the committer's signature (the hub has no membership key, so it cannot
    // check the membership tag that ends the message).
    let mut tampered = out.commit.clone();
    let in_signature = tampered.len() - 80;
    tampered[in_signature] ^= 1;
    assert!(
        restored
            .replay(&w.hub, &tampered, Some(&out.group_info))
            .is_err()
    );
    assert_eq!(restored.epoch(), 0);
}

#[test]
fn a_refused_commit_stages_nothing() {
    let mut w = World::new("administrated");
    let (c, g) = w.member(0);
    let out = g
        .add(
            c,
            vec![key_package(&client("mimi://example.com/d/bob/phone"))],
        )
        .unwrap();
    let before = w.hosted.snapshot().unwrap();
    assert!(w.hosted.stage(&w.hub, &out.commit, None).is_err());
    assert_eq!(w.hosted.snapshot().unwrap(), before);
}

#[test]
fn a_staged_change_merges_only_into_the_state_it_was_staged_on() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let (c, g) = w.member(bob);
    let proposal = g.self_remove(c).unwrap();
    let first = w.hosted.stage(&w.hub, &proposal, None).unwrap();
    let second = w.hosted.stage(&w.hub, &proposal, None).unwrap();
    w.hosted.merge(first).unwrap();
    let after_first = w.hosted.snapshot().unwrap();
    assert_eq!(w.hosted.merge(second).err().unwrap().code(), "stale-stage");
    assert_eq!(w.hosted.snapshot().unwrap(), after_first);
}
