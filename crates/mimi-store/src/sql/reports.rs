//! [`Reports`] on SQL.

use super::*;
use crate::{NewReport, Report, Reports};

impl Reports for SqlStore {
    async fn record_report(&self, report: &NewReport) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO abuse_reports \
             (room_id, reporter_id, alleged_abuser, reason, note, seq, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(report.room.as_str())
        .bind(report.reporter.as_str())
        .bind(report.alleged_abuser.as_str())
        .bind(report.reason.as_str())
        .bind(report.note.as_str())
        .bind(report.seq.map(|s| s as i64))
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        Ok(u(row.try_get(0)?))
    }

    async fn reports(&self, limit: u32) -> Result<Vec<Report>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, created_at, room_id, reporter_id, alleged_abuser, reason, note, seq \
             FROM abuse_reports ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let room: String = r.try_get(2)?;
                let reporter: String = r.try_get(3)?;
                let seq: Option<i64> = r.try_get(7)?;
                Ok(Report {
                    id: u(r.try_get(0)?),
                    created_at: u(r.try_get(1)?),
                    report: NewReport {
                        room: RoomId::parse(&room).map_err(bad("room id"))?,
                        reporter: UserId::parse(&reporter).map_err(bad("user id"))?,
                        alleged_abuser: r.try_get(4)?,
                        reason: r.try_get(5)?,
                        note: r.try_get(6)?,
                        seq: seq.map(u),
                    },
                })
            })
            .collect()
    }
}
