//! Bad requests get a 4xx JSON error with a stable code, and change nothing.

use axum::http::StatusCode;
use serde_json::json;

use crate::flow::{
    ROOM, add_user, alice_room, claim_key_packages, let_add, send, upload_key_packages,
};
use crate::support::{Api, b64};

#[tokio::test]
async fn missing_or_unknown_tokens_are_unauthorized() {
    let api = Api::new().await;
    let (status, v) = api.call("GET", "/v1/devices", None, None).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (status, v) = api.call("GET", "/v1/devices", Some("nope"), None).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
}

#[tokio::test]
async fn accounts_are_unique_and_logins_check_the_password() {
    let api = Api::new().await;
    api.person("alice", "phone").await;
    let body = json!({"user": "alice", "password": "another one"});
    let (status, v) = api.call("POST", "/v1/accounts", None, Some(body)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let bad = json!({"user": "alice", "password": "wrong password"});
    let (status, _) = api.call("POST", "/v1/login", None, Some(bad)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let good = json!({"user": "alice@example.com", "password": "correct horse"});
    let (status, v) = api.call("POST", "/v1/login", None, Some(good)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let short = json!({"user": "bob", "password": "short"});
    let (status, v) = api.call("POST", "/v1/accounts", None, Some(short)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("weak-password"))
    );
    // A password past the limit is refused at sign-up, before any hashing.
    let long = json!({"user": "carol", "password": "x".repeat(1025)});
    let (status, v) = api.call("POST", "/v1/accounts", None, Some(long)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("long-password")),
        "{v}"
    );
    // An unknown user gets the same answer as a wrong password.
    let unknown = json!({"user": "nobody", "password": "wrong password"});
    let (status, v) = api.call("POST", "/v1/login", None, Some(unknown)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized")),
        "{v}"
    );
    let foreign = json!({"user": "bob@elsewhere.example", "password": "long enough"});
    let (status, v) = api.call("POST", "/v1/accounts", None, Some(foreign)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("foreign-user"))
    );
}

#[tokio::test]
async fn malformed_json_bad_base64_and_undecodable_mls_are_400() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let (status, v) = api
        .raw(
            "POST",
            "/v1/key-packages",
            Some(&alice.token),
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-json"))
    );
    let (status, v) = api
        .call(
            "POST",
            "/v1/key-packages",
            Some(&alice.token),
            Some(json!({"key_packages": ["***"]})),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-base64"))
    );
    let (status, v) = api
        .call(
            "POST",
            "/v1/key-packages",
            Some(&alice.token),
            Some(json!({"key_packages": [b64(b"not mls")]})),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed-mls"))
    );
    let (status, v) = api
        .call(
            "POST",
            "/v1/rooms",
            Some(&alice.token),
            Some(json!({"group_info": b64(b"x"), "ratchet_tree": b64(b"y")})),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed-mls"))
    );
    // Nothing was stored: no KeyPackage to claim.
    let (status, _) = api
        .call(
            "POST",
            "/v1/key-packages/claim",
            Some(&alice.token),
            Some(json!({"user": "alice"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let huge = format!(
        "{{\"key_packages\": [\"{}\"]}}",
        "A".repeat(mimi_server::MAX_BODY + 1)
    );
    let (status, v) = api
        .raw(
            "POST",
            "/v1/key-packages",
            Some(&alice.token),
            Some(huge.into_bytes()),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too-large"))
    );
}

#[tokio::test]
async fn an_application_message_over_64_kib_is_413_and_not_stored() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let mut ag = alice_room(&api, &alice).await;
    let (status, v) = send(&api, &alice, &mut ag, &"x".repeat(70_000)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too-large")),
        "{v}"
    );
    let (status, v) = send(&api, &alice, &mut ag, &"x".repeat(60_000)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // Only the message within the limit is in the log (after the room's creation).
    let (_, sync) = api.call("GET", "/v1/sync", Some(&alice.token), None).await;
    let messages = sync["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message")
        .count();
    assert_eq!(messages, 1, "{sync}");
}

#[tokio::test]
async fn device_requests_need_a_device_token_and_key_packages_must_be_the_devices_own() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    let kp = b64(&bob.client.key_package().unwrap());
    let (status, v) = api
        .call(
            "POST",
            "/v1/key-packages",
            Some(&alice.account),
            Some(json!({"key_packages": [kp]})),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("device-token-required"))
    );
    let (status, v) = api
        .call(
            "POST",
            "/v1/key-packages",
            Some(&alice.token),
            Some(json!({"key_packages": [kp]})),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-key-package"))
    );
}

#[tokio::test]
async fn unknown_rooms_are_404() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let (status, v) = api
        .call(
            "GET",
            "/v1/rooms/example.com/nowhere",
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
    let (status, v) = api
        .call(
            "POST",
            "/v1/rooms/example.com/nowhere/messages",
            Some(&alice.token),
            Some(json!({"message": b64(b"x")})),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
    let (status, _) = api.call("GET", "/v1/nothing-here", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_query_strings_and_paths_get_json_errors() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let (status, v) = api
        .call("GET", "/v1/sync?limit=lots", Some(&alice.token), None)
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-query")),
        "{v}"
    );
    let (status, v) = api
        .call(
            "GET",
            "/v1/rooms/example.com/%FF%FE",
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-path")),
        "{v}"
    );
}

#[tokio::test]
async fn a_replayed_commit_gets_wrong_epoch_with_the_current_epoch() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(&api, &bob, 1).await;
    let_add(&api, &bob, "alice").await;
    let mut ag = alice_room(&api, &alice).await;
    let kps = claim_key_packages(&api, &alice, "bob").await;
    let out = ag.add(&alice.client, kps).unwrap();
    let body = json!({
        "commit": b64(&out.commit),
        "group_info": b64(&out.group_info),
        "welcome": out.welcome.as_deref().map(b64),
    });
    let path = format!("{ROOM}/commits");
    let (status, v) = api
        .call("POST", &path, Some(&alice.token), Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = api
        .call("POST", &path, Some(&alice.token), Some(body))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "wrong-epoch");
    assert_eq!(v["epoch"], 1);
}

#[tokio::test]
async fn a_commit_submitted_by_another_device_is_refused() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    let carol = api.person("carol", "desk").await;
    upload_key_packages(&api, &bob, 1).await;
    let_add(&api, &bob, "alice").await;
    upload_key_packages(&api, &carol, 1).await;
    let_add(&api, &carol, "alice").await;
    let mut ag = alice_room(&api, &alice).await;
    let (status, _) = add_user(&api, &alice, &mut ag, "bob").await;
    assert_eq!(status, StatusCode::OK);
    let kps = claim_key_packages(&api, &alice, "carol").await;
    let out = ag.add(&alice.client, kps).unwrap();
    // bob submits alice's commit as his own.
    let (status, v) = api
        .call(
            "POST",
            &format!("{ROOM}/commits"),
            Some(&bob.token),
            Some(json!({"commit": b64(&out.commit), "group_info": b64(&out.group_info)})),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("bad-credential"))
    );
    // Nothing changed: the room is still at epoch 1 and carol has no Welcome.
    let (_, gi) = api
        .call("GET", &format!("{ROOM}/group-info"), Some(&bob.token), None)
        .await;
    assert_eq!(gi["epoch"], 1);
    let (_, sync) = api.call("GET", "/v1/sync", Some(&carol.token), None).await;
    assert!(sync["welcomes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn outsiders_can_neither_send_nor_fetch_the_group_info_of_a_members_only_room() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let eve = api.person("eve", "laptop").await;
    // A listed room refuses eve, with the policy's reason for the GroupInfo.
    let mut lobby = crate::flow::create_room(&api, &alice, "lobby", true).await;
    let ct = lobby.encrypt(&alice.client, b"let me in").unwrap();
    let (status, v) = api
        .call(
            "POST",
            "/v1/rooms/example.com/lobby/messages",
            Some(&eve.token),
            Some(json!({ "message": b64(&ct) })),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not-a-member"))
    );
    let (status, v) = api
        .call(
            "GET",
            "/v1/rooms/example.com/lobby/group-info",
            Some(&eve.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(v["rule"].is_string(), "{v}");
    // A hidden one is not there for her: the same 404 as a room that does not exist.
    let mut ag = alice_room(&api, &alice).await;
    let (status, v) = send(&api, &eve, &mut ag, "let me in").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found")),
        "{v}"
    );
    for room in [ROOM, "/v1/rooms/example.com/nowhere"] {
        let (status, v) = api
            .call("GET", &format!("{room}/group-info"), Some(&eve.token), None)
            .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not-found")),
            "{room}: {v}"
        );
    }
    // The logs hold nothing from eve.
    let (_, sync) = api.call("GET", "/v1/sync", Some(&alice.token), None).await;
    assert!(
        sync["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["sender"] != eve.client.id().to_string().as_str()),
        "{sync}"
    );
}

#[tokio::test]
async fn a_seed_room_must_name_the_hosting_providers_system_user_as_owning_system() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let me = alice.client.id().clone();
    let doc = mimi_policy::document::SeedDocument {
        id: Some(mimi_policy::id::RoomId::new("example.com", "team").unwrap()),
        user_affiliations: mimi_policy::document::Affiliations {
            owner: vec![me.user().clone()],
            ..Default::default()
        },
        clients: [(me.user().clone(), vec![me.name().to_owned()])].into(),
        ..Default::default()
    };
    let group = alice
        .client
        .create_room(&doc.into_room().unwrap(), &api.external_sender().await)
        .unwrap();
    let body = json!({
        "group_info": b64(&alice.client.group_info(&group).unwrap()),
        "ratchet_tree": b64(&group.ratchet_tree().unwrap()),
    });
    let (status, v) = api
        .call("POST", "/v1/rooms", Some(&alice.token), Some(body))
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid-policy"))
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("system@example.com")
            || v["message"].as_str().unwrap().contains("u/system"),
        "{v}"
    );
}

#[tokio::test]
async fn an_acknowledgement_past_the_end_of_a_rooms_log_is_refused_and_changes_nothing() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let mut ag = alice_room(&api, &alice).await;
    assert_eq!(send(&api, &alice, &mut ag, "one").await.0, StatusCode::OK);
    let (_, sync) = api.call("GET", "/v1/sync", Some(&alice.token), None).await;
    let pending = sync["entries"].as_array().unwrap().clone();
    let last = pending.last().unwrap()["seq"].as_u64().unwrap();
    for seq in [last + 1, i64::MAX as u64, u64::MAX] {
        let (status, v) = api
            .call(
                "POST",
                "/v1/ack",
                Some(&alice.token),
                Some(json!({ "rooms": [{ "room": pending[0]["room"], "seq": seq }] })),
            )
            .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("ack-beyond-log")),
            "{seq}: {v}"
        );
    }
    // Nothing was acknowledged: everything is still pending, and what comes next arrives.
    assert_eq!(send(&api, &alice, &mut ag, "two").await.0, StatusCode::OK);
    let (_, sync) = api.call("GET", "/v1/sync", Some(&alice.token), None).await;
    let entries = sync["entries"].as_array().unwrap();
    assert_eq!(entries.len(), pending.len() + 1, "{sync}");
    assert_eq!(entries[0]["seq"], pending[0]["seq"]);
}
