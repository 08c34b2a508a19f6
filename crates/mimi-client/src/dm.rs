//! `mimi dm`: the fixed-membership room of a set of people (the seed's "Specific examples":
//! one-on-one, or a fixed group), named by the seed's convention from its occupants, so that
//! the same people always get the same room. The first to run it creates the room with
//! every other occupant listed (as admins) and sends each a connection request (the seed's
//! third method of joining); each accepts by running `mimi dm` with the same people, which
//! joins the room by external commit (an occupant's way in). Nobody is added or removed
//! later: the room policy refuses it.
//!
//! Occupants of several providers: the room lives on the provider of the first occupant
//! in the order of their user IDs (the seed names the room `...@DOMAIN`, its provider's
//! domain, but not which provider that is), so that every occupant names the same room.
//! Only that provider's users can create it: another occupant who runs `mimi dm` first asks
//! the first occupant to open it (a consent request naming the room) and joins later.

use std::collections::BTreeSet;

use mimi_policy::document::SeedDocument;
use mimi_policy::fixed_room::fixed_room_id;
use mimi_policy::id::{RoomId, UserId};

use crate::{ClientError, Profile};

/// What `mimi dm` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dm {
    /// The room.
    pub room: RoomId,
    /// True when this device created it (the others were asked to join); false when it
    /// joined the room another occupant created.
    pub created: bool,
    /// The occupant of another provider asked to open the room (it lives on that
    /// provider and does not exist yet): this device joins once it does.
    pub asked: Option<UserId>,
    /// The room's epoch after.
    pub epoch: u64,
    /// The other occupants.
    pub with: Vec<UserId>,
}

impl Profile {
    /// Opens the fixed-membership room of this user and `others` (on this user's provider):
    /// joins it when another occupant created it, else creates it and asks the others in.
    pub fn dm(&mut self, others: &[String]) -> Result<Dm, ClientError> {
        let me = self.user()?;
        let mut people = BTreeSet::new();
        for other in others {
            let user = self.user_id(other)?;
            if user == me {
                return Err(ClientError::Input(
                    "name the others; you are in the room anyway".into(),
                ));
            }
            people.insert(user);
        }
        if people.is_empty() {
            return Err(ClientError::Input("name at least one other user".into()));
        }
        let mut all = people.clone();
        all.insert(me.clone());
        // The first occupant's provider hosts it (all occupants name the same room).
        let first = all.iter().next().cloned().unwrap_or_else(|| me.clone());
        let room =
            fixed_room_id(first.domain(), &all).map_err(|e| ClientError::Input(e.to_string()))?;
        let with: Vec<UserId> = people.iter().cloned().collect();
        if let Some(group) = self.device()?.0.group(&room)?
            && group.mls().is_active()
        {
            return Ok(Dm {
                epoch: group.epoch(),
                room,
                created: false,
                asked: None,
                with,
            });
        }
        // Another occupant made it: accept by joining.
        match self.join_room(&room, None, None) {
            Ok(joined) => {
                return Ok(Dm {
                    room,
                    created: false,
                    asked: None,
                    epoch: joined.epoch,
                    with,
                });
            }
            Err(ClientError::Api(f)) if f.code == "not-found" => {}
            Err(e) => return Err(e),
        }
        if first.domain() != self.domain()? {
            // It lives with the first occupant's provider: ask the first occupant to open
            // it.
            self.consent_request(first.as_str(), Some(&room))?;
            return Ok(Dm {
                room,
                created: false,
                asked: Some(first),
                epoch: 0,
                with,
            });
        }
        let template = mimi_policy::preset::preset("one-on-one")
            .map_err(|e| ClientError::Input(e.to_string()))?;
        let system = UserId::new(&self.domain()?, "system")
            .map_err(|e| ClientError::Input(e.to_string()))?;
        let (client, _) = self.device()?;
        let mut doc = SeedDocument {
            id: Some(room.clone()),
            policy: template.policy,
            owning_system: vec![system],
            ..Default::default()
        };
        doc.user_affiliations.owner = vec![me.clone()];
        doc.user_affiliations.admin = with.clone();
        doc.clients = [(me.clone(), vec![client.id().name().to_owned()])].into();
        let json = serde_json::to_string(&doc).map_err(|e| ClientError::Input(e.to_string()))?;
        match self.create_room(room.as_str(), None, Some(&json), true, &[]) {
            Ok(_) => {}
            // Made by another occupant meanwhile: join it.
            Err(ClientError::Api(f)) if f.status == 409 => {
                let joined = self.join_room(&room, None, None)?;
                return Ok(Dm {
                    room,
                    created: false,
                    asked: None,
                    epoch: joined.epoch,
                    with,
                });
            }
            Err(e) => return Err(e),
        }
        // The connection requests: best effort, the room stands either way (each may run
        // `mimi dm` on its own).
        for other in &with {
            let _ = self.consent_request(other.as_str(), Some(&room));
        }
        Ok(Dm {
            room,
            created: true,
            asked: None,
            epoch: 0,
            with,
        })
    }
}
