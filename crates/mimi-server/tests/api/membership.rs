//! Who receives what as devices come and go: a removed device learns of its removal, a
//! late Welcome still joins, a deleted device's name starts clean.

use axum::http::StatusCode;
use mimi_mls::member::Incoming;
use serde_json::json;

use crate::flow::{
    add_user, join_from_inbox, let_add, receive, send, submit_commit, two_in_a_room,
    upload_key_packages,
};
use crate::support::{Api, unb64};

#[tokio::test]
async fn a_removed_device_receives_the_commit_that_removed_it_and_nothing_after() {
    let api = Api::new().await;
    let (alice, mut ag, bob, mut bg) = two_in_a_room(&api).await;
    let out = ag.remove(&alice.client, bob.client.id()).unwrap();
    let (status, v) = submit_commit(&api, &alice, &mut ag, &out).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        send(&api, &alice, &mut ag, "bob is gone").await.0,
        StatusCode::OK
    );

    let (status, v) = api.call("GET", "/v1/sync", Some(&bob.token), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "only the removal: {v}");
    assert_eq!(entries[0]["kind"], "commit");
    assert!(matches!(
        bg.process(&bob.client, &unb64(&entries[0]["message"]))
            .unwrap(),
        Incoming::Commit { .. }
    ));
    assert!(!bg.mls().is_active(), "bob's group knows he is out");
    let (status, _) = api
        .call(
            "POST",
            "/v1/ack",
            Some(&bob.token),
            Some(json!({"rooms": [{"room": entries[0]["room"], "seq": entries[0]["seq"]}]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(&api, &alice, &mut ag, "still gone").await.0,
        StatusCode::OK
    );
    let (_, v) = api.call("GET", "/v1/sync", Some(&bob.token), None).await;
    assert_eq!(v["entries"], json!([]), "nothing after his removal");
}

#[tokio::test]
async fn a_welcome_joins_with_the_ratchet_tree_of_its_own_epoch() {
    let api = Api::new().await;
    let (alice, mut ag, _bob, _bg) = two_in_a_room(&api).await;
    let carol = api.person("carol", "desk").await;
    let dave = api.person("dave", "desk").await;
    upload_key_packages(&api, &carol, 1).await;
    let_add(&api, &carol, "alice").await;
    upload_key_packages(&api, &dave, 1).await;
    let_add(&api, &dave, "alice").await;
    assert_eq!(
        add_user(&api, &alice, &mut ag, "carol").await.0,
        StatusCode::OK
    );
    // The room moves on before carol reads her Welcome: the current tree is not hers.
    assert_eq!(
        add_user(&api, &alice, &mut ag, "dave").await.0,
        StatusCode::OK
    );
    let mut cg = join_from_inbox(&api, &carol).await;
    assert_eq!(cg.epoch(), 2);
    assert_eq!(
        send(&api, &alice, &mut ag, "hi all").await.0,
        StatusCode::OK
    );
    // carol catches up through dave's add and reads the message.
    let texts = receive(&api, &carol, &mut cg).await;
    assert_eq!(texts, ["hi all"]);
    assert_eq!(cg.epoch(), 3);
}

#[tokio::test]
async fn a_new_device_inherits_nothing_from_a_deleted_one_of_the_same_name() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(&api, &bob, 1).await;
    let_add(&api, &bob, "alice").await;
    let mut ag = crate::flow::alice_room(&api, &alice).await;
    assert_eq!(
        add_user(&api, &alice, &mut ag, "bob").await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(&api, &alice, &mut ag, "for the old phone").await.0,
        StatusCode::OK
    );
    // bob deletes his phone before reading its Welcome; alice commits the hub's removal.
    let (status, _) = api
        .call("DELETE", "/v1/devices/phone", Some(&bob.account), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    receive(&api, &alice, &mut ag).await;
    let out = ag.commit_pending(&alice.client).unwrap();
    assert_eq!(
        submit_commit(&api, &alice, &mut ag, &out).await.0,
        StatusCode::OK
    );
    // A new "phone" starts clean: no Welcome, no entries of the old one.
    let (status, v) = api.add_device(&bob.account, "phone").await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().unwrap();
    let (status, v) = api.call("GET", "/v1/sync", Some(token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v, json!({"welcomes": [], "entries": []}));
}
