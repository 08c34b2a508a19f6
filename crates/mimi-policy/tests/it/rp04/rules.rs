//! One test per RP-04 rule, each with an allowed and a denied case.

use super::fixture::*;
use super::harness::*;
use mimi_policy::capability::Capability as C;
use mimi_policy::role::{BANNED, NO_ROLE, Role, RoleChangeTargets, RoleTable};
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
pub(super) fn open_table() -> RoleTable {
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
