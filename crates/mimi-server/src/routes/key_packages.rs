//! KeyPackages: a device uploads its own (checked as the MLS overlay checks them), anyone
//! with an account claims one per device of a user, each handed out once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mimi_mls::key_package::validate_key_package;
use mimi_store::prelude::*;
use openmls_traits::OpenMlsProvider as _;

use super::{ApiJson, b64, to_b64};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use mimi_api::{Claim, Claimed, ClaimedAll, KeyPackageCount, Stored, Upload};

/// Most KeyPackages in one upload.
const MAX_UPLOAD: usize = 100;

/// Stores the calling device's KeyPackages after checking each one.
#[utoipa::path(post, path = "/v1/key-packages", tag = "key-packages", security(("bearer" = [])), request_body = Upload, responses((status = 201, description = "stored", body = Stored), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Upload>,
) -> Result<impl IntoResponse, ApiError> {
    let client = caller.device()?.clone();
    if body.key_packages.len() > MAX_UPLOAD {
        return Err(ApiError::bad_request(
            "too-many",
            format!("at most {MAX_UPLOAD} KeyPackages per upload"),
        ));
    }
    let crypto = openmls_rust_crypto::OpenMlsRustCrypto::default();
    let mut checked = Vec::new();
    let all = body
        .key_packages
        .iter()
        .map(|kp| (kp, false))
        .chain(body.last_resort.iter().map(|kp| (kp, true)));
    for (i, (kp, last_resort)) in all.enumerate() {
        let bytes = b64(&format!("key_packages[{i}]"), kp)?;
        let valid = validate_key_package(crypto.crypto(), &bytes, &caller.user)?;
        if valid.client != client {
            return Err(ApiError::bad_request(
                "bad-key-package",
                format!("KeyPackage {i} is {}'s, not this device's", valid.client),
            ));
        }
        checked.push((bytes, last_resort));
    }
    state.store.add_key_packages(&client, &checked).await?;
    Ok((
        StatusCode::CREATED,
        Json(Stored {
            stored: checked.len(),
        }),
    ))
}

/// How many of the calling device's KeyPackages are left to hand out.
#[utoipa::path(get, path = "/v1/key-packages", tag = "key-packages", security(("bearer" = [])), responses((status = 200, description = "unused KeyPackages, the last-resort one aside", body = KeyPackageCount), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn count(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<KeyPackageCount>, ApiError> {
    let client = caller.device()?;
    let available = state.store.key_package_count(client).await?;
    Ok(Json(KeyPackageCount { available }))
}

/// Hands out one KeyPackage per device of a user on this provider, to the user itself or
/// to those it consented to be added by.
#[utoipa::path(post, path = "/v1/key-packages/claim", tag = "key-packages", security(("bearer" = [])), request_body = Claim, responses((status = 200, description = "one KeyPackage per device of the user", body = ClaimedAll), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Claim>,
) -> Result<Json<ClaimedAll>, ApiError> {
    let room = super::consent::room(&state, body.room.as_deref())?;
    let user = super::any_user(&state, "user", &body.user)?;
    let claimed = if user.domain() == state.domain.domain() {
        claim_local(&state, &caller.user, &user, room.as_ref()).await?
    } else {
        // This provider asks another for its user's KeyPackages only for those that user
        // let add it (its provider told this one), or who may answer its knock on a room
        // here; the other provider checks its side too.
        let consented = state
            .store
            .has_consent(&user, &caller.user, room.as_ref())
            .await?;
        let let_in = match room.as_ref() {
            Some(r) if !consented && r.domain() == state.domain.domain() => {
                super::consent::may_let_in(&state, r, &caller.user, &user).await?
            }
            _ => false,
        };
        if !consented && !let_in {
            let decision = mimi_policy::Decision::deny(
                mimi_policy::DenyCode::NoConsent,
                mimi_policy::rule::SEED_KP_DENIED,
            );
            return Err(super::consent::consent_required(
                decision,
                &caller.user,
                &user,
                room.as_ref(),
            ));
        }
        // A user of another provider: its provider decides and hands them out.
        crate::federation::key_material::claim_remote(&state, &caller.user, &user, room.as_ref())
            .await?
    };
    Ok(Json(ClaimedAll {
        key_packages: claimed
            .into_iter()
            .map(|(client, kp)| Claimed {
                client: client.to_string(),
                key_package: to_b64(&kp),
            })
            .collect(),
    }))
}

/// One KeyPackage (an `MLSMessage`) per device of `user`, a user of this provider, for
/// `requester` (of this provider or another), under the seed's KeyPackage access rules.
pub async fn claim_local(
    state: &AppState,
    requester: &mimi_policy::id::UserId,
    user: &mimi_policy::id::UserId,
    room: Option<&mimi_policy::id::RoomId>,
) -> Result<Vec<(mimi_policy::id::ClientId, Vec<u8>)>, ApiError> {
    super::pseudonym_in_its_room(state, user, room).await?;
    super::consent::claim_access(state, requester, user, room).await?;
    // For a room the caller is in: only the devices of the user that are not in it yet, so
    // that adding a user with some devices there adds the others.
    let present = match room {
        Some(id) => match state.room(id).await {
            Ok(loaded) if loaded.hub.policy().clients().contains_key(requester) => loaded
                .hub
                .policy()
                .clients()
                .get(user)
                .cloned()
                .unwrap_or_default(),
            _ => Default::default(),
        },
        None => Default::default(),
    };
    let devices = state.store.devices(user).await?;
    if !present.is_empty() && devices.iter().all(|c| present.contains(c.name())) {
        return Err(ApiError::Conflict {
            code: "already-in-room",
            message: format!("every device of {user} is in the room already"),
        });
    }
    let mut out = Vec::new();
    for client in devices {
        if present.contains(client.name()) {
            continue;
        }
        if let Some(kp) = state.store.claim_key_package(&client).await? {
            out.push((client, kp));
        }
    }
    if out.is_empty() {
        return Err(super::consent::no_key_package(user));
    }
    Ok(out)
}
