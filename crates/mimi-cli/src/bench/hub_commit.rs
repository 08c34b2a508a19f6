//! `mimi bench hub-commit --members 10,100,1000`.

use crate::InputError;

/// Arguments of `mimi bench hub-commit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Room sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    members: Vec<usize>,
    /// Commits measured per size.
    #[arg(long, default_value_t = 21)]
    iterations: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.members.iter().any(|&m| m < 2) || args.iterations == 0 {
        return Err(
            InputError("--members must be at least 2 and --iterations at least 1".into()).into(),
        );
    }
    // The machine's CPU beside each size's figures, as the provider benchmarks give it.
    let cpu = super::serve::Cpu::measure()?;
    for members in args.members {
        let f = mimi_mls::bench::hub_commit(members, args.iterations)?;
        let mut line = serde_json::json!({
            "members": f.members,
            "openmls_ms": (f.openmls_ms * 1000.0).round() / 1000.0,
            "mimi_ms": (f.mimi_ms * 1000.0).round() / 1000.0,
            "ratio": (f.mimi_ms / f.openmls_ms * 1000.0).round() / 1000.0,
            "group_info_ms": (f.group_info_ms * 1000.0).round() / 1000.0,
        });
        cpu.report(&mut line);
        println!("{line}");
    }
    Ok(())
}
