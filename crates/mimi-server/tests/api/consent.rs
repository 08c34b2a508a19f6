//! The seed's KeyPackage access rules: a user's KeyPackages go to the user itself and to
//! those it consented to be added by, for one room or any room, until it revokes that.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::flow::upload_key_packages;
use crate::support::{Api, Person};

async fn claim(api: &Api, by: &Person, body: Value) -> (StatusCode, Value) {
    api.call(
        "POST",
        "/v1/key-packages/claim",
        Some(&by.token),
        Some(body),
    )
    .await
}

async fn consent(api: &Api, by: &Person, verb: &str, body: Value) -> (StatusCode, Value) {
    api.call(
        "POST",
        &format!("/v1/consent/{verb}"),
        Some(&by.account),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn key_packages_go_only_to_their_user_and_to_those_it_consented_to() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(&api, &bob, 5).await;
    let team = json!({"user": "bob", "room": "mimi://example.com/r/team"});

    let (status, v) = claim(&api, &alice, team.clone()).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("consent-required")),
        "{v}"
    );
    // alice asks for the room; bob sees the request and grants it for that room only.
    let (status, v) = consent(
        &api,
        &alice,
        "request",
        json!({"user": "bob", "room": "team"}),
    )
    .await;
    assert_eq!(
        (status, &v["granted"]),
        (StatusCode::ACCEPTED, &json!(false)),
        "{v}"
    );
    let (_, v) = api
        .call("GET", "/v1/consent", Some(&bob.account), None)
        .await;
    assert_eq!(
        v["consents"],
        json!([{"user": "mimi://example.com/u/alice", "room": "mimi://example.com/r/team", "granted": false}])
    );
    let (status, _) = consent(
        &api,
        &bob,
        "grant",
        json!({"user": "alice", "room": "team"}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, v) = claim(&api, &alice, team.clone()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["key_packages"].as_array().unwrap().len(), 1);
    let (status, v) = claim(&api, &alice, json!({"user": "bob"})).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("consent-required")),
        "a grant for one room is not one for every room"
    );
    // bob revokes: alice is refused again.
    let (status, _) = consent(
        &api,
        &bob,
        "revoke",
        json!({"user": "alice", "room": "team"}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(claim(&api, &alice, team).await.0, StatusCode::FORBIDDEN);
    // A user needs nobody's consent to claim its own KeyPackages (for a new device's joins).
    assert_eq!(
        claim(&api, &bob, json!({"user": "bob"})).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn consent_requests_name_a_user_other_than_the_caller_and_never_tell_who_exists() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    // An unknown user is asked as a known one would be (hardening.rs compares the two).
    let (status, v) = consent(&api, &alice, "request", json!({"user": "nobody"})).await;
    assert_eq!(
        (status, &v["granted"]),
        (StatusCode::ACCEPTED, &json!(false)),
        "{v}"
    );
    let (status, v) = consent(&api, &alice, "request", json!({"user": "alice"})).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("self-consent"))
    );
    let (status, v) = consent(&api, &alice, "revoke", json!({"user": "bob"})).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
}

#[tokio::test]
async fn a_commit_may_add_a_user_only_to_a_room_it_consented_to() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(&api, &bob, 2).await;
    let mut team = crate::flow::alice_room(&api, &alice).await;
    // bob lets alice add him to "club" only; she claims "for club" and commits into team.
    let (status, _) = consent(
        &api,
        &bob,
        "grant",
        json!({"user": "alice", "room": "club"}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, v) = claim(
        &api,
        &alice,
        json!({"user": "bob", "room": "mimi://example.com/r/club"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let kp = mimi_mls::key_package::validate_key_package(
        openmls_traits::OpenMlsProvider::crypto(alice.client.provider()),
        &crate::support::unb64(&v["key_packages"][0]["key_package"]),
        bob.client.id().user(),
    )
    .unwrap();
    let out = team.add(&alice.client, vec![kp]).unwrap();
    let (status, v) = crate::flow::submit_commit(&api, &alice, &mut team, &out).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("consent-required")),
        "{v}"
    );
    // Nothing changed: the room is still at epoch 0 and bob has no Welcome.
    let (_, v) = api.call("GET", "/v1/sync", Some(&bob.token), None).await;
    assert_eq!(v["welcomes"], json!([]));
    let (_, gi) = api
        .call(
            "GET",
            &format!("{}/group-info", crate::flow::ROOM),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(gi["epoch"], 0);
}
