//! Delivery: each room's log, its members' positions and acknowledgements, and each client's inbox.

use std::future::Future;

use mimi_policy::id::{ClientId, RoomId, UserId};

use crate::*;

/// Delivery: each room's log, its members' positions and acknowledgements, and each client's inbox.
pub trait Delivery: Send + Sync {
    /// Appends application messages sent in `epoch`, if the room is still in that epoch;
    /// returns their sequence numbers, or [`StoreError::Stale`] (nothing written).
    fn append_messages(
        &self,
        room: &RoomId,
        epoch: u64,
        messages: &[NewEntry],
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;

    /// Appends (each as [`Delivery::append_messages`]: one whose room left its epoch gets
    /// [`StoreError::Stale`] and writes nothing, the others are written) and
    /// acknowledgements (as [`Delivery::ack`]) in one transaction: one flush to disk covers
    /// them all. A batch with no message is committed without waiting for the disk (a lost
    /// acknowledgement only has its entries sent again; decision 0019). An error of the
    /// whole batch writes nothing.
    fn write_batch(
        &self,
        appends: &[Append<'_>],
        acks: &[(ClientId, RoomId, u64)],
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// Up to `limit` entries of a room's log after `after_seq`, in order.
    fn read_log(
        &self,
        room: &RoomId,
        after_seq: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LogEntry>, StoreError>> + Send;

    /// The rooms where any client of `user` is (not those it was removed from).
    fn user_rooms(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<RoomId>, StoreError>> + Send;

    /// The rooms a client is in (not those it was removed from).
    fn memberships(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<Vec<Membership>, StoreError>> + Send;

    /// The client's position in each room it receives (also those it is being removed
    /// from), ordered by room, with each log's end: what it has pending, without reading
    /// the entries.
    fn positions(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<Vec<Position>, StoreError>> + Send;

    /// Up to `limit` log entries a client has not acknowledged, over all its rooms, in order
    /// within each room.
    fn pending(
        &self,
        client: &ClientId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LogEntry>, StoreError>> + Send;

    /// Acknowledges rooms' logs, each `(client, room, seq)` up to `seq` (a position never
    /// moves back), in one transaction; for each, false if the client is not in the room. A
    /// removed client that acknowledges the commit removing it leaves the room's delivery.
    fn ack(
        &self,
        acks: &[(ClientId, RoomId, u64)],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;

    /// A client's inbox after `after_id`.
    fn inbox(
        &self,
        client: &ClientId,
        after_id: u64,
    ) -> impl Future<Output = Result<Vec<InboxItem>, StoreError>> + Send;

    /// Deletes a client's inbox items up to `id`.
    fn ack_inbox(
        &self,
        client: &ClientId,
        id: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes these items of a client's inbox.
    fn ack_inbox_items(
        &self,
        client: &ClientId,
        ids: &[u64],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Room log entries not yet acknowledged, summed over every member device.
    fn delivery_backlog(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
