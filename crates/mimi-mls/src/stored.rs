//! openmls' in-memory store as TLS bytes: the part of a hub room's snapshot and of a saved
//! client that openmls itself keeps.
//!
//! ```text
//! struct { opaque key<V>; opaque value<V>; } Entry;   // a vector of them, sorted by key
//! ```

use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::OpenMlsProvider as _;
use tls_codec::VLBytes;

use crate::MlsError;

/// One key and value of the store.
#[derive(Debug, tls_codec::TlsSerialize, tls_codec::TlsDeserialize, tls_codec::TlsSize)]
pub(crate) struct Entry {
    key: VLBytes,
    value: VLBytes,
}

fn poisoned() -> MlsError {
    MlsError::Openmls("the MLS store is poisoned".into())
}

/// Every entry of `provider`'s store, sorted by key.
pub(crate) fn entries(provider: &OpenMlsRustCrypto) -> Result<Vec<Entry>, MlsError> {
    let values = provider.storage().values.read().map_err(|_| poisoned())?;
    let mut out: Vec<Entry> = values
        .iter()
        .map(|(k, v)| Entry {
            key: k.as_slice().into(),
            value: v.as_slice().into(),
        })
        .collect();
    out.sort_by(|a, b| a.key.as_slice().cmp(b.key.as_slice()));
    Ok(out)
}

/// A provider whose store holds `entries`.
pub(crate) fn provider_with(entries: Vec<Entry>) -> Result<OpenMlsRustCrypto, MlsError> {
    let provider = OpenMlsRustCrypto::default();
    {
        let mut values = provider.storage().values.write().map_err(|_| poisoned())?;
        for e in entries {
            values.insert(e.key.as_slice().to_vec(), e.value.as_slice().to_vec());
        }
    }
    Ok(provider)
}
