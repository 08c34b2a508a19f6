//! Messages, policy updates and the MLS-level policy (PSK, ReInit, Update, external
//! proposals).

use super::{
    Outcome, SystemKind, affiliation, check_move, check_new_client, check_new_client_name, deny,
    is_system_client, logger_present, member_actor, rp_actor, system_kind,
};
use crate::capability::Capability as C;
use crate::decision::{Decision, DenyCode, ensure};
use crate::operation::{Actor, ProposalKind, Target};
use crate::role::{BANNED, NO_ROLE};
use crate::room::Room;
use crate::rule;
use crate::seed::{Affiliation, has_voice, seed_role};

/// Send an application message.
pub(super) fn send_message(room: &Room, actor: &Actor, since_update: Option<u64>) -> Outcome {
    let sender = member_actor(room, actor)?;
    let role = room.role_of(&sender.user);
    let Some(seed) = room.seed() else {
        ensure(
            room.roles().can(role, C::CAN_SEND_MESSAGE),
            DenyCode::MissingCapability,
            rule::RP_SEND,
        )?;
        if let (Some(since), Some(op)) = (since_update, &room.components().operational) {
            let max = op.leaf_node_update_time.maximum_time;
            ensure(
                max == 0 || since <= max,
                DenyCode::UpdateOverdue,
                rule::RP_UPDATE_DUE,
            )?;
        }
        return Ok(Decision::allow(rule::RP_SEND));
    };
    if let Some(since) = since_update {
        ensure(
            !seed.mls.update_due(since),
            DenyCode::UpdateOverdue,
            rule::SEED_MLS_UPDATE_DUE,
        )?;
    }
    if seed.logging && !is_system_client(room, &sender.user) {
        ensure(
            logger_present(room),
            DenyCode::LoggerRequired,
            rule::SEED_SEND_LOGGER,
        )?;
    }
    let voice_rule = if seed.moderated {
        rule::SEED_SEND_VOICE
    } else {
        rule::SEED_SEND_REVOKED
    };
    ensure(has_voice(role), DenyCode::NoVoice, voice_rule)?;
    Ok(Decision::allow(if seed.moderated {
        rule::SEED_SEND_VOICE
    } else {
        rule::SEED_SEND
    }))
}

/// Replace the room's policy by `proposed`'s.
pub(super) fn update_policy(room: &Room, actor: &Actor, proposed: &Room) -> Outcome {
    // Only the join links change: an admin may make that change too (SEED-LINK).
    let links_only = {
        let (mut a, mut b) = (room.components().clone(), proposed.components().clone());
        let changed = a.join_links != b.join_links;
        a.join_links = None;
        b.join_links = None;
        changed
            && a == b
            && proposed.seed() == room.seed()
            && proposed.roles() == room.roles()
            && proposed.preauth() == room.preauth()
    };
    let (actor_role, shape_rule) = match room.seed() {
        Some(seed) if links_only => {
            moderator_or_owning_system(room, seed, actor, rule::SEED_LINK)?;
            (None, rule::SEED_POLICY_SHAPE)
        }
        Some(seed) => {
            owner_or_owning_system(room, seed, actor, rule::SEED_POLICY)?;
            (None, rule::SEED_POLICY_SHAPE)
        }
        None => (Some(rp_actor(room, actor)?), rule::RP_POLICY),
    };
    // Membership, affiliations and voice change through their own operations (one touch per
    // user per commit); a policy update carries the same participants, roles and clients.
    // A seed room's system users (owning-system, system-auth) are part of its policy.
    let people = |r: &Room| {
        r.participants()
            .entries()
            .iter()
            .filter(|e| r.seed().is_none() || e.role != seed_role::POLICY_ENFORCER)
            .map(|e| (e.user.clone(), e.role))
            .collect::<std::collections::BTreeSet<_>>()
    };
    let same_people = proposed.clients() == room.clients() && people(proposed) == people(room);
    ensure(same_people, DenyCode::InvalidPolicy, shape_rule)?;
    let fixed_rule = if room.seed().is_some() {
        rule::SEED_POLICY_FIXED
    } else {
        rule::RP_FIXED
    };
    ensure(
        proposed.fixed_membership() == room.fixed_membership(),
        DenyCode::FixedMembership,
        fixed_rule,
    )?;
    let Some(r) = actor_role else {
        if links_only {
            return Ok(Decision::allow(rule::SEED_LINK));
        }
        ensure(
            proposed.seed() != room.seed()
                || proposed.roles() != room.roles()
                || proposed.preauth() != room.preauth()
                || proposed.components() != room.components(),
            DenyCode::NoChange,
            rule::SEED_POLICY,
        )?;
        return Ok(Decision::allow(rule::SEED_POLICY));
    };
    let mine = room.components();
    let theirs = proposed.components();
    let others_changed = {
        let mut a = mine.clone();
        let mut b = theirs.clone();
        a.base = Default::default();
        b.base = Default::default();
        a.operational = None;
        b.operational = None;
        a != b
    };
    let changes = [
        (
            proposed.roles() != room.roles(),
            C::CAN_CHANGE_ROLE_DEFINITIONS,
        ),
        (
            proposed.preauth() != room.preauth(),
            C::CAN_CHANGE_PREAUTHORIZED_USER_LIST,
        ),
        (
            theirs.base != mine.base,
            C::CAN_CHANGE_ROOM_MEMBERSHIP_STYLE,
        ),
        (
            theirs.operational != mine.operational,
            C::CAN_CHANGE_MLS_OPERATIONAL_POLICIES,
        ),
        (others_changed, C::CAN_CHANGE_OTHER_POLICY_ATTRIBUTE),
    ];
    ensure(
        changes.iter().any(|(changed, _)| *changed),
        DenyCode::NoChange,
        rule::RP_POLICY,
    )?;
    for (changed, cap) in changes {
        ensure(
            !changed || room.roles().can(r, cap),
            DenyCode::MissingCapability,
            rule::RP_POLICY,
        )?;
    }
    Ok(Decision::allow(rule::RP_POLICY))
}

/// The actor is an owner in the room, or the owning provider's system user.
fn owner_or_owning_system(
    room: &Room,
    seed: &crate::seed::SeedProfile,
    actor: &Actor,
    rule: rule::Rule,
) -> Result<(), Decision> {
    owning_system_or(room, seed, actor, rule, |a| a == Affiliation::Owner)
}

/// An admin, an owner or the owning provider's system user (`rule` denies anyone else).
fn moderator_or_owning_system(
    room: &Room,
    seed: &crate::seed::SeedProfile,
    actor: &Actor,
    rule: rule::Rule,
) -> Result<(), Decision> {
    owning_system_or(room, seed, actor, rule, Affiliation::is_moderator)
}

/// The owning provider's system user, or a member whose affiliation `allowed` takes.
fn owning_system_or(
    room: &Room,
    seed: &crate::seed::SeedProfile,
    actor: &Actor,
    rule: rule::Rule,
    allowed: impl Fn(Affiliation) -> bool,
) -> Result<(), Decision> {
    match actor {
        Actor::System(s) => ensure(
            seed.is_owning_system(s),
            DenyCode::UnknownSystemUser,
            rule::SEED_SYSTEM_USER,
        ),
        Actor::User(_) => {
            let u = member_actor(room, actor)?;
            ensure(
                allowed(affiliation(room, &u.user)),
                DenyCode::NotAllowed,
                rule,
            )
        }
    }
}

/// A PSK proposal.
pub(super) fn psk(room: &Room, actor: &Actor) -> Outcome {
    let Some(seed) = room.seed() else {
        let r = rp_actor(room, actor)?;
        ensure(
            room.roles().can(r, C::CAN_SEND_MLS_PSK_PROPOSAL),
            DenyCode::MissingCapability,
            rule::RP_PSK,
        )?;
        return Ok(Decision::allow(rule::RP_PSK));
    };
    member_actor(room, actor)?;
    ensure(seed.mls.psk, DenyCode::MlsPolicy, rule::SEED_MLS_PSK)?;
    Ok(Decision::allow(rule::SEED_MLS_PSK))
}

/// A ReInit proposal.
pub(super) fn reinit(room: &Room, actor: &Actor) -> Outcome {
    let Some(seed) = room.seed() else {
        let r = rp_actor(room, actor)?;
        ensure(
            room.roles().can(r, C::CAN_SEND_MLS_REINIT_PROPOSAL),
            DenyCode::MissingCapability,
            rule::RP_REINIT,
        )?;
        return Ok(Decision::allow(rule::RP_REINIT));
    };
    ensure(seed.mls.reinit, DenyCode::MlsPolicy, rule::SEED_MLS_REINIT)?;
    owner_or_owning_system(room, seed, actor, rule::SEED_MLS_REINIT)?;
    Ok(Decision::allow(rule::SEED_MLS_REINIT))
}

/// An Update, `since` seconds after the client's previous one.
pub(super) fn update(room: &Room, actor: &Actor, since: u64) -> Outcome {
    member_actor(room, actor)?;
    let (min, allowed) = match room.seed() {
        Some(seed) => (
            match seed.mls.update_min_interval {
                -1 => None,
                m => Some(m.max(0) as u64),
            },
            rule::SEED_MLS_UPDATE,
        ),
        None => (
            Some(
                room.components()
                    .operational
                    .as_ref()
                    .map_or(0, |o| o.leaf_node_update_time.minimum_time),
            ),
            rule::RP_UPDATE,
        ),
    };
    let Some(min) = min else {
        return Err(deny(DenyCode::UpdateTooSoon, allowed));
    };
    ensure(since >= min, DenyCode::UpdateTooSoon, allowed)?;
    Ok(Decision::allow(allowed))
}

/// An external Add adds a new client of a user already in the room (a provider brings its
/// user's new device in); the user's role and the room's limits must allow one more client.
fn external_add_of_participant_client(
    room: &Room,
    target: &Target,
    rule: rule::Rule,
    device_rule: rule::Rule,
) -> Result<(), Decision> {
    check_new_client_name(room, target)?;
    let role = room.role_of(&target.user);
    ensure(role != BANNED, DenyCode::Banned, rule)?;
    ensure(role != NO_ROLE, DenyCode::RegistrationRequired, rule)?;
    check_new_client(room, &target.user, device_rule)?;
    check_move(room, &target.user, role, role, true)
}

/// A proposal by an external sender (a provider's system user).
pub(super) fn external_proposal(
    room: &Room,
    actor: &Actor,
    proposal: ProposalKind,
    target: &Target,
) -> Outcome {
    let Actor::System(system) = actor else {
        return Err(deny(DenyCode::NotAllowed, rule::SEED_MLS_EXTERNAL));
    };
    let Some(seed) = room.seed() else {
        let allowed = room
            .components()
            .operational
            .as_ref()
            .is_none_or(|o| o.external_proposal_allowed.0);
        ensure(allowed, DenyCode::MlsPolicy, rule::RP_EXTERNAL)?;
        rp_actor(room, actor)?;
        return match proposal {
            ProposalKind::Remove => super::remove::remove_client(room, actor, target),
            ProposalKind::Add => {
                let r = room.role_of(system);
                ensure(
                    room.roles().can(r, C::CAN_ADD_PARTICIPANT),
                    DenyCode::MissingCapability,
                    rule::RP_EXTERNAL,
                )?;
                external_add_of_participant_client(
                    room,
                    target,
                    rule::RP_EXTERNAL,
                    rule::RP_MAX_USERS,
                )?;
                Ok(Decision::allow(rule::RP_EXTERNAL))
            }
        };
    };
    ensure(
        seed.mls.external_proposals,
        DenyCode::MlsPolicy,
        rule::SEED_MLS_EXTERNAL,
    )?;
    match proposal {
        ProposalKind::Remove => super::remove::remove_client(room, actor, target),
        ProposalKind::Add => {
            // A provider adds its own user's new device to the rooms the user is in.
            let kind = system_kind(seed, system, target.user.domain());
            ensure(
                matches!(kind, Some(SystemKind::Owning | SystemKind::TargetProvider)),
                DenyCode::UnknownSystemUser,
                rule::SEED_SYSTEM_USER,
            )?;
            ensure(
                affiliation(room, &target.user).is_occupant()
                    || room.client_count_of(&target.user) > 0,
                DenyCode::RegistrationRequired,
                rule::SEED_MLS_EXTERNAL,
            )?;
            external_add_of_participant_client(
                room,
                target,
                rule::SEED_MLS_EXTERNAL,
                rule::SEED_MULTI_DEVICE,
            )?;
            Ok(Decision::allow(rule::SEED_MLS_EXTERNAL))
        }
    }
}
