//! Decisions the hosting provider takes with facts only it holds, each one function here so
//! that no handler carries a rule of its own:
//!
//! - [`room_visible_to`]: whether a user may know a room exists (`MIMI-VISIBLE`);
//! - [`document_visible_to`]: whether it may read the room document (`MIMI-DOCUMENT`);
//! - [`create_hosted_room`]: whether a client may create a room on this provider (`MIMI-HOST`,
//!   then the room's own creation rule);
//! - [`add_at_commit`]: whether a commit may add a user, given the consent, knock and
//!   allowance facts the provider holds (the seed's KeyPackage access rules, `SEED-KP-*`);
//! - [`knock_answer`]: whether a user may answer another's knock.

use crate::decision::{Decision, DenyCode};
use crate::id::{ClientId, ProviderId, UserId};
use crate::operation::{Action, Actor, Operation, Target};
use crate::role::NO_ROLE;
use crate::room::Room;
use crate::{authorize, rule};

/// Whether `user` may know that `room` exists: every user of a discoverable room; of a
/// hidden room only the users it has a place for (any role, banned included). To anyone
/// else a hidden room does not exist, and every refusal says so as for a missing room
/// (`not-found`).
pub fn room_visible_to(room: &Room, user: &UserId) -> Decision {
    if room.components().base.discoverable.0 || room.role_of(user) != NO_ROLE {
        Decision::allow(rule::MIMI_VISIBLE)
    } else {
        Decision::deny(DenyCode::NotFound, rule::MIMI_VISIBLE)
    }
}

/// Whether `user` may read the room document: for a discoverable room anyone; for a hidden
/// one the users with clients in it and those it lets join (fetch its GroupInfo).
pub fn document_visible_to(room: &Room, user: &UserId) -> Decision {
    let visible = room.components().base.discoverable.0
        || room.clients().contains_key(user)
        || authorize(
            room,
            &Operation {
                actor: Actor::user(user.clone(), None),
                action: Action::FetchGroupInfo { link: None },
            },
        )
        .is_allowed();
    if visible {
        Decision::allow(rule::MIMI_DOCUMENT)
    } else {
        Decision::deny(DenyCode::NotFound, rule::MIMI_DOCUMENT)
    }
}

/// Whether `user` may send a handshake to `room` at all (before it is read): the users who
/// may know of the room ([`room_visible_to`]) and those who may read its document, which
/// includes those it lets join ([`document_visible_to`]). To anyone else a hidden room
/// answers as a missing one, whatever the message holds.
pub fn handshake_visible_to(room: &Room, user: &UserId) -> Decision {
    let visible = room_visible_to(room, user);
    if visible.is_allowed() {
        return visible;
    }
    document_visible_to(room, user)
}

/// Whether `creator` may create `room` on the provider `host`: the room is named on `host`;
/// a seed room names `host`'s system user as its owning system (it removes deleted devices
/// and banned users through the hub); the new group holds the creator's client alone; and
/// the room's own creation rule lets the creator's user create it.
pub fn create_hosted_room(room: &Room, creator: &ClientId, host: &ProviderId) -> Decision {
    if let Some(denied) = hosting_refusal(room, creator, host) {
        return denied;
    }
    authorize(
        room,
        &Operation {
            actor: Actor::user(creator.user().clone(), Some(creator.name())),
            action: Action::CreateRoom {
                existing_rooms: Vec::new(),
            },
        },
    )
}

/// Why `host` may not host the new group of `room` that `creator`'s client starts, if it
/// may not: the room is named elsewhere, does not name `host`'s system user as owning
/// system, or holds more than the creator's client.
fn hosting_refusal(room: &Room, creator: &ClientId, host: &ProviderId) -> Option<Decision> {
    let Some(id) = &room.id else {
        return Some(Decision::deny(DenyCode::InvalidPolicy, rule::MIMI_HOST));
    };
    if id.domain() != host.domain() {
        return Some(Decision::deny(DenyCode::ForeignRoom, rule::MIMI_HOST));
    }
    let owned_by_host = match (room.seed(), UserId::new(host.domain(), "system")) {
        (None, _) => true,
        (Some(seed), Ok(system)) => seed.is_owning_system(&system),
        (Some(_), Err(_)) => false,
    };
    if !owned_by_host {
        return Some(Decision::deny(DenyCode::InvalidPolicy, rule::MIMI_HOST));
    }
    if room.client_total() != 1 || !room.has_client(creator.user(), creator.name()) {
        return Some(Decision::deny(
            DenyCode::NotCreator,
            rule::MIMI_HOST_CREATOR,
        ));
    }
    None
}

/// The room a vacant persistent room (its last member left it, [`Action::Vacate`]) becomes
/// when `actor`, through its client, comes back in first: `vacant` (its policy and
/// participant list, no clients) with the changes of the actor's external join, decided as
/// any external join into the room would be, with the `link` and password it presents.
/// MLS has no empty group, so the first one back starts a new group with this policy.
pub fn refounded_room(
    vacant: &Room,
    actor: &Actor,
    link: Option<crate::operation::Link>,
) -> Result<Room, Decision> {
    let op = Operation {
        actor: actor.clone(),
        action: Action::ExternalJoin { link, role: None },
    };
    let authorized = crate::plan(vacant, &op)?;
    let mut next = vacant.clone();
    next.apply(&authorized);
    Ok(next)
}

/// Whether the new group `new` of `founder`'s client may take the place of the vacant room
/// `vacant` on `host`: `new` must be exactly [`refounded_room`] (same policy, same
/// participant list but for the founder's join, the founder's client alone) and hosted
/// here as any new room must be.
pub fn refound_vacant_room(
    vacant: &Room,
    new: &Room,
    founder: &ClientId,
    actor: &Actor,
    link: Option<crate::operation::Link>,
    host: &ProviderId,
) -> Decision {
    if let Some(denied) = hosting_refusal(new, founder, host) {
        return denied;
    }
    match refounded_room(vacant, actor, link) {
        Err(denied) => denied,
        Ok(expected) if expected == *new => Decision::allow(rule::SEED_VACATE),
        Ok(_) => Decision::deny(DenyCode::InvalidPolicy, rule::SEED_VACATE),
    }
}

/// What a provider knows of a newcomer a commit adds: facts of its store, not of the room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFacts {
    /// The newcomer let the committer add it to this room (or to any room).
    pub consent: bool,
    /// The newcomer has a pending knock on this room.
    pub knocked: bool,
    /// KeyPackages of the newcomer the committer claimed for this room under the provider's
    /// allowance, not yet used.
    pub allowance_claims: u32,
}

/// Whether a commit of `committer` may add `newcomer` to `room` (as it is before the
/// commit): KeyPackages claimed for another room carry no consent here. The committer adds
/// its own user; the newcomer consented; or it knocked and the committer may answer its
/// knock; or the committer holds KeyPackages of it claimed for this room under the
/// allowance. Otherwise `no-consent` (SEED-KP-5).
pub fn add_at_commit(
    room: &Room,
    committer: &UserId,
    newcomer: &UserId,
    facts: AddFacts,
) -> Decision {
    if committer == newcomer {
        Decision::allow(rule::SEED_KP_SAME_USER)
    } else if facts.consent {
        Decision::allow(rule::SEED_KP_PREAUTHORIZED)
    } else if facts.knocked && knock_answer(room, committer, newcomer).is_allowed() {
        Decision::allow(rule::SEED_KP_PROVIDED)
    } else if facts.allowance_claims > 0 {
        Decision::allow(rule::SEED_KP_QUOTA)
    } else {
        Decision::deny(DenyCode::NoConsent, rule::SEED_KP_DENIED)
    }
}

/// Whether the room lets `user` answer `knocker`'s knock (accept it by adding the knocker,
/// or decline it).
pub fn knock_answer(room: &Room, user: &UserId, knocker: &UserId) -> Decision {
    authorize(
        room,
        &Operation {
            actor: Actor::user(user.clone(), None),
            action: Action::AcceptKnock {
                target: Target {
                    user: knocker.clone(),
                    client: None,
                },
                knocked: true,
            },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::parse_room;

    fn user(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    fn room(json: &str) -> Room {
        parse_room(json).unwrap()
    }

    const HIDDEN: &str = r#"{
        "id": "mimi://a.example/r/secret",
        "policy": { "membership": "knock-first", "discoverable": false },
        "user-affiliations": { "owner": ["alice@a.example"], "outcast": ["mallory@a.example"] },
        "owning-system": ["system@a.example"],
        "clients": { "alice@a.example": ["phone"] }
    }"#;

    #[test]
    fn a_hidden_room_exists_only_for_the_users_it_has_a_place_for() {
        let r = room(HIDDEN);
        assert!(room_visible_to(&r, &user("alice@a.example")).is_allowed());
        // Banned users have a place: they know the room that banned them.
        assert!(room_visible_to(&r, &user("mallory@a.example")).is_allowed());
        let stranger = room_visible_to(&r, &user("eve@a.example"));
        assert_eq!(stranger.deny_code(), Some(DenyCode::NotFound));
        assert_eq!(stranger.rule(), rule::MIMI_VISIBLE);
        assert!(!document_visible_to(&r, &user("mallory@a.example")).is_allowed());
    }

    #[test]
    fn a_discoverable_room_and_its_document_are_visible_to_everyone() {
        let r = room(&HIDDEN.replace(r#""discoverable": false"#, r#""discoverable": true"#));
        assert!(room_visible_to(&r, &user("eve@a.example")).is_allowed());
        assert!(document_visible_to(&r, &user("eve@a.example")).is_allowed());
    }

    #[test]
    fn a_room_is_created_only_on_its_own_provider_by_its_only_client() {
        let r = room(HIDDEN);
        let alice = ClientId::parse("mimi://a.example/d/alice/phone").unwrap();
        let here = ProviderId::parse("a.example").unwrap();
        assert!(create_hosted_room(&r, &alice, &here).is_allowed());
        let elsewhere = ProviderId::parse("b.example").unwrap();
        assert_eq!(
            create_hosted_room(&r, &alice, &elsewhere).deny_code(),
            Some(DenyCode::ForeignRoom)
        );
        let laptop = ClientId::parse("mimi://a.example/d/alice/laptop").unwrap();
        assert_eq!(
            create_hosted_room(&r, &laptop, &here).deny_code(),
            Some(DenyCode::NotCreator)
        );
        let other_system = room(&HIDDEN.replace("system@a.example", "system@b.example"));
        assert_eq!(
            create_hosted_room(&other_system, &alice, &here).deny_code(),
            Some(DenyCode::InvalidPolicy)
        );
    }

    /// HIDDEN as its provider keeps it once vacant: policy and participant list, no clients.
    fn vacant() -> Room {
        room(&HIDDEN.replace(r#""alice@a.example": ["phone"]"#, ""))
    }

    fn client_of(uri: &str) -> (ClientId, Actor) {
        let c = ClientId::parse(uri).unwrap();
        let actor = Actor::user(c.user().clone(), Some(c.name()));
        (c, actor)
    }

    #[test]
    fn the_last_member_vacates_only_a_persistent_room_with_no_one_else_in_it() {
        let r = room(HIDDEN);
        let (_, alice) = client_of("mimi://a.example/d/alice/phone");
        let vacate = |r: &Room, actor: &Actor| {
            authorize(
                r,
                &Operation {
                    actor: actor.clone(),
                    action: Action::Vacate,
                },
            )
        };
        let allowed = vacate(&r, &alice);
        assert!(allowed.is_allowed());
        assert_eq!(allowed.rule(), rule::SEED_VACATE);
        // Not while another user has a client in the room.
        let shared = room(&HIDDEN.replace(
            r#""alice@a.example": ["phone"]"#,
            r#""alice@a.example": ["phone"], "bob@a.example": ["laptop"]"#,
        ));
        assert_eq!(vacate(&shared, &alice).rule(), rule::SEED_LEAVE_LAST_MEMBER);
        // A temporary room is destroyed instead.
        let temporary = room(&HIDDEN.replace(
            r#""discoverable": false"#,
            r#""discoverable": false, "persistent": false"#,
        ));
        assert_eq!(
            vacate(&temporary, &alice).deny_code(),
            Some(DenyCode::NotAllowed)
        );
        let (_, eve) = client_of("mimi://a.example/d/eve/phone");
        assert_eq!(vacate(&r, &eve).deny_code(), Some(DenyCode::NotInRoom));
    }

    #[test]
    fn a_vacant_room_starts_again_only_as_itself_with_the_first_ones_join() {
        let here = ProviderId::parse("a.example").unwrap();
        let (laptop, alice) = client_of("mimi://a.example/d/alice/laptop");
        // alice, its owner, comes back first: the same room, her new client in it.
        let back = refounded_room(&vacant(), &alice, None).unwrap();
        assert!(back.has_client(laptop.user(), "laptop"));
        assert_eq!(back.role_of(laptop.user()), vacant().role_of(laptop.user()));
        let ok = refound_vacant_room(&vacant(), &back, &laptop, &alice, None, &here);
        assert!(ok.is_allowed());
        assert_eq!(ok.rule(), rule::SEED_VACATE);
        // A group whose policy differs (here: made open) is refused.
        let mut open = room(
            &HIDDEN
                .replace("knock-first", "open")
                .replace("phone", "laptop"),
        );
        open.id = back.id.clone();
        let refused = refound_vacant_room(&vacant(), &open, &laptop, &alice, None, &here);
        assert_eq!(refused.deny_code(), Some(DenyCode::InvalidPolicy));
        assert_eq!(refused.rule(), rule::SEED_VACATE);
        // A stranger of a knock-first room may not start it again, nor may the banned.
        for who in ["eve", "mallory"] {
            let (c, actor) = client_of(&format!("mimi://a.example/d/{who}/phone"));
            assert!(refounded_room(&vacant(), &actor, None).is_err());
            let mut theirs = back.clone();
            theirs.remove_clients(laptop.user());
            theirs.insert_client(c.user(), "phone");
            let refused = refound_vacant_room(&vacant(), &theirs, &c, &actor, None, &here);
            assert!(!refused.is_allowed(), "{who}");
        }
    }

    #[test]
    fn only_a_semi_anonymous_room_takes_a_pseudonym_in() {
        let plain = room(HIDDEN);
        let masked = room(&HIDDEN.replace(
            r#""discoverable": false"#,
            r#""discoverable": false, "semi-anonymous": true"#,
        ));
        let mask = user("~abcdefghijklmnop@a.example");
        assert!(mask.is_pseudonym() && !user("alice@a.example").is_pseudonym());
        let joins = Operation {
            actor: Actor::user(mask.clone(), Some("phone")),
            action: Action::ExternalJoin {
                link: None,
                role: None,
            },
        };
        let added = Operation {
            actor: Actor::user(user("alice@a.example"), Some("phone")),
            action: Action::AddClient {
                target: Target {
                    user: mask.clone(),
                    client: Some("phone".into()),
                },
                role: None,
            },
        };
        for op in [&joins, &added] {
            let refused = authorize(&plain, op);
            assert_eq!(refused.deny_code(), Some(DenyCode::PseudonymNotAllowed));
            assert_eq!(refused.rule(), rule::SEED_ANONYMITY);
        }
        // In a semi-anonymous room the room's own rules decide: a knock-first room wants a
        // knock, and its owner adds whom it likes.
        assert_eq!(
            authorize(&masked, &joins).deny_code(),
            Some(DenyCode::KnockRequired)
        );
        assert!(authorize(&masked, &added).is_allowed());
        // A room that holds a pseudonym cannot be made non-anonymous.
        let mut holding = masked.clone();
        holding.set_role(&mask, crate::seed::seed_role::MEMBER);
        let change = Operation {
            actor: Actor::user(user("alice@a.example"), Some("phone")),
            action: Action::UpdatePolicy {
                policy: Box::new(plain.clone()),
            },
        };
        assert_eq!(
            authorize(&holding, &change).deny_code(),
            Some(DenyCode::PseudonymNotAllowed)
        );
    }

    #[test]
    fn a_commit_adds_a_user_only_with_its_consent_its_knock_or_claims_under_the_allowance() {
        let r = room(HIDDEN);
        let (alice, bob) = (user("alice@a.example"), user("bob@a.example"));
        let none = AddFacts::default();
        let denied = add_at_commit(&r, &alice, &bob, none);
        assert_eq!(denied.deny_code(), Some(DenyCode::NoConsent));
        assert_eq!(denied.rule(), rule::SEED_KP_DENIED);
        assert!(add_at_commit(&r, &alice, &alice, none).is_allowed());
        let consent = AddFacts {
            consent: true,
            ..none
        };
        assert_eq!(
            add_at_commit(&r, &alice, &bob, consent).rule(),
            rule::SEED_KP_PREAUTHORIZED
        );
        let knocked = AddFacts {
            knocked: true,
            ..none
        };
        assert_eq!(
            add_at_commit(&r, &alice, &bob, knocked).rule(),
            rule::SEED_KP_PROVIDED
        );
        // A knock lets in only through those who may answer it.
        let carol = user("carol@a.example");
        assert!(!add_at_commit(&r, &carol, &bob, knocked).is_allowed());
        let claimed = AddFacts {
            allowance_claims: 1,
            ..none
        };
        assert_eq!(
            add_at_commit(&r, &alice, &bob, claimed).rule(),
            rule::SEED_KP_QUOTA
        );
    }
}
