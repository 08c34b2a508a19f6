//! The event stream pushes what arrives, without the device asking again.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::StreamExt as _;
use mimi_mls::member::Incoming;
use tower::ServiceExt as _;

use crate::flow::{send, two_in_a_room};
use crate::support::{Api, unb64};

#[tokio::test]
async fn the_event_stream_pushes_new_messages_to_the_device() {
    let api = Api::new().await;
    let (alice, mut ag, bob, mut bg) = two_in_a_room(&api).await;

    let req = Request::get("/v1/events")
        .header("authorization", format!("Bearer {}", bob.token))
        .body(Body::empty())
        .unwrap();
    let resp = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.into_body().into_data_stream();

    assert_eq!(
        send(&api, &alice, &mut ag, "pushed").await.0,
        StatusCode::OK
    );
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(text.starts_with("event: pending\n"), "{text}");
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let batch: serde_json::Value = serde_json::from_str(data).unwrap();
    let entry = &batch["entries"][0];
    assert_eq!(entry["sender"], "mimi://example.com/d/alice/phone");
    let got = bg.process(&bob.client, &unb64(&entry["message"])).unwrap();
    assert!(matches!(got, Incoming::Message { ref plaintext, .. } if plaintext == b"pushed"));
}

#[tokio::test]
async fn a_long_poll_answers_when_something_arrives() {
    let api = Api::new().await;
    let (alice, mut ag, bob, _bg) = two_in_a_room(&api).await;
    // Nothing pending: without wait the answer is empty at once.
    let (_, v) = api.call("GET", "/v1/sync", Some(&bob.token), None).await;
    assert!(v["entries"].as_array().unwrap().is_empty());
    // With wait, the answer comes with alice's message (sent while bob waits), not empty
    // at the end of the wait.
    let poll = api.call("GET", "/v1/sync?wait=20", Some(&bob.token), None);
    let later = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        send(&api, &alice, &mut ag, "while you waited").await
    };
    let ((status, v), (sent, _)) = tokio::join!(poll, later);
    assert_eq!((status, sent), (StatusCode::OK, StatusCode::OK));
    assert_eq!(v["entries"].as_array().unwrap().len(), 1, "{v}");
}
