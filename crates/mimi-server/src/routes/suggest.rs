//! `POST /v1/rooms/{provider}/{room}/suggest`: a member suggests the room to a user.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mimi_policy::{Decision, DenyCode};
use mimi_store::prelude::*;

use super::{ApiJson, ApiPath, local_user, room_id, visible};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use mimi_api::{Suggest, Suggested};

/// A member suggests the room to a user (the seed: "a member suggests the room"), who then
/// joins or knocks as the room lets it: each of the user's devices hears of it once
/// (`suggestions` in `/v1/sync`). Counted against the suggester's consent-request limits;
/// the answer is the same whether the user exists.
#[utoipa::path(post, path = "/v1/rooms/{provider}/{room}/suggest", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), request_body = Suggest, responses((status = 202, description = "told", body = Suggested), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn suggest(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Suggest>,
) -> Result<(StatusCode, Json<Suggested>), ApiError> {
    let id = room_id(&state, &provider, &name)?;
    let target = local_user(&state, "user", &body.user)?;
    let target = super::consent::other_user(&state, &caller, target.as_str())?;
    {
        let room = state.room(&id).await?;
        let policy = room.hub.policy();
        visible(policy, &id, &caller.user)?;
        // Only someone in the room speaks for it.
        if !policy.clients().contains_key(&caller.user) {
            return Err(Decision::deny(DenyCode::NotInRoom, mimi_policy::rule::MIMI_VALID).into());
        }
    }
    state
        .limits
        .consent_request(caller.user.as_str(), target.as_str())?;
    state.store.suggest_room(&target, &caller.user, &id).await?;
    state.wakes.users([&target]);
    tracing::info!(room = %id, user = %caller.user, "suggestion");
    Ok((
        StatusCode::ACCEPTED,
        Json(Suggested {
            room: id.to_string(),
            user: target.to_string(),
        }),
    ))
}
