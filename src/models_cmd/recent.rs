//! The engine's recent candidates, read back from the journal the hot side is writing: the rows a new
//! model is shadow-scored on before it goes live.
//!
//! The decide stage journals the feature vector of every candidate it consulted a model for (a run of
//! Features records after the Decision or Blocked record). The journal is only ever appended to and
//! every record carries its CRC, so reading it while the run writes is safe: a record still being
//! written fails its CRC and ends the read there.

use kestrel_engine::features::{FeatureVector, idx};
use kestrel_engine::journal::{EntryKind, FEATURES_PER_RECORD, FeaturesRecord, Journal, features_chunks};
use std::path::Path;

/// The feature vectors of the last `n` candidates in `journal` (oldest first); empty when the journal
/// cannot be read or has none yet.
pub fn feature_rows(journal: &Path, n: usize) -> Vec<FeatureVector> {
    let Ok(journal) = Journal::open_read_only(journal) else { return Vec::new() };
    let records = journal.records();
    let chunks = features_chunks(idx::COUNT);
    let mut rows = Vec::new();
    let mut i = records.len();
    while i > 0 && rows.len() < n {
        i -= 1;
        let rec = &records[i];
        if rec.kind() != Some(EntryKind::Features) {
            continue;
        }
        let first = FeaturesRecord::from_record(rec);
        if first.chunk != 0 || usize::from(first.chunks) != chunks {
            continue;
        }
        let mut values = vec![f32::NAN; chunks * FEATURES_PER_RECORD];
        let whole = (0..chunks).all(|k| {
            records
                .get(i + k)
                .filter(|r| r.kind() == Some(EntryKind::Features))
                .map(FeaturesRecord::from_record)
                .filter(|p| usize::from(p.chunk) == k && p.event_seq == first.event_seq)
                .map(|p| values[k * FEATURES_PER_RECORD..(k + 1) * FEATURES_PER_RECORD].copy_from_slice(&p.values))
                .is_some()
        });
        if whole {
            // Values: p(win), slippage, then the features in schema order.
            let mut fv = FeatureVector::default();
            for (j, v) in values[2..2 + idx::COUNT].iter().enumerate() {
                fv.set(j, f64::from(*v));
            }
            rows.push(fv);
        }
    }
    rows.reverse();
    rows
}
