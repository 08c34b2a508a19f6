//! Deleting a device: its token stops working and it leaves its rooms.

use axum::http::StatusCode;
use serde_json::json;

use crate::flow::{ROOM, receive, two_in_a_room};
use crate::support::{Api, b64};

#[tokio::test]
async fn a_deleted_device_loses_its_token_and_leaves_its_rooms() {
    let api = Api::new().await;
    let (alice, mut ag, bob, _bg) = two_in_a_room(&api).await;

    let (status, _) = api
        .call("DELETE", "/v1/devices/phone", Some(&bob.account), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api.call("GET", "/v1/sync", Some(&bob.token), None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the device's token is gone"
    );

    // Until a member commits the removal, the name is not free.
    let (status, v) = api.add_device(&bob.account, "phone").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("busy")),
        "{v}"
    );
    // alice receives the hub's Remove proposal and commits it.
    receive(&api, &alice, &mut ag).await;
    let out = ag.commit_pending(&alice.client).unwrap();
    let (status, v) = api
        .call(
            "POST",
            &format!("{ROOM}/commits"),
            Some(&alice.token),
            Some(json!({"commit": b64(&out.commit), "group_info": b64(&out.group_info)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    ag.confirm(&alice.client).unwrap();
    let (_, doc) = api.call("GET", ROOM, Some(&alice.token), None).await;
    assert!(
        doc["clients"].get("mimi://example.com/u/bob").is_none(),
        "{doc}"
    );
    // The commit ended the removal: the name is free again.
    let (status, v) = api.add_device(&bob.account, "phone").await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, _) = api
        .call("DELETE", "/v1/devices/phone", Some(&bob.account), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Deleting it again: there is nothing to delete.
    let (status, v) = api
        .call("DELETE", "/v1/devices/phone", Some(&bob.account), None)
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
}
