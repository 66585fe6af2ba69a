//! The engine's recent candidates, read back from the journal the hot side is writing: the rows a new
//! model is shadow-scored on before it goes live.
//!
//! The decide stage journals the feature vector of every candidate it consulted a model for (a run of
//! Features records after the Decision or Blocked record). The journal is only ever appended to and
//! every record carries its CRC, so reading it while the run writes is safe: a record still being
//! written fails its CRC and ends the read there.

use kestrel_engine::features::FeatureVector;
use kestrel_engine::journal::{Journal, Side, entry_candidates};
use std::path::Path;

/// One journaled candidate as a model sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecentRow {
    pub features: FeatureVector,
    pub side: Side,
}

/// The feature vectors and sides of the last `n` candidates in `journal` (oldest first); empty when
/// the journal cannot be read or has none yet. The side is the candidate's, from the Decision or
/// Blocked record just before its Features records.
pub fn feature_rows(journal: &Path, n: usize) -> Vec<RecentRow> {
    let Ok(journal) = Journal::open_read_only(journal) else { return Vec::new() };
    let Ok(candidates) = entry_candidates(&journal) else { return Vec::new() };
    let mut rows: Vec<RecentRow> = candidates
        .iter()
        .rev()
        .filter_map(|c| Some(RecentRow { features: c.seen?.features, side: c.record.side()? }))
        .take(n)
        .collect();
    rows.reverse();
    rows
}
