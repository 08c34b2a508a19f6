//! `GET /v1/rooms/{provider}/{room}` (and the seed draft's `GET /room/{provider}/{room}`):
//! the room document.

use axum::Json;
use axum::extract::State;
use mimi_policy::host::document_visible_to;

use super::ApiPath;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The room document, as `mimi policy check` reads it, to those the room shows it to
/// (`mimi_policy::host::document_visible_to`); to anyone else the room does not exist. Only
/// a user with a client in the room sees its password and join links.
#[utoipa::path(get, path = "/v1/rooms/{provider}/{room}", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), responses((status = 200, description = "the room document", body = Object), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (id, hosted) = super::room_anywhere(&state, &provider, &name)?;
    if !hosted {
        return crate::federation::attachments::relay_room_document(&state, &id, &caller.user)
            .await
            .map(Json);
    }
    document_for(&state, &id, &caller.user).await
}

/// The document of room `id`, hosted here, as `user` may see it.
pub(crate) async fn document_for(
    state: &AppState,
    id: &mimi_policy::id::RoomId,
    user: &mimi_policy::id::UserId,
) -> Result<Json<serde_json::Value>, ApiError> {
    let room = match state.room(id).await {
        Ok(room) => room,
        Err(ApiError::NoRoom(gone)) => {
            // A vacant persistent room shows the document it keeps, with nobody in it.
            let Some((vacant, _)) = super::vacate::vacant_room(state, id).await? else {
                return Err(ApiError::NoRoom(gone));
            };
            return visible_document(&vacant, id, user);
        }
        Err(e) => return Err(e),
    };
    visible_document(room.hub.policy(), id, user)
}

/// `policy`'s document as `user` may see it: not at all, or without the secrets unless the
/// user has a client in the room.
fn visible_document(
    policy: &mimi_policy::Room,
    id: &mimi_policy::id::RoomId,
    user: &mimi_policy::id::UserId,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !document_visible_to(policy, user).is_allowed() {
        return Err(ApiError::NoRoom(id.clone()));
    }
    let mut doc = mimi_policy::document::room_to_value(policy);
    if !policy.clients().contains_key(user) {
        hide_secrets(&mut doc);
    }
    Ok(Json(doc))
}

/// Takes a room document's secrets out: the room's secrets are its members' alone, so a
/// discoverable room shows its document to anyone, but not the password or the join links
/// that let people in.
pub fn hide_secrets(doc: &mut serde_json::Value) {
    if let Some(p) = doc.get_mut("policy").and_then(|p| p.as_object_mut()) {
        p.remove("password");
        p.remove("join-links");
    }
}

/// The room document at the seed draft's own address ("Example Use").
#[utoipa::path(get, path = "/room/{provider}/{room}", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), responses((status = 200, description = "the room document", body = Object), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn show_seed(
    state: State<AppState>,
    caller: Caller,
    path: ApiPath<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    show(state, caller, path).await
}
