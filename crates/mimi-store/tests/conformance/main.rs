//! The store's conformance suite: every check runs against SQLite (a fresh file each) and,
//! when `MIMI_TEST_POSTGRES_URL` is set, against PostgreSQL (a fresh schema each).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod checks;
mod harness;

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::harness::Db::sqlite().await;
                    crate::checks::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = crate::harness::Db::postgres().await else {
                        eprintln!("skipped: MIMI_TEST_POSTGRES_URL is not set");
                        return;
                    };
                    crate::checks::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

conformance!(
    users_are_unique_and_keep_their_password_hash,
    users_whose_names_look_alike_cannot_both_exist,
    rooms_whose_names_look_alike_cannot_both_exist,
    names_made_before_skeletons_get_theirs_unless_one_looks_like_another,
    a_user_has_one_pseudonym_per_room_known_only_to_the_store,
    tokens_name_their_user_and_device,
    tokens_are_revoked_one_at_a_time_or_all_of_an_account,
    the_provider_key_is_created_once,
    devices_need_their_user_and_are_unique,
    key_packages_are_handed_out_once_then_the_last_resort,
    concurrent_claims_never_hand_out_a_key_package_twice,
    rooms_are_created_once_and_loaded_back,
    room_updates_are_compare_and_swap_on_the_version,
    a_rooms_attachments_stay_within_its_quota_and_go_with_it,
    a_vacant_room_keeps_its_name_and_policy_until_one_starts_it_again,
    concurrent_room_updates_exactly_one_wins,
    messages_are_appended_only_in_the_current_epoch,
    an_append_of_any_length_takes_the_next_places_in_order_and_needs_its_room,
    a_batch_writes_appends_and_acks_together_and_refuses_only_a_stale_append,
    members_receive_from_their_add_until_their_removal,
    acknowledgements_only_move_forward,
    welcomes_go_to_the_added_clients_inboxes,
    a_snapshot_never_passes_a_commit_whose_welcome_waits,
    a_room_is_its_snapshot_and_the_handshakes_logged_since,
    an_inbox_item_of_an_unknown_kind_is_never_delivered_as_another,
    consent_is_asked_granted_per_room_or_for_all_and_revoked,
    consent_a_peer_tells_of_counts_per_room_until_revoked,
    a_deleted_device_leaves_its_rooms_before_its_name_is_reused,
    a_knock_tells_the_moderators_once_and_the_add_ends_it,
    a_withdrawn_knock_goes_with_its_undelivered_notifications,
    a_change_that_places_a_knocker_answers_its_knock,
    abuse_reports_are_kept_newest_first_after_their_room,
    a_join_link_lets_in_as_many_different_users_as_it_has_uses,
    concurrent_joiners_never_overspend_a_link,
    allowance_claims_count_until_used,
    allowance_claims_are_bounded_per_target_too,
    expired_allowance_claims_are_purged_by_the_next_claim,
    the_directory_lists_only_discoverable_rooms,
    everything_survives_reopening_the_database,
    relayed_entries_are_kept_once_and_never_again_after_their_ack,
    a_relayed_welcome_is_delivered_once,
    a_hub_pushes_to_the_foreign_members_of_its_rooms,
    a_peers_key_package_is_known_for_its_own_client_only,
    a_devices_rooms_of_other_providers_are_known_until_it_is_deleted,
    a_knock_across_providers_is_a_knock_until_answered_or_withdrawn,
);

/// The provider's connections (readers, the batch writer) must share one database: an
/// in-memory SQLite URL would give each its own, so it is refused with a clear error.
#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused() {
    for url in [
        "sqlite://:memory:",
        "sqlite://",
        "sqlite://x.db?mode=memory",
    ] {
        let err = mimi_store::SqlStore::open(url).await.err();
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("in-memory"), "{url}: {message:?}");
    }
}

/// The database holds the provider's signing key and every password hash: its file, and
/// the journal files SQLite makes beside it, are readable by the provider's user alone.
#[cfg(unix)]
#[tokio::test]
async fn a_sqlite_database_is_readable_by_its_owner_only() {
    use mimi_store::prelude::*;
    use std::os::unix::fs::PermissionsExt as _;
    let file = std::env::temp_dir().join(format!("mimi_mode_{}.db", std::process::id()));
    let mode = |suffix: &str| {
        let mut path = file.clone().into_os_string();
        path.push(suffix);
        std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777)
    };
    let url = format!("sqlite://{}", file.display());
    let store = mimi_store::SqlStore::open(&url).await.unwrap();
    store.provider_key("example.com", b"key").await.unwrap();
    assert_eq!(mode("").unwrap(), 0o600);
    assert_eq!(mode("-wal").unwrap(), 0o600);
    store.close().await;
    // One made open to others is closed again when the provider opens it.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = mimi_store::SqlStore::open(&url).await.unwrap();
    assert_eq!(mode("").unwrap(), 0o600);
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut path = file.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
}
