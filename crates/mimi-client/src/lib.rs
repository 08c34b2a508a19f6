//! The mimi client: one device of one account, kept in a profile directory, talking to its
//! provider's client API.
//!
//! A profile directory holds `profile.json` (the server, the user, the account and device
//! tokens) and `device.mls` (the device's MLS state: its keys and every group it is in,
//! written after every change). Both are secret: the directory is 0700, the files 0600,
//! each replaced whole and flushed, and every change holds the profile's lock from load to
//! save, so several `mimi` processes may share a profile (see `files.rs`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod acks;
mod api;
mod attachments;
mod consent;
mod content;
mod dm;
mod files;
mod handshake;
mod history;
mod messages;
mod policy;
mod rejoin;
mod rooms;
mod session;

use std::path::{Path, PathBuf};

use mimi_api::{Credentials, Device, Devices, KeyPackageCount, NewDevice, Session, Stored, Upload};
use mimi_mls::member::Client;
use mimi_policy::id::{ClientId, RoomId, UserId};
use serde::{Deserialize, Serialize};

pub use acks::ACK_DELAY;
pub use api::{Api, ApiFailure, CA_CERT_ENV, install_crypto_provider};
pub use dm::Dm;
pub use history::Entry;
pub use messages::RoomSummary;
pub use policy::{LinkInfo, PREAUTH_ROLES, PolicyChange, PreauthEntry, parse_claim};
pub use rooms::{Joined, Left, Moderation};

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
    /// The rooms this device created or joined, so that a hidden room's chosen name finds
    /// its tagged one (docs/decisions/0009).
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    rooms: std::collections::BTreeSet<String>,
    /// When this device last updated its leaf in each room (joined, or committed with a
    /// path to refresh it), unix seconds: it refreshes the leaf before the room's
    /// `update-max-interval` runs out.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    updated: std::collections::BTreeMap<String, u64>,
    /// This device's pseudonyms, by room: the directory (under `pseudonyms/`) of each one's
    /// own profile, and whether the device takes part in the room through it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pseudonyms: std::collections::BTreeMap<String, PseudonymFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PseudonymFile {
    dir: String,
    /// The device acts in the room through the pseudonym (it joined, knocked or let
    /// someone add it there under it).
    active: bool,
}

/// Where a profile keeps the profiles of its pseudonyms.
const PSEUDONYMS: &str = "pseudonyms";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeviceFile {
    client: String,
    token: String,
    /// Whether this device joined the rooms its user was in when it was added (its first
    /// sync does; a device from before this was recorded counts as having done so).
    #[serde(default = "yes")]
    caught_up: bool,
}

fn yes() -> bool {
    true
}

/// A profile: an account on a provider and, once added, this device.
///
/// Every operation that changes the device's state holds the profile's lock from reading
/// the state to writing it back (see `files.rs`), so several processes may use one profile.
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
        /// The text (or what the message is, when it cannot be shown as text).
        text: String,
        /// Its MIMI content message ID, hex; absent when it is not MIMI content.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// A commit changed a room.
    Changed {
        /// The room.
        room: String,
        /// Its epoch now.
        epoch: u64,
        /// The committer's reason, when a moderator gave one.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// This device is no longer in a room.
    Left {
        /// The room.
        room: String,
        /// The moderator's reason, when one was given.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Another user asks to add this device's user to a room (`room` absent: any room).
    ConsentRequested {
        /// Who asks.
        user: String,
        /// For which room.
        #[serde(skip_serializing_if = "Option::is_none")]
        room: Option<String>,
    },
    /// A member suggests a room to this device's user (`mimi room join`, or `knock`).
    Suggested {
        /// Who suggests it.
        user: String,
        /// The room.
        room: String,
    },
    /// A user knocks on a room this device's user may let it into (`mimi room add`).
    Knocked {
        /// Who knocks.
        user: String,
        /// On which room.
        room: String,
    },
    /// This device could not process a change the provider accepted (its committer may have
    /// sent garbage the provider cannot check), rejoined the room in its own place, and
    /// reported the committer to the provider.
    Rejoined {
        /// The room.
        room: String,
        /// Its epoch now.
        epoch: u64,
        /// The client whose change this device could not process.
        committer: String,
        /// What was wrong with the change.
        reason: String,
    },
    /// This device could not process a change the provider accepted, nor rejoin the room.
    RejoinFailed {
        /// The room.
        room: String,
        /// Why.
        reason: String,
    },
    /// A Welcome this device could not use (it is skipped, not retried).
    JoinFailed {
        /// The room.
        room: String,
        /// Why.
        reason: String,
    },
}

/// Room path segments for the API: `mimi://d/r/n` is `/v1/rooms/d/n`.
fn room_path(room: &RoomId) -> String {
    if room.name().is_none() {
        // An `im:` room (a fixed-membership room's `im:mimi=%23%23HASH@DOMAIN`): its local
        // part, as written in the ID, is the name segment.
        let rest = room.as_str().trim_start_matches("im:");
        let local = rest.rsplit_once('@').map_or(rest, |(local, _)| local);
        return format!("/v1/rooms/{}/{}", room.domain(), path_segment(local));
    }
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
        if dir.join(files::PROFILE).exists() {
            return Err(ClientError::Profile(format!(
                "{} already holds a profile",
                dir.display()
            )));
        }
        let api = Api::new(server);
        let credentials = Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        };
        let session = api.post("/v1/accounts", None, &credentials)?;
        Self::start(dir, server, api, session)
    }

    /// Logs in to an existing account on `server`, for a new profile in `dir`.
    pub fn login(
        dir: &Path,
        server: &str,
        user: &str,
        password: &str,
    ) -> Result<Self, ClientError> {
        let api = Api::new(server);
        let credentials = Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        };
        let session = api.post("/v1/login", None, &credentials)?;
        Self::start(dir, server, api, session)
    }

    fn start(dir: &Path, server: &str, api: Api, session: Session) -> Result<Self, ClientError> {
        let user = UserId::parse(&session.user).map_err(|e| bad_answer("user", e))?;
        files::create_dir(dir)?;
        let _lock = files::ProfileLock::take(dir)?;
        if files::read(dir, files::PROFILE)?.is_some() {
            return Err(ClientError::Profile(format!(
                "{} already holds a profile",
                dir.display()
            )));
        }
        let profile = Self {
            dir: dir.to_owned(),
            file: ProfileFile {
                server: server.to_owned(),
                user: user.to_string(),
                account_token: session.token,
                device: None,
                rooms: Default::default(),
                updated: Default::default(),
                pseudonyms: Default::default(),
            },
            client: None,
            api,
        };
        profile.save_account()?;
        Ok(profile)
    }

    /// Opens the profile in `dir`.
    pub fn open(dir: &Path) -> Result<Self, ClientError> {
        let _lock = files::ProfileLock::take(dir).map_err(|e| {
            ClientError::Profile(format!(
                "no profile in {} ({e}); run `mimi account create` first",
                dir.display()
            ))
        })?;
        files::make_private(dir)?;
        let (file, client) = Self::read(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            api: Api::new(&file.server),
            file,
            client,
        })
    }

    /// The profile's files as they are on disk; the caller holds the lock.
    fn read(dir: &Path) -> Result<(ProfileFile, Option<Client>), ClientError> {
        let bytes = files::read(dir, files::PROFILE)?.ok_or_else(|| {
            ClientError::Profile(format!(
                "no profile in {}; run `mimi account create` first",
                dir.display()
            ))
        })?;
        let file: ProfileFile = serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Profile(format!("profile.json: {e}")))?;
        let client = if file.device.is_some() {
            let state = files::read(dir, files::DEVICE)?.ok_or_else(|| {
                ClientError::Profile(format!(
                    "{} names a device but holds no device.mls",
                    dir.display()
                ))
            })?;
            Some(Client::restore(&state)?)
        } else {
            None
        };
        Ok((file, client))
    }

    /// Runs `change` holding the profile's lock, on the state as it is on disk now (another
    /// process may have changed it since this one last looked): the state `change` saves is
    /// never older than what another process saved.
    fn locked<T>(
        &mut self,
        change: impl FnOnce(&mut Self) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let _lock = files::ProfileLock::take(&self.dir)?;
        let (file, client) = Self::read(&self.dir)?;
        if file.server != self.file.server {
            self.api = Api::new(&file.server);
        }
        (self.file, self.client) = (file, client);
        change(self)
    }

    /// Writes the device's MLS state back; the caller holds the lock.
    fn save(&self) -> Result<(), ClientError> {
        if let Some(client) = &self.client {
            files::write(&self.dir, files::DEVICE, &client.save()?)?;
        }
        Ok(())
    }

    /// Writes the device's state and then `profile.json` (the account, tokens, which device
    /// this is), so a `profile.json` naming a device always finds its state; the caller
    /// holds the lock.
    fn save_account(&self) -> Result<(), ClientError> {
        self.save()?;
        let json = serde_json::to_vec_pretty(&self.file)
            .map_err(|e| ClientError::Profile(e.to_string()))?;
        files::write(&self.dir, files::PROFILE, &json)
    }

    /// The pseudonym's profile this device acts through in `room`, if it takes part in it
    /// under a pseudonym.
    pub fn acting_profile(&self, room: &RoomId) -> Result<Option<Profile>, ClientError> {
        match self.file.pseudonyms.get(room.as_str()) {
            Some(sub) if sub.active => {
                Profile::open(&self.dir.join(PSEUDONYMS).join(&sub.dir)).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The profiles (their directories) of the pseudonyms this device acts through, one per
    /// room.
    pub fn pseudonym_dirs(&self) -> Vec<PathBuf> {
        self.file
            .pseudonyms
            .values()
            .filter(|sub| sub.active)
            .map(|sub| self.dir.join(PSEUDONYMS).join(&sub.dir))
            .collect()
    }

    /// Whether this device acts in `room` through its pseudonym there
    /// ([`Profile::pseudonym_in`]): from when it joined, knocked or let someone add it
    /// under it, until it left, was removed or the room ended.
    pub fn use_pseudonym(&mut self, room: &RoomId, active: bool) -> Result<(), ClientError> {
        self.locked(|p| {
            let Some(sub) = p.file.pseudonyms.get_mut(room.as_str()) else {
                return if active {
                    Err(ClientError::Input(format!(
                        "this device has no pseudonym in {room}"
                    )))
                } else {
                    Ok(())
                };
            };
            sub.active = active;
            p.save_account()
        })
    }

    /// The profile of this user's pseudonym in `room` (the seed's semi-anonymous rooms): the
    /// one this device has, or one made now. The provider issues the pseudonym (the same one
    /// for every device of the user), and this device becomes a device of it, with keys of
    /// its own: nothing it does in the room names or links to this user, except to the
    /// provider.
    pub fn pseudonym_in(&mut self, room: &RoomId) -> Result<Profile, ClientError> {
        if self
            .device()?
            .0
            .group(room)?
            .is_some_and(|g| g.mls().is_active())
        {
            return Err(ClientError::Input(format!(
                "this device is in {room} as {}; leave it first to come back under a pseudonym",
                self.user()?
            )));
        }
        if let Some(sub) = self.file.pseudonyms.get(room.as_str()) {
            return Profile::open(&self.dir.join(PSEUDONYMS).join(&sub.dir));
        }
        if self.user()?.is_pseudonym() {
            return Err(ClientError::Input(
                "this profile is a pseudonym's: it has no pseudonyms of its own".into(),
            ));
        }
        self.locked(|p| {
            let (client, token) = p.device()?;
            // A name of its own: the device's name would tell members whose it is.
            let random: [u8; 6] = {
                use openmls_traits::OpenMlsProvider as _;
                use openmls_traits::random::OpenMlsRand as _;
                client.provider().rand().random_array().map_err(|e| {
                    ClientError::Input(format!("no randomness for a device name: {e:?}"))
                })?
            };
            let device: String = random.iter().map(|b| format!("{b:02x}")).collect();
            let token = token.to_owned();
            let session: Session = p.api.post(
                "/v1/account/pseudonyms",
                Some(&token),
                &mimi_api::PseudonymRequest {
                    room: room.to_string(),
                },
            )?;
            let sub = (1..)
                .map(|n| n.to_string())
                .find(|n| {
                    !p.file.pseudonyms.values().any(|v| &v.dir == n)
                        && !p.dir.join(PSEUDONYMS).join(n).exists()
                })
                .unwrap_or_default();
            files::create_dir(&p.dir.join(PSEUDONYMS))?;
            let server = p.file.server.clone();
            let dir = p.dir.join(PSEUDONYMS).join(&sub);
            let mut pseudonym = Profile::start(&dir, &server, Api::new(&server), session)?;
            pseudonym.add_device(&device)?;
            p.file.pseudonyms.insert(
                room.to_string(),
                PseudonymFile {
                    dir: sub,
                    active: false,
                },
            );
            p.save_account()?;
            Ok(pseudonym)
        })
    }

    /// The user.
    pub fn user(&self) -> Result<UserId, ClientError> {
        UserId::parse(&self.file.user).map_err(|e| ClientError::Profile(e.to_string()))
    }

    /// The provider's domain.
    fn domain(&self) -> Result<String, ClientError> {
        Ok(self.user()?.domain().to_owned())
    }

    /// The account's token, unless the profile is logged out.
    fn account_token(&self) -> Result<&str, ClientError> {
        if self.file.account_token.is_empty() {
            return Err(logged_out());
        }
        Ok(&self.file.account_token)
    }

    fn device(&self) -> Result<(&Client, &str), ClientError> {
        match (&self.client, &self.file.device) {
            (Some(_), Some(d)) if d.token.is_empty() => Err(logged_out()),
            (Some(c), Some(d)) => Ok((c, d.token.as_str())),
            _ => Err(ClientError::Profile(
                "this profile has no device yet; run `mimi device add NAME`".into(),
            )),
        }
    }

    /// Registers this profile's device and uploads its KeyPackages.
    pub fn add_device(&mut self, name: &str) -> Result<ClientId, ClientError> {
        self.locked(|p| {
            if let Some(d) = &p.file.device {
                return Err(ClientError::Input(format!(
                    "this profile is already the device {}",
                    d.client
                )));
            }
            let device: Device = p.api.post(
                "/v1/devices",
                Some(p.account_token()?),
                &NewDevice {
                    name: name.to_owned(),
                },
            )?;
            let id = ClientId::parse(&device.client).map_err(|e| bad_answer("client", e))?;
            let client = Client::new(id.clone())?;
            let kps = new_key_packages(&client, KEY_PACKAGES)?;
            let last = api::b64(&client.key_package()?);
            let token = device.token;
            p.file.device = Some(DeviceFile {
                client: id.to_string(),
                token: token.clone(),
                caught_up: false,
            });
            p.client = Some(client);
            p.save_account()?;
            let _: Stored = p.api.post(
                "/v1/key-packages",
                Some(&token),
                &Upload {
                    key_packages: kps,
                    last_resort: Some(last),
                },
            )?;
            Ok(id)
        })
    }

    /// Uploads new KeyPackages when fewer than half of [`KEY_PACKAGES`] are left at the
    /// provider, so that others can keep adding this device without draining it down to
    /// its last-resort one; the caller holds the lock. Returns how many it uploaded.
    fn top_up(&mut self) -> Result<usize, ClientError> {
        let (client, token) = self.device()?;
        let token = token.to_owned();
        let count: KeyPackageCount = self.api.get("/v1/key-packages", Some(&token))?;
        let available = usize::try_from(count.available).unwrap_or(usize::MAX);
        if available >= KEY_PACKAGES / 2 {
            return Ok(0);
        }
        let kps = new_key_packages(client, KEY_PACKAGES - available)?;
        // Their private keys are on disk before the provider hands any of them out.
        self.save()?;
        let stored: Stored = self.api.post(
            "/v1/key-packages",
            Some(&token),
            &Upload {
                key_packages: kps,
                last_resort: None,
            },
        )?;
        Ok(stored.stored)
    }

    /// The account's devices.
    pub fn devices(&self) -> Result<Vec<String>, ClientError> {
        let devices: Devices = self.api.get("/v1/devices", Some(self.account_token()?))?;
        Ok(devices.devices)
    }

    /// Deletes one of the account's devices at the provider.
    pub fn remove_device(&self, name: &str) -> Result<(), ClientError> {
        Ok(self.api.delete(
            &format!("/v1/devices/{}", path_segment(name)),
            Some(self.account_token()?),
        )?)
    }

    /// A room named by bare name (on this provider) or URI. A bare name without a tag names
    /// the one room of this device that is the name with a tag, if there is one (a hidden
    /// room's chosen name: docs/decisions/0009).
    pub fn room_id(&self, input: &str) -> Result<RoomId, ClientError> {
        let bad = |e: mimi_policy::id::IdError| ClientError::Input(format!("room {input:?}: {e}"));
        if input.contains(':') || input.contains('@') {
            return RoomId::parse(input).map_err(bad);
        }
        let domain = self.domain()?;
        let plain = RoomId::new(&domain, input).map_err(bad)?;
        if input.contains(mimi_policy::name::TAG_SEPARATOR)
            || self.file.rooms.contains(plain.as_str())
        {
            return Ok(plain);
        }
        let mine: Vec<RoomId> = self
            .file
            .rooms
            .iter()
            .filter_map(|r| RoomId::parse(r).ok())
            .filter(|id| {
                id.domain() == domain && id.name().map(mimi_policy::name::untagged) == Some(input)
            })
            .collect();
        match &mine[..] {
            [] => Ok(plain),
            [one] => Ok(one.clone()),
            several => Err(ClientError::Input(format!(
                "{input} names several of this device's rooms: {}",
                several
                    .iter()
                    .map(RoomId::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Remembers that this device is in `room` (for [`Profile::room_id`]); written with the
    /// account by the caller.
    pub(crate) fn remember_room(&mut self, room: &RoomId) {
        self.file.rooms.insert(room.to_string());
        // Joined (or created) now: the leaf is fresh.
        self.file.updated.insert(room.to_string(), unix_now());
    }

    /// A user named by bare name (on this provider), `name@domain` or URI.
    pub fn user_id(&self, input: &str) -> Result<UserId, ClientError> {
        UserId::parse_with_default(input, &self.domain()?)
            .map_err(|e| ClientError::Input(format!("user {input:?}: {e}")))
    }
}

/// `n` new KeyPackages of `client`, base64 (their private keys are in its state).
fn new_key_packages(client: &Client, n: usize) -> Result<Vec<String>, ClientError> {
    (0..n)
        .map(|_| Ok(api::b64(&client.key_package()?)))
        .collect()
}

/// Now, in unix seconds.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn logged_out() -> ClientError {
    ClientError::Profile("this profile is logged out; run `mimi account login`".into())
}

/// A provider's answer that does not say what it must (a field that is not a URI, say).
fn bad_answer(field: &str, e: impl std::fmt::Display) -> ClientError {
    ClientError::Api(ApiFailure {
        status: 0,
        code: "bad-answer".into(),
        message: format!("the provider's `{field}` is malformed: {e}"),
        rule: None,
    })
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
