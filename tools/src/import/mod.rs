//! Raw captures → tape.
//!
//! `kestrel tape import --format binance|csv --out OUT.tape IN...` streams every input line by line
//! (gzip detected by its magic bytes), validates it, rebuilds books to catch gaps and crossed states,
//! and writes the tape through [`kestrel_engine::tape::TapeWriter`], which only renames the file into
//! place once it is complete. Several inputs form one continuous stream, in the order given.

mod binance;
mod csv;
mod driver;
pub mod error;
mod sink;
mod source;
pub mod timestamp;

pub use error::{ImportError, Issue, Location, SkipTally};
pub use sink::Increments;
pub use timestamp::TsUnit;

use kestrel_engine::tape::{DEFAULT_INSTRUMENT_CAPACITY, TapeWriter, WrittenTape};
use kestrel_engine::types::InstrumentSpec;
use sink::Sink;
use source::LineSource;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Input formats `kestrel tape import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Binance combined-stream websocket captures (`<local_ts> <json>` per line, gzip or plain).
    Binance,
    /// Kestrel's generic CSV of quotes, trades and book levels (the format `kestrel tape cat` prints).
    Csv,
}

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Count and skip bad input instead of stopping at the first problem.
    pub lenient: bool,
    /// Unit of the local timestamps; `Auto` detects ns, µs or ms per file.
    pub ts_unit: TsUnit,
    /// Tick and lot for every instrument; inferred from the data when absent.
    pub increments: Increments,
    /// Decimal places of prices and sizes; read off the first message of each instrument when absent.
    pub price_decimals: Option<u8>,
    pub qty_decimals: Option<u8>,
    /// Venue name for every instrument; per format default when absent.
    pub venue: Option<String>,
    pub instrument_capacity: u32,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            lenient: false,
            ts_unit: TsUnit::Auto,
            increments: Increments::default(),
            price_decimals: None,
            qty_decimals: None,
            venue: None,
            instrument_capacity: DEFAULT_INSTRUMENT_CAPACITY,
        }
    }
}

/// Per-file facts gathered while importing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStats {
    pub path: PathBuf,
    pub lines: u64,
    /// The unit of its local timestamps ("ns", "us", "ms"), once known.
    pub ts_unit: Option<&'static str>,
}

/// Counters gathered while importing.
#[derive(Debug, Default)]
pub struct ImportStats {
    pub lines: u64,
    /// Messages imported, by kind ("depth", "bookTicker", "trade", "snapshot"; "quote", "level", ... for CSV).
    pub events: BTreeMap<&'static str, u64>,
    /// Streams recognised but not imported (aggTrade, markPrice, ...), by stream name.
    pub unused_streams: BTreeMap<String, u64>,
    pub gaps: u64,
    pub crossed_books: u64,
    /// Diffs already covered by the snapshot or an earlier diff, dropped as Binance prescribes.
    pub stale_diffs: u64,
    pub diffs_applied: u64,
    pub files: Vec<FileStats>,
    lines_before_file: u64,
}

impl ImportStats {
    fn count(&mut self, kind: &'static str) {
        *self.events.entry(kind).or_insert(0) += 1;
    }

    fn end_file(&mut self, path: &Path, unit: Option<TsUnit>) {
        self.files.push(FileStats {
            path: path.to_path_buf(),
            lines: self.lines - self.lines_before_file,
            ts_unit: unit.map(TsUnit::as_str),
        });
        self.lines_before_file = self.lines;
    }
}

/// What an import produced.
#[derive(Debug)]
pub struct ImportReport {
    pub tape: WrittenTape,
    pub instruments: Vec<InstrumentSpec>,
    pub stats: ImportStats,
    /// Input skipped (lenient mode) or kept with a mark (gaps, crossed books), by category.
    pub issues: BTreeMap<&'static str, SkipTally>,
}

/// Imports `inputs` (in order, as one continuous stream) into a new tape at `out`.
/// `progress(done, total)` is called now and then with input bytes consumed.
pub fn import(
    format: Format,
    inputs: &[PathBuf],
    out: &Path,
    opts: &ImportOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportReport, ImportError> {
    if inputs.is_empty() {
        return Err(ImportError::Usage("no input files given".into()));
    }
    let mut source = LineSource::open(inputs)?;
    if let Ok(out_canon) = out.canonicalize()
        && inputs.iter().any(|p| p.canonicalize().ok().as_deref() == Some(out_canon.as_path()))
    {
        return Err(ImportError::Usage(format!(
            "{}: the output is also an input; choose another --out",
            out.display()
        )));
    }
    let writer = TapeWriter::create(out, opts.instrument_capacity)?;
    let sink = Sink::new(writer, opts.increments.clone(), opts.price_decimals, opts.qty_decimals);
    let common = match format {
        Format::Binance => {
            let mut f = binance::Binance::new(opts, sink);
            driver::drive(&mut f, &mut source, progress)?;
            f.into_parts()
        }
        Format::Csv => {
            let mut f = csv::Csv::new(opts, sink);
            driver::drive(&mut f, &mut source, progress)?;
            f.into_parts()
        }
    };
    let driver::Common { sink, policy, stats, .. } = common;
    if sink.records() == 0 {
        // An empty tape is never what was meant: a wrong --format, empty files, or every line skipped.
        let at = Location { file: std::sync::Arc::from(inputs[0].as_path()), line: 0 };
        return Err(ImportError::Data { at, issue: Issue::NoData });
    }
    let (tape, instruments) = sink.finish()?;
    Ok(ImportReport { tape, instruments, stats, issues: policy.skipped })
}
