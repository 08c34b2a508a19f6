//! The seed profile: draft-mahy-mimi-group-chat-00's room vocabulary (room capabilities,
//! affiliations, client roles with voice, pre-authorization lists, system users, MLS-level
//! policy) and its compilation to an RP-04 role table (see the crate docs for the table).

use serde::{Deserialize, Serialize};

use crate::capability::{Capability as C, CapabilitySet};
use crate::role::{BANNED, NO_ROLE, Role, RoleChangeTargets, RoleIndex, RoleTable};

/// Role indexes of a compiled seed room.
pub mod seed_role {
    use crate::role::RoleIndex;
    /// Affiliation none, not in the room.
    pub const NONE: RoleIndex = 0;
    /// Affiliation outcast.
    pub const BANNED: RoleIndex = 1;
    /// Affiliation none, in the room, without voice (client role visitor).
    pub const VISITOR: RoleIndex = 2;
    /// Affiliation none, in the room, with voice (client role participant).
    pub const PARTICIPANT: RoleIndex = 3;
    /// Affiliation member whose voice was revoked (client role visitor).
    pub const MUTED_MEMBER: RoleIndex = 4;
    /// Affiliation member (client role participant).
    pub const MEMBER: RoleIndex = 5;
    /// Affiliation admin (client role moderator).
    pub const ADMIN: RoleIndex = 6;
    /// Affiliation owner (client role moderator).
    pub const OWNER: RoleIndex = 7;
    /// A provider's system user: the policy enforcer; acts by external proposals, holds no client.
    pub const POLICY_ENFORCER: RoleIndex = 8;
    /// A pre-authorized system client in the group: a logger or a bot.
    pub const SYSTEM_CLIENT: RoleIndex = 9;
}

use seed_role as R;

/// The seed's user affiliations, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Affiliation {
    /// Banned.
    Outcast,
    /// No long-lived relationship with the room.
    None,
    /// On the member list.
    Member,
    /// Administrator.
    Admin,
    /// Owner.
    Owner,
}

impl Affiliation {
    /// The affiliation a compiled seed role stands for.
    pub fn of_role(role: RoleIndex) -> Self {
        match role {
            R::OWNER => Self::Owner,
            R::ADMIN => Self::Admin,
            R::MEMBER | R::MUTED_MEMBER => Self::Member,
            R::BANNED => Self::Outcast,
            _ => Self::None,
        }
    }

    /// True for owner, admin and member: the seed's "occupant" affiliations.
    pub fn is_occupant(self) -> bool {
        self >= Self::Member
    }

    /// True for admin and owner, whose clients hold the moderator role.
    pub fn is_moderator(self) -> bool {
        self >= Self::Admin
    }

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outcast => "outcast",
            Self::None => "none",
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }
}

/// True if a user with compiled seed role `role` has voice.
pub fn has_voice(role: RoleIndex) -> bool {
    matches!(
        role,
        R::PARTICIPANT | R::MEMBER | R::ADMIN | R::OWNER | R::SYSTEM_CLIENT
    )
}

/// True for the roles a user holds only while it has a client in the group: the client roles
/// of users without an affiliation (visitor, participant) and system clients.
pub fn is_client_role(role: RoleIndex) -> bool {
    matches!(role, R::VISITOR | R::PARTICIPANT | R::SYSTEM_CLIENT)
}

/// Who may enter a seed room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Membership {
    /// Any non-banned user.
    Open,
    /// Occupants and pre-authorized users only.
    #[default]
    MembersOnly,
    /// Like members-only, but others may knock and be accepted.
    KnockFirst,
}

/// The seed's MLS-level policy ("other: MLS-level policy").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MlsPolicy {
    /// PSK proposals allowed ("PSK - optional").
    #[serde(default)]
    pub psk: bool,
    /// ReInit allowed (for owners and the owning system user).
    #[serde(default = "yes")]
    pub reinit: bool,
    /// Seconds that must pass between a client's Updates; -1 means never.
    #[serde(default)]
    pub update_min_interval: i64,
    /// Seconds after which a client must Update; -1 means no limit.
    #[serde(default = "minus_one")]
    pub update_max_interval: i64,
    /// External proposals allowed for the uses the seed lists.
    #[serde(default = "yes")]
    pub external_proposals: bool,
}

fn yes() -> bool {
    true
}

fn minus_one() -> i64 {
    -1
}

impl Default for MlsPolicy {
    fn default() -> Self {
        Self {
            psk: false,
            reinit: true,
            update_min_interval: 0,
            update_max_interval: -1,
            external_proposals: true,
        }
    }
}

impl MlsPolicy {
    /// True if a client whose last Update was `since` seconds ago is overdue for one.
    pub fn update_due(&self, since: u64) -> bool {
        self.update_max_interval >= 0 && since > self.update_max_interval as u64
    }
}

/// What a seed room adds to the RP-04 state: flags without an RP-04 home, system users and
/// the MLS-level policy. Flags with an RP-04 home (fixed membership, multi-device,
/// semi-anonymous, persistent, discoverable, max users) live in the base policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedProfile {
    /// Who may enter.
    pub membership: Membership,
    /// Only users with voice may send.
    pub moderated: bool,
    /// A logger records the room; messages need it present.
    pub logging: bool,
    /// Joiners are welcomed directly by the adder (rather than joining by external commit).
    pub welcome_directly: bool,
    /// History is shared with new joiners.
    pub history: bool,
    /// Bots may be in the room.
    pub bots: bool,
    /// Private messages between occupants are allowed.
    pub direct_messaging: bool,
    /// The room password join links must carry, if any.
    pub password: Option<String>,
    /// The owning provider's system users.
    pub owning_system: Vec<crate::id::UserId>,
    /// Other providers' system users, each authoritative for its own domain's users.
    pub system_auth: Vec<crate::id::UserId>,
    /// MLS-level policy.
    pub mls: MlsPolicy,
}

impl SeedProfile {
    /// True if any non-banned user may enter.
    pub fn is_open(&self) -> bool {
        self.membership == Membership::Open
    }

    /// True if `user` is one of the owning provider's system users.
    pub fn is_owning_system(&self, user: &crate::id::UserId) -> bool {
        self.owning_system.contains(user)
    }

    /// True if `user` is the system user of `domain`'s provider (owning or authorized).
    pub fn is_system_of(&self, user: &crate::id::UserId, domain: &str) -> bool {
        user.domain() == domain && (self.system_auth.contains(user) || self.is_owning_system(user))
    }
}

/// The flags the role table depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedFlags {
    /// Open room.
    pub open: bool,
    /// Moderated room.
    pub moderated: bool,
    /// Knock-first room.
    pub knock_first: bool,
    /// Fixed-membership room.
    pub fixed: bool,
    /// Multi-device room.
    pub multi_device: bool,
    /// PSK proposals allowed.
    pub psk: bool,
    /// ReInit allowed.
    pub reinit: bool,
    /// Private messages between occupants allowed.
    pub direct_messaging: bool,
}

fn caps(list: &[C]) -> CapabilitySet {
    list.iter().copied().collect()
}

fn changes(from: &[RoleIndex], to: &[RoleIndex]) -> Vec<RoleChangeTargets> {
    from.iter()
        .map(|&f| RoleChangeTargets {
            from: f,
            to: to.iter().copied().filter(|&t| t != f).collect(),
        })
        .collect()
}

/// Content capabilities every user with voice has (RP-04 §8.3-§8.5, client-enforced).
const SPEAKING: &[C] = &[
    C::CAN_SEND_MESSAGE,
    C::CAN_REPLY_TO_MESSAGE,
    C::CAN_REACT_TO_MESSAGE,
    C::CAN_EDIT_REACTION,
    C::CAN_DELETE_OWN_REACTION,
    C::CAN_EDIT_OWN_MESSAGE,
    C::CAN_DELETE_OWN_MESSAGE,
    C::CAN_START_TOPIC,
    C::CAN_REPLY_IN_TOPIC,
    C::CAN_EDIT_OWN_TOPIC,
    C::CAN_UPLOAD_IMAGE,
    C::CAN_UPLOAD_AUDIO,
    C::CAN_UPLOAD_VIDEO,
    C::CAN_UPLOAD_ATTACHMENT,
    C::CAN_SEND_LINK,
    C::CAN_SEND_LINK_PREVIEW,
    C::CAN_START_CALL,
    C::CAN_JOIN_CALL,
    C::CAN_SEND_AUDIO,
    C::CAN_SEND_VIDEO,
    C::CAN_SHARE_SCREEN,
];

/// What every user in the room may do, voice or not.
const LISTENING: &[C] = &[
    C::CAN_RECEIVE_MESSAGE,
    C::CAN_COPY_MESSAGE,
    C::CAN_REPORT_ABUSE,
    C::CAN_DOWNLOAD_IMAGE,
    C::CAN_DOWNLOAD_AUDIO,
    C::CAN_DOWNLOAD_VIDEO,
    C::CAN_DOWNLOAD_ATTACHMENT,
    C::CAN_FOLLOW_LINK,
    C::CAN_COPY_LINK,
    C::CAN_RECEIVE_AUDIO,
    C::CAN_RECEIVE_VIDEO,
    C::CAN_VIEW_SHARED_SCREEN,
    C::CAN_REMOVE_OWN_CLIENT,
];

/// Compiles a seed room's flags to its role table (documented in the crate docs).
pub fn role_table(f: SeedFlags) -> RoleTable {
    let entry = if f.moderated {
        R::VISITOR
    } else {
        R::PARTICIPANT
    };
    let mut none = Role::new(R::NONE, "none");
    none.description = "not in the room (affiliation none)".into();
    if !f.fixed {
        none.capabilities.insert(C::CAN_USE_JOIN_CODE);
        if f.open {
            none.capabilities.insert(C::CAN_OPEN_JOIN);
            none.authorized_role_changes = vec![RoleChangeTargets {
                from: NO_ROLE,
                to: vec![entry],
            }];
        }
        if f.knock_first {
            none.capabilities.insert(C::CAN_KNOCK);
        }
    }
    none.max_active = Some(0);

    let mut banned = Role::new(BANNED, "banned");
    banned.description = "outcast: banned from the room".into();
    banned.max_active = Some(0);

    let mut listening = caps(LISTENING);
    // Pre-authorization lands users in these roles (RP-04 checks the capability on the
    // target role of the matching entry).
    listening.insert(C::CAN_JOIN_IF_PREAUTHORIZED);
    if f.multi_device {
        listening.insert(C::CAN_ADD_OWN_CLIENT);
    }
    if f.psk {
        listening.insert(C::CAN_SEND_MLS_PSK_PROPOSAL);
    }
    if !f.fixed {
        listening.insert(C::CAN_REMOVE_SELF);
    }
    let mut speaking = listening.clone();
    speaking.extend_from(&caps(SPEAKING));
    if f.direct_messaging {
        speaking.insert(C::CAN_SEND_DIRECT_MESSAGE);
    }
    if f.open && !f.fixed {
        speaking.insert(C::CAN_ADD_PARTICIPANT);
    }
    let leave = |idx: RoleIndex| {
        let mut v = Vec::new();
        if !f.fixed {
            v.push(RoleChangeTargets {
                from: idx,
                to: vec![NO_ROLE],
            });
            if f.open {
                v.push(RoleChangeTargets {
                    from: NO_ROLE,
                    to: vec![entry],
                });
            }
        }
        v
    };
    let mk = |idx, name: &str, desc: &str, caps: &CapabilitySet| {
        let mut r = Role::new(idx, name);
        r.description = desc.into();
        r.capabilities = caps.clone();
        r.authorized_role_changes = leave(idx);
        r
    };
    let visitor = mk(
        R::VISITOR,
        "visitor",
        "affiliation none, no voice",
        &listening,
    );
    let participant = mk(
        R::PARTICIPANT,
        "participant",
        "affiliation none, with voice",
        &speaking,
    );
    let muted = mk(
        R::MUTED_MEMBER,
        "muted-member",
        "affiliation member, voice revoked",
        &listening,
    );
    let member = mk(R::MEMBER, "member", "affiliation member", &speaking);

    let mut moderating = speaking.clone();
    moderating.extend_from(&caps(&[
        C::CAN_KICK,
        C::CAN_CHANGE_USER_ROLE,
        C::CAN_DELETE_OTHER_MESSAGE,
        C::CAN_EDIT_OTHER_TOPIC,
        C::CAN_DELETE_OTHER_REACTION,
        C::CAN_CHANGE_ROOM_SUBJECT,
    ]));
    if !f.fixed {
        moderating.extend_from(&caps(&[
            C::CAN_ADD_PARTICIPANT,
            C::CAN_REMOVE_PARTICIPANT,
            C::CAN_BAN,
            C::CAN_UNBAN,
            C::CAN_ACCEPT_KNOCK,
            C::CAN_CREATE_JOIN_CODE,
            C::CAN_DELETE_JOIN_CODE,
        ]));
    }
    // Admins act on users below admin; owners on everyone (XEP-0045 §5.2).
    let (below_admin, all_users): (&[RoleIndex], &[RoleIndex]) = if f.fixed {
        (
            &[R::MUTED_MEMBER, R::MEMBER],
            &[R::MUTED_MEMBER, R::MEMBER, R::ADMIN, R::OWNER],
        )
    } else {
        (
            &[
                NO_ROLE,
                BANNED,
                R::VISITOR,
                R::PARTICIPANT,
                R::MUTED_MEMBER,
                R::MEMBER,
            ],
            &[
                NO_ROLE,
                BANNED,
                R::VISITOR,
                R::PARTICIPANT,
                R::MUTED_MEMBER,
                R::MEMBER,
                R::ADMIN,
                R::OWNER,
            ],
        )
    };
    let mut admin = Role::new(R::ADMIN, "admin");
    admin.description = "affiliation admin, client role moderator".into();
    admin.capabilities = moderating.clone();
    admin.authorized_role_changes = changes(below_admin, below_admin);
    if !f.fixed {
        admin.authorized_role_changes.push(RoleChangeTargets {
            from: R::ADMIN,
            to: vec![NO_ROLE],
        });
    }

    let mut owning = moderating;
    owning.extend_from(&caps(&[
        C::CAN_CHANGE_ROOM_NAME,
        C::CAN_CHANGE_ROOM_DESCRIPTION,
        C::CAN_CHANGE_ROOM_AVATAR,
        C::CAN_CHANGE_ROOM_MOOD,
        C::CAN_CHANGE_ROOM_MEMBERSHIP_STYLE,
        C::CAN_CHANGE_ROLE_DEFINITIONS,
        C::CAN_CHANGE_PREAUTHORIZED_USER_LIST,
        C::CAN_CHANGE_OTHER_POLICY_ATTRIBUTE,
        C::CAN_CHANGE_MLS_OPERATIONAL_POLICIES,
        C::CAN_DESTROY_ROOM,
    ]));
    if f.reinit {
        owning.insert(C::CAN_SEND_MLS_REINIT_PROPOSAL);
    }
    let mut owner = Role::new(R::OWNER, "owner");
    owner.description = "affiliation owner, client role moderator".into();
    owner.capabilities = owning;
    owner.min_participants = 1;
    owner.authorized_role_changes = changes(all_users, all_users);

    let mut enforcer = Role::new(R::POLICY_ENFORCER, "policy-enforcer");
    enforcer.description = "a provider's system user (owning-system, system-auth)".into();
    enforcer.capabilities = caps(&[
        C::CAN_KICK,
        C::CAN_CHANGE_USER_ROLE,
        C::CAN_DESTROY_ROOM,
        C::CAN_CHANGE_MLS_OPERATIONAL_POLICIES,
        C::CAN_SEND_MLS_EXTERNAL_PROPOSAL,
    ]);
    if f.reinit {
        enforcer
            .capabilities
            .insert(C::CAN_SEND_MLS_REINIT_PROPOSAL);
    }
    if !f.fixed {
        enforcer.capabilities.extend_from(&caps(&[
            C::CAN_REMOVE_PARTICIPANT,
            C::CAN_BAN,
            C::CAN_UNBAN,
        ]));
        enforcer.authorized_role_changes = [
            R::VISITOR,
            R::PARTICIPANT,
            R::MUTED_MEMBER,
            R::MEMBER,
            R::ADMIN,
            R::OWNER,
            R::SYSTEM_CLIENT,
        ]
        .iter()
        .map(|&from| RoleChangeTargets {
            from,
            to: vec![NO_ROLE, BANNED],
        })
        .chain([RoleChangeTargets {
            from: BANNED,
            to: vec![NO_ROLE],
        }])
        .collect();
    }
    enforcer.max_active = Some(0);

    let mut system = Role::new(R::SYSTEM_CLIENT, "system-client");
    system.description = "a pre-authorized logger or bot".into();
    system.capabilities = speaking_for_system(&listening);

    // Every index is defined and every change target exists, so this cannot fail; fall back
    // to an empty table rather than panic if the construction above is ever broken.
    RoleTable::new(vec![
        none,
        banned,
        visitor,
        participant,
        muted,
        member,
        admin,
        owner,
        enforcer,
        system,
    ])
    .unwrap_or_default()
}

fn speaking_for_system(listening: &CapabilitySet) -> CapabilitySet {
    let mut s = listening.clone();
    s.insert(C::CAN_SEND_MESSAGE);
    s.insert(C::CAN_ADD_OWN_CLIENT);
    s.remove(C::CAN_REMOVE_SELF);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> SeedFlags {
        SeedFlags {
            open: false,
            moderated: false,
            knock_first: false,
            fixed: false,
            multi_device: true,
            psk: false,
            reinit: true,
            direct_messaging: true,
        }
    }

    #[test]
    fn compiled_table_is_valid_for_every_flag_combination() {
        for bits in 0..256u32 {
            let f = SeedFlags {
                open: bits & 1 != 0,
                moderated: bits & 2 != 0,
                knock_first: bits & 4 != 0,
                fixed: bits & 8 != 0,
                multi_device: bits & 16 != 0,
                psk: bits & 32 != 0,
                reinit: bits & 64 != 0,
                direct_messaging: bits & 128 != 0,
            };
            let t = role_table(f);
            assert_eq!(t.len(), 10, "{f:?}");
            t.validate().unwrap();
        }
    }

    #[test]
    fn open_gives_role_zero_can_open_join() {
        let closed = role_table(flags());
        assert!(!closed.can(R::NONE, C::CAN_OPEN_JOIN));
        let open = role_table(SeedFlags {
            open: true,
            ..flags()
        });
        assert!(open.can(R::NONE, C::CAN_OPEN_JOIN));
        assert!(open.role(R::NONE).unwrap().may_change(0, R::PARTICIPANT));
    }

    #[test]
    fn moderated_takes_send_from_visitors_and_fixed_takes_add_from_everyone() {
        let t = role_table(SeedFlags {
            moderated: true,
            ..flags()
        });
        assert!(!t.can(R::VISITOR, C::CAN_SEND_MESSAGE));
        assert!(t.can(R::MEMBER, C::CAN_SEND_MESSAGE));
        let fixed = role_table(SeedFlags {
            fixed: true,
            open: true,
            ..flags()
        });
        assert!(fixed.iter().all(|r| !r.can(C::CAN_ADD_PARTICIPANT)));
    }

    #[test]
    fn preauthorized_join_capability_sits_on_the_target_roles() {
        let t = role_table(flags());
        assert!(!t.can(R::NONE, C::CAN_JOIN_IF_PREAUTHORIZED));
        for role in [R::VISITOR, R::PARTICIPANT, R::MEMBER, R::ADMIN, R::OWNER] {
            assert!(t.can(role, C::CAN_JOIN_IF_PREAUTHORIZED), "{role}");
        }
    }

    #[test]
    fn psk_goes_to_everyone_in_the_room_when_enabled() {
        let t = role_table(SeedFlags {
            psk: true,
            ..flags()
        });
        assert!(t.can(R::VISITOR, C::CAN_SEND_MLS_PSK_PROPOSAL));
        assert!(!role_table(flags()).can(R::OWNER, C::CAN_SEND_MLS_PSK_PROPOSAL));
    }

    #[test]
    fn admins_cannot_promote_to_admin_owners_can() {
        let t = role_table(flags());
        assert!(!t.role(R::ADMIN).unwrap().may_change(R::MEMBER, R::ADMIN));
        assert!(t.role(R::OWNER).unwrap().may_change(R::MEMBER, R::ADMIN));
        assert!(t.role(R::ADMIN).unwrap().may_change(R::MEMBER, BANNED));
        assert!(!t.role(R::ADMIN).unwrap().may_change(R::OWNER, BANNED));
    }
}
