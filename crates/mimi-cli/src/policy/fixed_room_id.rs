//! `mimi policy fixed-room-id --domain DOMAIN USER...`.

use mimi_policy::fixed_room::fixed_room_id;
use mimi_policy::id::UserId;

use crate::InputError;

/// Arguments of `mimi policy fixed-room-id`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The domain of the provider hosting the room.
    #[arg(long)]
    domain: String,
    /// The participants (`alice@a.example`, `mimi://a.example/u/alice`, `im:%40alice@a.example`,
    /// or a bare name on DOMAIN).
    #[arg(value_name = "USER")]
    users: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let users = args
        .users
        .iter()
        .map(|u| {
            UserId::parse_with_default(u, &args.domain)
                .map_err(|e| InputError(format!("user `{u}`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let id = fixed_room_id(&args.domain, &users).map_err(|e| InputError(e.to_string()))?;
    println!("{id}");
    Ok(())
}
