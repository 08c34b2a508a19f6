//! The room policy in the group context.
//!
//! Every group holds: `required_capabilities` (AppDataDictionary, AppDataUpdate, SelfRemove,
//! so every member must support them), `external_senders` (the hub's key, for
//! server-initiated proposals) and `app_data_dictionary` (the policy components, see
//! `mimi_policy::carriage`). The room ID is the group ID.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use mimi_policy::Room;
use mimi_policy::id::{RoomId, UserId};
use openmls::component::ComponentData;
use openmls::prelude::{
    AppDataDictionary, AppDataDictionaryExtension, Capabilities, Credential, CredentialType,
    Extension, ExtensionType, Extensions, ExternalSender, GroupContext, GroupId, Member,
    ProposalType, RequiredCapabilitiesExtension,
};

use crate::identity::client_of;
use crate::{CIPHERSUITE, MlsError};

/// The capabilities every mimi leaf advertises (KeyPackages and external joiners).
pub fn leaf_capabilities() -> Capabilities {
    Capabilities::new(
        None,
        Some(&[CIPHERSUITE]),
        Some(&[ExtensionType::AppDataDictionary]),
        Some(&[ProposalType::SelfRemove, ProposalType::AppDataUpdate]),
        Some(&[CredentialType::Basic]),
    )
}

/// What every member of a mimi group must support.
pub fn required_capabilities() -> RequiredCapabilitiesExtension {
    RequiredCapabilitiesExtension::new(
        &[ExtensionType::AppDataDictionary],
        &[ProposalType::SelfRemove, ProposalType::AppDataUpdate],
        &[CredentialType::Basic],
    )
}

/// The group context extensions of a room: capabilities, the hub as external sender, and the
/// policy components.
pub fn group_context_extensions(
    room: &Room,
    hub: &ExternalSender,
) -> Result<Extensions<GroupContext>, MlsError> {
    let entries = room
        .to_app_data()
        .map_err(|e| MlsError::Policy(e.to_string()))?;
    let mut dictionary = AppDataDictionary::new();
    for (id, data) in entries {
        dictionary.insert(id, data);
    }
    Extensions::from_vec(vec![
        Extension::RequiredCapabilities(required_capabilities()),
        Extension::ExternalSenders(vec![hub.clone()]),
        Extension::AppDataDictionary(AppDataDictionaryExtension::new(dictionary)),
    ])
    .map_err(MlsError::openmls)
}

/// The group ID of a room: its URI.
pub fn group_id(room: &RoomId) -> GroupId {
    GroupId::from_slice(room.as_str().as_bytes())
}

/// The room a group ID names.
pub fn room_id(group: &GroupId) -> Result<RoomId, MlsError> {
    let text = std::str::from_utf8(group.as_slice())
        .map_err(|_| MlsError::Policy("group ID is not UTF-8".into()))?;
    RoomId::parse(text).map_err(|e| MlsError::Policy(format!("group ID: {e}")))
}

/// The clients in the group, by user, from the leaves' credentials.
pub fn clients_of(
    members: impl Iterator<Item = Member>,
) -> Result<BTreeMap<UserId, BTreeSet<String>>, MlsError> {
    clients_of_credentials(members.map(|m| m.credential))
}

/// The clients the leaves' `credentials` name, by user.
fn clients_of_credentials(
    credentials: impl Iterator<Item = impl Borrow<Credential>>,
) -> Result<BTreeMap<UserId, BTreeSet<String>>, MlsError> {
    let mut clients: BTreeMap<UserId, BTreeSet<String>> = BTreeMap::new();
    for credential in credentials {
        let client = client_of(credential.borrow())?;
        let name = client.name().to_owned();
        if !clients
            .entry(client.user().clone())
            .or_default()
            .insert(name)
        {
            return Err(MlsError::Credential(format!("{client} has two leaves")));
        }
    }
    Ok(clients)
}

/// The group context's AppDataDictionary entries, by component ID.
pub fn app_data_entries(context: &GroupContext) -> BTreeMap<u16, Vec<u8>> {
    context
        .extensions()
        .app_data_dictionary()
        .map(|d| {
            d.dictionary()
                .entries()
                .map(|c: &ComponentData| (c.id(), c.data().to_vec()))
                .collect()
        })
        .unwrap_or_default()
}

/// One entry of a room's `app_data_dictionary`, as the provider keeps the policy of a vacant
/// room (`struct { uint16 component_id; opaque data<V>; } Entry; Entry entries<V>;`).
#[derive(Debug, tls_codec::TlsSerialize, tls_codec::TlsDeserialize, tls_codec::TlsSize)]
struct Entry {
    id: u16,
    data: tls_codec::VLBytes,
}

/// A room's policy entries, TLS-encoded: what a vacant room keeps (see [`decode_app_data`]).
pub fn encode_app_data(entries: &BTreeMap<u16, Vec<u8>>) -> Result<Vec<u8>, MlsError> {
    use tls_codec::Serialize as _;
    entries
        .iter()
        .map(|(id, data)| Entry {
            id: *id,
            data: data.clone().into(),
        })
        .collect::<Vec<_>>()
        .tls_serialize_detached()
        .map_err(MlsError::openmls)
}

/// Policy entries encoded by [`encode_app_data`]: in ascending order, each ID once.
pub fn decode_app_data(bytes: &[u8]) -> Result<BTreeMap<u16, Vec<u8>>, MlsError> {
    use tls_codec::Deserialize as _;
    let entries = Vec::<Entry>::tls_deserialize_exact(bytes)
        .map_err(|e| MlsError::Malformed(format!("a room's policy entries: {e}")))?;
    let mut out = BTreeMap::new();
    for e in entries {
        if out.last_key_value().is_some_and(|(last, _)| *last >= e.id) {
            return Err(MlsError::Malformed(
                "a room's policy entries are not in ascending order".into(),
            ));
        }
        out.insert(e.id, e.data.as_slice().to_vec());
    }
    Ok(out)
}

/// The room a group context and its members describe, checked against every policy rule.
pub fn room_of(
    context: &GroupContext,
    members: impl Iterator<Item = Member>,
) -> Result<Room, MlsError> {
    room_of_credentials(context, members.map(|m| m.credential))
}

/// The room a group context and its leaves' `credentials` describe, checked against every
/// policy rule.
pub fn room_of_credentials(
    context: &GroupContext,
    credentials: impl Iterator<Item = impl Borrow<Credential>>,
) -> Result<Room, MlsError> {
    if context.extensions().app_data_dictionary().is_none() {
        return Err(MlsError::Policy("no app_data_dictionary".into()));
    }
    let id = room_id(context.group_id())?;
    let clients = clients_of_credentials(credentials)?;
    Room::from_app_data(Some(id), &app_data_entries(context), clients)
        .map_err(|e| MlsError::Policy(e.to_string()))
}
