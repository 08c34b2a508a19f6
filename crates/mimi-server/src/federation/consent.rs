//! `requestConsent` / `updateConsent` (protocol-06 §5.7), between the two providers
//! directly: a user asks a user of another provider for consent to add it; the target's
//! grant or revocation is told back to the requester's provider, which decides adds with
//! it (`peer_consents`). The KeyPackages a grant may carry are not sent: the adder claims
//! them when it adds (`keyMaterial`), so that none is handed out twice (decision 0015).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mimi_policy::id::{RoomId, UserId};
use mimi_protocol::Mls;
use mimi_protocol::consent::{Consent, ConsentEntry};
use mimi_store::StoreError;
use mimi_store::prelude::*;

use super::key_material::text;
use super::{Peer, decode};
use crate::error::ApiError;
use crate::state::AppState;

/// The room of a consent entry.
fn room_of(entry: &ConsentEntry) -> Result<Option<RoomId>, ApiError> {
    entry
        .room_id
        .as_ref()
        .map(|r| RoomId::parse(r.as_str()))
        .transpose()
        .map_err(|e| ApiError::bad_request("bad-room", format!("roomId: {e}")))
}

/// A user of this provider named in a peer's request.
fn ours(state: &AppState, field: &str, uri: &str) -> Result<UserId, ApiError> {
    let user = UserId::parse(uri)
        .map_err(|e| ApiError::bad_request("bad-user", format!("{field}: {e}")))?;
    if user.domain() != state.domain.domain() {
        return Err(ApiError::bad_request(
            "wrong-provider",
            format!("{field}: {user} is not a user of {}", state.domain),
        ));
    }
    Ok(user)
}

/// The entry in the body, naming `path_user` where the path says.
fn entry(
    body: &[u8],
    path_user: &str,
    in_path: fn(&ConsentEntry) -> &str,
) -> Result<ConsentEntry, ApiError> {
    let entry: ConsentEntry = decode(body)?;
    if in_path(&entry) != path_user {
        return Err(ApiError::bad_request(
            "bad-message",
            "the path and the body name different users",
        ));
    }
    Ok(entry)
}

/// `POST /mimi/v1/requestConsent/{targetUser}`: a peer's user asks one of ours (or
/// withdraws its request). Answered 201 whether or not the target exists.
pub async fn request_consent(
    State(state): State<AppState>,
    peer: Peer,
    Path(target): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let entry = entry(&body, &target, |e| e.target_uri.as_str())?;
    let requester = peer.user("requesterUri", entry.requester_uri.as_str())?;
    let target = ours(&state, "targetUri", entry.target_uri.as_str())?;
    let room = room_of(&entry)?;
    match entry.operation {
        Consent::Request => {
            state
                .limits
                .consent_request(requester.as_str(), target.as_str())?;
            match state
                .store
                .request_consent(&target, &requester, room.as_ref())
                .await
            {
                Ok(()) => state.wakes.users([&target]),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Consent::Cancel => {
            // Withdraws the request, never a grant the target gave.
            if !state
                .store
                .has_consent(&target, &requester, room.as_ref())
                .await?
            {
                state
                    .store
                    .revoke_consent(&target, &requester, room.as_ref())
                    .await?;
            }
        }
        Consent::Grant(_) | Consent::Revoke => {
            return Err(ApiError::bad_request(
                "bad-message",
                "grants and revocations go to updateConsent",
            ));
        }
    }
    Ok(StatusCode::CREATED)
}

/// `POST /mimi/v1/updateConsent/{requesterUser}`: a peer's user grants one of ours consent
/// to add it, or revokes it.
pub async fn update_consent(
    State(state): State<AppState>,
    peer: Peer,
    Path(requester): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let entry = entry(&body, &requester, |e| e.requester_uri.as_str())?;
    let target = peer.user("targetUri", entry.target_uri.as_str())?;
    let requester = ours(&state, "requesterUri", entry.requester_uri.as_str())?;
    let room = room_of(&entry)?;
    let granted = match entry.operation {
        Consent::Grant(_) => true,
        Consent::Revoke => false,
        Consent::Request | Consent::Cancel => {
            return Err(ApiError::bad_request(
                "bad-message",
                "requests and cancellations go to requestConsent",
            ));
        }
    };
    match state
        .store
        .record_peer_consent(&target, &requester, room.as_ref(), granted)
        .await
    {
        Ok(()) | Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(%target, %requester, granted, "consent told by a peer");
    Ok(StatusCode::CREATED)
}

/// Tells `to`'s provider of a consent operation between `requester` and `target`: a
/// request or cancel goes to the target's `requestConsent`, a grant or revoke to the
/// requester's `updateConsent`.
pub async fn tell(
    state: &AppState,
    operation: Consent,
    requester: &UserId,
    target: &UserId,
    room: Option<&RoomId>,
) -> Result<(), ApiError> {
    let peers = super::peers(state, "foreign-user")?;
    let to_target = matches!(operation, Consent::Request | Consent::Cancel);
    let entry = ConsentEntry {
        requester_uri: text(requester.as_str())?,
        target_uri: text(target.as_str())?,
        room_id: room.map(|r| text(r.as_str())).transpose()?,
        operation,
        consent_extensions: Mls::new(vec![0])
            .map_err(|e| ApiError::Unavailable(format!("encoding consent: {e}")))?,
    };
    let body = mimi_protocol::encode(&entry)
        .map_err(|e| ApiError::Unavailable(format!("encoding consent: {e}")))?;
    let (domain, status) = if to_target {
        let domain = target.domain();
        let (status, _) = peers
            .post(domain, |d| &d.request_consent, target.as_str(), body)
            .await?;
        (domain, status)
    } else {
        let domain = requester.domain();
        let (status, _) = peers
            .post(domain, |d| &d.update_consent, requester.as_str(), body)
            .await?;
        (domain, status)
    };
    if status != 201 {
        return Err(super::PeerError::Refused {
            domain: domain.to_owned(),
            status,
            body: "a consent operation".into(),
        }
        .into());
    }
    Ok(())
}
