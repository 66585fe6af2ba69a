//! `kestrel journal …`: inspect and export run journals.

mod export;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    Export(export::ExportArgs),
}

pub fn run(cmd: JournalCommand) -> anyhow::Result<()> {
    match cmd {
        JournalCommand::Export(args) => export::run(args),
    }
}
