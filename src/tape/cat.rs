//! `kestrel tape cat`: records as CSV.

use clap::Args;
use kestrel_engine::tape::Tape;
use kestrel_tools::inspect::{CatOptions, write_csv};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Print a tape's records as CSV on stdout, one row per record, in the generic CSV format that
/// `kestrel tape import --format csv` reads back.
#[derive(Debug, Args)]
pub struct CatArgs {
    /// The tape
    tape: PathBuf,
    /// Print at most this many records
    #[arg(long, short = 'n')]
    limit: Option<u64>,
    /// Skip the checksum and record checks (they read the whole file once before printing)
    #[arg(long)]
    no_verify: bool,
}

pub fn run(args: CatArgs) -> anyhow::Result<()> {
    let tape = Tape::open(&args.tape)?;
    if !args.no_verify {
        tape.verify()?;
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    match write_csv(&tape, &mut out, &CatOptions { limit: args.limit }).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // `kestrel tape cat x.tape | head` closes the pipe early: that is success, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}
