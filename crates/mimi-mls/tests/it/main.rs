//! Integration tests of mimi-mls, with real MLS in memory.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod carriage;
mod claims;
mod external_join;
mod flow;
mod flow_more;
mod group_info;
mod identity;
mod key_package;
mod moderation;
mod proposals;
mod rejoin;
mod robustness;
mod sender;
mod snapshot;
mod stage;
mod support;
mod updates;
