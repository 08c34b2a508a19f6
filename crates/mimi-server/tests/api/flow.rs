//! Two people on one provider: a room, an add by KeyPackage, a Welcome delivered from
//! durable storage, end-to-end encrypted messages both ways, and all of it surviving a
//! restart of the provider.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use mimi_mls::key_package::validate_key_package;
use mimi_mls::member::{Incoming, RoomGroup};
use mimi_policy::document::{Affiliations, SeedDocument};
use mimi_policy::id::RoomId;
use openmls_traits::OpenMlsProvider as _;
use serde_json::{Value, json};

use crate::support::{Api, Person, b64, unb64};

pub const ROOM: &str = "/v1/rooms/example.com/team";

/// alice's room `team` on the provider (hidden), with her phone in it.
pub async fn alice_room(api: &Api, alice: &Person) -> RoomGroup {
    create_room(api, alice, "team", false).await
}

/// `owner`'s room `name`, listed in the directory if `discoverable`, with only the owner's
/// device in it.
pub async fn create_room(api: &Api, owner: &Person, name: &str, discoverable: bool) -> RoomGroup {
    let mut doc = seed_document(owner, name);
    doc.policy.discoverable = discoverable;
    create_room_from(api, owner, doc).await
}

/// A seed room `name` owned by `owner`, with the owner's device in it (members-only).
pub fn seed_document(owner: &Person, name: &str) -> SeedDocument {
    SeedDocument {
        id: Some(RoomId::new("example.com", name).unwrap()),
        user_affiliations: Affiliations {
            owner: vec![owner.client.id().user().clone()],
            ..Default::default()
        },
        clients: BTreeMap::from([(
            owner.client.id().user().clone(),
            vec![owner.client.id().name().to_owned()],
        )]),
        owning_system: vec![mimi_policy::id::UserId::new("example.com", "system").unwrap()],
        ..Default::default()
    }
}

/// Creates the room `doc` describes, with `owner`'s device in it.
pub async fn create_room_from(api: &Api, owner: &Person, doc: SeedDocument) -> RoomGroup {
    let name = doc.id.as_ref().unwrap().to_string();
    let (group, (status, v)) = try_create_room_from(api, owner, doc).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["room"], name);
    group
}

/// Asks the provider to host the room `doc` describes; its group and the answer.
pub async fn try_create_room_from(
    api: &Api,
    owner: &Person,
    doc: SeedDocument,
) -> (RoomGroup, (StatusCode, Value)) {
    let room = doc.into_room().unwrap();
    let group = owner
        .client
        .create_room(&room, &api.external_sender().await)
        .unwrap();
    let answer = api
        .call(
            "POST",
            "/v1/rooms",
            Some(&owner.token),
            Some(json!({
                "group_info": b64(&owner.client.group_info(&group).unwrap()),
                "ratchet_tree": b64(&group.ratchet_tree().unwrap()),
            })),
        )
        .await;
    (group, answer)
}

/// `target` lets `requester` (a bare name) add it to any room.
pub async fn let_add(api: &Api, target: &Person, requester: &str) {
    let (status, v) = api
        .call(
            "POST",
            "/v1/consent/grant",
            Some(&target.token),
            Some(json!({ "user": requester })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
}

pub async fn upload_key_packages(api: &Api, p: &Person, n: usize) {
    let kps: Vec<String> = (0..n)
        .map(|_| b64(&p.client.key_package().unwrap()))
        .collect();
    let (status, v) = api
        .call(
            "POST",
            "/v1/key-packages",
            Some(&p.token),
            Some(json!({ "key_packages": kps })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

/// `adder` adds every device of `user` with claimed KeyPackages; returns the answer.
pub async fn add_user(
    api: &Api,
    adder: &Person,
    group: &mut RoomGroup,
    user: &str,
) -> (StatusCode, Value) {
    let kps = claim_key_packages(api, adder, user).await;
    let out = group.add(&adder.client, kps).unwrap();
    submit_commit(api, adder, group, &out).await
}

/// `claimer` claims one KeyPackage per device of `user` and checks each.
pub async fn claim_key_packages(
    api: &Api,
    claimer: &Person,
    user: &str,
) -> Vec<mimi_mls::key_package::ValidKeyPackage> {
    let (status, v) = api
        .call(
            "POST",
            "/v1/key-packages/claim",
            Some(&claimer.token),
            Some(json!({ "user": user })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let target = mimi_policy::id::UserId::parse_with_default(user, "example.com").unwrap();
    v["key_packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            validate_key_package(
                claimer.client.provider().crypto(),
                &unb64(&k["key_package"]),
                &target,
            )
            .unwrap()
        })
        .collect()
}

/// `p` submits the commit `out` of `group`; the group merges it if accepted, else drops it.
pub async fn submit_commit(
    api: &Api,
    p: &Person,
    group: &mut RoomGroup,
    out: &mimi_mls::member::OutgoingCommit,
) -> (StatusCode, Value) {
    let answer = api
        .call(
            "POST",
            &format!("{ROOM}/commits"),
            Some(&p.token),
            Some(json!({
                "commit": b64(&out.commit),
                "group_info": b64(&out.group_info),
                "welcome": out.welcome.as_deref().map(b64),
            })),
        )
        .await;
    if answer.0 == StatusCode::OK {
        group.confirm(&p.client).unwrap();
    } else {
        group.discard(&p.client).unwrap();
    }
    answer
}

/// `p` joins from the Welcome waiting in its inbox.
pub async fn join_from_inbox(api: &Api, p: &Person) -> RoomGroup {
    let (status, v) = api.call("GET", "/v1/sync", Some(&p.token), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let welcome = &v["welcomes"][0];
    // The Welcome comes with the ratchet tree of the epoch it joins.
    let group = p
        .client
        .join(
            &unb64(&welcome["welcome"]),
            &unb64(&welcome["ratchet_tree"]),
        )
        .unwrap();
    let (status, _) = api
        .call(
            "POST",
            "/v1/ack",
            Some(&p.token),
            Some(json!({ "welcome": welcome["id"] })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    group
}

pub async fn send(api: &Api, p: &Person, group: &mut RoomGroup, text: &str) -> (StatusCode, Value) {
    let ct = group.encrypt(&p.client, text.as_bytes()).unwrap();
    api.call(
        "POST",
        &format!("{ROOM}/messages"),
        Some(&p.token),
        Some(json!({ "message": b64(&ct) })),
    )
    .await
}

/// What `p` receives: the plaintexts of others' messages; everything is acknowledged.
pub async fn receive(api: &Api, p: &Person, group: &mut RoomGroup) -> Vec<String> {
    let (status, v) = api.call("GET", "/v1/sync", Some(&p.token), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let me = p.client.id().to_string();
    let mut texts = Vec::new();
    let mut last = None;
    for e in v["entries"].as_array().unwrap() {
        last = Some((e["room"].clone(), e["seq"].clone()));
        if e["sender"] == me.as_str() {
            continue;
        }
        if let Incoming::Message { plaintext, .. } =
            group.process(&p.client, &unb64(&e["message"])).unwrap()
        {
            texts.push(String::from_utf8(plaintext).unwrap());
        }
    }
    if let Some((room, seq)) = last {
        let (status, _) = api
            .call(
                "POST",
                "/v1/ack",
                Some(&p.token),
                Some(json!({ "rooms": [{ "room": room, "seq": seq }] })),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    texts
}

/// alice's room with bob in it, both with their groups.
pub async fn two_in_a_room(api: &Api) -> (Person, RoomGroup, Person, RoomGroup) {
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(api, &bob, 1).await;
    let_add(api, &bob, "alice").await;
    let mut ag = alice_room(api, &alice).await;
    assert_eq!(
        add_user(api, &alice, &mut ag, "bob").await.0,
        StatusCode::OK
    );
    let bg = join_from_inbox(api, &bob).await;
    (alice, ag, bob, bg)
}

#[tokio::test]
async fn two_users_exchange_encrypted_messages_restart_safe() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let bob = api.person("bob", "phone").await;
    upload_key_packages(&api, &bob, 2).await;
    let_add(&api, &bob, "alice").await;
    let mut ag = alice_room(&api, &alice).await;

    let (status, v) = add_user(&api, &alice, &mut ag, "bob").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["epoch"], 1);
    let mut bg = join_from_inbox(&api, &bob).await;

    assert_eq!(
        send(&api, &alice, &mut ag, "hello bob").await.0,
        StatusCode::OK
    );
    assert_eq!(receive(&api, &bob, &mut bg).await, ["hello bob"]);
    assert_eq!(
        send(&api, &bob, &mut bg, "hi alice").await.0,
        StatusCode::OK
    );
    assert_eq!(receive(&api, &alice, &mut ag).await, ["hi alice"]);
    // Acknowledged: nothing more.
    assert!(receive(&api, &bob, &mut bg).await.is_empty());

    // The provider restarts (same database): the room, its hub key and the undelivered
    // message are all there.
    assert_eq!(
        send(&api, &bob, &mut bg, "still there?").await.0,
        StatusCode::OK
    );
    let again = api.restarted().await;
    assert_eq!(receive(&again, &alice, &mut ag).await, ["still there?"]);
    assert_eq!(send(&again, &alice, &mut ag, "yes").await.0, StatusCode::OK);
    assert_eq!(receive(&again, &bob, &mut bg).await, ["yes"]);
    // The room document reflects the add.
    let (status, doc) = again.call("GET", ROOM, Some(&bob.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        doc["user-affiliations"]["owner"][0],
        "mimi://example.com/u/alice"
    );
    assert_eq!(
        doc["user-affiliations"]["member"][0],
        "mimi://example.com/u/bob"
    );
}

#[tokio::test]
async fn several_messages_in_one_request_are_stored_in_order_or_not_at_all() {
    let api = Api::new().await;
    let (alice, mut ag, bob, mut bg) = two_in_a_room(&api).await;
    let path = format!("{ROOM}/messages");
    let texts = ["one", "two", "three"];
    let cts: Vec<String> = texts
        .iter()
        .map(|t| b64(&ag.encrypt(&alice.client, t.as_bytes()).unwrap()))
        .collect();
    let (status, v) = api
        .call(
            "POST",
            &path,
            Some(&alice.token),
            Some(json!({ "messages": cts })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let seqs: Vec<u64> = v["seqs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(seqs.len(), 3);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert_eq!(receive(&api, &bob, &mut bg).await, texts);

    // One bad message refuses the whole request: nothing of it is stored.
    let good = b64(&ag.encrypt(&alice.client, b"four").unwrap());
    let (status, v) = api
        .call(
            "POST",
            &path,
            Some(&alice.token),
            Some(json!({ "messages": [good, b64(b"not MLS")] })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"].as_str().unwrap().starts_with("messages[1]"),
        "{v}"
    );
    assert!(receive(&api, &bob, &mut bg).await.is_empty());
    let (status, v) = api
        .call(
            "POST",
            &path,
            Some(&alice.token),
            Some(json!({ "messages": [] })),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-batch"))
    );
}
