//! The room: its role table, participant list, pre-authorization, policy components and the
//! clients now in its MLS group, plus the seed profile when the room was defined by the seed's
//! vocabulary.

mod client_delta;

use std::collections::{BTreeMap, BTreeSet};

pub use client_delta::ClientDelta;

use crate::component::PolicyComponents;
use crate::id::{RoomId, UserId};
use crate::participant_list::ParticipantList;
use crate::preauth::PreAuthList;
use crate::role::{BANNED, NO_ROLE, RoleIndex, RoleTable};
use crate::seed::SeedProfile;

/// How a room's policy was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// By the seed's room document: decisions follow the seed's rules.
    Seed(SeedProfile),
    /// Directly by an RP-04 role table: decisions follow RP-04 §8.
    Roles,
}

/// Counts per role, derived from the participant list and the clients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleCount {
    /// Users holding the role.
    pub participants: u32,
    /// Users holding the role with at least one client in the group.
    pub active: u32,
}

/// A room's whole policy state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// The room's ID, when known.
    pub id: Option<RoomId>,
    roles: RoleTable,
    participants: ParticipantList,
    preauth: PreAuthList,
    components: PolicyComponents,
    clients: BTreeMap<UserId, BTreeSet<String>>,
    profile: Profile,
    counts: BTreeMap<RoleIndex, RoleCount>,
    client_total: usize,
}

/// Why a room's state is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// A participant holds a role the table does not define.
    #[error("{user} holds role {role}, which the role table does not define")]
    UndefinedRole {
        /// The participant.
        user: UserId,
        /// Its role.
        role: RoleIndex,
    },
    /// A user has clients in the group but is not a participant, or is banned.
    #[error("{user} has clients in the group but is {why}")]
    ClientWithoutRole {
        /// The user.
        user: UserId,
        /// "not a participant" or "banned".
        why: &'static str,
    },
    /// In a seed room, a user holds a client role (visitor, participant, system client) but
    /// has no client in the group: without an affiliation it is in the room only by its clients.
    #[error("{user} holds the client role `{role}` but has no client in the group")]
    RoleWithoutClient {
        /// The user.
        user: UserId,
        /// The role's name.
        role: String,
    },
    /// A user is listed with no clients.
    #[error("clients of {0}: the list is empty (omit the user instead)")]
    EmptyClientList(UserId),
    /// A role's count constraint does not hold.
    #[error("role `{role}` has {count} {what}, outside its limits {min}..{max}")]
    Constraint {
        /// The role's name.
        role: String,
        /// "participants" or "active participants".
        what: &'static str,
        /// The count.
        count: u32,
        /// The minimum.
        min: u32,
        /// The maximum, or "unlimited".
        max: String,
    },
    /// A limit of the base policy does not hold.
    #[error("{0}")]
    Limit(String),
    /// The policy components are invalid.
    #[error("policy: {0}")]
    Components(String),
}

impl RoomError {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UndefinedRole { .. } => "undefined-role",
            Self::ClientWithoutRole { .. } => "client-without-role",
            Self::RoleWithoutClient { .. } => "role-without-client",
            Self::EmptyClientList(_) => "empty-client-list",
            Self::Constraint { .. } => "constraint-violated",
            Self::Limit(_) => "limit-exceeded",
            Self::Components(_) => "invalid-policy",
        }
    }
}

impl Room {
    /// Assembles a room and checks that its state is consistent and within its constraints.
    pub fn new(
        id: Option<RoomId>,
        roles: RoleTable,
        participants: ParticipantList,
        preauth: PreAuthList,
        components: PolicyComponents,
        clients: BTreeMap<UserId, BTreeSet<String>>,
        profile: Profile,
    ) -> Result<Self, RoomError> {
        let mut room = Self {
            id,
            roles,
            participants,
            preauth,
            components,
            clients,
            profile,
            counts: BTreeMap::new(),
            client_total: 0,
        };
        room.recount();
        room.validate()?;
        Ok(room)
    }

    fn recount(&mut self) {
        let mut counts: BTreeMap<RoleIndex, RoleCount> = BTreeMap::new();
        for e in self.participants.entries() {
            let c = counts.entry(e.role).or_default();
            c.participants += 1;
            if self.clients.get(&e.user).is_some_and(|s| !s.is_empty()) {
                c.active += 1;
            }
        }
        self.counts = counts;
        self.client_total = self.clients.values().map(BTreeSet::len).sum();
    }

    /// Checks consistency (roles defined, clients only for non-banned participants) and every
    /// constraint of RP-04 §3 and §5.
    pub fn validate(&self) -> Result<(), RoomError> {
        self.components
            .validate()
            .map_err(|e| RoomError::Components(e.to_string()))?;
        for e in self.participants.entries() {
            if self.roles.role(e.role).is_none() {
                return Err(RoomError::UndefinedRole {
                    user: e.user.clone(),
                    role: e.role,
                });
            }
        }
        if self.seed().is_some()
            && let Some(e) =
                self.participants.entries().iter().find(|e| {
                    crate::seed::is_client_role(e.role) && self.client_count_of(&e.user) == 0
                })
        {
            return Err(RoomError::RoleWithoutClient {
                user: e.user.clone(),
                role: self
                    .roles
                    .role(e.role)
                    .map_or_else(String::new, |r| r.name.clone()),
            });
        }
        for (user, set) in &self.clients {
            if set.is_empty() {
                return Err(RoomError::EmptyClientList(user.clone()));
            }
            match self.participants.role_of(user) {
                NO_ROLE => {
                    return Err(RoomError::ClientWithoutRole {
                        user: user.clone(),
                        why: "not a participant",
                    });
                }
                BANNED => {
                    return Err(RoomError::ClientWithoutRole {
                        user: user.clone(),
                        why: "banned",
                    });
                }
                _ => {}
            }
        }
        if self.fixed_membership()
            && let Some(role) = self.roles.iter().find(|r| {
                r.index != NO_ROLE
                    && r.index != BANNED
                    && r.can(crate::capability::Capability::CAN_ADD_PARTICIPANT)
            })
        {
            return Err(RoomError::Limit(format!(
                "fixed-membership room, but role `{}` holds canAddParticipant",
                role.name
            )));
        }
        self.check_constraints()
    }

    /// Checks every role's min/max (active) participants and the base policy's limits.
    pub fn check_constraints(&self) -> Result<(), RoomError> {
        for role in self.roles.iter() {
            if role.index == NO_ROLE {
                continue;
            }
            let count = self.count(role.index);
            for (what, n, min, max) in [
                (
                    "participants",
                    count.participants,
                    role.min_participants,
                    role.max_participants,
                ),
                (
                    "active participants",
                    count.active,
                    role.min_active,
                    role.max_active,
                ),
            ] {
                if n < min || max.is_some_and(|m| n > m) {
                    return Err(RoomError::Constraint {
                        role: role.name.clone(),
                        what,
                        count: n,
                        min,
                        max: max.map_or_else(|| "unlimited".to_owned(), |m| m.to_string()),
                    });
                }
            }
        }
        let base = &self.components.base;
        if !base.multi_device.0
            && let Some((user, _)) = self.clients.iter().find(|(_, s)| s.len() > 1)
        {
            return Err(RoomError::Limit(format!(
                "single-device room, but {user} has more than one client"
            )));
        }
        if let Some(max) = base.max_clients
            && self.client_total > max as usize
        {
            return Err(RoomError::Limit(format!(
                "{} clients exceed max-clients {max}",
                self.client_total
            )));
        }
        if let Some(max) = base.max_users
            && self.user_count() > max
        {
            return Err(RoomError::Limit(format!(
                "{} users exceed max-users {max}",
                self.user_count()
            )));
        }
        Ok(())
    }

    /// The role table.
    pub fn roles(&self) -> &RoleTable {
        &self.roles
    }

    /// The participant list.
    pub fn participants(&self) -> &ParticipantList {
        &self.participants
    }

    /// The pre-authorization list.
    pub fn preauth(&self) -> &PreAuthList {
        &self.preauth
    }

    /// The policy components.
    pub fn components(&self) -> &PolicyComponents {
        &self.components
    }

    /// How the room was defined.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The seed profile, for rooms defined by the seed's vocabulary.
    pub fn seed(&self) -> Option<&SeedProfile> {
        match &self.profile {
            Profile::Seed(s) => Some(s),
            Profile::Roles => None,
        }
    }

    /// Every user's clients now in the group.
    pub fn clients(&self) -> &BTreeMap<UserId, BTreeSet<String>> {
        &self.clients
    }

    /// `user`'s role, [`NO_ROLE`] when absent.
    pub fn role_of(&self, user: &UserId) -> RoleIndex {
        self.participants.role_of(user)
    }

    /// Number of `user`'s clients in the group.
    pub fn client_count_of(&self, user: &UserId) -> usize {
        self.clients.get(user).map_or(0, BTreeSet::len)
    }

    /// True if `user`'s client `name` is in the group.
    pub fn has_client(&self, user: &UserId, name: &str) -> bool {
        self.clients.get(user).is_some_and(|s| s.contains(name))
    }

    /// Total clients in the group.
    pub fn client_total(&self) -> usize {
        self.client_total
    }

    /// Users with at least one client in the group.
    pub fn active_users(&self) -> usize {
        self.clients.len()
    }

    /// Participants that are not banned (what `max_users` counts); in a seed room, its system
    /// users (policy enforcers, loggers, bots) are not counted either.
    pub fn user_count(&self) -> u32 {
        let mut excluded = self.count(BANNED).participants;
        if self.seed().is_some() {
            excluded += self
                .count(crate::seed::seed_role::POLICY_ENFORCER)
                .participants
                + self
                    .count(crate::seed::seed_role::SYSTEM_CLIENT)
                    .participants;
        }
        self.participants.len() as u32 - excluded
    }

    /// Counts for `role`.
    pub fn count(&self, role: RoleIndex) -> RoleCount {
        self.counts.get(&role).copied().unwrap_or_default()
    }

    /// True if the room is fixed-membership.
    pub fn fixed_membership(&self) -> bool {
        self.components.base.fixed_membership.0
    }

    /// True if users may have several clients in the room.
    pub fn multi_device(&self) -> bool {
        self.components.base.multi_device.0
    }

    /// This room with another set of clients in its group (the policy unchanged), checked
    /// like any room.
    pub fn with_clients(
        &self,
        clients: BTreeMap<UserId, BTreeSet<String>>,
    ) -> Result<Room, RoomError> {
        let mut room = self.clone();
        room.clients = clients;
        room.recount();
        room.validate()?;
        Ok(room)
    }

    /// This room as `creator` starts it: only the creator's client in the group. In a seed
    /// room, the other users a document lists only by their presence (a client role:
    /// visitor, participant, system client) are not in the room until they are added; users
    /// with an affiliation keep it. A fixed-membership room listing other users' clients is
    /// refused: its occupants are fixed at creation, and they would not be there.
    pub fn as_created_by(&self, creator: &UserId, client: &str) -> Result<Room, RoomError> {
        if self.fixed_membership() && self.clients.keys().any(|u| u != creator) {
            return Err(RoomError::Limit(
                "a fixed-membership room's occupants are fixed at creation, with their \
                 clients; this room lists clients of other users, who would not be in it"
                    .into(),
            ));
        }
        let mut room = self.clone();
        if room.seed().is_some() {
            let present_only: Vec<UserId> = room
                .participants
                .entries()
                .iter()
                .filter(|e| e.user != *creator && crate::seed::is_client_role(e.role))
                .map(|e| e.user.clone())
                .collect();
            for user in &present_only {
                room.participants.set(user, NO_ROLE);
            }
        }
        room.with_clients(BTreeMap::from([(
            creator.clone(),
            BTreeSet::from([client.to_owned()]),
        )]))
    }

    /// Moves `user` into `role` (0 removes it from the list); used to apply allowed changes.
    pub(crate) fn set_role(&mut self, user: &UserId, role: RoleIndex) {
        self.participants.set(user, role);
        if matches!(role, NO_ROLE | BANNED) {
            self.clients.remove(user);
        }
        self.recount();
    }

    /// Puts `user`'s client `name` into the group; used to apply allowed changes.
    pub(crate) fn insert_client(&mut self, user: &UserId, name: &str) {
        let set = self.clients.entry(user.clone()).or_default();
        let became_active = set.is_empty();
        if set.insert(name.to_owned()) {
            self.client_total += 1;
            if became_active {
                let role = self.participants.role_of(user);
                self.counts.entry(role).or_default().active += 1;
            }
        }
    }

    /// Takes `user`'s client `name` out of the group; used to apply allowed changes.
    pub(crate) fn remove_client(&mut self, user: &UserId, name: &str) {
        let Some(set) = self.clients.get_mut(user) else {
            return;
        };
        if set.remove(name) {
            self.client_total -= 1;
            if set.is_empty() {
                self.clients.remove(user);
                let role = self.participants.role_of(user);
                if let Some(c) = self.counts.get_mut(&role) {
                    c.active = c.active.saturating_sub(1);
                }
            }
        }
    }

    /// Takes every client of `user` out of the group; used to apply allowed changes.
    pub(crate) fn remove_clients(&mut self, user: &UserId) {
        self.clients.remove(user);
        self.recount();
    }

    /// Replaces the policy parts (roles, pre-authorization, components, profile) keeping the
    /// participants and clients; used to apply an allowed policy update.
    pub(crate) fn replace_policy(&mut self, other: &Room) {
        // A seed room's system users come with its policy (owning-system, system-auth).
        if self.seed().is_some() {
            let enforcer = crate::seed::seed_role::POLICY_ENFORCER;
            let old: Vec<UserId> = self.participants.holders(enforcer).cloned().collect();
            for user in old {
                self.participants.set(&user, NO_ROLE);
            }
            for user in other.participants.holders(enforcer) {
                self.participants.set(user, enforcer);
            }
        }
        self.roles = other.roles.clone();
        self.preauth = other.preauth.clone();
        self.components = other.components.clone();
        self.profile = other.profile.clone();
        self.recount();
    }
}
