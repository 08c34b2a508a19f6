//! Who may do what with a token: device tokens act for their device only, and a hidden
//! room does not exist for those who may not see it.

use axum::http::StatusCode;
use serde_json::json;

use crate::flow::{ROOM, alice_room, create_room, two_in_a_room};
use crate::support::Api;

#[tokio::test]
async fn device_tokens_cannot_register_or_delete_devices() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let (status, v) = api
        .call(
            "POST",
            "/v1/devices",
            Some(&alice.token),
            Some(json!({"name": "rogue"})),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("account-token-required"))
    );
    let (status, v) = api
        .call("DELETE", "/v1/devices/phone", Some(&alice.token), None)
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("account-token-required"))
    );
    let (_, v) = api
        .call("GET", "/v1/devices", Some(&alice.account), None)
        .await;
    assert_eq!(v["devices"], json!(["mimi://example.com/d/alice/phone"]));
}

#[tokio::test]
async fn a_hidden_rooms_document_is_shown_only_to_members() {
    let api = Api::new().await;
    let (_alice, _ag, bob, _bg) = two_in_a_room(&api).await;
    let eve = api.person("eve", "laptop").await;
    let (status, v) = api.call("GET", ROOM, Some(&bob.token), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["id"], "mimi://example.com/r/team");
    let (status, v) = api.call("GET", ROOM, Some(&eve.token), None).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found")),
        "the hidden room does not exist for eve: {v}"
    );
    // The same answer as for a room that does not exist.
    let (status, _) = api
        .call(
            "GET",
            "/v1/rooms/example.com/nowhere",
            Some(&eve.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_discoverable_rooms_document_is_shown_to_anyone() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let eve = api.person("eve", "laptop").await;
    let _ = alice_room(&api, &alice).await;
    // alice's room is hidden; a public one of hers is listed and shown.
    let (status, _) = api.call("GET", ROOM, Some(&eve.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let _ = create_room(&api, &alice, "lobby", true).await;
    let (status, v) = api
        .call("GET", "/v1/rooms/example.com/lobby", Some(&eve.token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["id"], "mimi://example.com/r/lobby");
    // The seed draft's own address gives the same document, and hides the same rooms.
    let (status, seed) = api
        .call("GET", "/room/example.com/lobby", Some(&eve.token), None)
        .await;
    assert_eq!((status, &seed), (StatusCode::OK, &v));
    let (status, _) = api
        .call("GET", "/room/example.com/team", Some(&eve.token), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
