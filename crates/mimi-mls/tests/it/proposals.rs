//! Participant-list updates proposed on their own (a user's leave, a moderator's kick or
//! ban), stored by the hub and committed by another member.

use mimi_mls::hub::Accepted;
use mimi_policy::participant_list::ParticipantListUpdate;
use mimi_policy::seed::seed_role;
use openmls::prelude::AppDataUpdateOperation;

use crate::flow::World;
use crate::support::user;

impl World {
    /// Sends standalone proposals to the hub and to every member but `from`.
    fn propose(&mut self, from: usize, proposals: &[Vec<u8>]) {
        for p in proposals {
            assert_eq!(
                self.hosted.process(&self.hub, p, None).unwrap(),
                Accepted::Proposal
            );
            for (i, (c, g)) in self.members.iter_mut().enumerate() {
                if i != from {
                    g.process(c, p).unwrap();
                }
            }
        }
    }

    /// A participant-list update proposed by `member` with openmls directly, bypassing
    /// its own policy check.
    pub(crate) fn forged_list_update(
        &mut self,
        member: usize,
        update: &ParticipantListUpdate,
    ) -> Vec<u8> {
        let bytes = tls_codec::Serialize::tls_serialize_detached(update).unwrap();
        let (c, g) = self.member(member);
        let (forged, _) = g
            .mls_mut()
            .propose_app_data_update(
                c.provider(),
                c.signer(),
                mimi_policy::component::ids::PARTICIPANT_LIST,
                AppDataUpdateOperation::Update(bytes.into()),
            )
            .unwrap();
        forged.to_bytes().unwrap()
    }

    pub(crate) fn index_of(&self, who: &str) -> u32 {
        let room = self.hosted.room().unwrap();
        let u = user(who);
        room.participants()
            .entries()
            .iter()
            .position(|e| e.user == u)
            .unwrap() as u32
    }
}

#[test]
fn seed_leave_by_proposals_drops_the_affiliation_and_every_client() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    w.add(0, "mimi://example.com/d/bob/laptop").unwrap();
    let (c, g) = w.member(bob);
    let proposals = g.leave(c).unwrap();
    // The list update, the Remove of bob's laptop, the SelfRemove of his phone.
    assert_eq!(proposals.len(), 3);
    w.propose(bob, &proposals);
    let (c, g) = w.member(0);
    let out = g.commit_pending(c).unwrap();
    w.hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
    let room = w.hosted.room().unwrap();
    let bob_user = user("bob@example.com");
    assert_eq!(room.role_of(&bob_user), 0, "bob is no longer affiliated");
    assert_eq!(room.client_count_of(&bob_user), 0);
    // A plain SelfRemove would have kept bob a member: the affiliation is what changed.
    let (c, g) = w.member(0);
    g.confirm(c).unwrap();
    assert_eq!(g.room().unwrap(), room);
}

#[test]
fn muc_kick_by_proposal_from_an_admin_is_committed_by_the_owner() {
    let mut w = World::new("administrated");
    let carol = w.add(0, "mimi://example.com/d/carol/desktop").unwrap();
    w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    // carol (admin) proposes dropping bob (a member) from the participant list; the owner
    // commits it with the removal of bob's client.
    let update = ParticipantListUpdate {
        removed: vec![w.index_of("bob@example.com")],
        ..Default::default()
    };
    let (c, g) = w.member(carol);
    let kick = g.propose_participants(c, &update).unwrap();
    w.propose(carol, &[kick]);
    let (c, g) = w.member(0);
    let out = g
        .remove(
            c,
            &mimi_policy::id::ClientId::parse("mimi://example.com/d/bob/phone").unwrap(),
        )
        .unwrap();
    w.hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.role_of(&user("bob@example.com")), 0);
    assert_eq!(room.client_count_of(&user("bob@example.com")), 0);
}

#[test]
fn muc_order_a_member_cannot_propose_anothers_removal_from_the_list() {
    let mut w = World::new("administrated");
    let bob = w.add(0, "mimi://example.com/d/bob/phone").unwrap();
    let update = ParticipantListUpdate {
        removed: vec![w.index_of("carol@example.com")],
        ..Default::default()
    };
    // bob's own client refuses.
    let (c, g) = w.member(bob);
    let err = g.propose_participants(c, &update).err().unwrap();
    assert_eq!(err.code(), "not-allowed");
    // Built anyway, the hub and the owner's client refuse it.
    let forged = w.forged_list_update(bob, &update);
    let err = w.hosted.process(&w.hub, &forged, None).err().unwrap();
    assert_eq!(err.code(), "not-allowed");
    let (c, g) = w.member(0);
    assert_eq!(g.process(c, &forged).err().unwrap().code(), "not-allowed");
    assert_eq!(
        w.hosted.room().unwrap().role_of(&user("carol@example.com")),
        seed_role::ADMIN
    );
}

#[test]
fn policy_components_are_not_proposed_on_their_own() {
    let mut w = World::new("administrated");
    let (c, g) = w.member(0);
    let (forged, _) = g
        .mls_mut()
        .propose_app_data_update(
            c.provider(),
            c.signer(),
            mimi_policy::component::ids::BASE_ROOM_POLICY,
            AppDataUpdateOperation::Update(vec![0u8; 4].into()),
        )
        .unwrap();
    let forged = forged.to_bytes().unwrap();
    let err = w.hosted.process(&w.hub, &forged, None).err().unwrap();
    assert_eq!(err.code(), "invalid-policy");
}
