//! Credentials: a basic credential whose identity is the client's `mimi://` URI
//! (`mimi://a.example/d/alice/phone`), which maps to exactly one user.

use mimi_policy::id::{ClientId, ProviderId, UserId};
use openmls::prelude::{
    BasicCredential, Credential, ExternalSender, GroupContext, SenderExtensionIndex,
};
use tls_codec::{Deserialize as _, Serialize as _};

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

/// A client's credential, TLS-encoded (as protocol-06 requests carry it).
pub fn credential_bytes(client: &ClientId) -> Result<Vec<u8>, MlsError> {
    credential_of(client)
        .tls_serialize_detached()
        .map_err(MlsError::openmls)
}

/// The client a TLS-encoded credential names (see [`client_of`]).
pub fn client_of_bytes(bytes: &[u8]) -> Result<ClientId, MlsError> {
    client_of(&Credential::tls_deserialize_exact(bytes).map_err(MlsError::Decode)?)
}

/// The system user (`system@domain`) behind a provider credential (`mimi://domain`).
pub fn system_user_of(credential: &Credential) -> Option<UserId> {
    let basic = BasicCredential::try_from(credential.clone()).ok()?;
    let provider = ProviderId::parse(std::str::from_utf8(basic.identity()).ok()?).ok()?;
    UserId::new(provider.domain(), "system").ok()
}

/// The credential of an external sender. openmls keeps the accessor private, so it is read
/// from the sender's wire form (`SignaturePublicKey signature_key; Credential credential`).
fn external_sender_parts(sender: &ExternalSender) -> Option<(tls_codec::VLBytes, Credential)> {
    let bytes = sender.tls_serialize_detached().ok()?;
    let mut rest = bytes.as_slice();
    let key = tls_codec::VLBytes::tls_deserialize(&mut rest).ok()?;
    Some((key, Credential::tls_deserialize(&mut rest).ok()?))
}

fn external_sender_credential(sender: &ExternalSender) -> Option<Credential> {
    external_sender_parts(sender).map(|(_, credential)| credential)
}

/// The system user of the provider an external sender names (`system@domain` for
/// `mimi://domain`), if it names one.
pub fn sender_system_user(sender: &ExternalSender) -> Option<UserId> {
    system_user_of(&external_sender_credential(sender)?)
}

/// The signature key of the external sender that is `system`'s provider (`mimi://domain`
/// for `system@domain`) in the group's `external_senders`, if the group lists it.
pub fn provider_sender_key(context: &GroupContext, system: &UserId) -> Option<Vec<u8>> {
    context
        .extensions()
        .external_senders()?
        .iter()
        .filter_map(external_sender_parts)
        .find(|(_, credential)| system_user_of(credential).as_ref() == Some(system))
        .map(|(key, _)| key.as_slice().to_vec())
}

/// The system user behind the external sender at `index` of the group's `external_senders`.
pub fn external_system_user(
    context: &GroupContext,
    index: &SenderExtensionIndex,
) -> Option<UserId> {
    let senders = context.extensions().external_senders()?;
    let (_, sender) = senders
        .iter()
        .enumerate()
        .find(|(i, _)| SenderExtensionIndex::new(*i as u32) == *index)?;
    system_user_of(&external_sender_credential(sender)?)
}
