//! Clients entering and leaving the group without a policy change, checked and applied in
//! O(changed users · log n) rather than by rebuilding the room: the hot path of a hub.

use std::collections::BTreeMap;

use super::{Room, RoomError};
use crate::id::{ClientId, UserId};
use crate::role::{BANNED, NO_ROLE, RoleIndex};

/// Clients a commit adds to and removes from the group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientDelta {
    /// Clients entering the group.
    pub added: Vec<ClientId>,
    /// Clients leaving the group.
    pub removed: Vec<ClientId>,
}

impl ClientDelta {
    /// True if no client enters or leaves.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

impl Room {
    /// Checks that the room stays valid when `delta` is applied with its policy unchanged:
    /// every client enters once and belongs to a non-banned participant, removed clients are
    /// in the group, and the single-device, `max_clients`, client-role and active-participant
    /// limits still hold. Equivalent to validating the room after the delta.
    pub fn check_client_delta(&self, delta: &ClientDelta) -> Result<(), RoomError> {
        let mut per_user: BTreeMap<&UserId, i64> = BTreeMap::new();
        // Removals come first, so a client may leave and re-enter in one delta.
        for c in &delta.added {
            let present = self.has_client(c.user(), c.name()) && !delta.removed.contains(c);
            if present || delta.added.iter().filter(|o| *o == c).count() > 1 {
                return Err(RoomError::Limit(format!("{c} is already in the group")));
            }
            *per_user.entry(c.user()).or_default() += 1;
        }
        for c in &delta.removed {
            if !self.has_client(c.user(), c.name())
                || delta.removed.iter().filter(|o| *o == c).count() > 1
            {
                return Err(RoomError::Limit(format!("{c} is not in the group")));
            }
            *per_user.entry(c.user()).or_default() -= 1;
        }
        let mut active_change: BTreeMap<RoleIndex, i64> = BTreeMap::new();
        for (user, change) in per_user {
            let before = self.client_count_of(user) as i64;
            let after = before + change;
            let role = self.role_of(user);
            if after > 0 && matches!(role, NO_ROLE | BANNED) {
                return Err(RoomError::ClientWithoutRole {
                    user: user.clone(),
                    why: if role == BANNED {
                        "banned"
                    } else {
                        "not a participant"
                    },
                });
            }
            if after == 0 && self.seed().is_some() && crate::seed::is_client_role(role) {
                return Err(RoomError::RoleWithoutClient {
                    user: user.clone(),
                    role: self
                        .roles
                        .role(role)
                        .map_or_else(String::new, |r| r.name.clone()),
                });
            }
            if after > 1 && !self.multi_device() {
                return Err(RoomError::Limit(format!(
                    "single-device room, but {user} would have {after} clients"
                )));
            }
            match (before > 0, after > 0) {
                (false, true) => *active_change.entry(role).or_default() += 1,
                (true, false) => *active_change.entry(role).or_default() -= 1,
                _ => {}
            }
        }
        for (role_index, change) in active_change {
            let Some(role) = self.roles.role(role_index) else {
                continue;
            };
            let active = i64::from(self.count(role_index).active) + change;
            let too_many = role.max_active.is_some_and(|m| active > i64::from(m));
            if active < i64::from(role.min_active) || too_many {
                return Err(RoomError::Constraint {
                    role: role.name.clone(),
                    what: "active participants",
                    count: u32::try_from(active.max(0)).unwrap_or(u32::MAX),
                    min: role.min_active,
                    max: role
                        .max_active
                        .map_or_else(|| "unlimited".to_owned(), |m| m.to_string()),
                });
            }
        }
        let total =
            self.client_total as i64 + delta.added.len() as i64 - delta.removed.len() as i64;
        if let Some(max) = self.components.base.max_clients
            && total > i64::from(max)
        {
            return Err(RoomError::Limit(format!(
                "{total} clients exceed max-clients {max}"
            )));
        }
        Ok(())
    }

    /// Applies a delta checked by [`Room::check_client_delta`].
    pub fn apply_client_delta(&mut self, delta: &ClientDelta) {
        for c in &delta.removed {
            self.remove_client(c.user(), c.name());
        }
        for c in &delta.added {
            self.insert_client(c.user(), c.name());
        }
    }
}
