//! Team, workgroup and group claims a provider signs for its users: a room that
//! pre-authorizes a team lets in the users their provider says are in it, and the hub and
//! every member refuse claims the provider did not sign, claims about someone else, and
//! (the hub, on its clock) claims past their expiry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mimi_mls::claims::ProviderClaims;
use mimi_mls::join_link::joiner_aad;
use mimi_mls::member::Client;
use mimi_policy::document::{PreauthItem, SeedDocument};
use mimi_policy::preauth::Claim;
use mimi_policy::seed::seed_role;

use crate::flow::World;
use crate::support::{client, user};

/// Only team `sales` is pre-authorized (as members).
fn sales_members(doc: &mut SeedDocument) {
    doc.preauth_owner.clear();
    doc.preauth_admin.clear();
    doc.preauth_visitor.clear();
    doc.preauth_member = vec![PreauthItem::Team("sales".into())];
}

/// An administrated room pre-authorizing team `sales` as members, on a hub whose clock the
/// test moves.
fn sales_room() -> (World, Arc<AtomicU64>) {
    World::timed("administrated", sales_members)
}

fn sales() -> Vec<Claim> {
    vec![Claim::new("team", "sales")]
}

impl World {
    /// `joiner` joins by external commit presenting `claims`: its own client, then the hub,
    /// then every member, decide it. Refused, the code of the first that refused; when the
    /// hub refuses, every member is shown the commit too and must refuse it with the same
    /// code, unless `members_have_no_clock` (an expiry only the hub can judge).
    fn join_with_claims(
        &mut self,
        joiner: Client,
        claims: &[u8],
        members_have_no_clock: bool,
    ) -> Result<(), String> {
        let gi = self.hosted.group_info(&self.hub).unwrap().to_vec();
        let tree = self.hosted.ratchet_tree().unwrap();
        let (group, out) = joiner
            .join_external_with(&gi, &tree, None, Some(claims))
            .map_err(|e| e.code().to_owned())?;
        let epoch = self.epoch();
        if let Err(e) = self
            .hosted
            .process(&self.hub, &out.commit, Some(&out.group_info))
        {
            assert_eq!(self.epoch(), epoch);
            if !members_have_no_clock {
                for (c, g) in self.members.iter_mut() {
                    let refused = g.process(c, &out.commit).err();
                    assert_eq!(refused.map(|r| r.code()), Some(e.code()));
                    assert_eq!(g.epoch(), epoch);
                }
            }
            return Err(e.code().to_owned());
        }
        for (c, g) in self.members.iter_mut() {
            g.process(c, &out.commit).unwrap();
        }
        self.members.push((joiner, group));
        Ok(())
    }
}

#[test]
fn a_team_claim_its_provider_signed_lets_the_user_join_as_the_team_is_preauthorized() {
    let (mut w, _) = sales_room();
    // Without its provider's word, erin is a stranger to the room.
    let err = w
        .join_external(client("mimi://example.com/d/erin/laptop"))
        .unwrap_err();
    assert_eq!(err.code(), "knock-required");

    let signed = w
        .hub
        .assert_claims(&user("erin@example.com"), &sales())
        .unwrap();
    w.join_with_claims(client("mimi://example.com/d/erin/laptop"), &signed, false)
        .unwrap();
    let room = w.hosted.room().unwrap();
    assert_eq!(room.role_of(&user("erin@example.com")), seed_role::MEMBER);
    assert_eq!(w.members[0].1.room().unwrap(), room);
}

#[test]
fn claims_signed_by_anyone_but_the_users_provider_are_refused_by_the_hub_and_members() {
    let (mut w, _) = sales_room();
    let erin = client("mimi://example.com/d/erin/laptop");
    // erin vouches for itself, with its own key: a member checks the provider's key.
    let forged = ProviderClaims {
        user: user("erin@example.com"),
        claims: sales(),
        expires: u64::MAX,
    }
    .sign(erin.signer())
    .unwrap();
    let code = w.join_with_claims(erin, &forged, false).unwrap_err();
    assert_eq!(code, "bad-credential");
    assert_eq!(
        w.hosted.room().unwrap().role_of(&user("erin@example.com")),
        0
    );
}

#[test]
fn claims_about_another_user_are_refused() {
    let (mut w, _) = sales_room();
    let carol = w
        .hub
        .assert_claims(&user("carol@example.com"), &sales())
        .unwrap();
    // erin's own client sees the claims are not its own.
    let code = w
        .join_with_claims(client("mimi://example.com/d/erin/laptop"), &carol, false)
        .unwrap_err();
    assert_eq!(code, "bad-credential");
    // Built anyway, the hub and every member refuse it.
    let gi = w.hosted.group_info(&w.hub).unwrap().to_vec();
    let tree = w.hosted.ratchet_tree().unwrap();
    let erin = client("mimi://example.com/d/erin/laptop");
    let aad = joiner_aad(None, Some(&carol)).unwrap();
    let (_, out) = erin
        .external_commit_unchecked(&gi, &tree, aad, Some(seed_role::MEMBER))
        .unwrap();
    let err = w
        .hosted
        .process(&w.hub, &out.commit, Some(&out.group_info))
        .err()
        .unwrap();
    assert_eq!(err.code(), "bad-credential");
    let (c, g) = w.member(0);
    assert_eq!(
        g.process(c, &out.commit).err().unwrap().code(),
        "bad-credential"
    );
}

#[test]
fn the_hub_refuses_claims_past_their_expiry_on_its_clock() {
    let (mut w, now) = sales_room();
    let signed = w
        .hub
        .assert_claims(&user("erin@example.com"), &sales())
        .unwrap();
    now.fetch_add(mimi_mls::claims::LIFETIME, Ordering::SeqCst);
    let code = w
        .join_with_claims(client("mimi://example.com/d/erin/laptop"), &signed, true)
        .unwrap_err();
    assert_eq!(code, "bad-credential");
    // Fresh claims from the provider work.
    let fresh = w
        .hub
        .assert_claims(&user("erin@example.com"), &sales())
        .unwrap();
    w.join_with_claims(client("mimi://example.com/d/erin/laptop"), &fresh, false)
        .unwrap();
}

#[test]
fn a_claim_the_room_does_not_preauthorize_lets_nobody_in() {
    let (mut w, _) = sales_room();
    let support = w
        .hub
        .assert_claims(&user("erin@example.com"), &[Claim::new("team", "support")])
        .unwrap();
    let code = w
        .join_with_claims(client("mimi://example.com/d/erin/laptop"), &support, false)
        .unwrap_err();
    assert_eq!(code, "knock-required");
}
