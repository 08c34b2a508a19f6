//! Users, their password hashes and bearer tokens, devices and the removals a deleted device leaves; the provider's signing key.

use std::future::Future;

use mimi_policy::id::{ClientId, RoomId, UserId};

use crate::*;

/// Users, their password hashes and bearer tokens, devices and the removals a deleted device leaves; the provider's signing key.
pub trait Accounts: Send + Sync {
    /// Creates a user with its password hash and the skeleton of its name;
    /// [`StoreError::Conflict`] if it exists, or if another user has that skeleton.
    fn create_user(
        &self,
        user: &UserId,
        password_hash: &str,
        skeleton: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates user `pseudonym` (as [`Accounts::create_user`]) as `owner`'s pseudonym in
    /// `room`, in one transaction; [`StoreError::Conflict`] if `owner` has one there
    /// already, or the name is taken.
    fn create_pseudonym(
        &self,
        pseudonym: &UserId,
        owner: &UserId,
        room: &RoomId,
        password_hash: &str,
        skeleton: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every pseudonym of `owner`, in no particular order.
    fn pseudonyms_owned(
        &self,
        owner: &UserId,
    ) -> impl Future<Output = Result<Vec<UserId>, StoreError>> + Send;

    /// The room a pseudonym was made for; none for a user that is not a pseudonym.
    fn pseudonym_room(
        &self,
        pseudonym: &UserId,
    ) -> impl Future<Output = Result<Option<RoomId>, StoreError>> + Send;

    /// The pseudonym `owner` has in `room`, if any.
    fn pseudonym_of(
        &self,
        owner: &UserId,
        room: &RoomId,
    ) -> impl Future<Output = Result<Option<UserId>, StoreError>> + Send;

    /// The user whose name has this skeleton, if any.
    fn user_with_skeleton(
        &self,
        skeleton: &str,
    ) -> impl Future<Output = Result<Option<UserId>, StoreError>> + Send;

    /// The users made before skeletons were kept (migration 0007), which have none.
    fn users_without_skeleton(
        &self,
    ) -> impl Future<Output = Result<Vec<UserId>, StoreError>> + Send;

    /// Gives `user` the skeleton of its name, if it has none; false if another user has
    /// that skeleton already (the user keeps none).
    fn set_user_skeleton(
        &self,
        user: &UserId,
        skeleton: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The password hash of a user.
    fn password_hash(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// The provider's signing key for `domain`: the one stored, or `fresh` stored now if there
    /// is none (the first of several processes to start wins, all get the same key).
    fn provider_key(
        &self,
        domain: &str,
        fresh: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;

    /// Records a bearer token (by its hash) for a user, or for one of its clients.
    fn insert_token(
        &self,
        token_hash: &str,
        owner: &TokenOwner,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Who a token (by its hash) belongs to, and when it was issued (Unix seconds).
    fn token_owner(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<(TokenOwner, u64)>, StoreError>> + Send;

    /// Revokes one token (logout); false if there was none.
    fn revoke_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes the tokens of `user`: every one (`devices_too`) or the account's own, in
    /// either case but `keep`. Returns how many went.
    fn revoke_user_tokens(
        &self,
        user: &UserId,
        devices_too: bool,
        keep: Option<&str>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Replaces a user's password hash.
    fn set_password(
        &self,
        user: &UserId,
        password_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives an existing device a new token, revoking its others; [`StoreError::NotFound`]
    /// if there is no such device.
    fn replace_device_token(
        &self,
        client: &ClientId,
        token_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Registers a client under its user; [`StoreError::Conflict`] if it exists,
    /// [`StoreError::NotFound`] if the user does not.
    fn add_device(&self, client: &ClientId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A user's clients.
    fn devices(
        &self,
        user: &UserId,
    ) -> impl Future<Output = Result<Vec<ClientId>, StoreError>> + Send;

    /// Deletes a client with its KeyPackages, tokens, inbox and room positions, and records
    /// its removal from each room it was in as pending (see [`Accounts::pending_removals`]), in
    /// one transaction. Returns those rooms; `None` if the client did not exist. Until its
    /// removals are done, [`Accounts::add_device`] refuses the client's name.
    fn remove_device(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<Option<Vec<RoomId>>, StoreError>> + Send;

    /// Up to `limit` removals of deleted clients from rooms that are not done yet, those
    /// never proposed first.
    fn pending_removals(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PendingRemoval>, StoreError>> + Send;

    /// Records that the hub proposed a pending removal in `epoch`.
    fn removal_proposed(
        &self,
        room: &RoomId,
        client: &ClientId,
        epoch: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the removal of a deleted client from a room as done (a commit removed it, or
    /// the room no longer holds it). [`Rooms::update_room`] does this for the clients its
    /// commit removes.
    fn finish_removal(
        &self,
        room: &RoomId,
        client: &ClientId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
