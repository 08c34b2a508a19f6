//! Consent to be added, knocks and claims under the allowance: the facts the provider decides KeyPackage access and commits with.

use std::future::Future;

use mimi_policy::id::{RoomId, UserId};

use crate::*;

/// Consent to be added, knocks and claims under the allowance: the facts the provider decides KeyPackage access and commits with.
pub trait Consents: Send + Sync {
    /// Tells each of `target`'s devices that `member` suggests `room` to it
    /// ([`InboxKind::Suggestion`]); how many devices were told (none for a user that does
    /// not exist, in one statement either way).
    fn suggest_room(
        &self,
        target: &UserId,
        member: &UserId,
        room: &RoomId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Records that `requester` asks `target` for consent to add it (to `room`, or any room),
    /// and tells each of the target's devices ([`InboxKind::ConsentRequest`]); an existing
    /// request or grant stays as it is, and is not told again. [`StoreError::NotFound`] if
    /// the target does not exist, after a write committed as for a known target, so that
    /// the time taken does not tell either.
    fn request_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// `target` lets `requester` add it (to `room`, or any room), whether asked or not.
    fn grant_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Withdraws a grant or refuses a request; false if there was neither.
    fn revoke_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records what a user of another provider (`target`) told through its provider: that
    /// it lets `requester`, a user of this provider, add it (to `room`, or any room), or no
    /// longer does. [`StoreError::NotFound`] if the requester does not exist.
    fn record_peer_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
        granted: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// What `target` was asked and has granted.
    fn consents(
        &self,
        target: &UserId,
    ) -> impl Future<Output = Result<Vec<Consent>, StoreError>> + Send;

    /// Records `user`'s knock on `room` and tells the devices of `notify` (the users who
    /// may let it in) through their inboxes ([`InboxKind::Knock`]), once per knock; false
    /// if the knock was already pending. [`StoreError::NotFound`] for an unknown room or
    /// user.
    fn knock(
        &self,
        room: &RoomId,
        user: &UserId,
        notify: &[UserId],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Withdraws `user`'s pending knock on `room`, with the notifications of it that no
    /// device has received yet; false if there was none.
    fn withdraw_knock(
        &self,
        room: &RoomId,
        user: &UserId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The pending knocks on `room`: each knocker with when it knocked (Unix seconds),
    /// oldest first.
    fn knocks(
        &self,
        room: &RoomId,
    ) -> impl Future<Output = Result<Vec<(UserId, u64)>, StoreError>> + Send;

    /// Whether `user` has a pending knock on `room` (a commit adding the user ends it).
    fn has_knocked(
        &self,
        room: &RoomId,
        user: &UserId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records that `requester` is handed `target`'s KeyPackages (for `room`, or any) under
    /// the provider's allowance, without consent, if it holds fewer than `allowance` such
    /// claims and everyone together fewer than `per_target` (from the last day); false,
    /// recording nothing, if not. Counted and recorded atomically: concurrent claims
    /// cannot pass either limit together.
    fn record_allowance_claim(
        &self,
        requester: &UserId,
        target: &UserId,
        room: Option<&RoomId>,
        allowance: u32,
        per_target: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// How many claims of `target`'s KeyPackages under the allowance `requester` holds
    /// unused (from the last day): all of them with `room` `None`, else those for `room`
    /// or any room.
    fn allowance_claims(
        &self,
        requester: &UserId,
        target: &UserId,
        room: Option<&RoomId>,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Ends `requester`'s claims of `target`'s KeyPackages under the allowance for `room`
    /// and for any room (a commit of `requester` added `target` to `room`).
    fn use_allowance_claims(
        &self,
        requester: &UserId,
        target: &UserId,
        room: &RoomId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether `target` lets `requester` add it to `room` (a grant for that room or for any
    /// room; with `room` `None`, only a grant for any room counts).
    fn has_consent(
        &self,
        target: &UserId,
        requester: &UserId,
        room: Option<&RoomId>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
