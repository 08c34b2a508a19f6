//! The client API. Handlers extract, call the store or the hub, and map the result.

pub mod accounts;
pub mod attachments;
pub mod consent;
pub mod create_room;
pub mod destroy;
pub mod directory;
pub mod events;
pub mod group_info;
pub mod handshakes;
pub mod key_packages;
pub mod knocks;
pub mod messages;
pub mod provider;
pub mod reports;
pub mod room_document;
pub mod suggest;
pub mod sync;
pub mod vacate;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine as _;
use mimi_policy::Room;
use mimi_policy::id::{RoomId, UserId};
use mimi_store::prelude::*;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body whose every rejection is an [`ApiError`].
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_error(&rejection)),
        }
    }
}

/// Path parameters whose every rejection is an [`ApiError`] (`bad-path`).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Self(v))
            .map_err(|r| ApiError::bad_request("bad-path", r.body_text()))
    }
}

/// A query string whose every rejection is an [`ApiError`] (`bad-query`).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|r| ApiError::bad_request("bad-query", r.body_text()))
    }
}

fn json_error(rejection: &JsonRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::TooLarge("the request body is too large".into());
    }
    let code = match rejection {
        JsonRejection::MissingJsonContentType(_) => "bad-content-type",
        _ => "bad-json",
    };
    ApiError::Request {
        status: if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        },
        code,
        message: rejection.body_text(),
    }
}

/// Decodes a base64 field.
pub fn b64(field: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|e| ApiError::bad_request("bad-base64", format!("`{field}` is not base64: {e}")))
}

/// Encodes bytes for a JSON field.
pub fn to_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A user named by bare name (on this provider), `name@domain` or `mimi://domain/u/name`,
/// of this provider (its name in the provider's form) or another.
pub fn any_user(state: &AppState, field: &str, input: &str) -> Result<UserId, ApiError> {
    let user = UserId::parse_with_default(input, state.domain.domain())
        .map_err(|e| ApiError::bad_request("bad-user", format!("`{field}`: {e}")))?;
    if user.domain() == state.domain.domain() {
        return local_user(state, field, user.as_str());
    }
    if state.peers.is_none() {
        return Err(ApiError::bad_request(
            "foreign-user",
            format!(
                "{user} is not on {}, which does not federate (it has no --peer-ca)",
                state.domain
            ),
        ));
    }
    Ok(user)
}

/// A user named by bare name (on this provider), `name@domain` or `mimi://domain/u/name`,
/// which must be on this provider.
pub fn local_user(state: &AppState, field: &str, input: &str) -> Result<UserId, ApiError> {
    let user = UserId::parse_with_default(input, state.domain.domain())
        .map_err(|e| ApiError::bad_request("bad-user", format!("`{field}`: {e}")))?;
    // The name under the provider's profile (mimi_policy::name): `Alice` is `alice`, a
    // name with invisible characters or mixed scripts names nobody.
    let name = mimi_policy::name::normalize(user.name())
        .map_err(|e| ApiError::bad_request(e.code(), format!("`{field}`: {e}")))?;
    let user = if name == user.name() {
        user
    } else {
        UserId::new(user.domain(), &name)
            .map_err(|e| ApiError::bad_request("bad-user", format!("`{field}`: {e}")))?
    };
    if user.domain() != state.domain.domain() {
        return Err(ApiError::bad_request(
            "foreign-user",
            format!(
                "{user} is not on {}; federation is not built yet",
                state.domain
            ),
        ));
    }
    Ok(user)
}

/// `id` with its name in the provider's form (`mimi_policy::name::normalize_room`: the
/// usual width, NFC), or why the name is refused; `field` names the input for people. The
/// `im:` forms, which carry no `mimi://` name, stay as they are.
pub fn room_in_profile(id: RoomId, field: &str) -> Result<RoomId, ApiError> {
    let Some(given) = id.name() else {
        return Ok(id);
    };
    let name = mimi_policy::name::normalize_room(given)
        .map_err(|e| ApiError::bad_request(e.code(), format!("{field}: {e}")))?;
    if name == given {
        return Ok(id);
    }
    RoomId::new(id.domain(), &name)
        .map_err(|e| ApiError::bad_request("bad-room", format!("{field}: {e}")))
}

/// The room a path names (`{provider}/{room}`), and whether this provider hosts it; a room
/// of another provider only when this one federates.
pub fn room_anywhere(
    state: &AppState,
    provider: &str,
    name: &str,
) -> Result<(RoomId, bool), ApiError> {
    match room_id(state, provider, name) {
        Ok(id) => Ok((id, true)),
        Err(ApiError::NotFound { .. }) if state.peers.is_some() => {
            let id = named_room(provider, name)?;
            Ok((id, false))
        }
        Err(e) => Err(e),
    }
}

/// The room a path names, wherever it is hosted.
fn named_room(provider: &str, name: &str) -> Result<RoomId, ApiError> {
    // An `im:` room (`im:mimi=%23%23HASH@DOMAIN`, a fixed-membership room) is named by its
    // local part as written in its ID; no `mimi://` name holds `=` or `#`.
    let id = if name.starts_with("mimi=") || name.starts_with('#') || name.starts_with("%23") {
        RoomId::parse(&format!("im:{name}@{provider}"))
    } else {
        RoomId::new(provider, name)
    }
    .map_err(|e| ApiError::bad_request("bad-room", format!("not a room ID: {e}")))?;
    room_in_profile(id, "the room")
}

/// The room a path names (`{provider}/{room}`), which this provider must host.
pub fn room_id(state: &AppState, provider: &str, name: &str) -> Result<RoomId, ApiError> {
    let id = named_room(provider, name)?;
    if id.domain() != state.domain.domain() {
        return Err(ApiError::not_found(format!(
            "{id} is not hosted here{}",
            if state.peers.is_some() {
                ""
            } else {
                ", and this provider does not federate (it has no --peer-ca)"
            }
        )));
    }
    Ok(id)
}

/// The room document, as stored beside the room and served by `GET /v1/rooms/...`.
pub fn document(room: &Room) -> String {
    mimi_policy::document::room_to_value(room).to_string()
}

/// Refuses a request about `room` from `user` when the room is hidden from it: then the
/// room does not exist for the user, whatever else the request would have been told.
pub fn visible(room: &Room, id: &RoomId, user: &UserId) -> Result<(), ApiError> {
    if mimi_policy::host::room_visible_to(room, user).is_allowed() {
        Ok(())
    } else {
        Err(ApiError::NoRoom(id.clone()))
    }
}

/// Refuses `user`, a pseudonym, anywhere but the one room it was made for (docs/decisions/
/// 0013): joining, knocking, creating or being added elsewhere would tie what it does there
/// to what it does in its room. Anyone else passes.
pub async fn pseudonym_in_its_room(
    state: &AppState,
    user: &UserId,
    room: Option<&RoomId>,
) -> Result<(), ApiError> {
    if !user.is_pseudonym() {
        return Ok(());
    }
    let own = state.store.pseudonym_room(user).await?;
    if own.is_some() && own.as_ref() == room {
        return Ok(());
    }
    Err(ApiError::forbidden(
        "pseudonym-elsewhere",
        format!("{user} is a pseudonym: it takes part in the one room it was made for"),
    ))
}
