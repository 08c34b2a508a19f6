//! Joining by external commit through the hub: open rooms, pre-authorized users, a user's
//! new device; and refusals, on the joiner's side and the hub's.

use mimi_mls::member::Client;
use mimi_policy::seed::seed_role;

use crate::flow::World;
use crate::support::{client, user};

impl World {
    /// `joiner` joins by external commit from what the hub serves; the hub and every member
    /// process the commit.
    fn join_external(&mut self, joiner: Client) -> Result<usize, mimi_mls::MlsError> {
        let gi = self.hosted.group_info(&self.hub)?.to_vec();
        let tree = self.hosted.ratchet_tree()?;
        let (group, out) = joiner.join_external(&gi, &tree, Vec::new())?;
        self.hosted
            .process(&self.hub, &out.commit, Some(&out.group_info))?;
        for (c, g) in self.members.iter_mut() {
            g.process(c, &out.commit).unwrap();
        }
        self.members.push((joiner, group));
        Ok(self.members.len() - 1)
    }
}

#[test]
fn seed_join_2_open_room_external_commit_accepted_as_participant() {
    let mut w = World::new("open");
    let zed = w
        .join_external(client("mimi://example.org/d/zed/laptop"))
        .unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(
        room.role_of(&user("zed@example.org")),
        seed_role::PARTICIPANT
    );
    assert_eq!(w.members[0].1.room().unwrap(), room);
    assert_eq!(w.members[zed].1.room().unwrap(), room);
    // The joiner can talk to the room at once.
    let (c, g) = w.member(zed);
    let ct = g.encrypt(c, b"hi all").unwrap();
    let (c, g) = w.member(0);
    assert!(matches!(
        g.process(c, &ct).unwrap(),
        mimi_mls::member::Incoming::Message { .. }
    ));
}

#[test]
fn seed_join_1_preauthorized_user_joins_as_member() {
    // administrated pre-authorizes provider2.example as members.
    let mut w = World::new("administrated");
    w.join_external(client("mimi://provider2.example/d/zoe/phone"))
        .unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(
        room.role_of(&user("zoe@provider2.example")),
        seed_role::MEMBER
    );
}

#[test]
fn seed_join_1_a_users_new_device_joins_without_a_list_change() {
    let mut w = World::new("administrated");
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    w.join_external(client("mimi://example.com/d/bob/laptop"))
        .unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.client_count_of(&user("bob@example.com")), 2);
    assert_eq!(room.role_of(&user("bob@example.com")), seed_role::MEMBER);
}

#[test]
fn seed_join_knock_first_stranger_is_refused_before_and_at_the_hub() {
    let mut w = World::new("administrated");
    let err = w
        .join_external(client("mimi://example.org/d/zed/laptop"))
        .err()
        .unwrap();
    assert_eq!(err.code(), "knock-required");
    assert_eq!(w.epoch(), 0);
}

#[test]
fn seed_join_single_device_room_refuses_a_second_device() {
    let mut w = World::with_room("administrated", |doc| doc.policy.multi_device = false);
    // alice already has her phone in the group; the room is single-device.
    let err = w
        .join_external(client("mimi://example.com/d/alice/laptop"))
        .err()
        .unwrap();
    assert_eq!(err.code(), "single-device");
}

#[test]
fn hub_refuses_an_external_join_built_for_an_older_epoch() {
    // zed builds the join against an open room, but the owner closes the room first: the
    // join is for the old epoch and the hub refuses it with the current one.
    let mut w = World::new("open");
    let gi = w.hosted.group_info(&w.hub).unwrap().to_vec();
    let tree = w.hosted.ratchet_tree().unwrap();
    let zed = client("mimi://example.org/d/zed/laptop");
    let (_, out) = zed.join_external(&gi, &tree, Vec::new()).unwrap();
    let current = w.hosted.room().unwrap();
    let mut doc = mimi_policy::document::SeedDocument::from_room(&current, current.seed().unwrap());
    doc.policy.open = None;
    doc.policy.membership = Some(mimi_policy::seed::Membership::MembersOnly);
    let closed = doc.into_room().unwrap();
    let (c, g) = w.member(0);
    let update = g.update_policy(c, &closed).unwrap();
    w.submit(0, &update).unwrap();
    let err = w
        .hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .err()
        .unwrap();
    assert_eq!(err.code(), "wrong-epoch");
}
