//! The loop every importer shares: lines in from [`LineSource`], each handed to the format's
//! parser, problems handed to the [`Policy`], file boundaries and progress tracked once here.

use super::error::{ImportError, Issue, Location, Policy};
use super::sink::Sink;
use super::source::{LineSource, Next};
use super::timestamp::TsNormalizer;
use super::{ImportOptions, ImportStats};

/// Why a line was not imported: a data issue for the policy to skip or stop on, or a fatal error
/// (the tape cannot be written, or strict mode stopped on an issue found mid-line).
pub(super) enum Step {
    Issue(Issue),
    Fatal(ImportError),
}

impl From<Issue> for Step {
    fn from(issue: Issue) -> Self {
        Step::Issue(issue)
    }
}

/// State every format needs.
pub(super) struct Common {
    pub sink: Sink,
    pub policy: Policy,
    pub stats: ImportStats,
    pub ts: TsNormalizer,
    /// Local time of the last accepted line: lines must not go back in time.
    pub last_local: u64,
}

impl Common {
    pub fn new(opts: &ImportOptions, sink: Sink) -> Self {
        Common {
            sink,
            policy: Policy::new(opts.lenient),
            stats: ImportStats::default(),
            ts: TsNormalizer::new(opts.ts_unit),
            last_local: 0,
        }
    }

    /// Accepts a line's local time if it does not go back.
    pub fn advance(&mut self, local: u64) -> Result<(), Issue> {
        if local < self.last_local {
            return Err(Issue::OutOfOrder { ts: local, prev: self.last_local });
        }
        self.last_local = local;
        Ok(())
    }
}

/// The per-format part of an import.
pub(super) trait LineFormat {
    fn common(&mut self) -> &mut Common;
    /// Imports one non-blank line.
    fn line(&mut self, text: &str, at: &Location) -> Result<(), Step>;
    /// An input file ended, whole or cut off: close what it left open.
    fn end_file(&mut self) -> Result<(), ImportError>;
    /// All input is read.
    fn end_input(&mut self) -> Result<(), ImportError>;
}

/// Runs `format` over every line of `source`.
pub(super) fn drive(
    format: &mut impl LineFormat,
    source: &mut LineSource,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), ImportError> {
    loop {
        if format.common().stats.lines.is_multiple_of(8192) {
            let (done, total) = source.progress();
            progress(done, total);
        }
        let line = match source.next_line() {
            Ok(Next::Line(line)) => line,
            Ok(Next::EndOfFile { path }) => {
                format.end_file()?;
                let c = format.common();
                c.stats.end_file(path, c.ts.unit());
                c.ts.reset();
                continue;
            }
            Ok(Next::Done) => break,
            Err(ImportError::Data { at, issue }) => {
                // A truncated or corrupt gzip stream: lenient keeps what was read and moves on.
                format.common().policy.handle(&at, issue)?;
                format.end_file()?;
                let c = format.common();
                c.stats.end_file(&at.file, c.ts.unit());
                c.ts.reset();
                continue;
            }
            Err(e) => return Err(e),
        };
        format.common().stats.lines += 1;
        if line.text.trim().is_empty() {
            continue;
        }
        let at = line.at;
        match format.line(line.text, &at) {
            Ok(()) => {}
            Err(Step::Fatal(e)) => return Err(e),
            Err(Step::Issue(issue)) => {
                let issue = match issue {
                    Issue::Malformed(m) if line.unterminated => {
                        Issue::Malformed(format!("{m} (the last line has no newline: the input was cut off mid-write)"))
                    }
                    other => other,
                };
                format.common().policy.handle(&at, issue)?;
            }
        }
    }
    format.end_input()?;
    let (done, total) = source.progress();
    progress(done, total);
    Ok(())
}
