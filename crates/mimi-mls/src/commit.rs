//! One mapping from an MLS commit to policy operations, used by the hub and by every member:
//! resolve the AppDataUpdate proposals into the next policy, turn the proposals into
//! operations (add, remove, SelfRemove, external join, role changes, policy update, PSK,
//! ReInit), authorize each with `mimi_policy`, and check the room the commit leads to.

use std::collections::{BTreeMap, BTreeSet};

use mimi_policy::component::{ComponentId, PolicyComponent, ids};
use mimi_policy::decision::DenyCode;
use mimi_policy::effect::Change;
use mimi_policy::id::{ClientId, UserId};
use mimi_policy::operation::{Action, Target};
use mimi_policy::participant_list::{ParticipantList, ParticipantListUpdate};
use mimi_policy::role::{BANNED, NO_ROLE, RoleIndex};
use mimi_policy::room::ClientDelta;
use mimi_policy::{Actor, Decision, Operation, Room, authorize, plan, rule};
use openmls::prelude::{
    AppDataUpdateOperation, AppDataUpdateProposal, Proposal, Sender, SenderExtensionIndex,
    StagedCommit,
};

use crate::identity::client_of;
use crate::join_link::JoinCode;

use crate::MlsError;

/// Who sent a proposal or a commit, as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A member's client.
    Member(ClientId),
    /// A client joining by external commit.
    Joiner(ClientId),
    /// A provider's system user, as external sender.
    System(UserId),
}

impl Origin {
    fn actor(&self) -> Actor {
        match self {
            Self::Member(c) | Self::Joiner(c) => Actor::user(c.user().clone(), Some(c.name())),
            Self::System(s) => Actor::System(s.clone()),
        }
    }
}

/// The AppDataUpdate proposals of a commit, resolved against the current dictionary.
#[derive(Debug, Clone, Default)]
pub struct ResolvedAppData {
    /// The entries after the commit.
    pub entries: BTreeMap<ComponentId, Vec<u8>>,
    /// The participant-list delta, if any.
    pub list_update: Option<ParticipantListUpdate>,
    /// Components other than the participant list whose value changes.
    pub policy_changed: bool,
}

/// Applies AppDataUpdate proposals: the participant list (0x0022) takes a
/// `ParticipantListUpdate` delta, every other component is replaced whole; the participant
/// list, the roles and the base policy cannot be removed. One update per component.
pub fn resolve_app_data<'a>(
    current: &BTreeMap<ComponentId, Vec<u8>>,
    proposals: impl IntoIterator<Item = &'a AppDataUpdateProposal>,
) -> Result<ResolvedAppData, MlsError> {
    let mut out = ResolvedAppData {
        entries: current.clone(),
        ..Default::default()
    };
    let mut seen = BTreeSet::new();
    for p in proposals {
        let id = p.component_id();
        if !seen.insert(id) {
            return Err(MlsError::Policy(format!(
                "component {id:#06x} is updated twice in one commit"
            )));
        }
        match (id, p.operation()) {
            (ids::PARTICIPANT_LIST, AppDataUpdateOperation::Update(bytes)) => {
                let update: ParticipantListUpdate =
                    mimi_policy::codec::decode_exact(bytes.as_slice()).map_err(|e| {
                        MlsError::Malformed(format!("participant list update: {e}"))
                    })?;
                let list = ParticipantList::from_component_bytes(
                    current.get(&id).map_or(&[][..], Vec::as_slice),
                )
                .map_err(|e| MlsError::Policy(e.to_string()))?;
                let next = list
                    .apply(&update)
                    .map_err(|e| MlsError::Policy(e.to_string()))?;
                let bytes = next
                    .to_component_bytes()
                    .map_err(|e| MlsError::Policy(e.to_string()))?;
                out.entries.insert(id, bytes);
                out.list_update = Some(update);
            }
            (
                ids::PARTICIPANT_LIST | ids::ROLES_LIST | ids::BASE_ROOM_POLICY,
                AppDataUpdateOperation::Remove,
            ) => {
                return Err(MlsError::Policy(format!(
                    "component {id:#06x} cannot be removed"
                )));
            }
            (_, AppDataUpdateOperation::Update(bytes)) => {
                out.entries.insert(id, bytes.as_slice().to_vec());
                out.policy_changed = true;
            }
            (_, AppDataUpdateOperation::Remove) => {
                out.entries.remove(&id);
                out.policy_changed = true;
            }
        }
    }
    Ok(out)
}

/// What a commit does, in the policy's terms.
#[derive(Debug, Clone)]
pub struct CommitSummary {
    /// The committer.
    pub committer: Origin,
    /// Clients added, with the proposer of each Add.
    pub adds: Vec<(Origin, ClientId)>,
    /// Clients removed by Remove proposals, with the proposer of each.
    pub removes: Vec<(Origin, ClientId)>,
    /// Clients leaving by SelfRemove.
    pub self_removes: Vec<ClientId>,
    /// Who proposed the participant-list change.
    pub list_proposer: Option<Origin>,
    /// Proposal kinds the policy refuses outright (GroupContextExtensions, custom, ...).
    pub refused: Vec<&'static str>,
    /// A PSK proposal is included.
    pub psk: bool,
    /// A ReInit proposal is included.
    pub reinit: bool,
    /// Clients updating their leaf by Update proposal, with the seconds since each last
    /// updated it (`u64::MAX` until the caller, who keeps the time, fills it in).
    pub updates: Vec<(ClientId, u64)>,
    /// The join link an external commit presents in its authenticated data.
    pub join_code: Option<JoinCode>,
    /// The resolved policy.
    pub app_data: ResolvedAppData,
}

impl CommitSummary {
    /// An empty summary for `committer`.
    pub fn new(committer: Origin, app_data: ResolvedAppData) -> Self {
        Self {
            committer,
            adds: Vec::new(),
            removes: Vec::new(),
            self_removes: Vec::new(),
            list_proposer: None,
            refused: Vec::new(),
            psk: false,
            reinit: false,
            updates: Vec::new(),
            join_code: None,
            app_data,
        }
    }

    /// Records one proposal of the commit, sent by `proposer`; `leaf_client` names the
    /// client at a leaf of the current tree.
    pub fn record(
        &mut self,
        proposer: Origin,
        proposal: &Proposal,
        leaf_client: &dyn Fn(u32) -> Option<ClientId>,
        added: impl Fn() -> Result<ClientId, MlsError>,
    ) -> Result<(), MlsError> {
        match proposal {
            Proposal::Add(_) => self.adds.push((proposer, added()?)),
            Proposal::Remove(r) => {
                let target = leaf_client(r.removed().u32())
                    .ok_or_else(|| MlsError::Malformed("Remove of an empty leaf".into()))?;
                self.removes.push((proposer, target));
            }
            Proposal::SelfRemove => match proposer {
                Origin::Member(c) => self.self_removes.push(c),
                _ => return Err(MlsError::Malformed("SelfRemove from a non-member".into())),
            },
            Proposal::AppDataUpdate(p) if p.component_id() == ids::PARTICIPANT_LIST => {
                self.list_proposer = Some(proposer);
            }
            Proposal::AppDataUpdate(_) | Proposal::ExternalInit(_) => {}
            Proposal::PreSharedKey(_) => self.psk = true,
            Proposal::ReInit(_) => self.reinit = true,
            Proposal::Update(_) => match proposer {
                Origin::Member(c) => self.updates.push((c, u64::MAX)),
                _ => return Err(MlsError::Malformed("Update from a non-member".into())),
            },
            Proposal::GroupContextExtensions(_) => self.refused.push("GroupContextExtensions"),
            _ => self.refused.push("an unsupported proposal type"),
        }
        Ok(())
    }
}

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
            (_, role) => Action::ChangeRole { target: who, role },
        };
        decider.decide(actor, action)?;
    }
    Ok(())
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
    let committer = summary.committer.actor();
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
    if let Origin::Joiner(joiner) = &summary.committer {
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

/// Authorizes the Remove and SelfRemove proposals of a summary, each as its proposer's
/// operation.
fn authorize_removals(decider: &mut Decider<'_>, summary: &CommitSummary) -> Result<(), MlsError> {
    for (proposer, client) in &summary.removes {
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

/// The origin of a message's sender: `leaf_client` names members, `external` names the
/// system user behind an external-sender index.
pub fn origin_of(
    sender: &Sender,
    leaf_client: &dyn Fn(u32) -> Option<ClientId>,
    joiner: impl Fn() -> Result<ClientId, MlsError>,
    external: &dyn Fn(&SenderExtensionIndex) -> Option<UserId>,
) -> Result<Origin, MlsError> {
    match sender {
        Sender::Member(leaf) => leaf_client(leaf.u32())
            .map(Origin::Member)
            .ok_or_else(|| MlsError::Malformed("sender leaf is empty".into())),
        Sender::NewMemberCommit => Ok(Origin::Joiner(joiner()?)),
        Sender::External(index) => external(index)
            .map(Origin::System)
            .ok_or_else(|| MlsError::Malformed("unknown external sender".into())),
        Sender::NewMemberProposal => Err(MlsError::Policy(
            "join proposals are not used; join by external commit".into(),
        )),
    }
}

/// The clients of a room, by user.
pub type Clients = BTreeMap<UserId, BTreeSet<String>>;

/// Summarizes a staged commit with its authenticated data (`aad`): its proposals in the
/// policy's terms, and the clients it adds to and removes from the group.
pub fn summarize(
    staged: &StagedCommit,
    committer: Origin,
    aad: &[u8],
    app_data: ResolvedAppData,
    leaf_client: &dyn Fn(u32) -> Option<ClientId>,
    external: &dyn Fn(&SenderExtensionIndex) -> Option<UserId>,
) -> Result<(CommitSummary, ClientDelta), MlsError> {
    let mut summary = CommitSummary::new(committer.clone(), app_data);
    let mut delta = ClientDelta::default();
    if let Origin::Joiner(joiner) = &committer {
        delta.added.push(joiner.clone());
        summary.join_code = JoinCode::from_aad(aad)?;
    }
    for queued in staged.queued_proposals() {
        let proposer = origin_of(
            queued.sender(),
            leaf_client,
            || match &committer {
                Origin::Joiner(c) => Ok(c.clone()),
                _ => Err(MlsError::Malformed("unexpected new member".into())),
            },
            external,
        )?;
        let proposal = queued.proposal();
        let added = || match proposal {
            Proposal::Add(add) => client_of(add.key_package().leaf_node().credential()),
            _ => Err(MlsError::Malformed("not an Add".into())),
        };
        summary.record(proposer, proposal, leaf_client, added)?;
    }
    delta
        .added
        .extend(summary.adds.iter().map(|(_, c)| c.clone()));
    delta.removed.extend(
        summary
            .self_removes
            .iter()
            .chain(summary.removes.iter().map(|(_, c)| c))
            .cloned(),
    );
    Ok((summary, delta))
}

fn add_client(clients: &mut Clients, client: &ClientId) -> Result<(), MlsError> {
    if !clients
        .entry(client.user().clone())
        .or_default()
        .insert(client.name().to_owned())
    {
        return Err(MlsError::Policy(format!(
            "{client} is already in the group"
        )));
    }
    Ok(())
}

/// Takes `client` out of a clients map.
fn remove_client(clients: &mut Clients, client: &ClientId) {
    if let Some(set) = clients.get_mut(client.user()) {
        set.remove(client.name());
        if set.is_empty() {
            clients.remove(client.user());
        }
    }
}

/// Writes the resolved entries into an openmls dictionary updater: what changed is set, what
/// disappeared is removed.
pub fn fill_updater(
    updater: &mut openmls::group::AppDataDictionaryUpdater<'_>,
    current: &BTreeMap<ComponentId, Vec<u8>>,
    resolved: &ResolvedAppData,
) {
    for (id, bytes) in &resolved.entries {
        if current.get(id) != Some(bytes) {
            updater.set(openmls::component::ComponentData::from_parts(
                *id,
                bytes.clone().into(),
            ));
        }
    }
    for id in current
        .keys()
        .filter(|id| !resolved.entries.contains_key(id))
    {
        updater.remove(id);
    }
}
