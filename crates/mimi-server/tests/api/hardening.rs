//! Probed as an attacker would: who exists and which hidden rooms exist is never told by
//! an answer, its status, its body or its time.

use std::time::Instant;

use axum::http::StatusCode;
use mimi_policy::seed::Membership;
use serde_json::{Value, json};

use crate::flow::{create_room, create_room_from, seed_document, try_create_room_from};
use crate::support::{Api, b64};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Same status and body, the user's name aside.
fn alike(a: &(StatusCode, Value), b: &(StatusCode, Value), a_name: &str, b_name: &str) {
    let anon = |v: &Value, name: &str| v.to_string().replace(name, "USER");
    assert_eq!(a.0, b.0, "{} / {}", a.1, b.1);
    assert_eq!(anon(&a.1, a_name), anon(&b.1, b_name));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_for_an_unknown_user_takes_as_long_as_a_wrong_password() {
    let api = Api::new().await;
    api.person("alice", "phone").await;
    let login = |user: &'static str| {
        let api = &api;
        async move {
            let body = json!({"user": user, "password": "wrong horse"});
            let start = Instant::now();
            let answer = api.call("POST", "/v1/login", None, Some(body)).await;
            (answer, start.elapsed().as_secs_f64())
        }
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    // Nine each: the tenth login to one account in a minute would be rate-limited.
    for i in 0..9 {
        // Alternating, so that the machine's load falls on both alike.
        let (first, second) = if i % 2 == 0 {
            ("alice", "nobody")
        } else {
            ("nobody", "alice")
        };
        for user in [first, second] {
            let (answer, time) = login(user).await;
            assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "{}", answer.1);
            if user == "alice" {
                known.push((answer, time));
            } else {
                unknown.push((answer, time));
            }
        }
    }
    alike(&known[0].0, &unknown[0].0, "alice", "nobody");
    let known = median(known.into_iter().map(|(_, t)| t).collect());
    let unknown = median(unknown.into_iter().map(|(_, t)| t).collect());
    // Not a wall-clock threshold: the two medians of one run, within a factor of two (a
    // skipped password hash made the unknown user's login about twenty times faster).
    let ratio = unknown / known;
    assert!(
        (0.5..2.0).contains(&ratio),
        "unknown {unknown:.4} s, known {known:.4} s"
    );
}

#[tokio::test]
async fn a_consent_request_to_an_unknown_user_takes_as_long_as_to_a_known_one() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    // A first request to a known user writes it, and tells the user's devices.
    let mut known_users = Vec::new();
    for i in 0..9 {
        let name = format!("known{i}");
        api.person(&name, "phone").await;
        known_users.push(name);
    }
    let ask = |user: String| {
        let api = &api;
        let token = alice.token.clone();
        async move {
            let start = Instant::now();
            let answer = api
                .call(
                    "POST",
                    "/v1/consent/request",
                    Some(&token),
                    Some(json!({"user": user, "room": "team"})),
                )
                .await;
            assert_eq!(answer.0, StatusCode::ACCEPTED, "{}", answer.1);
            start.elapsed().as_secs_f64()
        }
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for (i, user) in known_users.into_iter().enumerate() {
        // Alternating, so that the machine's load falls on both alike.
        let stranger = format!("stranger{i}");
        if i % 2 == 0 {
            known.push(ask(user).await);
            unknown.push(ask(stranger).await);
        } else {
            unknown.push(ask(stranger).await);
            known.push(ask(user).await);
        }
    }
    let known = median(known);
    let unknown = median(unknown);
    // Not a wall-clock threshold: the two medians of one run, within a factor of two (a
    // request to an unknown user that committed nothing took about half the time).
    let ratio = unknown / known;
    assert!(
        (0.5..2.0).contains(&ratio),
        "unknown {unknown:.5} s, known {known:.5} s"
    );
}

#[tokio::test]
async fn a_consent_request_to_an_unknown_user_is_answered_as_to_a_known_one() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    api.person("bob", "phone").await;
    let ask = |user: &'static str| {
        let api = &api;
        let token = alice.token.clone();
        async move {
            api.call(
                "POST",
                "/v1/consent/request",
                Some(&token),
                Some(json!({"user": user, "room": "team"})),
            )
            .await
        }
    };
    let known = ask("bob").await;
    let unknown = ask("nobody").await;
    assert_eq!(known.0, StatusCode::ACCEPTED, "{}", known.1);
    alike(&known, &unknown, "bob", "nobody");
}

#[tokio::test]
async fn a_key_package_claim_for_an_unknown_user_is_answered_as_for_a_known_one() {
    for allowance in [0, 2] {
        let api = Api::with_key_package_allowance(allowance).await;
        let alice = api.person("alice", "phone").await;
        // bob exists, with no KeyPackage left to hand out.
        api.person("bob", "phone").await;
        let claim = |user: &'static str| {
            let api = &api;
            let token = alice.token.clone();
            async move {
                api.call(
                    "POST",
                    "/v1/key-packages/claim",
                    Some(&token),
                    Some(json!({"user": user})),
                )
                .await
            }
        };
        let known = claim("bob").await;
        let unknown = claim("nobody").await;
        assert!(known.0.is_client_error(), "{}", known.1);
        alike(&known, &unknown, "bob", "nobody");
    }
}

#[tokio::test]
async fn a_handshake_to_a_hidden_room_is_answered_as_to_a_missing_one() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let eve = api.person("eve", "phone").await;
    create_room(&api, &alice, "secret", false).await;
    // Garbage, so that a reader of the message would answer `malformed-mls`.
    for (kind, body) in [
        (
            "commits",
            json!({"commit": b64(b"junk"), "group_info": b64(b"junk")}),
        ),
        ("proposals", json!({"proposal": b64(b"junk")})),
    ] {
        let post = |room: &'static str| {
            let api = &api;
            let token = eve.token.clone();
            let body = body.clone();
            async move {
                api.call(
                    "POST",
                    &format!("/v1/rooms/example.com/{room}/{kind}"),
                    Some(&token),
                    Some(body),
                )
                .await
            }
        };
        let hidden = post("secret").await;
        let missing = post("nowhere").await;
        assert_eq!(hidden.0, StatusCode::NOT_FOUND, "{kind}: {}", hidden.1);
        assert_eq!(hidden.1["code"], missing.1["code"]);
        // The room's own member still hears what is wrong with the message.
        let (status, v) = api
            .call(
                "POST",
                &format!("/v1/rooms/example.com/secret/{kind}"),
                Some(&alice.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed-mls")),
            "{v}"
        );
    }
}

#[tokio::test]
async fn a_knock_on_a_hidden_room_is_refused_as_on_a_missing_one() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let eve = api.person("eve", "phone").await;
    let mut doc = seed_document(&alice, "secret");
    doc.policy.membership = Some(Membership::KnockFirst);
    doc.policy.discoverable = false;
    create_room_from(&api, &alice, doc).await;
    let knock = |room: &'static str| {
        let api = &api;
        let token = eve.account.clone();
        async move {
            api.call(
                "POST",
                &format!("/v1/rooms/example.com/{room}/knock"),
                Some(&token),
                None,
            )
            .await
        }
    };
    let hidden = knock("secret").await;
    let missing = knock("nowhere").await;
    assert_eq!(hidden.0, StatusCode::NOT_FOUND, "{}", hidden.1);
    assert_eq!(hidden.1["code"], missing.1["code"]);
    // Its owner heard of nothing.
    let (_, v) = api.call("GET", "/v1/sync", Some(&alice.token), None).await;
    assert_eq!(v["knocks"].as_array().map_or(0, Vec::len), 0, "{v}");
}

#[tokio::test]
async fn a_user_name_is_normalized_and_a_look_alike_of_another_is_refused() {
    let api = Api::new().await;
    api.person("alice", "phone").await;
    let sign_up = |user: &'static str| {
        let api = &api;
        async move {
            let body = json!({"user": user, "password": "correct horse"});
            api.call("POST", "/v1/accounts", None, Some(body)).await
        }
    };
    for (name, status, code) in [
        // Case and width are the same name.
        ("Alice", StatusCode::CONFLICT, "conflict"),
        ("ａｌｉｃｅ", StatusCode::CONFLICT, "conflict"),
        // A Cyrillic а among Latin letters.
        ("\u{0430}lice", StatusCode::BAD_REQUEST, "mixed-script"),
        // Invisible and direction-changing characters.
        ("ali\u{200b}ce", StatusCode::BAD_REQUEST, "bad-name"),
        ("\u{202e}ecila", StatusCode::BAD_REQUEST, "bad-name"),
        // Another name that looks like alice's.
        ("a1ice", StatusCode::CONFLICT, "confusable-name"),
    ] {
        let (got, v) = sign_up(name).await;
        assert_eq!(
            (got, v["code"].as_str()),
            (status, Some(code)),
            "{name:?}: {v}"
        );
    }
    let (status, v) = sign_up("alicia").await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    // `Alice` logs in as alice.
    let body = json!({"user": "Alice", "password": "correct horse"});
    let (status, v) = api.call("POST", "/v1/login", None, Some(body)).await;
    assert_eq!(
        (status, v["user"].as_str()),
        (StatusCode::OK, Some("mimi://example.com/u/alice")),
        "{v}"
    );
}

#[tokio::test]
async fn names_made_before_skeletons_were_kept_get_theirs_when_the_provider_starts() {
    use sqlx::{Connection as _, Executor as _};
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    create_room(&api, &alice, "money", true).await;
    // As migrations 0007 and 0009 left older users and rooms: no skeletons.
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(api.url()).await.unwrap();
    conn.execute("UPDATE users SET skeleton = NULL")
        .await
        .unwrap();
    conn.execute("UPDATE rooms SET skeleton = NULL")
        .await
        .unwrap();
    conn.close().await.unwrap();
    mimi_server::state::backfill_skeletons(&api.state.store).await;
    let body = json!({"user": "a1ice", "password": "correct horse"});
    let (status, v) = api.call("POST", "/v1/accounts", None, Some(body)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("confusable-name")),
        "{v}"
    );
    let mallory = api.person("mallory", "phone").await;
    let (_, (status, v)) =
        try_create_room_from(&api, &mallory, seed_document(&mallory, "rnoney")).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("confusable-name")),
        "{v}"
    );
}

#[tokio::test]
async fn a_room_name_that_looks_like_another_rooms_is_refused_without_naming_it() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let mallory = api.person("mallory", "phone").await;
    create_room(&api, &alice, "money", false).await;
    for name in ["rnoney"] {
        let (_, (status, v)) =
            try_create_room_from(&api, &mallory, seed_document(&mallory, name)).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (StatusCode::CONFLICT, Some("confusable-name")),
            "{name}: {v}"
        );
        // The hidden room is not named to mallory.
        assert!(!v["message"].as_str().unwrap().contains("/r/money"), "{v}");
    }
    let (_, (status, v)) =
        try_create_room_from(&api, &mallory, seed_document(&mallory, "honey")).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn a_room_name_that_mixes_scripts_or_hides_characters_is_refused() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    for (name, code) in [
        ("t\u{0435}am", "mixed-script"),
        ("te\u{200b}am", "bad-name"),
        ("ｔｅａｍ", "bad-name"),
    ] {
        let (_, (status, v)) =
            try_create_room_from(&api, &alice, seed_document(&alice, name)).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{name:?}: {v}"
        );
    }
    // A full-width spelling in a path names the room of the usual width.
    create_room(&api, &alice, "team", true).await;
    let (status, v) = api
        .call(
            "GET",
            "/v1/rooms/example.com/ｔｅａｍ",
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// A POST as `mimi serve` hands it to the router: with the peer's address.
async fn post_from(
    api: &Api,
    address: [u8; 4],
    path: &str,
    body: Value,
) -> (StatusCode, Value, Option<String>) {
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::Request;
    use tower::ServiceExt as _;
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(mimi_server::limits::PeerAddr(
            std::net::SocketAddr::from((address, 40000)),
        )));
    let resp = api.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap(), retry)
}

#[tokio::test]
async fn sign_ups_and_logins_past_their_limits_are_told_when_to_come_back() {
    let api = Api::new().await;
    let here = [192, 0, 2, 7];
    // A burst of ten sign-ups from one address passes; the eleventh waits, and is not made.
    for i in 0..10 {
        let body = json!({"user": format!("user{i}"), "password": "correct horse"});
        let (status, v, _) = post_from(&api, here, "/v1/accounts", body).await;
        assert_eq!(status, StatusCode::CREATED, "{i}: {v}");
    }
    let body = json!({"user": "user10", "password": "correct horse"});
    let (status, v, retry) = post_from(&api, here, "/v1/accounts", body.clone()).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate-limited")),
        "{v}"
    );
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=360).contains(&retry), "{retry}");
    let user10 = mimi_policy::id::UserId::new("example.com", "user10").unwrap();
    use mimi_store::prelude::*;
    assert_eq!(api.state.store.password_hash(&user10).await.unwrap(), None);
    // Another address is not held back.
    let (status, v, _) = post_from(&api, [192, 0, 2, 8], "/v1/accounts", body).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");

    // Mistyped passwords: ten pass (refused as wrong), then the address waits. The bucket
    // refills one login every six seconds, and an unoptimized password hash on a loaded
    // machine can take that long: more than ten may pass, never fifty.
    let wrong = json!({"user": "user0", "password": "wrong horse"});
    let mut passed = 0;
    let retry = loop {
        let (status, v, retry) = post_from(&api, here, "/v1/login", wrong.clone()).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(v["code"], "rate-limited", "{v}");
            break retry;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
        passed += 1;
        assert!(passed < 50, "fifty mistyped passwords passed");
    };
    assert!(passed >= 10, "only {passed} passed");
    assert!(retry.is_some());
    // ... and so does the account, from any address, even with the right password.
    let right = json!({"user": "user0", "password": "correct horse"});
    let (status, _, _) = post_from(&api, [198, 51, 100, 1], "/v1/login", right).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another account from another address logs in.
    let other = json!({"user": "user1", "password": "correct horse"});
    let (status, v, _) = post_from(&api, [198, 51, 100, 2], "/v1/login", other).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn consent_requests_from_one_user_to_another_are_bounded_whoever_the_target_is() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    api.person("bob", "phone").await;
    api.person("carol", "phone").await;
    let ask = |user: &'static str, room: String| {
        let api = &api;
        let token = alice.token.clone();
        async move {
            api.call(
                "POST",
                "/v1/consent/request",
                Some(&token),
                Some(json!({"user": user, "room": room})),
            )
            .await
        }
    };
    // Made-up room names cannot fill bob's inbox: a few pass, then alice waits. An unknown
    // user is counted alike (the answers do not tell who exists).
    for target in ["bob", "nobody"] {
        for i in 0..5 {
            let (status, v) = ask(target, format!("made-up-{i}")).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{target} {i}: {v}");
        }
        let (status, v) = ask(target, "made-up-5".into()).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("rate-limited")),
            "{target}: {v}"
        );
    }
    let (status, v) = ask("carol", "made-up-0".into()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
}

#[tokio::test]
async fn a_device_holds_a_bounded_number_of_event_streams() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let open = || {
        let app = api.app.clone();
        let token = alice.token.clone();
        async move {
            let req = Request::builder()
                .uri("/v1/events")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            app.oneshot(req).await.unwrap()
        }
    };
    let mut streams = Vec::new();
    for _ in 0..mimi_server::limits::STREAMS_PER_DEVICE {
        let stream = open().await;
        assert_eq!(stream.status(), StatusCode::OK);
        streams.push(stream);
    }
    let refused = open().await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    // A stream that ends gives its place back.
    streams.pop();
    assert_eq!(open().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn accounts_within_their_allowance_together_cannot_drain_a_user() {
    let api = Api::with_key_package_allowance(1).await;
    let bob = api.person("bob", "phone").await;
    crate::flow::upload_key_packages(&api, &bob, 10).await;
    let per_target = mimi_server::routes::consent::ALLOWANCE_PER_TARGET;
    // Strangers, one claim each, all within the allowance of one.
    for i in 0..=per_target {
        let stranger = api.person(&format!("stranger{i}"), "phone").await;
        let (status, v) = api
            .call(
                "POST",
                "/v1/key-packages/claim",
                Some(&stranger.token),
                Some(json!({"user": "bob"})),
            )
            .await;
        if i < per_target {
            assert_eq!(status, StatusCode::OK, "{i}: {v}");
        } else {
            assert_eq!(
                (status, v["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("consent-required")),
                "bob's {per_target} are out: {v}"
            );
        }
    }
}
