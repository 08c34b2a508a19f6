//! The knock resource: `POST` and `DELETE /v1/rooms/{provider}/{room}/knock` (the caller
//! knocks, or withdraws its knock) and `DELETE .../knocks/{user}` (a moderator declines one).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mimi_policy::host::knock_answer;
use mimi_policy::id::{RoomId, UserId};
use mimi_policy::operation::Action;
use mimi_policy::{Actor, DenyCode, Operation, authorize};
use mimi_store::prelude::*;

use super::{ApiPath, room_id, visible};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use mimi_api::{Declined, Knocked, Knocks, PendingKnock, Withdrawn};

/// The caller knocks on a room: asks those the room lets accept knocks to add it. The
/// knock is the caller's consent to be added to this room by them; each of their devices
/// hears of it once (`knocks` in `/v1/sync`). A hidden room does not exist for a caller it
/// has no place for, so it takes no knock from one.
#[utoipa::path(post, path = "/v1/rooms/{provider}/{room}/knock", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), responses((status = 202, description = "recorded", body = Knocked), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn knock(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
) -> Result<(StatusCode, Json<Knocked>), ApiError> {
    let (id, hosted) = super::room_anywhere(&state, &provider, &name)?;
    super::pseudonym_in_its_room(&state, &caller.user, Some(&id)).await?;
    let told = if hosted {
        take_knock(&state, &id, &caller.user).await?
    } else {
        // Through the room's provider, which tells those who may let the caller in.
        crate::federation::knocks::relay_knock(&state, &id, &caller.user).await?
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(Knocked {
            room: id.to_string(),
            user: caller.user.to_string(),
            told,
        }),
    ))
}

/// Takes `user`'s knock on room `id`, hosted here (`user` of this provider or another):
/// how many users were told of it now.
pub(crate) async fn take_knock(
    state: &AppState,
    id: &RoomId,
    user: &UserId,
) -> Result<usize, ApiError> {
    let moderators = {
        let room = state.room(id).await?;
        let policy = room.hub.policy();
        // A hidden room takes no knock from a user it has no place for: to that user it
        // does not exist (its moderators never hear of such a knock).
        visible(policy, id, user)?;
        let decision = authorize(
            policy,
            &Operation {
                actor: Actor::user(user.clone(), None),
                action: Action::Knock,
            },
        );
        if !decision.is_allowed() {
            return Err(decision.into());
        }
        policy
            .clients()
            .keys()
            .filter(|u| knock_answer(policy, u, user).is_allowed())
            .cloned()
            .collect::<Vec<UserId>>()
    };
    let new = if user.domain() == state.domain.domain() {
        state.store.knock(id, user, &moderators).await?
    } else {
        state.store.peer_knock(id, user, &moderators).await?
    };
    if new {
        state.wakes.users(&moderators);
    }
    tracing::info!(room = %id, %user, "knock");
    // Those of this provider hear of it (those of others are not told yet).
    let told = moderators
        .iter()
        .filter(|m| m.domain() == state.domain.domain())
        .count();
    Ok(if new { told } else { 0 })
}

/// The pending knocks on a room that the caller may answer (accept by adding the knocker,
/// or decline), oldest first. A hidden room does not exist for a caller it has no place for.
#[utoipa::path(get, path = "/v1/rooms/{provider}/{room}/knocks", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), responses((status = 200, description = "the knocks the caller may answer", body = Knocks), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
) -> Result<Json<Knocks>, ApiError> {
    let id = room_id(&state, &provider, &name)?;
    let pending = state.store.knocks(&id).await?;
    let room = state.room(&id).await?;
    let policy = room.hub.policy();
    visible(policy, &id, &caller.user)?;
    let knocks = pending
        .into_iter()
        .filter(|(knocker, _)| knock_answer(policy, &caller.user, knocker).is_allowed())
        .map(|(knocker, since)| PendingKnock {
            user: knocker.to_string(),
            since,
        })
        .collect();
    Ok(Json(Knocks {
        room: id.to_string(),
        knocks,
    }))
}

/// `404 no-knock`: `user` has no pending knock on `room`.
fn no_knock(user: &UserId, room: &RoomId) -> ApiError {
    ApiError::NotFound {
        code: "no-knock",
        message: format!("{user} has no pending knock on {room}"),
    }
}

/// Withdraws the caller's pending knock on a room: it no longer lets anyone add the caller
/// without consent, and moderators' devices that have not yet heard of it never will.
/// `404 no-knock` when there is none.
#[utoipa::path(delete, path = "/v1/rooms/{provider}/{room}/knock", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), responses((status = 200, description = "withdrawn", body = Withdrawn), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
) -> Result<Json<Withdrawn>, ApiError> {
    let (id, hosted) = super::room_anywhere(&state, &provider, &name)?;
    if !hosted {
        crate::federation::knocks::relay_withdraw(&state, &id, &caller.user).await?;
    } else if !state.store.withdraw_knock(&id, &caller.user).await? {
        return Err(no_knock(&caller.user, &id));
    }
    tracing::info!(room = %id, user = %caller.user, "knock withdrawn");
    Ok(Json(Withdrawn {
        room: id.to_string(),
        user: caller.user.to_string(),
        withdrawn: true,
    }))
}

/// Declines `user`'s pending knock on a room, for a caller the room lets answer it: the
/// knock no longer lets anyone add the user without consent, and devices that have not yet
/// heard of it never will. The user may knock again (a moderator who wants it kept out
/// bans it). `404 no-knock` when there is none.
#[utoipa::path(delete, path = "/v1/rooms/{provider}/{room}/knocks/{user}", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name"), ("user" = String, Path, description = "the knocker")), responses((status = 200, description = "declined", body = Declined), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name, user)): ApiPath<(String, String, String)>,
) -> Result<Json<Declined>, ApiError> {
    let id = room_id(&state, &provider, &name)?;
    let knocker = super::any_user(&state, "user", &user)?;
    {
        let room = state.room(&id).await?;
        let policy = room.hub.policy();
        let decision = knock_answer(policy, &caller.user, &knocker);
        if !decision.is_allowed() {
            visible(policy, &id, &caller.user)?;
            // A knocker banned or already in the room has no knock left: the change that
            // put it there answered it.
            if matches!(
                decision.deny_code(),
                Some(DenyCode::Banned | DenyCode::NoChange)
            ) {
                return Err(no_knock(&knocker, &id));
            }
            return Err(decision.into());
        }
    }
    if !state.store.withdraw_knock(&id, &knocker).await? {
        return Err(no_knock(&knocker, &id));
    }
    tracing::info!(room = %id, user = %knocker, by = %caller.user, "knock declined");
    Ok(Json(Declined {
        room: id.to_string(),
        user: knocker.to_string(),
        declined: true,
    }))
}
