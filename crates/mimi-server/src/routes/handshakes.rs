//! `POST /v1/rooms/{provider}/{room}/commits` and `.../proposals`: handshakes, taken by the
//! one path every room change follows (`crate::handshake`).

use axum::Json;
use axum::extract::State;

use super::{ApiJson, ApiPath, b64, room_anywhere};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::handshake::{Stored, Submitted, submit};
use crate::state::AppState;
use mimi_api::{Commit, Handshake, Proposal};

async fn take(
    state: &AppState,
    caller: &Caller,
    provider: &str,
    name: &str,
    submitted: Result<Submitted, ApiError>,
) -> Result<Json<Handshake>, ApiError> {
    let (id, hosted) = room_anywhere(state, provider, name)?;
    let client = caller.device()?;
    let submitted = submitted?;
    if !hosted {
        // The room's hub decides; this provider relays.
        let Stored { epoch, seq } =
            crate::federation::rooms::relay_handshake(state, &id, client, &submitted).await?;
        return Ok(Json(Handshake { epoch, seq }));
    }
    // Counted from here: what the hub and the provider decided.
    let result = submit(state, &id, client, &submitted).await;
    state.metrics.handshake(match &result {
        Ok(_) => "accepted",
        Err(e) => e.metric_code(),
    });
    let Stored { epoch, seq } = result?;
    Ok(Json(Handshake { epoch, seq }))
}

/// Submits a commit with the GroupInfo of its new epoch (and a Welcome for added clients).
#[utoipa::path(post, path = "/v1/rooms/{provider}/{room}/commits", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), request_body = Commit, responses((status = 200, description = "accepted and stored", body = Handshake), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn commit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Commit>,
) -> Result<Json<Handshake>, ApiError> {
    let submitted = (|| {
        Ok(Submitted {
            message: b64("commit", &body.commit)?,
            group_info: Some(b64("group_info", &body.group_info)?),
            welcome: body
                .welcome
                .as_deref()
                .map(|w| b64("welcome", w))
                .transpose()?,
        })
    })();
    take(&state, &caller, &provider, &name, submitted).await
}

/// Submits a standalone proposal (SelfRemove, Remove, Update, participant-list update).
#[utoipa::path(post, path = "/v1/rooms/{provider}/{room}/proposals", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), request_body = Proposal, responses((status = 200, description = "accepted and stored", body = Handshake), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn proposal(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Proposal>,
) -> Result<Json<Handshake>, ApiError> {
    let submitted = b64("proposal", &body.proposal).map(|message| Submitted {
        message,
        group_info: None,
        welcome: None,
    });
    take(&state, &caller, &provider, &name, submitted).await
}
