//! Ways in: create, add, KeyPackage access, external join and GroupInfo, knock.

use super::{
    Outcome, check_link, check_move, check_new_client, check_new_client_name, check_room_password,
    deny, is_system_client, logger_present, member_actor, rp_actor, user_actor,
};
use crate::capability::Capability as C;
use crate::decision::{Decision, DenyCode, ensure};
use crate::fixed_room::{fixed_room_id, occupants};
use crate::id::{RoomId, UserId};
use crate::operation::{Actor, Link, Target};
use crate::role::{BANNED, NO_ROLE, RoleIndex};
use crate::room::Room;
use crate::rule;
use crate::seed::{Affiliation, Membership, seed_role as R};

/// An allowed join or add, with the role the user holds afterwards.
pub(super) type Joined = Result<(Decision, RoleIndex), Decision>;

/// Create the room described by `room`.
pub(super) fn create_room(room: &Room, actor: &Actor, existing: &[RoomId]) -> Outcome {
    let allowed_rule = match (room.seed(), actor) {
        (Some(seed), Actor::System(s)) => {
            ensure(
                seed.is_owning_system(s),
                DenyCode::UnknownSystemUser,
                rule::SEED_SYSTEM_USER,
            )?;
            rule::SEED_CREATE
        }
        (Some(_), Actor::User(u)) => {
            ensure(
                Affiliation::of_role(room.role_of(&u.user)).is_moderator(),
                DenyCode::NotAllowed,
                rule::SEED_CREATE,
            )?;
            rule::SEED_CREATE
        }
        (None, _) => {
            ensure(
                !matches!(room.role_of(actor.id()), NO_ROLE | BANNED),
                DenyCode::NotAllowed,
                rule::RP_CREATE,
            )?;
            rule::RP_CREATE
        }
    };
    if room.fixed_membership() {
        let domain = match &room.id {
            Some(id) => id.domain().to_owned(),
            None => actor.id().domain().to_owned(),
        };
        let fixed = fixed_room_id(&domain, occupants(room))
            .map_err(|_| deny(DenyCode::InvalidPolicy, rule::SEED_CREATE_FIXED_UNIQUE))?;
        if let Some(id) = &room.id {
            ensure(
                *id == fixed,
                DenyCode::InvalidPolicy,
                rule::SEED_CREATE_FIXED_UNIQUE,
            )?;
        }
        ensure(
            !existing.contains(&fixed),
            DenyCode::FixedRoomExists,
            rule::SEED_CREATE_FIXED_UNIQUE,
        )?;
    }
    Ok(Decision::allow(allowed_rule))
}

/// Commit with Add of `target`'s client.
pub(super) fn add_client(
    room: &Room,
    actor: &Actor,
    target: &Target,
    role: Option<RoleIndex>,
) -> Joined {
    let adder = member_actor(room, actor)?;
    check_new_client_name(room, target)?;
    let current = room.role_of(&target.user);
    let Some(seed) = room.seed() else {
        ensure(
            current != BANNED,
            DenyCode::Banned,
            rule::RP_ADD_PARTICIPANT,
        )?;
        return add_client_rp(room, &adder.user, &target.user, current, role);
    };
    ensure(current != BANNED, DenyCode::Banned, rule::SEED_OUTCAST)?;
    let target_aff = Affiliation::of_role(current);
    let system_client = is_system_client(room, &target.user);
    let (new_role, allowed) = if system_client {
        ensure(
            seed.logging || seed.bots,
            DenyCode::NotAllowed,
            rule::SEED_SYSTEM_CLIENT,
        )?;
        (R::SYSTEM_CLIENT, rule::SEED_SYSTEM_CLIENT)
    } else if target_aff.is_occupant() {
        (current, rule::SEED_ADD_OCCUPANT)
    } else if room.fixed_membership() {
        return Err(deny(DenyCode::FixedMembership, rule::SEED_ADD_FIXED));
    } else if current != NO_ROLE {
        // Already in the room without an affiliation (a visitor or participant): another of
        // its clients joins under the same role, as a new device of a user in the room.
        (current, rule::SEED_ADD_OCCUPANT)
    } else if seed.is_open() {
        let entry = if seed.moderated {
            R::VISITOR
        } else {
            R::PARTICIPANT
        };
        (entry, rule::SEED_ADD_OPEN)
    } else if Affiliation::of_role(room.role_of(&adder.user)).is_moderator() {
        (R::MEMBER, rule::SEED_ADD_ADMIN)
    } else {
        return Err(deny(DenyCode::NotAllowed, rule::SEED_ADD_DENIED));
    };
    check_new_client(room, &target.user, rule::SEED_MULTI_DEVICE)?;
    if seed.logging && !system_client {
        ensure(
            logger_present(room),
            DenyCode::LoggerRequired,
            rule::SEED_SYSTEM_CLIENT,
        )?;
    }
    check_move(room, &target.user, current, new_role, true)?;
    Ok((Decision::allow(allowed), new_role))
}

fn add_client_rp(
    room: &Room,
    adder: &UserId,
    target: &UserId,
    current: RoleIndex,
    role: Option<RoleIndex>,
) -> Joined {
    let roles = room.roles();
    let adder_role = room.role_of(adder);
    let (new_role, allowed) = if adder == target {
        ensure(
            roles.can(adder_role, C::CAN_ADD_OWN_CLIENT),
            DenyCode::MissingCapability,
            rule::RP_ADD_OWN_CLIENT,
        )?;
        (current, rule::RP_ADD_OWN_CLIENT)
    } else {
        ensure(
            current != NO_ROLE || !room.fixed_membership(),
            DenyCode::FixedMembership,
            rule::RP_FIXED,
        )?;
        ensure(
            roles.can(adder_role, C::CAN_ADD_PARTICIPANT),
            DenyCode::MissingCapability,
            rule::RP_ADD_PARTICIPANT,
        )?;
        if current == NO_ROLE {
            let holder = roles.role(adder_role);
            let new_role = match role {
                Some(r) => r,
                None => holder
                    .and_then(|h| {
                        h.targets_from(NO_ROLE)
                            .iter()
                            .copied()
                            .find(|&t| t > BANNED)
                    })
                    .ok_or(deny(
                        DenyCode::RoleChangeNotAuthorized,
                        rule::RP_ADD_PARTICIPANT,
                    ))?,
            };
            ensure(
                new_role > BANNED && holder.is_some_and(|h| h.may_change(NO_ROLE, new_role)),
                DenyCode::RoleChangeNotAuthorized,
                rule::RP_ADD_PARTICIPANT,
            )?;
            (new_role, rule::RP_ADD_PARTICIPANT)
        } else {
            (current, rule::RP_ADD_PARTICIPANT)
        }
    };
    check_new_client(room, target, rule::RP_MAX_USERS)?;
    check_move(room, target, current, new_role, true)?;
    Ok((Decision::allow(allowed), new_role))
}

/// KeyPackage access: the seed's four rules, in its order.
pub(super) fn fetch_keypackage(
    actor: &Actor,
    target: &Target,
    consent: bool,
    knocked: bool,
    outstanding: u32,
    quota: u32,
) -> Decision {
    if actor.id() == &target.user {
        Decision::allow(rule::SEED_KP_SAME_USER)
    } else if consent {
        Decision::allow(rule::SEED_KP_PREAUTHORIZED)
    } else if outstanding < quota {
        Decision::allow(rule::SEED_KP_QUOTA)
    } else if knocked {
        Decision::allow(rule::SEED_KP_PROVIDED)
    } else {
        Decision::deny(DenyCode::NoConsent, rule::SEED_KP_DENIED)
    }
}

/// External join (`joining`) or GroupInfo access (not `joining`): the joiner is the actor.
pub(super) fn external_join(
    room: &Room,
    actor: &Actor,
    link: Option<&Link>,
    role: Option<RoleIndex>,
    joining: bool,
) -> Joined {
    let joiner = user_actor(actor)?;
    if joining && let Some(client) = &joiner.client {
        ensure(
            !room.has_client(&joiner.user, client),
            DenyCode::AlreadyInRoom,
            rule::MIMI_VALID,
        )?;
    }
    let current = room.role_of(&joiner.user);
    let Some(seed) = room.seed() else {
        return external_join_rp(room, joiner, link, role, current);
    };
    // A password given without a link is for a password-protected room's other ways in.
    let password = link.and_then(|l| l.password.as_deref());
    let real_link = link.filter(|l| l.code.is_some() || l.issued_by.is_some());
    ensure(current != BANNED, DenyCode::Banned, rule::SEED_OUTCAST)?;
    let system_client = is_system_client(room, &joiner.user);
    let (new_role, allowed) = if system_client {
        if seed.logging {
            (R::SYSTEM_CLIENT, rule::SEED_JOIN_LOGGER)
        } else {
            ensure(seed.bots, DenyCode::NotAllowed, rule::SEED_SYSTEM_CLIENT)?;
            (R::SYSTEM_CLIENT, rule::SEED_SYSTEM_CLIENT)
        }
    } else if current != NO_ROLE {
        (current, rule::SEED_JOIN_OCCUPANT)
    } else if room.fixed_membership() {
        return Err(deny(DenyCode::FixedMembership, rule::SEED_JOIN_FIXED));
    } else if let Some(r) = room.preauth().first_match(&joiner.claims) {
        check_room_password(room, password, rule::SEED_JOIN_PASSWORD)?;
        (r, rule::SEED_JOIN_OCCUPANT)
    } else if seed.is_open() {
        check_room_password(room, password, rule::SEED_JOIN_PASSWORD)?;
        let entry = if seed.moderated {
            R::VISITOR
        } else {
            R::PARTICIPANT
        };
        (entry, rule::SEED_JOIN_OPEN)
    } else if let Some(link) = real_link {
        let issuer_ok = |issuer: &UserId| {
            Affiliation::of_role(room.role_of(issuer)).is_moderator()
                || seed.is_owning_system(issuer)
        };
        check_link(room, link, rule::SEED_JOIN_LINK, issuer_ok)?;
        (R::MEMBER, rule::SEED_JOIN_LINK)
    } else if seed.membership == Membership::KnockFirst {
        return Err(deny(DenyCode::KnockRequired, rule::SEED_JOIN_KNOCK_FIRST));
    } else {
        return Err(deny(DenyCode::RegistrationRequired, rule::SEED_JOIN_DENIED));
    };
    check_new_client(room, &joiner.user, rule::SEED_MULTI_DEVICE)?;
    if seed.logging && !system_client {
        ensure(
            logger_present(room),
            DenyCode::LoggerRequired,
            rule::SEED_SYSTEM_CLIENT,
        )?;
    }
    check_move(room, &joiner.user, current, new_role, true)?;
    Ok((Decision::allow(allowed), new_role))
}

/// External commit replacing the actor's own client (resync): only a client the group holds,
/// and it keeps its user's role, so no way-in rule applies. A client that is gone (removed,
/// banned, its user left) joins again by the ways in, not this way.
pub(super) fn rejoin(room: &Room, actor: &Actor) -> Outcome {
    let joiner = user_actor(actor)?;
    let client = joiner.client.as_deref().unwrap_or_default();
    ensure(
        room.has_client(&joiner.user, client),
        DenyCode::NotFound,
        rule::MIMI_REJOIN,
    )?;
    Ok(Decision::allow(rule::MIMI_REJOIN))
}

fn external_join_rp(
    room: &Room,
    joiner: &crate::operation::UserActor,
    link: Option<&Link>,
    role: Option<RoleIndex>,
    current: RoleIndex,
) -> Joined {
    let roles = room.roles();
    ensure(current != BANNED, DenyCode::Banned, rule::RP_JOIN_DENIED)?;
    if let Some(op) = &room.components().operational {
        ensure(
            op.external_commit_allowed.0,
            DenyCode::MlsPolicy,
            rule::RP_EXTERNAL_COMMIT,
        )?;
    }
    let outsider = roles.role(NO_ROLE);
    let pick = |explicit: Option<RoleIndex>| {
        let targets = outsider.map_or(&[][..], |r| r.targets_from(NO_ROLE));
        match explicit {
            Some(r) => targets.contains(&r).then_some(r),
            None => targets.iter().copied().find(|&t| t > BANNED),
        }
    };
    let (new_role, allowed) = if current != NO_ROLE {
        ensure(
            roles.can(current, C::CAN_ADD_OWN_CLIENT),
            DenyCode::MissingCapability,
            rule::RP_ADD_OWN_CLIENT,
        )?;
        (current, rule::RP_ADD_OWN_CLIENT)
    } else if room.fixed_membership() {
        return Err(deny(DenyCode::FixedMembership, rule::RP_FIXED));
    } else if roles.can(NO_ROLE, C::CAN_OPEN_JOIN)
        && let Some(r) = pick(role)
    {
        (r, rule::RP_OPEN_JOIN)
    } else if let Some(r) = room.preauth().first_match(&joiner.claims)
        && roles.can(r, C::CAN_JOIN_IF_PREAUTHORIZED)
    {
        ensure(
            role.is_none_or(|asked| asked == r),
            DenyCode::RoleChangeNotAuthorized,
            rule::RP_PREAUTH_JOIN,
        )?;
        (r, rule::RP_PREAUTH_JOIN)
    } else if let Some(link) = link
        && roles.can(NO_ROLE, C::CAN_USE_JOIN_CODE)
    {
        let issuer_ok = |issuer: &UserId| roles.can(room.role_of(issuer), C::CAN_CREATE_JOIN_CODE);
        check_link(room, link, rule::RP_JOIN_CODE, issuer_ok)?;
        let r = pick(role).ok_or(deny(DenyCode::RoleChangeNotAuthorized, rule::RP_JOIN_CODE))?;
        (r, rule::RP_JOIN_CODE)
    } else {
        return Err(deny(DenyCode::RegistrationRequired, rule::RP_JOIN_DENIED));
    };
    check_new_client(room, &joiner.user, rule::RP_MAX_USERS)?;
    check_move(room, &joiner.user, current, new_role, true)?;
    Ok((Decision::allow(allowed), new_role))
}

/// Knock: ask to be let in.
pub(super) fn knock(room: &Room, actor: &Actor) -> Outcome {
    let knocker = user_actor(actor)?;
    let current = room.role_of(&knocker.user);
    let allowed = match room.seed() {
        Some(seed) => {
            ensure(current != BANNED, DenyCode::Banned, rule::SEED_OUTCAST)?;
            ensure(
                !room.fixed_membership(),
                DenyCode::FixedMembership,
                rule::SEED_JOIN_FIXED,
            )?;
            ensure(
                seed.membership == Membership::KnockFirst,
                DenyCode::KnockNotEnabled,
                rule::SEED_KNOCK,
            )?;
            rule::SEED_KNOCK
        }
        None => {
            ensure(current != BANNED, DenyCode::Banned, rule::RP_KNOCK)?;
            ensure(
                room.roles().can(NO_ROLE, C::CAN_KNOCK),
                DenyCode::KnockNotEnabled,
                rule::RP_KNOCK,
            )?;
            rule::RP_KNOCK
        }
    };
    ensure(current == NO_ROLE, DenyCode::NoChange, allowed)?;
    Ok(Decision::allow(allowed))
}

/// Accept a pending knock.
pub(super) fn accept_knock(room: &Room, actor: &Actor, target: &Target, knocked: bool) -> Outcome {
    let allowed = match room.seed() {
        Some(seed) => {
            match actor {
                Actor::System(s) => {
                    ensure(
                        seed.is_owning_system(s) || seed.system_auth.contains(s),
                        DenyCode::UnknownSystemUser,
                        rule::SEED_SYSTEM_USER,
                    )?;
                    ensure(
                        seed.is_owning_system(s),
                        DenyCode::NotAllowed,
                        rule::SEED_ACCEPT_KNOCK,
                    )?;
                }
                Actor::User(_) => {
                    let u = member_actor(room, actor)?;
                    ensure(
                        Affiliation::of_role(room.role_of(&u.user)).is_moderator(),
                        DenyCode::NotAllowed,
                        rule::SEED_ACCEPT_KNOCK,
                    )?;
                }
            }
            ensure(
                !room.fixed_membership(),
                DenyCode::FixedMembership,
                rule::SEED_JOIN_FIXED,
            )?;
            ensure(
                seed.membership == Membership::KnockFirst,
                DenyCode::KnockNotEnabled,
                rule::SEED_ACCEPT_KNOCK,
            )?;
            rule::SEED_ACCEPT_KNOCK
        }
        None => {
            let r = rp_actor(room, actor)?;
            ensure(
                room.roles().can(r, C::CAN_ACCEPT_KNOCK),
                DenyCode::MissingCapability,
                rule::RP_ACCEPT_KNOCK,
            )?;
            rule::RP_ACCEPT_KNOCK
        }
    };
    ensure(knocked, DenyCode::NoKnock, allowed)?;
    let current = room.role_of(&target.user);
    ensure(current != BANNED, DenyCode::Banned, rule::SEED_OUTCAST)?;
    ensure(current == NO_ROLE, DenyCode::NoChange, allowed)?;
    Ok(Decision::allow(allowed))
}
