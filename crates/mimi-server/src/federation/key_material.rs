//! `keyMaterial` (protocol-06 §5.2): KeyPackages of a user of one provider, claimed by a
//! user of another, under the seed's KeyPackage access rules of the target's provider
//! (consent, a knock the requester may answer, the allowance), exactly as a local claim.
//!
//! The request is signed by the requesting provider's system user (the hub key), not by
//! the requesting client, which holds no key the provider could use (decision 0015); the
//! peer's certificate already proved which provider it is.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use mimi_policy::id::{ClientId, RoomId, UserId};
use mimi_policy::{Decision, DenyCode, rule};
use mimi_protocol::Text;
use mimi_protocol::codec::{KeyPackage, Mls};
use mimi_protocol::key_material::{
    ClientKeyMaterial, ClientMaterial, KeyMaterialRequest, KeyMaterialRequestTbs,
    KeyMaterialResponse, KeyMaterialUserCode,
};
use mimi_store::prelude::*;

use super::{Peer, decode, tls_answer};
use crate::error::ApiError;
use crate::state::AppState;

/// Text for a protocol field (URIs hold no control characters).
pub(crate) fn text(s: &str) -> Result<Text, ApiError> {
    Text::new(s).map_err(|e| ApiError::bad_request("bad-message", e.to_string()))
}

/// An optional room as the protocol writes it: empty for none.
fn room_field(input: &str) -> Result<Option<RoomId>, ApiError> {
    if input.is_empty() {
        return Ok(None);
    }
    RoomId::parse(input)
        .map(Some)
        .map_err(|e| ApiError::bad_request("bad-room", format!("roomId: {e}")))
}

/// `POST /mimi/v1/keyMaterial/{targetUser}`: a peer claims KeyPackages of one of this
/// provider's users for one of its own.
pub async fn key_material(
    State(state): State<AppState>,
    peer: Peer,
    Path(target): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: KeyMaterialRequest = decode(&body)?;
    let tbs = &request.tbs;
    if tbs.target_user.as_str() != target {
        return Err(ApiError::bad_request(
            "bad-message",
            "the path and the body name different users",
        ));
    }
    let requester = peer.user("requestingUser", tbs.requesting_user.as_str())?;
    let content = request
        .signed_content()
        .map_err(|e| ApiError::bad_request("bad-message", e.to_string()))?;
    state
        .hub
        .verify_peer_content(
            &peer.0,
            tbs.requester_signature_key.as_slice(),
            tbs.requester_credential.as_bytes(),
            &content,
            request.signature.as_slice(),
        )
        .map_err(|e| ApiError::forbidden("bad-signature", e.to_string()))?;
    let room = room_field(tbs.room_id.as_str())?;
    let answer = |user_status, clients| KeyMaterialResponse {
        user_status,
        user_uri: tbs.target_user.clone(),
        clients,
    };
    let user = match UserId::parse(&target) {
        Ok(user) if user.domain() == state.domain.domain() => user,
        _ => {
            return Ok(tls_answer(
                StatusCode::OK,
                &answer(KeyMaterialUserCode::UserUnknown, Vec::new()),
            ));
        }
    };
    let response =
        match crate::routes::key_packages::claim_local(&state, &requester, &user, room.as_ref())
            .await
        {
            Ok(claimed) => {
                let mut clients = Vec::new();
                for (client, kp) in claimed {
                    let key_package = Mls::<KeyPackage>::from_message(&kp).map_err(|e| {
                        ApiError::Unavailable(format!("a stored KeyPackage of {client}: {e}"))
                    })?;
                    clients.push(ClientKeyMaterial {
                        client_uri: text(&client.to_string())?,
                        material: ClientMaterial::Success(key_package),
                    });
                }
                answer(KeyMaterialUserCode::Success, clients)
            }
            Err(ApiError::Denied { .. }) => answer(
                if room.is_some() {
                    KeyMaterialUserCode::NoConsentForThisRoom
                } else {
                    KeyMaterialUserCode::NoConsent
                },
                Vec::new(),
            ),
            // No device with a KeyPackage, and an unknown user, alike.
            Err(ApiError::NotFound { .. }) => answer(KeyMaterialUserCode::UserUnknown, Vec::new()),
            Err(ApiError::Conflict { .. }) => {
                answer(KeyMaterialUserCode::NoCompatibleMaterial, Vec::new())
            }
            Err(other) => return Err(other),
        };
    Ok(tls_answer(StatusCode::OK, &response))
}

/// KeyPackages (`MLSMessage`s) of `target`, a user of another provider, for `requester`,
/// one of ours, claimed from the target's provider.
pub async fn claim_remote(
    state: &AppState,
    requester: &UserId,
    target: &UserId,
    room: Option<&RoomId>,
) -> Result<Vec<(ClientId, Vec<u8>)>, ApiError> {
    let peers = super::peers(state, "foreign-user")?;
    let (key, credential) = state.hub.signing_identity()?;
    let bad = |e: tls_codec::Error| ApiError::Unavailable(format!("encoding keyMaterial: {e}"));
    let tbs = KeyMaterialRequestTbs {
        requesting_user: text(requester.as_str())?,
        target_user: text(target.as_str())?,
        room_id: text(room.map_or("", RoomId::as_str))?,
        acceptable_ciphersuites: vec![mimi_mls::CIPHERSUITE as u16],
        // No extension, proposal or credential type beyond MLS's own.
        required_capabilities: Mls::new(vec![0, 0, 0]).map_err(bad)?,
        requester_signature_key: key.into(),
        requester_credential: Mls::new(credential).map_err(bad)?,
    };
    let mut request = KeyMaterialRequest {
        tbs,
        signature: Vec::new().into(),
    };
    request.signature = state
        .hub
        .sign_content(&request.signed_content().map_err(bad)?)?
        .into();
    let body = mimi_protocol::encode(&request).map_err(bad)?;
    let domain = target.domain();
    let (status, answer) = peers
        .post(domain, |d| &d.key_material, target.as_str(), body)
        .await?;
    let refused = |message: String| super::PeerError::Refused {
        domain: domain.to_string(),
        status,
        body: message,
    };
    if status != 200 {
        return Err(refused(String::from_utf8_lossy(&answer).chars().take(200).collect()).into());
    }
    let response: KeyMaterialResponse = mimi_protocol::decode_exact(&answer)
        .map_err(|e| refused(format!("an answer that is not a KeyMaterialResponse: {e}")))?;
    if response.user_uri.as_str() != target.as_str() {
        return Err(refused("an answer about another user".into()).into());
    }
    match response.user_status {
        KeyMaterialUserCode::Success | KeyMaterialUserCode::PartialSuccess => {}
        KeyMaterialUserCode::NoConsent | KeyMaterialUserCode::NoConsentForThisRoom => {
            let decision = Decision::deny(DenyCode::NoConsent, rule::SEED_KP_DENIED);
            return Err(crate::routes::consent::consent_required(
                decision, requester, target, room,
            ));
        }
        KeyMaterialUserCode::IncompatibleProtocol => {
            return Err(refused("the protocol is not supported".into()).into());
        }
        _ => return Err(crate::routes::consent::no_key_package(target)),
    }
    let mut out = Vec::new();
    let mut refs = Vec::new();
    let crypto = openmls_rust_crypto::OpenMlsRustCrypto::default();
    for client in response.clients {
        let ClientMaterial::Success(kp) = client.material else {
            continue;
        };
        let message = kp.to_message();
        // Checked as an upload is, and naming the client it is given for.
        let (id, reference) = mimi_mls::key_package::key_package_ref(
            openmls_traits::OpenMlsProvider::crypto(&crypto),
            &message,
            target,
        )
        .ok()
        .filter(|(id, _)| id.to_string() == client.client_uri.as_str())
        .ok_or_else(|| refused(format!("a KeyPackage of {} that is not", client.client_uri)))?;
        refs.push((id.clone(), reference));
        out.push((id, message));
    }
    if out.is_empty() {
        return Err(crate::routes::consent::no_key_package(target));
    }
    state.store.record_peer_key_packages(&refs).await?;
    Ok(out)
}
