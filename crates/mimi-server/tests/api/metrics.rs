//! `/metrics` counts what happened.

use axum::http::StatusCode;

use crate::flow::{add_user, alice_room, let_add, send, upload_key_packages};
use crate::support::Api;

#[tokio::test]
async fn metrics_count_requests_handshakes_messages_and_the_backlog() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    let eve = api.person("eve", "laptop").await;
    upload_key_packages(&api, &bob, 1).await;
    let_add(&api, &bob, "alice").await;
    let mut ag = alice_room(&api, &alice).await;
    assert_eq!(
        add_user(&api, &alice, &mut ag, "bob").await.0,
        StatusCode::OK
    );
    assert_eq!(send(&api, &alice, &mut ag, "one").await.0, StatusCode::OK);
    assert_eq!(
        send(&api, &eve, &mut ag, "spam").await.0,
        StatusCode::FORBIDDEN
    );
    let (status, text) = api.text("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "mimi_handshakes_total{outcome=\"accepted\"} 1",
        "mimi_messages_total{outcome=\"accepted\"} 1",
        "mimi_messages_total{outcome=\"not-a-member\"} 1",
        "mimi_http_requests_total{route=\"/v1/rooms/{provider}/{room}/messages\",status=\"200\"} 1",
        "mimi_http_requests_total{route=\"/v1/rooms/{provider}/{room}/messages\",status=\"403\"} 1",
        "mimi_rooms_cached 1",
        // alice's message waits for bob, and her commit and message for alice herself.
        "mimi_delivery_backlog 3",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(text.contains("mimi_http_request_seconds_bucket{route=\"/v1/rooms/{provider}/{room}/messages\",le=\"+Inf\"} 2"));
}
