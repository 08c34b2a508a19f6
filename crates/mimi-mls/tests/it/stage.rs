//! Stage, then merge: a staged handshake says what it would do and changes nothing until it
//! is merged, and it merges only into the state it was checked against.

use mimi_mls::hub::Accepted;

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
    let written = staged.snapshot().unwrap();
    w.hosted.merge(staged).unwrap();
    assert_eq!(w.hosted.epoch(), 1);
    assert_eq!(w.hosted.snapshot().unwrap(), written);
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
