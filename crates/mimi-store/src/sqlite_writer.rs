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
//!
//! The WAL is copied back into the database (checkpointed) by a thread of its own, at most
//! once per [`CHECKPOINT_PAUSE`] while batches are written, instead of by the commit that
//! happened to fill it: SQLite's automatic checkpoint ran in the writer's commit, and with
//! it every message queued behind that commit waited, 50-95 ms at times on a virtual disk
//! (BENCHMARKS.md). A PASSIVE checkpoint lets the writer go on; if the WAL never gets back to
//! its start that way (written without a pause), the writer checkpoints once itself, between
//! two batches, when little is left to copy.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

/// How long the checkpointer lets batches gather after one was written before it copies
/// the WAL back into the database (and how often it does so at most).
const CHECKPOINT_PAUSE: Duration = Duration::from_secs(1);

/// WAL frames (pages) past which the writer checkpoints itself: the checkpointer's
/// checkpoints have not let the WAL start again from its beginning (64 MiB of 4 KiB pages).
const MAX_WAL_FRAMES: i64 = 16_384;

/// Copies the WAL back into the database on its own connection: a PASSIVE checkpoint
/// [`CHECKPOINT_PAUSE`] after a batch was written (batches written meanwhile wait for the
/// same one). Ends when `wrote` is closed; sets `overdue` when the WAL holds more than
/// `max_frames`.
fn checkpointer(
    conn: Connection,
    wrote: mpsc::Receiver<()>,
    overdue: Arc<AtomicBool>,
    pause: Duration,
    max_frames: i64,
) {
    while wrote.recv().is_ok() {
        let until = Instant::now() + pause;
        loop {
            match wrote.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(()) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                // The writer stopped: SQLite checkpoints as the last connection closes.
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(1)
        }) {
            Ok(frames) if frames > max_frames => overdue.store(true, Ordering::Relaxed),
            Ok(_) => {}
            // Tried again after the next batch; the WAL grows meanwhile.
            Err(e) => tracing::warn!(error = %e, "checkpointing the SQLite WAL"),
        }
    }
}

/// The handle to the writer thread; the thread ends when every handle is dropped.
#[derive(Clone)]
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
    /// Set when the writer is to checkpoint before its next batch (tests set it).
    #[cfg(test)]
    overdue: Arc<AtomicBool>,
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
        Self::start_with(path, CHECKPOINT_PAUSE, MAX_WAL_FRAMES)
    }

    /// [`SqliteWriter::start`], with the checkpointer's pause and the WAL's size before the
    /// writer checkpoints itself given.
    fn start_with(path: &Path, pause: Duration, max_frames: i64) -> Result<Self, StoreError> {
        let open = || {
            Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| {
                StoreError::backend_from(format!("opening {} for the writer", path.display()), e)
            })
        };
        // Never created here: the file is the one the pool opened and migrated; a path
        // read differently from sqlx's reading of the URL fails now, not at the first batch.
        let conn = open()?;
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
        // No automatic checkpoint in the writer's commits: the checkpointer's thread does it.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 0;",
        )?;
        let spare = open()?;
        spare.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;")?;
        let overdue = Arc::new(AtomicBool::new(false));
        #[cfg(test)]
        let overdue_handle = overdue.clone();
        let (wrote, written) = mpsc::sync_channel::<()>(1);
        let checkpoints = {
            let overdue = overdue.clone();
            std::thread::Builder::new()
                .name("mimi-sqlite-checkpoint".into())
                .spawn(move || checkpointer(spare, written, overdue, pause, max_frames))
                .map_err(|e| StoreError::backend_from("starting the SQLite checkpointer", e))?
        };
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
                            if overdue.swap(false, Ordering::Relaxed) {
                                // Between batches nothing is written while it copies (what
                                // is left: the checkpointer copied the rest), so the next
                                // batch starts the WAL again from its beginning.
                                if let Err(e) =
                                    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                                {
                                    tracing::warn!(error = %e, "checkpointing the SQLite WAL");
                                }
                            }
                            let result =
                                write(&mut conn, &mut relaxed, &batch.appends, &batch.acks);
                            let _ = batch.reply.send(result);
                            // Full: a checkpoint is due already.
                            let _ = wrote.try_send(());
                        }
                        Ok(Job::Close(done)) => {
                            drop(wrote);
                            let _ = checkpoints.join();
                            drop(conn);
                            let _ = done.send(());
                            break;
                        }
                        Err(_) => break,
                    }
                }
            })
            .map_err(|e| StoreError::backend_from("starting the SQLite writer", e))?;
        Ok(Self {
            jobs,
            #[cfg(test)]
            overdue: overdue_handle,
        })
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

    /// A database with room `example.com/team` (alice's), and a runtime.
    fn scratch(name: &str) -> (std::path::PathBuf, tokio::runtime::Runtime) {
        use crate::prelude::*;
        let dir = std::env::temp_dir().join(format!("mimi-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("db").display());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = rt.block_on(crate::SqlStore::open(&url)).unwrap();
        let alice = ClientId::parse("mimi://example.com/d/alice/phone").unwrap();
        rt.block_on(store.create_room(&crate::NewRoom {
            id: RoomId::new("example.com", "team").unwrap(),
            epoch: 0,
            snapshot: b"state".to_vec(),
            document: "{}".into(),
            discoverable: false,
            members: vec![alice],
            skeleton: None,
        }))
        .unwrap();
        rt.block_on(store.close());
        (dir, rt)
    }

    /// Writes `batches` batches of three 8 KiB messages (about 7 WAL pages each).
    fn fill(writer: &SqliteWriter, rt: &tokio::runtime::Runtime, batches: usize) {
        let team = RoomId::new("example.com", "team").unwrap();
        for i in 0..batches {
            let entries: Vec<NewEntry> = (0..3u8)
                .map(|k| NewEntry {
                    kind: crate::EntryKind::Message,
                    sender: "mimi://example.com/d/alice/phone".into(),
                    body: vec![k ^ (i as u8); 8 << 10],
                })
                .collect();
            let append = crate::Append {
                room: &team,
                epoch: 0,
                entries: &entries,
            };
            let written = rt.block_on(writer.write_batch(&[append], &[])).unwrap();
            assert!(written.appended[0].is_ok());
        }
    }

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().len()
    }

    #[test]
    fn the_writers_commits_leave_the_wal_to_the_checkpointer_unless_it_is_overdue() {
        let (dir, rt) = scratch("wal-writer");
        let db = dir.join("db");
        let writer =
            SqliteWriter::start_with(&db, Duration::from_secs(3600), MAX_WAL_FRAMES).unwrap();
        let before = size(&db);
        // About 1,400 pages: SQLite's automatic checkpoint (at 1,000) would have copied
        // them into the database file in the commit that crossed it.
        fill(&writer, &rt, 200);
        assert_eq!(size(&db), before, "no commit of the writer checkpointed");
        // The checkpointer found the WAL too long: the writer copies it before its next batch.
        writer.overdue.store(true, Ordering::Relaxed);
        fill(&writer, &rt, 1);
        assert!(size(&db) > before, "the writer checkpointed");
        assert!(!writer.overdue.load(Ordering::Relaxed));
        rt.block_on(writer.close());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_checkpointer_copies_the_wal_after_a_pause_and_says_when_it_stays_too_long() {
        let (dir, rt) = scratch("wal-checkpointer");
        let db = dir.join("db");
        let writer = SqliteWriter::start_with(&db, Duration::from_millis(20), 10).unwrap();
        let before = size(&db);
        fill(&writer, &rt, 20);
        let until = Instant::now() + Duration::from_secs(10);
        while size(&db) == before || !writer.overdue.load(Ordering::Relaxed) {
            assert!(Instant::now() < until, "the checkpointer did not run");
            std::thread::sleep(Duration::from_millis(10));
        }
        rt.block_on(writer.close());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
