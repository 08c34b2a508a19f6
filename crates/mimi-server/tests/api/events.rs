//! The event stream pushes what arrives, without the device asking again.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::StreamExt as _;
use mimi_mls::member::Incoming;
use tower::ServiceExt as _;

use crate::flow::{
    add_user, alice_room, join_from_inbox, let_add, send, submit_commit, two_in_a_room,
    upload_key_packages,
};
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
    assert_eq!(resp.headers()["cache-control"], "no-cache");
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
async fn an_idle_event_stream_sends_keep_alives_at_the_interval_the_device_asks() {
    let api = Api::new().await;
    let (_alice, _ag, bob, _bg) = two_in_a_room(&api).await;
    let req = Request::get("/v1/events?keepalive=1")
        .header("authorization", format!("Bearer {}", bob.token))
        .body(Body::empty())
        .unwrap();
    let resp = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut stream = resp.into_body().into_data_stream();
    // Whatever is pending comes first; then, with nothing new, two keep-alive comments.
    let mut text = String::new();
    while text.matches(":\n\n").count() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("a keep-alive within 10 s")
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(text.ends_with(":\n\n:\n\n"), "{text}");
}

#[tokio::test]
async fn an_open_event_stream_ends_when_the_provider_stops_after_it_carried_messages() {
    let api = Api::new().await;
    let (alice, mut ag, bob, _bg) = two_in_a_room(&api).await;
    let mut stream = open_events(&api, &bob.token).await;
    // The stream has sent events (what was pending, then a message), and waits for more.
    assert_eq!(send(&api, &alice, &mut ag, "one").await.0, StatusCode::OK);
    let mut got = false;
    while !got {
        let batch = next_batch(&mut stream, Duration::from_secs(10))
            .await
            .expect("an event within 10 s");
        got = batch["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "message");
    }
    api.state.stop();
    // It ends (the body finishes) rather than waiting for a next message or keep-alive.
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
        }
    })
    .await;
    assert!(end.is_ok(), "the stream was still open 10 s after the stop");
}

/// The event stream of the device whose token is `token`, opened.
async fn open_events(
    api: &Api,
    token: &str,
) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin {
    let req = Request::get("/v1/events")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.into_body().into_data_stream()
}

/// The next `pending` event's batch on `stream`, or `None` if none comes within `wait`.
async fn next_batch(
    stream: &mut (impl futures_util::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin),
    wait: Duration,
) -> Option<serde_json::Value> {
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(wait, stream.next()).await.ok()?;
        text.push_str(std::str::from_utf8(&chunk.unwrap().unwrap()).unwrap());
    }
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    Some(serde_json::from_str(data).unwrap())
}

#[tokio::test]
async fn a_stream_woken_by_its_rooms_messages_stops_at_its_removal_and_still_hears_its_inbox() {
    let api = Api::new().await;
    let (alice, mut ag, bob, _bg) = two_in_a_room(&api).await;
    let mut stream = open_events(&api, &bob.token).await;
    let wait = Duration::from_secs(10);
    let texts = |b: &serde_json::Value| b["entries"].as_array().unwrap().len();
    // The first message is read from the database, the next ones straight from the
    // room's tail (woken by the room alone): each once, in order.
    for round in 0..3 {
        assert_eq!(send(&api, &alice, &mut ag, "hi").await.0, StatusCode::OK);
        let b = next_batch(&mut stream, wait).await.expect("an event");
        assert_eq!(texts(&b), 1, "round {round}: {b}");
    }
    // alice removes bob: the commit reaches his stream, and nothing the room says after.
    let out = ag.remove(&alice.client, bob.client.id()).unwrap();
    assert_eq!(
        submit_commit(&api, &alice, &mut ag, &out).await.0,
        StatusCode::OK
    );
    let b = next_batch(&mut stream, wait).await.expect("the removal");
    assert_eq!(b["entries"][0]["kind"], "commit", "{b}");
    assert_eq!(send(&api, &alice, &mut ag, "after").await.0, StatusCode::OK);
    // The stream is polled while only the room's message has woken it.
    let none = next_batch(&mut stream, Duration::from_millis(500)).await;
    assert!(none.is_none(), "nothing said after the removal: {none:?}");
    // Still woken for his inbox: a consent request comes, with nothing of the room.
    let carol = api.person("carol", "phone").await;
    let (status, v) = api
        .call(
            "POST",
            "/v1/consent/request",
            Some(&carol.token),
            Some(serde_json::json!({"user": "bob"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let b = next_batch(&mut stream, wait).await.expect("the request");
    assert_eq!(
        b["requests"][0]["user"], "mimi://example.com/u/carol",
        "{b}"
    );
    assert_eq!(texts(&b), 0, "nothing said after the removal: {b}");
}

#[tokio::test]
async fn a_stream_open_before_its_device_makes_a_room_hears_that_rooms_messages() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    let mut stream = open_events(&api, &alice.token).await;
    // The stream is waiting (it has read once, and found nothing) when the room is made.
    assert!(
        next_batch(&mut stream, Duration::from_millis(300))
            .await
            .is_none()
    );
    upload_key_packages(&api, &bob, 1).await;
    let_add(&api, &bob, "alice").await;
    let mut ag = alice_room(&api, &alice).await;
    assert_eq!(
        add_user(&api, &alice, &mut ag, "bob").await.0,
        StatusCode::OK
    );
    let mut bg = join_from_inbox(&api, &bob).await;
    assert_eq!(
        send(&api, &bob, &mut bg, "to the maker").await.0,
        StatusCode::OK
    );
    // alice's stream watches the room she made: her add, then bob's message, arrive.
    let mut kinds = Vec::new();
    while !kinds.contains(&"message".to_owned()) {
        let b = next_batch(&mut stream, Duration::from_secs(10))
            .await
            .expect("the room's entries on the stream opened before it was made");
        for e in b["entries"].as_array().unwrap() {
            kinds.push(e["kind"].as_str().unwrap().to_owned());
        }
    }
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
