//! Abuse reports members send to a room's hub (protocol-06 §5.9), kept for the operator.

use std::future::Future;

use crate::*;

/// Abuse reports, kept for the operator.
pub trait Reports: Send + Sync {
    /// Keeps `report`; its ID.
    fn record_report(
        &self,
        report: &NewReport,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The latest `limit` reports, newest first.
    fn reports(&self, limit: u32) -> impl Future<Output = Result<Vec<Report>, StoreError>> + Send;
}
