//! Seed rules for messages, policy updates and the MLS-level policy.

use serde_json::json;

use super::*;
use crate::support::{allow, deny, room, system, target, user};

#[test]
fn seed_send_1_unmoderated_anyone_in_the_room() {
    let r = room("open", json!({}));
    allow(&r, op(user(BOB, "phone"), "send-message"), "SEED-SEND-1");
    allow(
        &r,
        op(user("erin@example.org", "laptop"), "send-message"),
        "SEED-SEND-1",
    );
    deny(
        &r,
        op(user(ZED, "c1"), "send-message"),
        "not-in-room",
        "SEED-IN-ROOM",
    );
    let revoked = room("open", json!({ "voice": { "revoked": [BOB] } }));
    deny(
        &revoked,
        op(user(BOB, "phone"), "send-message"),
        "no-voice",
        "SEED-SEND-3",
    );
}

#[test]
fn seed_send_2_moderated_needs_voice() {
    let r = room("moderated", json!({}));
    allow(&r, op(user(BOB, "phone"), "send-message"), "SEED-SEND-2");
    allow(
        &r,
        op(user(CAROL, "desktop"), "send-message"),
        "SEED-SEND-2",
    );
    allow(
        &r,
        op(user("erin@example.org", "phone"), "send-message"),
        "SEED-SEND-2",
    );
    deny(
        &r,
        op(user("dave@example.org", "laptop"), "send-message"),
        "no-voice",
        "SEED-SEND-2",
    );
}

#[test]
fn seed_send_logging_room_needs_its_logger() {
    let r = room("fixed-membership-logging", json!({}));
    allow(&r, op(user(ALICE, "phone"), "send-message"), "SEED-SEND-1");
    let absent = room(
        "fixed-membership-logging",
        json!({ "clients": { LOGGER: null } }),
    );
    deny(
        &absent,
        op(user(ALICE, "phone"), "send-message"),
        "logger-required",
        "SEED-SEND-LOG",
    );
}

#[test]
fn seed_policy_update_by_owner_or_owning_system() {
    let r = room("administrated", json!({}));
    let mut proposed = crate::support::preset_json("administrated");
    crate::support::merge(
        &mut proposed,
        json!({ "policy": { "discoverable": false } }),
    );
    let update = |actor: serde_json::Value, policy: &serde_json::Value| json!({ "actor": actor, "action": "update-policy", "policy": policy });
    allow(&r, update(user(ALICE, "phone"), &proposed), "SEED-POLICY");
    allow(
        &r,
        update(system("system@example.com"), &proposed),
        "SEED-POLICY",
    );
    deny(
        &r,
        update(user(CAROL, "desktop"), &proposed),
        "not-allowed",
        "SEED-POLICY",
    );
    let same = crate::support::preset_json("administrated");
    deny(
        &r,
        update(user(ALICE, "phone"), &same),
        "no-change",
        "SEED-POLICY",
    );
}

#[test]
fn seed_policy_update_changes_policy_only() {
    let r = room("administrated", json!({}));
    let mut promotes = crate::support::preset_json("administrated");
    crate::support::merge(
        &mut promotes,
        json!({ "user-affiliations": { "member": [DAVE], "admin": [CAROL, BOB] } }),
    );
    deny(
        &r,
        json!({ "actor": user(ALICE, "phone"), "action": "update-policy", "policy": promotes }),
        "invalid-policy",
        "SEED-POLICY-SHAPE",
    );
    let mut fixes = crate::support::preset_json("administrated");
    crate::support::merge(
        &mut fixes,
        json!({ "policy": { "fixed-membership": true } }),
    );
    deny(
        &r,
        json!({ "actor": user(ALICE, "phone"), "action": "update-policy", "policy": fixes }),
        "fixed-membership",
        "SEED-POLICY-FIXED",
    );
}

#[test]
fn seed_mls_psk_is_optional() {
    let r = room("administrated", json!({}));
    deny(
        &r,
        op(user(BOB, "phone"), "psk"),
        "mls-policy",
        "SEED-MLS-PSK",
    );
    let psk = room(
        "administrated",
        json!({ "policy": { "mls": { "psk": true } } }),
    );
    allow(&psk, op(user(BOB, "phone"), "psk"), "SEED-MLS-PSK");
}

#[test]
fn seed_mls_reinit_for_owners_when_enabled() {
    let r = room("administrated", json!({}));
    allow(&r, op(user(ALICE, "phone"), "reinit"), "SEED-MLS-REINIT");
    deny(
        &r,
        op(user(CAROL, "desktop"), "reinit"),
        "not-allowed",
        "SEED-MLS-REINIT",
    );
    let off = room(
        "administrated",
        json!({ "policy": { "mls": { "reinit": false } } }),
    );
    deny(
        &off,
        op(user(ALICE, "phone"), "reinit"),
        "mls-policy",
        "SEED-MLS-REINIT",
    );
}

#[test]
fn seed_mls_update_min_interval_with_minus_one_as_never() {
    let update = |since: u64| {
        json!({ "actor": user(BOB, "phone"), "action": "update",
                "seconds-since-last-update": since })
    };
    let r = room(
        "administrated",
        json!({ "policy": { "mls": { "update-min-interval": 60 } } }),
    );
    allow(&r, update(90), "SEED-MLS-UPDATE");
    deny(&r, update(30), "update-too-soon", "SEED-MLS-UPDATE");
    let never = room(
        "administrated",
        json!({ "policy": { "mls": { "update-min-interval": -1 } } }),
    );
    deny(
        &never,
        update(1_000_000),
        "update-too-soon",
        "SEED-MLS-UPDATE",
    );
}

#[test]
fn seed_mls_external_proposals_default_allowed_for_system_users() {
    let r = room("administrated", json!({}));
    let ext = |actor: serde_json::Value, kind: &str, t: serde_json::Value| json!({ "actor": actor, "action": "external-proposal", "proposal": kind, "target": t });
    allow(
        &r,
        ext(
            system("system@example.com"),
            "remove",
            target(BOB, Some("phone")),
        ),
        "SEED-REMOVE-3",
    );
    allow(
        &r,
        ext(
            system("system@provider1.example"),
            "add",
            target(DAVE, Some("phone")),
        ),
        "SEED-MLS-EXTERNAL",
    );
    deny(
        &r,
        ext(
            system("system@provider1.example"),
            "add",
            target("newbie@provider1.example", Some("c")),
        ),
        "registration-required",
        "SEED-MLS-EXTERNAL",
    );
    deny(
        &r,
        ext(user(BOB, "phone"), "remove", target(DAVE, Some("tablet"))),
        "not-allowed",
        "SEED-MLS-EXTERNAL",
    );
    let off = room(
        "administrated",
        json!({ "policy": { "mls": { "external-proposals": false } } }),
    );
    deny(
        &off,
        ext(
            system("system@example.com"),
            "remove",
            target(BOB, Some("phone")),
        ),
        "mls-policy",
        "SEED-MLS-EXTERNAL",
    );
}

#[test]
fn seed_mls_update_max_interval_makes_overdue_clients_update_first() {
    let r = room(
        "administrated",
        json!({ "policy": { "mls": { "update-max-interval": 3600 } } }),
    );
    let send = |since: u64| {
        json!({ "actor": user(BOB, "phone"), "action": "send-message",
                "seconds-since-last-update": since })
    };
    allow(&r, send(600), "SEED-SEND-1");
    deny(&r, send(7200), "update-overdue", "SEED-MLS-UPDATE-DUE");
    let unlimited = room("administrated", json!({}));
    allow(&unlimited, send(1_000_000), "SEED-SEND-1");
}

#[test]
fn seed_policy_update_checks_the_actor_before_the_proposal() {
    let r = room("administrated", json!({}));
    let mut fixes = crate::support::preset_json("administrated");
    crate::support::merge(
        &mut fixes,
        json!({ "policy": { "fixed-membership": true } }),
    );
    deny(
        &r,
        json!({ "actor": user(BOB, "phone"), "action": "update-policy", "policy": fixes }),
        "not-allowed",
        "SEED-POLICY",
    );
    let mut mutes = crate::support::preset_json("administrated");
    crate::support::merge(&mut mutes, json!({ "voice": { "revoked": [BOB] } }));
    deny(
        &r,
        json!({ "actor": user(ALICE, "phone"), "action": "update-policy", "policy": mutes }),
        "invalid-policy",
        "SEED-POLICY-SHAPE",
    );
}

#[test]
fn seed_max_users_counts_people_not_system_users() {
    // Four occupants, two system users (owning-system, system-auth) and an outcast.
    let full = room("administrated", json!({ "policy": { "max-users": 4 } }));
    deny(
        &full,
        op_on(
            user(CAROL, "desktop"),
            "add-client",
            target(ZED, Some("c1")),
        ),
        "constraint-violated",
        "RP-5-LIMITS",
    );
    let roomy = room("administrated", json!({ "policy": { "max-users": 5 } }));
    allow(
        &roomy,
        op_on(
            user(CAROL, "desktop"),
            "add-client",
            target(ZED, Some("c1")),
        ),
        "SEED-ADD-3",
    );
}

#[test]
fn seed_policy_update_changes_the_rooms_system_users() {
    use mimi_policy::operation::Operation;
    let mut r = room("administrated", json!({}));
    let mut proposed = crate::support::preset_json("administrated");
    crate::support::merge(
        &mut proposed,
        json!({ "system-auth": ["system@provider2.example"] }),
    );
    let update = json!({ "actor": user(ALICE, "phone"), "action": "update-policy",
                         "policy": proposed });
    allow(&r, update.clone(), "SEED-POLICY");
    let authorized = mimi_policy::plan(&r, &Operation::from_json(update).unwrap()).unwrap();
    r.apply(&authorized);
    r.validate().unwrap();
    // The old provider's system user no longer acts; the new one does.
    deny(
        &r,
        op_on(
            system("system@provider1.example"),
            "remove-client",
            target(DAVE, Some("tablet")),
        ),
        "unknown-system-user",
        "SEED-SYSTEM-USER",
    );
    let zoe = room(
        "administrated",
        json!({ "system-auth": ["system@provider2.example"],
                "user-affiliations": { "member": [BOB, "zoe@provider2.example"] },
                "clients": { "zoe@provider2.example": ["phone"], DAVE: null } }),
    );
    allow(
        &zoe,
        op_on(
            system("system@provider2.example"),
            "remove-client",
            target("zoe@provider2.example", Some("phone")),
        ),
        "SEED-REMOVE-4",
    );
}
