//! `GET /v1/directory`: the discoverable rooms.

use axum::Json;
use axum::extract::State;
use mimi_store::Store as _;
use serde::Serialize;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// One room of the directory.
#[derive(Serialize)]
pub struct Listed {
    room: String,
    document: serde_json::Value,
}

/// The directory.
#[derive(Serialize)]
pub struct Directory {
    rooms: Vec<Listed>,
}

/// The discoverable rooms; hidden rooms are never listed.
pub async fn directory(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Directory>, ApiError> {
    let rooms = state
        .store
        .directory()
        .await?
        .into_iter()
        .map(|e| Listed {
            room: e.id.to_string(),
            document: serde_json::from_str(&e.document).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(Json(Directory { rooms }))
}
