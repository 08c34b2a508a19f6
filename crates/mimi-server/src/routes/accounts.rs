//! Accounts, logins and devices.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mimi_policy::id::ClientId;
use mimi_store::TokenOwner;
use mimi_store::prelude::*;

use super::{ApiJson, ApiPath, local_user};
use crate::auth::{Caller, hash_password, new_token, verify_password};
use crate::error::ApiError;
use crate::limits::Peer;
use crate::state::AppState;
use mimi_api::{
    AccountRooms, Credentials, Device, Devices, NewDevice, PasswordChange, Reauthenticate, Session,
};

/// What a pseudonym's account holds for a password hash: no password matches it.
const PSEUDONYM_HASH: &str = "!pseudonym";

/// Shortest password accepted.
const MIN_PASSWORD: usize = 8;

/// Longest password accepted, in bytes (the hash's cost grows with it).
const MAX_PASSWORD: usize = 1024;

fn check_length(password: &str) -> Result<(), ApiError> {
    if password.len() > MAX_PASSWORD {
        return Err(ApiError::bad_request(
            "long-password",
            format!("a password has at most {MAX_PASSWORD} bytes"),
        ));
    }
    Ok(())
}

/// Creates an account; answers with a token for it.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = Credentials, responses((status = 201, description = "the account, with its token", body = Session), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Peer(address): Peer,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<impl IntoResponse, ApiError> {
    state.limits.signup(address)?;
    let user = local_user(&state, "user", &body.user)?;
    if user.is_pseudonym() {
        return Err(ApiError::bad_request(
            "reserved-name",
            format!(
                "names starting with {} are the provider's pseudonyms; choose another",
                mimi_policy::id::PSEUDONYM_MARK
            ),
        ));
    }
    if body.password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::bad_request(
            "weak-password",
            format!("a password has at least {MIN_PASSWORD} characters"),
        ));
    }
    check_length(&body.password)?;
    // A name that looks like another user's is refused (TR39 skeletons).
    let skeleton = mimi_policy::name::skeleton(user.name());
    if let Some(other) = state.store.user_with_skeleton(&skeleton).await?
        && other != user
    {
        return Err(ApiError::Conflict {
            code: "confusable-name",
            message: format!("{user} looks like {other}, who exists; choose another name"),
        });
    }
    let hash = hash_password(body.password).await?;
    state.store.create_user(&user, &hash, &skeleton).await?;
    let (token, token_hash) = new_token();
    let owner = TokenOwner {
        user: user.clone(),
        client: None,
    };
    state.store.insert_token(&token_hash, &owner).await?;
    tracing::info!(%user, "account created");
    Ok((
        StatusCode::CREATED,
        Json(Session {
            user: user.to_string(),
            token,
        }),
    ))
}

/// Logs in with a password; answers with a new account token.
#[utoipa::path(post, path = "/v1/login", tag = "accounts", request_body = Credentials, responses((status = 200, description = "a new token for the account", body = Session), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Peer(address): Peer,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Json<Session>, ApiError> {
    let user = local_user(&state, "user", &body.user)?;
    // Counted before the password is checked, known user or not (the same answer).
    state.limits.login(address, user.as_str())?;
    // No length check here: an account made before the limit keeps its password (the
    // body's size bounds the work).
    // A pseudonym has no password: checked against no one's, as an unknown user is.
    let hash = match state.store.password_hash(&user).await? {
        Some(h) if h == PSEUDONYM_HASH => None,
        other => other,
    };
    if !verify_password(body.password, hash).await? {
        return Err(ApiError::unauthorized("unknown user or wrong password"));
    }
    let (token, token_hash) = new_token();
    let owner = TokenOwner {
        user: user.clone(),
        client: None,
    };
    state.store.insert_token(&token_hash, &owner).await?;
    Ok(Json(Session {
        user: user.to_string(),
        token,
    }))
}

/// Registers a device (a client) under the caller's account; answers with its token.
#[utoipa::path(post, path = "/v1/devices", tag = "accounts", security(("bearer" = [])), request_body = NewDevice, responses((status = 201, description = "the device, with its token", body = Device), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn add_device(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewDevice>,
) -> Result<impl IntoResponse, ApiError> {
    caller.account()?;
    let client = ClientId::new(caller.user.clone(), &body.name)
        .map_err(|e| ApiError::bad_request("bad-device-name", e.to_string()))?;
    state.store.add_device(&client).await?;
    let (token, token_hash) = new_token();
    let owner = TokenOwner {
        user: caller.user,
        client: Some(client.clone()),
    };
    state.store.insert_token(&token_hash, &owner).await?;
    tracing::info!(%client, "device registered");
    Ok((
        StatusCode::CREATED,
        Json(Device {
            client: client.to_string(),
            token,
        }),
    ))
}

/// Lists the caller's devices.
#[utoipa::path(get, path = "/v1/devices", tag = "accounts", security(("bearer" = [])), responses((status = 200, description = "the account's devices", body = Devices), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn list_devices(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Devices>, ApiError> {
    let devices = state.store.devices(&caller.user).await?;
    Ok(Json(Devices {
        devices: devices.iter().map(ToString::to_string).collect(),
    }))
}

/// The rooms of this provider where the caller's account has a device and, for a device's
/// token, the device itself is not: where a new device of the account joins by itself
/// (`mimi sync`'s first run).
#[utoipa::path(get, path = "/v1/account/rooms", tag = "accounts", security(("bearer" = [])), responses((status = 200, description = "the rooms where the account has a device", body = AccountRooms), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn rooms(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AccountRooms>, ApiError> {
    let mut rooms = state.store.user_rooms(&caller.user).await?;
    // For a device: those it is not in yet (its Welcome may still wait to be read).
    if let Some(client) = &caller.client {
        let mine: Vec<_> = state
            .store
            .memberships(client)
            .await?
            .into_iter()
            .map(|m| m.room)
            .collect();
        rooms.retain(|r| !mine.contains(r));
    }
    // Rooms of other providers the user's devices joined, those this device is not in.
    if state.peers.is_some() {
        let foreign = state.store.foreign_rooms_of_user(&caller.user).await?;
        let here: Vec<_> = foreign
            .iter()
            .filter(|(c, _)| Some(c) == caller.client.as_ref())
            .map(|(_, r)| r.clone())
            .collect();
        for (_, room) in foreign {
            if !here.contains(&room) && !rooms.contains(&room) {
                rooms.push(room);
            }
        }
    }
    Ok(Json(AccountRooms {
        rooms: rooms.iter().map(ToString::to_string).collect(),
    }))
}

/// Deletes one of the caller's devices with its KeyPackages, tokens and undelivered
/// entries; the hub then proposes its removal from each of its rooms (a member commits it).
/// A removal that cannot be made now stays pending, retried by the provider, and the
/// device's name stays taken until it is done.
#[utoipa::path(delete, path = "/v1/devices/{name}", tag = "accounts", security(("bearer" = [])), params(("name" = String, Path, description = "the device's name")), responses((status = 204, description = "deleted; it leaves its rooms"), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn remove_device(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.account()?;
    let client = ClientId::new(caller.user, &name)
        .map_err(|e| ApiError::bad_request("bad-device-name", e.to_string()))?;
    let Some(rooms) = state.store.remove_device(&client).await? else {
        return Err(ApiError::not_found(format!("no device {client}")));
    };
    state.tokens.forget_client(&client);
    tracing::info!(%client, rooms = rooms.len(), "device deleted");
    // Its rooms on other providers: their hubs remove it (asked off this request).
    let asking = state.clone();
    let deleted = client.clone();
    tokio::spawn(async move {
        crate::federation::rooms::ask_removals(&asking, &deleted).await;
    });
    if !rooms.is_empty() {
        // Done now if it can be; what fails stays pending for the provider's sweeper.
        if let Err(e) = crate::sweeper::sweep(&state, 100).await {
            tracing::warn!(%client, "removals left pending: {e}");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Ends the session of the token the request comes with (an account's or a device's).
#[utoipa::path(post, path = "/v1/logout", tag = "accounts", security(("bearer" = [])), responses((status = 204, description = "the token is revoked"), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    state.store.revoke_token(&caller.token_hash).await?;
    state.tokens.forget(&caller.token_hash);
    tracing::info!(user = %caller.user, "logged out");
    Ok(StatusCode::NO_CONTENT)
}

/// Checks the caller's password (counted as a login), for the account operations that ask
/// for it again.
async fn reauthenticate(
    state: &AppState,
    address: Option<std::net::IpAddr>,
    caller: &Caller,
    password: String,
) -> Result<(), ApiError> {
    caller.account()?;
    state.limits.login(address, caller.user.as_str())?;
    let hash = state.store.password_hash(&caller.user).await?;
    if verify_password(password, hash).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "wrong-password",
            "the password is wrong",
        ))
    }
}

/// Changes the account's password, with the current one; the account's other sessions
/// end (its devices keep their tokens: revoke those with `/v1/account/revoke-tokens`).
#[utoipa::path(post, path = "/v1/account/password", tag = "accounts", security(("bearer" = [])), request_body = PasswordChange, responses((status = 204, description = "changed; the account's other sessions ended"), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    Peer(address): Peer,
    caller: Caller,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    if body.new_password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::bad_request(
            "weak-password",
            format!("a password has at least {MIN_PASSWORD} characters"),
        ));
    }
    check_length(&body.new_password)?;
    reauthenticate(&state, address, &caller, body.password).await?;
    let hash = hash_password(body.new_password).await?;
    state.store.set_password(&caller.user, &hash).await?;
    state
        .store
        .revoke_user_tokens(&caller.user, false, Some(&caller.token_hash))
        .await?;
    state.tokens.forget_user(&caller.user);
    // The pseudonyms' sessions were opened with this account's: they end with its own.
    for pseudonym in state.store.pseudonyms_owned(&caller.user).await? {
        state
            .store
            .revoke_user_tokens(&pseudonym, false, None)
            .await?;
        state.tokens.forget_user(&pseudonym);
    }
    tracing::info!(user = %caller.user, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every token of the account, its devices' and the one the request comes with
/// included (a token was stolen): log in again, then `POST /v1/devices/{name}/token` gives
/// each device a new one.
#[utoipa::path(post, path = "/v1/account/revoke-tokens", tag = "accounts", security(("bearer" = [])), request_body = Reauthenticate, responses((status = 204, description = "every token of the account is revoked"), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn revoke_tokens(
    State(state): State<AppState>,
    Peer(address): Peer,
    caller: Caller,
    ApiJson(body): ApiJson<Reauthenticate>,
) -> Result<StatusCode, ApiError> {
    reauthenticate(&state, address, &caller, body.password).await?;
    let mut revoked = state
        .store
        .revoke_user_tokens(&caller.user, true, None)
        .await?;
    state.tokens.forget_user(&caller.user);
    // A stolen token could have made tokens of the user's pseudonyms: they go too.
    for pseudonym in state.store.pseudonyms_owned(&caller.user).await? {
        revoked += state
            .store
            .revoke_user_tokens(&pseudonym, true, None)
            .await?;
        state.tokens.forget_user(&pseudonym);
    }
    tracing::info!(user = %caller.user, revoked, "every token revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// A new token for one of the caller's devices (after a logout or a revocation); the
/// device's other tokens are revoked.
#[utoipa::path(post, path = "/v1/devices/{name}/token", tag = "accounts", security(("bearer" = [])), params(("name" = String, Path, description = "the device's name")), responses((status = 201, description = "the device, with its new token", body = Device), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn device_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.account()?;
    let client = ClientId::new(caller.user, &name)
        .map_err(|e| ApiError::bad_request("bad-device-name", e.to_string()))?;
    let (token, token_hash) = new_token();
    state
        .store
        .replace_device_token(&client, &token_hash)
        .await
        .map_err(|e| match e {
            mimi_store::StoreError::NotFound(_) => {
                ApiError::not_found(format!("no device {client}"))
            }
            other => other.into(),
        })?;
    state.tokens.forget_client(&client);
    Ok((
        StatusCode::CREATED,
        Json(Device {
            client: client.to_string(),
            token,
        }),
    ))
}

/// The caller's pseudonym in a room (the seed's semi-anonymous rooms, docs/decisions/0013):
/// made on first use (`~` and 16 random characters, an account nobody can log in to), the
/// same one after that; answers with a new account token for it, from which the caller's
/// profile registers a device of the pseudonym. Only this provider, and the caller, know
/// whose it is.
#[utoipa::path(post, path = "/v1/account/pseudonyms", tag = "accounts", security(("bearer" = [])), request_body = mimi_api::PseudonymRequest, responses((status = 200, description = "the pseudonym, with an account token for it", body = Session), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn pseudonym(
    State(state): State<AppState>,
    Peer(address): Peer,
    caller: Caller,
    ApiJson(body): ApiJson<mimi_api::PseudonymRequest>,
) -> Result<Json<Session>, ApiError> {
    if caller.user.is_pseudonym() {
        return Err(ApiError::bad_request(
            "pseudonym-not-allowed",
            "a pseudonym has no pseudonyms of its own",
        ));
    }
    let room = mimi_policy::id::RoomId::parse(&body.room)
        .map_err(|e| ApiError::bad_request("bad-room", format!("`room`: {e}")))?;
    let room = super::room_in_profile(room, "`room`")?;
    // Only for a room of this provider that takes pseudonyms (vacant or not), and that the
    // caller may know of.
    let policy = match state.room(&room).await {
        Ok(loaded) => loaded.hub.policy().clone(),
        Err(ApiError::NoRoom(gone)) => match super::vacate::vacant_room(&state, &room).await? {
            Some((vacant, _)) => vacant,
            None => return Err(ApiError::NoRoom(gone)),
        },
        Err(e) => return Err(e),
    };
    super::visible(&policy, &room, &caller.user)?;
    if !policy.components().base.pseudonyms_allowed.0 {
        return Err(mimi_policy::Decision::deny(
            mimi_policy::DenyCode::PseudonymNotAllowed,
            mimi_policy::rule::SEED_ANONYMITY,
        )
        .into());
    }
    let pseudonym = match state.store.pseudonym_of(&caller.user, &room).await? {
        Some(p) => p,
        None => {
            // A new account: counted as a sign-up from this address.
            state.limits.signup(address)?;
            let mut random = [0u8; mimi_policy::name::TAG_BYTES];
            argon2::password_hash::rand_core::RngCore::fill_bytes(
                &mut argon2::password_hash::rand_core::OsRng,
                &mut random,
            );
            let name = mimi_policy::name::tagged("", random);
            let fresh = mimi_policy::id::UserId::new(state.domain.domain(), &name)
                .map_err(|e| ApiError::Unavailable(format!("a pseudonym: {e}")))?;
            // No password: the pseudonym is reached by its owner's tokens only, and a login
            // as it is refused (`login`).
            let hash = PSEUDONYM_HASH;
            let skeleton = mimi_policy::name::skeleton(&name);
            match state
                .store
                .create_pseudonym(&fresh, &caller.user, &room, hash, &skeleton)
                .await
            {
                Ok(()) => fresh,
                // Made at the same moment by another of the caller's requests.
                Err(mimi_store::StoreError::Conflict(_)) => state
                    .store
                    .pseudonym_of(&caller.user, &room)
                    .await?
                    .ok_or_else(|| ApiError::Unavailable("making a pseudonym".into()))?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    let (token, token_hash) = new_token();
    let owner = TokenOwner {
        user: pseudonym.clone(),
        client: None,
    };
    state.store.insert_token(&token_hash, &owner).await?;
    Ok(Json(Session {
        user: pseudonym.to_string(),
        token,
    }))
}
