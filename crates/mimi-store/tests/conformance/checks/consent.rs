//! Consent, knocks and allowance claims.

use super::*;

pub async fn consent_is_asked_granted_per_room_or_for_all_and_revoked(db: &Db) {
    let s = &db.store;
    let (alice, bob) = (user("alice"), user("bob"));
    let (team, club) = (room_id("team"), room_id("club"));
    s.create_user(&bob, "hash", bob.as_str()).await.unwrap();
    assert!(matches!(
        s.request_consent(&user("nobody"), &alice, None).await,
        Err(StoreError::NotFound(_))
    ));
    let bob_phone = client("bob", "phone");
    s.add_device(&bob_phone).await.unwrap();
    s.request_consent(&bob, &alice, Some(&team)).await.unwrap();
    s.request_consent(&bob, &alice, Some(&team)).await.unwrap();
    // bob's device hears of it, once.
    let told = s.inbox(&bob_phone, 0).await.unwrap();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].kind, mimi_store::InboxKind::ConsentRequest);
    assert_eq!(told[0].room, Some(team.clone()));
    assert_eq!(told[0].body, alice.as_str().as_bytes());
    assert!(
        !s.has_consent(&bob, &alice, Some(&team)).await.unwrap(),
        "asked, not given"
    );
    assert_eq!(
        s.consents(&bob).await.unwrap(),
        vec![mimi_store::Consent {
            requester: alice.clone(),
            room: Some(team.clone()),
            granted: false
        }]
    );
    s.grant_consent(&bob, &alice, Some(&team)).await.unwrap();
    assert!(s.has_consent(&bob, &alice, Some(&team)).await.unwrap());
    assert!(
        !s.has_consent(&bob, &alice, Some(&club)).await.unwrap(),
        "that room only"
    );
    assert!(
        !s.has_consent(&bob, &alice, None).await.unwrap(),
        "not any room"
    );
    assert!(
        !s.has_consent(&bob, &user("carol"), Some(&team))
            .await
            .unwrap()
    );
    s.grant_consent(&bob, &alice, None).await.unwrap();
    assert!(
        s.has_consent(&bob, &alice, Some(&club)).await.unwrap(),
        "any room"
    );
    assert!(s.revoke_consent(&bob, &alice, None).await.unwrap());
    assert!(!s.revoke_consent(&bob, &alice, None).await.unwrap());
    assert!(!s.has_consent(&bob, &alice, Some(&club)).await.unwrap());
    assert!(s.has_consent(&bob, &alice, Some(&team)).await.unwrap());
    // A request does not undo a grant.
    s.request_consent(&bob, &alice, Some(&team)).await.unwrap();
    assert!(s.has_consent(&bob, &alice, Some(&team)).await.unwrap());
}

pub async fn consent_a_peer_tells_of_counts_per_room_until_revoked(db: &Db) {
    let s = &db.store;
    let alice = user("alice");
    let bob = mimi_policy::id::UserId::parse("mimi://b.example/u/bob").unwrap();
    let (team, club) = (room_id("team"), room_id("club"));
    // Only for a user of this provider.
    assert!(matches!(
        s.record_peer_consent(&bob, &user("nobody"), None, true)
            .await,
        Err(StoreError::NotFound(_))
    ));
    s.create_user(&alice, "hash", alice.as_str()).await.unwrap();
    assert!(!s.has_consent(&bob, &alice, Some(&team)).await.unwrap());
    s.record_peer_consent(&bob, &alice, Some(&team), true)
        .await
        .unwrap();
    // Told twice, recorded once.
    s.record_peer_consent(&bob, &alice, Some(&team), true)
        .await
        .unwrap();
    assert!(s.has_consent(&bob, &alice, Some(&team)).await.unwrap());
    assert!(!s.has_consent(&bob, &alice, Some(&club)).await.unwrap());
    s.record_peer_consent(&bob, &alice, None, true)
        .await
        .unwrap();
    assert!(s.has_consent(&bob, &alice, Some(&club)).await.unwrap());
    s.record_peer_consent(&bob, &alice, None, false)
        .await
        .unwrap();
    s.record_peer_consent(&bob, &alice, Some(&team), false)
        .await
        .unwrap();
    assert!(!s.has_consent(&bob, &alice, Some(&team)).await.unwrap());
}

pub async fn a_knock_tells_the_moderators_once_and_the_add_ends_it(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    let bob = client("bob", "phone");
    with_devices(db, &[&alice, &bob]).await;
    s.create_room(&new_room("team", vec![alice.clone()], false))
        .await
        .unwrap();
    let team = room_id("team");
    assert!(matches!(
        s.knock(&room_id("nowhere"), bob.user(), &[]).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.knocks(&team).await.unwrap().is_empty());
    assert!(!s.has_knocked(&team, bob.user()).await.unwrap());
    assert!(
        s.knock(&team, bob.user(), &[alice.user().clone()])
            .await
            .unwrap()
    );
    assert!(
        !s.knock(&team, bob.user(), &[alice.user().clone()])
            .await
            .unwrap(),
        "already pending"
    );
    assert!(s.has_knocked(&team, bob.user()).await.unwrap());
    let pending = s.knocks(&team).await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(&pending[0].0, bob.user());
    assert!(pending[0].1 > 0);
    let told = s.inbox(&alice, 0).await.unwrap();
    assert_eq!(told.len(), 1, "once: {told:?}");
    assert_eq!(told[0].kind, mimi_store::InboxKind::Knock);
    assert_eq!(told[0].room, Some(team.clone()));
    assert_eq!(told[0].body, bob.user().as_str().as_bytes());
    assert!(s.inbox(&bob, 0).await.unwrap().is_empty());
    let mut add = commit("team", 1, 1, &alice);
    add.added = vec![bob.clone()];
    s.update_room(&add).await.unwrap();
    assert!(!s.has_knocked(&team, bob.user()).await.unwrap(), "answered");
    assert!(s.knocks(&team).await.unwrap().is_empty());
}

/// alice's room `team`, on which bob and carol knocked (alice is told of both).
async fn two_knocks(db: &Db) -> (ClientId, ClientId, ClientId, RoomId) {
    let s = &db.store;
    let alice = client("alice", "phone");
    let bob = client("bob", "phone");
    let carol = client("carol", "phone");
    with_devices(db, &[&alice, &bob, &carol]).await;
    s.create_room(&new_room("team", vec![alice.clone()], false))
        .await
        .unwrap();
    let team = room_id("team");
    let moderators = [alice.user().clone()];
    assert!(s.knock(&team, bob.user(), &moderators).await.unwrap());
    assert!(s.knock(&team, carol.user(), &moderators).await.unwrap());
    (alice, bob, carol, team)
}

pub async fn a_withdrawn_knock_goes_with_its_undelivered_notifications(db: &Db) {
    let s = &db.store;
    let (alice, bob, carol, team) = two_knocks(db).await;
    let moderators = [alice.user().clone()];
    assert!(s.withdraw_knock(&team, bob.user()).await.unwrap());
    assert!(!s.has_knocked(&team, bob.user()).await.unwrap());
    let told = s.inbox(&alice, 0).await.unwrap();
    assert_eq!(told.len(), 1, "only carol's is left: {told:?}");
    assert_eq!(told[0].body, carol.user().as_str().as_bytes());
    assert!(s.has_knocked(&team, carol.user()).await.unwrap());
    assert!(
        !s.withdraw_knock(&team, bob.user()).await.unwrap(),
        "nothing left to withdraw"
    );
    // Knocking again is a new knock: the moderators are told again.
    assert!(s.knock(&team, bob.user(), &moderators).await.unwrap());
    assert_eq!(s.inbox(&alice, 0).await.unwrap().len(), 2);
}

pub async fn a_change_that_places_a_knocker_answers_its_knock(db: &Db) {
    let s = &db.store;
    let (alice, bob, carol, team) = two_knocks(db).await;
    // A change that bans bob (no client added): his knock and its notice go with it.
    let mut ban = commit("team", 1, 1, &alice);
    ban.answered_knocks = vec![bob.user().clone()];
    s.update_room(&ban).await.unwrap();
    assert!(!s.has_knocked(&team, bob.user()).await.unwrap());
    assert!(s.has_knocked(&team, carol.user()).await.unwrap());
    let told = s.inbox(&alice, 0).await.unwrap();
    assert_eq!(told.len(), 1, "only carol's is left: {told:?}");
    assert_eq!(told[0].body, carol.user().as_str().as_bytes());
}

pub async fn allowance_claims_count_until_used(db: &Db) {
    let s = &db.store;
    let (alice, bob) = (user("alice"), user("bob"));
    s.create_user(&bob, "hash", bob.as_str()).await.unwrap();
    let (team, club) = (room_id("team"), room_id("club"));
    assert!(matches!(
        s.record_allowance_claim(&alice, &user("nobody"), None, 2, 100)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 0);
    assert!(
        s.record_allowance_claim(&alice, &bob, Some(&team), 2, 100)
            .await
            .unwrap()
    );
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 1);
    assert_eq!(
        s.allowance_claims(&alice, &bob, Some(&team)).await.unwrap(),
        1
    );
    assert_eq!(
        s.allowance_claims(&alice, &bob, Some(&club)).await.unwrap(),
        0,
        "claimed for another room"
    );
    assert!(
        s.record_allowance_claim(&alice, &bob, None, 2, 100)
            .await
            .unwrap()
    );
    assert_eq!(
        s.allowance_claims(&alice, &bob, Some(&club)).await.unwrap(),
        1
    );
    assert!(
        !s.record_allowance_claim(&alice, &bob, Some(&club), 2, 100)
            .await
            .unwrap(),
        "the allowance is used up"
    );
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 2);
    assert_eq!(s.allowance_claims(&bob, &alice, None).await.unwrap(), 0);
    // An add to club uses the any-room claim; team's stays.
    s.use_allowance_claims(&alice, &bob, &club).await.unwrap();
    assert_eq!(
        s.allowance_claims(&alice, &bob, Some(&team)).await.unwrap(),
        1
    );
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 1);
    s.use_allowance_claims(&alice, &bob, &team).await.unwrap();
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 0);
}

pub async fn expired_allowance_claims_are_purged_by_the_next_claim(db: &Db) {
    use sqlx::Connection as _;
    let s = &db.store;
    let (alice, bob) = (user("alice"), user("bob"));
    s.create_user(&bob, "hash", bob.as_str()).await.unwrap();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let rows = "SELECT COUNT(*) FROM allowance_claims WHERE requester_id = $1";
    // Two days old: it counts for nothing, and nothing else would ever delete it.
    sqlx::query(
        "INSERT INTO allowance_claims (requester_id, target_id, room_id, created_at) \
         VALUES ($1, $2, '', $3)",
    )
    .bind(alice.as_str())
    .bind(bob.as_str())
    .bind(1_i64)
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(s.allowance_claims(&alice, &bob, None).await.unwrap(), 0);
    assert!(
        s.record_allowance_claim(&alice, &bob, None, 1, 100)
            .await
            .unwrap()
    );
    let left: i64 = sqlx::query_scalar(rows)
        .bind(alice.as_str())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 1, "only the new claim");
    conn.close().await.unwrap();
}

pub async fn allowance_claims_are_bounded_per_target_too(db: &Db) {
    let s = &db.store;
    let bob = user("bob");
    s.create_user(&bob, "hash", bob.as_str()).await.unwrap();
    let requesters: Vec<UserId> = ["alice", "carol", "dave"].into_iter().map(user).collect();
    for r in &requesters {
        s.create_user(r, "hash", r.as_str()).await.unwrap();
    }
    // Each may hold two of bob's, all together three.
    let mut recorded = Vec::new();
    for i in [0, 0, 1, 1, 2] {
        let r = &requesters[i];
        recorded.push(s.record_allowance_claim(r, &bob, None, 2, 3).await.unwrap());
    }
    assert_eq!(
        recorded,
        [true, true, true, false, false],
        "bob's three are out"
    );
    assert_eq!(
        s.allowance_claims(&requesters[2], &bob, None)
            .await
            .unwrap(),
        0
    );
}

pub async fn abuse_reports_are_kept_newest_first_after_their_room(db: &Db) {
    let s = &db.store;
    let team = room_id("team");
    let report = |n: u64| mimi_store::NewReport {
        room: team.clone(),
        reporter: user("bob"),
        alleged_abuser: "mimi://example.com/d/mallory/phone".into(),
        reason: "unreadable-commit".into(),
        note: format!("entry {n}"),
        seq: (n > 1).then_some(n),
    };
    assert!(s.reports(10).await.unwrap().is_empty());
    // The room need not exist (any more): reports outlive it.
    let first = s.record_report(&report(1)).await.unwrap();
    let second = s.record_report(&report(2)).await.unwrap();
    assert!(second > first);
    let kept = s.reports(10).await.unwrap();
    assert_eq!(
        kept.iter().map(|r| r.report.clone()).collect::<Vec<_>>(),
        vec![report(2), report(1)]
    );
    assert!(kept[0].created_at > 0);
    assert_eq!(s.reports(1).await.unwrap().len(), 1);
}

pub async fn a_join_link_lets_in_as_many_different_users_as_it_has_uses(db: &Db) {
    let s = &db.store;
    let team = room_id("team");
    assert_eq!(s.link_uses(&team, "CODE").await.unwrap(), 0);
    assert!(
        s.record_link_use(&team, "CODE", &user("bob"), Some(2))
            .await
            .unwrap()
    );
    // The same user again spends nothing.
    assert!(
        s.record_link_use(&team, "CODE", &user("bob"), Some(2))
            .await
            .unwrap()
    );
    assert!(
        s.record_link_use(&team, "CODE", &user("carol"), Some(2))
            .await
            .unwrap()
    );
    assert!(
        !s.record_link_use(&team, "CODE", &user("dave"), Some(2))
            .await
            .unwrap()
    );
    assert_eq!(s.link_uses(&team, "CODE").await.unwrap(), 2);
    // Another link, and a link without a limit, count apart.
    assert!(
        s.record_link_use(&team, "OTHER", &user("dave"), Some(1))
            .await
            .unwrap()
    );
    for n in ["erin", "frank", "grace"] {
        assert!(
            s.record_link_use(&team, "OPEN", &user(n), None)
                .await
                .unwrap()
        );
    }
    assert_eq!(s.link_uses(&team, "OPEN").await.unwrap(), 3);
}

pub async fn concurrent_joiners_never_overspend_a_link(db: &Db) {
    let s = &db.store;
    let team = room_id("team");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = s.clone();
        let team = team.clone();
        tasks.push(tokio::spawn(async move {
            let joiner = user(&format!("user{i}"));
            store
                .record_link_use(&team, "CODE", &joiner, Some(3))
                .await
                .unwrap()
        }));
    }
    let mut taken = 0;
    for t in tasks {
        taken += usize::from(t.await.unwrap());
    }
    assert_eq!(taken, 3);
    assert_eq!(s.link_uses(&team, "CODE").await.unwrap(), 3);
}
