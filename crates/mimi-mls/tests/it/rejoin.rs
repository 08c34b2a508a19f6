//! A member that cannot process a commit the hub accepted rejoins by external commit in its
//! own place (RFC 9420 §12.4.3.2). The hub has no epoch secrets, so it cannot check a
//! commit's membership tag: a committer can hand members garbage the hub takes.

use mimi_mls::MlsError;
use mimi_mls::member::Incoming;
use mimi_policy::seed::seed_role;

use crate::flow::{World, key_package};
use crate::support::{client, user};

/// alice adds dave with a commit whose membership tag (its last byte) is garbage: the hub
/// takes it, the other members cannot process it. Returns dave's index.
fn forged_add(w: &mut World) -> usize {
    let dave = client("mimi://example.com/d/dave/phone");
    let kp = key_package(&dave);
    let (c, g) = w.member(0);
    let mut out = g.add(c, vec![kp]).unwrap();
    let last = out.commit.len() - 1;
    out.commit[last] ^= 0x55;
    w.hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
    let (c, g) = w.member(0);
    g.confirm(c).unwrap();
    for i in 1..w.members.len() {
        let (c, g) = w.member(i);
        assert!(g.process(c, &out.commit).is_err(), "member {i} read it");
    }
    let group = dave
        .join(
            out.welcome.as_ref().unwrap(),
            &w.hosted.ratchet_tree().unwrap(),
        )
        .unwrap();
    w.members.push((dave, group));
    w.members.len() - 1
}

/// Member `i` rejoins from the hub's current GroupInfo; the members in `followers` process
/// its commit.
fn rejoin(w: &mut World, i: usize, followers: &[usize]) -> Result<(), MlsError> {
    let gi = w.hosted.group_info(&w.hub)?.to_vec();
    let tree = w.hosted.ratchet_tree()?;
    let (group, out) = w.members[i].0.rejoin(&gi, &tree)?;
    w.hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))?;
    w.members[i].1 = group;
    let (c, g) = w.member(i);
    g.confirm(c)?;
    for &f in followers {
        let (c, g) = w.member(f);
        assert!(matches!(
            g.process(c, &out.commit)?,
            Incoming::Commit { .. }
        ));
    }
    Ok(())
}

fn reads(w: &mut World, from: usize, to: usize) -> bool {
    let (c, g) = w.member(from);
    let message = g.encrypt(c, b"still here?").unwrap();
    let (c, g) = w.member(to);
    matches!(g.process(c, &message), Ok(Incoming::Message { .. }))
}

#[test]
fn a_member_cut_off_by_a_forged_commit_rejoins_in_its_own_place_and_reads_again() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let carol = w.add(0, "mimi://example.com/d/carol/phone").unwrap();
    let clients_before = w.hosted.client_count().unwrap();
    let dave = forged_add(&mut w);
    assert!(!reads(&mut w, 0, bob));
    // carol, still cut off, cannot follow bob's rejoin; she rejoins after him.
    rejoin(&mut w, bob, &[0, dave]).unwrap();
    rejoin(&mut w, carol, &[0, bob, dave]).unwrap();
    for (from, to) in [(0, bob), (bob, carol), (carol, dave), (dave, 0)] {
        assert!(reads(&mut w, from, to), "{from} -> {to}");
    }
    // In their own places: the same clients, bob still a member.
    assert_eq!(w.hosted.client_count().unwrap(), clients_before + 1);
    let room = w.hosted.room().unwrap();
    assert_eq!(room.role_of(&user("bob@example.com")), seed_role::MEMBER);
    assert_eq!(w.members[bob].1.room().unwrap(), room);
}

#[test]
fn only_a_client_the_group_holds_may_rejoin_and_only_in_its_own_place() {
    let mut w = World::new("administrated");
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let gi = w.hosted.group_info(&w.hub).unwrap().to_vec();
    let tree = w.hosted.ratchet_tree().unwrap();
    // A stranger's client is not in the group: refused by its own client.
    let zed = client("mimi://example.org/d/zed/laptop");
    let err = zed.rejoin(&gi, &tree).err().unwrap();
    assert_eq!(err.code(), "not-found");
    // Its external commit, built anyway, is a join the room does not allow.
    let (_, out) = zed
        .external_commit_unchecked(&gi, &tree, Vec::new(), None)
        .unwrap();
    let epoch = w.epoch();
    assert!(
        w.hosted
            .process(&w.hub, &out.commit, Some(&out.group_info))
            .is_err()
    );
    assert_eq!(w.epoch(), epoch);
}

#[test]
fn the_hub_refuses_a_commit_whose_group_info_carries_another_confirmation_tag() {
    let mut w = World::new("administrated");
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let dave = client("mimi://example.com/d/dave/phone");
    let kp = key_package(&dave);
    let (c, g) = w.member(0);
    let mut out = g.add(c, vec![kp]).unwrap();
    // The commit ends with its confirmation tag and its membership tag, 32 bytes each with
    // a length byte: garble the confirmation tag, which the signature does not cover.
    let at = out.commit.len() - 40;
    out.commit[at] ^= 0x55;
    let epoch = w.epoch();
    let err = w
        .hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .err()
        .unwrap();
    assert_eq!(err.code(), "bad-group-info", "{err}");
    assert_eq!(w.epoch(), epoch);
    // The honest commit passes.
    out.commit[at] ^= 0x55;
    w.hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
}
