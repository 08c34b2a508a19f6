//! `mimi serve`: the provider, with no configuration needed.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;

/// Arguments of `mimi serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "MIMI_LISTEN", default_value = "127.0.0.1:8470")]
    listen: SocketAddr,
    /// The provider's domain (users are mimi://DOMAIN/u/NAME).
    #[arg(long, env = "MIMI_DOMAIN", default_value = "localhost")]
    domain: String,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in --data-dir).
    #[arg(long, env = "MIMI_DATABASE")]
    database: Option<String>,
    /// Directory for the default SQLite database.
    #[arg(long, env = "MIMI_DATA_DIR", default_value = "mimi-data")]
    data_dir: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = mimi_server::Config {
        listen: args.listen,
        domain: args.domain,
        database: args.database,
        data_dir: args.data_dir,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(mimi_server::serve(
        config,
        |addr| println!("mimi serve listening on http://{addr}"),
        mimi_server::serve::shutdown_signal(),
    ))?;
    Ok(())
}
