//! The Appendix A acceptance tests (landscape notes §2.7) and constraint checks.

use super::fixture::*;
use super::harness::*;
use mimi_policy::role::{BANNED, NO_ROLE, RoleIndex, RoleTable};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Acceptance tests (landscape §2.7).
// ---------------------------------------------------------------------------------------------

#[test]
fn appendix_a1_ordinary_user_adds_an_outsider_as_2_but_not_3() {
    let a1 = cast_room(A1, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, add(u(OSCAR), NINA, "phone", Some(ORDINARY_USER)), Allow(ADD)),
        (&a1, add(u(OSCAR), NINA, "phone", Some(GROUP_ADMIN)), Deny(NOT_AUTHORIZED, ADD)),
    ];
    expect_all(&cases);
}

#[test]
fn appendix_a1_group_admin_may_ban_an_ordinary_user() {
    let a1 = cast_room(A1, json!({}));
    expect(&a1, &on(u(GINA), "ban", OLGA), Allow(BAN));
    let next = after(&a1, &on(u(GINA), "ban", OLGA));
    assert_eq!(next.role_of(&uid(OLGA)), BANNED);
    assert_eq!(next.client_count_of(&uid(OLGA)), 0);
}

#[test]
fn appendix_a1_policy_enforcer_unbans_to_0_only() {
    let a1 = cast_room(A1, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a1, on(sys(ENFORCER), "unban", BART), Allow(UNBAN)),
        (&a1, change(sys(ENFORCER), BART, NO_ROLE), Allow(UNBAN)),
        (&a1, change(sys(ENFORCER), BART, ORDINARY_USER), Deny(NOT_AUTHORIZED, UNBAN)),
    ];
    expect_all(&cases);
}

#[test]
fn appendix_a1_removing_the_last_group_admin_fails() {
    let a1 = cast_room(A1, json!({}));
    let two_admins = room(
        table(A1),
        &plus(cast(A1), &[person("gil@a.example", GROUP_ADMIN, &[])]),
        json!({}),
    );
    #[rustfmt::skip]
    let cases = [
        (&a1, change(u(SAM), GINA, NO_ROLE), Deny(VIOLATED, CONSTRAINTS)),
        (&a1, change(sys(ENFORCER), GINA, NO_ROLE), Deny(VIOLATED, CONSTRAINTS)),
        (&a1, on(u(SAM), "ban", GINA), Deny(VIOLATED, CONSTRAINTS)),
        (&two_admins, change(u(SAM), GINA, NO_ROLE), Allow(REMOVE)),
    ];
    expect_all(&cases);
}

#[test]
fn appendix_a2_join_code_joins_as_2_only() {
    let a2 = cast_room(A2, json!({}));
    let code = |role: Option<RoleIndex>| {
        let mut fields = link(GINA, json!({}));
        if let Some(role) = role {
            fields["role"] = json!(role);
        }
        join(NINA, "phone", fields)
    };
    #[rustfmt::skip]
    let cases = [
        (&a2, code(None), Allow(JOIN_CODE)),
        (&a2, code(Some(ORDINARY_USER)), Allow(JOIN_CODE)),
        (&a2, code(Some(GROUP_ADMIN)), Deny(NOT_AUTHORIZED, JOIN_CODE)),
        (&a2, code(Some(SUPER_ADMIN)), Deny(NOT_AUTHORIZED, JOIN_CODE)),
    ];
    expect_all(&cases);
    assert_eq!(after(&a2, &code(None)).role_of(&uid(NINA)), ORDINARY_USER);
}

#[test]
fn appendix_a4_org_b_admin_cannot_move_users_to_org_c_roles() {
    let a4 = cast_room(A4, json!({}));
    #[rustfmt::skip]
    let cases = [
        (&a4, change(u(BEA), BO, ORG_C_USER), Deny(NOT_AUTHORIZED, CHANGE_ROLE)),
        (&a4, change(u(BEA), BO, ORG_C_ADMIN), Deny(NOT_AUTHORIZED, CHANGE_ROLE)),
        (&a4, add(u(BEA), NED, "phone", Some(ORG_C_USER)), Deny(NOT_AUTHORIZED, ADD)),
        (&a4, change(u(BEA), BO, ORG_B_ADMIN), Allow(CHANGE_ROLE)),
        (&a4, add(u(BEA), NINA, "phone", Some(ORG_B_USER)), Allow(ADD)),
    ];
    expect_all(&cases);
}

#[test]
fn appendix_a4_a_fourth_org_b_admin_fails_max_3() {
    let with_b_admins = |n: usize| {
        let extra: Vec<Person> = (1..n)
            .map(|i| person(&format!("badmin{i}@b.example"), ORG_B_ADMIN, &[]))
            .collect();
        room(table(A4), &plus(cast(A4), &extra), json!({}))
    };
    #[rustfmt::skip]
    let cases = [
        (&with_b_admins(2), change(u(BEA), BO, ORG_B_ADMIN), Allow(CHANGE_ROLE)),
        (&with_b_admins(3), change(u(BEA), BO, ORG_B_ADMIN), Deny(VIOLATED, CONSTRAINTS)),
    ];
    expect_all(&cases);
}

/// Each role's minimum number of holders, the first `min_active` of them with a client.
fn minimum_people(table: &RoleTable) -> Vec<Person> {
    table
        .iter()
        .filter(|r| r.index > BANNED)
        .flat_map(|r| {
            (0..r.min_participants).map(move |i| {
                let clients: &[&str] = if i < r.min_active { PHONE } else { &[] };
                person(&format!("{}{i}@pop.example", r.name), r.index, clients)
            })
        })
        .collect()
}

#[test]
fn appendix_a_rooms_at_their_minimums_satisfy_every_constraint() {
    for example in EXAMPLES {
        let t = table(example);
        let room = room(t, &minimum_people(t), json!({}));
        assert_eq!(room.check_constraints(), Ok(()), "{example:?}");
        for role in t.iter().filter(|r| r.index > BANNED) {
            let count = room.count(role.index);
            assert_eq!(
                count.participants, role.min_participants,
                "{example:?} {}",
                role.name
            );
            assert_eq!(count.active, role.min_active, "{example:?} {}", role.name);
        }
    }
}

#[test]
fn appendix_a_rooms_breaking_a_role_constraint_are_refused() {
    for example in EXAMPLES {
        let t = table(example);
        let people = minimum_people(t);
        for role in t.iter().filter(|r| r.index > BANNED) {
            let holder = people.iter().position(|p| p.role == role.index);
            let mut broken: Vec<Vec<Person>> = Vec::new();
            if let Some(i) = holder {
                // One holder fewer than the minimum.
                let mut fewer = people.clone();
                fewer.remove(i);
                broken.push(fewer);
                // One active holder fewer, or an active holder where none may be.
                if role.min_active > 0 || role.max_active == Some(0) {
                    let mut flipped = people.clone();
                    flipped[i].clients = if role.min_active > 0 {
                        vec![]
                    } else {
                        vec!["phone".into()]
                    };
                    broken.push(flipped);
                }
            }
            if let Some(max) = role.max_participants {
                let extra: Vec<Person> = (0..=max)
                    .map(|i| person(&format!("extra{i}@pop.example"), role.index, &[]))
                    .collect();
                broken.push(plus(people.clone(), &extra));
            }
            for people in broken {
                assert_eq!(
                    build_error(&document(t, &people)),
                    "constraint-violated",
                    "{example:?} {}",
                    role.name
                );
            }
        }
    }
}
