//! KeyPackages checked on upload: the signature and lifetime (openmls), the ciphersuite, the
//! capabilities every member needs, and a credential naming a client of the uploader.

use mimi_policy::id::{ClientId, UserId};
use openmls::prelude::{
    ExtensionType, KeyPackage, MlsMessageBodyIn, MlsMessageIn, ProposalType, ProtocolVersion,
};
use openmls_traits::crypto::OpenMlsCrypto;
use tls_codec::Deserialize as _;

use crate::identity::client_of;
use crate::{CIPHERSUITE, MlsError};

/// A KeyPackage that passed every upload check, with the client it belongs to.
#[derive(Debug, Clone)]
pub struct ValidKeyPackage {
    /// The client the KeyPackage's credential names.
    pub client: ClientId,
    /// The validated KeyPackage.
    pub key_package: KeyPackage,
}

/// Checks a KeyPackage (an `MLSMessage` of wire format `mls_key_package`) uploaded by
/// `uploader`.
pub fn validate_key_package(
    crypto: &impl OpenMlsCrypto,
    bytes: &[u8],
    uploader: &UserId,
) -> Result<ValidKeyPackage, MlsError> {
    let message = MlsMessageIn::tls_deserialize_exact(bytes).map_err(MlsError::Decode)?;
    let MlsMessageBodyIn::KeyPackage(key_package_in) = message.extract() else {
        return Err(MlsError::Malformed("not a KeyPackage".into()));
    };
    let key_package = key_package_in
        .validate(crypto, ProtocolVersion::Mls10)
        .map_err(|e| MlsError::KeyPackage(format!("{e:?}")))?;
    if key_package.ciphersuite() != CIPHERSUITE {
        return Err(MlsError::KeyPackage(format!(
            "ciphersuite {:?} is not supported",
            key_package.ciphersuite()
        )));
    }
    let caps = key_package.leaf_node().capabilities();
    let supported = caps
        .extensions()
        .contains(&ExtensionType::AppDataDictionary)
        && caps.proposals().contains(&ProposalType::SelfRemove)
        && caps.proposals().contains(&ProposalType::AppDataUpdate);
    if !supported {
        return Err(MlsError::KeyPackage(
            "lacks the required capabilities (app_data_dictionary, SelfRemove, AppDataUpdate)"
                .into(),
        ));
    }
    let client = client_of(key_package.leaf_node().credential())?;
    if client.user() != uploader {
        return Err(MlsError::KeyPackage(format!(
            "credential names {client}, not a client of {uploader}"
        )));
    }
    Ok(ValidKeyPackage {
        client,
        key_package,
    })
}

/// A KeyPackage (an `MLSMessage`) of one of `owner`'s clients, checked as an upload is
/// (another provider handed it out), with its reference (RFC 9420 §5.2).
pub fn key_package_ref(
    crypto: &impl OpenMlsCrypto,
    bytes: &[u8],
    owner: &UserId,
) -> Result<(ClientId, Vec<u8>), MlsError> {
    let valid = validate_key_package(crypto, bytes, owner)?;
    let reference = valid
        .key_package
        .hash_ref(crypto)
        .map_err(MlsError::openmls)?;
    Ok((valid.client, reference.as_slice().to_vec()))
}
