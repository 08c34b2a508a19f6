//! `authorize`: one decision function for every operation.
//!
//! Seed rooms are decided by the seed's rules ("Authorizing MLS primitives") and XEP-0045's
//! ordering rules, over the affiliations and voice their compiled roles stand for; RP-04 rooms
//! by role capabilities (RP-04 §8). Both share the RP-04 count constraints (§3, §5).

mod join;
mod moderation;
mod plan;
mod policy;
mod remove;

pub use plan::plan;

use crate::decision::{Check, Decision, DenyCode, ensure};
use crate::id::UserId;
use crate::operation::{Action, Actor, Link, Operation, Target, UserActor};
use crate::participant_list::ParticipantListUpdate;
use crate::preauth::claim;
use crate::role::{BANNED, NO_ROLE, RoleIndex};
use crate::room::Room;
use crate::rule::{self, Rule};
use crate::seed::{Affiliation, SeedProfile, seed_role};

/// A decision in progress: `Err` carries an early denial.
type Outcome = Result<Decision, Decision>;

/// KeyPackage access, the seed's four rules in its order: decided by the target's provider
/// when a KeyPackage is claimed, with or without a room in view (the same decision as
/// [`Action::FetchKeyPackage`] in [`authorize`]).
pub fn key_package_access(
    requester: &Actor,
    target: &Target,
    consent: bool,
    knocked: bool,
    outstanding: u32,
    quota: u32,
) -> Decision {
    join::fetch_keypackage(requester, target, consent, knocked, outstanding, quota)
}

/// A pseudonym coming into a room that does not allow pseudonyms (the seed's
/// "Non-anonymous vs. Semi-anonymous", RP-04's `pseudonyms_allowed`): it joins, fetches the
/// GroupInfo, knocks or creates the room, or is added or let in; or a policy change makes a
/// room that holds one non-anonymous. Everything else a pseudonym does (leave, be removed or
/// banned) stays decided by its own rules.
fn pseudonym_refused(room: &Room, op: &Operation) -> Option<Decision> {
    let refused = Some(deny(DenyCode::PseudonymNotAllowed, rule::SEED_ANONYMITY));
    if let Action::UpdatePolicy { policy } = &op.action {
        let holds_one = room
            .participants()
            .entries()
            .iter()
            .any(|e| e.user.is_pseudonym())
            || room.clients().keys().any(UserId::is_pseudonym);
        return (holds_one && !policy.components().base.pseudonyms_allowed.0)
            .then_some(refused)
            .flatten();
    }
    if room.components().base.pseudonyms_allowed.0 {
        return None;
    }
    let newcomer = match &op.action {
        Action::CreateRoom { .. }
        | Action::ExternalJoin { .. }
        | Action::FetchGroupInfo { .. }
        | Action::Knock => Some(op.actor.id()),
        Action::AddClient { target, .. }
        | Action::AcceptKnock { target, .. }
        | Action::ExternalProposal {
            proposal: crate::operation::ProposalKind::Add,
            target,
        } => Some(&target.user),
        _ => None,
    };
    newcomer.filter(|u| u.is_pseudonym()).and(refused)
}

/// Decides whether `op` is allowed in `room`.
pub fn authorize(room: &Room, op: &Operation) -> Decision {
    if let Some(refused) = pseudonym_refused(room, op) {
        return refused;
    }
    let outcome = match &op.action {
        Action::CreateRoom { existing_rooms } => join::create_room(room, &op.actor, existing_rooms),
        Action::AddClient { target, role } => {
            join::add_client(room, &op.actor, target, *role).map(|(d, _)| d)
        }
        Action::FetchKeyPackage {
            target,
            consent,
            knocked,
            outstanding,
            quota,
        } => Ok(join::fetch_keypackage(
            &op.actor,
            target,
            *consent,
            *knocked,
            *outstanding,
            *quota,
        )),
        Action::ExternalJoin { link, role } => {
            join::external_join(room, &op.actor, link.as_ref(), *role, true).map(|(d, _)| d)
        }
        Action::Rejoin => join::rejoin(room, &op.actor),
        Action::FetchGroupInfo { link } => {
            join::external_join(room, &op.actor, link.as_ref(), None, false).map(|(d, _)| d)
        }
        Action::Knock => join::knock(room, &op.actor),
        Action::AcceptKnock { target, knocked } => {
            join::accept_knock(room, &op.actor, target, *knocked)
        }
        Action::RemoveClient { target } => remove::remove_client(room, &op.actor, target),
        Action::SelfRemove => remove::self_remove(room, &op.actor),
        Action::Leave => remove::leave(room, &op.actor),
        Action::Destroy => remove::destroy(room, &op.actor),
        Action::Vacate => remove::vacate(room, &op.actor),
        Action::Kick { target } => moderation::kick(room, &op.actor, target),
        Action::Ban { target } => moderation::ban(room, &op.actor, target),
        Action::Unban { target } => moderation::unban(room, &op.actor, target),
        Action::GrantVoice { target } => moderation::voice(room, &op.actor, target, true),
        Action::RevokeVoice { target } => moderation::voice(room, &op.actor, target, false),
        Action::SetAffiliation {
            target,
            affiliation,
        } => moderation::set_affiliation(room, &op.actor, target, *affiliation),
        Action::ChangeRole { target, role } => {
            moderation::change_role(room, &op.actor, &target.user, *role)
        }
        Action::SendMessage {
            seconds_since_last_update,
        } => policy::send_message(room, &op.actor, *seconds_since_last_update),
        Action::UpdatePolicy { policy } => policy::update_policy(room, &op.actor, policy),
        Action::Psk => policy::psk(room, &op.actor),
        Action::Reinit => policy::reinit(room, &op.actor),
        Action::Update {
            seconds_since_last_update,
        } => policy::update(room, &op.actor, *seconds_since_last_update),
        Action::ExternalProposal { proposal, target } => {
            policy::external_proposal(room, &op.actor, *proposal, target)
        }
    };
    outcome.unwrap_or_else(|denied| denied)
}

/// Decides a participant-list update (protocol-06 §7.5) committed by `actor`: its shape
/// (indices in range, each user touched once), each per-user change as a role change against
/// the room before the commit, and every constraint on the room after it.
pub fn authorize_list_update(
    room: &Room,
    actor: &Actor,
    update: &ParticipantListUpdate,
) -> Decision {
    let changes = match room.participants().changes(update) {
        Ok(c) => c,
        Err(_) => return deny(DenyCode::InvalidPolicy, rule::MIMI_VALID),
    };
    let mut after = room.clone();
    let mut last = deny(DenyCode::NoChange, rule::RP_CHANGE_ROLE);
    for change in &changes {
        let d = match moderation::change_role(room, actor, &change.user, change.to) {
            Ok(d) | Err(d) => d,
        };
        if !d.is_allowed() {
            return d;
        }
        after.set_role(&change.user, change.to);
        last = d;
    }
    match after.check_constraints() {
        Ok(()) => last,
        Err(_) => deny(DenyCode::ConstraintViolated, rule::RP_CONSTRAINTS),
    }
}

/// Denial as an early return.
fn deny(code: DenyCode, rule: Rule) -> Decision {
    Decision::deny(code, rule)
}

/// The acting user, or a denial for a system user: joining and knocking are done by a user's
/// client.
fn user_actor(actor: &Actor) -> Result<&UserActor, Decision> {
    match actor {
        Actor::User(u) => Ok(u),
        Actor::System(_) => Err(deny(DenyCode::NotApplicable, rule::MIMI_USER_ACTOR)),
    }
}

/// True if the actor's client (or, when no client is named, any of its clients) is in the group.
fn in_room(room: &Room, actor: &UserActor) -> bool {
    match &actor.client {
        Some(c) => room.has_client(&actor.user, c),
        None => room.client_count_of(&actor.user) > 0,
    }
}

/// The acting user must be in the room and not banned.
fn member_actor<'a>(room: &Room, actor: &'a Actor) -> Result<&'a UserActor, Decision> {
    // Only clients commit or send; system users act through external proposals.
    let Actor::User(u) = actor else {
        return Err(deny(DenyCode::NotInRoom, rule::SEED_COMMITTER_IN_ROOM));
    };
    ensure(
        room.role_of(&u.user) != BANNED,
        DenyCode::Banned,
        rule::SEED_OUTCAST,
    )?;
    ensure(
        in_room(room, u),
        DenyCode::NotInRoom,
        rule::SEED_COMMITTER_IN_ROOM,
    )?;
    Ok(u)
}

fn affiliation(room: &Room, user: &UserId) -> Affiliation {
    Affiliation::of_role(room.role_of(user))
}

/// How a system actor relates to a seed room and a target domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SystemKind {
    /// The owning provider's system user.
    Owning,
    /// The system user of the target's provider.
    TargetProvider,
    /// An authorized system user of some other provider.
    OtherProvider,
}

fn system_kind(seed: &SeedProfile, system: &UserId, target_domain: &str) -> Option<SystemKind> {
    if seed.is_owning_system(system) {
        Some(SystemKind::Owning)
    } else if seed.is_system_of(system, target_domain) {
        Some(SystemKind::TargetProvider)
    } else if seed.system_auth.contains(system) {
        Some(SystemKind::OtherProvider)
    } else {
        None
    }
}

/// True if `user` is a pre-authorized system client (logger, bot) of the room.
fn is_system_client(room: &Room, user: &UserId) -> bool {
    // The claims of `Claims::of_system(user)`, without building the set on this hot path.
    let has = |c: &crate::preauth::Claim| match c.id.as_str() {
        claim::SYSTEM => c.value == user.as_str(),
        claim::DOMAIN => c.value == user.domain(),
        _ => false,
    };
    room.role_of(user) == seed_role::SYSTEM_CLIENT
        || room.preauth().first_match_with(has) == Some(seed_role::SYSTEM_CLIENT)
}

/// True if `user` is the authorized logger of a logging room, which users cannot remove.
fn is_protected_logger(room: &Room, user: &UserId) -> bool {
    room.seed().is_some_and(|s| s.logging) && is_system_client(room, user)
}

/// True if a system client (the logger) has a client in the group.
fn logger_present(room: &Room) -> bool {
    room.count(seed_role::SYSTEM_CLIENT).active > 0
}

/// Checks a join link: one of the room's active `join_links` when it names its code (matched
/// by its code, [`crate::link::code_of`]), a trusted issuer when it names one
/// (`trusted_issuer`), not expired, uses left, and the password: the listed link's own, or
/// else the room's.
fn check_link(
    room: &Room,
    link: &Link,
    rule: Rule,
    trusted_issuer: impl Fn(&UserId) -> bool,
) -> Check {
    let mut terms = None;
    if let Some(code) = &link.code {
        let wanted = crate::link::code_of(code);
        let listed = room.components().join_links.as_ref().and_then(|links| {
            links
                .0
                .iter()
                .find(|l| crate::link::code_of(&l.join_link.0) == wanted)
        });
        ensure(listed.is_some(), DenyCode::BadLink, rule)?;
        terms = listed.and_then(|l| crate::link::LinkTerms::parse(&l.join_link.0));
    }
    let issuer_ok = match &link.issued_by {
        Some(issuer) => trusted_issuer(issuer),
        // A listed link was vetted when it was listed.
        None => link.code.is_some(),
    };
    ensure(issuer_ok, DenyCode::LinkNotTrusted, rule)?;
    ensure(!link.expired, DenyCode::LinkExpired, rule)?;
    ensure(
        link.max_uses.is_none_or(|m| link.uses < m),
        DenyCode::LinkExhausted,
        rule,
    )?;
    match terms.filter(|t| t.password_hash.is_some()) {
        Some(own) => ensure(
            own.password_matches(link.password.as_deref()),
            DenyCode::BadPassword,
            rule,
        ),
        None => check_room_password(room, link.password.as_deref(), rule),
    }
}

/// A password-protected seed room asks everyone who comes in by itself for its password.
fn check_room_password(room: &Room, given: Option<&str>, rule: Rule) -> Check {
    if let Some(password) = room.seed().and_then(|s| s.password.as_deref()) {
        ensure(
            given.is_some_and(|g| crate::secret_eq(g.as_bytes(), password.as_bytes())),
            DenyCode::BadPassword,
            rule,
        )?;
    }
    Ok(())
}

/// The RP-04 count constraints (§3) and base limits (§5) after `user` moves from `from` to
/// `to` (`NO_ROLE` on either side for entering or leaving the list), with `active_after`
/// telling whether the user will have a client in the group.
fn check_move(
    room: &Room,
    user: &UserId,
    from: RoleIndex,
    to: RoleIndex,
    active_after: bool,
) -> Check {
    let active_before = room.client_count_of(user) > 0;
    let roles = room.roles();
    if from != NO_ROLE && from != to {
        let count = room.count(from);
        if let Some(role) = roles.role(from) {
            ensure(
                count.participants > role.min_participants,
                DenyCode::ConstraintViolated,
                rule::RP_CONSTRAINTS,
            )?;
            ensure(
                !active_before || count.active > role.min_active,
                DenyCode::ConstraintViolated,
                rule::RP_CONSTRAINTS,
            )?;
        }
    }
    if to != NO_ROLE {
        let count = room.count(to);
        let role = roles
            .role(to)
            .ok_or(deny(DenyCode::InvalidPolicy, rule::MIMI_VALID))?;
        let joining_role = from != to;
        let becoming_active = active_after && (joining_role || !active_before);
        ensure(
            !joining_role || role.max_participants.is_none_or(|m| count.participants < m),
            DenyCode::ConstraintViolated,
            rule::RP_CONSTRAINTS,
        )?;
        ensure(
            !becoming_active || role.max_active.is_none_or(|m| count.active < m),
            DenyCode::ConstraintViolated,
            rule::RP_CONSTRAINTS,
        )?;
    }
    let counted = |r: RoleIndex| r != NO_ROLE && r != BANNED;
    if !counted(from) && counted(to) {
        let max = room.components().base.max_users;
        ensure(
            max.is_none_or(|m| room.user_count() < m),
            DenyCode::ConstraintViolated,
            rule::RP_MAX_USERS,
        )?;
    }
    Ok(())
}

/// The client being added is not already in the group.
fn check_new_client_name(room: &Room, target: &crate::operation::Target) -> Check {
    let client = target.client.as_deref().unwrap_or_default();
    ensure(
        !room.has_client(&target.user, client),
        DenyCode::AlreadyInRoom,
        rule::MIMI_VALID,
    )
}

/// Limits on adding one client of `user`: single-device and `max_clients`.
fn check_new_client(room: &Room, user: &UserId, multi_device_rule: Rule) -> Check {
    ensure(
        room.multi_device() || room.client_count_of(user) == 0,
        DenyCode::SingleDevice,
        multi_device_rule,
    )?;
    let max = room.components().base.max_clients;
    ensure(
        max.is_none_or(|m| room.client_total() < m as usize),
        DenyCode::ConstraintViolated,
        rule::RP_MAX_USERS,
    )
}

/// Removing the last client of the whole group is never allowed (MLS has no empty group).
fn check_not_last_member(room: &Room, removed: usize) -> Check {
    ensure(
        room.client_total() > removed,
        DenyCode::LastMember,
        rule::SEED_LEAVE_LAST_MEMBER,
    )
}

/// Removing `user`'s last client keeps its role's minimum of active participants.
fn check_client_removal(room: &Room, user: &UserId) -> Check {
    if room.client_count_of(user) == 1
        && let Some(role) = room.roles().role(room.role_of(user))
    {
        ensure(
            room.count(role.index).active > role.min_active,
            DenyCode::ConstraintViolated,
            rule::RP_CONSTRAINTS,
        )?;
    }
    Ok(())
}

/// The role of the acting user or system user in an RP-04 room.
fn acting_role(room: &Room, actor: &Actor) -> RoleIndex {
    room.role_of(actor.id())
}

/// An RP-04 actor: a user in the room, or a system user that is a participant.
fn rp_actor(room: &Room, actor: &Actor) -> Result<RoleIndex, Decision> {
    match actor {
        Actor::User(_) => {
            member_actor(room, actor)?;
        }
        Actor::System(s) => ensure(
            !matches!(room.role_of(s), NO_ROLE | BANNED),
            DenyCode::UnknownSystemUser,
            rule::SEED_SYSTEM_USER,
        )?,
    }
    Ok(acting_role(room, actor))
}
