//! The provider's rules, each seen through the API: what the directory lists, who may
//! speak, who may send after leaving, who gets a room's GroupInfo and joins with it, that
//! a message or commit only counts in its own group, and that a wrong method is a JSON 405.
//! Each test fails if its rule were not enforced.

use axum::http::StatusCode;
use mimi_mls::member::{OutgoingCommit, RoomGroup};
use mimi_policy::seed::Membership;
use serde_json::{Value, json};

use crate::flow::{
    ROOM, add_user, alice_room, claim_key_packages, create_room, create_room_from, join_from_inbox,
    let_add, receive, seed_document, send, submit_commit, two_in_a_room, upload_key_packages,
};
use crate::support::{Api, Person, b64, unb64};

/// The API path of room `name` on example.com.
fn room(name: &str) -> String {
    format!("/v1/rooms/example.com/{name}")
}

/// `p` encrypts `text` in `group` and posts it to room `name`.
async fn send_to(
    api: &Api,
    p: &Person,
    group: &mut RoomGroup,
    name: &str,
    text: &str,
) -> (StatusCode, Value) {
    let ct = group.encrypt(&p.client, text.as_bytes()).unwrap();
    post_message(api, p, name, &ct).await
}

async fn post_message(api: &Api, p: &Person, name: &str, ct: &[u8]) -> (StatusCode, Value) {
    api.call(
        "POST",
        &format!("{}/messages", room(name)),
        Some(&p.token),
        Some(json!({ "message": b64(ct) })),
    )
    .await
}

/// `p` posts the commit `out` to room `name` (the caller merges or drops it).
async fn post_commit(
    api: &Api,
    p: &Person,
    name: &str,
    out: &OutgoingCommit,
) -> (StatusCode, Value) {
    api.call(
        "POST",
        &format!("{}/commits", room(name)),
        Some(&p.token),
        Some(json!({
            "commit": b64(&out.commit),
            "group_info": b64(&out.group_info),
            "welcome": out.welcome.as_deref().map(b64),
        })),
    )
    .await
}

/// Everything pending for `p` (not acknowledged).
async fn sync(api: &Api, p: &Person) -> Value {
    let (status, v) = api.call("GET", "/v1/sync", Some(&p.token), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

/// The senders of the log entries pending for `p`.
async fn senders(api: &Api, p: &Person) -> Vec<String> {
    sync(api, p).await["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sender"].as_str().unwrap().to_owned())
        .collect()
}

/// The rooms the directory lists, as seen by `p`.
async fn listed(api: &Api, p: &Person) -> Vec<String> {
    let (status, v) = api.call("GET", "/v1/directory", Some(&p.token), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["document"]["id"], r["room"], "{r}");
            r["room"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_directory_lists_discoverable_rooms_and_never_a_hidden_one() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let eve = api.person("eve", "laptop").await;
    alice_room(&api, &alice).await;
    create_room(&api, &alice, "lobby", true).await;
    create_room(&api, &alice, "attic", false).await;
    // An outsider sees the public room only; so does the owner of the hidden ones.
    for who in [&eve, &alice] {
        let rooms = listed(&api, who).await;
        assert_eq!(rooms, ["mimi://example.com/r/lobby"], "{}", who.client.id());
    }
}

#[tokio::test]
async fn in_a_moderated_room_a_visitor_without_voice_cannot_send_and_nothing_is_stored() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(&api, &bob, 1).await;
    let_add(&api, &bob, "alice").await;
    // Open and moderated: a user without affiliation comes in as a visitor, without voice.
    let mut doc = seed_document(&alice, "team");
    doc.policy.moderated = true;
    doc.policy.membership = Some(Membership::Open);
    let mut ag = create_room_from(&api, &alice, doc).await;
    let (status, v) = add_user(&api, &alice, &mut ag, "bob").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let mut bg = join_from_inbox(&api, &bob).await;

    let (status, v) = send(&api, &bob, &mut bg, "may I speak?").await;
    assert_eq!(
        (status, v["code"].as_str(), v["rule"].as_str()),
        (StatusCode::FORBIDDEN, Some("no-voice"), Some("SEED-SEND-2")),
        "{v}"
    );
    // The owner has voice: the room itself takes messages.
    let (status, v) = send(&api, &alice, &mut ag, "only I speak").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // Nothing of bob's is in the log: alice has her add and her message only.
    let me = alice.client.id().to_string();
    assert_eq!(senders(&api, &alice).await, [me.clone(), me]);
    assert!(receive(&api, &alice, &mut ag).await.is_empty());
}

#[tokio::test]
async fn a_removed_client_cannot_send_and_nothing_is_stored() {
    let api = Api::new().await;
    let (alice, mut ag, bob, mut bg) = two_in_a_room(&api).await;
    // bob may send while in the room.
    assert_eq!(send(&api, &bob, &mut bg, "hello").await.0, StatusCode::OK);
    assert_eq!(receive(&api, &alice, &mut ag).await, ["hello"]);
    let out = ag.remove(&alice.client, bob.client.id()).unwrap();
    let (status, v) = submit_commit(&api, &alice, &mut ag, &out).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // bob's device has not read its removal and still encrypts in its old epoch.
    let (status, v) = send(&api, &bob, &mut bg, "still here?").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not-a-member")),
        "{v}"
    );
    // Only alice's removal commit is pending for her: nothing from bob after it.
    assert_eq!(senders(&api, &alice).await, [alice.client.id().to_string()]);
}

#[tokio::test]
async fn a_banned_user_cannot_send_fetch_the_group_info_or_join_again() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(&api, &bob, 1).await;
    let_add(&api, &bob, "alice").await;
    // An open room: without the ban, bob could come back by himself.
    let mut doc = seed_document(&alice, "team");
    doc.policy.membership = Some(Membership::Open);
    let mut ag = create_room_from(&api, &alice, doc).await;
    let (status, v) = add_user(&api, &alice, &mut ag, "bob").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let mut bg = join_from_inbox(&api, &bob).await;
    let out = ag.ban(&alice.client, bob.client.id().user()).unwrap();
    let (status, v) = submit_commit(&api, &alice, &mut ag, &out).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, doc) = api.call("GET", ROOM, Some(&alice.token), None).await;
    assert_eq!(
        doc["user-affiliations"]["outcast"],
        json!(["mimi://example.com/u/bob"]),
        "{doc}"
    );

    let (status, v) = send(&api, &bob, &mut bg, "let me back").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not-a-member")),
        "{v}"
    );
    let gi_path = format!("{ROOM}/group-info");
    let (status, v) = api.call("GET", &gi_path, Some(&bob.token), None).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("banned")),
        "{v}"
    );
    // An external commit built from the GroupInfo a member sees, without asking the policy
    // (as a hostile client would), is refused by the hub too: it would put a client of a
    // user who is still banned in the group. (One that also lists bob again is not even
    // buildable: a participant-list update cannot add a user the list holds as banned.)
    let (_, gi) = api.call("GET", &gi_path, Some(&alice.token), None).await;
    let (_, forged) = bob
        .client
        .external_commit_unchecked(
            &unb64(&gi["group_info"]),
            &unb64(&gi["ratchet_tree"]),
            Vec::new(),
            None,
        )
        .unwrap();
    let (status, v) = post_commit(&api, &bob, "team", &forged).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid-policy")),
        "{v}"
    );
    // Refused at the MLS level, it still names its rule.
    assert_eq!(v["rule"], "MIMI-MLS", "{v}");
    assert!(v["message"].as_str().unwrap().contains("banned"), "{v}");
    // Nothing of bob's reached the log, and the room stayed at the ban's epoch.
    assert_eq!(
        senders(&api, &alice).await,
        vec![alice.client.id().to_string(); 2],
        "the add and the ban"
    );
    let (_, now) = api.call("GET", &gi_path, Some(&alice.token), None).await;
    assert_eq!(now["epoch"], gi["epoch"]);
}

#[tokio::test]
async fn an_authorized_outsider_gets_the_group_info_and_joins_by_external_commit() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let dave = api.person("dave", "phone").await;
    let carol = api.person("carol", "laptop").await;
    // dave's room is members-only: carol, outside it, may not have its GroupInfo.
    create_room(&api, &dave, "club", true).await;
    let (status, v) = api
        .call(
            "GET",
            &format!("{}/group-info", room("club")),
            Some(&carol.token),
            None,
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("registration-required")),
        "{v}"
    );
    assert!(v["rule"].is_string(), "{v}");
    assert!(v.get("group_info").is_none(), "{v}");

    // alice's room is open: the same outsider gets what a joiner needs.
    let mut doc = seed_document(&alice, "lobby");
    doc.policy.membership = Some(Membership::Open);
    let mut ag = create_room_from(&api, &alice, doc).await;
    let (status, gi) = api
        .call(
            "GET",
            &format!("{}/group-info", room("lobby")),
            Some(&carol.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{gi}");
    assert_eq!(gi["epoch"], 0);
    let (mut cg, out) = carol
        .client
        .join_external(&unb64(&gi["group_info"]), &unb64(&gi["ratchet_tree"]), None)
        .unwrap();
    let (status, v) = post_commit(&api, &carol, "lobby", &out).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["epoch"], 1);
    // carol is in: she speaks, and alice reads her after processing the join.
    let (status, v) = send_to(&api, &carol, &mut cg, "lobby", "hi, I walked in").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(receive(&api, &alice, &mut ag).await, ["hi, I walked in"]);
    assert_eq!(ag.epoch(), 1);
    let (_, doc) = api
        .call("GET", &room("lobby"), Some(&alice.token), None)
        .await;
    assert_eq!(
        doc["clients"]["mimi://example.com/u/carol"],
        json!(["laptop"]),
        "{doc}"
    );
}

#[tokio::test]
async fn a_message_or_commit_of_another_group_is_refused_and_changes_nothing() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(&api, &bob, 1).await;
    let_add(&api, &bob, "alice").await;
    let mut team = alice_room(&api, &alice).await;
    // alice is in both rooms, so only the group can be wrong.
    create_room(&api, &alice, "other", false).await;

    let ct = team.encrypt(&alice.client, b"for team").unwrap();
    let (status, v) = post_message(&api, &alice, "other", &ct).await;
    assert!(status.is_client_error(), "{status}: {v}");
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed-mls")),
        "{v}"
    );
    assert!(v["message"].is_string(), "{v}");
    assert_eq!(sync(&api, &alice).await["entries"], json!([]));

    let kps = claim_key_packages(&api, &alice, "bob").await;
    let out = team.add(&alice.client, kps).unwrap();
    let (status, v) = post_commit(&api, &alice, "other", &out).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed-mls")),
        "{v}"
    );
    // Nothing changed: "other" is at epoch 0 with alice alone, bob has no Welcome, the log
    // is empty.
    let (_, gi) = api
        .call(
            "GET",
            &format!("{}/group-info", room("other")),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(gi["epoch"], 0, "{gi}");
    let (_, doc) = api
        .call("GET", &room("other"), Some(&alice.token), None)
        .await;
    assert_eq!(
        doc["clients"],
        json!({"mimi://example.com/u/alice": ["phone"]}),
        "{doc}"
    );
    assert_eq!(sync(&api, &bob).await["welcomes"], json!([]));
    assert_eq!(sync(&api, &alice).await["entries"], json!([]));

    // Both were good for their own room.
    let (status, v) = post_message(&api, &alice, "team", &ct).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = post_commit(&api, &alice, "team", &out).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    team.confirm(&alice.client).unwrap();
    join_from_inbox(&api, &bob).await;
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_a_json_405() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    alice_room(&api, &alice).await;
    for (method, path) in [
        ("GET", "/v1/accounts".to_owned()),
        ("DELETE", "/v1/sync".to_owned()),
        ("PUT", "/v1/directory".to_owned()),
        ("GET", format!("{ROOM}/messages")),
    ] {
        let (status, v) = api.call(method, &path, Some(&alice.token), None).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, Some("method-not-allowed")),
            "{method} {path}: {v}"
        );
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{method} {path}: {v}"
        );
    }
    // An unknown path is still a 404, not a 405.
    let (status, v) = api
        .call("DELETE", "/v1/nothing-here", Some(&alice.token), None)
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found")),
        "{v}"
    );
}

#[tokio::test]
async fn a_sync_answer_of_large_messages_stops_at_4_mib_and_the_rest_follows_in_order() {
    let api = Api::new().await;
    let (alice, mut ag, bob, mut bg) = two_in_a_room(&api).await;
    // Drain what bob has so far (alice's add).
    receive(&api, &bob, &mut bg).await;
    let big = "x".repeat(60_000);
    for i in 0..80 {
        let (status, v) = send(&api, &alice, &mut ag, &format!("{i:02} {big}")).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let mut got = Vec::new();
    let mut answers = 0;
    while got.len() < 80 {
        let before = got.len();
        let (status, v) = api.call("GET", "/v1/sync", Some(&bob.token), None).await;
        assert_eq!(status, StatusCode::OK);
        let size = v.to_string().len();
        assert!(size <= (4 << 20) + 1024, "an answer of {size} bytes");
        got.extend(receive_entries(&api, &bob, &mut bg, &v).await);
        assert!(got.len() > before, "every answer brings something");
        answers += 1;
    }
    assert!(
        answers >= 2,
        "80 messages of 60 KB took {answers} answer(s)"
    );
    let order: Vec<String> = got.iter().map(|t| t[..2].to_owned()).collect();
    let expected: Vec<String> = (0..80).map(|i| format!("{i:02}")).collect();
    assert_eq!(order, expected);
}

/// Decrypts the entries of a `/v1/sync` answer `v` for `p`, and acknowledges them.
async fn receive_entries(api: &Api, p: &Person, group: &mut RoomGroup, v: &Value) -> Vec<String> {
    let mut texts = Vec::new();
    let entries = v["entries"].as_array().unwrap();
    for e in entries {
        if let mimi_mls::member::Incoming::Message { plaintext, .. } =
            group.process(&p.client, &unb64(&e["message"])).unwrap()
        {
            texts.push(String::from_utf8(plaintext).unwrap());
        }
    }
    if let Some(last) = entries.last() {
        let (status, _) = api
            .call(
                "POST",
                "/v1/ack",
                Some(&p.token),
                Some(json!({ "rooms": [{ "room": last["room"], "seq": last["seq"] }] })),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    texts
}
