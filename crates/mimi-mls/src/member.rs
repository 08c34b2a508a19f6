//! The member side: a client's own key material and its groups.

use mimi_policy::id::ClientId;
use mimi_policy::operation::Action;
use mimi_policy::{Actor, Operation, Room, authorize};
use openmls::prelude::{
    CredentialWithKey, ExternalSender, KeyPackage, MlsGroup, MlsGroupCreateConfig, MlsMessageOut,
    PURE_PLAINTEXT_WIRE_FORMAT_POLICY,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::OpenMlsProvider as _;
use tls_codec::Serialize as _;

use crate::context::{group_context_extensions, group_id, leaf_capabilities, room_of};
use crate::identity::credential_of;
use crate::{CIPHERSUITE, MlsError};

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
        let signer =
            SignatureKeyPair::new(CIPHERSUITE.signature_algorithm()).map_err(MlsError::openmls)?;
        signer
            .store(provider.storage())
            .map_err(MlsError::openmls)?;
        let credential = CredentialWithKey {
            credential: credential_of(&id),
            signature_key: signer.public().into(),
        };
        Ok(Self {
            id,
            provider,
            signer,
            credential,
        })
    }

    /// The client's ID.
    pub fn id(&self) -> &ClientId {
        &self.id
    }

    /// The client's MLS provider.
    pub fn provider(&self) -> &OpenMlsRustCrypto {
        &self.provider
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

    /// The underlying openmls group.
    pub fn mls(&self) -> &MlsGroup {
        &self.group
    }
}
