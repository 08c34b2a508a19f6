//! [`Blobs`] on SQL.

use super::*;
use crate::Blobs;

impl Blobs for SqlStore {
    async fn put_blob(
        &self,
        room: &RoomId,
        id: &str,
        uploader: &ClientId,
        data: &[u8],
        room_limit: u64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One upload of a room at a time on PostgreSQL (SQLite writes one at a time).
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(format!("blobs {room}"))
                .execute(&mut *tx)
                .await?;
        }
        let kept = sqlx::query(
            "INSERT INTO blobs (room_id, id, uploader, data, created_at) \
             SELECT $1, $2, $3, $4, $5 \
             WHERE (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM blobs WHERE room_id = $1) + $6 <= $7",
        )
        .bind(room.as_str())
        .bind(id)
        .bind(uploader.to_string())
        .bind(data)
        .bind(now())
        .bind(i64::try_from(data.len()).unwrap_or(i64::MAX))
        .bind(i64::try_from(room_limit).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if unique_violation(&e) {
                StoreError::Conflict(format!("attachment {id}"))
            } else {
                e.into()
            }
        })?
        .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(kept)
    }

    async fn blob(&self, room: &RoomId, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT data FROM blobs WHERE room_id = $1 AND id = $2")
            .bind(room.as_str())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get(0).map_err(StoreError::from))
            .transpose()
    }
}
