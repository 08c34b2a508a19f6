//! Moderation: kick, ban, unban, voice, affiliations (XEP-0045 ordering) and RP-04 role
//! changes.

use super::{
    Outcome, affiliation, check_move, check_not_last_member, deny, is_protected_logger,
    member_actor, rp_actor,
};
use crate::capability::Capability as C;
use crate::decision::{Decision, DenyCode, ensure};
use crate::id::UserId;
use crate::operation::{Actor, Target};
use crate::role::{BANNED, NO_ROLE, RoleIndex};
use crate::room::Room;
use crate::rule::{self, Rule};
use crate::seed::{Affiliation, SeedProfile, has_voice, seed_role as R};

/// The acting moderator's affiliation in a seed room; the owning system user ranks above
/// every owner. Denies non-moderators with `rule`.
fn moderator<'a>(
    room: &Room,
    seed: &SeedProfile,
    actor: &'a Actor,
    rule: Rule,
) -> Result<Rank<'a>, Decision> {
    match actor {
        Actor::System(s) => {
            ensure(
                seed.is_owning_system(s),
                DenyCode::UnknownSystemUser,
                rule::SEED_SYSTEM_USER,
            )?;
            Ok(Rank::System)
        }
        Actor::User(_) => {
            let u = member_actor(room, actor)?;
            let aff = affiliation(room, &u.user);
            ensure(aff.is_moderator(), DenyCode::NotAllowed, rule)?;
            Ok(Rank::User(&u.user, aff))
        }
    }
}

/// Who is moderating.
enum Rank<'a> {
    /// The owning provider's system user.
    System,
    /// A user with its affiliation.
    User(&'a UserId, Affiliation),
}

impl Rank<'_> {
    /// XEP-0045: nobody acts on an equal or higher affiliation (itself included).
    fn outranks(&self, target: &UserId, target_aff: Affiliation) -> bool {
        match self {
            Self::System => true,
            Self::User(me, aff) => *me != target && target_aff < *aff,
        }
    }
}

/// Refuses acting on a provider's system user or on the logger of a logging room.
fn not_system_user(room: &Room, target: &UserId) -> Result<(), Decision> {
    ensure(
        room.role_of(target) != R::POLICY_ENFORCER && !is_protected_logger(room, target),
        DenyCode::SystemUserProtected,
        rule::SEED_REMOVE_SYSTEM_PROTECTED,
    )
}

/// Kick: remove the target's clients, keeping its affiliation.
pub(super) fn kick(room: &Room, actor: &Actor, target: &Target) -> Outcome {
    let clients = room.client_count_of(&target.user);
    ensure(clients > 0, DenyCode::NotFound, rule::MIMI_VALID)?;
    check_not_last_member(room, clients)?;
    let Some(seed) = room.seed() else {
        let r = rp_actor(room, actor)?;
        ensure(
            room.roles().can(r, C::CAN_KICK),
            DenyCode::MissingCapability,
            rule::RP_KICK,
        )?;
        let role = room.roles().role(room.role_of(&target.user));
        ensure(
            role.is_none_or(|r| room.count(r.index).active > r.min_active),
            DenyCode::ConstraintViolated,
            rule::RP_CONSTRAINTS,
        )?;
        return Ok(Decision::allow(rule::RP_KICK));
    };
    let rank = moderator(room, seed, actor, rule::MUC_KICK)?;
    ensure(
        !room.fixed_membership(),
        DenyCode::FixedMembership,
        rule::SEED_FIXED_REMOVE_DENIED,
    )?;
    not_system_user(room, &target.user)?;
    ensure(
        rank.outranks(&target.user, affiliation(room, &target.user)),
        DenyCode::EqualOrHigherAffiliation,
        rule::MUC_ORDER,
    )?;
    Ok(Decision::allow(rule::MUC_KICK))
}

/// Ban: the target becomes an outcast and its clients are removed.
pub(super) fn ban(room: &Room, actor: &Actor, target: &Target) -> Outcome {
    let current = room.role_of(&target.user);
    ensure(current != BANNED, DenyCode::NoChange, rule::MUC_BAN)?;
    let clients = room.client_count_of(&target.user);
    if clients > 0 {
        check_not_last_member(room, clients)?;
    }
    let Some(seed) = room.seed() else {
        ensure(
            room.roles().has_banned_role(),
            DenyCode::NotApplicable,
            rule::RP_BAN,
        )?;
        return rp_change(
            room,
            actor,
            &target.user,
            current,
            BANNED,
            C::CAN_BAN,
            rule::RP_BAN,
        );
    };
    let rank = moderator(room, seed, actor, rule::MUC_BAN)?;
    ensure(
        !room.fixed_membership(),
        DenyCode::FixedMembership,
        rule::SEED_FIXED_REMOVE_DENIED,
    )?;
    not_system_user(room, &target.user)?;
    ensure(
        rank.outranks(&target.user, affiliation(room, &target.user)),
        DenyCode::EqualOrHigherAffiliation,
        rule::MUC_ORDER,
    )?;
    ensure(
        current != R::OWNER || room.count(R::OWNER).participants > 1,
        DenyCode::LastOwner,
        rule::MUC_LAST_OWNER,
    )?;
    Ok(Decision::allow(rule::MUC_BAN))
}

/// Unban: the outcast's affiliation becomes none.
pub(super) fn unban(room: &Room, actor: &Actor, target: &Target) -> Outcome {
    let current = room.role_of(&target.user);
    ensure(current == BANNED, DenyCode::NoChange, rule::MUC_UNBAN)?;
    let Some(seed) = room.seed() else {
        return rp_change(
            room,
            actor,
            &target.user,
            BANNED,
            NO_ROLE,
            C::CAN_UNBAN,
            rule::RP_UNBAN,
        );
    };
    moderator(room, seed, actor, rule::MUC_UNBAN)?;
    Ok(Decision::allow(rule::MUC_UNBAN))
}

/// Grant (`grant`) or revoke voice.
pub(super) fn voice(room: &Room, actor: &Actor, target: &Target, grant: bool) -> Outcome {
    let Some(seed) = room.seed() else {
        return Err(deny(DenyCode::NotApplicable, rule::RP_NO_VOICE));
    };
    let rank = moderator(room, seed, actor, rule::MUC_VOICE)?;
    let current = room.role_of(&target.user);
    ensure(current != BANNED, DenyCode::Banned, rule::SEED_OUTCAST)?;
    ensure(
        !matches!(current, NO_ROLE | R::POLICY_ENFORCER),
        DenyCode::NotFound,
        rule::MIMI_VALID,
    )?;
    let target_aff = affiliation(room, &target.user);
    if !grant {
        ensure(
            !target_aff.is_moderator(),
            DenyCode::CannotRevokeModeratorVoice,
            rule::MUC_VOICE_MODERATOR,
        )?;
        ensure(
            current != R::SYSTEM_CLIENT,
            DenyCode::SystemUserProtected,
            rule::SEED_REMOVE_SYSTEM_PROTECTED,
        )?;
        ensure(
            rank.outranks(&target.user, target_aff),
            DenyCode::EqualOrHigherAffiliation,
            rule::MUC_ORDER,
        )?;
    }
    ensure(
        has_voice(current) != grant,
        DenyCode::NoChange,
        rule::MUC_VOICE,
    )?;
    Ok(Decision::allow(rule::MUC_VOICE))
}

/// Set the target's affiliation (XEP-0045 §5.2: admins manage members and outcasts below
/// admin; only owners manage admins and owners; the last owner stays).
pub(super) fn set_affiliation(
    room: &Room,
    actor: &Actor,
    target: &Target,
    new: Affiliation,
) -> Outcome {
    let Some(seed) = room.seed() else {
        return Err(deny(DenyCode::NotApplicable, rule::RP_NO_VOICE));
    };
    let rank = moderator(room, seed, actor, rule::MUC_AFFILIATION_ADMIN)?;
    let current_role = room.role_of(&target.user);
    let current = Affiliation::of_role(current_role);
    ensure(
        current != new,
        DenyCode::NoChange,
        rule::MUC_AFFILIATION_ADMIN,
    )?;
    not_system_user(room, &target.user)?;
    ensure(
        current_role != R::SYSTEM_CLIENT,
        DenyCode::SystemUserProtected,
        rule::SEED_REMOVE_SYSTEM_PROTECTED,
    )?;
    if room.fixed_membership() {
        ensure(
            current.is_occupant() && new.is_occupant(),
            DenyCode::FixedMembership,
            rule::SEED_FIXED_REMOVE_DENIED,
        )?;
    }
    let touches_moderators = current.is_moderator() || new.is_moderator();
    let allowed = if touches_moderators {
        rule::MUC_AFFILIATION_OWNER
    } else {
        rule::MUC_AFFILIATION_ADMIN
    };
    if let Rank::System = rank {
        // The policy enforcer removes and bans; it does not hand out affiliations.
        ensure(
            matches!(new, Affiliation::Outcast | Affiliation::None),
            DenyCode::NotAllowed,
            rule::MUC_AFFILIATION_OWNER,
        )?;
    }
    if let Rank::User(me, Affiliation::Admin) = &rank {
        ensure(
            *me != &target.user && current < Affiliation::Admin,
            DenyCode::EqualOrHigherAffiliation,
            rule::MUC_ORDER,
        )?;
        ensure(
            !new.is_moderator(),
            DenyCode::NotAllowed,
            rule::MUC_AFFILIATION_OWNER,
        )?;
    }
    if current == Affiliation::Owner {
        ensure(
            room.count(R::OWNER).participants > 1,
            DenyCode::LastOwner,
            rule::MUC_LAST_OWNER,
        )?;
    }
    let clients = room.client_count_of(&target.user);
    if new == Affiliation::Outcast && clients > 0 {
        check_not_last_member(room, clients)?;
    }
    Ok(Decision::allow(allowed))
}

/// Move `target` (possibly the actor itself) to role `new` (RP-04 §8.1.3).
pub(super) fn change_role(room: &Room, actor: &Actor, target: &UserId, new: RoleIndex) -> Outcome {
    let current = room.role_of(target);
    ensure(current != new, DenyCode::NoChange, rule::RP_CHANGE_ROLE)?;
    ensure(
        new == NO_ROLE || room.roles().role(new).is_some(),
        DenyCode::InvalidPolicy,
        rule::MIMI_VALID,
    )?;
    let (cap, allowed) = match (current, new) {
        (_, BANNED) => (C::CAN_BAN, rule::RP_BAN),
        (BANNED, _) => (C::CAN_UNBAN, rule::RP_UNBAN),
        (_, NO_ROLE) => (C::CAN_REMOVE_PARTICIPANT, rule::RP_REMOVE_PARTICIPANT),
        (NO_ROLE, _) => (C::CAN_ADD_PARTICIPANT, rule::RP_ADD_PARTICIPANT),
        _ => (C::CAN_CHANGE_USER_ROLE, rule::RP_CHANGE_ROLE),
    };
    if room.fixed_membership() {
        ensure(
            !matches!(current, NO_ROLE | BANNED) && !matches!(new, NO_ROLE | BANNED),
            DenyCode::FixedMembership,
            rule::RP_FIXED,
        )?;
    }
    if room.seed().is_some() {
        ensure(
            !crate::seed::is_client_role(new) || room.client_count_of(target) > 0,
            DenyCode::NotFound,
            rule::MIMI_VALID,
        )?;
    }
    if actor.id() == target
        && let Actor::User(u) = actor
    {
        let r = rp_actor(room, actor)?;
        let holder = room.roles().role(r);
        let own_ok = holder.is_some_and(|h| h.can(C::CAN_CHANGE_OWN_ROLE))
            && room.preauth().first_match(&u.claims) == Some(new);
        if own_ok {
            let clients = room.client_count_of(target);
            check_move(room, target, current, new, clients > 0)?;
            return Ok(Decision::allow(rule::RP_CHANGE_OWN_ROLE));
        }
    }
    rp_change(room, actor, target, current, new, cap, allowed)
}

/// A role change authorized by a capability and the holder's authorized role changes.
fn rp_change(
    room: &Room,
    actor: &Actor,
    target: &UserId,
    from: RoleIndex,
    to: RoleIndex,
    cap: C,
    allowed: Rule,
) -> Outcome {
    let r = rp_actor(room, actor)?;
    if room.fixed_membership() {
        ensure(
            !matches!(from, NO_ROLE | BANNED) && !matches!(to, NO_ROLE | BANNED),
            DenyCode::FixedMembership,
            rule::RP_FIXED,
        )?;
    }
    let holder = room.roles().role(r);
    ensure(
        holder.is_some_and(|h| h.can(cap)),
        DenyCode::MissingCapability,
        allowed,
    )?;
    ensure(
        holder.is_some_and(|h| h.may_change(from, to)),
        DenyCode::RoleChangeNotAuthorized,
        allowed,
    )?;
    let clients = room.client_count_of(target);
    if matches!(to, NO_ROLE | BANNED) && clients > 0 {
        check_not_last_member(room, clients)?;
    }
    check_move(
        room,
        target,
        from,
        to,
        clients > 0 && !matches!(to, NO_ROLE | BANNED),
    )?;
    Ok(Decision::allow(allowed))
}
