//! `hub-commit`: the cost of the hub's policy pipeline over bare openmls, side by side.
//!
//! A room of `members` users, each with one client, hosted twice: by a [`Hub`] (parse,
//! verify, map to operations, authorize, check the GroupInfo, merge) and by a bare openmls
//! `PublicGroup` (process and merge). Each iteration the owner commits the Add of one more
//! member's client; both process the same bytes, in alternating order, and each time is
//! recorded. The hub's deferred check of the commit's GroupInfo signature (done before the
//! GroupInfo is first served) is timed separately.

use std::collections::BTreeMap;
use std::time::Instant;

use mimi_policy::document::{Affiliations, SeedDocument};
use mimi_policy::id::{ClientId, ProviderId, RoomId, UserId};
use openmls::group::{ProposalStore, PublicGroup};
use openmls::prelude::{MlsMessageBodyIn, MlsMessageIn, ProcessedMessageContent, RatchetTreeIn};
use openmls_traits::OpenMlsProvider as _;
use tls_codec::Deserialize as _;

use crate::MlsError;
use crate::hub::{Hub, HubRoom};
use crate::key_package::{ValidKeyPackage, validate_key_package};
use crate::member::{Client, RoomGroup};
use crate::store::MlsProvider;

/// Medians of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HubCommitFigures {
    /// Members in the room.
    pub members: usize,
    /// Median milliseconds for bare openmls to process and merge the commit.
    pub openmls_ms: f64,
    /// Median milliseconds for the hub pipeline on the same commit.
    pub mimi_ms: f64,
    /// Median milliseconds to verify the commit's GroupInfo signature, which the hub does
    /// off the commit path, before first serving it.
    pub group_info_ms: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn user(i: usize) -> Result<UserId, MlsError> {
    UserId::new("example.com", &format!("user{i:05}")).map_err(|e| MlsError::Policy(e.to_string()))
}

fn client_of_user(i: usize) -> Result<Client, MlsError> {
    let id = ClientId::new(user(i)?, "phone").map_err(|e| MlsError::Policy(e.to_string()))?;
    Client::new(id)
}

/// Runs the comparison for a room of `members` (at least 2) over `iterations` commits.
pub fn hub_commit(members: usize, iterations: usize) -> Result<HubCommitFigures, MlsError> {
    let members = members.max(2);
    let HostedRoom {
        hub,
        owner,
        mut group,
        mut hosted,
    } = hosted_room(members, members + iterations)?; // each later Add is a plain Add
    let key_packages = |range: std::ops::Range<usize>| -> Result<Vec<_>, MlsError> {
        range.map(key_package_of_user).collect()
    };

    // As the hub's rooms: a store that keeps no tree (the group holds it).
    let bare_provider = MlsProvider::without_tree();
    let gi = match MlsMessageIn::tls_deserialize_exact(hosted.group_info(&hub)?)
        .map_err(MlsError::Decode)?
        .extract()
    {
        MlsMessageBodyIn::GroupInfo(gi) => gi,
        _ => return Err(MlsError::Malformed("not a GroupInfo".into())),
    };
    let tree =
        RatchetTreeIn::tls_deserialize_exact(&hosted.ratchet_tree()?).map_err(MlsError::Decode)?;
    let (mut bare, _) = PublicGroup::from_external(
        bare_provider.crypto(),
        bare_provider.storage(),
        tree,
        gi,
        ProposalStore::new(),
    )
    .map_err(MlsError::openmls)?;

    let mut openmls_ms = Vec::with_capacity(iterations);
    let mut mimi_ms = Vec::with_capacity(iterations);
    let mut group_info_ms = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let kp = key_packages(members + i..members + i + 1)?;
        let out = group.add(&owner, kp)?;
        let run_bare = |bare: &mut PublicGroup| -> Result<f64, MlsError> {
            let start = Instant::now();
            let message = MlsMessageIn::tls_deserialize_exact(&out.commit)
                .map_err(MlsError::Decode)?
                .try_into_protocol_message()
                .map_err(|_| MlsError::Malformed("not a handshake".into()))?;
            let processed = bare
                .process_message(bare_provider.crypto(), message)
                .map_err(MlsError::openmls)?;
            let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content()
            else {
                return Err(MlsError::Malformed("not a commit".into()));
            };
            bare.merge_commit(bare_provider.storage(), *staged)
                .map_err(MlsError::openmls)?;
            Ok(start.elapsed().as_secs_f64() * 1e3)
        };
        let mut run_mimi = || -> Result<f64, MlsError> {
            let start = Instant::now();
            hosted.process(&hub, &out.commit, Some(&out.group_info))?;
            Ok(start.elapsed().as_secs_f64() * 1e3)
        };
        if i % 2 == 0 {
            openmls_ms.push(run_bare(&mut bare)?);
            mimi_ms.push(run_mimi()?);
        } else {
            mimi_ms.push(run_mimi()?);
            openmls_ms.push(run_bare(&mut bare)?);
        }
        let start = Instant::now();
        hosted.group_info(&hub)?;
        group_info_ms.push(start.elapsed().as_secs_f64() * 1e3);
        group.confirm(&owner)?;
    }
    Ok(HubCommitFigures {
        members,
        openmls_ms: median(openmls_ms),
        mimi_ms: median(mimi_ms),
        group_info_ms: median(group_info_ms),
    })
}

/// A room hosted by a hub, with its owner's client and group.
pub struct HostedRoom {
    /// The hub hosting it.
    pub hub: Hub,
    /// The owner (user 0), the only client that created or committed.
    pub owner: Client,
    /// The owner's group.
    pub group: RoomGroup,
    /// The hub's copy.
    pub hosted: HubRoom,
}

/// A validated KeyPackage of a fresh client of user `i`.
pub fn key_package_of_user(i: usize) -> Result<ValidKeyPackage, MlsError> {
    let c = client_of_user(i)?;
    validate_key_package(c.provider().crypto(), &c.key_package()?, c.id().user())
}

/// A room of `members` users (at least 1), each with one client, added by the owner in one
/// commit the hub accepted; users up to `listed` (exclusive) are listed as members, so adding
/// them later is a plain Add.
pub fn hosted_room(members: usize, listed: usize) -> Result<HostedRoom, MlsError> {
    let bad = |e: mimi_policy::document::DocumentError| MlsError::Policy(e.to_string());
    let hub =
        Hub::new(ProviderId::parse("example.com").map_err(|e| MlsError::Policy(e.to_string()))?)?;
    let owner = client_of_user(0)?;
    let listed: Result<Vec<UserId>, MlsError> = (1..listed.max(members)).map(user).collect();
    let doc = SeedDocument {
        id: Some(RoomId::new("example.com", "bench").map_err(|e| MlsError::Policy(e.to_string()))?),
        user_affiliations: Affiliations {
            owner: vec![user(0)?],
            member: listed?,
            ..Default::default()
        },
        clients: BTreeMap::from([(user(0)?, vec!["phone".to_owned()])]),
        ..Default::default()
    };
    let room = doc.into_room().map_err(bad)?;
    let mut group = owner.create_room(&room, &hub.external_sender())?;
    let mut hosted = hub.load_room(&owner.group_info(&group)?, &group.ratchet_tree()?)?;
    if members > 1 {
        let kps: Result<Vec<_>, MlsError> = (1..members).map(key_package_of_user).collect();
        let setup = group.add(&owner, kps?)?;
        hosted.process(&hub, &setup.commit, Some(&setup.group_info))?;
        group.confirm(&owner)?;
    }
    Ok(HostedRoom {
        hub,
        owner,
        group,
        hosted,
    })
}
