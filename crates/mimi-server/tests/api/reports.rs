//! Abuse reports (protocol-06 §5.9): taken from users the room has a place for, checked,
//! bounded per reporter, and shown to the operator alone.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::flow::create_room;
use crate::support::{Api, METRICS_TOKEN, Person};

async fn report(api: &Api, by: &Person, room: &str, body: Value) -> (StatusCode, Value) {
    api.call(
        "POST",
        &format!("/v1/rooms/example.com/{room}/reports"),
        Some(&by.account),
        Some(body),
    )
    .await
}

fn about_mallory() -> Value {
    json!({"alleged_abuser": "mimi://example.com/d/mallory/phone", "reason": "spam"})
}

async fn kept(api: &Api) -> Vec<Value> {
    let (status, v) = api
        .call("GET", "/v1/reports", Some(METRICS_TOKEN), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["reports"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_report_comes_only_from_a_user_the_room_has_a_place_for() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let zed = api.person("zed", "phone").await;
    create_room(&api, &alice, "hidden", false).await;
    create_room(&api, &alice, "listed", true).await;
    // A hidden room does not exist for zed; a listed one he has no place in.
    let (status, v) = report(&api, &zed, "hidden", about_mallory()).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
    let (status, v) = report(&api, &zed, "listed", about_mallory()).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not-in-room"))
    );
    assert!(kept(&api).await.is_empty());
    let (status, v) = report(&api, &alice, "hidden", about_mallory()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let kept = kept(&api).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["reporter"], "mimi://example.com/u/alice");
    assert_eq!(
        kept[0]["alleged_abuser"],
        "mimi://example.com/d/mallory/phone"
    );
    api.cleanup().await;
}

#[tokio::test]
async fn a_malformed_report_is_refused_and_kept_nowhere() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    create_room(&api, &alice, "team", false).await;
    let cases = [
        (
            json!({"alleged_abuser": "mallory", "reason": "spam"}),
            "bad-user",
        ),
        (
            json!({"alleged_abuser": "mallory@example.com", "reason": "rude"}),
            "bad-reason",
        ),
        (
            json!({"alleged_abuser": "mallory@example.com", "reason": "spam", "note": "x".repeat(2001)}),
            "note-too-long",
        ),
    ];
    for (body, code) in cases {
        let (status, v) = report(&api, &alice, "team", body).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{v}"
        );
    }
    assert!(kept(&api).await.is_empty());
    api.cleanup().await;
}

#[tokio::test]
async fn reports_are_bounded_per_reporter_and_read_by_the_operator_alone() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    create_room(&api, &alice, "team", false).await;
    for _ in 0..20 {
        let (status, v) = report(&api, &alice, "team", about_mallory()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    }
    let (status, v) = report(&api, &alice, "team", about_mallory()).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate-limited"))
    );
    assert_eq!(kept(&api).await.len(), 20);
    for token in [None, Some(alice.account.as_str()), Some("guess")] {
        let (status, _) = api.call("GET", "/v1/reports", token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    api.cleanup().await;
}
