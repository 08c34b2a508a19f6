//! The GroupInfo the hub serves to joiners: checked on the commit path, its signature verified
//! before it is first served, replaceable by a member.

use crate::flow::{World, key_package};
use crate::support::client;

#[test]
fn hub_does_not_serve_a_committers_group_info_with_a_bad_signature() {
    let mut w = World::new("administrated");
    let zed = client("mimi://example.org/d/zed/laptop");
    let (c, g) = w.member(0);
    let mut out = g.add(c, vec![key_package(&zed)]).unwrap();
    // The signature is the last field of the GroupInfo: flip its last byte.
    let n = out.group_info.len();
    out.group_info[n - 1] ^= 0x01;
    // The commit itself is valid MLS and allowed: it is merged.
    w.submit(0, &out).unwrap();
    assert_eq!(w.epoch(), 1);
    // Its GroupInfo is not served, now or later.
    let err = w.hosted.group_info(&w.hub).err().unwrap();
    assert_eq!(err.code(), "bad-group-info");
    assert!(w.hosted.group_info(&w.hub).is_err());
}

#[test]
fn a_member_publishes_a_group_info_for_the_current_epoch() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let zed = client("mimi://example.org/d/zed/laptop");
    let (c, g) = w.member(0);
    let mut out = g.add(c, vec![key_package(&zed)]).unwrap();
    let n = out.group_info.len();
    out.group_info[n - 1] ^= 0x01;
    w.submit(0, &out).unwrap();
    assert!(w.hosted.group_info(&w.hub).is_err());

    let (c, g) = w.member(bob);
    let fresh = c.group_info(g).unwrap();
    let bob_id = c.id().clone();
    // Published under another client's name, the signature does not match: refused.
    let alice_id = w.members[0].0.id().clone();
    let err = w
        .hosted
        .publish_group_info(&w.hub, &alice_id, &fresh)
        .err()
        .unwrap();
    assert_eq!(err.code(), "bad-group-info");
    // A client outside the group cannot publish.
    let err = w
        .hosted
        .publish_group_info(&w.hub, zed.id(), &fresh)
        .err()
        .unwrap();
    assert_eq!(err.code(), "bad-group-info");
    assert!(w.hosted.group_info(&w.hub).is_err());
    // Bob's own is accepted and served.
    w.hosted
        .publish_group_info(&w.hub, &bob_id, &fresh)
        .unwrap();
    assert_eq!(w.hosted.group_info(&w.hub).unwrap(), fresh.as_slice());
}

#[test]
fn a_group_info_of_an_older_epoch_cannot_be_published() {
    let mut w = World::new("administrated");
    let (c, g) = w.member(0);
    let old = c.group_info(g).unwrap();
    let alice_id = c.id().clone();
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let err = w
        .hosted
        .publish_group_info(&w.hub, &alice_id, &old)
        .err()
        .unwrap();
    assert_eq!(err.code(), "bad-group-info");
    // The committer's GroupInfo of the current epoch is still what is served.
    assert!(w.hosted.group_info(&w.hub).is_ok());
}
