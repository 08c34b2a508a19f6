//! One mapping from an MLS commit to policy operations, used by the hub and by every member:
//! resolve the AppDataUpdate proposals into the next policy, turn the proposals into
//! operations (add, remove, SelfRemove, external join, role changes, policy update, PSK,
//! ReInit), authorize each with `mimi_policy`, and check the room the commit leads to.

use std::collections::{BTreeMap, BTreeSet};

use mimi_policy::Actor;
use mimi_policy::component::{ComponentId, PolicyComponent, ids};
use mimi_policy::id::{ClientId, UserId};
use mimi_policy::participant_list::{ParticipantList, ParticipantListUpdate};
use mimi_policy::room::ClientDelta;
use openmls::prelude::{
    AppDataUpdateOperation, AppDataUpdateProposal, Proposal, Sender, SenderExtensionIndex,
    StagedCommit,
};

use crate::identity::client_of;
use crate::join_link::JoinCode;

use crate::MlsError;

mod authorize;

pub use authorize::{After, Authorized, authorize_commit, authorize_proposal};

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
    /// The claims the joiner's provider asserts in an external commit's authenticated data,
    /// verified (`crate::claims`).
    pub joiner_claims: Vec<mimi_policy::preauth::Claim>,
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
            joiner_claims: Vec::new(),
            app_data,
        }
    }

    /// The committer as the policy sees it: a joiner with the claims its provider asserts.
    pub fn committer_actor(&self) -> Actor {
        let mut actor = self.committer.actor();
        if let (Origin::Joiner(_), Actor::User(u)) = (&self.committer, &mut actor) {
            for c in &self.joiner_claims {
                u.claims.insert(c.clone());
            }
        }
        actor
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

/// Reads and verifies the claims a joiner's provider asserts in its external commit's
/// authenticated data (`crate::claims::asserted_claims` with the group's context).
pub type ClaimCheck<'a> =
    &'a dyn Fn(&ClientId, &[u8]) -> Result<Vec<mimi_policy::preauth::Claim>, MlsError>;

/// Summarizes a staged commit with its authenticated data (`aad`): its proposals in the
/// policy's terms, and the clients it adds to and removes from the group.
pub fn summarize(
    staged: &StagedCommit,
    committer: Origin,
    aad: &[u8],
    app_data: ResolvedAppData,
    leaf_client: &dyn Fn(u32) -> Option<ClientId>,
    external: &dyn Fn(&SenderExtensionIndex) -> Option<UserId>,
    claims: ClaimCheck<'_>,
) -> Result<(CommitSummary, ClientDelta), MlsError> {
    let mut summary = CommitSummary::new(committer.clone(), app_data);
    let mut delta = ClientDelta::default();
    if let Origin::Joiner(joiner) = &committer {
        delta.added.push(joiner.clone());
        summary.join_code = JoinCode::from_aad(aad)?;
        summary.joiner_claims = claims(joiner, aad)?;
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
