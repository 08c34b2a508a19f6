//! `mimi serve`: the provider, with no configuration needed. Settings come from flags, then
//! environment variables, then a TOML config file (`--config`), then defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use serde::Deserialize;

use crate::InputError;

/// Arguments of `mimi serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A TOML file with any of: listen, domain, database, data_dir, tls_cert, tls_key,
    /// key_package_allowance, cached_rooms, metrics_token, signups_per_hour, logins_per_minute,
    /// requests_per_second, header_read_timeout, peer_ca, and `[claims]` and `[peers]`
    /// tables.
    #[arg(long, env = "MIMI_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8470].
    #[arg(long, env = "MIMI_LISTEN")]
    listen: Option<SocketAddr>,
    /// The provider's domain: users are mimi://DOMAIN/u/NAME [default: localhost].
    #[arg(long, env = "MIMI_DOMAIN")]
    domain: Option<String>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: SQLite in the data
    /// directory].
    #[arg(long, env = "MIMI_DATABASE")]
    database: Option<String>,
    /// Directory for the default SQLite database [default: mimi-data].
    #[arg(long, env = "MIMI_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM; needs --tls-key) [default: plain HTTP].
    #[arg(long, env = "MIMI_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "MIMI_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// How many of a user's KeyPackages anyone may hold, unused, without the user's consent
    /// (the seed's allowance) [default: 0: consent, a knock or the same user only].
    #[arg(long, env = "MIMI_KEY_PACKAGE_ALLOWANCE")]
    key_package_allowance: Option<u32>,
    /// Most rooms kept in memory; past it the least recently used leaves, read again from
    /// the database when next needed [default: 10000].
    #[arg(long, env = "MIMI_CACHED_ROOMS")]
    cached_rooms: Option<usize>,
    /// The operator's bearer token for /metrics and /v1/reports (prefer the environment
    /// variable or the config file to the command line, which other users can see)
    /// [default: both off].
    #[arg(long, env = "MIMI_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Sign-ups one address may make at once, and per hour after that (0: no limit)
    /// [default: 10].
    #[arg(long, env = "MIMI_SIGNUPS_PER_HOUR")]
    signups_per_hour: Option<u32>,
    /// Logins one address, or one account, may try at once, and per minute after that (0:
    /// no limit) [default: 10].
    #[arg(long, env = "MIMI_LOGINS_PER_MINUTE")]
    logins_per_minute: Option<u32>,
    /// Requests one token may make per second, twice as many at once (0: no limit)
    /// [default: 100].
    #[arg(long, env = "MIMI_REQUESTS_PER_SECOND")]
    requests_per_second: Option<u32>,
    /// Seconds a client has to send a request's headers, and an HTTP/1 connection may sit
    /// idle between requests [default: 30].
    #[arg(long, env = "MIMI_HEADER_READ_TIMEOUT")]
    header_read_timeout: Option<u64>,
    /// Run the provider's logger as user NAME: it joins the logging rooms that
    /// pre-authorize `system: NAME@DOMAIN` and writes what is said there to
    /// DATA_DIR/logs (over HTTPS it trusts what clients do: the system's roots and
    /// MIMI_CA_CERT) [default: no logger].
    #[arg(long, value_name = "NAME")]
    logger: Option<String>,
    /// A claim the provider asserts about one of its users, for rooms that pre-authorize a
    /// team, workgroup or group: NAME=team:T, NAME=workgroup:W or NAME=group:G (repeat it;
    /// added to the config file's `[claims]`, `NAME = ["team:T", ...]`).
    #[arg(long = "claim", value_name = "NAME=KIND:VALUE")]
    claims: Vec<String>,
    /// Federate: trust peer providers whose certificates this authority (PEM) issued, and
    /// present this provider's certificate to them (needs --tls-cert) [default: no peers].
    #[arg(long, env = "MIMI_PEER_CA")]
    peer_ca: Option<PathBuf>,
    /// Where a peer provider is reached, DOMAIN=https://HOST:PORT (repeat it; added to the
    /// config file's `[peers]`); its certificate must still name DOMAIN [default:
    /// https://DOMAIN/].
    #[arg(long = "peer", value_name = "DOMAIN=URL")]
    peers: Vec<String>,
}

/// The config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<SocketAddr>,
    domain: Option<String>,
    database: Option<String>,
    data_dir: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    key_package_allowance: Option<u32>,
    cached_rooms: Option<usize>,
    metrics_token: Option<String>,
    signups_per_hour: Option<u32>,
    logins_per_minute: Option<u32>,
    requests_per_second: Option<u32>,
    header_read_timeout: Option<u64>,
    #[serde(default)]
    claims: std::collections::BTreeMap<String, Vec<String>>,
    peer_ca: Option<PathBuf>,
    #[serde(default)]
    peers: std::collections::BTreeMap<String, String>,
}

impl Args {
    fn config(self) -> anyhow::Result<mimi_server::Config> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| InputError(format!("{}: {e}", path.display())))?;
                toml::from_str::<File>(&text)
                    .map_err(|e| InputError(format!("{}: {e}", path.display())))?
            }
            None => File::default(),
        };
        let defaults = mimi_server::Config::default();
        let mut claims = file.claims;
        for given in &self.claims {
            let (name, claim) = given.split_once('=').ok_or_else(|| {
                InputError(format!(
                    "--claim {given:?}: write NAME=team:T, NAME=workgroup:W or NAME=group:G"
                ))
            })?;
            claims
                .entry(name.trim().to_owned())
                .or_default()
                .push(claim.trim().to_owned());
        }
        let mut peers = file.peers;
        for given in &self.peers {
            let (domain, url) = given.split_once('=').ok_or_else(|| {
                InputError(format!("--peer {given:?}: write DOMAIN=https://HOST:PORT"))
            })?;
            peers.insert(domain.trim().to_owned(), url.trim().to_owned());
        }
        let tls = match (
            self.tls_cert.or(file.tls_cert),
            self.tls_key.or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some(mimi_server::tls::TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(InputError(
                    "--tls-cert and --tls-key go together: give both or neither".into(),
                )
                .into());
            }
        };
        Ok(mimi_server::Config {
            tls,
            peer_ca: self.peer_ca.or(file.peer_ca),
            peers,
            listen: self.listen.or(file.listen).unwrap_or(defaults.listen),
            domain: self.domain.or(file.domain).unwrap_or(defaults.domain),
            database: self.database.or(file.database),
            data_dir: self.data_dir.or(file.data_dir).unwrap_or(defaults.data_dir),
            key_package_allowance: self
                .key_package_allowance
                .or(file.key_package_allowance)
                .unwrap_or(defaults.key_package_allowance),
            cached_rooms: self
                .cached_rooms
                .or(file.cached_rooms)
                .filter(|n| *n > 0)
                .unwrap_or(defaults.cached_rooms),
            metrics_token: self.metrics_token.or(file.metrics_token),
            limits: mimi_server::limits::LimitConfig {
                signups_per_hour: self
                    .signups_per_hour
                    .or(file.signups_per_hour)
                    .unwrap_or(defaults.limits.signups_per_hour),
                logins_per_minute: self
                    .logins_per_minute
                    .or(file.logins_per_minute)
                    .unwrap_or(defaults.limits.logins_per_minute),
                requests_per_second: self
                    .requests_per_second
                    .or(file.requests_per_second)
                    .unwrap_or(defaults.limits.requests_per_second),
            },
            header_read_timeout: self
                .header_read_timeout
                .or(file.header_read_timeout)
                .filter(|s| *s > 0)
                .map_or(defaults.header_read_timeout, std::time::Duration::from_secs),
            claims,
        })
    }
}

/// glibc's variable and value that fix its mmap threshold (decision 0020).
const MMAP_THRESHOLD: (&str, &str) = ("MALLOC_MMAP_THRESHOLD_", "131072");

/// On glibc, runs the provider again in place (the same process, arguments and
/// environment) with its mmap threshold fixed at 128 KiB, unless the environment sets one
/// already: glibc otherwise raises the threshold each time a large block is freed, and
/// keeps the buffers of several MB a large room's load or answer takes in its heap for
/// good (a 10,000-member room: 3.57 MiB per 1,000 members instead of 2.04; BENCHMARKS.md).
/// Safe code cannot set the allocator's parameters of a running process; its environment
/// at start can. If the provider cannot be run again, it serves on as it is.
fn fix_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt as _;
        let (name, value) = MMAP_THRESHOLD;
        if std::env::var_os(name).is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        // Returns only if it failed.
        let mut args = std::env::args_os();
        let error = std::process::Command::new(exe)
            .arg0(args.next().unwrap_or_default())
            .args(args)
            .env(name, value)
            .exec();
        eprintln!("warning: serving without {name}={value}: {error}");
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = MMAP_THRESHOLD;
}

/// Runs the provider until it is stopped (SIGTERM or Ctrl-C).
pub fn run(args: Args) -> anyhow::Result<()> {
    fix_mmap_threshold();
    let logger = args.logger.clone();
    let config = args.config()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let shutdown = {
        let _in_runtime = runtime.enter();
        mimi_server::serve::shutdown_signal()
    };
    let data_dir = config.data_dir.clone();
    runtime.block_on(mimi_server::serve(
        config,
        |addr| {
            println!("mimi serve listening on {scheme}://{addr}");
            if let Some(name) = logger {
                // Over HTTPS on loopback the certificate names localhost, not the address;
                // the logger trusts what any client does (`MIMI_CA_CERT`).
                let url = if scheme == "https" && addr.ip().is_loopback() {
                    format!("https://localhost:{}", addr.port())
                } else {
                    format!("{scheme}://{addr}")
                };
                crate::logger::spawn(url, data_dir, name);
            }
        },
        shutdown,
    ))?;
    Ok(())
}
