//! `kestrel`: one command for tapes, paper runs and models.
//!
//! This crate only parses arguments, calls into `kestrel-engine` and `kestrel-tools`, and turns
//! errors into messages and exit codes. It sits above the engine, the tools and (later) the offline
//! crate because they depend on the engine, so the command that uses them all cannot live inside it.
#![forbid(unsafe_code)]

mod exit;
mod journal;
mod paper;
mod tape;

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
    Paper(paper::PaperArgs),
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
        Command::Tape(cmd) => tape::run(cmd),
        Command::Journal(cmd) => journal::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => exit::report(&err),
    }
}
