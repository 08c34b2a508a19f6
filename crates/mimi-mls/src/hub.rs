//! The hub side: the provider hosting a room keeps its public group state (`PublicGroup`),
//! never a secret, and checks the room policy in it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::store::MlsProvider;
use mimi_policy::id::{ClientId, ProviderId};
use mimi_policy::operation::Action;
use mimi_policy::{Actor, Operation, Room, authorize};
use openmls::group::{GroupContext, ProposalStore, PublicGroup};
use openmls::messages::group_info::{GroupInfo, VerifiableGroupInfo};
use openmls::prelude::{
    ConfirmationTag, ExternalSender, LeafNodeIndex, MlsMessageBodyIn, MlsMessageIn,
    OpenMlsSignaturePublicKey, ProposalType, ProtocolMessage, RatchetTreeIn, SignaturePublicKey,
    Verifiable as _,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::OpenMlsProvider as _;
use openmls_traits::crypto::OpenMlsCrypto as _;
use openmls_traits::signatures::Signer as _;
use tls_codec::{Deserialize as _, Serialize as _, Size as _, VLBytes};

use crate::context::{clients_of, room_of};
use crate::identity::{client_of, provider_credential};
use crate::{CIPHERSUITE, MlsError};

mod snapshot;
mod stage;

pub use stage::Staged;

/// Seconds on the hub's clock.
pub type Clock = Box<dyn Fn() -> u64 + Send + Sync>;

/// A provider acting as hub: its external-sender key, its MLS provider and its clock.
pub struct Hub {
    id: ProviderId,
    provider: MlsProvider,
    signer: SignatureKeyPair,
    clock: Clock,
}

impl Hub {
    /// A hub for `id` with a fresh signature key, on the system clock (Unix seconds).
    pub fn new(id: ProviderId) -> Result<Self, MlsError> {
        Self::with_clock(
            id,
            Box::new(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
        )
    }

    /// A hub for `id` whose time (in seconds, for the rooms' Update intervals) is `clock`.
    pub fn with_clock(id: ProviderId, clock: Clock) -> Result<Self, MlsError> {
        let provider = MlsProvider::default();
        let signer = crate::new_signer()?;
        Ok(Self {
            id,
            provider,
            signer,
            clock,
        })
    }

    /// A hub for `id` with a signature key kept from an earlier run ([`Hub::key`]): the
    /// key every room it hosts names as external sender.
    pub fn with_key(id: ProviderId, key: &[u8], clock: Clock) -> Result<Self, MlsError> {
        let signer = SignatureKeyPair::tls_deserialize_exact(key)
            .map_err(|e| MlsError::Malformed(format!("hub key: {e}")))?;
        Ok(Self {
            id,
            provider: MlsProvider::default(),
            signer,
            clock,
        })
    }

    /// The hub's signature key pair, TLS-encoded, to keep for [`Hub::with_key`]. Secret.
    pub fn key(&self) -> Result<Vec<u8>, MlsError> {
        self.signer
            .tls_serialize_detached()
            .map_err(MlsError::openmls)
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }

    /// `claims` (team, workgroup, group) about `user`, one of this provider's users, signed
    /// with the hub key for a join in the next [`crate::claims::LIFETIME`] seconds.
    pub fn assert_claims(
        &self,
        user: &mimi_policy::id::UserId,
        claims: &[mimi_policy::preauth::Claim],
    ) -> Result<Vec<u8>, MlsError> {
        if user.domain() != self.id.domain() {
            return Err(MlsError::Credential(format!(
                "{} asserts claims about its own users only, not {user}",
                self.id
            )));
        }
        crate::claims::ProviderClaims {
            user: user.clone(),
            claims: claims.to_vec(),
            expires: self.now().saturating_add(crate::claims::LIFETIME),
        }
        .sign(&self.signer)
    }

    /// `content` (a `SignContent`: a label and the bytes it covers, as protocol-06's
    /// `SignWithLabel` builds them) signed with the hub key: this provider signing a
    /// provider-to-provider request or answer.
    pub fn sign_content(&self, content: &[u8]) -> Result<Vec<u8>, MlsError> {
        self.signer
            .sign(content)
            .map_err(|e| MlsError::Openmls(format!("signing: {e:?}").into()))
    }

    /// The hub key's public half and the provider's credential, TLS-encoded: who signs
    /// with [`Hub::sign_content`].
    pub fn signing_identity(&self) -> Result<(Vec<u8>, Vec<u8>), MlsError> {
        let credential = provider_credential(&self.id)
            .tls_serialize_detached()
            .map_err(MlsError::openmls)?;
        Ok((self.signer.public().to_vec(), credential))
    }

    /// Checks that `signature` over `content` was made by provider `peer`'s key `key`,
    /// which `credential` (TLS-encoded) presents as that provider's.
    pub fn verify_peer_content(
        &self,
        peer: &ProviderId,
        key: &[u8],
        credential: &[u8],
        content: &[u8],
        signature: &[u8],
    ) -> Result<(), MlsError> {
        let expected = provider_credential(peer)
            .tls_serialize_detached()
            .map_err(MlsError::openmls)?;
        if credential != expected.as_slice() {
            return Err(MlsError::Credential(format!(
                "the request is not signed as {peer}'s system user"
            )));
        }
        self.provider
            .crypto()
            .verify_signature(CIPHERSUITE.signature_algorithm(), content, key, signature)
            .map_err(|_| MlsError::Credential(format!("{peer}'s signature does not verify")))
    }

    /// Checks that `signature` over `content` verifies under `key` (whoever holds it).
    pub fn verify_with_key(
        &self,
        key: &[u8],
        content: &[u8],
        signature: &[u8],
    ) -> Result<(), MlsError> {
        self.provider
            .crypto()
            .verify_signature(CIPHERSUITE.signature_algorithm(), content, key, signature)
            .map_err(|_| MlsError::Credential("the signature does not verify".into()))
    }

    /// The hub as it appears in every room's `external_senders`.
    pub fn external_sender(&self) -> ExternalSender {
        ExternalSender::new(
            SignaturePublicKey::from(self.signer.public()),
            provider_credential(&self.id),
        )
    }

    /// Starts hosting a room from its GroupInfo and ratchet tree: verifies them, checks that
    /// the group names this hub as external sender and requires mimi's capabilities, that the
    /// room policy in it is valid and, for a new room (epoch 0), that its creator may create it.
    pub fn load_room(&self, group_info: &[u8], ratchet_tree: &[u8]) -> Result<HubRoom, MlsError> {
        let room = self.load_group(group_info, ratchet_tree)?;
        if room.epoch() == 0 {
            let creator = room
                .group
                .members()
                .next()
                .ok_or_else(|| MlsError::Policy("the group has no member".into()))?;
            let client = client_of(&creator.credential)?;
            let op = Operation {
                actor: Actor::user(client.user().clone(), Some(client.name())),
                action: Action::CreateRoom {
                    existing_rooms: Vec::new(),
                },
            };
            let decision = authorize(room.policy(), &op);
            if !decision.is_allowed() {
                return Err(MlsError::Denied(decision));
            }
        }
        Ok(room)
    }

    /// Like [`Hub::load_room`], without the creator's check: for the new group of a vacant
    /// persistent room, which the caller decides as the first one back's join
    /// (`mimi_policy::host::refound_vacant_room`).
    pub fn load_refounded_room(
        &self,
        group_info: &[u8],
        ratchet_tree: &[u8],
    ) -> Result<HubRoom, MlsError> {
        self.load_group(group_info, ratchet_tree)
    }

    fn load_group(&self, group_info: &[u8], ratchet_tree: &[u8]) -> Result<HubRoom, MlsError> {
        let message = MlsMessageIn::tls_deserialize_exact(group_info).map_err(MlsError::Decode)?;
        let MlsMessageBodyIn::GroupInfo(verifiable) = message.extract() else {
            return Err(MlsError::Malformed("not a GroupInfo".into()));
        };
        let tree = RatchetTreeIn::tls_deserialize_exact(ratchet_tree).map_err(MlsError::Decode)?;
        // Each room keeps its public state in its own store, so it can be snapshotted alone;
        // the store keeps no tree (the group holds it, and the snapshot encodes it from there).
        let storage = MlsProvider::without_tree();
        let (group, _) = PublicGroup::from_external(
            self.provider.crypto(),
            storage.storage(),
            tree,
            verifiable,
            ProposalStore::new(),
        )
        .map_err(MlsError::openmls)?;
        let extensions = group.group_context().extensions();
        let me = self.external_sender();
        if !extensions
            .external_senders()
            .is_some_and(|senders| senders.contains(&me))
        {
            return Err(MlsError::Policy(format!(
                "the group does not name {} as external sender",
                self.id
            )));
        }
        // Each external sender is a provider, named once; this provider's is this hub. Else
        // a creator could list its own key as this provider's and speak for its system user
        // or sign claims in its name (`crate::claims`).
        let mut providers = std::collections::BTreeSet::new();
        for sender in extensions.external_senders().into_iter().flatten() {
            let system = crate::identity::sender_system_user(sender).ok_or_else(|| {
                MlsError::Policy("an external sender that names no provider".into())
            })?;
            if !providers.insert(system.domain().to_owned()) {
                return Err(MlsError::Policy(format!(
                    "{} is listed twice as external sender",
                    system.domain()
                )));
            }
            if system.domain() == self.id.domain() && sender != &me {
                return Err(MlsError::Policy(format!(
                    "the group lists another key than this hub's for {}",
                    self.id
                )));
            }
        }
        let required = extensions.required_capabilities();
        let requires_ours = required.is_some_and(|r| {
            r.proposal_types().contains(&ProposalType::SelfRemove)
                && r.proposal_types().contains(&ProposalType::AppDataUpdate)
        });
        if !requires_ours {
            return Err(MlsError::Policy(
                "the group does not require SelfRemove and AppDataUpdate".into(),
            ));
        }
        let policy = room_of(group.group_context(), group.members())?;
        let now = self.now();
        let updated = group
            .members()
            .filter_map(|m| client_of(&m.credential).ok())
            .map(|c| (c, now))
            .collect();
        let room = HubRoom {
            state: new_state(),
            storage,
            updated,
            group,
            // Verified by `PublicGroup::from_external` above.
            group_info: ServedGroupInfo::Verified(group_info.to_vec()),
            room: Arc::new(policy),
        };
        Ok(room)
    }
}

/// What the hub did with an accepted handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// A commit was merged; the room is now at `epoch`.
    Commit {
        /// The new epoch.
        epoch: u64,
    },
    /// A standalone proposal was stored for a later commit to include.
    Proposal,
}

fn parse_group_info(bytes: &[u8]) -> Result<VerifiableGroupInfo, MlsError> {
    let message = MlsMessageIn::tls_deserialize_exact(bytes)
        .map_err(|e| MlsError::GroupInfo(e.to_string()))?;
    match message.extract() {
        MlsMessageBodyIn::GroupInfo(gi) => Ok(gi),
        _ => Err(MlsError::GroupInfo("not a GroupInfo".into())),
    }
}

/// The GroupInfo the hub serves to joiners, and whether its signature has been checked.
///
/// The commit path checks a committer's GroupInfo for the new epoch (it must be there, decode,
/// describe exactly the staged commit's new group context and carry `external_pub`); the
/// Ed25519 signature, which protects joiners rather than the commit, is verified before the
/// GroupInfo is first served (decision 0002).
#[derive(Clone)]
enum ServedGroupInfo {
    /// Verified: served as is.
    Verified(Vec<u8>),
    /// Not yet verified: it must be signed with `signer`, the committer's leaf key.
    Pending {
        bytes: Vec<u8>,
        signer: SignaturePublicKey,
    },
    /// The committer's GroupInfo failed verification; a member must publish one.
    Missing,
}

/// A new state's number, unique in the process: a staged change merges only into the state
/// it was staged on.
fn new_state() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A room as its hub tracks it.
pub struct HubRoom {
    /// This state's number ([`new_state`]).
    state: u64,
    /// Where openmls keeps this room's public group state.
    storage: MlsProvider,
    group: PublicGroup,
    group_info: ServedGroupInfo,
    /// The room as of the current epoch, kept so commits need not decode it again (shared
    /// with a staged proposal, which leaves it as it is).
    room: Arc<Room>,
    /// When each client last updated its leaf (joined, committed with a path, or had its
    /// Update committed), on the hub's clock; a room loaded from storage starts them all at
    /// the time it is loaded.
    updated: HashMap<ClientId, u64>,
}

impl HubRoom {
    /// The room, as the group context and leaves describe it.
    pub fn room(&self) -> Result<Room, MlsError> {
        Ok((*self.room).clone())
    }

    /// The room policy's `app_data_dictionary` entries as of the current epoch, as bytes.
    pub fn policy_entries(&self) -> std::collections::BTreeMap<u16, Vec<u8>> {
        crate::context::app_data_entries(self.group.group_context())
    }

    /// The room, borrowed (no copy).
    pub fn policy(&self) -> &Room {
        &self.room
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.group.group_context().epoch().as_u64()
    }

    /// The GroupInfo of the current epoch, served to joiners. Its signature is verified here
    /// the first time it is served; a GroupInfo that fails is dropped and the room has none
    /// until a member publishes one ([`HubRoom::publish_group_info`]).
    pub fn group_info(&mut self, hub: &Hub) -> Result<&[u8], MlsError> {
        if matches!(self.group_info, ServedGroupInfo::Pending { .. }) {
            let pending = std::mem::replace(&mut self.group_info, ServedGroupInfo::Missing);
            if let ServedGroupInfo::Pending { bytes, signer } = pending
                && verify_group_info(hub, &bytes, &signer).is_ok()
            {
                self.group_info = ServedGroupInfo::Verified(bytes);
            }
        }
        match &self.group_info {
            ServedGroupInfo::Verified(bytes) => Ok(bytes),
            _ => Err(MlsError::GroupInfo(
                "the committer's GroupInfo for this epoch is not validly signed; \
                 a member must publish one"
                    .into(),
            )),
        }
    }

    /// Replaces the served GroupInfo with one that `publisher`, a client in the group, signed
    /// for the current epoch (after a committer's GroupInfo failed, or to refresh it).
    pub fn publish_group_info(
        &mut self,
        hub: &Hub,
        publisher: &ClientId,
        bytes: &[u8],
    ) -> Result<(), MlsError> {
        let key = self
            .group
            .members()
            .find(|m| client_of(&m.credential).ok().as_ref() == Some(publisher))
            .map(|m| SignaturePublicKey::from(m.signature_key))
            .ok_or_else(|| MlsError::GroupInfo(format!("{publisher} is not in the group")))?;
        check_group_info_shape(bytes, self.group.group_context())?;
        verify_group_info(hub, bytes, &key)?;
        self.group_info = ServedGroupInfo::Verified(bytes.to_vec());
        Ok(())
    }

    /// The ratchet tree, TLS-encoded, served to joiners.
    pub fn ratchet_tree(&self) -> Result<Vec<u8>, MlsError> {
        self.group
            .export_ratchet_tree()
            .tls_serialize_detached()
            .map_err(MlsError::openmls)
    }

    /// Seconds since `client` last updated its leaf.
    fn since_update(&self, hub: &Hub, client: &ClientId) -> u64 {
        let now = hub.now();
        self.updated
            .get(client)
            .map_or(0, |&t| now.saturating_sub(t))
    }

    fn leaf_client(&self, leaf: u32) -> Option<ClientId> {
        self.group
            .leaf(LeafNodeIndex::new(leaf))
            .and_then(|l| client_of(l.credential()).ok())
    }

    /// Checks an application message submitted by `sender` (the client the provider
    /// authenticated): a PrivateMessage of this group in the current epoch, from a client that
    /// may send in this room (and is not overdue for an Update). The content stays opaque to
    /// the hub.
    pub fn check_message(
        &self,
        hub: &Hub,
        sender: &ClientId,
        message: &[u8],
    ) -> Result<(), MlsError> {
        let message = MlsMessageIn::tls_deserialize_exact(message).map_err(MlsError::Decode)?;
        let protocol = message
            .try_into_protocol_message()
            .map_err(|_| MlsError::Malformed("not a group message".into()))?;
        let not_private = || MlsError::Malformed("application messages are PrivateMessages".into());
        let ProtocolMessage::PrivateMessage(private) = &protocol else {
            return Err(not_private());
        };
        if protocol.content_type() != openmls::prelude::ContentType::Application {
            return Err(not_private());
        }
        if protocol.group_id() != self.group.group_id() {
            return Err(MlsError::Malformed("message for another group".into()));
        }
        let current = self.epoch();
        if protocol.epoch().as_u64() != current {
            return Err(MlsError::WrongEpoch { current });
        }
        // The sender is encrypted; the authenticated data names it ([`crate::sender`]).
        let named = crate::sender::sender_of_aad(private.aad())?;
        if self.leaf_client(named).as_ref() != Some(sender) {
            return Err(MlsError::Credential(format!(
                "the message is not {sender}'s own"
            )));
        }
        let op = Operation {
            actor: Actor::user(sender.user().clone(), Some(sender.name())),
            action: Action::SendMessage {
                seconds_since_last_update: Some(self.since_update(hub, sender)),
            },
        };
        let decision = authorize(&self.room, &op);
        if decision.is_allowed() {
            Ok(())
        } else {
            Err(MlsError::Denied(decision))
        }
    }

    /// Number of clients in the group.
    pub fn client_count(&self) -> Result<usize, MlsError> {
        Ok(clients_of(self.group.members())?
            .values()
            .map(|s| s.len())
            .sum())
    }
}

/// Checks that `bytes` is a GroupInfo for exactly `context` with `external_pub`; the
/// signature is checked by [`verify_group_info`].
fn check_group_info_shape(bytes: &[u8], context: &GroupContext) -> Result<(), MlsError> {
    let gi = parse_group_info(bytes)?;
    if gi.group_context() != context {
        return Err(MlsError::GroupInfo(
            "the GroupInfo does not describe the commit's new epoch".into(),
        ));
    }
    if gi.extensions().external_pub().is_none() {
        return Err(MlsError::GroupInfo(
            "the GroupInfo lacks external_pub".into(),
        ));
    }
    Ok(())
}

/// Checks that a commit's GroupInfo carries the commit's confirmation tag. The hub cannot
/// check the tag (it has no epoch secrets), but it keeps the tag in its transcript: a
/// GroupInfo with another tag would give joiners, and members rejoining, another transcript
/// than the hub's, and the hub would refuse every commit they made after.
fn check_group_info_tag(bytes: &[u8], tag: &ConfirmationTag) -> Result<(), MlsError> {
    let gi = parse_group_info(bytes)?;
    let whole = gi.tls_serialize_detached().map_err(MlsError::openmls)?;
    let at = gi.group_context().tls_serialized_len() + gi.extensions().tls_serialized_len();
    let theirs = whole
        .get(at..)
        .map(|mut rest| VLBytes::tls_deserialize(&mut rest))
        .transpose()
        .map_err(|e| MlsError::GroupInfo(format!("its confirmation tag: {e}")))?;
    let ours =
        VLBytes::tls_deserialize_exact(tag.tls_serialize_detached().map_err(MlsError::openmls)?)
            .map_err(MlsError::openmls)?;
    if theirs.as_ref() != Some(&ours) {
        return Err(MlsError::GroupInfo(
            "the GroupInfo's confirmation tag is not the commit's".into(),
        ));
    }
    Ok(())
}

/// Verifies the signature of a GroupInfo with `signer`.
fn verify_group_info(hub: &Hub, bytes: &[u8], signer: &SignaturePublicKey) -> Result<(), MlsError> {
    let gi = parse_group_info(bytes)?;
    let key = OpenMlsSignaturePublicKey::from_signature_key(
        signer.clone(),
        CIPHERSUITE.signature_algorithm(),
    );
    let _: GroupInfo = gi
        .verify(hub.provider.crypto(), &key)
        .map_err(|_| MlsError::GroupInfo("the GroupInfo is not signed by its publisher".into()))?;
    Ok(())
}
