//! [`Store`] on SQLite and PostgreSQL through sqlx's `Any` driver: one set of queries (both
//! databases accept `$n` placeholders, `RETURNING` and `ON CONFLICT`), one set of migrations
//! per database (`migrations/sqlite`, `migrations/postgres`).

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use mimi_policy::id::{ClientId, RoomId, UserId};
use sqlx::AnyPool;
use sqlx::Row as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{Executor as _, Transaction};

mod accounts;
mod blobs;
mod consents;
mod delivery;
mod federation;
mod key_packages;
mod links;
mod reports;
mod rooms;

use crate::{
    Append, Consent, DirectoryEntry, EntryKind, InboxItem, InboxKind, LogEntry, Membership,
    NewEntry, NewRoom, PendingRemoval, Position, RoomRecord, RoomUpdate, StoreError, TokenOwner,
    Written,
};

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded (one file, WAL).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The provider's state in a SQL database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    /// Group commits of messages and acknowledgements ([`Delivery::write_batch`](crate::Delivery::write_batch)).
    writer: BatchWriter,
    backend: Backend,
    /// PostgreSQL: the URL, for listening connections ([`SqlStore::listen`]).
    url: Option<Arc<str>>,
}

/// Makes a fresh PostgreSQL schema `name` (letters, digits and `_`) in the database at `url`,
/// dropping one of that name first, and returns the URL whose connections use only it: a
/// scratch provider for a benchmark on a shared database. [`drop_schema`] removes it.
pub async fn scratch_schema(url: &str, name: &str) -> Result<String, StoreError> {
    on_schema(
        url,
        name,
        "DROP SCHEMA IF EXISTS {} CASCADE; CREATE SCHEMA {}",
    )
    .await?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-c%20search_path%3D{name}"))
}

/// Drops the schema [`scratch_schema`] made.
pub async fn drop_schema(url: &str, name: &str) -> Result<(), StoreError> {
    on_schema(url, name, "DROP SCHEMA IF EXISTS {} CASCADE").await
}

/// Runs `statement`, each `{}` in it replaced by schema `name`, on a connection of its own
/// to the database at `url`.
async fn on_schema(url: &str, name: &str, statement: &str) -> Result<(), StoreError> {
    use sqlx::{Connection as _, Executor as _};
    // The name goes into the statement's text: letters, digits and `_` only.
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(StoreError::backend(format!(
            "{name:?} is not a schema name"
        )));
    }
    let mut conn = sqlx::postgres::PgConnection::connect(url).await?;
    conn.execute(sqlx::AssertSqlSafe(statement.replace("{}", name)))
        .await?;
    conn.close().await?;
    Ok(())
}

/// How long a pooled PostgreSQL connection may lie idle and still be handed out without a
/// check (a ping) first; one used more recently is taken as it is (as HikariCP does with
/// its half-second bypass window).
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// A PostgreSQL connection listening on a channel ([`SqlStore::listen`]).
pub struct Listener {
    inner: sqlx::postgres::PgListener,
    channel: String,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listener")
    }
}

impl Listener {
    /// The next notification's payload; `None` once after the connection was lost and made
    /// again (notifications sent meanwhile are lost).
    pub async fn recv(&mut self) -> Result<Option<String>, StoreError> {
        Ok(self.inner.try_recv().await?.map(|n| n.payload().to_owned()))
    }

    /// The channel listened on (for [`Notifier::notify`]).
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Connects again if the connection was lost (listening again on the channel); an
    /// error if the database cannot be reached.
    pub async fn reconnect(&mut self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&mut self.inner).await?;
        Ok(())
    }
}

/// Sends notifications ([`SqlStore::notifier`]) on a connection of its own, taken out of
/// the pool: a notification waits neither for a free connection of the pool nor for the
/// pool's check of one before it is handed out (a round trip to the database).
pub struct Notifier {
    /// `None` on SQLite.
    pool: Option<AnyPool>,
    /// Made at the first notification, and again after an error.
    conn: Option<sqlx::AnyConnection>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier")
    }
}

impl Notifier {
    /// Sends `payload` to every listener of `channel`, delivered at once (nothing on
    /// SQLite).
    pub async fn notify(&mut self, channel: &str, payload: &str) -> Result<(), StoreError> {
        let Some(pool) = &self.pool else {
            return Ok(());
        };
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            // Out of the pool for good (not counted in its size).
            None => pool.acquire().await?.detach(),
        };
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&mut conn)
            .await?;
        // Kept only after a success: a failed connection is closed as it drops.
        self.conn = Some(conn);
        Ok(())
    }
}

/// Where [`Delivery::write_batch`](crate::Delivery::write_batch) runs.
#[derive(Debug, Clone)]
enum BatchWriter {
    /// SQLite: a connection of its own on a thread of its own, so that the hot write path
    /// never waits for a connection readers hold nor pays a thread switch per statement.
    Sqlite(crate::sqlite_writer::SqliteWriter),
    /// PostgreSQL: the pool.
    Pool(AnyPool),
}

/// `inbox.kind` of a Welcome.
const INBOX_WELCOME: i64 = 1;

/// `inbox.kind` of a consent request.
const INBOX_CONSENT_REQUEST: i64 = 2;

/// `inbox.kind` of a knock.
const INBOX_KNOCK: i64 = 3;

/// `inbox.kind` of a room suggestion.
const INBOX_SUGGESTION: i64 = 4;

/// How long a KeyPackage claimed under the allowance counts against its requester, seconds.
const ALLOWANCE_CLAIM_LIFETIME: i64 = 24 * 60 * 60;

/// Rows in one multi-row `INSERT` (6 parameters each, far below both databases' limits).
const ROWS_PER_INSERT: usize = 100;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

fn bad<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> StoreError + '_ {
    move |e| StoreError::backend(format!("unreadable {what} in the database: {e}"))
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

fn log_entry(row: &AnyRow) -> Result<LogEntry, StoreError> {
    Ok(LogEntry {
        room: RoomId::parse(&row.try_get::<String, _>(0)?).map_err(bad("room id"))?,
        seq: u(row.try_get(1)?),
        kind: EntryKind::from_code(row.try_get(2)?)?,
        epoch: u(row.try_get(3)?),
        sender: row.try_get(4)?,
        body: row.try_get(5)?,
    })
}

/// Creates the SQLite database file, if missing, readable and writable by the provider's
/// user alone (0600), and makes an existing one so: it holds the provider's signing key and
/// every account's password hash. SQLite gives its `-wal` and `-shm` files the database
/// file's mode.
fn private_file(file: &std::path::Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let cannot = |e: std::io::Error| {
            StoreError::backend_from(format!("database file {}", file.display()), e)
        };
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(file)
            .map_err(cannot)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut path = file.as_os_str().to_owned();
            path.push(suffix);
            match std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(cannot(e)),
                _ => {}
            }
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

impl SqlStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH` or
    /// `postgres://...`) and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url, file) = if let Some(path) = url.strip_prefix("sqlite://") {
            let file = path.split('?').next().unwrap_or_default();
            if file.is_empty() || file.starts_with(":memory:") || path.contains("mode=memory") {
                return Err(StoreError::backend(format!(
                    "{url:?} is an in-memory database, which the provider's connections \
                     cannot share: give a file, sqlite://PATH"
                )));
            }
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = if path.contains("mode=") {
                url.to_owned()
            } else {
                format!("{url}{sep}mode=rwc")
            };
            private_file(std::path::Path::new(file))?;
            (Backend::Sqlite, url, std::path::PathBuf::from(file))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned(), std::path::PathBuf::new())
        } else {
            return Err(StoreError::backend(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://..."
            )));
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    // A connection is checked with a round trip before it is handed out
                    // only if it lay idle a while (`IDLE_CHECK`): the check on every
                    // acquire was a round trip before each message's one statement. One
                    // that failed since is closed at its next use (that request fails;
                    // the next gets a new connection).
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= IDLE_CHECK {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_with(options)
                    .await?
            }
        };
        let migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator
            .run(&pool)
            .await
            .map_err(|e| StoreError::backend_from("migrating the database", e))?;
        let writer = match backend {
            Backend::Sqlite => {
                BatchWriter::Sqlite(crate::sqlite_writer::SqliteWriter::start(&file)?)
            }
            Backend::Postgres => BatchWriter::Pool(pool.clone()),
        };
        Ok(Self {
            pool,
            writer,
            backend,
            url: (backend == Backend::Postgres).then(|| Arc::from(url.as_str())),
        })
    }

    /// The database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Listens on `channel` on a connection of its own (PostgreSQL's `LISTEN`); `None` on
    /// SQLite, which has no such thing.
    ///
    /// The channel is `base` followed by the schema's name ([`Listener::channel`]): providers
    /// on other schemas of one database do not hear each other.
    pub async fn listen(&self, base: &str) -> Result<Option<Listener>, StoreError> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        let schema: String = sqlx::query_scalar("SELECT COALESCE(current_schema(), 'public')")
            .fetch_one(&mut listener)
            .await?;
        // PostgreSQL's identifiers hold at most 63 bytes.
        let mut channel = format!("{base}_{schema}");
        while channel.len() > 63 {
            channel.pop();
        }
        listener.listen(&channel).await?;
        Ok(Some(Listener {
            inner: listener,
            channel,
        }))
    }

    /// The key every process of this provider signs its notifications with: `candidate`
    /// if none was stored yet (the first process's), else the stored one.
    pub async fn notify_key(&self, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query("INSERT INTO wake_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(candidate)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT key FROM wake_key WHERE id = 1")
            .fetch_one(&self.pool)
            .await?)
    }

    /// What sends notifications to every listener of a channel (PostgreSQL's `NOTIFY`);
    /// on SQLite it sends nothing.
    pub fn notifier(&self) -> Notifier {
        Notifier {
            pool: (self.backend == Backend::Postgres).then(|| self.pool.clone()),
            conn: None,
        }
    }

    /// Closes the connections.
    pub async fn close(&self) {
        if let BatchWriter::Sqlite(w) = &self.writer {
            w.close().await;
        }
        self.pool.close().await;
    }

    /// Appends `a` inside `tx`: [`StoreError::Stale`] (or `NotFound`) changes nothing.
    async fn append_in(
        tx: &mut Transaction<'_, sqlx::Any>,
        a: &Append<'_>,
    ) -> Result<Vec<u64>, StoreError> {
        let (room, epoch, messages) = (a.room, a.epoch, a.entries);
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        if messages.len() <= ROWS_PER_INSERT {
            return match Self::append_at_once(&mut **tx, a).await? {
                Some(seqs) => Ok(seqs),
                None => Err(Self::stale(&mut **tx, room).await?),
            };
        }
        let row = sqlx::query(
            "UPDATE rooms SET last_seq = last_seq + $1 WHERE id = $2 AND epoch = $3 \
             RETURNING last_seq",
        )
        .bind(messages.len() as i64)
        .bind(room.as_str())
        .bind(epoch as i64)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else {
            return Err(Self::stale(&mut **tx, room).await?);
        };
        let last: i64 = row.try_get(0)?;
        let first = last - messages.len() as i64 + 1;
        if let Some(n) = a.announce
            && u64::try_from(first - 1) == Ok(n.after)
        {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(n.channel)
                .bind(n.payload)
                .execute(&mut **tx)
                .await?;
        }
        // Many rows per statement: each statement is a round trip to the database.
        for (c, chunk) in messages.chunks(ROWS_PER_INSERT).enumerate() {
            let values = (0..chunk.len())
                .map(|i| {
                    let b = i * 6;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO room_log (room_id, seq, kind, epoch, sender, body) VALUES {values}"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (i, m) in chunk.iter().enumerate() {
                query = query
                    .bind(room.as_str())
                    .bind(first + (c * ROWS_PER_INSERT + i) as i64)
                    .bind(m.kind.code())
                    .bind(epoch as i64)
                    .bind(m.sender.as_str())
                    .bind(m.body.as_slice());
            }
            query.execute(&mut **tx).await?;
        }
        Ok((first..=last).map(u).collect())
    }

    /// Appends `a` (at most [`ROWS_PER_INSERT`] entries, at least one) in one statement,
    /// the room's counter moved and the rows inserted together (PostgreSQL: a statement
    /// that changes rows in a `WITH`): one round trip to the database, which is its own
    /// transaction outside one. Their positions; `None` if the room is not in `a.epoch`
    /// (nothing changed).
    async fn append_at_once<'c, E>(exec: E, a: &Append<'_>) -> Result<Option<Vec<u64>>, StoreError>
    where
        E: sqlx::Executor<'c, Database = sqlx::Any>,
    {
        let (room, epoch, messages) = (a.room, a.epoch, a.entries);
        let values = (0..messages.len())
            .map(|i| {
                let b = 3 + i * 4;
                format!(
                    "(CAST(${} AS BIGINT), CAST(${} AS BIGINT), CAST(${} AS TEXT), \
                     CAST(${} AS BYTEA))",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!(
            "INSERT INTO room_log (room_id, seq, kind, epoch, sender, body) \
             SELECT $2, r.base + v.n, v.kind, $3, v.sender, v.body \
             FROM r, (VALUES {values}) AS v(n, kind, sender, body) \
             RETURNING seq"
        );
        let counter = "WITH r AS (UPDATE rooms SET last_seq = last_seq + $1 \
                       WHERE id = $2 AND epoch = $3 RETURNING last_seq - $1 AS base)";
        let sql = match a.announce {
            None => format!("{counter} {insert}"),
            // The notification goes out with the statement's commit, only if the log
            // ended where its payload says (the aggregate makes it run once, before the
            // rows are returned).
            Some(_) => {
                let n = 4 + messages.len() * 4;
                format!(
                    "{counter}, i AS ({insert}), \
                     w AS (SELECT pg_notify(CAST(${} AS TEXT), CAST(${} AS TEXT)) FROM r \
                           WHERE r.base = CAST(${} AS BIGINT)) \
                     SELECT seq FROM i WHERE (SELECT COUNT(*) FROM w) >= 0",
                    n,
                    n + 1,
                    n + 2
                )
            }
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(messages.len() as i64)
            .bind(room.as_str())
            .bind(epoch as i64);
        for (i, m) in messages.iter().enumerate() {
            query = query
                .bind(i as i64 + 1)
                .bind(m.kind.code())
                .bind(m.sender.as_str())
                .bind(m.body.as_slice());
        }
        if let Some(n) = a.announce {
            query = query
                .bind(n.channel)
                .bind(n.payload)
                .bind(i64::try_from(n.after).unwrap_or(-1));
        }
        let rows = query.fetch_all(exec).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut seqs = rows
            .iter()
            .map(|r| r.try_get::<i64, _>(0).map(u))
            .collect::<Result<Vec<u64>, _>>()?;
        seqs.sort_unstable();
        Ok(Some(seqs))
    }

    /// Records a consent request (`granted` false: an existing row stays as it is) or grant.
    async fn put_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
        granted: bool,
    ) -> Result<(), StoreError> {
        let on_conflict = if granted {
            "DO UPDATE SET granted = 1"
        } else {
            "DO NOTHING"
        };
        let result = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO consents (target_id, requester_id, room_id, granted, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (target_id, requester_id, room_id) {on_conflict}"
        )))
        .bind(target.as_str())
        .bind(requester.as_str())
        .bind(room.map_or("", RoomId::as_str))
        .bind(i64::from(granted))
        .bind(now())
        .execute(&self.pool)
        .await;
        match result {
            Err(e) if foreign_key_violation(&e) => {
                Err(StoreError::NotFound(format!("user {target}")))
            }
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    async fn stale<'c, E>(exec: E, room: &RoomId) -> Result<StoreError, StoreError>
    where
        E: sqlx::Executor<'c, Database = sqlx::Any>,
    {
        let row = sqlx::query("SELECT version, epoch FROM rooms WHERE id = $1")
            .bind(room.as_str())
            .fetch_optional(exec)
            .await?;
        Ok(match row {
            Some(row) => StoreError::Stale {
                version: u(row.try_get(0)?),
                epoch: u(row.try_get(1)?),
            },
            None => StoreError::NotFound(format!("room {room}")),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_notification_is_heard_and_the_notifiers_lost_connection_is_made_again() {
        let Ok(base) = std::env::var("MIMI_TEST_POSTGRES_URL") else {
            eprintln!("skipped: MIMI_TEST_POSTGRES_URL is not set");
            return;
        };
        let schema = format!("mimi_u_notify_{}", std::process::id());
        let store = SqlStore::open(&scratch_schema(&base, &schema).await.unwrap())
            .await
            .unwrap();
        let mut listener = store.listen("t").await.unwrap().unwrap();
        let channel = listener.channel().to_owned();
        let mut notifier = store.notifier();
        notifier.notify(&channel, "one").await.unwrap();
        assert_eq!(listener.recv().await.unwrap().as_deref(), Some("one"));
        // The notifier's own connection is lost: the next notification fails, the one
        // after it connects again.
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(notifier.conn.as_mut().unwrap())
            .await
            .unwrap();
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&store.pool)
            .await
            .unwrap();
        loop {
            let gone: i64 = sqlx::query_scalar(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_stat_activity WHERE pid = $1",
            )
            .bind(pid)
            .fetch_one(&store.pool)
            .await
            .unwrap();
            if gone == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(notifier.notify(&channel, "lost").await.is_err());
        notifier.notify(&channel, "two").await.unwrap();
        assert_eq!(listener.recv().await.unwrap().as_deref(), Some("two"));
        store.close().await;
        drop_schema(&base, &schema).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pooled_connection_the_database_dropped_is_replaced_once_it_lay_idle() {
        use sqlx::Connection as _;
        let Ok(base) = std::env::var("MIMI_TEST_POSTGRES_URL") else {
            eprintln!("skipped: MIMI_TEST_POSTGRES_URL is not set");
            return;
        };
        let schema = format!("mimi_u_idle_{}", std::process::id());
        // Named, so that only this pool's connections are dropped below.
        let url = format!(
            "{}&application_name={schema}",
            scratch_schema(&base, &schema).await.unwrap()
        );
        let store = SqlStore::open(&url).await.unwrap();
        let one = || sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&store.pool);
        assert_eq!(one().await.unwrap(), 1);
        // The database drops every connection of the pool (a restart, an administrator).
        let mut admin = sqlx::postgres::PgConnection::connect(&base).await.unwrap();
        let ours = "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_stat_activity \
                    WHERE application_name = $1";
        let open: i64 = sqlx::query_scalar(ours)
            .bind(&schema)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        assert!(open > 0);
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(&schema)
        .execute(&mut admin)
        .await
        .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            loop {
                let left: i64 = sqlx::query_scalar(ours)
                    .bind(&schema)
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
                if left == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the pool's connections end");
        // Idle for longer than the window taken without a check: each connection is checked
        // when it is handed out, and the dropped ones are replaced instead of failing.
        tokio::time::sleep(IDLE_CHECK + std::time::Duration::from_millis(200)).await;
        for _ in 0..3 {
            assert_eq!(one().await.unwrap(), 1);
        }
        admin.close().await.unwrap();
        store.close().await;
        drop_schema(&base, &schema).await.unwrap();
    }

    #[tokio::test]
    async fn on_sqlite_a_notification_goes_nowhere() {
        let dir = std::env::temp_dir().join(format!("mimi-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("db.sqlite").display());
        let store = SqlStore::open(&url).await.unwrap();
        assert!(store.listen("t").await.unwrap().is_none());
        store.notifier().notify("t", "x").await.unwrap();
        store.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod announce_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{Announce, Delivery as _, Rooms as _};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_appends_notification_goes_out_with_it_only_where_the_log_ended() {
        let Ok(base) = std::env::var("MIMI_TEST_POSTGRES_URL") else {
            eprintln!("skipped: MIMI_TEST_POSTGRES_URL is not set");
            return;
        };
        let schema = format!("mimi_u_announce_{}", std::process::id());
        let store = SqlStore::open(&scratch_schema(&base, &schema).await.unwrap())
            .await
            .unwrap();
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
        let mut listener = store.listen("t").await.unwrap().unwrap();
        let channel = listener.channel().to_owned();
        let message = NewEntry {
            kind: EntryKind::Message,
            sender: alice.to_string(),
            body: b"hello".to_vec(),
        };
        let one = std::slice::from_ref(&message);
        let two = [message.clone(), message.clone()];
        let append = |epoch, entries, payload, after| Append {
            room: &team,
            epoch,
            entries,
            announce: Some(Announce {
                channel: &channel,
                payload,
                after,
            }),
        };
        let seqs = |w: Written| w.appended;
        // Alone (one statement): sent where the log ended, not elsewhere.
        let w = store.write_batch(&[append(0, &two, "1-2", 0)], &[]).await;
        assert_eq!(seqs(w.unwrap())[0].as_ref().unwrap(), &[1, 2]);
        let w = store.write_batch(&[append(0, one, "x", 0)], &[]).await;
        assert_eq!(seqs(w.unwrap())[0].as_ref().unwrap(), &[3]);
        // In a transaction with others: each for itself; a stale one changes nothing.
        let w = store
            .write_batch(
                &[
                    append(0, one, "y", 6),
                    append(0, one, "5", 4),
                    append(1, one, "z", 5),
                ],
                &[],
            )
            .await
            .unwrap();
        let w = seqs(w);
        assert_eq!(w[0].as_ref().unwrap(), &[4]);
        assert_eq!(w[1].as_ref().unwrap(), &[5]);
        assert!(matches!(w[2], Err(StoreError::Stale { .. })));
        // More than one statement holds (rows inserted a hundred at a time).
        let many = vec![message.clone(); ROWS_PER_INSERT + 1];
        let w = store
            .write_batch(&[append(0, &many, "many", 5), append(0, one, "w", 5)], &[])
            .await
            .unwrap();
        assert_eq!(seqs(w)[0].as_ref().unwrap().len(), ROWS_PER_INSERT + 1);
        // Heard in commit order: only what was sent, then a notification sent after them.
        store.notifier().notify(&channel, "end").await.unwrap();
        let mut heard = Vec::new();
        while heard.last().map(String::as_str) != Some("end") {
            heard.push(listener.recv().await.unwrap().unwrap());
        }
        assert_eq!(heard, ["1-2", "5", "many", "end"]);
        store.close().await;
        drop_schema(&base, &schema).await.unwrap();
    }
}
