//! `mimi policy ...`: the room policy engine on the command line.

mod check;
mod fixed_room_id;
mod preset;

use clap::Subcommand;

/// The `mimi policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Decide one operation in one room; prints {"decision","code","rule","reason"}.
    Check(check::Args),
    /// Print the seed-named ID of the fixed-membership room of a set of users.
    FixedRoomId(fixed_room_id::Args),
    /// Print a preset's room document (one-on-one, administrated, open, semi-open, moderated,
    /// fixed-membership-logging).
    Preset(preset::Args),
}

impl PolicyCommand {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Check(a) => check::run(a),
            Self::FixedRoomId(a) => fixed_room_id::run(a),
            Self::Preset(a) => preset::run(a),
        }
    }
}
