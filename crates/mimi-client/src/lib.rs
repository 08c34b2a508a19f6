//! The mimi client: one device of one account, kept in a profile directory, talking to its
//! provider's client API.
//!
//! A profile directory holds `profile.json` (the server, the user, the account and device
//! tokens) and `device.mls` (the device's MLS state: its keys and every group it is in,
//! written after every change, by a rename so a crash never leaves half a file). Both are
//! secret.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mimi_mls::key_package::validate_key_package;
use mimi_mls::member::{Client, Incoming, RoomGroup};
use mimi_policy::document::{SeedDocument, parse_room};
use mimi_policy::id::{ClientId, RoomId, UserId};
use mimi_policy::preset::preset;
use openmls::prelude::ExternalSender;
use openmls_traits::OpenMlsProvider as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tls_codec::Deserialize as _;

pub use api::{Api, ApiFailure, CA_CERT_ENV, install_crypto_provider};

/// KeyPackages a new device uploads (plus a last-resort one).
const KEY_PACKAGES: usize = 10;

/// Why a client command failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The provider refused the request.
    #[error("{0}")]
    Api(#[from] ApiFailure),
    /// The profile is missing or unreadable.
    #[error("profile: {0}")]
    Profile(String),
    /// The user's input is wrong.
    #[error("{0}")]
    Input(String),
    /// MLS refused (the local policy check included).
    #[error("{0}")]
    Mls(#[from] mimi_mls::MlsError),
}

/// What `profile.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProfileFile {
    server: String,
    user: String,
    account_token: String,
    #[serde(default)]
    device: Option<DeviceFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeviceFile {
    client: String,
    token: String,
}

/// A profile: an account on a provider and, once added, this device.
pub struct Profile {
    dir: PathBuf,
    file: ProfileFile,
    client: Option<Client>,
    api: Api,
}

/// Something that arrived for this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// This device joined a room (by Welcome).
    Joined {
        /// The room.
        room: String,
    },
    /// A message.
    Message {
        /// The room.
        room: String,
        /// The sending client.
        sender: String,
        /// The text.
        text: String,
    },
    /// A commit changed a room.
    Changed {
        /// The room.
        room: String,
        /// Its epoch now.
        epoch: u64,
    },
    /// This device is no longer in a room.
    Left {
        /// The room.
        room: String,
    },
    /// Another user asks to add this device's user to a room (`room` absent: any room).
    ConsentRequested {
        /// Who asks.
        user: String,
        /// For which room.
        #[serde(skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// A user knocks on a room this device's user may let it into (`mimi room add`).
    Knocked {
        /// Who knocks.
        user: String,
        /// On which room.
        room: String,
    },
    /// A Welcome this device could not use (it is skipped, not retried).
    JoinFailed {
        /// The room.
        room: String,
        /// Why.
        reason: String,
    },
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| ClientError::Profile(format!("writing {}: {e}", path.display())))
}

/// Room path segments for the API: `mimi://d/r/n` is `/v1/rooms/d/n`.
fn room_path(room: &RoomId) -> String {
    let rest = room.as_str().trim_start_matches("mimi://");
    format!("/v1/rooms/{}", rest.replacen("/r/", "/", 1))
}

/// `text` as one path segment: every byte but the URL's unreserved ones (and `@`)
/// percent-encoded, so that a name holding `?`, `#` or `%` stays in its segment.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Profile {
    /// Creates an account on `server` and a profile for it in `dir`.
    pub fn create_account(
        dir: &Path,
        server: &str,
        user: &str,
        password: &str,
    ) -> Result<Self, ClientError> {
        if dir.join("profile.json").exists() {
            return Err(ClientError::Profile(format!(
                "{} already holds a profile",
                dir.display()
            )));
        }
        let api = Api::new(server);
        let v = api.post(
            "/v1/accounts",
            None,
            &json!({"user": user, "password": password}),
        )?;
        Self::start(dir, server, api, &v)
    }

    /// Logs in to an existing account on `server`, for a new profile in `dir`.
    pub fn login(
        dir: &Path,
        server: &str,
        user: &str,
        password: &str,
    ) -> Result<Self, ClientError> {
        let api = Api::new(server);
        let v = api.post(
            "/v1/login",
            None,
            &json!({"user": user, "password": password}),
        )?;
        Self::start(dir, server, api, &v)
    }

    fn start(dir: &Path, server: &str, api: Api, v: &Value) -> Result<Self, ClientError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ClientError::Profile(format!("creating {}: {e}", dir.display())))?;
        let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        let profile = Self {
            dir: dir.to_owned(),
            file: ProfileFile {
                server: server.to_owned(),
                user: field("user"),
                account_token: field("token"),
                device: None,
            },
            client: None,
            api,
        };
        profile.save()?;
        Ok(profile)
    }

    /// Opens the profile in `dir`.
    pub fn open(dir: &Path) -> Result<Self, ClientError> {
        let text = std::fs::read_to_string(dir.join("profile.json")).map_err(|e| {
            ClientError::Profile(format!(
                "no profile in {} ({e}); run `mimi account create` first",
                dir.display()
            ))
        })?;
        let file: ProfileFile = serde_json::from_str(&text)
            .map_err(|e| ClientError::Profile(format!("profile.json: {e}")))?;
        let client = if file.device.is_some() {
            let bytes = std::fs::read(dir.join("device.mls"))
                .map_err(|e| ClientError::Profile(format!("device.mls: {e}")))?;
            Some(Client::restore(&bytes)?)
        } else {
            None
        };
        Ok(Self {
            dir: dir.to_owned(),
            api: Api::new(&file.server),
            file,
            client,
        })
    }

    fn save(&self) -> Result<(), ClientError> {
        let json = serde_json::to_vec_pretty(&self.file)
            .map_err(|e| ClientError::Profile(e.to_string()))?;
        write_atomically(&self.dir.join("profile.json"), &json)?;
        if let Some(client) = &self.client {
            write_atomically(&self.dir.join("device.mls"), &client.save()?)?;
        }
        Ok(())
    }

    /// The user.
    pub fn user(&self) -> Result<UserId, ClientError> {
        UserId::parse(&self.file.user).map_err(|e| ClientError::Profile(e.to_string()))
    }

    /// The provider's domain.
    fn domain(&self) -> Result<String, ClientError> {
        Ok(self.user()?.domain().to_owned())
    }

    fn device(&self) -> Result<(&Client, &str), ClientError> {
        match (&self.client, &self.file.device) {
            (Some(c), Some(d)) => Ok((c, d.token.as_str())),
            _ => Err(ClientError::Profile(
                "this profile has no device yet; run `mimi device add NAME`".into(),
            )),
        }
    }

    /// Registers this profile's device and uploads its KeyPackages.
    pub fn add_device(&mut self, name: &str) -> Result<ClientId, ClientError> {
        if let Some(d) = &self.file.device {
            return Err(ClientError::Input(format!(
                "this profile is already the device {}",
                d.client
            )));
        }
        let v = self.api.post(
            "/v1/devices",
            Some(&self.file.account_token),
            &json!({"name": name}),
        )?;
        let id = ClientId::parse(v["client"].as_str().unwrap_or_default())
            .map_err(|e| ClientError::Profile(e.to_string()))?;
        let client = Client::new(id.clone())?;
        let mut kps = Vec::new();
        for _ in 0..KEY_PACKAGES {
            kps.push(api::b64(&client.key_package()?));
        }
        let last = api::b64(&client.key_package()?);
        let token = v["token"].as_str().unwrap_or_default().to_owned();
        self.file.device = Some(DeviceFile {
            client: id.to_string(),
            token: token.clone(),
        });
        self.client = Some(client);
        self.save()?;
        self.api.post(
            "/v1/key-packages",
            Some(&token),
            &json!({"key_packages": kps, "last_resort": last}),
        )?;
        Ok(id)
    }

    /// The account's devices.
    pub fn devices(&self) -> Result<Vec<String>, ClientError> {
        let v = self
            .api
            .get("/v1/devices", Some(&self.file.account_token))?;
        Ok(strings(&v["devices"]))
    }

    /// Deletes one of the account's devices at the provider.
    pub fn remove_device(&self, name: &str) -> Result<(), ClientError> {
        self.api.delete(
            &format!("/v1/devices/{name}"),
            Some(&self.file.account_token),
        )?;
        Ok(())
    }

    /// A room named by bare name (on this provider) or URI.
    pub fn room_id(&self, input: &str) -> Result<RoomId, ClientError> {
        if input.contains(':') || input.contains('@') {
            RoomId::parse(input).map_err(|e| ClientError::Input(format!("room {input:?}: {e}")))
        } else {
            RoomId::new(&self.domain()?, input)
                .map_err(|e| ClientError::Input(format!("room {input:?}: {e}")))
        }
    }

    /// A user named by bare name (on this provider), `name@domain` or URI.
    pub fn user_id(&self, input: &str) -> Result<UserId, ClientError> {
        UserId::parse_with_default(input, &self.domain()?)
            .map_err(|e| ClientError::Input(format!("user {input:?}: {e}")))
    }

    /// Creates room `name` from a preset, or from a room document (`policy`, JSON as
    /// `mimi policy check` reads it), with this device's user as owner and only this device
    /// in its group.
    pub fn create_room(
        &mut self,
        name: &str,
        preset_name: Option<&str>,
        policy: Option<&str>,
    ) -> Result<RoomId, ClientError> {
        let (client, token) = self.device()?;
        let id = self.room_id(name)?;
        let me = client.id().clone();
        let room = match policy {
            Some(json) => {
                let mut room = parse_room(json).map_err(|e| ClientError::Input(e.to_string()))?;
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
                room.as_created_by(me.user(), me.name())
                    .map_err(|e| ClientError::Input(e.to_string()))?
            }
            None => {
                let template: SeedDocument = preset(preset_name.unwrap_or("administrated"))
                    .map_err(|e| ClientError::Input(e.to_string()))?;
                let system = UserId::new(&self.domain()?, "system")
                    .map_err(|e| ClientError::Input(e.to_string()))?;
                let mut doc = SeedDocument {
                    id: Some(id.clone()),
                    policy: template.policy,
                    owning_system: vec![system],
                    ..Default::default()
                };
                doc.user_affiliations.owner = vec![me.user().clone()];
                doc.clients = BTreeMap::from([(me.user().clone(), vec![me.name().to_owned()])]);
                doc.into_room()
                    .map_err(|e| ClientError::Input(e.to_string()))?
            }
        };
        let provider = self.api.get("/v1/provider", None)?;
        let sender = ExternalSender::tls_deserialize_exact(api::unb64(
            "external_sender",
            &provider["external_sender"],
        )?)
        .map_err(|e| ClientError::Input(format!("the provider's external sender: {e}")))?;
        let group = client.create_room(&room, &sender)?;
        let body = json!({
            "group_info": api::b64(&client.group_info(&group)?),
            "ratchet_tree": api::b64(&group.ratchet_tree()?),
        });
        let v = self.api.post("/v1/rooms", Some(token), &body)?;
        self.save()?;
        RoomId::parse(v["room"].as_str().unwrap_or_default())
            .map_err(|e| ClientError::Profile(e.to_string()))
    }

    /// The room document.
    pub fn show_room(&self, room: &RoomId) -> Result<Value, ClientError> {
        let (_, token) = self.device()?;
        Ok(self.api.get(&room_path(room), Some(token))?)
    }

    /// The provider's directory of discoverable rooms.
    pub fn directory(&self) -> Result<Vec<String>, ClientError> {
        let v = self
            .api
            .get("/v1/directory", Some(&self.file.account_token))?;
        Ok(v["rooms"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["room"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    fn group(&self, room: &RoomId) -> Result<RoomGroup, ClientError> {
        let (client, _) = self.device()?;
        client
            .group(room)?
            .ok_or_else(|| ClientError::Input(format!("this device is not in {room}")))
    }

    /// The group of `room`, for a new change or message: refused while a commit of this
    /// device awaits the provider's answer.
    fn ready_group(&self, room: &RoomId) -> Result<RoomGroup, ClientError> {
        let mut group = self.group(room)?;
        if !group.mls().is_active() {
            return Err(ClientError::Input(format!(
                "this device is no longer in {room}"
            )));
        }
        if group.mls().pending_commit().is_some() {
            // Whether the provider took it: taking it would have moved the room's epoch.
            let (client, token) = self.device()?;
            let v = self
                .api
                .get(&format!("{}/group-info", room_path(room)), Some(token))?;
            if v["epoch"].as_u64() == Some(group.epoch()) {
                group.discard(client)?;
                self.save()?;
            } else {
                return Err(ClientError::Input(format!(
                    "this device's last change to {room} is not confirmed yet; run `mimi sync`"
                )));
            }
        }
        // Proposals wait (a member's leave, the provider's removal of a deleted device):
        // MLS sends nothing more in the epoch until they are committed, so this device
        // commits them first.
        if group.mls().pending_proposals().next().is_some()
            && self.commit_proposals(room, &mut group)?.is_none()
        {
            // Not read here: what arrived meanwhile is for `mimi sync` to show.
            return Err(ClientError::Input(format!(
                "another member changed {room} first; run `mimi sync` and try again"
            )));
        }
        Ok(group)
    }

    /// Commits the proposals waiting in `room`'s group so that the room moves on. The
    /// new epoch when this device's commit was taken; `None` when another member's commit
    /// took the epoch first (the next sync brings it).
    fn commit_proposals(
        &self,
        room: &RoomId,
        group: &mut RoomGroup,
    ) -> Result<Option<u64>, ClientError> {
        let (client, _) = self.device()?;
        let me = group.mls().own_leaf_index();
        let leaving = group
            .mls()
            .pending_proposals()
            .any(|q| matches!(q.sender(), openmls::prelude::Sender::Member(leaf) if *leaf == me));
        if leaving {
            return Err(ClientError::Input(format!(
                "this device asked to leave {room}; it does nothing there until a member \
                 commits its departure"
            )));
        }
        let out = group.commit_pending(client)?;
        match self.submit(room, group, &out) {
            Ok(epoch) => Ok(Some(epoch)),
            Err(ClientError::Api(e)) if e.status == 409 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Submits a commit. Accepted: the group merges it. Refused (a 4xx answer: nothing was
    /// stored): the group drops it. No answer, or a server error: the provider may have
    /// stored it, so the commit stays pending until sync sees it delivered (then it is
    /// merged) or sees another commit take its epoch (then it is dropped).
    fn submit(
        &self,
        room: &RoomId,
        group: &mut RoomGroup,
        out: &mimi_mls::member::OutgoingCommit,
    ) -> Result<u64, ClientError> {
        let (client, token) = self.device()?;
        let body = json!({
            "commit": api::b64(&out.commit),
            "group_info": api::b64(&out.group_info),
            "welcome": out.welcome.as_deref().map(api::b64),
        });
        match self
            .api
            .post(&format!("{}/commits", room_path(room)), Some(token), &body)
        {
            Ok(v) => {
                group.confirm(client)?;
                self.save()?;
                Ok(v["epoch"].as_u64().unwrap_or_default())
            }
            Err(e) => {
                if (400..500).contains(&e.status) {
                    group.discard(client)?;
                }
                self.save()?;
                Err(e.into())
            }
        }
    }

    /// Adds every device of `user` to `room` (by claimed KeyPackages).
    pub fn add(&mut self, room: &RoomId, user: &str) -> Result<u64, ClientError> {
        let target = self.user_id(user)?;
        let (client, token) = self.device()?;
        let v = self
            .api
            .post(
                "/v1/key-packages/claim",
                Some(token),
                &json!({"user": target.as_str(), "room": room.as_str()}),
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
        for k in v["key_packages"].as_array().into_iter().flatten() {
            let bytes = api::unb64("key_package", &k["key_package"])?;
            kps.push(validate_key_package(
                client.provider().crypto(),
                &bytes,
                &target,
            )?);
        }
        let mut group = self.ready_group(room)?;
        let out = group.add(client, kps)?;
        self.submit(room, &mut group, &out)
    }

    /// Asks `user` for consent to add them to `room` (or any room); true if already given.
    pub fn consent_request(&self, user: &str, room: Option<&RoomId>) -> Result<bool, ClientError> {
        let target = self.user_id(user)?;
        let v = self.api.post(
            "/v1/consent/request",
            Some(&self.file.account_token),
            &json!({"user": target.as_str(), "room": room.map(RoomId::as_str)}),
        )?;
        Ok(v["granted"].as_bool().unwrap_or(false))
    }

    /// Lets `user` add this profile's user to `room` (or any room).
    pub fn consent_grant(&self, user: &str, room: Option<&RoomId>) -> Result<(), ClientError> {
        let requester = self.user_id(user)?;
        self.api.post(
            "/v1/consent/grant",
            Some(&self.file.account_token),
            &json!({"user": requester.as_str(), "room": room.map(RoomId::as_str)}),
        )?;
        Ok(())
    }

    /// Withdraws a grant to `user`, or refuses its request.
    pub fn consent_revoke(&self, user: &str, room: Option<&RoomId>) -> Result<(), ClientError> {
        let requester = self.user_id(user)?;
        self.api.post(
            "/v1/consent/revoke",
            Some(&self.file.account_token),
            &json!({"user": requester.as_str(), "room": room.map(RoomId::as_str)}),
        )?;
        Ok(())
    }

    /// The consents this profile's user was asked for and has given: `{user, room?, granted}`.
    pub fn consents(&self) -> Result<Value, ClientError> {
        let v = self
            .api
            .get("/v1/consent", Some(&self.file.account_token))?;
        Ok(v["consents"].clone())
    }

    /// Removes `user` (every client of it) from `room`.
    pub fn remove(&mut self, room: &RoomId, user: &str) -> Result<u64, ClientError> {
        let target = self.user_id(user)?;
        let (client, _) = self.device()?;
        let mut group = self.ready_group(room)?;
        if !group.room()?.clients().contains_key(&target) {
            return Err(ClientError::Input(format!(
                "{target} has no client in {room}"
            )));
        }
        let out = group.remove_user(client, &target)?;
        self.submit(room, &mut group, &out)
    }

    /// Leaves `room`: proposes this user's departure for another member to commit.
    pub fn leave(&mut self, room: &RoomId) -> Result<(), ClientError> {
        let (client, token) = self.device()?;
        let mut group = self.ready_group(room)?;
        for proposal in group.leave(client)? {
            self.api.post(
                &format!("{}/proposals", room_path(room)),
                Some(token),
                &json!({"proposal": api::b64(&proposal)}),
            )?;
        }
        self.save()
    }

    /// Knocks on `room`: asks those who may let this user in to add it. Returns how many
    /// users were told.
    pub fn knock(&self, room: &RoomId) -> Result<u64, ClientError> {
        let v = self.api.post(
            &format!("{}/knock", room_path(room)),
            Some(&self.file.account_token),
            &json!({}),
        )?;
        Ok(v["told"].as_u64().unwrap_or_default())
    }

    /// Withdraws this user's pending knock on `room`.
    pub fn withdraw_knock(&self, room: &RoomId) -> Result<(), ClientError> {
        self.api.delete(
            &format!("{}/knock", room_path(room)),
            Some(&self.file.account_token),
        )?;
        Ok(())
    }

    /// Declines `user`'s pending knock on `room` (for a user the room lets answer knocks).
    /// Returns the knocker.
    pub fn decline_knock(&self, room: &RoomId, user: &str) -> Result<UserId, ClientError> {
        let knocker = self.user_id(user)?;
        self.api.delete(
            &format!(
                "{}/knocks/{}",
                room_path(room),
                path_segment(&format!("{}@{}", knocker.name(), knocker.domain()))
            ),
            Some(&self.file.account_token),
        )?;
        Ok(knocker)
    }

    /// Sends `text` to `room`, end-to-end encrypted.
    pub fn send(&mut self, room: &RoomId, text: &str) -> Result<u64, ClientError> {
        let (client, token) = self.device()?;
        let mut group = self.ready_group(room)?;
        let ct = group.encrypt(client, text.as_bytes())?;
        self.save()?;
        let v = self.api.post(
            &format!("{}/messages", room_path(room)),
            Some(token),
            &json!({"message": api::b64(&ct)}),
        )?;
        Ok(v["seq"].as_u64().unwrap_or_default())
    }

    /// Receives what arrived since the last sync: joins rooms from Welcomes, applies
    /// commits, decrypts messages, then acknowledges it all.
    pub fn sync(&mut self) -> Result<Vec<Event>, ClientError> {
        let (_, token) = self.device()?;
        let v = self.api.get("/v1/sync", Some(token))?;
        self.apply(&v)
    }

    /// Receives as things arrive, over the provider's event stream (`/v1/events`), handing
    /// each batch's events to `on` until it returns false. A dropped stream is opened again
    /// (nothing is lost: what was not acknowledged is sent again).
    pub fn follow(&mut self, mut on: impl FnMut(&[Event]) -> bool) -> Result<(), ClientError> {
        let mut pause = std::time::Duration::from_millis(250);
        loop {
            let token = self.device()?.1.to_owned();
            match self.api.stream("/v1/events", &token) {
                Ok(stream) => {
                    pause = std::time::Duration::from_millis(250);
                    for (event, data) in api::sse(stream) {
                        if event != "pending" {
                            continue;
                        }
                        let v: Value = serde_json::from_str(&data).map_err(|e| {
                            ClientError::Profile(format!("the provider's event: {e}"))
                        })?;
                        match self.apply(&v) {
                            Ok(events) if !on(&events) => return Ok(()),
                            Ok(_) => {}
                            // The provider went away mid-batch: reconnect, and the rest
                            // comes again.
                            Err(ClientError::Api(e)) if e.status == 0 || e.status >= 500 => {
                                break;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                // The provider is away: try again, less and less often.
                Err(e) if e.status == 0 || e.status >= 500 => {}
                Err(e) => return Err(e.into()),
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_secs(10));
        }
    }

    /// Applies a batch shaped like `/v1/sync`'s, then acknowledges it.
    fn apply(&mut self, v: &Value) -> Result<Vec<Event>, ClientError> {
        let (client, token) = self.device()?;
        let me = client.id().to_string();
        let mut events = Vec::new();
        let mut welcomes = Vec::new();
        for w in v["welcomes"].as_array().into_iter().flatten() {
            // Every Welcome is acknowledged, used or not: one this device cannot use must not
            // block what comes after it.
            welcomes.extend(w["id"].as_u64());
            let room = w["room"].as_str().unwrap_or_default().to_owned();
            match self.join(&room, w) {
                Ok(()) => events.push(Event::Joined { room }),
                // The provider did not answer (an older provider's tree fetch): left for
                // the next sync, not acknowledged.
                Err(ClientError::Api(e)) if e.status == 0 || e.status >= 500 => {
                    welcomes.pop();
                }
                Err(e) => events.push(Event::JoinFailed {
                    room,
                    reason: e.to_string(),
                }),
            }
        }
        for r in v["requests"].as_array().into_iter().flatten() {
            welcomes.extend(r["id"].as_u64());
            events.push(Event::ConsentRequested {
                user: r["user"].as_str().unwrap_or_default().to_owned(),
                room: r["room"].as_str().map(str::to_owned),
            });
        }
        for k in v["knocks"].as_array().into_iter().flatten() {
            welcomes.extend(k["id"].as_u64());
            events.push(Event::Knocked {
                user: k["user"].as_str().unwrap_or_default().to_owned(),
                room: k["room"].as_str().unwrap_or_default().to_owned(),
            });
        }
        self.save()?;
        if !welcomes.is_empty() {
            // By ID, not "up to": IDs may become visible out of order.
            self.api
                .post("/v1/ack", Some(token), &json!({"welcomes": welcomes}))?;
        }
        let mut acks: BTreeMap<String, u64> = BTreeMap::new();
        let mut proposed = Vec::new();
        for e in v["entries"].as_array().into_iter().flatten() {
            let room_text = e["room"].as_str().unwrap_or_default().to_owned();
            let seq = e["seq"].as_u64().unwrap_or_default();
            acks.insert(room_text.clone(), seq);
            let room =
                RoomId::parse(&room_text).map_err(|err| ClientError::Profile(err.to_string()))?;
            let Some(mut group) = client.group(&room)? else {
                continue;
            };
            let is_commit = e["kind"].as_str() == Some("commit");
            let pending = group.mls().pending_commit().is_some()
                && e["epoch"].as_u64() == Some(group.epoch());
            if e["sender"].as_str() == Some(me.as_str()) {
                // This device's own entry. A commit it never heard back about is confirmed
                // now: the provider took one commit in that epoch, and it was this one.
                if is_commit && pending {
                    group.confirm(client)?;
                    events.push(Event::Changed {
                        room: room_text,
                        epoch: group.epoch(),
                    });
                }
                continue;
            }
            if is_commit && pending {
                // Another member's commit took the epoch: this device's was not stored.
                group.discard(client)?;
            }
            let message = api::unb64("message", &e["message"])?;
            match group.process(client, &message) {
                Ok(Incoming::Message { sender, plaintext }) => events.push(Event::Message {
                    room: room_text,
                    sender: sender.to_string(),
                    text: String::from_utf8_lossy(&plaintext).into_owned(),
                }),
                Ok(Incoming::Commit { epoch }) => {
                    if group.mls().is_active() {
                        events.push(Event::Changed {
                            room: room_text,
                            epoch,
                        });
                    } else {
                        events.push(Event::Left { room: room_text });
                    }
                }
                Ok(Incoming::Proposal) => {
                    if !proposed.contains(&room) {
                        proposed.push(room);
                    }
                }
                // A message this device cannot read (refused by the room policy, or from
                // an epoch it never had) is skipped, not fatal.
                Err(_) => {}
            }
        }
        self.save()?;
        if !acks.is_empty() {
            let rooms: Vec<Value> = acks
                .iter()
                .map(|(room, seq)| json!({"room": room, "seq": seq}))
                .collect();
            self.api
                .post("/v1/ack", Some(token), &json!({"rooms": rooms}))?;
        }
        // Proposals received (a member's leave, the provider's removal of a deleted
        // device) are committed by the first member that reads them and may: the room
        // moves on without waiting for someone's next change. One this device may not
        // commit, or whose epoch another member took first, waits.
        for room in proposed {
            let Some(mut group) = client.group(&room)? else {
                continue;
            };
            let waiting = group.mls().is_active()
                && group.mls().pending_commit().is_none()
                && group.mls().pending_proposals().next().is_some();
            if waiting && let Ok(Some(epoch)) = self.commit_proposals(&room, &mut group) {
                events.push(Event::Changed {
                    room: room.to_string(),
                    epoch,
                });
            }
        }
        Ok(events)
    }
}

impl Profile {
    /// Joins a room from a Welcome of `/v1/sync`, with the ratchet tree stored beside it (or,
    /// from an older provider, the room's current one).
    fn join(&self, room: &str, w: &Value) -> Result<(), ClientError> {
        let (client, token) = self.device()?;
        let room = RoomId::parse(room).map_err(|e| ClientError::Profile(e.to_string()))?;
        let welcome = api::unb64("welcome", &w["welcome"])?;
        let tree = if w["ratchet_tree"].is_string() {
            api::unb64("ratchet_tree", &w["ratchet_tree"])?
        } else {
            let gi = self
                .api
                .get(&format!("{}/group-info", room_path(&room)), Some(token))?;
            api::unb64("ratchet_tree", &gi["ratchet_tree"])?
        };
        client.join(&welcome, &tree)?;
        Ok(())
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn a_name_with_url_delimiters_stays_in_its_path_segment() {
        assert_eq!(path_segment("bob@example.com"), "bob@example.com");
        assert_eq!(path_segment("a?b#c%d"), "a%3Fb%23c%25d");
        assert_eq!(path_segment("zoë"), "zo%C3%AB");
    }
}
