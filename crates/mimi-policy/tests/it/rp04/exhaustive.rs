//! Every actor role x target role x action, and random sequences of allowed operations.

use super::fixture::*;
use super::harness::*;
use mimi_policy::role::{BANNED, NO_ROLE, RoleIndex, RoleTable};
use mimi_policy::{Room, authorize, plan, rule};
use proptest::prelude::*;
use serde_json::{Value, json};

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
