//! The hub side: the provider hosting a room keeps its public group state (`PublicGroup`),
//! never a secret, and checks the room policy in it.

use mimi_policy::id::ProviderId;
use mimi_policy::operation::Action;
use mimi_policy::{Actor, Operation, Room, authorize};
use openmls::group::{ProposalStore, PublicGroup};
use openmls::prelude::{
    ExternalSender, MlsMessageBodyIn, MlsMessageIn, ProposalType, RatchetTreeIn, SignaturePublicKey,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::OpenMlsProvider as _;
use tls_codec::{Deserialize as _, Serialize as _};

use crate::context::{clients_of, room_of};
use crate::identity::{client_of, provider_credential};
use crate::{CIPHERSUITE, MlsError};

/// A provider acting as hub: its external-sender key and its MLS provider.
pub struct Hub {
    id: ProviderId,
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
}

impl Hub {
    /// A hub for `id` with a fresh signature key.
    pub fn new(id: ProviderId) -> Result<Self, MlsError> {
        let provider = OpenMlsRustCrypto::default();
        let signer =
            SignatureKeyPair::new(CIPHERSUITE.signature_algorithm()).map_err(MlsError::openmls)?;
        Ok(Self {
            id,
            provider,
            signer,
        })
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
        let message = MlsMessageIn::tls_deserialize_exact(group_info)
            .map_err(|e| MlsError::Malformed(e.to_string()))?;
        let MlsMessageBodyIn::GroupInfo(verifiable) = message.extract() else {
            return Err(MlsError::Malformed("not a GroupInfo".into()));
        };
        let tree = RatchetTreeIn::tls_deserialize_exact(ratchet_tree)
            .map_err(|e| MlsError::Malformed(e.to_string()))?;
        let (group, _) = PublicGroup::from_external(
            self.provider.crypto(),
            self.provider.storage(),
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
        let room = HubRoom {
            group,
            group_info: group_info.to_vec(),
        };
        let policy = room.room()?;
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
            let decision = authorize(&policy, &op);
            if !decision.is_allowed() {
                return Err(MlsError::Denied(decision));
            }
        }
        Ok(room)
    }
}

/// A room as its hub tracks it.
pub struct HubRoom {
    group: PublicGroup,
    group_info: Vec<u8>,
}

impl HubRoom {
    /// The room, as the group context and leaves describe it.
    pub fn room(&self) -> Result<Room, MlsError> {
        room_of(self.group.group_context(), self.group.members())
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.group.group_context().epoch().as_u64()
    }

    /// The last verified GroupInfo, served to joiners.
    pub fn group_info(&self) -> &[u8] {
        &self.group_info
    }

    /// The ratchet tree, TLS-encoded, served to joiners.
    pub fn ratchet_tree(&self) -> Result<Vec<u8>, MlsError> {
        self.group
            .export_ratchet_tree()
            .tls_serialize_detached()
            .map_err(MlsError::openmls)
    }

    /// Number of clients in the group.
    pub fn client_count(&self) -> Result<usize, MlsError> {
        Ok(clients_of(self.group.members())?
            .values()
            .map(|s| s.len())
            .sum())
    }
}
