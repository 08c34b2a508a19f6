//! The MIMI room policy engine (pure: no I/O, no clock).
//!
//! A room's policy, who may join, add, remove, speak and moderate, by which method and on
//! which provider, decided as data: [`authorize`] takes a [`Room`] and an [`Operation`] and
//! returns a [`Decision`], `Allow { rule }` or `Deny { code, rule }`. [`plan`] also returns
//! the changes an allowed operation makes, which [`Room::apply`] applies.
//!
//! The core is the role/capability model of draft-ietf-mimi-room-policy-04 (roles,
//! capabilities, participant list, claim-based pre-authorization, policy components). Rooms
//! defined in the vocabulary of draft-mahy-mimi-group-chat-00 (the seed) compile to a fixed
//! role table and are decided by the seed's rules.
//!
//! ```
//! use mimi_policy::document::parse_room;
//! use mimi_policy::{Operation, authorize};
//!
//! let room = parse_room(r#"{
//!     "policy": { "membership": "members-only" },
//!     "user-affiliations": { "owner": ["alice@example.com"], "member": ["bob@example.com"] },
//!     "clients": { "alice@example.com": ["phone"], "bob@example.com": ["phone"] }
//! }"#)?;
//! let op = Operation::from_json(serde_json::json!({
//!     "actor": { "user": "bob@example.com", "client": "phone" },
//!     "action": "add-client",
//!     "target": { "user": "zed@example.org", "client": "laptop" }
//! }))?;
//! let decision = authorize(&room, &op);
//! assert_eq!((decision.code(), decision.rule().id), ("not-allowed", "SEED-ADD-4"));
//! # Ok::<(), mimi_policy::document::DocumentError>(())
//! ```
//!
//! # The seed profile's role table
//!
//! One role per user carries both the seed's affiliation and its client role with voice.
//!
//! | index | role | seed meaning | capabilities (beyond the row above it) |
//! |---|---|---|---|
//! | 0 | `none` | affiliation none, not in the room | unless fixed: `canUseJoinCode`; `canOpenJoin` (into visitor if moderated, else participant) if open; `canKnock` if knock-first |
//! | 1 | `banned` | outcast | none; max active 0 |
//! | 2 | `visitor` | affiliation none, in the room, no voice | receive, copy, report, download, follow links, `canRemoveOwnClient`, `canJoinIfPreauthorized`; `canAddOwnClient` if multi-device; `canRemoveSelf` unless fixed; `canSendMLSPSKProposal` if PSK is enabled |
//! | 3 | `participant` | affiliation none, with voice | + `canSendMessage` and the content capabilities (reply, react, edit/delete own, topics, uploads, links, calls); `canSendDirectMessage` if direct messaging; `canAddParticipant` if open and not fixed |
//! | 4 | `muted-member` | affiliation member, voice revoked | as visitor |
//! | 5 | `member` | affiliation member | as participant |
//! | 6 | `admin` | affiliation admin, client role moderator | + `canKick`, `canChangeUserRole`, delete others' messages and reactions, edit others' topics, change subject; unless fixed: `canAddParticipant`, `canRemoveParticipant`, `canBan`, `canUnBan`, `canAcceptKnock`, join codes; changes among roles 0-5 (4-5 if fixed) |
//! | 7 | `owner` | affiliation owner, client role moderator | + room name/description/avatar/mood, membership style, role definitions, pre-authorized list, other attributes, MLS operational policy, `canDestroyRoom`, ReInit if enabled; changes among roles 0-7 (4-7 if fixed); at least 1 |
//! | 8 | `policy-enforcer` | a provider's system user (`owning-system`, `system-auth`) | kick, change roles, destroy, MLS operational policy, external proposals, ReInit if enabled; unless fixed: remove, ban, unban (roles 2-7 and 9 into 0 or 1; unban to 0 only); max active 0 |
//! | 9 | `system-client` | a pre-authorized logger or bot | as visitor + `canSendMessage`, `canAddOwnClient`, no `canRemoveSelf` |
//!
//! `fixed-membership` takes `canAddParticipant` from every role and limits changes to
//! occupants' affiliations; `moderated` makes newcomers visitors instead of participants.
//! docs/policy.md lists every rule, code and settled ambiguity.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authorize;
pub mod capability;
pub mod carriage;
pub mod codec;
pub mod component;
pub mod decision;
pub mod document;
pub mod effect;
pub mod fixed_room;
pub mod host;
pub mod id;
pub mod link;
pub mod name;
pub mod operation;
pub mod participant_list;
pub mod preauth;
pub mod preset;
pub mod role;
pub mod room;
pub mod rule;
pub mod seed;

pub use authorize::{authorize, authorize_list_update, key_package_access, plan};
pub use decision::{Decision, DenyCode};
pub use operation::{Action, Actor, Operation};
pub use room::Room;

/// True when two secrets (passwords, their hashes) are equal, in a time that does not depend
/// on where they differ or on their lengths: their SHA-256 digests are compared in constant
/// time.
pub fn secret_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest as _, Sha256};
    use subtle::ConstantTimeEq as _;
    bool::from(Sha256::digest(a).ct_eq(&Sha256::digest(b)))
}
