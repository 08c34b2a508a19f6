//! Joining by external commit through the hub: open rooms, pre-authorized users, a user's
//! new device; and refusals, on the joiner's side and the hub's. Also the leaves' signatures
//! checked ahead by every joiner, by external commit or by Welcome.

use mimi_mls::join_link::JoinCode;
use mimi_mls::member::Client;
use mimi_policy::role::RoleIndex;
use mimi_policy::seed::seed_role;

use crate::flow::World;
use crate::support::{client, user};

impl World {
    /// `joiner` joins by external commit from what the hub serves; the hub and every member
    /// process the commit.
    pub(crate) fn join_external(&mut self, joiner: Client) -> Result<usize, mimi_mls::MlsError> {
        self.join_by_link(joiner, None)
    }

    /// Like [`World::join_external`], presenting `link`.
    fn join_by_link(
        &mut self,
        joiner: Client,
        link: Option<&JoinCode>,
    ) -> Result<usize, mimi_mls::MlsError> {
        let gi = self.hosted.group_info(&self.hub)?.to_vec();
        let tree = self.hosted.ratchet_tree()?;
        let (group, out) = joiner.join_external(&gi, &tree, link)?;
        self.hosted
            .process(&self.hub, &out.commit, Some(&out.group_info))?;
        for (c, g) in self.members.iter_mut() {
            g.process(c, &out.commit).unwrap();
        }
        self.members.push((joiner, group));
        Ok(self.members.len() - 1)
    }

    /// `joiner` builds an external commit with `aad` that lists its user as `role`, without
    /// asking the policy (as a hostile client would); returns the hub's error code and each
    /// member's, and checks that nothing changed.
    fn forge_join(&mut self, joiner: &Client, aad: Vec<u8>, role: RoleIndex) -> Vec<String> {
        let gi = self.hosted.group_info(&self.hub).unwrap().to_vec();
        let tree = self.hosted.ratchet_tree().unwrap();
        let (_, out) = joiner
            .external_commit_unchecked(&gi, &tree, aad, Some(role))
            .unwrap();
        let epoch = self.epoch();
        let mut codes = vec![
            self.hosted
                .process(&self.hub, &out.commit, Some(&out.group_info))
                .map(|_| ())
                .expect_err("the hub accepted a forged join")
                .code()
                .to_owned(),
        ];
        for (c, g) in self.members.iter_mut() {
            let err = g
                .process(c, &out.commit)
                .map(|_| ())
                .expect_err("a member accepted a forged join");
            codes.push(err.code().to_owned());
            assert_eq!(g.epoch(), epoch);
        }
        assert_eq!(self.epoch(), epoch);
        codes
    }
}

const LINK: &str = "https://example.com/j/7f3a";

fn with_link(doc: &mut mimi_policy::document::SeedDocument) {
    doc.policy.join_links = vec![LINK.to_owned()];
    doc.policy.password = Some("s3cret".to_owned());
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
    // Built anyway, the join is refused by the hub and by every member.
    let zed = client("mimi://example.org/d/zed/laptop");
    let codes = w.forge_join(&zed, Vec::new(), seed_role::MEMBER);
    assert_eq!(codes, ["knock-required", "knock-required"]);
}

#[test]
fn seed_join_3_a_listed_join_link_admits_a_stranger_as_member() {
    let mut w = World::with_room("administrated", with_link);
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let code = JoinCode::new(LINK, Some("s3cret".into()));
    let zed = w
        .join_by_link(client("mimi://example.org/d/zed/laptop"), Some(&code))
        .unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.role_of(&user("zed@example.org")), seed_role::MEMBER);
    for (_, g) in &w.members {
        assert_eq!(g.room().unwrap(), room);
    }
    assert_eq!(w.members.len(), zed + 1);
}

#[test]
fn seed_join_3_an_unlisted_link_or_wrong_password_is_refused_by_joiner_hub_and_members() {
    let mut w = World::with_room("administrated", with_link);
    let zed = client("mimi://example.org/d/zed/laptop");
    for (code, expected) in [
        (
            JoinCode::new("https://example.com/j/0000", Some("s3cret".into())),
            "bad-link",
        ),
        (JoinCode::new(LINK, Some("guess".into())), "bad-password"),
        (JoinCode::new(LINK, None), "bad-password"),
    ] {
        let gi = w.hosted.group_info(&w.hub).unwrap().to_vec();
        let tree = w.hosted.ratchet_tree().unwrap();
        let err = zed.join_external(&gi, &tree, Some(&code)).err().unwrap();
        assert_eq!(err.code(), expected);
        let codes = w.forge_join(&zed, code.to_aad().unwrap(), seed_role::MEMBER);
        assert_eq!(codes, [expected, expected]);
    }
}

#[test]
fn seed_join_3_a_valid_link_cannot_buy_a_higher_role() {
    let mut w = World::with_room("administrated", with_link);
    let zed = client("mimi://example.org/d/zed/laptop");
    let code = JoinCode::new(LINK, Some("s3cret".into()));
    let codes = w.forge_join(&zed, code.to_aad().unwrap(), seed_role::ADMIN);
    // The join is allowed only as what the policy gives it (member), not as admin.
    assert_eq!(codes, ["invalid-policy", "invalid-policy"]);
    assert_eq!(
        w.hosted.room().unwrap().role_of(&user("zed@example.org")),
        0
    );
}

#[test]
fn seed_join_3_removing_a_link_from_the_room_revokes_it() {
    let mut w = World::with_room("administrated", with_link);
    let current = w.hosted.room().unwrap();
    let mut doc = mimi_policy::document::SeedDocument::from_room(&current, current.seed().unwrap());
    assert_eq!(doc.policy.join_links, [LINK]);
    doc.policy.join_links.clear();
    let revoked = doc.into_room().unwrap();
    let (c, g) = w.member(0);
    let update = g.update_policy(c, &revoked).unwrap();
    w.submit(0, &update).unwrap();
    let code = JoinCode::new(LINK, Some("s3cret".into()));
    let err = w
        .join_by_link(client("mimi://example.org/d/zed/laptop"), Some(&code))
        .err()
        .unwrap();
    assert_eq!(err.code(), "bad-link");
    let zed = client("mimi://example.org/d/zed/laptop");
    let codes = w.forge_join(&zed, code.to_aad().unwrap(), seed_role::MEMBER);
    assert_eq!(codes, ["bad-link", "bad-link"]);
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
    let (_, out) = zed.join_external(&gi, &tree, None).unwrap();
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

#[test]
fn a_joiner_builds_nothing_from_a_group_info_or_tree_that_does_not_verify() {
    // The joiner reads the room from the GroupInfo and tree before openmls verifies them
    // (to plan its commit); a forged or mismatched pair must still yield no commit, and
    // the refusal must come from the verification, not from decoding.
    let mut w = World::new("open");
    let room = w.hosted.room().unwrap().id.clone().unwrap();
    let gi = w.hosted.group_info(&w.hub).unwrap().to_vec();
    let tree = w.hosted.ratchet_tree().unwrap();
    let zed = client("mimi://example.org/d/zed/laptop");
    let refused = |gi: &[u8], tree: &[u8]| {
        let err = zed.join_external(gi, tree, None).err().unwrap();
        assert!(
            !matches!(err, mimi_mls::MlsError::Decode(_)),
            "refused only for its encoding: {err}"
        );
        assert!(zed.group(&room).unwrap().is_none(), "a group was kept");
    };
    // The GroupInfo's signature (its last bytes) altered.
    let mut bad_gi = gi.clone();
    *bad_gi.last_mut().unwrap() ^= 1;
    refused(&bad_gi, &tree);
    // The last leaf's signature (the tree's last bytes) altered.
    let mut bad_tree = tree.clone();
    *bad_tree.last_mut().unwrap() ^= 1;
    refused(&gi, &bad_tree);
    // A tree of another epoch than the GroupInfo's.
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let later_tree = w.hosted.ratchet_tree().unwrap();
    refused(&gi, &later_tree);
    // The genuine pair still works for the same client.
    let gi = w.hosted.group_info(&w.hub).unwrap().to_vec();
    assert!(zed.join_external(&gi, &later_tree, None).is_ok());
}

/// An open room with 20 members who joined by external commit beside its creator: leaves
/// from commits, enough to be checked ahead.
fn twenty_joined() -> World {
    let mut w = World::new("open");
    for i in 0..20 {
        w.join_external(client(&format!("mimi://example.org/d/u{i}/laptop")))
            .unwrap();
    }
    w
}

/// A newcomer joins `w` by external commit; asserts that openmls' check of each of the
/// room's `leaves` was answered from what the newcomer checked ahead. A leaf's bytes worked
/// out wrongly would have failed ahead and been checked again.
fn assert_all_answered_ahead(w: &mut World, leaves: usize) {
    let ada = w
        .join_external(client("mimi://example.org/d/ada/tablet"))
        .unwrap();
    let answered =
        openmls_traits::OpenMlsProvider::crypto(w.members[ada].0.provider()).answered_ahead();
    assert_eq!(
        answered, leaves,
        "{answered} of the {leaves} leaves' checks were answered from the list"
    );
}

#[test]
fn a_joiner_checks_the_leaves_signatures_ahead_and_openmls_is_answered_from_them() {
    let mut w = twenty_joined();
    let leaves = w.members.len();
    assert_all_answered_ahead(&mut w, leaves);
}

#[test]
fn a_newcomer_added_by_welcome_checks_the_leaves_signatures_ahead_too() {
    let mut w = twenty_joined();
    let ada = w.add(0, "mimi://example.org/d/ada/tablet").unwrap();
    // The tree the Welcome joins holds the newcomer's own leaf as well.
    let leaves = w.hosted.room().unwrap().client_total();
    assert_eq!(leaves, w.members.len());
    let answered =
        openmls_traits::OpenMlsProvider::crypto(w.members[ada].0.provider()).answered_ahead();
    assert_eq!(
        answered, leaves,
        "{answered} of the {leaves} leaves' checks were answered from the list"
    );
}

#[test]
fn a_joiner_checks_ahead_the_leaves_placed_after_blank_leaves() {
    let mut w = twenty_joined();
    // Two leaves in the middle of the tree made blank: every leaf after them keeps its index,
    // which goes into the bytes each of those leaves signed.
    for gone in ["u4", "u11"] {
        let (c, g) = w.member(0);
        let out = g
            .remove(
                c,
                &mimi_policy::id::ClientId::parse(&format!("mimi://example.org/d/{gone}/laptop"))
                    .unwrap(),
            )
            .unwrap();
        w.submit(0, &out).unwrap();
    }
    w.members.retain(|(_, g)| g.mls().is_active());
    let leaves = w.hosted.room().unwrap().client_total();
    assert_eq!(leaves, w.members.len());
    assert_eq!(leaves, 19);
    assert_all_answered_ahead(&mut w, leaves);
}
