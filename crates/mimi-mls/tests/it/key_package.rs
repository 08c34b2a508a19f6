//! KeyPackages are checked on upload.

use mimi_mls::identity::credential_of;
use mimi_mls::key_package::validate_key_package;
use mimi_policy::id::ClientId;
use openmls::prelude::{CredentialWithKey, KeyPackage, MlsMessageOut};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::OpenMlsProvider as _;

use crate::support::{client, user};

#[test]
fn key_package_of_the_uploaders_client_is_accepted() {
    let alice = client("mimi://a.example/d/alice/phone");
    let kp = alice.key_package().unwrap();
    let valid = validate_key_package(
        alice.provider().crypto(),
        &kp,
        &user("mimi://a.example/u/alice"),
    )
    .unwrap();
    assert_eq!(&valid.client, alice.id());
}

#[test]
fn key_package_of_another_users_client_is_refused() {
    let alice = client("mimi://a.example/d/alice/phone");
    let kp = alice.key_package().unwrap();
    let err = validate_key_package(
        alice.provider().crypto(),
        &kp,
        &user("mimi://a.example/u/mallory"),
    )
    .unwrap_err();
    assert_eq!(err.code(), "bad-key-package");
}

#[test]
fn key_package_without_mimi_capabilities_is_refused() {
    let provider = OpenMlsRustCrypto::default();
    let signer = SignatureKeyPair::new(mimi_mls::CIPHERSUITE.signature_algorithm()).unwrap();
    let id = ClientId::parse("mimi://a.example/d/dave/tablet").unwrap();
    let credential = CredentialWithKey {
        credential: credential_of(&id),
        signature_key: signer.public().into(),
    };
    let bundle = KeyPackage::builder()
        .build(mimi_mls::CIPHERSUITE, &provider, &signer, credential)
        .unwrap();
    let bytes = MlsMessageOut::from(bundle.key_package().clone())
        .to_bytes()
        .unwrap();
    let err = validate_key_package(provider.crypto(), &bytes, id.user()).unwrap_err();
    assert_eq!(err.code(), "bad-key-package");
    assert!(err.to_string().contains("capabilities"), "{err}");
}

#[test]
fn malformed_or_truncated_key_package_is_refused() {
    let alice = client("mimi://a.example/d/alice/phone");
    let kp = alice.key_package().unwrap();
    let owner = user("mimi://a.example/u/alice");
    for bytes in [&kp[..kp.len() - 1], &kp[..3], &[][..], &[0u8; 16][..]] {
        let err = validate_key_package(alice.provider().crypto(), bytes, &owner).unwrap_err();
        assert_eq!(err.code(), "malformed-mls");
    }
}
