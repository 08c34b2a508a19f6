//! The mimi provider: the client API (JSON over HTTP), the hub of the rooms it hosts, and
//! durable delivery, over [`mimi_store`].
//!
//! Routes (all but `/healthz`, account creation and login take `Authorization: Bearer`):
//!
//! ```text
//! GET  /healthz
//! GET  /metrics                                                  (Prometheus text)
//! GET  /openapi.json                                               (this list, as OpenAPI 3.1)
//! GET  /v1/provider                                                -> {domain, external_sender}
//! POST /v1/accounts                      {user, password}          -> {user, token}
//! POST /v1/login                         {user, password}          -> {user, token}
//! POST /v1/devices                       {name}                    -> {client, token}
//! GET  /v1/devices                                                 -> {devices}
//! DEL  /v1/devices/{name}
//! POST /v1/key-packages                  {key_packages, last_resort?}   (device)
//! POST /v1/key-packages/claim            {user, room?}             -> {key_packages}
//! POST /v1/consent/request               {user, room?}             -> {user, room, granted}
//! POST /v1/consent/grant                 {user, room?}
//! POST /v1/consent/revoke                {user, room?}
//! GET  /v1/consent                                                 -> {consents}
//! POST /v1/rooms                         {group_info, ratchet_tree}     (device)
//! GET  /v1/directory                                               -> {rooms}
//! GET  /v1/rooms/{provider}/{room}                                 -> room document
//! GET  /room/{provider}/{room}          (the seed draft's address)  -> room document
//! GET  /v1/rooms/{provider}/{room}/group-info                      (device)
//! POST /v1/rooms/{provider}/{room}/commits   {commit, group_info, welcome?} (device)
//! POST /v1/rooms/{provider}/{room}/proposals {proposal}            (device)
//! POST /v1/rooms/{provider}/{room}/messages  {message}             (device)
//! POST /v1/rooms/{provider}/{room}/knock                          -> {room, user, told}
//! DELETE /v1/rooms/{provider}/{room}/knock                    -> {room, user, withdrawn}
//! DELETE /v1/rooms/{provider}/{room}/knocks/{user}              -> {room, user, declined}
//! GET  /v1/sync?limit=N&wait=S                                   (device; S: long poll)
//! GET  /v1/events                     server-sent events: {welcomes, requests?, knocks?, entries}
//! POST /v1/ack                           {welcomes?, welcome?, rooms: [{room, seq}]} (device)
//! ```
//!
//! MLS messages travel base64 in JSON. Every refusal is a 4xx `{"code", "message"}`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod error;
pub mod handshake;
pub mod metrics;
pub mod routes;
pub mod serve;
pub mod state;
pub mod sweeper;
pub mod tail;
pub mod tls;
pub mod writer;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

pub use serve::{Config, serve};
pub use state::AppState;

/// The OpenAPI 3.1 description of the client API, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Largest request body: a commit with its GroupInfo and Welcome for a large room, base64.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// The API over `state`.
pub fn router(state: AppState) -> Router {
    use routes::{
        accounts, consent, create_room, directory, group_info, handshakes, key_packages, knocks,
        messages, provider, room_document, sync,
    };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/openapi.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    OPENAPI,
                )
            }),
        )
        .route("/v1/provider", get(provider::provider))
        .route("/v1/accounts", post(accounts::create))
        .route("/v1/login", post(accounts::login))
        .route(
            "/v1/devices",
            post(accounts::add_device).get(accounts::list_devices),
        )
        .route("/v1/devices/{name}", delete(accounts::remove_device))
        .route("/v1/key-packages", post(key_packages::upload))
        .route("/v1/key-packages/claim", post(key_packages::claim))
        .route("/v1/consent", get(consent::list))
        .route("/v1/consent/request", post(consent::request))
        .route("/v1/consent/grant", post(consent::grant))
        .route("/v1/consent/revoke", post(consent::revoke))
        .route("/v1/rooms", post(create_room::create))
        .route("/v1/directory", get(directory::directory))
        .route("/v1/rooms/{provider}/{room}", get(room_document::show))
        // The seed draft's own address for the room document ("Example Use").
        .route("/room/{provider}/{room}", get(room_document::show))
        .route(
            "/v1/rooms/{provider}/{room}/group-info",
            get(group_info::group_info),
        )
        .route(
            "/v1/rooms/{provider}/{room}/commits",
            post(handshakes::commit),
        )
        .route(
            "/v1/rooms/{provider}/{room}/proposals",
            post(handshakes::proposal),
        )
        .route(
            "/v1/rooms/{provider}/{room}/messages",
            post(messages::message),
        )
        .route(
            "/v1/rooms/{provider}/{room}/knock",
            post(knocks::knock).delete(knocks::withdraw),
        )
        .route(
            "/v1/rooms/{provider}/{room}/knocks/{user}",
            delete(knocks::decline),
        )
        .route("/v1/sync", get(sync::sync))
        .route("/v1/events", get(routes::events::events))
        .route("/v1/ack", post(sync::ack))
        .route("/metrics", get(metrics::metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .fallback(|| async { error::ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async { error::ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}
