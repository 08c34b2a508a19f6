//! [`Accounts`] on SQL.

use super::*;
use crate::Accounts;

impl Accounts for SqlStore {
    async fn create_user(
        &self,
        user: &UserId,
        password_hash: &str,
        skeleton: &str,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO users (id, password_hash, created_at, skeleton) VALUES ($1, $2, $3, $4)",
        )
        .bind(user.as_str())
        .bind(password_hash)
        .bind(now())
        .bind(skeleton)
        .execute(&self.pool)
        .await;
        match result {
            Err(e) if unique_violation(&e) => Err(StoreError::Conflict(format!("user {user}"))),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    async fn create_pseudonym(
        &self,
        pseudonym: &UserId,
        owner: &UserId,
        room: &RoomId,
        password_hash: &str,
        skeleton: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let user = sqlx::query(
            "INSERT INTO users (id, password_hash, created_at, skeleton) VALUES ($1, $2, $3, $4)",
        )
        .bind(pseudonym.as_str())
        .bind(password_hash)
        .bind(now())
        .bind(skeleton)
        .execute(&mut *tx)
        .await;
        let linked = match user {
            Ok(_) => {
                sqlx::query(
                    "INSERT INTO pseudonyms (user_id, owner, room_id, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(pseudonym.as_str())
                .bind(owner.as_str())
                .bind(room.as_str())
                .bind(now())
                .execute(&mut *tx)
                .await
            }
            Err(e) => Err(e),
        };
        match linked {
            Err(e) if unique_violation(&e) => Err(StoreError::Conflict(format!(
                "a pseudonym of {owner} in {room}, or the name {pseudonym}"
            ))),
            Err(e) => Err(e.into()),
            Ok(_) => {
                tx.commit().await?;
                Ok(())
            }
        }
    }

    async fn pseudonyms_owned(&self, owner: &UserId) -> Result<Vec<UserId>, StoreError> {
        let rows = sqlx::query("SELECT user_id FROM pseudonyms WHERE owner = $1")
            .bind(owner.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| UserId::parse(&r.try_get::<String, _>(0)?).map_err(bad("user id")))
            .collect()
    }

    async fn pseudonym_room(&self, pseudonym: &UserId) -> Result<Option<RoomId>, StoreError> {
        let row = sqlx::query("SELECT room_id FROM pseudonyms WHERE user_id = $1")
            .bind(pseudonym.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| RoomId::parse(&r.try_get::<String, _>(0)?).map_err(bad("room id")))
            .transpose()
    }

    async fn pseudonym_of(
        &self,
        owner: &UserId,
        room: &RoomId,
    ) -> Result<Option<UserId>, StoreError> {
        let row = sqlx::query("SELECT user_id FROM pseudonyms WHERE owner = $1 AND room_id = $2")
            .bind(owner.as_str())
            .bind(room.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| UserId::parse(&r.try_get::<String, _>(0)?).map_err(bad("user id")))
            .transpose()
    }

    async fn user_with_skeleton(&self, skeleton: &str) -> Result<Option<UserId>, StoreError> {
        let row = sqlx::query("SELECT id FROM users WHERE skeleton = $1")
            .bind(skeleton)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| UserId::parse(&r.try_get::<String, _>(0)?).map_err(bad("user id")))
            .transpose()
    }

    async fn users_without_skeleton(&self) -> Result<Vec<UserId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM users WHERE skeleton IS NULL ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| UserId::parse(&r.try_get::<String, _>(0)?).map_err(bad("user id")))
            .collect()
    }

    async fn set_user_skeleton(&self, user: &UserId, skeleton: &str) -> Result<bool, StoreError> {
        let result =
            sqlx::query("UPDATE users SET skeleton = $1 WHERE id = $2 AND skeleton IS NULL")
                .bind(skeleton)
                .bind(user.as_str())
                .execute(&self.pool)
                .await;
        match result {
            Err(e) if unique_violation(&e) => Ok(false),
            other => Ok(other?.rows_affected() > 0),
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

    async fn token_owner(&self, token_hash: &str) -> Result<Option<(TokenOwner, u64)>, StoreError> {
        let row =
            sqlx::query("SELECT user_id, client_id, created_at FROM tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            let client: Option<String> = r.try_get(1)?;
            let owner = TokenOwner {
                user: UserId::parse(&r.try_get::<String, _>(0)?).map_err(bad("user id"))?,
                client: client
                    .map(|c| ClientId::parse(&c).map_err(bad("client id")))
                    .transpose()?,
            };
            Ok((owner, u(r.try_get(2)?)))
        })
        .transpose()
    }

    async fn revoke_token(&self, token_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_user_tokens(
        &self,
        user: &UserId,
        devices_too: bool,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM tokens WHERE user_id = $1 AND ($2 = 1 OR client_id IS NULL) \
             AND token_hash <> $3",
        )
        .bind(user.as_str())
        .bind(i64::from(devices_too))
        .bind(keep.unwrap_or(""))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn set_password(&self, user: &UserId, password_hash: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user.as_str())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
        Ok(())
    }

    async fn replace_device_token(
        &self,
        client: &ClientId,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM devices WHERE client_id = $1")
            .bind(client.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("device {client}")));
        }
        sqlx::query("DELETE FROM tokens WHERE client_id = $1")
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO tokens (token_hash, user_id, client_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(client.user().as_str())
        .bind(client.to_string())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
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
        for table in [
            "key_packages",
            "tokens",
            "inbox",
            "room_members",
            "relayed_entries",
            "relayed_positions",
        ] {
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
}
