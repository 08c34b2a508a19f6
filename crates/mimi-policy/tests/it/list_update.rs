//! Participant-list updates (protocol-06 §7.5): each change authorized on its own, the
//! constraints checked on the result.

use mimi_policy::authorize_list_update;
use mimi_policy::id::UserId;
use mimi_policy::operation::Actor;
use mimi_policy::participant_list::{IndexRolePair, ParticipantListUpdate, UserRolePair};
use mimi_policy::seed::seed_role as R;
use serde_json::json;

use crate::support::room;

fn actor(u: &str, c: &str) -> Actor {
    Actor::user(UserId::parse(u).unwrap(), Some(c))
}

fn index_of(r: &mimi_policy::Room, u: &str) -> u32 {
    let id = UserId::parse(u).unwrap();
    r.participants()
        .entries()
        .iter()
        .position(|e| e.user == id)
        .unwrap() as u32
}

#[test]
fn proto_7_5_each_change_is_authorized_separately() {
    let r = room("administrated", json!({}));
    let update = ParticipantListUpdate {
        changed: vec![IndexRolePair {
            user_index: index_of(&r, "bob@example.com"),
            role: R::MUTED_MEMBER,
        }],
        removed: vec![index_of(&r, "dave@provider1.example")],
        added: vec![UserRolePair {
            user: UserId::parse("zed@example.org").unwrap(),
            role: R::MEMBER,
        }],
    };
    let d = authorize_list_update(&r, &actor("carol@example.com", "desktop"), &update);
    assert!(d.is_allowed(), "{:?}", d.report());
    let d = authorize_list_update(&r, &actor("bob@example.com", "phone"), &update);
    assert_eq!(d.code(), "missing-capability");
    let promote = ParticipantListUpdate {
        changed: vec![IndexRolePair {
            user_index: index_of(&r, "bob@example.com"),
            role: R::ADMIN,
        }],
        ..Default::default()
    };
    let d = authorize_list_update(&r, &actor("carol@example.com", "desktop"), &promote);
    assert_eq!(d.code(), "role-change-not-authorized");
}

#[test]
fn proto_7_5_constraints_hold_on_the_whole_commit() {
    let r = room(
        "administrated",
        json!({ "user-affiliations": { "owner": ["alice@example.com", "carol@example.com"],
                                       "admin": [] } }),
    );
    let demote = |who: &str| IndexRolePair {
        user_index: index_of(&r, who),
        role: R::ADMIN,
    };
    let alice = actor("alice@example.com", "phone");
    let one = ParticipantListUpdate {
        changed: vec![demote("carol@example.com")],
        ..Default::default()
    };
    assert!(authorize_list_update(&r, &alice, &one).is_allowed());
    let both = ParticipantListUpdate {
        changed: vec![demote("carol@example.com"), demote("alice@example.com")],
        ..Default::default()
    };
    let d = authorize_list_update(&r, &alice, &both);
    assert_eq!(
        (d.code(), d.rule().id),
        ("constraint-violated", "RP-3-CONSTRAINTS")
    );
}

#[test]
fn proto_7_5_malformed_update_is_refused() {
    let r = room("administrated", json!({}));
    let twice = ParticipantListUpdate {
        removed: vec![0, 0],
        ..Default::default()
    };
    let d = authorize_list_update(&r, &actor("alice@example.com", "phone"), &twice);
    assert_eq!(d.code(), "invalid-policy");
}
