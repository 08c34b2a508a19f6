//! Rooms: the hub's state of each, changed only by compare-and-swap on its version, and the directory.

use std::future::Future;

use mimi_policy::id::RoomId;

use crate::*;

/// Rooms: the hub's state of each, changed only by compare-and-swap on its version, and the directory.
pub trait Rooms: Send + Sync {
    /// Creates a room at version 1; [`StoreError::Conflict`] if it exists, or if another
    /// room's name has its skeleton.
    fn create_room(&self, room: &NewRoom) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The rooms made before skeletons were kept (migration 0009), which have none, and
    /// have a name of their own.
    fn rooms_without_skeleton(
        &self,
    ) -> impl Future<Output = Result<Vec<RoomId>, StoreError>> + Send;

    /// Gives `room` the skeleton of its name, if it has none; false if another room has
    /// that skeleton already (the room keeps none).
    fn set_room_skeleton(
        &self,
        room: &RoomId,
        skeleton: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The room whose name has this skeleton, if any.
    fn room_with_skeleton(
        &self,
        skeleton: &str,
    ) -> impl Future<Output = Result<Option<RoomId>, StoreError>> + Send;

    /// Deletes room `id` with everything of it: its state, log, members, knocks, link uses,
    /// pending removals and undelivered inbox items. False when there was no such room.
    fn delete_room(&self, id: &RoomId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Vacates room `id`, still at `expected_version` (its last member left; it is
    /// persistent): it keeps its row, name, skeleton and join-link uses, with `policy` (its
    /// policy entries) for the group that starts it again and `document` (its document with
    /// nobody in it) for the directory; its log, members, knocks, pending removals and inbox
    /// items go, and its epoch moves on, so that no message of the old group lands. A
    /// vacant room is not loaded ([`Rooms::load_room`] and [`Rooms::room_version`] answer
    /// none) until [`Rooms::refound_room`]. [`StoreError::Stale`] if another change won.
    fn vacate_room(
        &self,
        id: &RoomId,
        expected_version: u64,
        policy: &[u8],
        document: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The policy entries a vacant room keeps; none if it is not vacant.
    fn vacant_room(
        &self,
        id: &RoomId,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// Replaces the vacant room `room.id`, if it still keeps exactly `kept` (the policy the
    /// new group was decided on), with the new group of the first one back, as
    /// [`Rooms::create_room`] makes a room but at the next version (no process's copy of
    /// the old group passes for it), in one transaction; the join-link uses stay.
    /// [`StoreError::Conflict`] if the room is not vacant with that policy (another came
    /// back first, or it was started and vacated again since).
    fn refound_room(
        &self,
        room: &NewRoom,
        kept: &[u8],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A room's record.
    fn load_room(
        &self,
        id: &RoomId,
    ) -> impl Future<Output = Result<Option<RoomRecord>, StoreError>> + Send;

    /// A room's current version and epoch.
    fn room_version(
        &self,
        id: &RoomId,
    ) -> impl Future<Output = Result<Option<(u64, u64)>, StoreError>> + Send;

    /// Applies a change to a room's hub state if the room is still at the version it was
    /// computed from, appending its entry to the log, updating the members, putting the
    /// Welcome in the added clients' inboxes and ending the added users' knocks, in one
    /// transaction. The snapshot stays as it was: the entry is replayed onto it until
    /// [`Rooms::save_snapshot`] refreshes it. Returns the entry's sequence number;
    /// [`StoreError::Stale`] (nothing written) if another change won.
    fn update_room(
        &self,
        update: &RoomUpdate,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Gives the waiting Welcomes their ratchet trees and refreshes a room's snapshot,
    /// unless it already includes `snapshot.seq` or a Welcome of a commit up to it still
    /// waits (it stays behind, to be replayed from before that commit).
    fn save_snapshot(
        &self,
        snapshot: &RoomSnapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Rooms whose snapshot is behind their last handshake (a process stopped between a
    /// commit and its snapshot), up to `limit`.
    fn rooms_behind(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RoomId>, StoreError>> + Send;

    /// The discoverable rooms, by ID.
    fn directory(&self) -> impl Future<Output = Result<Vec<DirectoryEntry>, StoreError>> + Send;
}
