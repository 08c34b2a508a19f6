//! A member's changes to a room: adds, removals, bans, leaving, participant-list and policy
//! updates, each built as a commit (or proposal) the room policy allows, checked here as the
//! hub will check it.

use super::*;
use mimi_policy::seed::Affiliation;

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
        /// The moderator's reason the commit gives ([`crate::reason`]), if any.
        reason: Option<String>,
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
    pub(super) group: MlsGroup,
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

    pub(super) fn leaf_client(&self, leaf: u32) -> Option<ClientId> {
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

    /// Commits the removal of every client of `user` in one commit: a kick (XEP-0045), which
    /// keeps its affiliation (member, admin) while a user without one leaves the participant
    /// list with its last client. With `end_membership`, its affiliation ends too (none): it
    /// is out of the room, and a members-only room no longer lets it back by itself. A user
    /// with an affiliation and no client loses only the affiliation.
    pub fn remove_user(
        &mut self,
        client: &Client,
        user: &mimi_policy::id::UserId,
        end_membership: bool,
    ) -> Result<OutgoingCommit, MlsError> {
        let (leaves, mut actions): (Vec<LeafNodeIndex>, Vec<Action>) = self
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
        let room = self.room()?;
        let affiliated = Affiliation::of_role(room.role_of(user)) != Affiliation::None;
        if end_membership && affiliated {
            actions.push(Action::SetAffiliation {
                target: Target {
                    user: user.clone(),
                    client: None,
                },
                affiliation: Affiliation::None,
            });
        }
        if actions.is_empty() {
            return Err(MlsError::Denied(mimi_policy::Decision::deny(
                mimi_policy::DenyCode::NotFound,
                mimi_policy::rule::MIMI_VALID,
            )));
        }
        let update = self.list_update(client, actions)?;
        self.commit(client, update, Proposals::Removals(leaves))
    }

    /// Gives this member's next commit a moderator's `reason` ([`crate::reason`]) for every
    /// member to read; the commit after it has none.
    pub fn set_reason(&mut self, reason: &str) -> Result<(), MlsError> {
        self.group.set_aad(crate::reason::reason_aad(reason)?);
        Ok(())
    }

    /// Commits moderation of users that removes no client (unban, voice, affiliation): the
    /// participant-list update `actions` make, each checked against the room policy first.
    pub fn moderate(
        &mut self,
        client: &Client,
        actions: Vec<Action>,
    ) -> Result<OutgoingCommit, MlsError> {
        let update = self.list_update(client, actions)?;
        if update.is_none() {
            return Err(MlsError::Denied(mimi_policy::Decision::deny(
                mimi_policy::DenyCode::NoChange,
                mimi_policy::rule::MIMI_VALID,
            )));
        }
        self.commit(client, update, Proposals::Removals(Vec::new()))
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
        // A reason given for this commit; cleared now, so that no early return leaves it for
        // another message.
        let reason = self.group.aad().to_vec();
        self.group.set_aad(Vec::new());
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
        let any_app_data = !own.is_empty() || !pending.is_empty();
        self.group.set_aad(reason);
        let group = &mut self.group;
        let built = (|| {
            let mut builder = match proposals {
                Proposals::Adds(kps) => group.commit_builder().propose_adds(kps),
                Proposals::Removals(leaves) => group.commit_builder().propose_removals(leaves),
                Proposals::Pending | Proposals::Policy(_) => group.commit_builder(),
            }
            .consume_proposal_store(true);
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
            stage
                .create_group_info(true)
                .build(
                    client.provider.rand(),
                    client.provider.crypto(),
                    &client.signer,
                    |_| true,
                )
                .map_err(MlsError::openmls)?
                .stage_commit(&client.provider)
                .map_err(MlsError::openmls)
        })();
        // openmls clears the authenticated data (a reason) once a commit is made; not when
        // making it failed.
        self.group.set_aad(Vec::new());
        let bundle = built?;
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

    /// Deletes the group's state from `client`'s storage: a join the hub refused leaves
    /// nothing behind that looks like a group.
    pub fn forget(mut self, client: &Client) -> Result<(), MlsError> {
        self.group
            .delete(client.provider.storage())
            .map_err(MlsError::openmls)
    }
}
