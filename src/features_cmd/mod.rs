//! `kestrel features`: the feature matrix of a tape, written as Parquet or CSV by
//! `kestrel_tools::features_export` with the engine's own feature code.

mod print;

use crate::exit::UsageError;
use clap::{Args, ValueEnum};
use kestrel_engine::config::RunSettings;
use kestrel_engine::pipeline::RunControl;
use kestrel_engine::tape::Tape;
use kestrel_tools::features_export::{self, ExportError, ExportRequest, Format, MatrixMeta};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const AFTER_HELP: &str = "\
Every record of the tape goes through the engine's FeatureStage, built from the config's
[features] section exactly as `kestrel paper` builds it: the values are those the hot loop
computes.

Columns, in order:
  ts_ns   int64: the event's strategy time in Unix nanoseconds (tape local time, never going
          backwards)
  ts      the same instant as a timestamp, nanosecond unit, time zone UTC (Parquet: pandas
          datetime64[ns, UTC], polars Datetime(ns, UTC); CSV: RFC 3339 such as
          2024-08-08T23:54:15.123456789Z)
  symbol  string: the event's instrument
  seq     uint64: the record's index in the tape, from 0
  then every feature of the schema in order, float64, under its schema name
  (--list-columns prints them with their units and meanings)

NaN: a feature not yet defined (before the first two-sided book, before enough bars...) is
NaN. Parquet keeps it as a float NaN, not a null (in polars: is_nan() and fill_nan(), not
is_null()). CSV writes NaN as an empty cell: pandas reads it as NaN, polars as null. Other
values round-trip exactly (CSV uses the shortest form that parses back to the same bits).

Rows: one per event by default. With --every D, time is cut into intervals ((k-1)·D, k·D]
aligned on multiples of D since the Unix epoch; for each instrument and each interval that
holds any of its events, the row kept is its last event in the interval (its features as they
stood at k·D). Intervals without an event give no row (no forward fill). Kept rows are
unchanged rows of the full matrix (same ts_ns, seq and values), in tape order.

Parquet: snappy-compressed, row groups of at most 65,536 rows (memory stays bounded on long
tapes). Footer key/value metadata: kestrel.schema_version, kestrel.schema_hash (16 hex
digits), kestrel.feature_units (JSON name -> unit), kestrel.tape (its path),
kestrel.tape_data_crc32 (8 hex digits), kestrel.config, kestrel.features_config (JSON),
kestrel.every_ns (0: every event), kestrel.version.
CSV: a header row with the same column names; no metadata.

The file is written under a temporary name beside --out and renamed into place once complete:
an error or Ctrl-C never leaves half a file under the output name. A one-line summary on
stdout names the rows, columns, size, path and schema hash.

Exit codes: 0 written; 2 bad arguments or config, or --out exists (without --force); 4 a
missing or unreadable tape or config, or an output that cannot be written; 5 a corrupt tape;
130 Ctrl-C (nothing written); 1 a bug.

Examples:
  kestrel features --tape btc.tape --out btc.parquet
  kestrel features --tape btc.tape --out btc_1s.csv --every 1s
  kestrel features --tape btc.tape --out f.parquet --config configs/default.toml --force
  python3 -c \"import polars as pl; print(pl.read_parquet('btc.parquet'))\"";

/// Options of `kestrel features`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct FeaturesArgs {
    /// Tape to read (see `kestrel tape import` / `kestrel tape synth`); default: a bundled synthetic tape
    #[arg(long)]
    tape: Option<PathBuf>,
    /// File to write; refused if it exists, unless --force
    #[arg(long, short, required_unless_present = "list_columns", value_name = "FILE")]
    out: Option<PathBuf>,
    /// Output format; default: csv when --out ends in .csv, parquet otherwise
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// TOML config (its [features] section sets bars, sessions, profile, regime); default: the bundled defaults
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Keep one row per instrument per interval (e.g. 1s, 500ms, 1m): the last event at or before each
    /// multiple of the interval; default: every event
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    every: Option<Duration>,
    /// Replace --out if it exists
    #[arg(long)]
    force: bool,
    /// Print the columns (name, type or unit, meaning) and the schema hash, and exit
    #[arg(long)]
    list_columns: bool,
    /// Length of the bundled synthetic tape when no --tape is given
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    synth_duration: Duration,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    Parquet,
    Csv,
}

pub fn run(args: FeaturesArgs) -> anyhow::Result<()> {
    let out = match (&args.out, args.list_columns) {
        (_, true) => {
            return match print::columns() {
                // `kestrel features --list-columns | head` closes the pipe early.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => Ok(other?),
            };
        }
        (Some(out), false) => out.clone(),
        (None, false) => return Err(UsageError("--out is required".into()).into()),
    };
    let (raw, origin) = crate::bundled::load_config(args.config.as_deref())?;
    let settings = RunSettings::from_raw(&raw, &origin)?;
    // Ctrl-C stops after the event in hand (or, while a synthetic tape is being made, before the
    // first event); the temporary file is removed and nothing is written. A second Ctrl-C quits at once.
    let control = RunControl::new();
    let on_interrupt = control.clone();
    let _ = ctrlc::set_handler(move || {
        if on_interrupt.stop_requested() {
            std::process::exit(130);
        }
        on_interrupt.request_stop();
    });
    let every_ns = match args.every {
        None => None,
        Some(d) if d.is_zero() => return Err(UsageError("--every must be longer than zero".into()).into()),
        Some(d) => Some(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
    };
    let format = match args.format {
        Some(FormatArg::Parquet) => Format::Parquet,
        Some(FormatArg::Csv) => Format::Csv,
        None => Format::from_extension(&out),
    };
    // Before any work: an existing output is refused up front (and again, atomically, at the end).
    crate::tape::check_output(&out, args.force)?;

    // The metadata names the tape by its absolute path (a relative one means nothing elsewhere).
    let choice = crate::bundled::tape_or_synthetic(args.tape.as_deref(), args.synth_duration, |p| {
        std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string()
    })?;
    let (tape_path, label) = (&choice.path, choice.label.clone());
    let tape = Tape::open(tape_path)?;
    tape.verify()?;
    let meta = MatrixMeta {
        tape: label,
        tape_data_crc32: tape.header().data_crc32,
        config: origin,
        features_config: serde_json::to_string(&raw.features)?,
        every_ns: every_ns.unwrap_or(0),
    };
    let total = tape.len() as u64;
    let request = ExportRequest {
        tape: Arc::new(tape),
        settings: &settings.features,
        format,
        every_ns,
        out: &out,
        force: args.force,
        meta,
    };
    let bar = print::progress_bar(total);
    let result = features_export::export(request, &control, &mut |done| bar.set_position(done));
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            print::summary(&summary);
            Ok(())
        }
        Err(ExportError::Exists(path)) => {
            Err(UsageError(format!("{}: already exists; pass --force to replace it", path.display())).into())
        }
        Err(e @ ExportError::Interrupted { .. }) => {
            drop(choice); // `exit` runs no destructors: remove a synthetic tape first
            eprintln!("error: interrupted (Ctrl-C): {e}");
            std::process::exit(130);
        }
        Err(e) => Err(e.into()),
    }
}
