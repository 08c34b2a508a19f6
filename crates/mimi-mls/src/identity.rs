//! Credentials: a basic credential whose identity is the client's `mimi://` URI
//! (`mimi://a.example/d/alice/phone`), which maps to exactly one user.

use mimi_policy::id::{ClientId, ProviderId};
use openmls::prelude::{BasicCredential, Credential};

use crate::MlsError;

/// The credential of a client.
pub fn credential_of(client: &ClientId) -> Credential {
    BasicCredential::new(client.to_string().into_bytes()).into()
}

/// The credential a provider's hub signs external proposals with (`mimi://domain`).
pub fn provider_credential(provider: &ProviderId) -> Credential {
    BasicCredential::new(provider.to_string().into_bytes()).into()
}

/// The client a credential names; anything but a basic credential holding a canonical client
/// URI is refused.
pub fn client_of(credential: &Credential) -> Result<ClientId, MlsError> {
    let basic = BasicCredential::try_from(credential.clone())
        .map_err(|_| MlsError::Credential("not a basic credential".into()))?;
    let text = std::str::from_utf8(basic.identity())
        .map_err(|_| MlsError::Credential("identity is not UTF-8".into()))?;
    let client = ClientId::parse(text).map_err(|e| MlsError::Credential(e.to_string()))?;
    if client.to_string() != text {
        return Err(MlsError::Credential(format!(
            "`{text}` is not in canonical form `{client}`"
        )));
    }
    Ok(client)
}
