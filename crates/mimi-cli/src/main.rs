//! `mimi`: the MIMI provider, client and tools in one binary.
#![forbid(unsafe_code)]

mod bench;
mod client;
mod content;
mod demo;
mod logger;
mod policy;
mod progress;
mod safe;
mod serve;
mod tls;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimi: interoperable end-to-end encrypted group chat (MIMI over MLS).
#[derive(Debug, Parser)]
#[command(name = "mimi", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: client::Common,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the provider (SQLite under ./mimi-data by default; --database postgres://... for
    /// PostgreSQL).
    Serve(Box<serve::Args>),
    /// Two providers (a.example, b.example) on loopback with a throwaway authority, and a
    /// narrated tour of the mission across them: presets, consent and adds, every way in,
    /// moderation, refusals with their rules, leave and destroy (--json: a line per step).
    Demo(demo::Args),
    /// Your account on a provider.
    #[command(subcommand)]
    Account(client::AccountCommand),
    /// This profile's device, and the account's others.
    #[command(subcommand)]
    Device(client::DeviceCommand),
    /// Rooms: create, join, leave, destroy; members, moderation, links and policy.
    #[command(subcommand)]
    Room(client::RoomCommand),
    /// Who may add you to rooms: ask, grant, revoke, list.
    #[command(subcommand)]
    Consent(client::ConsentCommand),
    /// Open the fixed-membership room of you and these users (one-on-one with one): the
    /// same people always get the same room. The first to run it creates it and asks the
    /// others in; each accepts by running `mimi dm` with the same people.
    Dm {
        /// The other users.
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Send a message to a room (MIMI content: Markdown, or plain text with --plain), or a
    /// file (--file).
    Send {
        /// The room.
        room: String,
        /// The text (with --file: the file's description).
        #[arg(required_unless_present = "file")]
        text: Option<String>,
        /// Send this file as an attachment: encrypted here, kept by the provider for the
        /// room's members (at most 4 MiB).
        #[arg(long, value_name = "PATH", conflicts_with_all = ["plain", "reply_to", "expires"])]
        file: Option<std::path::PathBuf>,
        /// Send it as plain text, not Markdown.
        #[arg(long)]
        plain: bool,
        /// Answer this message (its `#` ID as `mimi sync` or `mimi history` shows it).
        #[arg(long, value_name = "ID")]
        reply_to: Option<String>,
        /// Receivers delete it this long after it is sent: 90s, 30m, 12h, 7d (or seconds).
        #[arg(long, value_name = "DURATION", value_parser = client::parse_duration)]
        expires: Option<u64>,
    },
    /// React to a message with an emoji.
    React {
        /// The room.
        room: String,
        /// The message (`#` and hex digits, as `mimi sync` shows it).
        id: String,
        /// The emoji.
        emoji: String,
    },
    /// Take back your reaction to a message.
    Unreact {
        /// The room.
        room: String,
        /// The message.
        id: String,
        /// The emoji.
        emoji: String,
    },
    /// Replace the text of a message you sent.
    Edit {
        /// The room.
        room: String,
        /// The message.
        id: String,
        /// Its new text.
        text: String,
    },
    /// Delete a message you sent.
    Delete {
        /// The room.
        room: String,
        /// The message.
        id: String,
    },
    /// Attachments of messages.
    #[command(subcommand)]
    Attachment(client::AttachmentCommand),
    /// A room's messages as this device holds them: edits applied, deletions shown,
    /// reactions counted, replies pointing at what they answer.
    History {
        /// The room.
        room: String,
        /// How many of the last messages.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Receive what arrived (joins, messages, changes) and acknowledge it.
    Sync {
        /// Keep receiving until interrupted.
        #[arg(long)]
        follow: bool,
    },
    /// MIMI content messages: decode one's CBOR (with its message ID), encode one from JSON.
    #[command(subcommand)]
    Content(content::ContentCommand),
    /// Certificates for tests and demos: a private authority and the provider certificates
    /// it issues.
    #[command(subcommand)]
    Tls(tls::TlsCommand),
    /// Room policy tools: decide operations, name fixed-membership rooms, print presets.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Benchmarks that print one JSON line per measurement.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// A failure caused by the user's input: reported on stderr with exit status 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// A refusal with its stable code and, for a policy denial, the rule that decided it; with
/// `--json` it is printed as `{code, rule, message}` on stdout.
#[derive(Debug)]
pub struct Refused {
    /// The stable code.
    pub code: String,
    /// The rule behind a policy denial.
    pub rule: Option<String>,
    /// For people.
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule {
            Some(rule) => write!(f, "{} ({}, rule {rule})", self.message, self.code),
            None => write!(f, "{} ({})", self.message, self.code),
        }
    }
}

impl std::error::Error for Refused {}

/// The `{code, rule, message}` of a failure, for `--json`.
fn failure_json(e: &anyhow::Error) -> serde_json::Value {
    if let Some(r) = e.downcast_ref::<Refused>() {
        return serde_json::json!({"code": r.code, "rule": r.rule, "message": r.message});
    }
    let code = if e.downcast_ref::<InputError>().is_some() {
        "invalid-input"
    } else {
        "failed"
    };
    serde_json::json!({"code": code, "rule": null, "message": format!("{e:#}")})
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Every HTTP client of this process (the client commands, the load generator) uses rustls
    // with ring.
    mimi_client::install_crypto_provider();
    let result = match cli.command {
        Command::Demo(args) => {
            return match demo::run(args, cli.common.json()) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Serve(args) => serve::run(*args),
        Command::Account(cmd) => client::account(cmd, &cli.common),
        Command::Device(cmd) => client::device(cmd, &cli.common),
        Command::Room(cmd) => client::room(cmd, &cli.common),
        Command::Consent(cmd) => client::consent(cmd, &cli.common),
        Command::Dm { users } => client::dm(&users, &cli.common),
        Command::Send {
            room,
            text,
            file: Some(file),
            ..
        } => client::send_file(&room, &file, text.as_deref(), &cli.common),
        Command::Attachment(cmd) => client::attachment(cmd, &cli.common),
        Command::Send {
            room,
            text,
            plain,
            reply_to,
            expires,
            file: None,
        } => client::send(
            &room,
            text.as_deref().unwrap_or_default(),
            plain,
            reply_to.as_deref(),
            expires,
            &cli.common,
        ),
        Command::React { room, id, emoji } => {
            client::change(&room, client::Change::React(&id, &emoji), &cli.common)
        }
        Command::Unreact { room, id, emoji } => {
            client::change(&room, client::Change::Unreact(&id, &emoji), &cli.common)
        }
        Command::Edit { room, id, text } => {
            client::change(&room, client::Change::Edit(&id, &text), &cli.common)
        }
        Command::Delete { room, id } => {
            client::change(&room, client::Change::Delete(&id), &cli.common)
        }
        Command::History { room, limit } => client::history(&room, limit, &cli.common),
        Command::Sync { follow } => client::sync(follow, &cli.common),
        Command::Content(cmd) => cmd.run(cli.common.json()),
        Command::Tls(cmd) => cmd.run(cli.common.json()),
        Command::Policy(cmd) => cmd.run(),
        Command::Bench(cmd) => cmd.run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if cli.common.json() {
                println!("{}", failure_json(&e));
            }
            eprintln!("error: {e:#}");
            if e.downcast_ref::<InputError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
