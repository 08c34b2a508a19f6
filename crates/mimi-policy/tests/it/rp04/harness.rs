//! Rooms, users, operations and expectations shared by the RP-04 tests.

use super::fixture::*;
use mimi_policy::component::{
    AppMessagePolicy, ExtendedCapabilities, Flag, MinDefaultMaxTime, OperationalParameters,
    PendingProposalPolicy,
};
use mimi_policy::document::parse_room;
use mimi_policy::id::UserId;
use mimi_policy::operation::Operation;
use mimi_policy::role::{BANNED, RoleIndex, RoleTable};
use mimi_policy::{Decision, Room, authorize, plan};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Rooms: RP-04 documents built from the tables.
// ---------------------------------------------------------------------------------------------

// Users. a.example is the hub's domain; b.example and c.example are other organizations.
pub(super) const SAM: &str = "sam@a.example";
pub(super) const GINA: &str = "gina@a.example";
pub(super) const OSCAR: &str = "oscar@a.example";
pub(super) const OLGA: &str = "olga@b.example";
pub(super) const SID: &str = "sid@a.example";
pub(super) const ADA: &str = "ada@a.example";
pub(super) const GUS: &str = "gus@c.example";
pub(super) const ANN: &str = "ann@a.example";
pub(super) const AL: &str = "al@a.example";
pub(super) const BEA: &str = "bea@b.example";
pub(super) const BO: &str = "bo@b.example";
pub(super) const CAL: &str = "cal@c.example";
pub(super) const CY: &str = "cy@c.example";
pub(super) const BART: &str = "bart@a.example";
/// The policy enforcer: a participant with no client (max_active 0) acting as a system user.
pub(super) const ENFORCER: &str = "enforcer@hub.example";
/// Outsiders.
pub(super) const NINA: &str = "nina@b.example";
pub(super) const NED: &str = "ned@c.example";
pub(super) const NORA: &str = "nora@a.example";

#[derive(Debug, Clone)]
pub(super) struct Person {
    pub(super) user: String,
    pub(super) role: RoleIndex,
    pub(super) clients: Vec<String>,
}

pub(super) fn person(user: &str, role: RoleIndex, clients: &[&str]) -> Person {
    Person {
        user: user.to_owned(),
        role,
        clients: clients.iter().map(|c| (*c).to_owned()).collect(),
    }
}

pub(super) const PHONE: &[&str] = &["phone"];

/// Each example's cast: every role held, constraints satisfied, one banned user, and the
/// policy enforcer without clients.
pub(super) fn cast(example: Example) -> Vec<Person> {
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
pub(super) fn plus(mut people: Vec<Person>, extra: &[Person]) -> Vec<Person> {
    people.extend_from_slice(extra);
    people
}

/// `people` with `user` replaced (or dropped, for `None`).
pub(super) fn replace(people: Vec<Person>, user: &str, mut by: Option<Person>) -> Vec<Person> {
    people
        .into_iter()
        .filter_map(|p| if p.user == user { by.take() } else { Some(p) })
        .collect()
}

/// The RP-04 room document (the `roles` shape) of a table and its people.
pub(super) fn document(table: &RoleTable, people: &[Person]) -> Value {
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

pub(super) use crate::support::merge;

pub(super) fn patched(mut doc: Value, patch: Value) -> Value {
    merge(&mut doc, patch);
    doc
}

#[track_caller]
pub(super) fn build(doc: &Value) -> Room {
    parse_room(&doc.to_string()).unwrap_or_else(|e| panic!("room refused: {e}\n{doc:#}"))
}

/// `doc` made fixed-membership; RP-04 §5 then takes canAddParticipant from every role.
pub(super) fn fixed_doc(mut doc: Value) -> Value {
    merge(&mut doc, base(json!({ "fixed-membership": true })));
    for role in doc["roles"].as_array_mut().into_iter().flatten() {
        if let Some(caps) = role["capabilities"].as_array_mut() {
            caps.retain(|c| c != "canAddParticipant");
        }
    }
    doc
}

#[track_caller]
pub(super) fn build_error(doc: &Value) -> &'static str {
    parse_room(&doc.to_string())
        .err()
        .unwrap_or_else(|| panic!("room accepted:\n{doc:#}"))
        .code()
}

/// A room of `table` and `people` with `patch` merged into its document.
pub(super) fn room(table: &RoleTable, people: &[Person], patch: Value) -> Room {
    build(&patched(document(table, people), patch))
}

/// The example's cast room with `patch` merged into its document.
pub(super) fn cast_room(example: Example, patch: Value) -> Room {
    room(table(example), &cast(example), patch)
}

pub(super) fn uid(user: &str) -> UserId {
    UserId::parse(user).unwrap()
}

pub(super) fn claim(id: &str, value: &str) -> Value {
    json!({ "id": id, "value": value })
}

pub(super) fn user_claim(user: &str) -> Value {
    claim("user", uid(user).as_str())
}

/// A document patch setting the pre-authorization list, entries in priority order.
pub(super) fn preauth(entries: &[(&[Value], RoleIndex)]) -> Value {
    let entries: Vec<Value> = entries
        .iter()
        .map(|(claims, role)| json!({ "claims": claims, "role": role }))
        .collect();
    json!({ "preauth": entries })
}

/// A document patch setting the MLS operational policy: everything allowed, then `edit`.
pub(super) fn operational(edit: impl FnOnce(&mut OperationalParameters)) -> Value {
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

pub(super) fn base(fields: Value) -> Value {
    json!({ "policy": { "base": fields } })
}

// ---------------------------------------------------------------------------------------------
// Operations and expectations.
// ---------------------------------------------------------------------------------------------

/// A user acting through its client `phone`.
pub(super) fn u(user: &str) -> Value {
    json!({ "user": user, "client": "phone" })
}

/// A user acting through another of its clients.
pub(super) fn u_on(user: &str, client: &str) -> Value {
    json!({ "user": user, "client": client })
}

/// A system user (external sender).
pub(super) fn sys(user: &str) -> Value {
    json!({ "system": user })
}

pub(super) fn op(actor: Value, action: &str, fields: Value) -> Value {
    patched(json!({ "actor": actor, "action": action }), fields)
}

/// An action without fields: leave, self-remove, destroy, send-message, psk, reinit.
pub(super) fn plain(actor: Value, action: &str) -> Value {
    op(actor, action, json!({}))
}

/// An action on a user: ban, unban, kick.
pub(super) fn on(actor: Value, action: &str, who: &str) -> Value {
    op(actor, action, json!({ "target": { "user": who } }))
}

/// Commit with Add of `who`'s `client`, into `role` if given.
pub(super) fn add(actor: Value, who: &str, client: &str, role: Option<RoleIndex>) -> Value {
    let mut fields = json!({ "target": { "user": who, "client": client } });
    if let Some(role) = role {
        fields["role"] = json!(role);
    }
    op(actor, "add-client", fields)
}

/// External commit by `who`'s new `client` (`fields`: role, link).
pub(super) fn join(who: &str, client: &str, fields: Value) -> Value {
    op(u_on(who, client), "external-join", fields)
}

/// A join link issued by `issuer`, with `fields` (expired, uses, max-uses).
pub(super) fn link(issuer: &str, fields: Value) -> Value {
    json!({ "link": patched(json!({ "issued-by": issuer }), fields) })
}

pub(super) fn change(actor: Value, who: &str, role: RoleIndex) -> Value {
    op(
        actor,
        "change-role",
        json!({ "target": { "user": who }, "role": role }),
    )
}

pub(super) fn remove_client(actor: Value, who: &str, client: &str) -> Value {
    op(
        actor,
        "remove-client",
        json!({ "target": { "user": who, "client": client } }),
    )
}

pub(super) fn external(actor: Value, proposal: &str, who: &str, client: &str) -> Value {
    op(
        actor,
        "external-proposal",
        json!({ "proposal": proposal, "target": { "user": who, "client": client } }),
    )
}

pub(super) fn update_policy(actor: Value, proposed: &Value) -> Value {
    op(actor, "update-policy", json!({ "policy": proposed }))
}

#[track_caller]
pub(super) fn operation(op: &Value) -> Operation {
    Operation::from_json(op.clone()).unwrap_or_else(|e| panic!("bad operation {op}: {e}"))
}

pub(super) fn decide(room: &Room, op: &Value) -> Decision {
    authorize(room, &operation(op))
}

/// The expected decision: allowed by a rule, or denied with a code by a rule.
#[derive(Debug, Clone, Copy)]
pub(super) enum Want {
    Allow(&'static str),
    Deny(&'static str, &'static str),
}

pub(super) use Want::{Allow, Deny};

#[track_caller]
pub(super) fn expect(room: &Room, op: &Value, want: Want) {
    let d = decide(room, op);
    let wanted = match want {
        Allow(rule) => ("ok", rule),
        Deny(code, rule) => (code, rule),
    };
    assert_eq!((d.code(), d.rule().id), wanted, "{op}");
}

#[track_caller]
pub(super) fn expect_all(cases: &[(&Room, Value, Want)]) {
    for (room, op, want) in cases {
        expect(room, op, *want);
    }
}

/// The room after an allowed `op`, checked to be valid.
#[track_caller]
pub(super) fn after(room: &Room, op: &Value) -> Room {
    let authorized =
        plan(room, &operation(op)).unwrap_or_else(|d| panic!("{op} denied: {:?}", d.report()));
    let mut next = room.clone();
    next.apply(&authorized);
    next.validate()
        .unwrap_or_else(|e| panic!("{op} left an invalid room: {e}"));
    next
}

pub(super) const ADD: &str = "RP-8.1.1-ADD";
pub(super) const OWN_CLIENT: &str = "RP-8.1.1-OWN-CLIENT";
pub(super) const OPEN_JOIN: &str = "RP-8.1.1-OPEN-JOIN";
pub(super) const PREAUTH_JOIN: &str = "RP-8.1.1-PREAUTH";
pub(super) const JOIN_CODE: &str = "RP-8.1.1-JOIN-CODE";
pub(super) const JOIN_DENIED: &str = "RP-8.1.1-JOIN";
pub(super) const REMOVE: &str = "RP-8.1.2-REMOVE";
pub(super) const KICK: &str = "RP-8.1.2-KICK";
pub(super) const REMOVE_OWN_CLIENT: &str = "RP-8.1.2-OWN-CLIENT";
pub(super) const REMOVE_SELF: &str = "RP-8.1.2-SELF";
pub(super) const BAN: &str = "RP-8.1.3-BAN";
pub(super) const UNBAN: &str = "RP-8.1.3-UNBAN";
pub(super) const CHANGE_ROLE: &str = "RP-8.1.3-ROLE";
pub(super) const OWN_ROLE: &str = "RP-8.1.3-OWN-ROLE";
pub(super) const SEND: &str = "RP-8.3-SEND";
pub(super) const POLICY: &str = "RP-8.6-POLICY";
pub(super) const DESTROY: &str = "RP-8.6-DESTROY";
pub(super) const REINIT: &str = "RP-8.6-REINIT";
pub(super) const PSK: &str = "RP-8.7-PSK";
pub(super) const UPDATE: &str = "RP-7-UPDATE";
pub(super) const EXTERNAL: &str = "RP-7-EXTERNAL";
pub(super) const EXTERNAL_COMMIT: &str = "RP-7-EXTERNAL-COMMIT";
pub(super) const CONSTRAINTS: &str = "RP-3-CONSTRAINTS";
pub(super) const LIMITS: &str = "RP-5-LIMITS";
pub(super) const FIXED: &str = "RP-5-FIXED";

pub(super) const MISSING: &str = "missing-capability";
pub(super) const NOT_AUTHORIZED: &str = "role-change-not-authorized";
pub(super) const VIOLATED: &str = "constraint-violated";
