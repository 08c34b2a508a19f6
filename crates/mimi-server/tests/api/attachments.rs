//! Attachments: kept for a room's members, served to them only.

use axum::http::StatusCode;

use crate::flow::create_room;
use crate::support::Api;

#[tokio::test]
async fn an_attachment_is_for_the_rooms_members_only() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "laptop").await;
    create_room(&api, &alice, "team", true).await;
    let (status, kept) = api
        .bytes(
            "POST",
            "/v1/rooms/example.com/team/attachments",
            &alice.token,
            b"ciphertext".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let kept: serde_json::Value = serde_json::from_slice(&kept).unwrap();
    let path = format!(
        "/v1/rooms/example.com/team/attachments/{}",
        kept["id"].as_str().unwrap()
    );
    let (status, body) = api.bytes("GET", &path, &alice.token, Vec::new()).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, &b"ciphertext"[..])
    );
    // bob is not in the room: neither upload nor download.
    let (status, v) = api.call("GET", &path, Some(&bob.token), None).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not-in-room"))
    );
    let (status, _) = api
        .bytes(
            "POST",
            "/v1/rooms/example.com/team/attachments",
            &bob.token,
            b"x".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Too much: refused with the usual error body.
    let (status, v) = api
        .bytes(
            "POST",
            "/v1/rooms/example.com/team/attachments",
            &alice.token,
            vec![0; mimi_server::MAX_BODY + 1],
        )
        .await;
    let v: serde_json::Value = serde_json::from_slice(&v).unwrap();
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too-large"))
    );
    // Nothing, or an unknown ID: refused.
    let (status, _) = api
        .bytes(
            "POST",
            "/v1/rooms/example.com/team/attachments",
            &alice.token,
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api
        .call(
            "GET",
            "/v1/rooms/example.com/team/attachments/nope",
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
