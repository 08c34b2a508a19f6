//! Room documents: the JSON a room is defined and served as.
//!
//! Two shapes are accepted. The seed's document (`GET /room/{provider}/{roomId}` in the seed's
//! "Example Use", as valid JSON) with two additions, `clients` and `voice`; and an RP-04
//! document carrying a role table and a participant list directly (told apart by its `roles`
//! key). Errors name the offending field by its JSON path.

mod seed_form;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::component::{JoinLink, JoinLinksData, PolicyComponents};
use crate::id::{RoomId, UserId};
use crate::participant_list::{ParticipantList, UserRolePair};
use crate::preauth::{Claim, PreAuthEntry, PreAuthList, claim};
use crate::role::{RoleIndex, RoleTable};
use crate::room::{Profile, Room, RoomError};
use crate::seed::{self, Membership, MlsPolicy, SeedFlags, SeedProfile, seed_role as R};

/// Why a room document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// The JSON does not have the document's shape.
    #[error("{path}: {message}")]
    Shape {
        /// JSON path of the offending field (`.` for the whole document).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The fields are individually fine but contradict each other.
    #[error("{field}: {message}")]
    Inconsistent {
        /// The field at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The resulting room breaks a rule of its own.
    #[error("{0}")]
    Room(#[from] RoomError),
}

impl DocumentError {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Shape { .. } => "malformed-document",
            Self::Inconsistent { .. } => "inconsistent-document",
            Self::Room(e) => e.code(),
        }
    }

    fn inconsistent(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Inconsistent {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Deserializes `value` as `T`, reporting the JSON path of the first error.
pub fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, DocumentError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        DocumentError::Shape {
            path: if path.is_empty() { ".".into() } else { path },
            message: e.into_inner().to_string(),
        }
    })
}

/// One entry of a seed pre-authorization list: exactly one of these keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PreauthItem {
    /// Everyone on a provider.
    Domain(String),
    /// A team.
    Team(String),
    /// A workgroup.
    Workgroup(String),
    /// A group.
    Group(String),
    /// One user.
    User(UserId),
    /// A system user (logger, bot).
    System(UserId),
}

impl PreauthItem {
    fn claim(&self) -> Claim {
        match self {
            Self::Domain(d) => Claim::new(claim::DOMAIN, &d.to_ascii_lowercase()),
            Self::Team(t) => Claim::new(claim::TEAM, t),
            Self::Workgroup(w) => Claim::new(claim::WORKGROUP, w),
            Self::Group(g) => Claim::new(claim::GROUP, g),
            Self::User(u) => Claim::new(claim::USER, u.as_str()),
            Self::System(s) => Claim::new(claim::SYSTEM, s.as_str()),
        }
    }
}

/// The seed document's `policy` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeedPolicyDoc {
    /// Listed in the directory (public) or not (hidden).
    #[serde(default)]
    pub discoverable: bool,
    /// Any non-banned user may enter; same as `membership: open`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
    /// `open`, `members-only` or `knock-first`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<Membership>,
    /// Only users with voice may send.
    #[serde(default)]
    pub moderated: bool,
    /// Pseudonymous identifiers are acceptable.
    #[serde(default)]
    pub semi_anonymous: bool,
    /// Occupants fixed at creation.
    #[serde(default)]
    pub fixed_membership: bool,
    /// Users may have several clients in the room.
    #[serde(default = "yes")]
    pub multi_device: bool,
    /// A system logger records the room.
    #[serde(default)]
    pub logging: bool,
    /// Joiners are welcomed directly by the adder.
    #[serde(default)]
    pub welcome_directly: bool,
    /// The room survives its last occupant leaving.
    #[serde(default = "yes")]
    pub persistent: bool,
    /// History is shared with new joiners.
    #[serde(default)]
    pub history: bool,
    /// Bots may be in the room.
    #[serde(default)]
    pub bots: bool,
    /// Private messages between occupants are allowed.
    #[serde(default = "yes")]
    pub direct_messaging: bool,
    /// The password join links must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The room's active join links (the `join_links` component): a joiner presenting one
    /// of them joins as a member; removing one revokes it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join_links: Vec<String>,
    /// At most this many non-banned users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_users: Option<u32>,
    /// MLS-level policy.
    #[serde(default)]
    pub mls: MlsPolicy,
}

fn yes() -> bool {
    true
}

impl Default for SeedPolicyDoc {
    fn default() -> Self {
        Self {
            discoverable: false,
            open: None,
            membership: None,
            moderated: false,
            semi_anonymous: false,
            fixed_membership: false,
            multi_device: true,
            logging: false,
            welcome_directly: false,
            persistent: true,
            history: false,
            bots: false,
            direct_messaging: true,
            password: None,
            join_links: Vec::new(),
            max_users: None,
            mls: MlsPolicy::default(),
        }
    }
}

/// The seed document's `user-affiliations` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Affiliations {
    /// Owners.
    #[serde(default)]
    pub owner: Vec<UserId>,
    /// Admins.
    #[serde(default)]
    pub admin: Vec<UserId>,
    /// Members.
    #[serde(default)]
    pub member: Vec<UserId>,
    /// Outcasts (banned).
    #[serde(default)]
    pub outcast: Vec<UserId>,
}

/// Overrides of the default voice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voice {
    /// Users given voice they would not have by default.
    #[serde(default)]
    pub granted: Vec<UserId>,
    /// Users whose voice was revoked.
    #[serde(default)]
    pub revoked: Vec<UserId>,
}

/// The seed's room document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeedDocument {
    /// The room's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RoomId>,
    /// Room capabilities.
    #[serde(default)]
    pub policy: SeedPolicyDoc,
    /// Pre-authorized future owners.
    #[serde(default)]
    pub preauth_owner: Vec<PreauthItem>,
    /// Pre-authorized future admins.
    #[serde(default)]
    pub preauth_admin: Vec<PreauthItem>,
    /// Pre-authorized future members.
    #[serde(default)]
    pub preauth_member: Vec<PreauthItem>,
    /// Pre-authorized future visitors.
    #[serde(default)]
    pub preauth_visitor: Vec<PreauthItem>,
    /// The owning provider's system users.
    #[serde(default)]
    pub owning_system: Vec<UserId>,
    /// Other providers' authorized system users.
    #[serde(default)]
    pub system_auth: Vec<UserId>,
    /// Long-lived affiliations.
    #[serde(default)]
    pub user_affiliations: Affiliations,
    /// Clients now in the MLS group, by user.
    #[serde(default)]
    pub clients: BTreeMap<UserId, Vec<String>>,
    /// Voice overrides.
    #[serde(default)]
    pub voice: Voice,
}

/// An RP-04 room document: a role table and participant list given directly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RolesDocument {
    /// The room's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RoomId>,
    /// The role table.
    pub roles: RoleTable,
    /// The participant list.
    #[serde(default)]
    pub participants: ParticipantList,
    /// The pre-authorization list.
    #[serde(default)]
    pub preauth: PreAuthList,
    /// The policy components.
    #[serde(default)]
    pub policy: PolicyComponents,
    /// Clients now in the MLS group, by user.
    #[serde(default)]
    pub clients: BTreeMap<UserId, Vec<String>>,
}

/// Parses a room document (either shape) from JSON text.
pub fn parse_room(json: &str) -> Result<Room, DocumentError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| DocumentError::Shape {
            path: ".".into(),
            message: e.to_string(),
        })?;
    room_from_value(value)
}

/// Builds a room from a parsed JSON document (either shape).
pub fn room_from_value(value: serde_json::Value) -> Result<Room, DocumentError> {
    if !value.is_object() {
        return Err(DocumentError::Shape {
            path: ".".into(),
            message: "a room document is a JSON object".into(),
        });
    }
    if value.get("roles").is_some() {
        from_value::<RolesDocument>(value)?.into_room()
    } else {
        from_value::<SeedDocument>(value)?.into_room()
    }
}

fn client_sets(
    clients: BTreeMap<UserId, Vec<String>>,
) -> Result<BTreeMap<UserId, BTreeSet<String>>, DocumentError> {
    let mut out = BTreeMap::new();
    for (user, names) in clients {
        let field = format!("clients.{user}");
        if names.is_empty() {
            return Err(DocumentError::inconsistent(
                field,
                "empty client list (omit the user instead)",
            ));
        }
        let mut set = BTreeSet::new();
        for name in names {
            crate::id::ClientId::new(user.clone(), &name)
                .map_err(|e| DocumentError::inconsistent(&field, e.to_string()))?;
            if !set.insert(name.clone()) {
                return Err(DocumentError::inconsistent(
                    field,
                    format!("client `{name}` listed twice"),
                ));
            }
        }
        out.insert(user, set);
    }
    Ok(out)
}

impl RolesDocument {
    /// Builds the room.
    pub fn into_room(self) -> Result<Room, DocumentError> {
        let clients = client_sets(self.clients)?;
        Ok(Room::new(
            self.id,
            self.roles,
            self.participants,
            self.preauth,
            self.policy,
            clients,
            Profile::Roles,
        )?)
    }

    /// The document of an RP-04 room.
    pub fn from_room(room: &Room) -> Self {
        Self {
            id: room.id.clone(),
            roles: room.roles().clone(),
            participants: room.participants().clone(),
            preauth: room.preauth().clone(),
            policy: room.components().clone(),
            clients: client_lists(room),
        }
    }
}

fn client_lists(room: &Room) -> BTreeMap<UserId, Vec<String>> {
    room.clients()
        .iter()
        .map(|(u, s)| (u.clone(), s.iter().cloned().collect()))
        .collect()
}

/// The JSON document of any room, in the shape it was defined in.
pub fn room_to_value(room: &Room) -> serde_json::Value {
    let doc = match room.seed() {
        Some(seed) => serde_json::to_value(SeedDocument::from_room(room, seed)),
        None => serde_json::to_value(RolesDocument::from_room(room)),
    };
    doc.unwrap_or(serde_json::Value::Null)
}
