//! `keyMaterial` (protocol-06 §5.2): a provider claims KeyPackages of another provider's
//! user, for a room.

use tls_codec::{DeserializeBytes, Error};

use crate::codec::{
    self, Capabilities, Credential, IdentifierUri, KeyPackage, Mls, Opaque, Protocol,
    RequiredCapabilities, Select, byte_enum, put, select_codec, take,
};

/// The request, signed by the requesting client (`KeyMaterialRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMaterialRequest {
    /// The fields the signature covers.
    pub tbs: KeyMaterialRequestTbs,
    /// `SignWithLabel(requesterSignatureKey, "KeyMaterialRequestTBS", tbs)`.
    pub signature: Opaque,
}

/// `KeyMaterialRequestTBS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMaterialRequestTbs {
    /// The user who asks.
    pub requesting_user: IdentifierUri,
    /// The user whose KeyPackages are asked for.
    pub target_user: IdentifierUri,
    /// The room they are for (consent may be per room).
    pub room_id: IdentifierUri,
    /// Cipher suites the room accepts.
    pub acceptable_ciphersuites: Vec<u16>,
    /// The room's required capabilities.
    pub required_capabilities: Mls<RequiredCapabilities>,
    /// The requesting client's signature key.
    pub requester_signature_key: Opaque,
    /// The requesting client's credential.
    pub requester_credential: Mls<Credential>,
}

/// The label the request is signed under.
pub const KEY_MATERIAL_REQUEST_LABEL: &str = "KeyMaterialRequestTBS";

impl Select for KeyMaterialRequestTbs {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put(out, &Protocol::Mls10)?;
        put(out, &self.requesting_user)?;
        put(out, &self.target_user)?;
        put(out, &self.room_id)?;
        put(out, &self.acceptable_ciphersuites)?;
        put(out, &self.required_capabilities)?;
        put(out, &self.requester_signature_key)?;
        put(out, &self.requester_credential)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (Protocol::Mls10, bytes) = take::<Protocol>(bytes)?;
        let (requesting_user, bytes) = take(bytes)?;
        let (target_user, bytes) = take(bytes)?;
        let (room_id, bytes) = take(bytes)?;
        let (acceptable_ciphersuites, bytes) = take(bytes)?;
        let (required_capabilities, bytes) = take(bytes)?;
        let (requester_signature_key, bytes) = take(bytes)?;
        let (requester_credential, bytes) = take(bytes)?;
        Ok((
            Self {
                requesting_user,
                target_user,
                room_id,
                acceptable_ciphersuites,
                required_capabilities,
                requester_signature_key,
                requester_credential,
            },
            bytes,
        ))
    }
}

impl Select for KeyMaterialRequest {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.tbs.put(out)?;
        put(out, &self.signature)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (tbs, bytes) = KeyMaterialRequestTbs::take(bytes)?;
        let (signature, bytes) = take(bytes)?;
        Ok((Self { tbs, signature }, bytes))
    }
}

byte_enum! {
    /// `KeyMaterialUserCode`.
    KeyMaterialUserCode {
        /// Every client has material.
        Success = 0,
        /// Some clients have material.
        PartialSuccess = 1,
        /// The protocol is not supported.
        IncompatibleProtocol = 2,
        /// No client has material the room can use.
        NoCompatibleMaterial = 3,
        /// No such user (or one the requester may not learn of).
        UserUnknown = 4,
        /// The user has not consented.
        NoConsent = 5,
        /// The user has not consented to this room.
        NoConsentForThisRoom = 6,
        /// The user was deleted.
        UserDeleted = 7,
    }
}

byte_enum! {
    /// `KeyMaterialClientCode`.
    KeyMaterialClientCode {
        /// A KeyPackage follows.
        Success = 0,
        /// The client has no KeyPackage left.
        KeyMaterialExhausted = 1,
        /// The client has none the room can use.
        NothingCompatible = 2,
    }
}

/// One client's answer (`ClientKeyMaterial`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKeyMaterial {
    /// The client.
    pub client_uri: IdentifierUri,
    /// Its KeyPackage, or why there is none.
    pub material: ClientMaterial,
}

/// `ClientKeyMaterial`'s `select (clientStatus)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMaterial {
    /// `success`: a KeyPackage, never handed out before.
    Success(Mls<KeyPackage>),
    /// `keyMaterialExhausted`.
    KeyMaterialExhausted,
    /// `nothingCompatible`, perhaps with what the client can do.
    NothingCompatible(Option<Mls<Capabilities>>),
}

impl Select for ClientKeyMaterial {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let status = match &self.material {
            ClientMaterial::Success(_) => KeyMaterialClientCode::Success,
            ClientMaterial::KeyMaterialExhausted => KeyMaterialClientCode::KeyMaterialExhausted,
            ClientMaterial::NothingCompatible(_) => KeyMaterialClientCode::NothingCompatible,
        };
        put(out, &status)?;
        put(out, &self.client_uri)?;
        match &self.material {
            ClientMaterial::Success(kp) => put(out, kp),
            ClientMaterial::KeyMaterialExhausted => Ok(()),
            ClientMaterial::NothingCompatible(caps) => put(out, caps),
        }
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (status, bytes) = take::<KeyMaterialClientCode>(bytes)?;
        let (client_uri, bytes) = take(bytes)?;
        let (material, bytes) = match status {
            KeyMaterialClientCode::Success => {
                let (kp, bytes) = take(bytes)?;
                (ClientMaterial::Success(kp), bytes)
            }
            KeyMaterialClientCode::KeyMaterialExhausted => {
                (ClientMaterial::KeyMaterialExhausted, bytes)
            }
            KeyMaterialClientCode::NothingCompatible => {
                let (caps, bytes) = take(bytes)?;
                (ClientMaterial::NothingCompatible(caps), bytes)
            }
        };
        Ok((
            Self {
                client_uri,
                material,
            },
            bytes,
        ))
    }
}

/// The answer (`KeyMaterialResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMaterialResponse {
    /// How it went for the user.
    pub user_status: KeyMaterialUserCode,
    /// The user.
    pub user_uri: IdentifierUri,
    /// Its clients' answers (empty unless some material was found).
    pub clients: Vec<ClientKeyMaterial>,
}

impl Select for KeyMaterialResponse {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put(out, &Protocol::Mls10)?;
        put(out, &self.user_status)?;
        put(out, &self.user_uri)?;
        put(out, &self.clients)
    }

    fn take(bytes: &[u8]) -> Result<(Self, &[u8]), Error> {
        let (Protocol::Mls10, bytes) = take::<Protocol>(bytes)?;
        let (user_status, bytes) = take(bytes)?;
        let (user_uri, bytes) = take(bytes)?;
        let (clients, bytes) = <Vec<ClientKeyMaterial>>::tls_deserialize_bytes(bytes)?;
        Ok((
            Self {
                user_status,
                user_uri,
                clients,
            },
            bytes,
        ))
    }
}

select_codec!(
    KeyMaterialRequestTbs,
    KeyMaterialRequest,
    ClientKeyMaterial,
    KeyMaterialResponse
);

impl KeyMaterialRequest {
    /// The bytes the signature covers (`SignContent` of the TBS under its label).
    pub fn signed_content(&self) -> Result<Vec<u8>, Error> {
        codec::sign_content(KEY_MATERIAL_REQUEST_LABEL, &codec::encode(&self.tbs)?)
    }
}
