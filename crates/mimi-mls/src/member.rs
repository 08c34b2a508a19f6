//! The member side: a client's own key material and its groups.

use crate::store::MlsProvider;
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
    ProcessedMessageContent, ProcessedWelcome, Proposal, RatchetTreeIn,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::OpenMlsProvider as _;
use tls_codec::{Deserialize as _, Serialize as _};

use crate::commit::{
    Origin, authorize_commit, fill_updater, origin_of, resolve_app_data, summarize,
};
use crate::context::{
    app_data_entries, group_context_extensions, group_id, leaf_capabilities, room_of,
    room_of_credentials,
};
use crate::identity::{client_of, credential_of, external_system_user};
use crate::join_link::JoinCode;
use crate::key_package::ValidKeyPackage;
use crate::{CIPHERSUITE, MlsError};
use mimi_policy::role::RoleIndex;

mod group;
mod receive;
mod saved;

pub use group::{Incoming, OutgoingCommit, RoomGroup};

/// A client: its identity, signature key and MLS provider (crypto and storage).
pub struct Client {
    id: ClientId,
    provider: MlsProvider,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
}

impl Client {
    /// A new client with a fresh signature key.
    pub fn new(id: ClientId) -> Result<Self, MlsError> {
        let provider = MlsProvider::default();
        let signer = crate::new_signer()?;
        signer
            .store(provider.storage())
            .map_err(MlsError::openmls)?;
        Ok(Self::from_parts(id, provider, signer))
    }

    /// A new client on `provider` (a test's store).
    #[cfg(test)]
    pub(crate) fn with_provider(id: ClientId, provider: MlsProvider) -> Result<Self, MlsError> {
        let signer = crate::new_signer()?;
        signer
            .store(provider.storage())
            .map_err(MlsError::openmls)?;
        Ok(Self::from_parts(id, provider, signer))
    }

    fn from_parts(id: ClientId, provider: MlsProvider, signer: SignatureKeyPair) -> Self {
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
    pub fn provider(&self) -> &MlsProvider {
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
        self.new_group(id, room, hub)
    }

    /// Starts the group of a vacant persistent room again (its last member left it): the
    /// room `vacant` (its policy entries and participant list as its provider kept them,
    /// no clients) with this client's external join, decided as any join into the room
    /// would be, presenting `link` and the `claims` its provider signed. The provider takes
    /// the new group only if it is exactly that (`mimi_policy::host::refound_vacant_room`).
    pub fn refound(
        &self,
        vacant: &Room,
        link: Option<&JoinCode>,
        claims: Option<&[u8]>,
        hub: &ExternalSender,
    ) -> Result<RoomGroup, MlsError> {
        let Some(id) = &vacant.id else {
            return Err(MlsError::Policy("the room has no ID".into()));
        };
        let actor = self.actor_with_claims(claims)?;
        let room = mimi_policy::host::refounded_room(vacant, &actor, link.map(JoinCode::to_link))
            .map_err(MlsError::Denied)?;
        self.new_group(id, &room, hub)
    }

    /// This client's user, with the team, workgroup and group claims of `claims` (signed
    /// by its provider; read here, verified by the hub and members).
    fn actor_with_claims(&self, claims: Option<&[u8]>) -> Result<Actor, MlsError> {
        let mut actor = self.actor();
        if let (Some(bytes), Actor::User(u)) = (claims, &mut actor) {
            let asserted = crate::claims::ProviderClaims::read_unverified(bytes)?;
            if &asserted.user != self.id.user() {
                return Err(MlsError::Credential(format!(
                    "the provider's claims are about {}, not {}",
                    asserted.user,
                    self.id.user()
                )));
            }
            for c in asserted.claims {
                u.claims.insert(c);
            }
        }
        Ok(actor)
    }

    fn new_group(
        &self,
        id: &mimi_policy::id::RoomId,
        room: &Room,
        hub: &ExternalSender,
    ) -> Result<RoomGroup, MlsError> {
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
        let message = MlsMessageIn::tls_deserialize_exact(welcome).map_err(MlsError::Decode)?;
        let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
            return Err(MlsError::Malformed("not a Welcome".into()));
        };
        let tree = RatchetTreeIn::tls_deserialize_exact(ratchet_tree).map_err(MlsError::Decode)?;
        // openmls' `StagedWelcome::new_from_welcome` in its two steps, to check the leaves
        // ahead once the Welcome is decrypted (the group's ID is inside).
        let processed = ProcessedWelcome::new_from_welcome(&self.provider, &join_config(), welcome)
            .map_err(MlsError::openmls)?;
        let _forget = self.check_leaves_ahead(processed.unverified_group_info(), &tree);
        let group = processed
            .into_staged_welcome(&self.provider, Some(tree))
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
        self.join_external_with(group_info, ratchet_tree, link, None)
    }

    /// [`Client::join_external`] presenting also `claims`, the team, workgroup and group
    /// claims this client's provider signed for its user (`crate::claims`), which the room's
    /// pre-authorization may name.
    pub fn join_external_with(
        &self,
        group_info: &[u8],
        ratchet_tree: &[u8],
        link: Option<&JoinCode>,
        claims: Option<&[u8]>,
    ) -> Result<(RoomGroup, OutgoingCommit), MlsError> {
        let (info, tree) = parse_join_info(group_info, ratchet_tree)?;
        let room = room_of_join_info_unverified(&info, &tree)?;
        let op = Operation {
            actor: self.actor_with_claims(claims)?,
            action: Action::ExternalJoin {
                link: link.map(JoinCode::to_link),
                role: None,
            },
        };
        let authorized = plan(&room, &op).map_err(MlsError::Denied)?;
        let aad = crate::join_link::joiner_aad(link, claims)?;
        let role = authorized.changes().iter().find_map(|c| match c {
            Change::SetRole { user, role } if user == self.id.user() => Some(*role),
            _ => None,
        });
        self.build_external_commit(info, tree, &room, aad, role)
    }

    /// Rejoins a room this client is in but can no longer follow (a commit the hub accepted
    /// that this client cannot process, RFC 9420 §12.4.3.2): an external commit from the
    /// hub's current GroupInfo and ratchet tree that also removes this client's earlier leaf
    /// (openmls adds that Remove for the leaf with this client's signature key). The room
    /// policy in the GroupInfo must still hold this client. The earlier group state is
    /// deleted first: it cannot be used again, whatever the hub answers. The returned group
    /// is ready once the hub accepts the commit.
    pub fn rejoin(
        &self,
        group_info: &[u8],
        ratchet_tree: &[u8],
    ) -> Result<(RoomGroup, OutgoingCommit), MlsError> {
        let room = room_of_group_info(group_info, ratchet_tree)?;
        let op = Operation {
            actor: self.actor(),
            action: Action::Rejoin,
        };
        let decision = authorize(&room, &op);
        if !decision.is_allowed() {
            return Err(MlsError::Denied(decision));
        }
        if let Some(id) = &room.id
            && let Some(old) = self.group(id)?
        {
            old.forget(self)?;
        }
        let (info, tree) = parse_join_info(group_info, ratchet_tree)?;
        self.build_external_commit(info, tree, &room, Vec::new(), None)
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
        let (info, tree) = parse_join_info(group_info, ratchet_tree)?;
        let room = room_of_join_info_unverified(&info, &tree)?;
        self.build_external_commit(info, tree, &room, aad, role)
    }

    /// Checks ahead, on every core ([`crate::checked`]), the leaf signatures openmls checks
    /// when it builds the group `info` describes on `tree` (or on the tree `info` carries,
    /// as openmls does); the list is emptied when the returned guard is dropped. Nothing is
    /// checked for a ciphersuite openmls refuses (the list costs a serialization of every
    /// leaf).
    fn check_leaves_ahead(
        &self,
        info: &VerifiableGroupInfo,
        tree: &RatchetTreeIn,
    ) -> crate::checked::Forget<'_> {
        let crypto = self.provider.crypto();
        let context = info.group_context();
        if openmls_traits::crypto::OpenMlsCrypto::supports(crypto, context.ciphersuite()).is_ok() {
            let tree = info
                .extensions()
                .ratchet_tree()
                .map_or(tree, |carried| carried.ratchet_tree());
            crypto.check_ahead(crate::checked::leaf_checks(
                tree,
                context.ciphersuite(),
                context.group_id().as_slice(),
            ));
        }
        crate::checked::Forget(crypto)
    }

    /// The external commit joining `room`, with the leaves' signatures checked ahead on
    /// every core.
    fn build_external_commit(
        &self,
        group_info: VerifiableGroupInfo,
        ratchet_tree: RatchetTreeIn,
        room: &Room,
        aad: Vec<u8>,
        role: Option<RoleIndex>,
    ) -> Result<(RoomGroup, OutgoingCommit), MlsError> {
        let _forget = self.check_leaves_ahead(&group_info, &ratchet_tree);
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
            .with_ratchet_tree(ratchet_tree)
            .with_config(join_config())
            .with_aad(aad)
            .build_group(&self.provider, group_info, self.credential.clone())
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

fn parse_group_info_message(group_info: &[u8]) -> Result<VerifiableGroupInfo, MlsError> {
    match MlsMessageIn::tls_deserialize_exact(group_info)
        .map_err(MlsError::Decode)?
        .extract()
    {
        MlsMessageBodyIn::GroupInfo(gi) => Ok(gi),
        _ => Err(MlsError::Malformed("not a GroupInfo".into())),
    }
}

fn parse_ratchet_tree(ratchet_tree: &[u8]) -> Result<RatchetTreeIn, MlsError> {
    RatchetTreeIn::tls_deserialize_exact(ratchet_tree).map_err(MlsError::Decode)
}

/// The room as a GroupInfo and ratchet tree describe it, read *without* verifying either: only
/// to plan an external commit that openmls then builds from the same decoded values. That build
/// verifies every leaf's signature, the parent hashes, the tree hash against the GroupInfo's
/// group context and the GroupInfo's signature, and fails if one does not hold, so a plan
/// made from forged bytes never leaves the client. Verifying here as well would do the
/// costliest part of a join twice (a signature per member).
fn room_of_join_info_unverified(
    info: &VerifiableGroupInfo,
    tree: &RatchetTreeIn,
) -> Result<Room, MlsError> {
    // The leaves openmls will verify and build on: a GroupInfo that carries its own tree
    // (ours never do) has openmls use that one instead of the tree served beside it.
    let tree = info
        .extensions()
        .ratchet_tree()
        .map_or(tree, |carried| carried.ratchet_tree());
    room_of_credentials(
        info.group_context(),
        tree.leaves().map(|leaf| leaf.credential()),
    )
}

/// A GroupInfo message and a ratchet tree, decoded (not verified).
fn parse_join_info(
    group_info: &[u8],
    ratchet_tree: &[u8],
) -> Result<(VerifiableGroupInfo, RatchetTreeIn), MlsError> {
    Ok((
        parse_group_info_message(group_info)?,
        parse_ratchet_tree(ratchet_tree)?,
    ))
}

/// The room as a GroupInfo and ratchet tree describe it, read from a throwaway public view of
/// the group, verified.
fn room_of_group_info(group_info: &[u8], ratchet_tree: &[u8]) -> Result<Room, MlsError> {
    let scratch = MlsProvider::without_tree();
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
