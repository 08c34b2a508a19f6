//! The MLS store ([`crate::store::Store`]) as TLS bytes: the part of a hub room's snapshot and of a saved
//! client that openmls itself keeps.
//!
//! ```text
//! struct { opaque key<V>; opaque value<V>; } Entry;   // a vector of them, sorted by key
//! ```

use crate::store::MlsProvider;
use openmls_traits::OpenMlsProvider as _;
use tls_codec::VLBytes;

use crate::MlsError;

/// One key and value of the store.
#[derive(Debug, tls_codec::TlsSerialize, tls_codec::TlsDeserialize, tls_codec::TlsSize)]
pub(crate) struct Entry {
    pub(crate) key: VLBytes,
    pub(crate) value: VLBytes,
}

fn poisoned() -> MlsError {
    MlsError::Openmls("the MLS store is poisoned".into())
}

/// Every entry of `provider`'s store, sorted by key.
pub(crate) fn entries(provider: &MlsProvider) -> Result<Vec<Entry>, MlsError> {
    let values = provider.storage().values().ok_or_else(poisoned)?;
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

/// `provider` with `entries` put in its store.
pub(crate) fn provider_with(
    provider: MlsProvider,
    entries: Vec<Entry>,
) -> Result<MlsProvider, MlsError> {
    {
        let mut values = provider.storage().values_mut().ok_or_else(poisoned)?;
        for e in entries {
            values.insert(e.key.into(), e.value.into());
        }
    }
    Ok(provider)
}
