//! Running the provider: configuration, the listener, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use mimi_policy::id::ProviderId;
use mimi_store::SqlStore;

use crate::{AppState, router};

/// How a provider runs. Every field has a default that needs no configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The provider's domain: users are `mimi://DOMAIN/u/NAME`.
    pub domain: String,
    /// `sqlite://PATH` or `postgres://...`; default: SQLite under `data_dir`.
    pub database: Option<String>,
    /// Where the SQLite database lives.
    pub data_dir: PathBuf,
    /// Serve HTTPS with this certificate (else plain HTTP, for loopback or behind a proxy).
    pub tls: Option<crate::tls::TlsFiles>,
    /// Trust peer providers certified by the authorities in this PEM file, and federate
    /// with them (needs `tls`).
    pub peer_ca: Option<PathBuf>,
    /// Where peers are reached, by domain (`https://HOST:PORT`); others at `https://DOMAIN/`.
    pub peers: std::collections::BTreeMap<String, String>,
    /// How many of a user's KeyPackages anyone may hold, unused, without its consent.
    pub key_package_allowance: u32,
    /// Most rooms kept in memory ([`crate::state::MAX_CACHED_ROOMS`] by default).
    pub cached_rooms: usize,
    /// The operator's bearer token for `/metrics` (none: metrics are off).
    pub metrics_token: Option<String>,
    /// Rate limits.
    pub limits: crate::limits::LimitConfig,
    /// How long a client has to send a request's headers (and an HTTP/1 connection may sit
    /// idle between requests).
    pub header_read_timeout: std::time::Duration,
    /// The team, workgroup and group claims the provider asserts about its users, by user
    /// name: `kind:value` with kind `team`, `workgroup` or `group`.
    pub claims: std::collections::BTreeMap<String, Vec<String>>,
}

/// The provider's claims about its users, from the configuration: each user name a user of
/// `domain`, each claim `team:T`, `workgroup:W` or `group:G`.
pub fn parse_claims(
    domain: &ProviderId,
    claims: &std::collections::BTreeMap<String, Vec<String>>,
) -> Result<crate::state::UserClaims, ServeError> {
    let mut out = crate::state::UserClaims::new();
    for (name, list) in claims {
        let user = mimi_policy::id::UserId::new(domain.domain(), name)
            .map_err(|e| ServeError::Config(format!("claims of {name:?}: {e}")))?;
        let mut parsed = Vec::new();
        for c in list {
            let claim = c
                .split_once(':')
                .map(|(kind, value)| mimi_policy::preauth::Claim::new(kind.trim(), value.trim()))
                .ok_or_else(|| {
                    ServeError::Config(format!(
                        "claim {c:?} of {name}: write team:T, workgroup:W or group:G"
                    ))
                })?;
            mimi_mls::claims::check_claim(&claim)
                .map_err(|e| ServeError::Config(format!("claim {c:?} of {name}: {e}")))?;
            if !parsed.contains(&claim) {
                parsed.push(claim);
            }
        }
        if parsed.len() > mimi_mls::claims::MAX_CLAIMS {
            return Err(ServeError::Config(format!(
                "{name} has more than {} claims",
                mimi_mls::claims::MAX_CLAIMS
            )));
        }
        out.entry(user).or_default().extend(parsed);
    }
    Ok(out)
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8470)),
            domain: "localhost".into(),
            database: None,
            data_dir: PathBuf::from("mimi-data"),
            tls: None,
            peer_ca: None,
            peers: Default::default(),
            key_package_allowance: 0,
            cached_rooms: crate::state::MAX_CACHED_ROOMS,
            metrics_token: None,
            limits: crate::limits::LimitConfig::default(),
            header_read_timeout: std::time::Duration::from_secs(30),
            claims: Default::default(),
        }
    }
}

/// Why the provider could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A setting is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be opened.
    #[error("{0}")]
    Store(#[from] mimi_store::StoreError),
    /// The listener failed.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Starts the provider; `ready` gets the bound address (the port, when `listen` asks for
/// port 0); it stops gracefully when `shutdown` completes.
pub async fn serve(
    config: Config,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let domain = ProviderId::parse(&config.domain)
        .map_err(|e| ServeError::Config(format!("--domain {:?}: {e}", config.domain)))?;
    let url = match &config.database {
        Some(url) => url.clone(),
        None => {
            private_dir(&config.data_dir).map_err(|e| {
                ServeError::Config(format!(
                    "cannot create the data directory {}: {e}",
                    config.data_dir.display()
                ))
            })?;
            format!("sqlite://{}", config.data_dir.join("mimi.db").display())
        }
    };
    let store = SqlStore::open(&url).await?;
    crate::state::backfill_skeletons(&store).await;
    let mut state = AppState::new(domain, store.clone())
        .await
        .map_err(|e| ServeError::Config(e.to_string()))?;
    state.key_package_allowance = config.key_package_allowance;
    state.cached_rooms = config.cached_rooms.max(1);
    state.claims = std::sync::Arc::new(parse_claims(&state.domain, &config.claims)?);
    state.limits = std::sync::Arc::new(crate::limits::Limits::new(config.limits));
    state.metrics_token = config
        .metrics_token
        .as_deref()
        .map(crate::auth::OperatorToken::new);
    if let Some(files) = &config.tls {
        warn_if_readable_by_others(&files.key);
    }
    let tls = config
        .tls
        .as_ref()
        .map(|files| crate::tls::server_config(files, config.peer_ca.as_deref()))
        .transpose()
        .map_err(ServeError::Config)?;
    match (&config.tls, &config.peer_ca) {
        (Some(files), Some(peer_ca)) => {
            let peers =
                crate::federation::Peers::new(state.domain.clone(), files, peer_ca, &config.peers)
                    .await
                    .map_err(ServeError::Config)?;
            state.peers = Some(std::sync::Arc::new(peers));
        }
        (None, Some(_)) => {
            return Err(ServeError::Config(
                "--peer-ca needs --tls-cert and --tls-key: providers authenticate each other \
                 with their certificates"
                    .into(),
            ));
        }
        _ if !config.peers.is_empty() => {
            return Err(ServeError::Config("--peer needs --peer-ca".into()));
        }
        _ => {}
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: config.listen,
        source,
    })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, domain = %config.domain, database = %redact(&url), "mimi serve listening");
    ready(addr);
    let sweeper = tokio::spawn(crate::sweeper::run(state.clone()));
    // The fan-out to peers' devices in the rooms this provider hosts.
    let pusher = state
        .peers
        .is_some()
        .then(|| tokio::spawn(crate::federation::push::run(state.clone())));
    // Each request knows its peer's address, for the per-address limits.
    let app = router(state.clone());
    // Streams and long polls end first, so that graceful shutdown does not wait on them.
    let shutdown = async move {
        shutdown.await;
        state.stop();
    };
    match tls {
        Some(tls) => {
            let listener = crate::tls::TlsListener::new(listener, tls)
                .map_err(|source| ServeError::Listen { addr, source })?;
            crate::connections::serve(listener, app, config.header_read_timeout, shutdown).await;
        }
        None => {
            // Answers go out at once rather than waiting to fill a segment (Nagle).
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            crate::connections::serve(listener, app, config.header_read_timeout, shutdown).await;
        }
    }
    sweeper.abort();
    if let Some(pusher) = pusher {
        pusher.abort();
    }
    store.close().await;
    tracing::info!("mimi serve stopped");
    Ok(())
}

/// Creates the data directory (and its parents) if missing, and makes it the provider
/// user's alone (0700): the database in it holds the provider's signing key.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Warns when the TLS private key file can be read by users other than its owner.
fn warn_if_readable_by_others(key: &std::path::Path) {
    if let Some(mode) = open_to_others(key) {
        tracing::warn!(
            key = %key.display(),
            mode = format!("{mode:o}"),
            "the TLS private key can be read by other users; make it 0600 (chmod 600)"
        );
    }
}

/// The file's permission bits if users other than its owner have any.
fn open_to_others(file: &std::path::Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(file).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        None
    }
}

/// A database URL without its password: the user info's part after `:` (inside the
/// authority; an `@` in the path or query is not user info), and the value of a
/// `password=` query parameter.
fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = redact_user_info(base);
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

fn redact_user_info(url: &str) -> String {
    let Some(scheme) = url.find("://") else {
        return url.to_owned();
    };
    let start = scheme + 3;
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let authority = &url[start..end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _password)) => {
                format!("{}{user}:***{}", &url[..start], &url[start + at..])
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    // SIGTERM's handler is in place from here (within a runtime), not from the first poll:
    // a SIGTERM right after the provider says it listens stops it gracefully.
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            () = term => {},
        }
        tracing::info!("shutting down");
    }
}

#[cfg(test)]
mod tests {
    use super::{open_to_others, private_dir, redact};

    #[test]
    #[cfg(unix)]
    fn the_data_directory_is_the_provider_users_alone_and_a_shared_key_is_noticed() {
        use std::os::unix::fs::PermissionsExt as _;
        let base = std::env::temp_dir().join(format!("mimi_private_{}", std::process::id()));
        let dir = base.join("data");
        private_dir(&dir).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&dir) & 0o777, 0o700);
        // An existing directory open to others is closed.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir) & 0o777, 0o700);
        let key = dir.join("key.pem");
        std::fs::write(&key, "secret").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(open_to_others(&key), Some(0o644));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(open_to_others(&key), None);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_logged_database_url_shows_no_password_and_invents_none() {
        assert_eq!(
            redact("postgres://mimi:s3cret@db.example:5432/mimi"),
            "postgres://mimi:***@db.example:5432/mimi"
        );
        assert_eq!(
            redact("postgres://mimi@db.example/mimi"),
            "postgres://mimi@db.example/mimi"
        );
        assert_eq!(
            redact("postgres://db.example/mimi?application_name=a@b"),
            "postgres://db.example/mimi?application_name=a@b"
        );
        assert_eq!(
            redact("postgres://u:p@ss@db.example/x"),
            "postgres://u:***@db.example/x"
        );
        assert_eq!(
            redact("sqlite://./mimi-data/mimi.db"),
            "sqlite://./mimi-data/mimi.db"
        );
        assert_eq!(
            redact("postgres://mimi@db/mimi?sslmode=require&password=s3cret"),
            "postgres://mimi@db/mimi?sslmode=require&password=***"
        );
    }
}
