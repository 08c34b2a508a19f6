//! Attachments: ciphertext a member uploads for a room, served to the room's members.

use std::future::Future;

use crate::*;

/// Attachments of rooms.
pub trait Blobs: Send + Sync {
    /// Keeps `data` as attachment `id` of `room`, uploaded by `uploader`, unless the room's
    /// attachments would then hold more than `room_limit` bytes: true when kept. Counted
    /// and kept in one statement, so concurrent uploads cannot pass the limit together.
    fn put_blob(
        &self,
        room: &RoomId,
        id: &str,
        uploader: &ClientId,
        data: &[u8],
        room_limit: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Attachment `id` of `room`, if there is one.
    fn blob(
        &self,
        room: &RoomId,
        id: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
}
