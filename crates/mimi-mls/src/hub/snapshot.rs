//! A hosted room as bytes, for a provider's database: the public group state openmls keeps
//! (tree, group context, transcript hash, confirmation tag, stored proposals), the GroupInfo
//! served to joiners and the clients' Update times. Restoring needs no signature checks, so a
//! provider reloads a room in time linear in its size, not in Ed25519 verifications.
//!
//! ```text
//! struct {
//!   opaque group_id<V>;
//!   Entry storage<V>;                    // the MLS store, sorted by key, with the
//!                                        // tree encoded from the group (store.rs)
//!   uint8 group_info_state;              // 0 verified, 1 pending, 2 missing
//!   opaque group_info<V>;
//!   opaque pending_signer<V>;            // the committer's key while pending
//!   UpdateTime updated<V>;               // sorted by client
//! } HubRoomSnapshot;
//! struct { opaque key<V>; opaque value<V>; } Entry;
//! struct { opaque client<V>; uint64 seconds; } UpdateTime;
//! ```

use mimi_policy::id::ClientId;
use openmls::group::{GroupId, PublicGroup};
use openmls::prelude::SignaturePublicKey;
use openmls_traits::OpenMlsProvider as _;
use openmls_traits::storage::StorageProvider as _;
use tls_codec::{Deserialize as _, Serialize as _, VLBytes};

use super::{Hub, HubRoom, ServedGroupInfo};
use crate::MlsError;
use crate::context::room_of;
use crate::store::{MlsProvider, TREE};
use crate::stored::{Entry, entries, provider_with};

#[derive(Debug, tls_codec::TlsSerialize, tls_codec::TlsDeserialize, tls_codec::TlsSize)]
struct UpdateTime {
    client: VLBytes,
    seconds: u64,
}

#[derive(Debug, tls_codec::TlsSerialize, tls_codec::TlsDeserialize, tls_codec::TlsSize)]
struct Snapshot {
    group_id: VLBytes,
    storage: Vec<Entry>,
    group_info_state: u8,
    group_info: VLBytes,
    pending_signer: VLBytes,
    updated: Vec<UpdateTime>,
}

fn corrupt(what: impl std::fmt::Display) -> MlsError {
    MlsError::Malformed(format!("room snapshot: {what}"))
}

impl HubRoom {
    /// The room as bytes, for [`Hub::restore_room`].
    pub fn snapshot(&self) -> Result<Vec<u8>, MlsError> {
        // The store keeps no tree (`MlsProvider::without_tree`): it comes from the group.
        let mut storage = entries(&self.storage)?;
        let (key, value) = TREE
            .entry(self.group.group_id(), self.group.treesync())
            .map_err(MlsError::openmls)?;
        let entry = Entry {
            key: key.clone().into(),
            value: value.into(),
        };
        match storage.binary_search_by(|e| e.key.as_slice().cmp(&key)) {
            Ok(at) => storage[at] = entry,
            Err(at) => storage.insert(at, entry),
        }
        let (group_info_state, group_info, pending_signer) = match &self.group_info {
            ServedGroupInfo::Verified(bytes) => (0, bytes.as_slice(), &[][..]),
            ServedGroupInfo::Pending { bytes, signer } => (1, bytes.as_slice(), signer.as_slice()),
            ServedGroupInfo::Missing => (2, &[][..], &[][..]),
        };
        let mut updated: Vec<UpdateTime> = self
            .updated
            .iter()
            .map(|(c, &seconds)| UpdateTime {
                client: c.to_string().as_bytes().into(),
                seconds,
            })
            .collect();
        updated.sort_by(|a, b| a.client.as_slice().cmp(b.client.as_slice()));
        Snapshot {
            group_id: self.group.group_id().as_slice().into(),
            storage,
            group_info_state,
            group_info: group_info.into(),
            pending_signer: pending_signer.into(),
            updated,
        }
        .tls_serialize_detached()
        .map_err(MlsError::openmls)
    }
}

impl Hub {
    /// A room from its [`HubRoom::snapshot`], as it was when the snapshot was taken.
    pub fn restore_room(&self, bytes: &[u8]) -> Result<HubRoom, MlsError> {
        let snap = Snapshot::tls_deserialize_exact(bytes).map_err(corrupt)?;
        let storage = provider_with(MlsProvider::without_tree(), snap.storage)?;
        let group_id = GroupId::from_slice(snap.group_id.as_slice());
        let group = PublicGroup::load(storage.storage(), &group_id)
            .map_err(corrupt)?
            .ok_or_else(|| corrupt("no group in it"))?;
        // The group holds the tree now; the store keeps none.
        storage
            .storage()
            .delete_tree(&group_id)
            .map_err(MlsError::openmls)?;
        let room = room_of(group.group_context(), group.members())?;
        let group_info = match snap.group_info_state {
            0 => ServedGroupInfo::Verified(snap.group_info.as_slice().to_vec()),
            1 => ServedGroupInfo::Pending {
                bytes: snap.group_info.as_slice().to_vec(),
                signer: SignaturePublicKey::from(snap.pending_signer.as_slice().to_vec()),
            },
            2 => ServedGroupInfo::Missing,
            n => return Err(corrupt(format!("GroupInfo state {n}"))),
        };
        let mut updated = std::collections::HashMap::new();
        for u in snap.updated {
            let uri = std::str::from_utf8(u.client.as_slice()).map_err(corrupt)?;
            updated.insert(ClientId::parse(uri).map_err(corrupt)?, u.seconds);
        }
        Ok(HubRoom {
            state: super::new_state(),
            storage,
            group,
            group_info,
            room: std::sync::Arc::new(room),
            updated,
        })
    }
}

#[cfg(test)]
mod tests {
    use openmls::group::GroupId;
    use openmls::treesync::TreeSync;
    use openmls_traits::OpenMlsProvider as _;
    use openmls_traits::storage::StorageProvider as _;
    use tls_codec::{Deserialize as _, Serialize as _};

    use super::Snapshot;
    use crate::bench::{HostedRoom, hosted_room, key_package_of_user};
    use crate::store::{MlsProvider, TREE};
    use crate::stored::{entries, provider_with};

    /// openmls' own label for a tree; its JSON key follows.
    const OPENMLS_TREE: &[u8] = b"Tree";
    const TREE_PREFIX: &[u8] = TREE.prefix;

    fn has_key(snapshot: &[u8], prefix: &[u8]) -> bool {
        let snap = Snapshot::tls_deserialize_exact(snapshot).unwrap();
        snap.storage
            .iter()
            .any(|e| e.key.as_slice().starts_with(prefix))
    }

    /// `snapshot` as a version before the compact store wrote it: the tree as openmls' JSON.
    fn with_tree_as_openmls_json(snapshot: &[u8]) -> Vec<u8> {
        let mut snap = Snapshot::tls_deserialize_exact(snapshot).unwrap();
        let provider =
            provider_with(MlsProvider::default(), std::mem::take(&mut snap.storage)).unwrap();
        let group_id = GroupId::from_slice(snap.group_id.as_slice());
        let store = provider.storage();
        let tree: TreeSync = store.tree(&group_id).unwrap().unwrap();
        store.write_tree_as_openmls_did(&group_id, &tree).unwrap();
        snap.storage = entries(&provider).unwrap();
        snap.tls_serialize_detached().unwrap()
    }

    /// The owner adds user 3 (listed in the room); `room`, the hub's copy, accepts it.
    fn add_user_3(
        hub: &crate::hub::Hub,
        owner: &crate::member::Client,
        group: &mut crate::member::RoomGroup,
        room: &mut super::HubRoom,
    ) {
        let out = group
            .add(owner, vec![key_package_of_user(3).unwrap()])
            .unwrap();
        room.process(hub, &out.commit, Some(&out.group_info))
            .unwrap();
    }

    #[test]
    fn a_snapshot_whose_tree_openmls_stored_as_json_restores_and_is_rewritten_compactly() {
        let HostedRoom {
            hub,
            owner,
            mut group,
            hosted,
        } = hosted_room(3, 4).unwrap();
        let compact = hosted.snapshot().unwrap();
        assert!(has_key(&compact, TREE_PREFIX) && !has_key(&compact, OPENMLS_TREE));
        let legacy = with_tree_as_openmls_json(&compact);
        assert!(!has_key(&legacy, TREE_PREFIX) && has_key(&legacy, OPENMLS_TREE));

        let mut restored = hub.restore_room(&legacy).unwrap();
        // The restored room's store keeps neither form (the group holds the tree); its
        // snapshot has the compact one.
        let kept = entries(&restored.storage).unwrap();
        assert!(!kept.iter().any(|e| {
            e.key.as_slice().starts_with(TREE_PREFIX) || e.key.as_slice().starts_with(OPENMLS_TREE)
        }));
        assert!(has_key(&restored.snapshot().unwrap(), TREE_PREFIX));
        assert_eq!(
            restored.ratchet_tree().unwrap(),
            hosted.ratchet_tree().unwrap()
        );
        assert_eq!(restored.room().unwrap(), hosted.room().unwrap());
        // It goes on: the next commit is merged, and its snapshot restores.
        add_user_3(&hub, &owner, &mut group, &mut restored);
        let after = restored.snapshot().unwrap();
        assert!(has_key(&after, TREE_PREFIX) && !has_key(&after, OPENMLS_TREE));
        let again = hub.restore_room(&after).unwrap();
        assert_eq!(
            again.ratchet_tree().unwrap(),
            restored.ratchet_tree().unwrap()
        );
    }

    #[test]
    fn a_hub_room_holds_its_tree_once_in_the_group_not_in_its_store() {
        let HostedRoom {
            hub,
            owner,
            mut group,
            hosted,
        } = hosted_room(3, 4).unwrap();
        let in_store = |room: &super::HubRoom| {
            entries(&room.storage)
                .unwrap()
                .iter()
                .any(|e| e.key.as_slice().starts_with(TREE_PREFIX))
        };
        assert!(!in_store(&hosted), "loaded, then a commit merged");
        let mut restored = hub.restore_room(&hosted.snapshot().unwrap()).unwrap();
        assert!(!in_store(&restored), "restored");
        add_user_3(&hub, &owner, &mut group, &mut restored);
        assert!(!in_store(&restored), "another commit merged");
        // The snapshot has the tree all the same, as the group has it.
        let again = hub.restore_room(&restored.snapshot().unwrap()).unwrap();
        assert_eq!(
            again.ratchet_tree().unwrap(),
            restored.ratchet_tree().unwrap()
        );
    }

    #[test]
    fn a_tree_that_does_not_decode_is_an_error_not_a_panic() {
        let HostedRoom { hub, hosted, .. } = hosted_room(2, 2).unwrap();
        let compact = hosted.snapshot().unwrap();
        let legacy = with_tree_as_openmls_json(&compact);
        for (snapshot, prefix) in [(compact, TREE_PREFIX), (legacy, OPENMLS_TREE)] {
            let mut snap = Snapshot::tls_deserialize_exact(&snapshot).unwrap();
            let entry = snap
                .storage
                .iter_mut()
                .find(|e| e.key.as_slice().starts_with(prefix))
                .unwrap();
            let half = entry.value.as_slice()[..entry.value.as_slice().len() / 2].to_vec();
            entry.value = half.into();
            let bad = snap.tls_serialize_detached().unwrap();
            let err = hub.restore_room(&bad).err().unwrap();
            assert_eq!(err.code(), "malformed-mls", "{err}");
        }
    }
}
