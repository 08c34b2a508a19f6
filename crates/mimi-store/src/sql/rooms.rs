//! [`Rooms`] on SQL.

use super::*;
use crate::{LoggedHandshake, RoomSnapshot, Rooms};

impl Rooms for SqlStore {
    async fn create_room(&self, room: &NewRoom) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_room(&mut tx, room, 1).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn vacate_room(
        &self,
        id: &RoomId,
        expected_version: u64,
        policy: &[u8],
        document: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query(
            "UPDATE rooms SET version = version + 1, epoch = epoch + 1 \
             WHERE id = $1 AND version = $2 \
             AND NOT EXISTS (SELECT 1 FROM vacant_rooms v WHERE v.room_id = $1)",
        )
        .bind(id.as_str())
        .bind(expected_version as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken == 0 {
            let row = sqlx::query("SELECT version, epoch FROM rooms WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match row {
                Some(r) => StoreError::Stale {
                    version: u(r.try_get(0)?),
                    epoch: u(r.try_get(1)?),
                },
                None => StoreError::Conflict(format!("room {id} is gone")),
            });
        }
        sqlx::query("INSERT INTO vacant_rooms (room_id, policy, since) VALUES ($1, $2, $3)")
            .bind(id.as_str())
            .bind(policy)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        for query in [
            "DELETE FROM pending_removals WHERE room_id = $1",
            "DELETE FROM inbox WHERE room_id = $1",
            "DELETE FROM room_log WHERE room_id = $1",
            "DELETE FROM room_members WHERE room_id = $1",
            "DELETE FROM knocks WHERE room_id = $1",
            "DELETE FROM peer_knocks WHERE room_id = $1",
            "DELETE FROM blobs WHERE room_id = $1",
            "UPDATE room_states SET handshake_seq = snapshot_seq WHERE room_id = $1",
        ] {
            sqlx::query(query)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE room_states SET document = $1 WHERE room_id = $2")
            .bind(document)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn vacant_room(&self, id: &RoomId) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT policy FROM vacant_rooms WHERE room_id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get(0).map_err(StoreError::from))
            .transpose()
    }

    async fn refound_room(&self, room: &NewRoom, kept: &[u8]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let gone = sqlx::query(
            "DELETE FROM rooms WHERE id = $1 \
             AND EXISTS (SELECT 1 FROM vacant_rooms v WHERE v.room_id = $1 AND v.policy = $2) \
             RETURNING version",
        )
        .bind(room.id.as_str())
        .bind(kept)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(gone) = gone else {
            return Err(StoreError::Conflict(format!(
                "room {} is not vacant with that policy",
                room.id
            )));
        };
        let version: i64 = gone.try_get(0)?;
        insert_room(&mut tx, room, u(version) + 1).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rooms_without_skeleton(&self) -> Result<Vec<RoomId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM rooms WHERE skeleton IS NULL ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        let mut named = Vec::new();
        for r in &rows {
            let id = RoomId::parse(&r.try_get::<String, _>(0)?).map_err(bad("room id"))?;
            if id.name().is_some() {
                named.push(id);
            }
        }
        Ok(named)
    }

    async fn set_room_skeleton(&self, room: &RoomId, skeleton: &str) -> Result<bool, StoreError> {
        let result =
            sqlx::query("UPDATE rooms SET skeleton = $1 WHERE id = $2 AND skeleton IS NULL")
                .bind(skeleton)
                .bind(room.as_str())
                .execute(&self.pool)
                .await;
        match result {
            Err(e) if unique_violation(&e) => Ok(false),
            other => Ok(other?.rows_affected() > 0),
        }
    }

    async fn room_with_skeleton(&self, skeleton: &str) -> Result<Option<RoomId>, StoreError> {
        let row = sqlx::query("SELECT id FROM rooms WHERE skeleton = $1")
            .bind(skeleton)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| RoomId::parse(&r.try_get::<String, _>(0)?).map_err(bad("room id")))
            .transpose()
    }

    async fn delete_room(&self, id: &RoomId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // What names the room without a foreign key; the rest goes with the rooms row
        // (ON DELETE CASCADE: state, log, members, knocks).
        for query in [
            "DELETE FROM pending_removals WHERE room_id = $1",
            "DELETE FROM inbox WHERE room_id = $1",
            "DELETE FROM link_uses WHERE room_id = $1",
            "DELETE FROM peer_knocks WHERE room_id = $1",
        ] {
            sqlx::query(query)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let gone = sqlx::query("DELETE FROM rooms WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(gone)
    }

    async fn load_room(&self, id: &RoomId) -> Result<Option<RoomRecord>, StoreError> {
        // The log read is bounded by the handshake_seq read with the snapshot, so a commit
        // landing in between is not replayed twice.
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT r.version, r.epoch, r.last_seq, s.snapshot, s.snapshot_seq, s.handshake_seq \
             FROM rooms r JOIN room_states s ON s.room_id = r.id WHERE r.id = $1 \
             AND NOT EXISTS (SELECT 1 FROM vacant_rooms v WHERE v.room_id = r.id)",
        )
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let snapshot_seq: i64 = r.try_get(4)?;
        let handshake_seq: i64 = r.try_get(5)?;
        let mut unsettled = Vec::new();
        if snapshot_seq < handshake_seq {
            let rows = sqlx::query(
                "SELECT l.seq, l.body, l.group_info, (SELECT COUNT(*) FROM inbox i \
                   WHERE i.room_id = l.room_id AND i.seq = l.seq AND i.kind = $1 \
                   AND i.ratchet_tree IS NULL) \
                 FROM room_log l WHERE l.room_id = $2 AND l.seq > $3 AND l.seq <= $4 \
                 AND l.kind IN ($5, $6) ORDER BY l.seq",
            )
            .bind(INBOX_WELCOME)
            .bind(id.as_str())
            .bind(snapshot_seq)
            .bind(handshake_seq)
            .bind(EntryKind::Commit.code())
            .bind(EntryKind::Proposal.code())
            .fetch_all(&mut *tx)
            .await?;
            for h in &rows {
                unsettled.push(LoggedHandshake {
                    seq: u(h.try_get(0)?),
                    body: h.try_get(1)?,
                    group_info: h.try_get(2)?,
                    welcome_waiting: h.try_get::<i64, _>(3)? > 0,
                });
            }
        }
        tx.commit().await?;
        Ok(Some(RoomRecord {
            id: id.clone(),
            version: u(r.try_get(0)?),
            epoch: u(r.try_get(1)?),
            last_seq: u(r.try_get(2)?),
            snapshot: r.try_get(3)?,
            snapshot_seq: u(snapshot_seq),
            unsettled,
        }))
    }

    async fn room_version(&self, id: &RoomId) -> Result<Option<(u64, u64)>, StoreError> {
        let row = sqlx::query(
            "SELECT version, epoch FROM rooms r WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM vacant_rooms v WHERE v.room_id = r.id)",
        )
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
            let err = Self::stale(&mut *tx, &update.id).await?;
            tx.rollback().await?;
            return Err(err);
        };
        let seq: i64 = row.try_get(0)?;
        sqlx::query("UPDATE room_states SET document = $1, handshake_seq = $2 WHERE room_id = $3")
            .bind(update.document.as_str())
            .bind(seq)
            .bind(update.id.as_str())
            .execute(&mut *tx)
            .await?;
        let entry_epoch = match update.entry.kind {
            // A commit is sent in the epoch before the one it starts.
            EntryKind::Commit => update.epoch.saturating_sub(1),
            _ => update.epoch,
        };
        sqlx::query(
            "INSERT INTO room_log (room_id, seq, kind, epoch, sender, body, group_info) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(update.id.as_str())
        .bind(seq)
        .bind(update.entry.kind.code())
        .bind(entry_epoch as i64)
        .bind(update.entry.sender.as_str())
        .bind(update.entry.body.as_slice())
        .bind(update.group_info.as_deref())
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
            // A device deleted since its KeyPackage was claimed joins nothing. A device of
            // a user of another provider (no account here) is its provider's to vouch for.
            let exists = sqlx::query(
                "SELECT 1 FROM devices WHERE client_id = $1 \
                 UNION ALL SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = $2)",
            )
            .bind(client.to_string())
            .bind(client.user().as_str())
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
            for query in [
                "DELETE FROM knocks WHERE room_id = $1 AND user_id = $2",
                "DELETE FROM peer_knocks WHERE room_id = $1 AND user_id = $2",
            ] {
                sqlx::query(query)
                    .bind(update.id.as_str())
                    .bind(client.user().as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(welcome) = &update.welcome {
                sqlx::query(
                    "INSERT INTO inbox (client_id, kind, room_id, body, seq) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(client.to_string())
                .bind(INBOX_WELCOME)
                .bind(update.id.as_str())
                .bind(welcome.as_slice())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            }
        }
        for user in &update.answered_knocks {
            let peer = sqlx::query("DELETE FROM peer_knocks WHERE room_id = $1 AND user_id = $2")
                .bind(update.id.as_str())
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let done = sqlx::query("DELETE FROM knocks WHERE room_id = $1 AND user_id = $2")
                .bind(update.id.as_str())
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?;
            // Moderators' devices that have not heard of the knock never will.
            if done.rows_affected() + peer > 0 {
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

    async fn save_snapshot(&self, snapshot: &RoomSnapshot) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (seq, tree) in &snapshot.welcome_trees {
            sqlx::query(
                "UPDATE inbox SET ratchet_tree = $1 \
                 WHERE room_id = $2 AND seq = $3 AND kind = $4 AND ratchet_tree IS NULL",
            )
            .bind(tree.as_slice())
            .bind(snapshot.id.as_str())
            .bind(*seq as i64)
            .bind(INBOX_WELCOME)
            .execute(&mut *tx)
            .await?;
        }
        // Never past a commit whose Welcome still waits for its tree: only a replay from
        // before that commit can give it one.
        sqlx::query(
            "UPDATE room_states SET snapshot = $1, snapshot_seq = $2 \
             WHERE room_id = $3 AND snapshot_seq < $2 AND NOT EXISTS (SELECT 1 FROM inbox \
               WHERE room_id = $3 AND kind = $4 AND ratchet_tree IS NULL AND seq <= $2)",
        )
        .bind(snapshot.snapshot.as_slice())
        .bind(snapshot.seq as i64)
        .bind(snapshot.id.as_str())
        .bind(INBOX_WELCOME)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rooms_behind(&self, limit: u32) -> Result<Vec<RoomId>, StoreError> {
        let rows = sqlx::query(
            "SELECT room_id FROM room_states WHERE snapshot_seq < handshake_seq \
             ORDER BY room_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| RoomId::parse(&r.try_get::<String, _>(0)?).map_err(bad("room id")))
            .collect()
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

/// Inserts a new room at `version` in `tx`.
async fn insert_room(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    room: &NewRoom,
    version: u64,
) -> Result<(), StoreError> {
    let result = sqlx::query(
        "INSERT INTO rooms (id, version, epoch, last_seq, discoverable, created_at, skeleton) \
             VALUES ($1, $6, $2, 0, $3, $4, $5)",
    )
    .bind(room.id.as_str())
    .bind(room.epoch as i64)
    .bind(i64::from(room.discoverable))
    .bind(now())
    .bind(room.skeleton.as_deref())
    .bind(version as i64)
    .execute(&mut **tx)
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
        .execute(&mut **tx)
        .await?;
    for client in &room.members {
        sqlx::query("INSERT INTO room_members (room_id, client_id, acked_seq) VALUES ($1, $2, 0)")
            .bind(room.id.as_str())
            .bind(client.to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
