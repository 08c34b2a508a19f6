//! A room hosted by one provider (its hub) with members on others (followers), protocol-06
//! §5.3-§5.6 (decision 0015).
//!
//! - As a hub: `groupInfo` (for a joiner of another provider, encrypted to its key),
//!   `update` (a follower's user's commit or proposal, taken by the one path every room
//!   change follows, `crate::handshake`), `submitMessage` (its application message, as a
//!   local device's).
//! - As a follower: the same requests, relayed for this provider's devices from the client
//!   API, and `notify`, what a hub fans out to them, kept until each acknowledges it.
//!
//! mimi's own headers beside the draft's bodies: `Mimi-Client` names the follower's device a
//! request is for; `Mimi-Seq` and `Mimi-Epoch` give the place in the room's log and the
//! epoch of what the hub took; `Mimi-Senders` the sending client of each fanned-out entry;
//! `Mimi-Error` a refusal as the client API words it (base64 JSON), so a follower passes
//! it on to its user unchanged.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use mimi_mls::MlsError;
use mimi_policy::id::{ClientId, RoomId};
use mimi_policy::operation::Link;
use mimi_protocol::Text;
use mimi_protocol::codec::{GroupInfo, Mls, MlsMessage, Welcome};
use mimi_protocol::group_info::{
    GROUP_INFO_ENCRYPTION_LABEL, GroupInfoOutcome, GroupInfoRatchetTreeTbe, GroupInfoRequest,
    GroupInfoRequestTbs, GroupInfoResponse, GroupInfoSuccess,
};
use mimi_protocol::submit::{
    FanoutBody, SubmitMessageRequest, SubmitMessageResponse, decode_fanout,
};
use mimi_protocol::update::{
    GroupInfoOption, HandshakeBundle, RatchetTreeOption, UpdateOutcome, UpdateRoomResponse,
};
use mimi_store::prelude::*;
use mimi_store::{EntryKind, LogEntry};
use tls_codec::{DeserializeBytes as _, Serialize as _, VLBytes};

use super::key_material::text;
use super::{Peer, decode, tls_answer};
use crate::error::{ApiError, RelayedBody};
use crate::handshake::{Stored, Submitted};
use crate::state::AppState;

/// The follower's device a request is for, or a fanout is to.
pub const MIMI_CLIENT: &str = "mimi-client";
/// The place in the room's log of what the hub took (of the first fanned-out entry).
pub const MIMI_SEQ: &str = "mimi-seq";
/// The room's epoch after what the hub took.
pub const MIMI_EPOCH: &str = "mimi-epoch";
/// The sending client of each fanned-out entry, space-separated.
pub const MIMI_SENDERS: &str = "mimi-senders";
/// A refusal as the client API words it: base64 of its JSON.
pub const MIMI_ERROR: &str = "mimi-error";

/// `text` as a header value: every byte outside visible ASCII, and `%`, percent-encoded
/// (user and device names may be any letters).
pub(crate) fn header_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_graphic() && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The text a [`header_value`] holds; `None` if it is not one.
pub(crate) fn header_text(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Milliseconds since the UNIX epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The room `room` names, which this provider must host.
pub(crate) fn hosted(state: &AppState, room: &str) -> Result<RoomId, ApiError> {
    let id = RoomId::parse(room)
        .map_err(|e| ApiError::bad_request("bad-room", format!("roomId: {e}")))?;
    if id.domain() != state.domain.domain() {
        return Err(ApiError::NoRoom(id));
    }
    Ok(id)
}

/// The device of `peer` a request names in `Mimi-Client`.
pub(crate) fn peer_client(peer: &Peer, headers: &HeaderMap) -> Result<ClientId, ApiError> {
    let value = headers
        .get(MIMI_CLIENT)
        .and_then(|v| v.to_str().ok())
        .and_then(header_text)
        .ok_or_else(|| ApiError::bad_request("bad-message", "name the device in Mimi-Client"))?;
    peer_device(peer, &value)
}

/// `uri` as a device of `peer`.
fn peer_device(peer: &Peer, uri: &str) -> Result<ClientId, ApiError> {
    let client = ClientId::parse(uri)
        .map_err(|e| ApiError::bad_request("bad-client", format!("{uri}: {e}")))?;
    peer.user("the device", client.user().as_str())?;
    Ok(client)
}

/// `answer` with headers.
fn with_headers(mut answer: Response, headers: &[(&'static str, String)]) -> Response {
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            answer.headers_mut().insert(*name, v);
        }
    }
    answer
}

/// The `Mimi-Error` header of a refusal.
fn error_header(e: &ApiError) -> (&'static str, String) {
    let json = serde_json::to_vec(&e.relayed_body()).unwrap_or_default();
    (
        MIMI_ERROR,
        base64::engine::general_purpose::STANDARD.encode(json),
    )
}

/// The refusal a peer passed on in `Mimi-Error`, if it did.
pub(crate) fn relayed_error(headers: &reqwest::header::HeaderMap) -> Option<ApiError> {
    let value = headers.get(MIMI_ERROR)?.to_str().ok()?;
    let json = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    let body: RelayedBody = serde_json::from_slice(&json).ok()?;
    let status = StatusCode::from_u16(body.status)
        .ok()
        .filter(|s| s.is_client_error())?;
    Some(ApiError::Relayed {
        status,
        body: Box::new(body),
    })
}

/// A peer's refusal of a relayed request (a status other than the one expected): as it
/// words it in `Mimi-Error`, or in its body (the client API's error, which mimi's peers
/// answer with), or the peer's status alone.
pub(crate) fn refusal(
    domain: &str,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    what: &str,
) -> ApiError {
    if let Some(e) = relayed_error(headers) {
        return e;
    }
    match (
        StatusCode::from_u16(status),
        serde_json::from_slice::<mimi_api::ErrorBody>(body),
    ) {
        (Ok(s), Ok(b))
            if (s.is_client_error() && s != StatusCode::UNAUTHORIZED)
                || s == StatusCode::SERVICE_UNAVAILABLE =>
        {
            ApiError::Relayed {
                status: s,
                body: Box::new(RelayedBody {
                    status,
                    body: mimi_api::ErrorBody {
                        message: format!("{domain}: {}", b.message),
                        ..b
                    },
                }),
            }
        }
        _ => refused(domain, status, what),
    }
}

/// A number in one of `headers`.
fn number(headers: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.parse().ok()
}

/// The answer of a peer this call cannot use.
fn refused(domain: &str, status: u16, why: impl Into<String>) -> ApiError {
    super::PeerError::Refused {
        domain: domain.to_owned(),
        status,
        body: why.into(),
    }
    .into()
}

fn encoding(e: tls_codec::Error) -> ApiError {
    ApiError::Unavailable(format!("encoding a protocol message: {e}"))
}

// ---- As a hub -------------------------------------------------------------------------

/// `POST /mimi/v1/groupInfo/{roomId}`: what a peer's user needs to join by external
/// commit, for those the room lets join, encrypted to the key the request gives.
pub async fn group_info(
    State(state): State<AppState>,
    peer: Peer,
    Path(room): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: GroupInfoRequest = decode(&body)?;
    let tbs = &request.tbs;
    let client = mimi_mls::identity::client_of_bytes(tbs.requesting_credential.as_bytes())
        .map_err(|e| ApiError::bad_request("bad-credential", e.to_string()))?;
    let client = peer_device(&peer, &client.to_string())?;
    // The follower signs for its user (decision 0015): the key proves no more than the
    // connection's certificate, but a request that does not verify is refused.
    state
        .hub
        .verify_with_key(
            tbs.requesting_signature_key.as_slice(),
            &request.signed_content().map_err(encoding)?,
            request.signature.as_slice(),
        )
        .map_err(|e| ApiError::forbidden("bad-signature", e.to_string()))?;
    let room_bytes = VLBytes::new(room.as_bytes().to_vec());
    let refuse = |e: ApiError| {
        let outcome = match e {
            ApiError::NoRoom(_) => GroupInfoOutcome::NoSuchRoom,
            _ => GroupInfoOutcome::NotAuthorized,
        };
        with_headers(
            tls_answer(
                StatusCode::OK,
                &GroupInfoResponse {
                    room_id: room_bytes.clone(),
                    outcome,
                },
            ),
            &[error_header(&e)],
        )
    };
    let id = match hosted(&state, &room) {
        Ok(id) => id,
        Err(e) => return Ok(refuse(e)),
    };
    let link = if tbs.joining_code.as_slice().is_empty() {
        None
    } else {
        let given: mimi_api::JoinInfo = serde_json::from_slice(tbs.joining_code.as_slice())
            .map_err(|e| ApiError::bad_request("bad-message", format!("joiningCode: {e}")))?;
        Some(Link {
            issued_by: None,
            code: given.link,
            password: given.password,
            expired: false,
            uses: 0,
            max_uses: None,
        })
    };
    let info = match crate::routes::group_info::join_info(&state, &id, &client, link).await {
        Ok(info) if info.vacant.is_some() => {
            return Ok(refuse(ApiError::forbidden(
                "vacant-room",
                format!("{id} is vacant: a user of {} starts it again", state.domain),
            )));
        }
        Ok(info) => info,
        Err(e) if e.is_passing() => return Err(e),
        Err(e) => return Ok(refuse(e)),
    };
    let b64 = |field: &str, v: &str| crate::routes::b64(field, v);
    let tbe = GroupInfoRatchetTreeTbe {
        group_info: Mls::<GroupInfo>::from_message(&b64("group_info", &info.group_info)?)
            .map_err(encoding)?,
        ratchet_tree: RatchetTreeOption::Full(
            Mls::new(b64("ratchet_tree", &info.ratchet_tree)?).map_err(encoding)?,
        ),
        pending_proposals: Vec::new(),
    };
    let sealed = mimi_mls::hpke::seal(
        tbs.group_info_public_key.as_slice(),
        GROUP_INFO_ENCRYPTION_LABEL,
        room.as_bytes(),
        &mimi_protocol::encode(&tbe).map_err(encoding)?,
    )
    .map_err(|e| ApiError::bad_request("bad-key", e.to_string()))?;
    let mut success = GroupInfoSuccess {
        cipher_suite: mimi_mls::CIPHERSUITE as u16,
        hub_sender: Mls::new(
            state
                .hub
                .external_sender()
                .tls_serialize_detached()
                .map_err(encoding)?,
        )
        .map_err(encoding)?,
        encrypted_groupinfo_and_tree: Mls::new(sealed).map_err(encoding)?,
        signature: Vec::new().into(),
    };
    success.signature = state
        .hub
        .sign_content(
            &GroupInfoResponse::signed_content(room.as_bytes(), &success).map_err(encoding)?,
        )?
        .into();
    Ok(with_headers(
        tls_answer(
            StatusCode::OK,
            &GroupInfoResponse {
                room_id: room_bytes,
                outcome: GroupInfoOutcome::Success(success),
            },
        ),
        &[(MIMI_EPOCH, info.epoch.to_string())],
    ))
}

/// `POST /mimi/v1/update/{roomId}`: a peer's user's commit (with its GroupInfo and
/// Welcome) or proposal, taken as a local device's.
pub async fn update(
    State(state): State<AppState>,
    peer: Peer,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = hosted(&state, &room)?;
    let client = peer_client(&peer, &headers)?;
    let submitted = match decode::<HandshakeBundle>(&body)? {
        HandshakeBundle::Commit {
            commit,
            welcome,
            group_info,
            ratchet_tree: _,
        } => Submitted {
            message: commit.into_bytes(),
            group_info: Some(group_info.0.to_message()),
            welcome: welcome.map(|w| w.to_message()),
        },
        HandshakeBundle::Proposal {
            proposal,
            more_proposals,
        } => {
            if !more_proposals.is_empty() {
                return Err(ApiError::bad_request(
                    "bad-message",
                    "one proposal per update: each is decided on its own",
                ));
            }
            Submitted {
                message: proposal.into_bytes(),
                group_info: None,
                welcome: None,
            }
        }
    };
    let result = crate::handshake::submit(&state, &id, &client, &submitted).await;
    state.metrics.handshake(match &result {
        Ok(_) => "accepted",
        Err(e) => e.code(),
    });
    let (outcome, description, extra) = match result {
        Ok(Stored { epoch, seq }) => (
            UpdateOutcome::Success {
                accepted_timestamp: now_ms(),
            },
            String::new(),
            vec![(MIMI_EPOCH, epoch.to_string()), (MIMI_SEQ, seq.to_string())],
        ),
        Err(e) if e.is_passing() => return Err(e),
        Err(e) => {
            let outcome = match &e {
                ApiError::Mls(MlsError::WrongEpoch { current }) => UpdateOutcome::WrongEpoch {
                    current_epoch: *current,
                },
                _ => UpdateOutcome::NotAllowed,
            };
            (outcome, e.to_string(), vec![error_header(&e)])
        }
    };
    let answer = UpdateRoomResponse {
        error_description: Text::new(description.replace(char::is_control, " "))
            .map_err(encoding)?,
        outcome,
    };
    Ok(with_headers(tls_answer(StatusCode::OK, &answer), &extra))
}

/// `POST /mimi/v1/submitMessage/{roomId}`: a peer's user's application message, checked
/// and stored as a local device's.
pub async fn submit_message(
    State(state): State<AppState>,
    peer: Peer,
    Path(room): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = hosted(&state, &room)?;
    let request: SubmitMessageRequest = decode(&body)?;
    let client = peer_device(&peer, request.sending_uri.as_str())?;
    let message = request.app_message.into_bytes();
    if message.len() > crate::routes::messages::MAX_MESSAGE_BYTES {
        return Err(ApiError::TooLarge(format!(
            "the message is {} bytes; a message has at most {}",
            message.len(),
            crate::routes::messages::MAX_MESSAGE_BYTES
        )));
    }
    let result = crate::routes::messages::store_checked(&state, &id, &client, &[message]).await;
    state.metrics.message(match &result {
        Ok(_) => "accepted",
        Err(e) => e.code(),
    });
    let (answer, extra) = match result {
        Ok(seqs) => (
            SubmitMessageResponse::Accepted {
                accepted_timestamp: now_ms(),
                frank: None,
            },
            seqs.first()
                .map(|s| vec![(MIMI_SEQ, s.to_string())])
                .unwrap_or_default(),
        ),
        Err(e) if e.is_passing() => return Err(e),
        Err(e) => {
            let answer = match &e {
                ApiError::Mls(MlsError::WrongEpoch { current }) => {
                    SubmitMessageResponse::EpochTooOld {
                        current_epoch: *current,
                    }
                }
                _ => SubmitMessageResponse::NotAllowed,
            };
            (answer, vec![error_header(&e)])
        }
    };
    Ok(with_headers(tls_answer(StatusCode::OK, &answer), &extra))
}

// ---- As a follower --------------------------------------------------------------------

/// `POST /mimi/v1/notify/{roomId}`: what the room's hub fans out to one of this provider's
/// devices (`Mimi-Client`), kept until the device acknowledges it. A fanout sent again is
/// taken again without effect.
pub async fn notify(
    State(state): State<AppState>,
    peer: Peer,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let id = RoomId::parse(&room)
        .map_err(|e| ApiError::bad_request("bad-room", format!("roomId: {e}")))?;
    if id.domain() != peer.0.domain() {
        return Err(ApiError::forbidden(
            "wrong-peer",
            format!("{id} is not {}'s to fan out", peer.0),
        ));
    }
    let client = headers
        .get(MIMI_CLIENT)
        .and_then(|v| v.to_str().ok())
        .and_then(header_text)
        .and_then(|v| ClientId::parse(&v).ok())
        .filter(|c| c.user().domain() == state.domain.domain())
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad-message",
                "name one of this provider's devices in Mimi-Client",
            )
        })?;
    // A device this provider does not have (deleted since) takes nothing; the hub hears
    // 201 and moves on.
    if !state
        .store
        .devices(client.user())
        .await?
        .iter()
        .any(|d| d == &client)
    {
        tracing::info!(%client, room = %id, "a fanout to a device this provider does not have");
        return Ok(StatusCode::CREATED);
    }
    let first = headers
        .get(MIMI_SEQ)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .ok_or_else(|| ApiError::bad_request("bad-message", "give the first entry's Mimi-Seq"))?;
    let senders: Vec<String> = headers
        .get(MIMI_SENDERS)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(' ')
                .filter(|s| !s.is_empty())
                .filter_map(header_text)
                .collect()
        })
        .unwrap_or_default();
    let fanout = decode_fanout(&body)
        .map_err(|e| ApiError::bad_request("bad-message", format!("not fanout messages: {e}")))?;
    let mut entries = Vec::new();
    let mut welcomed = false;
    if fanout.len() > 1_000 || first > i64::MAX as u64 - 1_000 {
        return Err(ApiError::bad_request(
            "bad-message",
            "too many entries, or past the log",
        ));
    }
    for (i, message) in fanout.into_iter().enumerate() {
        let seq = first + i as u64;
        let kind = match &message.body {
            FanoutBody::Welcome {
                message,
                ratchet_tree,
            } => {
                let RatchetTreeOption::Full(tree) = ratchet_tree else {
                    return Err(ApiError::bad_request(
                        "bad-message",
                        "a Welcome comes with its whole ratchet tree",
                    ));
                };
                welcomed = true;
                state
                    .store
                    .relay_welcome(&client, &id, seq, message.as_bytes(), tree.as_bytes())
                    .await?;
                state.store.record_foreign_room(&client, &id).await?;
                // In: a knock of the user's on the room is answered.
                state.store.withdraw_knock(&id, client.user()).await?;
                continue;
            }
            FanoutBody::Application { .. } => EntryKind::Message,
            FanoutBody::Proposal { .. } => EntryKind::Proposal,
            FanoutBody::Commit { .. } => EntryKind::Commit,
        };
        let sender = senders.get(i).ok_or_else(|| {
            ApiError::bad_request("bad-message", "name each entry's sender in Mimi-Senders")
        })?;
        let message = message.body.message();
        entries.push(LogEntry {
            room: id.clone(),
            seq,
            kind,
            epoch: message.epoch().unwrap_or_default(),
            sender: sender.clone(),
            body: message.as_bytes().to_vec(),
        });
    }
    if !entries.is_empty() {
        state.store.relay_entries(&client, &entries).await?;
    }
    // Also for a Welcome sent again (one stored by a push that failed after it).
    if welcomed || !entries.is_empty() {
        state.wakes.users([client.user()]);
    }
    Ok(StatusCode::CREATED)
}

/// `POST /mimi/v1/x-removeDevice/{roomId}` (mimi's own): a peer's device (`Mimi-Client`),
/// deleted there, is to leave a room hosted here. The hub proposes its removal as it does
/// for its own deleted devices (the sweeper), and a member commits it: the seed's "system
/// user of the removed user's provider" asks, the hub's acts.
pub async fn remove_device(
    State(state): State<AppState>,
    peer: Peer,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let id = hosted(&state, &room)?;
    let client = peer_client(&peer, &headers)?;
    let present = state
        .room(&id)
        .await?
        .hub
        .policy()
        .has_client(client.user(), client.name());
    if present && state.store.add_pending_removal(&id, &client).await? {
        tracing::info!(room = %id, %client, "removal of a peer's deleted device");
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::sweeper::sweep(&state, 100).await {
                tracing::warn!("removals left pending: {e}");
            }
        });
    }
    Ok(StatusCode::CREATED)
}

/// Asks the hubs of the rooms of other providers `client` (deleted here) joined to remove
/// it. Best effort: a hub that cannot be reached now is logged, not asked again.
pub async fn ask_removals(state: &AppState, client: &ClientId) {
    let Some(peers) = state.peers.as_deref() else {
        return;
    };
    let rooms = match state.store.take_foreign_rooms(client).await {
        Ok(rooms) => rooms,
        Err(e) => {
            tracing::warn!(%client, error = %e, "the deleted device's rooms elsewhere");
            return;
        }
    };
    for room in rooms {
        let asked = peers
            .post_with(
                room.domain(),
                |d| d.x_remove_device.as_deref().unwrap_or_default(),
                room.as_str(),
                &[(MIMI_CLIENT, header_value(&client.to_string()))],
                Vec::new(),
            )
            .await;
        match asked {
            Ok((201, _, _)) => {}
            Ok((status, _, _)) => {
                tracing::warn!(%room, %client, status, "a hub did not take a deleted device's removal");
            }
            Err(e) => {
                tracing::warn!(%room, %client, error = %e, "asking a hub to remove a deleted device")
            }
        }
    }
}

/// What `client` needs to join room `id` of another provider, from the room's hub: the
/// request signed by this provider for its user, the answer decrypted here.
pub async fn relay_group_info(
    state: &AppState,
    id: &RoomId,
    client: &ClientId,
    link: Option<&mimi_api::JoinInfo>,
) -> Result<mimi_api::GroupInfo, ApiError> {
    let peers = super::peers(state, "foreign-room")?;
    let (public, private) = mimi_mls::hpke::key_pair()?;
    let (key, _) = state.hub.signing_identity()?;
    let joining_code = match link {
        Some(l) if l.link.is_some() || l.password.is_some() => {
            serde_json::to_vec(l).map_err(|e| ApiError::Unavailable(e.to_string()))?
        }
        _ => Vec::new(),
    };
    let mut request = GroupInfoRequest {
        tbs: GroupInfoRequestTbs {
            cipher_suite: mimi_mls::CIPHERSUITE as u16,
            requesting_signature_key: key.into(),
            requesting_credential: Mls::new(mimi_mls::identity::credential_bytes(client)?)
                .map_err(encoding)?,
            group_info_public_key: public.into(),
            joining_code: joining_code.into(),
        },
        signature: Vec::new().into(),
    };
    request.signature = state
        .hub
        .sign_content(&request.signed_content().map_err(encoding)?)?
        .into();
    let domain = id.domain();
    let (status, headers, body) = peers
        .post_with(
            domain,
            |d| &d.group_info,
            id.as_str(),
            &[],
            mimi_protocol::encode(&request).map_err(encoding)?,
        )
        .await?;
    if status != 200 {
        return Err(refusal(domain, status, &headers, &body, "groupInfo"));
    }
    let answer: GroupInfoResponse = mimi_protocol::decode_exact(&body)
        .map_err(|e| refused(domain, status, format!("not a GroupInfoResponse: {e}")))?;
    if answer.room_id.as_slice() != id.as_str().as_bytes() {
        return Err(refused(domain, status, "an answer about another room"));
    }
    let success = match answer.outcome {
        GroupInfoOutcome::Success(s) => s,
        GroupInfoOutcome::NoSuchRoom => {
            return Err(relayed_error(&headers).unwrap_or_else(|| ApiError::NoRoom(id.clone())));
        }
        GroupInfoOutcome::NotAuthorized => {
            return Err(relayed_error(&headers).unwrap_or_else(|| {
                ApiError::forbidden("not-authorized", format!("{domain} refuses"))
            }));
        }
    };
    // Signed by the hub as the room lists it: the key, then the provider's credential.
    let (hub_key, hub_credential) =
        VLBytes::tls_deserialize_bytes(success.hub_sender.as_bytes())
            .map_err(|e| refused(domain, status, format!("hub_sender: {e}")))?;
    let hub = mimi_policy::id::ProviderId::parse(domain)
        .map_err(|e| ApiError::bad_request("bad-room", e.to_string()))?;
    let signed =
        GroupInfoResponse::signed_content(id.as_str().as_bytes(), &success).map_err(encoding)?;
    state
        .hub
        .verify_peer_content(
            &hub,
            hub_key.as_slice(),
            hub_credential,
            &signed,
            success.signature.as_slice(),
        )
        .map_err(|e| refused(domain, status, e.to_string()))?;
    let plain = mimi_mls::hpke::open(
        &private,
        GROUP_INFO_ENCRYPTION_LABEL,
        id.as_str().as_bytes(),
        success.encrypted_groupinfo_and_tree.as_bytes(),
    )
    .map_err(|e| refused(domain, status, e.to_string()))?;
    let tbe: GroupInfoRatchetTreeTbe = mimi_protocol::decode_exact(&plain)
        .map_err(|e| refused(domain, status, format!("the GroupInfo and tree: {e}")))?;
    let RatchetTreeOption::Full(tree) = tbe.ratchet_tree else {
        return Err(refused(domain, status, "no ratchet tree"));
    };
    let to_b64 = crate::routes::to_b64;
    Ok(mimi_api::GroupInfo {
        group_info: to_b64(&tbe.group_info.to_message()),
        ratchet_tree: to_b64(tree.as_bytes()),
        epoch: number(&headers, MIMI_EPOCH).unwrap_or_default(),
        // This provider's own claims about its user, for the hub and members to check.
        claims: crate::routes::group_info::signed_claims(state, client)?,
        vacant: None,
    })
}

/// `client`'s commit or proposal for room `id` of another provider, relayed to its hub:
/// where the hub put it.
pub async fn relay_handshake(
    state: &AppState,
    id: &RoomId,
    client: &ClientId,
    submitted: &Submitted,
) -> Result<Stored, ApiError> {
    let peers = super::peers(state, "foreign-room")?;
    let mls = |what: &str, e: tls_codec::Error| {
        ApiError::bad_request("bad-mls", format!("{what} is not an MLS message: {e}"))
    };
    let message =
        Mls::<MlsMessage>::new(submitted.message.clone()).map_err(|e| mls("the handshake", e))?;
    let bundle = match &submitted.group_info {
        Some(group_info) => HandshakeBundle::Commit {
            commit: message,
            welcome: submitted
                .welcome
                .as_deref()
                .map(Mls::<Welcome>::from_message)
                .transpose()
                .map_err(|e| mls("the Welcome", e))?,
            group_info: GroupInfoOption(
                Mls::<GroupInfo>::from_message(group_info).map_err(|e| mls("the GroupInfo", e))?,
            ),
            // The hub has the tree: it applies the commit to its own.
            ratchet_tree: RatchetTreeOption::OutOfBand,
        },
        None => HandshakeBundle::Proposal {
            proposal: message,
            more_proposals: Vec::new(),
        },
    };
    let bytes = mimi_protocol::encode(&bundle)
        .map_err(|e| ApiError::bad_request("bad-mls", format!("the handshake: {e}")))?;
    let domain = id.domain();
    let (status, headers, body) = peers
        .post_with(
            domain,
            |d| &d.update,
            id.as_str(),
            &[(MIMI_CLIENT, header_value(&client.to_string()))],
            bytes,
        )
        .await?;
    if status != 200 {
        return Err(refusal(domain, status, &headers, &body, "update"));
    }
    let answer: UpdateRoomResponse = mimi_protocol::decode_exact(&body)
        .map_err(|e| refused(domain, status, format!("not an UpdateRoomResponse: {e}")))?;
    match answer.outcome {
        UpdateOutcome::Success { .. } => {
            if submitted.group_info.is_some() {
                // In the room now (or still): a new device of the user joins it too, and
                // a deletion of this one is told to the hub; a knock on it is answered.
                state.store.record_foreign_room(client, id).await?;
                state.store.withdraw_knock(id, client.user()).await?;
            }
            Ok(Stored {
                epoch: number(&headers, MIMI_EPOCH).unwrap_or_default(),
                seq: number(&headers, MIMI_SEQ).unwrap_or_default(),
            })
        }
        UpdateOutcome::WrongEpoch { current_epoch } => Err(relayed_error(&headers).unwrap_or(
            ApiError::Mls(MlsError::WrongEpoch {
                current: current_epoch,
            }),
        )),
        UpdateOutcome::NotAllowed | UpdateOutcome::InvalidProposal { .. } => {
            Err(relayed_error(&headers).unwrap_or_else(|| {
                ApiError::forbidden("not-allowed", answer.error_description.to_string())
            }))
        }
    }
}

/// `client`'s application messages for room `id` of another provider, relayed to its hub
/// one by one: their places in the room's log.
pub async fn relay_messages(
    state: &AppState,
    id: &RoomId,
    client: &ClientId,
    messages: Vec<Vec<u8>>,
) -> Result<Vec<u64>, ApiError> {
    let peers = super::peers(state, "foreign-room")?;
    let domain = id.domain();
    let many = messages.len() > 1;
    let mut seqs = Vec::with_capacity(messages.len());
    for (i, message) in messages.into_iter().enumerate() {
        let within = |e: ApiError| match (many, i) {
            (false, _) => e,
            (true, 0) => e.within("messages[0]"),
            // Relayed one by one: those before it were taken.
            (true, _) => e.within(&format!("messages[{i}] (messages[0..{i}] were stored)")),
        };
        let request = SubmitMessageRequest {
            app_message: Mls::new(message).map_err(|e| {
                within(ApiError::bad_request(
                    "bad-mls",
                    format!("not an MLS message: {e}"),
                ))
            })?,
            sending_uri: text(&client.to_string())?,
        };
        let request = mimi_protocol::encode(&request).map_err(encoding)?;
        let (status, headers, body) = peers
            .post_with(domain, |d| &d.submit_message, id.as_str(), &[], request)
            .await?;
        if status != 200 {
            return Err(within(refusal(
                domain,
                status,
                &headers,
                &body,
                "submitMessage",
            )));
        }
        let answer: SubmitMessageResponse = mimi_protocol::decode_exact(&body)
            .map_err(|e| refused(domain, status, format!("not a SubmitMessageResponse: {e}")))?;
        match answer {
            SubmitMessageResponse::Accepted { .. } => {
                seqs.push(number(&headers, MIMI_SEQ).unwrap_or_default());
            }
            SubmitMessageResponse::EpochTooOld { current_epoch } => {
                return Err(within(relayed_error(&headers).unwrap_or(ApiError::Mls(
                    MlsError::WrongEpoch {
                        current: current_epoch,
                    },
                ))));
            }
            SubmitMessageResponse::NotAllowed => {
                return Err(within(relayed_error(&headers).unwrap_or_else(|| {
                    ApiError::forbidden("not-allowed", format!("{domain} refuses the message"))
                })));
            }
        }
    }
    Ok(seqs)
}

/// Fanout of `entries` (of one room, in order) as a notify body and the senders' header.
pub(crate) fn fanout_of(entries: &[LogEntry]) -> Result<(Vec<u8>, String), ApiError> {
    use mimi_protocol::submit::{FanoutMessage, encode_fanout};
    let now = now_ms();
    let mut messages = Vec::with_capacity(entries.len());
    let mut senders = String::new();
    for e in entries {
        let message = Mls::<MlsMessage>::new(e.body.clone()).map_err(encoding)?;
        let body = match e.kind {
            EntryKind::Message => FanoutBody::Application {
                message,
                frank: None,
            },
            EntryKind::Proposal => FanoutBody::Proposal {
                message,
                more_proposals: Vec::new(),
            },
            EntryKind::Commit => FanoutBody::Commit {
                message,
                external_proposals: Vec::new(),
            },
        };
        messages.push(FanoutMessage {
            timestamp: now,
            body,
        });
        if !senders.is_empty() {
            senders.push(' ');
        }
        senders.push_str(&header_value(&e.sender));
    }
    Ok((encode_fanout(&messages).map_err(encoding)?, senders))
}
