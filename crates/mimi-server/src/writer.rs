//! Group commit for application messages and delivery acknowledgements: requests queue
//! here, and one task writes everything that queued while the previous write ran (messages
//! in one transaction per room and epoch, acknowledgements in one transaction) before any
//! of them is answered. Each is still on disk before its answer; the disk's flush is paid
//! once per batch instead of once per request.

use mimi_policy::id::{ClientId, RoomId};
use mimi_store::{NewEntry, SqlStore, Store as _, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Most messages in one batch.
const MAX_BATCH: usize = 512;

struct Message {
    room: RoomId,
    epoch: u64,
    entries: Vec<NewEntry>,
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

/// The queue in front of the message writer.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Request>,
}

impl Writer {
    /// Starts the writer task over `store`; `written` rings after each batch.
    pub fn start(store: SqlStore, written: tokio::sync::broadcast::Sender<()>) -> Self {
        let (queue, mut rx) = mpsc::channel::<Request>(4 * MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                write(&store, batch).await;
                let _ = written.send(());
            }
        });
        Self { queue }
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
            entries,
            reply,
        });
        let gone = || StoreError::Backend("the writer stopped".into());
        self.queue.send(request).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Acknowledges `client`'s position in `room`; false if it is not in the room.
    pub async fn ack(&self, client: ClientId, room: RoomId, seq: u64) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let request = Request::Ack(Ack {
            ack: (client, room, seq),
            reply,
        });
        let gone = || StoreError::Backend("the writer stopped".into());
        self.queue.send(request).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// Writes a batch: messages for the same room and epoch in one transaction each, then all
/// acknowledgements in one.
async fn write(store: &SqlStore, batch: Vec<Request>) {
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
    for (room, epoch, mut messages) in groups {
        // The bodies move into one list; each request keeps its count for its answer.
        let counts: Vec<usize> = messages.iter().map(|m| m.entries.len()).collect();
        let entries: Vec<NewEntry> = messages
            .iter_mut()
            .flat_map(|m| std::mem::take(&mut m.entries))
            .collect();
        match store.append_messages(&room, epoch, &entries).await {
            Ok(seqs) => {
                let mut seqs = seqs.into_iter();
                for (m, count) in messages.into_iter().zip(counts) {
                    let mine = seqs.by_ref().take(count).collect();
                    let _ = m.reply.send(Ok(mine));
                }
            }
            Err(e) => {
                for m in messages {
                    let _ = m.reply.send(Err(e.clone()));
                }
            }
        }
    }
    if acks.is_empty() {
        return;
    }
    let list: Vec<(ClientId, RoomId, u64)> = acks.iter().map(|a| a.ack.clone()).collect();
    match store.ack(&list).await {
        Ok(members) => {
            for (a, member) in acks.into_iter().zip(members) {
                let _ = a.reply.send(Ok(member));
            }
        }
        Err(e) => {
            for a in acks {
                let _ = a.reply.send(Err(e.clone()));
            }
        }
    }
}
