//! The participant list (protocol-06 §7.5, component `participant_list` 0x0022).
//!
//! One role per user. Updates are deltas applied in a fixed order: role changes (indices into
//! the current list), then removals (indices into the current list), then additions
//! (appended). A commit touches each user at most once.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tls_codec::{TlsDeserialize, TlsSerialize, TlsSize};

use crate::id::UserId;
use crate::role::{NO_ROLE, RoleIndex};

/// A user and the role it holds (`UserRolePair`).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TlsSerialize, TlsDeserialize, TlsSize,
)]
#[serde(deny_unknown_fields)]
pub struct UserRolePair {
    /// The participant.
    pub user: UserId,
    /// Its role (never 0: index 0 means absent from the list).
    pub role: RoleIndex,
}

/// A role change of the user at a list position (`UserindexRolePair`).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TlsSerialize, TlsDeserialize, TlsSize,
)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IndexRolePair {
    /// Position of the user in the current list.
    pub user_index: u32,
    /// The user's new role.
    pub role: RoleIndex,
}

/// A delta to the participant list (`ParticipantListUpdate`).
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
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ParticipantListUpdate {
    /// Role changes of current participants.
    #[serde(default)]
    pub changed: Vec<IndexRolePair>,
    /// Positions of participants to remove.
    #[serde(default)]
    pub removed: Vec<u32>,
    /// New participants, appended.
    #[serde(default)]
    pub added: Vec<UserRolePair>,
}

/// One user's role before and after an update; 0 on either side means absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChange {
    /// The user.
    pub user: UserId,
    /// Role before the update.
    pub from: RoleIndex,
    /// Role after the update.
    pub to: RoleIndex,
}

/// Why a participant list or an update to it is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// An index points past the end of the list.
    #[error("participant index {index} is out of range (list has {len} entries)")]
    IndexOutOfRange {
        /// The index.
        index: u32,
        /// The list length.
        len: usize,
    },
    /// A user is touched more than once by one update, or listed twice.
    #[error("user {0} is touched more than once")]
    DuplicateUser(UserId),
    /// An entry or change carries role 0, which means "not in the list".
    #[error("user {0} cannot hold role 0 inside the participant list")]
    ZeroRole(UserId),
}

impl ListError {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::IndexOutOfRange { .. } => "participant-index-out-of-range",
            Self::DuplicateUser(_) => "user-touched-twice",
            Self::ZeroRole(_) => "zero-role-in-list",
        }
    }
}

/// The participant list, in wire order, with a lookup by user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParticipantList {
    entries: Vec<UserRolePair>,
    position: BTreeMap<UserId, usize>,
}

impl ParticipantList {
    /// Builds a list, rejecting duplicate users and role 0.
    pub fn new(entries: Vec<UserRolePair>) -> Result<Self, ListError> {
        let mut position = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            if e.role == NO_ROLE {
                return Err(ListError::ZeroRole(e.user.clone()));
            }
            if position.insert(e.user.clone(), i).is_some() {
                return Err(ListError::DuplicateUser(e.user.clone()));
            }
        }
        Ok(Self { entries, position })
    }

    /// The role of `user`, or [`NO_ROLE`] when absent.
    pub fn role_of(&self, user: &UserId) -> RoleIndex {
        self.position
            .get(user)
            .map_or(NO_ROLE, |&i| self.entries[i].role)
    }

    /// True if `user` is in the list (with any role, including banned).
    pub fn contains(&self, user: &UserId) -> bool {
        self.position.contains_key(user)
    }

    /// Entries in wire order.
    pub fn entries(&self) -> &[UserRolePair] {
        &self.entries
    }

    /// Number of participants.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Users holding `role`, in wire order.
    pub fn holders(&self, role: RoleIndex) -> impl Iterator<Item = &UserId> {
        self.entries
            .iter()
            .filter(move |e| e.role == role)
            .map(|e| &e.user)
    }

    /// Sets `user`'s role: 0 removes it, otherwise it is changed in place or appended.
    pub fn set(&mut self, user: &UserId, role: RoleIndex) {
        match (self.position.get(user).copied(), role) {
            (Some(i), NO_ROLE) => {
                self.entries.remove(i);
                self.reindex();
            }
            (Some(i), r) => self.entries[i].role = r,
            (None, NO_ROLE) => {}
            (None, r) => {
                self.position.insert(user.clone(), self.entries.len());
                self.entries.push(UserRolePair {
                    user: user.clone(),
                    role: r,
                });
            }
        }
    }

    fn reindex(&mut self) {
        self.position = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.user.clone(), i))
            .collect();
    }

    /// The per-user role changes an update makes, checking its shape (indices in range, each
    /// user touched once, no role 0 inside the list) without applying it.
    pub fn changes(&self, update: &ParticipantListUpdate) -> Result<Vec<RoleChange>, ListError> {
        let mut touched = BTreeSet::new();
        let mut out =
            Vec::with_capacity(update.changed.len() + update.removed.len() + update.added.len());
        let entry = |index: u32| {
            self.entries
                .get(index as usize)
                .ok_or(ListError::IndexOutOfRange {
                    index,
                    len: self.entries.len(),
                })
        };
        for c in &update.changed {
            let e = entry(c.user_index)?;
            if c.role == NO_ROLE {
                return Err(ListError::ZeroRole(e.user.clone()));
            }
            if !touched.insert(e.user.clone()) {
                return Err(ListError::DuplicateUser(e.user.clone()));
            }
            out.push(RoleChange {
                user: e.user.clone(),
                from: e.role,
                to: c.role,
            });
        }
        for &index in &update.removed {
            let e = entry(index)?;
            if !touched.insert(e.user.clone()) {
                return Err(ListError::DuplicateUser(e.user.clone()));
            }
            out.push(RoleChange {
                user: e.user.clone(),
                from: e.role,
                to: NO_ROLE,
            });
        }
        for a in &update.added {
            if a.role == NO_ROLE {
                return Err(ListError::ZeroRole(a.user.clone()));
            }
            if !touched.insert(a.user.clone()) || self.contains(&a.user) {
                return Err(ListError::DuplicateUser(a.user.clone()));
            }
            out.push(RoleChange {
                user: a.user.clone(),
                from: NO_ROLE,
                to: a.role,
            });
        }
        Ok(out)
    }

    /// Applies an update in the protocol's order and returns the new list.
    pub fn apply(&self, update: &ParticipantListUpdate) -> Result<Self, ListError> {
        self.changes(update)?;
        let mut entries = self.entries.clone();
        for c in &update.changed {
            entries[c.user_index as usize].role = c.role;
        }
        let removed: BTreeSet<usize> = update.removed.iter().map(|&i| i as usize).collect();
        let mut entries: Vec<UserRolePair> = entries
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !removed.contains(i))
            .map(|(_, e)| e)
            .collect();
        entries.extend(update.added.iter().cloned());
        Self::new(entries)
    }
}

impl Serialize for ParticipantList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.entries.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ParticipantList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(Vec::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

// Wire form: `ParticipantListData { UserRolePair participants<V>; }`.
impl tls_codec::Size for ParticipantList {
    fn tls_serialized_len(&self) -> usize {
        self.entries.tls_serialized_len()
    }
}

impl tls_codec::Serialize for ParticipantList {
    fn tls_serialize<W: std::io::Write>(&self, w: &mut W) -> Result<usize, tls_codec::Error> {
        self.entries.tls_serialize(w)
    }
}

impl tls_codec::Deserialize for ParticipantList {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let entries = Vec::<UserRolePair>::tls_deserialize(bytes)?;
        Self::new(entries).map_err(|e| tls_codec::Error::DecodingError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_exact;
    use tls_codec::Serialize as _;

    fn u(name: &str) -> UserId {
        UserId::new("a.example", name).unwrap()
    }

    fn list() -> ParticipantList {
        ParticipantList::new(vec![
            UserRolePair {
                user: u("alice"),
                role: 4,
            },
            UserRolePair {
                user: u("bob"),
                role: 2,
            },
            UserRolePair {
                user: u("carol"),
                role: 2,
            },
        ])
        .unwrap()
    }

    #[test]
    fn proto_7_5_update_applies_changes_then_removals_then_additions() {
        let update = ParticipantListUpdate {
            changed: vec![IndexRolePair {
                user_index: 2,
                role: 1,
            }],
            removed: vec![1],
            added: vec![UserRolePair {
                user: u("dave"),
                role: 2,
            }],
        };
        let next = list().apply(&update).unwrap();
        let names: Vec<_> = next
            .entries()
            .iter()
            .map(|e| (e.user.name().to_owned(), e.role))
            .collect();
        assert_eq!(
            names,
            [
                ("alice".to_owned(), 4),
                ("carol".to_owned(), 1),
                ("dave".to_owned(), 2)
            ]
        );
    }

    #[test]
    fn proto_7_5_one_touch_per_user_per_commit() {
        let twice = ParticipantListUpdate {
            changed: vec![IndexRolePair {
                user_index: 1,
                role: 3,
            }],
            removed: vec![1],
            added: vec![],
        };
        assert_eq!(
            list().apply(&twice).unwrap_err().code(),
            "user-touched-twice"
        );
        let readd = ParticipantListUpdate {
            removed: vec![1],
            added: vec![UserRolePair {
                user: u("bob"),
                role: 2,
            }],
            ..Default::default()
        };
        assert_eq!(
            list().apply(&readd).unwrap_err().code(),
            "user-touched-twice"
        );
    }

    #[test]
    fn proto_7_5_bad_index_and_zero_role_rejected() {
        let bad = ParticipantListUpdate {
            removed: vec![3],
            ..Default::default()
        };
        assert_eq!(
            list().apply(&bad).unwrap_err().code(),
            "participant-index-out-of-range"
        );
        let zero = ParticipantListUpdate {
            changed: vec![IndexRolePair {
                user_index: 0,
                role: 0,
            }],
            ..Default::default()
        };
        assert_eq!(list().apply(&zero).unwrap_err().code(), "zero-role-in-list");
    }

    #[test]
    fn participant_list_tls_round_trip_and_canonical_users() {
        let l = list();
        let bytes = l.tls_serialize_detached().unwrap();
        assert_eq!(decode_exact::<ParticipantList>(&bytes).unwrap(), l);
        let update = ParticipantListUpdate {
            removed: vec![0],
            ..Default::default()
        };
        let ub = update.tls_serialize_detached().unwrap();
        assert_eq!(decode_exact::<ParticipantListUpdate>(&ub).unwrap(), update);
        // A non-canonical user URI on the wire is refused.
        let pair = ("alice@a.example".to_owned(), 2u32);
        let mut raw = Vec::new();
        tls_codec::Serialize::tls_serialize(&pair.0, &mut raw).unwrap();
        tls_codec::Serialize::tls_serialize(&pair.1, &mut raw).unwrap();
        assert!(decode_exact::<UserRolePair>(&raw).is_err());
    }

    #[test]
    fn set_moves_users_in_and_out() {
        let mut l = list();
        l.set(&u("bob"), NO_ROLE);
        assert_eq!(l.role_of(&u("bob")), NO_ROLE);
        assert_eq!(l.role_of(&u("carol")), 2);
        l.set(&u("erin"), 3);
        assert_eq!(l.role_of(&u("erin")), 3);
        assert_eq!(l.len(), 3);
    }
}
