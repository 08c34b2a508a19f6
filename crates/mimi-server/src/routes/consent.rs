//! Consent to be added to rooms, the seed's KeyPackage access rules: a user's KeyPackages
//! go to the user itself, to those it let add it (to one room or any room), to those who
//! may answer its knock on a room, and, as far as the provider's allowance goes (none by
//! default), to anyone. Anyone may ask for consent; the target grants, and may revoke a
//! grant at any time.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mimi_policy::host::knock_answer;
use mimi_policy::id::{RoomId, UserId};
use mimi_policy::operation::Target;
use mimi_policy::rule::{self, Rule};
use mimi_policy::{Actor, Decision, DenyCode, key_package_access};
use mimi_store::StoreError;
use mimi_store::prelude::*;

use super::{ApiJson, any_user};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use mimi_api::{ConsentBody, ConsentView, Consents};
use mimi_protocol::consent::Consent;

/// A room named in a body: a `mimi://` URI, or a bare name on this provider.
pub(crate) fn room(state: &AppState, input: Option<&str>) -> Result<Option<RoomId>, ApiError> {
    input
        .map(|r| {
            let id = if r.contains(':') {
                RoomId::parse(r)
            } else {
                RoomId::new(state.domain.domain(), r)
            }
            .map_err(|e| ApiError::bad_request("bad-room", format!("`room`: {e}")))?;
            super::room_in_profile(id, "`room`")
        })
        .transpose()
}

pub(crate) fn other_user(
    state: &AppState,
    caller: &Caller,
    input: &str,
) -> Result<UserId, ApiError> {
    let user = UserId::parse_with_default(input, state.domain.domain())
        .map_err(|e| ApiError::bad_request("bad-user", format!("`user`: {e}")))?;
    if user == caller.user {
        return Err(ApiError::bad_request(
            "self-consent",
            "a user needs no consent from itself",
        ));
    }
    Ok(user)
}

/// The other user and the room of a grant or revocation.
fn requester_and_room(
    state: &AppState,
    caller: &Caller,
    body: &ConsentBody,
) -> Result<(UserId, Option<RoomId>), ApiError> {
    Ok((
        other_user(state, caller, &body.user)?,
        room(state, body.room.as_deref())?,
    ))
}

/// The caller asks a user of this provider for consent to add it.
#[utoipa::path(post, path = "/v1/consent/request", tag = "consent", security(("bearer" = [])), request_body = ConsentBody, responses((status = 202, description = "asked (or already given)", body = ConsentView), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn request(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConsentBody>,
) -> Result<(StatusCode, Json<ConsentView>), ApiError> {
    let target = any_user(&state, "user", &body.user)?;
    let target = other_user(&state, &caller, target.as_str())?;
    let room = room(&state, body.room.as_deref())?;
    state
        .limits
        .consent_request(caller.user.as_str(), target.as_str())?;
    if target.domain() != state.domain.domain() {
        // Asked through the target's provider.
        crate::federation::consent::tell(
            &state,
            mimi_protocol::consent::Consent::Request,
            &caller.user,
            &target,
            room.as_ref(),
        )
        .await?;
    } else {
        match state
            .store
            .request_consent(&target, &caller.user, room.as_ref())
            .await
        {
            Ok(()) => state.wakes.users([&target]),
            // An unknown user is asked as a known one would be (the answer does not tell who
            // exists): nobody hears of it, and nothing is granted.
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let granted = state
        .store
        .has_consent(&target, &caller.user, room.as_ref())
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ConsentView {
            user: target.to_string(),
            room: room.map(|r| r.to_string()),
            granted,
        }),
    ))
}

/// The caller lets a user add it (to the room, or any room).
#[utoipa::path(post, path = "/v1/consent/grant", tag = "consent", security(("bearer" = [])), request_body = ConsentBody, responses((status = 204, description = "given"), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConsentBody>,
) -> Result<StatusCode, ApiError> {
    let (requester, room) = requester_and_room(&state, &caller, &body)?;
    state
        .store
        .grant_consent(&caller.user, &requester, room.as_ref())
        .await?;
    tracing::info!(target = %caller.user, %requester, "consent granted");
    tell_requesters_provider(
        &state,
        Consent::Grant(Vec::new()),
        &caller,
        &requester,
        room,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller withdraws a grant, or refuses a request.
#[utoipa::path(post, path = "/v1/consent/revoke", tag = "consent", security(("bearer" = [])), request_body = ConsentBody, responses((status = 204, description = "withdrawn or refused"), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConsentBody>,
) -> Result<StatusCode, ApiError> {
    let (requester, room) = requester_and_room(&state, &caller, &body)?;
    let revoked = state
        .store
        .revoke_consent(&caller.user, &requester, room.as_ref())
        .await?;
    tell_requesters_provider(&state, Consent::Revoke, &caller, &requester, room.clone()).await?;
    if !revoked {
        return Err(ApiError::not_found(format!(
            "{requester} has neither asked for nor been given consent{}",
            room.map(|r| format!(" for {r}")).unwrap_or_default()
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Tells the provider of `requester`, if another, of the caller's grant or revocation: it
/// decides the requester's adds of the caller. Recorded here first, so a provider that
/// cannot be reached now is told when the caller says it again.
async fn tell_requesters_provider(
    state: &AppState,
    operation: Consent,
    caller: &Caller,
    requester: &UserId,
    room: Option<RoomId>,
) -> Result<(), ApiError> {
    if requester.domain() == state.domain.domain() || state.peers.is_none() {
        return Ok(());
    }
    crate::federation::consent::tell(state, operation, requester, &caller.user, room.as_ref()).await
}

/// What the caller was asked and has granted.
#[utoipa::path(get, path = "/v1/consent", tag = "consent", security(("bearer" = [])), responses((status = 200, description = "the caller's consents", body = Consents), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Consents>, ApiError> {
    let consents = state
        .store
        .consents(&caller.user)
        .await?
        .into_iter()
        .map(|c| ConsentView {
            user: c.requester.to_string(),
            room: c.room.map(|r| r.to_string()),
            granted: c.granted,
        })
        .collect();
    Ok(Json(Consents { consents }))
}

/// `403 consent-required`: `target` has not let `requester` add it (to `room`), as
/// `decision` (a denial of the seed's KeyPackage rules) says.
pub(crate) fn consent_required(
    decision: Decision,
    requester: &UserId,
    target: &UserId,
    room: Option<&RoomId>,
) -> ApiError {
    ApiError::denied(
        decision,
        format!(
            "{target} has not let {requester} add them{}; ask first (POST /v1/consent/request)",
            room.map(|r| format!(" to {r}")).unwrap_or_default()
        ),
    )
}

/// Whether `target` knocked on `room` and `requester` may let it in.
pub(crate) async fn may_let_in(
    state: &AppState,
    room: &RoomId,
    requester: &UserId,
    target: &UserId,
) -> Result<bool, ApiError> {
    if !state.store.has_knocked(room, target).await? {
        return Ok(false);
    }
    // A room of another provider: its hub decides who may let the knocker in, and only
    // its hub's users ask for the knocker's KeyPackages for it (keyMaterial).
    if room.domain() != state.domain.domain() {
        return Ok(requester.domain() == room.domain());
    }
    // As recent as the database: a moderator demoted through another process is not one.
    let cached = match state.room(room).await {
        Ok(cached) => cached,
        Err(ApiError::NoRoom(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    Ok(knock_answer(cached.hub.policy(), requester, target).is_allowed())
}

/// Most of a user's KeyPackages handed out under the allowance at once (a day), whoever
/// the requesters: several accounts, each within its allowance, cannot drain a user down
/// to its last-resort KeyPackage (its device tops up below five).
pub const ALLOWANCE_PER_TARGET: u32 = 5;

/// The seed's KeyPackage access rules, for `requester` claiming `target`'s KeyPackages
/// (for `room`): the same user; the target's consent; a knock of the target on `room`
/// that the requester may answer; or, without either, the provider's allowance of
/// outstanding KeyPackages (recorded here, so that it counts). Returns the rule that
/// allowed the claim.
pub async fn claim_access(
    state: &AppState,
    requester: &UserId,
    target: &UserId,
    room: Option<&RoomId>,
) -> Result<Rule, ApiError> {
    let other = requester != target;
    let consent = other && state.store.has_consent(target, requester, room).await?;
    let knocked = match room {
        Some(room) if other && !consent => may_let_in(state, room, requester, target).await?,
        _ => false,
    };
    let quota = state.key_package_allowance;
    // A knock answered spends none of the requester's allowance (the seed checks the
    // allowance first).
    let outstanding = if other && quota > 0 && !knocked {
        state
            .store
            .allowance_claims(requester, target, None)
            .await?
    } else {
        quota
    };
    let decision = key_package_access(
        &Actor::user(requester.clone(), None),
        &Target {
            user: target.clone(),
            client: None,
        },
        consent,
        knocked,
        outstanding,
        quota,
    );
    if !decision.is_allowed() {
        return Err(consent_required(decision, requester, target, room));
    }
    // Counted again as it is recorded: concurrent claims cannot pass the allowance together.
    if decision.rule() != rule::SEED_KP_QUOTA {
        return Ok(decision.rule());
    }
    let recorded = match state
        .store
        .record_allowance_claim(requester, target, room, quota, ALLOWANCE_PER_TARGET)
        .await
    {
        Ok(recorded) => recorded,
        // An unknown user has no device with a KeyPackage, as a known one may not.
        Err(StoreError::NotFound(_)) => return Err(no_key_package(target)),
        Err(e) => return Err(e.into()),
    };
    if !recorded {
        let decision = Decision::deny(DenyCode::NoConsent, rule::SEED_KP_DENIED);
        return Err(consent_required(decision, requester, target, room));
    }
    Ok(decision.rule())
}

/// The answer when none of `user`'s devices has a KeyPackage left, and for a user who does
/// not exist (the two are answered alike).
pub fn no_key_package(user: &UserId) -> ApiError {
    ApiError::not_found(format!("{user} has no device with a KeyPackage"))
}
