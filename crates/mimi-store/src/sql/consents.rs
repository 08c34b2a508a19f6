//! [`Consents`] on SQL.

use super::*;
use crate::Consents;

impl Consents for SqlStore {
    async fn suggest_room(
        &self,
        target: &UserId,
        member: &UserId,
        room: &RoomId,
    ) -> Result<u64, StoreError> {
        let told = sqlx::query(
            "INSERT INTO inbox (client_id, kind, room_id, body) \
             SELECT client_id, $1, $2, $3 FROM devices WHERE user_id = $4",
        )
        .bind(INBOX_SUGGESTION)
        .bind(room.as_str())
        .bind(member.as_str().as_bytes())
        .bind(target.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(told)
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
                tx.rollback().await?;
                // As long as a first request to a known user, which commits a write: the
                // time does not tell who exists.
                let mut decoy = self.pool.begin().await?;
                sqlx::query("INSERT INTO write_decoys (at) VALUES ($1)")
                    .bind(now())
                    .execute(&mut *decoy)
                    .await?;
                sqlx::query("DELETE FROM write_decoys")
                    .execute(&mut *decoy)
                    .await?;
                decoy.commit().await?;
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

    async fn grant_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> Result<(), StoreError> {
        self.put_consent(target, requester, room, true).await
    }

    async fn record_peer_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
        granted: bool,
    ) -> Result<(), StoreError> {
        let query = if granted {
            "INSERT INTO peer_consents (target_id, requester_id, room_id) VALUES ($1, $2, $3) \
             ON CONFLICT (target_id, requester_id, room_id) DO NOTHING"
        } else {
            "DELETE FROM peer_consents WHERE target_id = $1 AND requester_id = $2 AND room_id = $3"
        };
        match sqlx::query(query)
            .bind(target.as_str())
            .bind(requester.as_str())
            .bind(room.map_or("", RoomId::as_str))
            .execute(&self.pool)
            .await
        {
            Err(e) if foreign_key_violation(&e) => {
                Err(StoreError::NotFound(format!("user {requester}")))
            }
            other => other.map(|_| ()).map_err(Into::into),
        }
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
            tell_knock(&mut tx, room, user, notify).await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn withdraw_knock(&self, room: &RoomId, user: &UserId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut withdrawn = false;
        for query in [
            "DELETE FROM knocks WHERE room_id = $1 AND user_id = $2",
            "DELETE FROM peer_knocks WHERE room_id = $1 AND user_id = $2",
        ] {
            let done = sqlx::query(query)
                .bind(room.as_str())
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?;
            withdrawn |= done.rows_affected() > 0;
        }
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

    async fn knocks(&self, room: &RoomId) -> Result<Vec<(UserId, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_id, created_at FROM knocks WHERE room_id = $1 \
             UNION ALL SELECT user_id, created_at FROM peer_knocks WHERE room_id = $1 \
             ORDER BY created_at, user_id",
        )
        .bind(room.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let user = UserId::parse(&r.try_get::<String, _>(0)?).map_err(bad("user id"))?;
                Ok((user, u(r.try_get(1)?)))
            })
            .collect()
    }

    async fn has_knocked(&self, room: &RoomId, user: &UserId) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 FROM knocks WHERE room_id = $1 AND user_id = $2 \
             UNION ALL SELECT 1 FROM peer_knocks WHERE room_id = $1 AND user_id = $2",
        )
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
        per_target: u32,
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
               WHERE requester_id = $1 AND target_id = $2 AND created_at > $5) < $6 \
             AND (SELECT COUNT(*) FROM allowance_claims \
               WHERE target_id = $2 AND created_at > $5) < $7",
        )
        .bind(requester.as_str())
        .bind(target.as_str())
        .bind(room.map_or("", RoomId::as_str))
        .bind(now())
        .bind(now() - ALLOWANCE_CLAIM_LIFETIME)
        .bind(i64::from(allowance))
        .bind(i64::from(per_target))
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

    async fn has_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 FROM consents WHERE target_id = $1 AND requester_id = $2 \
             AND granted = 1 AND (room_id = '' OR room_id = $3) \
             UNION ALL SELECT 1 FROM peer_consents WHERE target_id = $1 AND requester_id = $2 \
             AND (room_id = '' OR room_id = $3) LIMIT 1",
        )
        .bind(target.as_str())
        .bind(requester.as_str())
        .bind(room.map_or("", RoomId::as_str))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}

/// Tells each device of `notify` (those who may let the user in) of `user`'s knock on
/// `room` (an inbox item each), in the knock's transaction.
pub(super) async fn tell_knock(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    room: &RoomId,
    user: &UserId,
    notify: &[UserId],
) -> Result<(), StoreError> {
    for moderator in notify {
        sqlx::query(
            "INSERT INTO inbox (client_id, kind, room_id, body) \
             SELECT client_id, $1, $2, $3 FROM devices WHERE user_id = $4",
        )
        .bind(INBOX_KNOCK)
        .bind(room.as_str())
        .bind(user.as_str().as_bytes())
        .bind(moderator.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
