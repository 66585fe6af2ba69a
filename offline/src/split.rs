//! Validation splits for labels that span time (López de Prado, AFML ch. 7): purged K-fold and an
//! expanding-window walk-forward, both with an embargo.
//!
//! Sample `i` has the label interval `[start_ns[i], end_ns[i]]`, from the decision to the barrier touch
//! (closed at both ends); samples come in time order (`start_ns` non-decreasing). A training sample whose
//! interval overlaps the test period would let its label see test-period prices, so it is purged; the
//! embargo also drops training samples that start shortly after the test period, whose features
//! (rolling windows) still remember it.

/// One validation fold: indices into the samples, each list in increasing order.
#[derive(Clone, Debug, PartialEq)]
pub struct Fold {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Why the samples could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("{what} must be at least {min}, got {got}")]
    TooFewFolds { what: &'static str, min: usize, got: usize },
    #[error("{n} samples cannot make {blocks} non-empty blocks: use fewer folds or more data")]
    TooFewSamples { n: usize, blocks: usize },
    #[error("{starts} start times but {ends} end times: one of each per sample")]
    LengthMismatch { starts: usize, ends: usize },
    #[error("samples are not in time order: sample {index} starts at {start} ns, before the previous one at {prev} ns")]
    Unsorted { index: usize, start: u64, prev: u64 },
    #[error("sample {index} ends at {end} ns, before it starts at {start} ns")]
    BadInterval { index: usize, start: u64, end: u64 },
    #[error(
        "fold {fold} has no training samples left after purging and the embargo: labels span too much of the data; shorten the holding time, the embargo or use fewer folds"
    )]
    EmptyTrain { fold: usize },
}

fn validate(start_ns: &[u64], end_ns: &[u64], blocks: usize) -> Result<(), SplitError> {
    if start_ns.len() != end_ns.len() {
        return Err(SplitError::LengthMismatch { starts: start_ns.len(), ends: end_ns.len() });
    }
    for i in 0..start_ns.len() {
        if end_ns[i] < start_ns[i] {
            return Err(SplitError::BadInterval { index: i, start: start_ns[i], end: end_ns[i] });
        }
        if i > 0 && start_ns[i] < start_ns[i - 1] {
            return Err(SplitError::Unsorted { index: i, start: start_ns[i], prev: start_ns[i - 1] });
        }
    }
    if start_ns.len() < blocks {
        return Err(SplitError::TooFewSamples { n: start_ns.len(), blocks });
    }
    Ok(())
}

/// `n` indices cut into `k` contiguous blocks as even as possible (the first `n % k` get one more).
fn blocks(n: usize, k: usize) -> Vec<std::ops::Range<usize>> {
    let (size, extra) = (n / k, n % k);
    let mut out = Vec::with_capacity(k);
    let mut lo = 0;
    for b in 0..k {
        let hi = lo + size + usize::from(b < extra);
        out.push(lo..hi);
        lo = hi;
    }
    out
}

/// K contiguous test blocks; the training set of each is every other sample minus those whose interval
/// overlaps the test span `[min start, max end]` (purge), minus those starting within `embargo_ns` after
/// the span ends (embargo).
///
/// Errors: `k < 2`, fewer samples than folds, lengths differ, starts not sorted, an interval ending before
/// it starts, a fold left with no training samples.
pub fn purged_kfold(start_ns: &[u64], end_ns: &[u64], k: usize, embargo_ns: u64) -> Result<Vec<Fold>, SplitError> {
    if k < 2 {
        return Err(SplitError::TooFewFolds { what: "the number of folds k", min: 2, got: k });
    }
    validate(start_ns, end_ns, k)?;
    let n = start_ns.len();
    let mut folds = Vec::with_capacity(k);
    for (f, block) in blocks(n, k).into_iter().enumerate() {
        let t0 = start_ns[block.start];
        let t1 = end_ns[block.clone()].iter().copied().max().unwrap_or(t0);
        let embargo_end = t1.saturating_add(embargo_ns);
        // Dropped: overlaps [t0, t1] (start ≤ t1 and end ≥ t0), or starts in (t1, t1 + embargo].
        let train: Vec<usize> =
            (0..n).filter(|i| !block.contains(i) && (end_ns[*i] < t0 || start_ns[*i] > embargo_end)).collect();
        if train.is_empty() {
            return Err(SplitError::EmptyTrain { fold: f });
        }
        folds.push(Fold { train, test: block.collect() });
    }
    Ok(folds)
}

/// Expanding-window walk-forward: the samples cut into `n_splits + 1` contiguous blocks; fold `j` tests
/// block `j + 1` and trains on the samples before it whose label interval ends before the test block
/// starts minus `embargo_ns` (`end + embargo < test start`): no training label sees the test period.
///
/// Errors: `n_splits < 1`, fewer samples than blocks, lengths differ, starts not sorted, an interval
/// ending before it starts, a fold left with no training samples.
pub fn walk_forward(
    start_ns: &[u64],
    end_ns: &[u64],
    n_splits: usize,
    embargo_ns: u64,
) -> Result<Vec<Fold>, SplitError> {
    if n_splits < 1 {
        return Err(SplitError::TooFewFolds { what: "the number of walk-forward splits", min: 1, got: n_splits });
    }
    validate(start_ns, end_ns, n_splits + 1)?;
    let parts = blocks(start_ns.len(), n_splits + 1);
    let mut folds = Vec::with_capacity(n_splits);
    for (j, test) in parts.into_iter().skip(1).enumerate() {
        let t0 = start_ns[test.start];
        let train: Vec<usize> = (0..test.start).filter(|&i| end_ns[i].saturating_add(embargo_ns) < t0).collect();
        if train.is_empty() {
            return Err(SplitError::EmptyTrain { fold: j });
        }
        folds.push(Fold { train, test: test.collect() });
    }
    Ok(folds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Samples every 10 ns, each label lasting `hold` ns.
    fn grid(n: usize, hold: u64) -> (Vec<u64>, Vec<u64>) {
        let s: Vec<u64> = (0..n as u64).map(|i| i * 10).collect();
        let e = s.iter().map(|t| t + hold).collect();
        (s, e)
    }

    #[test]
    fn kfold_known_answer() {
        // 10 samples at 0, 10, …, 90, labels lasting 15 ns; k = 2 → test blocks 0..5 and 5..10.
        let (s, e) = grid(10, 15);
        let folds = purged_kfold(&s, &e, 2, 0).unwrap();
        // Fold 0: span [0, 55]; sample 5 starts at 50 ≤ 55 → purged; 6 starts at 60 > 55 → kept.
        assert_eq!(folds[0], Fold { test: vec![0, 1, 2, 3, 4], train: vec![6, 7, 8, 9] });
        // Fold 1: span [50, 105]; sample 4 ends at 55 ≥ 50 → purged; 3 ends at 45 → kept.
        assert_eq!(folds[1], Fold { test: vec![5, 6, 7, 8, 9], train: vec![0, 1, 2, 3] });
        // An embargo of 20 ns after fold 0's span (to 75) also drops samples 6 (60) and 7 (70).
        let folds = purged_kfold(&s, &e, 2, 20).unwrap();
        assert_eq!(folds[0].train, vec![8, 9]);
        assert_eq!(folds[1].train, vec![0, 1, 2, 3]);
        // Uneven sizes: 7 samples in 3 blocks → 3, 2, 2.
        let (s, e) = grid(7, 0);
        let folds = purged_kfold(&s, &e, 3, 0).unwrap();
        let sizes: Vec<usize> = folds.iter().map(|f| f.test.len()).collect();
        assert_eq!(sizes, vec![3, 2, 2]);
    }

    #[test]
    fn walk_forward_known_answer() {
        // 9 samples at 0..80, labels lasting 15 ns, 2 splits → blocks 0..3, 3..6, 6..9.
        let (s, e) = grid(9, 15);
        let folds = walk_forward(&s, &e, 2, 0).unwrap();
        // Fold 0 tests 3..6 (starts at 30): sample 2 ends at 35 ≥ 30 → dropped.
        assert_eq!(folds[0], Fold { train: vec![0, 1], test: vec![3, 4, 5] });
        // Fold 1 tests 6..9 (starts at 60): samples 0..=4 end by 55 < 60.
        assert_eq!(folds[1], Fold { train: vec![0, 1, 2, 3, 4], test: vec![6, 7, 8] });
        // Embargo 10: end + 10 < start of test.
        let folds = walk_forward(&s, &e, 2, 10).unwrap();
        assert_eq!(folds[0].train, vec![0]);
        assert_eq!(folds[1].train, vec![0, 1, 2, 3]);
    }

    #[test]
    fn errors() {
        let (s, e) = grid(10, 5);
        assert!(matches!(purged_kfold(&s, &e, 1, 0), Err(SplitError::TooFewFolds { got: 1, .. })));
        assert!(matches!(walk_forward(&s, &e, 0, 0), Err(SplitError::TooFewFolds { got: 0, .. })));
        assert_eq!(purged_kfold(&s[..3], &e[..3], 4, 0), Err(SplitError::TooFewSamples { n: 3, blocks: 4 }));
        assert_eq!(walk_forward(&s[..3], &e[..3], 3, 0), Err(SplitError::TooFewSamples { n: 3, blocks: 4 }));
        assert!(matches!(purged_kfold(&s, &e[..9], 2, 0), Err(SplitError::LengthMismatch { .. })));
        assert!(matches!(purged_kfold(&[], &[], 2, 0), Err(SplitError::TooFewSamples { n: 0, .. })));
        let unsorted = [0, 20, 10, 30];
        assert_eq!(
            walk_forward(&unsorted, &[5, 25, 15, 35], 1, 0),
            Err(SplitError::Unsorted { index: 2, start: 10, prev: 20 })
        );
        assert!(purged_kfold(&[0, 10], &[5, 10], 2, 0).is_ok());
        assert!(matches!(purged_kfold(&[0, 10], &[5, 8], 2, 0), Err(SplitError::BadInterval { index: 1, .. })));
        // Every label spans the whole data set: nothing can train.
        assert_eq!(purged_kfold(&[0, 1, 2, 3], &[100; 4], 2, 0), Err(SplitError::EmptyTrain { fold: 0 }));
        assert_eq!(walk_forward(&[0, 1, 2, 3], &[100; 4], 1, 0), Err(SplitError::EmptyTrain { fold: 0 }));
    }

    /// Sorted starts and random holding times.
    fn samples() -> impl Strategy<Value = (Vec<u64>, Vec<u64>)> {
        proptest::collection::vec((0u64..50, 0u64..120), 2..80).prop_map(|v| {
            let mut t = 0;
            let mut s = Vec::with_capacity(v.len());
            let mut e = Vec::with_capacity(v.len());
            for (gap, hold) in v {
                t += gap;
                s.push(t);
                e.push(t + hold);
            }
            (s, e)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn kfold_invariants((s, e) in samples(), k in 2usize..6, embargo in 0u64..100) {
            let Ok(folds) = purged_kfold(&s, &e, k, embargo) else {
                // Only the documented data-dependent failures.
                let r = purged_kfold(&s, &e, k, embargo);
                let expected = matches!(r, Err(SplitError::TooFewSamples { .. } | SplitError::EmptyTrain { .. }));
                prop_assert!(expected, "{:?}", r);
                return Ok(());
            };
            prop_assert_eq!(folds.len(), k);
            // Every sample is tested exactly once, blocks contiguous and in order.
            let all: Vec<usize> = folds.iter().flat_map(|f| f.test.iter().copied()).collect();
            prop_assert_eq!(all, (0..s.len()).collect::<Vec<_>>());
            for f in &folds {
                let t0 = f.test.iter().map(|&i| s[i]).min().unwrap_or(0);
                let t1 = f.test.iter().map(|&i| e[i]).max().unwrap_or(0);
                for &i in &f.train {
                    prop_assert!(!f.test.contains(&i));
                    // No overlap with the test span.
                    prop_assert!(e[i] < t0 || s[i] > t1, "train {} [{}, {}] overlaps [{}, {}]", i, s[i], e[i], t0, t1);
                    // Embargo.
                    prop_assert!(!(s[i] > t1 && s[i] <= t1 + embargo));
                }
                // Nothing dropped that needn't be: every non-test sample outside the purge/embargo
                // zone is in train.
                for i in 0..s.len() {
                    if !f.test.contains(&i) && (e[i] < t0 || s[i] > t1 + embargo) {
                        prop_assert!(f.train.contains(&i));
                    }
                }
            }
        }

        #[test]
        fn walk_forward_invariants((s, e) in samples(), n_splits in 1usize..5, embargo in 0u64..100) {
            let Ok(folds) = walk_forward(&s, &e, n_splits, embargo) else {
                let r = walk_forward(&s, &e, n_splits, embargo);
                let expected = matches!(r, Err(SplitError::TooFewSamples { .. } | SplitError::EmptyTrain { .. }));
                prop_assert!(expected, "{:?}", r);
                return Ok(());
            };
            prop_assert_eq!(folds.len(), n_splits);
            let mut prev_test_end = None;
            for f in &folds {
                let first = f.test[0];
                // Test blocks follow each other; train strictly precedes test in index and in time.
                if let Some(p) = prev_test_end { prop_assert_eq!(first, p); }
                prev_test_end = Some(f.test[f.test.len() - 1] + 1);
                for &i in &f.train {
                    prop_assert!(i < first);
                    prop_assert!(e[i] + embargo < s[first]);
                }
                // The window expands: every earlier sample meeting the rule is in train.
                let want: Vec<usize> = (0..first).filter(|&i| e[i] + embargo < s[first]).collect();
                prop_assert_eq!(&f.train, &want);
            }
            prop_assert_eq!(prev_test_end, Some(s.len()));
        }
    }
}
