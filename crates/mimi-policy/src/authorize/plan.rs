//! `plan`: an allowed operation's changes to the room, as data.

use super::join;
use crate::decision::Decision;
use crate::effect::{Authorized, Change};
use crate::id::UserId;
use crate::operation::{Action, Operation, ProposalKind};
use crate::role::{BANNED, NO_ROLE, RoleIndex};
use crate::room::Room;
use crate::seed::{Affiliation, seed_role as R};

/// Decides `op` and, when it is allowed, returns the changes it makes to `room`.
pub fn plan(room: &Room, op: &Operation) -> Result<Authorized, Decision> {
    let decision = super::authorize(room, op);
    let Decision::Allow { rule } = decision else {
        return Err(decision);
    };
    let joined = match &op.action {
        Action::AddClient { target, role } => {
            join::add_client(room, &op.actor, target, *role).map(|(_, r)| r)?
        }
        Action::ExternalJoin { link, role } => {
            join::external_join(room, &op.actor, link.as_ref(), *role, true).map(|(_, r)| r)?
        }
        _ => NO_ROLE,
    };
    let mut changes = changes(room, op, joined);
    leave_when_last_client_goes(room, &mut changes);
    Ok(Authorized::new(rule, changes))
}

/// In a seed room, a user without an affiliation (a visitor, a participant, a logger or bot)
/// is in the room only through its clients: when its last client goes, so does it.
fn leave_when_last_client_goes(room: &Room, changes: &mut Vec<Change>) {
    if room.seed().is_none() {
        return;
    }
    let leaving: Vec<UserId> = changes
        .iter()
        .filter_map(|c| match c {
            Change::RemoveClient { user, .. }
                if room.client_count_of(user) == 1
                    && crate::seed::is_client_role(room.role_of(user)) =>
            {
                Some(user.clone())
            }
            _ => None,
        })
        .collect();
    changes.extend(leaving.into_iter().map(|user| set_role(&user, NO_ROLE)));
}

fn set_role(user: &UserId, role: RoleIndex) -> Change {
    Change::SetRole {
        user: user.clone(),
        role,
    }
}

/// A name for a client that joins without naming itself: the first free `clientN`.
fn fresh_client(room: &Room, user: &UserId) -> String {
    (1..)
        .map(|n| format!("client{n}"))
        .find(|c| !room.has_client(user, c))
        .unwrap_or_default()
}

fn changes(room: &Room, op: &Operation, joined: RoleIndex) -> Vec<Change> {
    let actor = op.actor.id();
    let actor_client = match &op.actor {
        crate::operation::Actor::User(u) => u.client.clone(),
        crate::operation::Actor::System(_) => None,
    };
    let seed = room.seed();
    match &op.action {
        Action::AddClient { target, .. } => {
            let mut out = Vec::new();
            if room.role_of(&target.user) != joined {
                out.push(set_role(&target.user, joined));
            }
            out.push(Change::AddClient {
                user: target.user.clone(),
                client: target.client.clone().unwrap_or_default(),
            });
            out
        }
        Action::ExternalJoin { .. } => {
            let mut out = Vec::new();
            if room.role_of(actor) != joined {
                out.push(set_role(actor, joined));
            }
            out.push(Change::AddClient {
                user: actor.clone(),
                client: actor_client.unwrap_or_else(|| fresh_client(room, actor)),
            });
            out
        }
        Action::RemoveClient { target }
        | Action::ExternalProposal {
            proposal: ProposalKind::Remove,
            target,
        } => vec![Change::RemoveClient {
            user: target.user.clone(),
            client: target.client.clone().unwrap_or_default(),
        }],
        Action::ExternalProposal {
            proposal: ProposalKind::Add,
            target,
        } => vec![Change::AddClient {
            user: target.user.clone(),
            client: target.client.clone().unwrap_or_default(),
        }],
        Action::SelfRemove => {
            let client = actor_client.or_else(|| {
                room.clients()
                    .get(actor)
                    .and_then(|s| s.iter().next().cloned())
            });
            client
                .map(|client| Change::RemoveClient {
                    user: actor.clone(),
                    client,
                })
                .into_iter()
                .collect()
        }
        Action::Leave => vec![set_role(actor, NO_ROLE)],
        Action::Destroy => vec![Change::Destroy],
        // The room stays as it is: only the provider's copy of the group ends.
        Action::Vacate => Vec::new(),
        Action::Kick { target } => {
            // A kicked user without an affiliation has no place left in the room (XEP-0045).
            if seed.is_some()
                && Affiliation::of_role(room.role_of(&target.user)) == Affiliation::None
            {
                vec![set_role(&target.user, NO_ROLE)]
            } else {
                vec![Change::RemoveClients {
                    user: target.user.clone(),
                }]
            }
        }
        Action::Ban { target } => vec![set_role(&target.user, BANNED)],
        Action::Unban { target } => vec![set_role(&target.user, NO_ROLE)],
        Action::GrantVoice { target } | Action::RevokeVoice { target } => {
            let role = match room.role_of(&target.user) {
                R::VISITOR => R::PARTICIPANT,
                R::PARTICIPANT => R::VISITOR,
                R::MUTED_MEMBER => R::MEMBER,
                R::MEMBER => R::MUTED_MEMBER,
                other => other,
            };
            vec![set_role(&target.user, role)]
        }
        Action::SetAffiliation {
            target,
            affiliation,
        } => {
            let active = room.client_count_of(&target.user) > 0;
            let moderated = seed.is_some_and(|s| s.moderated);
            let role = match affiliation {
                Affiliation::Owner => R::OWNER,
                Affiliation::Admin => R::ADMIN,
                Affiliation::Member => R::MEMBER,
                Affiliation::Outcast => BANNED,
                Affiliation::None if !active => NO_ROLE,
                Affiliation::None if moderated => R::VISITOR,
                Affiliation::None => R::PARTICIPANT,
            };
            vec![set_role(&target.user, role)]
        }
        Action::ChangeRole { target, role } => vec![set_role(&target.user, *role)],
        Action::UpdatePolicy { policy } => vec![Change::ReplacePolicy(policy.clone())],
        Action::CreateRoom { .. }
        | Action::FetchKeyPackage { .. }
        | Action::FetchGroupInfo { .. }
        | Action::Rejoin
        | Action::SendMessage { .. }
        | Action::Psk
        | Action::Reinit
        | Action::Update { .. }
        | Action::Knock
        | Action::AcceptKnock { .. } => Vec::new(),
    }
}
