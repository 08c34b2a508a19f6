//! The mimi provider: the client API (JSON over HTTP), the hub of the rooms it hosts, and
//! durable delivery, over [`mimi_store`].
//!
//! Routes (all but `/healthz`, `/metrics`, `/openapi.json`, `/v1/provider`, account creation
//! and login take `Authorization: Bearer`); the request and answer types are `mimi_api`'s:
//!
//! ```text
//! GET    /healthz
//! GET    /metrics                                                (OpenMetrics text; operator token)
//! GET    /openapi.json                                  (this list, as OpenAPI 3.1)
//! GET    /v1/provider                                     -> {domain, external_sender}
//! POST   /v1/accounts                   {user, password}          -> {user, token}
//! POST   /v1/login                      {user, password}          -> {user, token}
//! POST   /v1/logout                     (the token it comes with is revoked)
//! POST   /v1/account/password           {password, new_password}  (account's other tokens end)
//! POST   /v1/account/revoke-tokens      {password}                (every token of the account)
//! POST   /v1/devices                    {name}                    -> {client, token}
//! POST   /v1/devices/{name}/token                                 -> {client, token}
//! GET    /v1/devices                                              -> {devices}
//! GET    /v1/account/rooms                                        -> {rooms}
//! POST   /v1/account/pseudonyms         {room}               -> {user, token}
//! DELETE /v1/devices/{name}
//! POST   /v1/key-packages               {key_packages, last_resort?}        (device)
//! GET    /v1/key-packages                                         -> {available} (device)
//! POST   /v1/key-packages/claim         {user, room?}             -> {key_packages}
//! POST   /v1/consent/request            {user, room?}        -> {user, room, granted}
//! POST   /v1/consent/grant              {user, room?}
//! POST   /v1/consent/revoke             {user, room?}
//! GET    /v1/consent                                              -> {consents}
//! POST   /v1/rooms                      {group_info, ratchet_tree, refound?} (device)
//! GET    /v1/directory                                            -> {rooms}
//! GET    /v1/rooms/{provider}/{room}                              -> room document
//! DELETE /v1/rooms/{provider}/{room}                 -> {room, destroyed} (device)
//! GET    /room/{provider}/{room}       (the seed draft's address)  -> room document
//! GET    /v1/rooms/{provider}/{room}/group-info                            (device)
//! POST   /v1/rooms/{provider}/{room}/group-info {link?, password?}         (device)
//! POST   /v1/rooms/{provider}/{room}/commits   {commit, group_info, welcome?} (device)
//! POST   /v1/rooms/{provider}/{room}/proposals {proposal}                  (device)
//! POST   /v1/rooms/{provider}/{room}/messages  {message} or {messages}     (device)
//! POST   /v1/rooms/{provider}/{room}/knock                  -> {room, user, told}
//! DELETE /v1/rooms/{provider}/{room}/knock             -> {room, user, withdrawn}
//! DELETE /v1/rooms/{provider}/{room}/knocks/{user}      -> {room, user, declined}
//! GET    /v1/rooms/{provider}/{room}/knocks                 -> {room, knocks}
//! POST   /v1/rooms/{provider}/{room}/suggest {user}         -> {room, user}
//! POST   /v1/rooms/{provider}/{room}/attachments  (bytes)      -> {id, size} (device)
//! GET    /v1/rooms/{provider}/{room}/attachments/{id}          -> bytes
//! POST   /v1/rooms/{provider}/{room}/vacate                 -> {room, vacant} (device)
//! POST   /v1/rooms/{provider}/{room}/reports {alleged_abuser, reason, note?, seq?}
//! GET    /v1/reports                                  -> {reports} (operator token)
//! GET    /v1/sync?limit=N&wait=S                  (device; S: long poll)
//! GET    /v1/events           server-sent events: {welcomes, requests?, knocks?, entries}
//! POST   /v1/ack                        {welcomes?, welcome?, rooms: [{room, seq}]} (device)
//! ```
//!
//! MLS messages travel base64 in JSON. Every refusal is a 4xx `{"code", "message"}`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
mod connections;
pub mod error;
pub mod federation;
pub mod handshake;
pub mod limits;
pub mod metrics;
pub mod routes;
pub mod serve;
pub mod state;
pub mod sweeper;
pub mod tail;
pub mod tls;
pub mod wake;
pub mod writer;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use serve::{Config, serve};
pub use state::AppState;

/// Largest request body: a commit with its GroupInfo and Welcome for a large room, base64.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// The client API's OpenAPI document: its operations from the routes below, its schemas
/// from the request and answer types of `mimi_api`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "mimi client API",
        description = "A device and its provider: accounts, devices, KeyPackages, consent, rooms \
            (creation, handshakes, messages, GroupInfo, knocks) and delivery. MLS messages \
            travel base64 in JSON; every refusal is a 4xx `{code, message}` with a stable code."
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// The bearer tokens (an account's or a device's) most operations take.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // The operator's token for /metrics and /v1/reports (`metrics_token`).
        components.add_security_scheme(
            "operator",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every route, each documented by the handler that serves it: the router and the OpenAPI
/// document are made from this one list.
fn api() -> OpenApiRouter<AppState> {
    use routes::{
        accounts, attachments, consent, create_room, destroy, directory, events, group_info,
        handshakes, key_packages, knocks, messages, provider, reports, room_document, suggest,
        sync, vacate,
    };
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(healthz))
        .routes(routes!(openapi_json))
        .routes(routes!(metrics::metrics))
        .routes(routes!(provider::provider))
        .routes(routes!(accounts::create))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::change_password))
        .routes(routes!(accounts::revoke_tokens))
        .routes(routes!(accounts::device_token))
        .routes(routes!(accounts::add_device, accounts::list_devices))
        .routes(routes!(accounts::remove_device))
        .routes(routes!(accounts::rooms))
        .routes(routes!(accounts::pseudonym))
        .routes(routes!(key_packages::upload, key_packages::count))
        .routes(routes!(key_packages::claim))
        .routes(routes!(consent::list))
        .routes(routes!(consent::request))
        .routes(routes!(consent::grant))
        .routes(routes!(consent::revoke))
        .routes(routes!(create_room::create))
        .routes(routes!(directory::directory))
        .routes(routes!(room_document::show, destroy::destroy))
        .routes(routes!(room_document::show_seed))
        .routes(routes!(
            group_info::group_info,
            group_info::group_info_with_link
        ))
        .routes(routes!(handshakes::commit))
        .routes(routes!(handshakes::proposal))
        .routes(routes!(messages::message))
        .routes(routes!(knocks::knock, knocks::withdraw))
        .routes(routes!(knocks::decline))
        .routes(routes!(knocks::list))
        .routes(routes!(suggest::suggest))
        .routes(routes!(attachments::upload))
        .routes(routes!(attachments::download))
        .routes(routes!(vacate::vacate))
        .routes(routes!(reports::report))
        .routes(routes!(reports::list))
        .routes(routes!(sync::sync))
        .routes(routes!(events::events))
        .routes(routes!(sync::ack))
}

/// The client API's OpenAPI document, as `/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

static OPENAPI_JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Whether the provider is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "up", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "the OpenAPI 3.1 document of this API", body = Object)))]
async fn openapi_json() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI_JSON.get().cloned().unwrap_or_default(),
    )
}

/// The API over `state`.
pub fn router(state: AppState) -> Router {
    let (router, doc) = api().split_for_parts();
    OPENAPI_JSON.get_or_init(|| doc.to_pretty_json().unwrap_or_default());
    router
        .merge(federation::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .fallback(|| async { error::ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async { error::ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}
