//! Claim-based pre-authorization (RP-04 §4, component `preauth_list` 0x0026).
//!
//! An entry is a claimset plus a target role; a requester matches an entry when every claim
//! of the set is among its own claims, and the first matching entry wins. The seed's
//! pre-authorization lists (`{"domain"|"team"|"workgroup"|"group"|"user"|"system": ...}`) are
//! single-claim entries with the claim names below.
//!
//! Erratum decision (DESIGN §2): `PreAuthRoleEntry.target_role` carries a role index, not an
//! embedded `Role`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tls_codec::{TlsDeserialize, TlsSerialize, TlsSize};

use crate::id::UserId;
use crate::role::{NO_ROLE, RoleIndex};

/// MLS credential type `basic` (RFC 9420 §5.3), the default for claims given as JSON.
pub const BASIC_CREDENTIAL: u16 = 0x0001;

/// The seed's claim names, as used in room documents and requester claims.
pub mod claim {
    /// The requester's provider domain.
    pub const DOMAIN: &str = "domain";
    /// A team the requester belongs to.
    pub const TEAM: &str = "team";
    /// A workgroup the requester belongs to.
    pub const WORKGROUP: &str = "workgroup";
    /// A group the requester belongs to.
    pub const GROUP: &str = "group";
    /// The requester's own user URI.
    pub const USER: &str = "user";
    /// A system user (logger, bot, policy enforcer) URI.
    pub const SYSTEM: &str = "system";
}

fn basic() -> u16 {
    BASIC_CREDENTIAL
}

/// One claim: the credential type and claim name it is about, and the exact value required.
///
/// On the wire this is `Claim { ClaimId { credential_type, id }, claim_value }`; the nested
/// `ClaimId` adds no bytes of its own, so the fields are flattened here.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    TlsSerialize,
    TlsDeserialize,
    TlsSize,
)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Claim {
    /// MLS credential type the claim comes from.
    #[serde(default = "basic")]
    pub credential_type: u16,
    /// Claim name (an OID, a JWT claim name, or one of the seed names in [`claim`]).
    pub id: String,
    /// The value it must have.
    pub value: String,
}

impl Claim {
    /// A basic-credential claim.
    pub fn new(id: &str, value: &str) -> Self {
        Self {
            credential_type: BASIC_CREDENTIAL,
            id: id.to_owned(),
            value: value.to_owned(),
        }
    }
}

/// A claimset and the role a matching requester may take (`PreAuthRoleEntry`).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TlsSerialize, TlsDeserialize, TlsSize,
)]
#[serde(deny_unknown_fields)]
pub struct PreAuthEntry {
    /// Every one of these must be among the requester's claims.
    pub claims: Vec<Claim>,
    /// The role index granted to a matching requester.
    pub role: RoleIndex,
}

/// The ordered pre-authorization list (`PreAuthData`).
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    TlsSerialize,
    TlsDeserialize,
    TlsSize,
)]
#[serde(transparent)]
pub struct PreAuthList {
    /// Entries in priority order.
    pub entries: Vec<PreAuthEntry>,
}

impl PreAuthList {
    /// The target role of the first entry whose claimset `claims` satisfies.
    ///
    /// An empty claimset would match everyone; it is treated as matching nobody, since an
    /// "everyone" rule is what `canOpenJoin` on role 0 expresses. Entries into role 0 are
    /// skipped: RP-04 takes the first *non-zero* match.
    pub fn first_match(&self, claims: &Claims) -> Option<RoleIndex> {
        self.first_match_with(|c| claims.has(c))
    }

    /// Like [`PreAuthList::first_match`], with the requester's claims given as a predicate
    /// (so callers that know a requester's few claims need not build a [`Claims`]).
    pub fn first_match_with(&self, has: impl Fn(&Claim) -> bool) -> Option<RoleIndex> {
        self.entries
            .iter()
            .find(|e| e.role != NO_ROLE && !e.claims.is_empty() && e.claims.iter().all(&has))
            .map(|e| e.role)
    }
}

/// The claims a requester presents (derived from its credential by the MLS layer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    set: BTreeSet<Claim>,
}

impl Claims {
    /// No claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// The claims every user has by its identity: its user URI and its domain.
    pub fn of_user(user: &UserId) -> Self {
        let mut c = Self::new();
        c.insert(Claim::new(claim::USER, user.as_str()));
        c.insert(Claim::new(claim::DOMAIN, user.domain()));
        c
    }

    /// The claims of a system user: its URI as `system` and its domain.
    pub fn of_system(system: &UserId) -> Self {
        let mut c = Self::new();
        c.insert(Claim::new(claim::SYSTEM, system.as_str()));
        c.insert(Claim::new(claim::DOMAIN, system.domain()));
        c
    }

    /// Adds a claim.
    pub fn insert(&mut self, claim: Claim) {
        self.set.insert(claim);
    }

    /// True if the requester has exactly this claim.
    pub fn has(&self, claim: &Claim) -> bool {
        self.set.contains(claim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_exact;
    use tls_codec::Serialize as _;

    fn list() -> PreAuthList {
        PreAuthList {
            entries: vec![
                PreAuthEntry {
                    claims: vec![Claim::new(claim::TEAM, "sales@example.com")],
                    role: 6,
                },
                PreAuthEntry {
                    claims: vec![Claim::new(claim::DOMAIN, "example.com")],
                    role: 5,
                },
                PreAuthEntry {
                    claims: vec![
                        Claim::new(claim::DOMAIN, "b.example"),
                        Claim::new(claim::GROUP, "eng"),
                    ],
                    role: 3,
                },
            ],
        }
    }

    #[test]
    fn rp04_s4_first_matching_entry_wins() {
        let alice = UserId::new("example.com", "alice").unwrap();
        let mut claims = Claims::of_user(&alice);
        assert_eq!(list().first_match(&claims), Some(5));
        claims.insert(Claim::new(claim::TEAM, "sales@example.com"));
        assert_eq!(list().first_match(&claims), Some(6));
    }

    #[test]
    fn rp04_s4_every_claim_of_the_set_must_match() {
        let bob = UserId::new("b.example", "bob").unwrap();
        let mut claims = Claims::of_user(&bob);
        assert_eq!(list().first_match(&claims), None);
        claims.insert(Claim::new(claim::GROUP, "eng"));
        assert_eq!(list().first_match(&claims), Some(3));
    }

    #[test]
    fn empty_claimset_matches_nobody() {
        let l = PreAuthList {
            entries: vec![PreAuthEntry {
                claims: vec![],
                role: 2,
            }],
        };
        let u = UserId::new("x.example", "u").unwrap();
        assert_eq!(l.first_match(&Claims::of_user(&u)), None);
    }

    #[test]
    fn preauth_tls_and_json_round_trip() {
        let l = list();
        let bytes = l.tls_serialize_detached().unwrap();
        assert_eq!(decode_exact::<PreAuthList>(&bytes).unwrap(), l);
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(serde_json::from_str::<PreAuthList>(&json).unwrap(), l);
    }
}
