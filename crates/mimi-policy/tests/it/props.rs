//! Property tests: decisions never panic; any sequence of allowed changes keeps an owner and
//! every constraint; room documents and wire encodings round-trip.

use mimi_policy::codec::decode_exact;
use mimi_policy::document::{room_from_value, room_to_value};
use mimi_policy::operation::{ACTIONS, Operation};
use mimi_policy::participant_list::ParticipantList;
use mimi_policy::preauth::PreAuthList;
use mimi_policy::preset::names;
use mimi_policy::role::RoleTable;
use mimi_policy::seed::seed_role;
use mimi_policy::{Room, authorize, plan, rule};
use proptest::prelude::*;
use serde_json::{Value, json};
use tls_codec::Serialize as _;

use crate::support::{preset_json, room};

const USERS: &[&str] = &[
    "alice@example.com",
    "carol@example.com",
    "bob@example.com",
    "dave@provider1.example",
    "mallory@example.net",
    "zed@example.org",
    "erin@example.org",
    "dave@example.org",
    "financial_transactions_chat_logger@example.com",
    "system@example.com",
    "system@provider1.example",
];
const CLIENTS: &[&str] = &["phone", "laptop", "desktop", "tablet", "archiver", "c1"];
const AFFILIATIONS: &[&str] = &["owner", "admin", "member", "none", "outcast"];

/// The random choices one operation is built from.
#[derive(Debug, Clone)]
struct Pick {
    action: usize,
    actor: usize,
    as_system: bool,
    actor_client: usize,
    target: usize,
    client: usize,
    n: u32,
    flag: bool,
}

fn pick() -> impl Strategy<Value = Pick> {
    (
        0..ACTIONS.len(),
        0..USERS.len(),
        any::<bool>(),
        0..CLIENTS.len(),
        0..USERS.len(),
        0..CLIENTS.len(),
        0u32..12,
        any::<bool>(),
    )
        .prop_map(
            |(action, actor, as_system, actor_client, target, client, n, flag)| Pick {
                action,
                actor,
                as_system,
                actor_client,
                target,
                client,
                n,
                flag,
            },
        )
}

/// A well-formed operation for `p`, with the fields its action needs.
fn op_json(preset: &str, p: &Pick) -> Value {
    let action = ACTIONS[p.action];
    let actor = if p.as_system {
        json!({ "system": USERS[p.actor] })
    } else {
        json!({ "user": USERS[p.actor], "client": CLIENTS[p.actor_client] })
    };
    let user = USERS[p.target];
    let client = CLIENTS[p.client];
    let mut op = json!({ "actor": actor, "action": action });
    let extra = match action {
        "add-client" | "remove-client" => json!({ "target": { "user": user, "client": client } }),
        "external-proposal" => json!({
            "target": { "user": user, "client": client },
            "proposal": if p.flag { "add" } else { "remove" },
        }),
        "fetch-keypackage" => json!({
            "target": { "user": user }, "consent": p.flag, "keypackage-quota": p.n % 3,
        }),
        "external-join" | "fetch-groupinfo" if p.flag => json!({
            "link": { "issued-by": user, "expired": p.n.is_multiple_of(4), "uses": p.n, "max-uses": 8 },
        }),
        "ban" | "unban" | "kick" | "grant-voice" | "revoke-voice" => {
            json!({ "target": { "user": user } })
        }
        "set-affiliation" => json!({
            "target": { "user": user }, "affiliation": AFFILIATIONS[p.n as usize % 5],
        }),
        "change-role" => json!({ "target": { "user": user }, "role": p.n % 11 }),
        "accept-knock" => json!({ "target": { "user": user }, "knocked": p.flag }),
        "update" => json!({ "seconds-since-last-update": p.n }),
        "update-policy" => {
            let mut policy = preset_json(preset);
            crate::support::merge(&mut policy, json!({ "policy": { "discoverable": p.flag } }));
            json!({ "policy": policy })
        }
        _ => json!({}),
    };
    crate::support::merge(&mut op, extra);
    op
}

fn operation(preset: &str, p: &Pick) -> Operation {
    let json = op_json(preset, p);
    Operation::from_json(json.clone()).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn preset_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(names())
}

/// Runs `picks` through plan/apply, checking the room after each allowed change.
fn run(preset: &str, picks: &[Pick]) -> Room {
    let mut r = room(preset, json!({}));
    for p in picks {
        let op = operation(preset, p);
        let Ok(authorized) = plan(&r, &op) else {
            continue;
        };
        if authorized.destroys() {
            break;
        }
        r.apply(&authorized);
        if let Err(e) = r.validate() {
            panic!("after {op:?}: {e}");
        }
        if r.seed().is_some() {
            assert!(
                r.count(seed_role::OWNER).participants >= 1,
                "no owner after {op:?}"
            );
        }
    }
    r
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decisions_never_panic_and_always_name_a_catalogued_rule(
        preset in preset_name(), p in pick()
    ) {
        let r = room(preset, json!({}));
        let d = authorize(&r, &operation(preset, &p));
        prop_assert!(rule::ALL.contains(&d.rule()));
        prop_assert!(!d.code().is_empty());
    }

    #[test]
    fn allowed_sequences_keep_an_owner_and_every_constraint(
        preset in preset_name(), picks in prop::collection::vec(pick(), 1..30)
    ) {
        run(preset, &picks);
    }

    #[test]
    fn room_documents_round_trip_after_any_allowed_sequence(
        preset in preset_name(), picks in prop::collection::vec(pick(), 0..20)
    ) {
        let r = run(preset, &picks);
        let doc = room_to_value(&r);
        let again = room_from_value(doc.clone()).unwrap_or_else(|e| panic!("{doc}: {e}"));
        prop_assert_eq!(room_to_value(&again), doc);
    }

    #[test]
    fn wire_encodings_round_trip_after_any_allowed_sequence(
        preset in preset_name(), picks in prop::collection::vec(pick(), 0..20)
    ) {
        let r = run(preset, &picks);
        let list = r.participants().tls_serialize_detached().unwrap();
        prop_assert_eq!(&decode_exact::<ParticipantList>(&list).unwrap(), r.participants());
        let roles = r.roles().tls_serialize_detached().unwrap();
        prop_assert_eq!(&decode_exact::<RoleTable>(&roles).unwrap(), r.roles());
        let preauth = r.preauth().tls_serialize_detached().unwrap();
        prop_assert_eq!(&decode_exact::<PreAuthList>(&preauth).unwrap(), r.preauth());
        let entries = r.to_app_data().unwrap();
        let carried = Room::from_app_data(r.id.clone(), &entries, r.clients().clone()).unwrap();
        prop_assert_eq!(&carried, &r);
        let components = r.components().to_app_data().unwrap();
        prop_assert_eq!(
            &mimi_policy::component::PolicyComponents::from_app_data(&components).unwrap(),
            r.components()
        );
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_exact::<ParticipantList>(&bytes);
        let _ = decode_exact::<RoleTable>(&bytes);
        let _ = decode_exact::<PreAuthList>(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The hub's fast path (check a client delta, apply it in place) agrees with rebuilding
    /// and validating the whole room.
    #[test]
    fn client_delta_check_agrees_with_a_full_rebuild(
        preset in preset_name(),
        adds in prop::collection::vec((0..USERS.len(), 0..CLIENTS.len()), 0..3),
        removes in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
    ) {
        use mimi_policy::id::{ClientId, UserId};
        use mimi_policy::room::ClientDelta;
        let r = room(preset, json!({}));
        let present: Vec<ClientId> = r
            .clients()
            .iter()
            .flat_map(|(u, set)| set.iter().map(move |c| ClientId::new(u.clone(), c).unwrap()))
            .collect();
        let delta = ClientDelta {
            added: adds
                .iter()
                .map(|(u, c)| ClientId::new(UserId::parse(USERS[*u]).unwrap(), CLIENTS[*c]).unwrap())
                .collect(),
            removed: removes.iter().map(|i| present[i.index(present.len())].clone()).collect(),
        };
        let fast = r.check_client_delta(&delta);
        let mut clients = r.clients().clone();
        let mut duplicate = false;
        for c in &delta.removed {
            let set = clients.entry(c.user().clone()).or_default();
            duplicate |= !set.remove(c.name());
            if set.is_empty() {
                clients.remove(c.user());
            }
        }
        for c in &delta.added {
            duplicate |= !clients.entry(c.user().clone()).or_default().insert(c.name().to_owned());
        }
        let full = if duplicate {
            Err(())
        } else {
            Room::from_app_data(r.id.clone(), &r.to_app_data().unwrap(), clients.clone()).map_err(|_| ())
        };
        prop_assert_eq!(fast.is_ok(), full.is_ok(), "{:?} vs {:?}", fast, full);
        if let Ok(expected) = full {
            let mut applied = r.clone();
            applied.apply_client_delta(&delta);
            prop_assert_eq!(applied, expected);
        }
    }
}
