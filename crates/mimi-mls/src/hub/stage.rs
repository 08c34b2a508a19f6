//! A handshake in two steps: [`HubRoom::stage`] checks it against the room and says what it
//! would do without changing the room; [`HubRoom::merge`] makes it the room's state. A
//! provider decides what only it knows between the two and writes the staged state before
//! merging it, so its view of a room is never ahead of its database.

use std::collections::BTreeSet;
use std::sync::Arc;

use mimi_policy::id::{ClientId, UserId};
use mimi_policy::role::NO_ROLE;
use mimi_policy::room::ClientDelta;
use mimi_policy::{Operation, Room};
use openmls::prelude::{
    LeafNodeIndex, MlsMessageIn, ProcessedMessageContent, Proposal, ProtocolMessage,
    QueuedProposal, Sender, SenderExtensionIndex, SignaturePublicKey, StagedCommit,
};
use openmls_traits::OpenMlsProvider as _;
use tls_codec::Deserialize as _;

use super::{
    Accepted, Hub, HubRoom, ServedGroupInfo, check_group_info_shape, check_group_info_tag,
};
use crate::MlsError;
use crate::commit::{
    After, Origin, authorize_commit, authorize_proposal, fill_updater, origin_of, resolve_app_data,
    summarize,
};
use crate::context::{app_data_entries, room_of};
use crate::identity::{client_of, external_system_user};

/// A handshake the hub accepts, checked against the room but not part of it: what it would
/// do and the room as it will be. [`HubRoom::merge`] applies it; dropping it leaves the room
/// as it was. Staging copies nothing of the group: the change is openmls' staged commit (or
/// the queued proposal), merged into the room's own state.
pub struct Staged {
    /// The state it was staged on ([`HubRoom::state`]): it merges only into that state.
    base: u64,
    change: Change,
    accepted: Accepted,
    epoch: u64,
    operations: Vec<Operation>,
    delta: ClientDelta,
    newcomers: Vec<UserId>,
    placed: Vec<UserId>,
    room: RoomAfter,
}

/// The room after a staged change.
enum RoomAfter {
    /// The room before (a proposal changes it only once committed).
    Same(Arc<Room>),
    /// A new policy: the room rebuilt from the new group context.
    Rebuilt(Arc<Room>),
    /// The room before with the change's clients: built on first asking
    /// ([`Staged::room`]), otherwise applied in place when merged.
    Clients {
        before: Arc<Room>,
        after: std::sync::OnceLock<Arc<Room>>,
    },
}

impl Staged {
    /// A commit (with the epoch it leads to) or a stored proposal.
    pub fn accepted(&self) -> &Accepted {
        &self.accepted
    }

    /// The epoch after the change (a proposal stays in the current one).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The policy operations the change carries, each decided against the room before it
    /// and allowed, in the order they were decided. The provider's own decisions (consent,
    /// knocks, the allowance for [`Staged::newcomers`]) come on top.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The clients the change adds to the group.
    pub fn added(&self) -> &[ClientId] {
        &self.delta.added
    }

    /// The clients the change removes from the group.
    pub fn removed(&self) -> &[ClientId] {
        &self.delta.removed
    }

    /// The KeyPackage references (RFC 9420 §5.2) of the clients a commit adds by
    /// KeyPackage, with the client each names: a provider checks that another provider's
    /// device came with a KeyPackage that provider handed out.
    pub fn added_key_package_refs(&self, hub: &Hub) -> Vec<(ClientId, Vec<u8>)> {
        let Change::Commit(commit) = &self.change else {
            return Vec::new();
        };
        commit
            .staged
            .add_proposals()
            .filter_map(|add| {
                let kp = add.add_proposal().key_package();
                let client = client_of(kp.leaf_node().credential()).ok()?;
                let reference = kp.hash_ref(hub.provider.crypto()).ok()?;
                Some((client, reference.as_slice().to_vec()))
            })
            .collect()
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
        match &self.room {
            RoomAfter::Same(room) | RoomAfter::Rebuilt(room) => room,
            RoomAfter::Clients { before, after } => after.get_or_init(|| {
                let mut room = (**before).clone();
                room.apply_client_delta(&self.delta);
                Arc::new(room)
            }),
        }
    }

    /// The committer's GroupInfo for the new epoch (commits only), to log with the commit:
    /// a room restored from an older snapshot serves it again after replaying the commit.
    pub fn group_info(&self) -> Option<&[u8]> {
        match &self.change {
            Change::Commit(commit) => Some(&commit.group_info),
            Change::Proposal(_) => None,
        }
    }
}

/// What a staged handshake does to the group when merged.
enum Change {
    Proposal(Box<QueuedProposal>),
    Commit(Box<CommitChange>),
}

struct CommitChange {
    staged: StagedCommit,
    /// Clients whose leaves the commit renews: the committer with a path, a joiner, the
    /// senders of committed Updates.
    refreshed: Vec<ClientId>,
    /// Clients the commit removes.
    removed: Vec<ClientId>,
    /// When, on the hub's clock.
    at: u64,
    group_info: Vec<u8>,
    signer: SignaturePublicKey,
}

/// How a handshake is checked: decided against the room policy (a new one), or replayed from
/// the room's log (decided when it was logged).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Decide,
    Replay,
}

/// A checked handshake: the change and, when decided, the operations allowed and the room
/// it leads to.
struct Checked {
    change: Change,
    operations: Vec<Operation>,
    /// The room after a decided commit (`None` for proposals and replays).
    after: Option<After>,
    delta: ClientDelta,
    committer: Option<Origin>,
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
        self.apply(staged.change)?;
        match staged.room {
            RoomAfter::Same(_) => {}
            RoomAfter::Rebuilt(room) => self.room = room,
            RoomAfter::Clients { before, after } => match after.into_inner() {
                Some(room) => self.room = room,
                None => {
                    // Not asked for: the delta goes into the room itself (no copy while no
                    // other staged change shares it).
                    drop(before);
                    Arc::make_mut(&mut self.room).apply_client_delta(&staged.delta);
                }
            },
        }
        Ok(())
    }

    /// Applies a handshake of the room's log that followed the snapshot the room was
    /// restored from: it was decided when it was logged, so only MLS checks it again (a
    /// commit with the GroupInfo logged with it).
    pub fn replay(
        &mut self,
        hub: &Hub,
        message: &[u8],
        group_info: Option<&[u8]>,
    ) -> Result<(), MlsError> {
        let checked = self.check(hub, None, message, group_info, Mode::Replay)?;
        self.apply(checked.change)?;
        self.room = Arc::new(room_of(self.group.group_context(), self.group.members())?);
        Ok(())
    }

    /// Merges a change into the group, with the leaf times and GroupInfo it brings.
    fn apply(&mut self, change: Change) -> Result<(), MlsError> {
        self.state = super::new_state();
        match change {
            Change::Proposal(proposal) => self
                .group
                .add_proposal(self.storage.storage(), *proposal)
                .map_err(MlsError::openmls),
            Change::Commit(commit) => {
                let CommitChange {
                    staged,
                    refreshed,
                    removed,
                    at,
                    group_info,
                    signer,
                } = *commit;
                self.group
                    .merge_commit(self.storage.storage(), staged)
                    .map_err(MlsError::openmls)?;
                for client in &removed {
                    self.updated.remove(client);
                }
                for client in refreshed {
                    self.updated.insert(client, at);
                }
                self.group_info = ServedGroupInfo::Pending {
                    bytes: group_info,
                    signer,
                };
                Ok(())
            }
        }
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
        let message = openmls::prelude::ExternalProposal::new_remove::<crate::store::MlsProvider>(
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
        let Checked {
            change,
            operations,
            after,
            delta,
            committer,
        } = self.check(hub, submitter, message, group_info, Mode::Decide)?;
        let epoch = match &change {
            Change::Commit(commit) => commit.staged.epoch().as_u64(),
            Change::Proposal(_) => self.epoch(),
        };
        let room = match after {
            None => RoomAfter::Same(Arc::clone(&self.room)),
            Some(After::Rebuilt(room)) => RoomAfter::Rebuilt(Arc::new(*room)),
            // The participant list is as it was: nobody is placed.
            Some(After::Clients(_)) => RoomAfter::Clients {
                before: Arc::clone(&self.room),
                after: std::sync::OnceLock::new(),
            },
        };
        let committer_user = match &committer {
            Some(Origin::Member(c) | Origin::Joiner(c)) => Some(c.user()),
            _ => None,
        };
        let newcomers: BTreeSet<UserId> = delta
            .added
            .iter()
            .map(ClientId::user)
            .filter(|u| Some(*u) != committer_user)
            .cloned()
            .collect();
        let placed = match &room {
            RoomAfter::Rebuilt(after) => after
                .participants()
                .entries()
                .iter()
                .filter(|e| self.room.role_of(&e.user) == NO_ROLE)
                .map(|e| e.user.clone())
                .collect(),
            RoomAfter::Same(_) | RoomAfter::Clients { .. } => Vec::new(),
        };
        Ok(Staged {
            base: self.state,
            accepted: match &change {
                Change::Commit(_) => Accepted::Commit { epoch },
                Change::Proposal(_) => Accepted::Proposal,
            },
            change,
            epoch,
            operations,
            delta,
            newcomers: newcomers.into_iter().collect(),
            placed,
            room,
        })
    }

    /// Checks a handshake message against the room, changing nothing.
    fn check(
        &self,
        hub: &Hub,
        submitter: Option<&ClientId>,
        message: &[u8],
        group_info: Option<&[u8]>,
        mode: Mode,
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
        // A commit's confirmation tag, which its GroupInfo must repeat (below).
        let tag = match &protocol {
            ProtocolMessage::PublicMessage(m) => m.confirmation_tag().cloned(),
            _ => None,
        };
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
        let current = app_data_entries(self.group.group_context());
        let (staged, app_data) = match processed.into_content() {
            ProcessedMessageContent::ProposalMessage(proposal) => {
                let operations = match mode {
                    Mode::Decide => authorize_proposal(
                        &self.room,
                        origin,
                        proposal.proposal(),
                        &|leaf| self.leaf_client(leaf),
                        &|client| self.since_update(hub, client),
                    )?,
                    Mode::Replay => Vec::new(),
                };
                return Ok(Checked {
                    change: Change::Proposal(proposal),
                    operations,
                    after: None,
                    delta: ClientDelta::default(),
                    committer: None,
                });
            }
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                (*staged, resolve_app_data(&current, [])?)
            }
            ProcessedMessageContent::UnresolvedAppDataCommit(unresolved) => {
                let app_data = resolve_app_data(&current, unresolved.app_data_update_proposals())?;
                let mut updater = self.group.app_data_dictionary_updater();
                fill_updater(&mut updater, &current, &app_data);
                let changes = updater.changes();
                let staged = self
                    .group
                    .stage_app_data_commit(crypto, *unresolved, changes)
                    .map_err(MlsError::openmls)?;
                (staged, app_data)
            }
            _ => {
                return Err(MlsError::Malformed(
                    "only proposals and commits go to the hub".into(),
                ));
            }
        };
        let checked = self.check_commit(hub, origin, staged, &aad, app_data, group_info, mode)?;
        // Decided once, when taken: a logged commit replays as it was taken.
        if let (Mode::Decide, Some(tag), Change::Commit(commit)) = (mode, &tag, &checked.change) {
            check_group_info_tag(&commit.group_info, tag)?;
        }
        Ok(checked)
    }

    #[allow(clippy::too_many_arguments)]
    fn check_commit(
        &self,
        hub: &Hub,
        committer: Origin,
        staged: StagedCommit,
        aad: &[u8],
        app_data: crate::commit::ResolvedAppData,
        group_info: Option<&[u8]>,
        mode: Mode,
    ) -> Result<Checked, MlsError> {
        let (mut summary, delta) = summarize(
            &staged,
            committer.clone(),
            aad,
            app_data,
            &|leaf| self.leaf_client(leaf),
            &|index| external_system_user(self.group.group_context(), index),
            // Expiry is the hub's to check, when it decides; a logged commit replays as taken.
            &|joiner, aad| {
                crate::claims::asserted_claims(
                    aad,
                    joiner,
                    self.group.group_context(),
                    hub.provider.crypto(),
                    matches!(mode, Mode::Decide).then(|| hub.now()),
                )
            },
        )?;
        for (client, since) in &mut summary.updates {
            *since = self.since_update(hub, client);
        }
        let mut refreshed: Vec<ClientId> = match &committer {
            Origin::Member(c) if staged.update_path_leaf_node().is_some() => vec![c.clone()],
            Origin::Joiner(c) => vec![c.clone()],
            _ => Vec::new(),
        };
        refreshed.extend(delta.added.iter().cloned());
        let (operations, after) = match mode {
            Mode::Decide => {
                if matches!(committer, Origin::Member(_)) {
                    self.check_hub_removals(hub, &staged)?;
                }
                let authorized = authorize_commit(&self.room, &summary, delta.clone())?;
                (authorized.operations, Some(authorized.after))
            }
            Mode::Replay => (Vec::new(), None),
        };
        let group_info = group_info.ok_or_else(|| {
            MlsError::GroupInfo("a commit must come with the GroupInfo of the new epoch".into())
        })?;
        check_group_info_shape(group_info, staged.group_context())?;
        let signer = self.committer_leaf_key(&staged, &committer)?;
        refreshed.extend(summary.updates.into_iter().map(|(c, _)| c));
        Ok(Checked {
            change: Change::Commit(Box::new(CommitChange {
                staged,
                refreshed,
                removed: delta.removed.clone(),
                at: hub.now(),
                group_info: group_info.to_vec(),
                signer,
            })),
            operations,
            after,
            delta,
            committer: Some(committer),
        })
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
