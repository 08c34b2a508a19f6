//! `mimi policy check --room ROOM.json --op OP.json`.

use std::path::{Path, PathBuf};

use mimi_policy::document::room_from_value;
use mimi_policy::{Operation, authorize};

use crate::InputError;

/// Arguments of `mimi policy check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The room document (seed form or RP-04 role-table form).
    #[arg(long, value_name = "ROOM.json")]
    room: PathBuf,
    /// The operation to decide.
    #[arg(long, value_name = "OP.json")]
    op: PathBuf,
}

/// Reads and parses a JSON file, naming the file in every error.
fn read_json(path: &Path) -> Result<serde_json::Value, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("{}: cannot read: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| InputError(format!("{}: not valid JSON: {e}", path.display())))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let room = room_from_value(read_json(&args.room)?)
        .map_err(|e| InputError(format!("{}: {e}", args.room.display())))?;
    let op = Operation::from_json(read_json(&args.op)?)
        .map_err(|e| InputError(format!("{}: {e}", args.op.display())))?;
    let decision = authorize(&room, &op);
    println!("{}", serde_json::to_string(&decision.report())?);
    Ok(())
}
