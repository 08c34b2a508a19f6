//! `/metrics` counts what happened.

use axum::http::StatusCode;

use serde_json::json;

use crate::flow::{ROOM, alice_room, claim_key_packages, let_add, send, upload_key_packages};
use crate::support::{Api, b64};

#[tokio::test]
async fn metrics_count_requests_handshakes_and_messages_by_outcome_queues_and_the_backlog() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    let eve = api.person("eve", "laptop").await;
    upload_key_packages(&api, &bob, 1).await;
    let_add(&api, &bob, "alice").await;
    let mut ag = alice_room(&api, &alice).await;
    // alice's add of bob, accepted, then the same commit again, refused.
    let kps = claim_key_packages(&api, &alice, "bob").await;
    let out = ag.add(&alice.client, kps).unwrap();
    let commit = json!({
        "commit": b64(&out.commit),
        "group_info": b64(&out.group_info),
        "welcome": out.welcome.as_deref().map(b64),
    });
    for expected in [StatusCode::OK, StatusCode::CONFLICT] {
        let (status, v) = api
            .call(
                "POST",
                &format!("{ROOM}/commits"),
                Some(&alice.token),
                Some(commit.clone()),
            )
            .await;
        assert_eq!(status, expected, "{v}");
    }
    ag.confirm(&alice.client).unwrap();
    assert_eq!(send(&api, &alice, &mut ag, "one").await.0, StatusCode::OK);
    // Two messages in one request count as two; a request refused for its batch's size
    // counts as one.
    let two: Vec<String> = ["two", "three"]
        .iter()
        .map(|t| b64(&ag.encrypt(&alice.client, t.as_bytes()).unwrap()))
        .collect();
    for (messages, expected) in [
        (two, StatusCode::OK),
        (vec!["AA==".to_owned(); 101], StatusCode::BAD_REQUEST),
    ] {
        let (status, v) = api
            .call(
                "POST",
                &format!("{ROOM}/messages"),
                Some(&alice.token),
                Some(json!({ "messages": messages })),
            )
            .await;
        assert_eq!(status, expected, "{v}");
    }
    // eve is outside alice's hidden room: for her it does not exist.
    assert_eq!(
        send(&api, &eve, &mut ag, "spam").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, text) = api.text("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "mimi_handshakes_total{outcome=\"accepted\"} 1",
        "mimi_handshakes_total{outcome=\"wrong-epoch\"} 1",
        "mimi_messages_total{outcome=\"accepted\"} 3",
        "mimi_messages_total{outcome=\"bad-batch\"} 1",
        "mimi_messages_total{outcome=\"not-found\"} 1",
        "mimi_http_requests_total{route=\"/v1/rooms/{provider}/{room}/messages\",status=\"200\"} 2",
        "mimi_http_requests_total{route=\"/v1/rooms/{provider}/{room}/messages\",status=\"400\"} 1",
        "mimi_http_requests_total{route=\"/v1/rooms/{provider}/{room}/messages\",status=\"404\"} 1",
        "mimi_rooms_cached 1",
        // Nothing waits for the writer once every answer is in.
        "mimi_writer_queue 0",
        // alice's three messages wait for bob, and her commit and messages for alice.
        "mimi_delivery_backlog 7",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // The Prometheus client library writes a bucket's bound first.
    assert!(text.contains("mimi_http_request_seconds_bucket{le=\"+Inf\",route=\"/v1/rooms/{provider}/{room}/messages\"} 4"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[tokio::test]
async fn metrics_are_served_to_the_operator_alone() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;
    let api = Api::new().await;
    let get = |app: axum::Router, token: Option<&'static str>| async move {
        let mut req = Request::builder().uri("/metrics");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        app.oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
            .status()
    };
    assert_eq!(get(api.app.clone(), None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(api.app.clone(), Some("a guess")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(api.app.clone(), Some(crate::support::METRICS_TOKEN)).await,
        StatusCode::OK
    );
    // No token configured: metrics are off.
    let mut state = api.state.clone();
    state.metrics_token = None;
    let off = mimi_server::router(state);
    assert_eq!(
        get(off, Some(crate::support::METRICS_TOKEN)).await,
        StatusCode::NOT_FOUND
    );
}
