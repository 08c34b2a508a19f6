//! The sender of an application message is bound in its authenticated data: the hub takes a
//! message only from the client it names, and members read it only when the client that
//! encrypted it is the one it names.

use mimi_mls::MlsError;
use mimi_mls::member::Incoming;
use mimi_mls::sender::sender_aad;

use crate::flow::World;

/// `i`'s message, encrypted by openmls directly with `aad` as its authenticated data.
fn raw_message(w: &mut World, i: usize, aad: Vec<u8>) -> Vec<u8> {
    let (c, g) = w.member(i);
    g.mls_mut().set_aad(aad);
    g.mls_mut()
        .create_message(c.provider(), c.signer(), b"who am I")
        .unwrap()
        .to_bytes()
        .unwrap()
}

#[test]
fn the_hub_refuses_a_message_re_posted_by_another_member() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let (c, g) = w.member(0);
    let alice = c.id().clone();
    let message = g.encrypt(c, b"hello").unwrap();
    let bob_id = w.members[bob].0.id().clone();
    let err = w
        .hosted
        .check_message(&w.hub, &bob_id, &message)
        .err()
        .unwrap();
    assert!(matches!(err, MlsError::Credential(_)), "{err}");
    w.hosted.check_message(&w.hub, &alice, &message).unwrap();
}

#[test]
fn a_message_naming_another_sender_is_refused_by_the_hub_and_by_members() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let carol = w.add(0, "mimi://example.com/d/carol/phone").unwrap();
    let alice_leaf = w.members[0].1.mls().own_leaf_index().u32();
    let forged = raw_message(&mut w, bob, sender_aad(alice_leaf).unwrap());
    let bob_id = w.members[bob].0.id().clone();
    // Submitted by bob, it names alice: the hub refuses it.
    let err = w
        .hosted
        .check_message(&w.hub, &bob_id, &forged)
        .err()
        .unwrap();
    assert!(matches!(err, MlsError::Credential(_)), "{err}");
    // Submitted as alice's (a hub that did not check), carol refuses it too.
    let (c, g) = w.member(carol);
    let err = g.process(c, &forged).err().unwrap();
    assert!(matches!(err, MlsError::Credential(_)), "{err}");
    // bob's own message names bob, and carol reads it.
    let (c, g) = w.member(bob);
    let honest = g.encrypt(c, b"hi").unwrap();
    w.hosted.check_message(&w.hub, &bob_id, &honest).unwrap();
    let (c, g) = w.member(carol);
    assert!(matches!(
        g.process(c, &honest).unwrap(),
        Incoming::Message { .. }
    ));
}

#[test]
fn a_message_that_names_no_sender_is_refused_by_the_hub_and_by_members() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let unnamed = raw_message(&mut w, 0, Vec::new());
    let alice = w.members[0].0.id().clone();
    let err = w
        .hosted
        .check_message(&w.hub, &alice, &unnamed)
        .err()
        .unwrap();
    assert_eq!(err.code(), "malformed-mls");
    let (c, g) = w.member(bob);
    assert_eq!(
        g.process(c, &unnamed).err().unwrap().code(),
        "malformed-mls"
    );
}
