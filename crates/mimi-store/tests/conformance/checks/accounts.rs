//! Users, tokens, the provider key, devices and KeyPackages.

use super::*;

pub async fn users_are_unique_and_keep_their_password_hash(db: &Db) {
    let s = &db.store;
    s.create_user(&user("alice"), "argon2-hash-a", "alice")
        .await
        .unwrap();
    let again = s.create_user(&user("alice"), "other", "other").await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(
        s.password_hash(&user("alice")).await.unwrap().as_deref(),
        Some("argon2-hash-a")
    );
    assert_eq!(s.password_hash(&user("nobody")).await.unwrap(), None);
}

pub async fn a_user_has_one_pseudonym_per_room_known_only_to_the_store(db: &Db) {
    let s = &db.store;
    s.create_user(&user("bob"), "h", "bob").await.unwrap();
    let (team, other) = (room_id("team"), room_id("other"));
    assert_eq!(s.pseudonym_of(&user("bob"), &team).await.unwrap(), None);
    s.create_pseudonym(&user("~one"), &user("bob"), &team, "h", "~one")
        .await
        .unwrap();
    assert_eq!(
        s.pseudonym_of(&user("bob"), &team).await.unwrap(),
        Some(user("~one"))
    );
    // A second for the same room is refused, and leaves no user behind.
    let twice = s
        .create_pseudonym(&user("~two"), &user("bob"), &team, "h", "~two")
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    assert_eq!(s.password_hash(&user("~two")).await.unwrap(), None);
    // Another room, another pseudonym; a name taken is refused.
    let taken = s
        .create_pseudonym(&user("~one"), &user("bob"), &other, "h", "~one")
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    s.create_pseudonym(&user("~three"), &user("bob"), &other, "h", "~three")
        .await
        .unwrap();
    assert_eq!(
        s.pseudonym_of(&user("bob"), &other).await.unwrap(),
        Some(user("~three"))
    );
    // The pseudonym is an account of its own (its tokens, its devices).
    assert!(s.password_hash(&user("~one")).await.unwrap().is_some());
}

pub async fn tokens_name_their_user_and_device(db: &Db) {
    let s = &db.store;
    s.create_user(&user("alice"), "h", "alice").await.unwrap();
    let account = TokenOwner {
        user: user("alice"),
        client: None,
    };
    let device = TokenOwner {
        user: user("alice"),
        client: Some(client("alice", "phone")),
    };
    s.insert_token("t-hash", &account).await.unwrap();
    s.insert_token("d-hash", &device).await.unwrap();
    let owner = |hash: &'static str| async move {
        s.token_owner(hash).await.unwrap().map(|(owner, _)| owner)
    };
    assert_eq!(owner("t-hash").await, Some(account));
    assert_eq!(owner("d-hash").await, Some(device));
    assert_eq!(s.token_owner("unknown").await.unwrap(), None);
    let orphan = TokenOwner {
        user: user("nobody"),
        client: None,
    };
    let orphan = s.insert_token("t2", &orphan).await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
}

pub async fn the_provider_key_is_created_once(db: &Db) {
    let first = db
        .store
        .provider_key("example.com", b"key one")
        .await
        .unwrap();
    let other = db.reopen().await;
    let second = other.provider_key("example.com", b"key two").await.unwrap();
    assert_eq!(first, b"key one");
    assert_eq!(second, b"key one");
    assert_eq!(
        other
            .provider_key("example.org", b"key three")
            .await
            .unwrap(),
        b"key three"
    );
    other.close().await;
}

pub async fn devices_need_their_user_and_are_unique(db: &Db) {
    let s = &db.store;
    let phone = client("alice", "phone");
    let orphan = s.add_device(&phone).await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
    s.create_user(&user("alice"), "h", "alice").await.unwrap();
    s.add_device(&phone).await.unwrap();
    s.add_device(&client("alice", "laptop")).await.unwrap();
    let again = s.add_device(&phone).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(
        s.devices(&user("alice")).await.unwrap(),
        vec![client("alice", "laptop"), phone.clone()]
    );
    let device_token = TokenOwner {
        user: user("alice"),
        client: Some(phone.clone()),
    };
    s.insert_token("phone-token", &device_token).await.unwrap();
    assert_eq!(s.remove_device(&phone).await.unwrap(), Some(vec![]));
    assert_eq!(s.remove_device(&phone).await.unwrap(), None);
    assert_eq!(
        s.token_owner("phone-token").await.unwrap(),
        None,
        "its token is gone"
    );
    assert_eq!(
        s.devices(&user("alice")).await.unwrap(),
        vec![client("alice", "laptop")]
    );
}

pub async fn key_packages_are_handed_out_once_then_the_last_resort(db: &Db) {
    let s = &db.store;
    let bob = client("bob", "phone");
    with_devices(db, &[&bob]).await;
    assert_eq!(s.claim_key_package(&bob).await.unwrap(), None);
    s.add_key_packages(
        &bob,
        &[
            (b"kp1".to_vec(), false),
            (b"kp2".to_vec(), false),
            (b"last".to_vec(), true),
        ],
    )
    .await
    .unwrap();
    assert_eq!(s.key_package_count(&bob).await.unwrap(), 2);
    let first = s.claim_key_package(&bob).await.unwrap().unwrap();
    let second = s.claim_key_package(&bob).await.unwrap().unwrap();
    assert_eq!(
        BTreeSet::from([first, second]),
        BTreeSet::from([b"kp1".to_vec(), b"kp2".to_vec()])
    );
    assert_eq!(s.key_package_count(&bob).await.unwrap(), 0);
    // The last-resort KeyPackage is handed out every time, and kept.
    for _ in 0..2 {
        assert_eq!(
            s.claim_key_package(&bob).await.unwrap().as_deref(),
            Some(&b"last"[..])
        );
    }
    // Removing the device removes its KeyPackages.
    s.remove_device(&bob).await.unwrap();
    assert_eq!(s.claim_key_package(&bob).await.unwrap(), None);
}

pub async fn concurrent_claims_never_hand_out_a_key_package_twice(db: &Db) {
    let bob = client("bob", "phone");
    with_devices(db, &[&bob]).await;
    let kps: Vec<(Vec<u8>, bool)> = (0..40)
        .map(|i| (format!("kp{i}").into_bytes(), false))
        .collect();
    db.store.add_key_packages(&bob, &kps).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = db.store.clone();
        let bob = bob.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(kp) = store.claim_key_package(&bob).await.unwrap() {
                got.push(kp);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 40, "every KeyPackage handed out once");
    assert_eq!(distinct.len(), 40);
}

pub async fn users_whose_names_look_alike_cannot_both_exist(db: &Db) {
    let s = &db.store;
    s.create_user(&user("alice"), "h", "skeleton-of-alice")
        .await
        .unwrap();
    // Another name, the same skeleton (say `a1ice`): refused, nothing written.
    let twin = s
        .create_user(&user("a1ice"), "h", "skeleton-of-alice")
        .await;
    assert!(matches!(twin, Err(StoreError::Conflict(_))), "{twin:?}");
    assert_eq!(s.password_hash(&user("a1ice")).await.unwrap(), None);
    assert_eq!(
        s.user_with_skeleton("skeleton-of-alice").await.unwrap(),
        Some(user("alice"))
    );
    assert_eq!(s.user_with_skeleton("skeleton-of-bob").await.unwrap(), None);
}

pub async fn rooms_whose_names_look_alike_cannot_both_exist(db: &Db) {
    let s = &db.store;
    s.create_room(&new_room("team", vec![], true))
        .await
        .unwrap();
    // Another name, the same skeleton (say `tearn`): refused, nothing written.
    let mut twin = new_room("tearn", vec![], true);
    twin.skeleton = Some("skeleton-of-team".into());
    let refused = s.create_room(&twin).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert!(s.load_room(&room_id("tearn")).await.unwrap().is_none());
    assert_eq!(
        s.room_with_skeleton("skeleton-of-team").await.unwrap(),
        Some(room_id("team"))
    );
    assert_eq!(
        s.room_with_skeleton("skeleton-of-tearn").await.unwrap(),
        None
    );
    // Rooms without a name of their own have no skeleton, and do not clash.
    for name in ["a", "b"] {
        let mut unnamed = new_room(name, vec![], false);
        unnamed.skeleton = None;
        s.create_room(&unnamed).await.unwrap();
    }
}

pub async fn names_made_before_skeletons_get_theirs_unless_one_looks_like_another(db: &Db) {
    let s = &db.store;
    assert!(s.users_without_skeleton().await.unwrap().is_empty());
    assert!(s.rooms_without_skeleton().await.unwrap().is_empty());
    // Users and rooms as migrations 0007 and 0009 left them: no skeletons.
    for name in ["alice", "a1ice", "bob"] {
        s.create_user(&user(name), "h", &format!("temporary-{name}"))
            .await
            .unwrap();
    }
    for name in ["team", "tearn"] {
        s.create_room(&new_room(name, vec![], true)).await.unwrap();
    }
    db.forget_skeletons().await;
    assert_eq!(
        s.users_without_skeleton().await.unwrap(),
        vec![user("a1ice"), user("alice"), user("bob")]
    );
    assert_eq!(
        s.rooms_without_skeleton().await.unwrap(),
        vec![room_id("team"), room_id("tearn")]
    );
    assert!(
        s.set_user_skeleton(&user("alice"), "sk-alice")
            .await
            .unwrap()
    );
    // A look-alike keeps none; a user with one keeps it.
    assert!(
        !s.set_user_skeleton(&user("a1ice"), "sk-alice")
            .await
            .unwrap()
    );
    assert!(
        !s.set_user_skeleton(&user("alice"), "sk-other")
            .await
            .unwrap()
    );
    assert_eq!(
        s.user_with_skeleton("sk-alice").await.unwrap(),
        Some(user("alice"))
    );
    assert!(
        s.set_room_skeleton(&room_id("team"), "sk-team")
            .await
            .unwrap()
    );
    assert!(
        !s.set_room_skeleton(&room_id("tearn"), "sk-team")
            .await
            .unwrap()
    );
    assert_eq!(
        s.users_without_skeleton().await.unwrap(),
        vec![user("a1ice"), user("bob")]
    );
    assert_eq!(
        s.rooms_without_skeleton().await.unwrap(),
        vec![room_id("tearn")]
    );
}

pub async fn tokens_are_revoked_one_at_a_time_or_all_of_an_account(db: &Db) {
    let s = &db.store;
    let alice = client("alice", "phone");
    with_devices(db, &[&alice]).await;
    let account = TokenOwner {
        user: user("alice"),
        client: None,
    };
    let device = TokenOwner {
        user: user("alice"),
        client: Some(alice.clone()),
    };
    for hash in ["a1", "a2", "a3"] {
        s.insert_token(hash, &account).await.unwrap();
    }
    s.insert_token("d1", &device).await.unwrap();
    let known = |hash: &'static str| async move { s.token_owner(hash).await.unwrap().is_some() };
    // Logout: one token.
    assert!(s.revoke_token("a1").await.unwrap());
    assert!(!s.revoke_token("a1").await.unwrap());
    assert!(!known("a1").await && known("a2").await);
    // The account's other sessions, devices kept.
    assert_eq!(
        s.revoke_user_tokens(&user("alice"), false, Some("a2"))
            .await
            .unwrap(),
        1
    );
    assert!(known("a2").await && !known("a3").await && known("d1").await);
    // Every token, devices too.
    assert_eq!(
        s.revoke_user_tokens(&user("alice"), true, None)
            .await
            .unwrap(),
        2
    );
    assert!(!known("a2").await && !known("d1").await);
    // A device gets a new token; an unknown one does not.
    s.replace_device_token(&alice, "d2").await.unwrap();
    assert_eq!(
        s.token_owner("d2").await.unwrap().map(|(o, _)| o),
        Some(device)
    );
    let none = s
        .replace_device_token(&client("alice", "tablet"), "d3")
        .await;
    assert!(matches!(none, Err(StoreError::NotFound(_))), "{none:?}");
    // A new password.
    s.set_password(&user("alice"), "new-hash").await.unwrap();
    assert_eq!(
        s.password_hash(&user("alice")).await.unwrap().as_deref(),
        Some("new-hash")
    );
}
