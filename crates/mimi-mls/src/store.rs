//! The MLS store of a hub room and of a client: openmls' in-memory store, except that the
//! two values that grow with the room are kept compactly: the ratchet tree, and a client's
//! message secrets (the secret tree and, for each past epoch kept, its members).
//!
//! openmls' own store (`MemoryStorage`) writes every value as JSON: a byte string becomes an
//! array of decimal numbers, so a 1,000-member tree takes about 1.3 MB, is rewritten at every
//! commit the hub merges and every one a client makes or joins by, and stays in memory beside
//! the tree openmls decoded from it; a client's message secrets are rewritten as JSON at
//! every message it decrypts. [`Store`] keeps both as postcard bytes, about a third of the
//! size, in the same key-value map as every other entry (so a snapshot of the store is still
//! its entries, sorted by key), and hands every other value to openmls' store.
//!
//! A value stored as JSON before this store existed is still read (a room's or client's
//! snapshot from an earlier version); it is written compactly, and the JSON entry removed,
//! the next time openmls writes it. Unlike openmls' store, a value of these two that does not
//! decode (in either encoding) is an error, not a panic.
//!
//! A hub room's store keeps no tree at all (`MlsProvider::without_tree`): the hub holds the
//! tree once, in the openmls group, and its snapshot encodes it from there.
//!
//! ```text
//! key:   "mimi/tree/" || postcard(group_id) || uint16 version   (or "mimi/message-secrets/")
//! value: 0x01 || postcard(TreeSync)                      (or MessageSecretsStore)
//! ```

use std::collections::HashMap;
use std::sync::{RwLockReadGuard, RwLockWriteGuard};

use openmls_rust_crypto::{MemoryStorage, MemoryStorageError, RustCrypto};
use openmls_traits::OpenMlsProvider;
use openmls_traits::storage::{CURRENT_VERSION, StorageProvider, traits};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value kept compactly: what its key starts with here (openmls' own labels never start
/// so), and openmls' own label for it.
#[derive(Clone, Copy)]
pub(crate) struct Compact {
    pub(crate) prefix: &'static [u8],
    openmls_label: &'static [u8],
}

/// The ratchet tree.
pub(crate) const TREE: Compact = Compact {
    prefix: b"mimi/tree/",
    openmls_label: b"Tree",
};

/// A client's message secrets.
pub(crate) const MESSAGE_SECRETS: Compact = Compact {
    prefix: b"mimi/message-secrets/",
    openmls_label: b"MessageSecrets",
};

/// The first byte of a compact value: its encoding.
const POSTCARD: u8 = 1;

fn bad(_: impl std::fmt::Debug) -> MemoryStorageError {
    MemoryStorageError::SerializationError
}

impl Compact {
    /// Its key for `group_id`: the prefix, the group id, the storage version (as openmls'
    /// keys end: values of another version of openmls' types are not read as these).
    pub(crate) fn key(self, group_id: &impl Serialize) -> Result<Vec<u8>, MemoryStorageError> {
        let mut key = postcard::to_extend(group_id, self.prefix.to_vec()).map_err(bad)?;
        key.extend_from_slice(&CURRENT_VERSION.to_be_bytes());
        Ok(key)
    }

    /// Where openmls' own store keeps it: its label, the group id as JSON, the storage
    /// version.
    fn openmls_key(self, group_id: &impl Serialize) -> Result<Vec<u8>, MemoryStorageError> {
        let mut key = self.openmls_label.to_vec();
        serde_json::to_writer(&mut key, group_id).map_err(bad)?;
        key.extend_from_slice(&CURRENT_VERSION.to_be_bytes());
        Ok(key)
    }

    /// `value` as kept here, with its key.
    pub(crate) fn entry(
        self,
        group_id: &impl Serialize,
        value: &impl Serialize,
    ) -> Result<(Vec<u8>, Vec<u8>), MemoryStorageError> {
        let bytes = postcard::to_extend(value, vec![POSTCARD]).map_err(bad)?;
        Ok((self.key(group_id)?, bytes))
    }
}

/// An openmls provider: RustCrypto's cryptography and randomness, and a [`Store`].
#[derive(Debug, Default)]
pub struct MlsProvider {
    crypto: crate::checked::Crypto,
    storage: Store,
}

impl MlsProvider {
    /// A provider whose store keeps no ratchet tree: for a hub room, which holds its tree
    /// once, in the openmls group, and encodes it from there into its snapshot
    /// ([`TREE`]`.entry`). Reading a tree still finds one put in by [`crate::stored`] (a
    /// snapshot being restored), until the next write or delete of the tree.
    pub(crate) fn without_tree() -> Self {
        Self {
            crypto: crate::checked::Crypto::default(),
            storage: Store {
                without_tree: true,
                ..Store::default()
            },
        }
    }

    /// A provider whose store writes as openmls' own store does (a client of a version
    /// before this store).
    #[cfg(test)]
    pub(crate) fn as_openmls_did() -> Self {
        Self {
            crypto: crate::checked::Crypto::default(),
            storage: Store {
                as_openmls_did: true,
                ..Store::default()
            },
        }
    }
}

impl OpenMlsProvider for MlsProvider {
    type CryptoProvider = crate::checked::Crypto;
    type RandProvider = RustCrypto;
    type StorageProvider = Store;

    fn storage(&self) -> &Store {
        &self.storage
    }

    fn crypto(&self) -> &crate::checked::Crypto {
        &self.crypto
    }

    fn rand(&self) -> &RustCrypto {
        self.crypto.inner()
    }
}

/// openmls' in-memory store with the tree and message secrets as postcard bytes (module
/// docs).
#[derive(Debug, Default)]
pub struct Store {
    json: MemoryStorage,
    /// Keeps no tree: what openmls writes is dropped (the hub's rooms).
    without_tree: bool,
    /// Writes the tree and message secrets as openmls' own store does, as versions before
    /// this store did.
    #[cfg(test)]
    as_openmls_did: bool,
}

type Values = HashMap<Vec<u8>, Vec<u8>>;

impl Store {
    /// Every entry, for reading; `None` if a writer panicked while holding it.
    pub(crate) fn values(&self) -> Option<RwLockReadGuard<'_, Values>> {
        self.json.values.read().ok()
    }

    /// Every entry, for writing; `None` if a writer panicked while holding it.
    pub(crate) fn values_mut(&self) -> Option<RwLockWriteGuard<'_, Values>> {
        self.json.values.write().ok()
    }

    /// Writes `tree` as openmls' own store does (JSON, its key), as versions before this store
    /// did.
    #[cfg(test)]
    pub(crate) fn write_tree_as_openmls_did<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        TreeSync: traits::TreeSync<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        tree: &TreeSync,
    ) -> Result<(), MemoryStorageError> {
        self.delete_tree(group_id)?;
        self.json.write_tree(group_id, tree)
    }

    fn write_compact(
        &self,
        what: Compact,
        group_id: &impl Serialize,
        value: &impl Serialize,
    ) -> Result<(), MemoryStorageError> {
        let (key, bytes) = what.entry(group_id, value)?;
        let openmls = what.openmls_key(group_id)?;
        let mut values = self
            .values_mut()
            .ok_or(MemoryStorageError::UnsupportedMethod)?;
        values.insert(key, bytes);
        // What an earlier version stored as JSON is replaced.
        values.remove(&openmls);
        Ok(())
    }

    fn read_compact<T: DeserializeOwned>(
        &self,
        what: Compact,
        group_id: &impl Serialize,
    ) -> Result<Option<T>, MemoryStorageError> {
        let key = what.key(group_id)?;
        let openmls = what.openmls_key(group_id)?;
        let values = self.values().ok_or(MemoryStorageError::UnsupportedMethod)?;
        if let Some(value) = values.get(&key) {
            return match value.split_first() {
                Some((&POSTCARD, bytes)) => postcard::from_bytes(bytes).map(Some).map_err(bad),
                _ => Err(MemoryStorageError::SerializationError),
            };
        }
        values
            .get(&openmls)
            .map(|json| serde_json::from_slice(json).map_err(bad))
            .transpose()
    }

    fn delete_compact(
        &self,
        what: Compact,
        group_id: &impl Serialize,
    ) -> Result<(), MemoryStorageError> {
        let key = what.key(group_id)?;
        let openmls = what.openmls_key(group_id)?;
        let mut values = self
            .values_mut()
            .ok_or(MemoryStorageError::UnsupportedMethod)?;
        values.remove(&key);
        values.remove(&openmls);
        Ok(())
    }
}

impl StorageProvider<CURRENT_VERSION> for Store {
    type Error = MemoryStorageError;

    fn write_tree<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        TreeSync: traits::TreeSync<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        tree: &TreeSync,
    ) -> Result<(), Self::Error> {
        #[cfg(test)]
        if self.as_openmls_did {
            return self.json.write_tree(group_id, tree);
        }
        if self.without_tree {
            return self.delete_compact(TREE, group_id);
        }
        self.write_compact(TREE, group_id, tree)
    }

    fn tree<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        TreeSync: traits::TreeSync<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<TreeSync>, Self::Error> {
        self.read_compact(TREE, group_id)
    }

    fn delete_tree<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.delete_compact(TREE, group_id)
    }

    fn write_message_secrets<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        MessageSecrets: traits::MessageSecrets<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        message_secrets: &MessageSecrets,
    ) -> Result<(), Self::Error> {
        #[cfg(test)]
        if self.as_openmls_did {
            return self.json.write_message_secrets(group_id, message_secrets);
        }
        self.write_compact(MESSAGE_SECRETS, group_id, message_secrets)
    }

    fn message_secrets<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        MessageSecrets: traits::MessageSecrets<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<MessageSecrets>, Self::Error> {
        self.read_compact(MESSAGE_SECRETS, group_id)
    }

    fn delete_message_secrets<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.delete_compact(MESSAGE_SECRETS, group_id)
    }

    // Everything else is openmls' own store's.

    fn write_mls_join_config<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        MlsGroupJoinConfig: traits::MlsGroupJoinConfig<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        config: &MlsGroupJoinConfig,
    ) -> Result<(), Self::Error> {
        self.json.write_mls_join_config(group_id, config)
    }

    fn append_own_leaf_node<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        LeafNode: traits::LeafNode<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        leaf_node: &LeafNode,
    ) -> Result<(), Self::Error> {
        self.json.append_own_leaf_node(group_id, leaf_node)
    }

    fn queue_proposal<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ProposalRef: traits::ProposalRef<CURRENT_VERSION>,
        QueuedProposal: traits::QueuedProposal<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        proposal_ref: &ProposalRef,
        proposal: &QueuedProposal,
    ) -> Result<(), Self::Error> {
        self.json.queue_proposal(group_id, proposal_ref, proposal)
    }

    fn write_interim_transcript_hash<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        InterimTranscriptHash: traits::InterimTranscriptHash<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        interim_transcript_hash: &InterimTranscriptHash,
    ) -> Result<(), Self::Error> {
        self.json
            .write_interim_transcript_hash(group_id, interim_transcript_hash)
    }

    fn write_context<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        GroupContext: traits::GroupContext<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        group_context: &GroupContext,
    ) -> Result<(), Self::Error> {
        self.json.write_context(group_id, group_context)
    }

    fn write_confirmation_tag<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ConfirmationTag: traits::ConfirmationTag<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        confirmation_tag: &ConfirmationTag,
    ) -> Result<(), Self::Error> {
        self.json.write_confirmation_tag(group_id, confirmation_tag)
    }

    fn write_group_state<
        GroupState: traits::GroupState<CURRENT_VERSION>,
        GroupId: traits::GroupId<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        group_state: &GroupState,
    ) -> Result<(), Self::Error> {
        self.json.write_group_state(group_id, group_state)
    }

    fn write_resumption_psk_store<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ResumptionPskStore: traits::ResumptionPskStore<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        resumption_psk_store: &ResumptionPskStore,
    ) -> Result<(), Self::Error> {
        self.json
            .write_resumption_psk_store(group_id, resumption_psk_store)
    }

    fn write_own_leaf_index<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        LeafNodeIndex: traits::LeafNodeIndex<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        own_leaf_index: &LeafNodeIndex,
    ) -> Result<(), Self::Error> {
        self.json.write_own_leaf_index(group_id, own_leaf_index)
    }

    fn write_group_epoch_secrets<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        GroupEpochSecrets: traits::GroupEpochSecrets<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        group_epoch_secrets: &GroupEpochSecrets,
    ) -> Result<(), Self::Error> {
        self.json
            .write_group_epoch_secrets(group_id, group_epoch_secrets)
    }

    fn write_application_export_tree<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ApplicationExportTree: traits::ApplicationExportTree<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        application_export_tree: &ApplicationExportTree,
    ) -> Result<(), Self::Error> {
        self.json
            .write_application_export_tree(group_id, application_export_tree)
    }

    fn write_signature_key_pair<
        SignaturePublicKey: traits::SignaturePublicKey<CURRENT_VERSION>,
        SignatureKeyPair: traits::SignatureKeyPair<CURRENT_VERSION>,
    >(
        &self,
        public_key: &SignaturePublicKey,
        signature_key_pair: &SignatureKeyPair,
    ) -> Result<(), Self::Error> {
        self.json
            .write_signature_key_pair(public_key, signature_key_pair)
    }

    fn write_encryption_key_pair<
        EncryptionKey: traits::EncryptionKey<CURRENT_VERSION>,
        HpkeKeyPair: traits::HpkeKeyPair<CURRENT_VERSION>,
    >(
        &self,
        public_key: &EncryptionKey,
        key_pair: &HpkeKeyPair,
    ) -> Result<(), Self::Error> {
        self.json.write_encryption_key_pair(public_key, key_pair)
    }

    fn write_encryption_epoch_key_pairs<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        EpochKey: traits::EpochKey<CURRENT_VERSION>,
        HpkeKeyPair: traits::HpkeKeyPair<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        epoch: &EpochKey,
        leaf_index: u32,
        key_pairs: &[HpkeKeyPair],
    ) -> Result<(), Self::Error> {
        self.json
            .write_encryption_epoch_key_pairs(group_id, epoch, leaf_index, key_pairs)
    }

    fn write_key_package<
        HashReference: traits::HashReference<CURRENT_VERSION>,
        KeyPackage: traits::KeyPackage<CURRENT_VERSION>,
    >(
        &self,
        hash_ref: &HashReference,
        key_package: &KeyPackage,
    ) -> Result<(), Self::Error> {
        self.json.write_key_package(hash_ref, key_package)
    }

    fn write_psk<
        PskId: traits::PskId<CURRENT_VERSION>,
        PskBundle: traits::PskBundle<CURRENT_VERSION>,
    >(
        &self,
        psk_id: &PskId,
        psk: &PskBundle,
    ) -> Result<(), Self::Error> {
        self.json.write_psk(psk_id, psk)
    }

    fn mls_group_join_config<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        MlsGroupJoinConfig: traits::MlsGroupJoinConfig<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<MlsGroupJoinConfig>, Self::Error> {
        self.json.mls_group_join_config(group_id)
    }

    fn own_leaf_nodes<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        LeafNode: traits::LeafNode<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Vec<LeafNode>, Self::Error> {
        self.json.own_leaf_nodes(group_id)
    }

    fn queued_proposal_refs<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ProposalRef: traits::ProposalRef<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Vec<ProposalRef>, Self::Error> {
        self.json.queued_proposal_refs(group_id)
    }

    fn queued_proposals<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ProposalRef: traits::ProposalRef<CURRENT_VERSION>,
        QueuedProposal: traits::QueuedProposal<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Vec<(ProposalRef, QueuedProposal)>, Self::Error> {
        self.json.queued_proposals(group_id)
    }

    fn group_context<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        GroupContext: traits::GroupContext<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<GroupContext>, Self::Error> {
        self.json.group_context(group_id)
    }

    fn interim_transcript_hash<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        InterimTranscriptHash: traits::InterimTranscriptHash<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<InterimTranscriptHash>, Self::Error> {
        self.json.interim_transcript_hash(group_id)
    }

    fn confirmation_tag<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ConfirmationTag: traits::ConfirmationTag<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<ConfirmationTag>, Self::Error> {
        self.json.confirmation_tag(group_id)
    }

    fn group_state<
        GroupState: traits::GroupState<CURRENT_VERSION>,
        GroupId: traits::GroupId<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<GroupState>, Self::Error> {
        self.json.group_state(group_id)
    }

    fn resumption_psk_store<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ResumptionPskStore: traits::ResumptionPskStore<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<ResumptionPskStore>, Self::Error> {
        self.json.resumption_psk_store(group_id)
    }

    fn own_leaf_index<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        LeafNodeIndex: traits::LeafNodeIndex<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<LeafNodeIndex>, Self::Error> {
        self.json.own_leaf_index(group_id)
    }

    fn group_epoch_secrets<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        GroupEpochSecrets: traits::GroupEpochSecrets<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<GroupEpochSecrets>, Self::Error> {
        self.json.group_epoch_secrets(group_id)
    }

    fn signature_key_pair<
        SignaturePublicKey: traits::SignaturePublicKey<CURRENT_VERSION>,
        SignatureKeyPair: traits::SignatureKeyPair<CURRENT_VERSION>,
    >(
        &self,
        public_key: &SignaturePublicKey,
    ) -> Result<Option<SignatureKeyPair>, Self::Error> {
        self.json.signature_key_pair(public_key)
    }

    fn encryption_key_pair<
        HpkeKeyPair: traits::HpkeKeyPair<CURRENT_VERSION>,
        EncryptionKey: traits::EncryptionKey<CURRENT_VERSION>,
    >(
        &self,
        public_key: &EncryptionKey,
    ) -> Result<Option<HpkeKeyPair>, Self::Error> {
        self.json.encryption_key_pair(public_key)
    }

    fn encryption_epoch_key_pairs<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        EpochKey: traits::EpochKey<CURRENT_VERSION>,
        HpkeKeyPair: traits::HpkeKeyPair<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        epoch: &EpochKey,
        leaf_index: u32,
    ) -> Result<Vec<HpkeKeyPair>, Self::Error> {
        self.json
            .encryption_epoch_key_pairs(group_id, epoch, leaf_index)
    }

    fn key_package<
        KeyPackageRef: traits::HashReference<CURRENT_VERSION>,
        KeyPackage: traits::KeyPackage<CURRENT_VERSION>,
    >(
        &self,
        hash_ref: &KeyPackageRef,
    ) -> Result<Option<KeyPackage>, Self::Error> {
        self.json.key_package(hash_ref)
    }

    fn psk<PskBundle: traits::PskBundle<CURRENT_VERSION>, PskId: traits::PskId<CURRENT_VERSION>>(
        &self,
        psk_id: &PskId,
    ) -> Result<Option<PskBundle>, Self::Error> {
        self.json.psk(psk_id)
    }

    fn application_export_tree<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ApplicationExportTree: traits::ApplicationExportTree<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<ApplicationExportTree>, Self::Error> {
        self.json.application_export_tree(group_id)
    }

    fn remove_proposal<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ProposalRef: traits::ProposalRef<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        proposal_ref: &ProposalRef,
    ) -> Result<(), Self::Error> {
        self.json.remove_proposal(group_id, proposal_ref)
    }

    fn delete_own_leaf_nodes<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.json.delete_own_leaf_nodes(group_id)
    }

    fn delete_group_config<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.json.delete_group_config(group_id)
    }

    fn delete_confirmation_tag<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.json.delete_confirmation_tag(group_id)
    }

    fn delete_group_state<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.json.delete_group_state(group_id)
    }

    fn delete_context<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.json.delete_context(group_id)
    }

    fn delete_interim_transcript_hash<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.json.delete_interim_transcript_hash(group_id)
    }

    fn delete_all_resumption_psk_secrets<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.json.delete_all_resumption_psk_secrets(group_id)
    }

    fn delete_own_leaf_index<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.json.delete_own_leaf_index(group_id)
    }

    fn delete_group_epoch_secrets<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.json.delete_group_epoch_secrets(group_id)
    }

    fn clear_proposal_queue<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ProposalRef: traits::ProposalRef<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.json
            .clear_proposal_queue::<GroupId, ProposalRef>(group_id)
    }

    fn delete_signature_key_pair<
        SignaturePublicKey: traits::SignaturePublicKey<CURRENT_VERSION>,
    >(
        &self,
        public_key: &SignaturePublicKey,
    ) -> Result<(), Self::Error> {
        self.json.delete_signature_key_pair(public_key)
    }

    fn delete_encryption_key_pair<EncryptionKey: traits::EncryptionKey<CURRENT_VERSION>>(
        &self,
        public_key: &EncryptionKey,
    ) -> Result<(), Self::Error> {
        self.json.delete_encryption_key_pair(public_key)
    }

    fn delete_encryption_epoch_key_pairs<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        EpochKey: traits::EpochKey<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        epoch: &EpochKey,
        leaf_index: u32,
    ) -> Result<(), Self::Error> {
        self.json
            .delete_encryption_epoch_key_pairs(group_id, epoch, leaf_index)
    }

    fn delete_key_package<KeyPackageRef: traits::HashReference<CURRENT_VERSION>>(
        &self,
        hash_ref: &KeyPackageRef,
    ) -> Result<(), Self::Error> {
        self.json.delete_key_package(hash_ref)
    }

    fn delete_psk<PskKey: traits::PskId<CURRENT_VERSION>>(
        &self,
        psk_id: &PskKey,
    ) -> Result<(), Self::Error> {
        self.json.delete_psk(psk_id)
    }

    fn delete_application_export_tree<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ApplicationExportTree: traits::ApplicationExportTree<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.json
            .delete_application_export_tree::<GroupId, ApplicationExportTree>(group_id)
    }
}
