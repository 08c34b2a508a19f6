//! `mimi bench ...`: measurements printed as JSON lines.

mod hub_commit;
mod join;
mod rooms;
mod serve;

use clap::Subcommand;

/// The `mimi bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The hub's commit pipeline against bare openmls, on the same commits (one JSON line per
    /// room size: members, openmls_ms, mimi_ms, ratio, and group_info_ms, the deferred
    /// GroupInfo signature check).
    HubCommit(hub_commit::Args),
    /// A provider under load: a room of --members, --messages sent by --senders while every
    /// member receives; one JSON line (messages/s, deliveries/s, submit p50/p99, server
    /// peak memory).
    Serve(serve::Args),
    /// Joining a large room: a room of --members, then --joins newcomers by external
    /// commit and by Welcome, each timed from the client's side; one JSON line
    /// (join_external_p50_ms, join_welcome_p50_ms, send_after_join_p50_ms,
    /// mib_per_1000_members, server peak memory).
    Join(join::Args),
    /// Many rooms: --rooms of --members, --messages spread over all of them, with the
    /// provider keeping --cached-rooms in memory; one JSON line (messages/s, submit p50/p99,
    /// cold and warm submits, server peak memory).
    Rooms(rooms::Args),
}

impl BenchCommand {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Self::HubCommit(a) => hub_commit::run(a),
            Self::Serve(a) => serve::run(a),
            Self::Join(a) => join::run(a),
            Self::Rooms(a) => rooms::run(a),
        }
    }
}
