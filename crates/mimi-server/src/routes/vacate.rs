//! `POST /v1/rooms/{provider}/{room}/vacate`: the last member of a persistent room leaves it
//! (the seed's "Persistent vs. Temporary"). MLS has no empty group: the provider keeps the
//! room's name, policy and participant list, and the first one back starts its group again
//! (docs/decisions/0012).

use axum::Json;
use axum::extract::State;
use mimi_policy::operation::Action;
use mimi_policy::{Operation, Room, authorize};
use mimi_store::prelude::*;

use super::{ApiPath, room_id, visible};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use mimi_api::Vacated;

/// Vacates the room when the policy lets the calling device's user (`vacate`: every client
/// in the group is its own and the room is persistent). Its log, members, knocks and
/// undelivered items go; its name, document, policy and participant list stay.
#[utoipa::path(post, path = "/v1/rooms/{provider}/{room}/vacate", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), responses((status = 200, description = "the room is vacant", body = Vacated), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn vacate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
) -> Result<Json<Vacated>, ApiError> {
    let id = room_id(&state, &provider, &name)?;
    let client = caller.device()?.clone();
    // Held to the end: no handshake of this process slips in between decision and write.
    let room = state.room(&id).await?;
    let policy = room.hub.policy();
    let op = Operation {
        actor: state.actor(&client),
        action: Action::Vacate,
    };
    let decision = authorize(policy, &op);
    if !decision.is_allowed() {
        visible(policy, &id, client.user())?;
        return Err(decision.into());
    }
    if !policy.has_client(client.user(), client.name()) {
        return Err(ApiError::bad_request(
            "not-in-room",
            format!("this device is not in {id}; the user's device that is leaves it"),
        ));
    }
    let entries = room.hub.policy_entries();
    let kept = mimi_mls::context::encode_app_data(&entries)?;
    // The directory shows the room as it waits: nobody in it.
    let empty = Room::from_app_data(Some(id.clone()), &entries, Default::default())
        .map_err(|e| ApiError::Unavailable(format!("the policy of {id}: {e}")))?;
    state
        .store
        .vacate_room(&id, room.version, &kept, &super::document(&empty))
        .await?;
    state.forget_room(&id).await;
    drop(room);
    tracing::info!(room = %id, by = %client, "room vacated");
    Ok(Json(Vacated {
        room: id.to_string(),
        vacant: true,
    }))
}

/// The room `id` as it waits, vacant, for the first one back: its kept policy and
/// participant list, no clients. None if it is not vacant.
pub async fn vacant_room(
    state: &AppState,
    id: &mimi_policy::id::RoomId,
) -> Result<Option<(Room, Vec<u8>)>, ApiError> {
    let Some(kept) = state.store.vacant_room(id).await? else {
        return Ok(None);
    };
    let entries = mimi_mls::context::decode_app_data(&kept)?;
    let room = Room::from_app_data(Some(id.clone()), &entries, Default::default())
        .map_err(|e| ApiError::Unavailable(format!("the kept policy of {id}: {e}")))?;
    Ok(Some((room, kept)))
}
