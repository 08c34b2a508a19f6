//! Appendix A (A.1-A.4) loaded as role tables, with the inheritance notes resolved.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use mimi_policy::capability::{Capability as C, CapabilitySet};
use mimi_policy::role::{BANNED, NO_ROLE, Role, RoleChangeTargets, RoleIndex, RoleTable};
use serde::Deserialize;

// ---------------------------------------------------------------------------------------------
// Fixture loader: Appendix A as role tables.
// ---------------------------------------------------------------------------------------------

pub(super) const FIXTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/room-policy-role-examples.json"
));

/// The Appendix A examples, in the draft's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Example {
    A1,
    A2,
    A3,
    A4,
}

pub(super) use Example::{A1, A2, A3, A4};

pub(super) const EXAMPLES: [Example; 4] = [A1, A2, A3, A4];

impl Example {
    /// How the example's title starts in the fixture ("A.1.  Cooperatively ...").
    fn section(self) -> &'static str {
        match self {
            A1 => "A.1.",
            A2 => "A.2.",
            A3 => "A.3.",
            A4 => "A.4.",
        }
    }
}

#[derive(Deserialize)]
pub(super) struct FixtureExample {
    roles: Vec<FixtureRole>,
}

#[derive(Deserialize)]
pub(super) struct FixtureRole {
    name: String,
    role_index: RoleIndex,
    capabilities: Vec<String>,
    #[serde(default)]
    inherits_note: Vec<String>,
    minimum_participants_constraint: u32,
    maximum_participants_constraint: Option<u32>,
    minimum_active_participants_constraint: u32,
    maximum_active_participants_constraint: Option<u32>,
    authorized_role_changes: Vec<(RoleIndex, Vec<RoleIndex>)>,
}

/// Inheritance notes naming the wrong role (draft errata): (example, role, named, meant).
pub(super) const NOTE_ERRATA: &[(Example, &str, &str, &str)] = &[
    // "speaker: include all the capabilities authorized for a speaker" (itself).
    (A3, "speaker", "speaker", "attendee"),
    // A.3 has no ordinary_user; the moderator builds on the speaker.
    (A3, "moderator", "ordinary_user", "speaker"),
];

pub(super) fn fixture_roles(example: Example) -> Vec<FixtureRole> {
    let all: BTreeMap<String, FixtureExample> = serde_json::from_str(FIXTURE).unwrap();
    all.into_iter()
        .find(|(title, _)| title.starts_with(example.section()))
        .unwrap()
        .1
        .roles
}

/// The role whose capabilities `role` includes, read from its note: the note's last word
/// ("... for an ordinary_user)", "(all capabilities of org_b_user)"), errata applied.
pub(super) fn parent(example: Example, role: &FixtureRole) -> Option<&str> {
    assert!(
        role.inherits_note.len() <= 1,
        "{}: several notes",
        role.name
    );
    let note = role.inherits_note.first()?;
    if note.contains("does not include") {
        return None;
    }
    let named = note.trim_end_matches(')').rsplit(' ').next().unwrap();
    let meant = NOTE_ERRATA
        .iter()
        .find(|e| e.0 == example && e.1 == role.name && e.2 == named)
        .map_or(named, |e| e.3);
    Some(meant)
}

/// The capabilities a role lists itself.
pub(super) fn own_capabilities(role: &FixtureRole) -> CapabilitySet {
    role.capabilities
        .iter()
        // "canCreateJoinCode - reserved for future use": the annotation is not part of the name.
        .map(|listed| listed.split(" - ").next().unwrap().trim())
        // Not in the registry: voice is a role change between roles (DESIGN §2), not a
        // capability, so these two are dropped.
        .filter(|name| !matches!(*name, "canGrantVoice" | "canRevokeVoice"))
        // Case-insensitive, so the policy_enforcer's `canUnban` is `canUnBan`.
        .map(|name| C::from_name(name).unwrap_or_else(|e| panic!("{}: {e}", role.name)))
        .collect()
}

/// A role's own capabilities plus, transitively, those of the role its note names.
pub(super) fn capabilities(
    example: Example,
    roles: &[FixtureRole],
    role: &FixtureRole,
) -> CapabilitySet {
    let mut caps = own_capabilities(role);
    if let Some(name) = parent(example, role) {
        let from = roles
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{example:?} {}: no role {name}", role.name));
        caps.extend_from(&capabilities(example, roles, from));
    }
    caps
}

pub(super) fn load_table(example: Example) -> RoleTable {
    let roles = fixture_roles(example);
    let table = RoleTable::new(
        roles
            .iter()
            .map(|r| Role {
                index: r.role_index,
                name: r.name.clone(),
                description: String::new(),
                capabilities: capabilities(example, &roles, r),
                min_participants: r.minimum_participants_constraint,
                max_participants: r.maximum_participants_constraint,
                min_active: r.minimum_active_participants_constraint,
                max_active: r.maximum_active_participants_constraint,
                authorized_role_changes: r
                    .authorized_role_changes
                    .iter()
                    .map(|(from, to)| RoleChangeTargets {
                        from: *from,
                        to: to.clone(),
                    })
                    .collect(),
            })
            .collect(),
    )
    .unwrap_or_else(|e| panic!("{example:?}: {e}"));
    assert_eq!(table.validate(), Ok(()));
    table
}

/// The role table of an example (loaded once).
pub(super) fn table(example: Example) -> &'static RoleTable {
    static TABLES: OnceLock<Vec<RoleTable>> = OnceLock::new();
    &TABLES.get_or_init(|| EXAMPLES.map(load_table).to_vec())[example as usize]
}

pub(super) fn caps(example: Example, index: RoleIndex) -> &'static CapabilitySet {
    &table(example).role(index).unwrap().capabilities
}

pub(super) fn includes(bigger: &CapabilitySet, smaller: &CapabilitySet) -> bool {
    smaller.iter().all(|c| bigger.contains(c))
}

/// A copy of `table` with one role edited.
pub(super) fn edit_role(
    table: &RoleTable,
    index: RoleIndex,
    edit: impl FnOnce(&mut Role),
) -> RoleTable {
    let mut roles: Vec<Role> = table.iter().cloned().collect();
    edit(roles.iter_mut().find(|r| r.index == index).unwrap());
    RoleTable::new(roles).unwrap()
}

// Role indexes. A.1 and A.2 share one layout.
pub(super) const ORDINARY_USER: RoleIndex = 2;
pub(super) const GROUP_ADMIN: RoleIndex = 3;
pub(super) const SUPER_ADMIN: RoleIndex = 4;
pub(super) const POLICY_ENFORCER: RoleIndex = 5;
// A.3
pub(super) const GUEST: RoleIndex = 2;
pub(super) const ATTENDEE: RoleIndex = 3;
pub(super) const SPEAKER: RoleIndex = 4;
pub(super) const MODERATOR: RoleIndex = 5;
pub(super) const A3_SUPER_ADMIN: RoleIndex = 6;
pub(super) const A3_POLICY_ENFORCER: RoleIndex = 7;
// A.4
pub(super) const ORG_A_USER: RoleIndex = 2;
pub(super) const ORG_B_USER: RoleIndex = 3;
pub(super) const ORG_C_USER: RoleIndex = 4;
pub(super) const ORG_A_ADMIN: RoleIndex = 5;
pub(super) const ORG_B_ADMIN: RoleIndex = 6;
pub(super) const ORG_C_ADMIN: RoleIndex = 7;
pub(super) const A4_SUPER_ADMIN: RoleIndex = 8;
pub(super) const A4_POLICY_ENFORCER: RoleIndex = 9;

#[test]
pub(super) fn appendix_a_role_index_constants_name_the_fixture_roles() {
    for (example, index, name) in [
        (A1, ORDINARY_USER, "ordinary_user"),
        (A1, GROUP_ADMIN, "group_admin"),
        (A1, SUPER_ADMIN, "super_admin"),
        (A1, POLICY_ENFORCER, "policy_enforcer"),
        (A2, ORDINARY_USER, "ordinary_user"),
        (A2, GROUP_ADMIN, "group_admin"),
        (A2, SUPER_ADMIN, "super_admin"),
        (A2, POLICY_ENFORCER, "policy_enforcer"),
        (A3, GUEST, "guest"),
        (A3, ATTENDEE, "attendee"),
        (A3, SPEAKER, "speaker"),
        (A3, MODERATOR, "moderator"),
        (A3, A3_SUPER_ADMIN, "super_admin"),
        (A3, A3_POLICY_ENFORCER, "policy_enforcer"),
        (A4, ORG_A_USER, "org_a_user"),
        (A4, ORG_B_USER, "org_b_user"),
        (A4, ORG_C_USER, "org_c_user"),
        (A4, ORG_A_ADMIN, "org_a_admin"),
        (A4, ORG_B_ADMIN, "org_b_admin"),
        (A4, ORG_C_ADMIN, "org_c_admin"),
        (A4, A4_SUPER_ADMIN, "super_admin"),
        (A4, A4_POLICY_ENFORCER, "policy_enforcer"),
    ] {
        assert_eq!(
            table(example).role(index).unwrap().name,
            name,
            "{example:?}"
        );
    }
    for example in EXAMPLES {
        assert_eq!(table(example).role(NO_ROLE).unwrap().name, "no_role");
        assert!(table(example).has_banned_role());
    }
}

#[test]
pub(super) fn appendix_a_inheritance_notes_resolve_with_the_errata() {
    // A.1: group_admin = ordinary_user + 9 listed - 2 voice names; super_admin = group_admin + 3.
    assert!(includes(caps(A1, GROUP_ADMIN), caps(A1, ORDINARY_USER)));
    assert_eq!(
        caps(A1, GROUP_ADMIN).len(),
        caps(A1, ORDINARY_USER).len() + 7
    );
    assert!(includes(caps(A1, SUPER_ADMIN), caps(A1, GROUP_ADMIN)));
    assert_eq!(caps(A1, SUPER_ADMIN).len(), caps(A1, GROUP_ADMIN).len() + 3);
    // The policy_enforcer includes nothing else; its `canUnban` is `canUnBan`.
    assert_eq!(caps(A1, POLICY_ENFORCER).len(), 9);
    assert!(caps(A1, POLICY_ENFORCER).contains(C::CAN_UNBAN));
    assert!(caps(A1, NO_ROLE).is_empty() && caps(A1, BANNED).is_empty());
    // A.2: reserved capabilities keep their name without the draft's annotation.
    assert!(caps(A2, GROUP_ADMIN).contains(C::CAN_CREATE_JOIN_CODE));
    assert!(caps(A2, GROUP_ADMIN).contains(C::CAN_DELETE_JOIN_CODE));
    assert!(includes(caps(A2, SUPER_ADMIN), caps(A2, GROUP_ADMIN)));
    assert!(caps(A2, NO_ROLE).contains(C::CAN_USE_JOIN_CODE));
    // A.3: the speaker builds on the attendee (which builds on the guest), the moderator on
    // the speaker.
    assert!(includes(caps(A3, ATTENDEE), caps(A3, GUEST)));
    assert!(includes(caps(A3, SPEAKER), caps(A3, ATTENDEE)));
    assert!(caps(A3, SPEAKER).contains(C::CAN_REMOVE_SELF));
    assert!(includes(caps(A3, MODERATOR), caps(A3, SPEAKER)));
    assert!(caps(A3, MODERATOR).contains(C::CAN_SEND_MESSAGE));
    assert!(includes(caps(A3, A3_SUPER_ADMIN), caps(A3, MODERATOR)));
    // A.4: org_c_user = org_b_user; org_a_user = org_b_user + its own two.
    assert_eq!(caps(A4, ORG_C_USER), caps(A4, ORG_B_USER));
    let mut org_a_user = caps(A4, ORG_B_USER).clone();
    org_a_user.insert(C::CAN_CHANGE_OWN_ROLE);
    org_a_user.insert(C::CAN_JOIN_IF_PREAUTHORIZED);
    assert_eq!(caps(A4, ORG_A_USER), &org_a_user);
    assert!(includes(caps(A4, ORG_B_ADMIN), caps(A4, ORG_B_USER)));
    assert_eq!(caps(A4, ORG_C_ADMIN), caps(A4, ORG_B_ADMIN));
    assert!(includes(caps(A4, ORG_A_ADMIN), caps(A4, ORG_B_ADMIN)));
    assert!(caps(A4, ORG_A_ADMIN).contains(C::CAN_CHANGE_OWN_ROLE));
    assert!(includes(caps(A4, A4_SUPER_ADMIN), caps(A4, ORG_A_ADMIN)));
}
