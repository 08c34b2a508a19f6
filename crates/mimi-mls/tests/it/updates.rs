//! Update intervals per client, on the hub's clock: an Update too soon after the last one is
//! refused, and a client overdue for one may not send until it updates.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mimi_mls::hub::Accepted;
use mimi_mls::member::Incoming;
use openmls::prelude::LeafNodeParameters;
use openmls_traits::OpenMlsProvider as _;

use crate::flow::World;

/// An administrated room whose hub runs on a clock the test moves.
fn timed(min: i64, max: i64) -> (World, Arc<AtomicU64>) {
    World::timed("administrated", |doc| {
        doc.policy.mls.update_min_interval = min;
        doc.policy.mls.update_max_interval = max;
    })
}

fn update_proposal(w: &mut World, i: usize) -> Vec<u8> {
    let (c, g) = w.member(i);
    let (message, _) = g
        .mls_mut()
        .propose_self_update(c.provider(), c.signer(), LeafNodeParameters::default())
        .unwrap();
    message.to_bytes().unwrap()
}

#[test]
fn seed_mls_update_min_interval_hub_refuses_an_update_too_soon() {
    let (mut w, now) = timed(60, -1);
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    now.store(1_030, Ordering::SeqCst);
    let early = update_proposal(&mut w, bob);
    let err = w.hosted.process(&w.hub, &early, None).err().unwrap();
    assert_eq!(err.code(), "update-too-soon");
    // The member's own proposal store still holds it: drop it and try later.
    let (c, g) = w.member(bob);
    g.mls_mut()
        .clear_pending_proposals(c.provider().storage())
        .unwrap();
    now.store(1_061, Ordering::SeqCst);
    let later = update_proposal(&mut w, bob);
    assert_eq!(
        w.hosted.process(&w.hub, &later, None).unwrap(),
        Accepted::Proposal
    );
    let (c, g) = w.member(0);
    g.process(c, &later).unwrap();
    let out = g.commit_pending(c).unwrap();
    w.submit(0, &out).unwrap();
    // The committed Update restarts bob's interval.
    now.store(1_100, Ordering::SeqCst);
    let again = update_proposal(&mut w, bob);
    let err = w.hosted.process(&w.hub, &again, None).err().unwrap();
    assert_eq!(err.code(), "update-too-soon");
}

#[test]
fn seed_mls_update_max_interval_an_overdue_client_cannot_send_until_it_updates() {
    let (mut w, now) = timed(0, 3_600);
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let bob_id = w.members[bob].0.id().clone();
    now.store(1_000 + 3_600, Ordering::SeqCst);
    let (c, g) = w.member(bob);
    let on_time = g.encrypt(c, b"just in time").unwrap();
    w.hosted.check_message(&w.hub, &bob_id, &on_time).unwrap();
    now.store(1_000 + 3_601, Ordering::SeqCst);
    let err = w
        .hosted
        .check_message(&w.hub, &bob_id, &on_time)
        .err()
        .unwrap();
    assert_eq!(err.code(), "update-overdue");
    // bob commits with a path (an empty commit updates his leaf); then he may send again.
    let (c, g) = w.member(bob);
    let out = g.commit_pending(c).unwrap();
    w.submit(bob, &out).unwrap();
    let (c, g) = w.member(bob);
    let fresh = g.encrypt(c, b"updated").unwrap();
    w.hosted.check_message(&w.hub, &bob_id, &fresh).unwrap();
    let (c, g) = w.member(0);
    assert!(matches!(
        g.process(c, &fresh).unwrap(),
        Incoming::Message { .. }
    ));
}

#[test]
fn seed_mls_update_infinite_min_interval_refuses_every_update() {
    let (mut w, now) = timed(-1, -1);
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    now.store(1_000_000, Ordering::SeqCst);
    let p = update_proposal(&mut w, bob);
    let err = w.hosted.process(&w.hub, &p, None).err().unwrap();
    assert_eq!(err.code(), "update-too-soon");
    // Members refuse it too: it needs no clock.
    let (c, g) = w.member(0);
    assert_eq!(g.process(c, &p).err().unwrap().code(), "update-too-soon");
}
