//! Rebuilding a Binance L2 book from a REST snapshot plus websocket diffs.
//!
//! Captures are in arrival order and the REST snapshot arrives *after* the first diffs, so diffs
//! are buffered until the symbol's snapshot is seen. Then, following Binance's procedure, diffs with
//! `u < lastUpdateId` are dropped, the first kept one must bridge the snapshot
//! (`U <= lastUpdateId (+1 on spot) <= u`), and each later one must continue the chain: on spot
//! `U == previous u + 1`, on USDⓈ-M futures `pu == previous u`. A break is a gap: strict imports stop,
//! lenient ones flag the next record `GAP_BEFORE` and go on.

use crate::import::error::Location;
use crate::import::sink::LevelChange;
use kestrel_engine::types::UnixNanos;

/// A diff parsed into fixed point, kept until it can be applied.
#[derive(Clone, Debug)]
pub struct Diff {
    pub at: Location,
    pub ts_local: UnixNanos,
    pub ts_exchange: UnixNanos,
    pub first_id: u64,
    pub last_id: u64,
    pub prev_id: Option<u64>,
    pub changes: Vec<LevelChange>,
}

/// Where a symbol's book stands.
#[derive(Debug)]
pub enum SyncState {
    /// No snapshot yet: diffs wait here.
    Waiting(Vec<Diff>),
    /// Just loaded a snapshot with this id: the next diff must bridge it.
    Snapshot { last_update_id: u64 },
    /// In the chain; the last applied diff's `u`.
    Chained { last_id: u64 },
}

/// What to do with a diff once the book is synced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Apply it.
    Apply,
    /// Already covered by the snapshot or a previous diff: drop it silently.
    Stale,
    /// Updates are missing before it: the string says which ids were expected.
    Gap(String),
}

/// Judges a diff against the current sync state (which must not be `Waiting`).
pub fn judge(state: &SyncState, diff: &Diff, futures: bool) -> Verdict {
    match *state {
        SyncState::Waiting(_) => Verdict::Apply,
        SyncState::Snapshot { last_update_id } => {
            if diff.last_id < last_update_id {
                Verdict::Stale
            } else {
                let bridge = if futures { last_update_id } else { last_update_id + 1 };
                if diff.first_id <= bridge {
                    Verdict::Apply
                } else {
                    Verdict::Gap(format!(
                        "the first diff after snapshot {last_update_id} starts at U={}, expected U <= {bridge}",
                        diff.first_id
                    ))
                }
            }
        }
        SyncState::Chained { last_id } => {
            if diff.last_id <= last_id {
                return Verdict::Stale;
            }
            let chained = if futures { diff.prev_id == Some(last_id) } else { diff.first_id == last_id + 1 };
            if chained {
                Verdict::Apply
            } else if futures {
                Verdict::Gap(format!(
                    "pu={} but the previous diff ended at u={last_id}",
                    diff.prev_id.map_or("none".into(), |p| p.to_string())
                ))
            } else {
                Verdict::Gap(format!(
                    "U={} but the previous diff ended at u={last_id} (expected U={})",
                    diff.first_id,
                    last_id + 1
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn diff(first: u64, last: u64, prev: Option<u64>) -> Diff {
        Diff {
            at: Location { file: Arc::from(Path::new("x")), line: 1 },
            ts_local: UnixNanos(1),
            ts_exchange: UnixNanos(1),
            first_id: first,
            last_id: last,
            prev_id: prev,
            changes: vec![],
        }
    }

    #[test]
    fn spot_rules() {
        let snap = SyncState::Snapshot { last_update_id: 100 };
        assert_eq!(judge(&snap, &diff(90, 99, None), false), Verdict::Stale);
        assert_eq!(judge(&snap, &diff(95, 100, None), false), Verdict::Apply);
        assert_eq!(judge(&snap, &diff(101, 105, None), false), Verdict::Apply);
        assert!(matches!(judge(&snap, &diff(102, 105, None), false), Verdict::Gap(_)));
        let chained = SyncState::Chained { last_id: 105 };
        assert_eq!(judge(&chained, &diff(106, 110, None), false), Verdict::Apply);
        assert!(matches!(judge(&chained, &diff(107, 110, None), false), Verdict::Gap(_)));
        assert_eq!(judge(&chained, &diff(100, 105, None), false), Verdict::Stale);
    }

    #[test]
    fn futures_rules() {
        let snap = SyncState::Snapshot { last_update_id: 100 };
        assert_eq!(judge(&snap, &diff(95, 120, Some(90)), true), Verdict::Apply);
        assert!(matches!(judge(&snap, &diff(101, 120, Some(100)), true), Verdict::Gap(_)));
        let chained = SyncState::Chained { last_id: 120 };
        // Futures ids are not contiguous: only `pu` links the chain.
        assert_eq!(judge(&chained, &diff(150, 160, Some(120)), true), Verdict::Apply);
        assert!(matches!(judge(&chained, &diff(150, 160, Some(121)), true), Verdict::Gap(_)));
    }
}
