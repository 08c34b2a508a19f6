//! Roles and the role table (RP-04 §3, component `roles_list` 0x0025).
//!
//! Every user in a room holds exactly one role. Index 0 is "not in the participant list"
//! (capabilities placed on it apply to outsiders); index 1 named `banned` is the banned role.

use serde::{Deserialize, Serialize};
use tls_codec::{TlsDeserialize, TlsSerialize, TlsSize};

use crate::capability::{Capability, CapabilitySet};

/// The index of a role in a room's role table.
pub type RoleIndex = u32;

/// Role index 0: not (or no longer) in the participant list.
pub const NO_ROLE: RoleIndex = 0;
/// Role index 1: the banned role, which must be named `banned`.
pub const BANNED: RoleIndex = 1;

/// The roles a holder may move a user out of one role into (`SingleSourceRoleChangeTargets`).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TlsSerialize, TlsDeserialize, TlsSize,
)]
#[serde(deny_unknown_fields)]
pub struct RoleChangeTargets {
    /// The role the user holds before the change.
    pub from: RoleIndex,
    /// The roles the user may be moved into.
    pub to: Vec<RoleIndex>,
}

/// One role of a room (RP-04 §3 `Role`).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TlsSerialize, TlsDeserialize, TlsSize,
)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Role {
    /// The role's index, unique in the table; need not be contiguous.
    pub index: RoleIndex,
    /// Short name (`banned` is reserved for index 1).
    pub name: String,
    /// Human description.
    #[serde(default)]
    pub description: String,
    /// Capabilities every holder of the role has.
    #[serde(default)]
    pub capabilities: CapabilitySet,
    /// Fewest users that must hold the role.
    #[serde(default)]
    pub min_participants: u32,
    /// Most users that may hold the role (`None`: no limit).
    #[serde(default)]
    pub max_participants: Option<u32>,
    /// Fewest holders that must have at least one client in the group.
    #[serde(default)]
    pub min_active: u32,
    /// Most holders that may have a client in the group (0: holders may not join).
    #[serde(default)]
    pub max_active: Option<u32>,
    /// Role changes a holder of this role may make to other users.
    #[serde(default)]
    pub authorized_role_changes: Vec<RoleChangeTargets>,
}

impl Role {
    /// A role with a name and nothing else: no capabilities, no constraints.
    pub fn new(index: RoleIndex, name: &str) -> Self {
        Self {
            index,
            name: name.to_owned(),
            description: String::new(),
            capabilities: CapabilitySet::new(),
            min_participants: 0,
            max_participants: None,
            min_active: 0,
            max_active: None,
            authorized_role_changes: Vec::new(),
        }
    }

    /// True if holders of the role have `cap`.
    pub fn can(&self, cap: Capability) -> bool {
        self.capabilities.contains(cap)
    }

    /// True if a holder of this role may move a user from role `from` to role `to`.
    pub fn may_change(&self, from: RoleIndex, to: RoleIndex) -> bool {
        self.authorized_role_changes
            .iter()
            .any(|c| c.from == from && c.to.contains(&to))
    }

    /// The roles a holder may move a user with role `from` into.
    pub fn targets_from(&self, from: RoleIndex) -> &[RoleIndex] {
        self.authorized_role_changes
            .iter()
            .find(|c| c.from == from)
            .map_or(&[], |c| c.to.as_slice())
    }
}

/// A room's roles, sorted by index (`RoleData`); decoding validates like [`RoleTable::new`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TlsSerialize, TlsSize)]
#[serde(transparent)]
pub struct RoleTable {
    roles: Vec<Role>,
}

impl<'de> Deserialize<'de> for RoleTable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(Vec::<Role>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl tls_codec::Deserialize for RoleTable {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let roles = Vec::<Role>::tls_deserialize(bytes)?;
        Self::new(roles).map_err(|e| tls_codec::Error::DecodingError(e.to_string()))
    }
}

/// Why a role table is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// Two roles share an index.
    #[error("role index {0} appears twice")]
    DuplicateIndex(RoleIndex),
    /// Role index 1 exists but is not named `banned`.
    #[error("role 1 must be named `banned`, found `{0}`")]
    BannedMisnamed(String),
    /// A role's minimum exceeds its maximum.
    #[error("role {index}: minimum {min} exceeds maximum {max}")]
    MinAboveMax {
        /// The role.
        index: RoleIndex,
        /// The minimum constraint.
        min: u32,
        /// The maximum constraint.
        max: u32,
    },
    /// An authorized role change names a role the table does not define.
    #[error("role {index}: authorized role change refers to undefined role {missing}")]
    UnknownTarget {
        /// The role holding the change.
        index: RoleIndex,
        /// The undefined role.
        missing: RoleIndex,
    },
    /// A role has an empty name.
    #[error("role {0} has an empty name")]
    EmptyName(RoleIndex),
}

impl RoleError {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DuplicateIndex(_) => "duplicate-role-index",
            Self::BannedMisnamed(_) => "banned-role-misnamed",
            Self::MinAboveMax { .. } => "role-min-above-max",
            Self::UnknownTarget { .. } => "unknown-role",
            Self::EmptyName(_) => "empty-role-name",
        }
    }
}

impl RoleTable {
    /// Builds a table, checking the rules of RP-04 §3.
    pub fn new(mut roles: Vec<Role>) -> Result<Self, RoleError> {
        roles.sort_by_key(|r| r.index);
        if let Some(w) = roles.windows(2).find(|w| w[0].index == w[1].index) {
            return Err(RoleError::DuplicateIndex(w[0].index));
        }
        let table = Self { roles };
        table.validate()?;
        Ok(table)
    }

    /// Checks the table: unique indexes, `banned` at 1, min <= max, change targets defined.
    pub fn validate(&self) -> Result<(), RoleError> {
        if self.roles.windows(2).any(|w| w[0].index >= w[1].index) {
            let dup = self
                .roles
                .windows(2)
                .find(|w| w[0].index >= w[1].index)
                .map_or(0, |w| w[1].index);
            return Err(RoleError::DuplicateIndex(dup));
        }
        for role in &self.roles {
            if role.name.is_empty() {
                return Err(RoleError::EmptyName(role.index));
            }
            if role.index == BANNED && role.name != "banned" {
                return Err(RoleError::BannedMisnamed(role.name.clone()));
            }
            for (min, max) in [
                (role.min_participants, role.max_participants),
                (role.min_active, role.max_active),
            ] {
                if let Some(max) = max
                    && min > max
                {
                    return Err(RoleError::MinAboveMax {
                        index: role.index,
                        min,
                        max,
                    });
                }
            }
            for change in &role.authorized_role_changes {
                for idx in std::iter::once(&change.from).chain(&change.to) {
                    if *idx != NO_ROLE && self.role(*idx).is_none() {
                        return Err(RoleError::UnknownTarget {
                            index: role.index,
                            missing: *idx,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The role with `index`, if defined.
    pub fn role(&self, index: RoleIndex) -> Option<&Role> {
        self.roles
            .binary_search_by_key(&index, |r| r.index)
            .ok()
            .map(|i| &self.roles[i])
    }

    /// True if the role `index` exists and has `cap`; undefined roles have no capabilities.
    pub fn can(&self, index: RoleIndex, cap: Capability) -> bool {
        self.role(index).is_some_and(|r| r.can(cap))
    }

    /// The first role with `name`.
    pub fn by_name(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// True if the table defines role 1 as `banned`, which ban and unban need (RP-04 §8.1.3).
    pub fn has_banned_role(&self) -> bool {
        self.role(BANNED).is_some_and(|r| r.name == "banned")
    }

    /// All roles in index order.
    pub fn iter(&self) -> impl Iterator<Item = &Role> {
        self.roles.iter()
    }

    /// Number of roles.
    pub fn len(&self) -> usize {
        self.roles.len()
    }

    /// True if the table has no roles.
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_exact;
    use tls_codec::Serialize as _;

    fn sample() -> RoleTable {
        let mut member = Role::new(2, "member");
        member.capabilities.insert(Capability::CAN_SEND_MESSAGE);
        member.authorized_role_changes.push(RoleChangeTargets {
            from: 0,
            to: vec![2],
        });
        member.max_participants = Some(10);
        RoleTable::new(vec![member, Role::new(1, "banned"), Role::new(0, "none")]).unwrap()
    }

    #[test]
    fn role_table_sorts_and_looks_up_by_index() {
        let t = sample();
        assert_eq!(t.iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(t.can(2, Capability::CAN_SEND_MESSAGE));
        assert!(!t.can(7, Capability::CAN_SEND_MESSAGE));
        assert!(t.role(2).unwrap().may_change(0, 2));
        assert!(!t.role(2).unwrap().may_change(0, 1));
    }

    #[test]
    fn rp04_s3_role_one_must_be_named_banned() {
        let err = RoleTable::new(vec![Role::new(1, "outcast")]).unwrap_err();
        assert_eq!(err.code(), "banned-role-misnamed");
    }

    #[test]
    fn rp04_s3_min_above_max_rejected() {
        let mut r = Role::new(3, "admin");
        r.min_participants = 4;
        r.max_participants = Some(3);
        assert_eq!(
            RoleTable::new(vec![r]).unwrap_err().code(),
            "role-min-above-max"
        );
    }

    #[test]
    fn rp04_s3_change_targets_must_exist() {
        let mut r = Role::new(3, "admin");
        r.authorized_role_changes.push(RoleChangeTargets {
            from: 0,
            to: vec![9],
        });
        assert_eq!(RoleTable::new(vec![r]).unwrap_err().code(), "unknown-role");
        assert_eq!(
            RoleTable::new(vec![Role::new(2, "a"), Role::new(2, "b")])
                .unwrap_err()
                .code(),
            "duplicate-role-index"
        );
    }

    #[test]
    fn role_table_tls_round_trip() {
        let t = sample();
        let bytes = t.tls_serialize_detached().unwrap();
        let back: RoleTable = decode_exact(&bytes).unwrap();
        assert_eq!(back, t);
        assert!(decode_exact::<RoleTable>(&bytes[..bytes.len() - 1]).is_err());
    }
}
