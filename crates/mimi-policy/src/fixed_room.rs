//! Fixed-membership room IDs, as the seed names them ("Fixed-membership groups, naming
//! convention"): the participants' user IDs in lexical order, joined by a horizontal tab,
//! hashed with SHA-256, base64url without padding, as `im:mimi=%23%23<hash>@<domain>`.
//!
//! The user IDs hashed are the seed's `name@domain` form, the form its room document uses.
//! The seed's example hash (`3qAm84t9…`) names no participants and is not reproducible from
//! any obvious input, so it serves only as a shape check.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::id::{IdError, RoomId, UserId};
use crate::role::BANNED;
use crate::room::Room;
use crate::seed::seed_role;

/// Why a fixed-membership room ID cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixedRoomError {
    /// No participants were given.
    #[error("a fixed-membership room needs at least one participant")]
    NoParticipants,
    /// The hosting domain is not valid.
    #[error("{0}")]
    Domain(#[from] IdError),
}

/// The fixed-membership room ID of a set of participants, hosted on `domain`.
///
/// Duplicates collapse and order does not matter, so each set of participants has exactly one
/// ID: this is what makes "only one fixed-membership room per set of participants" checkable.
pub fn fixed_room_id<'a>(
    domain: &str,
    participants: impl IntoIterator<Item = &'a UserId>,
) -> Result<RoomId, FixedRoomError> {
    let names: BTreeSet<String> = participants.into_iter().map(UserId::to_seed_form).collect();
    if names.is_empty() {
        return Err(FixedRoomError::NoParticipants);
    }
    let joined = names.into_iter().collect::<Vec<_>>().join("\t");
    let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(joined.as_bytes()));
    Ok(RoomId::parse(&format!(
        "im:mimi=%23%23{hash}@{}",
        domain.to_ascii_lowercase()
    ))?)
}

/// The users a room's fixed-membership ID is computed over: every non-banned participant,
/// less a seed room's system users (policy enforcers, loggers and bots are not occupants).
pub fn occupants(room: &Room) -> impl Iterator<Item = &UserId> {
    let seed = room.seed().is_some();
    room.participants()
        .entries()
        .iter()
        .filter(move |e| {
            e.role != BANNED
                && !(seed
                    && matches!(
                        e.role,
                        seed_role::POLICY_ENFORCER | seed_role::SYSTEM_CLIENT
                    ))
        })
        .map(|e| &e.user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    #[test]
    fn seed_fixed_room_id_is_sorted_tab_joined_sha256_base64url() {
        let id = fixed_room_id(
            "example.com",
            [&u("bob@example.com"), &u("alice@example.com")],
        )
        .unwrap();
        // printf 'alice@example.com\tbob@example.com' | sha256sum | xxd -r -p | base64 | tr '+/' '-_' | tr -d =
        assert_eq!(
            id.as_str(),
            "im:mimi=%23%23H3KXYXiu7lFs0kqCvgmaRYGeOYANVApd4Ok-25FhxGM@example.com"
        );
        assert_eq!(id.domain(), "example.com");
    }

    #[test]
    fn seed_fixed_room_id_ignores_order_and_input_form() {
        let a = fixed_room_id("x.example", [&u("alice@a.example"), &u("bob@b.example")]).unwrap();
        let b = fixed_room_id(
            "x.example",
            [&u("mimi://b.example/u/bob"), &u("im:%40alice@a.example")],
        )
        .unwrap();
        assert_eq!(a, b);
        let c = fixed_room_id("x.example", [&u("alice@a.example"), &u("carol@b.example")]).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn seed_fixed_room_id_needs_participants_and_a_domain() {
        assert_eq!(
            fixed_room_id("x.example", []).unwrap_err(),
            FixedRoomError::NoParticipants
        );
        assert!(fixed_room_id("bad domain", [&u("a@b.example")]).is_err());
    }
}
