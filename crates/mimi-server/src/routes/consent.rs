//! Consent to be added to rooms, the seed's KeyPackage access rules: a user's KeyPackages
//! go only to the user itself and to those it let add it (to one room or any room). Anyone
//! may ask; the target grants, and may revoke a grant at any time.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mimi_policy::id::{RoomId, UserId};
use mimi_store::Store as _;
use serde::{Deserialize, Serialize};

use super::{ApiJson, local_user};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// `POST /v1/consent/{request,grant,revoke}`: the other user, and the room (none: any room).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    user: String,
    #[serde(default)]
    room: Option<String>,
}

/// One consent, asked for or given, as the target sees it.
#[derive(Serialize)]
pub struct ConsentView {
    user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<String>,
    granted: bool,
}

/// The caller's consents.
#[derive(Serialize)]
pub struct Consents {
    consents: Vec<ConsentView>,
}

/// A room named in a body: a `mimi://` URI, or a bare name on this provider.
pub(crate) fn room(state: &AppState, input: Option<&str>) -> Result<Option<RoomId>, ApiError> {
    input
        .map(|r| {
            if r.contains(':') {
                RoomId::parse(r)
            } else {
                RoomId::new(state.domain.domain(), r)
            }
            .map_err(|e| ApiError::bad_request("bad-room", format!("`room`: {e}")))
        })
        .transpose()
}

fn other_user(state: &AppState, caller: &Caller, input: &str) -> Result<UserId, ApiError> {
    let user = UserId::parse_with_default(input, state.domain.domain())
        .map_err(|e| ApiError::bad_request("bad-user", format!("`user`: {e}")))?;
    if user == caller.user {
        return Err(ApiError::bad_request(
            "self-consent",
            "a user needs no consent from itself",
        ));
    }
    Ok(user)
}

/// The other user and the room of a grant or revocation.
fn requester_and_room(
    state: &AppState,
    caller: &Caller,
    body: &ConsentBody,
) -> Result<(UserId, Option<RoomId>), ApiError> {
    Ok((
        other_user(state, caller, &body.user)?,
        room(state, body.room.as_deref())?,
    ))
}

/// The caller asks a user of this provider for consent to add it.
pub async fn request(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConsentBody>,
) -> Result<(StatusCode, Json<ConsentView>), ApiError> {
    let target = local_user(&state, "user", &body.user)?;
    let target = other_user(&state, &caller, target.as_str())?;
    let room = room(&state, body.room.as_deref())?;
    state
        .store
        .request_consent(&target, &caller.user, room.as_ref())
        .await?;
    let granted = state
        .store
        .has_consent(&target, &caller.user, room.as_ref())
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ConsentView {
            user: target.to_string(),
            room: room.map(|r| r.to_string()),
            granted,
        }),
    ))
}

/// The caller lets a user add it (to the room, or any room).
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConsentBody>,
) -> Result<StatusCode, ApiError> {
    let (requester, room) = requester_and_room(&state, &caller, &body)?;
    state
        .store
        .grant_consent(&caller.user, &requester, room.as_ref())
        .await?;
    tracing::info!(target = %caller.user, %requester, "consent granted");
    Ok(StatusCode::NO_CONTENT)
}

/// The caller withdraws a grant, or refuses a request.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConsentBody>,
) -> Result<StatusCode, ApiError> {
    let (requester, room) = requester_and_room(&state, &caller, &body)?;
    if !state
        .store
        .revoke_consent(&caller.user, &requester, room.as_ref())
        .await?
    {
        return Err(ApiError::not_found(format!(
            "{requester} has neither asked for nor been given consent{}",
            room.map(|r| format!(" for {r}")).unwrap_or_default()
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// What the caller was asked and has granted.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Consents>, ApiError> {
    let consents = state
        .store
        .consents(&caller.user)
        .await?
        .into_iter()
        .map(|c| ConsentView {
            user: c.requester.to_string(),
            room: c.room.map(|r| r.to_string()),
            granted: c.granted,
        })
        .collect();
    Ok(Json(Consents { consents }))
}

/// Whether `requester` may claim `target`'s KeyPackages (for `room`): itself, or with the
/// target's consent.
pub async fn may_claim(
    state: &AppState,
    requester: &UserId,
    target: &UserId,
    room: Option<&RoomId>,
) -> Result<(), ApiError> {
    if requester == target || state.store.has_consent(target, requester, room).await? {
        return Ok(());
    }
    Err(ApiError::forbidden(
        "consent-required",
        format!(
            "{target} has not let {requester} add them{}; ask first (POST /v1/consent/request)",
            room.map(|r| format!(" to {r}")).unwrap_or_default()
        ),
    ))
}
