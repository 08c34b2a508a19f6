//! The member side: a client's own key material and its groups.

use mimi_policy::component::{PolicyComponent, ids};
use mimi_policy::effect::Change;
use mimi_policy::id::ClientId;
use mimi_policy::operation::{Action, Target};
use mimi_policy::participant_list::{IndexRolePair, ParticipantListUpdate, UserRolePair};
use mimi_policy::{Actor, Operation, Room, authorize, plan};
use openmls::component::ComponentData;
use openmls::group::{ProposalStore, PublicGroup};
use openmls::messages::group_info::VerifiableGroupInfo;
use openmls::prelude::{
    AppDataUpdateOperation, AppDataUpdateProposal, CredentialWithKey, ExternalSender, KeyPackage,
    LeafNodeIndex, LeafNodeParameters, MlsGroup, MlsGroupCreateConfig, MlsGroupJoinConfig,
    MlsMessageBodyIn, MlsMessageIn, MlsMessageOut, PURE_PLAINTEXT_WIRE_FORMAT_POLICY,
    ProcessedMessageContent, Proposal, RatchetTreeIn, StagedWelcome,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::OpenMlsProvider as _;
use tls_codec::{Deserialize as _, Serialize as _};

use crate::commit::{
    Origin, authorize_commit, fill_updater, origin_of, resolve_app_data, summarize,
};
use crate::context::{
    app_data_entries, group_context_extensions, group_id, leaf_capabilities, room_of,
};
use crate::identity::{client_of, credential_of, external_system_user};
use crate::join_link::JoinCode;
use crate::key_package::ValidKeyPackage;
use crate::{CIPHERSUITE, MlsError};
use mimi_policy::role::RoleIndex;

mod saved;

/// A client: its identity, signature key and MLS provider (crypto and storage).
pub struct Client {
    id: ClientId,
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
}

impl Client {
    /// A new client with a fresh signature key.
    pub fn new(id: ClientId) -> Result<Self, MlsError> {
        let provider = OpenMlsRustCrypto::default();
        let signer = crate::new_signer()?;
        signer
            .store(provider.storage())
            .map_err(MlsError::openmls)?;
        Ok(Self::from_parts(id, provider, signer))
    }

    fn from_parts(id: ClientId, provider: OpenMlsRustCrypto, signer: SignatureKeyPair) -> Self {
        let credential = CredentialWithKey {
            credential: credential_of(&id),
            signature_key: signer.public().into(),
        };
        Self {
            id,
            provider,
            signer,
            credential,
        }
    }

    /// The client's ID.
    pub fn id(&self) -> &ClientId {
        &self.id
    }

    /// The client's MLS provider.
    pub fn provider(&self) -> &OpenMlsRustCrypto {
        &self.provider
    }

    /// The client's signature key, for callers that build their own MLS messages.
    pub fn signer(&self) -> &SignatureKeyPair {
        &self.signer
    }

    /// A fresh KeyPackage, as the `MLSMessage` bytes uploaded to the provider.
    pub fn key_package(&self) -> Result<Vec<u8>, MlsError> {
        let bundle = KeyPackage::builder()
            .leaf_node_capabilities(leaf_capabilities())
            .build(
                CIPHERSUITE,
                &self.provider,
                &self.signer,
                self.credential.clone(),
            )
            .map_err(MlsError::openmls)?;
        MlsMessageOut::from(bundle.key_package().clone())
            .to_bytes()
            .map_err(MlsError::openmls)
    }

    /// Creates the MLS group of `room`, which must hold only this client, after checking
    /// that the room policy lets this client's user create it.
    pub fn create_room(&self, room: &Room, hub: &ExternalSender) -> Result<RoomGroup, MlsError> {
        let Some(id) = &room.id else {
            return Err(MlsError::Policy("the room has no ID".into()));
        };
        let only_me = room.client_total() == 1 && room.has_client(self.id.user(), self.id.name());
        if !only_me {
            return Err(MlsError::Policy(format!(
                "a new room's group holds only its creator's client {}",
                self.id
            )));
        }
        let op = Operation {
            actor: Actor::user(self.id.user().clone(), Some(self.id.name())),
            action: Action::CreateRoom {
                existing_rooms: Vec::new(),
            },
        };
        let decision = authorize(room, &op);
        if !decision.is_allowed() {
            return Err(MlsError::Denied(decision));
        }
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(CIPHERSUITE)
            .wire_format_policy(PURE_PLAINTEXT_WIRE_FORMAT_POLICY)
            .use_ratchet_tree_extension(false)
            .max_past_epochs(MAX_PAST_EPOCHS)
            .capabilities(leaf_capabilities())
            .with_group_context_extensions(group_context_extensions(room, hub)?)
            .build();
        let group = MlsGroup::new_with_group_id(
            &self.provider,
            &self.signer,
            &config,
            group_id(id),
            self.credential.clone(),
        )
        .map_err(MlsError::openmls)?;
        Ok(RoomGroup { group })
    }

    /// Joins a room's group from a Welcome and the ratchet tree the hub serves, and checks
    /// the room policy the group carries.
    pub fn join(&self, welcome: &[u8], ratchet_tree: &[u8]) -> Result<RoomGroup, MlsError> {
        let message = MlsMessageIn::tls_deserialize_exact(welcome)
            .map_err(|e| MlsError::Malformed(e.to_string()))?;
        let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
            return Err(MlsError::Malformed("not a Welcome".into()));
        };
        let tree = RatchetTreeIn::tls_deserialize_exact(ratchet_tree)
            .map_err(|e| MlsError::Malformed(e.to_string()))?;
        let group =
            StagedWelcome::new_from_welcome(&self.provider, &join_config(), welcome, Some(tree))
                .map_err(MlsError::openmls)?
                .into_group(&self.provider)
                .map_err(MlsError::openmls)?;
        let group = RoomGroup { group };
        group.room()?;
        Ok(group)
    }

    /// Joins a room by external commit, from the GroupInfo and ratchet tree the hub serves,
    /// with the participant-list update the room policy plans for the join; `link` is the
    /// join link the joiner holds, if it joins by one (carried in the commit's authenticated
    /// data). The returned group is ready once the hub accepts the commit (on refusal, drop
    /// it).
    pub fn join_external(
        &self,
        group_info: &[u8],
        ratchet_tree: &[u8],
        link: Option<&JoinCode>,
    ) -> Result<(RoomGroup, OutgoingCommit), MlsError> {
        let room = room_of_group_info(group_info, ratchet_tree)?;
        let op = Operation {
            actor: self.actor(),
            action: Action::ExternalJoin {
                link: link.map(JoinCode::to_link),
                role: None,
            },
        };
        let authorized = plan(&room, &op).map_err(MlsError::Denied)?;
        let aad = link.map(JoinCode::to_aad).transpose()?.unwrap_or_default();
        let role = authorized.changes().iter().find_map(|c| match c {
            Change::SetRole { user, role } if user == self.id.user() => Some(*role),
            _ => None,
        });
        self.build_external_commit(group_info, ratchet_tree, &room, aad, role)
    }

    /// Builds an external commit that joins this client, with authenticated data `aad`, and
    /// gives its user `role` in the participant list when one is given, *without* asking the
    /// room policy: the building block of [`Client::join_external`], public so that tools and
    /// tests can check that the hub and members refuse a join the policy does not allow.
    pub fn external_commit_unchecked(
        &self,
        group_info: &[u8],
        ratchet_tree: &[u8],
        aad: Vec<u8>,
        role: Option<RoleIndex>,
    ) -> Result<(RoomGroup, OutgoingCommit), MlsError> {
        let room = room_of_group_info(group_info, ratchet_tree)?;
        self.build_external_commit(group_info, ratchet_tree, &room, aad, role)
    }

    fn build_external_commit(
        &self,
        group_info: &[u8],
        ratchet_tree: &[u8],
        room: &Room,
        aad: Vec<u8>,
        role: Option<RoleIndex>,
    ) -> Result<(RoomGroup, OutgoingCommit), MlsError> {
        let list = match role {
            Some(role) => {
                let update = ParticipantListUpdate {
                    added: vec![UserRolePair {
                        user: self.id.user().clone(),
                        role,
                    }],
                    ..Default::default()
                };
                let next = room
                    .participants()
                    .apply(&update)
                    .map_err(|e| MlsError::Policy(e.to_string()))?
                    .to_component_bytes()
                    .map_err(|e| MlsError::Policy(e.to_string()))?;
                let bytes = update.tls_serialize_detached().map_err(MlsError::openmls)?;
                Some((bytes, next))
            }
            None => None,
        };
        let mut builder = MlsGroup::external_commit_builder()
            .with_ratchet_tree(parse_ratchet_tree(ratchet_tree)?)
            .with_config(join_config())
            .with_aad(aad)
            .build_group(
                &self.provider,
                parse_group_info_message(group_info)?,
                self.credential.clone(),
            )
            .map_err(MlsError::openmls)?
            .leaf_node_parameters(
                LeafNodeParameters::builder()
                    .with_capabilities(leaf_capabilities())
                    .build(),
            );
        if let Some((update, _)) = &list {
            builder = builder.add_app_data_update_proposal(AppDataUpdateProposal::update(
                ids::PARTICIPANT_LIST,
                update.clone(),
            ));
        }
        let mut stage = builder
            .load_psks(self.provider.storage())
            .map_err(MlsError::openmls)?;
        if let Some((_, next)) = list {
            let mut updater = stage.app_data_dictionary_updater();
            updater.set(ComponentData::from_parts(
                ids::PARTICIPANT_LIST,
                next.into(),
            ));
            let changes = updater.changes();
            stage.with_app_data_dictionary_updates(changes);
        }
        let (group, bundle) = stage
            .create_group_info(true)
            .build(
                self.provider.rand(),
                self.provider.crypto(),
                &self.signer,
                |_| true,
            )
            .map_err(MlsError::openmls)?
            .finalize(&self.provider)
            .map_err(MlsError::openmls)?;
        let (commit, _, group_info) = bundle.into_messages();
        let group_info =
            group_info.ok_or_else(|| MlsError::GroupInfo("openmls made no GroupInfo".into()))?;
        let out = OutgoingCommit {
            commit: commit.to_bytes().map_err(MlsError::openmls)?,
            welcome: None,
            group_info: group_info.to_bytes().map_err(MlsError::openmls)?,
        };
        Ok((RoomGroup { group }, out))
    }

    fn actor(&self) -> Actor {
        Actor::user(self.id.user().clone(), Some(self.id.name()))
    }

    /// The GroupInfo of `group`'s current epoch, signed by this client (no ratchet tree
    /// inside: the hub serves the tree).
    pub fn group_info(&self, group: &RoomGroup) -> Result<Vec<u8>, MlsError> {
        group
            .group
            .export_group_info(self.provider.crypto(), &self.signer, false)
            .map_err(MlsError::openmls)?
            .to_bytes()
            .map_err(MlsError::openmls)
    }
}

/// The join configuration: handshakes in the clear for the hub, no tree in Welcomes.
/// Epochs whose message keys a member keeps after moving on, so a message sent just before
/// a commit (delivered after it, from the room's log) still decrypts.
const MAX_PAST_EPOCHS: usize = 3;

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .wire_format_policy(PURE_PLAINTEXT_WIRE_FORMAT_POLICY)
        .use_ratchet_tree_extension(false)
        .max_past_epochs(MAX_PAST_EPOCHS)
        .build()
}

/// The MLS proposals a member's commit carries besides the participant-list update.
enum Proposals {
    Adds(Vec<KeyPackage>),
    Removals(Vec<LeafNodeIndex>),
    /// Only the proposals the hub stored.
    Pending,
    /// AppDataUpdates of policy components: new value, or removal.
    Policy(Vec<(u16, Option<Vec<u8>>)>),
}

/// A commit ready for the hub: the commit, the Welcome for added clients, and the
/// committer's GroupInfo for the new epoch.
pub struct OutgoingCommit {
    /// The commit (`MLSMessage`, PublicMessage).
    pub commit: Vec<u8>,
    /// The Welcome, when clients are added.
    pub welcome: Option<Vec<u8>>,
    /// The GroupInfo of the new epoch.
    pub group_info: Vec<u8>,
}

/// What a member got from the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A commit was verified against the room policy and merged.
    Commit {
        /// The new epoch.
        epoch: u64,
    },
    /// A proposal was stored for the next commit.
    Proposal,
    /// An application message, decrypted.
    Message {
        /// The sending client.
        sender: ClientId,
        /// The plaintext.
        plaintext: Vec<u8>,
    },
}

/// A room's MLS group as one member holds it.
pub struct RoomGroup {
    group: MlsGroup,
}

impl RoomGroup {
    /// The room, as the group context and leaves describe it.
    pub fn room(&self) -> Result<Room, MlsError> {
        room_of(
            self.group.public_group().group_context(),
            self.group.members(),
        )
    }

    /// The ratchet tree, TLS-encoded.
    pub fn ratchet_tree(&self) -> Result<Vec<u8>, MlsError> {
        self.group
            .export_ratchet_tree()
            .tls_serialize_detached()
            .map_err(MlsError::openmls)
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.group.epoch().as_u64()
    }

    fn leaf_client(&self, leaf: u32) -> Option<ClientId> {
        self.group
            .member_at(LeafNodeIndex::new(leaf))
            .and_then(|m| client_of(&m.credential).ok())
    }

    fn leaf_of(&self, client: &ClientId) -> Option<LeafNodeIndex> {
        self.group
            .members()
            .find(|m| client_of(&m.credential).ok().as_ref() == Some(client))
            .map(|m| m.index)
    }

    /// Commits Adds of the clients of `key_packages`, with the participant-list update the
    /// room policy gives them. Checked against the policy before anything is sent.
    pub fn add(
        &mut self,
        client: &Client,
        key_packages: Vec<ValidKeyPackage>,
    ) -> Result<OutgoingCommit, MlsError> {
        let actions = key_packages
            .iter()
            .map(|kp| Action::AddClient {
                target: Target {
                    user: kp.client.user().clone(),
                    client: Some(kp.client.name().to_owned()),
                },
                role: None,
            })
            .collect();
        let update = self.list_update(client, actions)?;
        let kps = key_packages.into_iter().map(|kp| kp.key_package).collect();
        self.commit(client, update, Proposals::Adds(kps))
    }

    /// Commits the removal of `target`'s client, with the participant-list update the room
    /// policy gives it.
    pub fn remove(
        &mut self,
        client: &Client,
        target: &ClientId,
    ) -> Result<OutgoingCommit, MlsError> {
        let leaf = self
            .leaf_of(target)
            .ok_or_else(|| MlsError::Policy(format!("{target} is not in the group")))?;
        let action = Action::RemoveClient {
            target: Target {
                user: target.user().clone(),
                client: Some(target.name().to_owned()),
            },
        };
        let update = self.list_update(client, vec![action])?;
        self.commit(client, update, Proposals::Removals(vec![leaf]))
    }

    /// Commits the removal of every client of `user` in one commit (its place in the
    /// participant list stays as the room policy gives it, as for each client's removal).
    pub fn remove_user(
        &mut self,
        client: &Client,
        user: &mimi_policy::id::UserId,
    ) -> Result<OutgoingCommit, MlsError> {
        let (leaves, actions): (Vec<LeafNodeIndex>, Vec<Action>) = self
            .group
            .members()
            .filter_map(|m| {
                let target = client_of(&m.credential).ok().filter(|c| c.user() == user)?;
                let action = Action::RemoveClient {
                    target: Target {
                        user: user.clone(),
                        client: Some(target.name().to_owned()),
                    },
                };
                Some((m.index, action))
            })
            .unzip();
        if leaves.is_empty() {
            return Err(MlsError::Policy(format!(
                "{user} has no client in the group"
            )));
        }
        let update = self.list_update(client, actions)?;
        self.commit(client, update, Proposals::Removals(leaves))
    }

    /// Commits a ban of `user`: the participant-list change to the banned role and the
    /// removal of every client of the user.
    pub fn ban(
        &mut self,
        client: &Client,
        user: &mimi_policy::id::UserId,
    ) -> Result<OutgoingCommit, MlsError> {
        let leaves: Vec<LeafNodeIndex> = self
            .group
            .members()
            .filter(|m| client_of(&m.credential).is_ok_and(|c| c.user() == user))
            .map(|m| m.index)
            .collect();
        let update = self.list_update(
            client,
            vec![Action::Ban {
                target: Target {
                    user: user.clone(),
                    client: None,
                },
            }],
        )?;
        self.commit(client, update, Proposals::Removals(leaves))
    }

    /// A SelfRemove proposal of this client (sent to the hub, committed later by a member).
    pub fn self_remove(&mut self, client: &Client) -> Result<Vec<u8>, MlsError> {
        let decision = authorize(
            &self.room()?,
            &Operation {
                actor: client.actor(),
                action: Action::SelfRemove,
            },
        );
        if !decision.is_allowed() {
            return Err(MlsError::Denied(decision));
        }
        self.group
            .leave_group_via_self_remove(&client.provider, &client.signer)
            .map_err(MlsError::openmls)?
            .to_bytes()
            .map_err(MlsError::openmls)
    }

    /// Proposes a participant-list update on its own (a moderator's kick or role change, a
    /// user's leave), for another member to commit; checked against the room policy first.
    pub fn propose_participants(
        &mut self,
        client: &Client,
        update: &ParticipantListUpdate,
    ) -> Result<Vec<u8>, MlsError> {
        let bytes = update.tls_serialize_detached().map_err(MlsError::openmls)?;
        let proposal = Proposal::AppDataUpdate(Box::new(AppDataUpdateProposal::update(
            ids::PARTICIPANT_LIST,
            bytes.clone(),
        )));
        crate::commit::authorize_proposal(
            &self.room()?,
            Origin::Member(client.id.clone()),
            &proposal,
            &|leaf| self.leaf_client(leaf),
            &|_| u64::MAX,
        )?;
        let (message, _) = self
            .group
            .propose_app_data_update(
                &client.provider,
                &client.signer,
                ids::PARTICIPANT_LIST,
                AppDataUpdateOperation::Update(bytes.into()),
            )
            .map_err(MlsError::openmls)?;
        message.to_bytes().map_err(MlsError::openmls)
    }

    /// Leaves the room as a user: proposes dropping the user from the participant list (its
    /// affiliation ends) and the removal of this client (SelfRemove) and of the user's other
    /// clients, for another member to commit. Returns the proposals, in the order to send.
    pub fn leave(&mut self, client: &Client) -> Result<Vec<Vec<u8>>, MlsError> {
        let room = self.room()?;
        let user = client.id.user();
        let position = room
            .participants()
            .entries()
            .iter()
            .position(|e| &e.user == user)
            .ok_or_else(|| MlsError::Policy(format!("{user} is not a participant")))?;
        let update = ParticipantListUpdate {
            removed: vec![position as u32],
            ..Default::default()
        };
        let mut out = vec![self.propose_participants(client, &update)?];
        let others: Vec<LeafNodeIndex> = self
            .group
            .members()
            .filter_map(|m| {
                let other = client_of(&m.credential).ok()?;
                (other.user() == user && other != client.id).then_some(m.index)
            })
            .collect();
        for leaf in others {
            let (message, _) = self
                .group
                .propose_remove_member(&client.provider, &client.signer, leaf)
                .map_err(MlsError::openmls)?;
            out.push(message.to_bytes().map_err(MlsError::openmls)?);
        }
        out.push(self.self_remove(client)?);
        Ok(out)
    }

    /// Commits the proposals the hub stored (SelfRemoves, Removes, participant-list
    /// updates), with the participant-list update the removals make when none was proposed.
    pub fn commit_pending(&mut self, client: &Client) -> Result<OutgoingCommit, MlsError> {
        let list_proposed = self.group.pending_proposals().any(|q| {
            matches!(q.proposal(), Proposal::AppDataUpdate(p)
                if p.component_id() == ids::PARTICIPANT_LIST)
        });
        let mut actions = Vec::new();
        for queued in self.group.pending_proposals() {
            let actor = match queued.sender() {
                openmls::prelude::Sender::Member(leaf) => match self.leaf_client(leaf.u32()) {
                    Some(p) => Actor::user(p.user().clone(), Some(p.name())),
                    None => continue,
                },
                openmls::prelude::Sender::External(index) => {
                    let context = self.group.public_group().group_context();
                    match external_system_user(context, index) {
                        Some(system) => Actor::System(system),
                        None => continue,
                    }
                }
                _ => continue,
            };
            let action = match queued.proposal() {
                Proposal::SelfRemove => Action::SelfRemove,
                Proposal::Remove(r) => match self.leaf_client(r.removed().u32()) {
                    Some(target) => {
                        let target = Target {
                            user: target.user().clone(),
                            client: Some(target.name().to_owned()),
                        };
                        match actor {
                            Actor::System(_) => Action::ExternalProposal {
                                proposal: mimi_policy::operation::ProposalKind::Remove,
                                target,
                            },
                            Actor::User(_) => Action::RemoveClient { target },
                        }
                    }
                    None => continue,
                },
                _ => continue,
            };
            actions.push(Operation { actor, action });
        }
        let update = if list_proposed {
            None
        } else {
            self.list_update_of(actions)?
        };
        self.commit(client, update, Proposals::Pending)
    }

    /// Commits a new policy: every component of `proposed` that differs from the current
    /// one, as AppDataUpdate proposals. The participants and clients stay as they are.
    pub fn update_policy(
        &mut self,
        client: &Client,
        proposed: &Room,
    ) -> Result<OutgoingCommit, MlsError> {
        let current = self.room()?;
        let decision = authorize(
            &current,
            &Operation {
                actor: client.actor(),
                action: Action::UpdatePolicy {
                    policy: Box::new(proposed.clone()),
                },
            },
        );
        if !decision.is_allowed() {
            return Err(MlsError::Denied(decision));
        }
        let now = app_data_entries(self.group.public_group().group_context());
        let next = proposed
            .to_app_data()
            .map_err(|e| MlsError::Policy(e.to_string()))?;
        let changed: Vec<(u16, Option<Vec<u8>>)> = next
            .iter()
            .filter(|(id, bytes)| **id != ids::PARTICIPANT_LIST && now.get(*id) != Some(*bytes))
            .map(|(id, bytes)| (*id, Some(bytes.clone())))
            .chain(
                now.keys()
                    .filter(|id| !next.contains_key(*id))
                    .map(|id| (*id, None)),
            )
            .collect();
        self.commit(client, None, Proposals::Policy(changed))
    }

    /// Plans `actions` by `client` in order and returns the participant-list update their
    /// role changes make (or a denial).
    fn list_update(
        &self,
        client: &Client,
        actions: Vec<Action>,
    ) -> Result<Option<ParticipantListUpdate>, MlsError> {
        let ops = actions
            .into_iter()
            .map(|action| Operation {
                actor: client.actor(),
                action,
            })
            .collect();
        self.list_update_of(ops)
    }

    /// Plans `ops` in order and returns the participant-list update their role changes make.
    fn list_update_of(
        &self,
        ops: Vec<Operation>,
    ) -> Result<Option<ParticipantListUpdate>, MlsError> {
        let room = self.room()?;
        let mut scratch = room.clone();
        let mut update = ParticipantListUpdate::default();
        for op in ops {
            let authorized = plan(&scratch, &op).map_err(MlsError::Denied)?;
            for change in authorized.changes() {
                let Change::SetRole { user, role } = change else {
                    continue;
                };
                let position = room
                    .participants()
                    .entries()
                    .iter()
                    .position(|e| &e.user == user);
                match (position, *role) {
                    (Some(i), 0) => update.removed.push(i as u32),
                    (Some(i), role) => update.changed.push(IndexRolePair {
                        user_index: i as u32,
                        role,
                    }),
                    (None, 0) => {}
                    (None, role) => update.added.push(UserRolePair {
                        user: user.clone(),
                        role,
                    }),
                }
            }
            scratch.apply(&authorized);
        }
        let empty =
            update.changed.is_empty() && update.removed.is_empty() && update.added.is_empty();
        Ok((!empty).then_some(update))
    }

    /// Builds, stages and serializes a commit carrying the proposals `propose` adds and the
    /// participant-list update, if any.
    fn commit(
        &mut self,
        client: &Client,
        update: Option<ParticipantListUpdate>,
        proposals: Proposals,
    ) -> Result<OutgoingCommit, MlsError> {
        let update_bytes = update
            .map(|u| u.tls_serialize_detached())
            .transpose()
            .map_err(MlsError::openmls)?;
        let policy: Vec<(u16, Option<Vec<u8>>)> = match &proposals {
            Proposals::Policy(changes) => changes.clone(),
            _ => Vec::new(),
        };
        let mut own: Vec<AppDataUpdateProposal> = policy
            .iter()
            .map(|(id, value)| match value {
                Some(bytes) => AppDataUpdateProposal::update(*id, bytes.clone()),
                None => AppDataUpdateProposal::remove(*id),
            })
            .collect();
        if let Some(bytes) = update_bytes {
            own.push(AppDataUpdateProposal::update(ids::PARTICIPANT_LIST, bytes));
        }
        // The commit takes the stored proposals too: the dictionary after it is what all its
        // AppDataUpdate proposals make, resolved as the hub and the members will.
        let pending: Vec<AppDataUpdateProposal> = self
            .group
            .pending_proposals()
            .filter_map(|q| match q.proposal() {
                Proposal::AppDataUpdate(p) => Some((**p).clone()),
                _ => None,
            })
            .collect();
        let current = app_data_entries(self.group.public_group().group_context());
        let resolved = resolve_app_data(&current, pending.iter().chain(&own))?;
        let mut builder = match proposals {
            Proposals::Adds(kps) => self.group.commit_builder().propose_adds(kps),
            Proposals::Removals(leaves) => self.group.commit_builder().propose_removals(leaves),
            Proposals::Pending | Proposals::Policy(_) => self.group.commit_builder(),
        }
        .consume_proposal_store(true);
        let any_app_data = !own.is_empty() || !pending.is_empty();
        for proposal in own {
            builder = builder.add_proposal(Proposal::AppDataUpdate(Box::new(proposal)));
        }
        let mut stage = builder
            .load_psks(client.provider.storage())
            .map_err(MlsError::openmls)?;
        if any_app_data {
            let mut updater = stage.app_data_dictionary_updater();
            fill_updater(&mut updater, &current, &resolved);
            let changes = updater.changes();
            stage.with_app_data_dictionary_updates(changes);
        }
        let bundle = stage
            .create_group_info(true)
            .build(
                client.provider.rand(),
                client.provider.crypto(),
                &client.signer,
                |_| true,
            )
            .map_err(MlsError::openmls)?
            .stage_commit(&client.provider)
            .map_err(MlsError::openmls)?;
        let (commit, welcome, group_info) = bundle.into_messages();
        let group_info =
            group_info.ok_or_else(|| MlsError::GroupInfo("openmls made no GroupInfo".into()))?;
        Ok(OutgoingCommit {
            commit: commit.to_bytes().map_err(MlsError::openmls)?,
            welcome: welcome
                .map(|w| w.to_bytes())
                .transpose()
                .map_err(MlsError::openmls)?,
            group_info: group_info.to_bytes().map_err(MlsError::openmls)?,
        })
    }

    /// Merges this member's pending commit once the hub accepted it.
    pub fn confirm(&mut self, client: &Client) -> Result<(), MlsError> {
        self.group
            .merge_pending_commit(&client.provider)
            .map_err(MlsError::openmls)
    }

    /// Drops this member's pending commit after the hub refused it.
    pub fn discard(&mut self, client: &Client) -> Result<(), MlsError> {
        self.group
            .clear_pending_commit(client.provider.storage())
            .map_err(MlsError::openmls)
    }

    /// Encrypts an application message.
    pub fn encrypt(&mut self, client: &Client, plaintext: &[u8]) -> Result<Vec<u8>, MlsError> {
        self.group
            .create_message(&client.provider, &client.signer, plaintext)
            .map_err(MlsError::openmls)?
            .to_bytes()
            .map_err(MlsError::openmls)
    }

    /// Processes a message fanned out by the hub. Commits are verified against the same
    /// room policy rules as on the hub before they are merged: a commit the policy forbids
    /// is refused here too, and the group stays as it was.
    pub fn process(&mut self, client: &Client, message: &[u8]) -> Result<Incoming, MlsError> {
        let message = MlsMessageIn::tls_deserialize_exact(message)
            .map_err(|e| MlsError::Malformed(e.to_string()))?;
        let protocol = message
            .try_into_protocol_message()
            .map_err(|_| MlsError::Malformed("not a group message".into()))?;
        let processed = self
            .group
            .process_message(&client.provider, protocol)
            .map_err(MlsError::openmls)?;
        let sender = processed.sender().clone();
        let credential = processed.credential().clone();
        let aad = processed.aad().to_vec();
        let context = self.group.public_group().group_context().clone();
        let origin = origin_of(
            &sender,
            &|leaf| self.leaf_client(leaf),
            || client_of(&credential),
            &|index| external_system_user(&context, index),
        )?;
        let before = self.room()?;
        let current = app_data_entries(self.group.public_group().group_context());
        let staged = match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(m) => {
                let Origin::Member(sender) = origin else {
                    return Err(MlsError::Malformed(
                        "application message from a non-member".into(),
                    ));
                };
                return Ok(Incoming::Message {
                    sender,
                    plaintext: m.into_bytes(),
                });
            }
            ProcessedMessageContent::ProposalMessage(p) => {
                // Members do not share a clock with the sender: the hub, which timestamps
                // every leaf update, enforces the Update intervals.
                crate::commit::authorize_proposal(
                    &before,
                    origin,
                    p.proposal(),
                    &|leaf| self.leaf_client(leaf),
                    &|_| u64::MAX,
                )?;
                self.group
                    .store_pending_proposal(client.provider.storage(), *p)
                    .map_err(MlsError::openmls)?;
                return Ok(Incoming::Proposal);
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
                    .stage_app_data_commit(&client.provider, *unresolved, changes)
                    .map_err(MlsError::openmls)?;
                (staged, app_data)
            }
            ProcessedMessageContent::OwnPendingCommit => {
                self.confirm(client)?;
                return Ok(Incoming::Commit {
                    epoch: self.epoch(),
                });
            }
            _ => return Err(MlsError::Malformed("unexpected message".into())),
        };
        let (staged, app_data) = staged;
        let (summary, delta) = summarize(
            &staged,
            origin,
            &aad,
            app_data,
            &|leaf| self.leaf_client(leaf),
            &|index| external_system_user(&context, index),
        )?;
        authorize_commit(&before, &summary, delta)?;
        self.group
            .merge_staged_commit(&client.provider, staged)
            .map_err(MlsError::openmls)?;
        Ok(Incoming::Commit {
            epoch: self.epoch(),
        })
    }

    /// The underlying openmls group.
    pub fn mls(&self) -> &MlsGroup {
        &self.group
    }

    /// The underlying openmls group, for callers that build their own MLS messages.
    pub fn mls_mut(&mut self) -> &mut MlsGroup {
        &mut self.group
    }
}

fn parse_group_info_message(group_info: &[u8]) -> Result<VerifiableGroupInfo, MlsError> {
    match MlsMessageIn::tls_deserialize_exact(group_info)
        .map_err(|e| MlsError::Malformed(e.to_string()))?
        .extract()
    {
        MlsMessageBodyIn::GroupInfo(gi) => Ok(gi),
        _ => Err(MlsError::Malformed("not a GroupInfo".into())),
    }
}

fn parse_ratchet_tree(ratchet_tree: &[u8]) -> Result<RatchetTreeIn, MlsError> {
    RatchetTreeIn::tls_deserialize_exact(ratchet_tree)
        .map_err(|e| MlsError::Malformed(e.to_string()))
}

/// The room as a GroupInfo and ratchet tree describe it, read from a throwaway public view of
/// the group.
fn room_of_group_info(group_info: &[u8], ratchet_tree: &[u8]) -> Result<Room, MlsError> {
    let scratch = OpenMlsRustCrypto::default();
    let (public, _) = PublicGroup::from_external(
        scratch.crypto(),
        scratch.storage(),
        parse_ratchet_tree(ratchet_tree)?,
        parse_group_info_message(group_info)?,
        ProposalStore::new(),
    )
    .map_err(MlsError::openmls)?;
    room_of(public.group_context(), public.members())
}
