//! Integration tests of mimi-policy: one binary, one module per area.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod list_update;
mod muc_rules;
mod props;
mod rp04;
mod seed_rules;
mod support;
