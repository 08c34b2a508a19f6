//! Seed rules for ways in: create, add, KeyPackage access, join, GroupInfo, knock.

use serde_json::json;

use super::*;
use crate::support::{allow, deny, room, system, target, user};

#[test]
fn seed_create_by_future_owner_or_admin_or_owning_system() {
    let r = room("administrated", json!({}));
    allow(&r, op(user(ALICE, "phone"), "create-room"), "SEED-CREATE");
    allow(&r, op(user(CAROL, "desktop"), "create-room"), "SEED-CREATE");
    allow(
        &r,
        op(system("system@example.com"), "create-room"),
        "SEED-CREATE",
    );
    deny(
        &r,
        op(user(BOB, "phone"), "create-room"),
        "not-allowed",
        "SEED-CREATE",
    );
    deny(
        &r,
        op(system("system@evil.example"), "create-room"),
        "unknown-system-user",
        "SEED-SYSTEM-USER",
    );
}

#[test]
fn seed_create_fixed_room_is_unique_per_participant_set() {
    let r = room("one-on-one", json!({}));
    let id = r.id.clone().unwrap();
    allow(&r, op(user(ALICE, "phone"), "create-room"), "SEED-CREATE");
    let again = json!({ "actor": user(ALICE, "phone"), "action": "create-room",
                        "existing-rooms": [id.as_str()] });
    deny(&r, again, "fixed-room-exists", "SEED-CREATE-FIXED");
    let misnamed = room("one-on-one", json!({ "id": "mimi://example.com/r/dm" }));
    deny(
        &misnamed,
        op(user(ALICE, "phone"), "create-room"),
        "invalid-policy",
        "SEED-CREATE-FIXED",
    );
}

#[test]
fn seed_add_1_client_of_an_occupant() {
    let r = room("administrated", json!({}));
    allow(
        &r,
        op_on(
            user(BOB, "phone"),
            "add-client",
            target(DAVE, Some("phone")),
        ),
        "SEED-ADD-1",
    );
    deny(
        &r,
        op_on(user(BOB, "phone"), "add-client", target(ZED, Some("c1"))),
        "not-allowed",
        "SEED-ADD-4",
    );
}

#[test]
fn seed_add_2_anyone_in_an_open_room() {
    let open = room("open", json!({}));
    allow(
        &open,
        op_on(user(BOB, "phone"), "add-client", target(ZED, Some("c1"))),
        "SEED-ADD-2",
    );
    let closed = room(
        "open",
        json!({ "policy": { "membership": "members-only" } }),
    );
    deny(
        &closed,
        op_on(user(BOB, "phone"), "add-client", target(ZED, Some("c1"))),
        "not-allowed",
        "SEED-ADD-4",
    );
}

#[test]
fn seed_add_3_admin_or_owner_in_flexible_room_only() {
    let r = room("administrated", json!({}));
    allow(
        &r,
        op_on(
            user(CAROL, "desktop"),
            "add-client",
            target(ZED, Some("c1")),
        ),
        "SEED-ADD-3",
    );
    let fixed = room("one-on-one", json!({}));
    deny(
        &fixed,
        op_on(user(ALICE, "phone"), "add-client", target(ZED, Some("c1"))),
        "fixed-membership",
        "SEED-ADD-FIXED",
    );
    // A fixed room still takes a new client of one of its occupants.
    allow(
        &fixed,
        op_on(
            user(ALICE, "phone"),
            "add-client",
            target(BOB, Some("tablet")),
        ),
        "SEED-ADD-1",
    );
}

#[test]
fn seed_multi_device_check_on_add_and_join() {
    let single = room("fixed-membership-logging", json!({}));
    deny(
        &single,
        op_on(
            user(ALICE, "phone"),
            "add-client",
            target(BOB, Some("laptop")),
        ),
        "single-device",
        "SEED-MULTI-DEVICE",
    );
    deny(
        &single,
        op(user(BOB, "laptop"), "external-join"),
        "single-device",
        "SEED-MULTI-DEVICE",
    );
    let multi = room(
        "fixed-membership-logging",
        json!({ "policy": { "multi-device": true } }),
    );
    allow(
        &multi,
        op(user(BOB, "laptop"), "external-join"),
        "SEED-JOIN-1",
    );
}

#[test]
fn seed_add_needs_the_logger_present_in_a_logging_room() {
    let patch = json!({
        "policy": { "logging": true },
        "preauth-member": [{ "system": LOGGER }],
        "clients": { LOGGER: null }
    });
    let r = room("administrated", patch);
    deny(
        &r,
        op_on(
            user(CAROL, "desktop"),
            "add-client",
            target(ZED, Some("c1")),
        ),
        "logger-required",
        "SEED-SYSTEM-CLIENT",
    );
    allow(
        &r,
        op_on(
            user(CAROL, "desktop"),
            "add-client",
            target(LOGGER, Some("archiver")),
        ),
        "SEED-SYSTEM-CLIENT",
    );
    let with_logger = room(
        "administrated",
        json!({ "policy": { "logging": true }, "preauth-member": [{ "system": LOGGER }],
                "clients": { LOGGER: ["archiver"] } }),
    );
    allow(
        &with_logger,
        op_on(
            user(CAROL, "desktop"),
            "add-client",
            target(ZED, Some("c1")),
        ),
        "SEED-ADD-3",
    );
}

#[test]
fn seed_system_client_needs_logging_or_bots() {
    let no_bots = room(
        "administrated",
        json!({ "preauth-member": [{ "system": LOGGER }] }),
    );
    deny(
        &no_bots,
        op_on(
            user(CAROL, "desktop"),
            "add-client",
            target(LOGGER, Some("bot")),
        ),
        "not-allowed",
        "SEED-SYSTEM-CLIENT",
    );
    let bots = room(
        "administrated",
        json!({ "policy": { "bots": true }, "preauth-member": [{ "system": LOGGER }] }),
    );
    allow(
        &bots,
        op_on(
            user(CAROL, "desktop"),
            "add-client",
            target(LOGGER, Some("bot")),
        ),
        "SEED-SYSTEM-CLIENT",
    );
}

#[test]
fn seed_outcast_is_never_added_nor_joins() {
    let open = room("open", json!({}));
    deny(
        &open,
        op_on(
            user(ALICE, "phone"),
            "add-client",
            target(MALLORY, Some("c1")),
        ),
        "banned",
        "SEED-OUTCAST",
    );
    deny(
        &open,
        op(user(MALLORY, "c1"), "external-join"),
        "banned",
        "SEED-OUTCAST",
    );
    allow(&open, op(user(ZED, "c1"), "external-join"), "SEED-JOIN-2");
}

#[test]
fn seed_commits_come_from_clients_in_the_group() {
    let r = room("administrated", json!({}));
    deny(
        &r,
        op_on(user(CAROL, "ghost"), "add-client", target(ZED, Some("c1"))),
        "not-in-room",
        "SEED-IN-ROOM",
    );
    deny(
        &r,
        op_on(
            system("system@example.com"),
            "add-client",
            target(ZED, Some("c1")),
        ),
        "not-in-room",
        "SEED-IN-ROOM",
    );
    allow(
        &r,
        op_on(
            user(CAROL, "desktop"),
            "add-client",
            target(ZED, Some("c1")),
        ),
        "SEED-ADD-3",
    );
}

#[test]
fn seed_keypackage_access_four_rules() {
    let r = room("administrated", json!({}));
    let kp = |actor: &str, extra: serde_json::Value| {
        let mut o = op_on(user(actor, "phone"), "fetch-keypackage", target(ZED, None));
        crate::support::merge(&mut o, extra);
        o
    };
    allow(&r, kp(ZED, json!({})), "SEED-KP-1");
    allow(&r, kp(BOB, json!({ "consent": true })), "SEED-KP-2");
    allow(
        &r,
        kp(
            BOB,
            json!({ "outstanding-keypackages": 1, "keypackage-quota": 2 }),
        ),
        "SEED-KP-3",
    );
    allow(&r, kp(BOB, json!({ "knocked": true })), "SEED-KP-4");
    deny(
        &r,
        kp(
            BOB,
            json!({ "outstanding-keypackages": 2, "keypackage-quota": 2 }),
        ),
        "no-consent",
        "SEED-KP-5",
    );
    deny(&r, kp(BOB, json!({})), "no-consent", "SEED-KP-5");
}

#[test]
fn seed_join_1_occupant_or_preauthorized() {
    let r = room("administrated", json!({}));
    allow(&r, op(user(BOB, "tablet"), "external-join"), "SEED-JOIN-1");
    allow(
        &r,
        op(user("zoe@provider2.example", "c1"), "external-join"),
        "SEED-JOIN-1",
    );
    let sales = json!({ "actor": { "user": "yuri@example.com", "client": "c1",
                                   "claims": { "team": ["sales@example.com"] } },
                        "action": "external-join" });
    allow(&r, sales, "SEED-JOIN-1");
    let semi_open = room("semi-open", json!({}));
    let eng = json!({ "actor": { "user": "ed@example.com", "client": "c1",
                                 "claims": { "workgroup": ["engineering@example.com"] } },
                      "action": "external-join" });
    allow(&semi_open, eng, "SEED-JOIN-1");
    deny(
        &semi_open,
        op(user(ZED, "c1"), "external-join"),
        "registration-required",
        "SEED-JOIN-5",
    );
    deny(
        &r,
        op(user(BOB, "phone"), "external-join"),
        "already-in-room",
        "MIMI-VALID",
    );
}

#[test]
fn seed_join_knock_first_requires_a_knock() {
    let r = room("administrated", json!({}));
    deny(
        &r,
        op(user(ZED, "c1"), "external-join"),
        "knock-required",
        "SEED-JOIN-KNOCK",
    );
}

#[test]
fn seed_join_2_open_room() {
    let open = room("open", json!({}));
    allow(&open, op(user(ZED, "c1"), "external-join"), "SEED-JOIN-2");
    let moderated = room("moderated", json!({}));
    allow(
        &moderated,
        op(user(ZED, "c1"), "external-join"),
        "SEED-JOIN-2",
    );
}

#[test]
fn seed_join_3_link_signed_by_admin_owner_or_system() {
    let r = room(
        "administrated",
        json!({ "policy": { "password": "s3cret" } }),
    );
    let join = |link: serde_json::Value| json!({ "actor": user(ZED, "c1"), "action": "external-join", "link": link });
    allow(
        &r,
        join(json!({ "issued-by": CAROL, "password": "s3cret" })),
        "SEED-JOIN-3",
    );
    allow(
        &r,
        join(json!({ "issued-by": "system@example.com", "password": "s3cret" })),
        "SEED-JOIN-3",
    );
    deny(
        &r,
        join(json!({ "issued-by": BOB, "password": "s3cret" })),
        "link-not-trusted",
        "SEED-JOIN-3",
    );
    deny(
        &r,
        join(json!({ "issued-by": CAROL, "password": "s3cret", "expired": true })),
        "link-expired",
        "SEED-JOIN-3",
    );
    deny(
        &r,
        join(json!({ "issued-by": CAROL, "password": "s3cret", "uses": 3, "max-uses": 3 })),
        "link-exhausted",
        "SEED-JOIN-3",
    );
    deny(
        &r,
        join(json!({ "issued-by": CAROL, "password": "guess" })),
        "bad-password",
        "SEED-JOIN-3",
    );
    deny(
        &r,
        join(json!({ "issued-by": CAROL })),
        "bad-password",
        "SEED-JOIN-3",
    );
}

#[test]
fn seed_join_3_listed_link_is_trusted_unlisted_is_revoked() {
    let r = room(
        "administrated",
        json!({ "policy": { "password": "s3cret",
                            "join-links": ["https://example.com/j/7f3a"] } }),
    );
    let join = |link: serde_json::Value| json!({ "actor": user(ZED, "c1"), "action": "external-join", "link": link });
    // A link that is one of the room's join links was vetted when it was listed.
    allow(
        &r,
        join(json!({ "code": "https://example.com/j/7f3a", "password": "s3cret" })),
        "SEED-JOIN-3",
    );
    // One that is not listed is unknown or revoked, whoever is said to have issued it.
    deny(
        &r,
        join(json!({ "code": "https://example.com/j/0000", "password": "s3cret" })),
        "bad-link",
        "SEED-JOIN-3",
    );
    deny(
        &r,
        join(
            json!({ "code": "https://example.com/j/0000", "issued-by": CAROL,
                     "password": "s3cret" }),
        ),
        "bad-link",
        "SEED-JOIN-3",
    );
    // The room password still applies.
    deny(
        &r,
        join(json!({ "code": "https://example.com/j/7f3a" })),
        "bad-password",
        "SEED-JOIN-3",
    );
    // A room without join links has none to match.
    let bare = room("administrated", json!({}));
    deny(
        &bare,
        join(json!({ "code": "https://example.com/j/7f3a" })),
        "bad-link",
        "SEED-JOIN-3",
    );
}

#[test]
fn seed_join_link_without_issuer_or_code_is_a_bad_operation() {
    let op = json!({ "actor": user(ZED, "c1"), "action": "external-join",
                     "link": { "password": "x" } });
    let err = mimi_policy::Operation::from_json(op).err().unwrap();
    assert!(err.to_string().contains("issued-by"), "{err}");
}

#[test]
fn seed_join_4_logger_of_a_logging_room() {
    let r = room(
        "fixed-membership-logging",
        json!({ "clients": { LOGGER: null } }),
    );
    allow(
        &r,
        op(user(LOGGER, "archiver"), "external-join"),
        "SEED-JOIN-4",
    );
    let not_logging = room(
        "fixed-membership-logging",
        json!({ "policy": { "logging": false }, "clients": { LOGGER: null } }),
    );
    deny(
        &not_logging,
        op(user(LOGGER, "archiver"), "external-join"),
        "not-allowed",
        "SEED-SYSTEM-CLIENT",
    );
}

#[test]
fn seed_join_fixed_room_takes_only_occupants_devices() {
    let r = room("one-on-one", json!({}));
    allow(&r, op(user(BOB, "tablet"), "external-join"), "SEED-JOIN-1");
    deny(
        &r,
        op(user(ZED, "c1"), "external-join"),
        "fixed-membership",
        "SEED-JOIN-FIXED",
    );
    let with_link = json!({ "actor": user(ZED, "c1"), "action": "external-join",
                            "link": { "issued-by": ALICE } });
    deny(&r, with_link, "fixed-membership", "SEED-JOIN-FIXED");
}

#[test]
fn seed_groupinfo_access_follows_the_join_rules() {
    let open = room("open", json!({}));
    allow(&open, op(user(ZED, "c1"), "fetch-groupinfo"), "SEED-JOIN-2");
    let r = room("administrated", json!({}));
    deny(
        &r,
        op(user(ZED, "c1"), "fetch-groupinfo"),
        "knock-required",
        "SEED-JOIN-KNOCK",
    );
    allow(
        &r,
        op(user(BOB, "tablet"), "fetch-groupinfo"),
        "SEED-JOIN-1",
    );
}

#[test]
fn seed_knock_in_knock_first_rooms_only() {
    let r = room("administrated", json!({}));
    allow(&r, op(user(ZED, "c1"), "knock"), "SEED-KNOCK");
    deny(
        &r,
        op(user(MALLORY, "c1"), "knock"),
        "banned",
        "SEED-OUTCAST",
    );
    deny(
        &r,
        op(user(BOB, "phone"), "knock"),
        "no-change",
        "SEED-KNOCK",
    );
    let open = room("open", json!({}));
    deny(
        &open,
        op(user(ZED, "c1"), "knock"),
        "knock-not-enabled",
        "SEED-KNOCK",
    );
}

#[test]
fn seed_accept_knock_by_admin_or_owner() {
    let r = room("administrated", json!({}));
    let accept = |actor: serde_json::Value, who: &str, knocked: bool| {
        json!({ "actor": actor, "action": "accept-knock", "target": target(who, None),
                "knocked": knocked })
    };
    allow(
        &r,
        accept(user(CAROL, "desktop"), ZED, true),
        "SEED-KNOCK-ACCEPT",
    );
    deny(
        &r,
        accept(user(CAROL, "desktop"), ZED, false),
        "no-knock",
        "SEED-KNOCK-ACCEPT",
    );
    deny(
        &r,
        accept(user(BOB, "phone"), ZED, true),
        "not-allowed",
        "SEED-KNOCK-ACCEPT",
    );
    deny(
        &r,
        accept(user(CAROL, "desktop"), MALLORY, true),
        "banned",
        "SEED-OUTCAST",
    );
}

#[test]
fn seed_system_users_do_not_join_knock_or_leave_as_users() {
    let r = room("administrated", json!({}));
    for action in ["external-join", "knock", "leave"] {
        deny(
            &r,
            op(system("system@example.com"), action),
            "not-applicable",
            "MIMI-USER-ACTOR",
        );
    }
}

/// Found by the round-trip property: a system user that left as a user and came back by
/// external join was still listed in owning-system, and its document no longer loaded.
#[test]
fn seed_system_user_signed_in_as_a_user_cannot_leave_its_place_in_the_policy() {
    let r = room("open", json!({}));
    deny(
        &r,
        op(user("system@example.com", "phone"), "leave"),
        "system-user-protected",
        "SEED-SYSTEM-USER",
    );
}

#[test]
fn seed_link_issued_by_another_providers_system_user_is_not_trusted() {
    let r = room("administrated", json!({}));
    let join = json!({ "actor": user(ZED, "c1"), "action": "external-join",
                       "link": { "issued-by": "system@provider1.example" } });
    deny(&r, join, "link-not-trusted", "SEED-JOIN-3");
}

#[test]
fn seed_accept_knock_needs_a_knock_first_room_and_an_outsider() {
    let accept = |who: &str| {
        json!({ "actor": user(CAROL, "desktop"), "action": "accept-knock",
                "target": target(who, None), "knocked": true })
    };
    let r = room("administrated", json!({}));
    deny(&r, accept(BOB), "no-change", "SEED-KNOCK-ACCEPT");
    let members_only = room("semi-open", json!({}));
    deny(
        &members_only,
        accept(ZED),
        "knock-not-enabled",
        "SEED-KNOCK-ACCEPT",
    );
    deny(
        &r,
        json!({ "actor": system("system@provider1.example"), "action": "accept-knock",
                "target": target(ZED, None), "knocked": true }),
        "not-allowed",
        "SEED-KNOCK-ACCEPT",
    );
}

#[test]
fn mimi_rejoin_only_a_client_the_group_holds_comes_back_in_its_own_place() {
    // An administrated room lets no stranger join by external commit.
    let r = room("administrated", json!({}));
    deny(
        &r,
        op(user(ZED, "c1"), "external-join"),
        "knock-required",
        "SEED-JOIN-KNOCK",
    );
    allow(&r, op(user(BOB, "phone"), "rejoin"), "MIMI-REJOIN");
    for (who, client) in [(BOB, "tablet"), (ZED, "c1"), (MALLORY, "c1")] {
        deny(
            &r,
            op(user(who, client), "rejoin"),
            "not-found",
            "MIMI-REJOIN",
        );
    }
}
