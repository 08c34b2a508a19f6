//! Sessions end: logout, a password change, the revocation of every token of an account, and
//! an account token's expiry; a device comes back with a new token.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::Api;

async fn status(api: &Api, method: &str, path: &str, token: &str) -> StatusCode {
    api.call(method, path, Some(token), None).await.0
}

async fn login(api: &Api, password: &str) -> (StatusCode, String) {
    let (status, v) = api
        .call(
            "POST",
            "/v1/login",
            None,
            Some(json!({"user": "alice", "password": password})),
        )
        .await;
    (status, v["token"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_logout_revokes_the_token_it_comes_with_and_no_other() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    assert_eq!(
        status(&api, "POST", "/v1/logout", &alice.token).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(&api, "GET", "/v1/sync", &alice.token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&api, "GET", "/v1/devices", &alice.account).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_ends_the_other_sessions() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let (_, other) = login(&api, "correct horse").await;
    let change = |current: &'static str| {
        let api = &api;
        let token = alice.account.clone();
        async move {
            api.call(
                "POST",
                "/v1/account/password",
                Some(&token),
                Some(json!({"password": current, "new_password": "battery staple"})),
            )
            .await
        }
    };
    let (status_wrong, v) = change("wrong horse").await;
    assert_eq!(
        (status_wrong, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("wrong-password"))
    );
    assert_eq!(change("correct horse").await.0, StatusCode::NO_CONTENT);
    // The other session ended; this one and the device's go on.
    assert_eq!(
        status(&api, "GET", "/v1/devices", &other).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&api, "GET", "/v1/devices", &alice.account).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&api, "GET", "/v1/sync", &alice.token).await,
        StatusCode::OK
    );
    assert_eq!(
        login(&api, "correct horse").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&api, "battery staple").await.0, StatusCode::OK);
}

#[tokio::test]
async fn revoking_every_token_ends_every_session_and_a_device_gets_a_new_one() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let (status_revoked, v) = api
        .call(
            "POST",
            "/v1/account/revoke-tokens",
            Some(&alice.account),
            Some(json!({"password": "correct horse"})),
        )
        .await;
    assert_eq!(status_revoked, StatusCode::NO_CONTENT, "{v}");
    for (path, token) in [("/v1/devices", &alice.account), ("/v1/sync", &alice.token)] {
        assert_eq!(
            status(&api, "GET", path, token).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let (_, account) = login(&api, "correct horse").await;
    let (status_new, v) = api
        .call("POST", "/v1/devices/phone/token", Some(&account), None)
        .await;
    assert_eq!(status_new, StatusCode::CREATED, "{v}");
    assert_eq!(v["client"], alice.client.id().to_string());
    let device = v["token"].as_str().unwrap();
    assert_eq!(
        status(&api, "GET", "/v1/sync", device).await,
        StatusCode::OK
    );
    // No such device: nothing issued.
    let (status_none, _) = api
        .call("POST", "/v1/devices/tablet/token", Some(&account), None)
        .await;
    assert_eq!(status_none, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_account_token_expires_and_a_device_token_does_not() {
    use sqlx::Connection as _;
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let long_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - mimi_server::auth::ACCOUNT_TOKEN_TTL.as_secs()
        - 60;
    let mut conn = sqlx::AnyConnection::connect(api.url()).await.unwrap();
    sqlx::query("UPDATE tokens SET created_at = $1")
        .bind(long_ago as i64)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    // A process that has not seen the tokens yet (no cached lookups).
    let again = api.restarted().await;
    let (status_expired, v) = again
        .call("GET", "/v1/devices", Some(&alice.account), None)
        .await;
    assert_eq!(status_expired, StatusCode::UNAUTHORIZED, "{v}");
    assert!(v["message"].as_str().unwrap().contains("expired"), "{v}");
    assert_eq!(
        status(&again, "GET", "/v1/sync", &alice.token).await,
        StatusCode::OK
    );
}
