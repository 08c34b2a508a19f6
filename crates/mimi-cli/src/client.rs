//! The client commands: `mimi account|device|room|send|sync`, for people and scripts. Each
//! takes `--json` for machine-readable output; errors name the policy's reason.

use std::path::PathBuf;

use anyhow::Context as _;
use mimi_client::{ClientError, Event, Moderation, PolicyChange, Profile};
use mimi_policy::seed::Affiliation;
use serde_json::json;

use crate::{InputError, Refused};

/// Options every client command takes.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// The profile directory (account, tokens, this device's MLS state).
    #[arg(long, env = "MIMI_PROFILE", global = true)]
    profile: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// What is shown arrived for one of this device's pseudonyms: the commands it
    /// suggests act under it.
    #[arg(skip)]
    pseudonym: bool,
}

impl Common {
    /// True when the output is JSON.
    pub fn json(&self) -> bool {
        self.json
    }

    fn dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.profile {
            return Ok(p.clone());
        }
        let home = std::env::var_os("HOME").context("no --profile, MIMI_PROFILE or HOME")?;
        Ok(PathBuf::from(home).join(".mimi"))
    }

    fn open(&self) -> anyhow::Result<Profile> {
        Profile::open(&self.dir()?).map_err(failure)
    }

    /// A spinner for a long operation (for people only).
    fn spin(&self, message: &str) -> crate::progress::Spinner {
        crate::progress::Spinner::start(message, self.json)
    }

    fn print(&self, value: serde_json::Value, text: impl FnOnce() -> String) {
        if self.json {
            println!("{value}");
        } else {
            println!("{}", text());
        }
    }
}

/// A client error as the user sees it: input mistakes exit 2, refusals name their code.
fn failure(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Input(m) => InputError(m).into(),
        ClientError::Api(f) => Refused {
            code: f.code,
            rule: f.rule,
            message: f.message,
        }
        .into(),
        ClientError::Mls(mimi_mls::MlsError::Denied(d)) => Refused {
            code: d.code().to_owned(),
            rule: Some(d.rule().id.to_owned()),
            message: format!("the room policy refuses it: {}", d.rule().text),
        }
        .into(),
        ClientError::Mls(e) => Refused {
            code: e.code().to_owned(),
            rule: e.rule().map(|r| r.id.to_owned()),
            message: e.to_string(),
        }
        .into(),
        other => anyhow::anyhow!("{other}"),
    }
}

fn password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("MIMI_PASSWORD") {
        return Ok(p);
    }
    rpassword::prompt_password("password: ").context("reading the password")
}

/// The new password: MIMI_NEW_PASSWORD, or asked twice.
fn new_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("MIMI_NEW_PASSWORD") {
        return Ok(p);
    }
    let first = rpassword::prompt_password("new password: ").context("reading the password")?;
    let again =
        rpassword::prompt_password("new password again: ").context("reading the password")?;
    if first != again {
        return Err(InputError("the two new passwords differ".into()).into());
    }
    Ok(first)
}

/// `mimi account ...`.
#[derive(Debug, clap::Subcommand)]
pub enum AccountCommand {
    /// Create an account and this profile's device.
    Create {
        /// The provider, e.g. http://127.0.0.1:8470.
        #[arg(long)]
        server: String,
        /// The user name.
        #[arg(long)]
        user: String,
        /// Name of this device.
        #[arg(long, default_value = "cli")]
        device: String,
    },
    /// Log in to an existing account: as a new profile (with --server and --user, then
    /// `mimi device add`), or this profile again after a logout or an expired session.
    Login {
        /// The provider (a new profile).
        #[arg(long)]
        server: Option<String>,
        /// The user name (a new profile).
        #[arg(long)]
        user: Option<String>,
    },
    /// End this profile's sessions at the provider and forget its tokens (its keys and
    /// rooms stay; `mimi account login` comes back).
    Logout,
    /// Change the account's password (the current one from MIMI_PASSWORD or a prompt, the
    /// new one from MIMI_NEW_PASSWORD or a prompt); the account's other sessions end.
    Password,
}

/// `mimi device ...`.
#[derive(Debug, clap::Subcommand)]
pub enum DeviceCommand {
    /// Register this profile's device.
    Add {
        /// Its name.
        name: String,
    },
    /// List the account's devices.
    List,
    /// Delete a device at the provider.
    Remove {
        /// Its name.
        name: String,
    },
}

/// `mimi room ...`.
#[derive(Debug, clap::Subcommand)]
pub enum RoomCommand {
    /// Create a room you own.
    Create {
        /// Its name (or full mimi:// URI).
        name: String,
        /// A preset: administrated (default), open, semi-open, moderated, one-on-one,
        /// fixed-membership-logging.
        #[arg(long, conflicts_with = "policy")]
        preset: Option<String>,
        /// A room document (JSON, as `mimi policy check` reads it).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Keep a hidden room's name exactly as given, without the unguessable tag that
        /// otherwise hides it from anyone who tries names (anyone may then find out that a
        /// room of that name exists, by trying to create it).
        #[arg(long)]
        exact_name: bool,
        /// Pre-authorize a claim as members (repeatable): user:bob@example.com,
        /// domain:example.com, team:T, workgroup:W, group:G, system:S.
        #[arg(long = "preauth", value_name = "CLAIM", conflicts_with = "policy")]
        preauth: Vec<String>,
    },
    /// Change a room's policy (an owner, or the owning provider's system user): settings of
    /// the `policy` object of `mimi room show --json`, or a whole edited document.
    Policy {
        /// The room.
        room: String,
        /// A setting, KEY=VALUE (repeatable): moderated=true, membership=open,
        /// max-users=50, mls.update-max-interval=86400, ...
        #[arg(
            long = "set",
            value_name = "KEY=VALUE",
            required_unless_present = "policy"
        )]
        set: Vec<String>,
        /// A whole room document (JSON, as `mimi room show --json` prints it).
        #[arg(long, conflicts_with = "set")]
        policy: Option<PathBuf>,
    },
    /// A room's pre-authorization lists: who joins by itself, and as what.
    #[command(subcommand)]
    Preauth(PreauthCommand),
    /// A room's join links: create, list, revoke (owners and admins).
    #[command(subcommand)]
    Link(LinkCommand),
    /// Show a room's document.
    Show {
        /// The room.
        room: String,
    },
    /// List the rooms this device is in, each with its unread messages and its last one
    /// (--directory: the provider's discoverable rooms).
    List {
        /// The provider's directory of discoverable rooms instead.
        #[arg(long)]
        directory: bool,
    },
    /// Add a user (all of its devices).
    Add {
        /// The room.
        room: String,
        /// The user: `bob`, `bob@domain` or `mimi://domain/u/bob`.
        user: String,
    },
    /// Remove a user from a room: every device of it and its affiliation, in one commit
    /// (a members-only room then lets it back only as a newcomer).
    Remove {
        /// The room.
        room: String,
        /// The user.
        user: String,
        /// Why, for every member (the user included) to read.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Kick a user: every device of it leaves the room; a member, admin or owner keeps its
    /// affiliation and may come back (a user without one leaves the room).
    Kick {
        /// The room.
        room: String,
        /// The user.
        user: String,
        /// Why, for every member (the user included) to read.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Ban a user: every device of it leaves, and it stays out by every way in (add, join,
    /// link, knock, pre-authorization) until unbanned.
    Ban {
        /// The room.
        room: String,
        /// The user.
        user: String,
        /// Why, for every member (the user included) to read.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a ban (the user's affiliation becomes none).
    Unban {
        /// The room.
        room: String,
        /// The user.
        user: String,
        /// Why, for every member to read.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Give a visitor voice (in a moderated room, only users with voice send).
    Voice {
        /// The room.
        room: String,
        /// The user.
        user: String,
    },
    /// Take a participant's or member's voice (an admin's or owner's never).
    Devoice {
        /// The room.
        room: String,
        /// The user.
        user: String,
    },
    /// Set a user's affiliation: owner, admin, member or none (admins manage members;
    /// only owners make or unmake admins and owners).
    Affiliation {
        /// The room.
        room: String,
        /// The user.
        user: String,
        /// The new affiliation.
        #[arg(value_parser = ["owner", "admin", "member", "none"])]
        affiliation: String,
        /// Why, for every member to read.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Join a room by yourself (external commit): an open room, one that pre-authorizes
    /// you, or with one of its join links. Your other devices are added after you.
    Join {
        /// The room.
        room: String,
        /// A join link of the room.
        #[arg(long)]
        link: Option<String>,
        /// The password of the link, or of a password-protected room (or
        /// MIMI_ROOM_PASSWORD).
        #[arg(long, env = "MIMI_ROOM_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Take part under a pseudonym your provider issues for this room (a semi-anonymous
        /// room only): the others see the pseudonym, never you.
        #[arg(long)]
        pseudonym: bool,
    },
    /// Leave a room (another member commits your departure; the last member of a
    /// temporary room destroys it, of a persistent room leaves it empty, to be started again
    /// by the first one back).
    Leave {
        /// The room.
        room: String,
    },
    /// Destroy a room you are the last member of: the provider deletes it.
    Destroy {
        /// The room.
        room: String,
    },
    /// Knock on a room that lets you in on request: its moderators are told, and may add
    /// you without asking for your consent.
    Knock {
        /// The room.
        room: String,
        /// Withdraw your pending knock instead.
        #[arg(long)]
        withdraw: bool,
        /// Knock under a pseudonym your provider issues for this room (a semi-anonymous
        /// room only).
        #[arg(long)]
        pseudonym: bool,
    },
    /// Suggest a room you are in to a user: it hears of it, and joins or knocks as the room
    /// lets it.
    Suggest {
        /// The room.
        room: String,
        /// The user.
        user: String,
    },
    /// List the pending knocks on a room that you may answer.
    Knocks {
        /// The room.
        room: String,
    },
    /// Let a knocker in: add it (every device of it) to the room.
    Approve {
        /// The room.
        room: String,
        /// The user who knocked.
        user: String,
    },
    /// Decline a user's knock on a room you may let it into (it may knock again; a ban
    /// keeps it out).
    #[command(alias = "decline")]
    Deny {
        /// The room.
        room: String,
        /// The user who knocked.
        user: String,
    },
}

/// `mimi room link ...`.
#[derive(Debug, clap::Subcommand)]
pub enum LinkCommand {
    /// Create a join link: whoever holds it (and its password) joins as a member.
    Create {
        /// The room.
        room: String,
        /// A password the link asks for besides (or MIMI_LINK_PASSWORD).
        #[arg(long, env = "MIMI_LINK_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// How long it lets people in: 90s, 30m, 12h, 7d (or seconds).
        #[arg(long, value_parser = parse_duration)]
        expires: Option<u64>,
        /// How many different users it lets in.
        #[arg(long)]
        uses: Option<u32>,
    },
    /// List a room's join links.
    List {
        /// The room.
        room: String,
    },
    /// Revoke a join link: nobody joins by it any more.
    Revoke {
        /// The room.
        room: String,
        /// The link (or its code).
        link: String,
    },
}

/// A duration as people write it: 90s, 30m, 12h, 7d, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: write 90s, 30m, 12h or 7d"))?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("{text:?}: the unit is s, m, h or d")),
    };
    n.checked_mul(scale)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("{text:?}: out of range"))
}

/// `mimi room preauth ...`.
#[derive(Debug, clap::Subcommand)]
pub enum PreauthCommand {
    /// Pre-authorize a claim: users it matches join by themselves, as `--role`.
    Add {
        /// The room.
        room: String,
        /// The role they join as.
        #[arg(long, default_value = "member", value_parser = mimi_client::PREAUTH_ROLES)]
        role: String,
        /// user:bob@example.com, domain:example.com, team:T, workgroup:W, group:G, system:S.
        claim: String,
    },
    /// Take a claim off a list.
    Remove {
        /// The room.
        room: String,
        /// The list's role.
        #[arg(long, default_value = "member", value_parser = mimi_client::PREAUTH_ROLES)]
        role: String,
        /// The claim, as it was added.
        claim: String,
    },
    /// List the claims and the role each lets users join as.
    List {
        /// The room.
        room: String,
    },
}

/// `mimi consent ...`: who may add you to rooms (the provider hands your devices'
/// KeyPackages only to them).
#[derive(Debug, clap::Subcommand)]
pub enum ConsentCommand {
    /// Ask a user to let you add them.
    Request {
        /// The user.
        user: String,
        /// For this room only (else any room).
        #[arg(long)]
        room: Option<String>,
    },
    /// Let a user add you.
    Grant {
        /// The user.
        user: String,
        /// For this room only (else any room).
        #[arg(long)]
        room: Option<String>,
        /// Let them add you under a pseudonym your provider issues for the room (needs
        /// --room; a semi-anonymous room only): give them the pseudonym this prints.
        #[arg(long, requires = "room")]
        pseudonym: bool,
    },
    /// Withdraw a grant, or refuse a request.
    Revoke {
        /// The user.
        user: String,
        /// The room the grant or request names.
        #[arg(long)]
        room: Option<String>,
    },
    /// What you were asked for and have granted.
    List,
}

pub fn consent(cmd: ConsentCommand, common: &Common) -> anyhow::Result<()> {
    let mut p = common.open()?;
    if let ConsentCommand::Grant {
        user,
        room: Some(r),
        pseudonym: true,
    } = &cmd
    {
        let id = p.room_id(r).map_err(failure)?;
        let as_pseudonym = p.pseudonym_in(&id).map_err(failure)?;
        as_pseudonym
            .consent_grant(user, Some(&id))
            .map_err(failure)?;
        p.use_pseudonym(&id, true).map_err(failure)?;
        let me = as_pseudonym.user().map_err(failure)?;
        common.print(
            json!({"user": user, "granted": true, "room": id.to_string(), "as": me.to_string()}),
            || format!("{user} may add you to {id} as {me}: give them that name"),
        );
        return Ok(());
    }
    let p = p;
    let room = |r: &Option<String>| -> anyhow::Result<_> {
        r.as_deref()
            .map(|r| p.room_id(r))
            .transpose()
            .map_err(failure)
    };
    let scope = |r: &Option<mimi_policy::id::RoomId>| match r {
        Some(id) => crate::safe::visible(id.as_str()),
        None => "any room".to_owned(),
    };
    match cmd {
        ConsentCommand::Request { user, room: r } => {
            let r = room(&r)?;
            let granted = p.consent_request(&user, r.as_ref()).map_err(failure)?;
            common.print(json!({"user": user, "granted": granted}), || {
                if granted {
                    format!("{user} already lets you add them to {}", scope(&r))
                } else {
                    format!("asked {user} to let you add them to {}", scope(&r))
                }
            });
        }
        ConsentCommand::Grant { user, room: r, .. } => {
            let r = room(&r)?;
            p.consent_grant(&user, r.as_ref()).map_err(failure)?;
            common.print(json!({"user": user, "granted": true}), || {
                format!("{user} may add you to {}", scope(&r))
            });
        }
        ConsentCommand::Revoke { user, room: r } => {
            let r = room(&r)?;
            p.consent_revoke(&user, r.as_ref()).map_err(failure)?;
            common.print(json!({"user": user, "granted": false}), || {
                format!("{user} may no longer add you to {}", scope(&r))
            });
        }
        ConsentCommand::List => {
            let list = p.consents().map_err(failure)?;
            common.print(json!({"consents": list}), || {
                list.iter()
                    .map(|c| {
                        format!(
                            "{} {} {}",
                            if c.granted { "granted" } else { "asks   " },
                            crate::safe::visible(&c.user),
                            c.room
                                .as_deref()
                                .map_or_else(|| "(any room)".to_owned(), crate::safe::visible)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

pub fn account(cmd: AccountCommand, common: &Common) -> anyhow::Result<()> {
    let dir = common.dir()?;
    match cmd {
        AccountCommand::Create {
            server,
            user,
            device,
        } => {
            let password = password()?;
            let spinner = common.spin("creating the account and this device's keys");
            let mut p =
                Profile::create_account(&dir, &server, &user, &password).map_err(failure)?;
            let client = p.add_device(&device).map_err(failure)?;
            drop(spinner);
            common.print(
                json!({"user": p.user().map_err(failure)?.to_string(), "client": client.to_string()}),
                || format!("created {} with device {client}", user),
            );
        }
        AccountCommand::Login {
            server: Some(server),
            user: Some(user),
        } if !dir.join("profile.json").exists() => {
            let p = Profile::login(&dir, &server, &user, &password()?).map_err(failure)?;
            let user = p.user().map_err(failure)?;
            common.print(json!({"user": user.to_string()}), || {
                format!("logged in as {user}; add this device with `mimi device add NAME`")
            });
        }
        AccountCommand::Login { .. } => {
            let mut p = common.open()?;
            p.relogin(&password()?).map_err(failure)?;
            let user = p.user().map_err(failure)?;
            common.print(json!({"user": user.to_string()}), || {
                format!("logged in again as {user}")
            });
        }
        AccountCommand::Logout => {
            let mut p = common.open()?;
            let user = p.user().map_err(failure)?;
            p.logout().map_err(failure)?;
            common.print(
                json!({"user": user.to_string(), "logged_out": true}),
                || format!("logged out of {user}; `mimi account login` comes back"),
            );
        }
        AccountCommand::Password => {
            let p = common.open()?;
            let current = password()?;
            let new = new_password()?;
            p.change_password(&current, &new).map_err(failure)?;
            common.print(json!({"password_changed": true}), || {
                "password changed; the account's other sessions ended".to_owned()
            });
        }
    }
    Ok(())
}

pub fn device(cmd: DeviceCommand, common: &Common) -> anyhow::Result<()> {
    let mut p = common.open()?;
    match cmd {
        DeviceCommand::Add { name } => {
            let spinner = common.spin("registering this device and its keys");
            let client = p.add_device(&name).map_err(failure)?;
            drop(spinner);
            common.print(json!({"client": client.to_string()}), || {
                format!("this profile is now {client}")
            });
        }
        DeviceCommand::List => {
            let devices = p.devices().map_err(failure)?;
            common.print(json!({"devices": devices}), || devices.join("\n"));
        }
        DeviceCommand::Remove { name } => {
            p.remove_device(&name).map_err(failure)?;
            common.print(json!({"removed": name}), || format!("removed {name}"));
        }
    }
    Ok(())
}

impl RoomCommand {
    /// The room the command acts in, if it names one.
    fn room(&self) -> Option<&str> {
        match self {
            Self::Create { .. } | Self::List { .. } => None,
            Self::Preauth(
                PreauthCommand::List { room }
                | PreauthCommand::Add { room, .. }
                | PreauthCommand::Remove { room, .. },
            )
            | Self::Link(
                LinkCommand::Create { room, .. }
                | LinkCommand::List { room }
                | LinkCommand::Revoke { room, .. },
            )
            | Self::Policy { room, .. }
            | Self::Show { room }
            | Self::Add { room, .. }
            | Self::Remove { room, .. }
            | Self::Kick { room, .. }
            | Self::Ban { room, .. }
            | Self::Unban { room, .. }
            | Self::Voice { room, .. }
            | Self::Devoice { room, .. }
            | Self::Affiliation { room, .. }
            | Self::Join { room, .. }
            | Self::Leave { room }
            | Self::Destroy { room }
            | Self::Knock { room, .. }
            | Self::Suggest { room, .. }
            | Self::Knocks { room }
            | Self::Approve { room, .. }
            | Self::Deny { room, .. } => Some(room),
        }
    }
}

/// The profile that acts in `room`: this device's, or its pseudonym's there.
fn open_in(common: &Common, room: &str) -> anyhow::Result<Profile> {
    let main = common.open()?;
    Ok(acting_in(&main, room)?.unwrap_or(main))
}

/// The profile of the pseudonym `p`'s device acts through in `room`, if it does.
fn acting_in(p: &Profile, room: &str) -> anyhow::Result<Option<Profile>> {
    let id = p.room_id(room).map_err(failure)?;
    p.acting_profile(&id).map_err(failure)
}

pub fn room(cmd: RoomCommand, common: &Common) -> anyhow::Result<()> {
    let mut main = common.open()?;
    let pseudonymous = match &cmd {
        RoomCommand::Join {
            room,
            pseudonym: true,
            ..
        }
        | RoomCommand::Knock {
            room,
            pseudonym: true,
            withdraw: false,
        } => Some(main.room_id(room).map_err(failure)?),
        _ => None,
    };
    let mut sub = match (&pseudonymous, cmd.room()) {
        (Some(id), _) => Some(main.pseudonym_in(id).map_err(failure)?),
        (None, Some(room)) => acting_in(&main, room)?,
        (None, None) => None,
    };
    // Left or ended under the pseudonym: the device acts there as itself again.
    let ended = match &cmd {
        RoomCommand::Leave { room } | RoomCommand::Destroy { room } if sub.is_some() => {
            Some(main.room_id(room).map_err(failure)?)
        }
        _ => None,
    };
    let done = act(sub.as_mut().unwrap_or(&mut main), cmd, common);
    if done.is_ok() {
        // Taken under the pseudonym: the device acts in the room through it from now on.
        if let Some(id) = &pseudonymous {
            main.use_pseudonym(id, true).map_err(failure)?;
        }
        if let Some(id) = &ended {
            main.use_pseudonym(id, false).map_err(failure)?;
        }
    }
    done
}

fn act(p: &mut Profile, cmd: RoomCommand, common: &Common) -> anyhow::Result<()> {
    match cmd {
        RoomCommand::Create {
            name,
            preset,
            policy,
            exact_name,
            preauth,
        } => {
            let doc = policy
                .map(|path| {
                    std::fs::read_to_string(&path)
                        .map_err(|e| InputError(format!("{}: {e}", path.display())))
                })
                .transpose()?;
            let spinner = common.spin("creating the room");
            let id = p
                .create_room(
                    &name,
                    preset.as_deref(),
                    doc.as_deref(),
                    exact_name,
                    &preauth,
                )
                .map_err(failure)?;
            drop(spinner);
            common.print(json!({"room": id.to_string()}), || format!("created {id}"));
        }
        RoomCommand::Policy { room, set, policy } => {
            let id = p.room_id(&room).map_err(failure)?;
            let change = match policy {
                Some(path) => PolicyChange::Document(
                    std::fs::read_to_string(&path)
                        .map_err(|e| InputError(format!("{}: {e}", path.display())))?,
                ),
                None => PolicyChange::Set(set),
            };
            let spinner = common.spin("changing the policy");
            let (doc, epoch) = p.change_policy(&id, &change).map_err(failure)?;
            drop(spinner);
            common.print(
                json!({"room": id.to_string(), "epoch": epoch, "policy": doc["policy"]}),
                || format!("changed the policy of {id} (epoch {epoch})"),
            );
        }
        RoomCommand::Preauth(PreauthCommand::List { room }) => {
            let id = p.room_id(&room).map_err(failure)?;
            let entries = p.preauth(&id).map_err(failure)?;
            common.print(json!({"room": id.to_string(), "preauth": entries}), || {
                if entries.is_empty() {
                    return format!("{id} pre-authorizes nobody");
                }
                let width = entries.iter().map(|e| e.role.len()).max().unwrap_or(0);
                entries
                    .iter()
                    .map(|e| format!("{:width$}  {}", e.role, crate::safe::visible(&e.claim)))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        RoomCommand::Preauth(PreauthCommand::Add { room, role, claim }) => {
            change_preauth(p, common, true, &room, role, claim)?;
        }
        RoomCommand::Preauth(PreauthCommand::Remove { room, role, claim }) => {
            change_preauth(p, common, false, &room, role, claim)?;
        }
        RoomCommand::Link(LinkCommand::Create {
            room,
            password,
            expires,
            uses,
        }) => {
            let id = p.room_id(&room).map_err(failure)?;
            let spinner = common.spin("creating a join link");
            let (link, epoch) = p
                .create_link(&id, password.as_deref(), expires, uses)
                .map_err(failure)?;
            drop(spinner);
            common.print(
                json!({"room": id.to_string(), "link": link, "epoch": epoch}),
                || {
                    format!(
                        "created a join link of {id}:\n{link}\njoin with `{}`",
                        crate::safe::command(&[
                            "mimi",
                            "room",
                            "join",
                            id.as_str(),
                            "--link",
                            &link
                        ])
                    )
                },
            );
        }
        RoomCommand::Link(LinkCommand::List { room }) => {
            let id = p.room_id(&room).map_err(failure)?;
            let links = p.links(&id).map_err(failure)?;
            common.print(json!({"room": id.to_string(), "links": links}), || {
                if links.is_empty() {
                    return format!("{id} has no join links");
                }
                links
                    .iter()
                    .map(|l| {
                        let mut terms = Vec::new();
                        if let Some(t) = l.expires {
                            terms.push(format!("expires {t}"));
                        }
                        if let Some(n) = l.uses {
                            terms.push(format!("{n} uses"));
                        }
                        if l.password {
                            terms.push("password".into());
                        }
                        format!("{}  {}", crate::safe::visible(&l.link), terms.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        RoomCommand::Link(LinkCommand::Revoke { room, link }) => {
            let id = p.room_id(&room).map_err(failure)?;
            let (_, epoch) = p
                .change_policy(&id, &PolicyChange::RevokeLink(link.clone()))
                .map_err(failure)?;
            common.print(
                json!({"room": id.to_string(), "link": link, "revoked": true, "epoch": epoch}),
                || format!("revoked the join link {}", crate::safe::visible(&link)),
            );
        }
        RoomCommand::Show { room } => {
            let id = p.room_id(&room).map_err(failure)?;
            let doc = p.show_room(&id).map_err(failure)?;
            common.print(doc.clone(), || {
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            });
        }
        RoomCommand::List { directory: true } => {
            let rooms = p.directory().map_err(failure)?;
            common.print(json!({"rooms": rooms}), || {
                rooms
                    .iter()
                    .map(|r| crate::safe::visible(r))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        RoomCommand::List { directory: false } => {
            let rooms = p.my_rooms().map_err(failure)?;
            common.print(json!({"rooms": rooms}), || {
                use crate::safe::visible;
                let width = rooms
                    .iter()
                    .map(|r| visible(&r.room).chars().count())
                    .max()
                    .unwrap_or(0);
                rooms
                    .iter()
                    .map(|r| {
                        let last = r.last.as_ref().map_or_else(String::new, |m| {
                            let text = if m.deleted {
                                "(deleted)".to_owned()
                            } else {
                                visible(&m.text)
                            };
                            format!("  {}: {text}", visible(&m.sender))
                        });
                        let me = if r.user.contains("/u/~") {
                            format!("  as {}", visible(&r.user))
                        } else {
                            String::new()
                        };
                        format!(
                            "{:width$}  {:>3} unread{me}{last}",
                            visible(&r.room),
                            r.unread
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        RoomCommand::Add { room, user } => {
            let id = p.room_id(&room).map_err(failure)?;
            let spinner = common.spin(&format!("adding {user}"));
            let epoch = p.add(&id, &user).map_err(failure)?;
            drop(spinner);
            common.print(json!({"room": id.to_string(), "epoch": epoch}), || {
                format!("added {user} to {id}")
            });
        }
        RoomCommand::Remove { room, user, reason } => {
            moderate(p, common, &room, &user, Moderation::Remove, reason)?;
        }
        RoomCommand::Kick { room, user, reason } => {
            moderate(p, common, &room, &user, Moderation::Kick, reason)?;
        }
        RoomCommand::Ban { room, user, reason } => {
            moderate(p, common, &room, &user, Moderation::Ban, reason)?;
        }
        RoomCommand::Unban { room, user, reason } => {
            moderate(p, common, &room, &user, Moderation::Unban, reason)?;
        }
        RoomCommand::Voice { room, user } => {
            moderate(p, common, &room, &user, Moderation::Voice, None)?;
        }
        RoomCommand::Devoice { room, user } => {
            moderate(p, common, &room, &user, Moderation::Devoice, None)?;
        }
        RoomCommand::Affiliation {
            room,
            user,
            affiliation,
            reason,
        } => {
            let affiliation = match affiliation.as_str() {
                "owner" => Affiliation::Owner,
                "admin" => Affiliation::Admin,
                "member" => Affiliation::Member,
                _ => Affiliation::None,
            };
            let what = Moderation::Affiliation(affiliation);
            moderate(p, common, &room, &user, what, reason)?;
        }
        RoomCommand::Join {
            room,
            link,
            password,
            pseudonym: _,
        } => {
            let id = p.room_id(&room).map_err(failure)?;
            let spinner = common.spin(&format!("joining {id}"));
            let joined = p
                .join_room(&id, link.as_deref(), password.as_deref())
                .map_err(failure)?;
            drop(spinner);
            let user = p.user().map_err(failure)?;
            common.print(
                json!({"room": id.to_string(), "epoch": joined.epoch, "devices": joined.devices, "as": user.to_string()}),
                || {
                    let mut text = format!("joined {id} (epoch {})", joined.epoch);
                    if user.is_pseudonym() {
                        text.push_str(&format!(" as {user}"));
                    }
                    for d in &joined.devices {
                        text.push_str(&format!("\nadded your device {}", crate::safe::visible(d)));
                    }
                    text
                },
            );
        }
        RoomCommand::Leave { room } => {
            let id = p.room_id(&room).map_err(failure)?;
            let left = p.leave(&id).map_err(failure)?;
            let destroyed = left == mimi_client::Left::Destroyed;
            let vacant = left == mimi_client::Left::Vacated;
            common.print(
                json!({"room": id.to_string(), "left": true, "destroyed": destroyed, "vacant": vacant}),
                || match left {
                    mimi_client::Left::Destroyed => {
                        format!("left {id}, a temporary room, as its last member: it is gone")
                    }
                    mimi_client::Left::Vacated => format!(
                        "left {id} as its last member: the room stays, empty, and the first \
                         one back starts it again"
                    ),
                    mimi_client::Left::Asked => {
                        format!("asked to leave {id}; a member commits it")
                    }
                },
            );
        }
        RoomCommand::Destroy { room } => {
            let id = p.room_id(&room).map_err(failure)?;
            p.destroy(&id).map_err(failure)?;
            common.print(json!({"room": id.to_string(), "destroyed": true}), || {
                format!("destroyed {id}")
            });
        }
        RoomCommand::Knock {
            room,
            withdraw: true,
            ..
        } => {
            let id = p.room_id(&room).map_err(failure)?;
            p.withdraw_knock(&id).map_err(failure)?;
            common.print(json!({"room": id.to_string(), "withdrawn": true}), || {
                format!("withdrew your knock on {id}")
            });
        }
        RoomCommand::Suggest { room, user } => {
            let id = p.room_id(&room).map_err(failure)?;
            let target = p.suggest(&id, &user).map_err(failure)?;
            common.print(
                json!({"room": id.to_string(), "user": target.to_string(), "suggested": true}),
                || format!("suggested {id} to {target}"),
            );
        }
        RoomCommand::Knocks { room } => {
            let id = p.room_id(&room).map_err(failure)?;
            let knocks = p.knocks(&id).map_err(failure)?;
            let rows: Vec<_> = knocks
                .iter()
                .map(|k| json!({"user": k.user, "since": k.since}))
                .collect();
            common.print(json!({"room": id.to_string(), "knocks": rows}), || {
                if knocks.is_empty() {
                    return format!("no knocks on {id} for you to answer");
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let users: Vec<String> = knocks
                    .iter()
                    .map(|k| crate::safe::visible(&k.user))
                    .collect();
                let width = users.iter().map(|u| u.chars().count()).max().unwrap_or(0);
                knocks
                    .iter()
                    .zip(&users)
                    .map(|(k, user)| {
                        format!(
                            "{user:width$}  {:>10}  `{}`",
                            ago(now.saturating_sub(k.since)),
                            crate::safe::command(&[
                                "mimi",
                                "room",
                                "approve",
                                id.as_str(),
                                &k.user
                            ])
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        RoomCommand::Approve { room, user } => {
            let id = p.room_id(&room).map_err(failure)?;
            let spinner = common.spin(&format!("letting {user} in"));
            let epoch = p.add(&id, &user).map_err(failure)?;
            drop(spinner);
            common.print(
                json!({"room": id.to_string(), "user": user, "epoch": epoch}),
                || format!("let {} into {id}", crate::safe::visible(&user)),
            );
        }
        RoomCommand::Deny { room, user } => {
            let id = p.room_id(&room).map_err(failure)?;
            let knocker = p.decline_knock(&id, &user).map_err(failure)?;
            common.print(
                json!({"room": id.to_string(), "user": knocker.to_string(), "declined": true}),
                || format!("declined {knocker}'s knock on {id}"),
            );
        }
        RoomCommand::Knock {
            room,
            withdraw: false,
            ..
        } => {
            let id = p.room_id(&room).map_err(failure)?;
            let told = p.knock(&id).map_err(failure)?;
            common.print(json!({"room": id.to_string(), "told": told}), || {
                format!("knocked on {id}; {told} user(s) may let you in")
            });
        }
    }
    Ok(())
}

/// Adds a claim to (`add`) or takes it off the pre-authorization list of `role`, and prints
/// what changed.
fn change_preauth(
    p: &mut Profile,
    common: &Common,
    add: bool,
    room: &str,
    role: String,
    claim: String,
) -> anyhow::Result<()> {
    let id = p.room_id(room).map_err(failure)?;
    let change = PolicyChange::Preauth {
        add,
        role: role.clone(),
        claim: claim.clone(),
    };
    let (_, epoch) = p.change_policy(&id, &change).map_err(failure)?;
    let shown = crate::safe::visible(&claim);
    common.print(
        json!({"room": id.to_string(), "role": role, "claim": claim, "added": add, "epoch": epoch}),
        || {
            if add {
                format!("pre-authorized {shown} as {role} in {id}")
            } else {
                format!("took {shown} off the {role} list of {id}")
            }
        },
    );
    Ok(())
}

/// Commits a moderation and prints the room, the user, what was done and the epoch after.
fn moderate(
    p: &mut Profile,
    common: &Common,
    room: &str,
    user: &str,
    what: Moderation,
    reason: Option<String>,
) -> anyhow::Result<()> {
    let id = p.room_id(room).map_err(failure)?;
    let (verb, done) = match what {
        Moderation::Kick => ("kick", "kicked"),
        Moderation::Remove => ("remove", "removed"),
        Moderation::Ban => ("ban", "banned"),
        Moderation::Unban => ("unban", "unbanned"),
        Moderation::Voice => ("voice", "gave voice to"),
        Moderation::Devoice => ("devoice", "took voice from"),
        Moderation::Affiliation(_) => ("affiliation", "set the affiliation of"),
    };
    let spinner = common.spin(&format!("{verb} {user}"));
    let (target, epoch) = p
        .moderate(&id, user, what, reason.as_deref())
        .map_err(failure)?;
    drop(spinner);
    let mut value = json!({
        "room": id.to_string(),
        "user": target.to_string(),
        "action": verb,
        "epoch": epoch,
    });
    let mut text = format!("{done} {target}");
    if let Moderation::Affiliation(a) = what {
        value["affiliation"] = json!(a.as_str());
        text.push_str(&format!(" to {}", a.as_str()));
    }
    let place = match what {
        Moderation::Kick | Moderation::Remove | Moderation::Ban => "from",
        _ => "in",
    };
    text.push_str(&format!(" {place} {id} (epoch {epoch})"));
    if let Some(r) = &reason {
        value["reason"] = json!(r);
    }
    common.print(value, || text);
    Ok(())
}

pub fn dm(users: &[String], common: &Common) -> anyhow::Result<()> {
    let mut p = common.open()?;
    let spinner = common.spin("opening the room");
    let dm = p.dm(users).map_err(failure)?;
    drop(spinner);
    let me = p.user().map_err(failure)?;
    let with: Vec<String> = dm.with.iter().map(ToString::to_string).collect();
    let asked = dm.asked.as_ref().map(ToString::to_string);
    common.print(
        json!({"room": dm.room.to_string(), "created": dm.created, "epoch": dm.epoch, "with": with, "asked": asked}),
        || {
            let people = with.join(", ");
            if let Some(first) = &dm.asked {
                format!(
                    "{} lives on {}'s provider and is not open yet: asked {first} to open it; \
                     run `{}` again once it is",
                    dm.room,
                    crate::safe::visible(first.as_str()),
                    crate::safe::command(
                        &std::iter::once("mimi")
                            .chain(std::iter::once("dm"))
                            .chain(dm.with.iter().map(mimi_policy::id::UserId::as_str))
                            .collect::<Vec<_>>()
                    )
                )
            } else if dm.created && dm.with.len() == 1 {
                format!(
                    "opened {} with {people}; they join with `{}`",
                    dm.room,
                    crate::safe::command(&["mimi", "dm", me.as_str()])
                )
            } else if dm.created {
                format!(
                    "opened {} with {people}; each joins by running `mimi dm` with the others",
                    dm.room
                )
            } else {
                format!("joined {} with {people} (epoch {})", dm.room, dm.epoch)
            }
        },
    );
    Ok(())
}

pub fn send(
    room: &str,
    text: &str,
    plain: bool,
    reply_to: Option<&str>,
    expires: Option<u64>,
    common: &Common,
) -> anyhow::Result<()> {
    let mut p = open_in(common, room)?;
    let id = p.room_id(room).map_err(failure)?;
    let (seq, message) = p
        .send(&id, text, plain, reply_to, expires)
        .map_err(failure)?;
    common.print(
        json!({"room": id.to_string(), "seq": seq, "id": message.to_hex()}),
        || format!("sent to {id} ({})", short_id(&message.to_hex())),
    );
    Ok(())
}

/// `mimi send ROOM --file PATH`: a file as an attachment.
pub fn send_file(
    room: &str,
    file: &std::path::Path,
    description: Option<&str>,
    common: &Common,
) -> anyhow::Result<()> {
    let mut p = open_in(common, room)?;
    let id = p.room_id(room).map_err(failure)?;
    let spinner = common.spin("encrypting and uploading");
    let (seq, message) = p.send_file(&id, file, description).map_err(failure)?;
    drop(spinner);
    common.print(
        json!({"room": id.to_string(), "seq": seq, "id": message.to_hex()}),
        || {
            format!(
                "sent {} to {id} ({})",
                crate::safe::visible(&file.display().to_string()),
                short_id(&message.to_hex())
            )
        },
    );
    Ok(())
}

/// `mimi attachment ...`.
#[derive(Debug, clap::Subcommand)]
pub enum AttachmentCommand {
    /// Fetch a message's attachment, check it and decrypt it.
    Get {
        /// The room.
        room: String,
        /// The message (`#` and hex digits, as `mimi sync` shows it).
        id: String,
        /// Where to write it [default: its sender's file name, here, never over a file].
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

pub fn attachment(cmd: AttachmentCommand, common: &Common) -> anyhow::Result<()> {
    let AttachmentCommand::Get { room, id, out } = cmd;
    let p = open_in(common, &room)?;
    let room_id = p.room_id(&room).map_err(failure)?;
    let here = std::env::current_dir().context("the current directory")?;
    let written = p
        .get_attachment(&room_id, &id, out.as_deref(), &here)
        .map_err(failure)?;
    let shown = written.display().to_string();
    common.print(json!({"room": room_id.to_string(), "file": shown}), || {
        format!("wrote {}", crate::safe::visible(&shown))
    });
    Ok(())
}

/// A change to a message: a reaction, its take-back, an edit, a deletion.
pub enum Change<'a> {
    /// React with an emoji.
    React(&'a str, &'a str),
    /// Take back a reaction.
    Unreact(&'a str, &'a str),
    /// Replace the text.
    Edit(&'a str, &'a str),
    /// Delete.
    Delete(&'a str),
}

/// `mimi react|unreact|edit|delete`: one message that changes another.
pub fn change(room: &str, what: Change<'_>, common: &Common) -> anyhow::Result<()> {
    let mut p = open_in(common, room)?;
    let id = p.room_id(room).map_err(failure)?;
    let (done, target, sent) = match what {
        Change::React(target, emoji) => ("reacted to", target, p.react(&id, target, emoji)),
        Change::Unreact(target, emoji) => (
            "took back the reaction to",
            target,
            p.unreact(&id, target, emoji),
        ),
        Change::Edit(target, text) => ("edited", target, p.edit(&id, target, text)),
        Change::Delete(target) => ("deleted", target, p.delete(&id, target)),
    };
    let (seq, message) = sent.map_err(failure)?;
    common.print(
        json!({"room": id.to_string(), "seq": seq, "id": message.to_hex()}),
        || {
            format!(
                "{done} {} in {id} ({})",
                visible_id(target),
                short_id(&message.to_hex())
            )
        },
    );
    Ok(())
}

/// A message ID as the user gave it, made safe to print.
fn visible_id(given: &str) -> String {
    let given = given.trim();
    let shown = if given.starts_with('#') {
        given.to_owned()
    } else {
        format!("#{given}")
    };
    crate::safe::visible(&shown)
}

/// `mimi history ROOM`: the room's last messages as this device holds them.
pub fn history(room: &str, limit: usize, common: &Common) -> anyhow::Result<()> {
    use crate::safe::visible;
    let p = open_in(common, room)?;
    let id = p.room_id(room).map_err(failure)?;
    let entries = p.history(&id, limit).map_err(failure)?;
    common.print(json!({"room": id.to_string(), "messages": entries}), || {
        let width = entries
            .iter()
            .map(|e| visible(&e.sender).chars().count())
            .max()
            .unwrap_or(0);
        entries
            .iter()
            .map(|e| {
                let reply = e
                    .in_reply_to
                    .as_deref()
                    .map(|r| format!("(reply to {}) ", short_id(r)))
                    .unwrap_or_default();
                let text = if e.deleted {
                    "(deleted)".to_owned()
                } else {
                    visible(&e.text)
                };
                let mut flags = String::new();
                if e.edited {
                    flags.push_str(" (edited)");
                }
                if e.refused > 0 {
                    flags.push_str(&format!(" ({} change(s) by others refused)", e.refused));
                }
                let reactions: String = e
                    .reactions
                    .iter()
                    .map(|(emoji, n)| format!("  {} {n}", visible(emoji)))
                    .collect();
                format!(
                    "{}  {:width$}  {reply}{text}{flags}{reactions}",
                    short_id(&e.id),
                    visible(&e.sender)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

/// A message ID as a person copies it: `#` and the first 8 hex digits of its hash (after
/// the algorithm octet).
fn short_id(hex: &str) -> String {
    format!("#{}", hex.get(2..10).unwrap_or(hex))
}

/// A moderator's reason as the end of a line, ` (reason: ...)`, or nothing.
fn because(reason: &Option<String>) -> String {
    reason
        .as_deref()
        .map(|r| format!(" (reason: {})", crate::safe::visible(r)))
        .unwrap_or_default()
}

fn show(event: &Event, common: &Common) {
    use crate::safe::{command, visible};
    let value = serde_json::to_value(event).unwrap_or_default();
    common.print(value, || match event {
        Event::Joined { room } => format!("joined {}", visible(room)),
        Event::Message {
            room,
            sender,
            text,
            id,
        } => {
            let id = id
                .as_deref()
                .map(|id| format!(" ({})", short_id(id)))
                .unwrap_or_default();
            format!(
                "[{}] {}: {}{id}",
                visible(room),
                visible(sender),
                visible(text)
            )
        }
        Event::Changed {
            room,
            epoch,
            reason,
        } => format!(
            "{} changed (epoch {epoch}){}",
            visible(room),
            because(reason)
        ),
        Event::Left { room, reason } => {
            format!("no longer in {}{}", visible(room), because(reason))
        }
        Event::JoinFailed { room, reason } => {
            format!("could not join {}: {}", visible(room), visible(reason))
        }
        Event::Rejoined {
            room,
            epoch,
            committer,
            reason,
        } => format!(
            "rejoined {} (epoch {epoch}): could not process a change by {} ({}); reported it",
            visible(room),
            visible(committer),
            visible(reason)
        ),
        Event::RejoinFailed { room, reason } => {
            format!(
                "cut off from {}, and could not rejoin: {}",
                visible(room),
                visible(reason)
            )
        }
        Event::Knocked { user, room } => format!(
            "{} knocks on {}: `{}`",
            visible(user),
            visible(room),
            command(&["mimi", "room", "add", room, user])
        ),
        Event::Suggested { user, room } => {
            let mine = if common.pseudonym { "--pseudonym" } else { "" };
            let with = |verb: &str| {
                let mut words = vec!["mimi", "room", verb, room.as_str()];
                words.extend((!mine.is_empty()).then_some(mine));
                command(&words)
            };
            format!(
                "{} suggests {}: `{}` (or `{}` if it takes knocks)",
                visible(user),
                visible(room),
                with("join"),
                with("knock")
            )
        }
        Event::ConsentRequested { user, room } => match room {
            // A `mimi dm` room: accepted by running `mimi dm` with the same people.
            Some(room) if room.starts_with("im:mimi=") => format!(
                "{} asks you into a fixed room, {}: `{}` (name its other people too, if any)",
                visible(user),
                visible(room),
                command(&["mimi", "dm", user])
            ),
            Some(room) => {
                let mut words = vec!["mimi", "consent", "grant", user.as_str(), "--room", room];
                // Asked of a pseudonym: granted under it.
                words.extend(common.pseudonym.then_some("--pseudonym"));
                format!(
                    "{} asks to add you to {}: `{}`",
                    visible(user),
                    visible(room),
                    command(&words)
                )
            }
            None => format!(
                "{} asks to add you to rooms: `{}`",
                visible(user),
                command(&["mimi", "consent", "grant", user])
            ),
        },
    });
}

pub fn sync(follow: bool, common: &Common) -> anyhow::Result<()> {
    let mut p = common.open()?;
    // What this device's pseudonyms receive, each in its own room.
    let pseudonyms = p.pseudonym_dirs();
    if follow {
        let json = common.json;
        for dir in pseudonyms {
            std::thread::spawn(move || {
                let common = Common {
                    profile: Some(dir.clone()),
                    json,
                    pseudonym: true,
                };
                if let Ok(mut sub) = Profile::open(&dir) {
                    let _ = sub.follow(|events| {
                        for event in events {
                            show(event, &common);
                        }
                        true
                    });
                }
            });
        }
        // Pushed by the provider's event stream as things arrive, until interrupted.
        return p
            .follow(|events| {
                for event in events {
                    show(event, common);
                }
                true
            })
            .map_err(failure);
    }
    let spinner = common.spin("receiving");
    let events = p.sync().map_err(failure)?;
    drop(spinner);
    // Received and acknowledged: shown before anything else can fail.
    for event in &events {
        show(event, common);
    }
    for dir in pseudonyms {
        let received = Profile::open(&dir).and_then(|mut sub| sub.sync());
        let events = match received {
            Ok(events) => events,
            Err(e) => {
                eprintln!(
                    "{}: {}",
                    dir.display(),
                    crate::safe::visible(&e.to_string())
                );
                continue;
            }
        };
        let sub = Common {
            profile: Some(dir),
            json: common.json,
            pseudonym: true,
        };
        for event in &events {
            show(event, &sub);
            // Out of the room under the pseudonym: the device acts there as itself again.
            if let Event::Left { room, .. } = event
                && let Ok(id) = mimi_policy::id::RoomId::parse(room)
            {
                p.use_pseudonym(&id, false).map_err(failure)?;
            }
        }
    }
    Ok(())
}

/// How long ago, for people: `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`.
fn ago(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}
