//! KeyPackages: each handed out at most once, the last-resort one kept.

use std::future::Future;

use mimi_policy::id::ClientId;

use crate::*;

/// KeyPackages: each handed out at most once, the last-resort one kept.
pub trait KeyPackages: Send + Sync {
    /// Stores a client's KeyPackages (`true`: the last-resort one, handed out every time no
    /// other is left).
    fn add_key_packages(
        &self,
        client: &ClientId,
        key_packages: &[(Vec<u8>, bool)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Hands out one of a client's KeyPackages: an unused one, each at most once, else the
    /// newest last-resort one; `None` if it has neither.
    fn claim_key_package(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// How many unused, not last-resort KeyPackages a client has.
    fn key_package_count(
        &self,
        client: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
