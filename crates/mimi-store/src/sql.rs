//! [`Store`] on SQLite and PostgreSQL through sqlx's `Any` driver: one set of queries (both
//! databases accept `$n` placeholders, `RETURNING` and `ON CONFLICT`), one set of migrations
//! per database (`migrations/sqlite`, `migrations/postgres`).

use std::str::FromStr as _;
use std::time::{SystemTime, UNIX_EPOCH};

use mimi_policy::id::{ClientId, RoomId, UserId};
use sqlx::AnyPool;
use sqlx::Row as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{Executor as _, Transaction};

use crate::{
    Append, Consent, DirectoryEntry, EntryKind, InboxItem, InboxKind, LogEntry, Membership,
    NewEntry, NewRoom, PendingRemoval, Position, RoomRecord, RoomUpdate, Store, StoreError,
    TokenOwner, Written,
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
    /// Group commits of messages and acknowledgements ([`Store::write_batch`]).
    writer: BatchWriter,
    backend: Backend,
}

/// Where [`Store::write_batch`] runs.
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
    move |e| StoreError::Backend(format!("unreadable {what} in the database: {e}"))
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

impl SqlStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH` or
    /// `postgres://...`) and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url, file) = if let Some(path) = url.strip_prefix("sqlite://") {
            let file = path.split('?').next().unwrap_or_default();
            if file.is_empty() || file.starts_with(":memory:") || path.contains("mode=memory") {
                return Err(StoreError::Backend(format!(
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
            (Backend::Sqlite, url, std::path::PathBuf::from(file))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned(), std::path::PathBuf::new())
        } else {
            return Err(StoreError::Backend(format!(
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
            .map_err(|e| StoreError::Backend(format!("migrating the database: {e}")))?;
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
        })
    }

    /// The database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
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
            return Err(Self::stale(tx, room).await?);
        };
        let last: i64 = row.try_get(0)?;
        let first = last - messages.len() as i64 + 1;
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

    async fn stale(
        tx: &mut Transaction<'_, sqlx::Any>,
        room: &RoomId,
    ) -> Result<StoreError, StoreError> {
        let row = sqlx::query("SELECT version, epoch FROM rooms WHERE id = $1")
            .bind(room.as_str())
            .fetch_optional(&mut **tx)
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

impl Store for SqlStore {
    async fn create_user(&self, user: &UserId, password_hash: &str) -> Result<(), StoreError> {
        let result =
            sqlx::query("INSERT INTO users (id, password_hash, created_at) VALUES ($1, $2, $3)")
                .bind(user.as_str())
                .bind(password_hash)
                .bind(now())
                .execute(&self.pool)
                .await;
        match result {
            Err(e) if unique_violation(&e) => Err(StoreError::Conflict(format!("user {user}"))),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    async fn password_hash(&self, user: &UserId) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(user.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn provider_key(&self, domain: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO provider_keys (domain, signing_key) VALUES ($1, $2) \
             ON CONFLICT (domain) DO NOTHING",
        )
        .bind(domain)
        .bind(fresh)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT signing_key FROM provider_keys WHERE domain = $1")
            .bind(domain)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn insert_token(&self, token_hash: &str, owner: &TokenOwner) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO tokens (token_hash, user_id, client_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(owner.user.as_str())
        .bind(owner.client.as_ref().map(ToString::to_string))
        .bind(now())
        .execute(&self.pool)
        .await;
        match result {
            Err(e) if foreign_key_violation(&e) => {
                Err(StoreError::NotFound(format!("user {}", owner.user)))
            }
            Err(e) if unique_violation(&e) => Err(StoreError::Conflict("token".into())),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    async fn token_owner(&self, token_hash: &str) -> Result<Option<TokenOwner>, StoreError> {
        let row = sqlx::query("SELECT user_id, client_id FROM tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let client: Option<String> = r.try_get(1)?;
            Ok(TokenOwner {
                user: UserId::parse(&r.try_get::<String, _>(0)?).map_err(bad("user id"))?,
                client: client
                    .map(|c| ClientId::parse(&c).map_err(bad("client id")))
                    .transpose()?,
            })
        })
        .transpose()
    }

    async fn add_device(&self, client: &ClientId) -> Result<(), StoreError> {
        let leaving = sqlx::query("SELECT 1 FROM pending_removals WHERE client_id = $1 LIMIT 1")
            .bind(client.to_string())
            .fetch_optional(&self.pool)
            .await?;
        if leaving.is_some() {
            return Err(StoreError::Busy(format!(
                "a deleted device named {client} is still leaving its rooms; try again later"
            )));
        }
        let result =
            sqlx::query("INSERT INTO devices (client_id, user_id, created_at) VALUES ($1, $2, $3)")
                .bind(client.to_string())
                .bind(client.user().as_str())
                .bind(now())
                .execute(&self.pool)
                .await;
        match result {
            Err(e) if unique_violation(&e) => Err(StoreError::Conflict(format!("client {client}"))),
            Err(e) if foreign_key_violation(&e) => {
                Err(StoreError::NotFound(format!("user {}", client.user())))
            }
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    async fn devices(&self, user: &UserId) -> Result<Vec<ClientId>, StoreError> {
        let rows =
            sqlx::query("SELECT client_id FROM devices WHERE user_id = $1 ORDER BY client_id")
                .bind(user.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| ClientId::parse(&r.try_get::<String, _>(0)?).map_err(bad("client id")))
            .collect()
    }

    async fn remove_device(&self, client: &ClientId) -> Result<Option<Vec<RoomId>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM devices WHERE client_id = $1")
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT room_id FROM room_members WHERE client_id = $1 AND until_seq IS NULL \
             ORDER BY room_id",
        )
        .bind(client.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut rooms = Vec::with_capacity(rows.len());
        for row in &rows {
            let room: String = row.try_get(0)?;
            sqlx::query(
                "INSERT INTO pending_removals (room_id, client_id) VALUES ($1, $2) \
                 ON CONFLICT (room_id, client_id) DO NOTHING",
            )
            .bind(room.as_str())
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
            rooms.push(RoomId::parse(&room).map_err(bad("room id"))?);
        }
        for table in ["key_packages", "tokens", "inbox", "room_members"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE client_id = $1"
            )))
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(rooms))
    }

    async fn pending_removals(&self, limit: u32) -> Result<Vec<PendingRemoval>, StoreError> {
        let rows = sqlx::query(
            "SELECT room_id, client_id, proposed_epoch FROM pending_removals \
             ORDER BY CASE WHEN proposed_epoch IS NULL THEN 0 ELSE 1 END, room_id, client_id \
             LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingRemoval {
                    room: RoomId::parse(&r.try_get::<String, _>(0)?).map_err(bad("room id"))?,
                    client: ClientId::parse(&r.try_get::<String, _>(1)?)
                        .map_err(bad("client id"))?,
                    proposed_epoch: r.try_get::<Option<i64>, _>(2)?.map(u),
                })
            })
            .collect()
    }

    async fn removal_proposed(
        &self,
        room: &RoomId,
        client: &ClientId,
        epoch: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE pending_removals SET proposed_epoch = $1 WHERE room_id = $2 AND client_id = $3",
        )
        .bind(epoch as i64)
        .bind(room.as_str())
        .bind(client.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn finish_removal(&self, room: &RoomId, client: &ClientId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM pending_removals WHERE room_id = $1 AND client_id = $2")
            .bind(room.as_str())
            .bind(client.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn add_key_packages(
        &self,
        client: &ClientId,
        key_packages: &[(Vec<u8>, bool)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (body, last_resort) in key_packages {
            let result = sqlx::query(
                "INSERT INTO key_packages (client_id, body, last_resort) VALUES ($1, $2, $3)",
            )
            .bind(client.to_string())
            .bind(body.as_slice())
            .bind(i64::from(*last_resort))
            .execute(&mut *tx)
            .await;
            if let Err(e) = result {
                if foreign_key_violation(&e) {
                    return Err(StoreError::NotFound(format!("client {client}")));
                }
                return Err(e.into());
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim_key_package(&self, client: &ClientId) -> Result<Option<Vec<u8>>, StoreError> {
        // A concurrent claim may take the row this one picked; then pick again.
        for _ in 0..8 {
            let candidate = sqlx::query(
                "SELECT id FROM key_packages \
                 WHERE client_id = $1 AND claimed = 0 AND last_resort = 0 \
                 ORDER BY id LIMIT 1",
            )
            .bind(client.to_string())
            .fetch_optional(&self.pool)
            .await?;
            let Some(candidate) = candidate else { break };
            let id: i64 = candidate.try_get(0)?;
            let taken = sqlx::query(
                "UPDATE key_packages SET claimed = 1 WHERE id = $1 AND claimed = 0 RETURNING body",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = taken {
                return Ok(Some(row.try_get(0)?));
            }
        }
        let last = sqlx::query(
            "SELECT body FROM key_packages WHERE client_id = $1 AND last_resort = 1 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(last.map(|r| r.try_get(0)).transpose()?)
    }

    async fn key_package_count(&self, client: &ClientId) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM key_packages \
             WHERE client_id = $1 AND claimed = 0 AND last_resort = 0",
        )
        .bind(client.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(u(row.try_get(0)?))
    }

    async fn request_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let result = sqlx::query(
            "INSERT INTO consents (target_id, requester_id, room_id, granted, created_at) \
             VALUES ($1, $2, $3, 0, $4) \
             ON CONFLICT (target_id, requester_id, room_id) DO NOTHING",
        )
        .bind(target.as_str())
        .bind(requester.as_str())
        .bind(room.map_or("", RoomId::as_str))
        .bind(now())
        .execute(&mut *tx)
        .await;
        let new = match result {
            Err(e) if foreign_key_violation(&e) => {
                return Err(StoreError::NotFound(format!("user {target}")));
            }
            other => other?.rows_affected() > 0,
        };
        if new {
            // Each of the target's devices hears of it once.
            sqlx::query(
                "INSERT INTO inbox (client_id, kind, room_id, body) \
                 SELECT client_id, $1, $2, $3 FROM devices WHERE user_id = $4",
            )
            .bind(INBOX_CONSENT_REQUEST)
            .bind(room.map_or("", RoomId::as_str))
            .bind(requester.as_str().as_bytes())
            .bind(target.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn knock(
        &self,
        room: &RoomId,
        user: &UserId,
        notify: &[UserId],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let result = sqlx::query(
            "INSERT INTO knocks (room_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (room_id, user_id) DO NOTHING",
        )
        .bind(room.as_str())
        .bind(user.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await;
        let new = match result {
            Err(e) if foreign_key_violation(&e) => {
                return Err(StoreError::NotFound(format!("room {room} or user {user}")));
            }
            other => other?.rows_affected() > 0,
        };
        if new {
            for moderator in notify {
                sqlx::query(
                    "INSERT INTO inbox (client_id, kind, room_id, body) \
                     SELECT client_id, $1, $2, $3 FROM devices WHERE user_id = $4",
                )
                .bind(INBOX_KNOCK)
                .bind(room.as_str())
                .bind(user.as_str().as_bytes())
                .bind(moderator.as_str())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn withdraw_knock(&self, room: &RoomId, user: &UserId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM knocks WHERE room_id = $1 AND user_id = $2")
            .bind(room.as_str())
            .bind(user.as_str())
            .execute(&mut *tx)
            .await?;
        let withdrawn = done.rows_affected() > 0;
        if withdrawn {
            sqlx::query("DELETE FROM inbox WHERE kind = $1 AND room_id = $2 AND body = $3")
                .bind(INBOX_KNOCK)
                .bind(room.as_str())
                .bind(user.as_str().as_bytes())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(withdrawn)
    }

    async fn has_knocked(&self, room: &RoomId, user: &UserId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM knocks WHERE room_id = $1 AND user_id = $2")
            .bind(room.as_str())
            .bind(user.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn record_allowance_claim(
        &self,
        requester: &UserId,
        target: &UserId,
        room: Option<&RoomId>,
        allowance: u32,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Claims of one target wait for each other here, so two cannot both see room
            // under the allowance (SQLite runs the insert below under its one write lock).
            let target_row = sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
                .bind(target.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if target_row.is_none() {
                return Err(StoreError::NotFound(format!("user {target}")));
            }
        }
        // The requester's expired claims count for nothing: they go now, so the table holds
        // at most a day of claims.
        sqlx::query("DELETE FROM allowance_claims WHERE requester_id = $1 AND created_at <= $2")
            .bind(requester.as_str())
            .bind(now() - ALLOWANCE_CLAIM_LIFETIME)
            .execute(&mut *tx)
            .await?;
        // One statement: counted and inserted together.
        let result = sqlx::query(
            "INSERT INTO allowance_claims (requester_id, target_id, room_id, created_at) \
             SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM allowance_claims \
               WHERE requester_id = $1 AND target_id = $2 AND created_at > $5) < $6",
        )
        .bind(requester.as_str())
        .bind(target.as_str())
        .bind(room.map_or("", RoomId::as_str))
        .bind(now())
        .bind(now() - ALLOWANCE_CLAIM_LIFETIME)
        .bind(i64::from(allowance))
        .execute(&mut *tx)
        .await;
        let recorded = match result {
            Err(e) if foreign_key_violation(&e) => {
                return Err(StoreError::NotFound(format!("user {target}")));
            }
            other => other?.rows_affected() > 0,
        };
        tx.commit().await?;
        Ok(recorded)
    }

    async fn allowance_claims(
        &self,
        requester: &UserId,
        target: &UserId,
        room: Option<&RoomId>,
    ) -> Result<u32, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM allowance_claims \
             WHERE requester_id = $1 AND target_id = $2 AND created_at > $3 \
               AND ($4 = '' OR room_id = $4 OR room_id = '')",
        )
        .bind(requester.as_str())
        .bind(target.as_str())
        .bind(now() - ALLOWANCE_CLAIM_LIFETIME)
        .bind(room.map_or("", RoomId::as_str))
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(row.try_get::<i64, _>(0)?).unwrap_or(u32::MAX))
    }

    async fn use_allowance_claims(
        &self,
        requester: &UserId,
        target: &UserId,
        room: &RoomId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM allowance_claims WHERE requester_id = $1 AND target_id = $2 \
             AND (room_id = $3 OR room_id = '')",
        )
        .bind(requester.as_str())
        .bind(target.as_str())
        .bind(room.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn grant_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> Result<(), StoreError> {
        self.put_consent(target, requester, room, true).await
    }

    async fn revoke_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM consents WHERE target_id = $1 AND requester_id = $2 AND room_id = $3",
        )
        .bind(target.as_str())
        .bind(requester.as_str())
        .bind(room.map_or("", RoomId::as_str))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn consents(&self, target: &UserId) -> Result<Vec<Consent>, StoreError> {
        let rows = sqlx::query(
            "SELECT requester_id, room_id, granted FROM consents WHERE target_id = $1 \
             ORDER BY requester_id, room_id",
        )
        .bind(target.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let room: String = r.try_get(1)?;
                Ok(Consent {
                    requester: UserId::parse(&r.try_get::<String, _>(0)?)
                        .map_err(bad("user id"))?,
                    room: if room.is_empty() {
                        None
                    } else {
                        Some(RoomId::parse(&room).map_err(bad("room id"))?)
                    },
                    granted: r.try_get::<i64, _>(2)? != 0,
                })
            })
            .collect()
    }

    async fn has_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 FROM consents WHERE target_id = $1 AND requester_id = $2 \
             AND granted = 1 AND (room_id = '' OR room_id = $3) LIMIT 1",
        )
        .bind(target.as_str())
        .bind(requester.as_str())
        .bind(room.map_or("", RoomId::as_str))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    async fn create_room(&self, room: &NewRoom) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let result = sqlx::query(
            "INSERT INTO rooms (id, version, epoch, last_seq, discoverable, created_at) \
             VALUES ($1, 1, $2, 0, $3, $4)",
        )
        .bind(room.id.as_str())
        .bind(room.epoch as i64)
        .bind(i64::from(room.discoverable))
        .bind(now())
        .execute(&mut *tx)
        .await;
        match result {
            Err(e) if unique_violation(&e) => {
                return Err(StoreError::Conflict(format!("room {}", room.id)));
            }
            other => other?,
        };
        sqlx::query("INSERT INTO room_states (room_id, snapshot, document) VALUES ($1, $2, $3)")
            .bind(room.id.as_str())
            .bind(room.snapshot.as_slice())
            .bind(room.document.as_str())
            .execute(&mut *tx)
            .await?;
        for client in &room.members {
            sqlx::query(
                "INSERT INTO room_members (room_id, client_id, acked_seq) VALUES ($1, $2, 0)",
            )
            .bind(room.id.as_str())
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn load_room(&self, id: &RoomId) -> Result<Option<RoomRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT r.version, r.epoch, r.last_seq, s.snapshot \
             FROM rooms r JOIN room_states s ON s.room_id = r.id WHERE r.id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(RoomRecord {
                id: id.clone(),
                version: u(r.try_get(0)?),
                epoch: u(r.try_get(1)?),
                last_seq: u(r.try_get(2)?),
                snapshot: r.try_get(3)?,
            })
        })
        .transpose()
    }

    async fn room_version(&self, id: &RoomId) -> Result<Option<(u64, u64)>, StoreError> {
        let row = sqlx::query("SELECT version, epoch FROM rooms WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((u(r.try_get(0)?), u(r.try_get(1)?))))
            .transpose()
    }

    async fn update_room(&self, update: &RoomUpdate) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The compare-and-swap: the first statement writes, so SQLite takes its write lock
        // at once and PostgreSQL locks the row until the commit.
        let row = sqlx::query(
            "UPDATE rooms SET version = version + 1, epoch = $1, last_seq = last_seq + 1, \
             discoverable = $2 WHERE id = $3 AND version = $4 RETURNING last_seq",
        )
        .bind(update.epoch as i64)
        .bind(i64::from(update.discoverable))
        .bind(update.id.as_str())
        .bind(update.expected_version as i64)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let err = Self::stale(&mut tx, &update.id).await?;
            tx.rollback().await?;
            return Err(err);
        };
        sqlx::query("UPDATE room_states SET snapshot = $1, document = $2 WHERE room_id = $3")
            .bind(update.snapshot.as_slice())
            .bind(update.document.as_str())
            .bind(update.id.as_str())
            .execute(&mut *tx)
            .await?;
        let seq: i64 = row.try_get(0)?;
        let entry_epoch = match update.entry.kind {
            // A commit is sent in the epoch before the one it starts.
            EntryKind::Commit => update.epoch.saturating_sub(1),
            _ => update.epoch,
        };
        sqlx::query(
            "INSERT INTO room_log (room_id, seq, kind, epoch, sender, body) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(update.id.as_str())
        .bind(seq)
        .bind(update.entry.kind.code())
        .bind(entry_epoch as i64)
        .bind(update.entry.sender.as_str())
        .bind(update.entry.body.as_slice())
        .execute(&mut *tx)
        .await?;
        for client in &update.removed {
            // A deleted device's removal is done once a commit removes it.
            sqlx::query("DELETE FROM pending_removals WHERE room_id = $1 AND client_id = $2")
                .bind(update.id.as_str())
                .bind(client.to_string())
                .execute(&mut *tx)
                .await?;
            // Delivered up to this entry, then dropped once acknowledged.
            sqlx::query(
                "UPDATE room_members SET until_seq = $1 \
                 WHERE room_id = $2 AND client_id = $3 AND until_seq IS NULL",
            )
            .bind(seq)
            .bind(update.id.as_str())
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        }
        for client in &update.added {
            // A device deleted since its KeyPackage was claimed joins nothing.
            let exists = sqlx::query("SELECT 1 FROM devices WHERE client_id = $1")
                .bind(client.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                tx.rollback().await?;
                return Err(StoreError::NotFound(format!("client {client}")));
            }
            sqlx::query(
                "INSERT INTO room_members (room_id, client_id, acked_seq) VALUES ($1, $2, $3) \
                 ON CONFLICT (room_id, client_id) \
                 DO UPDATE SET acked_seq = excluded.acked_seq, until_seq = NULL",
            )
            .bind(update.id.as_str())
            .bind(client.to_string())
            .bind(seq)
            .execute(&mut *tx)
            .await?;
            // The knock is answered.
            sqlx::query("DELETE FROM knocks WHERE room_id = $1 AND user_id = $2")
                .bind(update.id.as_str())
                .bind(client.user().as_str())
                .execute(&mut *tx)
                .await?;
            if let Some(welcome) = &update.welcome {
                sqlx::query(
                    "INSERT INTO inbox (client_id, kind, room_id, body, ratchet_tree) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(client.to_string())
                .bind(INBOX_WELCOME)
                .bind(update.id.as_str())
                .bind(welcome.as_slice())
                .bind(update.ratchet_tree.as_deref())
                .execute(&mut *tx)
                .await?;
            }
        }
        for user in &update.answered_knocks {
            let done = sqlx::query("DELETE FROM knocks WHERE room_id = $1 AND user_id = $2")
                .bind(update.id.as_str())
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?;
            // Moderators' devices that have not heard of the knock never will.
            if done.rows_affected() > 0 {
                sqlx::query("DELETE FROM inbox WHERE kind = $1 AND room_id = $2 AND body = $3")
                    .bind(INBOX_KNOCK)
                    .bind(update.id.as_str())
                    .bind(user.as_str().as_bytes())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(u(seq))
    }

    async fn append_messages(
        &self,
        room: &RoomId,
        epoch: u64,
        messages: &[NewEntry],
    ) -> Result<Vec<u64>, StoreError> {
        let append = Append {
            room,
            epoch,
            entries: messages,
        };
        let written = self.write_batch(&[append], &[]).await?;
        written
            .appended
            .into_iter()
            .next()
            .unwrap_or_else(|| Ok(Vec::new()))
    }

    async fn write_batch(
        &self,
        appends: &[Append<'_>],
        acks: &[(ClientId, RoomId, u64)],
    ) -> Result<Written, StoreError> {
        let pool = match &self.writer {
            BatchWriter::Sqlite(w) => return w.write_batch(appends, acks).await,
            BatchWriter::Pool(pool) => pool,
        };
        let mut tx = pool.begin().await?;
        let mut appended = Vec::with_capacity(appends.len());
        for a in appends {
            appended.push(match Self::append_in(&mut tx, a).await {
                Ok(seqs) => Ok(seqs),
                // This append changed nothing; the others go on.
                Err(e @ (StoreError::Stale { .. } | StoreError::NotFound(_))) => Err(e),
                // Anything else fails the whole batch (the transaction rolls back on drop).
                Err(e) => return Err(e),
            });
        }
        let mut acked = Vec::with_capacity(acks.len());
        for (client, room, seq) in acks {
            let done = sqlx::query(
                "UPDATE room_members \
                 SET acked_seq = CASE WHEN acked_seq < $1 THEN $1 ELSE acked_seq END \
                 WHERE room_id = $2 AND client_id = $3",
            )
            .bind(*seq as i64)
            .bind(room.as_str())
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
            acked.push(done.rows_affected() > 0);
        }
        if !acks.is_empty() {
            // Removed clients that have everything up to their removal are done with the
            // room (the partial index keeps this to the few still leaving).
            sqlx::query(
                "DELETE FROM room_members WHERE until_seq IS NOT NULL AND acked_seq >= until_seq",
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Written { appended, acked })
    }

    async fn read_log(
        &self,
        room: &RoomId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT room_id, seq, kind, epoch, sender, body FROM room_log \
             WHERE room_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(room.as_str())
        .bind(after_seq as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(log_entry).collect()
    }

    async fn memberships(&self, client: &ClientId) -> Result<Vec<Membership>, StoreError> {
        let rows = sqlx::query(
            "SELECT room_id, acked_seq FROM room_members \
             WHERE client_id = $1 AND until_seq IS NULL ORDER BY room_id",
        )
        .bind(client.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Membership {
                    room: RoomId::parse(&r.try_get::<String, _>(0)?).map_err(bad("room id"))?,
                    acked_seq: u(r.try_get(1)?),
                })
            })
            .collect()
    }

    async fn positions(&self, client: &ClientId) -> Result<Vec<Position>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.room_id, m.acked_seq, m.until_seq, r.last_seq \
             FROM room_members m JOIN rooms r ON r.id = m.room_id \
             WHERE m.client_id = $1 ORDER BY m.room_id",
        )
        .bind(client.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Position {
                    room: RoomId::parse(&r.try_get::<String, _>(0)?).map_err(bad("room id"))?,
                    acked_seq: u(r.try_get(1)?),
                    until_seq: r.try_get::<Option<i64>, _>(2)?.map(u),
                    last_seq: u(r.try_get(3)?),
                })
            })
            .collect()
    }

    async fn pending(&self, client: &ClientId, limit: u32) -> Result<Vec<LogEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.room_id, l.seq, l.kind, l.epoch, l.sender, l.body \
             FROM room_members m JOIN room_log l \
               ON l.room_id = m.room_id AND l.seq > m.acked_seq \
                  AND (m.until_seq IS NULL OR l.seq <= m.until_seq) \
             WHERE m.client_id = $1 ORDER BY l.room_id, l.seq LIMIT $2",
        )
        .bind(client.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(log_entry).collect()
    }

    async fn ack(&self, acks: &[(ClientId, RoomId, u64)]) -> Result<Vec<bool>, StoreError> {
        Ok(self.write_batch(&[], acks).await?.acked)
    }

    async fn inbox(&self, client: &ClientId, after_id: u64) -> Result<Vec<InboxItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, room_id, body, ratchet_tree FROM inbox \
             WHERE client_id = $1 AND id > $2 ORDER BY id",
        )
        .bind(client.to_string())
        .bind(after_id as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind = match r.try_get::<i64, _>(1)? {
                INBOX_WELCOME => InboxKind::Welcome,
                INBOX_CONSENT_REQUEST => InboxKind::ConsentRequest,
                INBOX_KNOCK => InboxKind::Knock,
                // A kind a newer version wrote (a rolling upgrade): not this version's to
                // deliver, and never to be mistaken for another kind.
                _ => continue,
            };
            let room: String = r.try_get(2)?;
            items.push(InboxItem {
                id: u(r.try_get(0)?),
                kind,
                room: if room.is_empty() {
                    None
                } else {
                    Some(RoomId::parse(&room).map_err(bad("room id"))?)
                },
                body: r.try_get(3)?,
                ratchet_tree: r.try_get(4)?,
            });
        }
        Ok(items)
    }

    async fn ack_inbox(&self, client: &ClientId, id: u64) -> Result<(), StoreError> {
        // Only the kinds this version delivers: a newer version's items stay for it.
        sqlx::query("DELETE FROM inbox WHERE client_id = $1 AND id <= $2 AND kind IN ($3, $4, $5)")
            .bind(client.to_string())
            .bind(id as i64)
            .bind(INBOX_WELCOME)
            .bind(INBOX_CONSENT_REQUEST)
            .bind(INBOX_KNOCK)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn ack_inbox_items(&self, client: &ClientId, ids: &[u64]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for chunk in ids.chunks(ROWS_PER_INSERT) {
            let list = (0..chunk.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM inbox WHERE client_id = $1 AND id IN ({list})"
            )))
            .bind(client.to_string());
            for id in chunk {
                query = query.bind(*id as i64);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delivery_backlog(&self) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(COALESCE(m.until_seq, r.last_seq) - m.acked_seq), 0) \
             AS BIGINT) \
             FROM room_members m JOIN rooms r ON r.id = m.room_id",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(u(row.try_get(0)?))
    }

    async fn directory(&self) -> Result<Vec<DirectoryEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, s.document FROM rooms r JOIN room_states s ON s.room_id = r.id \
             WHERE r.discoverable = 1 ORDER BY r.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DirectoryEntry {
                    id: RoomId::parse(&r.try_get::<String, _>(0)?).map_err(bad("room id"))?,
                    document: r.try_get(1)?,
                })
            })
            .collect()
    }
}
