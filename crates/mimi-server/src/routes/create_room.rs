//! `POST /v1/rooms`: a new room, from its creator's new group.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mimi_policy::host::create_hosted_room;
use mimi_policy::{DenyCode, rule};
use mimi_store::NewRoom;
use mimi_store::prelude::*;

use super::{ApiJson, b64, document};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use mimi_api::{CreateRoom, RoomCreated};

/// Hosts a new room: the group must name this provider as external sender and carry a
/// valid policy under which this provider hosts it and the caller's device, alone in the
/// group, creates it (`mimi_policy::host::create_hosted_room`).
#[utoipa::path(post, path = "/v1/rooms", tag = "rooms", security(("bearer" = [])), request_body = CreateRoom, responses((status = 201, description = "hosted", body = RoomCreated), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateRoom>,
) -> Result<impl IntoResponse, ApiError> {
    let client = caller.device()?.clone();
    let gi = b64("group_info", &body.group_info)?;
    let tree = b64("ratchet_tree", &body.ratchet_tree)?;
    let hosted = if body.refound.is_some() {
        state.hub.load_refounded_room(&gi, &tree)?
    } else {
        state.hub.load_room(&gi, &tree)?
    };
    let room = hosted.policy();
    let id = room
        .id
        .clone()
        .ok_or_else(|| ApiError::bad_request("invalid-policy", "the room has no ID"))?;
    // The name is the group's, fixed: it must already be in the profile's form.
    let normal = super::room_in_profile(id.clone(), "the room's name")?;
    if normal != id {
        return Err(ApiError::bad_request(
            "bad-name",
            format!("{id} is written {normal} on this provider"),
        ));
    }
    super::pseudonym_in_its_room(&state, &caller.user, Some(&id)).await?;
    // The first one back into a vacant persistent room starts its group again.
    if let Some(join) = &body.refound {
        return refound(&state, &caller, &client, hosted, id, join).await;
    }
    let decision = create_hosted_room(room, &client, &state.domain);
    if !decision.is_allowed() {
        let here = &state.domain;
        let message = match decision.deny_code() {
            Some(DenyCode::ForeignRoom) => Some(format!("{id} is not a room of {here}")),
            Some(DenyCode::InvalidPolicy) if decision.rule() == rule::MIMI_HOST => Some(format!(
                "a room hosted by {here} must name mimi://{}/u/system as owning system",
                here.domain()
            )),
            Some(DenyCode::NotCreator) => {
                Some("a new room's group holds only the creating device".to_owned())
            }
            _ => None,
        };
        return Err(match message {
            Some(message) => ApiError::denied(decision, message),
            None => decision.into(),
        });
    }
    // A name that looks like another room's is refused (TR39 skeletons). The other room is
    // not named: it may be hidden from the creator. A hidden room's tag is part of its name,
    // so no look-alike of it can be guessed either (docs/decisions/0009).
    let skeleton = id.name().map(mimi_policy::name::skeleton);
    if let Some(skeleton) = &skeleton
        && let Some(other) = state.store.room_with_skeleton(skeleton).await?
        && other != id
    {
        return Err(ApiError::Conflict {
            code: "confusable-name",
            message: format!("{id} looks like the name of another room; choose another name"),
        });
    }
    let new = new_room(&hosted, &id, client, skeleton)?;
    state.store.create_room(&new).await?;
    // The creator's streams watch the room from now on.
    state.wakes.users([&caller.user]);
    tracing::info!(room = %id, creator = %caller.user, "room created");
    Ok((
        StatusCode::CREATED,
        Json(RoomCreated {
            room: id.to_string(),
            epoch: new.epoch,
        }),
    ))
}

/// Takes the new group of a vacant persistent room's first one back: it must be exactly the
/// kept room with the founder's join, decided as any external join into it would be
/// (`mimi_policy::host::refound_vacant_room`), presenting `join`'s link and password.
async fn refound(
    state: &AppState,
    caller: &Caller,
    client: &mimi_policy::id::ClientId,
    hosted: mimi_mls::hub::HubRoom,
    id: mimi_policy::id::RoomId,
    join: &mimi_api::JoinInfo,
) -> Result<(StatusCode, Json<RoomCreated>), ApiError> {
    let Some((vacant, kept)) = super::vacate::vacant_room(state, &id).await? else {
        return Err(ApiError::Conflict {
            code: "not-vacant",
            message: format!("{id} is not vacant: join it as any room"),
        });
    };
    let link =
        (join.link.is_some() || join.password.is_some()).then(|| mimi_policy::operation::Link {
            issued_by: None,
            code: join.link.clone(),
            password: join.password.clone(),
            expired: false,
            uses: 0,
            max_uses: None,
        });
    // Let in as any joiner is, by the hub's clock and counting a limited link's use: the
    // kept policy never changes while the room is vacant, so what the client fetched
    // earlier proves nothing now.
    super::group_info::admit(state, &id, &vacant, client, link.clone()).await?;
    let decision = mimi_policy::host::refound_vacant_room(
        &vacant,
        hosted.policy(),
        client,
        &state.actor(client),
        link,
        &state.domain,
    );
    if !decision.is_allowed() {
        super::visible(&vacant, &id, client.user())?;
        return Err(decision.into());
    }
    let new = new_room(
        &hosted,
        &id,
        client.clone(),
        id.name().map(mimi_policy::name::skeleton),
    )?;
    // Only on the policy it was decided on: not one vacated again since.
    state
        .store
        .refound_room(&new, &kept)
        .await
        .map_err(|e| match e {
            mimi_store::StoreError::Conflict(_) => ApiError::Conflict {
                code: "not-vacant",
                message: format!("someone came back into {id} first: join it as any room"),
            },
            other => other.into(),
        })?;
    state.forget_room(&id).await;
    state.wakes.users([&caller.user]);
    tracing::info!(room = %id, founder = %caller.user, "vacant room started again");
    Ok((
        StatusCode::CREATED,
        Json(RoomCreated {
            room: id.to_string(),
            epoch: new.epoch,
        }),
    ))
}

/// The record of a room hosted from `hosted`, with `creator`'s client in it.
fn new_room(
    hosted: &mimi_mls::hub::HubRoom,
    id: &mimi_policy::id::RoomId,
    creator: mimi_policy::id::ClientId,
    skeleton: Option<String>,
) -> Result<NewRoom, ApiError> {
    let room = hosted.policy();
    Ok(NewRoom {
        id: id.clone(),
        epoch: hosted.epoch(),
        snapshot: hosted.snapshot()?,
        document: document(room),
        discoverable: room.components().base.discoverable.0,
        members: vec![creator],
        skeleton,
    })
}
