//! Federation (docs/decisions/0015): as a hub, the devices of other providers in this
//! provider's rooms (their entries and Welcomes are pushed to their providers); as a
//! follower, what hubs pushed to this provider's devices, kept until each acknowledges it.

use std::future::Future;

use crate::*;

/// Federation's durable state.
pub trait Federation: Send + Sync {
    /// The clients of other providers than `own` (a domain) that are members of this
    /// provider's rooms or have a Welcome waiting here: the hub pushes to their providers.
    fn foreign_recipients(
        &self,
        own: &str,
    ) -> impl Future<Output = Result<Vec<ClientId>, StoreError>> + Send;

    /// Records KeyPackage references another provider handed out for its devices.
    fn record_peer_key_packages(
        &self,
        refs: &[(ClientId, Vec<u8>)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether another provider handed out the KeyPackage `reference` for `client`.
    fn peer_key_package_known(
        &self,
        client: &ClientId,
        reference: &[u8],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records that `client`, one of this provider's devices, joined `room` of another
    /// provider.
    fn record_foreign_room(
        &self,
        client: &ClientId,
        room: &RoomId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The rooms of other providers `user`'s devices joined, each with the device.
    fn foreign_rooms_of_user(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<(ClientId, RoomId)>, StoreError>> + Send;

    /// The rooms of other providers `client` joined, forgotten now (the device is deleted).
    fn take_foreign_rooms(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<Vec<RoomId>, StoreError>> + Send;

    /// Makes the removal of `client` (another provider's device, deleted there) from
    /// `room`, hosted here, pending for the sweeper; true if it was not pending already.
    fn add_pending_removal(
        &self,
        room: &RoomId,
        client: &ClientId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records `user`'s knock on `room` where one side is another provider (a user of
    /// another provider on a room here, told by its provider; or a user here on a room of
    /// another provider, relayed), telling the devices of `notify` as
    /// [`Consents::knock`] does; false if it was pending already. [`Consents::has_knocked`],
    /// [`Consents::knocks`], [`Consents::withdraw_knock`] and an answering commit see it as
    /// any knock.
    fn peer_knock(
        &self,
        room: &RoomId,
        user: &UserId,
        notify: &[UserId],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Keeps `entries` (of one hub's room) for `client`, one of this provider's devices,
    /// skipping those it has (or had and acknowledged): a hub may push twice.
    fn relay_entries(
        &self,
        client: &ClientId,
        entries: &[LogEntry],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Puts a Welcome into `room` (for its commit at `seq`) with its ratchet tree into
    /// `client`'s inbox, unless one for that commit or a later one was taken before: false
    /// when skipped.
    fn relay_welcome(
        &self,
        client: &ClientId,
        room: &RoomId,
        seq: u64,
        welcome: &[u8],
        ratchet_tree: &[u8],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Up to `limit` relayed entries `client` has not acknowledged, by room then position.
    fn relayed_pending(
        &self,
        client: &ClientId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LogEntry>, StoreError>> + Send;

    /// Acknowledges `client`'s relayed entries of `room` up to `seq`.
    fn ack_relayed(
        &self,
        client: &ClientId,
        room: &RoomId,
        seq: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
