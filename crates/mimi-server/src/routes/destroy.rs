//! `DELETE /v1/rooms/{provider}/{room}`: destroying a room (the seed's last member, or the
//! owning provider's system user), with everything the provider keeps of it.

use axum::Json;
use axum::extract::State;
use mimi_policy::operation::Action;
use mimi_policy::{Actor, Operation, authorize};
use mimi_store::prelude::*;

use super::{ApiPath, room_id, visible};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use mimi_api::Destroyed;

/// Destroys the room when the policy lets the calling device's user (in a seed room: when
/// every client in the group is its own). Its state, log, members, knocks and undelivered
/// Welcomes go; its name is free again.
#[utoipa::path(delete, path = "/v1/rooms/{provider}/{room}", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), responses((status = 200, description = "the room is gone", body = Destroyed), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn destroy(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
) -> Result<Json<Destroyed>, ApiError> {
    let id = room_id(&state, &provider, &name)?;
    let client = caller.device()?.clone();
    // Held to the end: no handshake of this process slips in between decision and delete.
    let room = state.room(&id).await?;
    let policy = room.hub.policy();
    let op = Operation {
        actor: Actor::user(client.user().clone(), Some(client.name())),
        action: Action::Destroy,
    };
    let decision = authorize(policy, &op);
    if !decision.is_allowed() {
        visible(policy, &id, client.user())?;
        return Err(decision.into());
    }
    if !state.store.delete_room(&id).await? {
        return Err(ApiError::NoRoom(id));
    }
    state.forget_room(&id).await;
    drop(room);
    tracing::info!(room = %id, by = %client, "room destroyed");
    Ok(Json(Destroyed {
        room: id.to_string(),
        destroyed: true,
    }))
}
