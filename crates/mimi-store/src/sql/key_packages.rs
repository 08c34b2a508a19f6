//! [`KeyPackages`] on SQL.

use super::*;
use crate::KeyPackages;

impl KeyPackages for SqlStore {
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
}
