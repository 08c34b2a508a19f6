//! XEP-0045's moderation rules the seed adopts: ordering by affiliation, voice, affiliation
//! changes, the last owner; and role changes on a seed room's compiled role table.

use serde_json::{Value, json};

use crate::support::{allow, deny, room, system, target, user};

const ALICE: &str = "alice@example.com"; // owner
const CAROL: &str = "carol@example.com"; // admin
const BOB: &str = "bob@example.com"; // member
const DAVE: &str = "dave@provider1.example"; // member
const MALLORY: &str = "mallory@example.net"; // outcast

fn act(actor: Value, action: &str, who: &str) -> Value {
    json!({ "actor": actor, "action": action, "target": target(who, None) })
}

fn affiliate(actor: Value, who: &str, affiliation: &str) -> Value {
    json!({ "actor": actor, "action": "set-affiliation", "target": target(who, None),
            "affiliation": affiliation })
}

#[test]
fn muc_ban_by_admin_or_owner_of_lower_affiliation() {
    let r = room("administrated", json!({}));
    allow(&r, act(user(CAROL, "desktop"), "ban", BOB), "MUC-BAN");
    allow(&r, act(user(ALICE, "phone"), "ban", CAROL), "MUC-BAN");
    allow(&r, act(system("system@example.com"), "ban", BOB), "MUC-BAN");
    deny(
        &r,
        act(user(BOB, "phone"), "ban", DAVE),
        "not-allowed",
        "MUC-BAN",
    );
    deny(
        &r,
        act(user(CAROL, "desktop"), "ban", MALLORY),
        "no-change",
        "MUC-BAN",
    );
}

#[test]
fn muc_order_nobody_acts_on_equal_or_higher_affiliation() {
    let r = room(
        "administrated",
        json!({ "user-affiliations": { "admin": [CAROL, "ann@example.com"] },
                "clients": { "ann@example.com": ["phone"] } }),
    );
    for action in ["ban", "kick"] {
        deny(
            &r,
            act(user(CAROL, "desktop"), action, ALICE),
            "equal-or-higher-affiliation",
            "MUC-ORDER",
        );
        deny(
            &r,
            act(user(CAROL, "desktop"), action, "ann@example.com"),
            "equal-or-higher-affiliation",
            "MUC-ORDER",
        );
        deny(
            &r,
            act(user(CAROL, "desktop"), action, CAROL),
            "equal-or-higher-affiliation",
            "MUC-ORDER",
        );
    }
    deny(
        &r,
        json!({ "actor": user(CAROL, "desktop"), "action": "remove-client",
                "target": target(ALICE, Some("phone")) }),
        "equal-or-higher-affiliation",
        "MUC-ORDER",
    );
}

#[test]
fn muc_the_last_owner_is_never_banned() {
    let r = room("administrated", json!({}));
    deny(
        &r,
        act(system("system@example.com"), "ban", ALICE),
        "last-owner",
        "MUC-LAST-OWNER",
    );
}

#[test]
fn muc_kick_by_moderators() {
    let r = room("administrated", json!({}));
    allow(&r, act(user(CAROL, "desktop"), "kick", DAVE), "MUC-KICK");
    deny(
        &r,
        act(user(BOB, "phone"), "kick", DAVE),
        "not-allowed",
        "MUC-KICK",
    );
    deny(
        &r,
        act(user(CAROL, "desktop"), "kick", "zed@example.org"),
        "not-found",
        "MIMI-VALID",
    );
    let fixed = room("one-on-one", json!({}));
    deny(
        &fixed,
        act(user(ALICE, "phone"), "kick", BOB),
        "fixed-membership",
        "SEED-FIXED-REMOVE-4",
    );
}

#[test]
fn muc_unban_by_admin_or_owner() {
    let r = room("administrated", json!({}));
    allow(
        &r,
        act(user(CAROL, "desktop"), "unban", MALLORY),
        "MUC-UNBAN",
    );
    deny(
        &r,
        act(user(BOB, "phone"), "unban", MALLORY),
        "not-allowed",
        "MUC-UNBAN",
    );
    deny(
        &r,
        act(user(CAROL, "desktop"), "unban", BOB),
        "no-change",
        "MUC-UNBAN",
    );
}

#[test]
fn muc_voice_granted_and_revoked_by_moderators() {
    let r = room("moderated", json!({}));
    allow(
        &r,
        act(user(CAROL, "desktop"), "grant-voice", "dave@example.org"),
        "MUC-VOICE",
    );
    allow(
        &r,
        act(user(CAROL, "desktop"), "revoke-voice", BOB),
        "MUC-VOICE",
    );
    deny(
        &r,
        act(user(CAROL, "desktop"), "grant-voice", "erin@example.org"),
        "no-change",
        "MUC-VOICE",
    );
    deny(
        &r,
        act(user(BOB, "phone"), "grant-voice", "dave@example.org"),
        "not-allowed",
        "MUC-VOICE",
    );
}

#[test]
fn muc_voice_of_admin_or_owner_cannot_be_revoked() {
    let r = room("moderated", json!({}));
    deny(
        &r,
        act(user(ALICE, "phone"), "revoke-voice", CAROL),
        "cannot-revoke-moderator-voice",
        "MUC-VOICE-ADMIN",
    );
    deny(
        &r,
        act(user(CAROL, "desktop"), "revoke-voice", ALICE),
        "cannot-revoke-moderator-voice",
        "MUC-VOICE-ADMIN",
    );
}

#[test]
fn muc_affiliation_1_admins_manage_members_and_outcasts() {
    let r = room("administrated", json!({}));
    allow(
        &r,
        affiliate(user(CAROL, "desktop"), "zed@example.org", "member"),
        "MUC-AFFILIATION-1",
    );
    allow(
        &r,
        affiliate(user(CAROL, "desktop"), BOB, "outcast"),
        "MUC-AFFILIATION-1",
    );
    deny(
        &r,
        affiliate(user(BOB, "phone"), "zed@example.org", "member"),
        "not-allowed",
        "MUC-AFFILIATION-1",
    );
    deny(
        &r,
        affiliate(user(CAROL, "desktop"), BOB, "member"),
        "no-change",
        "MUC-AFFILIATION-1",
    );
}

#[test]
fn muc_affiliation_2_only_owners_manage_admins_and_owners() {
    let r = room("administrated", json!({}));
    allow(
        &r,
        affiliate(user(ALICE, "phone"), BOB, "admin"),
        "MUC-AFFILIATION-2",
    );
    allow(
        &r,
        affiliate(user(ALICE, "phone"), CAROL, "owner"),
        "MUC-AFFILIATION-2",
    );
    deny(
        &r,
        affiliate(user(CAROL, "desktop"), BOB, "admin"),
        "not-allowed",
        "MUC-AFFILIATION-2",
    );
    deny(
        &r,
        affiliate(user(CAROL, "desktop"), ALICE, "member"),
        "equal-or-higher-affiliation",
        "MUC-ORDER",
    );
}

#[test]
fn muc_last_owner_cannot_step_down() {
    let r = room("administrated", json!({}));
    deny(
        &r,
        affiliate(user(ALICE, "phone"), ALICE, "admin"),
        "last-owner",
        "MUC-LAST-OWNER",
    );
    let two = room(
        "administrated",
        json!({ "user-affiliations": { "owner": [ALICE, CAROL], "admin": [] } }),
    );
    allow(
        &two,
        affiliate(user(ALICE, "phone"), ALICE, "admin"),
        "MUC-AFFILIATION-2",
    );
}

#[test]
fn muc_fixed_room_occupants_keep_an_occupant_affiliation() {
    let r = room("one-on-one", json!({}));
    allow(
        &r,
        affiliate(user(ALICE, "phone"), BOB, "member"),
        "MUC-AFFILIATION-2",
    );
    deny(
        &r,
        affiliate(user(ALICE, "phone"), BOB, "none"),
        "fixed-membership",
        "SEED-FIXED-REMOVE-4",
    );
}

#[test]
fn seed_change_role_uses_the_compiled_role_table() {
    use mimi_policy::seed::seed_role as R;
    let r = room("administrated", json!({}));
    let change = |actor: Value, who: &str, role: u32| json!({ "actor": actor, "action": "change-role", "target": target(who, None), "role": role });
    allow(
        &r,
        change(user(CAROL, "desktop"), BOB, R::BANNED),
        "RP-8.1.3-BAN",
    );
    allow(
        &r,
        change(user(CAROL, "desktop"), BOB, R::MUTED_MEMBER),
        "RP-8.1.3-ROLE",
    );
    deny(
        &r,
        change(user(CAROL, "desktop"), BOB, R::ADMIN),
        "role-change-not-authorized",
        "RP-8.1.3-ROLE",
    );
    allow(
        &r,
        change(user(ALICE, "phone"), BOB, R::ADMIN),
        "RP-8.1.3-ROLE",
    );
    deny(
        &r,
        change(user(ALICE, "phone"), ALICE, R::ADMIN),
        "constraint-violated",
        "RP-3-CONSTRAINTS",
    );
    deny(
        &r,
        change(user(BOB, "phone"), DAVE, R::MUTED_MEMBER),
        "missing-capability",
        "RP-8.1.3-ROLE",
    );
}

#[test]
fn muc_owning_system_bans_and_drops_but_does_not_promote() {
    let r = room(
        "administrated",
        json!({ "user-affiliations": { "owner": [ALICE, CAROL], "admin": [] } }),
    );
    let sys = system("system@example.com");
    allow(
        &r,
        affiliate(sys.clone(), ALICE, "outcast"),
        "MUC-AFFILIATION-2",
    );
    deny(
        &r,
        affiliate(sys.clone(), BOB, "admin"),
        "not-allowed",
        "MUC-AFFILIATION-2",
    );
    let ban_by_role = json!({ "actor": sys, "action": "change-role",
                              "target": target(ALICE, None), "role": 1 });
    allow(&r, ban_by_role, "RP-8.1.3-BAN");
}
