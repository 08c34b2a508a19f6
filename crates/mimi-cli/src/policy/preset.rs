//! `mimi policy preset NAME`.

use mimi_policy::preset::preset;

use crate::InputError;

/// Arguments of `mimi policy preset`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The preset's name.
    name: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let doc = preset(&args.name).map_err(|e| InputError(e.to_string()))?;
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}
