//! The seed's other two ways to a user's KeyPackages: its knock on a room, which those the
//! room lets accept knocks may answer, and the provider's allowance of a few outstanding
//! KeyPackages without consent.

use axum::http::StatusCode;
use mimi_policy::seed::Membership;
use serde_json::{Value, json};

use crate::flow::{
    alice_room, create_room, create_room_from, join_from_inbox, seed_document, submit_commit,
    upload_key_packages,
};
use crate::support::{Api, Person};

async fn claim(api: &Api, by: &Person, user: &str, room: &str) -> (StatusCode, Value) {
    api.call(
        "POST",
        "/v1/key-packages/claim",
        Some(&by.token),
        Some(json!({"user": user, "room": room})),
    )
    .await
}

async fn knock(api: &Api, by: &Person, room: &str) -> (StatusCode, Value) {
    api.call(
        "POST",
        &format!("/v1/rooms/example.com/{room}/knock"),
        Some(&by.account),
        None,
    )
    .await
}

#[tokio::test]
async fn a_knock_lets_the_moderators_add_the_knocker_without_consent() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    let carol = api.person("carol", "phone").await;
    upload_key_packages(&api, &bob, 3).await;
    let mut doc = seed_document(&alice, "team");
    doc.policy.membership = Some(Membership::KnockFirst);
    // Listed: a hidden room takes no knock from a user it has no place for.
    doc.policy.discoverable = true;
    let mut team = create_room_from(&api, &alice, doc).await;

    let (status, v) = claim(&api, &alice, "bob", "team").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("consent-required")),
        "no knock yet: {v}"
    );
    let (status, v) = knock(&api, &bob, "team").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["told"], 1, "alice, the owner");
    // Knocking again while the knock is pending tells nobody again.
    let (status, v) = knock(&api, &bob, "team").await;
    assert_eq!(
        (status, &v["told"]),
        (StatusCode::ACCEPTED, &json!(0)),
        "{v}"
    );
    // alice's device hears of it.
    let (_, v) = api.call("GET", "/v1/sync", Some(&alice.token), None).await;
    assert_eq!(v["knocks"][0]["user"], "mimi://example.com/u/bob", "{v}");
    assert_eq!(v["knocks"][0]["room"], "mimi://example.com/r/team");
    // carol may not let anyone in: the knock gives her nothing.
    let (status, _) = claim(&api, &carol, "bob", "team").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // alice may: she claims bob's KeyPackage for the room and adds him.
    let (status, v) = claim(&api, &alice, "bob", "mimi://example.com/r/team").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let out = team
        .add(&alice.client, vec![key_package(&alice, &bob, &v)])
        .unwrap();
    let (status, v) = submit_commit(&api, &alice, &mut team, &out).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    join_from_inbox(&api, &bob).await;
    // The add answered the knock: it carries no consent any more.
    let (status, _) = claim(&api, &alice, "bob", "team").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_withdrawn_knock_lets_nobody_add_the_knocker_and_is_never_announced() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(&api, &bob, 3).await;
    let mut doc = seed_document(&alice, "team");
    doc.policy.membership = Some(Membership::KnockFirst);
    // Listed: a hidden room takes no knock from a user it has no place for.
    doc.policy.discoverable = true;
    create_room_from(&api, &alice, doc).await;
    let withdraw = || {
        api.call(
            "DELETE",
            "/v1/rooms/example.com/team/knock",
            Some(&bob.account),
            None,
        )
    };
    let (status, v) = withdraw().await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no-knock")),
        "nothing to withdraw yet: {v}"
    );
    let (status, v) = knock(&api, &bob, "team").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let (status, v) = withdraw().await;
    assert_eq!(
        (status, &v["withdrawn"]),
        (StatusCode::OK, &json!(true)),
        "{v}"
    );
    // alice's device never hears of it, and her claim needs bob's consent again.
    let (_, v) = api.call("GET", "/v1/sync", Some(&alice.token), None).await;
    assert!(v.get("knocks").is_none(), "{v}");
    let (status, v) = claim(&api, &alice, "bob", "team").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("consent-required")),
        "{v}"
    );
    // A new knock is announced again.
    let (status, v) = knock(&api, &bob, "team").await;
    assert_eq!(
        (status, &v["told"]),
        (StatusCode::ACCEPTED, &json!(1)),
        "{v}"
    );
}

#[tokio::test]
async fn a_room_that_takes_no_knocks_refuses_them_and_a_hidden_one_does_not_exist() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    alice_room(&api, &alice).await;
    create_room(&api, &alice, "club", true).await;
    let (status, v) = knock(&api, &bob, "team").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found")),
        "hidden: {v}"
    );
    let (status, v) = knock(&api, &bob, "club").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("knock-not-enabled")),
        "members-only: {v}"
    );
    let (status, v) = knock(&api, &bob, "nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    // Nobody was told anything.
    let (_, v) = api.call("GET", "/v1/sync", Some(&alice.token), None).await;
    assert!(v.get("knocks").is_none(), "{v}");
}

/// The KeyPackage of a successful claim, checked.
fn key_package(by: &Person, of: &Person, v: &Value) -> mimi_mls::key_package::ValidKeyPackage {
    mimi_mls::key_package::validate_key_package(
        openmls_traits::OpenMlsProvider::crypto(by.client.provider()),
        &crate::support::unb64(&v["key_packages"][0]["key_package"]),
        of.client.id().user(),
    )
    .unwrap()
}

#[tokio::test]
async fn the_allowance_hands_out_a_few_key_packages_without_consent_until_they_are_used() {
    let api = Api::with_key_package_allowance(1).await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    let carol = api.person("carol", "phone").await;
    upload_key_packages(&api, &bob, 4).await;
    let mut team = alice_room(&api, &alice).await;
    let (status, first) = claim(&api, &alice, "bob", "team").await;
    assert_eq!(status, StatusCode::OK, "within the allowance: {first}");
    let (status, v) = claim(&api, &alice, "bob", "team").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("consent-required")),
        "one outstanding already: {v}"
    );
    // The allowance is per requester: carol has her own.
    assert_eq!(claim(&api, &carol, "bob", "team").await.0, StatusCode::OK);
    // alice uses hers: the commit may add bob, and her claim is no longer outstanding.
    let out = team
        .add(&alice.client, vec![key_package(&alice, &bob, &first)])
        .unwrap();
    let (status, v) = submit_commit(&api, &alice, &mut team, &out).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = claim(&api, &alice, "bob", "club").await;
    assert_eq!(status, StatusCode::OK, "used, so free again: {v}");
}

#[tokio::test]
async fn a_moderator_declines_a_knock_and_only_a_moderator_may() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    let carol = api.person("carol", "phone").await;
    upload_key_packages(&api, &bob, 3).await;
    let mut doc = seed_document(&alice, "team");
    doc.policy.membership = Some(Membership::KnockFirst);
    // Listed: a hidden room takes no knock from a user it has no place for.
    doc.policy.discoverable = true;
    // Listed, so that carol, outside it, sees the room refuse her rather than not exist.
    doc.policy.discoverable = true;
    create_room_from(&api, &alice, doc).await;
    let api = &api;
    let decline = |token: String| async move {
        api.call(
            "DELETE",
            "/v1/rooms/example.com/team/knocks/bob",
            Some(&token),
            None,
        )
        .await
    };
    let (status, v) = decline(alice.account.clone()).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no-knock")),
        "nothing to decline yet: {v}"
    );
    let (status, v) = knock(api, &bob, "team").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    // carol may not answer knocks on the room: she cannot decline one either.
    let (status, v) = decline(carol.account.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(v["rule"].is_string(), "{v}");
    let (status, v) = decline(alice.account.clone()).await;
    assert_eq!(
        (status, &v["declined"], &v["user"]),
        (
            StatusCode::OK,
            &json!(true),
            &json!("mimi://example.com/u/bob")
        ),
        "{v}"
    );
    // The knock is gone: never announced, no KeyPackage without bob's consent.
    let (_, v) = api.call("GET", "/v1/sync", Some(&alice.token), None).await;
    assert!(v.get("knocks").is_none(), "{v}");
    let (status, v) = claim(api, &alice, "bob", "team").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("consent-required")),
        "{v}"
    );
    // bob may knock again, and is announced again.
    let (status, v) = knock(api, &bob, "team").await;
    assert_eq!(
        (status, &v["told"]),
        (StatusCode::ACCEPTED, &json!(1)),
        "{v}"
    );
}

#[tokio::test]
async fn banning_a_knocker_answers_its_knock() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(&api, &bob, 1).await;
    let mut doc = seed_document(&alice, "team");
    doc.policy.membership = Some(Membership::KnockFirst);
    // Listed: a hidden room takes no knock from a user it has no place for.
    doc.policy.discoverable = true;
    let mut team = create_room_from(&api, &alice, doc).await;
    let (status, v) = knock(&api, &bob, "team").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let out = team.ban(&alice.client, bob.client.id().user()).unwrap();
    let (status, v) = submit_commit(&api, &alice, &mut team, &out).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // The knock is gone with the ban: nothing to decline, nothing announced, and it
    // would not let anyone in after an unban.
    let (status, v) = api
        .call(
            "DELETE",
            "/v1/rooms/example.com/team/knocks/bob",
            Some(&alice.account),
            None,
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no-knock")),
        "{v}"
    );
    let (_, v) = api.call("GET", "/v1/sync", Some(&alice.token), None).await;
    assert!(v.get("knocks").is_none(), "{v}");
    let (status, _) = api
        .call(
            "DELETE",
            "/v1/rooms/example.com/team/knock",
            Some(&bob.account),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "bob has no knock to withdraw either"
    );
    // A banned user knows the room that banned it, hidden or not (MIMI-VISIBLE): its knock
    // is refused as banned, not as a room that does not exist.
    let (status, v) = knock(&api, &bob, "team").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("banned")),
        "{v}"
    );
}
