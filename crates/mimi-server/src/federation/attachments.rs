//! A room's document and its attachments, for users of other providers (mimi's own
//! endpoints; the draft's `proxyDownload` fetches assets by URL, which mimi's attachments
//! do not need). A follower's user reads a room of another provider through its own, which
//! relays to the room's hub (`x-roomDocument`), and uploads or fetches the room's
//! attachments the same way (`x-attachment`, the body uploaded, or the attachment named in
//! `Mimi-Attachment`). The hub decides as for its own users: the document as the user may
//! see it, attachments for members only.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mimi_policy::id::{ClientId, RoomId, UserId};

use super::Peer;
use super::knocks::{MIMI_USER, peer_user};
use super::rooms::{MIMI_CLIENT, header_text, header_value, hosted, peer_client, refusal};
use crate::error::ApiError;
use crate::state::AppState;

/// The attachment a fetch names.
pub const MIMI_ATTACHMENT: &str = "mimi-attachment";

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(header_text)
}

/// `POST /mimi/v1/x-roomDocument/{roomId}`: the room's document for a peer's user
/// (`Mimi-User`), as that user may see it.
pub async fn room_document(
    State(state): State<AppState>,
    peer: Peer,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = peer_user(&peer, &headers)?;
    let id = hosted(&state, &room)?;
    crate::routes::room_document::document_for(&state, &id, &user).await
}

/// `POST /mimi/v1/x-attachment/{roomId}`: a peer's member device (`Mimi-Client`) uploads
/// an attachment (the body), or a peer's member (`Mimi-User`) fetches the one
/// `Mimi-Attachment` names.
pub async fn attachment(
    State(state): State<AppState>,
    peer: Peer,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = hosted(&state, &room)?;
    if let Some(blob) = header(&headers, MIMI_ATTACHMENT) {
        let user = peer_user(&peer, &headers)?;
        let data = crate::routes::attachments::stored(&state, &id, &user, &blob).await?;
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            data,
        )
            .into_response());
    }
    let client = peer_client(&peer, &headers)?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "empty-attachment",
            "an attachment has at least one byte",
        ));
    }
    let kept = crate::routes::attachments::keep(&state, &id, &client, &body).await?;
    Ok((StatusCode::CREATED, Json(kept)).into_response())
}

/// The document of room `id` of another provider, for `user`, from the room's hub.
pub async fn relay_room_document(
    state: &AppState,
    id: &RoomId,
    user: &UserId,
) -> Result<serde_json::Value, ApiError> {
    let domain = id.domain();
    let (status, headers, body) = super::peers(state, "foreign-room")?
        .post_with(
            domain,
            |d| d.x_room_document.as_deref().unwrap_or_default(),
            id.as_str(),
            &[(MIMI_USER, header_value(user.as_str()))],
            Vec::new(),
        )
        .await?;
    if status != 200 {
        return Err(refusal(domain, status, &headers, &body, "x-roomDocument"));
    }
    serde_json::from_slice(&body).map_err(|e| {
        refusal(
            domain,
            502,
            &headers,
            e.to_string().as_bytes(),
            "x-roomDocument",
        )
    })
}

/// `client`'s attachment for room `id` of another provider, kept by the room's hub.
pub async fn relay_upload(
    state: &AppState,
    id: &RoomId,
    client: &ClientId,
    body: Vec<u8>,
) -> Result<mimi_api::Uploaded, ApiError> {
    let domain = id.domain();
    let (status, headers, answer) = super::peers(state, "foreign-room")?
        .post_with(
            domain,
            |d| d.x_attachment.as_deref().unwrap_or_default(),
            id.as_str(),
            &[(MIMI_CLIENT, header_value(&client.to_string()))],
            body,
        )
        .await?;
    if status != 201 {
        return Err(refusal(domain, status, &headers, &answer, "x-attachment"));
    }
    let kept: mimi_api::Uploaded = serde_json::from_slice(&answer)
        .map_err(|_| refusal(domain, 502, &headers, &[], "x-attachment"))?;
    // The ID names the attachment in this provider's paths too: it must be one.
    if kept.id.is_empty()
        || !kept
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(refusal(domain, 502, &headers, &[], "x-attachment"));
    }
    Ok(kept)
}

/// Attachment `blob` of room `id` of another provider, for `user`, from the room's hub.
pub async fn relay_download(
    state: &AppState,
    id: &RoomId,
    user: &UserId,
    blob: &str,
) -> Result<Vec<u8>, ApiError> {
    let domain = id.domain();
    let (status, headers, body) = super::peers(state, "foreign-room")?
        .post_with(
            domain,
            |d| d.x_attachment.as_deref().unwrap_or_default(),
            id.as_str(),
            &[
                (MIMI_USER, header_value(user.as_str())),
                (MIMI_ATTACHMENT, header_value(blob)),
            ],
            Vec::new(),
        )
        .await?;
    if status != 200 {
        return Err(refusal(domain, status, &headers, &body, "x-attachment"));
    }
    Ok(body)
}
