//! Join-link uses (docs/decisions/0010): the hub counts the different users each link let
//! in, and refuses a link whose uses are spent.

use std::future::Future;

use crate::*;

/// Join-link uses.
pub trait Links: Send + Sync {
    /// Records that `user` used the link `code` of `room`, unless `max_uses` other users
    /// did already: true when recorded (or `user` used it before), false when spent.
    /// Counted and recorded together, so concurrent joiners cannot overspend a link.
    fn record_link_use(
        &self,
        room: &RoomId,
        code: &str,
        user: &UserId,
        max_uses: Option<u32>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// How many different users used the link `code` of `room`.
    fn link_uses(
        &self,
        room: &RoomId,
        code: &str,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;
}
