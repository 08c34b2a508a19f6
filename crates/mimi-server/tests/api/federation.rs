//! Another provider's devices in a room hosted here: only with a KeyPackage their provider
//! handed out.

use axum::http::StatusCode;
use mimi_mls::key_package::validate_key_package;
use mimi_mls::member::Client;
use mimi_policy::id::{ClientId, UserId};
use mimi_store::prelude::*;
use openmls_traits::OpenMlsProvider as _;

use crate::flow::{alice_room, submit_commit};
use crate::support::Api;

#[tokio::test]
async fn a_device_of_another_provider_comes_in_only_with_a_key_package_its_provider_handed_out() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let mut group = alice_room(&api, &alice).await;
    // bob of b.example let alice add him (as his provider would have told this one).
    let bob = UserId::parse("mimi://b.example/u/bob").unwrap();
    api.state
        .store
        .record_peer_consent(&bob, alice.client.id().user(), None, true)
        .await
        .unwrap();
    // alice makes up a device of bob's, with a KeyPackage of her own making.
    let fake = Client::new(ClientId::parse("mimi://b.example/d/bob/fake").unwrap()).unwrap();
    let kp =
        validate_key_package(fake.provider().crypto(), &fake.key_package().unwrap(), &bob).unwrap();
    let out = group.add(&alice.client, vec![kp]).unwrap();
    let (status, v) = submit_commit(&api, &alice, &mut group, &out).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "unknown-key-package", "{v}");
    // Had b.example handed out the KeyPackage (keyMaterial records it), the add would stand.
    let bytes = fake.key_package().unwrap();
    let kp = validate_key_package(fake.provider().crypto(), &bytes, &bob).unwrap();
    let handed_out =
        mimi_mls::key_package::key_package_ref(fake.provider().crypto(), &bytes, &bob).unwrap();
    assert_eq!(handed_out.0, *fake.id());
    api.state
        .store
        .record_peer_key_packages(&[handed_out])
        .await
        .unwrap();
    let out = group.add(&alice.client, vec![kp]).unwrap();
    let (status, v) = submit_commit(&api, &alice, &mut group, &out).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    api.cleanup().await;
}

#[tokio::test]
async fn a_message_sent_again_in_its_epoch_is_refused_as_a_replay() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let mut group = alice_room(&api, &alice).await;
    let ciphertext = group.encrypt(&alice.client, b"once").unwrap();
    let post = |body: serde_json::Value| {
        let api = &api;
        let token = alice.token.clone();
        async move {
            api.call(
                "POST",
                "/v1/rooms/example.com/team/messages",
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let message = serde_json::json!({ "message": crate::support::b64(&ciphertext) });
    let (status, v) = post(message.clone()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // The same bytes again (a client's retry, or a peer provider replaying them): refused,
    // and nothing is stored twice.
    let (status, v) = post(message).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "duplicate-message", "{v}");
    // Twice in one batch, likewise.
    let other = group.encrypt(&alice.client, b"twice").unwrap();
    let batch = serde_json::json!({
        "messages": [crate::support::b64(&other), crate::support::b64(&other)]
    });
    let (status, v) = post(batch).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let stored = api.state.store.positions(alice.client.id()).await.unwrap();
    assert_eq!(stored[0].last_seq, 1, "one message in the log: {stored:?}");
    api.cleanup().await;
}
