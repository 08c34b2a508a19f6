//! Operations to authorize: who acts, what it does, to whom, with which facts.
//!
//! Facts the engine cannot know itself (a join link's expiry, the requester's consent, time
//! since the last Update) are carried in the operation; the MLS and server layers establish
//! them. The JSON form (`OP.json` of `mimi policy check`) is documented in docs/policy.md.

use serde::Deserialize;

use crate::document::{DocumentError, from_value, room_from_value};
use crate::id::{RoomId, UserId};
use crate::preauth::{Claim, Claims, claim};
use crate::role::RoleIndex;
use crate::room::Room;
use crate::seed::Affiliation;

/// A user acting through one of its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserActor {
    /// The user.
    pub user: UserId,
    /// The client it acts through, when known.
    pub client: Option<String>,
    /// Its claims (user and domain included).
    pub claims: Claims,
}

/// Who performs an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A user, through a client.
    User(UserActor),
    /// A provider's system user, acting as an MLS external sender.
    System(UserId),
}

impl Actor {
    /// A user actor with the claims its identity implies.
    pub fn user(user: UserId, client: Option<&str>) -> Self {
        let claims = Claims::of_user(&user);
        Self::User(UserActor {
            user,
            client: client.map(str::to_owned),
            claims,
        })
    }

    /// The acting user or system user.
    pub fn id(&self) -> &UserId {
        match self {
            Self::User(u) => &u.user,
            Self::System(s) => s,
        }
    }
}

/// The user (and client) an operation acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The user.
    pub user: UserId,
    /// One of its clients, when the operation is about a client.
    pub client: Option<String>,
}

/// A join link presented with a join, as established by the hub, or read from the joiner's
/// external commit. At least one of `issued_by` and `code` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Who signed the link, when the hub established it.
    pub issued_by: Option<UserId>,
    /// The link itself, when it must be one of the room's active `join_links`: a listed link
    /// was vetted when it was listed, and an unlisted one is expired or revoked.
    pub code: Option<String>,
    /// The password presented with it, if any.
    pub password: Option<String>,
    /// The link has expired or was revoked.
    pub expired: bool,
    /// Times the link was used before.
    pub uses: u32,
    /// Times it may be used, if limited.
    pub max_uses: Option<u32>,
}

/// An external proposal's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProposalKind {
    /// Add a client.
    Add,
    /// Remove a client.
    Remove,
}

/// What is done.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create the room (the room under test is the proposed one).
    CreateRoom {
        /// Rooms that already exist on the provider.
        existing_rooms: Vec<RoomId>,
    },
    /// Commit with Add of the target's client.
    AddClient {
        /// The client to add.
        target: Target,
        /// The role a new participant gets (RP-04 rooms; default: the lowest allowed).
        role: Option<RoleIndex>,
    },
    /// Claim one of the target's KeyPackages.
    FetchKeyPackage {
        /// Whose KeyPackage.
        target: Target,
        /// The target consented to the requester adding it to groups.
        consent: bool,
        /// The target gave the requester a KeyPackage (for example in a knock).
        knocked: bool,
        /// KeyPackages of the target the requester already holds unused.
        outstanding: u32,
        /// How many the target's provider hands out without consent.
        quota: u32,
    },
    /// Join by external commit with the actor's new client.
    ExternalJoin {
        /// A join link, if the join uses one.
        link: Option<Link>,
        /// The role to join into (RP-04 rooms; default: the lowest allowed).
        role: Option<RoleIndex>,
    },
    /// Rejoin by an external commit that also removes the actor's client's earlier leaf
    /// (RFC 9420 §12.4.3.2): a client in the group that lost its state comes back in its own
    /// place, with its user's role unchanged.
    Rejoin,
    /// Fetch the GroupInfo to join.
    FetchGroupInfo {
        /// A join link, if the fetch uses one.
        link: Option<Link>,
    },
    /// Commit with Remove of the target's client.
    RemoveClient {
        /// The client to remove.
        target: Target,
    },
    /// SelfRemove proposal of the actor's client.
    SelfRemove,
    /// Leave the room: all the actor's clients, and its affiliation.
    Leave,
    /// Destroy the room.
    Destroy,
    /// Leave a persistent room as its last member: the room stays, with its policy and
    /// participant list, for the next one in to start its group again.
    Vacate,
    /// Send an application message.
    SendMessage {
        /// Seconds since the sending client last updated, when the caller tracks it.
        seconds_since_last_update: Option<u64>,
    },
    /// Replace the room's policy by the proposed room's.
    UpdatePolicy {
        /// The proposed room.
        policy: Box<Room>,
    },
    /// A PSK proposal.
    Psk,
    /// A ReInit proposal.
    Reinit,
    /// An Update (or a commit with an UpdatePath).
    Update {
        /// Seconds since the actor's client last updated.
        seconds_since_last_update: u64,
    },
    /// A proposal from an external sender.
    ExternalProposal {
        /// What it proposes.
        proposal: ProposalKind,
        /// The client it concerns.
        target: Target,
    },
    /// Ban the target user.
    Ban {
        /// Who.
        target: Target,
    },
    /// Lift the target's ban.
    Unban {
        /// Who.
        target: Target,
    },
    /// Kick the target user's clients.
    Kick {
        /// Who.
        target: Target,
    },
    /// Grant voice.
    GrantVoice {
        /// Who.
        target: Target,
    },
    /// Revoke voice.
    RevokeVoice {
        /// Who.
        target: Target,
    },
    /// Set the target's affiliation.
    SetAffiliation {
        /// Who.
        target: Target,
        /// The new affiliation.
        affiliation: Affiliation,
    },
    /// Move the target (possibly the actor itself) to another role.
    ChangeRole {
        /// Who.
        target: Target,
        /// The new role.
        role: RoleIndex,
    },
    /// Ask to be let in.
    Knock,
    /// Accept the target's knock.
    AcceptKnock {
        /// Who knocked.
        target: Target,
        /// A knock from the target is pending.
        knocked: bool,
    },
}

/// An operation: an actor and an action.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Who.
    pub actor: Actor,
    /// What.
    pub action: Action,
}

/// Every action name, in the order the docs list them.
pub const ACTIONS: &[&str] = &[
    "create-room",
    "add-client",
    "fetch-keypackage",
    "external-join",
    "rejoin",
    "fetch-groupinfo",
    "remove-client",
    "self-remove",
    "leave",
    "destroy",
    "vacate",
    "send-message",
    "update-policy",
    "psk",
    "reinit",
    "update",
    "external-proposal",
    "ban",
    "unban",
    "kick",
    "grant-voice",
    "revoke-voice",
    "set-affiliation",
    "change-role",
    "knock",
    "accept-knock",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimsIn {
    #[serde(default)]
    team: Vec<String>,
    #[serde(default)]
    workgroup: Vec<String>,
    #[serde(default)]
    group: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemIn {
    system: UserId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserIn {
    user: UserId,
    #[serde(default)]
    client: Option<String>,
    #[serde(default)]
    claims: Option<ClaimsIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetIn {
    user: UserId,
    #[serde(default)]
    client: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct LinkIn {
    #[serde(default)]
    issued_by: Option<UserId>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    expired: bool,
    #[serde(default)]
    uses: u32,
    #[serde(default)]
    max_uses: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct OperationIn {
    actor: serde_json::Value,
    action: String,
    #[serde(default)]
    target: Option<TargetIn>,
    #[serde(default)]
    link: Option<LinkIn>,
    #[serde(default)]
    consent: Option<bool>,
    #[serde(default)]
    knocked: Option<bool>,
    #[serde(default)]
    outstanding_keypackages: Option<u32>,
    #[serde(default)]
    keypackage_quota: Option<u32>,
    #[serde(default)]
    affiliation: Option<Affiliation>,
    #[serde(default)]
    role: Option<RoleIndex>,
    #[serde(default)]
    policy: Option<serde_json::Value>,
    #[serde(default)]
    seconds_since_last_update: Option<u64>,
    #[serde(default)]
    proposal: Option<ProposalKind>,
    #[serde(default)]
    existing_rooms: Option<Vec<RoomId>>,
}

fn bad(field: &str, message: impl Into<String>) -> DocumentError {
    DocumentError::Shape {
        path: field.into(),
        message: message.into(),
    }
}

fn parse_actor(value: serde_json::Value) -> Result<Actor, DocumentError> {
    let shape = || {
        bad(
            "actor",
            "expected {\"user\": U, \"client\": C, \"claims\": {...}} or {\"system\": S}",
        )
    };
    let obj = value.as_object().ok_or_else(shape)?;
    if obj.contains_key("system") {
        let s: SystemIn = from_value(value).map_err(|e| prefix("actor", e))?;
        return Ok(Actor::System(s.system));
    }
    if !obj.contains_key("user") {
        return Err(shape());
    }
    let u: UserIn = from_value(value).map_err(|e| prefix("actor", e))?;
    let mut claims = Claims::of_user(&u.user);
    if let Some(c) = u.claims {
        for (id, values) in [
            (claim::TEAM, c.team),
            (claim::WORKGROUP, c.workgroup),
            (claim::GROUP, c.group),
        ] {
            for v in values {
                claims.insert(Claim::new(id, &v));
            }
        }
    }
    if let Some(client) = &u.client {
        crate::id::ClientId::new(u.user.clone(), client)
            .map_err(|e| bad("actor.client", e.to_string()))?;
    }
    Ok(Actor::User(UserActor {
        user: u.user,
        client: u.client,
        claims,
    }))
}

fn prefix(at: &str, e: DocumentError) -> DocumentError {
    match e {
        DocumentError::Shape { path, message } => DocumentError::Shape {
            path: if path == "." {
                at.to_owned()
            } else {
                format!("{at}.{path}")
            },
            message,
        },
        other => other,
    }
}

impl Operation {
    /// Parses an operation from its JSON form, checking that every field the action needs is
    /// present and that no field the action does not use is given.
    pub fn from_json(value: serde_json::Value) -> Result<Self, DocumentError> {
        if !value.is_object() {
            return Err(bad(".", "an operation is a JSON object"));
        }
        let op: OperationIn = from_value(value)?;
        let actor = parse_actor(op.actor)?;
        let action_name = op.action.as_str();
        if !ACTIONS.contains(&action_name) {
            return Err(bad(
                "action",
                format!(
                    "unknown action `{action_name}`, expected one of: {}",
                    ACTIONS.join(", ")
                ),
            ));
        }
        let mut used: Vec<&str> = Vec::new();
        let target = |used: &mut Vec<&str>, needs_client: bool| {
            used.push("target");
            let t = op
                .target
                .as_ref()
                .ok_or_else(|| bad("target", format!("`{action_name}` needs a target")))?;
            if needs_client && t.client.is_none() {
                return Err(bad(
                    "target.client",
                    format!("`{action_name}` needs the target's client"),
                ));
            }
            if let Some(c) = &t.client {
                crate::id::ClientId::new(t.user.clone(), c)
                    .map_err(|e| bad("target.client", e.to_string()))?;
            }
            Ok(Target {
                user: t.user.clone(),
                client: t.client.clone(),
            })
        };
        let link = |used: &mut Vec<&str>| -> Result<Option<Link>, DocumentError> {
            used.push("link");
            let Some(l) = op.link.as_ref() else {
                return Ok(None);
            };
            if l.issued_by.is_none() && l.code.is_none() {
                return Err(bad("link", "a link needs `issued-by` or `code`"));
            }
            Ok(Some(Link {
                issued_by: l.issued_by.clone(),
                code: l.code.clone(),
                password: l.password.clone(),
                expired: l.expired,
                uses: l.uses,
                max_uses: l.max_uses,
            }))
        };
        fn need<T: Clone>(
            used: &mut Vec<&'static str>,
            v: &Option<T>,
            field: &'static str,
            action: &str,
        ) -> Result<T, DocumentError> {
            used.push(field);
            v.clone()
                .ok_or_else(|| bad(field, format!("`{action}` needs `{field}`")))
        }
        let action = match action_name {
            "create-room" => {
                used.push("existing-rooms");
                Action::CreateRoom {
                    existing_rooms: op.existing_rooms.clone().unwrap_or_default(),
                }
            }
            "add-client" => {
                used.push("role");
                Action::AddClient {
                    target: target(&mut used, true)?,
                    role: op.role,
                }
            }
            "fetch-keypackage" => {
                used.extend([
                    "consent",
                    "knocked",
                    "outstanding-keypackages",
                    "keypackage-quota",
                ]);
                Action::FetchKeyPackage {
                    target: target(&mut used, false)?,
                    consent: op.consent.unwrap_or(false),
                    knocked: op.knocked.unwrap_or(false),
                    outstanding: op.outstanding_keypackages.unwrap_or(0),
                    quota: op.keypackage_quota.unwrap_or(0),
                }
            }
            "external-join" => {
                used.push("role");
                Action::ExternalJoin {
                    link: link(&mut used)?,
                    role: op.role,
                }
            }
            "rejoin" => Action::Rejoin,
            "fetch-groupinfo" => Action::FetchGroupInfo {
                link: link(&mut used)?,
            },
            "remove-client" => Action::RemoveClient {
                target: target(&mut used, true)?,
            },
            "self-remove" => Action::SelfRemove,
            "leave" => Action::Leave,
            "destroy" => Action::Destroy,
            "vacate" => Action::Vacate,
            "send-message" => {
                used.push("seconds-since-last-update");
                Action::SendMessage {
                    seconds_since_last_update: op.seconds_since_last_update,
                }
            }
            "update-policy" => {
                let value = need(&mut used, &op.policy, "policy", action_name)?;
                let room = room_from_value(value).map_err(|e| prefix("policy", e))?;
                Action::UpdatePolicy {
                    policy: Box::new(room),
                }
            }
            "psk" => Action::Psk,
            "reinit" => Action::Reinit,
            "update" => Action::Update {
                seconds_since_last_update: need(
                    &mut used,
                    &op.seconds_since_last_update,
                    "seconds-since-last-update",
                    action_name,
                )?,
            },
            "external-proposal" => Action::ExternalProposal {
                proposal: need(&mut used, &op.proposal, "proposal", action_name)?,
                target: target(&mut used, true)?,
            },
            "ban" => Action::Ban {
                target: target(&mut used, false)?,
            },
            "unban" => Action::Unban {
                target: target(&mut used, false)?,
            },
            "kick" => Action::Kick {
                target: target(&mut used, false)?,
            },
            "grant-voice" => Action::GrantVoice {
                target: target(&mut used, false)?,
            },
            "revoke-voice" => Action::RevokeVoice {
                target: target(&mut used, false)?,
            },
            "set-affiliation" => Action::SetAffiliation {
                affiliation: need(&mut used, &op.affiliation, "affiliation", action_name)?,
                target: target(&mut used, false)?,
            },
            "change-role" => Action::ChangeRole {
                role: need(&mut used, &op.role, "role", action_name)?,
                target: target(&mut used, false)?,
            },
            "knock" => Action::Knock,
            _ => {
                used.push("knocked");
                Action::AcceptKnock {
                    target: target(&mut used, false)?,
                    knocked: op.knocked.unwrap_or(false),
                }
            }
        };
        let given = [
            ("target", op.target.is_some()),
            ("link", op.link.is_some()),
            ("consent", op.consent.is_some()),
            ("knocked", op.knocked.is_some()),
            (
                "outstanding-keypackages",
                op.outstanding_keypackages.is_some(),
            ),
            ("keypackage-quota", op.keypackage_quota.is_some()),
            ("affiliation", op.affiliation.is_some()),
            ("role", op.role.is_some()),
            ("policy", op.policy.is_some()),
            (
                "seconds-since-last-update",
                op.seconds_since_last_update.is_some(),
            ),
            ("proposal", op.proposal.is_some()),
            ("existing-rooms", op.existing_rooms.is_some()),
        ];
        if let Some((field, _)) = given.iter().find(|(f, g)| *g && !used.contains(f)) {
            return Err(bad(
                field,
                format!("`{field}` does not apply to action `{action_name}`"),
            ));
        }
        Ok(Self { actor, action })
    }
}
