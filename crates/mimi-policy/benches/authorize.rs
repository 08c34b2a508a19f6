//! `authorize` on a room with 1,000 participants and 3,000 clients (target: under 1 µs).
//!
//! Run with `cargo bench -p mimi-policy --bench authorize`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mimi_policy::document::room_from_value;
use mimi_policy::operation::Operation;
use mimi_policy::{Room, authorize};
use serde_json::{Value, json};

const USERS: usize = 1_000;
const CLIENTS_PER_USER: usize = 3;

fn user(i: usize) -> String {
    format!("user{i:04}@example.com")
}

/// Owner user0000, admins user0001..=user0009, members the rest; three clients each.
fn big_room() -> Room {
    let members: Vec<String> = (10..USERS).map(user).collect();
    let admins: Vec<String> = (1..10).map(user).collect();
    let clients: serde_json::Map<String, Value> = (0..USERS)
        .map(|i| (user(i), json!(["phone", "laptop", "tablet"])))
        .collect();
    let room = room_from_value(json!({
        "policy": { "membership": "members-only", "moderated": true, "multi-device": true },
        "preauth-member": [{ "domain": "partner.example" }],
        "owning-system": ["system@example.com"],
        "user-affiliations": { "owner": [user(0)], "admin": admins, "member": members },
        "clients": clients,
    }))
    .unwrap();
    assert_eq!(room.participants().len(), USERS + 1);
    assert_eq!(room.client_total(), USERS * CLIENTS_PER_USER);
    room
}

fn op(v: Value) -> Operation {
    Operation::from_json(v).unwrap()
}

fn bench(c: &mut Criterion) {
    let room = big_room();
    let cases = [
        (
            "send-message",
            json!({ "actor": { "user": user(500), "client": "phone" }, "action": "send-message" }),
        ),
        (
            "add-client",
            json!({ "actor": { "user": user(3), "client": "phone" }, "action": "add-client",
                    "target": { "user": "newcomer@example.org", "client": "c1" } }),
        ),
        (
            "remove-client",
            json!({ "actor": { "user": user(3), "client": "phone" }, "action": "remove-client",
                    "target": { "user": user(700), "client": "tablet" } }),
        ),
        (
            "external-join",
            json!({ "actor": { "user": "ann@partner.example", "client": "c1" },
                    "action": "external-join" }),
        ),
        (
            "ban",
            json!({ "actor": { "user": user(3), "client": "phone" }, "action": "ban",
                    "target": { "user": user(900) } }),
        ),
        (
            "change-role",
            json!({ "actor": { "user": user(0), "client": "phone" }, "action": "change-role",
                    "target": { "user": user(901) }, "role": 6 }),
        ),
    ];
    let mut group = c.benchmark_group("authorize/1000-participants-3000-clients");
    for (name, json) in cases {
        let op = op(json);
        assert!(
            authorize(&room, &op).is_allowed(),
            "{name} should be allowed"
        );
        group.bench_function(name, |b| {
            b.iter(|| authorize(black_box(&room), black_box(&op)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
