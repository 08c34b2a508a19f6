//! The room policy lives in the group context: the creator puts it there, every member and
//! the hub read the same room back, and the hub refuses groups it should not host.

use mimi_mls::context::{group_context_extensions, group_id, leaf_capabilities};
use mimi_mls::hub::Hub;
use mimi_mls::identity::credential_of;
use mimi_policy::id::{ClientId, ProviderId};
use openmls::prelude::{
    CredentialWithKey, Extension, ExternalSender, MlsGroup, MlsGroupCreateConfig,
    PURE_PLAINTEXT_WIRE_FORMAT_POLICY,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::OpenMlsProvider as _;
use tls_codec::Serialize as _;

use crate::support::{client, new_room};

fn hub() -> Hub {
    Hub::new(ProviderId::parse("example.com").unwrap()).unwrap()
}

#[test]
fn created_group_carries_the_room_policy_for_member_and_hub() {
    for preset in ["administrated", "open", "moderated", "semi-open"] {
        // One group per room ID per client and hub: fresh ones for each preset.
        let hub = hub();
        let alice = client("mimi://example.com/d/alice/phone");
        let room = new_room(preset, alice.id());
        let group = alice.create_room(&room, &hub.external_sender()).unwrap();
        assert_eq!(group.room().unwrap(), room, "{preset}: member view");
        let hosted = hub
            .load_room(
                &alice.group_info(&group).unwrap(),
                &group.ratchet_tree().unwrap(),
            )
            .unwrap();
        assert_eq!(hosted.room().unwrap(), room, "{preset}: hub view");
        assert_eq!(hosted.epoch(), 0);
        assert_eq!(hosted.client_count().unwrap(), 1);
    }
}

#[test]
fn member_refuses_to_create_a_room_its_user_may_not_create() {
    let hub = hub();
    let bob = client("mimi://example.com/d/bob/phone");
    let room = new_room("administrated", bob.id()); // bob is a member, not an owner or admin
    let err = bob
        .create_room(&room, &hub.external_sender())
        .err()
        .unwrap();
    assert_eq!(err.code(), "not-allowed");
}

/// A group made with openmls directly, bypassing the member-side checks.
fn raw_group(creator: &ClientId, room: &mimi_policy::Room, hub: &Hub) -> (Vec<u8>, Vec<u8>) {
    raw_group_with(creator, room, vec![hub.external_sender()])
}

/// Like [`raw_group`], listing `senders` as the group's external senders.
fn raw_group_with(
    creator: &ClientId,
    room: &mimi_policy::Room,
    senders: Vec<ExternalSender>,
) -> (Vec<u8>, Vec<u8>) {
    let provider = OpenMlsRustCrypto::default();
    let signer = SignatureKeyPair::new(mimi_mls::CIPHERSUITE.signature_algorithm()).unwrap();
    let mut extensions = group_context_extensions(room, &senders[0]).unwrap();
    extensions
        .add_or_replace(Extension::ExternalSenders(senders))
        .unwrap();
    let config = MlsGroupCreateConfig::builder()
        .ciphersuite(mimi_mls::CIPHERSUITE)
        .wire_format_policy(PURE_PLAINTEXT_WIRE_FORMAT_POLICY)
        .capabilities(leaf_capabilities())
        .with_group_context_extensions(extensions)
        .build();
    let credential = CredentialWithKey {
        credential: credential_of(creator),
        signature_key: signer.public().into(),
    };
    let group = MlsGroup::new_with_group_id(
        &provider,
        &signer,
        &config,
        group_id(room.id.as_ref().unwrap()),
        credential,
    )
    .unwrap();
    let gi = group
        .export_group_info(provider.crypto(), &signer, false)
        .unwrap()
        .to_bytes()
        .unwrap();
    let tree = group
        .export_ratchet_tree()
        .tls_serialize_detached()
        .unwrap();
    (gi, tree)
}

#[test]
fn hub_refuses_a_new_room_its_creator_may_not_create() {
    let hub = hub();
    let bob = ClientId::parse("mimi://example.com/d/bob/phone").unwrap();
    let room = new_room("administrated", &bob);
    let (gi, tree) = raw_group(&bob, &room, &hub);
    let err = hub.load_room(&gi, &tree).err().unwrap();
    assert_eq!(err.code(), "not-allowed");
    let alice = ClientId::parse("mimi://example.com/d/alice/phone").unwrap();
    let room = new_room("administrated", &alice);
    let (gi, tree) = raw_group(&alice, &room, &hub);
    assert!(hub.load_room(&gi, &tree).is_ok());
}

#[test]
fn hub_refuses_a_group_that_does_not_name_it_as_external_sender() {
    let ours = hub();
    let theirs = Hub::new(ProviderId::parse("other.example").unwrap()).unwrap();
    let alice = ClientId::parse("mimi://example.com/d/alice/phone").unwrap();
    let room = new_room("administrated", &alice);
    let (gi, tree) = raw_group(&alice, &room, &theirs);
    let err = ours.load_room(&gi, &tree).err().unwrap();
    assert_eq!(err.code(), "invalid-policy");
}

#[test]
fn hub_refuses_a_group_that_lists_another_key_for_its_provider_or_a_provider_twice() {
    let ours = hub();
    let alice = ClientId::parse("mimi://example.com/d/alice/phone").unwrap();
    let room = new_room("administrated", &alice);
    // A key of the creator's own, named as this provider: it would speak for the system
    // user and sign claims in the provider's name.
    let forged = Hub::new(ProviderId::parse("example.com").unwrap()).unwrap();
    for senders in [
        vec![forged.external_sender(), ours.external_sender()],
        vec![ours.external_sender(), forged.external_sender()],
    ] {
        let (gi, tree) = raw_group_with(&alice, &room, senders);
        let err = ours.load_room(&gi, &tree).err().unwrap();
        assert_eq!(err.code(), "invalid-policy");
    }
    let other = Hub::new(ProviderId::parse("other.example").unwrap()).unwrap();
    let twice = Hub::new(ProviderId::parse("other.example").unwrap()).unwrap();
    let (gi, tree) = raw_group_with(
        &alice,
        &room,
        vec![
            ours.external_sender(),
            other.external_sender(),
            twice.external_sender(),
        ],
    );
    assert_eq!(
        ours.load_room(&gi, &tree).err().unwrap().code(),
        "invalid-policy"
    );
    // Another provider, once, beside this one: hosted.
    let (gi, tree) = raw_group_with(
        &alice,
        &room,
        vec![ours.external_sender(), other.external_sender()],
    );
    assert!(ours.load_room(&gi, &tree).is_ok());
}

#[test]
fn hub_refuses_malformed_group_info_and_tree() {
    let hub = hub();
    let alice = ClientId::parse("mimi://example.com/d/alice/phone").unwrap();
    let room = new_room("administrated", &alice);
    let (gi, tree) = raw_group(&alice, &room, &hub);
    assert_eq!(
        hub.load_room(&gi[..gi.len() - 2], &tree)
            .err()
            .unwrap()
            .code(),
        "malformed-mls"
    );
    assert_eq!(
        hub.load_room(&gi, &tree[1..]).err().unwrap().code(),
        "malformed-mls"
    );
    assert_eq!(
        hub.load_room(&tree, &tree).err().unwrap().code(),
        "malformed-mls"
    );
}
