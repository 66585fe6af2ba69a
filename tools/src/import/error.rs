//! Import errors and the lenient-mode tally of skipped input.
//!
//! Every problem is an [`Issue`] at a [`Location`] (file and line). In strict mode (the default) the
//! first issue stops the import with an [`ImportError`] naming the place and what to do; with
//! `--lenient`, skippable issues are counted per kind, the first place of each kind kept for the
//! report, and the import goes on.

use kestrel_engine::tape::TapeError;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A place in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<Path>,
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0 means the file as a whole.
        match self.line {
            0 => write!(f, "{}", self.file.display()),
            line => write!(f, "{}:{line}", self.file.display()),
        }
    }
}

/// What is wrong with a piece of input. The variant is the category a lenient import counts by.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Issue {
    #[error("malformed line: {0}")]
    Malformed(String),
    #[error("unknown stream '{0}'")]
    UnknownStream(String),
    #[error("local timestamp {ts} is earlier than the previous line's {prev}")]
    OutOfOrder { ts: u64, prev: u64 },
    #[error("sequence gap in {symbol} depth: {detail}")]
    SequenceGap { symbol: String, detail: String },
    #[error("{symbol} book is crossed after this update: best bid {bid} >= best ask {ask}")]
    CrossedBook { symbol: String, bid: String, ask: String },
    #[error("crossed quote: bid {bid} >= ask {ask}")]
    CrossedQuote { bid: String, ask: String },
    #[error("invalid {field} '{value}': {why}")]
    InvalidValue { field: &'static str, value: String, why: String },
    #[error("depth updates for {symbol} but no book snapshot to start from: {count} updates cannot be applied")]
    NoSnapshot { symbol: String, count: u64 },
    #[error("the input ends early: {0}")]
    Truncated(String),
    #[error("bad CSV header row: {0}")]
    BadHeader(String),
    #[error("the inputs hold no market data: nothing to import")]
    NoData,
}

impl Issue {
    /// A short stable name for the category, used in reports and JSON.
    pub fn category(&self) -> &'static str {
        match self {
            Issue::Malformed(_) => "malformed_line",
            Issue::UnknownStream(_) => "unknown_stream",
            Issue::OutOfOrder { .. } => "out_of_order",
            Issue::SequenceGap { .. } => "sequence_gap",
            Issue::CrossedBook { .. } => "crossed_book",
            Issue::CrossedQuote { .. } => "crossed_quote",
            Issue::InvalidValue { .. } => "invalid_value",
            Issue::NoSnapshot { .. } => "no_snapshot",
            Issue::Truncated(_) => "truncated_input",
            Issue::BadHeader(_) => "bad_header",
            Issue::NoData => "no_data",
        }
    }

    /// What the user can do about it, shown under the error.
    pub fn hint(&self) -> &'static str {
        match self {
            Issue::Malformed(_) => "fix or delete the line, or pass --lenient to skip bad lines and count them",
            Issue::UnknownStream(_) => {
                "import only the streams Kestrel knows (depth, bookTicker, trade), or pass --lenient to skip the others"
            }
            Issue::OutOfOrder { .. } => {
                "give the input files in time order; pass --lenient to drop lines that go back in time"
            }
            Issue::SequenceGap { .. } => {
                "updates were lost in the capture; pass --lenient to mark the gap on the tape and continue"
            }
            Issue::CrossedBook { .. } => {
                "the capture is inconsistent here; pass --lenient to count crossed books and continue"
            }
            Issue::CrossedQuote { .. } => "pass --lenient to drop crossed quotes and count them",
            Issue::InvalidValue { field: "local timestamp", .. } => {
                "local timestamps must be integers since the epoch in one unit per file; pass --ts-unit ns|us|ms if detection guessed wrong, or --lenient to skip the line"
            }
            Issue::InvalidValue { .. } => {
                "fix the value, set --price-decimals/--qty-decimals if the precision is finer, or pass --lenient to skip the line"
            }
            Issue::NoSnapshot { .. } => {
                "import the capture file that holds the REST snapshot together with this one (in time order), or pass --lenient to drop the depth updates"
            }
            Issue::Truncated(_) => "re-copy the file; pass --lenient to keep the lines read before the cut",
            Issue::BadHeader(_) => {
                "fix the header row (it names the columns and cannot be skipped, not even in lenient mode); see the README for the columns"
            }
            Issue::NoData => "check that these are the right files and the right --format",
        }
    }
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// An input file is missing or unreadable.
    #[error("{path}: {source}")]
    Input {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad data at a place in the input (strict mode).
    #[error("{at}: {issue}\n  hint: {}", issue.hint())]
    Data { at: Location, issue: Issue },
    /// The options cannot work (a bad --tick, an output that exists, ...).
    #[error("{0}")]
    Usage(String),
    /// Writing the tape failed.
    #[error(transparent)]
    Tape(#[from] TapeError),
}

impl ImportError {
    pub(crate) fn input(path: &Path, source: std::io::Error) -> Self {
        ImportError::Input { path: path.to_path_buf(), source }
    }

    /// A read error in the middle of a file: a truncated or corrupt gzip stream, or a disk error.
    pub(crate) fn read_failed(at: Location, e: std::io::Error) -> Self {
        let what = match e.kind() {
            std::io::ErrorKind::UnexpectedEof => "the gzip stream is cut off (truncated file)".to_string(),
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                format!("corrupt compressed data ({e})")
            }
            _ => return ImportError::Input { path: at.file.to_path_buf(), source: e },
        };
        ImportError::Data { at, issue: Issue::Truncated(what) }
    }
}

/// How many inputs of one category were skipped, and where the first one was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkipTally {
    pub count: u64,
    pub first: Location,
    pub first_issue: Issue,
}

/// Decides, per issue, whether to stop (strict) or count and go on (lenient).
#[derive(Debug, Default)]
pub struct Policy {
    pub lenient: bool,
    pub skipped: BTreeMap<&'static str, SkipTally>,
}

impl Policy {
    pub fn new(lenient: bool) -> Self {
        Policy { lenient, skipped: BTreeMap::new() }
    }

    /// Strict: the issue becomes the error. Lenient: it is counted and the caller skips the input.
    pub fn handle(&mut self, at: &Location, issue: Issue) -> Result<(), ImportError> {
        if !self.lenient {
            return Err(ImportError::Data { at: at.clone(), issue });
        }
        self.skipped.entry(issue.category()).and_modify(|t| t.count += 1).or_insert_with(|| SkipTally {
            count: 1,
            first: at.clone(),
            first_issue: issue,
        });
        Ok(())
    }

    pub fn total_skipped(&self) -> u64 {
        self.skipped.values().map(|t| t.count).sum()
    }
}
