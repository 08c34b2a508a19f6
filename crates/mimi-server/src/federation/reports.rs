//! `reportAbuse` (protocol-06 §5.9) and `identifierQuery` (§5.8).
//!
//! A report about a room goes to the room's hub, whose operator reads it with its own
//! (`GET /v1/reports`). mimi carries its report's reason, note and log position as JSON in
//! the draft's `note` (`{"reason", "note", "seq"}`); a note that is not such JSON is kept
//! as the note of a report for reason `other`. No message is franked yet, so `messages` is
//! empty.
//!
//! An identifier query is answered for handles only (`im:alice@a.example`,
//! `alice@a.example`, `mimi://a.example/u/alice`), to peers only (the client API offers no
//! search, so users cannot list another provider's users through their own).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use mimi_policy::id::{RoomId, UserId};
use mimi_protocol::Mls;
use mimi_protocol::consent::{
    ABUSE_TYPE_RESERVED, AbuseReport, IdentifierQueryCode, IdentifierRequest, IdentifierResponse,
    Search, SearchIdentifierType, UserProfile,
};
use mimi_store::prelude::*;
use serde::{Deserialize, Serialize};

use super::key_material::text;
use super::{Peer, decode, tls_answer};
use crate::error::ApiError;
use crate::state::AppState;

/// mimi's report in the draft's `note`.
#[derive(Serialize, Deserialize)]
struct Note {
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
}

fn empty_dictionary() -> Result<Mls<mimi_protocol::codec::AppDataDictionary>, ApiError> {
    Mls::new(vec![0]).map_err(|e| ApiError::Unavailable(format!("encoding: {e}")))
}

/// `POST /mimi/v1/reportAbuse/{roomId}`: a peer's user reports abuse in a room hosted here.
pub async fn report_abuse(
    State(state): State<AppState>,
    peer: Peer,
    Path(room): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let id = super::rooms::hosted(&state, &room)?;
    let report: AbuseReport = decode(&body)?;
    let reporter = peer.user("reportingUser", report.reporting_user.as_str())?;
    let note = String::from_utf8(report.note.as_slice().to_vec())
        .map_err(|_| ApiError::bad_request("bad-message", "the note is not UTF-8"))?;
    let given = serde_json::from_str::<Note>(&note).unwrap_or(Note {
        reason: "other".into(),
        note,
        seq: None,
    });
    let body = mimi_api::AbuseReport {
        alleged_abuser: report.alleged_abuser_uri.to_string(),
        reason: given.reason,
        note: given.note,
        seq: given.seq,
    };
    crate::routes::reports::take(&state, &id, &reporter, body).await?;
    Ok(StatusCode::CREATED)
}

/// `reporter`'s report about room `id` of another provider, sent to its hub.
pub async fn relay_report(
    state: &AppState,
    id: &RoomId,
    reporter: &UserId,
    body: &mimi_api::AbuseReport,
) -> Result<(), ApiError> {
    let peers = super::peers(state, "foreign-room")?;
    let note = serde_json::to_vec(&Note {
        reason: body.reason.clone(),
        note: body.note.clone(),
        seq: body.seq,
    })
    .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let report = AbuseReport {
        reporting_user: text(reporter.as_str())?,
        alleged_abuser_uri: text(&body.alleged_abuser)?,
        reason_code: ABUSE_TYPE_RESERVED,
        note: note.into(),
        messages: Vec::new(),
        abuse_extensions: empty_dictionary()?,
    };
    let bytes = mimi_protocol::encode(&report)
        .map_err(|e| ApiError::Unavailable(format!("encoding: {e}")))?;
    let domain = id.domain();
    let (status, headers, answer) = peers
        .post_with(domain, |d| &d.report_abuse, id.as_str(), &[], bytes)
        .await?;
    match status {
        201 | 202 => Ok(()),
        _ => Err(super::rooms::refusal(
            domain,
            status,
            &headers,
            &answer,
            "reportAbuse",
        )),
    }
}

/// `POST /mimi/v1/identifierQuery/{domain}`: which of this provider's users a handle names.
pub async fn identifier_query(
    State(state): State<AppState>,
    _peer: Peer,
    Path(domain): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: IdentifierRequest = decode(&body)?;
    let answer = |code, found: Option<UserId>| -> Result<Response, ApiError> {
        let (uri, found_profiles) = match found {
            Some(user) => (
                vec![text(user.as_str())?],
                vec![UserProfile {
                    stable_uri: text(user.as_str())?,
                    fields: Vec::new(),
                }],
            ),
            None => (Vec::new(), Vec::new()),
        };
        Ok(tls_answer(
            StatusCode::OK,
            &IdentifierResponse {
                response_code: code,
                uri,
                found_profiles,
                id_response_extensions: empty_dictionary()?,
            },
        ))
    };
    if domain != state.domain.domain() {
        return answer(IdentifierQueryCode::Forbidden, None);
    }
    let [element] = &request.query_elements[..] else {
        return answer(IdentifierQueryCode::UnsupportedField, None);
    };
    if element.search != Search::Plain(SearchIdentifierType::Handle) {
        return answer(IdentifierQueryCode::UnsupportedField, None);
    }
    let handle = element.search_value.as_str();
    let user = UserId::parse_with_default(handle.trim_start_matches("im:"), &domain)
        .ok()
        .filter(|u| u.domain() == state.domain.domain())
        .and_then(|u| {
            mimi_policy::name::normalize(u.name())
                .ok()
                .and_then(|name| UserId::new(u.domain(), &name).ok())
        });
    let Some(user) = user else {
        return answer(IdentifierQueryCode::NotFound, None);
    };
    if !user.is_pseudonym() && state.store.password_hash(&user).await?.is_some() {
        answer(IdentifierQueryCode::Success, Some(user))
    } else {
        answer(IdentifierQueryCode::NotFound, None)
    }
}
