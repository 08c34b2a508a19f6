//! A room's database state is its last snapshot plus the handshakes logged since: a process
//! that stopped between a commit's transaction and its snapshot loses nothing.

use axum::http::StatusCode;
use sqlx::{Connection as _, Row as _};

use crate::flow::{
    add_user, alice_room, join_from_inbox, let_add, receive, send, submit_commit,
    upload_key_packages,
};
use crate::support::{Api, Person};
use mimi_mls::member::RoomGroup;

/// Puts the room's snapshot back to `snapshot` (as of the room's creation) and takes the
/// ratchet trees from the Welcomes: what the database holds when the process stopped right
/// after the commit's transaction.
async fn forget_snapshot_since_creation(api: &Api, snapshot: &[u8]) {
    let mut conn = sqlx::AnyConnection::connect(api.url()).await.unwrap();
    sqlx::query("UPDATE room_states SET snapshot = $1, snapshot_seq = 0")
        .bind(snapshot)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE inbox SET ratchet_tree = NULL WHERE seq IS NOT NULL")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

async fn snapshot_of_the_room(api: &Api) -> (Vec<u8>, i64) {
    let mut conn = sqlx::AnyConnection::connect(api.url()).await.unwrap();
    let row = sqlx::query("SELECT snapshot, snapshot_seq FROM room_states")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    (row.get(0), row.get(1))
}

/// alice's room with bob added by a commit whose snapshot the database no longer has (the
/// process stopped between the commit's transaction and its snapshot).
async fn bob_added_and_the_snapshot_lost(a: &Api) -> (Person, Person, RoomGroup) {
    let alice = a.person("alice", "phone").await;
    let bob = a.person("bob", "phone").await;
    upload_key_packages(a, &bob, 1).await;
    let_add(a, &bob, "alice").await;
    let mut ag = alice_room(a, &alice).await;
    let (created, seq) = snapshot_of_the_room(a).await;
    assert_eq!(seq, 0);
    assert_eq!(add_user(a, &alice, &mut ag, "bob").await.0, StatusCode::OK);
    // The commit's snapshot was saved after it ...
    assert_eq!(snapshot_of_the_room(a).await.1, 1);
    // ... and is lost here.
    forget_snapshot_since_creation(a, &created).await;
    (alice, bob, ag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_snapshot_was_never_saved_is_replayed_from_the_log() {
    let a = Api::new().await;
    let (alice, bob, mut ag) = bob_added_and_the_snapshot_lost(&a).await;
    // The process that made the commit holds the room as it is: a message goes through.
    assert_eq!(send(&a, &alice, &mut ag, "early").await.0, StatusCode::OK);
    let b = a.restarted().await;
    // bob's Welcome waits for the ratchet tree of its epoch, and so do the room's entries
    // (his device could not read them yet) and his inbox's later items.
    let ask = serde_json::json!({"user": "bob", "room": "other"});
    let (status, v) = b
        .call("POST", "/v1/consent/request", Some(&alice.token), Some(ask))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let (status, v) = b.call("GET", "/v1/sync", Some(&bob.token), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    for held in ["welcomes", "entries", "requests"] {
        assert_eq!(v[held].as_array().map_or(0, Vec::len), 0, "{held}: {v}");
    }
    // The sweeper reads the room again: the commit is replayed and the snapshot saved.
    assert_eq!(b.state.settle_rooms_behind(10).await.unwrap(), 1);
    assert_eq!(snapshot_of_the_room(&b).await.1, 1);
    assert_eq!(b.state.settle_rooms_behind(10).await.unwrap(), 0);
    let mut bg = join_from_inbox(&b, &bob).await;
    assert_eq!(receive(&b, &bob, &mut bg).await, ["early"]);
    let (_, v) = b.call("GET", "/v1/sync", Some(&bob.token), None).await;
    assert_eq!(v["requests"].as_array().map(Vec::len), Some(1), "{v}");
    // The replayed room is the room: a message of epoch 1 and the next commit go through.
    assert_eq!(send(&b, &bob, &mut bg, "hello").await.0, StatusCode::OK);
    assert_eq!(receive(&b, &alice, &mut ag).await, ["hello"]);
    let out = ag.commit_pending(&alice.client).unwrap();
    let (status, v) = submit_commit(&b, &alice, &mut ag, &out).await;
    assert_eq!(
        (status, v["epoch"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_read_again_replays_what_its_snapshot_lacks() {
    let a = Api::new().await;
    let (alice, bob, mut ag) = bob_added_and_the_snapshot_lost(&a).await;
    // Another process reads the room for a message (no sweeper): it replays the commit.
    let b = a.restarted().await;
    assert_eq!(send(&b, &alice, &mut ag, "after").await.0, StatusCode::OK);
    assert_eq!(snapshot_of_the_room(&b).await.1, 1);
    let mut bg = join_from_inbox(&b, &bob).await;
    assert_eq!(receive(&b, &bob, &mut bg).await, ["after"]);
}
