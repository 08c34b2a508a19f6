//! Peer input never panics the hub: random bytes and mutations of valid messages go through
//! every decoder of peer input (handshakes, application messages, KeyPackages, GroupInfo and
//! tree), and a refused message leaves the room as it was.

use mimi_mls::key_package::validate_key_package;
use openmls_traits::OpenMlsProvider as _;
use proptest::prelude::*;

use crate::flow::{World, key_package};
use crate::support::{client, user};

/// A valid commit (alice adds zed) and the world it belongs to, at epoch 0.
fn world_with_commit() -> (World, Vec<u8>, Vec<u8>) {
    let mut w = World::new("administrated");
    let zed = client("mimi://example.org/d/zed/laptop");
    let (c, g) = w.member(0);
    let out = g.add(c, vec![key_package(&zed)]).unwrap();
    (w, out.commit, out.group_info)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn hub_survives_mutated_commits_and_group_infos(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        truncate in any::<prop::sample::Index>(),
        mutate_gi in any::<bool>(),
    ) {
        let (mut w, mut commit, mut gi) = world_with_commit();
        let target = if mutate_gi { &mut gi } else { &mut commit };
        for (at, byte) in flips {
            let i = at.index(target.len());
            target[i] ^= byte | 1;
        }
        if truncate.index(4) == 0 {
            let cut = truncate.index(target.len());
            target.truncate(cut);
        }
        let result = w.hosted.process(&w.hub, &commit, Some(&gi));
        if result.is_err() {
            prop_assert_eq!(w.epoch(), 0);
        }
        let sender = w.members[0].0.id().clone();
        let _ = w.hosted.check_message(&w.hub, &sender, &commit);
    }

    #[test]
    fn decoders_survive_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let (mut w, _, _) = world_with_commit();
        prop_assert!(w.hosted.process(&w.hub, &bytes, Some(&bytes)).is_err());
        prop_assert!(w.hub.load_room(&bytes, &bytes).is_err());
        let c = client("mimi://example.com/d/alice/phone");
        let owner = user("alice@example.com");
        prop_assert!(validate_key_package(c.provider().crypto(), &bytes, &owner).is_err());
    }

    #[test]
    fn key_package_validation_survives_mutations(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let c = client("mimi://example.com/d/alice/phone");
        let mut kp = c.key_package().unwrap();
        for (at, byte) in flips {
            let i = at.index(kp.len());
            kp[i] ^= byte | 1;
        }
        let owner = user("alice@example.com");
        // A mutated KeyPackage is either refused or (when the flip hit an unsigned length
        // that re-encodes identically) still a valid KeyPackage of alice's client.
        if let Ok(valid) = validate_key_package(c.provider().crypto(), &kp, &owner) {
            prop_assert_eq!(&valid.client, c.id());
        }
    }
}
