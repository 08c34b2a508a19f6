//! Rooms: creating them, their document, the directory, adding and removing users, leaving,
//! knocking.

use std::collections::BTreeMap;

use mimi_mls::key_package::validate_key_package;
use mimi_policy::Action;
use mimi_policy::document::{PreauthItem, SeedDocument, parse_room};
use mimi_policy::id::{RoomId, UserId};
use mimi_policy::operation::Target;
use mimi_policy::preset::preset;
use mimi_policy::seed::Affiliation;
use openmls::prelude::ExternalSender;
use openmls_traits::OpenMlsProvider as _;
use openmls_traits::random::OpenMlsRand as _;
use serde_json::{Value, json};
use tls_codec::Deserialize as _;

use mimi_api::{
    Claim, ClaimedAll, CreateRoom, Declined, Directory, GroupInfo, Handshake, JoinInfo, Knocked,
    Proposal, Provider, RoomCreated, Withdrawn,
};
use mimi_mls::join_link::JoinCode;

use crate::{ClientError, Profile, api, bad_answer, path_segment, room_path};

/// A moderation of a user (XEP-0045's vocabulary), as [`Profile::moderate`] commits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    /// Removes the user's clients; a member, admin or owner keeps its affiliation and may
    /// come back as the room lets it (a user without one leaves the room).
    Kick,
    /// Removes the user's clients and ends its affiliation: it is out of the room.
    Remove,
    /// Removes the user's clients and makes it an outcast: no way in until unbanned.
    Ban,
    /// Lifts a ban: the user's affiliation becomes none.
    Unban,
    /// Gives a visitor (or a muted member) voice.
    Voice,
    /// Takes a participant's or member's voice.
    Devoice,
    /// Sets the user's affiliation (owner, admin, member, none).
    Affiliation(Affiliation),
}

/// Refuses `action` of `client` in `group`'s room unless the room policy allows it, before
/// the provider is asked.
fn allowed(
    client: &mimi_mls::member::Client,
    group: &mimi_mls::member::RoomGroup,
    action: Action,
) -> Result<(), ClientError> {
    let decision = mimi_policy::authorize(
        &group.room()?,
        &mimi_policy::Operation {
            actor: mimi_policy::Actor::user(client.id().user().clone(), Some(client.id().name())),
            action,
        },
    );
    if decision.is_allowed() {
        Ok(())
    } else {
        Err(mimi_mls::MlsError::Denied(decision).into())
    }
}

/// What leaving a room did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// Asked to leave: another member commits the departure.
    Asked,
    /// The last member left a temporary room: it is gone.
    Destroyed,
    /// The last member left a persistent room: it stays, empty, with its policy and
    /// participant list, and the first one back starts its group again.
    Vacated,
}

/// A join by external commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The room's epoch after the join.
    pub epoch: u64,
    /// The user's other devices this device added after it joined.
    pub devices: Vec<String>,
}

impl Profile {
    /// Creates room `name` from a preset, or from a room document (`policy`, JSON as
    /// `mimi policy check` reads it), with this device's user as owner and only this device
    /// in its group. A hidden room whose ID this device chooses gets an unguessable tag after
    /// its name (`plans~` and 16 random base32 characters), unless `exact_name` or the name
    /// has one already: its name is its secret (docs/decisions/0009). Fixed-membership
    /// rooms keep the ID their occupants make. `preauth` claims (`domain:example.com`) are
    /// pre-authorized as members of a room made from a preset.
    pub fn create_room(
        &mut self,
        name: &str,
        preset_name: Option<&str>,
        policy: Option<&str>,
        exact_name: bool,
        preauth: &[String],
    ) -> Result<RoomId, ClientError> {
        let preauth = preauth
            .iter()
            .map(|c| crate::policy::parse_claim(c))
            .collect::<Result<Vec<_>, _>>()?;
        if policy.is_some() && !preauth.is_empty() {
            return Err(ClientError::Input(
                "a room document carries its own pre-authorization lists; --preauth is for \
                 presets"
                    .into(),
            ));
        }
        self.locked(|p| {
            let (client, token) = p.device()?;
            // The name as given: not one of this device's rooms it may stand for.
            let id = if name.contains(':') || name.contains('@') {
                p.room_id(name)?
            } else {
                RoomId::new(&p.domain()?, name)
                    .map_err(|e| ClientError::Input(format!("room {name:?}: {e}")))?
            };
            // Whether this device chooses the ID (a document may name it).
            let mut chosen_here = true;
            let me = client.id().clone();
            let mut room = match policy {
                Some(json) => {
                    let mut room =
                        parse_room(json).map_err(|e| ClientError::Input(e.to_string()))?;
                    chosen_here = room.id.is_none();
                    match &room.id {
                        None => room.id = Some(id.clone()),
                        Some(named) if *named != id => {
                            return Err(ClientError::Input(format!(
                                "the document is for {named}, not {id}: give its name, or drop \
                                 its `id`"
                            )));
                        }
                        Some(_) => {}
                    }
                    let mut room = room
                        .as_created_by(me.user(), me.name())
                        .map_err(|e| ClientError::Input(e.to_string()))?;
                    // A fixed-membership room without an ID takes the one its occupants
                    // make (the seed's naming), whatever name was given.
                    if chosen_here && room.fixed_membership() {
                        let named = mimi_policy::fixed_room::fixed_room_id(
                            id.domain(),
                            mimi_policy::fixed_room::occupants(&room),
                        )
                        .map_err(|e| ClientError::Input(e.to_string()))?;
                        room.id = Some(named);
                    }
                    room
                }
                None => {
                    let template: SeedDocument = preset(preset_name.unwrap_or("administrated"))
                        .map_err(|e| ClientError::Input(e.to_string()))?;
                    let system = UserId::new(&p.domain()?, "system")
                        .map_err(|e| ClientError::Input(e.to_string()))?;
                    let mut doc = SeedDocument {
                        id: Some(id.clone()),
                        policy: template.policy,
                        owning_system: vec![system],
                        ..Default::default()
                    };
                    // The seed's semi-open room is one its pre-authorized users join by
                    // themselves: on this provider, the creator's own domain (not the seed's
                    // example domains and workgroups). The other presets' examples are
                    // examples only: rooms made from them pre-authorize nobody.
                    if preset_name == Some("semi-open") {
                        doc.preauth_member =
                            vec![PreauthItem::Domain(me.user().domain().to_owned())];
                    }
                    for item in preauth {
                        if !doc.preauth_member.contains(&item) {
                            doc.preauth_member.push(item);
                        }
                    }
                    doc.user_affiliations.owner = vec![me.user().clone()];
                    doc.clients = BTreeMap::from([(me.user().clone(), vec![me.name().to_owned()])]);
                    doc.into_room()
                        .map_err(|e| ClientError::Input(e.to_string()))?
                }
            };
            let hidden = !room.components().base.discoverable.0;
            let untagged = id.name().filter(|n| mimi_policy::name::untagged(n) == *n);
            if let Some(chosen) = untagged
                && hidden
                && chosen_here
                && !exact_name
                && !room.fixed_membership()
            {
                let random =
                    client.provider().rand().random_array().map_err(|e| {
                        ClientError::Input(format!("no randomness for a tag: {e:?}"))
                    })?;
                let name = mimi_policy::name::tagged(chosen, random);
                room.id = Some(
                    RoomId::new(id.domain(), &name)
                        .map_err(|e| ClientError::Input(format!("room {name:?}: {e}")))?,
                );
            }
            let provider: Provider = p.api.get("/v1/provider", None)?;
            let sender = ExternalSender::tls_deserialize_exact(api::unb64(
                "external_sender",
                &provider.external_sender,
            )?)
            .map_err(|e| ClientError::Input(format!("the provider's external sender: {e}")))?;
            if let Some(old) = room
                .id
                .as_ref()
                .map(|r| client.group(r))
                .transpose()?
                .flatten()
            {
                if old.mls().is_active() {
                    return Err(ClientError::Input(format!(
                        "this device is in {} already",
                        room.id.as_ref().map_or_else(String::new, RoomId::to_string)
                    )));
                }
                // A room of that name this device was in, since destroyed: its state goes.
                old.forget(client)?;
            }
            let group = client.create_room(&room, &sender)?;
            let body = CreateRoom {
                group_info: api::b64(&client.group_info(&group)?),
                ratchet_tree: api::b64(&group.ratchet_tree()?),
                refound: None,
            };
            let created = p.api.post::<RoomCreated>("/v1/rooms", Some(token), &body);
            // Hosted (a 2xx, even with a malformed answer): keep the group.
            let hosted = match &created {
                Ok(_) => true,
                Err(e) => (200..300).contains(&e.status),
            };
            let id = room.id.clone().unwrap_or(id);
            if hosted {
                p.remember_room(&id);
                p.save_account()?;
                // A logging room's logger joins by itself when it hears of the room (best
                // effort: the room carries no messages until it is in).
                if let Some(seed) = room.seed().filter(|s| s.logging) {
                    let doc = SeedDocument::from_room(&room, seed);
                    let lists = [
                        &doc.preauth_owner,
                        &doc.preauth_admin,
                        &doc.preauth_member,
                        &doc.preauth_visitor,
                    ];
                    for item in lists.into_iter().flatten() {
                        if let PreauthItem::System(logger) = item {
                            let _ = p.suggest(&id, logger.as_str());
                        }
                    }
                }
            }
            RoomId::parse(&created?.room).map_err(|e| bad_answer("room", e))
        })
    }

    /// The room document.
    pub fn show_room(&self, room: &RoomId) -> Result<Value, ClientError> {
        let (_, token) = self.device()?;
        Ok(self.api.get(&room_path(room), Some(token))?)
    }

    /// The provider's directory of discoverable rooms.
    pub fn directory(&self) -> Result<Vec<String>, ClientError> {
        let directory: Directory = self.api.get("/v1/directory", Some(self.account_token()?))?;
        Ok(directory.rooms.into_iter().map(|r| r.room).collect())
    }

    /// Joins `room` by external commit, as the room lets this device's user: an open room,
    /// one that pre-authorizes the user, or with one of the room's join links (and the
    /// room's password, if it has one). Then adds the user's other devices that are not in
    /// the room yet (the seed: "Bob's client adds itself and any other of Bob's clients").
    pub fn join_room(
        &mut self,
        room: &RoomId,
        link: Option<&str>,
        password: Option<&str>,
    ) -> Result<Joined, ClientError> {
        self.join_by_itself(room, link, password, true)
    }

    /// Joins `room` by external commit; with `bring_devices`, then adds the user's other
    /// devices that are not in it.
    pub(crate) fn join_by_itself(
        &mut self,
        room: &RoomId,
        link: Option<&str>,
        password: Option<&str>,
        bring_devices: bool,
    ) -> Result<Joined, ClientError> {
        let epoch = self.locked(|p| {
            let (client, token) = p.device()?;
            let old = client.group(room)?;
            if let Some(old) = &old
                && old.mls().is_active()
                && !p.vacant(room)?
            {
                return Err(ClientError::Input(format!(
                    "this device is in {room} already"
                )));
            }
            // A room this device left, or one its user's last device left empty since: its
            // old state goes.
            if let Some(old) = old {
                old.forget(client)?;
            }
            let path = format!("{}/group-info", room_path(room));
            let info: GroupInfo = if link.is_some() || password.is_some() {
                p.api.post(
                    &path,
                    Some(token),
                    &JoinInfo {
                        link: link.map(str::to_owned),
                        password: password.map(str::to_owned),
                    },
                )?
            } else {
                p.api.get(&path, Some(token))?
            };
            // The team, workgroup and group claims the provider vouches for, if any.
            let claims = info
                .claims
                .as_deref()
                .map(|c| api::unb64("claims", c))
                .transpose()?;
            if let Some(kept) = &info.vacant {
                // Nobody is in the room: this device starts its group again.
                let entries = mimi_mls::context::decode_app_data(&api::unb64("vacant", kept)?)?;
                let vacant = mimi_policy::Room::from_app_data(
                    Some(room.clone()),
                    &entries,
                    Default::default(),
                )
                .map_err(|e| bad_answer("vacant", e))?;
                let code = (link.is_some() || password.is_some())
                    .then(|| JoinCode::new(link.unwrap_or_default(), password.map(str::to_owned)));
                let provider: Provider = p.api.get("/v1/provider", None)?;
                let sender = ExternalSender::tls_deserialize_exact(api::unb64(
                    "external_sender",
                    &provider.external_sender,
                )?)
                .map_err(|e| bad_answer("external_sender", e))?;
                let group = client.refound(&vacant, code.as_ref(), claims.as_deref(), &sender)?;
                let body = CreateRoom {
                    group_info: api::b64(&client.group_info(&group)?),
                    ratchet_tree: api::b64(&group.ratchet_tree()?),
                    refound: Some(JoinInfo {
                        link: link.map(str::to_owned),
                        password: password.map(str::to_owned),
                    }),
                };
                return match p.api.post::<RoomCreated>("/v1/rooms", Some(token), &body) {
                    Ok(created) => {
                        p.remember_room(room);
                        p.save_account()?;
                        Ok(created.epoch)
                    }
                    // Taken (a 2xx with a malformed answer): the group stays.
                    Err(e) if (200..300).contains(&e.status) => {
                        p.remember_room(room);
                        p.save_account()?;
                        Err(e.into())
                    }
                    Err(e) => {
                        group.forget(client)?;
                        p.save()?;
                        Err(e.into())
                    }
                };
            }
            let group_info = api::unb64("group_info", &info.group_info)?;
            let tree = api::unb64("ratchet_tree", &info.ratchet_tree)?;
            // A password alone travels with an empty link.
            let code = (link.is_some() || password.is_some())
                .then(|| JoinCode::new(link.unwrap_or_default(), password.map(str::to_owned)));
            let joined =
                client.join_external_with(&group_info, &tree, code.as_ref(), claims.as_deref());
            let (mut group, out) = match joined {
                // In the group by the provider's account but with no state here (a join
                // whose answer was lost): back in its own place.
                Err(mimi_mls::MlsError::Denied(d))
                    if d.deny_code() == Some(mimi_policy::DenyCode::AlreadyInRoom) =>
                {
                    client.rejoin(&group_info, &tree)?
                }
                other => other?,
            };
            match p.submit(room, &mut group, &out) {
                Ok(epoch) => {
                    p.remember_room(room);
                    p.save_account()?;
                    Ok(epoch)
                }
                Err(e) => {
                    // Refused, or not known to be taken: nothing of the attempt stays (a
                    // join the provider took without our hearing of it is made again).
                    group.forget(client)?;
                    p.save()?;
                    Err(e)
                }
            }
        })?;
        if !bring_devices {
            return Ok(Joined {
                epoch,
                devices: Vec::new(),
            });
        }
        // The user's other devices: best effort, the join stands either way (each device
        // may also join by itself).
        let user = self.user()?;
        let devices = match self.locked(|p| p.add_user(room, &user)) {
            Ok((_, added)) => added,
            Err(_) => Vec::new(),
        };
        Ok(Joined { epoch, devices })
    }

    /// Whether the provider keeps `room` vacant (its last member left it), which this device
    /// may still think it is in: it left with its user's last device elsewhere.
    fn vacant(&self, room: &RoomId) -> Result<bool, ClientError> {
        let (_, token) = self.device()?;
        let path = format!("{}/group-info", room_path(room));
        match self.api.get::<GroupInfo>(&path, Some(token)) {
            Ok(info) => Ok(info.vacant.is_some()),
            Err(_) => Ok(false),
        }
    }

    /// Adds every device of `user` that is not in `room` yet (by claimed KeyPackages).
    pub fn add(&mut self, room: &RoomId, user: &str) -> Result<u64, ClientError> {
        self.locked(|p| {
            let target = p.user_id(user)?;
            p.add_user(room, &target).map(|(epoch, _)| epoch)
        })
    }

    /// Adds the devices of `target` not in `room` yet; the epoch after and the clients added.
    fn add_user(&self, room: &RoomId, target: &UserId) -> Result<(u64, Vec<String>), ClientError> {
        let (client, token) = self.device()?;
        let claimed: ClaimedAll = self
            .api
            .post(
                "/v1/key-packages/claim",
                Some(token),
                &Claim {
                    user: target.to_string(),
                    room: Some(room.to_string()),
                },
            )
            .map_err(|mut e| {
                if e.code == "consent-required" {
                    e.message = format!(
                        "{target} has not let you add them to {room}; ask with \
                         `mimi consent request {target} --room {room}`, then they run \
                         `mimi consent grant {}`",
                        self.file.user
                    );
                }
                e
            })?;
        let mut kps = Vec::new();
        for k in &claimed.key_packages {
            let bytes = api::unb64("key_package", &k.key_package)?;
            kps.push(validate_key_package(
                client.provider().crypto(),
                &bytes,
                target,
            )?);
        }
        let added: Vec<String> = kps.iter().map(|k| k.client.to_string()).collect();
        let mut group = self.ready_group(room)?;
        let out = group.add(client, kps)?;
        self.submit(room, &mut group, &out)
            .map(|epoch| (epoch, added))
    }

    /// Removes `user` from `room`: every client of it, and its affiliation (it is out of
    /// the room, as [`Moderation::Remove`]).
    pub fn remove(&mut self, room: &RoomId, user: &str) -> Result<u64, ClientError> {
        self.moderate(room, user, Moderation::Remove, None)
            .map(|(_, epoch)| epoch)
    }

    /// Commits a moderation of `user` in `room`, with the moderator's `reason` for every
    /// member (the user included) to read. Checked against the room policy before it is
    /// sent; the hub and every member decide it again. Returns the user and the epoch after.
    pub fn moderate(
        &mut self,
        room: &RoomId,
        user: &str,
        what: Moderation,
        reason: Option<&str>,
    ) -> Result<(UserId, u64), ClientError> {
        if let Some(r) = reason
            && (r.trim().is_empty() || r.len() > mimi_mls::reason::MAX_REASON)
        {
            return Err(ClientError::Input(format!(
                "a reason is 1 to {} bytes",
                mimi_mls::reason::MAX_REASON
            )));
        }
        self.locked(|p| {
            let target = p.user_id(user)?;
            let (client, _) = p.device()?;
            let mut group = p.ready_group(room)?;
            let now = group.room()?;
            let present = now.clients().contains_key(&target);
            let affiliated = Affiliation::of_role(now.role_of(&target)) != Affiliation::None;
            match what {
                Moderation::Kick if !present => {
                    return Err(ClientError::Input(format!(
                        "{target} has no client in {room}"
                    )));
                }
                Moderation::Remove if !present && !affiliated => {
                    return Err(ClientError::Input(format!(
                        "{target} has no client in {room} and no affiliation to end"
                    )));
                }
                _ => {}
            }
            if let Some(r) = reason {
                group.set_reason(r)?;
            }
            let on = Target {
                user: target.clone(),
                client: None,
            };
            let out = match what {
                Moderation::Kick => group.remove_user(client, &target, false)?,
                Moderation::Remove => group.remove_user(client, &target, true)?,
                Moderation::Ban => group.ban(client, &target)?,
                Moderation::Unban => group.moderate(client, vec![Action::Unban { target: on }])?,
                Moderation::Voice => {
                    group.moderate(client, vec![Action::GrantVoice { target: on }])?
                }
                Moderation::Devoice => {
                    group.moderate(client, vec![Action::RevokeVoice { target: on }])?
                }
                Moderation::Affiliation(affiliation) => group.moderate(
                    client,
                    vec![Action::SetAffiliation {
                        target: on,
                        affiliation,
                    }],
                )?,
            };
            let epoch = p.submit(room, &mut group, &out)?;
            Ok((target, epoch))
        })
    }

    /// Destroys `room` (its last member: every client in it is this user's). The provider
    /// deletes it, and this device forgets it.
    pub fn destroy(&mut self, room: &RoomId) -> Result<(), ClientError> {
        self.locked(|p| {
            let (client, token) = p.device()?;
            let group = p.ready_group(room)?;
            allowed(client, &group, Action::Destroy)?;
            let _: mimi_api::Destroyed = p.api.delete(&room_path(room), Some(token))?;
            group.forget(client)?;
            p.file.rooms.remove(room.as_str());
            p.save_account()
        })
    }

    /// Leaves `room`: proposes this user's departure for another member to commit. The
    /// last member of a temporary room (`persistent: false`) destroys it instead; the last
    /// member of a persistent room vacates it (the room stays, with its policy and
    /// participant list, for the first one back to start its group again).
    pub fn leave(&mut self, room: &RoomId) -> Result<Left, ClientError> {
        // Read only: the device's state as it is (what changes it takes the lock below).
        let now = self.group(room)?.room()?;
        let user = self.user()?;
        let last = now.client_count_of(&user) == now.client_total();
        if last && !now.components().base.persistent_room.0 {
            self.destroy(room)?;
            return Ok(Left::Destroyed);
        }
        if last {
            return self.vacate(room).map(|()| Left::Vacated);
        }
        self.locked(|p| {
            let (client, token) = p.device()?;
            let mut group = p.ready_group(room)?;
            for proposal in group.leave(client)? {
                let _: Handshake = p.api.post(
                    &format!("{}/proposals", room_path(room)),
                    Some(token),
                    &Proposal {
                        proposal: api::b64(&proposal),
                    },
                )?;
            }
            p.save()?;
            Ok(Left::Asked)
        })
    }

    /// Vacates `room`, a persistent room whose every client is this user's: the provider
    /// keeps it, and this device forgets its group.
    fn vacate(&mut self, room: &RoomId) -> Result<(), ClientError> {
        self.locked(|p| {
            let (client, token) = p.device()?;
            let group = p.group(room)?;
            allowed(client, &group, Action::Vacate)?;
            let _: mimi_api::Vacated = p.api.post(
                &format!("{}/vacate", room_path(room)),
                Some(token),
                &json!({}),
            )?;
            group.forget(client)?;
            p.file.rooms.remove(room.as_str());
            p.save_account()
        })
    }

    /// Knocks on `room`: asks those who may let this user in to add it. Returns how many
    /// users were told.
    pub fn knock(&self, room: &RoomId) -> Result<u64, ClientError> {
        let knocked: Knocked = self.api.post(
            &format!("{}/knock", room_path(room)),
            Some(self.account_token()?),
            &json!({}),
        )?;
        Ok(u64::try_from(knocked.told).unwrap_or(u64::MAX))
    }

    /// Suggests `room` to `user` (this device's user is in it): each of its devices hears
    /// of it, and it joins or knocks as the room lets it. Returns the user.
    pub fn suggest(&self, room: &RoomId, user: &str) -> Result<UserId, ClientError> {
        let target = self.user_id(user)?;
        let (_, token) = self.device()?;
        let _: mimi_api::Suggested = self.api.post(
            &format!("{}/suggest", room_path(room)),
            Some(token),
            &mimi_api::Suggest {
                user: target.to_string(),
            },
        )?;
        Ok(target)
    }

    /// Withdraws this user's pending knock on `room`.
    pub fn withdraw_knock(&self, room: &RoomId) -> Result<(), ClientError> {
        let _: Withdrawn = self.api.delete(
            &format!("{}/knock", room_path(room)),
            Some(self.account_token()?),
        )?;
        Ok(())
    }

    /// The pending knocks on `room` this user may answer (accept with [`Profile::add`], or
    /// decline), oldest first.
    pub fn knocks(&self, room: &RoomId) -> Result<Vec<mimi_api::PendingKnock>, ClientError> {
        let knocks: mimi_api::Knocks = self.api.get(
            &format!("{}/knocks", room_path(room)),
            Some(self.account_token()?),
        )?;
        Ok(knocks.knocks)
    }

    /// Declines `user`'s pending knock on `room` (for a user the room lets answer knocks; the
    /// knocker may knock again). Returns the knocker.
    pub fn decline_knock(&self, room: &RoomId, user: &str) -> Result<UserId, ClientError> {
        let knocker = self.user_id(user)?;
        let _: Declined = self.api.delete(
            &format!(
                "{}/knocks/{}",
                room_path(room),
                path_segment(&format!("{}@{}", knocker.name(), knocker.domain()))
            ),
            Some(self.account_token()?),
        )?;
        Ok(knocker)
    }
}
