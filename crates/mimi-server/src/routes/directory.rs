//! `GET /v1/directory`: the discoverable rooms.

use axum::Json;
use axum::extract::State;
use mimi_store::prelude::*;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use mimi_api::{Directory, Listed};

/// The discoverable rooms, without their secrets (password, join links); hidden rooms are
/// never listed.
#[utoipa::path(get, path = "/v1/directory", tag = "rooms", security(("bearer" = [])), responses((status = 200, description = "the discoverable rooms", body = Directory), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn directory(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Directory>, ApiError> {
    let rooms = state
        .store
        .directory()
        .await?
        .into_iter()
        .map(|e| {
            let mut document: serde_json::Value =
                serde_json::from_str(&e.document).unwrap_or(serde_json::Value::Null);
            super::room_document::hide_secrets(&mut document);
            Listed {
                room: e.id.to_string(),
                document,
            }
        })
        .collect();
    Ok(Json(Directory { rooms }))
}
