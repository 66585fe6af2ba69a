//! The entry candidates a run journaled, read back for the cold side and offline training: each
//! Decision or Blocked record of an entry, with what the models saw when they were asked (the run of
//! Features records right after it: p(win), slippage, then the feature vector in schema order).

use super::reader::Journal;
use super::record::{EntryKind, FEATURES_PER_RECORD, FeaturesRecord, JournalRecord, features_chunks};
use crate::features::{FeatureVector, idx};
use crate::orders::Purpose;

/// What the models saw and said for one candidate (`f32`, as the decide stage journaled it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seen {
    /// `NaN` when the model gave no usable answer.
    pub p_win: f32,
    /// `NaN` without a slippage model or without a usable answer.
    pub slippage_bps: f32,
    /// The feature vector, widened to `f64` (`NaN` where undefined).
    pub features: FeatureVector,
}

/// One entry candidate of the journal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JournaledCandidate {
    /// Index of its Decision or Blocked record.
    pub at: usize,
    pub record: JournalRecord,
    /// Present when the decide stage consulted a model for it.
    pub seen: Option<Seen>,
}

/// Every entry candidate of `journal`, in journal order. A run of Features records that is cut short
/// (the journal's tail, while a run is still writing) leaves its candidate without `seen`; one with
/// another schema's record count is an error naming the record.
pub fn entry_candidates(journal: &Journal) -> Result<Vec<JournaledCandidate>, String> {
    let records = journal.records();
    let chunks = features_chunks(idx::COUNT);
    let mut out = Vec::new();
    for (at, rec) in records.iter().enumerate() {
        if !matches!(rec.kind(), Some(EntryKind::Decision | EntryKind::Blocked))
            || Purpose::from_u8(rec.aux) != Some(Purpose::Entry)
        {
            continue;
        }
        let mut seen = None;
        if let Some(first) = records.get(at + 1).filter(|r| r.kind() == Some(EntryKind::Features)) {
            let first = FeaturesRecord::from_record(first);
            if usize::from(first.chunks) != chunks {
                return Err(format!(
                    "record {}: {} features records for a candidate where this build's feature schema takes \
                     {chunks}: the journal was written with another schema",
                    at + 1,
                    first.chunks
                ));
            }
            let mut values = [f32::NAN; FEATURES_PER_RECORD * features_chunks(idx::COUNT)];
            let whole = (0..chunks).all(|k| {
                records
                    .get(at + 1 + k)
                    .filter(|r| r.kind() == Some(EntryKind::Features))
                    .map(FeaturesRecord::from_record)
                    .filter(|p| usize::from(p.chunk) == k && p.event_seq == rec.event_seq)
                    .map(|p| values[k * FEATURES_PER_RECORD..(k + 1) * FEATURES_PER_RECORD].copy_from_slice(&p.values))
                    .is_some()
            });
            if whole {
                let mut features = FeatureVector::default();
                for (j, v) in values[2..2 + idx::COUNT].iter().enumerate() {
                    features.set(j, f64::from(*v));
                }
                seen = Some(Seen { p_win: values[0], slippage_bps: values[1], features });
            }
        }
        out.push(JournaledCandidate { at, record: *rec, seen });
    }
    Ok(out)
}
