//! `kestrel tape synth`: a seeded synthetic tape.

use super::{check_output, human_bytes, thousands};
use clap::Args;
use kestrel_tools::synth::{self, SynthConfig};
use std::path::PathBuf;

/// Generate a realistic synthetic tape: regime switching (trend / range / chop), spread and size
/// dynamics, trades with aggressor side, a 20-level L2 book. The same seed and options give the same
/// bytes.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Random seed
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Simulated time to cover, e.g. 90s, 10m, 2h
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    duration: std::time::Duration,
    /// Output tape
    #[arg(long, short)]
    out: PathBuf,
    /// Replace --out if it exists
    #[arg(long)]
    force: bool,
    /// Book levels per side
    #[arg(long, default_value_t = 20)]
    depth: usize,
    /// Event-rate multiplier (1.0 ≈ 200 records per simulated second)
    #[arg(long, default_value_t = 1.0)]
    activity: f64,
    /// Also write the planted regimes (start_ns,end_ns,regime) as CSV to this file
    #[arg(long)]
    truth: Option<PathBuf>,
}

pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    check_output(&args.out, args.force)?;
    let duration_ns = u64::try_from(args.duration.as_nanos()).unwrap_or(u64::MAX);
    let cfg = SynthConfig {
        seed: args.seed,
        duration_ns,
        depth_levels: args.depth,
        activity: args.activity,
        ..SynthConfig::default()
    };
    let report = synth::write_tape(&cfg, &args.out).map_err(|e| match e {
        synth::SynthError::Config(what) => anyhow::Error::new(crate::exit::UsageError(what)),
        other => anyhow::Error::new(other),
    })?;
    println!(
        "wrote {} ({} records, {}): seed {}, {} of {} @ {}, {} regime spans",
        report.path.display(),
        thousands(report.records),
        human_bytes(report.bytes),
        args.seed,
        humantime::format_duration(args.duration),
        cfg.instrument.symbol,
        cfg.instrument.venue,
        report.regimes.len()
    );
    if let Some(path) = args.truth {
        let mut csv = String::from("start_ns,end_ns,regime\n");
        for span in &report.regimes {
            csv.push_str(&format!("{},{},{}\n", span.start.0, span.end.0, span.regime.as_str()));
        }
        std::fs::write(&path, csv).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        println!("planted regimes → {}", path.display());
    }
    Ok(())
}
