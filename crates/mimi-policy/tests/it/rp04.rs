//! RP-04 (draft-ietf-mimi-room-policy-04) rules exercised on the role examples of its
//! Appendix A (A.1-A.4): a fixture loader, one test per rule (an allowed and a denied case
//! each), the acceptance tests of the landscape notes §2.7, and property tests over random
//! sequences of allowed changes.

mod acceptance;
mod exhaustive;
mod fixture;
mod harness;
mod list_update;
mod rules;
mod rules_policy;
