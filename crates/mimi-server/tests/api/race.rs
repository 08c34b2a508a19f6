//! Two provider processes on one database: commits for one room built for the same epoch
//! race; the database orders them, the first wins and the other gets `wrong-epoch`.

use axum::http::StatusCode;
use mimi_mls::member::{OutgoingCommit, RoomGroup};
use serde_json::json;

use crate::flow::{
    ROOM, add_user, alice_room, join_from_inbox, let_add, receive, send, upload_key_packages,
};
use crate::support::{Api, Person, b64};

async fn post(api: &Api, p: &Person, out: &OutgoingCommit) -> (StatusCode, serde_json::Value) {
    api.call(
        "POST",
        &format!("{ROOM}/commits"),
        Some(&p.token),
        Some(json!({"commit": b64(&out.commit), "group_info": b64(&out.group_info)})),
    )
    .await
}

async fn settle(api: &Api, p: &Person, g: &mut RoomGroup, won: bool) {
    if won {
        g.confirm(&p.client).unwrap();
    } else {
        g.discard(&p.client).unwrap();
    }
    receive(api, p, g).await;
}

async fn race_on(a: Api) {
    let b = a.restarted().await;
    let alice = a.person("alice", "phone").await;
    let bob = a.person("bob", "phone").await;
    upload_key_packages(&a, &bob, 1).await;
    let_add(&a, &bob, "alice").await;
    let mut ag = alice_room(&a, &alice).await;
    assert_eq!(add_user(&a, &alice, &mut ag, "bob").await.0, StatusCode::OK);
    let mut bg = join_from_inbox(&b, &bob).await;
    for round in 0..6 {
        let oa = ag.commit_pending(&alice.client).unwrap();
        let ob = bg.commit_pending(&bob.client).unwrap();
        // alice through process a, bob through process b, at the same time.
        let ((sa, va), (sb, vb)) = tokio::join!(post(&a, &alice, &oa), post(&b, &bob, &ob));
        let winners = [sa, sb].iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(winners, 1, "round {round}: {sa} {va} / {sb} {vb}");
        let (loser, winner) = if sa == StatusCode::OK {
            (&vb, &va)
        } else {
            (&va, &vb)
        };
        assert_eq!(loser["code"], "wrong-epoch", "{loser}");
        assert_eq!(loser["epoch"], winner["epoch"]);
        settle(&a, &alice, &mut ag, sa == StatusCode::OK).await;
        settle(&b, &bob, &mut bg, sb == StatusCode::OK).await;
        assert_eq!(ag.epoch(), bg.epoch());
        assert_eq!(json!(ag.epoch()), winner["epoch"]);
    }
    a.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_across_two_processes_on_sqlite_first_wins() {
    race_on(Api::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_across_two_processes_on_postgres_first_wins() {
    let Some(api) = Api::postgres().await else {
        eprintln!("skipped: MIMI_TEST_POSTGRES_URL is not set");
        return;
    };
    race_on(api).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_missed_a_commit_still_refuses_a_message_of_the_old_epoch() {
    let a = Api::new().await;
    let b = a.restarted().await;
    let alice = a.person("alice", "phone").await;
    let bob = a.person("bob", "phone").await;
    upload_key_packages(&a, &bob, 1).await;
    let_add(&a, &bob, "alice").await;
    let mut ag = alice_room(&a, &alice).await;
    assert_eq!(add_user(&a, &alice, &mut ag, "bob").await.0, StatusCode::OK);
    let mut bg = join_from_inbox(&b, &bob).await;
    // Process b holds the room at epoch 1.
    assert_eq!(send(&b, &bob, &mut bg, "first").await.0, StatusCode::OK);
    // alice commits through process a; bob sends before processing it, through b.
    let out = ag.commit_pending(&alice.client).unwrap();
    assert_eq!(post(&a, &alice, &out).await.0, StatusCode::OK);
    ag.confirm(&alice.client).unwrap();
    let (status, v) = send(&b, &bob, &mut bg, "old epoch").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("wrong-epoch"))
    );
    assert_eq!(v["epoch"], 2);
    // After catching up, bob's messages go through b again.
    receive(&b, &bob, &mut bg).await;
    assert_eq!(send(&b, &bob, &mut bg, "new epoch").await.0, StatusCode::OK);
    assert_eq!(receive(&a, &alice, &mut ag).await, ["first", "new epoch"]);
}
