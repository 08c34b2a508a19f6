//! The MLS overlay of mimi (openmls, ciphersuite 0x0001): a room is one MLS group whose group
//! context carries the room policy as application components, so every member and the hub
//! agree on it.
//!
//! - [`identity`]: credentials name the client by its `mimi://` client URI.
//! - [`context`]: the room policy in and out of the group context (`app_data_dictionary`,
//!   `required_capabilities`, `external_senders`).
//! - [`key_package`]: KeyPackages checked on upload.
//! - [`join_link`]: the join code an external commit carries in its authenticated data.
//! - [`claims`]: the team, workgroup and group claims a provider signs for its users.
//! - [`member`]: the member side (a client's `MlsGroup`).
//! - [`hub`]: the hub side (`PublicGroup`, no secrets).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
pub mod checked;
pub mod claims;
pub mod commit;
pub mod context;
pub mod error;
pub mod hpke;
pub mod hub;
pub mod identity;
pub mod join_link;
pub mod key_package;
pub mod member;
pub mod reason;
pub mod sender;
pub mod store;
mod stored;

pub use error::MlsError;

/// The one ciphersuite mimi uses (RFC 9420's mandatory-to-implement suite).
pub const CIPHERSUITE: openmls::prelude::Ciphersuite =
    openmls::prelude::Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// A fresh signature key for mimi's ciphersuite.
pub(crate) fn new_signer() -> Result<openmls_basic_credential::SignatureKeyPair, MlsError> {
    openmls_basic_credential::SignatureKeyPair::new(CIPHERSUITE.signature_algorithm())
        .map_err(MlsError::openmls)
}
