//! A handshake in two steps: [`HubRoom::stage`] checks it against the room and says what it
//! would do without changing the room; [`HubRoom::merge`] makes it the room's state. A
//! provider decides what only it knows between the two and writes the staged state before
//! merging it, so its view of a room is never ahead of its database.

use std::collections::BTreeSet;
use std::sync::Arc;

use mimi_policy::Room;
use mimi_policy::id::{ClientId, UserId};
use mimi_policy::role::NO_ROLE;
use mimi_policy::room::ClientDelta;
use openmls::group::PublicGroup;
use openmls::prelude::{
    LeafNodeIndex, MlsMessageIn, ProcessedMessageContent, Proposal, ProtocolMessage,
    QueuedProposal, Sender, SenderExtensionIndex, SignaturePublicKey, StagedCommit,
};
use openmls_traits::OpenMlsProvider as _;
use tls_codec::Deserialize as _;

use super::{Accepted, Hub, HubRoom, ServedGroupInfo, check_group_info_shape};
use crate::MlsError;
use crate::commit::{
    After, Origin, authorize_commit, authorize_proposal, fill_updater, origin_of, resolve_app_data,
    summarize,
};
use crate::context::app_data_entries;
use crate::identity::{client_of, external_system_user};
use crate::stored::{entries, provider_with};

/// A handshake the hub accepts, checked against the room but not part of it: what it would
/// do, and the room as it will be. [`HubRoom::merge`] makes it the room's state; dropping
/// it leaves the room as it was.
pub struct Staged {
    /// The state it was staged on ([`HubRoom::state`]): it merges only into that state.
    base: u64,
    next: HubRoom,
    accepted: Accepted,
    delta: ClientDelta,
    newcomers: Vec<UserId>,
    placed: Vec<UserId>,
}

impl Staged {
    /// A commit (with the epoch it leads to) or a stored proposal.
    pub fn accepted(&self) -> &Accepted {
        &self.accepted
    }

    /// The epoch after the change (a proposal stays in the current one).
    pub fn epoch(&self) -> u64 {
        self.next.epoch()
    }

    /// The clients the change adds to the group.
    pub fn added(&self) -> &[ClientId] {
        &self.delta.added
    }

    /// The clients the change removes from the group.
    pub fn removed(&self) -> &[ClientId] {
        &self.delta.removed
    }

    /// The users whose clients the commit adds, other than the committer's own: their
    /// provider decides whether the committer may add them (consent, knocks, allowance).
    pub fn newcomers(&self) -> &[UserId] {
        &self.newcomers
    }

    /// The users the change gives a place in the room they had none in (a role, banned
    /// included): their knocks are answered.
    pub fn placed(&self) -> &[UserId] {
        &self.placed
    }

    /// The room after the change.
    pub fn room(&self) -> &Room {
        self.next.policy()
    }

    /// The hub's state after the change, as [`HubRoom::snapshot`] gives it.
    pub fn snapshot(&self) -> Result<Vec<u8>, MlsError> {
        self.next.snapshot()
    }

    /// The ratchet tree after the change, for the Welcome's joiners.
    pub fn ratchet_tree(&self) -> Result<Vec<u8>, MlsError> {
        self.next.ratchet_tree()
    }
}

/// What a checked handshake does to the room, before it is applied to the next state.
enum Checked {
    Proposal(Box<QueuedProposal>),
    Commit(Box<CheckedCommit>),
}

struct CheckedCommit {
    staged: StagedCommit,
    committer: Origin,
    after: After,
    delta: ClientDelta,
    /// Clients whose leaves the commit renews: the committer with a path, a joiner, the
    /// senders of committed Updates.
    refreshed: Vec<ClientId>,
    group_info: Vec<u8>,
    signer: SignaturePublicKey,
}

impl HubRoom {
    /// Checks one handshake message (a PublicMessage proposal or commit) against the room
    /// and stages it: every operation it carries is authorized by the room policy, a commit
    /// comes with the committer's GroupInfo for the new epoch, and the room stays as it is.
    /// The first valid commit for an epoch wins; later ones get [`MlsError::WrongEpoch`].
    pub fn stage(
        &self,
        hub: &Hub,
        message: &[u8],
        group_info: Option<&[u8]>,
    ) -> Result<Staged, MlsError> {
        self.stage_from(hub, None, message, group_info)
    }

    /// Like [`HubRoom::stage`] for a message a provider received from `submitter`, the
    /// client it authenticated: the message must be that client's own (a member's commit or
    /// proposal, or its external join).
    pub fn stage_as(
        &self,
        hub: &Hub,
        submitter: &ClientId,
        message: &[u8],
        group_info: Option<&[u8]>,
    ) -> Result<Staged, MlsError> {
        self.stage_from(hub, Some(submitter), message, group_info)
    }

    /// Makes a staged change the room's state. Refused (and the room left as it is) when
    /// the room changed since the change was staged: it was checked against another state.
    pub fn merge(&mut self, staged: Staged) -> Result<(), MlsError> {
        if staged.base != self.state {
            return Err(MlsError::StaleStage);
        }
        *self = staged.next;
        Ok(())
    }

    /// Stages and merges at once (for callers with nothing to decide or write between).
    pub fn process(
        &mut self,
        hub: &Hub,
        message: &[u8],
        group_info: Option<&[u8]>,
    ) -> Result<Accepted, MlsError> {
        let staged = self.stage(hub, message, group_info)?;
        let accepted = staged.accepted.clone();
        self.merge(staged)?;
        Ok(accepted)
    }

    /// [`HubRoom::stage_as`] and merge at once.
    pub fn process_as(
        &mut self,
        hub: &Hub,
        submitter: &ClientId,
        message: &[u8],
        group_info: Option<&[u8]>,
    ) -> Result<Accepted, MlsError> {
        let staged = self.stage_as(hub, submitter, message, group_info)?;
        let accepted = staged.accepted.clone();
        self.merge(staged)?;
        Ok(accepted)
    }

    /// A Remove proposal of `target` issued by the hub as external sender (a deleted device,
    /// a ban, a provider leaving), authorized as its system user's external proposal and
    /// staged like any proposal: the message, to fan out once the staged change is written
    /// and merged; the next commit must include it.
    pub fn stage_remove(
        &self,
        hub: &Hub,
        target: &ClientId,
    ) -> Result<(Vec<u8>, Staged), MlsError> {
        let leaf = self
            .group
            .members()
            .find(|m| client_of(&m.credential).ok().as_ref() == Some(target))
            .map(|m| m.index)
            .ok_or_else(|| MlsError::Policy(format!("{target} is not in the group")))?;
        let index = self.hub_sender_index(hub).ok_or_else(|| {
            MlsError::Policy("this hub is not an external sender of the room".into())
        })?;
        let message = openmls::prelude::ExternalProposal::new_remove::<
            openmls_rust_crypto::OpenMlsRustCrypto,
        >(
            leaf,
            self.group.group_id().clone(),
            self.group.group_context().epoch(),
            &hub.signer,
            SenderExtensionIndex::new(index),
        )
        .map_err(MlsError::openmls)?
        .to_bytes()
        .map_err(MlsError::openmls)?;
        let staged = self.stage(hub, &message, None)?;
        Ok((message, staged))
    }

    /// [`HubRoom::stage_remove`] and merge at once.
    pub fn propose_remove(&mut self, hub: &Hub, target: &ClientId) -> Result<Vec<u8>, MlsError> {
        let (message, staged) = self.stage_remove(hub, target)?;
        self.merge(staged)?;
        Ok(message)
    }

    fn stage_from(
        &self,
        hub: &Hub,
        submitter: Option<&ClientId>,
        message: &[u8],
        group_info: Option<&[u8]>,
    ) -> Result<Staged, MlsError> {
        let checked = self.check(hub, submitter, message, group_info)?;
        let mut next = self.fork()?;
        match checked {
            Checked::Proposal(proposal) => {
                next.group
                    .add_proposal(next.storage.storage(), *proposal)
                    .map_err(MlsError::openmls)?;
                Ok(Staged {
                    base: self.state,
                    next,
                    accepted: Accepted::Proposal,
                    delta: ClientDelta::default(),
                    newcomers: Vec::new(),
                    placed: Vec::new(),
                })
            }
            Checked::Commit(commit) => {
                let CheckedCommit {
                    staged,
                    committer,
                    after,
                    delta,
                    refreshed,
                    group_info,
                    signer,
                } = *commit;
                next.group
                    .merge_commit(next.storage.storage(), staged)
                    .map_err(MlsError::openmls)?;
                let now = hub.now();
                for client in &delta.removed {
                    next.updated.remove(client);
                }
                for client in refreshed.into_iter().chain(delta.added.iter().cloned()) {
                    next.updated.insert(client, now);
                }
                next.group_info = ServedGroupInfo::Pending {
                    bytes: group_info,
                    signer,
                };
                next.room = match after {
                    After::Rebuilt(room) => Arc::new(*room),
                    clients @ After::Clients(_) => {
                        let mut room = (*self.room).clone();
                        clients.apply(&mut room);
                        Arc::new(room)
                    }
                };
                let committer_user = match &committer {
                    Origin::Member(c) | Origin::Joiner(c) => Some(c.user()),
                    Origin::System(_) => None,
                };
                let newcomers: BTreeSet<UserId> = delta
                    .added
                    .iter()
                    .map(ClientId::user)
                    .filter(|u| Some(*u) != committer_user)
                    .cloned()
                    .collect();
                let placed = next
                    .room
                    .participants()
                    .entries()
                    .iter()
                    .filter(|e| self.room.role_of(&e.user) == NO_ROLE)
                    .map(|e| e.user.clone())
                    .collect();
                Ok(Staged {
                    base: self.state,
                    accepted: Accepted::Commit {
                        epoch: next.epoch(),
                    },
                    next,
                    delta,
                    newcomers: newcomers.into_iter().collect(),
                    placed,
                })
            }
        }
    }

    /// An independent copy of the room's state, for a staged change to be applied to.
    fn fork(&self) -> Result<HubRoom, MlsError> {
        let storage = provider_with(entries(&self.storage)?)?;
        let group = PublicGroup::load(storage.storage(), self.group.group_id())
            .map_err(MlsError::openmls)?
            .ok_or_else(|| MlsError::Openmls("the room's group is not in its store".into()))?;
        Ok(HubRoom {
            state: super::new_state(),
            storage,
            group,
            group_info: self.group_info.clone(),
            room: Arc::clone(&self.room),
            updated: self.updated.clone(),
        })
    }

    /// Checks a handshake message against the room, changing nothing.
    fn check(
        &self,
        hub: &Hub,
        submitter: Option<&ClientId>,
        message: &[u8],
        group_info: Option<&[u8]>,
    ) -> Result<Checked, MlsError> {
        let message = MlsMessageIn::tls_deserialize_exact(message).map_err(MlsError::Decode)?;
        let protocol = message
            .try_into_protocol_message()
            .map_err(|_| MlsError::Malformed("not a handshake message".into()))?;
        if !matches!(protocol, ProtocolMessage::PublicMessage(_)) {
            return Err(MlsError::Malformed(
                "handshake messages must be PublicMessages".into(),
            ));
        }
        if protocol.group_id() != self.group.group_id() {
            return Err(MlsError::Malformed("message for another group".into()));
        }
        let current = self.epoch();
        if protocol.epoch().as_u64() != current {
            return Err(MlsError::WrongEpoch { current });
        }
        let crypto = hub.provider.crypto();
        let processed = self
            .group
            .process_message(crypto, protocol)
            .map_err(MlsError::openmls)?;
        let sender = processed.sender().clone();
        let aad = processed.aad().to_vec();
        let joiner_credential = processed.credential().clone();
        let origin = origin_of(
            &sender,
            &|leaf| self.leaf_client(leaf),
            || client_of(&joiner_credential),
            &|index| external_system_user(self.group.group_context(), index),
        )?;
        if let Some(submitter) = submitter {
            let own = matches!(&origin, Origin::Member(c) | Origin::Joiner(c) if c == submitter);
            if !own {
                return Err(MlsError::Credential(format!(
                    "the message is not {submitter}'s own"
                )));
            }
        }
        match processed.into_content() {
            ProcessedMessageContent::ProposalMessage(proposal) => {
                authorize_proposal(
                    &self.room,
                    origin,
                    proposal.proposal(),
                    &|leaf| self.leaf_client(leaf),
                    &|client| self.since_update(hub, client),
                )?;
                Ok(Checked::Proposal(proposal))
            }
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                let app_data = resolve_app_data(&app_data_entries(self.group.group_context()), [])?;
                self.check_commit(hub, origin, *staged, &aad, app_data, group_info)
            }
            ProcessedMessageContent::UnresolvedAppDataCommit(unresolved) => {
                let current = app_data_entries(self.group.group_context());
                let app_data = resolve_app_data(&current, unresolved.app_data_update_proposals())?;
                let mut updater = self.group.app_data_dictionary_updater();
                fill_updater(&mut updater, &current, &app_data);
                let changes = updater.changes();
                let staged = self
                    .group
                    .stage_app_data_commit(crypto, *unresolved, changes)
                    .map_err(MlsError::openmls)?;
                self.check_commit(hub, origin, staged, &aad, app_data, group_info)
            }
            _ => Err(MlsError::Malformed(
                "only proposals and commits go to the hub".into(),
            )),
        }
    }

    fn check_commit(
        &self,
        hub: &Hub,
        committer: Origin,
        staged: StagedCommit,
        aad: &[u8],
        app_data: crate::commit::ResolvedAppData,
        group_info: Option<&[u8]>,
    ) -> Result<Checked, MlsError> {
        let (mut summary, delta) = summarize(
            &staged,
            committer.clone(),
            aad,
            app_data,
            &|leaf| self.leaf_client(leaf),
            &|index| external_system_user(self.group.group_context(), index),
        )?;
        for (client, since) in &mut summary.updates {
            *since = self.since_update(hub, client);
        }
        let mut refreshed: Vec<ClientId> = match &committer {
            Origin::Member(c) if staged.update_path_leaf_node().is_some() => vec![c.clone()],
            Origin::Joiner(c) => vec![c.clone()],
            _ => Vec::new(),
        };
        if matches!(committer, Origin::Member(_)) {
            self.check_hub_removals(hub, &staged)?;
        }
        let after = authorize_commit(&self.room, &summary, delta.clone())?;
        let group_info = group_info.ok_or_else(|| {
            MlsError::GroupInfo("a commit must come with the GroupInfo of the new epoch".into())
        })?;
        check_group_info_shape(group_info, staged.group_context())?;
        let signer = self.committer_leaf_key(&staged, &committer)?;
        refreshed.extend(summary.updates.into_iter().map(|(c, _)| c));
        Ok(Checked::Commit(Box::new(CheckedCommit {
            staged,
            committer,
            after,
            delta,
            refreshed,
            group_info: group_info.to_vec(),
            signer,
        })))
    }

    /// The index of this hub in the room's `external_senders`.
    fn hub_sender_index(&self, hub: &Hub) -> Option<u32> {
        let me = hub.external_sender();
        self.group
            .group_context()
            .extensions()
            .external_senders()
            .and_then(|senders| senders.iter().position(|s| *s == me))
            .and_then(|i| u32::try_from(i).ok())
    }

    /// A member's commit must remove every client the hub proposed to remove in this epoch
    /// (by its proposal or by one of its own): otherwise a member could keep a deleted
    /// device or a banned user's client in the group by committing around the proposal.
    /// External commits (joins) cannot carry proposals by reference and are not held to it.
    fn check_hub_removals(&self, hub: &Hub, staged: &StagedCommit) -> Result<(), MlsError> {
        let Some(index) = self.hub_sender_index(hub) else {
            return Ok(());
        };
        let hub_sender = Sender::External(SenderExtensionIndex::new(index));
        let removed: Vec<LeafNodeIndex> = staged
            .remove_proposals()
            .map(|r| r.remove_proposal().removed())
            .collect();
        let queued = self
            .group
            .queued_proposals(self.storage.storage())
            .map_err(MlsError::openmls)?;
        for (_, proposal) in queued {
            if let Proposal::Remove(remove) = proposal.proposal()
                && *proposal.sender() == hub_sender
                && !removed.contains(&remove.removed())
            {
                let who = self.leaf_client(remove.removed().u32()).map_or_else(
                    || format!("leaf {}", remove.removed().u32()),
                    |c| c.to_string(),
                );
                return Err(MlsError::MissingProposals(format!(
                    "the commit leaves out the provider's Remove of {who}; receive it (sync) and \
                     commit again"
                )));
            }
        }
        Ok(())
    }

    /// The committer's signature key in the new epoch.
    fn committer_leaf_key(
        &self,
        staged: &StagedCommit,
        committer: &Origin,
    ) -> Result<SignaturePublicKey, MlsError> {
        if let Some(leaf) = staged.update_path_leaf_node() {
            return Ok(leaf.signature_key().clone());
        }
        let Origin::Member(client) = committer else {
            return Err(MlsError::GroupInfo(
                "cannot tell who signed the GroupInfo".into(),
            ));
        };
        self.group
            .members()
            .find(|m| client_of(&m.credential).ok().as_ref() == Some(client))
            .map(|m| SignaturePublicKey::from(m.signature_key))
            .ok_or_else(|| MlsError::GroupInfo("the committer has no leaf".into()))
    }
}
