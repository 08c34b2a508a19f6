//! Leaving, banning, policy updates and moderated messages through the hub.

use mimi_mls::hub::Accepted;
use mimi_policy::document::SeedDocument;
use mimi_policy::seed::seed_role;

use crate::flow::World;
use crate::support::{client, user};

#[test]
fn seed_leave_self_remove_is_stored_then_committed_by_another_member() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let (c, g) = w.member(bob);
    let proposal = g.self_remove(c).unwrap();
    assert_eq!(
        w.hosted.process(&w.hub, &proposal, None).unwrap(),
        Accepted::Proposal
    );
    let (c, g) = w.member(0);
    g.process(c, &proposal).unwrap();
    let out = g.commit_pending(c).unwrap();
    w.submit(0, &out).unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.client_count_of(&user("bob@example.com")), 0);
    assert!(!w.members[bob].1.mls().is_active());
}

#[test]
fn seed_leave_a_visitor_leaves_the_participant_list_with_its_last_client() {
    let mut w = World::new("open");
    let erin = w.add(0, "mimi://example.org/d/erin/laptop").unwrap();
    assert_eq!(
        w.hosted.room().unwrap().role_of(&user("erin@example.org")),
        seed_role::PARTICIPANT
    );
    let (c, g) = w.member(erin);
    let proposal = g.self_remove(c).unwrap();
    w.hosted.process(&w.hub, &proposal, None).unwrap();
    let (c, g) = w.member(0);
    g.process(c, &proposal).unwrap();
    let out = g.commit_pending(c).unwrap();
    w.submit(0, &out).unwrap();
    assert_eq!(
        w.hosted.room().unwrap().role_of(&user("erin@example.org")),
        0
    );
}

#[test]
fn muc_ban_removes_the_users_clients_and_refuses_their_messages() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let (c, g) = w.member(bob);
    let before_ban = g.encrypt(c, b"still here").unwrap();
    let (c, g) = w.member(0);
    let out = g.ban(c, &user("bob@example.com")).unwrap();
    w.submit(0, &out).unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.role_of(&user("bob@example.com")), seed_role::BANNED);
    assert_eq!(room.client_count_of(&user("bob@example.com")), 0);
    let bob_client = w.members[bob].0.id().clone();
    let err = w
        .hosted
        .check_message(&w.hub, &bob_client, &before_ban)
        .err()
        .unwrap();
    // Old epoch, and banned anyway.
    assert!(matches!(err.code(), "wrong-epoch" | "banned"), "{err}");
    // Adding the banned user back is refused.
    let again = client("mimi://example.com/d/bob/tablet");
    let (c, g) = w.member(0);
    let kp = crate::flow::key_package(&again);
    assert_eq!(g.add(c, vec![kp]).err().unwrap().code(), "banned");
}

#[test]
fn seed_policy_update_by_owner_is_accepted_by_member_refused() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let current = w.hosted.room().unwrap();
    let seed = current.seed().unwrap();
    let mut doc = SeedDocument::from_room(&current, seed);
    doc.policy.discoverable = false;
    let proposed = doc.into_room().unwrap();
    // bob (member) may not; his own client refuses to build it.
    let (c, g) = w.member(bob);
    assert_eq!(
        g.update_policy(c, &proposed).err().unwrap().code(),
        "not-allowed"
    );
    // alice (owner) may: the hub and bob accept it, and the policy changed everywhere.
    let (c, g) = w.member(0);
    let out = g.update_policy(c, &proposed).unwrap();
    w.submit(0, &out).unwrap();
    let room = w.hosted.room().unwrap();
    assert!(!room.components().base.discoverable.0);
    assert_eq!(w.members[bob].1.room().unwrap(), room);
}

#[test]
fn seed_send_moderated_room_hub_refuses_a_visitors_message() {
    let mut w = World::new("moderated");
    let dave = w.add(0, "mimi://example.org/d/dave/laptop").unwrap();
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    assert_eq!(
        w.hosted.room().unwrap().role_of(&user("dave@example.org")),
        seed_role::VISITOR
    );
    let (c, g) = w.member(dave);
    let sender = c.id().clone();
    let visitor_says = g.encrypt(c, b"hi").unwrap();
    let err = w
        .hosted
        .check_message(&w.hub, &sender, &visitor_says)
        .err()
        .unwrap();
    assert_eq!(err.code(), "no-voice");
    let (c, g) = w.member(bob);
    let sender = c.id().clone();
    let member_says = g.encrypt(c, b"hi").unwrap();
    w.hosted
        .check_message(&w.hub, &sender, &member_says)
        .unwrap();
}

#[test]
fn seed_remove_3_hub_issues_a_remove_proposal_a_member_commits_it() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    w.add(0, "mimi://example.com/d/bob/laptop").unwrap();
    let laptop = mimi_policy::id::ClientId::parse("mimi://example.com/d/bob/laptop").unwrap();
    // The provider removes bob's deleted laptop as the room's external sender.
    let proposal = w.hosted.propose_remove(&w.hub, &laptop).unwrap();
    for (c, g) in w.members.iter_mut() {
        assert_eq!(
            g.process(c, &proposal).unwrap(),
            mimi_mls::member::Incoming::Proposal
        );
    }
    let (c, g) = w.member(bob);
    let out = g.commit_pending(c).unwrap();
    let laptop_index = w.members.len() - 1;
    w.hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
    for (i, (c, g)) in w.members.iter_mut().enumerate() {
        if i == bob {
            g.confirm(c).unwrap();
        } else {
            g.process(c, &out.commit).unwrap();
        }
    }
    assert_eq!(
        w.hosted
            .room()
            .unwrap()
            .client_count_of(&user("bob@example.com")),
        1
    );
    assert!(!w.members[laptop_index].1.mls().is_active());
}

#[test]
fn a_member_commit_that_leaves_out_the_hubs_remove_is_refused() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    w.add(0, "mimi://example.com/d/bob/laptop").unwrap();
    let laptop = mimi_policy::id::ClientId::parse("mimi://example.com/d/bob/laptop").unwrap();
    let proposal = w.hosted.propose_remove(&w.hub, &laptop).unwrap();
    // bob commits before receiving the hub's proposal: his commit keeps the laptop.
    let epoch = w.hosted.epoch();
    let around = {
        let (c, g) = w.member(bob);
        g.commit_pending(c).unwrap()
    };
    let err = w
        .hosted
        .process(&w.hub, &around.commit, Some(&around.group_info))
        .err()
        .unwrap();
    assert_eq!(err.code(), "missing-proposals", "{err}");
    assert_eq!(w.hosted.epoch(), epoch, "nothing merged");
    // Once he has it, his commit carries it and goes through.
    let out = {
        let (c, g) = w.member(bob);
        g.discard(c).unwrap();
        g.process(c, &proposal).unwrap();
        g.commit_pending(c).unwrap()
    };
    w.hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
    assert_eq!(w.hosted.epoch(), epoch + 1);
}

#[test]
fn seed_fixed_remove_2_hub_removes_any_client_but_a_users_last() {
    use mimi_policy::fixed_room::fixed_room_id;
    let mut w = World::with_room("one-on-one", |doc| {
        let occupants = [user("alice@example.com"), user("bob@example.com")];
        doc.id = Some(fixed_room_id("example.com", &occupants).unwrap());
    });
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    w.add(0, "mimi://example.com/d/alice/laptop").unwrap();
    let bob_phone = mimi_policy::id::ClientId::parse("mimi://example.com/d/bob/phone").unwrap();
    let err = w.hosted.propose_remove(&w.hub, &bob_phone).err().unwrap();
    assert_eq!(err.code(), "last-client");
    let laptop = mimi_policy::id::ClientId::parse("mimi://example.com/d/alice/laptop").unwrap();
    assert!(w.hosted.propose_remove(&w.hub, &laptop).is_ok());
}

#[test]
fn seed_policy_update_forged_by_a_member_is_refused_by_hub_and_members() {
    use mimi_policy::component::{PolicyComponent, ids};
    use openmls::prelude::{AppDataUpdateProposal, Proposal};

    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let current = w.hosted.room().unwrap();
    let mut base = current.components().base.clone();
    base.discoverable.0 = !base.discoverable.0;
    let bytes = base.to_component_bytes().unwrap();
    let update = Proposal::AppDataUpdate(Box::new(AppDataUpdateProposal::update(
        ids::BASE_ROOM_POLICY,
        bytes.clone(),
    )));
    let (commit, gi) = crate::flow::forge(
        &mut w,
        bob,
        vec![update],
        vec![(ids::BASE_ROOM_POLICY, bytes)],
    );
    let err = w.hosted.process(&w.hub, &commit, Some(&gi)).err().unwrap();
    assert_eq!(err.code(), "not-allowed", "{err}");
    assert_eq!(w.hosted.room().unwrap(), current);
    let (c, g) = w.member(0);
    assert_eq!(g.process(c, &commit).err().unwrap().code(), "not-allowed");
}

#[test]
fn hub_refuses_a_commit_submitted_by_another_client_than_its_sender() {
    let mut w = World::new("administrated");
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let zed = client("mimi://example.org/d/zed/laptop");
    let (c, g) = w.member(0);
    let out = g.add(c, vec![crate::flow::key_package(&zed)]).unwrap();
    let alice = w.members[0].0.id().clone();
    let bob = w.members[1].0.id().clone();
    let err = w
        .hosted
        .process_as(&w.hub, &bob, &out.commit, Some(&out.group_info))
        .err()
        .unwrap();
    assert_eq!(err.code(), "bad-credential");
    assert_eq!(w.epoch(), 1);
    w.hosted
        .process_as(&w.hub, &alice, &out.commit, Some(&out.group_info))
        .unwrap();
    assert_eq!(w.epoch(), 2);
}
