//! `kestrel journal export`: a run's journal as CSV.

use crate::exit::UsageError;
use crate::tape::{check_output, thousands};
use anyhow::Context;
use clap::{Args, ValueEnum};
use kestrel_engine::journal::{self, Journal, JournalError};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Export a run's journal to CSV, for pandas, polars and spreadsheets
///
/// One row per record (decision, blocked trade, order, fill, venue reject, model swap), under this
/// header row:
///
///   record,event_seq,ts_ns,kind,symbol,side,reason,order_id,px,qty,purpose,order_type,tif,liquidity,signal,fee,realized_pnl,position
///
/// Prices and quantities are exact decimals at the instrument's scales; `signal` is filled on
/// decision and blocked rows, `fee`, `realized_pnl` and `position` on fill rows, other cells are
/// empty. A `model_swap` row names the role in `reason` and the new model's version in `order_id`
/// (0: removed).
///
/// With `--features OUT.csv`, writes instead one row per entry candidate the models judged (taken or
/// blocked): what they saw and said, the counterfactual dataset for learning:
///
///   record,event_seq,ts_ns,symbol,side,verdict,reason,px,qty,p_win,slippage_bps,<every feature by name>
///
/// An empty cell is a feature not yet defined, or a model not asked or without a usable answer.
///
/// The journal is only read, never modified, so it is safe to export the journal of a run still in
/// progress: its records so far are written, and the rest of the file (space the run has reserved,
/// or the half-written last record of a run that crashed) is skipped with a warning.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    kestrel journal export runs/2026-11-03 --format csv     (writes runs/2026-11-03/journal.csv)\n  \
    kestrel journal export runs/2026-11-03/journal.kj --out - | head\n  \
    kestrel journal export runs/2026-11-03 --features runs/2026-11-03/features.csv")]
pub struct ExportArgs {
    /// A run directory holding journal.kj, or the path of a journal file
    #[arg(value_name = "RUN_DIR")]
    run: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// Output file; `-` for stdout [default: journal.csv beside the journal]
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Write the model-judged entry candidates with their features to this file instead (`-` for
    /// stdout)
    #[arg(long, value_name = "OUT.csv", conflicts_with = "out")]
    features: Option<PathBuf>,
    /// Replace the output file if it exists
    #[arg(long)]
    force: bool,
}

/// What is exported.
type Writer = fn(&Journal, &mut dyn Write) -> std::io::Result<u64>;

fn journal_csv(j: &Journal, out: &mut dyn Write) -> std::io::Result<u64> {
    journal::write_csv(j, &mut &mut *out)
}

fn features_csv(j: &Journal, out: &mut dyn Write) -> std::io::Result<u64> {
    journal::write_features_csv(j, &mut &mut *out)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// Comma-separated values with a header row
    Csv,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let input = if args.run.is_dir() { args.run.join(journal::FILE_NAME) } else { args.run.clone() };
    let (writer, what): (Writer, &str) =
        if args.features.is_some() { (features_csv, "candidates") } else { (journal_csv, "records") };
    let out = match args.features.or(args.out) {
        Some(p) if p.as_os_str() == "-" => None,
        Some(p) => Some(p),
        None => Some(input.with_extension(match args.format {
            Format::Csv => "csv",
        })),
    };
    let journal = Journal::open_read_only(&input).map_err(|e| explain_missing(e, &args.run))?;
    if let Some(out) = &out {
        // --force must never replace the journal with its own export.
        if out.exists() && out.canonicalize().ok() == input.canonicalize().ok() {
            return Err(UsageError(format!(
                "{}: the output is the journal itself; choose another --out",
                out.display()
            ))
            .into());
        }
        check_output(out, args.force)?;
    }
    if let Some(tail) = journal.recovered_tail() {
        eprintln!(
            "warning: {}: {} bytes after the last of {} valid records hold no record (a run still in progress, \
             or one that stopped without finishing); they were skipped, and the file left as it is",
            input.display(),
            thousands(tail.discarded_bytes),
            thousands(tail.valid_records)
        );
    }
    match out {
        None => write_stdout(&journal, writer),
        Some(out) => {
            let rows = write_file(&journal, &out, writer)?;
            eprintln!("wrote {} {what} to {}", thousands(rows), out.display());
            Ok(())
        }
    }
}

/// Says what was expected when there is no journal where the user pointed; the error's type (and so
/// the exit code) is kept.
fn explain_missing(e: JournalError, run: &Path) -> anyhow::Error {
    let missing = matches!(&e, JournalError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound);
    if !missing {
        return e.into();
    }
    let hint = if run.is_dir() {
        format!("{}: no {} in this run directory (did the run start?)", run.display(), journal::FILE_NAME)
    } else {
        format!("{}: no such run directory or journal file", run.display())
    };
    anyhow::Error::new(e).context(hint)
}

fn write_stdout(journal: &Journal, writer: Writer) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
    match writer(journal, &mut w).and_then(|_| w.flush()) {
        Ok(()) => Ok(()),
        // `… --out - | head` closes the pipe early: that is success, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("writing the CSV to stdout"),
    }
}

/// Writes under a temporary name beside `out` and renames it into place: a failed export never
/// leaves a half-written file under the output name.
fn write_file(journal: &Journal, out: &Path, writer: Writer) -> anyhow::Result<u64> {
    let context = || format!("{}: cannot write the export", out.display());
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".journal-export.").suffix(".partial");
    // An export is an ordinary output file: 0666 less the umask, not the 0600 of a private tempfile.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = builder.tempfile_in(dir).with_context(context)?;
    let mut w = BufWriter::with_capacity(1 << 16, tmp);
    let rows = writer(journal, &mut w).with_context(context)?;
    let tmp = w.into_inner().map_err(|e| e.into_error()).with_context(context)?;
    tmp.persist(out).map_err(|e| e.error).with_context(context)?;
    Ok(rows)
}
