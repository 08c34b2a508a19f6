//! Attachments: ciphertext a member uploads for a room, served to the room's members.

use std::future::Future;

use crate::*;

/// Attachments of rooms.
pub trait Blobs: Send + Sync {
    /// Keeps `data` as attachment `id` of `room`, uploaded by `uploader`.
    fn put_blob(
        &self,
        room: &RoomId,
        id: &str,
        uploader: &ClientId,
        data: &[u8],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Attachment `id` of `room`, if there is one.
    fn blob(
        &self,
        room: &RoomId,
        id: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
}
