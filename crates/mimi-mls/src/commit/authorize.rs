//! Authorizing a commit or a standalone proposal: each of its operations decided by
//! `mimi_policy` against the room before it, and the room it leads to checked.

use std::collections::BTreeMap;

use mimi_policy::component::ids;
use mimi_policy::decision::DenyCode;
use mimi_policy::effect::Change;
use mimi_policy::id::{ClientId, UserId};
use mimi_policy::operation::{Action, Target};
use mimi_policy::participant_list::ParticipantListUpdate;
use mimi_policy::role::{BANNED, NO_ROLE, RoleIndex};
use mimi_policy::room::ClientDelta;
use mimi_policy::{Actor, Decision, Operation, Room, authorize, plan, rule};
use openmls::prelude::{AppDataUpdateOperation, Proposal};

use super::{CommitSummary, Origin, ResolvedAppData, add_client, remove_client};
use crate::MlsError;
use crate::join_link::JoinCode;

/// Authorizes a participant-list update sent by `proposer`: every change is either the role
/// an add or join of the same commit gives its user (taken out of `expected`), or an
/// operation of the proposer's own (ban, unban, leave, role change).
fn authorize_list_update(
    decider: &mut Decider<'_>,
    proposer: &Origin,
    update: &ParticipantListUpdate,
    expected: &mut BTreeMap<UserId, RoleIndex>,
) -> Result<(), MlsError> {
    let changes = decider
        .before
        .participants()
        .changes(update)
        .map_err(|e| MlsError::Policy(e.to_string()))?;
    for change in changes {
        if let Some(role) = expected.remove(&change.user) {
            if role != change.to {
                return Err(MlsError::Policy(format!(
                    "{} joins as role {role}, but the participant list says {}",
                    change.user, change.to
                )));
            }
            continue;
        }
        let who = Target {
            user: change.user.clone(),
            client: None,
        };
        let actor = proposer.actor();
        let action = match (change.from, change.to) {
            (_, BANNED) => Action::Ban { target: who },
            (BANNED, NO_ROLE) => Action::Unban { target: who },
            (_, NO_ROLE) if actor.id() == &change.user => Action::Leave,
            (from, to) if decider.before.seed().is_some() => seed_change(who, from, to)?,
            (_, role) => Action::ChangeRole { target: who, role },
        };
        decider.decide(actor, action)?;
    }
    Ok(())
}

/// A seed room's role change as the moderation operation it is (XEP-0045 voice and
/// affiliations), so the seed's moderation rules decide it, not only the compiled role
/// table: a voice change, or an affiliation change to the role that affiliation gives. A
/// change that is neither (a visitor's or participant's place ending with its last client)
/// is decided by the role table.
fn seed_change(who: Target, from: RoleIndex, to: RoleIndex) -> Result<Action, MlsError> {
    use mimi_policy::seed::{Affiliation, seed_role as R};
    match (from, to) {
        (R::VISITOR, R::PARTICIPANT) | (R::MUTED_MEMBER, R::MEMBER) => {
            return Ok(Action::GrantVoice { target: who });
        }
        (R::PARTICIPANT, R::VISITOR) | (R::MEMBER, R::MUTED_MEMBER) => {
            return Ok(Action::RevokeVoice { target: who });
        }
        _ => {}
    }
    let (old, new) = (Affiliation::of_role(from), Affiliation::of_role(to));
    if old == new || [from, to].iter().any(|r| !seed_affiliation_role(*r)) {
        return Ok(Action::ChangeRole {
            target: who,
            role: to,
        });
    }
    // The role the new affiliation gives: a user without one keeps its client role (or
    // leaves the list with its last client); the others have one role each.
    let fits = match new {
        Affiliation::None => matches!(to, NO_ROLE | R::VISITOR | R::PARTICIPANT),
        Affiliation::Member => to == R::MEMBER,
        Affiliation::Admin => to == R::ADMIN,
        Affiliation::Owner => to == R::OWNER,
        Affiliation::Outcast => to == BANNED,
    };
    if !fits {
        return Err(MlsError::Policy(format!(
            "{} changes from role {from} to {to}: not one affiliation or voice change",
            who.user
        )));
    }
    Ok(Action::SetAffiliation {
        target: who,
        affiliation: new,
    })
}

/// True for the compiled seed roles that stand for an affiliation and voice (not a system
/// user's roles).
fn seed_affiliation_role(role: RoleIndex) -> bool {
    use mimi_policy::seed::seed_role as R;
    !matches!(role, R::POLICY_ENFORCER | R::SYSTEM_CLIENT)
}

/// Decides operations against the room before a commit or proposal, keeping those allowed.
struct Decider<'a> {
    before: &'a Room,
    decided: Vec<Operation>,
}

impl<'a> Decider<'a> {
    fn new(before: &'a Room) -> Self {
        Self {
            before,
            decided: Vec::new(),
        }
    }

    fn decide(&mut self, actor: Actor, action: Action) -> Result<Decision, MlsError> {
        let op = Operation { actor, action };
        let decision = authorize(self.before, &op);
        if decision.is_allowed() {
            self.decided.push(op);
            Ok(decision)
        } else {
            Err(MlsError::Denied(decision))
        }
    }

    /// The role `plan` gives `user` when `op` is applied, if it changes it.
    fn planned_role(
        &mut self,
        op: Operation,
        user: &UserId,
    ) -> Result<Option<RoleIndex>, MlsError> {
        let authorized = plan(self.before, &op).map_err(MlsError::Denied)?;
        let role = authorized.changes().iter().find_map(|c| match c {
            Change::SetRole { user: u, role } if u == user => Some(*role),
            _ => None,
        });
        self.decided.push(op);
        Ok(role)
    }
}

fn target(client: &ClientId) -> Target {
    Target {
        user: client.user().clone(),
        client: Some(client.name().to_owned()),
    }
}

/// The room a commit leads to.
#[derive(Debug, Clone)]
pub enum After {
    /// The policy is unchanged: the room before, with the clients of the delta.
    Clients(ClientDelta),
    /// The policy changed: the room rebuilt from the new group context.
    Rebuilt(Box<Room>),
}

impl After {
    /// Turns `before` into the room after the commit.
    pub fn apply(self, before: &mut Room) {
        match self {
            Self::Clients(delta) => before.apply_client_delta(&delta),
            Self::Rebuilt(room) => *before = *room,
        }
    }
}

/// A commit the policy allows: the operations it carries, each decided against the room
/// before it, and the room it leads to.
#[derive(Debug, Clone)]
pub struct Authorized {
    /// The operations, in the order they were decided.
    pub operations: Vec<Operation>,
    /// The room after the commit.
    pub after: After,
}

/// Authorizes every operation of a commit against the room before it, and checks the room
/// after it (`delta`: the clients the commit adds and removes).
pub fn authorize_commit(
    before: &Room,
    summary: &CommitSummary,
    delta: ClientDelta,
) -> Result<Authorized, MlsError> {
    let mut decider = Decider::new(before);
    if let Some(kind) = summary.refused.first() {
        return Err(MlsError::Policy(format!(
            "{kind} proposals are not allowed; the policy changes by AppDataUpdate"
        )));
    }
    let invalid = |e: String| MlsError::Policy(format!("the commit leads to an invalid room: {e}"));
    let policy_same = summary.app_data.list_update.is_none() && !summary.app_data.policy_changed;
    let after = if policy_same {
        before
            .check_client_delta(&delta)
            .map_err(|e| invalid(e.to_string()))?;
        After::Clients(delta)
    } else {
        let mut clients = before.clients().clone();
        for c in &delta.removed {
            remove_client(&mut clients, c);
        }
        for c in &delta.added {
            add_client(&mut clients, c)?;
        }
        let room = Room::from_app_data(before.id.clone(), &summary.app_data.entries, clients)
            .map_err(|e| invalid(e.to_string()))?;
        After::Rebuilt(Box::new(room))
    };
    let committer = summary.committer_actor();
    let changes_people = !summary.adds.is_empty()
        || !summary.removes.is_empty()
        || !summary.self_removes.is_empty()
        || summary.app_data.list_update.is_some()
        || matches!(summary.committer, Origin::Joiner(_));
    if summary.app_data.policy_changed {
        if changes_people {
            // RP-04 §3: a policy change never shares a commit with membership changes.
            return Err(MlsError::Denied(Decision::deny(
                DenyCode::InvalidPolicy,
                rule::RP_POLICY,
            )));
        }
        let After::Rebuilt(proposed) = &after else {
            return Err(MlsError::Policy(
                "a policy change without a new policy".into(),
            ));
        };
        let mut proposed = (**proposed).clone();
        proposed.id = before.id.clone();
        decider.decide(
            committer.clone(),
            Action::UpdatePolicy {
                policy: Box::new(proposed),
            },
        )?;
    }

    // Roles the adds and joins give their users.
    let mut expected: BTreeMap<UserId, RoleIndex> = BTreeMap::new();
    if let Origin::Joiner(joiner) = &summary.committer
        && rejoins(summary, joiner)
    {
        // Back in its own place (RFC 9420 §12.4.3.2): no way-in rule applies.
        decider.decide(committer.clone(), Action::Rejoin)?;
    } else if let Origin::Joiner(joiner) = &summary.committer {
        let op = Operation {
            actor: committer.clone(),
            action: Action::ExternalJoin {
                link: summary.join_code.as_ref().map(JoinCode::to_link),
                role: None,
            },
        };
        if let Some(role) = decider.planned_role(op, joiner.user())? {
            expected.insert(joiner.user().clone(), role);
        }
    }
    for (proposer, client) in &summary.adds {
        let actor = proposer.actor();
        let action = match proposer {
            Origin::System(_) => Action::ExternalProposal {
                proposal: mimi_policy::operation::ProposalKind::Add,
                target: target(client),
            },
            _ => Action::AddClient {
                target: target(client),
                role: None,
            },
        };
        let op = Operation { actor, action };
        if let Some(role) = decider.planned_role(op, client.user())? {
            expected.insert(client.user().clone(), role);
        }
    }
    authorize_removals(&mut decider, summary)?;

    if let Some(update) = &summary.app_data.list_update {
        let proposer = summary.list_proposer.as_ref().unwrap_or(&summary.committer);
        authorize_list_update(&mut decider, proposer, update, &mut expected)?;
    }
    if let Some((user, role)) = expected
        .iter()
        .find(|(user, role)| before.role_of(user) != **role)
    {
        return Err(MlsError::Policy(format!(
            "the commit adds {user} but does not put it in the participant list as role {role}"
        )));
    }
    if summary.psk {
        decider.decide(committer.clone(), Action::Psk)?;
    }
    if summary.reinit {
        decider.decide(committer.clone(), Action::Reinit)?;
    }
    for (client, since) in &summary.updates {
        decider.decide(
            Origin::Member(client.clone()).actor(),
            Action::Update {
                seconds_since_last_update: *since,
            },
        )?;
    }
    Ok(Authorized {
        operations: decider.decided,
        after,
    })
}

/// Whether `joiner`'s external commit removes its own earlier leaf: a rejoin.
fn rejoins(summary: &CommitSummary, joiner: &ClientId) -> bool {
    summary
        .removes
        .iter()
        .any(|(proposer, client)| matches!(proposer, Origin::Joiner(_)) && client == joiner)
}

/// Authorizes the Remove and SelfRemove proposals of a summary, each as its proposer's
/// operation.
fn authorize_removals(decider: &mut Decider<'_>, summary: &CommitSummary) -> Result<(), MlsError> {
    for (proposer, client) in &summary.removes {
        if let Origin::Joiner(joiner) = proposer {
            // A joiner's Remove is of its own earlier leaf, decided as its rejoin.
            if client == joiner {
                continue;
            }
            return Err(MlsError::Malformed(
                "an external commit removes only the joiner's own earlier leaf".into(),
            ));
        }
        let action = match proposer {
            Origin::System(_) => Action::ExternalProposal {
                proposal: mimi_policy::operation::ProposalKind::Remove,
                target: target(client),
            },
            _ => Action::RemoveClient {
                target: target(client),
            },
        };
        decider.decide(proposer.actor(), action)?;
    }
    for client in &summary.self_removes {
        decider.decide(Origin::Member(client.clone()).actor(), Action::SelfRemove)?;
    }

    Ok(())
}

/// Authorizes a standalone proposal (SelfRemove, Remove, Update, participant-list update) as
/// its proposer's operation; `since_update` tells how long ago a client last updated its leaf.
/// The room it leads to is checked when a commit includes it. Returns the operations it
/// carries, each decided.
pub fn authorize_proposal(
    before: &Room,
    proposer: Origin,
    proposal: &Proposal,
    leaf_client: &dyn Fn(u32) -> Option<ClientId>,
    since_update: &dyn Fn(&ClientId) -> u64,
) -> Result<Vec<Operation>, MlsError> {
    let mut decider = Decider::new(before);
    if let Proposal::Update(_) = proposal {
        let Origin::Member(client) = proposer else {
            return Err(MlsError::Malformed("Update from a non-member".into()));
        };
        let since = since_update(&client);
        decider.decide(
            Origin::Member(client).actor(),
            Action::Update {
                seconds_since_last_update: since,
            },
        )?;
    } else if let Proposal::AppDataUpdate(p) = proposal {
        let (ids::PARTICIPANT_LIST, AppDataUpdateOperation::Update(bytes)) =
            (p.component_id(), p.operation())
        else {
            return Err(MlsError::Policy(
                "only participant-list updates are proposed on their own; \
                 the policy changes in a commit"
                    .into(),
            ));
        };
        let update: ParticipantListUpdate = mimi_policy::codec::decode_exact(bytes.as_slice())
            .map_err(|e| MlsError::Malformed(format!("participant list update: {e}")))?;
        authorize_list_update(&mut decider, &proposer, &update, &mut BTreeMap::new())?;
    } else if matches!(proposal, Proposal::SelfRemove | Proposal::Remove(_)) {
        let mut summary = CommitSummary::new(proposer.clone(), ResolvedAppData::default());
        summary.record(proposer, proposal, leaf_client, || {
            Err(MlsError::Malformed("unexpected Add".into()))
        })?;
        authorize_removals(&mut decider, &summary)?;
    } else {
        return Err(MlsError::Policy(
            "only SelfRemove, Remove, Update and participant-list AppDataUpdate proposals \
             are sent on their own"
                .into(),
        ));
    }
    Ok(decider.decided)
}
