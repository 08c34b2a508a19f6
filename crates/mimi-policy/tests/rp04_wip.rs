//! RP-04 (draft-ietf-mimi-room-policy-04) rules exercised on the role examples of its
//! Appendix A (A.1-A.4): a fixture loader, one test per rule (an allowed and a denied case
//! each), the acceptance tests of the landscape notes §2.7, and property tests over random
//! sequences of allowed changes.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use mimi_policy::capability::{Capability as C, CapabilitySet};
use mimi_policy::component::{
    AppMessagePolicy, ExtendedCapabilities, Flag, MinDefaultMaxTime, OperationalParameters,
    PendingProposalPolicy,
};
use mimi_policy::document::parse_room;
use mimi_policy::id::UserId;
use mimi_policy::operation::Operation;
use mimi_policy::participant_list::{
    IndexRolePair, ParticipantList, ParticipantListUpdate, RoleChange, UserRolePair,
};
use mimi_policy::role::{BANNED, NO_ROLE, Role, RoleChangeTargets, RoleIndex, RoleTable};
use mimi_policy::{Decision, Room, authorize, plan, rule};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Fixture loader: Appendix A as role tables.
// ---------------------------------------------------------------------------------------------

const FIXTURE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/room-policy-role-examples.json"
));

/// The Appendix A examples, in the draft's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Example {
    A1,
    A2,
    A3,
    A4,
}

use Example::{A1, A2, A3, A4};

const EXAMPLES: [Example; 4] = [A1, A2, A3, A4];

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
struct FixtureExample {
    roles: Vec<FixtureRole>,
}

#[derive(Deserialize)]
struct FixtureRole {
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
const NOTE_ERRATA: &[(Example, &str, &str, &str)] = &[
    // "speaker: include all the capabilities authorized for a speaker" (itself).
    (A3, "speaker", "speaker", "attendee"),
    // A.3 has no ordinary_user; the moderator builds on the speaker.
    (A3, "moderator", "ordinary_user", "speaker"),
];

fn fixture_roles(example: Example) -> Vec<FixtureRole> {
    let all: BTreeMap<String, FixtureExample> = serde_json::from_str(FIXTURE).unwrap();
    all.into_iter()
        .find(|(title, _)| title.starts_with(example.section()))
        .unwrap()
        .1
        .roles
}

/// The role whose capabilities `role` includes, read from its note: the note's last word
/// ("... for an ordinary_user)", "(all capabilities of org_b_user)"), errata applied.
fn parent(example: Example, role: &FixtureRole) -> Option<&str> {
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
fn own_capabilities(role: &FixtureRole) -> CapabilitySet {
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
fn capabilities(example: Example, roles: &[FixtureRole], role: &FixtureRole) -> CapabilitySet {
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

fn load_table(example: Example) -> RoleTable {
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
fn table(example: Example) -> &'static RoleTable {
    static TABLES: OnceLock<Vec<RoleTable>> = OnceLock::new();
    &TABLES.get_or_init(|| EXAMPLES.map(load_table).to_vec())[example as usize]
}

fn caps(example: Example, index: RoleIndex) -> &'static CapabilitySet {
    &table(example).role(index).unwrap().capabilities
}

fn includes(bigger: &CapabilitySet, smaller: &CapabilitySet) -> bool {
    smaller.iter().all(|c| bigger.contains(c))
}

/// A copy of `table` with one role edited.
fn edit_role(table: &RoleTable, index: RoleIndex, edit: impl FnOnce(&mut Role)) -> RoleTable {
    let mut roles: Vec<Role> = table.iter().cloned().collect();
    edit(roles.iter_mut().find(|r| r.index == index).unwrap());
    RoleTable::new(roles).unwrap()
}

// Role indexes. A.1 and A.2 share one layout.
const ORDINARY_USER: RoleIndex = 2;
const GROUP_ADMIN: RoleIndex = 3;
const SUPER_ADMIN: RoleIndex = 4;
const POLICY_ENFORCER: RoleIndex = 5;
// A.3
const GUEST: RoleIndex = 2;
const ATTENDEE: RoleIndex = 3;
const SPEAKER: RoleIndex = 4;
const MODERATOR: RoleIndex = 5;
const A3_SUPER_ADMIN: RoleIndex = 6;
const A3_POLICY_ENFORCER: RoleIndex = 7;
// A.4
const ORG_A_USER: RoleIndex = 2;
const ORG_B_USER: RoleIndex = 3;
const ORG_C_USER: RoleIndex = 4;
const ORG_A_ADMIN: RoleIndex = 5;
const ORG_B_ADMIN: RoleIndex = 6;
const ORG_C_ADMIN: RoleIndex = 7;
const A4_SUPER_ADMIN: RoleIndex = 8;
const A4_POLICY_ENFORCER: RoleIndex = 9;

#[test]
fn appendix_a_role_index_constants_name_the_fixture_roles() {
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
fn appendix_a_inheritance_notes_resolve_with_the_errata() {
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

// ---------------------------------------------------------------------------------------------
// Rooms: RP-04 documents built from the tables.
// ---------------------------------------------------------------------------------------------

// Users. a.example is the hub's domain; b.example and c.example are other organizations.
const SAM: &str = "sam@a.example";
const GINA: &str = "gina@a.example";
const OSCAR: &str = "oscar@a.example";
const OLGA: &str = "olga@b.example";
const SID: &str = "sid@a.example";
const ADA: &str = "ada@a.example";
const GUS: &str = "gus@c.example";
const ANN: &str = "ann@a.example";
const AL: &str = "al@a.example";
const BEA: &str = "bea@b.example";
const BO: &str = "bo@b.example";
const CAL: &str = "cal@c.example";
const CY: &str = "cy@c.example";
const BART: &str = "bart@a.example";
/// The policy enforcer: a participant with no client (max_active 0) acting as a system user.
const ENFORCER: &str = "enforcer@hub.example";
/// Outsiders.
const NINA: &str = "nina@b.example";
const NED: &str = "ned@c.example";
const NORA: &str = "nora@a.example";

#[derive(Debug, Clone)]
struct Person {
    user: String,
    role: RoleIndex,
    clients: Vec<String>,
}

fn person(user: &str, role: RoleIndex, clients: &[&str]) -> Person {
    Person {
        user: user.to_owned(),
        role,
        clients: clients.iter().map(|c| (*c).to_owned()).collect(),
    }
}

const PHONE: &[&str] = &["phone"];

/// Each example's cast: every role held, constraints satisfied, one banned user, and the
/// policy enforcer without clients.
fn cast(example: Example) -> Vec<Person> {
    match example {
        A1 | A2 => vec![
            person(SAM, SUPER_ADMIN, PHONE),
            person(GINA, GROUP_ADMIN, PHONE),
            person(OSCAR, ORDINARY_USER, &["phone", "laptop"]),
            person(OLGA, ORDINARY_USER, PHONE),
            person(BART, BANNED, &[]),
            person(ENFORCER, POLICY_ENFORCER, &[]),
        ],
        A3 => vec![
            person(SAM, A3_SUPER_ADMIN, PHONE),
            person(GINA, MODERATOR, PHONE),
            person(SID, SPEAKER, PHONE),
            person(ADA, ATTENDEE, PHONE),
            person(GUS, GUEST, PHONE),
            person(BART, BANNED, &[]),
            person(ENFORCER, A3_POLICY_ENFORCER, &[]),
        ],
        A4 => vec![
            person(SAM, A4_SUPER_ADMIN, PHONE),
            person(ANN, ORG_A_ADMIN, PHONE),
            person(BEA, ORG_B_ADMIN, PHONE),
            person(CAL, ORG_C_ADMIN, PHONE),
            person(AL, ORG_A_USER, PHONE),
            person(BO, ORG_B_USER, PHONE),
            person(CY, ORG_C_USER, PHONE),
            person(BART, BANNED, &[]),
            person(ENFORCER, A4_POLICY_ENFORCER, &[]),
        ],
    }
}

/// `people` with `extra` added.
fn plus(mut people: Vec<Person>, extra: &[Person]) -> Vec<Person> {
    people.extend_from_slice(extra);
    people
}

/// `people` with `user` replaced (or dropped, for `None`).
fn replace(people: Vec<Person>, user: &str, mut by: Option<Person>) -> Vec<Person> {
    people
        .into_iter()
        .filter_map(|p| if p.user == user { by.take() } else { Some(p) })
        .collect()
}

/// The RP-04 room document (the `roles` shape) of a table and its people.
fn document(table: &RoleTable, people: &[Person]) -> Value {
    let participants: Vec<Value> = people
        .iter()
        .map(|p| json!({ "user": p.user, "role": p.role }))
        .collect();
    let clients: serde_json::Map<String, Value> = people
        .iter()
        .filter(|p| !p.clients.is_empty())
        .map(|p| (p.user.clone(), json!(p.clients)))
        .collect();
    json!({ "roles": table, "participants": participants, "clients": clients })
}

/// Merges `patch` into `base` (RFC 7386: objects merge, `null` deletes, the rest replaces).
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(&k);
                } else {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

fn patched(mut doc: Value, patch: Value) -> Value {
    merge(&mut doc, patch);
    doc
}

#[track_caller]
fn build(doc: &Value) -> Room {
    parse_room(&doc.to_string()).unwrap_or_else(|e| panic!("room refused: {e}\n{doc:#}"))
}

/// `doc` made fixed-membership; RP-04 §5 then takes canAddParticipant from every role.
fn fixed_doc(mut doc: Value) -> Value {
    merge(&mut doc, base(json!({ "fixed-membership": true })));
    for role in doc["roles"].as_array_mut().into_iter().flatten() {
        if let Some(caps) = role["capabilities"].as_array_mut() {
            caps.retain(|c| c != "canAddParticipant");
        }
    }
    doc
}

#[track_caller]
fn build_error(doc: &Value) -> &'static str {
    parse_room(&doc.to_string())
        .err()
        .unwrap_or_else(|| panic!("room accepted:\n{doc:#}"))
        .code()
}

/// A room of `table` and `people` with `patch` merged into its document.
fn room(table: &RoleTable, people: &[Person], patch: Value) -> Room {
    build(&patched(document(table, people), patch))
}

/// The example's cast room with `patch` merged into its document.
fn cast_room(example: Example, patch: Value) -> Room {
    room(table(example), &cast(example), patch)
}

fn uid(user: &str) -> UserId {
    UserId::parse(user).unwrap()
}

fn claim(id: &str, value: &str) -> Value {
    json!({ "id": id, "value": value })
}

fn user_claim(user: &str) -> Value {
    claim("user", uid(user).as_str())
}

/// A document patch setting the pre-authorization list, entries in priority order.
fn preauth(entries: &[(&[Value], RoleIndex)]) -> Value {
    let entries: Vec<Value> = entries
        .iter()
        .map(|(claims, role)| json!({ "claims": claims, "role": role }))
        .collect();
    json!({ "preauth": entries })
}

/// A document patch setting the MLS operational policy: everything allowed, then `edit`.
fn operational(edit: impl FnOnce(&mut OperationalParameters)) -> Value {
    let time = MinDefaultMaxTime::default();
    let mut params = OperationalParameters {
        mandatory_capabilities: ExtendedCapabilities::default(),
        default_capabilities: ExtendedCapabilities::default(),
        forbidden_capabilities: ExtendedCapabilities::default(),
        handshake_formats: Vec::new(),
        external_proposal_allowed: Flag(true),
        external_commit_allowed: Flag(true),
        pending_proposal_policy: PendingProposalPolicy::default(),
        leaf_node_update_time: time,
        app_message_policy: AppMessagePolicy::default(),
        max_kp_lifetime: 0,
        max_credential_lifetime: 0,
        resumption_psk_lifetime: 0,
        sender_nonce_keypair_lifetime: time,
        max_keypairs: 0,
        buffer_incoming_message_time: time,
        max_buffered_messages: 0,
    };
    edit(&mut params);
    json!({ "policy": { "operational": params } })
}

fn base(fields: Value) -> Value {
    json!({ "policy": { "base": fields } })
}

// ---------------------------------------------------------------------------------------------
// Operations and expectations.
// ---------------------------------------------------------------------------------------------

/// A user acting through its client `phone`.
fn u(user: &str) -> Value {
    json!({ "user": user, "client": "phone" })
}

/// A user acting through another of its clients.
fn u_on(user: &str, client: &str) -> Value {
    json!({ "user": user, "client": client })
}

/// A system user (external sender).
fn sys(user: &str) -> Value {
    json!({ "system": user })
}

fn op(actor: Value, action: &str, fields: Value) -> Value {
    patched(json!({ "actor": actor, "action": action }), fields)
}

/// An action without fields: leave, self-remove, destroy, send-message, psk, reinit.
fn plain(actor: Value, action: &str) -> Value {
    op(actor, action, json!({}))
}

/// An action on a user: ban, unban, kick.
fn on(actor: Value, action: &str, who: &str) -> Value {
    op(actor, action, json!({ "target": { "user": who } }))
}

/// Commit with Add of `who`'s `client`, into `role` if given.
fn add(actor: Value, who: &str, client: &str, role: Option<RoleIndex>) -> Value {
    let mut fields = json!({ "target": { "user": who, "client": client } });
    if let Some(role) = role {
        fields["role"] = json!(role);
    }
    op(actor, "add-client", fields)
}

/// External commit by `who`'s new `client` (`fields`: role, link).
fn join(who: &str, client: &str, fields: Value) -> Value {
    op(u_on(who, client), "external-join", fields)
}

/// A join link issued by `issuer`, with `fields` (expired, uses, max-uses).
fn link(issuer: &str, fields: Value) -> Value {
    json!({ "link": patched(json!({ "issued-by": issuer }), fields) })
}

fn change(actor: Value, who: &str, role: RoleIndex) -> Value {
    op(
        actor,
        "change-role",
        json!({ "target": { "user": who }, "role": role }),
    )
}

fn remove_client(actor: Value, who: &str, client: &str) -> Value {
    op(
        actor,
        "remove-client",
        json!({ "target": { "user": who, "client": client } }),
    )
}

fn external(actor: Value, proposal: &str, who: &str, client: &str) -> Value {
    op(
        actor,
        "external-proposal",
        json!({ "proposal": proposal, "target": { "user": who, "client": client } }),
    )
}

fn update_policy(actor: Value, proposed: &Value) -> Value {
    op(actor, "update-policy", json!({ "policy": proposed }))
}

#[track_caller]
fn operation(op: &Value) -> Operation {
    Operation::from_json(op.clone()).unwrap_or_else(|e| panic!("bad operation {op}: {e}"))
}

fn decide(room: &Room, op: &Value) -> Decision {
    authorize(room, &operation(op))
}

/// The expected decision: allowed by a rule, or denied with a code by a rule.
#[derive(Debug, Clone, Copy)]
enum Want {
    Allow(&'static str),
    Deny(&'static str, &'static str),
}

use Want::{Allow, Deny};

#[track_caller]
fn expect(room: &Room, op: &Value, want: Want) {
    let d = decide(room, op);
    let wanted = match want {
        Allow(rule) => ("ok", rule),
        Deny(code, rule) => (code, rule),
    };
    assert_eq!((d.code(), d.rule().id), wanted, "{op}");
}

#[track_caller]
fn expect_all(cases: &[(&Room, Value, Want)]) {
    for (room, op, want) in cases {
        expect(room, op, *want);
    }
}

/// The room after an allowed `op`, checked to be valid.
#[track_caller]
fn after(room: &Room, op: &Value) -> Room {
    let authorized =
        plan(room, &operation(op)).unwrap_or_else(|d| panic!("{op} denied: {:?}", d.report()));
    let mut next = room.clone();
    next.apply(&authorized);
    next.validate()
        .unwrap_or_else(|e| panic!("{op} left an invalid room: {e}"));
    next
}

const ADD: &str = "RP-8.1.1-ADD";
const OWN_CLIENT: &str = "RP-8.1.1-OWN-CLIENT";
const OPEN_JOIN: &str = "RP-8.1.1-OPEN-JOIN";
const PREAUTH_JOIN: &str = "RP-8.1.1-PREAUTH";
const JOIN_CODE: &str = "RP-8.1.1-JOIN-CODE";
const JOIN_DENIED: &str = "RP-8.1.1-JOIN";
const REMOVE: &str = "RP-8.1.2-REMOVE";
const KICK: &str = "RP-8.1.2-KICK";
const REMOVE_OWN_CLIENT: &str = "RP-8.1.2-OWN-CLIENT";
const REMOVE_SELF: &str = "RP-8.1.2-SELF";
const BAN: &str = "RP-8.1.3-BAN";
const UNBAN: &str = "RP-8.1.3-UNBAN";
const CHANGE_ROLE: &str = "RP-8.1.3-ROLE";
const OWN_ROLE: &str = "RP-8.1.3-OWN-ROLE";
const SEND: &str = "RP-8.3-SEND";
const POLICY: &str = "RP-8.6-POLICY";
const DESTROY: &str = "RP-8.6-DESTROY";
const REINIT: &str = "RP-8.6-REINIT";
const PSK: &str = "RP-8.7-PSK";
const UPDATE: &str = "RP-7-UPDATE";
const EXTERNAL: &str = "RP-7-EXTERNAL";
const EXTERNAL_COMMIT: &str = "RP-7-EXTERNAL-COMMIT";
const CONSTRAINTS: &str = "RP-3-CONSTRAINTS";
const LIMITS: &str = "RP-5-LIMITS";
const FIXED: &str = "RP-5-FIXED";

const MISSING: &str = "missing-capability";
const NOT_AUTHORIZED: &str = "role-change-not-authorized";
const VIOLATED: &str = "constraint-violated";

// ---------------------------------------------------------------------------------------------
// One test per RP-04 rule.
// ---------------------------------------------------------------------------------------------

#[test]
fn rp04_8_1_1_add_participant_needs_authorized_change_from_0() {
    let a1 = cast_room(A1, json!({}));
    let a2 = cast_room(A2, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, add(u(OSCAR), NINA, "phone", Some(ORDINARY_USER)), Allow(ADD)),
        (&a1, add(u(OSCAR), NINA, "phone", Some(GROUP_ADMIN)), Deny(NOT_AUTHORIZED, ADD)),
        (&a1, add(u(GINA), NINA, "phone", Some(GROUP_ADMIN)), Allow(ADD)),
        (&a1, add(u(GINA), NINA, "phone", Some(SUPER_ADMIN)), Deny(NOT_AUTHORIZED, ADD)),
        // A.2's ordinary_user lacks canAddParticipant; its group_admin has it.
        (&a2, add(u(OSCAR), NINA, "phone", Some(ORDINARY_USER)), Deny(MISSING, ADD)),
        (&a2, add(u(GINA), NINA, "phone", Some(ORDINARY_USER)), Allow(ADD)),
        // A banned user is not added back.
        (&a1, add(u(GINA), BART, "phone", Some(ORDINARY_USER)), Deny("banned", ADD)),
    ];
    expect_all(&cases);
    // Without a role, the adder's first non-banned target from 0: (0,[1,2,3]) gives 2.
    let next = after(&a1, &add(u(GINA), NINA, "phone", None));
    assert_eq!(next.role_of(&uid(NINA)), ORDINARY_USER);
    assert!(next.has_client(&uid(NINA), "phone"));
}

#[test]
fn rp04_8_1_1_add_own_client_needs_can_add_own_client() {
    let a1 = cast_room(A1, json!({}));
    let a3 = cast_room(A3, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, add(u(OLGA), OLGA, "laptop", None), Allow(OWN_CLIENT)),
        (&a1, join(OLGA, "laptop", json!({})), Allow(OWN_CLIENT)),
        (&a1, add(u(OLGA), OLGA, "phone", None), Deny("already-in-room", "MIMI-VALID")),
        // A.3's guest lacks canAddOwnClient; the attendee has it.
        (&a3, add(u(GUS), GUS, "laptop", None), Deny(MISSING, OWN_CLIENT)),
        (&a3, join(GUS, "laptop", json!({})), Deny(MISSING, OWN_CLIENT)),
        (&a3, join(ADA, "laptop", json!({})), Allow(OWN_CLIENT)),
    ];
    expect_all(&cases);
    let next = after(&a1, &join(OLGA, "laptop", json!({})));
    assert_eq!(next.role_of(&uid(OLGA)), ORDINARY_USER);
    assert_eq!(next.client_count_of(&uid(OLGA)), 2);
}

/// A.1 with role 0 given canOpenJoin and the change (0,[2]).
fn open_table() -> RoleTable {
    edit_role(table(A1), NO_ROLE, |r| {
        r.capabilities.insert(C::CAN_OPEN_JOIN);
        r.authorized_role_changes.push(RoleChangeTargets {
            from: NO_ROLE,
            to: vec![ORDINARY_USER],
        });
    })
}

#[test]
fn rp04_8_1_1_open_join_needs_can_open_join_on_role_0() {
    let open = room(&open_table(), &cast(A1), json!({}));
    let no_target = edit_role(table(A1), NO_ROLE, |r| {
        r.capabilities.insert(C::CAN_OPEN_JOIN);
    });
    let no_target = room(&no_target, &cast(A1), json!({}));
    let closed = cast_room(A1, json!({}));
    let a2 = cast_room(A2, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&open, join(NINA, "phone", json!({})), Allow(OPEN_JOIN)),
        (&open, join(NINA, "phone", json!({ "role": ORDINARY_USER })), Allow(OPEN_JOIN)),
        // Only into a role role 0 may change to.
        (&open, join(NINA, "phone", json!({ "role": GROUP_ADMIN })), Deny("registration-required", JOIN_DENIED)),
        (&no_target, join(NINA, "phone", json!({})), Deny("registration-required", JOIN_DENIED)),
        (&closed, join(NINA, "phone", json!({})), Deny("registration-required", JOIN_DENIED)),
        // A.2's role 0 has the change (0,[2]) but not canOpenJoin.
        (&a2, join(NINA, "phone", json!({})), Deny("registration-required", JOIN_DENIED)),
        (&open, join(BART, "phone", json!({})), Deny("banned", JOIN_DENIED)),
    ];
    expect_all(&cases);
    let next = after(&open, &join(NINA, "phone", json!({})));
    assert_eq!(next.role_of(&uid(NINA)), ORDINARY_USER);
}

#[test]
fn rp04_8_1_1_preauthorized_join_takes_the_first_matching_entry() {
    let group = [claim("group", "eng")];
    let domain_b = [claim("domain", "b.example")];
    let domain_c = [claim("domain", "c.example")];
    let domain_a = [claim("domain", "a.example")];
    let ned = [user_claim(NED)];
    // NED matches the c.example entry (the policy_enforcer, which lacks canJoinIfPreauthorized)
    // before his own entry: the first match decides.
    let entries = preauth(&[
        (&group, GROUP_ADMIN),
        (&domain_b, ORDINARY_USER),
        (&domain_c, POLICY_ENFORCER),
        (&ned, ORDINARY_USER),
        (&domain_a, ORDINARY_USER),
    ]);
    let a2 = cast_room(A2, entries.clone());
    let ned_first = cast_room(
        A2,
        preauth(&[(&ned, ORDINARY_USER), (&domain_c, POLICY_ENFORCER)]),
    );
    // A.1 has no canJoinIfPreauthorized.
    let a1 = cast_room(A1, entries);
    let nina_in_eng = json!({ "user": NINA, "client": "phone", "claims": { "group": ["eng"] } });
    let eng_join = |fields: Value| op(nina_in_eng.clone(), "external-join", fields);
    #[rustfmt::skip]
    let cases = [
        (&a2, join(NINA, "phone", json!({})), Allow(PREAUTH_JOIN)),
        // The group entry comes first and targets role 3; role 0's (0,[2]) is not consulted.
        (&a2, eng_join(json!({})), Allow(PREAUTH_JOIN)),
        (&a2, eng_join(json!({ "role": ORDINARY_USER })), Deny(NOT_AUTHORIZED, PREAUTH_JOIN)),
        (&a2, join(NED, "phone", json!({})), Deny("registration-required", JOIN_DENIED)),
        (&ned_first, join(NED, "phone", json!({})), Allow(PREAUTH_JOIN)),
        (&a1, join(NINA, "phone", json!({})), Deny("registration-required", JOIN_DENIED)),
        // A banned user does not rejoin through pre-authorization.
        (&a2, join(BART, "phone", json!({})), Deny("banned", JOIN_DENIED)),
    ];
    expect_all(&cases);
    assert_eq!(
        after(&a2, &eng_join(json!({}))).role_of(&uid(NINA)),
        GROUP_ADMIN
    );
    assert_eq!(
        after(&a2, &join(NINA, "phone", json!({}))).role_of(&uid(NINA)),
        ORDINARY_USER
    );
}

#[test]
fn rp04_8_1_1_join_code_must_be_valid_and_trusted() {
    let a2 = cast_room(A2, json!({}));
    let a1 = cast_room(A1, json!({}));
    // A.2's group_admin holds canCreateJoinCode; the ordinary_user does not.
    let code = |issuer: &str, fields: Value| join(NINA, "phone", link(issuer, fields));
    #[rustfmt::skip]
    let cases = [
        (&a2, code(GINA, json!({ "uses": 4, "max-uses": 5 })), Allow(JOIN_CODE)),
        (&a2, code(SAM, json!({})), Allow(JOIN_CODE)),
        (&a2, code(GINA, json!({ "expired": true })), Deny("link-expired", JOIN_CODE)),
        (&a2, code(GINA, json!({ "uses": 5, "max-uses": 5 })), Deny("link-exhausted", JOIN_CODE)),
        (&a2, code(OSCAR, json!({})), Deny("link-not-trusted", JOIN_CODE)),
        (&a2, code(NED, json!({})), Deny("link-not-trusted", JOIN_CODE)),
        // Role 0 of A.1 lacks canUseJoinCode.
        (&a1, code(GINA, json!({})), Deny("registration-required", JOIN_DENIED)),
    ];
    expect_all(&cases);
}

#[test]
fn rp04_8_1_2_remove_participant_is_a_change_to_role_0() {
    let a1 = cast_room(A1, json!({}));
    let a2 = cast_room(A2, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, change(u(OSCAR), OLGA, NO_ROLE), Allow(REMOVE)),
        // ordinary_user's changes are (0,[2]) and (2,[0]): nothing from 3.
        (&a1, change(u(OSCAR), GINA, NO_ROLE), Deny(NOT_AUTHORIZED, REMOVE)),
        // A.2's ordinary_user lacks canRemoveParticipant.
        (&a2, change(u(OSCAR), OLGA, NO_ROLE), Deny(MISSING, REMOVE)),
        (&a2, change(u(GINA), OLGA, NO_ROLE), Allow(REMOVE)),
    ];
    expect_all(&cases);
    let next = after(&a1, &change(u(OSCAR), OLGA, NO_ROLE));
    assert!(!next.participants().contains(&uid(OLGA)));
    assert_eq!(next.client_count_of(&uid(OLGA)), 0);
}

#[test]
fn rp04_8_1_2_kick_needs_can_kick_and_keeps_min_active() {
    let a1 = cast_room(A1, json!({}));
    let a4 = cast_room(A4, json!({}));
    let second_b_admin = person("bree@b.example", ORG_B_ADMIN, PHONE);
    let a4_two = room(table(A4), &plus(cast(A4), &[second_b_admin]), json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, on(u(GINA), "kick", OSCAR), Allow(KICK)),
        (&a1, on(u(OSCAR), "kick", OLGA), Deny(MISSING, KICK)),
        // Removing another user's client is a kick too.
        (&a1, remove_client(u(GINA), OSCAR, "laptop"), Allow(KICK)),
        (&a1, remove_client(u(OLGA), OSCAR, "laptop"), Deny(MISSING, KICK)),
        // org_b_admin: min_active 1.
        (&a4, on(u(SAM), "kick", BEA), Deny(VIOLATED, CONSTRAINTS)),
        (&a4_two, on(u(SAM), "kick", BEA), Allow(KICK)),
    ];
    expect_all(&cases);
    let next = after(&a1, &on(u(GINA), "kick", OSCAR));
    assert_eq!(next.role_of(&uid(OSCAR)), ORDINARY_USER);
    assert_eq!(next.client_count_of(&uid(OSCAR)), 0);
}

#[test]
fn rp04_8_1_2_remove_own_client_needs_can_remove_own_client() {
    let a1 = cast_room(A1, json!({}));
    let a3 = cast_room(A3, json!({}));
    let a4 = cast_room(A4, json!({}));
    let bea_two = person(BEA, ORG_B_ADMIN, &["phone", "laptop"]);
    let a4_bea_two = room(table(A4), &replace(cast(A4), BEA, Some(bea_two)), json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, remove_client(u(OSCAR), OSCAR, "laptop"), Allow(REMOVE_OWN_CLIENT)),
        (&a1, plain(u_on(OSCAR, "laptop"), "self-remove"), Allow(REMOVE_OWN_CLIENT)),
        // A.3's guest lacks canRemoveOwnClient.
        (&a3, remove_client(u(GUS), GUS, "phone"), Deny(MISSING, REMOVE_OWN_CLIENT)),
        (&a3, plain(u(GUS), "self-remove"), Deny(MISSING, REMOVE_OWN_CLIENT)),
        // BEA's last client keeps org_b_admin's min_active 1.
        (&a4, remove_client(u(BEA), BEA, "phone"), Deny(VIOLATED, CONSTRAINTS)),
        (&a4_bea_two, remove_client(u(BEA), BEA, "phone"), Allow(REMOVE_OWN_CLIENT)),
    ];
    expect_all(&cases);
    let next = after(&a1, &plain(u_on(OSCAR, "laptop"), "self-remove"));
    assert!(next.has_client(&uid(OSCAR), "phone") && !next.has_client(&uid(OSCAR), "laptop"));
}

#[test]
fn rp04_8_1_2_leave_needs_can_remove_self_and_a_change_to_0() {
    let a1 = cast_room(A1, json!({}));
    let no_way_out = edit_role(table(A1), ORDINARY_USER, |r| {
        r.authorized_role_changes
            .retain(|c| c.from != ORDINARY_USER);
    });
    let no_way_out = room(&no_way_out, &cast(A1), json!({}));
    let second_admin = person("gil@a.example", GROUP_ADMIN, PHONE);
    let two_admins = room(table(A1), &plus(cast(A1), &[second_admin]), json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, plain(u(OLGA), "leave"), Allow(REMOVE_SELF)),
        // The policy_enforcer lacks canRemoveSelf.
        (&a1, plain(sys(ENFORCER), "leave"), Deny(MISSING, REMOVE_SELF)),
        (&no_way_out, plain(u(OLGA), "leave"), Deny(NOT_AUTHORIZED, REMOVE_SELF)),
        // group_admin: min 1.
        (&a1, plain(u(GINA), "leave"), Deny(VIOLATED, CONSTRAINTS)),
        (&two_admins, plain(u(GINA), "leave"), Allow(REMOVE_SELF)),
    ];
    expect_all(&cases);
    let next = after(&a1, &plain(u(OSCAR), "leave"));
    assert!(!next.participants().contains(&uid(OSCAR)));
    assert_eq!(next.client_count_of(&uid(OSCAR)), 0);
}

#[test]
fn rp04_8_1_3_ban_needs_can_ban_and_the_banned_role() {
    let a1 = cast_room(A1, json!({}));
    // A.1 without role 1 (and without every change into or out of it).
    let mut roles: Vec<Role> = table(A1)
        .iter()
        .filter(|r| r.index != BANNED)
        .cloned()
        .collect();
    for r in &mut roles {
        r.authorized_role_changes.retain(|c| c.from != BANNED);
        for c in &mut r.authorized_role_changes {
            c.to.retain(|&t| t != BANNED);
        }
    }
    let unbannable = room(
        &RoleTable::new(roles).unwrap(),
        &replace(cast(A1), BART, None),
        json!({}),
    );
    #[rustfmt::skip]
    let cases = [
        (&a1, on(u(GINA), "ban", OSCAR), Allow(BAN)),
        (&a1, change(u(GINA), OSCAR, BANNED), Allow(BAN)),
        // A pre-emptive ban of an outsider: (0,[1,2,3]).
        (&a1, on(u(GINA), "ban", NINA), Allow(BAN)),
        (&a1, on(u(OSCAR), "ban", OLGA), Deny(MISSING, BAN)),
        // group_admin has no change from super_admin's role 4.
        (&a1, on(u(GINA), "ban", SAM), Deny(NOT_AUTHORIZED, BAN)),
        (&unbannable, on(u(GINA), "ban", OSCAR), Deny("not-applicable", BAN)),
    ];
    expect_all(&cases);
    let next = after(&a1, &on(u(GINA), "ban", OSCAR));
    assert_eq!(next.role_of(&uid(OSCAR)), BANNED);
    assert_eq!(next.client_count_of(&uid(OSCAR)), 0);
}

#[test]
fn rp04_8_1_3_unban_needs_can_unban_and_a_change_from_1() {
    let a1 = cast_room(A1, json!({}));
    let a4 = cast_room(A4, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, on(u(GINA), "unban", BART), Allow(UNBAN)),
        (&a1, change(u(GINA), BART, ORDINARY_USER), Allow(UNBAN)),
        (&a1, on(u(OSCAR), "unban", BART), Deny(MISSING, UNBAN)),
        // A.4's org_b_admin may ban but not unban; the super_admin may.
        (&a4, on(u(BEA), "unban", BART), Deny(MISSING, UNBAN)),
        (&a4, on(u(SAM), "unban", BART), Allow(UNBAN)),
        (&a4, change(u(SAM), BART, ORG_B_USER), Allow(UNBAN)),
    ];
    expect_all(&cases);
    assert!(
        !after(&a1, &on(u(GINA), "unban", BART))
            .participants()
            .contains(&uid(BART))
    );
    let restored = after(&a1, &change(u(GINA), BART, ORDINARY_USER));
    assert_eq!(restored.role_of(&uid(BART)), ORDINARY_USER);
    // An unban adds no client.
    assert_eq!(restored.client_count_of(&uid(BART)), 0);
}

#[test]
fn rp04_8_1_3_change_user_role_needs_an_authorized_change() {
    let a1 = cast_room(A1, json!({}));
    let a3 = cast_room(A3, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, change(u(GINA), OSCAR, GROUP_ADMIN), Allow(CHANGE_ROLE)),
        (&a1, change(u(GINA), OSCAR, SUPER_ADMIN), Deny(NOT_AUTHORIZED, CHANGE_ROLE)),
        (&a1, change(u(SAM), OSCAR, SUPER_ADMIN), Allow(CHANGE_ROLE)),
        (&a1, change(u(OSCAR), OLGA, GROUP_ADMIN), Deny(MISSING, CHANGE_ROLE)),
        (&a1, change(u(GINA), OSCAR, 9), Deny("invalid-policy", "MIMI-VALID")),
        (&a1, change(u(GINA), OSCAR, ORDINARY_USER), Deny("no-change", CHANGE_ROLE)),
        // Voice in A.3 is a role change: guest -> speaker and back.
        (&a3, change(u(GINA), GUS, SPEAKER), Allow(CHANGE_ROLE)),
        (&a3, change(u(GINA), SID, ATTENDEE), Allow(CHANGE_ROLE)),
        (&a3, change(u(SID), GUS, SPEAKER), Deny(MISSING, CHANGE_ROLE)),
    ];
    expect_all(&cases);
    let next = after(&a1, &change(u(GINA), OSCAR, GROUP_ADMIN));
    assert_eq!(next.role_of(&uid(OSCAR)), GROUP_ADMIN);
    assert_eq!(next.client_count_of(&uid(OSCAR)), 2);
}

#[test]
fn rp04_8_1_3_change_own_role_targets_the_first_preauth_match() {
    let oscar = [user_claim(OSCAR)];
    let domain_a = [claim("domain", "a.example")];
    let entries = preauth(&[(&oscar, GROUP_ADMIN), (&domain_a, SUPER_ADMIN)]);
    // A.2's ordinary_user has canChangeOwnRole; A.1's does not.
    let a2 = cast_room(A2, entries.clone());
    let a1 = cast_room(A1, entries);
    let a4 = cast_room(A4, preauth(&[(&domain_a, ORG_A_ADMIN)]));
    #[rustfmt::skip]
    let cases = [
        // (2,[0]) does not authorize 2 -> 3: role changes are not consulted.
        (&a2, change(u(OSCAR), OSCAR, GROUP_ADMIN), Allow(OWN_ROLE)),
        // The second matching entry is not the target.
        (&a2, change(u(OSCAR), OSCAR, SUPER_ADMIN), Deny(MISSING, CHANGE_ROLE)),
        (&a1, change(u(OSCAR), OSCAR, GROUP_ADMIN), Deny(MISSING, CHANGE_ROLE)),
        (&a4, change(u(AL), AL, ORG_A_ADMIN), Allow(OWN_ROLE)),
        (&a4, change(u(BO), BO, ORG_A_ADMIN), Deny(MISSING, CHANGE_ROLE)),
    ];
    expect_all(&cases);
    let next = after(&a2, &change(u(OSCAR), OSCAR, GROUP_ADMIN));
    assert_eq!(next.role_of(&uid(OSCAR)), GROUP_ADMIN);
}

#[test]
fn rp04_8_3_send_message_needs_can_send_message() {
    let a3 = cast_room(A3, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a3, plain(u(SID), "send-message"), Allow(SEND)),
        // The moderator has it through the speaker (erratum).
        (&a3, plain(u(GINA), "send-message"), Allow(SEND)),
        (&a3, plain(u(ADA), "send-message"), Deny(MISSING, SEND)),
        (&a3, plain(u(GUS), "send-message"), Deny(MISSING, SEND)),
    ];
    expect_all(&cases);
}

#[test]
fn rp04_8_6_policy_update_needs_each_changed_components_capability() {
    let people = cast(A1);
    let a1 = room(table(A1), &people, json!({}));
    let proposal = |t: &RoleTable, patch: Value| patched(document(t, &people), patch);
    let fewer_rights = edit_role(table(A1), ORDINARY_USER, |r| {
        r.capabilities.remove(C::CAN_ADD_PARTICIPANT);
    });
    let domain_b = [claim("domain", "b.example")];
    let roles = proposal(&fewer_rights, json!({}));
    let preauth_list = proposal(table(A1), preauth(&[(&domain_b, ORDINARY_USER)]));
    let membership = proposal(table(A1), base(json!({ "max-users": 50 })));
    let mls = proposal(table(A1), operational(|_| {}));
    let other = proposal(
        table(A1),
        json!({ "policy": { "status-notifications": {} } }),
    );
    let roles_and_base = proposal(&fewer_rights, base(json!({ "max-users": 50 })));
    let same = proposal(table(A1), json!({}));
    let without_olga = document(table(A1), &replace(people.clone(), OLGA, None));
    // No A.1 role holds canChangeOtherPolicyAttribute: give it to the super_admin.
    let other_ok = edit_role(table(A1), SUPER_ADMIN, |r| {
        r.capabilities.insert(C::CAN_CHANGE_OTHER_POLICY_ATTRIBUTE);
    });
    let a1_other_ok = room(&other_ok, &people, json!({}));
    let other_by_ok = proposal(
        &other_ok,
        json!({ "policy": { "status-notifications": {} } }),
    );
    #[rustfmt::skip]
    let cases = [
        (&a1, update_policy(sys(ENFORCER), &roles), Allow(POLICY)),
        (&a1, update_policy(u(SAM), &roles), Deny(MISSING, POLICY)),
        (&a1, update_policy(u(SAM), &preauth_list), Allow(POLICY)),
        (&a1, update_policy(u(GINA), &preauth_list), Deny(MISSING, POLICY)),
        (&a1, update_policy(u(SAM), &membership), Allow(POLICY)),
        (&a1, update_policy(sys(ENFORCER), &membership), Deny(MISSING, POLICY)),
        (&a1, update_policy(sys(ENFORCER), &mls), Allow(POLICY)),
        (&a1, update_policy(u(SAM), &mls), Deny(MISSING, POLICY)),
        (&a1, update_policy(u(SAM), &other), Deny(MISSING, POLICY)),
        (&a1_other_ok, update_policy(u(SAM), &other_by_ok), Allow(POLICY)),
        // Every changed component needs its own capability.
        (&a1, update_policy(u(SAM), &roles_and_base), Deny(MISSING, POLICY)),
        (&a1, update_policy(u(SAM), &same), Deny("no-change", POLICY)),
        // Membership changes go through their own operations.
        (&a1, update_policy(u(SAM), &without_olga), Deny("invalid-policy", POLICY)),
    ];
    expect_all(&cases);
    let next = after(&a1, &update_policy(sys(ENFORCER), &roles));
    assert!(!next.roles().can(ORDINARY_USER, C::CAN_ADD_PARTICIPANT));
    assert_eq!(next.participants(), a1.participants());
}

#[test]
fn rp04_8_6_destroy_needs_can_destroy_room() {
    let a1 = cast_room(A1, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, plain(u(SAM), "destroy"), Allow(DESTROY)),
        (&a1, plain(sys(ENFORCER), "destroy"), Allow(DESTROY)),
        (&a1, plain(u(GINA), "destroy"), Deny(MISSING, DESTROY)),
        (&a1, plain(u(OSCAR), "destroy"), Deny(MISSING, DESTROY)),
    ];
    expect_all(&cases);
    let destroy = plan(&a1, &operation(&plain(u(SAM), "destroy"))).unwrap();
    assert!(destroy.destroys());
}

#[test]
fn rp04_8_6_reinit_needs_can_send_mls_reinit_proposal() {
    let a1 = cast_room(A1, json!({}));
    let a2 = cast_room(A2, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a2, plain(u(SAM), "reinit"), Allow(REINIT)),
        (&a2, plain(u(GINA), "reinit"), Deny(MISSING, REINIT)),
        // A.1's super_admin lacks it; its policy_enforcer has it.
        (&a1, plain(u(SAM), "reinit"), Deny(MISSING, REINIT)),
        (&a1, plain(sys(ENFORCER), "reinit"), Allow(REINIT)),
    ];
    expect_all(&cases);
}

#[test]
fn rp04_8_7_psk_needs_can_send_mls_psk_proposal() {
    // No Appendix A role holds the (reserved) capability.
    let a1 = cast_room(A1, json!({}));
    let psk_ok = edit_role(table(A1), SUPER_ADMIN, |r| {
        r.capabilities.insert(C::CAN_SEND_MLS_PSK_PROPOSAL);
    });
    let psk_ok = room(&psk_ok, &cast(A1), json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, plain(u(SAM), "psk"), Deny(MISSING, PSK)),
        (&psk_ok, plain(u(SAM), "psk"), Allow(PSK)),
        (&psk_ok, plain(u(GINA), "psk"), Deny(MISSING, PSK)),
    ];
    expect_all(&cases);
}

#[test]
fn rp04_7_external_commit_follows_external_commit_allowed() {
    let allowed = room(&open_table(), &cast(A1), operational(|_| {}));
    let forbidden = room(
        &open_table(),
        &cast(A1),
        operational(|o| o.external_commit_allowed = Flag(false)),
    );
    #[rustfmt::skip]
    let cases = [
        (&allowed, join(NINA, "phone", json!({})), Allow(OPEN_JOIN)),
        (&allowed, join(OLGA, "laptop", json!({})), Allow(OWN_CLIENT)),
        (&forbidden, join(NINA, "phone", json!({})), Deny("mls-policy", EXTERNAL_COMMIT)),
        (&forbidden, join(OLGA, "laptop", json!({})), Deny("mls-policy", EXTERNAL_COMMIT)),
        // An Add by a member is not an external commit.
        (&forbidden, add(u(OLGA), OLGA, "laptop", None), Allow(OWN_CLIENT)),
    ];
    expect_all(&cases);
}

/// A provider's system user holding group_admin (no clients) in A.1.
const RELAY: &str = "relay@b.example";

#[test]
fn rp04_7_external_proposal_follows_external_proposal_allowed() {
    let people = plus(cast(A1), &[person(RELAY, GROUP_ADMIN, &[])]);
    let allowed = room(table(A1), &people, operational(|_| {}));
    let forbidden = room(
        table(A1),
        &people,
        operational(|o| o.external_proposal_allowed = Flag(false)),
    );
    #[rustfmt::skip]
    let cases = [
        (&allowed, external(sys(RELAY), "add", OLGA, "tablet"), Allow(EXTERNAL)),
        // A Remove proposal is decided as the removal it proposes.
        (&allowed, external(sys(RELAY), "remove", OLGA, "phone"), Allow(KICK)),
        (&forbidden, external(sys(RELAY), "add", OLGA, "tablet"), Deny("mls-policy", EXTERNAL)),
        (&forbidden, external(sys(RELAY), "remove", OLGA, "phone"), Deny("mls-policy", EXTERNAL)),
        // The sender's role needs the capability: the policy_enforcer has no canAddParticipant.
        (&allowed, external(sys(ENFORCER), "add", OLGA, "tablet"), Deny(MISSING, EXTERNAL)),
    ];
    expect_all(&cases);
}

#[test]
fn rp04_7_update_waits_for_the_leaf_node_update_minimum() {
    let a1 = cast_room(
        A1,
        operational(|o| {
            o.leaf_node_update_time = MinDefaultMaxTime {
                minimum_time: 60,
                default_time: 600,
                maximum_time: 6000,
            };
        }),
    );
    let update = |since: u64| {
        op(
            u(OSCAR),
            "update",
            json!({ "seconds-since-last-update": since }),
        )
    };
    #[rustfmt::skip]
    let cases = [
        (&a1, update(60), Allow(UPDATE)),
        (&a1, update(59), Deny("update-too-soon", UPDATE)),
    ];
    expect_all(&cases);
}

#[test]
fn rp04_3_min_and_max_participants_hold_after_a_change() {
    let a1 = cast_room(A1, json!({}));
    let two_admins = room(
        table(A1),
        &plus(cast(A1), &[person("gil@a.example", GROUP_ADMIN, PHONE)]),
        json!({}),
    );
    let b_admins = |n: usize| {
        let extra: Vec<Person> = (1..n)
            .map(|i| person(&format!("badmin{i}@b.example"), ORG_B_ADMIN, &[]))
            .collect();
        room(table(A4), &plus(cast(A4), &extra), json!({}))
    };
    let (two, three) = (b_admins(2), b_admins(3));
    #[rustfmt::skip]
    let cases = [
        // group_admin: min 1.
        (&a1, change(u(SAM), GINA, ORDINARY_USER), Deny(VIOLATED, CONSTRAINTS)),
        (&two_admins, change(u(SAM), GINA, ORDINARY_USER), Allow(CHANGE_ROLE)),
        // org_b_admin: max 3, for additions and for role changes.
        (&two, add(u(BEA), NINA, "phone", Some(ORG_B_ADMIN)), Allow(ADD)),
        (&three, add(u(BEA), NINA, "phone", Some(ORG_B_ADMIN)), Deny(VIOLATED, CONSTRAINTS)),
        (&two, change(u(BEA), BO, ORG_B_ADMIN), Allow(CHANGE_ROLE)),
        (&three, change(u(BEA), BO, ORG_B_ADMIN), Deny(VIOLATED, CONSTRAINTS)),
    ];
    expect_all(&cases);
}

#[test]
fn rp04_3_min_and_max_active_participants_hold_after_a_change() {
    let a1 = cast_room(A1, json!({}));
    let b_admin = |clients: &[&str]| {
        let extra = person("bree@b.example", ORG_B_ADMIN, clients);
        room(table(A4), &plus(cast(A4), &[extra]), json!({}))
    };
    let (inactive_second, active_second) = (b_admin(&[]), b_admin(PHONE));
    #[rustfmt::skip]
    let cases = [
        // policy_enforcer: max_active 0, so nobody gives it a client.
        (&a1, add(u(GINA), ENFORCER, "phone", None), Deny(VIOLATED, CONSTRAINTS)),
        (&a1, add(u(GINA), OLGA, "tablet", None), Allow(ADD)),
        // org_b_admin: min_active 1, kept through role changes and bans.
        (&inactive_second, change(u(SAM), BEA, ORG_B_USER), Deny(VIOLATED, CONSTRAINTS)),
        (&inactive_second, on(u(SAM), "ban", BEA), Deny(VIOLATED, CONSTRAINTS)),
        (&active_second, change(u(SAM), BEA, ORG_B_USER), Allow(CHANGE_ROLE)),
        (&active_second, on(u(SAM), "ban", BEA), Allow(BAN)),
    ];
    expect_all(&cases);
}

#[test]
fn rp04_5_multi_device_max_clients_and_max_users_limit_additions() {
    let one_phone = replace(cast(A1), OSCAR, Some(person(OSCAR, ORDINARY_USER, PHONE)));
    let single = room(
        table(A1),
        &one_phone,
        base(json!({ "multi-device": false })),
    );
    // The cast has 5 clients and 5 non-banned users (BART is banned and not counted).
    let clients = |max: u32| cast_room(A1, base(json!({ "max-clients": max })));
    let users = |max: u32| cast_room(A1, base(json!({ "max-users": max })));
    let (clients5, clients6, users5, users6) = (clients(5), clients(6), users(5), users(6));
    #[rustfmt::skip]
    let cases = [
        (&single, add(u(OLGA), OLGA, "laptop", None), Deny("single-device", LIMITS)),
        (&single, join(OLGA, "laptop", json!({})), Deny("single-device", LIMITS)),
        (&single, add(u(OLGA), NINA, "phone", None), Allow(ADD)),
        (&clients5, add(u(OLGA), NINA, "phone", None), Deny(VIOLATED, LIMITS)),
        (&clients5, add(u(OLGA), OLGA, "laptop", None), Deny(VIOLATED, LIMITS)),
        (&clients6, add(u(OLGA), NINA, "phone", None), Allow(ADD)),
        (&users5, add(u(OLGA), NINA, "phone", None), Deny(VIOLATED, LIMITS)),
        (&users5, add(u(OLGA), OLGA, "laptop", None), Allow(OWN_CLIENT)),
        (&users5, on(u(GINA), "ban", NINA), Allow(BAN)),
        (&users6, add(u(OLGA), NINA, "phone", None), Allow(ADD)),
    ];
    expect_all(&cases);
    assert_eq!(users6.participants().len(), 6);
}

/// A.1's cast in a fixed-membership room with `table`.
fn fixed_room(table: &RoleTable) -> Room {
    build(&fixed_doc(document(table, &cast(A1))))
}

#[test]
fn rp04_5_fixed_membership_freezes_the_participant_list() {
    let fixed = fixed_room(table(A1));
    let made_fixed = fixed_doc(document(table(A1), &cast(A1)));
    let flexible = cast_room(A1, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&fixed, add(u(GINA), NINA, "phone", Some(ORDINARY_USER)), Deny("fixed-membership", FIXED)),
        (&fixed, plain(u(OLGA), "leave"), Deny("fixed-membership", FIXED)),
        (&fixed, change(u(GINA), OLGA, NO_ROLE), Deny("fixed-membership", FIXED)),
        (&fixed, change(u(GINA), OLGA, BANNED), Deny("fixed-membership", FIXED)),
        (&fixed, change(u(GINA), BART, ORDINARY_USER), Deny("fixed-membership", FIXED)),
        // Clients come and go; roles change inside the list.
        (&fixed, add(u(OLGA), OLGA, "laptop", None), Allow(OWN_CLIENT)),
        (&fixed, remove_client(u(OSCAR), OSCAR, "laptop"), Allow(REMOVE_OWN_CLIENT)),
        (&fixed, on(u(GINA), "kick", OLGA), Allow(KICK)),
        (&fixed, change(u(GINA), OLGA, GROUP_ADMIN), Allow(CHANGE_ROLE)),
        // The property itself never changes.
        (&flexible, update_policy(u(SAM), &made_fixed), Deny("fixed-membership", FIXED)),
    ];
    expect_all(&cases);
}

// ---------------------------------------------------------------------------------------------
// Once engine bugs; these tests failed before their fixes.
// ---------------------------------------------------------------------------------------------

#[test]
fn rp04_5_fixed_membership_blocks_ban_and_unban_actions() {
    let fixed = fixed_room(table(A1));
    #[rustfmt::skip]
    let cases = [
        (&fixed, on(u(GINA), "ban", OLGA), Deny("fixed-membership", FIXED)),
        (&fixed, on(u(GINA), "unban", BART), Deny("fixed-membership", FIXED)),
    ];
    expect_all(&cases);
}

#[test]
fn rp04_5_fixed_membership_blocks_outsiders_joining() {
    let open_fixed = fixed_room(&open_table());
    let preauth_fixed = build(&patched(
        fixed_doc(document(table(A2), &cast(A2))),
        preauth(&[(&[claim("domain", "b.example")], ORDINARY_USER)]),
    ));
    let code_fixed = build(&fixed_doc(document(table(A2), &cast(A2))));
    #[rustfmt::skip]
    let cases = [
        (&open_fixed, join(NINA, "phone", json!({})), Deny("fixed-membership", FIXED)),
        (&preauth_fixed, join(NINA, "phone", json!({})), Deny("fixed-membership", FIXED)),
        (&code_fixed, join(NINA, "phone", link(GINA, json!({}))), Deny("fixed-membership", FIXED)),
    ];
    expect_all(&cases);
}

#[test]
fn rp04_7_external_add_proposal_is_checked_like_an_add() {
    let people = plus(cast(A1), &[person(RELAY, GROUP_ADMIN, &[])]);
    let a1 = room(table(A1), &people, json!({}));
    let fixed = build(&fixed_doc(document(table(A1), &people)));
    for (room, who, client) in [
        (&a1, NINA, "phone"),     // not in the participant list
        (&a1, BART, "phone"),     // banned
        (&a1, OLGA, "phone"),     // already in the group
        (&a1, ENFORCER, "phone"), // policy_enforcer: max_active 0
        (&fixed, NINA, "phone"),  // fixed membership
    ] {
        let op = external(sys(RELAY), "add", who, client);
        let d = decide(room, &op);
        assert!(!d.is_allowed(), "{op} allowed by {}", d.rule().id);
    }
}

#[test]
fn rp04_8_1_1_add_participant_never_into_the_banned_role() {
    // RP-04 does not require max_active 0 on role 1; with it unset the engine's only guard
    // against a banned user with a client is gone.
    let loose = edit_role(table(A1), BANNED, |r| r.max_active = None);
    let a1 = room(&loose, &cast(A1), json!({}));
    let op = add(u(GINA), NINA, "phone", Some(BANNED));
    let d = decide(&a1, &op);
    assert!(!d.is_allowed(), "{op} allowed by {}", d.rule().id);
}

// ---------------------------------------------------------------------------------------------
// Participant-list updates (protocol-06 §7.5), beyond the unit tests.
// ---------------------------------------------------------------------------------------------

fn list(entries: &[(&str, RoleIndex)]) -> ParticipantList {
    ParticipantList::new(
        entries
            .iter()
            .map(|(user, role)| UserRolePair {
                user: uid(user),
                role: *role,
            })
            .collect(),
    )
    .unwrap()
}

fn entries(list: &ParticipantList) -> Vec<(UserId, RoleIndex)> {
    list.entries()
        .iter()
        .map(|e| (e.user.clone(), e.role))
        .collect()
}

fn list_update(
    changed: &[(u32, RoleIndex)],
    removed: &[u32],
    added: &[(&str, RoleIndex)],
) -> ParticipantListUpdate {
    ParticipantListUpdate {
        changed: changed
            .iter()
            .map(|&(user_index, role)| IndexRolePair { user_index, role })
            .collect(),
        removed: removed.to_vec(),
        added: added
            .iter()
            .map(|(user, role)| UserRolePair {
                user: uid(user),
                role: *role,
            })
            .collect(),
    }
}

#[test]
fn proto_7_5_changes_name_each_touched_user_with_old_and_new_role() {
    let before = list(&[(SAM, 4), (GINA, 3), (OSCAR, 2)]);
    let delta = list_update(&[(2, 3)], &[1], &[(NINA, 2)]);
    let change = |user: &str, from, to| RoleChange {
        user: uid(user),
        from,
        to,
    };
    assert_eq!(
        before.changes(&delta).unwrap(),
        [change(OSCAR, 2, 3), change(GINA, 3, 0), change(NINA, 0, 2)]
    );
    let next = before.apply(&delta).unwrap();
    assert_eq!(
        entries(&next),
        [(uid(SAM), 4), (uid(OSCAR), 3), (uid(NINA), 2)]
    );
    // apply returns a new list.
    assert_eq!(
        entries(&before),
        [(uid(SAM), 4), (uid(GINA), 3), (uid(OSCAR), 2)]
    );
}

#[test]
fn proto_7_5_indexes_refer_to_the_list_before_the_update() {
    let before = list(&[(SAM, 4), (GINA, 3), (OSCAR, 2)]);
    // Removing position 0 does not shift the change at position 2, in any order of removals.
    let next = before.apply(&list_update(&[(2, 3)], &[0], &[])).unwrap();
    assert_eq!(entries(&next), [(uid(GINA), 3), (uid(OSCAR), 3)]);
    let next = before.apply(&list_update(&[], &[2, 0], &[])).unwrap();
    assert_eq!(entries(&next), [(uid(GINA), 3)]);
}

#[test]
fn proto_7_5_one_touch_per_user_covers_repeats_and_current_participants() {
    let before = list(&[(SAM, 4), (GINA, 3), (OSCAR, 2)]);
    for (delta, code) in [
        (list_update(&[], &[1, 1], &[]), "user-touched-twice"),
        (
            list_update(&[(1, 2), (1, 4)], &[], &[]),
            "user-touched-twice",
        ),
        (list_update(&[], &[], &[(GINA, 2)]), "user-touched-twice"),
        (
            list_update(&[], &[], &[(NINA, 2), (NINA, 3)]),
            "user-touched-twice",
        ),
        (
            list_update(&[], &[], &[(NINA, NO_ROLE)]),
            "zero-role-in-list",
        ),
        (
            list_update(&[(3, 2)], &[], &[]),
            "participant-index-out-of-range",
        ),
    ] {
        assert_eq!(
            before.changes(&delta).unwrap_err().code(),
            code,
            "{delta:?}"
        );
        assert_eq!(before.apply(&delta).unwrap_err().code(), code, "{delta:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Acceptance tests (landscape §2.7).
// ---------------------------------------------------------------------------------------------

#[test]
fn appendix_a1_ordinary_user_adds_an_outsider_as_2_but_not_3() {
    let a1 = cast_room(A1, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, add(u(OSCAR), NINA, "phone", Some(ORDINARY_USER)), Allow(ADD)),
        (&a1, add(u(OSCAR), NINA, "phone", Some(GROUP_ADMIN)), Deny(NOT_AUTHORIZED, ADD)),
    ];
    expect_all(&cases);
}

#[test]
fn appendix_a1_group_admin_may_ban_an_ordinary_user() {
    let a1 = cast_room(A1, json!({}));
    expect(&a1, &on(u(GINA), "ban", OLGA), Allow(BAN));
    let next = after(&a1, &on(u(GINA), "ban", OLGA));
    assert_eq!(next.role_of(&uid(OLGA)), BANNED);
    assert_eq!(next.client_count_of(&uid(OLGA)), 0);
}

#[test]
fn appendix_a1_policy_enforcer_unbans_to_0_only() {
    let a1 = cast_room(A1, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, on(sys(ENFORCER), "unban", BART), Allow(UNBAN)),
        (&a1, change(sys(ENFORCER), BART, NO_ROLE), Allow(UNBAN)),
        (&a1, change(sys(ENFORCER), BART, ORDINARY_USER), Deny(NOT_AUTHORIZED, UNBAN)),
    ];
    expect_all(&cases);
}

#[test]
fn appendix_a1_removing_the_last_group_admin_fails() {
    let a1 = cast_room(A1, json!({}));
    let two_admins = room(
        table(A1),
        &plus(cast(A1), &[person("gil@a.example", GROUP_ADMIN, &[])]),
        json!({}),
    );
    #[rustfmt::skip]
    let cases = [
        (&a1, change(u(SAM), GINA, NO_ROLE), Deny(VIOLATED, CONSTRAINTS)),
        (&a1, change(sys(ENFORCER), GINA, NO_ROLE), Deny(VIOLATED, CONSTRAINTS)),
        (&a1, on(u(SAM), "ban", GINA), Deny(VIOLATED, CONSTRAINTS)),
        (&two_admins, change(u(SAM), GINA, NO_ROLE), Allow(REMOVE)),
    ];
    expect_all(&cases);
}

#[test]
fn appendix_a2_join_code_joins_as_2_only() {
    let a2 = cast_room(A2, json!({}));
    let code = |role: Option<RoleIndex>| {
        let mut fields = link(GINA, json!({}));
        if let Some(role) = role {
            fields["role"] = json!(role);
        }
        join(NINA, "phone", fields)
    };
    #[rustfmt::skip]
    let cases = [
        (&a2, code(None), Allow(JOIN_CODE)),
        (&a2, code(Some(ORDINARY_USER)), Allow(JOIN_CODE)),
        (&a2, code(Some(GROUP_ADMIN)), Deny(NOT_AUTHORIZED, JOIN_CODE)),
        (&a2, code(Some(SUPER_ADMIN)), Deny(NOT_AUTHORIZED, JOIN_CODE)),
    ];
    expect_all(&cases);
    assert_eq!(after(&a2, &code(None)).role_of(&uid(NINA)), ORDINARY_USER);
}

#[test]
fn appendix_a4_org_b_admin_cannot_move_users_to_org_c_roles() {
    let a4 = cast_room(A4, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a4, change(u(BEA), BO, ORG_C_USER), Deny(NOT_AUTHORIZED, CHANGE_ROLE)),
        (&a4, change(u(BEA), BO, ORG_C_ADMIN), Deny(NOT_AUTHORIZED, CHANGE_ROLE)),
        (&a4, add(u(BEA), NED, "phone", Some(ORG_C_USER)), Deny(NOT_AUTHORIZED, ADD)),
        (&a4, change(u(BEA), BO, ORG_B_ADMIN), Allow(CHANGE_ROLE)),
        (&a4, add(u(BEA), NINA, "phone", Some(ORG_B_USER)), Allow(ADD)),
    ];
    expect_all(&cases);
}

#[test]
fn appendix_a4_a_fourth_org_b_admin_fails_max_3() {
    let with_b_admins = |n: usize| {
        let extra: Vec<Person> = (1..n)
            .map(|i| person(&format!("badmin{i}@b.example"), ORG_B_ADMIN, &[]))
            .collect();
        room(table(A4), &plus(cast(A4), &extra), json!({}))
    };
    #[rustfmt::skip]
    let cases = [
        (&with_b_admins(2), change(u(BEA), BO, ORG_B_ADMIN), Allow(CHANGE_ROLE)),
        (&with_b_admins(3), change(u(BEA), BO, ORG_B_ADMIN), Deny(VIOLATED, CONSTRAINTS)),
    ];
    expect_all(&cases);
}

/// Each role's minimum number of holders, the first `min_active` of them with a client.
fn minimum_people(table: &RoleTable) -> Vec<Person> {
    table
        .iter()
        .filter(|r| r.index > BANNED)
        .flat_map(|r| {
            (0..r.min_participants).map(move |i| {
                let clients: &[&str] = if i < r.min_active { PHONE } else { &[] };
                person(&format!("{}{i}@pop.example", r.name), r.index, clients)
            })
        })
        .collect()
}

#[test]
fn appendix_a_rooms_at_their_minimums_satisfy_every_constraint() {
    for example in EXAMPLES {
        let t = table(example);
        let room = room(t, &minimum_people(t), json!({}));
        assert_eq!(room.check_constraints(), Ok(()), "{example:?}");
        for role in t.iter().filter(|r| r.index > BANNED) {
            let count = room.count(role.index);
            assert_eq!(
                count.participants, role.min_participants,
                "{example:?} {}",
                role.name
            );
            assert_eq!(count.active, role.min_active, "{example:?} {}", role.name);
        }
    }
}

#[test]
fn appendix_a_rooms_breaking_a_role_constraint_are_refused() {
    for example in EXAMPLES {
        let t = table(example);
        let people = minimum_people(t);
        for role in t.iter().filter(|r| r.index > BANNED) {
            let holder = people.iter().position(|p| p.role == role.index);
            let mut broken: Vec<Vec<Person>> = Vec::new();
            if let Some(i) = holder {
                // One holder fewer than the minimum.
                let mut fewer = people.clone();
                fewer.remove(i);
                broken.push(fewer);
                // One active holder fewer, or an active holder where none may be.
                if role.min_active > 0 || role.max_active == Some(0) {
                    let mut flipped = people.clone();
                    flipped[i].clients = if role.min_active > 0 {
                        vec![]
                    } else {
                        vec!["phone".into()]
                    };
                    broken.push(flipped);
                }
            }
            if let Some(max) = role.max_participants {
                let extra: Vec<Person> = (0..=max)
                    .map(|i| person(&format!("extra{i}@pop.example"), role.index, &[]))
                    .collect();
                broken.push(plus(people.clone(), &extra));
            }
            for people in broken {
                assert_eq!(
                    build_error(&document(t, &people)),
                    "constraint-violated",
                    "{example:?} {}",
                    role.name
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Every actor role x target role x action, and random sequences of allowed operations.
// ---------------------------------------------------------------------------------------------

const OUTSIDER: &str = "outsider@x.example";

/// One holder of each role (banned included); every holder that may be active has a client.
fn one_per_role(table: &RoleTable) -> Vec<Person> {
    table
        .iter()
        .filter(|r| r.index >= BANNED)
        .map(|r| {
            let active = r.index != BANNED && r.max_active != Some(0);
            person(
                &format!("{}@x.example", r.name),
                r.index,
                if active { PHONE } else { &[] },
            )
        })
        .collect()
}

/// The membership-changing actions (those the property test draws from) of one actor on one
/// target, with and without each role.
fn membership_operations(actor: &Value, target: &str, roles: &[RoleIndex]) -> Vec<Value> {
    let joiner = actor
        .get("user")
        .and_then(Value::as_str)
        .unwrap_or(OUTSIDER);
    let mut ops = vec![
        add(actor.clone(), target, "new", None),
        join(joiner, "new", json!({})),
        join(joiner, "new", link(target, json!({}))),
        remove_client(actor.clone(), target, "phone"),
        plain(actor.clone(), "leave"),
        plain(actor.clone(), "self-remove"),
        on(actor.clone(), "ban", target),
        on(actor.clone(), "unban", target),
        on(actor.clone(), "kick", target),
    ];
    for &role in roles {
        ops.push(add(actor.clone(), target, "new", Some(role)));
        ops.push(join(joiner, "new", json!({ "role": role })));
        ops.push(change(actor.clone(), target, role));
    }
    ops
}

/// Every other action, well formed.
fn other_operations(actor: &Value, target: &str) -> Vec<Value> {
    let mut ops: Vec<Value> = [
        "destroy",
        "send-message",
        "psk",
        "reinit",
        "knock",
        "create-room",
    ]
    .iter()
    .map(|a| plain(actor.clone(), a))
    .collect();
    ops.extend([
        op(
            actor.clone(),
            "update",
            json!({ "seconds-since-last-update": 0 }),
        ),
        op(actor.clone(), "fetch-groupinfo", json!({})),
        op(
            actor.clone(),
            "fetch-keypackage",
            json!({ "target": { "user": target } }),
        ),
        op(
            actor.clone(),
            "accept-knock",
            json!({ "target": { "user": target }, "knocked": true }),
        ),
        op(
            actor.clone(),
            "set-affiliation",
            json!({ "target": { "user": target }, "affiliation": "member" }),
        ),
        on(actor.clone(), "grant-voice", target),
        on(actor.clone(), "revoke-voice", target),
        external(actor.clone(), "add", target, "new"),
        external(actor.clone(), "remove", target, "phone"),
    ]);
    ops
}

/// Each holder (and an outsider) as a user through `phone` and as a system user.
fn every_actor(people: &[Person]) -> Vec<Value> {
    people
        .iter()
        .map(|p| p.user.as_str())
        .chain([OUTSIDER])
        .flat_map(|user| [u(user), sys(user)])
        .collect()
}

#[test]
fn appendix_a_authorize_never_panics_for_any_actor_target_and_action() {
    for example in EXAMPLES {
        let t = table(example);
        let people = one_per_role(t);
        let room = room(t, &people, json!({}));
        let mut roles: Vec<RoleIndex> = t.iter().map(|r| r.index).collect();
        roles.push(99);
        let targets: Vec<&str> = people
            .iter()
            .map(|p| p.user.as_str())
            .chain([OUTSIDER])
            .collect();
        for actor in every_actor(&people) {
            for target in &targets {
                let mut ops = membership_operations(&actor, target, &roles);
                ops.extend(other_operations(&actor, target));
                for op in ops {
                    let op = operation(&op);
                    let d = authorize(&room, &op);
                    assert!(rule::ALL.contains(&d.rule()), "{op:?}: uncatalogued rule");
                    match plan(&room, &op) {
                        Ok(authorized) => {
                            assert!(d.is_allowed(), "{op:?}: planned but {:?}", d.report());
                            assert_eq!(authorized.rule(), d.rule(), "{op:?}");
                            room.clone().apply(&authorized);
                        }
                        Err(denied) => assert_eq!(denied, d, "{op:?}"),
                    }
                }
            }
        }
    }
}

#[test]
fn appendix_a_every_allowed_membership_change_keeps_the_room_valid() {
    for example in EXAMPLES {
        let t = table(example);
        let people = one_per_role(t);
        let room = room(t, &people, json!({}));
        let roles: Vec<RoleIndex> = t.iter().map(|r| r.index).collect();
        let targets: Vec<&str> = people
            .iter()
            .map(|p| p.user.as_str())
            .chain([OUTSIDER])
            .collect();
        for actor in every_actor(&people) {
            for target in &targets {
                for op in membership_operations(&actor, target, &roles) {
                    if let Ok(authorized) = plan(&room, &operation(&op)) {
                        let mut next = room.clone();
                        next.apply(&authorized);
                        assert_eq!(next.validate(), Ok(()), "{example:?}: {op}");
                    }
                }
            }
        }
    }
}

const CLIENTS: [&str; 3] = ["phone", "laptop", "tablet"];
const STEP_ACTIONS: [&str; 8] = [
    "add-client",
    "external-join",
    "remove-client",
    "leave",
    "ban",
    "unban",
    "kick",
    "change-role",
];

/// The random choices one operation is built from.
#[derive(Debug, Clone)]
struct Step {
    action: usize,
    actor: usize,
    actor_client: usize,
    target: usize,
    client: usize,
    role: u32,
    with_link: bool,
    /// Act as an active participant, into a role the actor's role changes allow.
    aimed: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0..STEP_ACTIONS.len(),
        (any::<usize>(), 0..CLIENTS.len()),
        (any::<usize>(), 0..CLIENTS.len()),
        0..=11u32,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(action, (actor, actor_client), (target, client), role, with_link, aimed)| Step {
                action,
                actor,
                actor_client,
                target,
                client,
                role,
                with_link,
                aimed,
            },
        )
}

/// The users a sequence draws actors and targets from: the cast and three outsiders.
fn pool(example: Example) -> Vec<String> {
    cast(example)
        .into_iter()
        .map(|p| p.user)
        .chain([NINA, NED, NORA].map(str::to_owned))
        .collect()
}

/// Pre-authorization for the property tests: an own-role change and a way in where the
/// example has canChangeOwnRole and canJoinIfPreauthorized.
fn sequence_preauth(example: Example) -> Value {
    let by_user = |user: &str, role| (vec![user_claim(user)], role);
    let by_domain = |domain: &str, role| (vec![claim("domain", domain)], role);
    let entries = match example {
        A1 => vec![],
        A2 => vec![
            by_user(OSCAR, GROUP_ADMIN),
            by_domain("b.example", ORDINARY_USER),
        ],
        A3 => vec![by_user(ADA, SPEAKER), by_domain("c.example", ATTENDEE)],
        A4 => vec![by_user(AL, ORG_A_ADMIN), by_domain("a.example", ORG_A_USER)],
    };
    let entries: Vec<(&[Value], RoleIndex)> =
        entries.iter().map(|(c, r)| (c.as_slice(), *r)).collect();
    preauth(&entries)
}

/// The `k`-th of `user`'s clients, or a client name of our own when it has none.
fn some_client(room: &Room, user: &str, k: usize) -> String {
    room.clients()
        .get(&uid(user))
        .and_then(|set| set.iter().nth(k % set.len()))
        .cloned()
        .unwrap_or_else(|| CLIENTS[k % CLIENTS.len()].to_owned())
}

/// A well-formed operation for `s` in `room`: holders of roles that may not have clients act
/// as system users, everyone else through one of its clients.
fn step_op(room: &Room, users: &[String], s: &Step) -> Value {
    let action = STEP_ACTIONS[s.action];
    let role_of = |user: &str| room.role_of(&uid(user));
    let holder = |user: &str| room.roles().role(role_of(user));
    // Aimed: an active actor (joins draw from everyone, outsiders included), a target its role
    // may move, a role it may move the target into.
    let active: Vec<&str> = users
        .iter()
        .map(String::as_str)
        .filter(|u| room.client_count_of(&uid(u)) > 0)
        .collect();
    let actors: Vec<&str> = if s.aimed && action != "external-join" && !active.is_empty() {
        active
    } else {
        users.iter().map(String::as_str).collect()
    };
    let actor_id = actors[s.actor % actors.len()];
    let movable: Vec<&str> = users
        .iter()
        .map(String::as_str)
        .filter(|u| holder(actor_id).is_some_and(|h| !h.targets_from(role_of(u)).is_empty()))
        .collect();
    let targets: Vec<&str> = if s.aimed && !movable.is_empty() {
        movable
    } else {
        users.iter().map(String::as_str).collect()
    };
    let target = targets[s.target % targets.len()];
    let top = room.roles().iter().map(|r| r.index).max().unwrap();
    let role = |allowed: &[RoleIndex]| {
        if s.aimed && !allowed.is_empty() {
            allowed[s.role as usize % allowed.len()]
        } else {
            s.role % (top + 2) // one undefined index included
        }
    };
    let moves = |from: RoleIndex| holder(actor_id).map_or(&[][..], |h| h.targets_from(from));
    // Holders of roles that may not have clients act as system users.
    let actor = if holder(actor_id).is_some_and(|r| r.index > BANNED && r.max_active == Some(0)) {
        sys(actor_id)
    } else {
        u_on(actor_id, &some_client(room, actor_id, s.actor_client))
    };
    match action {
        "add-client" => {
            let role = role(moves(NO_ROLE));
            let role = (role != NO_ROLE).then_some(role);
            add(actor, target, CLIENTS[s.client], role)
        }
        "external-join" => {
            let mut fields = if s.with_link {
                link(target, json!({}))
            } else {
                json!({})
            };
            if !s.aimed && s.role != NO_ROLE {
                fields["role"] = json!(role(&[]));
            }
            join(actor_id, CLIENTS[s.actor_client], fields)
        }
        "remove-client" => remove_client(actor, target, &some_client(room, target, s.client)),
        "leave" => plain(actor, "leave"),
        "change-role" => change(actor, target, role(moves(role_of(target)))),
        moderation => on(actor, moderation, target),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn appendix_a_allowed_operation_sequences_keep_every_constraint(
        example in 0..EXAMPLES.len(),
        steps in proptest::collection::vec(step(), 1..=20),
    ) {
        let example = EXAMPLES[example];
        let users = pool(example);
        let mut room = cast_room(example, sequence_preauth(example));
        for (i, s) in steps.iter().enumerate() {
            let op = operation(&step_op(&room, &users, s));
            let decision = authorize(&room, &op);
            if let Ok(authorized) = plan(&room, &op) {
                prop_assert_eq!(authorized.rule(), decision.rule());
                room.apply(&authorized);
                let valid = room.validate();
                prop_assert!(valid.is_ok(), "step {} {:?} left {:?}", i, op, valid);
            }
        }
    }
}
