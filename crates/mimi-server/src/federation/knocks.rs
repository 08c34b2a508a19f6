//! Knocks across providers (mimi's own endpoints: the draft leaves knocks unspecified,
//! decision 0015). A user knocks through its provider, which relays to the room's hub
//! (`x-knock`, the user in `Mimi-User`) and records the knock itself: the hub then tells
//! those who may let the user in, and when one adds it, the hub asks the knocker's provider
//! for its KeyPackages (`keyMaterial`), which hands them to the room's hub's users for a
//! room its user knocked on, as it would under consent. The Welcome ends the knock there.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mimi_policy::id::{RoomId, UserId};
use mimi_store::prelude::*;

use super::Peer;
use super::rooms::{header_text, header_value, hosted, refusal};
use crate::error::ApiError;
use crate::state::AppState;

/// The user a request is for (a knocker, a reader), a user of the requesting provider.
pub const MIMI_USER: &str = "mimi-user";
/// How many users the hub told of a knock now.
pub const MIMI_TOLD: &str = "mimi-told";

/// The user of `peer` a request names in `Mimi-User`.
pub(crate) fn peer_user(peer: &Peer, headers: &HeaderMap) -> Result<UserId, ApiError> {
    let user = headers
        .get(MIMI_USER)
        .and_then(|v| v.to_str().ok())
        .and_then(header_text)
        .ok_or_else(|| ApiError::bad_request("bad-message", "name the user in Mimi-User"))?;
    peer.user("Mimi-User", &user)
}

/// `POST /mimi/v1/x-knock/{roomId}`: a peer's user knocks on a room hosted here.
pub async fn knock(
    State(state): State<AppState>,
    peer: Peer,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = peer_user(&peer, &headers)?;
    let id = hosted(&state, &room)?;
    let told = crate::routes::knocks::take_knock(&state, &id, &user).await?;
    let mut answer = StatusCode::CREATED.into_response();
    answer
        .headers_mut()
        .insert(MIMI_TOLD, HeaderValue::from(told));
    Ok(answer)
}

/// `POST /mimi/v1/x-withdrawKnock/{roomId}`: a peer's user withdraws its knock.
pub async fn withdraw(
    State(state): State<AppState>,
    peer: Peer,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let user = peer_user(&peer, &headers)?;
    let id = hosted(&state, &room)?;
    if !state.store.withdraw_knock(&id, &user).await? {
        return Err(ApiError::not_found(format!(
            "{user} has not knocked on {id}"
        )));
    }
    Ok(StatusCode::CREATED)
}

/// `user` knocks on room `id` of another provider: relayed, and recorded here so that the
/// room's hub may claim the user's KeyPackages to let it in. How many the hub told.
pub async fn relay_knock(state: &AppState, id: &RoomId, user: &UserId) -> Result<usize, ApiError> {
    let domain = id.domain();
    let (status, headers, body) = super::peers(state, "foreign-room")?
        .post_with(
            domain,
            |d| d.x_knock.as_deref().unwrap_or_default(),
            id.as_str(),
            &[(MIMI_USER, header_value(user.as_str()))],
            Vec::new(),
        )
        .await?;
    if status != 201 {
        return Err(refusal(domain, status, &headers, &body, "x-knock"));
    }
    state.store.peer_knock(id, user, &[]).await?;
    Ok(headers
        .get(MIMI_TOLD)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_default())
}

/// `user` withdraws its knock on room `id` of another provider, there and here.
pub async fn relay_withdraw(state: &AppState, id: &RoomId, user: &UserId) -> Result<(), ApiError> {
    let domain = id.domain();
    let (status, headers, body) = super::peers(state, "foreign-room")?
        .post_with(
            domain,
            |d| d.x_withdraw_knock.as_deref().unwrap_or_default(),
            id.as_str(),
            &[(MIMI_USER, header_value(user.as_str()))],
            Vec::new(),
        )
        .await?;
    state.store.withdraw_knock(id, user).await?;
    if status != 201 {
        return Err(refusal(domain, status, &headers, &body, "x-withdrawKnock"));
    }
    Ok(())
}
