//! Integration tests of mimi-policy: one binary, one module per area.

mod muc_rules;
mod props;
mod seed_rules;
mod support;
