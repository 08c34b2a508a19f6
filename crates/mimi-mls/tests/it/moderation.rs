//! Moderation through the hub: a seed room's participant-list changes are decided by the
//! seed's moderation rules (voice, affiliations, XEP-0045 ordering), not only by the role
//! table they compile to.

use mimi_mls::MlsError;
use mimi_policy::Action;
use mimi_policy::operation::Target;
use mimi_policy::participant_list::{IndexRolePair, ParticipantListUpdate};
use mimi_policy::seed::{Affiliation, seed_role};

use crate::flow::World;
use crate::support::user;

fn on(who: &str) -> Target {
    Target {
        user: user(who),
        client: None,
    }
}

#[test]
fn muc_affiliation_only_owners_make_admins_at_the_hub_and_at_every_member() {
    let mut w = World::new("administrated");
    let carol = w.add(0, "mimi://example.com/d/carol/desktop").unwrap();
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    assert_eq!(
        w.hosted.room().unwrap().role_of(&user("carol@example.com")),
        seed_role::ADMIN
    );
    // carol (admin) promoting bob to admin: her own client refuses with the owner rule.
    let promote = Action::SetAffiliation {
        target: on("bob@example.com"),
        affiliation: Affiliation::Admin,
    };
    let (c, g) = w.member(carol);
    let err = g.moderate(c, vec![promote.clone()]).err().unwrap();
    assert_eq!(err.code(), "not-allowed");
    // Forged as a bare role change, the hub and the owner's client decide it by the same
    // affiliation rule, not the role table's answer.
    let update = ParticipantListUpdate {
        changed: vec![IndexRolePair {
            user_index: w.index_of("bob@example.com"),
            role: seed_role::ADMIN,
        }],
        ..Default::default()
    };
    let forged = w.forged_list_update(carol, &update);
    let Err(MlsError::Denied(d)) = w.hosted.process(&w.hub, &forged, None) else {
        panic!("the hub took an admin's promotion to admin");
    };
    assert_eq!(
        (d.code(), d.rule().id),
        ("not-allowed", "MUC-AFFILIATION-2")
    );
    let (c, g) = w.member(0);
    assert_eq!(g.process(c, &forged).err().unwrap().code(), "not-allowed");
    // alice (owner) may, and every member agrees.
    let (c, g) = w.member(0);
    let out = g.moderate(c, vec![promote]).unwrap();
    w.submit(0, &out).unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.role_of(&user("bob@example.com")), seed_role::ADMIN);
    assert_eq!(w.members[bob].1.room().unwrap(), room);
}

#[test]
fn muc_voice_only_moderators_give_a_visitor_voice() {
    let mut w = World::new("moderated");
    let dave = w.add(0, "mimi://example.org/d/dave/laptop").unwrap();
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    w.add(0, "mimi://example.org/d/erin/laptop").unwrap();
    assert_eq!(
        w.hosted.room().unwrap().role_of(&user("dave@example.org")),
        seed_role::VISITOR
    );
    let (c, g) = w.member(0);
    let out = g
        .moderate(
            c,
            vec![Action::GrantVoice {
                target: on("dave@example.org"),
            }],
        )
        .unwrap();
    w.submit(0, &out).unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(
        room.role_of(&user("dave@example.org")),
        seed_role::PARTICIPANT
    );
    assert_eq!(w.members[dave].1.room().unwrap(), room);
    // The same again changes nothing and is not sent.
    let (c, g) = w.member(0);
    let again = g.moderate(
        c,
        vec![Action::GrantVoice {
            target: on("dave@example.org"),
        }],
    );
    assert_eq!(again.err().unwrap().code(), "no-change");
    // A member (bob) giving voice is decided by the voice rule, at the hub and at alice's.
    let update = ParticipantListUpdate {
        changed: vec![IndexRolePair {
            user_index: w.index_of("erin@example.org"),
            role: seed_role::PARTICIPANT,
        }],
        ..Default::default()
    };
    let forged = w.forged_list_update(bob, &update);
    let Err(MlsError::Denied(d)) = w.hosted.process(&w.hub, &forged, None) else {
        panic!("the hub took a member's voice grant");
    };
    assert_eq!((d.code(), d.rule().id), ("not-allowed", "MUC-VOICE"));
    let (c, g) = w.member(0);
    assert_eq!(g.process(c, &forged).err().unwrap().code(), "not-allowed");
}

#[test]
fn seed_remove_ends_the_membership_while_a_kick_keeps_it() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let erin = w.add(0, "mimi://example.com/d/erin/laptop").unwrap();
    // A kick: bob's client goes, his membership stays.
    let (c, g) = w.member(0);
    let out = g.remove_user(c, &user("bob@example.com"), false).unwrap();
    w.submit(0, &out).unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.client_count_of(&user("bob@example.com")), 0);
    assert_eq!(room.role_of(&user("bob@example.com")), seed_role::MEMBER);
    assert!(!w.members[bob].1.mls().is_active());
    // A removal: erin's client and her membership go, in one commit.
    let (c, g) = w.member(0);
    let out = g.remove_user(c, &user("erin@example.com"), true).unwrap();
    w.submit(0, &out).unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.client_count_of(&user("erin@example.com")), 0);
    assert_eq!(room.role_of(&user("erin@example.com")), 0);
    assert!(!w.members[erin].1.mls().is_active());
    // bob, kicked earlier, holds no client but is still a member: removing him ends that.
    let (c, g) = w.member(0);
    let out = g.remove_user(c, &user("bob@example.com"), true).unwrap();
    w.submit(0, &out).unwrap();
    assert_eq!(
        w.hosted.room().unwrap().role_of(&user("bob@example.com")),
        0
    );
    // Nothing left to remove.
    let (c, g) = w.member(0);
    let err = g
        .remove_user(c, &user("bob@example.com"), true)
        .err()
        .unwrap();
    assert_eq!(err.code(), "not-found");
}

#[test]
fn muc_unban_lets_the_outcast_back_to_affiliation_none() {
    let mut w = World::new("administrated");
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let (c, g) = w.member(0);
    let out = g.ban(c, &user("bob@example.com")).unwrap();
    w.submit(0, &out).unwrap();
    let (c, g) = w.member(0);
    let out = g
        .moderate(
            c,
            vec![Action::Unban {
                target: on("bob@example.com"),
            }],
        )
        .unwrap();
    w.submit(0, &out).unwrap();
    assert_eq!(
        w.hosted.room().unwrap().role_of(&user("bob@example.com")),
        0
    );
}
