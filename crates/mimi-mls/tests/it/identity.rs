//! Credentials name exactly one client, and through it one user.

use mimi_mls::identity::{client_of, credential_of};
use mimi_policy::id::ClientId;
use openmls::prelude::BasicCredential;

#[test]
fn credential_names_the_client_uri() {
    let id = ClientId::parse("mimi://a.example/d/alice/phone").unwrap();
    let back = client_of(&credential_of(&id)).unwrap();
    assert_eq!(back, id);
    assert_eq!(back.user().as_str(), "mimi://a.example/u/alice");
}

#[test]
fn credential_that_is_not_a_canonical_client_uri_is_refused() {
    for identity in [
        "alice/phone",
        "mimi://a.example/u/alice",
        "mimi://A.EXAMPLE/d/alice/phone",
        "",
    ] {
        let credential = BasicCredential::new(identity.as_bytes().to_vec()).into();
        let err = client_of(&credential).unwrap_err();
        assert_eq!(err.code(), "bad-credential", "{identity}");
    }
    let not_utf8 = BasicCredential::new(vec![0xff, 0xfe]).into();
    assert!(client_of(&not_utf8).is_err());
}
