//! One test per RP-04 rule, each with an allowed and a denied case.

use super::fixture::*;
use super::harness::*;
use mimi_policy::capability::Capability as C;
use mimi_policy::component::{Flag, MinDefaultMaxTime};
use mimi_policy::role::{BANNED, NO_ROLE, Role, RoleChangeTargets, RoleTable};
use mimi_policy::{Room, plan};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// One test per RP-04 rule.
// ---------------------------------------------------------------------------------------------

#[test]
fn rp04_8_1_1_add_participant_needs_authorized_change_from_0() {
    let a1 = cast_room(A1, json!({}));
    let a2 = cast_room(A2, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, add(u(OSCAR), NINA, "phone", Some(ORDINARY_USER)), Allow(ADD)),
        (&a1, add(u(OSCAR), NINA, "phone", Some(GROUP_ADMIN)), Deny(NOT_AUTHORIZED, ADD)),
        (&a1, add(u(GINA), NINA, "phone", Some(GROUP_ADMIN)), Allow(ADD)),
        (&a1, add(u(GINA), NINA, "phone", Some(SUPER_ADMIN)), Deny(NOT_AUTHORIZED, ADD)),
        // A.2's ordinary_user lacks canAddParticipant; its group_admin has it.
        (&a2, add(u(OSCAR), NINA, "phone", Some(ORDINARY_USER)), Deny(MISSING, ADD)),
        (&a2, add(u(GINA), NINA, "phone", Some(ORDINARY_USER)), Allow(ADD)),
        // A banned user is not added back.
        (&a1, add(u(GINA), BART, "phone", Some(ORDINARY_USER)), Deny("banned", ADD)),
    ];
    expect_all(&cases);
    // Without a role, the adder's first non-banned target from 0: (0,[1,2,3]) gives 2.
    let next = after(&a1, &add(u(GINA), NINA, "phone", None));
    assert_eq!(next.role_of(&uid(NINA)), ORDINARY_USER);
    assert!(next.has_client(&uid(NINA), "phone"));
}

#[test]
fn rp04_8_1_1_add_own_client_needs_can_add_own_client() {
    let a1 = cast_room(A1, json!({}));
    let a3 = cast_room(A3, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, add(u(OLGA), OLGA, "laptop", None), Allow(OWN_CLIENT)),
        (&a1, join(OLGA, "laptop", json!({})), Allow(OWN_CLIENT)),
        (&a1, add(u(OLGA), OLGA, "phone", None), Deny("already-in-room", "MIMI-VALID")),
        // A.3's guest lacks canAddOwnClient; the attendee has it.
        (&a3, add(u(GUS), GUS, "laptop", None), Deny(MISSING, OWN_CLIENT)),
        (&a3, join(GUS, "laptop", json!({})), Deny(MISSING, OWN_CLIENT)),
        (&a3, join(ADA, "laptop", json!({})), Allow(OWN_CLIENT)),
    ];
    expect_all(&cases);
    let next = after(&a1, &join(OLGA, "laptop", json!({})));
    assert_eq!(next.role_of(&uid(OLGA)), ORDINARY_USER);
    assert_eq!(next.client_count_of(&uid(OLGA)), 2);
}

/// A.1 with role 0 given canOpenJoin and the change (0,[2]).
fn open_table() -> RoleTable {
    edit_role(table(A1), NO_ROLE, |r| {
        r.capabilities.insert(C::CAN_OPEN_JOIN);
        r.authorized_role_changes.push(RoleChangeTargets {
            from: NO_ROLE,
            to: vec![ORDINARY_USER],
        });
    })
}

#[test]
fn rp04_8_1_1_open_join_needs_can_open_join_on_role_0() {
    let open = room(&open_table(), &cast(A1), json!({}));
    let no_target = edit_role(table(A1), NO_ROLE, |r| {
        r.capabilities.insert(C::CAN_OPEN_JOIN);
    });
    let no_target = room(&no_target, &cast(A1), json!({}));
    let closed = cast_room(A1, json!({}));
    let a2 = cast_room(A2, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&open, join(NINA, "phone", json!({})), Allow(OPEN_JOIN)),
        (&open, join(NINA, "phone", json!({ "role": ORDINARY_USER })), Allow(OPEN_JOIN)),
        // Only into a role role 0 may change to.
        (&open, join(NINA, "phone", json!({ "role": GROUP_ADMIN })), Deny("registration-required", JOIN_DENIED)),
        (&no_target, join(NINA, "phone", json!({})), Deny("registration-required", JOIN_DENIED)),
        (&closed, join(NINA, "phone", json!({})), Deny("registration-required", JOIN_DENIED)),
        // A.2's role 0 has the change (0,[2]) but not canOpenJoin.
        (&a2, join(NINA, "phone", json!({})), Deny("registration-required", JOIN_DENIED)),
        (&open, join(BART, "phone", json!({})), Deny("banned", JOIN_DENIED)),
    ];
    expect_all(&cases);
    let next = after(&open, &join(NINA, "phone", json!({})));
    assert_eq!(next.role_of(&uid(NINA)), ORDINARY_USER);
}

#[test]
fn rp04_8_1_1_preauthorized_join_takes_the_first_matching_entry() {
    let group = [claim("group", "eng")];
    let domain_b = [claim("domain", "b.example")];
    let domain_c = [claim("domain", "c.example")];
    let domain_a = [claim("domain", "a.example")];
    let ned = [user_claim(NED)];
    // NED matches the c.example entry (the policy_enforcer, which lacks canJoinIfPreauthorized)
    // before his own entry: the first match decides.
    let entries = preauth(&[
        (&group, GROUP_ADMIN),
        (&domain_b, ORDINARY_USER),
        (&domain_c, POLICY_ENFORCER),
        (&ned, ORDINARY_USER),
        (&domain_a, ORDINARY_USER),
    ]);
    let a2 = cast_room(A2, entries.clone());
    let ned_first = cast_room(
        A2,
        preauth(&[(&ned, ORDINARY_USER), (&domain_c, POLICY_ENFORCER)]),
    );
    // A.1 has no canJoinIfPreauthorized.
    let a1 = cast_room(A1, entries);
    let nina_in_eng = json!({ "user": NINA, "client": "phone", "claims": { "group": ["eng"] } });
    let eng_join = |fields: Value| op(nina_in_eng.clone(), "external-join", fields);
    #[rustfmt::skip]
    let cases = [
        (&a2, join(NINA, "phone", json!({})), Allow(PREAUTH_JOIN)),
        // The group entry comes first and targets role 3; role 0's (0,[2]) is not consulted.
        (&a2, eng_join(json!({})), Allow(PREAUTH_JOIN)),
        (&a2, eng_join(json!({ "role": ORDINARY_USER })), Deny(NOT_AUTHORIZED, PREAUTH_JOIN)),
        (&a2, join(NED, "phone", json!({})), Deny("registration-required", JOIN_DENIED)),
        (&ned_first, join(NED, "phone", json!({})), Allow(PREAUTH_JOIN)),
        (&a1, join(NINA, "phone", json!({})), Deny("registration-required", JOIN_DENIED)),
        // A banned user does not rejoin through pre-authorization.
        (&a2, join(BART, "phone", json!({})), Deny("banned", JOIN_DENIED)),
    ];
    expect_all(&cases);
    assert_eq!(
        after(&a2, &eng_join(json!({}))).role_of(&uid(NINA)),
        GROUP_ADMIN
    );
    assert_eq!(
        after(&a2, &join(NINA, "phone", json!({}))).role_of(&uid(NINA)),
        ORDINARY_USER
    );
}

#[test]
fn rp04_8_1_1_join_code_must_be_valid_and_trusted() {
    let a2 = cast_room(A2, json!({}));
    let a1 = cast_room(A1, json!({}));
    // A.2's group_admin holds canCreateJoinCode; the ordinary_user does not.
    let code = |issuer: &str, fields: Value| join(NINA, "phone", link(issuer, fields));
    #[rustfmt::skip]
    let cases = [
        (&a2, code(GINA, json!({ "uses": 4, "max-uses": 5 })), Allow(JOIN_CODE)),
        (&a2, code(SAM, json!({})), Allow(JOIN_CODE)),
        (&a2, code(GINA, json!({ "expired": true })), Deny("link-expired", JOIN_CODE)),
        (&a2, code(GINA, json!({ "uses": 5, "max-uses": 5 })), Deny("link-exhausted", JOIN_CODE)),
        (&a2, code(OSCAR, json!({})), Deny("link-not-trusted", JOIN_CODE)),
        (&a2, code(NED, json!({})), Deny("link-not-trusted", JOIN_CODE)),
        // Role 0 of A.1 lacks canUseJoinCode.
        (&a1, code(GINA, json!({})), Deny("registration-required", JOIN_DENIED)),
    ];
    expect_all(&cases);
}

#[test]
fn rp04_8_1_2_remove_participant_is_a_change_to_role_0() {
    let a1 = cast_room(A1, json!({}));
    let a2 = cast_room(A2, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, change(u(OSCAR), OLGA, NO_ROLE), Allow(REMOVE)),
        // ordinary_user's changes are (0,[2]) and (2,[0]): nothing from 3.
        (&a1, change(u(OSCAR), GINA, NO_ROLE), Deny(NOT_AUTHORIZED, REMOVE)),
        // A.2's ordinary_user lacks canRemoveParticipant.
        (&a2, change(u(OSCAR), OLGA, NO_ROLE), Deny(MISSING, REMOVE)),
        (&a2, change(u(GINA), OLGA, NO_ROLE), Allow(REMOVE)),
    ];
    expect_all(&cases);
    let next = after(&a1, &change(u(OSCAR), OLGA, NO_ROLE));
    assert!(!next.participants().contains(&uid(OLGA)));
    assert_eq!(next.client_count_of(&uid(OLGA)), 0);
}

#[test]
fn rp04_8_1_2_kick_needs_can_kick_and_keeps_min_active() {
    let a1 = cast_room(A1, json!({}));
    let a4 = cast_room(A4, json!({}));
    let second_b_admin = person("bree@b.example", ORG_B_ADMIN, PHONE);
    let a4_two = room(table(A4), &plus(cast(A4), &[second_b_admin]), json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, on(u(GINA), "kick", OSCAR), Allow(KICK)),
        (&a1, on(u(OSCAR), "kick", OLGA), Deny(MISSING, KICK)),
        // Removing another user's client is a kick too.
        (&a1, remove_client(u(GINA), OSCAR, "laptop"), Allow(KICK)),
        (&a1, remove_client(u(OLGA), OSCAR, "laptop"), Deny(MISSING, KICK)),
        // org_b_admin: min_active 1.
        (&a4, on(u(SAM), "kick", BEA), Deny(VIOLATED, CONSTRAINTS)),
        (&a4_two, on(u(SAM), "kick", BEA), Allow(KICK)),
    ];
    expect_all(&cases);
    let next = after(&a1, &on(u(GINA), "kick", OSCAR));
    assert_eq!(next.role_of(&uid(OSCAR)), ORDINARY_USER);
    assert_eq!(next.client_count_of(&uid(OSCAR)), 0);
}

#[test]
fn rp04_8_1_2_remove_own_client_needs_can_remove_own_client() {
    let a1 = cast_room(A1, json!({}));
    let a3 = cast_room(A3, json!({}));
    let a4 = cast_room(A4, json!({}));
    let bea_two = person(BEA, ORG_B_ADMIN, &["phone", "laptop"]);
    let a4_bea_two = room(table(A4), &replace(cast(A4), BEA, Some(bea_two)), json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, remove_client(u(OSCAR), OSCAR, "laptop"), Allow(REMOVE_OWN_CLIENT)),
        (&a1, plain(u_on(OSCAR, "laptop"), "self-remove"), Allow(REMOVE_OWN_CLIENT)),
        // A.3's guest lacks canRemoveOwnClient.
        (&a3, remove_client(u(GUS), GUS, "phone"), Deny(MISSING, REMOVE_OWN_CLIENT)),
        (&a3, plain(u(GUS), "self-remove"), Deny(MISSING, REMOVE_OWN_CLIENT)),
        // BEA's last client keeps org_b_admin's min_active 1.
        (&a4, remove_client(u(BEA), BEA, "phone"), Deny(VIOLATED, CONSTRAINTS)),
        (&a4_bea_two, remove_client(u(BEA), BEA, "phone"), Allow(REMOVE_OWN_CLIENT)),
    ];
    expect_all(&cases);
    let next = after(&a1, &plain(u_on(OSCAR, "laptop"), "self-remove"));
    assert!(next.has_client(&uid(OSCAR), "phone") && !next.has_client(&uid(OSCAR), "laptop"));
}

#[test]
fn rp04_8_1_2_leave_needs_can_remove_self_and_a_change_to_0() {
    let a1 = cast_room(A1, json!({}));
    let no_way_out = edit_role(table(A1), ORDINARY_USER, |r| {
        r.authorized_role_changes
            .retain(|c| c.from != ORDINARY_USER);
    });
    let no_way_out = room(&no_way_out, &cast(A1), json!({}));
    let second_admin = person("gil@a.example", GROUP_ADMIN, PHONE);
    let two_admins = room(table(A1), &plus(cast(A1), &[second_admin]), json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, plain(u(OLGA), "leave"), Allow(REMOVE_SELF)),
        // The policy_enforcer lacks canRemoveSelf.
        (&a1, plain(sys(ENFORCER), "leave"), Deny(MISSING, REMOVE_SELF)),
        (&no_way_out, plain(u(OLGA), "leave"), Deny(NOT_AUTHORIZED, REMOVE_SELF)),
        // group_admin: min 1.
        (&a1, plain(u(GINA), "leave"), Deny(VIOLATED, CONSTRAINTS)),
        (&two_admins, plain(u(GINA), "leave"), Allow(REMOVE_SELF)),
    ];
    expect_all(&cases);
    let next = after(&a1, &plain(u(OSCAR), "leave"));
    assert!(!next.participants().contains(&uid(OSCAR)));
    assert_eq!(next.client_count_of(&uid(OSCAR)), 0);
}

#[test]
fn rp04_8_1_3_ban_needs_can_ban_and_the_banned_role() {
    let a1 = cast_room(A1, json!({}));
    // A.1 without role 1 (and without every change into or out of it).
    let mut roles: Vec<Role> = table(A1)
        .iter()
        .filter(|r| r.index != BANNED)
        .cloned()
        .collect();
    for r in &mut roles {
        r.authorized_role_changes.retain(|c| c.from != BANNED);
        for c in &mut r.authorized_role_changes {
            c.to.retain(|&t| t != BANNED);
        }
    }
    let unbannable = room(
        &RoleTable::new(roles).unwrap(),
        &replace(cast(A1), BART, None),
        json!({}),
    );
    #[rustfmt::skip]
    let cases = [
        (&a1, on(u(GINA), "ban", OSCAR), Allow(BAN)),
        (&a1, change(u(GINA), OSCAR, BANNED), Allow(BAN)),
        // A pre-emptive ban of an outsider: (0,[1,2,3]).
        (&a1, on(u(GINA), "ban", NINA), Allow(BAN)),
        (&a1, on(u(OSCAR), "ban", OLGA), Deny(MISSING, BAN)),
        // group_admin has no change from super_admin's role 4.
        (&a1, on(u(GINA), "ban", SAM), Deny(NOT_AUTHORIZED, BAN)),
        (&unbannable, on(u(GINA), "ban", OSCAR), Deny("not-applicable", BAN)),
    ];
    expect_all(&cases);
    let next = after(&a1, &on(u(GINA), "ban", OSCAR));
    assert_eq!(next.role_of(&uid(OSCAR)), BANNED);
    assert_eq!(next.client_count_of(&uid(OSCAR)), 0);
}

#[test]
fn rp04_8_1_3_unban_needs_can_unban_and_a_change_from_1() {
    let a1 = cast_room(A1, json!({}));
    let a4 = cast_room(A4, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, on(u(GINA), "unban", BART), Allow(UNBAN)),
        (&a1, change(u(GINA), BART, ORDINARY_USER), Allow(UNBAN)),
        (&a1, on(u(OSCAR), "unban", BART), Deny(MISSING, UNBAN)),
        // A.4's org_b_admin may ban but not unban; the super_admin may.
        (&a4, on(u(BEA), "unban", BART), Deny(MISSING, UNBAN)),
        (&a4, on(u(SAM), "unban", BART), Allow(UNBAN)),
        (&a4, change(u(SAM), BART, ORG_B_USER), Allow(UNBAN)),
    ];
    expect_all(&cases);
    assert!(
        !after(&a1, &on(u(GINA), "unban", BART))
            .participants()
            .contains(&uid(BART))
    );
    let restored = after(&a1, &change(u(GINA), BART, ORDINARY_USER));
    assert_eq!(restored.role_of(&uid(BART)), ORDINARY_USER);
    // An unban adds no client.
    assert_eq!(restored.client_count_of(&uid(BART)), 0);
}

#[test]
fn rp04_8_1_3_change_user_role_needs_an_authorized_change() {
    let a1 = cast_room(A1, json!({}));
    let a3 = cast_room(A3, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, change(u(GINA), OSCAR, GROUP_ADMIN), Allow(CHANGE_ROLE)),
        (&a1, change(u(GINA), OSCAR, SUPER_ADMIN), Deny(NOT_AUTHORIZED, CHANGE_ROLE)),
        (&a1, change(u(SAM), OSCAR, SUPER_ADMIN), Allow(CHANGE_ROLE)),
        (&a1, change(u(OSCAR), OLGA, GROUP_ADMIN), Deny(MISSING, CHANGE_ROLE)),
        (&a1, change(u(GINA), OSCAR, 9), Deny("invalid-policy", "MIMI-VALID")),
        (&a1, change(u(GINA), OSCAR, ORDINARY_USER), Deny("no-change", CHANGE_ROLE)),
        // Voice in A.3 is a role change: guest -> speaker and back.
        (&a3, change(u(GINA), GUS, SPEAKER), Allow(CHANGE_ROLE)),
        (&a3, change(u(GINA), SID, ATTENDEE), Allow(CHANGE_ROLE)),
        (&a3, change(u(SID), GUS, SPEAKER), Deny(MISSING, CHANGE_ROLE)),
    ];
    expect_all(&cases);
    let next = after(&a1, &change(u(GINA), OSCAR, GROUP_ADMIN));
    assert_eq!(next.role_of(&uid(OSCAR)), GROUP_ADMIN);
    assert_eq!(next.client_count_of(&uid(OSCAR)), 2);
}

#[test]
fn rp04_8_1_3_change_own_role_targets_the_first_preauth_match() {
    let oscar = [user_claim(OSCAR)];
    let domain_a = [claim("domain", "a.example")];
    let entries = preauth(&[(&oscar, GROUP_ADMIN), (&domain_a, SUPER_ADMIN)]);
    // A.2's ordinary_user has canChangeOwnRole; A.1's does not.
    let a2 = cast_room(A2, entries.clone());
    let a1 = cast_room(A1, entries);
    let a4 = cast_room(A4, preauth(&[(&domain_a, ORG_A_ADMIN)]));
    #[rustfmt::skip]
    let cases = [
        // (2,[0]) does not authorize 2 -> 3: role changes are not consulted.
        (&a2, change(u(OSCAR), OSCAR, GROUP_ADMIN), Allow(OWN_ROLE)),
        // The second matching entry is not the target.
        (&a2, change(u(OSCAR), OSCAR, SUPER_ADMIN), Deny(MISSING, CHANGE_ROLE)),
        (&a1, change(u(OSCAR), OSCAR, GROUP_ADMIN), Deny(MISSING, CHANGE_ROLE)),
        (&a4, change(u(AL), AL, ORG_A_ADMIN), Allow(OWN_ROLE)),
        (&a4, change(u(BO), BO, ORG_A_ADMIN), Deny(MISSING, CHANGE_ROLE)),
    ];
    expect_all(&cases);
    let next = after(&a2, &change(u(OSCAR), OSCAR, GROUP_ADMIN));
    assert_eq!(next.role_of(&uid(OSCAR)), GROUP_ADMIN);
}

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
