//! Group commit for application messages and delivery acknowledgements: requests queue
//! here, and one task writes everything that queued while the previous write ran (messages
//! and acknowledgements together, in one transaction) before any of them is answered. Each
//! message is on disk before its answer; the disk's flush is paid once per batch instead of
//! once per request (a batch of acknowledgements alone is not flushed: decision 0019). On
//! PostgreSQL acknowledgements have a task of their own beside the messages' (their
//! transaction takes several round trips, which a message would wait out).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mimi_policy::id::{ClientId, RoomId};
use mimi_store::prelude::*;
use mimi_store::{Append, NewEntry, SqlStore, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::tail::{Rendered, Tails};

/// Most messages and acknowledgements in one batch (a batch closes at the request that
/// reaches it).
const MAX_BATCH: usize = 512;

struct Message {
    room: RoomId,
    epoch: u64,
    entries: Vec<NewEntry>,
    /// How many entries (they move into the batch's list).
    count: usize,
    reply: oneshot::Sender<Result<Vec<u64>, StoreError>>,
}

struct Ack {
    ack: (ClientId, RoomId, u64),
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

enum Request {
    Message(Message),
    Ack(Ack),
}

impl Request {
    /// What the request adds to a batch.
    fn size(&self) -> usize {
        match self {
            Self::Message(m) => m.count,
            Self::Ack(_) => 1,
        }
    }
}

/// The queue in front of the message writer.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Request>,
    /// Where acknowledgements queue: on PostgreSQL a writer of their own, so that a
    /// message never waits behind a batch of acknowledgements (a transaction of several
    /// round trips); on SQLite the same queue as messages (one thread writes both, an
    /// acknowledgement costs microseconds there, and shares the message's flush).
    acks: mpsc::Sender<Request>,
    /// Requests queued and not yet taken into a batch (the `mimi_writer_queue` gauge).
    waiting: Arc<AtomicUsize>,
}

/// Takes everything queued while the previous batch was written, writes it, and wakes the
/// waiters of the rooms that received messages.
async fn run(
    mut rx: mpsc::Receiver<Request>,
    store: SqlStore,
    tails: Arc<Tails>,
    wakes: Arc<crate::wake::Wakes>,
    taken: Arc<AtomicUsize>,
) {
    while let Some(first) = rx.recv().await {
        let mut size = first.size();
        let mut batch = vec![first];
        while size < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => {
                    size += r.size();
                    batch.push(r);
                }
                Err(_) => break,
            }
        }
        taken.fetch_sub(batch.len(), Ordering::Relaxed);
        for (room, first, last, announced) in write(&store, &tails, &wakes, batch).await {
            if announced {
                wakes.announced(&room, first, last);
            } else {
                wakes.messages(&room, first, last);
            }
        }
    }
}

impl Writer {
    /// Starts the writer over `store` (on SQLite on a thread of its own); written messages
    /// go to `tails`, and the waiters of their rooms are woken after each batch.
    pub fn start(
        store: SqlStore,
        tails: Arc<Tails>,
        wakes: Arc<crate::wake::Wakes>,
    ) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::channel::<Request>(4 * MAX_BATCH);
        let waiting = Arc::new(AtomicUsize::new(0));
        if store.backend() == mimi_store::Backend::Postgres {
            let (acks, acks_rx) = mpsc::channel::<Request>(4 * MAX_BATCH);
            tokio::spawn(run(
                acks_rx,
                store.clone(),
                tails.clone(),
                wakes.clone(),
                waiting.clone(),
            ));
            tokio::spawn(run(rx, store, tails, wakes, waiting.clone()));
            return Ok(Self {
                queue,
                acks,
                waiting,
            });
        }
        let run = run(rx, store, tails, wakes, waiting.clone());
        // On SQLite the batch is written by the store's own thread. The writer waits on it
        // on a thread of its own too, woken directly when the batch is on disk instead of
        // queueing behind request handlers for a worker: +40% messages/s with 100 members
        // (BENCHMARKS.md). PostgreSQL keeps it on the server's runtime, where its pool's
        // connections live.
        // The runtime is made (and dropped) on its thread: a runtime dropped in async
        // context panics.
        let (started, start) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("mimi-writer".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => {
                        let _ = started.send(Ok(()));
                        rt.block_on(run);
                    }
                    Err(e) => {
                        let _ = started.send(Err(e));
                    }
                }
            })?;
        start
            .recv()
            .map_err(|_| std::io::Error::other("the writer thread ended at start"))??;
        Ok(Self {
            acks: queue.clone(),
            queue,
            waiting,
        })
    }

    /// Appends messages sent in `epoch`, in order and together; answers with their
    /// sequence numbers once they are on disk.
    pub async fn append(
        &self,
        room: RoomId,
        epoch: u64,
        entries: Vec<NewEntry>,
    ) -> Result<Vec<u64>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let request = Request::Message(Message {
            room,
            epoch,
            count: entries.len(),
            entries,
            reply,
        });
        self.enqueue_on(&self.queue, request, answer).await
    }

    /// Acknowledges `client`'s position in `room`; false if it is not in the room.
    pub async fn ack(&self, client: ClientId, room: RoomId, seq: u64) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let request = Request::Ack(Ack {
            ack: (client, room, seq),
            reply,
        });
        self.enqueue_on(&self.acks, request, answer).await
    }

    /// Requests queued and not yet taken into a batch.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    async fn enqueue_on<T>(
        &self,
        queue: &mpsc::Sender<Request>,
        request: Request,
        answer: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let gone = || StoreError::backend("the writer stopped");
        // Counted before it can be taken (the count never goes below zero), and uncounted
        // if it never reaches the queue (refused, or the caller went away while it waited).
        let counted = Counted::new(&self.waiting);
        queue.send(request).await.map_err(|_| gone())?;
        counted.queued();
        answer.await.map_err(|_| gone())?
    }
}

/// One request counted in [`Writer::waiting`] on its way into the queue.
struct Counted<'a>(Option<&'a AtomicUsize>);

impl<'a> Counted<'a> {
    fn new(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        Self(Some(waiting))
    }

    /// In the queue: the writer uncounts it when it takes it.
    fn queued(mut self) {
        self.0 = None;
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        if let Some(waiting) = self.0 {
            waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Messages of one append rendered where the room's log is expected to put them, with the
/// notification that carries them to the other processes as they commit (if they fit in
/// one).
struct Expected {
    /// Where the log is expected to end before them.
    after: u64,
    rendered: Vec<Rendered>,
    announcement: Option<crate::wake::Announcement>,
}

/// Messages of `room` sent in `epoch`, rendered at their positions.
fn render<'a>(
    room: &RoomId,
    epoch: u64,
    messages: impl IntoIterator<Item = (u64, &'a NewEntry)>,
) -> Vec<Rendered> {
    messages
        .into_iter()
        .map(|(seq, e)| Rendered::new(room, seq, e.kind, epoch, &e.sender, &e.body))
        .collect()
}

/// Each append's messages rendered right after what this process's tail holds of the room
/// (the log's end unless another process wrote to it since), with their notification: the
/// store sends it as they commit if they land there, a round trip to the database sooner
/// than the publisher would. `None` for an append of a room whose tail is empty, or on
/// SQLite (one process: nothing is announced, and messages are rendered once written, as
/// the disk is flushed on another thread).
fn expect(
    tails: &Tails,
    wakes: &crate::wake::Wakes,
    appends: &[Append<'_>],
) -> Vec<Option<Expected>> {
    if !wakes.has_peers() {
        return appends.iter().map(|_| None).collect();
    }
    let mut ends: std::collections::HashMap<&RoomId, u64> = Default::default();
    appends
        .iter()
        .map(|a| {
            let after = match ends.get(a.room) {
                Some(&end) => end,
                None => tails.last_seq(a.room)?,
            };
            ends.insert(a.room, after + a.entries.len() as u64);
            let rendered = render(a.room, a.epoch, (after + 1..).zip(a.entries));
            let announcement = wakes.announcement(&rendered);
            Some(Expected {
                after,
                rendered,
                announcement,
            })
        })
        .collect()
}

/// Writes a batch in one transaction: messages grouped by room and epoch (one append
/// each), then all acknowledgements. Returns the rooms that received messages, each with
/// the positions of its first and last, and true if the other processes heard of them
/// with their commit ([`expect`]).
async fn write(
    store: &SqlStore,
    tails: &Tails,
    wakes: &crate::wake::Wakes,
    batch: Vec<Request>,
) -> Vec<(RoomId, u64, u64, bool)> {
    let mut groups: Vec<(RoomId, u64, Vec<Message>)> = Vec::new();
    let mut acks: Vec<Ack> = Vec::new();
    for r in batch {
        let m = match r {
            Request::Message(m) => m,
            Request::Ack(a) => {
                acks.push(a);
                continue;
            }
        };
        match groups
            .iter_mut()
            .find(|(room, epoch, _)| *room == m.room && *epoch == m.epoch)
        {
            Some((_, _, ms)) => ms.push(m),
            None => groups.push((m.room.clone(), m.epoch, vec![m])),
        }
    }
    // Rows are locked in one order by every writer (by room, then client): two processes
    // on PostgreSQL writing batches for the same rooms never wait on each other in a cycle.
    groups.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
    acks.sort_by(|a, b| (a.ack.1.as_str(), &a.ack.0).cmp(&(b.ack.1.as_str(), &b.ack.0)));
    // The bodies move into one list per group; each request keeps its count for its answer.
    let bodies: Vec<Vec<NewEntry>> = groups
        .iter_mut()
        .map(|(_, _, messages)| {
            messages
                .iter_mut()
                .flat_map(|m| std::mem::take(&mut m.entries))
                .collect()
        })
        .collect();
    let mut appends: Vec<Append<'_>> = groups
        .iter()
        .zip(&bodies)
        .map(|((room, epoch, _), entries)| Append {
            room,
            epoch: *epoch,
            entries,
            announce: None,
        })
        .collect();
    let expected = expect(tails, wakes, &appends);
    for (a, e) in appends.iter_mut().zip(&expected) {
        let announcement = e
            .as_ref()
            .and_then(|e| Some((e.after, e.announcement.as_ref()?)));
        a.announce = announcement.map(|(after, n)| mimi_store::Announce {
            channel: &n.channel,
            payload: &n.payload,
            after,
        });
    }
    let list: Vec<(ClientId, RoomId, u64)> = acks.iter().map(|a| a.ack.clone()).collect();
    let written = store.write_batch(&appends, &list).await;
    drop(appends);
    let (appended, acked) = match written {
        Ok(w) => (w.appended, w.acked),
        Err(e) => {
            for (_, _, messages) in groups {
                for m in messages {
                    let _ = m.reply.send(Err(e.clone()));
                }
            }
            for a in acks {
                let _ = a.reply.send(Err(e.clone()));
            }
            return Vec::new();
        }
    };
    let mut written = Vec::new();
    for ((((room, epoch, messages), result), entries), expected) in
        groups.into_iter().zip(appended).zip(bodies).zip(expected)
    {
        match result {
            Ok(seqs) => {
                let mut answers = seqs.iter().copied();
                for m in messages {
                    let mine = answers.by_ref().take(m.count).collect();
                    let _ = m.reply.send(Ok(mine));
                }
                // Where they were expected: rendered, and announced as they committed if
                // they fit in a notification.
                let expected = expected.filter(|e| seqs.first() == Some(&(e.after + 1)));
                let announced = expected.as_ref().is_some_and(|e| e.announcement.is_some());
                let rendered = expected.map(|e| e.rendered);
                written.push((room, epoch, seqs, entries, rendered, announced));
            }
            Err(e) => {
                for m in messages {
                    let _ = m.reply.send(Err(e.clone()));
                }
            }
        }
    }
    for (a, member) in acks.into_iter().zip(acked) {
        let _ = a.reply.send(Ok(member));
    }
    // Rendered once here for every member that syncs them (after the answers: they wait
    // on the disk, not on this).
    let mut rooms: Vec<(RoomId, u64, u64, bool)> = Vec::with_capacity(written.len());
    for (room, epoch, seqs, entries, rendered, announced) in written {
        let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else {
            continue;
        };
        let rendered =
            rendered.unwrap_or_else(|| render(&room, epoch, seqs.into_iter().zip(&entries)));
        tails.push(&room, rendered);
        // Groups of one room (several epochs) follow one another in the log.
        match rooms.last_mut() {
            Some((r, _, l, a)) if *r == room && *l + 1 == first && *a == announced => *l = last,
            _ => rooms.push((room, first, last, announced)),
        }
    }
    rooms
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use mimi_store::{EntryKind, NewRoom};

    /// Room "team" made in `store`, with its one member, alice's phone.
    async fn team(store: &SqlStore) -> (RoomId, ClientId) {
        let team = RoomId::new("example.com", "team").unwrap();
        let alice = ClientId::parse("mimi://example.com/d/alice/phone").unwrap();
        store
            .create_room(&NewRoom {
                id: team.clone(),
                epoch: 0,
                snapshot: b"state".to_vec(),
                document: "{}".into(),
                discoverable: false,
                members: vec![alice.clone()],
                skeleton: None,
            })
            .await
            .unwrap();
        (team, alice)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres_a_message_is_not_held_up_behind_acknowledgements_being_written() {
        use sqlx::Connection as _;
        let Ok(base) = std::env::var("MIMI_TEST_POSTGRES_URL") else {
            eprintln!("skipped: MIMI_TEST_POSTGRES_URL is not set");
            return;
        };
        let schema = format!("mimi_u_writer_{}", std::process::id());
        let url = mimi_store::scratch_schema(&base, &schema).await.unwrap();
        let store = SqlStore::open(&url).await.unwrap();
        let (team, alice) = team(&store).await;
        let writer = Writer::start(
            store.clone(),
            Arc::default(),
            Arc::new(crate::wake::Wakes::local()),
        )
        .unwrap();
        // Another transaction holds alice's row: her acknowledgement waits for it.
        let mut other = sqlx::postgres::PgConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN").execute(&mut other).await.unwrap();
        sqlx::query("SELECT 1 FROM room_members WHERE client_id = $1 FOR UPDATE")
            .bind(alice.to_string())
            .execute(&mut other)
            .await
            .unwrap();
        let ack = tokio::spawn({
            let (writer, alice, team) = (writer.clone(), alice.clone(), team.clone());
            async move { writer.ack(alice, team, 0).await }
        });
        let wait = std::time::Duration::from_secs(10);
        tokio::time::timeout(wait, async {
            loop {
                // Sessions that wait for this one: the acknowledgement's.
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_stat_activity \
                     WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))",
                )
                .fetch_one(&mut other)
                .await
                .unwrap();
                if waiting > 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the acknowledgement waits for the row");
        // A message meanwhile is written and answered.
        let hello = NewEntry {
            kind: EntryKind::Message,
            sender: alice.to_string(),
            body: b"hello".to_vec(),
        };
        let seqs = tokio::time::timeout(wait, writer.append(team.clone(), 0, vec![hello]))
            .await
            .expect("the message is not held up by the acknowledgement")
            .unwrap();
        assert_eq!(seqs, [1]);
        assert!(!ack.is_finished());
        sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
        assert!(
            tokio::time::timeout(wait, ack)
                .await
                .unwrap()
                .unwrap()
                .unwrap()
        );
        other.close().await.unwrap();
        store.close().await;
        mimi_store::drop_schema(&base, &schema).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres_other_processes_hear_of_a_message_as_it_commits_not_after() {
        let Ok(base) = std::env::var("MIMI_TEST_POSTGRES_URL") else {
            eprintln!("skipped: MIMI_TEST_POSTGRES_URL is not set");
            return;
        };
        let schema = format!("mimi_u_announce_w_{}", std::process::id());
        let url = mimi_store::scratch_schema(&base, &schema).await.unwrap();
        let (store, other) = (
            SqlStore::open(&url).await.unwrap(),
            SqlStore::open(&url).await.unwrap(),
        );
        let (team, alice) = team(&store).await;
        // This process publishes nothing (what it would stays in `published`); the other
        // listens, and its tail holds the room's first message.
        let (wakes, mut published) = crate::wake::Wakes::unpublished(&store).await;
        let tails = Arc::new(Tails::default());
        let writer = Writer::start(store.clone(), tails.clone(), wakes.clone()).unwrap();
        let user = || Some(mimi_policy::id::UserId::new("example.com", "bob").unwrap());
        let (other_tails, here) = (Arc::new(Tails::default()), wakes.subscribe(user()));
        let other_wakes = crate::wake::Wakes::shared(&other, other_tails.clone())
            .await
            .unwrap();
        let bob = other_wakes.subscribe(user());
        assert!(bob.watch([team.clone()]) && here.watch([team.clone()]));
        let hello = |text: &str| NewEntry {
            kind: EntryKind::Message,
            sender: alice.to_string(),
            body: text.as_bytes().to_vec(),
        };
        let wait = std::time::Duration::from_secs(10);
        let send = async |text: &str| {
            tokio::time::timeout(wait, writer.append(team.clone(), 0, vec![hello(text)]))
                .await
                .unwrap()
                .unwrap()
        };
        let messages = |first, last| crate::wake::Topic::Messages {
            room: team.clone(),
            first,
            last,
        };
        // Nothing in this process's tail says where the log ends: published after.
        assert_eq!(send("one").await, [1]);
        let first = tokio::time::timeout(wait, published.recv()).await.unwrap();
        assert_eq!(first, Some(messages(1, 1)));
        tokio::time::timeout(wait, here.wait()).await.unwrap();
        assert_eq!(here.woken().room(&team), Some(1));
        other_tails.push(
            &team,
            tails
                .after(&team, 0, 1, 1)
                .unwrap()
                .iter()
                .map(|e| Rendered::message_from_json(&team, e.0.seq, e.0.json()).unwrap())
                .collect(),
        );
        // Now it does: the other process hears of the message, carrying it, as it commits;
        // this one's waiters are woken, and nothing is left to publish.
        assert_eq!(send("two").await, [2]);
        tokio::time::timeout(wait, bob.wait()).await.unwrap();
        assert_eq!(bob.woken().room(&team), Some(2));
        assert_eq!(
            other_tails.after(&team, 1, 2, 1).unwrap()[0].0.json(),
            Rendered::new(&team, 2, EntryKind::Message, 0, &alice.to_string(), b"two").json()
        );
        tokio::time::timeout(wait, here.wait()).await.unwrap();
        assert_eq!(here.woken().room(&team), Some(2));
        // Another process wrote meanwhile: the message lands elsewhere than expected, goes
        // without a notification, is published after (the first thing since "one"), and is
        // in this process's tail where it landed.
        other
            .append_messages(&team, 0, &[hello("three")])
            .await
            .unwrap();
        assert_eq!(send("four").await, [4]);
        let next = tokio::time::timeout(wait, published.recv()).await.unwrap();
        assert_eq!(next, Some(messages(4, 4)));
        assert_eq!(
            tails.after(&team, 3, 4, 1).unwrap()[0].0.json(),
            Rendered::new(&team, 4, EntryKind::Message, 0, &alice.to_string(), b"four").json()
        );
        drop((writer, wakes, other_wakes, bob, here));
        store.close().await;
        other.close().await;
        mimi_store::drop_schema(&base, &schema).await.unwrap();
    }
}
