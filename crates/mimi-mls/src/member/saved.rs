//! A client's whole state as bytes, for a device's profile directory: its ID, its signature
//! key and openmls' store (every group it is in, its KeyPackages' private keys). Secret.
//!
//! ```text
//! struct {
//!   opaque client<V>;        // mimi:// client URI
//!   opaque signer<V>;        // SignatureKeyPair, TLS
//!   Entry storage<V>;        // sorted by key
//! } SavedClient;
//! struct { opaque key<V>; opaque value<V>; } Entry;
//! ```

use mimi_policy::id::{ClientId, RoomId};
use openmls::prelude::MlsGroup;
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::OpenMlsProvider as _;
use tls_codec::{Deserialize as _, Serialize as _, VLBytes};

use super::{Client, RoomGroup};
use crate::MlsError;
use crate::context::group_id;
use crate::store::MlsProvider;
use crate::stored::{Entry, entries, provider_with};

#[derive(Debug, tls_codec::TlsSerialize, tls_codec::TlsDeserialize, tls_codec::TlsSize)]
struct Saved {
    client: VLBytes,
    signer: VLBytes,
    storage: Vec<Entry>,
}

fn corrupt(what: impl std::fmt::Display) -> MlsError {
    MlsError::Malformed(format!("saved client: {what}"))
}

impl Client {
    /// The client's whole state, for [`Client::restore`]. Secret: it holds private keys.
    pub fn save(&self) -> Result<Vec<u8>, MlsError> {
        let storage = entries(&self.provider)?;
        Saved {
            client: self.id.to_string().as_bytes().into(),
            signer: self
                .signer
                .tls_serialize_detached()
                .map_err(MlsError::openmls)?
                .into(),
            storage,
        }
        .tls_serialize_detached()
        .map_err(MlsError::openmls)
    }

    /// A client from [`Client::save`], with every group it was in.
    pub fn restore(bytes: &[u8]) -> Result<Self, MlsError> {
        let saved = Saved::tls_deserialize_exact(bytes).map_err(corrupt)?;
        let uri = std::str::from_utf8(saved.client.as_slice()).map_err(corrupt)?;
        let id = ClientId::parse(uri).map_err(corrupt)?;
        let signer =
            SignatureKeyPair::tls_deserialize_exact(saved.signer.as_slice()).map_err(corrupt)?;
        Ok(Self::from_parts(
            id,
            provider_with(MlsProvider::default(), saved.storage)?,
            signer,
        ))
    }

    /// The group of `room` this client is in, from its store.
    pub fn group(&self, room: &RoomId) -> Result<Option<RoomGroup>, MlsError> {
        Ok(MlsGroup::load(self.provider.storage(), &group_id(room))
            .map_err(MlsError::openmls)?
            .map(|group| RoomGroup { group }))
    }
}

#[cfg(test)]
mod tests {
    use mimi_policy::id::{ClientId, UserId};
    use openmls_traits::OpenMlsProvider as _;
    use tls_codec::Deserialize as _;

    use super::Saved;
    use crate::bench::{HostedRoom, hosted_room};
    use crate::key_package::validate_key_package;
    use crate::member::{Client, Incoming};
    use crate::store::{MESSAGE_SECRETS, MlsProvider};

    /// openmls' own label for message secrets; its JSON key follows.
    const OPENMLS_MESSAGE_SECRETS: &[u8] = b"MessageSecrets";

    fn has_key(saved: &[u8], prefix: &[u8]) -> bool {
        let saved = Saved::tls_deserialize_exact(saved).unwrap();
        saved
            .storage
            .iter()
            .any(|e| e.key.as_slice().starts_with(prefix))
    }

    #[test]
    fn a_saved_client_whose_message_secrets_openmls_stored_as_json_restores_and_decrypts() {
        let HostedRoom {
            hub,
            owner,
            mut group,
            mut hosted,
        } = hosted_room(1, 2).unwrap();
        // User 1 (listed in the room) on a client whose store writes as openmls' did.
        let id = ClientId::new(UserId::new("example.com", "user00001").unwrap(), "phone").unwrap();
        let bob = Client::with_provider(id, MlsProvider::as_openmls_did()).unwrap();
        let kp = validate_key_package(
            bob.provider().crypto(),
            &bob.key_package().unwrap(),
            bob.id().user(),
        )
        .unwrap();
        let out = group.add(&owner, vec![kp]).unwrap();
        hosted
            .process(&hub, &out.commit, Some(&out.group_info))
            .unwrap();
        group.confirm(&owner).unwrap();
        bob.join(
            out.welcome.as_deref().unwrap(),
            &group.ratchet_tree().unwrap(),
        )
        .unwrap();
        let saved = bob.save().unwrap();
        assert!(has_key(&saved, OPENMLS_MESSAGE_SECRETS));
        assert!(!has_key(&saved, MESSAGE_SECRETS.prefix));

        // This version's client reads it, decrypts, and keeps the secrets compactly.
        let bob = Client::restore(&saved).unwrap();
        let room = hosted.room().unwrap().id.unwrap();
        let mut theirs = bob.group(&room).unwrap().unwrap();
        let message = group.encrypt(&owner, b"hello").unwrap();
        match theirs.process(&bob, &message).unwrap() {
            Incoming::Message { plaintext, .. } => assert_eq!(plaintext, b"hello"),
            other => panic!("{other:?}"),
        }
        let saved = bob.save().unwrap();
        assert!(!has_key(&saved, OPENMLS_MESSAGE_SECRETS));
        assert!(has_key(&saved, MESSAGE_SECRETS.prefix));
    }
}
