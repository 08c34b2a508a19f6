//! `EncryptWithLabel` / `DecryptWithLabel` (RFC 9420 §5.1.3) in mimi's cipher suite: HPKE
//! base mode, the label and context as `EncryptContext`, no AAD. protocol-06's `groupInfo`
//! encrypts the GroupInfo and ratchet tree to a key the requester made for that request.

use openmls::prelude::HpkeCiphertext;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::OpenMlsProvider as _;
use openmls_traits::crypto::OpenMlsCrypto as _;
use openmls_traits::random::OpenMlsRand as _;
use openmls_traits::types::HpkeConfig;
use tls_codec::{Deserialize as _, Serialize as _, VLByteSlice};

use crate::{CIPHERSUITE, MlsError};

fn config() -> HpkeConfig {
    HpkeConfig(
        CIPHERSUITE.hpke_kem_algorithm(),
        CIPHERSUITE.hpke_kdf_algorithm(),
        CIPHERSUITE.hpke_aead_algorithm(),
    )
}

/// `struct { opaque label<V> = "MLS 1.0 " + label; opaque context<V>; } EncryptContext;`
fn encrypt_context(label: &str, context: &[u8]) -> Result<Vec<u8>, MlsError> {
    let label = format!("MLS 1.0 {label}");
    let mut out = VLByteSlice(label.as_bytes())
        .tls_serialize_detached()
        .map_err(MlsError::openmls)?;
    out.extend(
        VLByteSlice(context)
            .tls_serialize_detached()
            .map_err(MlsError::openmls)?,
    );
    Ok(out)
}

/// A fresh HPKE key pair: (public key, private key). The private key is secret.
pub fn key_pair() -> Result<(Vec<u8>, Vec<u8>), MlsError> {
    let provider = OpenMlsRustCrypto::default();
    let ikm: [u8; 32] = provider
        .rand()
        .random_array()
        .map_err(|e| MlsError::Openmls(format!("randomness: {e:?}").into()))?;
    let pair = provider
        .crypto()
        .derive_hpke_keypair(config(), &ikm)
        .map_err(|e| MlsError::Openmls(format!("an HPKE key: {e:?}").into()))?;
    Ok((pair.public, pair.private.to_vec()))
}

/// `plaintext` encrypted to `public_key` under `label` and `context`: an `HPKECiphertext`,
/// TLS-encoded.
pub fn seal(
    public_key: &[u8],
    label: &str,
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, MlsError> {
    let provider = OpenMlsRustCrypto::default();
    let sealed = provider
        .crypto()
        .hpke_seal(
            config(),
            public_key,
            &encrypt_context(label, context)?,
            &[],
            plaintext,
        )
        .map_err(|e| MlsError::Malformed(format!("encrypting to the given key: {e:?}")))?;
    sealed.tls_serialize_detached().map_err(MlsError::openmls)
}

/// The plaintext of `ciphertext` (an `HPKECiphertext`, TLS-encoded) for `private_key`,
/// under `label` and `context`.
pub fn open(
    private_key: &[u8],
    label: &str,
    context: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, MlsError> {
    let provider = OpenMlsRustCrypto::default();
    let input = HpkeCiphertext::tls_deserialize_exact(ciphertext).map_err(MlsError::Decode)?;
    provider
        .crypto()
        .hpke_open(
            config(),
            &input,
            private_key,
            &encrypt_context(label, context)?,
            &[],
        )
        .map_err(|_| MlsError::Malformed("the ciphertext does not open with this key".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_sealed_to_a_key_opens_with_it_and_only_under_its_label_and_context() {
        let (public, private) = key_pair().unwrap();
        let sealed = seal(&public, "L", b"room", b"secret").unwrap();
        assert_eq!(open(&private, "L", b"room", &sealed).unwrap(), b"secret");
        assert!(open(&private, "other", b"room", &sealed).is_err());
        assert!(open(&private, "L", b"another room", &sealed).is_err());
        let (_, stranger) = key_pair().unwrap();
        assert!(open(&stranger, "L", b"room", &sealed).is_err());
    }
}
