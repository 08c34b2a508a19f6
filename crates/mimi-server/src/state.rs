//! What every request shares: the store, the hub (the provider's external-sender key), and
//! the rooms' hub state cached per process, re-read whenever the database has a newer
//! version (another process, or a lost race, changed the room).

use std::collections::HashMap;
use std::sync::Arc;

use mimi_mls::hub::{Hub, HubRoom};
use mimi_policy::id::{ProviderId, RoomId};
use mimi_store::prelude::*;
use mimi_store::{RoomSnapshot, SqlStore};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

use crate::error::ApiError;

/// Most rooms a process keeps in memory by default ([`Shared::cached_rooms`]); past it,
/// the least recently used room no request holds leaves.
pub const MAX_CACHED_ROOMS: usize = 10_000;

/// The rooms a process holds, least recently used first.
type Cache = hashlink::LinkedHashMap<RoomId, Arc<Mutex<Slot>>>;

/// A room's hub state as this process last read or wrote it. A change is staged against
/// it, written, and only then merged into it (`crate::handshake`), so it is never ahead of
/// the database.
pub struct LoadedRoom {
    /// The store version it was read at or written as.
    pub version: u64,
    /// The hub state.
    pub hub: HubRoom,
    /// The application messages this process stored in the room's current epoch, by hash:
    /// one sent again (a replay) is refused.
    pub recent: RecentMessages,
}

/// Hashes (SHA-256) of the application messages stored in one epoch of a room.
#[derive(Debug, Default)]
pub struct RecentMessages {
    epoch: u64,
    hashes: std::collections::HashSet<[u8; 32]>,
}

/// Most hashes kept per room: past it, the set starts again (a replay of an older message
/// is then stored, and members' MLS refuses it).
const MAX_RECENT: usize = 1 << 16;

impl RecentMessages {
    /// Whether `hash` was stored in `epoch`.
    pub fn contains(&self, epoch: u64, hash: &[u8; 32]) -> bool {
        self.epoch == epoch && self.hashes.contains(hash)
    }

    /// Records `hashes`, stored in `epoch`.
    pub fn insert(&mut self, epoch: u64, hashes: impl IntoIterator<Item = [u8; 32]>) {
        if self.epoch != epoch || self.hashes.len() >= MAX_RECENT {
            self.epoch = epoch;
            self.hashes.clear();
        }
        self.hashes.extend(hashes);
    }
}

/// A room's place in the cache: empty until a request loads it.
type Slot = Option<LoadedRoom>;

/// Makes room in `rooms` for one more, within `max`: the least recently used rooms leave
/// (read again from the database when next needed), each in constant time. A room a
/// request holds stays, moved to the back; after a few such, the cache goes over its bound
/// for now rather than scan.
fn evict(rooms: &mut Cache, max: usize) {
    let mut held = 0;
    while rooms.len() >= max.max(1) && held < 8 {
        let Some((id, slot)) = rooms.pop_front() else {
            return;
        };
        if Arc::strong_count(&slot) > 1 {
            rooms.insert(id, slot);
            held += 1;
        }
    }
}

/// A loaded room, locked for one request.
pub type RoomGuard = OwnedMappedMutexGuard<Slot, LoadedRoom>;

/// Claims a provider asserts, by user.
pub type UserClaims = HashMap<mimi_policy::id::UserId, Vec<mimi_policy::preauth::Claim>>;

/// Shared by every request: a pointer to the provider's [`Shared`] state, so that handing it
/// to a request (which axum does for every extractor that asks) costs one reference count,
/// not one per field. A setting changed through it (`state.cached_rooms = 2`) changes this
/// state only, if it is shared already: its other holders keep theirs, as with a copy (the
/// stores, caches and channels inside are shared either way). Settings are made before
/// the router gets the state.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }
}

/// What [`AppState`] points to.
#[derive(Clone)]
pub struct Shared {
    /// The provider's domain.
    pub domain: ProviderId,
    /// Durable state.
    pub store: SqlStore,
    /// The hub.
    pub hub: Arc<Hub>,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Wakes the event streams and long polls of a room or a user when something is stored
    /// for them (by this process or, on PostgreSQL, another).
    pub wakes: Arc<crate::wake::Wakes>,
    /// Group commit for application messages.
    pub writer: crate::writer::Writer,
    /// The recent end of each room's log, rendered for delivery.
    pub tails: Arc<crate::tail::Tails>,
    /// Recently looked-up bearer tokens.
    pub tokens: Arc<crate::auth::TokenCache>,
    /// How many of a user's KeyPackages anyone may hold without the user's consent (the
    /// seed's allowance of outstanding KeyPackages; 0: consent, a knock or the same user
    /// only).
    pub key_package_allowance: u32,
    /// The team, workgroup and group claims this provider asserts about its users (set by
    /// the operator: `mimi serve --claim`, or `claims` in its config file).
    pub claims: Arc<UserClaims>,
    /// Rate limits on sign-ups, logins, requests per token and consent requests.
    pub limits: Arc<crate::limits::Limits>,
    /// The event streams open per device.
    pub streams: Arc<crate::limits::Streams>,
    /// The operator's token for `/metrics` (none: metrics are off).
    pub metrics_token: Option<crate::auth::OperatorToken>,
    /// This provider's client to its peers (none: it does not federate).
    pub peers: Option<Arc<crate::federation::Peers>>,
    /// Held by the sweep of deleted devices' removals (one at a time per process).
    pub sweeping: Arc<Mutex<()>>,
    /// Turns true when the provider is shutting down: event streams and long polls end,
    /// so that graceful shutdown does not wait on them.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    /// Most rooms this process keeps in memory ([`MAX_CACHED_ROOMS`] unless set).
    pub cached_rooms: usize,
    rooms: Arc<Mutex<Cache>>,
}

impl AppState {
    /// State over `store` for `domain`, with the hub key kept in the store.
    pub async fn new(domain: ProviderId, store: SqlStore) -> Result<Self, ApiError> {
        let fresh = Hub::new(domain.clone())?.key()?;
        let key = store.provider_key(domain.domain(), &fresh).await?;
        let hub = Hub::with_key(
            domain.clone(),
            &key,
            Box::new(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
        )?;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let tails = Arc::new(crate::tail::Tails::default());
        let wakes = crate::wake::Wakes::shared(&store, tails.clone()).await?;
        let writer = crate::writer::Writer::start(store.clone(), tails.clone(), wakes.clone())
            .map_err(|e| ApiError::Unavailable(format!("starting the message writer: {e}")))?;
        Ok(Self(Arc::new(Shared {
            domain,
            store,
            hub: Arc::new(hub),
            metrics: Arc::default(),
            writer,
            tails,
            tokens: Arc::default(),
            key_package_allowance: 0,
            claims: Arc::default(),
            metrics_token: None,
            limits: Arc::new(crate::limits::Limits::new(Default::default())),
            streams: Arc::default(),
            sweeping: Arc::default(),
            peers: None,
            stopping,
            stop: Arc::new(stop),
            wakes,
            cached_rooms: MAX_CACHED_ROOMS,
            rooms: Arc::new(Mutex::new(Cache::new())),
        })))
    }

    /// `client`'s user acting through it, with the claims this provider asserts about it.
    pub fn actor(&self, client: &mimi_policy::id::ClientId) -> mimi_policy::Actor {
        let mut actor = mimi_policy::Actor::user(client.user().clone(), Some(client.name()));
        if let (mimi_policy::Actor::User(u), Some(claims)) =
            (&mut actor, self.claims.get(client.user()))
        {
            for c in claims {
                u.claims.insert(c.clone());
            }
        }
        actor
    }

    /// Ends event streams and long polls (the provider is shutting down).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Completes once [`AppState::stop`] was called.
    pub async fn stopped(&self) {
        let mut stopping = self.stopping.clone();
        let _ = stopping.wait_for(|stop| *stop).await;
    }

    /// Whether this process holds room `id` in memory.
    pub async fn is_cached(&self, id: &RoomId) -> bool {
        self.rooms.lock().await.contains_key(id)
    }

    /// How many rooms this process holds.
    pub async fn rooms_cached(&self) -> usize {
        self.rooms.lock().await.len()
    }

    /// Drops this process's copy of room `id` and its tail (destroyed, vacated or started
    /// again): the next request reads the database, and no entry of the room's old log is
    /// served for a room of the same name.
    pub async fn forget_room(&self, id: &RoomId) {
        self.rooms.lock().await.remove(id);
        self.tails.forget(id);
        // Other processes drop their tails too, and the room's streams read again.
        self.wakes.wake(crate::wake::Topic::Forget(id.clone()));
    }

    /// The room `id`, locked for this request and as recent as the database.
    pub async fn room(&self, id: &RoomId) -> Result<RoomGuard, ApiError> {
        self.room_with(id, true).await
    }

    /// The room `id`, locked for this request, as this process last saw it (read from the
    /// database only when it has none). For application messages: whatever changes who may
    /// send also changes the epoch, and a message is written only while the room is still
    /// in the epoch it was checked in, so a stale view cannot let one through.
    pub async fn room_cached(&self, id: &RoomId) -> Result<RoomGuard, ApiError> {
        self.room_with(id, false).await
    }

    async fn room_with(&self, id: &RoomId, fresh: bool) -> Result<RoomGuard, ApiError> {
        let slot = {
            let mut rooms = self.rooms.lock().await;
            match rooms.to_back(id) {
                Some(slot) => slot.clone(),
                None => {
                    evict(&mut rooms, self.cached_rooms);
                    let slot = Arc::new(Mutex::new(None));
                    rooms.insert(id.clone(), slot.clone());
                    slot
                }
            }
        };
        let result = self.load(id, &slot, fresh).await;
        if matches!(&result, Err(ApiError::NoRoom(_))) {
            // No slot for a room that does not exist.
            let mut rooms = self.rooms.lock().await;
            if rooms
                .get(id)
                .is_some_and(|s| Arc::ptr_eq(s, &slot) && Arc::strong_count(s) == 2)
            {
                rooms.remove(id);
            }
        }
        result
    }

    async fn load(
        &self,
        id: &RoomId,
        slot: &Arc<Mutex<Slot>>,
        fresh: bool,
    ) -> Result<RoomGuard, ApiError> {
        let mut cached = slot.clone().lock_owned().await;
        let current = match cached.as_ref() {
            Some(loaded) if fresh => {
                let (version, _) = self
                    .store
                    .room_version(id)
                    .await?
                    .ok_or_else(|| ApiError::NoRoom(id.clone()))?;
                loaded.version == version
            }
            Some(_) => true,
            None => false,
        };
        if !current {
            *cached = Some(self.read_room(id).await?);
        }
        OwnedMutexGuard::try_map(cached, Option::as_mut)
            .map_err(|_| ApiError::Unavailable(format!("{id} could not be loaded")))
    }

    /// The room as the database has it: its snapshot with the handshakes logged since
    /// replayed onto it. A replay refreshes the snapshot and gives the Welcomes that waited
    /// for them their ratchet trees (a process stopped between a commit and its snapshot).
    async fn read_room(&self, id: &RoomId) -> Result<LoadedRoom, ApiError> {
        let record = self
            .store
            .load_room(id)
            .await?
            .ok_or_else(|| ApiError::NoRoom(id.clone()))?;
        let unreadable = |e: mimi_mls::MlsError| {
            tracing::error!(room = %id, error = %e, "stored room state is unreadable");
            ApiError::Unavailable("the room's stored state is unreadable".into())
        };
        let mut hub = self
            .hub
            .restore_room(&record.snapshot)
            .map_err(unreadable)?;
        let Some(last) = record.unsettled.last().map(|h| h.seq) else {
            return Ok(LoadedRoom {
                version: record.version,
                hub,
                recent: RecentMessages::default(),
            });
        };
        let mut welcome_trees = Vec::new();
        for handshake in &record.unsettled {
            hub.replay(&self.hub, &handshake.body, handshake.group_info.as_deref())
                .map_err(unreadable)?;
            if handshake.welcome_waiting {
                welcome_trees.push((handshake.seq, hub.ratchet_tree()?));
            }
        }
        tracing::info!(room = %id, replayed = record.unsettled.len(), "room replayed from its log");
        let has_welcome_trees = !welcome_trees.is_empty();
        let snapshot = RoomSnapshot {
            id: id.clone(),
            seq: last,
            snapshot: hub.snapshot()?,
            welcome_trees,
        };
        // The room replayed is right whether or not its snapshot is saved now; if not, the
        // next reader (or the sweeper) replays and saves again.
        match self.store.save_snapshot(&snapshot).await {
            // Welcomes held for their ratchet tree may go out now, to devices not known here.
            Ok(()) if has_welcome_trees => self.wakes.everyone(),
            Ok(()) => {}
            Err(e) => tracing::warn!(room = %id, error = %e, "saving a replayed room's snapshot"),
        }
        Ok(LoadedRoom {
            version: record.version,
            hub,
            recent: RecentMessages::default(),
        })
    }

    /// Reads again from the database the rooms whose snapshot is behind their log (a
    /// process stopped, or its database failed, between a commit and its snapshot), which
    /// replays them and refreshes their snapshots. Returns how many it read.
    pub async fn settle_rooms_behind(&self, limit: u32) -> Result<usize, ApiError> {
        let behind = self.store.rooms_behind(limit).await?;
        for id in &behind {
            let slot = self
                .rooms
                .lock()
                .await
                .entry(id.clone())
                .or_insert_with(|| Arc::new(Mutex::new(None)))
                .clone();
            let mut cached = slot.lock_owned().await;
            // One room that cannot be read keeps none of the others waiting.
            match self.read_room(id).await {
                Ok(room) => *cached = Some(room),
                Err(e) => tracing::warn!(room = %id, error = %e, "reading a room behind its log"),
            }
        }
        Ok(behind.len())
    }
}

/// Gives the users and rooms made before skeletons were kept (migrations 0007 and 0009) the
/// skeleton of their name, so that a new look-alike of them is refused too. Two old names
/// that look alike keep theirs: the first takes the skeleton, the other none (logged for
/// the operator). Best effort: a failure is logged and the provider starts.
pub async fn backfill_skeletons<S: mimi_store::Store>(store: &S) {
    use mimi_policy::name::skeleton;
    let users = async {
        let (mut given, mut clashes) = (0, 0);
        for user in store.users_without_skeleton().await? {
            if store
                .set_user_skeleton(&user, &skeleton(user.name()))
                .await?
            {
                given += 1;
            } else {
                clashes += 1;
                tracing::warn!(%user, "this user's name looks like another's; it keeps no skeleton");
            }
        }
        Ok::<_, mimi_store::StoreError>((given, clashes))
    };
    match users.await {
        Ok((0, 0)) => {}
        Ok((given, clashes)) => tracing::info!(given, clashes, "skeletons of older user names"),
        Err(e) => tracing::warn!(error = %e, "giving older user names their skeleton"),
    }
    let rooms = async {
        let (mut given, mut clashes) = (0, 0);
        for room in store.rooms_without_skeleton().await? {
            let Some(name) = room.name() else { continue };
            if store.set_room_skeleton(&room, &skeleton(name)).await? {
                given += 1;
            } else {
                clashes += 1;
                tracing::warn!(%room, "this room's name looks like another's; it keeps no skeleton");
            }
        }
        Ok::<_, mimi_store::StoreError>((given, clashes))
    };
    match rooms.await {
        Ok((0, 0)) => {}
        Ok((given, clashes)) => tracing::info!(given, clashes, "skeletons of older room names"),
        Err(e) => tracing::warn!(error = %e, "giving older room names their skeleton"),
    }
}
