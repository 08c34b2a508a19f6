//! [`Delivery::write_batch`](crate::Delivery::write_batch) on SQLite: one connection on a thread of
//! its own runs each batch as one transaction, statement after statement in-process.
//!
//! Through sqlx every statement is a round trip to the connection's worker thread (two
//! thread switches); a batch of messages and acknowledgements is five or more statements,
//! and on a busy machine those switches, not SQLite, were most of the writer's time. Here a
//! batch costs one hand-over each way. The connection is SQLite's own (rusqlite, on the
//! same libsqlite3 as sqlx), with the same settings as the pool's: WAL, `synchronous=FULL`
//! (the commit is on disk before the batch is answered; `NORMAL` for a batch of
//! acknowledgements alone, decision 0019), a busy timeout, foreign keys.

use std::path::Path;
use std::sync::mpsc;

use mimi_policy::id::{ClientId, RoomId};
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior, params};
use tokio::sync::oneshot;

use crate::{Append, NewEntry, StoreError, Written};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::backend_from("SQLite", e)
    }
}

/// One room's messages, owned for the trip to the writer thread.
struct OwnedAppend {
    room: String,
    epoch: u64,
    entries: Vec<NewEntry>,
}

struct Batch {
    appends: Vec<OwnedAppend>,
    acks: Vec<(String, String, u64)>,
    reply: oneshot::Sender<Result<Written, StoreError>>,
}

enum Job {
    Write(Batch),
    /// Close the connection, end the thread, then answer.
    Close(oneshot::Sender<()>),
}

/// The handle to the writer thread; the thread ends when every handle is dropped.
#[derive(Clone)]
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteWriter")
    }
}

fn stopped() -> StoreError {
    StoreError::backend("the SQLite writer stopped")
}

impl SqliteWriter {
    /// Opens `path` (already created and migrated) and starts the thread.
    pub(crate) fn start(path: &Path) -> Result<Self, StoreError> {
        // Never created here: the file is the one the pool opened and migrated; a path
        // read differently from sqlx's reading of the URL fails now, not at the first batch.
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| {
            StoreError::backend_from(format!("opening {} for the writer", path.display()), e)
        })?;
        let migrated: i64 = conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = '_sqlx_migrations'",
            [],
            |row| row.get(0),
        )?;
        if migrated == 0 {
            return Err(StoreError::backend(format!(
                "{} is not the database the provider migrated: give a plain file path, \
                 sqlite://PATH",
                path.display()
            )));
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
        )?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("mimi-sqlite-writer".into())
            .spawn(move || {
                let mut conn = conn;
                // True while commits do not wait for the disk (after acknowledgements alone).
                let mut relaxed = false;
                loop {
                    match queue.recv() {
                        Ok(Job::Write(batch)) => {
                            let result =
                                write(&mut conn, &mut relaxed, &batch.appends, &batch.acks);
                            let _ = batch.reply.send(result);
                        }
                        Ok(Job::Close(done)) => {
                            drop(conn);
                            let _ = done.send(());
                            break;
                        }
                        Err(_) => break,
                    }
                }
            })
            .map_err(|e| StoreError::backend_from("starting the SQLite writer", e))?;
        Ok(Self { jobs })
    }

    /// Closes the connection once the batches before this call are written; later
    /// batches fail.
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }

    /// Runs one batch on the writer thread.
    pub(crate) async fn write_batch(
        &self,
        appends: &[Append<'_>],
        acks: &[(ClientId, RoomId, u64)],
    ) -> Result<Written, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Write(Batch {
            appends: appends
                .iter()
                .map(|a| OwnedAppend {
                    room: a.room.as_str().to_owned(),
                    epoch: a.epoch,
                    entries: a.entries.to_vec(),
                })
                .collect(),
            acks: acks
                .iter()
                .map(|(client, room, seq)| (client.to_string(), room.as_str().to_owned(), *seq))
                .collect(),
            reply,
        });
        self.jobs.send(job).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// One batch, one transaction: the same statements as the sqlx path in `sql.rs`.
///
/// Acknowledgements alone are not flushed to disk (decision 0019): one lost in a crash only
/// has its entries sent again, which devices skip, and the next batch with messages flushes
/// them with it (the WAL is written in order). A flush per acknowledgement made every
/// message that came during one wait for it. `relaxed` is the connection's state (true:
/// `synchronous = NORMAL`); a batch with messages is never written before it is FULL again.
fn write(
    conn: &mut Connection,
    relaxed: &mut bool,
    appends: &[OwnedAppend],
    acks: &[(String, String, u64)],
) -> Result<Written, StoreError> {
    let messages = appends.iter().any(|a| !a.entries.is_empty());
    if messages == *relaxed {
        conn.pragma_update(
            None,
            "synchronous",
            if messages { "FULL" } else { "NORMAL" },
        )?;
        *relaxed = !messages;
    }
    write_tx(conn, appends, acks)
}

/// One batch in one transaction, committed as the connection's `synchronous` says.
fn write_tx(
    conn: &mut Connection,
    appends: &[OwnedAppend],
    acks: &[(String, String, u64)],
) -> Result<Written, StoreError> {
    // IMMEDIATE: the write lock is taken at BEGIN (waiting out other writers under the
    // busy timeout) rather than at the first write.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut appended = Vec::with_capacity(appends.len());
    for a in appends {
        appended.push(append(&tx, a)?);
    }
    let mut acked = Vec::with_capacity(acks.len());
    if !acks.is_empty() {
        let mut update = tx.prepare_cached(
            "UPDATE room_members \
             SET acked_seq = CASE WHEN acked_seq < ?1 \
                 AND ?1 <= (SELECT last_seq FROM rooms WHERE id = ?2) \
                 THEN ?1 ELSE acked_seq END \
             WHERE room_id = ?2 AND client_id = ?3",
        )?;
        for (client, room, seq) in acks {
            acked.push(update.execute(params![i(*seq), room, client])? > 0);
        }
        // Removed clients that have everything up to their removal are done with the room.
        tx.prepare_cached(
            "DELETE FROM room_members WHERE until_seq IS NOT NULL AND acked_seq >= until_seq",
        )?
        .execute([])?;
    }
    tx.commit()?;
    Ok(Written { appended, acked })
}

/// Appends `a`; a stale epoch or an unknown room is that append's answer and writes nothing.
fn append(
    tx: &rusqlite::Transaction<'_>,
    a: &OwnedAppend,
) -> Result<Result<Vec<u64>, StoreError>, StoreError> {
    if a.entries.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let n = a.entries.len() as i64;
    let last: Option<i64> = tx
        .prepare_cached(
            "UPDATE rooms SET last_seq = last_seq + ?1 WHERE id = ?2 AND epoch = ?3 \
             RETURNING last_seq",
        )?
        .query_row(params![n, a.room, i(a.epoch)], |row| row.get(0))
        .optional()?;
    let Some(last) = last else {
        let found: Option<(i64, i64)> = tx
            .prepare_cached("SELECT version, epoch FROM rooms WHERE id = ?1")?
            .query_row([&a.room], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        return Ok(Err(match found {
            Some((version, epoch)) => StoreError::Stale {
                version: version.max(0) as u64,
                epoch: epoch.max(0) as u64,
            },
            None => StoreError::NotFound(format!("room {}", a.room)),
        }));
    };
    let first = last - n + 1;
    let mut insert = tx.prepare_cached(
        "INSERT INTO room_log (room_id, seq, kind, epoch, sender, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (k, e) in a.entries.iter().enumerate() {
        insert.execute(params![
            a.room,
            first + k as i64,
            e.kind.code(),
            i(a.epoch),
            e.sender,
            e.body
        ])?;
    }
    Ok(Ok((first..=last).map(|s| s.max(0) as u64).collect()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_acknowledgement_alone_is_not_flushed_and_a_batch_with_messages_always_is() {
        let dir = std::env::temp_dir().join(format!("mimi-sqlite-writer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("db").display());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = rt.block_on(crate::SqlStore::open(&url)).unwrap();
        let mut conn = Connection::open(dir.join("db")).unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        let mut relaxed = false;
        // 2: FULL, every commit waits for the disk; 1: NORMAL, it does not (in WAL mode).
        let synchronous =
            |c: &Connection| c.query_row("PRAGMA synchronous", [], |row| row.get::<_, i64>(0));
        let acks = [(
            "alice.example/phone".to_owned(),
            "example.com/team".to_owned(),
            1,
        )];
        let written = write(&mut conn, &mut relaxed, &[], &acks).unwrap();
        assert_eq!(written.acked, [false]);
        assert_eq!(
            synchronous(&conn).unwrap(),
            1,
            "an acknowledgement alone waits for no flush"
        );
        let message = OwnedAppend {
            room: "example.com/team".into(),
            epoch: 0,
            entries: vec![NewEntry {
                kind: crate::EntryKind::Message,
                sender: "alice.example/phone".into(),
                body: b"hello".to_vec(),
            }],
        };
        // With messages (and acknowledgements), whatever came before: flushed.
        let written = write(&mut conn, &mut relaxed, &[message], &acks).unwrap();
        assert!(matches!(written.appended[0], Err(StoreError::NotFound(_))));
        assert_eq!(
            synchronous(&conn).unwrap(),
            2,
            "messages are on disk before their answer"
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
