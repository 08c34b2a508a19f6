//! Wake-ups of waiting devices: an event stream or long poll sleeps until something it
//! would deliver may have changed, and only then reads the database again.
//!
//! A waiter watches its user (the inbox: Welcomes, consent requests, knocks, suggestions,
//! what other providers' hubs fanned out) and the rooms its device is in. A stored message
//! wakes the waiters of its room, not every waiter of the process, and an idle device costs
//! nothing until then (no polling).
//!
//! Between processes on one PostgreSQL database, every wake-up is also published with
//! `NOTIFY` on one channel and heard by every process's `LISTEN` (decision 0016); a process
//! that loses its listening connection wakes all its waiters once it is back, since it may
//! have missed something. One SQLite file is served by one process.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};

use mimi_policy::id::{RoomId, UserId};
use mimi_store::SqlStore;
use mimi_store::prelude::*;

use crate::tail::{Rendered, Tails};
use tokio::sync::{Notify, mpsc};

/// The PostgreSQL channel wake-ups travel on (followed by the schema's name).
pub const CHANNEL: &str = "mimi_wake";

/// Most bytes of one notification's payload (PostgreSQL allows just under 8000).
const MAX_PAYLOAD: usize = 7_000;

/// Wake-ups waiting to be published, at most; past it, one "everyone" is published.
const MAX_QUEUED: usize = 4_096;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// A room's log or membership, in a way only the database shows (a commit; anything
    /// another process stored).
    Room(RoomId),
    /// Messages `first..=last` of a room, stored and put in the room's tail
    /// ([`crate::tail`]), which serves them without a database read. Another process that
    /// hears of them reads them into its own tail first (one read for all its waiters).
    Messages {
        /// The room.
        room: RoomId,
        /// The first message's position in the log.
        first: u64,
        /// The last's.
        last: u64,
    },
    /// A user's inbox, or what was relayed to the user's devices.
    User(UserId),
    /// A device of the user acknowledged entries (wakes only waiters that left entries
    /// out of their last answer: [`Subscription::wake_on_ack`]).
    Acked(UserId),
    /// Anything (rare changes whose readers are not known, or missed wake-ups).
    Everyone,
    /// A room destroyed, vacated or started again: every process drops its tail (a log of
    /// the same name starts again at 1), and the room's waiters read again.
    Forget(RoomId),
}

impl Topic {
    /// The topic as published: `r ROOM`, `u USER` or `*`.
    fn encode(&self) -> String {
        match self {
            Self::Room(r) => format!("r {r}"),
            Self::Forget(r) => format!("f {r}"),
            Self::Messages { room, first, last } => format!("m {first} {last} {room}"),
            Self::User(u) => format!("u {u}"),
            Self::Acked(u) => format!("a {u}"),
            Self::Everyone => "*".to_owned(),
        }
    }

    /// A topic as published; `None` for anything else.
    fn decode(line: &str) -> Option<Self> {
        if line == "*" {
            return Some(Self::Everyone);
        }
        let (kind, id) = line.split_once(' ')?;
        if kind == "m" {
            let (first, rest) = id.split_once(' ')?;
            let (last, room) = rest.split_once(' ')?;
            let (first, last) = (first.parse().ok()?, last.parse().ok()?);
            if first == 0 || first > last {
                return None;
            }
            return Some(Self::Messages {
                room: RoomId::parse(room).ok()?,
                first,
                last,
            });
        }
        match kind {
            "r" => RoomId::parse(id).ok().map(Self::Room),
            "f" => RoomId::parse(id).ok().map(Self::Forget),
            "u" => UserId::parse(id).ok().map(Self::User),
            "a" => UserId::parse(id).ok().map(Self::Acked),
            _ => None,
        }
    }
}

struct Waiter {
    notify: Weak<Notify>,
    user: Option<UserId>,
    rooms: HashSet<RoomId>,
    on_ack: bool,
    /// Why it was woken since it last asked ([`Subscription::woken`]).
    woken: Woken,
}

/// Why a waiter was woken.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Woken {
    /// By something other than its rooms' logs (its inbox, an acknowledgement, everyone):
    /// it reads everything again.
    pub all: bool,
    /// By messages of these rooms in their tails ([`Topic::Messages`]), each once, with
    /// the position of the last of them: a tail that does not reach it (another process's
    /// messages came in out of order) sends the reader to the database. The room is shared
    /// by every waiter woken for the same messages: a room's hundred waiters are woken
    /// under the waiters' lock, which copying its name for each held longer.
    pub rooms: Vec<(Arc<RoomId>, u64)>,
}

impl Woken {
    /// The last position of `room`'s messages this wake-up was for, if any.
    pub fn room(&self, room: &RoomId) -> Option<u64> {
        self.rooms
            .iter()
            .find_map(|(r, last)| (**r == *room).then_some(*last))
    }

    /// Woken for anything: read everything again.
    fn everything() -> Self {
        Self {
            all: true,
            rooms: Default::default(),
        }
    }
}

/// The lock of the waiters, even if a thread panicked holding it (the maps stay usable:
/// every change to them is one insert or removal).
fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
struct Inner {
    next: u64,
    waiters: HashMap<u64, Waiter>,
    by_room: HashMap<RoomId, HashSet<u64>>,
    by_user: HashMap<UserId, HashSet<u64>>,
    /// Waiters woken by every wake-up (the pusher to other providers).
    everything: HashSet<u64>,
}

/// Wakes waiter `id` of `waiters` for messages of a room up to a position (`None`: for
/// anything).
fn wake_one(waiters: &mut HashMap<u64, Waiter>, id: u64, room: Option<(&Arc<RoomId>, u64)>) {
    let Some(w) = waiters.get_mut(&id) else {
        return;
    };
    match room {
        Some((r, last)) if !w.woken.all => {
            match w
                .woken
                .rooms
                .iter_mut()
                .find(|(woken, _)| Arc::ptr_eq(woken, r) || **woken == **r)
            {
                Some((_, up_to)) => *up_to = (*up_to).max(last),
                None => w.woken.rooms.push((r.clone(), last)),
            }
        }
        Some(_) => {}
        None => {
            w.woken.all = true;
            w.woken.rooms.clear();
        }
    }
    if let Some(n) = w.notify.upgrade() {
        n.notify_one();
    }
}

/// Every waiter of this process, by what it watches.
pub struct Wakes {
    inner: Mutex<Inner>,
    /// Where wake-ups go to be published to other processes (PostgreSQL only).
    publish: Option<mpsc::Sender<Topic>>,
    /// Set when a wake-up could not be queued for publishing (an "everyone" is sent).
    overflowed: Arc<std::sync::atomic::AtomicBool>,
    /// How this process speaks to the others (PostgreSQL only).
    peers: Option<Peers>,
}

/// The channel, this process's tag and the provider's key: what a notification is made of.
#[derive(Clone)]
struct Peers {
    channel: String,
    tag: String,
    key: Key,
}

impl Peers {
    /// A new tag for this process, and the provider's key (`store`'s, or a new one stored
    /// there if it has none).
    async fn new(store: &SqlStore, channel: &str) -> Result<Self, mimi_store::StoreError> {
        use argon2::password_hash::rand_core::RngCore as _;
        let mut rng = argon2::password_hash::rand_core::OsRng;
        // Each process tags what it publishes, and does not wake itself twice.
        let tag = format!("{:016x}", rng.next_u64());
        let mut candidate = [0u8; 32];
        rng.fill_bytes(&mut candidate);
        let stored = store.notify_key(&candidate).await?;
        let key = <Key as hmac::Mac>::new_from_slice(&stored)
            .map_err(|e| mimi_store::StoreError::backend(format!("the wake-up key: {e}")))?;
        Ok(Self {
            channel: channel.to_owned(),
            tag,
            key,
        })
    }
}

/// A notification of messages, made before they are written, to go out as they commit
/// ([`Wakes::announcement`]).
#[derive(Debug)]
pub struct Announcement {
    /// The channel.
    pub channel: String,
    /// The payload: the messages' topic with the messages, signed.
    pub payload: String,
}

impl Wakes {
    /// Wake-ups within this process only.
    pub fn local() -> Self {
        Self::new(None, None)
    }

    fn new(publish: Option<mpsc::Sender<Topic>>, peers: Option<Peers>) -> Self {
        Self {
            inner: Mutex::default(),
            publish,
            overflowed: Arc::default(),
            peers,
        }
    }

    /// Wake-ups shared by every process on `store`'s database: on PostgreSQL, publishes
    /// this process's and listens for the others' (reading the messages they stored into
    /// `tails`); on SQLite, [`Wakes::local`].
    pub async fn shared(
        store: &SqlStore,
        tails: Arc<Tails>,
    ) -> Result<Arc<Self>, mimi_store::StoreError> {
        let Some(listener) = store.listen(CHANNEL).await? else {
            return Ok(Arc::new(Self::local()));
        };
        let peers = Peers::new(store, listener.channel()).await?;
        let (tx, rx) = mpsc::channel(MAX_QUEUED);
        let wakes = Arc::new(Self::new(Some(tx), Some(peers.clone())));
        tokio::spawn(publisher(
            store.notifier(),
            peers.channel,
            peers.tag.clone(),
            rx,
            wakes.overflowed.clone(),
            tails.clone(),
            peers.key.clone(),
        ));
        tokio::spawn(listen(
            Arc::downgrade(&wakes),
            listener,
            peers.tag,
            store.clone(),
            tails,
            peers.key,
        ));
        Ok(wakes)
    }

    /// As [`Wakes::shared`], but neither publishing nor listening: what would be published
    /// stays in the queue returned.
    #[cfg(test)]
    pub(crate) async fn unpublished(store: &SqlStore) -> (Arc<Self>, mpsc::Receiver<Topic>) {
        let listener = store.listen(CHANNEL).await.unwrap().unwrap();
        let peers = Peers::new(store, listener.channel()).await.unwrap();
        let (tx, rx) = mpsc::channel(MAX_QUEUED);
        (Arc::new(Self::new(Some(tx), Some(peers))), rx)
    }

    /// Wakes the waiters of `topic` here, and publishes it to other processes.
    pub fn wake(&self, topic: Topic) {
        self.wake_here(&topic);
        if let Some(tx) = &self.publish
            && tx.try_send(topic).is_err()
        {
            self.overflowed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Wakes the waiters of `room`, which changed in a way only the database shows.
    pub fn room(&self, room: &RoomId) {
        self.wake(Topic::Room(room.clone()));
    }

    /// Wakes the waiters of `room` for its messages `first..=last`, which this process put
    /// in its tail.
    pub fn messages(&self, room: &RoomId, first: u64, last: u64) {
        self.wake(Topic::Messages {
            room: room.clone(),
            first,
            last,
        });
    }

    /// True if other processes hear of this one's wake-ups (PostgreSQL).
    pub fn has_peers(&self) -> bool {
        self.peers.is_some()
    }

    /// The notification that tells the other processes of `entries` (messages of one
    /// room, in order, rendered at the positions they are to be written at) and carries
    /// them, as the publisher would once they are in the tail: for the writer to send with
    /// the messages as they commit ([`mimi_store::Announce`]), a round trip to the
    /// database sooner than the publisher could. `None` on SQLite (one process), or if
    /// they do not fit in one notification.
    pub fn announcement(&self, entries: &[Rendered]) -> Option<Announcement> {
        let peers = self.peers.as_ref()?;
        let (first, last) = (entries.first()?, entries.last()?);
        let topic = Topic::Messages {
            room: first.room.clone(),
            first: first.seq,
            last: last.seq,
        }
        .encode();
        let len = peers.tag.len() + 1 + topic.len();
        let jsons = || entries.iter().map(Rendered::json);
        if carried_bytes(jsons()) > (MAX_PAYLOAD - SIGNATURE).saturating_sub(len) {
            return None;
        }
        let mut payload = peers.tag.clone();
        payload.push('\n');
        payload.push_str(&topic);
        carry(&mut payload, jsons());
        sign(&mut payload, &peers.key);
        Some(Announcement {
            channel: peers.channel.clone(),
            payload,
        })
    }

    /// Wakes the waiters of `room` here for its messages `first..=last`, put in this
    /// process's tail, of which the other processes heard with their commit (an
    /// [`Announcement`]). If a wake-up could not be published since the last
    /// notification, it is published too, which makes the publisher send "everyone" now
    /// rather than at its next wake-up.
    pub fn announced(&self, room: &RoomId, first: u64, last: u64) {
        let topic = Topic::Messages {
            room: room.clone(),
            first,
            last,
        };
        if self.overflowed.load(std::sync::atomic::Ordering::Relaxed) {
            self.wake(topic);
        } else {
            self.wake_here(&topic);
        }
    }

    /// True if some device's waiter of this process watches `room`.
    fn watched(&self, room: &RoomId) -> bool {
        lock(&self.inner).by_room.contains_key(room)
    }

    /// Wakes the waiters of each of `users`.
    pub fn users<'a>(&self, users: impl IntoIterator<Item = &'a UserId>) {
        for u in users.into_iter().collect::<HashSet<_>>() {
            self.wake(Topic::User(u.clone()));
        }
    }

    /// Tells waiters of `user` that one of its devices acknowledged entries.
    pub fn acked(&self, user: &UserId) {
        self.wake(Topic::Acked(user.clone()));
    }

    /// Wakes every waiter, of every process.
    pub fn everyone(&self) {
        self.wake(Topic::Everyone);
    }

    fn wake_here(&self, topic: &Topic) {
        let mut inner = lock(&self.inner);
        let Inner {
            waiters,
            by_room,
            by_user,
            everything,
            ..
        } = &mut *inner;
        match topic {
            Topic::Room(r) | Topic::Forget(r) => {
                for &id in by_room.get(r).into_iter().flatten() {
                    wake_one(waiters, id, None);
                }
            }
            Topic::Messages { room, last, .. } => {
                if let Some(ids) = by_room.get(room) {
                    let room = Arc::new(room.clone());
                    for &id in ids {
                        wake_one(waiters, id, Some((&room, *last)));
                    }
                }
            }
            Topic::User(u) => {
                for &id in by_user.get(u).into_iter().flatten() {
                    wake_one(waiters, id, None);
                }
            }
            Topic::Acked(u) => {
                for &id in by_user.get(u).into_iter().flatten() {
                    if waiters.get(&id).is_some_and(|w| w.on_ack) {
                        wake_one(waiters, id, None);
                    }
                }
                return;
            }
            Topic::Everyone => {
                let ids: Vec<u64> = waiters.keys().copied().collect();
                for id in ids {
                    wake_one(waiters, id, None);
                }
                return;
            }
        }
        for &id in everything.iter() {
            wake_one(waiters, id, None);
        }
    }

    /// A waiter for `user`'s device (its inbox; its rooms as [`Subscription::watch`] names
    /// them), or, with no user, for every wake-up.
    pub fn subscribe(self: &Arc<Self>, user: Option<UserId>) -> Subscription {
        let notify = Arc::new(Notify::new());
        let mut inner = lock(&self.inner);
        let id = inner.next;
        inner.next += 1;
        match &user {
            Some(u) => {
                inner.by_user.entry(u.clone()).or_default().insert(id);
            }
            None => {
                inner.everything.insert(id);
            }
        }
        inner.waiters.insert(
            id,
            Waiter {
                notify: Arc::downgrade(&notify),
                user,
                rooms: HashSet::new(),
                on_ack: false,
                woken: Woken::default(),
            },
        );
        Subscription {
            wakes: Arc::downgrade(self),
            id,
            notify,
        }
    }

    /// Waiters registered now (for tests and metrics).
    pub fn waiters(&self) -> usize {
        lock(&self.inner).waiters.len()
    }
}

/// One waiter: woken (once, however many wake-ups came) when what it watches changes.
/// Dropping it unregisters it.
pub struct Subscription {
    wakes: Weak<Wakes>,
    id: u64,
    notify: Arc<Notify>,
}

impl Subscription {
    /// Watches exactly `rooms` from now on; true if some room was not watched before (its
    /// wake-ups until now were missed: the caller reads again before it waits).
    pub fn watch(&self, rooms: impl IntoIterator<Item = RoomId>) -> bool {
        let Some(wakes) = self.wakes.upgrade() else {
            return false;
        };
        let mut inner = lock(&wakes.inner);
        let inner = &mut *inner;
        let Some(waiter) = inner.waiters.get_mut(&self.id) else {
            return false;
        };
        let rooms: HashSet<RoomId> = rooms.into_iter().collect();
        if rooms == waiter.rooms {
            return false;
        }
        for gone in waiter.rooms.difference(&rooms) {
            if let Some(ids) = inner.by_room.get_mut(gone) {
                ids.remove(&self.id);
                if ids.is_empty() {
                    inner.by_room.remove(gone);
                }
            }
        }
        let mut new = false;
        for r in rooms.difference(&waiter.rooms) {
            new = true;
            inner.by_room.entry(r.clone()).or_default().insert(self.id);
        }
        waiter.rooms = rooms;
        new
    }

    /// Whether an acknowledgement by a device of the user wakes this waiter: true when its
    /// last answer left entries out, which it sends once those before them are
    /// acknowledged.
    pub fn wake_on_ack(&self, on: bool) {
        let Some(wakes) = self.wakes.upgrade() else {
            return;
        };
        if let Some(w) = lock(&wakes.inner).waiters.get_mut(&self.id) {
            w.on_ack = on;
        }
    }

    /// Why the waiter was woken since the last call (and forgets it).
    pub fn woken(&self) -> Woken {
        let Some(wakes) = self.wakes.upgrade() else {
            return Woken::everything();
        };
        lock(&wakes.inner)
            .waiters
            .get_mut(&self.id)
            .map_or_else(Woken::everything, |w| std::mem::take(&mut w.woken))
    }

    /// Waits for a wake-up; one that came since the last wait returns at once.
    pub async fn wait(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(wakes) = self.wakes.upgrade() else {
            return;
        };
        let mut inner = lock(&wakes.inner);
        let inner = &mut *inner;
        let Some(waiter) = inner.waiters.remove(&self.id) else {
            return;
        };
        for r in &waiter.rooms {
            if let Some(ids) = inner.by_room.get_mut(r) {
                ids.remove(&self.id);
                if ids.is_empty() {
                    inner.by_room.remove(r);
                }
            }
        }
        match &waiter.user {
            Some(u) => {
                if let Some(ids) = inner.by_user.get_mut(u) {
                    ids.remove(&self.id);
                    if ids.is_empty() {
                        inner.by_user.remove(u);
                    }
                }
            }
            None => {
                inner.everything.remove(&self.id);
            }
        }
    }
}

/// Publishes queued wake-ups, everything queued since the last notification in one
/// (several when they do not fit), each line a topic after the process's tag line.
async fn publisher(
    mut notifier: mimi_store::Notifier,
    channel: String,
    tag: String,
    mut rx: mpsc::Receiver<Topic>,
    overflowed: Arc<std::sync::atomic::AtomicBool>,
    tails: Arc<Tails>,
    key: Key,
) {
    let mut send = async |payload: String| {
        if let Err(e) = notifier.notify(&channel, &payload).await {
            // What was lost reaches the others as "everyone" with the next wake-up.
            overflowed.store(true, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(error = %e, "publishing wake-ups to other processes");
        }
    };
    while let Some(first) = rx.recv().await {
        let mut topics = vec![first];
        while let Ok(t) = rx.try_recv() {
            topics.push(t);
        }
        if overflowed.swap(false, std::sync::atomic::Ordering::Relaxed) {
            topics = vec![Topic::Everyone];
        }
        for payload in payloads(&tag, topics, &tails, &key) {
            send(payload).await;
        }
    }
}

/// The key notifications carrying messages are signed with (HMAC-SHA-256), one for every
/// process of the provider ([`mimi_store::SqlStore::notify_key`]): any role that can
/// connect to the database can send a notification, and only the provider's processes
/// may put messages in each other's tails.
type Key = hmac::Hmac<sha2::Sha256>;

/// Room kept in a notification for its signature line (`s ` and 44 base64 characters).
const SIGNATURE: usize = 48;

/// The notifications that publish `topics`: the tag line, then a line per topic (as few
/// notifications as fit them). Then, in each notification, a [`Topic::Messages`] whose
/// entries are all still in this process's tail carries them, an `e JSON` line each after
/// its own, as long as they fit in what is left of that notification: the other processes
/// put them in their tails without reading the database. A notification that carries
/// entries ends with an `s` line, its signature. (A process that does not know `e` and `s`
/// lines ignores them, as any line it cannot read, and reads the messages.)
fn payloads(tag: &str, mut topics: Vec<Topic>, tails: &Tails, key: &Key) -> Vec<String> {
    let mut seen = HashSet::new();
    topics.retain(|t| seen.insert(t.clone()));
    if topics.contains(&Topic::Everyone) {
        topics = vec![Topic::Everyone];
    }
    // The topics split as they would be without entries: entries never add a notification.
    let mut groups: Vec<(usize, Vec<(Topic, String)>)> = vec![(tag.len(), Vec::new())];
    for t in topics {
        let line = t.encode();
        let len = groups.last().map_or(0, |(len, _)| *len);
        if len + 1 + line.len() > MAX_PAYLOAD - SIGNATURE {
            groups.push((tag.len(), Vec::new()));
        }
        if let Some((len, group)) = groups.last_mut() {
            *len += 1 + line.len();
            group.push((t, line));
        }
    }
    groups
        .into_iter()
        .filter(|(_, group)| !group.is_empty())
        .map(|(len, group)| {
            let mut room = (MAX_PAYLOAD - SIGNATURE).saturating_sub(len);
            let mut payload = tag.to_owned();
            let mut carries = false;
            for (t, line) in group {
                payload.push('\n');
                payload.push_str(&line);
                let Topic::Messages {
                    room: r,
                    first,
                    last,
                } = &t
                else {
                    continue;
                };
                let count = usize::try_from(last - first + 1).unwrap_or(usize::MAX);
                // An entry is some 100 bytes at the least: more never fit.
                let entries = (count <= room / 100)
                    .then(|| first.checked_sub(1))
                    .flatten()
                    .and_then(|after| tails.after(r, after, *last, count))
                    .filter(|entries| entries.len() == count);
                let Some(entries) = entries else {
                    continue;
                };
                let jsons = || entries.iter().map(|e| e.0.json());
                let bytes = carried_bytes(jsons());
                if bytes <= room {
                    room -= bytes;
                    carries = true;
                    carry(&mut payload, jsons());
                }
            }
            if carries {
                sign(&mut payload, key);
            }
            payload
        })
        .collect()
}

/// The bytes the `e` lines of entries rendered as `jsons` take in a notification.
fn carried_bytes<'a>(jsons: impl Iterator<Item = &'a str>) -> usize {
    jsons.map(|json| 3 + json.len()).sum()
}

/// Adds an `e` line to `payload` for each entry rendered as `jsons`, in order.
fn carry<'a>(payload: &mut String, jsons: impl Iterator<Item = &'a str>) {
    for json in jsons {
        payload.push_str("\ne ");
        payload.push_str(json);
    }
}

/// Ends `payload` with its signature line (`s` and the HMAC of everything before it).
fn sign(payload: &mut String, key: &Key) {
    use hmac::Mac as _;
    let mut mac = key.clone();
    mac.update(payload.as_bytes());
    payload.push_str("\ns ");
    payload.push_str(&crate::routes::to_b64(&mac.finalize().into_bytes()));
}

/// What a notification of another process says: each topic, with the entries carried
/// after it (`e` lines: [`payloads`]), which are kept only if the notification's signature
/// is the provider's. `None` if this process published it.
fn read_payload<'a>(payload: &'a str, tag: &str, key: &Key) -> Option<Vec<(Topic, Vec<&'a str>)>> {
    use hmac::Mac as _;
    let mut lines = payload.lines().peekable();
    if lines.next() == Some(tag) {
        return None;
    }
    let signed = payload
        .rsplit_once("\ns ")
        .is_some_and(|(body, signature)| {
            let mut mac = key.clone();
            mac.update(body.as_bytes());
            crate::routes::b64("signature", signature).is_ok_and(|s| mac.verify_slice(&s).is_ok())
        });
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        let Some(topic) = Topic::decode(line) else {
            continue;
        };
        let mut carried = Vec::new();
        while let Some(e) = lines.next_if(|l| l.starts_with("e ")) {
            if signed {
                carried.push(&e[2..]);
            }
        }
        out.push((topic, carried));
    }
    Some(out)
}

/// Wakes this process's waiters for what other processes published, until the provider
/// drops its wake-ups.
async fn listen(
    weak: Weak<Wakes>,
    mut listener: mimi_store::Listener,
    tag: String,
    store: SqlStore,
    tails: Arc<Tails>,
    key: Key,
) {
    loop {
        let heard = listener.recv().await;
        let Some(wakes) = weak.upgrade() else {
            return;
        };
        match heard {
            Ok(Some(payload)) => {
                let Some(topics) = read_payload(&payload, &tag, &key) else {
                    continue;
                };
                for (topic, carried) in topics {
                    let topic = match topic {
                        Topic::Messages { room, first, last } if wakes.watched(&room) => {
                            match carried_messages(&tails, &room, first, last, &carried) {
                                Some(entries) => {
                                    tails.push(&room, entries);
                                    Topic::Messages { room, first, last }
                                }
                                None => refill(&store, &tails, room, first, last).await,
                            }
                        }
                        // No device here waits for the room: nothing to read (the pusher
                        // to other providers still hears of it).
                        Topic::Messages { room, .. } => Topic::Room(room),
                        Topic::Forget(room) => {
                            tails.forget(&room);
                            Topic::Forget(room)
                        }
                        other => other,
                    };
                    wakes.wake_here(&topic);
                }
            }
            // Reconnected: what was published meanwhile is lost, so everyone looks again.
            Ok(None) => wakes.wake_here(&Topic::Everyone),
            Err(e) => {
                tracing::warn!(error = %e, "listening for other processes' wake-ups");
                drop(wakes);
                // Back only once connected and listening again; then everyone looks again,
                // for what was published meanwhile is lost.
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    if listener.reconnect().await.is_ok() {
                        break;
                    }
                }
                let Some(wakes) = weak.upgrade() else {
                    return;
                };
                wakes.wake_here(&Topic::Everyone);
            }
        }
    }
}

/// Messages `first..=last` of `room` as another process carried them in its notification
/// ([`payloads`]), to follow on from this process's tail, which must end right before
/// them (after a room is forgotten its tail is empty, and only the database says what
/// follows: a late notification of the room's earlier log is never taken); `None` unless
/// every one of them is there, in order.
fn carried_messages(
    tails: &Tails,
    room: &RoomId,
    first: u64,
    last: u64,
    carried: &[&str],
) -> Option<Vec<Rendered>> {
    if carried.len() as u64 != last.checked_sub(first)? + 1
        || tails.last_seq(room)? != first.checked_sub(1)?
    {
        return None;
    }
    carried
        .iter()
        .zip(first..)
        .map(|(json, seq)| Rendered::message_from_json(room, seq, json))
        .collect()
}

/// Reads messages `first..=last` of `room`, which another process stored, into this
/// process's tail: the topic to wake its waiters with ([`Topic::Messages`] if the tail now
/// holds them; [`Topic::Room`], a read of the database each, if not).
async fn refill(store: &SqlStore, tails: &Tails, room: RoomId, first: u64, last: u64) -> Topic {
    let count = u32::try_from(last - first + 1)
        .unwrap_or(u32::MAX)
        .min(1_000);
    let entries = match store.read_log(&room, first - 1, count).await {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(room = %room, error = %e, "reading another process's messages");
            return Topic::Room(room);
        }
    };
    // Only what that process's writer put in its own tail: its messages, in order.
    let whole = entries.len() as u64 == last - first + 1
        && entries
            .iter()
            .zip(first..)
            .all(|(e, seq)| e.seq == seq && e.kind == mimi_store::EntryKind::Message);
    if !whole {
        return Topic::Room(room);
    }
    let rendered = entries
        .iter()
        .map(|e| Rendered::new(&room, e.seq, e.kind, e.epoch, &e.sender, &e.body))
        .collect();
    tails.push(&room, rendered);
    Topic::Messages { room, first, last }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn room(name: &str) -> RoomId {
        RoomId::new("example.com", name).unwrap()
    }

    fn user(name: &str) -> UserId {
        UserId::new("example.com", name).unwrap()
    }

    /// True if `s` was woken (consumes the wake-up).
    async fn woken(s: &Subscription) -> bool {
        tokio::time::timeout(std::time::Duration::from_millis(20), s.wait())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_message_wakes_only_the_waiters_of_its_room() {
        let wakes = Arc::new(Wakes::local());
        let alice = wakes.subscribe(Some(user("alice")));
        let bob = wakes.subscribe(Some(user("bob")));
        let pusher = wakes.subscribe(None);
        assert!(alice.watch([room("team")]), "a new room: read again first");
        assert!(!alice.watch([room("team")]));
        bob.watch([room("other")]);
        wakes.messages(&room("team"), 1, 1);
        // Woken again before it looked: one entry for the room, up to the furthest
        // messages named (a wake-up for earlier ones, heard late, does not take it back).
        wakes.messages(&room("team"), 2, 3);
        wakes.messages(&room("team"), 1, 1);
        assert!(woken(&alice).await);
        assert_eq!(
            alice.woken(),
            Woken {
                all: false,
                rooms: vec![(Arc::new(room("team")), 3)]
            },
            "woken by the room alone: the tail may serve it"
        );
        assert!(!woken(&bob).await, "bob is not in the room");
        assert!(woken(&pusher).await, "the pusher hears everything");
        assert!(pusher.woken().all);
        // A commit: only the database shows it.
        wakes.room(&room("team"));
        assert!(woken(&alice).await);
        assert!(alice.woken().all);
        // Woken once, however many wake-ups came before the wait.
        wakes.room(&room("team"));
        wakes.room(&room("team"));
        assert!(woken(&alice).await);
        assert!(!woken(&alice).await);
    }

    #[tokio::test]
    async fn an_inbox_item_wakes_every_waiter_of_its_user_and_everyone_wakes_all() {
        let wakes = Arc::new(Wakes::local());
        let phone = wakes.subscribe(Some(user("alice")));
        let laptop = wakes.subscribe(Some(user("alice")));
        let bob = wakes.subscribe(Some(user("bob")));
        phone.watch([room("team")]);
        wakes.room(&room("team"));
        wakes.users([&user("alice")]);
        assert!(woken(&phone).await && woken(&laptop).await);
        assert!(phone.woken().all, "an inbox item: everything is read again");
        assert_eq!(phone.woken(), Woken::default(), "told once");
        assert!(!woken(&bob).await);
        wakes.everyone();
        assert!(woken(&phone).await && woken(&laptop).await && woken(&bob).await);
    }

    #[tokio::test]
    async fn an_acknowledgement_wakes_only_a_waiter_that_left_entries_out() {
        let wakes = Arc::new(Wakes::local());
        let full = wakes.subscribe(Some(user("alice")));
        let caught_up = wakes.subscribe(Some(user("alice")));
        let pusher = wakes.subscribe(None);
        full.wake_on_ack(true);
        wakes.acked(&user("alice"));
        assert!(woken(&full).await);
        assert!(
            !woken(&caught_up).await,
            "nothing left out: nothing to send"
        );
        assert!(!woken(&pusher).await);
    }

    #[tokio::test]
    async fn a_room_left_or_a_waiter_dropped_is_no_longer_woken_or_kept() {
        let wakes = Arc::new(Wakes::local());
        let alice = wakes.subscribe(Some(user("alice")));
        alice.watch([room("a"), room("b")]);
        alice.watch([room("b")]);
        wakes.room(&room("a"));
        assert!(!woken(&alice).await);
        drop(alice);
        let inner = wakes.inner.lock().unwrap();
        assert!(inner.waiters.is_empty() && inner.by_room.is_empty() && inner.by_user.is_empty());
    }

    fn entries(r: &RoomId, seqs: std::ops::RangeInclusive<u64>, body: &[u8]) -> Vec<Rendered> {
        seqs.map(|s| {
            Rendered::new(
                r,
                s,
                mimi_store::EntryKind::Message,
                4,
                "mimi://example.com/c/a/b",
                body,
            )
        })
        .collect()
    }

    fn key(k: &[u8]) -> Key {
        <Key as hmac::Mac>::new_from_slice(k).unwrap()
    }

    fn jsons(v: Option<Vec<crate::tail::Shared>>) -> Vec<String> {
        v.unwrap().iter().map(|e| e.0.json().to_owned()).collect()
    }

    #[test]
    fn messages_in_the_tail_travel_with_their_wake_up_and_are_taken_back_whole() {
        let (tails, here) = (Tails::default(), Tails::default());
        let team = room("team");
        tails.push(&team, entries(&team, 1..=3, b"hello"));
        // The hearing process's tail ends right before them.
        here.push(&team, entries(&team, 1..=1, b"hello"));
        let sent = jsons(tails.after(&team, 0, 3, 10));
        let messages = Topic::Messages {
            room: team.clone(),
            first: 2,
            last: 3,
        };
        let topics = vec![messages.clone(), Topic::User(user("alice"))];
        let out = payloads("me", topics, &tails, &key(b"k"));
        assert_eq!(out.len(), 1);
        assert_eq!(
            read_payload(&out[0], "me", &key(b"k")),
            None,
            "a process skips its own"
        );
        let got = read_payload(&out[0], "other", &key(b"k")).unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        let (topic, carried) = &got[0];
        assert_eq!(topic, &messages);
        let taken = carried_messages(&here, &team, 2, 3, carried).unwrap();
        let taken: Vec<&str> = taken.iter().map(Rendered::json).collect();
        assert_eq!(taken, sent[1..], "the very JSON a device receives");
        assert_eq!(got[1], (Topic::User(user("alice")), vec![]));
        // Not what the topic names (short, another room, out of order): not taken.
        assert!(carried_messages(&here, &team, 1, 3, carried).is_none());
        assert!(carried_messages(&here, &room("other"), 2, 3, carried).is_none());
        let swapped = [carried[1], carried[0]];
        assert!(carried_messages(&here, &team, 2, 3, &swapped).is_none());
        // A tail that does not end right before them (forgotten, or behind): the database
        // says what follows.
        here.forget(&team);
        assert!(carried_messages(&here, &team, 2, 3, carried).is_none());
        here.push(&team, entries(&team, 5..=5, b"hello"));
        assert!(carried_messages(&here, &team, 2, 3, carried).is_none());
    }

    #[test]
    fn an_announcement_is_what_the_publisher_sends_once_the_messages_are_in_its_tail() {
        let team = room("team");
        let peers = Peers {
            channel: "c".into(),
            tag: "a".into(),
            key: key(b"ours"),
        };
        let wakes = Wakes::new(None, Some(peers));
        let tails = Tails::default();
        tails.push(&team, entries(&team, 1..=3, b"hello"));
        let announced = wakes
            .announcement(&entries(&team, 2..=3, b"hello"))
            .unwrap();
        assert_eq!(announced.channel, "c");
        let topic = Topic::Messages {
            room: team.clone(),
            first: 2,
            last: 3,
        };
        assert_eq!(
            payloads("a", vec![topic.clone()], &tails, &key(b"ours")),
            std::slice::from_ref(&announced.payload)
        );
        // Another process takes the messages it carries.
        let heard = read_payload(&announced.payload, "b", &key(b"ours")).unwrap();
        assert_eq!(heard.len(), 1);
        assert_eq!((&heard[0].0, heard[0].1.len()), (&topic, 2));
        // None that would not fit, nor within one process.
        let large = entries(&team, 4..=4, &[7; MAX_PAYLOAD]);
        assert!(wakes.announcement(&large).is_none());
        let small = entries(&team, 4..=4, b"hello");
        assert!(Wakes::local().announcement(&small).is_none());
    }

    #[test]
    fn carried_messages_are_taken_only_under_the_providers_signature() {
        let tails = Tails::default();
        let team = room("team");
        tails.push(&team, entries(&team, 1..=1, b"hello"));
        let topics = vec![Topic::Messages {
            room: team.clone(),
            first: 1,
            last: 1,
        }];
        let out = payloads("me", topics, &tails, &key(b"ours"));
        let carried =
            |payload: &str, k: &[u8]| read_payload(payload, "other", &key(k)).unwrap()[0].1.len();
        assert_eq!(carried(&out[0], b"ours"), 1);
        // Signed with another key, unsigned, or changed after signing: the topic is heard,
        // the entries are not taken.
        assert_eq!(carried(&out[0], b"theirs"), 0);
        let (unsigned, _) = out[0].rsplit_once("\ns ").unwrap();
        assert_eq!(carried(unsigned, b"ours"), 0);
        let changed = out[0].replace("aGVsbG8=", "aGVsbG9=");
        assert_ne!(changed, out[0]);
        assert_eq!(carried(&changed, b"ours"), 0);
        // Nothing carried: nothing signed.
        let plain = payloads(
            "me",
            vec![Topic::User(user("alice"))],
            &tails,
            &key(b"ours"),
        );
        assert!(!plain[0].contains("\ns "), "{plain:?}");
    }

    #[test]
    fn carried_messages_never_make_more_notifications_and_too_large_ones_stay_behind() {
        let tails = Tails::default();
        let team = room("team");
        tails.push(&team, entries(&team, 1..=1, &[7; MAX_PAYLOAD]));
        let topics = vec![
            Topic::Messages {
                room: team.clone(),
                first: 1,
                last: 1,
            },
            // Not in this process's tail.
            Topic::Messages {
                room: room("other"),
                first: 1,
                last: 1,
            },
        ];
        let out = payloads("me", topics, &tails, &key(b"k"));
        assert!(out.iter().all(|p| p.len() <= MAX_PAYLOAD));
        let got: Vec<_> = out
            .iter()
            .flat_map(|p| read_payload(p, "other", &key(b"k")).unwrap())
            .collect();
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|(_, carried)| carried.is_empty()), "{got:?}");
        // A large message, then topics that fill one notification with it but not without
        // it: still one notification, and the message is read.
        let big = Tails::default();
        big.push(&team, entries(&team, 1..=1, &[1; 3_000]));
        let mut topics = vec![Topic::Messages {
            room: team.clone(),
            first: 1,
            last: 1,
        }];
        let mut bytes = 0;
        while bytes < 4_000 {
            let u = Topic::User(user(&format!("user{}", topics.len())));
            bytes += 1 + u.encode().len();
            topics.push(u);
        }
        let without = payloads("me", topics.clone(), &Tails::default(), &key(b"k"));
        let with = payloads("me", topics, &big, &key(b"k"));
        assert_eq!((with.len(), without.len()), (1, 1));
        assert!(!with[0].contains("\ne "), "not carried: it does not fit");
        assert!(with.iter().all(|p| p.len() <= MAX_PAYLOAD));
        // Many small messages: those that fit are carried.
        let many = Tails::default();
        many.push(&team, entries(&team, 1..=20, &[1; 300]));
        let topics = (1..=20)
            .map(|s| Topic::Messages {
                room: team.clone(),
                first: s,
                last: s,
            })
            .collect();
        let out = payloads("me", topics, &many, &key(b"k"));
        assert_eq!(out.len(), 1, "entries never make a notification more");
        let got = read_payload(&out[0], "other", &key(b"k")).unwrap();
        assert_eq!(got.len(), 20);
        let with = got.iter().filter(|(_, c)| c.len() == 1).count();
        assert!(with > 0 && with < 20, "{with} carried");
    }

    #[test]
    fn a_carried_entry_is_taken_only_as_the_message_it_says_it_is() {
        let team = room("team");
        let e = &entries(&team, 5..=5, b"x")[0];
        assert!(Rendered::message_from_json(&team, 5, e.json()).is_some());
        assert!(Rendered::message_from_json(&team, 6, e.json()).is_none());
        assert!(Rendered::message_from_json(&room("other"), 5, e.json()).is_none());
        let commit = Rendered::new(&team, 5, mimi_store::EntryKind::Commit, 4, "c", b"x");
        assert!(Rendered::message_from_json(&team, 5, commit.json()).is_none());
        for bad in [
            "",
            "{}",
            &e.json()
                .replace("\"message\":\"eA==\"", "\"message\":\"not base64!\""),
            &e.json().replace('}', ",\"extra\":1}"),
            // Valid JSON, not as this provider renders it.
            &e.json().replace(',', ", "),
            &e.json().replace('}', "}\r"),
        ] {
            assert!(
                Rendered::message_from_json(&team, 5, bad).is_none(),
                "{bad}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_process_takes_the_messages_carried_by_a_wake_up_without_reading_them() {
        let Ok(base) = std::env::var("MIMI_TEST_POSTGRES_URL") else {
            eprintln!("skipped: MIMI_TEST_POSTGRES_URL is not set");
            return;
        };
        let schema = format!("mimi_u_carry_{}", std::process::id());
        let url = mimi_store::scratch_schema(&base, &schema).await.unwrap();
        let (a, b) = (
            SqlStore::open(&url).await.unwrap(),
            SqlStore::open(&url).await.unwrap(),
        );
        let (tails_a, tails_b) = (Arc::new(Tails::default()), Arc::new(Tails::default()));
        let wakes_a = Wakes::shared(&a, tails_a.clone()).await.unwrap();
        let wakes_b = Wakes::shared(&b, tails_b.clone()).await.unwrap();
        let bob = wakes_b.subscribe(Some(user("bob")));
        let team = room("team");
        bob.watch([team.clone()]);
        // The database holds neither the room nor its messages: what b's tail gets came with
        // the wake-up (a read would find nothing and wake bob to read everything). b's tail
        // holds the message before them.
        tails_a.push(&team, entries(&team, 1..=3, b"hello"));
        tails_b.push(&team, entries(&team, 1..=1, b"hello"));
        wakes_a.messages(&team, 2, 3);
        let wait = std::time::Duration::from_secs(10);
        tokio::time::timeout(wait, bob.wait()).await.unwrap();
        assert_eq!(
            bob.woken(),
            Woken {
                all: false,
                rooms: vec![(Arc::new(team.clone()), 3)]
            }
        );
        assert_eq!(
            jsons(tails_b.since(&team, 0, 10)),
            jsons(tails_a.since(&team, 0, 10))
        );
        // A message too large to carry is read from the database, which lacks it here.
        tails_a.push(&team, entries(&team, 4..=4, &[7; MAX_PAYLOAD]));
        wakes_a.messages(&team, 4, 4);
        tokio::time::timeout(wait, bob.wait()).await.unwrap();
        assert!(bob.woken().all);
        assert_eq!(tails_b.last_seq(&team), Some(3));
        // A room b forgot (destroyed and made again): carried messages are not taken.
        tails_b.forget(&team);
        tails_a.push(&team, entries(&team, 5..=5, b"hello"));
        wakes_a.messages(&team, 5, 5);
        tokio::time::timeout(wait, bob.wait()).await.unwrap();
        assert!(bob.woken().all);
        assert_eq!(tails_b.last_seq(&team), None);
        drop((wakes_a, wakes_b, a, b));
        mimi_store::drop_schema(&base, &schema).await.unwrap();
    }

    #[test]
    fn topics_read_back_as_published_and_nothing_else_is_taken() {
        for t in [
            Topic::Messages {
                room: room("team"),
                first: 3,
                last: 9,
            },
            Topic::Room(room("team")),
            Topic::User(user("alice")),
            Topic::Acked(user("alice")),
            Topic::Forget(room("team")),
            Topic::Everyone,
        ] {
            assert_eq!(Topic::decode(&t.encode()), Some(t));
        }
        let team = room("team");
        for bad in [
            "",
            "x y",
            "r",
            "r not a room",
            "u ",
            &format!("m 9 3 {team}"),
            &format!("m 1 {team}"),
            "m 1 2 not a room",
            &format!("m 0 2 {team}"),
            // An entry carried after its topic is not a topic.
            r#"e {"room":"x"}"#,
        ] {
            assert_eq!(Topic::decode(bad), None, "{bad:?}");
        }
    }
}
