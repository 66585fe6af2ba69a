//! The feature matrix of a tape (`kestrel features`): every event's feature vector, computed by the
//! engine's own [`FeatureStage`](kestrel_engine::features::FeatureStage) (the code the hot loop runs),
//! written as Parquet or CSV for training and research.
//!
//! - [`matrix`]: tape → rows, through the same `TapeSource` and `FeatureStage` a paper run uses;
//! - [`sample`]: `--every`: per instrument, the last row of each interval;
//! - [`columns`]: the columns (`ts_ns`, `ts`, `symbol`, `seq`, then the schema's features) and the
//!   file-level metadata (schema version and hash, units, tape);
//! - [`parquet_sink`] and [`csv_sink`]: the two formats, both streaming (bounded row groups);
//! - [`output`]: a temporary file renamed into place only once it is complete.

pub mod columns;
pub mod csv_sink;
pub mod matrix;
pub mod output;
pub mod parquet_sink;
pub mod sample;

pub use columns::{MatrixMeta, column_names};
pub use matrix::Row;
pub use sample::Sampler;

use csv_sink::CsvSink;
use kestrel_engine::features::FeatureSettings;
use kestrel_engine::pipeline::RunControl;
use kestrel_engine::tape::Tape;
use output::PendingFile;
use parquet_sink::ParquetSink;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per Parquet row group (and per in-memory batch): bounds the memory a long tape needs.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// The file format written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }

    /// `csv` for a path ending in `.csv` (any case), Parquet otherwise.
    pub fn from_extension(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::Parquet,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}: already exists; pass --force to replace it")]
    Exists(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: writing Parquet: {source}")]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error("{path}: building a record batch: {source}")]
    Arrow { path: PathBuf, source: arrow_schema::ArrowError },
    #[error("stopped after {events} of {of} events; nothing was written")]
    Interrupted { events: u64, of: u64 },
}

/// What to export, and where.
#[derive(Debug)]
pub struct ExportRequest<'a> {
    pub tape: Arc<Tape>,
    pub settings: &'a FeatureSettings,
    pub format: Format,
    /// `None`: one row per event; `Some(d)`: see [`Sampler`].
    pub every_ns: Option<u64>,
    pub out: &'a Path,
    /// Replace an existing `out`.
    pub force: bool,
    pub meta: MatrixMeta,
}

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    pub path: PathBuf,
    pub format: Format,
    pub events: u64,
    pub rows: u64,
    pub columns: usize,
    pub bytes: u64,
    /// Trades outside the volume-profile window (see `FeatureStage::profile_trades_dropped`).
    pub profile_trades_dropped: u64,
    /// The window's width, to say what to raise.
    pub profile_ticks: usize,
}

/// Either sink, chosen at run time.
enum Sink {
    Parquet(Box<ParquetSink<BufWriter<std::fs::File>>>),
    Csv(CsvSink<BufWriter<std::fs::File>>),
}

impl Sink {
    fn push(&mut self, row: &Row) -> Result<(), ExportError> {
        match self {
            Sink::Parquet(s) => s.push(row),
            Sink::Csv(s) => s.push(row),
        }
    }

    fn finish(self) -> Result<BufWriter<std::fs::File>, ExportError> {
        match self {
            Sink::Parquet(s) => s.finish(),
            Sink::Csv(s) => s.finish(),
        }
    }
}

/// Computes the feature matrix of `req.tape` and writes it to `req.out` (through a temporary file
/// renamed into place at the end: `out` is either complete or untouched). `progress` gets the number
/// of events done every few thousand events. Setting `control`'s stop flag (Ctrl-C) ends the export
/// early with [`ExportError::Interrupted`], leaving nothing behind.
pub fn export(
    req: ExportRequest<'_>,
    control: &Arc<RunControl>,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportSummary, ExportError> {
    let pending = PendingFile::create(req.out, req.force)?;
    let (file, temp_path) = pending.into_parts();
    let writer = BufWriter::with_capacity(1 << 20, file);
    let symbols: Vec<String> = req.tape.instruments().iter().map(|s| s.symbol.clone()).collect();
    let mut sink = match req.format {
        Format::Parquet => {
            Sink::Parquet(Box::new(ParquetSink::new(writer, symbols, &req.meta, ROW_GROUP_ROWS, req.out)?))
        }
        Format::Csv => Sink::Csv(CsvSink::new(writer, symbols, req.out)?),
    };
    let total = req.tape.len() as u64;
    let instruments = req.tape.instruments().len();
    let mut rows = 0u64;
    let replayed = match req.every_ns {
        None => matrix::for_each_row(req.tape, req.settings, control, progress, |row| {
            rows += 1;
            sink.push(row)
        })?,
        Some(every) => {
            let mut sampler = Sampler::new(every, instruments);
            let mut emit = |row: &Row| {
                rows += 1;
                sink.push(row)
            };
            let replayed =
                matrix::for_each_row(req.tape, req.settings, control, progress, |row| sampler.push(row, &mut emit))?;
            sampler.finish(&mut emit)?;
            replayed
        }
    };
    let events = replayed.events;
    if control.stop_requested() && events < total {
        return Err(ExportError::Interrupted { events, of: total });
    }
    let writer = sink.finish()?;
    let bytes = output::commit(writer, temp_path, req.out, req.force)?;
    Ok(ExportSummary {
        path: req.out.to_path_buf(),
        format: req.format,
        events,
        rows,
        columns: columns::column_count(),
        bytes,
        profile_trades_dropped: replayed.profile_trades_dropped,
        profile_ticks: req.settings.profile_ticks,
    })
}
