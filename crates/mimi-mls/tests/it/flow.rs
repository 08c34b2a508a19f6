//! Real MLS through the hub: adds by KeyPackage with their participant-list update, Welcome
//! joins, removals, messages, denials, racing commits and tampered input.

use mimi_mls::MlsError;
use mimi_mls::hub::{Accepted, Hub, HubRoom};
use mimi_mls::key_package::{ValidKeyPackage, validate_key_package};
use mimi_mls::member::{Client, Incoming, OutgoingCommit, RoomGroup};
use mimi_policy::document::SeedDocument;
use mimi_policy::id::ProviderId;
use mimi_policy::seed::seed_role;
use openmls::component::ComponentData;
use openmls::prelude::{AddProposal, Proposal};
use openmls_traits::OpenMlsProvider as _;

use crate::support::{client, new_room, user};

/// The hub, a room it hosts, and its members with their groups.
pub struct World {
    pub hub: Hub,
    pub hosted: HubRoom,
    pub members: Vec<(Client, RoomGroup)>,
}

impl World {
    /// `preset` created by alice (owner) on example.com.
    pub fn new(preset: &str) -> Self {
        Self::with_room(preset, |_| {})
    }

    /// Like [`World::new`], with `edit` applied to the room document first.
    pub fn with_room(preset: &str, edit: impl FnOnce(&mut SeedDocument)) -> Self {
        let hub = Hub::new(ProviderId::parse("example.com").unwrap()).unwrap();
        Self::on_hub(hub, preset, edit)
    }

    /// Like [`World::with_room`], on a hub whose clock (Unix seconds, 1000 at first) the test
    /// moves through the returned counter.
    pub fn timed(
        preset: &str,
        edit: impl FnOnce(&mut SeedDocument),
    ) -> (Self, std::sync::Arc<std::sync::atomic::AtomicU64>) {
        use std::sync::atomic::{AtomicU64, Ordering};
        let now = std::sync::Arc::new(AtomicU64::new(1_000));
        let t = now.clone();
        let hub = Hub::with_clock(
            ProviderId::parse("example.com").unwrap(),
            Box::new(move || t.load(Ordering::SeqCst)),
        )
        .unwrap();
        (Self::on_hub(hub, preset, edit), now)
    }

    /// Like [`World::with_room`], hosted by `hub`.
    pub fn on_hub(hub: Hub, preset: &str, edit: impl FnOnce(&mut SeedDocument)) -> Self {
        let alice = client("mimi://example.com/d/alice/phone");
        let r = new_room(preset, alice.id());
        let mut doc = SeedDocument::from_room(&r, r.seed().unwrap());
        edit(&mut doc);
        let room = doc.into_room().unwrap();
        let group = alice.create_room(&room, &hub.external_sender()).unwrap();
        let hosted = hub
            .load_room(
                &alice.group_info(&group).unwrap(),
                &group.ratchet_tree().unwrap(),
            )
            .unwrap();
        Self {
            hub,
            hosted,
            members: vec![(alice, group)],
        }
    }

    pub fn member(&mut self, i: usize) -> (&Client, &mut RoomGroup) {
        let (c, g) = &mut self.members[i];
        (c, g)
    }

    /// Sends a commit to the hub; on acceptance the committer merges it and every other
    /// member processes it.
    pub fn submit(&mut self, committer: usize, out: &OutgoingCommit) -> Result<Accepted, MlsError> {
        let accepted = self
            .hosted
            .process(&self.hub, &out.commit, Some(&out.group_info))?;
        for (i, (c, g)) in self.members.iter_mut().enumerate() {
            if i == committer {
                g.confirm(c).unwrap();
            } else if g.mls().is_active() {
                g.process(c, &out.commit).unwrap();
            }
        }
        Ok(accepted)
    }

    /// `adder` adds the client `uri`; it joins by Welcome with the hub's tree.
    pub fn add(&mut self, adder: usize, uri: &str) -> Result<usize, MlsError> {
        let newcomer = client(uri);
        let kp = key_package(&newcomer);
        let (c, g) = self.member(adder);
        let out = g.add(c, vec![kp])?;
        self.submit(adder, &out)?;
        let group = newcomer
            .join(
                out.welcome.as_ref().unwrap(),
                &self.hosted.ratchet_tree().unwrap(),
            )
            .unwrap();
        self.members.push((newcomer, group));
        Ok(self.members.len() - 1)
    }

    pub fn epoch(&self) -> u64 {
        self.hosted.epoch()
    }
}

pub fn key_package(c: &Client) -> ValidKeyPackage {
    let bytes = c.key_package().unwrap();
    validate_key_package(c.provider().crypto(), &bytes, c.id().user()).unwrap()
}

#[test]
fn seed_add_admin_adds_a_stranger_who_joins_by_welcome_as_member() {
    let mut w = World::new("administrated");
    let zed = w.add(0, "mimi://example.org/d/zed/laptop").unwrap();
    assert_eq!(w.epoch(), 1);
    let hub_room = w.hosted.room().unwrap();
    assert_eq!(
        hub_room.role_of(&user("zed@example.org")),
        seed_role::MEMBER
    );
    for (c, g) in &w.members {
        assert_eq!(g.room().unwrap(), hub_room, "{}", c.id());
    }
    assert_eq!(w.members[zed].1.epoch(), 1);
}

#[test]
fn seed_add_occupants_client_needs_no_list_change() {
    let mut w = World::new("administrated");
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.role_of(&user("bob@example.com")), seed_role::MEMBER);
    assert_eq!(room.client_total(), 2);
}

#[test]
fn seed_add_member_cannot_add_a_stranger_member_side_and_hub_side() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let zed = client("mimi://example.org/d/zed/laptop");
    // The member's own check refuses to build it.
    let (c, g) = w.member(bob);
    let err = g.add(c, vec![key_package(&zed)]).err().unwrap();
    assert_eq!(err.code(), "not-allowed");
    // Built by hand, bypassing that check: the hub refuses, and nothing changes.
    let add = Proposal::Add(Box::new(AddProposal::from(key_package(&zed).key_package)));
    let forged = forge(&mut w, bob, vec![add], Vec::new());
    let epoch = w.epoch();
    let err = w
        .hosted
        .process(&w.hub, &forged.0, Some(&forged.1))
        .err()
        .unwrap();
    assert_eq!(err.code(), "invalid-policy", "{err}");
    assert_eq!(w.epoch(), epoch);
    // And alice, another member, refuses it too.
    let (c, g) = w.member(0);
    assert!(g.process(c, &forged.0).is_err());
    assert_eq!(g.epoch(), epoch);
}

/// A commit built with openmls directly by `member`, bypassing its policy checks:
/// `proposals`, plus the dictionary entries `app_data` (component ID, new value) they set.
/// Returns the commit and GroupInfo; the member's own pending commit is dropped.
pub fn forge(
    w: &mut World,
    member: usize,
    proposals: Vec<Proposal>,
    app_data: Vec<(u16, Vec<u8>)>,
) -> (Vec<u8>, Vec<u8>) {
    let (c, g) = w.member(member);
    let mut stage = g
        .mls_mut()
        .commit_builder()
        .add_proposals(proposals)
        .load_psks(c.provider().storage())
        .unwrap();
    if !app_data.is_empty() {
        let mut updater = stage.app_data_dictionary_updater();
        for (id, value) in app_data {
            updater.set(ComponentData::from_parts(id, value.into()));
        }
        let changes = updater.changes();
        stage.with_app_data_dictionary_updates(changes);
    }
    let bundle = stage
        .create_group_info(true)
        .build(
            c.provider().rand(),
            c.provider().crypto(),
            c.signer(),
            |_| true,
        )
        .unwrap()
        .stage_commit(c.provider())
        .unwrap();
    let (commit, _, gi) = bundle.into_messages();
    let out = (commit.to_bytes().unwrap(), gi.unwrap().to_bytes().unwrap());
    g.mls_mut()
        .clear_pending_commit(c.provider().storage())
        .unwrap();
    out
}

#[test]
fn seed_remove_moderator_removes_a_member_client_and_members_follow() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    w.add(0, "mimi://example.com/d/carol/desktop").unwrap();
    let (c, g) = w.member(0);
    let out = g
        .remove(
            c,
            &mimi_policy::id::ClientId::parse("mimi://example.com/d/bob/phone").unwrap(),
        )
        .unwrap();
    let accepted = w
        .hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
    assert_eq!(accepted, Accepted::Commit { epoch: 3 });
    let (c, g) = w.member(0);
    g.confirm(c).unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.client_count_of(&user("bob@example.com")), 0);
    // bob stays a member (affiliation), without clients.
    assert_eq!(room.role_of(&user("bob@example.com")), seed_role::MEMBER);
    // The removed client learns it is out.
    let (c, g) = w.member(bob);
    g.process(c, &out.commit).unwrap();
    assert!(!g.mls().is_active());
}

#[test]
fn removing_a_user_removes_every_client_of_it_in_one_commit() {
    let mut w = World::new("administrated");
    let phone = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let laptop = w.add(0, "mimi://example.com/d/bob/laptop").unwrap();
    w.add(0, "mimi://example.com/d/carol/desktop").unwrap();
    assert_eq!(
        w.hosted
            .room()
            .unwrap()
            .client_count_of(&user("bob@example.com")),
        2
    );
    let (c, g) = w.member(0);
    let out = g.remove_user(c, &user("bob@example.com"), false).unwrap();
    w.hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
    let (c, g) = w.member(0);
    g.confirm(c).unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.client_count_of(&user("bob@example.com")), 0);
    assert_eq!(room.client_count_of(&user("carol@example.com")), 1);
    for bob in [phone, laptop] {
        let (c, g) = w.member(bob);
        g.process(c, &out.commit).unwrap();
        assert!(!g.mls().is_active());
    }
    // Nobody left to remove.
    let (c, g) = w.member(0);
    assert!(g.remove_user(c, &user("bob@example.com"), false).is_err());
}

#[test]
fn seed_remove_member_cannot_remove_an_admins_client() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let (c, g) = w.member(bob);
    let alice = mimi_policy::id::ClientId::parse("mimi://example.com/d/alice/phone").unwrap();
    let err = g.remove(c, &alice).err().unwrap();
    assert_eq!(err.code(), "not-allowed");
}

#[test]
fn hub_orders_commits_first_valid_wins_later_get_wrong_epoch() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let zed = client("mimi://example.org/d/zed/laptop");
    let bob2 = client("mimi://example.com/d/bob/laptop");
    let (c, g) = w.member(0);
    let first = g.add(c, vec![key_package(&zed)]).unwrap();
    let (c, g) = w.member(bob);
    let second = g.add(c, vec![key_package(&bob2)]).unwrap();
    assert_eq!(
        w.hosted
            .process(&w.hub, &first.commit, Some(&first.group_info))
            .unwrap(),
        Accepted::Commit { epoch: 2 }
    );
    let err = w
        .hosted
        .process(&w.hub, &second.commit, Some(&second.group_info))
        .err()
        .unwrap();
    assert!(matches!(err, MlsError::WrongEpoch { current: 2 }), "{err}");
}

#[test]
fn hub_refuses_tampered_or_incomplete_commits_without_state_change() {
    let mut w = World::new("administrated");
    let zed = client("mimi://example.org/d/zed/laptop");
    let (c, g) = w.member(0);
    let out = g.add(c, vec![key_package(&zed)]).unwrap();
    let hub = &w.hub;
    // Without the GroupInfo of the new epoch.
    let err = w.hosted.process(hub, &out.commit, None).err().unwrap();
    assert_eq!(err.code(), "bad-group-info");
    // With a GroupInfo of another epoch.
    let old = w.hosted.group_info(&w.hub).unwrap().to_vec();
    let err = w
        .hosted
        .process(hub, &out.commit, Some(&old))
        .err()
        .unwrap();
    assert_eq!(err.code(), "bad-group-info");
    // A flipped byte in the signature (before the 33-byte confirmation and membership tags,
    // which only members can check: the hub has no epoch secrets).
    let mut bad = out.commit.clone();
    let n = bad.len();
    bad[n - 33 - 33 - 20] ^= 0x01;
    assert!(w.hosted.process(hub, &bad, Some(&out.group_info)).is_err());
    // Truncated, and garbage.
    assert_eq!(
        w.hosted
            .process(hub, &out.commit[..n - 1], Some(&out.group_info))
            .err()
            .unwrap()
            .code(),
        "malformed-mls"
    );
    assert!(w.hosted.process(hub, b"not mls", None).is_err());
    assert_eq!(w.epoch(), 0);
    // The genuine commit still goes through afterwards.
    assert!(
        w.hosted
            .process(hub, &out.commit, Some(&out.group_info))
            .is_ok()
    );
}

#[test]
fn hub_refuses_a_commit_for_another_group() {
    let mut one = World::new("administrated");
    let two = World::new("open");
    let zed = client("mimi://example.org/d/zed/laptop");
    let (c, g) = one.member(0);
    let out = g.add(c, vec![key_package(&zed)]).unwrap();
    // Same room ID in both worlds, but a different group: the signature does not verify.
    let mut other = two;
    assert!(
        other
            .hosted
            .process(&other.hub, &out.commit, Some(&out.group_info))
            .is_err()
    );
    assert_eq!(other.epoch(), 0);
}

#[test]
fn members_exchange_end_to_end_encrypted_messages() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let (c, g) = w.member(0);
    let ciphertext = g.encrypt(c, b"hello bob").unwrap();
    assert!(!ciphertext.windows(9).any(|win| win == b"hello bob"));
    let (c, g) = w.member(bob);
    match g.process(c, &ciphertext).unwrap() {
        Incoming::Message { sender, plaintext } => {
            assert_eq!(sender.to_string(), "mimi://example.com/d/alice/phone");
            assert_eq!(plaintext, b"hello bob");
        }
        other => panic!("{other:?}"),
    }
    // The hub takes only handshakes.
    assert_eq!(
        w.hosted
            .process(&w.hub, &ciphertext, None)
            .err()
            .unwrap()
            .code(),
        "malformed-mls"
    );
}
