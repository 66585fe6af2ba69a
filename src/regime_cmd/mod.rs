//! `kestrel regime …`: fit and check the regime HMM (being built).

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum RegimeCommand {}

pub fn run(cmd: RegimeCommand) -> anyhow::Result<()> {
    match cmd {}
}
