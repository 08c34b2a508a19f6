//! Ways out: remove a client, SelfRemove, leave, destroy.

use super::{
    Outcome, SystemKind, affiliation, check_client_removal, check_move, check_not_last_member,
    deny, is_protected_logger, is_system_client, member_actor, rp_actor, system_kind,
};
use crate::capability::Capability as C;
use crate::decision::{Decision, DenyCode, ensure};
use crate::operation::{Actor, Target};
use crate::role::{BANNED, NO_ROLE};
use crate::room::Room;
use crate::rule;
use crate::seed::{Affiliation, seed_role as R};

/// Commit with Remove (or a Remove proposal) of `target`'s client.
pub(super) fn remove_client(room: &Room, actor: &Actor, target: &Target) -> Outcome {
    let client = target.client.as_deref().unwrap_or_default();
    ensure(
        room.has_client(&target.user, client),
        DenyCode::NotFound,
        rule::MIMI_VALID,
    )?;
    check_not_last_member(room, 1)?;
    let Some(seed) = room.seed() else {
        let r = rp_actor(room, actor)?;
        let own = actor.id() == &target.user;
        let (cap, allowed) = if own {
            (C::CAN_REMOVE_OWN_CLIENT, rule::RP_REMOVE_OWN_CLIENT)
        } else {
            (C::CAN_KICK, rule::RP_KICK)
        };
        ensure(
            room.roles().can(r, cap),
            DenyCode::MissingCapability,
            allowed,
        )?;
        check_client_removal(room, &target.user)?;
        return Ok(Decision::allow(allowed));
    };
    let fixed = room.fixed_membership();
    let last_of_user = room.client_count_of(&target.user) == 1;
    let allowed = match actor {
        Actor::System(s) => {
            let kind = system_kind(seed, s, target.user.domain());
            let (flex_rule, fixed_rule) = match kind {
                Some(SystemKind::Owning) => (
                    rule::SEED_REMOVE_OWNING_SYSTEM,
                    rule::SEED_FIXED_REMOVE_OWNING_SYSTEM,
                ),
                Some(SystemKind::TargetProvider) => (
                    rule::SEED_REMOVE_PROVIDER_SYSTEM,
                    rule::SEED_FIXED_REMOVE_PROVIDER_SYSTEM,
                ),
                // Listed, but not for this user's provider.
                Some(SystemKind::OtherProvider) => {
                    let denied = if fixed {
                        rule::SEED_FIXED_REMOVE_DENIED
                    } else {
                        rule::SEED_REMOVE_DENIED
                    };
                    return Err(deny(DenyCode::NotAllowed, denied));
                }
                None => return Err(deny(DenyCode::UnknownSystemUser, rule::SEED_SYSTEM_USER)),
            };
            if fixed {
                ensure(
                    !last_of_user,
                    DenyCode::LastClient,
                    rule::SEED_FIXED_REMOVE_LAST,
                )?;
                fixed_rule
            } else {
                flex_rule
            }
        }
        Actor::User(_) => {
            let remover = member_actor(room, actor)?;
            let own = remover.user == target.user;
            if fixed {
                ensure(
                    !is_system_client(room, &target.user) || own,
                    DenyCode::SystemUserProtected,
                    rule::SEED_REMOVE_SYSTEM_PROTECTED,
                )?;
                ensure(
                    own,
                    DenyCode::FixedMembership,
                    rule::SEED_FIXED_REMOVE_DENIED,
                )?;
                ensure(
                    !last_of_user,
                    DenyCode::LastClient,
                    rule::SEED_FIXED_REMOVE_LAST,
                )?;
                rule::SEED_FIXED_REMOVE_OWN
            } else if own {
                rule::SEED_REMOVE_SELF
            } else {
                ensure(
                    !is_protected_logger(room, &target.user),
                    DenyCode::SystemUserProtected,
                    rule::SEED_REMOVE_SYSTEM_PROTECTED,
                )?;
                let mine = affiliation(room, &remover.user);
                ensure(
                    mine.is_moderator(),
                    DenyCode::NotAllowed,
                    rule::SEED_REMOVE_DENIED,
                )?;
                ensure(
                    affiliation(room, &target.user) < mine,
                    DenyCode::EqualOrHigherAffiliation,
                    rule::MUC_ORDER,
                )?;
                rule::SEED_REMOVE_MODERATOR
            }
        }
    };
    Ok(Decision::allow(allowed))
}

/// A SelfRemove proposal of the actor's own client.
pub(super) fn self_remove(room: &Room, actor: &Actor) -> Outcome {
    let me = member_actor(room, actor)?;
    check_not_last_member(room, 1)?;
    if room.seed().is_none() {
        ensure(
            room.roles()
                .can(room.role_of(&me.user), C::CAN_REMOVE_OWN_CLIENT),
            DenyCode::MissingCapability,
            rule::RP_REMOVE_OWN_CLIENT,
        )?;
        check_client_removal(room, &me.user)?;
        return Ok(Decision::allow(rule::RP_REMOVE_OWN_CLIENT));
    }
    if room.fixed_membership() {
        ensure(
            room.client_count_of(&me.user) > 1,
            DenyCode::LastClient,
            rule::SEED_FIXED_REMOVE_LAST,
        )?;
        return Ok(Decision::allow(rule::SEED_FIXED_REMOVE_OWN));
    }
    Ok(Decision::allow(rule::SEED_REMOVE_SELF))
}

/// Leave the room: the actor's clients and its place in the participant list.
pub(super) fn leave(room: &Room, actor: &Actor) -> Outcome {
    let user = match actor {
        Actor::User(u) => &u.user,
        Actor::System(s) => s,
    };
    let role = room.role_of(user);
    ensure(
        !matches!(role, NO_ROLE | BANNED),
        DenyCode::NotInRoom,
        rule::SEED_LEAVE,
    )?;
    let mine = room.client_count_of(user);
    if mine > 0 {
        check_not_last_member(room, mine)?;
    }
    if room.seed().is_none() {
        ensure(
            !room.fixed_membership(),
            DenyCode::FixedMembership,
            rule::RP_FIXED,
        )?;
        let holder = room.roles().role(role);
        ensure(
            holder.is_some_and(|r| r.can(C::CAN_REMOVE_SELF)),
            DenyCode::MissingCapability,
            rule::RP_REMOVE_SELF,
        )?;
        ensure(
            holder.is_some_and(|r| r.may_change(role, NO_ROLE)),
            DenyCode::RoleChangeNotAuthorized,
            rule::RP_REMOVE_SELF,
        )?;
        check_move(room, user, role, NO_ROLE, false)?;
        return Ok(Decision::allow(rule::RP_REMOVE_SELF));
    }
    // A seed room's system users are listed in owning-system / system-auth; they stop
    // acting for the room when a policy update takes them off those lists, not by leaving.
    ensure(
        matches!(actor, Actor::User(_)),
        DenyCode::NotApplicable,
        rule::MIMI_USER_ACTOR,
    )?;
    ensure(
        role != R::POLICY_ENFORCER,
        DenyCode::SystemUserProtected,
        rule::SEED_SYSTEM_USER,
    )?;
    ensure(
        !room.fixed_membership(),
        DenyCode::FixedMembership,
        rule::SEED_LEAVE_FIXED,
    )?;
    let aff = Affiliation::of_role(role);
    if aff.is_moderator() {
        let moderators = room.count(R::OWNER).participants + room.count(R::ADMIN).participants;
        ensure(
            moderators > 1,
            DenyCode::LastAdmin,
            rule::SEED_LEAVE_LAST_ADMIN,
        )?;
    }
    if aff == Affiliation::Owner {
        ensure(
            room.count(R::OWNER).participants > 1,
            DenyCode::LastOwner,
            rule::MUC_LAST_OWNER,
        )?;
    }
    Ok(Decision::allow(rule::SEED_LEAVE))
}

/// Leave a persistent room as its last member (the seed's "Persistent vs. Temporary"): every
/// client left in the group is the actor's, and the room is persistent. A temporary room's
/// last member destroys it instead. The roles' own leave limits (last owner, last admin) do
/// not apply: nobody stays behind to be left without one, and the roles stay.
pub(super) fn vacate(room: &Room, actor: &Actor) -> Outcome {
    // RP-04 has no word on it: the seed's rule holds for every room.
    let rule = rule::SEED_VACATE;
    let Actor::User(me) = actor else {
        return Err(Decision::deny(DenyCode::NotAllowed, rule));
    };
    let mine = room.client_count_of(&me.user);
    ensure(mine > 0, DenyCode::NotInRoom, rule)?;
    ensure(
        mine == room.client_total(),
        DenyCode::NotAllowed,
        rule::SEED_LEAVE_LAST_MEMBER,
    )?;
    ensure(
        room.components().base.persistent_room.0,
        DenyCode::NotAllowed,
        rule,
    )?;
    Ok(Decision::allow(rule))
}

/// Destroy the room.
pub(super) fn destroy(room: &Room, actor: &Actor) -> Outcome {
    let Some(seed) = room.seed() else {
        let r = rp_actor(room, actor)?;
        ensure(
            room.roles().can(r, C::CAN_DESTROY_ROOM),
            DenyCode::MissingCapability,
            rule::RP_DESTROY,
        )?;
        return Ok(Decision::allow(rule::RP_DESTROY));
    };
    if let Actor::System(s) = actor {
        ensure(
            seed.is_owning_system(s),
            DenyCode::UnknownSystemUser,
            rule::SEED_SYSTEM_USER,
        )?;
        return Ok(Decision::allow(rule::SEED_DESTROY));
    }
    let me = member_actor(room, actor)?;
    ensure(
        room.client_count_of(&me.user) == room.client_total(),
        DenyCode::NotAllowed,
        rule::SEED_DESTROY,
    )?;
    Ok(Decision::allow(rule::SEED_DESTROY))
}
