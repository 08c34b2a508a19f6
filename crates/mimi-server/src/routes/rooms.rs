//! Rooms: creation from the creator's new group, the room document, the directory, and
//! every handshake and message, checked by the hub and made durable before the answer.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mimi_mls::hub::{Accepted, HubRoom};
use mimi_policy::id::{ClientId, RoomId, UserId};
use mimi_policy::operation::Action;
use mimi_policy::role::NO_ROLE;
use mimi_policy::{Actor, Operation, Room, authorize};
use mimi_store::{EntryKind, NewEntry, NewRoom, RoomUpdate, Store as _, StoreError};
use serde::{Deserialize, Serialize};
use tls_codec::Serialize as _;

use super::{ApiJson, ApiPath, b64, to_b64};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::{AppState, CachedRoom};

/// How often a request is re-run against a room another process changed meanwhile.
const RETRIES: usize = 3;

fn room_id(state: &AppState, provider: &str, name: &str) -> Result<RoomId, ApiError> {
    let id = RoomId::new(provider, name)
        .map_err(|e| ApiError::bad_request("bad-room", format!("not a room ID: {e}")))?;
    if id.domain() != state.domain.domain() {
        return Err(ApiError::not_found(format!(
            "{id} is not hosted here; federation is not built yet"
        )));
    }
    Ok(id)
}

/// Whether `room` is hidden and has no place for `user` (no role, not even banned): to such
/// a user the room does not exist, and every refusal says so alike (404), as for a room
/// that is not there.
fn hidden_from(room: &Room, user: &UserId) -> bool {
    !room.components().base.discoverable.0 && room.role_of(user) == NO_ROLE
}

fn clients_of(room: &Room) -> BTreeSet<ClientId> {
    room.clients()
        .iter()
        .flat_map(|(user, names)| {
            names
                .iter()
                .filter_map(move |n| ClientId::new(user.clone(), n).ok())
        })
        .collect()
}

fn document(room: &Room) -> String {
    mimi_policy::document::room_to_value(room).to_string()
}

/// The provider as rooms name it.
#[derive(Serialize)]
pub struct Provider {
    domain: String,
    external_sender: String,
}

/// The provider's domain and the `ExternalSender` (TLS, base64) every room it hosts must list.
pub async fn provider(State(state): State<AppState>) -> Result<Json<Provider>, ApiError> {
    let sender = state
        .hub
        .external_sender()
        .tls_serialize_detached()
        .map_err(|e| ApiError::bad_request("internal", e.to_string()))?;
    Ok(Json(Provider {
        domain: state.domain.domain().to_owned(),
        external_sender: to_b64(&sender),
    }))
}

/// `POST /v1/rooms`: the creator's new group.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Create {
    group_info: String,
    ratchet_tree: String,
}

/// A room and its epoch.
#[derive(Serialize)]
pub struct Created {
    room: String,
    epoch: u64,
}

/// Hosts a new room: the group must name this provider as external sender, carry a valid
/// policy that lets the caller create it, and hold only the caller's device.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Create>,
) -> Result<impl IntoResponse, ApiError> {
    let client = caller.device()?.clone();
    let gi = b64("group_info", &body.group_info)?;
    let tree = b64("ratchet_tree", &body.ratchet_tree)?;
    let hosted = state.hub.load_room(&gi, &tree)?;
    let room = hosted.room()?;
    let id = room
        .id
        .clone()
        .ok_or_else(|| ApiError::bad_request("invalid-policy", "the room has no ID"))?;
    if id.domain() != state.domain.domain() {
        return Err(ApiError::bad_request(
            "foreign-room",
            format!("{id} is not a room of {}", state.domain),
        ));
    }
    // The seed: the hosting provider's system user owns the room (it removes deleted devices
    // and banned users through the hub).
    let system = mimi_policy::id::UserId::new(state.domain.domain(), "system")
        .map_err(|e| ApiError::bad_request("invalid-policy", e.to_string()))?;
    if room
        .seed()
        .is_some_and(|seed| !seed.is_owning_system(&system))
    {
        return Err(ApiError::bad_request(
            "invalid-policy",
            format!(
                "a room hosted by {} names {system} as owning system",
                state.domain
            ),
        ));
    }
    let members = clients_of(&room);
    if members.len() != 1 || !members.contains(&client) {
        return Err(ApiError::forbidden(
            "not-creator",
            "a new room's group holds only the creating device",
        ));
    }
    let new = NewRoom {
        id: id.clone(),
        epoch: hosted.epoch(),
        snapshot: hosted.snapshot()?,
        document: document(&room),
        discoverable: room.components().base.discoverable.0,
        members: vec![client],
    };
    state.store.create_room(&new).await?;
    tracing::info!(room = %id, creator = %caller.user, "room created");
    Ok((
        StatusCode::CREATED,
        Json(Created {
            room: id.to_string(),
            epoch: new.epoch,
        }),
    ))
}

/// The room document, as `mimi policy check` reads it: for discoverable rooms, members,
/// and users the room lets fetch its GroupInfo (those who may join). To anyone else a
/// hidden room does not exist.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let id = room_id(&state, &provider, &name)?;
    let mut cached = state.room(&id).await?;
    let room = cached.hub_room()?.policy();
    let visible = room.components().base.discoverable.0
        || room.clients().contains_key(&caller.user)
        || authorize(
            room,
            &Operation {
                actor: Actor::user(caller.user.clone(), None),
                action: Action::FetchGroupInfo { link: None },
            },
        )
        .is_allowed();
    if !visible {
        return Err(ApiError::not_found(format!("no room {id} here")));
    }
    Ok(Json(mimi_policy::document::room_to_value(room)))
}

/// A knock, recorded.
#[derive(Serialize)]
pub struct Knocked {
    room: String,
    user: String,
    /// How many users were told now (those the room lets accept knocks); 0 when the knock
    /// was already pending and they were told then.
    told: usize,
}

/// The caller knocks on a room: asks those the room lets accept knocks to add it. The
/// knock is the caller's consent to be added to this room by them; each of their devices
/// hears of it once (`knocks` in `/v1/sync`). A hidden room that refuses the caller's knock
/// does not exist for the caller.
pub async fn knock(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
) -> Result<(StatusCode, Json<Knocked>), ApiError> {
    let id = room_id(&state, &provider, &name)?;
    let (decision, discoverable, moderators) = {
        let mut cached = state.room(&id).await?;
        let room = cached.hub_room()?.policy();
        let decision = authorize(
            room,
            &Operation {
                actor: Actor::user(caller.user.clone(), None),
                action: Action::Knock,
            },
        );
        let moderators: Vec<UserId> = room
            .clients()
            .keys()
            .filter(|u| super::consent::answers_knock(room, u, &caller.user))
            .cloned()
            .collect();
        (decision, room.components().base.discoverable.0, moderators)
    };
    if !decision.is_allowed() {
        if !discoverable && decision.code() != "no-change" {
            return Err(ApiError::not_found(format!("no room {id} here")));
        }
        return Err(mimi_mls::MlsError::Denied(decision).into());
    }
    let new = state.store.knock(&id, &caller.user, &moderators).await?;
    tracing::info!(room = %id, user = %caller.user, "knock");
    Ok((
        StatusCode::ACCEPTED,
        Json(Knocked {
            room: id.to_string(),
            user: caller.user.to_string(),
            told: if new { moderators.len() } else { 0 },
        }),
    ))
}

/// `404 no-knock`: `user` has no pending knock on `room`.
fn no_knock(user: &UserId, room: &RoomId) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no-knock",
        format!("{user} has no pending knock on {room}"),
    )
}

/// A knock, withdrawn.
#[derive(Serialize)]
pub struct Withdrawn {
    room: String,
    user: String,
    withdrawn: bool,
}

/// Withdraws the caller's pending knock on a room: it no longer lets anyone add the caller
/// without consent, and moderators' devices that have not yet heard of it never will.
/// `404 no-knock` when there is none.
pub async fn withdraw_knock(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
) -> Result<Json<Withdrawn>, ApiError> {
    let id = room_id(&state, &provider, &name)?;
    if !state.store.withdraw_knock(&id, &caller.user).await? {
        return Err(no_knock(&caller.user, &id));
    }
    tracing::info!(room = %id, user = %caller.user, "knock withdrawn");
    Ok(Json(Withdrawn {
        room: id.to_string(),
        user: caller.user.to_string(),
        withdrawn: true,
    }))
}

/// A knock, declined.
#[derive(Serialize)]
pub struct Declined {
    room: String,
    user: String,
    declined: bool,
}

/// Declines `user`'s pending knock on a room, for a caller the room lets answer it: the
/// knock no longer lets anyone add the user without consent, and devices that have not yet
/// heard of it never will. The user may knock again (a moderator who wants it kept out
/// bans it). `404 no-knock` when there is none.
pub async fn decline_knock(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name, user)): ApiPath<(String, String, String)>,
) -> Result<Json<Declined>, ApiError> {
    let id = room_id(&state, &provider, &name)?;
    let knocker = super::local_user(&state, "user", &user)?;
    let (decision, hidden_from_caller) = {
        let mut cached = state.room(&id).await?;
        let room = cached.hub_room()?.policy();
        (
            super::consent::knock_answer(room, &caller.user, &knocker),
            hidden_from(room, &caller.user),
        )
    };
    if !decision.is_allowed() {
        if hidden_from_caller {
            return Err(ApiError::not_found(format!("no room {id} here")));
        }
        // A knocker banned or already in the room has no knock left: the change that put
        // it there answered it.
        if matches!(decision.code(), "banned" | "no-change") {
            return Err(no_knock(&knocker, &id));
        }
        return Err(mimi_mls::MlsError::Denied(decision).into());
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

/// One room of the directory.
#[derive(Serialize)]
pub struct Listed {
    room: String,
    document: serde_json::Value,
}

/// The directory.
#[derive(Serialize)]
pub struct Directory {
    rooms: Vec<Listed>,
}

/// The discoverable rooms; hidden rooms are never listed.
pub async fn directory(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Directory>, ApiError> {
    let rooms = state
        .store
        .directory()
        .await?
        .into_iter()
        .map(|e| Listed {
            room: e.id.to_string(),
            document: serde_json::from_str(&e.document).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(Json(Directory { rooms }))
}

/// `POST .../commits`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    commit: String,
    group_info: String,
    #[serde(default)]
    welcome: Option<String>,
}

/// `POST .../proposals`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    proposal: String,
}

/// Who a change adds to and removes from the group, who it gives a place in the room
/// (their knocks are answered), and the Welcome for the added.
#[derive(Default)]
struct Members {
    added: Vec<ClientId>,
    removed: Vec<ClientId>,
    placed: Vec<UserId>,
    welcome: Option<Vec<u8>>,
}

/// Writes the hub state `cached` now holds (after a merged commit or a stored proposal) with
/// its log entry, if the room is still at `version`, the version it was read at. Returns the
/// epoch and the entry's sequence number, or `None` when another process changed the room
/// first. The caller marked the cached room unloaded before changing it ([`begin_change`]);
/// only a successful write makes it current again, so a failed or cancelled write never
/// leaves this process's view ahead of the database.
async fn store_change(
    state: &AppState,
    id: &RoomId,
    cached: &mut CachedRoom,
    version: u64,
    entry: NewEntry,
    members: Members,
) -> Result<Option<(u64, u64)>, ApiError> {
    let hub_room = cached.hub_room()?;
    let room = hub_room.policy();
    let ratchet_tree = match members.welcome {
        Some(_) => Some(hub_room.ratchet_tree()?),
        None => None,
    };
    let update = RoomUpdate {
        id: id.clone(),
        expected_version: version,
        epoch: hub_room.epoch(),
        snapshot: hub_room.snapshot()?,
        document: document(room),
        discoverable: room.components().base.discoverable.0,
        entry,
        added: members.added,
        removed: members.removed,
        answered_knocks: members.placed,
        welcome: members.welcome,
        ratchet_tree,
    };
    match state.store.update_room(&update).await {
        Ok(seq) => {
            cached.version = version + 1;
            let _ = state.notifier.send(());
            Ok(Some((update.epoch, seq)))
        }
        Err(StoreError::Stale { .. }) => {
            cached.room = None;
            Ok(None)
        }
        Err(other) => {
            cached.room = None;
            Err(other.into())
        }
    }
}

/// Marks `cached` as not matching any stored version before the hub changes it in memory,
/// and returns the version it was read at: until [`store_change`] writes the change, the
/// next request reads the room from the database again.
fn begin_change(cached: &mut CachedRoom) -> u64 {
    std::mem::take(&mut cached.version)
}

/// A handshake's outcome.
#[derive(Serialize)]
pub struct Handshake {
    epoch: u64,
    seq: u64,
}

struct Submitted {
    message: Vec<u8>,
    group_info: Option<Vec<u8>>,
    welcome: Option<Vec<u8>>,
}

/// Runs a handshake message through the hub and stores the result; re-runs it when another
/// process changed the room meanwhile (then it usually ends as `wrong-epoch`).
async fn handshake(
    state: &AppState,
    id: &RoomId,
    client: &ClientId,
    submitted: Submitted,
) -> Result<Handshake, ApiError> {
    for _ in 0..RETRIES {
        let mut cached = state.room(id).await?;
        let version = cached.version;
        let hub_room: &mut HubRoom = cached.hub_room()?;
        let before = clients_of(hub_room.policy());
        // The room as it was, for the commit-time consent checks (below).
        let before_room = hub_room.policy().clone();
        // A refused message leaves the hub room as it was; an accepted one is merged in
        // memory, so the cached room is marked unloaded at once (no await in between).
        let accepted = hub_room.process_as(
            &state.hub,
            client,
            &submitted.message,
            submitted.group_info.as_deref(),
        )?;
        begin_change(&mut cached);
        let after = clients_of(cached.hub_room()?.policy());
        // Every user the commit adds, other than the committer itself, must have let the
        // committer add it to this room.
        let newcomers: BTreeSet<UserId> = after
            .difference(&before)
            .map(|c| c.user().clone())
            .filter(|u| u != client.user())
            .collect();
        for user in &newcomers {
            super::consent::may_add(state, client.user(), user, id, &before_room).await?;
        }
        let kind = match accepted {
            Accepted::Commit { .. } => EntryKind::Commit,
            Accepted::Proposal => EntryKind::Proposal,
        };
        let entry = NewEntry {
            kind,
            sender: client.to_string(),
            body: submitted.message.clone(),
        };
        // Users outside the room before and in it (or banned from it) now.
        let placed = {
            let after_room = cached.hub_room()?.policy();
            after_room
                .participants()
                .entries()
                .iter()
                .filter(|e| before_room.role_of(&e.user) == NO_ROLE)
                .map(|e| e.user.clone())
                .collect()
        };
        let changes = Members {
            added: after.difference(&before).cloned().collect(),
            removed: before.difference(&after).cloned().collect(),
            placed,
            welcome: submitted.welcome.clone(),
        };
        if let Some((epoch, seq)) =
            store_change(state, id, &mut cached, version, entry, changes).await?
        {
            // KeyPackages claimed under the allowance are used now.
            for user in &newcomers {
                if let Err(e) = state
                    .store
                    .use_allowance_claims(client.user(), user, id)
                    .await
                {
                    tracing::warn!(error = %e, "ending allowance claims");
                }
            }
            return Ok(Handshake { epoch, seq });
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "busy",
        "the room kept changing; try again",
    ))
}

fn counted(
    state: &AppState,
    result: Result<Handshake, ApiError>,
) -> Result<Json<Handshake>, ApiError> {
    state.metrics.handshake(match &result {
        Ok(_) => "accepted",
        Err(e) => &e.code,
    });
    result.map(Json)
}

/// The hub proposes removing `client` from `room` (a deleted device) as the room's external
/// sender, unless it did so already in the room's current epoch (`proposed`); the proposal
/// is stored and delivered, and a member commits it. Returns the epoch the proposal stands
/// in, or `None` when the room no longer holds the client (the removal is done).
async fn hub_remove(
    state: &AppState,
    id: &RoomId,
    client: &ClientId,
    proposed: Option<u64>,
) -> Result<Option<u64>, ApiError> {
    for _ in 0..RETRIES {
        let mut cached = state.room(id).await?;
        let hub_room = cached.hub_room()?;
        if !clients_of(hub_room.policy()).contains(client) {
            return Ok(None);
        }
        let epoch = hub_room.epoch();
        if proposed == Some(epoch) {
            // Proposed in this epoch already: waiting for a member's commit.
            return Ok(Some(epoch));
        }
        let version = cached.version;
        let proposal = cached.hub_room()?.propose_remove(&state.hub, client)?;
        begin_change(&mut cached);
        let entry = NewEntry {
            kind: EntryKind::Proposal,
            sender: state.domain.to_string(),
            body: proposal,
        };
        let changes = Members::default();
        if let Some((epoch, _)) =
            store_change(state, id, &mut cached, version, entry, changes).await?
        {
            return Ok(Some(epoch));
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "busy",
        "the room kept changing; try again",
    ))
}

/// Carries out the pending removals of deleted devices from their rooms (up to `limit`),
/// one sweep at a time per process: the hub proposes each removal once per epoch until a
/// member's commit removes the device (that commit ends it, see `Store::update_room`), and
/// a removal from a room that no longer holds the device, or is gone, ends here. A removal
/// that fails for a passing reason (the database, a busy room) stays for the next sweep.
/// Returns how many are still pending of those tried.
pub async fn sweep_removals(state: &AppState, limit: u32) -> Result<usize, ApiError> {
    let _one_at_a_time = state.sweeping.lock().await;
    let mut left = 0;
    for pending in state.store.pending_removals(limit).await? {
        let (room, client) = (&pending.room, &pending.client);
        match hub_remove(state, room, client, pending.proposed_epoch).await {
            Ok(None) => state.store.finish_removal(room, client).await?,
            Ok(Some(epoch)) => {
                if pending.proposed_epoch != Some(epoch) {
                    state.store.removal_proposed(room, client, epoch).await?;
                }
                left += 1;
            }
            // The room is gone or refuses the proposal for good: nothing more to do.
            Err(e) if e.status.is_client_error() && e.code != "busy" => {
                tracing::warn!(%room, %client, code = %e.code, "{}", e.message);
                state.store.finish_removal(room, client).await?;
            }
            Err(e) => {
                tracing::warn!(%room, %client, code = %e.code, "removal stays pending: {}", e.message);
                left += 1;
            }
        }
    }
    Ok(left)
}

/// Submits a commit with the GroupInfo of its new epoch (and a Welcome for added clients).
pub async fn commit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Commit>,
) -> Result<Json<Handshake>, ApiError> {
    let id = room_id(&state, &provider, &name)?;
    let client = caller.device()?.clone();
    let submitted = Submitted {
        message: b64("commit", &body.commit)?,
        group_info: Some(b64("group_info", &body.group_info)?),
        welcome: body
            .welcome
            .as_deref()
            .map(|w| b64("welcome", w))
            .transpose()?,
    };
    counted(&state, handshake(&state, &id, &client, submitted).await)
}

/// Submits a standalone proposal (SelfRemove, Remove, Update, participant-list update).
pub async fn proposal(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Proposal>,
) -> Result<Json<Handshake>, ApiError> {
    let id = room_id(&state, &provider, &name)?;
    let client = caller.device()?.clone();
    let submitted = Submitted {
        message: b64("proposal", &body.proposal)?,
        group_info: None,
        welcome: None,
    };
    counted(&state, handshake(&state, &id, &client, submitted).await)
}

/// Most messages in one request.
pub const MAX_MESSAGES: usize = 100;

/// Largest application message, in bytes (as Matrix bounds an event): a message is text
/// and references; larger content travels apart from the room's log, which every member
/// device reads.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// `POST .../messages`: one message, or several sent together (a client flushing what it
/// queued); each is checked, all are stored or none.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    messages: Option<Vec<String>>,
}

/// Stored messages: `seq` for one, `seqs` for several.
#[derive(Serialize)]
pub struct Sent {
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seqs: Option<Vec<u64>>,
}

/// Submits application messages: PrivateMessages of the current epoch from a device that
/// may speak in the room. They stay opaque to the provider.
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
            Err(e) => &e.code,
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
    let id = room_id(state, provider, name)?;
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
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!(
                "{which} is {} bytes; a message has at most {MAX_MESSAGE_BYTES}",
                m.len()
            ),
        ));
    }
    // This process's view of the room, until it refuses something: then the database's.
    let mut fresh = false;
    for _ in 0..RETRIES {
        // Checked under the room's lock, written after it: messages of one room batch
        // together, and the write is refused if a commit changed the epoch meanwhile.
        let checked = {
            let mut cached = if fresh {
                state.room(&id).await?
            } else {
                state.room_cached(&id).await?
            };
            check_messages(state, cached.hub_room()?, &id, &client, &bytes)
        };
        let epoch = match checked {
            Ok(epoch) => epoch,
            // Another process may have taken a commit this one has not seen (one that
            // added the client, or moved the room to the message's epoch): only the room
            // as the database has it refuses.
            Err(e)
                if !fresh
                    && matches!(
                        e.code.as_str(),
                        "not-a-member" | "not-found" | "wrong-epoch"
                    ) =>
            {
                fresh = true;
                continue;
            }
            Err(e) => return Err(e),
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
            Ok(seqs) => return Ok(seqs),
            // A commit changed the room: read it again and check the messages again.
            Err(StoreError::Stale { .. }) => fresh = true,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "busy",
        "the room kept changing; try again",
    ))
}

/// Checks application messages from `client` against `hub_room`; answers the epoch they
/// are of.
fn check_messages(
    state: &AppState,
    hub_room: &HubRoom,
    id: &RoomId,
    client: &ClientId,
    bytes: &[Vec<u8>],
) -> Result<u64, ApiError> {
    let room = hub_room.policy();
    if !room.has_client(client.user(), client.name()) {
        // A hidden room is not there for users it has no place for.
        if hidden_from(room, client.user()) {
            return Err(ApiError::not_found(format!("no room {id} here")));
        }
        return Err(ApiError::forbidden(
            "not-a-member",
            format!("{client} is not in {id}"),
        ));
    }
    for (i, m) in bytes.iter().enumerate() {
        hub_room.check_message(&state.hub, client, m).map_err(|e| {
            let mut e = ApiError::from(e);
            if bytes.len() > 1 {
                e.message = format!("messages[{i}]: {}", e.message);
            }
            e
        })?;
    }
    Ok(hub_room.epoch())
}

/// What a joiner needs.
#[derive(Serialize)]
pub struct GroupInfo {
    group_info: String,
    ratchet_tree: String,
    epoch: u64,
}

/// The GroupInfo and ratchet tree, for members and for devices the room lets join.
pub async fn group_info(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
) -> Result<Json<GroupInfo>, ApiError> {
    let id = room_id(&state, &provider, &name)?;
    let client = caller.device()?.clone();
    let mut cached = state.room(&id).await?;
    let hub_room = cached.hub_room()?;
    let room = hub_room.room()?;
    if room.clients().get(client.user()).is_none() {
        let op = Operation {
            actor: Actor::user(client.user().clone(), Some(client.name())),
            action: Action::FetchGroupInfo { link: None },
        };
        let decision = authorize(&room, &op);
        if !decision.is_allowed() {
            if hidden_from(&room, client.user()) {
                return Err(ApiError::not_found(format!("no room {id} here")));
            }
            return Err(mimi_mls::MlsError::Denied(decision).into());
        }
    }
    let gi = hub_room.group_info(&state.hub)?.to_vec();
    Ok(Json(GroupInfo {
        group_info: to_b64(&gi),
        ratchet_tree: to_b64(&hub_room.ratchet_tree()?),
        epoch: hub_room.epoch(),
    }))
}
