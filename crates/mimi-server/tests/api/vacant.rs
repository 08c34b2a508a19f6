//! Vacant rooms (docs/decisions/0012): the first one back starts the group again only by a
//! way in that holds when it does.

use axum::http::StatusCode;
use serde_json::json;

use crate::flow::{create_room_from, seed_document};
use crate::support::Api;

/// A vacant room started again presents its way in to the hub, which decides it then, not
/// only when the GroupInfo was fetched: a used-up link lets nobody refound the room.
#[tokio::test]
async fn a_vacant_room_is_started_again_only_by_a_way_in_that_holds_at_that_moment() {
    let api = Api::new().await;
    let alice = api.person("alice", "phone").await;
    let dave = api.person("dave", "laptop").await;
    let erin = api.person("erin", "laptop").await;
    let link = "mimi://example.com/r/team?link=abcdefghijklmnopqrstuvwxyz&uses=1";
    let mut doc = seed_document(&alice, "team");
    doc.policy.discoverable = true;
    doc.policy.join_links = vec![link.to_owned()];
    create_room_from(&api, &alice, doc).await;
    let (status, v) = api
        .call(
            "POST",
            "/v1/rooms/example.com/team/vacate",
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    // dave spends the link's one use fetching the kept policy.
    let (status, info) = api
        .call(
            "POST",
            "/v1/rooms/example.com/team/group-info",
            Some(&dave.token),
            Some(json!({"link": link})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let kept = crate::support::unb64(&info["vacant"]);
    let entries = mimi_mls::context::decode_app_data(&kept).unwrap();
    let id = mimi_policy::id::RoomId::parse("mimi://example.com/r/team").unwrap();
    let vacant = mimi_policy::Room::from_app_data(Some(id), &entries, Default::default()).unwrap();
    // erin, handed the policy, builds the new group with the same link: refused.
    let code = mimi_mls::join_link::JoinCode::new(link, None);
    let group = erin
        .client
        .refound(&vacant, Some(&code), None, &api.external_sender().await)
        .unwrap();
    let (status, v) = api
        .call(
            "POST",
            "/v1/rooms",
            Some(&erin.token),
            Some(json!({
                "group_info": crate::support::b64(&erin.client.group_info(&group).unwrap()),
                "ratchet_tree": crate::support::b64(&group.ratchet_tree().unwrap()),
                "refound": {"link": link},
            })),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("link-exhausted")),
        "{v}"
    );
}
