//! Seed rules for ways out: remove (flexible and fixed rooms), leave, destroy, protected system users.

use serde_json::json;

use super::*;
use crate::support::{allow, deny, room, system, target, user};

#[test]
fn seed_remove_1_moderator_removes() {
    let r = room("administrated", json!({}));
    allow(
        &r,
        op_on(
            user(CAROL, "desktop"),
            "remove-client",
            target(BOB, Some("phone")),
        ),
        "SEED-REMOVE-1",
    );
    deny(
        &r,
        op_on(
            user(BOB, "phone"),
            "remove-client",
            target(DAVE, Some("tablet")),
        ),
        "not-allowed",
        "SEED-REMOVE-5",
    );
}

#[test]
fn seed_remove_2_member_removes_own_client() {
    let r = room("administrated", json!({}));
    allow(
        &r,
        op_on(
            user(ALICE, "phone"),
            "remove-client",
            target(ALICE, Some("laptop")),
        ),
        "SEED-REMOVE-2",
    );
    allow(&r, op(user(BOB, "phone"), "self-remove"), "SEED-REMOVE-2");
    deny(
        &r,
        op(user(ZED, "c1"), "self-remove"),
        "not-in-room",
        "SEED-IN-ROOM",
    );
}

#[test]
fn seed_remove_3_owning_system_user() {
    let r = room("administrated", json!({}));
    allow(
        &r,
        op_on(
            system("system@example.com"),
            "remove-client",
            target(BOB, Some("phone")),
        ),
        "SEED-REMOVE-3",
    );
    deny(
        &r,
        op_on(
            system("system@example.org"),
            "remove-client",
            target(BOB, Some("phone")),
        ),
        "unknown-system-user",
        "SEED-SYSTEM-USER",
    );
}

#[test]
fn seed_remove_4_system_user_of_the_removed_users_provider() {
    let r = room("administrated", json!({}));
    allow(
        &r,
        op_on(
            system("system@provider1.example"),
            "remove-client",
            target(DAVE, Some("tablet")),
        ),
        "SEED-REMOVE-4",
    );
    deny(
        &r,
        op_on(
            system("system@provider1.example"),
            "remove-client",
            target(BOB, Some("phone")),
        ),
        "not-allowed",
        "SEED-REMOVE-5",
    );
}

#[test]
fn seed_remove_targets_a_client_in_the_group() {
    let r = room("administrated", json!({}));
    deny(
        &r,
        op_on(
            user(CAROL, "desktop"),
            "remove-client",
            target(BOB, Some("nope")),
        ),
        "not-found",
        "MIMI-VALID",
    );
}

#[test]
fn seed_fixed_remove_1_own_other_clients_only() {
    let r = room("one-on-one", json!({}));
    allow(
        &r,
        op_on(
            user(ALICE, "phone"),
            "remove-client",
            target(ALICE, Some("laptop")),
        ),
        "SEED-FIXED-REMOVE-1",
    );
    deny(
        &r,
        op_on(
            user(ALICE, "phone"),
            "remove-client",
            target(BOB, Some("phone")),
        ),
        "fixed-membership",
        "SEED-FIXED-REMOVE-4",
    );
    deny(
        &r,
        op(user(BOB, "phone"), "self-remove"),
        "last-client",
        "SEED-FIXED-REMOVE-LAST",
    );
    allow(
        &r,
        op(user(ALICE, "laptop"), "self-remove"),
        "SEED-FIXED-REMOVE-1",
    );
}

#[test]
fn seed_fixed_remove_2_owning_system_removes_all_but_the_last_client() {
    let r = room("one-on-one", json!({}));
    allow(
        &r,
        op_on(
            system("system@example.com"),
            "remove-client",
            target(ALICE, Some("laptop")),
        ),
        "SEED-FIXED-REMOVE-2",
    );
    deny(
        &r,
        op_on(
            system("system@example.com"),
            "remove-client",
            target(BOB, Some("phone")),
        ),
        "last-client",
        "SEED-FIXED-REMOVE-LAST",
    );
}

#[test]
fn seed_fixed_remove_3_other_providers_system_removes_its_clients_but_the_last() {
    let r = room(
        "one-on-one",
        json!({
            "system-auth": ["system@b.example"],
            "user-affiliations": { "admin": ["bob@b.example"] },
            "clients": { BOB: null, "bob@b.example": ["phone", "tablet"] }
        }),
    );
    allow(
        &r,
        op_on(
            system("system@b.example"),
            "remove-client",
            target("bob@b.example", Some("tablet")),
        ),
        "SEED-FIXED-REMOVE-3",
    );
    deny(
        &r,
        op_on(
            system("system@b.example"),
            "remove-client",
            target(ALICE, Some("laptop")),
        ),
        "not-allowed",
        "SEED-FIXED-REMOVE-4",
    );
    let one_left = room(
        "one-on-one",
        json!({
            "system-auth": ["system@b.example"],
            "user-affiliations": { "admin": ["bob@b.example"] },
            "clients": { BOB: null, "bob@b.example": ["phone"] }
        }),
    );
    deny(
        &one_left,
        op_on(
            system("system@b.example"),
            "remove-client",
            target("bob@b.example", Some("phone")),
        ),
        "last-client",
        "SEED-FIXED-REMOVE-LAST",
    );
}

#[test]
fn seed_fixed_logger_cannot_be_removed() {
    let r = room("fixed-membership-logging", json!({}));
    deny(
        &r,
        op_on(
            user(ALICE, "phone"),
            "remove-client",
            target(LOGGER, Some("archiver")),
        ),
        "system-user-protected",
        "SEED-REMOVE-SYSTEM",
    );
}

#[test]
fn seed_leave_allowed_except_two_cases() {
    let r = room("administrated", json!({}));
    allow(&r, op(user(BOB, "phone"), "leave"), "SEED-LEAVE");
    allow(&r, op(user(CAROL, "desktop"), "leave"), "SEED-LEAVE");
    deny(
        &r,
        op(user(ALICE, "phone"), "leave"),
        "last-owner",
        "MUC-LAST-OWNER",
    );
    let sole_admin = room(
        "administrated",
        json!({ "user-affiliations": { "admin": [] }, "clients": { CAROL: null } }),
    );
    deny(
        &sole_admin,
        op(user(ALICE, "phone"), "leave"),
        "last-admin",
        "SEED-LEAVE-1",
    );
    let two_owners = room(
        "administrated",
        json!({ "user-affiliations": { "admin": [], "owner": [ALICE, CAROL] } }),
    );
    allow(&two_owners, op(user(ALICE, "phone"), "leave"), "SEED-LEAVE");
}

#[test]
fn seed_leave_never_by_the_last_member_of_the_group() {
    let alone = room(
        "open",
        json!({ "user-affiliations": { "owner": [ALICE, CAROL], "admin": [] },
                "clients": { CAROL: null, BOB: null, "erin@example.org": null } }),
    );
    deny(
        &alone,
        op(user(ALICE, "phone"), "leave"),
        "last-member",
        "SEED-LEAVE-2",
    );
    deny(
        &alone,
        op(user(ALICE, "phone"), "self-remove"),
        "last-member",
        "SEED-LEAVE-2",
    );
    allow(&alone, op(user(ALICE, "phone"), "destroy"), "SEED-DESTROY");
}

#[test]
fn seed_leave_fixed_room_occupants_cannot_leave() {
    let r = room("one-on-one", json!({}));
    deny(
        &r,
        op(user(BOB, "phone"), "leave"),
        "fixed-membership",
        "SEED-LEAVE-FIXED",
    );
}

#[test]
fn seed_destroy_only_by_the_last_member() {
    let r = room("administrated", json!({}));
    deny(
        &r,
        op(user(ALICE, "phone"), "destroy"),
        "not-allowed",
        "SEED-DESTROY",
    );
    allow(
        &r,
        op(system("system@example.com"), "destroy"),
        "SEED-DESTROY",
    );
    deny(
        &r,
        op(system("system@provider1.example"), "destroy"),
        "unknown-system-user",
        "SEED-SYSTEM-USER",
    );
}

#[test]
fn seed_logger_of_a_logging_room_is_protected_bots_are_not() {
    let logging = room(
        "administrated",
        json!({ "policy": { "logging": true }, "preauth-member": [{ "system": LOGGER }],
                "clients": { LOGGER: ["archiver"] } }),
    );
    for action in ["ban", "kick"] {
        deny(
            &logging,
            op_on(user(ALICE, "phone"), action, target(LOGGER, None)),
            "system-user-protected",
            "SEED-REMOVE-SYSTEM",
        );
    }
    deny(
        &logging,
        op_on(
            user(ALICE, "phone"),
            "remove-client",
            target(LOGGER, Some("archiver")),
        ),
        "system-user-protected",
        "SEED-REMOVE-SYSTEM",
    );
    let bots = room(
        "administrated",
        json!({ "policy": { "bots": true }, "preauth-member": [{ "system": LOGGER }],
                "clients": { LOGGER: ["bot"] } }),
    );
    allow(
        &bots,
        op_on(user(ALICE, "phone"), "kick", target(LOGGER, None)),
        "MUC-KICK",
    );
}
