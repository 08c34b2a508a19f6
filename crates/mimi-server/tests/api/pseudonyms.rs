//! Pseudonyms (docs/decisions/0013): made only for a semi-anonymous room the caller may know
//! of, the same one each time, reachable by no password, kept to their one room, and ended
//! with their owner's sessions.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::flow::{create_room_from, seed_document};
use crate::support::{Api, Person};

async fn pseudonym(api: &Api, who: &Person, room: &str) -> (StatusCode, Value) {
    api.call(
        "POST",
        "/v1/account/pseudonyms",
        Some(&who.account),
        Some(json!({"room": room})),
    )
    .await
}

/// alice's semi-anonymous room `masks` and non-anonymous room `plain` (both discoverable).
async fn rooms(api: &Api, alice: &Person) {
    let mut masks = seed_document(alice, "masks");
    masks.policy.semi_anonymous = true;
    masks.policy.discoverable = true;
    create_room_from(api, alice, masks).await;
    let mut plain = seed_document(alice, "plain");
    plain.policy.discoverable = true;
    create_room_from(api, alice, plain).await;
}

#[tokio::test]
async fn a_pseudonym_is_made_only_for_a_semi_anonymous_room_and_once_per_user_and_room() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "laptop").await;
    rooms(&api, &alice).await;

    let (status, v) = pseudonym(&api, &bob, "mimi://example.com/r/plain").await;
    assert_eq!(
        (status, v["code"].as_str(), v["rule"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("pseudonym-not-allowed"),
            Some("SEED-ANON")
        ),
        "{v}"
    );
    let (status, _) = pseudonym(&api, &bob, "mimi://example.com/r/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, first) = pseudonym(&api, &bob, "mimi://example.com/r/masks").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let mask = first["user"].as_str().unwrap().to_owned();
    assert!(mask.starts_with("mimi://example.com/u/~"), "{mask}");
    let (_, again) = pseudonym(&api, &bob, "mimi://example.com/r/masks").await;
    assert_eq!(again["user"], mask.as_str());
    assert_ne!(again["token"], first["token"]);
    // Another user gets another.
    let (_, carols) = pseudonym(&api, &alice, "mimi://example.com/r/masks").await;
    assert_ne!(carols["user"], mask.as_str());

    // Nobody logs in as it, whatever the password.
    let name = mask.trim_start_matches("mimi://example.com/u/");
    for password in ["", "!pseudonym", "correct horse"] {
        let (status, _) = api
            .call(
                "POST",
                "/v1/login",
                None,
                Some(json!({"user": name, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{password:?}");
    }
    // A pseudonym has none of its own.
    let token = first["token"].as_str().unwrap();
    let (status, v) = api
        .call(
            "POST",
            "/v1/account/pseudonyms",
            Some(token),
            Some(json!({"room": "mimi://example.com/r/masks"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test]
async fn a_pseudonym_takes_part_in_its_own_room_only() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "laptop").await;
    rooms(&api, &alice).await;
    let (_, made) = pseudonym(&api, &bob, "mimi://example.com/r/masks").await;
    let account = made["token"].as_str().unwrap().to_owned();
    let (status, device) = api.add_device(&account, "d1").await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    let token = device["token"].as_str().unwrap();
    let mask = made["user"].as_str().unwrap();

    // Its own room lets it fetch what a joiner needs (members-only: refused by the room's
    // policy, not because it is a pseudonym).
    let (_, own) = api
        .call(
            "GET",
            "/v1/rooms/example.com/masks/group-info",
            Some(token),
            None,
        )
        .await;
    assert_ne!(own["code"], "pseudonym-elsewhere", "{own}");
    // Anywhere else, nothing: no GroupInfo, no knock, no new room, not added.
    let (status, v) = api
        .call(
            "GET",
            "/v1/rooms/example.com/plain/group-info",
            Some(token),
            None,
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("pseudonym-elsewhere"))
    );
    let (_, v) = api
        .call(
            "POST",
            "/v1/rooms/example.com/plain/knock",
            Some(&account),
            Some(json!({})),
        )
        .await;
    assert_eq!(v["code"], "pseudonym-elsewhere", "{v}");
    let (_, v) = api
        .call(
            "POST",
            "/v1/key-packages/claim",
            Some(&alice.token),
            Some(json!({"user": mask, "room": "mimi://example.com/r/plain"})),
        )
        .await;
    assert_eq!(v["code"], "pseudonym-elsewhere", "{v}");
}

#[tokio::test]
async fn revoking_an_accounts_tokens_ends_its_pseudonyms_sessions_too() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "laptop").await;
    rooms(&api, &alice).await;
    let (_, made) = pseudonym(&api, &bob, "mimi://example.com/r/masks").await;
    let account = made["token"].as_str().unwrap().to_owned();
    let (_, device) = api.add_device(&account, "d1").await;
    let token = device["token"].as_str().unwrap().to_owned();
    assert_eq!(
        api.call("GET", "/v1/sync", Some(&token), None).await.0,
        StatusCode::OK
    );
    let (status, v) = api
        .call(
            "POST",
            "/v1/account/revoke-tokens",
            Some(&bob.account),
            Some(json!({"password": "correct horse"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
    for t in [&account, &token] {
        assert_eq!(
            api.call("GET", "/v1/devices", Some(t), None).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
}
