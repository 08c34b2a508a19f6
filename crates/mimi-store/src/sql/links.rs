//! [`Links`] on SQL.

use super::*;
use crate::Links;

impl Links for SqlStore {
    async fn record_link_use(
        &self,
        room: &RoomId,
        code: &str,
        user: &UserId,
        max_uses: Option<u32>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Uses of one link wait for each other here, so two joiners cannot both see a use
            // left (SQLite runs the insert below under its one write lock).
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(format!("{room} {code}"))
                .execute(&mut *tx)
                .await?;
        }
        // One statement: counted and inserted together (first, so that SQLite takes its
        // write lock before it reads).
        sqlx::query(
            "INSERT INTO link_uses (room_id, code, user_id, created_at) \
             SELECT $1, $2, $3, $4 WHERE $5 < 0 OR (SELECT COUNT(*) FROM link_uses \
               WHERE room_id = $1 AND code = $2) < $5 \
             ON CONFLICT DO NOTHING",
        )
        .bind(room.as_str())
        .bind(code)
        .bind(user.as_str())
        .bind(now())
        .bind(max_uses.map_or(-1, i64::from))
        .execute(&mut *tx)
        .await?;
        // Recorded now, or before.
        let recorded = sqlx::query(
            "SELECT 1 FROM link_uses WHERE room_id = $1 AND code = $2 AND user_id = $3",
        )
        .bind(room.as_str())
        .bind(code)
        .bind(user.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        tx.commit().await?;
        Ok(recorded)
    }

    async fn link_uses(&self, room: &RoomId, code: &str) -> Result<u32, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM link_uses WHERE room_id = $1 AND code = $2")
            .bind(room.as_str())
            .bind(code)
            .fetch_one(&self.pool)
            .await?;
        Ok(u32::try_from(row.try_get::<i64, _>(0)?).unwrap_or(u32::MAX))
    }
}
