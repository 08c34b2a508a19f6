//! The room's policy as MLS application components (draft-ietf-mls-extensions
//! `app_data_dictionary`, RP-04 §2): every member holds the same bytes in its group context.
//!
//! The participant list (0x0022), roles (0x0025), pre-authorization (0x0026) and the other
//! RP-04 components travel under their suggested IDs; a seed room's profile (flags without an
//! RP-04 home, system users, MLS-level policy) travels in the private-use component
//! [`ids::SEED_PROFILE`]. The clients are not carried: they are the group's leaves.

use std::collections::{BTreeMap, BTreeSet};

use tls_codec::{TlsDeserialize, TlsSerialize, TlsSize};

use crate::codec::Flag;
use crate::component::bundle::take;
use crate::component::{ComponentError, ComponentId, PolicyComponent, PolicyComponents, ids};
use crate::id::{RoomId, UserId};
use crate::participant_list::ParticipantList;
use crate::preauth::PreAuthList;
use crate::role::RoleTable;
use crate::room::{Profile, Room, RoomError};
use crate::seed::{Membership, MlsPolicy, SeedProfile};

impl PolicyComponent for ParticipantList {
    const ID: ComponentId = ids::PARTICIPANT_LIST;
}

impl PolicyComponent for RoleTable {
    const ID: ComponentId = ids::ROLES_LIST;
}

impl PolicyComponent for PreAuthList {
    const ID: ComponentId = ids::PREAUTH_LIST;
}

/// Why a group context does not hold a valid room policy.
#[derive(Debug, thiserror::Error)]
pub enum CarriageError {
    /// A component is missing or does not decode.
    #[error("{0}")]
    Component(#[from] ComponentError),
    /// The decoded room breaks one of its own rules.
    #[error("{0}")]
    Room(#[from] RoomError),
}

impl CarriageError {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Component(e) => e.code(),
            Self::Room(e) => e.code(),
        }
    }
}

/// The wire form of a [`SeedProfile`]; -1 intervals travel as absent values.
#[derive(Debug, Clone, PartialEq, Eq, TlsSerialize, TlsDeserialize, TlsSize)]
struct SeedProfileData {
    membership: u8,
    moderated: Flag,
    logging: Flag,
    welcome_directly: Flag,
    history: Flag,
    bots: Flag,
    direct_messaging: Flag,
    password: Option<String>,
    owning_system: Vec<UserId>,
    system_auth: Vec<UserId>,
    psk: Flag,
    reinit: Flag,
    update_min_interval: Option<u64>,
    update_max_interval: Option<u64>,
    external_proposals: Flag,
}

impl PolicyComponent for SeedProfileData {
    const ID: ComponentId = ids::SEED_PROFILE;
}

fn interval_out(v: i64) -> Option<u64> {
    u64::try_from(v).ok()
}

fn interval_in(v: Option<u64>) -> Result<i64, ComponentError> {
    match v {
        None => Ok(-1),
        Some(v) => i64::try_from(v).map_err(|_| ComponentError::Decode {
            component_id: ids::SEED_PROFILE,
            source: crate::codec::DecodeError::Invalid("update interval out of range"),
        }),
    }
}

impl From<&SeedProfile> for SeedProfileData {
    fn from(s: &SeedProfile) -> Self {
        Self {
            membership: match s.membership {
                Membership::Open => 0,
                Membership::MembersOnly => 1,
                Membership::KnockFirst => 2,
            },
            moderated: Flag(s.moderated),
            logging: Flag(s.logging),
            welcome_directly: Flag(s.welcome_directly),
            history: Flag(s.history),
            bots: Flag(s.bots),
            direct_messaging: Flag(s.direct_messaging),
            password: s.password.clone(),
            owning_system: s.owning_system.clone(),
            system_auth: s.system_auth.clone(),
            psk: Flag(s.mls.psk),
            reinit: Flag(s.mls.reinit),
            update_min_interval: interval_out(s.mls.update_min_interval),
            update_max_interval: interval_out(s.mls.update_max_interval),
            external_proposals: Flag(s.mls.external_proposals),
        }
    }
}

impl TryFrom<SeedProfileData> for SeedProfile {
    type Error = ComponentError;

    fn try_from(d: SeedProfileData) -> Result<Self, ComponentError> {
        let membership = match d.membership {
            0 => Membership::Open,
            1 => Membership::MembersOnly,
            2 => Membership::KnockFirst,
            _ => {
                return Err(ComponentError::Decode {
                    component_id: ids::SEED_PROFILE,
                    source: crate::codec::DecodeError::Invalid("unknown membership value"),
                });
            }
        };
        Ok(Self {
            membership,
            moderated: d.moderated.0,
            logging: d.logging.0,
            welcome_directly: d.welcome_directly.0,
            history: d.history.0,
            bots: d.bots.0,
            direct_messaging: d.direct_messaging.0,
            password: d.password,
            owning_system: d.owning_system,
            system_auth: d.system_auth,
            mls: MlsPolicy {
                psk: d.psk.0,
                reinit: d.reinit.0,
                update_min_interval: interval_in(d.update_min_interval)?,
                update_max_interval: interval_in(d.update_max_interval)?,
                external_proposals: d.external_proposals.0,
            },
        })
    }
}

fn require<T: PolicyComponent>(
    entries: &BTreeMap<ComponentId, Vec<u8>>,
) -> Result<T, ComponentError> {
    take(entries)?.ok_or(ComponentError::MissingComponent {
        component_id: T::ID,
    })
}

impl Room {
    /// The room's policy as AppDataDictionary entries, keyed by component ID.
    pub fn to_app_data(&self) -> Result<BTreeMap<ComponentId, Vec<u8>>, ComponentError> {
        let mut entries = self.components().to_app_data()?;
        entries.insert(
            ParticipantList::ID,
            self.participants().to_component_bytes()?,
        );
        entries.insert(RoleTable::ID, self.roles().to_component_bytes()?);
        entries.insert(PreAuthList::ID, self.preauth().to_component_bytes()?);
        if let Some(seed) = self.seed() {
            entries.insert(
                SeedProfileData::ID,
                SeedProfileData::from(seed).to_component_bytes()?,
            );
        }
        Ok(entries)
    }

    /// Rebuilds a room from AppDataDictionary entries and the clients in the group (the
    /// leaves), checking every rule a room must hold.
    pub fn from_app_data(
        id: Option<RoomId>,
        entries: &BTreeMap<ComponentId, Vec<u8>>,
        clients: BTreeMap<UserId, BTreeSet<String>>,
    ) -> Result<Self, CarriageError> {
        let participants: ParticipantList = require(entries)?;
        let roles: RoleTable = require(entries)?;
        let preauth: PreAuthList = take(entries)?.unwrap_or_default();
        let components = PolicyComponents::from_app_data(entries)?;
        let profile = match take::<SeedProfileData>(entries)? {
            Some(data) => Profile::Seed(data.try_into()?),
            None => Profile::Roles,
        };
        Ok(Room::new(
            id,
            roles,
            participants,
            preauth,
            components,
            clients,
            profile,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset::{names, preset};

    #[test]
    fn every_preset_round_trips_through_app_data() {
        for name in names() {
            let room = preset(name).unwrap().into_room().unwrap();
            let entries = room.to_app_data().unwrap();
            assert!(entries.contains_key(&ids::SEED_PROFILE), "{name}");
            let back =
                Room::from_app_data(room.id.clone(), &entries, room.clients().clone()).unwrap();
            assert_eq!(back, room, "{name}");
        }
    }

    #[test]
    fn missing_participant_list_or_roles_is_refused() {
        let room = preset("open").unwrap().into_room().unwrap();
        for id in [ids::PARTICIPANT_LIST, ids::ROLES_LIST] {
            let mut entries = room.to_app_data().unwrap();
            entries.remove(&id);
            let err = Room::from_app_data(None, &entries, room.clients().clone()).unwrap_err();
            assert_eq!(err.code(), "missing-component", "{id:#06x}");
        }
    }

    #[test]
    fn clients_must_match_the_carried_participants() {
        let room = preset("open").unwrap().into_room().unwrap();
        let entries = room.to_app_data().unwrap();
        let mut clients = room.clients().clone();
        clients.insert(
            UserId::parse("stranger@example.org").unwrap(),
            BTreeSet::from(["c1".to_owned()]),
        );
        let err = Room::from_app_data(None, &entries, clients).unwrap_err();
        assert_eq!(err.code(), "client-without-role");
    }

    #[test]
    fn seed_profile_rejects_unknown_membership() {
        let room = preset("open").unwrap().into_room().unwrap();
        let mut entries = room.to_app_data().unwrap();
        let seed = entries.get_mut(&ids::SEED_PROFILE).unwrap();
        seed[0] = 7;
        assert!(Room::from_app_data(None, &entries, room.clients().clone()).is_err());
    }
}
