//! One test per rule of the seed's "Authorizing MLS primitives", each with its allowed and
//! its denied side. Rooms are the seed presets (`mimi policy preset NAME`), patched per case.

use serde_json::json;

use crate::support::{allow, deny, room, system, target, user};

const ALICE: &str = "alice@example.com"; // owner
const CAROL: &str = "carol@example.com"; // admin
const BOB: &str = "bob@example.com"; // member
const DAVE: &str = "dave@provider1.example"; // member on another provider
const MALLORY: &str = "mallory@example.net"; // outcast
const ZED: &str = "zed@example.org"; // a stranger
const LOGGER: &str = "financial_transactions_chat_logger@example.com";

fn op(actor: serde_json::Value, action: &str) -> serde_json::Value {
    json!({ "actor": actor, "action": action })
}

fn op_on(actor: serde_json::Value, action: &str, t: serde_json::Value) -> serde_json::Value {
    json!({ "actor": actor, "action": action, "target": t })
}

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
