//! `GET /v1/rooms/{provider}/{room}` (and the seed draft's `GET /room/{provider}/{room}`):
//! the room document.

use axum::Json;
use axum::extract::State;
use mimi_policy::host::document_visible_to;

use super::{ApiPath, room_id};
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
    let id = room_id(&state, &provider, &name)?;
    let room = state.room(&id).await?;
    let policy = room.hub.policy();
    if !document_visible_to(policy, &caller.user).is_allowed() {
        return Err(ApiError::NoRoom(id));
    }
    let mut doc = mimi_policy::document::room_to_value(policy);
    if !policy.clients().contains_key(&caller.user) {
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
