//! Paper runs as training data (`kestrel train --run RUN_DIR`).
//!
//! A run directory holds the journal (`journal.kj`), the config the run used (`config.toml`) and its
//! summary (`summary.json`, which names the tape). Training on a run means: the candidates are the
//! entry candidates the run's own decide stage journaled (approved or blocked, the models' refusals
//! included: learning replays them as counterfactuals), not the ones the trainer's rule would find;
//! the run's tape is replayed with the run's config through the same feature stage, and each
//! candidate is labelled there as a tape candidate is (`crate::dataset`).
//!
//! Nothing is taken on trust: the tape must be the one the run replayed (the journal header records
//! its data CRC), every candidate must sit on the event and instrument the journal says, and where
//! the models were consulted the features they saw (journaled as `f32`) must equal the replay's. A
//! run whose tape or `[features]` changed since is refused with the first difference.
//!
//! As for tapes, candidates the run refused for the spread are not training examples (they never
//! reach the models); every other entry candidate is.

use crate::dataset::DatasetError;
use kestrel_engine::config::{self, RawConfig};
use kestrel_engine::features::FeatureVector;
use kestrel_engine::journal::{self, BlockReason, EntryKind, Journal, Side, entry_candidates};
use kestrel_engine::tape::Tape;
use std::path::{Path, PathBuf};

/// One entry candidate of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Proposal {
    /// The tape record it was decided on.
    pub event_seq: u64,
    /// Its strategy time, Unix ns.
    pub ts_ns: u64,
    pub instrument: u16,
    pub side: Side,
    /// The features the models saw, when they were consulted.
    pub seen: Option<FeatureVector>,
}

/// A run, read and checked, ready to be replayed.
#[derive(Clone, Debug)]
pub struct RunSource {
    pub dir: PathBuf,
    pub tape: PathBuf,
    pub config: RawConfig,
    /// How messages name the config: `RUN_DIR/config.toml`.
    pub origin: String,
    /// In journal (and so event) order.
    pub proposals: Vec<Proposal>,
    /// Entry candidates the run blocked for the spread: left out.
    pub spread_refused: u64,
}

fn input(path: &Path, msg: impl Into<String>) -> DatasetError {
    DatasetError::Input { path: path.to_path_buf(), msg: msg.into() }
}

/// The tape a run names in its `summary.json`.
fn summary_tape(dir: &Path) -> Result<PathBuf, DatasetError> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        input(
            &path,
            format!("{e}: the run's summary names its tape; without it, give the tape as --run {}=TAPE", dir.display()),
        )
    })?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| input(&path, format!("not a run summary ({e})")))?;
    let tape = doc.get("tape").and_then(|t| t.as_str()).ok_or_else(|| input(&path, "has no \"tape\""))?;
    let tape = PathBuf::from(tape);
    if !tape.is_file() {
        return Err(input(
            &path,
            format!(
                "the run's tape `{}` is not a file here (a bundled synthetic tape is not kept: make it again \
                 with `kestrel tape synth` and the seed and length the name gives); give the tape as --run {}=TAPE",
                tape.display(),
                dir.display()
            ),
        ));
    }
    Ok(tape)
}

/// Reads the run in `dir`; `tape` overrides the one its summary names.
pub fn open_run(dir: &Path, tape: Option<&Path>) -> Result<RunSource, DatasetError> {
    if !dir.is_dir() {
        return Err(input(dir, "not a run directory (`kestrel paper --out DIR` makes one)"));
    }
    let journal_path = dir.join(journal::FILE_NAME);
    let journal = Journal::open_read_only(&journal_path).map_err(|e| input(&journal_path, e.to_string()))?;
    let tape = match tape {
        Some(t) => t.to_path_buf(),
        None => summary_tape(dir)?,
    };
    let opened = Tape::open(&tape)?;
    let (ran, have) = (journal.meta().tape_data_crc32, opened.header().data_crc32);
    if ran != have {
        return Err(input(
            &tape,
            format!(
                "is not the tape run {} replayed (its data CRC is {have:08x}, the journal's {ran:08x})",
                dir.display()
            ),
        ));
    }
    let config_path = dir.join("config.toml");
    let config = config::load(&config_path)?;
    let candidates = entry_candidates(&journal).map_err(|e| input(&journal_path, e))?;
    let mut proposals = Vec::with_capacity(candidates.len());
    let mut spread_refused = 0;
    for c in candidates {
        let r = &c.record;
        if r.kind() == Some(EntryKind::Blocked) && BlockReason::from_u8(r.reason) == Some(BlockReason::SpreadTooWide) {
            spread_refused += 1;
            continue;
        }
        let side = r.side().ok_or_else(|| input(&journal_path, format!("record {}: an entry without a side", c.at)))?;
        proposals.push(Proposal {
            event_seq: r.event_seq,
            ts_ns: r.ts.0,
            instrument: r.instrument.0,
            side,
            seen: c.seen.map(|s| s.features),
        });
    }
    Ok(RunSource {
        dir: dir.to_path_buf(),
        tape,
        config,
        origin: config_path.display().to_string(),
        proposals,
        spread_refused,
    })
}

/// Parses `RUN_DIR` or `RUN_DIR=TAPE` (how `--run` is given).
pub fn parse_run_arg(s: &str) -> (PathBuf, Option<PathBuf>) {
    match s.split_once('=') {
        Some((dir, tape)) if !tape.is_empty() => (PathBuf::from(dir), Some(PathBuf::from(tape))),
        _ => (PathBuf::from(s), None),
    }
}
