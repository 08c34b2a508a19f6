//! `POST /v1/rooms/{provider}/{room}/attachments` and `GET .../attachments/{id}`: what a
//! member uploads for its room (encrypted by the sender: the provider keeps ciphertext it
//! cannot read), served to the room's members only.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use mimi_store::prelude::*;

use super::{ApiPath, visible};
use crate::auth::{Caller, new_token};
use crate::error::ApiError;
use crate::state::AppState;
use mimi_api::Uploaded;

/// Largest attachment, in bytes: the request body limit.
pub const MAX_ATTACHMENT: usize = crate::MAX_BODY;

/// Most bytes of attachments one room holds.
pub const ROOM_QUOTA: u64 = 256 * 1024 * 1024;

/// Refuses `caller` unless its user has a client in the room (a hidden room does not exist
/// for others).
pub(crate) async fn member(
    state: &AppState,
    id: &mimi_policy::id::RoomId,
    user: &mimi_policy::id::UserId,
) -> Result<(), ApiError> {
    let room = state.room(id).await?;
    let policy = room.hub.policy();
    if policy.clients().contains_key(user) {
        return Ok(());
    }
    visible(policy, id, user)?;
    Err(ApiError::forbidden(
        "not-in-room",
        format!("attachments of {id} are for its members"),
    ))
}

/// Keeps an attachment (the body, as it is) for the room; for a device of a member.
#[utoipa::path(post, path = "/v1/rooms/{provider}/{room}/attachments", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the attachment, encrypted by the sender"), responses((status = 201, description = "kept", body = Uploaded), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!("an attachment is at most {MAX_ATTACHMENT} bytes"))
        } else {
            ApiError::bad_request("bad-body", r.body_text())
        }
    })?;
    let (id, hosted) = super::room_anywhere(&state, &provider, &name)?;
    let client = caller.device()?.clone();
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "empty-attachment",
            "an attachment has at least one byte",
        ));
    }
    if !hosted {
        // Kept by the room's provider, for all its members.
        let kept =
            crate::federation::attachments::relay_upload(&state, &id, &client, body.to_vec())
                .await?;
        return Ok((StatusCode::CREATED, Json(kept)));
    }
    let kept = keep(&state, &id, &client, &body).await?;
    Ok((StatusCode::CREATED, Json(kept)))
}

/// Keeps `client`'s attachment for room `id`, hosted here, if its user is a member.
pub(crate) async fn keep(
    state: &AppState,
    id: &mimi_policy::id::RoomId,
    client: &mimi_policy::id::ClientId,
    body: &[u8],
) -> Result<Uploaded, ApiError> {
    member(state, id, client.user()).await?;
    // 256 random bits: the attachment's name says nothing and cannot be guessed.
    let (blob, _) = new_token();
    if !state
        .store
        .put_blob(id, &blob, client, body, ROOM_QUOTA)
        .await?
    {
        return Err(ApiError::Request {
            status: StatusCode::INSUFFICIENT_STORAGE,
            code: "attachments-full",
            message: format!(
                "{id} holds {} MiB of attachments, its most",
                ROOM_QUOTA / (1024 * 1024)
            ),
        });
    }
    Ok(Uploaded {
        id: blob,
        size: u64::try_from(body.len()).unwrap_or(u64::MAX),
    })
}

/// An attachment of the room, for its members.
#[utoipa::path(get, path = "/v1/rooms/{provider}/{room}/attachments/{id}", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name"), ("id" = String, Path, description = "the attachment")), responses((status = 200, description = "the attachment's bytes", content_type = "application/octet-stream", body = Vec<u8>), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name, blob)): ApiPath<(String, String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let (id, hosted) = super::room_anywhere(&state, &provider, &name)?;
    let data = if hosted {
        stored(&state, &id, &caller.user, &blob).await?
    } else {
        crate::federation::attachments::relay_download(&state, &id, &caller.user, &blob).await?
    };
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], data))
}

/// Attachment `blob` of room `id`, hosted here, for `user`, a member.
pub(crate) async fn stored(
    state: &AppState,
    id: &mimi_policy::id::RoomId,
    user: &mimi_policy::id::UserId,
    blob: &str,
) -> Result<Vec<u8>, ApiError> {
    member(state, id, user).await?;
    state
        .store
        .blob(id, blob)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no such attachment in {id}")))
}
