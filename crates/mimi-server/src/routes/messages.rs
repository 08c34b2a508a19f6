//! `POST /v1/rooms/{provider}/{room}/messages`: application messages, checked by the hub
//! (a PrivateMessage of the current epoch from a device that may speak) and written by the
//! group-commit writer. They stay opaque to the provider.

use axum::Json;
use axum::extract::State;
use mimi_mls::MlsError;
use mimi_mls::hub::HubRoom;
use mimi_policy::id::{ClientId, RoomId};
use mimi_store::{EntryKind, NewEntry, StoreError};

use super::{ApiJson, ApiPath, b64, room_anywhere, visible};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::handshake::RETRIES;
use crate::state::AppState;
use mimi_api::{Message, Sent};

/// Most messages in one request.
pub const MAX_MESSAGES: usize = 100;

/// Largest application message, in bytes (as Matrix bounds an event): a message is text
/// and references; larger content travels apart from the room's log, which every member
/// device reads.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Submits application messages: PrivateMessages of the current epoch from a device that
/// may speak in the room. They stay opaque to the provider.
#[utoipa::path(post, path = "/v1/rooms/{provider}/{room}/messages", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), request_body = Message, responses((status = 200, description = "stored", body = Sent), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn message(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Message>,
) -> Result<Json<Sent>, ApiError> {
    let result = store_messages(&state, &caller, &provider, &name, &body).await;
    // Each message counts once; a request refused as a whole for its batch's size counts
    // as one.
    let count = match (&result, &body.messages) {
        (Ok(seqs), _) => seqs.len(),
        (Err(_), Some(m)) if (1..=MAX_MESSAGES).contains(&m.len()) => m.len(),
        (Err(_), _) => 1,
    };
    for _ in 0..count {
        state.metrics.message(match &result {
            Ok(_) => "accepted",
            Err(e) => e.metric_code(),
        });
    }
    let seqs = result?;
    Ok(Json(if body.messages.is_some() {
        Sent {
            seq: None,
            seqs: Some(seqs),
        }
    } else {
        Sent {
            seq: seqs.first().copied(),
            seqs: None,
        }
    }))
}

async fn store_messages(
    state: &AppState,
    caller: &Caller,
    provider: &str,
    name: &str,
    body: &Message,
) -> Result<Vec<u64>, ApiError> {
    let (id, hosted) = room_anywhere(state, provider, name)?;
    let client = caller.device()?.clone();
    let bytes: Vec<Vec<u8>> = match (&body.message, &body.messages) {
        (Some(one), None) => vec![b64("message", one)?],
        (None, Some(many)) if !many.is_empty() && many.len() <= MAX_MESSAGES => many
            .iter()
            .enumerate()
            .map(|(i, m)| b64(&format!("messages[{i}]"), m))
            .collect::<Result<_, _>>()?,
        (None, Some(_)) => {
            return Err(ApiError::bad_request(
                "bad-batch",
                format!("`messages` holds 1 to {MAX_MESSAGES} messages"),
            ));
        }
        _ => {
            return Err(ApiError::bad_request(
                "bad-json",
                "give `message` or `messages`, not both",
            ));
        }
    };
    if let Some((i, m)) = bytes
        .iter()
        .enumerate()
        .find(|(_, m)| m.len() > MAX_MESSAGE_BYTES)
    {
        let which = if bytes.len() > 1 {
            format!("messages[{i}]")
        } else {
            "the message".to_owned()
        };
        return Err(ApiError::TooLarge(format!(
            "{which} is {} bytes; a message has at most {MAX_MESSAGE_BYTES}",
            m.len()
        )));
    }
    if !hosted {
        // The room's hub decides; this provider relays.
        return crate::federation::rooms::relay_messages(state, &id, &client, bytes).await;
    }
    store_checked(state, &id, &client, &bytes).await
}

/// Stores `client`'s messages (sizes checked) in room `id`, hosted here, after the hub
/// checked them: their places in the log.
pub(crate) async fn store_checked(
    state: &AppState,
    id: &RoomId,
    client: &ClientId,
    bytes: &[Vec<u8>],
) -> Result<Vec<u64>, ApiError> {
    let id = id.clone();
    let client = client.clone();
    let hashes: Vec<[u8; 32]> = bytes
        .iter()
        .map(|b| sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(b)).into())
        .collect();
    // This process's view of the room, until it refuses something: then the database's.
    let mut fresh = false;
    for _ in 0..RETRIES {
        // Checked under the room's lock, written after it: messages of one room batch
        // together, and the write is refused if a commit changed the epoch meanwhile.
        let checked = {
            let room = if fresh {
                state.room(&id).await?
            } else {
                state.room_cached(&id).await?
            };
            match check_messages(state, &room.hub, &id, &client, bytes) {
                Checked::Epoch(epoch) => match replayed(&room.recent, epoch, &hashes) {
                    Some(e) => Checked::Refused(e),
                    None => Checked::Epoch(epoch),
                },
                other => other,
            }
        };
        let epoch = match checked {
            Checked::Epoch(epoch) => epoch,
            // Another process may have taken a commit this one has not seen (one that
            // added the client, or moved the room to the message's epoch): only the room
            // as the database has it refuses.
            Checked::Behind(_) if !fresh => {
                fresh = true;
                continue;
            }
            Checked::Behind(e) | Checked::Refused(e) => return Err(e),
        };
        let entries = bytes
            .iter()
            .map(|b| NewEntry {
                kind: EntryKind::Message,
                sender: client.to_string(),
                body: b.clone(),
            })
            .collect();
        match state.writer.append(id.clone(), epoch, entries).await {
            Ok(seqs) => {
                if let Ok(mut room) = state.room_cached(&id).await {
                    room.recent.insert(epoch, hashes.iter().copied());
                }
                return Ok(seqs);
            }
            // A commit changed the room: read it again and check the messages again.
            Err(StoreError::Stale { .. }) => fresh = true,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Busy)
}

/// `409 duplicate-message` if one of the messages (by `hashes`) was stored in `epoch`
/// already, or comes twice: a replay, by a client or a peer provider.
fn replayed(
    recent: &crate::state::RecentMessages,
    epoch: u64,
    hashes: &[[u8; 32]],
) -> Option<ApiError> {
    let mut seen = std::collections::HashSet::new();
    hashes
        .iter()
        .enumerate()
        .find(|(_, h)| recent.contains(epoch, h) || !seen.insert(**h))
        .map(|(i, _)| {
            let e = ApiError::Conflict {
                code: "duplicate-message",
                message: "this message was stored already (sent again?)".into(),
            };
            if hashes.len() > 1 {
                e.within(&format!("messages[{i}]"))
            } else {
                e
            }
        })
}

/// What this process's view of a room says of messages.
enum Checked {
    /// Accepted, in this epoch.
    Epoch(u64),
    /// Refused by a view that may be behind the database (the client not in the room, the
    /// message of another epoch).
    Behind(ApiError),
    /// Refused whatever the view.
    Refused(ApiError),
}

/// Checks application messages from `client` against `hub_room`.
fn check_messages(
    state: &AppState,
    hub_room: &HubRoom,
    id: &RoomId,
    client: &ClientId,
    bytes: &[Vec<u8>],
) -> Checked {
    let room = hub_room.policy();
    if !room.has_client(client.user(), client.name()) {
        // A hidden room is not there for users it has no place for.
        return Checked::Behind(visible(room, id, client.user()).err().unwrap_or_else(|| {
            ApiError::forbidden("not-a-member", format!("{client} is not in {id}"))
        }));
    }
    for (i, m) in bytes.iter().enumerate() {
        if let Err(e) = hub_room.check_message(&state.hub, client, m) {
            let behind = matches!(e, MlsError::WrongEpoch { .. });
            let mut e = ApiError::from(e);
            if bytes.len() > 1 {
                e = e.within(&format!("messages[{i}]"));
            }
            return if behind {
                Checked::Behind(e)
            } else {
                Checked::Refused(e)
            };
        }
    }
    Checked::Epoch(hub_room.epoch())
}
