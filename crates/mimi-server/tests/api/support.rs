//! A provider on a fresh SQLite file, called through its router, and people using it.

use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use mimi_mls::member::Client;
use mimi_policy::id::{ClientId, ProviderId};
use mimi_server::{AppState, router};
use mimi_store::SqlStore;
use openmls::prelude::ExternalSender;
use serde_json::{Value, json};
use tls_codec::Deserialize as _;
use tower::ServiceExt as _;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The operator's token for `/metrics` in these tests.
pub const METRICS_TOKEN: &str = "operator secret";

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

/// A provider for example.com.
pub struct Api {
    pub app: Router,
    /// The provider's shared state, for what its background tasks do.
    pub state: AppState,
    url: String,
    path: std::path::PathBuf,
    owner: bool,
    schema: Option<(String, String)>,
}

impl Drop for Api {
    fn drop(&mut self) {
        if !self.owner {
            return;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Api {
    pub async fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "mimi_api_{}_{}.db",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        Self::on(path, true).await
    }

    async fn on(path: std::path::PathBuf, owner: bool) -> Self {
        let url = format!("sqlite://{}", path.display());
        Self::at(url, path, owner).await
    }

    /// A provider that hands out `n` KeyPackages of a user without its consent.
    pub async fn with_key_package_allowance(n: u32) -> Self {
        let mut api = Self::new().await;
        let mut state = AppState::new(
            ProviderId::parse("example.com").unwrap(),
            SqlStore::open(&api.url).await.unwrap(),
        )
        .await
        .unwrap();
        state.key_package_allowance = n;
        state.metrics_token = Some(mimi_server::auth::OperatorToken::new(METRICS_TOKEN));
        api.app = router(state.clone());
        api.state = state;
        api
    }

    async fn at(url: String, path: std::path::PathBuf, owner: bool) -> Self {
        let store = SqlStore::open(&url).await.unwrap();
        let mut state = AppState::new(ProviderId::parse("example.com").unwrap(), store)
            .await
            .unwrap();
        state.metrics_token = Some(mimi_server::auth::OperatorToken::new(METRICS_TOKEN));
        Self {
            app: router(state.clone()),
            state,
            url,
            path,
            owner,
            schema: None,
        }
    }

    /// A provider on a fresh schema of the PostgreSQL database `MIMI_TEST_POSTGRES_URL`
    /// names, if set.
    pub async fn postgres() -> Option<Self> {
        use sqlx::{Connection as _, Executor as _};
        let base = std::env::var("MIMI_TEST_POSTGRES_URL").ok()?;
        let schema = format!(
            "mimi_api_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&base).await.unwrap();
        conn.execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        )))
        .await
        .unwrap();
        conn.close().await.unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let mut api = Self::at(url, std::path::PathBuf::new(), false).await;
        api.schema = Some((base, schema));
        Some(api)
    }

    /// Drops the PostgreSQL schema of [`Api::postgres`] (SQLite files go on drop).
    pub async fn cleanup(self) {
        use sqlx::{Connection as _, Executor as _};
        if let Some((base, schema)) = &self.schema
            && let Ok(mut conn) = sqlx::AnyConnection::connect(base).await
        {
            let _ = conn
                .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .await;
            let _ = conn.close().await;
        }
    }

    /// The database URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Another provider process on the same database (a restart, or a second node).
    pub async fn restarted(&self) -> Self {
        Self::at(self.url.clone(), self.path.clone(), false).await
    }

    /// A request with an optional bearer token and raw body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(Body::from(body.unwrap_or_default())).unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes))
            })
        };
        (status, value)
    }

    /// A request with a body of bytes (`application/octet-stream`); the answer's bytes.
    pub async fn bytes(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Vec<u8>) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/octet-stream")
            .body(Body::from(body))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, bytes.to_vec())
    }

    /// A GET whose answer is text, with the operator's metrics token.
    pub async fn text(&self, path: &str) -> (StatusCode, String) {
        let req = Request::builder()
            .uri(path)
            .header("authorization", format!("Bearer {METRICS_TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.raw(
            method,
            path,
            token,
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
    }

    /// Registers device `name` with an account token.
    pub async fn add_device(&self, account: &str, name: &str) -> (StatusCode, Value) {
        self.call(
            "POST",
            "/v1/devices",
            Some(account),
            Some(json!({ "name": name })),
        )
        .await
    }

    /// The provider's external sender, as rooms must list it.
    pub async fn external_sender(&self) -> ExternalSender {
        let (status, v) = self.call("GET", "/v1/provider", None, None).await;
        assert_eq!(status, StatusCode::OK);
        ExternalSender::tls_deserialize_exact(unb64(&v["external_sender"])).unwrap()
    }

    /// An account with one device; returns the device's token and MLS client.
    pub async fn person(&self, name: &str, device: &str) -> Person {
        let (status, v) = self
            .call(
                "POST",
                "/v1/accounts",
                None,
                Some(json!({"user": name, "password": "correct horse"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let account = v["token"].as_str().unwrap().to_owned();
        let (status, v) = self
            .call(
                "POST",
                "/v1/devices",
                Some(&account),
                Some(json!({"name": device})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let id = ClientId::parse(v["client"].as_str().unwrap()).unwrap();
        Person {
            account,
            token: v["token"].as_str().unwrap().to_owned(),
            client: Client::new(id).unwrap(),
        }
    }
}

/// Someone with an account and one device.
pub struct Person {
    pub account: String,
    pub token: String,
    pub client: Client,
}
