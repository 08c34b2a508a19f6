//! Abuse reports (protocol-06 §5.9): `POST /v1/rooms/{provider}/{room}/reports` from a user
//! the room has a place for, to the room's hub; `GET /v1/reports` for the operator.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mimi_api::{AbuseReport, MAX_REPORT_NOTE, REPORT_REASONS, ReportView, Reports};
use mimi_policy::id::{ClientId, RoomId, UserId};
use mimi_policy::role::NO_ROLE;
use mimi_store::NewReport;
use mimi_store::prelude::*;

use super::{ApiJson, ApiPath, room_anywhere, visible};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// How many reports the operator's listing shows.
const LISTED: u32 = 100;

/// Takes an abuse report about a room from a user it has a place for. The answer says only
/// that it was taken, not what the operator does about it.
#[utoipa::path(post, path = "/v1/rooms/{provider}/{room}/reports", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), request_body = AbuseReport, responses((status = 202, description = "taken"), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<AbuseReport>,
) -> Result<StatusCode, ApiError> {
    let (id, hosted) = room_anywhere(&state, &provider, &name)?;
    check_report(&body)?;
    if !hosted {
        // To the room's hub, which keeps it for its operator.
        return crate::federation::reports::relay_report(&state, &id, &caller.user, &body)
            .await
            .map(|()| StatusCode::ACCEPTED);
    }
    take(&state, &id, &caller.user, body).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Refuses a report whose reason or note is not one the hub keeps.
pub(crate) fn check_report(body: &AbuseReport) -> Result<(), ApiError> {
    abuser(&body.alleged_abuser)?;
    if !REPORT_REASONS.contains(&body.reason.as_str()) {
        return Err(ApiError::bad_request(
            "bad-reason",
            format!("`reason` is one of {}", REPORT_REASONS.join(", ")),
        ));
    }
    if body.note.len() > MAX_REPORT_NOTE {
        return Err(ApiError::bad_request(
            "note-too-long",
            format!("`note` holds at most {MAX_REPORT_NOTE} bytes"),
        ));
    }
    Ok(())
}

/// Keeps `reporter`'s report about room `id`, hosted here, if the room has a place for the
/// reporter (within the reporter's rate limit).
pub(crate) async fn take(
    state: &AppState,
    id: &RoomId,
    reporter: &UserId,
    body: AbuseReport,
) -> Result<(), ApiError> {
    {
        let room = state.room(id).await?;
        let policy = room.hub.policy();
        visible(policy, id, reporter)?;
        if policy.role_of(reporter) == NO_ROLE {
            return Err(ApiError::forbidden(
                "not-in-room",
                format!("{reporter} has no place in {id} to report from"),
            ));
        }
    }
    check_report(&body)?;
    let alleged_abuser = abuser(&body.alleged_abuser)?;
    state.limits.report(reporter.as_str())?;
    let report = NewReport {
        room: id.clone(),
        reporter: reporter.clone(),
        alleged_abuser,
        reason: body.reason,
        note: body.note,
        seq: body.seq,
    };
    let kept = state.store.record_report(&report).await?;
    tracing::warn!(
        report = kept,
        room = %id,
        %reporter,
        alleged_abuser = %report.alleged_abuser,
        reason = %report.reason,
        "abuse report"
    );
    Ok(())
}

/// The alleged abuser as a client's or a user's URI, in its canonical form.
fn abuser(input: &str) -> Result<String, ApiError> {
    if let Ok(client) = ClientId::parse(input) {
        return Ok(client.to_string());
    }
    UserId::parse(input)
        .map(|u| u.to_string())
        .map_err(|e| ApiError::bad_request("bad-user", format!("`alleged_abuser`: {e}")))
}

/// The latest abuse reports, newest first, for the operator alone (its token, as for
/// `/metrics`).
#[utoipa::path(get, path = "/v1/reports", tag = "operations", security(("operator" = [])), responses((status = 200, description = "the latest reports, newest first", body = Reports), (status = "4XX", description = "refused: no or a wrong operator token (401), no operator token configured (404)", body = mimi_api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Json<Reports>, ApiError> {
    crate::auth::operator(state.metrics_token.as_ref(), &headers, "/v1/reports")?;
    let reports = state
        .store
        .reports(LISTED)
        .await?
        .into_iter()
        .map(|r| ReportView {
            id: r.id,
            created_at: r.created_at,
            room: r.report.room.to_string(),
            reporter: r.report.reporter.to_string(),
            alleged_abuser: r.report.alleged_abuser,
            reason: r.report.reason,
            note: r.report.note,
            seq: r.report.seq,
        })
        .collect();
    Ok(Json(Reports { reports }))
}
