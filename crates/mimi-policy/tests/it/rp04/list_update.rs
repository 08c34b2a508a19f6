//! Participant-list updates (protocol-06 §7.5), beyond the unit tests.

use super::harness::*;
use mimi_policy::id::UserId;
use mimi_policy::participant_list::{
    IndexRolePair, ParticipantList, ParticipantListUpdate, RoleChange, UserRolePair,
};
use mimi_policy::role::{NO_ROLE, RoleIndex};

// ---------------------------------------------------------------------------------------------
// Participant-list updates (protocol-06 §7.5), beyond the unit tests.
// ---------------------------------------------------------------------------------------------

fn list(entries: &[(&str, RoleIndex)]) -> ParticipantList {
    ParticipantList::new(
        entries
            .iter()
            .map(|(user, role)| UserRolePair {
                user: uid(user),
                role: *role,
            })
            .collect(),
    )
    .unwrap()
}

fn entries(list: &ParticipantList) -> Vec<(UserId, RoleIndex)> {
    list.entries()
        .iter()
        .map(|e| (e.user.clone(), e.role))
        .collect()
}

fn list_update(
    changed: &[(u32, RoleIndex)],
    removed: &[u32],
    added: &[(&str, RoleIndex)],
) -> ParticipantListUpdate {
    ParticipantListUpdate {
        changed: changed
            .iter()
            .map(|&(user_index, role)| IndexRolePair { user_index, role })
            .collect(),
        removed: removed.to_vec(),
        added: added
            .iter()
            .map(|(user, role)| UserRolePair {
                user: uid(user),
                role: *role,
            })
            .collect(),
    }
}

#[test]
fn proto_7_5_changes_name_each_touched_user_with_old_and_new_role() {
    let before = list(&[(SAM, 4), (GINA, 3), (OSCAR, 2)]);
    let delta = list_update(&[(2, 3)], &[1], &[(NINA, 2)]);
    let change = |user: &str, from, to| RoleChange {
        user: uid(user),
        from,
        to,
    };
    assert_eq!(
        before.changes(&delta).unwrap(),
        [change(OSCAR, 2, 3), change(GINA, 3, 0), change(NINA, 0, 2)]
    );
    let next = before.apply(&delta).unwrap();
    assert_eq!(
        entries(&next),
        [(uid(SAM), 4), (uid(OSCAR), 3), (uid(NINA), 2)]
    );
    // apply returns a new list.
    assert_eq!(
        entries(&before),
        [(uid(SAM), 4), (uid(GINA), 3), (uid(OSCAR), 2)]
    );
}

#[test]
fn proto_7_5_indexes_refer_to_the_list_before_the_update() {
    let before = list(&[(SAM, 4), (GINA, 3), (OSCAR, 2)]);
    // Removing position 0 does not shift the change at position 2, in any order of removals.
    let next = before.apply(&list_update(&[(2, 3)], &[0], &[])).unwrap();
    assert_eq!(entries(&next), [(uid(GINA), 3), (uid(OSCAR), 3)]);
    let next = before.apply(&list_update(&[], &[2, 0], &[])).unwrap();
    assert_eq!(entries(&next), [(uid(GINA), 3)]);
}

#[test]
fn proto_7_5_one_touch_per_user_covers_repeats_and_current_participants() {
    let before = list(&[(SAM, 4), (GINA, 3), (OSCAR, 2)]);
    for (delta, code) in [
        (list_update(&[], &[1, 1], &[]), "user-touched-twice"),
        (
            list_update(&[(1, 2), (1, 4)], &[], &[]),
            "user-touched-twice",
        ),
        (list_update(&[], &[], &[(GINA, 2)]), "user-touched-twice"),
        (
            list_update(&[], &[], &[(NINA, 2), (NINA, 3)]),
            "user-touched-twice",
        ),
        (
            list_update(&[], &[], &[(NINA, NO_ROLE)]),
            "zero-role-in-list",
        ),
        (
            list_update(&[(3, 2)], &[], &[]),
            "participant-index-out-of-range",
        ),
    ] {
        assert_eq!(
            before.changes(&delta).unwrap_err().code(),
            code,
            "{delta:?}"
        );
        assert_eq!(before.apply(&delta).unwrap_err().code(), code, "{delta:?}");
    }
}
