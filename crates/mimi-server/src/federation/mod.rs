//! Between providers (draft-ietf-mimi-protocol-06, decision 0015): the endpoints peers call,
//! under `/mimi/v1/` as the directory at `/.well-known/mimi-protocol-directory` lists them,
//! with TLS presentation-language bodies (`mimi_protocol`); and [`Peers`], how this
//! provider calls theirs, over mutually authenticated TLS.
//!
//! A peer's request names its provider in `From: mimi@DOMAIN`, and the certificate it
//! presented on the connection (checked against the peer authority, `--peer-ca`, during the
//! handshake) must be valid for that domain: [`Peer`] refuses anything else before the body
//! is read.

pub mod attachments;
pub mod consent;
pub mod key_material;
pub mod knocks;
pub mod peers;
pub mod push;
pub mod reports;
pub mod rooms;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mimi_policy::id::{ProviderId, UserId};
use mimi_protocol::directory::{DIRECTORY_PATH, Directory, PREFIX};
use rustls::pki_types::ServerName;

use crate::error::ApiError;
use crate::state::AppState;
use crate::tls::PeerCertificate;
pub use peers::{PeerError, Peers};

/// The media type of protocol bodies.
pub const CONTENT_TYPE: &str = "application/mimi-protocol";

/// The provider-to-provider routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(DIRECTORY_PATH, get(directory))
        .route(
            &format!("{PREFIX}/requestConsent/{{target}}"),
            post(consent::request_consent),
        )
        .route(
            &format!("{PREFIX}/updateConsent/{{requester}}"),
            post(consent::update_consent),
        )
        .route(
            &format!("{PREFIX}/keyMaterial/{{target}}"),
            post(key_material::key_material),
        )
        .route(
            &format!("{PREFIX}/groupInfo/{{room}}"),
            post(rooms::group_info),
        )
        .route(&format!("{PREFIX}/update/{{room}}"), post(rooms::update))
        .route(
            &format!("{PREFIX}/submitMessage/{{room}}"),
            post(rooms::submit_message),
        )
        .route(&format!("{PREFIX}/notify/{{room}}"), post(rooms::notify))
        .route(
            &format!("{PREFIX}/x-removeDevice/{{room}}"),
            post(rooms::remove_device),
        )
        .route(&format!("{PREFIX}/x-knock/{{room}}"), post(knocks::knock))
        .route(
            &format!("{PREFIX}/x-roomDocument/{{room}}"),
            post(attachments::room_document),
        )
        .route(
            &format!("{PREFIX}/x-attachment/{{room}}"),
            post(attachments::attachment),
        )
        .route(
            &format!("{PREFIX}/x-withdrawKnock/{{room}}"),
            post(knocks::withdraw),
        )
        .route(
            &format!("{PREFIX}/reportAbuse/{{room}}"),
            post(reports::report_abuse),
        )
        .route(
            &format!("{PREFIX}/identifierQuery/{{domain}}"),
            post(reports::identifier_query),
        )
}

/// This provider's endpoints, at the host the peer asked for.
async fn directory(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<axum::Json<Directory>, ApiError> {
    if state.peers.is_none() {
        return Err(not_federating());
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or(state.domain.domain());
    Ok(axum::Json(Directory::at(&format!("https://{host}"))))
}

/// This provider's client to its peers, or why there is none (`code`: `foreign-room` or
/// `foreign-user`, what the request named of another provider).
pub(crate) fn peers<'a>(state: &'a AppState, code: &'static str) -> Result<&'a Peers, ApiError> {
    state
        .peers
        .as_deref()
        .ok_or_else(|| ApiError::bad_request(code, "this provider does not federate"))
}

/// The answer of a provider that has no peers configured.
fn not_federating() -> ApiError {
    ApiError::not_found("this provider does not federate (it has no --peer-ca)")
}

/// The provider a request comes from: named by `From: mimi@DOMAIN`, and proven by the
/// certificate the connection presented.
#[derive(Debug, Clone)]
pub struct Peer(pub ProviderId);

impl Peer {
    /// `uri` as a user of this peer; anything else is refused (a provider speaks only for
    /// its own users).
    pub fn user(&self, field: &str, uri: &str) -> Result<UserId, ApiError> {
        let user = UserId::parse(uri)
            .map_err(|e| ApiError::bad_request("bad-user", format!("{field}: {e}")))?;
        if user.domain() != self.0.domain() {
            return Err(ApiError::forbidden(
                "wrong-peer",
                format!(
                    "{field}: {user} is not a user of {}, which sent the request",
                    self.0
                ),
            ));
        }
        Ok(user)
    }
}

/// `403 peer-not-authenticated`.
fn unauthenticated(message: impl Into<String>) -> ApiError {
    ApiError::forbidden("peer-not-authenticated", message)
}

impl FromRequestParts<AppState> for Peer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.peers.is_none() {
            return Err(not_federating());
        }
        let from = parts
            .headers
            .get(axum::http::header::FROM)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthenticated("a provider names itself in `From: mimi@DOMAIN`"))?;
        let domain = from
            .strip_prefix("mimi@")
            .and_then(|d| ProviderId::parse(d).ok())
            .ok_or_else(|| unauthenticated(format!("`From: {from}` is not `mimi@DOMAIN`")))?;
        if domain == state.domain {
            return Err(unauthenticated(format!("{domain} is this provider")));
        }
        let certificate = parts
            .extensions
            .get::<PeerCertificate>()
            .and_then(|c| c.0.clone())
            .ok_or_else(|| {
                unauthenticated(format!(
                    "{domain}'s request came without a client certificate"
                ))
            })?;
        let name = ServerName::try_from(domain.domain().to_owned())
            .map_err(|_| unauthenticated(format!("{domain} is not a DNS name")))?;
        let valid = webpki::EndEntityCert::try_from(certificate.as_ref())
            .and_then(|cert| cert.verify_is_valid_for_subject_name(&name));
        if valid.is_err() {
            return Err(unauthenticated(format!(
                "the connection's certificate does not name {domain}"
            )));
        }
        Ok(Self(domain))
    }
}

/// A protocol body as an answer (`status`, `application/mimi-protocol`).
pub fn tls_answer<T: tls_codec::Serialize>(status: StatusCode, body: &T) -> Response {
    match mimi_protocol::encode(body) {
        Ok(bytes) => (
            status,
            [(axum::http::header::CONTENT_TYPE, CONTENT_TYPE)],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::Unavailable(format!("encoding the answer: {e}")).into_response(),
    }
}

/// A request's body as protocol message `T`, or `400 bad-message`.
pub fn decode<T: tls_codec::DeserializeBytes>(body: &[u8]) -> Result<T, ApiError> {
    mimi_protocol::decode_exact(body).map_err(|e| {
        ApiError::bad_request(
            "bad-message",
            format!("the body is not the message expected: {e}"),
        )
    })
}
