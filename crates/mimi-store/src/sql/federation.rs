//! [`Federation`] on SQL.

use super::*;
use crate::Federation;

impl Federation for SqlStore {
    async fn foreign_recipients(&self, own: &str) -> Result<Vec<ClientId>, StoreError> {
        let prefix = format!("mimi://{own}/");
        let rows = sqlx::query(
            "SELECT client_id FROM room_members WHERE substr(client_id, 1, $2) <> $1 \
             UNION SELECT client_id FROM inbox WHERE kind = $3 AND substr(client_id, 1, $2) <> $1",
        )
        .bind(&prefix)
        .bind(i32::try_from(prefix.len()).unwrap_or(i32::MAX))
        .bind(INBOX_WELCOME)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| ClientId::parse(&r.try_get::<String, _>(0)?).map_err(bad("client id")))
            .collect()
    }

    async fn record_peer_key_packages(
        &self,
        refs: &[(ClientId, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (client, reference) in refs {
            sqlx::query(
                "INSERT INTO peer_key_packages (kp_ref, client_id, fetched_at) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(reference)
            .bind(client.to_string())
            .bind(now())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn peer_key_package_known(
        &self,
        client: &ClientId,
        reference: &[u8],
    ) -> Result<bool, StoreError> {
        let row =
            sqlx::query("SELECT 1 FROM peer_key_packages WHERE kp_ref = $1 AND client_id = $2")
                .bind(reference)
                .bind(client.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    async fn record_foreign_room(
        &self,
        client: &ClientId,
        room: &RoomId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO foreign_rooms (client_id, room_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(client.to_string())
        .bind(room.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn foreign_rooms_of_user(
        &self,
        user: &UserId,
    ) -> Result<Vec<(ClientId, RoomId)>, StoreError> {
        let rows =
            sqlx::query("SELECT client_id, room_id FROM foreign_rooms ORDER BY room_id, client_id")
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::new();
        for r in &rows {
            let client = ClientId::parse(&r.try_get::<String, _>(0)?).map_err(bad("client id"))?;
            if client.user() != user {
                continue;
            }
            let room = RoomId::parse(&r.try_get::<String, _>(1)?).map_err(bad("room id"))?;
            out.push((client, room));
        }
        Ok(out)
    }

    async fn take_foreign_rooms(&self, client: &ClientId) -> Result<Vec<RoomId>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows =
            sqlx::query("SELECT room_id FROM foreign_rooms WHERE client_id = $1 ORDER BY room_id")
                .bind(client.to_string())
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM foreign_rooms WHERE client_id = $1")
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| RoomId::parse(&r.try_get::<String, _>(0)?).map_err(bad("room id")))
            .collect()
    }

    async fn add_pending_removal(
        &self,
        room: &RoomId,
        client: &ClientId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO pending_removals (room_id, client_id, proposed_epoch) \
             VALUES ($1, $2, NULL) ON CONFLICT DO NOTHING",
        )
        .bind(room.as_str())
        .bind(client.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn peer_knock(
        &self,
        room: &RoomId,
        user: &UserId,
        notify: &[UserId],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let new = sqlx::query(
            "INSERT INTO peer_knocks (room_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (room_id, user_id) DO NOTHING",
        )
        .bind(room.as_str())
        .bind(user.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if new {
            super::consents::tell_knock(&mut tx, room, user, notify).await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn relay_entries(
        &self,
        client: &ClientId,
        entries: &[LogEntry],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for e in entries {
            sqlx::query(
                "INSERT INTO relayed_entries (client_id, room_id, seq, kind, epoch, sender, body) \
                 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM \
                 relayed_positions WHERE client_id = $1 AND room_id = $2 AND acked_seq >= $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(client.to_string())
            .bind(e.room.as_str())
            .bind(e.seq as i64)
            .bind(e.kind.code())
            .bind(e.epoch as i64)
            .bind(&e.sender)
            .bind(&e.body)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn relay_welcome(
        &self,
        client: &ClientId,
        room: &RoomId,
        seq: u64,
        welcome: &[u8],
        ratchet_tree: &[u8],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        ensure_position(&mut tx, client, room).await?;
        let taken = sqlx::query(
            "UPDATE relayed_positions SET welcomed_seq = $3 \
             WHERE client_id = $1 AND room_id = $2 AND welcomed_seq < $3",
        )
        .bind(client.to_string())
        .bind(room.as_str())
        .bind(seq as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if taken {
            sqlx::query(
                "INSERT INTO inbox (client_id, kind, room_id, body, ratchet_tree, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(client.to_string())
            .bind(INBOX_WELCOME)
            .bind(room.as_str())
            .bind(welcome)
            .bind(ratchet_tree)
            .bind(seq as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(taken)
    }

    async fn relayed_pending(
        &self,
        client: &ClientId,
        limit: u32,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT room_id, seq, kind, epoch, sender, body FROM relayed_entries \
             WHERE client_id = $1 ORDER BY room_id, seq LIMIT $2",
        )
        .bind(client.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(log_entry).collect()
    }

    async fn ack_relayed(
        &self,
        client: &ClientId,
        room: &RoomId,
        seq: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        ensure_position(&mut tx, client, room).await?;
        sqlx::query(
            "UPDATE relayed_positions SET acked_seq = $3 \
             WHERE client_id = $1 AND room_id = $2 AND acked_seq < $3",
        )
        .bind(client.to_string())
        .bind(room.as_str())
        .bind(seq as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM relayed_entries WHERE client_id = $1 AND room_id = $2 AND seq <= $3",
        )
        .bind(client.to_string())
        .bind(room.as_str())
        .bind(seq as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Gives `client` a place in `room` (nothing acknowledged, no Welcome taken) if it has none.
async fn ensure_position(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    client: &ClientId,
    room: &RoomId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO relayed_positions (client_id, room_id, acked_seq, welcomed_seq) \
         VALUES ($1, $2, 0, 0) ON CONFLICT DO NOTHING",
    )
    .bind(client.to_string())
    .bind(room.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
