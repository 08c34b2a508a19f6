//! What an allowed operation does to a room, as data, and applying it.
//!
//! [`crate::plan`] is the only way to get an [`Authorized`], so [`Room::apply`] only ever
//! applies changes that passed [`crate::authorize`].

use crate::id::UserId;
use crate::role::RoleIndex;
use crate::room::Room;
use crate::rule::Rule;

/// One change to a room's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `user` now holds `role` (0: leaves the list; 0 or banned: its clients are removed).
    SetRole {
        /// The user.
        user: UserId,
        /// Its new role.
        role: RoleIndex,
    },
    /// `user`'s client `client` enters the group.
    AddClient {
        /// The user.
        user: UserId,
        /// The client's name.
        client: String,
    },
    /// `user`'s client `client` leaves the group.
    RemoveClient {
        /// The user.
        user: UserId,
        /// The client's name.
        client: String,
    },
    /// Every client of `user` leaves the group; its role stays.
    RemoveClients {
        /// The user.
        user: UserId,
    },
    /// The room's policy becomes the proposed room's.
    ReplacePolicy(Box<Room>),
    /// The room ends.
    Destroy,
}

/// An allowed operation's changes; made only by [`crate::plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Authorized {
    rule: Rule,
    changes: Vec<Change>,
}

impl Authorized {
    pub(crate) fn new(rule: Rule, changes: Vec<Change>) -> Self {
        Self { rule, changes }
    }

    /// The rule that allowed the operation.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// The changes, in order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// True if the operation ends the room.
    pub fn destroys(&self) -> bool {
        self.changes.contains(&Change::Destroy)
    }
}

impl Room {
    /// Applies an authorized operation's changes.
    pub fn apply(&mut self, authorized: &Authorized) {
        for change in &authorized.changes {
            match change {
                Change::SetRole { user, role } => self.set_role(user, *role),
                Change::AddClient { user, client } => self.insert_client(user, client),
                Change::RemoveClient { user, client } => self.remove_client(user, client),
                Change::RemoveClients { user } => self.remove_clients(user),
                Change::ReplacePolicy(room) => self.replace_policy(room),
                Change::Destroy => {}
            }
        }
    }
}
