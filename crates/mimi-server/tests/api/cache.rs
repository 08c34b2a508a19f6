//! A process's cached view of a room never runs ahead of the database, and only rooms that
//! exist take a place in the cache.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use sqlx::{Connection as _, Executor as _};

use crate::flow::{
    ROOM, add_user, alice_room, claim_key_packages, let_add, send, upload_key_packages,
};
use crate::support::{Api, b64};

#[tokio::test]
async fn a_commit_whose_write_was_cancelled_leaves_the_room_as_stored() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(&api, &bob, 2).await;
    let_add(&api, &bob, "alice").await;
    let mut ag = alice_room(&api, &alice).await;

    let kps = claim_key_packages(&api, &alice, "bob").await;
    let out = ag.add(&alice.client, kps).unwrap();
    // Another connection holds the database's write lock, so the commit's write waits, and
    // the request is dropped meanwhile (a client that hung up, a timeout).
    sqlx::any::install_default_drivers();
    let mut lock = sqlx::AnyConnection::connect(api.url()).await.unwrap();
    lock.execute("BEGIN IMMEDIATE").await.unwrap();
    let body = json!({
        "commit": b64(&out.commit),
        "group_info": b64(&out.group_info),
        "welcome": out.welcome.as_deref().map(b64),
    });
    let cancelled = tokio::time::timeout(
        Duration::from_millis(500),
        api.call(
            "POST",
            &format!("{ROOM}/commits"),
            Some(&alice.token),
            Some(body),
        ),
    )
    .await;
    assert!(cancelled.is_err(), "the write was still waiting");
    ag.discard(&alice.client).unwrap();
    lock.execute("ROLLBACK").await.unwrap();
    lock.close().await.unwrap();

    // Nothing was stored: the room is still in epoch 0, for messages and commits alike.
    let (status, v) = send(&api, &alice, &mut ag, "still epoch 0").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = add_user(&api, &alice, &mut ag, "bob").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["epoch"], 1);
}

#[tokio::test]
async fn unknown_rooms_take_no_place_in_the_room_cache() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    for i in 0..5 {
        let (status, _) = api
            .call(
                "GET",
                &format!("/v1/rooms/example.com/nowhere{i}/group-info"),
                Some(&alice.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (_, text) = api.text("/metrics").await;
    assert!(text.lines().any(|l| l == "mimi_rooms_cached 0"), "{text}");
}

#[tokio::test]
async fn the_room_cache_lets_the_least_recently_used_room_no_request_holds_go_first() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let mut ids = Vec::new();
    for name in ["one", "two", "three"] {
        crate::flow::create_room(&api, &alice, name, false).await;
        ids.push(mimi_policy::id::RoomId::new("example.com", name).unwrap());
    }
    // A view of the same cache that keeps two rooms.
    let mut state = api.state.clone();
    state.cached_rooms = 2;
    for id in &ids {
        state.forget_room(id).await;
    }
    let cached = |i: usize| {
        let (state, id) = (&state, ids[i].clone());
        async move { state.is_cached(&id).await }
    };
    drop(state.room(&ids[0]).await.unwrap());
    drop(state.room(&ids[1]).await.unwrap());
    // "one" is used again: "two" is now the least recently used, and leaves for "three".
    drop(state.room(&ids[0]).await.unwrap());
    drop(state.room(&ids[2]).await.unwrap());
    assert!(cached(0).await && cached(2).await && !cached(1).await);
    // A room a request holds stays even when it is the least recently used.
    let held = state.room(&ids[0]).await.unwrap();
    drop(state.room(&ids[2]).await.unwrap());
    drop(state.room(&ids[1]).await.unwrap());
    assert!(cached(0).await && cached(1).await && !cached(2).await);
    drop(held);
    assert_eq!(state.rooms_cached().await, 2);
}
