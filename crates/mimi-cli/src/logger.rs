//! The provider-run logger (`mimi serve --logger NAME`): a client of the provider, with its
//! own account and device under the data directory, that joins the logging rooms which
//! pre-authorize it as a system user (`preauth-member: [{"system": "NAME@DOMAIN"}]`) when
//! their creator suggests the room to it, and appends every message it reads there to
//! `<data-dir>/logs/<room>.jsonl`. A logging room carries no messages until its logger is
//! in (the seed's "fixed-membership room with logging").

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use mimi_client::{Event, Profile};

/// Starts the logger on a thread of its own; it runs until the process ends.
pub fn spawn(url: String, data_dir: PathBuf, name: String) {
    std::thread::spawn(move || {
        if let Err(e) = run(&url, &data_dir, &name) {
            tracing::error!(error = %format!("{e:#}"), "the logger stopped");
        }
    });
}

fn random_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .context("no randomness for the logger's password")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The logger's profile: opened, or made (an account with a password nobody keeps: the
/// device's token is what it uses).
fn profile(url: &str, dir: &Path, name: &str) -> anyhow::Result<Profile> {
    if dir.join("profile.json").exists() {
        return Profile::open(dir).map_err(|e| anyhow::anyhow!("{e}"));
    }
    std::fs::create_dir_all(dir)?;
    let mut p = Profile::create_account(dir, url, name, &random_password()?)
        .map_err(|e| anyhow::anyhow!("the logger's account: {e}"))?;
    p.add_device("logger")
        .map_err(|e| anyhow::anyhow!("the logger's device: {e}"))?;
    Ok(p)
}

/// A room's log file name: its ID with every byte but letters and digits made `_`.
fn log_file(logs: &Path, room: &str) -> PathBuf {
    let name: String = room
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    logs.join(format!("{name}.jsonl"))
}

fn run(url: &str, data_dir: &Path, name: &str) -> anyhow::Result<()> {
    // What was said in the rooms: the provider's user's alone.
    let logs = data_dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o700))?;
    }
    // The provider may still be starting: try the account for a while.
    let mut p = {
        let mut tries = 0;
        loop {
            match profile(url, &data_dir.join("logger"), name) {
                Ok(p) => break p,
                Err(e) if tries < 20 => {
                    tries += 1;
                    tracing::debug!(error = %e, "the logger waits for the provider");
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => return Err(e),
            }
        }
    };
    tracing::info!(user = %name, "the logger runs");
    loop {
        match p.sync() {
            Ok(events) => {
                for event in events {
                    match event {
                        Event::Suggested { room, .. } => {
                            let joined =
                                p.room_id(&room).and_then(|id| p.join_room(&id, None, None));
                            match joined {
                                Ok(_) => tracing::info!(%room, "the logger joined"),
                                Err(e) => tracing::warn!(%room, error = %e, "the logger stays out"),
                            }
                        }
                        Event::Message {
                            room,
                            sender,
                            text,
                            id,
                        } => {
                            let line = serde_json::json!({
                                "at": std::time::SystemTime::now()
                                    .duration_since(std::time::UNIX_EPOCH)
                                    .map_or(0, |d| d.as_secs()),
                                "room": room,
                                "sender": sender,
                                "text": text,
                                "id": id,
                            });
                            let mut options = std::fs::OpenOptions::new();
                            options.create(true).append(true);
                            #[cfg(unix)]
                            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                            let mut file = options.open(log_file(&logs, &room))?;
                            writeln!(file, "{line}")?;
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "the logger could not sync"),
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}
