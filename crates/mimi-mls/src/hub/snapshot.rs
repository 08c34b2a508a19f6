//! A hosted room as bytes, for a provider's database: the public group state openmls keeps
//! (tree, group context, transcript hash, confirmation tag, stored proposals), the GroupInfo
//! served to joiners and the clients' Update times. Restoring needs no signature checks, so a
//! provider reloads a room in time linear in its size, not in Ed25519 verifications.
//!
//! ```text
//! struct {
//!   opaque group_id<V>;
//!   Entry storage<V>;                    // openmls' store, sorted by key
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
use tls_codec::{Deserialize as _, Serialize as _, VLBytes};

use super::{Hub, HubRoom, ServedGroupInfo};
use crate::MlsError;
use crate::context::room_of;
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
        let storage = entries(&self.storage)?;
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
        let storage = provider_with(snap.storage)?;
        let group_id = GroupId::from_slice(snap.group_id.as_slice());
        let group = PublicGroup::load(storage.storage(), &group_id)
            .map_err(corrupt)?
            .ok_or_else(|| corrupt("no group in it"))?;
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
