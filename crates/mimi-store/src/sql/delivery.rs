//! [`Delivery`] on SQL.

use super::*;
use crate::Delivery;

impl Delivery for SqlStore {
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
            announce: None,
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
        if let ([a], []) = (appends, acks)
            && (1..=ROWS_PER_INSERT).contains(&a.entries.len())
        {
            // One append alone (a room's messages at a person's pace): one statement, its
            // own transaction; two round trips (the pool's check, the statement), not five.
            let appended = match Self::append_at_once(pool, a).await? {
                Some(seqs) => Ok(seqs),
                None => Err(Self::stale(pool, a.room).await?),
            };
            return Ok(Written {
                appended: vec![appended],
                acked: Vec::new(),
            });
        }
        let mut tx = pool.begin().await?;
        if appends.iter().all(|a| a.entries.is_empty()) {
            // Acknowledgements alone do not wait for the disk (decision 0019): one lost in a
            // crash only has its entries sent again, and a later commit that waits flushes
            // it with its own (the WAL is written in order).
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
        }
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
        // Each device's furthest position per room, written a hundred rows per statement
        // (a round trip each: a busy room's devices acknowledge thousands of times a
        // second). Rows are locked first in one order, as every writer locks them.
        let mut furthest: std::collections::BTreeMap<(&str, String), u64> = Default::default();
        for (client, room, seq) in acks {
            let e = furthest
                .entry((room.as_str(), client.to_string()))
                .or_default();
            *e = (*e).max(*seq);
        }
        let furthest: Vec<_> = furthest.into_iter().collect();
        let mut members = std::collections::BTreeSet::new();
        for chunk in furthest.chunks(ROWS_PER_INSERT) {
            let pairs = (0..chunk.len())
                .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let mut lock = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT room_id FROM room_members WHERE (room_id, client_id) IN ({pairs}) \
                 ORDER BY room_id COLLATE \"C\", client_id COLLATE \"C\" FOR UPDATE"
            )));
            for ((room, client), _) in chunk {
                lock = lock.bind(*room).bind(client.as_str());
            }
            lock.execute(&mut *tx).await?;
            let values = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(${}, ${}, CAST(${} AS BIGINT))",
                        3 * i + 1,
                        3 * i + 2,
                        3 * i + 3
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let mut update = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE room_members AS m \
                 SET acked_seq = CASE WHEN m.acked_seq < v.seq AND v.seq <= r.last_seq \
                     THEN v.seq ELSE m.acked_seq END \
                 FROM (VALUES {values}) AS v(room_id, client_id, seq), rooms r \
                 WHERE m.room_id = v.room_id AND m.client_id = v.client_id \
                   AND r.id = v.room_id \
                 RETURNING m.room_id, m.client_id"
            )));
            for ((room, client), seq) in chunk {
                update = update.bind(*room).bind(client.as_str()).bind(*seq as i64);
            }
            for row in update.fetch_all(&mut *tx).await? {
                members.insert((row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?));
            }
        }
        let acked = acks
            .iter()
            .map(|(client, room, _)| {
                members.contains(&(room.as_str().to_owned(), client.to_string()))
            })
            .collect();
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

    async fn user_rooms(&self, user: &UserId) -> Result<Vec<RoomId>, StoreError> {
        // A client's ID is its user's devices prefix and its name; compared as a prefix
        // without LIKE, whose wildcards a name may hold.
        let prefix = format!("mimi://{}/d/{}/", user.domain(), user.name());
        let rows = sqlx::query(
            "SELECT DISTINCT room_id FROM room_members \
             WHERE substr(client_id, 1, length($1)) = $1 AND until_seq IS NULL \
             ORDER BY room_id",
        )
        .bind(&prefix)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| RoomId::parse(&r.try_get::<String, _>(0)?).map_err(bad("room id")))
            .collect()
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
                INBOX_SUGGESTION => InboxKind::Suggestion,
                // A kind a newer version wrote (a rolling upgrade): not this version's to
                // deliver, and never to be mistaken for another kind.
                _ => continue,
            };
            let ratchet_tree: Option<Vec<u8>> = r.try_get(4)?;
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
                ratchet_tree,
            });
        }
        Ok(items)
    }

    async fn ack_inbox(&self, client: &ClientId, id: u64) -> Result<(), StoreError> {
        // Only the kinds this version delivers: a newer version's items stay for it.
        sqlx::query(
            "DELETE FROM inbox WHERE client_id = $1 AND id <= $2 AND kind IN ($3, $4, $5, $6)",
        )
        .bind(client.to_string())
        .bind(id as i64)
        .bind(INBOX_WELCOME)
        .bind(INBOX_CONSENT_REQUEST)
        .bind(INBOX_KNOCK)
        .bind(INBOX_SUGGESTION)
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
}
