//! `kestrel`: one command for tapes, paper runs and models.
//!
//! This crate only parses arguments, calls into `kestrel-engine` and `kestrel-tools`, and turns
//! errors into messages and exit codes. It sits above the engine, the tools and (later) the offline
//! crate because they depend on the engine, so the command that uses them all cannot live inside it.
#![forbid(unsafe_code)]

mod bundled;
mod exit;
mod features_cmd;
mod journal;
mod models_cmd;
mod paper;
mod regime_cmd;
mod tape;
mod train_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "kestrel",
    version,
    about = "Kestrel: an embedded low-latency trading engine. Tapes, paper runs, models.",
    after_help = exit::EXIT_CODES_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay a tape through the engine in paper mode (journal, latency histograms, summary)
    ///
    /// The tape's events go through the same hot pipeline as live trading (ingest → features →
    /// decide → execute) against a simulated venue, at full speed or paced to tape time. The run
    /// writes a directory: journal.kj (every decision, blocked candidate, order, fill and reject;
    /// export it with `kestrel journal export`), latency.hlog (HdrHistogram log, one tagged interval
    /// per stage and end-to-end metric), latency.json, summary.json and config.toml (the config used,
    /// every default spelled out), then prints a summary.
    ///
    /// Topology `auto` runs one pinned thread per stage when the machine has more than 5 cores, and
    /// all stages fused on one pinned thread otherwise. The same tape and config give a byte-identical
    /// journal in either. Ctrl-C stops after the event in hand and still writes the run directory.
    #[command(after_help = "Examples:\n  kestrel paper\n  kestrel paper --tape btc.tape --speed 10x\n  \
        kestrel paper --tape btc.tape --config configs/default.toml --topology threaded --out runs/t1")]
    Paper(paper::PaperArgs),
    /// Train the p(win) and slippage models from tapes (triple-barrier labels, purged walk-forward
    /// validation with embargo, calibration) and write NAME.onnx + NAME.card.json
    Train(train_cmd::TrainArgs),
    /// Check models, and swap or roll them back on a running engine
    #[command(subcommand)]
    Models(models_cmd::ModelsCommand),
    /// Compute the feature matrix of a tape (the same code as the hot loop), for training and research
    Features(features_cmd::FeaturesArgs),
    /// Fit and check the regime model (a 3-state HMM over bars)
    #[command(subcommand)]
    Regime(regime_cmd::RegimeCommand),
    /// Make, convert and inspect tapes (recorded market data)
    #[command(subcommand)]
    Tape(tape::TapeCommand),
    /// Inspect and export run journals
    #[command(subcommand)]
    Journal(journal::JournalCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Paper(args) => paper::run(args),
        Command::Train(args) => train_cmd::run(args),
        Command::Models(cmd) => models_cmd::run(cmd),
        Command::Features(args) => features_cmd::run(args),
        Command::Regime(cmd) => regime_cmd::run(cmd),
        Command::Tape(cmd) => tape::run(cmd),
        Command::Journal(cmd) => journal::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => exit::report(&err),
    }
}
