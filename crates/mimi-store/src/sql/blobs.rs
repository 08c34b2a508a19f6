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
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO blobs (room_id, id, uploader, data, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(room.as_str())
        .bind(id)
        .bind(uploader.to_string())
        .bind(data)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if unique_violation(&e) {
                StoreError::Conflict(format!("attachment {id}"))
            } else {
                e.into()
            }
        })?;
        Ok(())
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
