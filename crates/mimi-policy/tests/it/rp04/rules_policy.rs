//! One test per RP-04 rule: messages, policy updates, destruction, MLS operations, the
//! operational policy, role constraints and room limits.

use super::fixture::*;
use super::harness::*;
use super::rules::open_table;
use mimi_policy::capability::Capability as C;
use mimi_policy::component::{Flag, MinDefaultMaxTime};
use mimi_policy::role::{BANNED, NO_ROLE, RoleTable};
use mimi_policy::{Room, plan};
use serde_json::{Value, json};

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
