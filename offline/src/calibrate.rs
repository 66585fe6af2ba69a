//! Calibration: maps a classifier's raw score (its logit) to a probability that matches observed win rates.
//!
//! - [`Platt`]: `p = sigmoid(a·score + b)`, fitted by a two-parameter logistic regression (Newton's method
//!   with a line search, the shared Cholesky) on Platt's smoothed targets `(n₊ + 1)/(n₊ + 2)` for wins and
//!   `1/(n₋ + 2)` for losses, which keep the fit finite even on separable scores.
//! - [`Isotonic`]: the least-squares non-decreasing fit (pool-adjacent-violators), reduced to at most
//!   `max_knots` knots and applied by linear interpolation: a few numbers the engine can evaluate exactly.
//!
//! Written by hand (see `linalg` for why no ML crate); both are small.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::linalg::solve_spd;
use crate::logistic::{FitError, check_labels, sigmoid, softplus};

/// Checks calibration inputs: lengths, emptiness, two classes, finite scores.
fn check(scores: &[f64], y: &[bool]) -> Result<(), FitError> {
    check_labels(scores.len(), y, "calibration")?;
    if let Some(row) = scores.iter().position(|s| !s.is_finite()) {
        return Err(FitError::NonFinite { what: "the scores", row, col: None, value: scores[row] });
    }
    Ok(())
}

/// Platt scaling: `p = sigmoid(a·score + b)`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

impl Platt {
    /// Fits `a` and `b` by maximum likelihood on Platt's smoothed targets.
    ///
    /// Errors: empty, lengths differ, one class only, a non-finite score, no convergence. Documented
    /// fallback: when every score is the same, `a = 0` and `b` is the logit of the mean smoothed target.
    pub fn fit(scores: &[f64], y: &[bool]) -> Result<Platt, FitError> {
        check(scores, y)?;
        let n = scores.len() as f64;
        let n_pos = y.iter().filter(|&&v| v).count() as f64;
        let n_neg = n - n_pos;
        let (t_pos, t_neg) = ((n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0));
        let target = |v: bool| if v { t_pos } else { t_neg };

        // Standardise the scores for conditioning; fold back at the end.
        let mean = scores.iter().sum::<f64>() / n;
        let sd = (scores.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / n).sqrt();
        let mean_t = (n_pos * t_pos + n_neg * t_neg) / n;
        let prior = (mean_t / (1.0 - mean_t)).ln();
        if !(sd > 1e-12 * mean.abs() && sd > 0.0) {
            return Ok(Platt { a: 0.0, b: prior });
        }
        let objective = |a: f64, b: f64| -> f64 {
            scores
                .iter()
                .zip(y)
                .map(|(s, &v)| {
                    let z = a * (s - mean) / sd + b;
                    softplus(z) - target(v) * z
                })
                .sum::<f64>()
                / n
        };
        let (mut a, mut b) = (0.0, prior);
        let mut f = objective(a, b);
        let mut grad_norm = f64::INFINITY;
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (s, &v) in scores.iter().zip(y) {
                let u = (s - mean) / sd;
                let p = sigmoid(a * u + b);
                let e = p - target(v);
                let w = p * (1.0 - p);
                ga += e * u;
                gb += e;
                haa += w * u * u;
                hab += w * u;
                hbb += w;
            }
            let (ga, gb) = (ga / n, gb / n);
            grad_norm = ga.abs().max(gb.abs());
            if grad_norm <= 1e-10 {
                return Ok(Platt { a: a / sd, b: b - a * mean / sd });
            }
            let step = solve_spd(&[haa / n, hab / n, hab / n, hbb / n], &[ga, gb], 2).ok_or(FitError::Singular)?;
            let slope = ga * step[0] + gb * step[1];
            let noise = 1e-13 * (1.0 + f.abs());
            let mut t = 1.0;
            let mut moved = false;
            for _ in 0..40 {
                let (ca, cb) = (a - t * step[0], b - t * step[1]);
                let fc = objective(ca, cb);
                if fc.is_finite() && fc <= f - 1e-4 * t * slope + noise {
                    (a, b, f, moved) = (ca, cb, fc, true);
                    break;
                }
                t *= 0.5;
            }
            if !moved {
                if grad_norm <= 1e-7 {
                    return Ok(Platt { a: a / sd, b: b - a * mean / sd });
                }
                break;
            }
        }
        Err(FitError::NotConverged { iterations: 100, grad_norm })
    }

    /// `sigmoid(a·s + b)`; NaN for a NaN score.
    pub fn apply(&self, s: f64) -> f64 {
        sigmoid(self.a * s + self.b)
    }
}

/// Isotonic calibration: knots `(xs[k], ys[k])` with strictly increasing `xs` (scores) and non-decreasing
/// `ys` in [0, 1]; between knots the map is linear, outside them it is clamped to the end values.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Isotonic {
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
}

/// A pooled run of sorted samples.
#[derive(Clone, Copy, Debug)]
struct Block {
    /// Number of samples.
    w: f64,
    /// Sum of labels (wins).
    sum_y: f64,
    /// Sum of scores.
    sum_s: f64,
    /// Lowest and highest score in the block (to keep the mean score inside the block despite rounding).
    lo: f64,
    hi: f64,
}

impl Block {
    fn mean_y(&self) -> f64 {
        self.sum_y / self.w
    }

    fn merge(&self, o: &Block) -> Block {
        Block {
            w: self.w + o.w,
            sum_y: self.sum_y + o.sum_y,
            sum_s: self.sum_s + o.sum_s,
            lo: self.lo.min(o.lo),
            hi: self.hi.max(o.hi),
        }
    }

    /// The increase in the squared error when pooling two blocks into one.
    fn merge_cost(&self, o: &Block) -> f64 {
        let d = self.mean_y() - o.mean_y();
        self.w * o.w / (self.w + o.w) * d * d
    }
}

/// Pool-adjacent-violators on samples sorted by score, ties pooled first. Returns the blocks of the
/// least-squares non-decreasing fit (adjacent blocks have strictly increasing means).
fn pav(scores: &[f64], y: &[bool]) -> Vec<Block> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| scores[i].total_cmp(&scores[j]));
    // Ties first: one group per distinct score.
    let mut groups: Vec<Block> = Vec::new();
    for &i in &order {
        let s = scores[i];
        let b = Block { w: 1.0, sum_y: f64::from(u8::from(y[i])), sum_s: s, lo: s, hi: s };
        match groups.last_mut() {
            Some(last) if last.hi == s => *last = last.merge(&b),
            _ => groups.push(b),
        }
    }
    // Then pool adjacent violators, backwards from each new group while the order is violated (or equal:
    // pooling equal means changes no fitted value and saves a knot).
    let mut blocks: Vec<Block> = Vec::with_capacity(groups.len());
    for g in groups {
        blocks.push(g);
        while let [.., a, c] = blocks.as_slice() {
            // a.mean ≥ c.mean, compared without division.
            if a.sum_y * c.w < c.sum_y * a.w {
                break;
            }
            let pooled = a.merge(c);
            blocks.pop();
            if let Some(last) = blocks.last_mut() {
                *last = pooled;
            }
        }
    }
    blocks
}

/// A merge candidate in the knot reduction, cheapest first (then leftmost, for determinism).
#[derive(Debug)]
struct Candidate {
    cost: f64,
    left: usize,
    /// The versions of the left block and its right neighbour when this was computed; stale otherwise.
    stamp: (u64, u64),
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reverse so that the smallest cost comes out first.
        other.cost.total_cmp(&self.cost).then_with(|| other.left.cmp(&self.left))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Merges adjacent blocks, cheapest squared-error increase first, until at most `max` remain. A merged
/// block's mean lies between its two parts' means, so the sequence stays non-decreasing.
fn reduce(blocks: Vec<Block>, max: usize) -> Vec<Block> {
    let m = blocks.len();
    if m <= max {
        return blocks;
    }
    let mut blocks = blocks;
    let mut alive = vec![true; m];
    let mut version = vec![0u64; m];
    let mut prev: Vec<Option<usize>> = (0..m).map(|i| i.checked_sub(1)).collect();
    let mut next: Vec<Option<usize>> = (0..m).map(|i| (i + 1 < m).then_some(i + 1)).collect();
    let mut heap = BinaryHeap::with_capacity(m);
    for i in 0..m - 1 {
        heap.push(Candidate { cost: blocks[i].merge_cost(&blocks[i + 1]), left: i, stamp: (0, 0) });
    }
    let mut count = m;
    while count > max {
        let Some(c) = heap.pop() else { break };
        let l = c.left;
        let Some(r) = next[l] else { continue };
        if !alive[l] || c.stamp != (version[l], version[r]) {
            continue; // stale
        }
        blocks[l] = blocks[l].merge(&blocks[r]);
        alive[r] = false;
        version[l] += 1;
        next[l] = next[r];
        if let Some(nr) = next[r] {
            prev[nr] = Some(l);
            heap.push(Candidate { cost: blocks[l].merge_cost(&blocks[nr]), left: l, stamp: (version[l], version[nr]) });
        }
        if let Some(pl) = prev[l] {
            heap.push(Candidate {
                cost: blocks[pl].merge_cost(&blocks[l]),
                left: pl,
                stamp: (version[pl], version[l]),
            });
        }
        count -= 1;
    }
    blocks.into_iter().zip(alive).filter_map(|(b, a)| a.then_some(b)).collect()
}

impl Isotonic {
    /// Fits the isotonic (non-decreasing) regression of `y` on `scores` and keeps at most `max_knots`
    /// knots, placed at the blocks' mean scores with the blocks' win rates.
    ///
    /// Errors: empty, lengths differ, one class only, a non-finite score, `max_knots` = 0.
    pub fn fit(scores: &[f64], y: &[bool], max_knots: usize) -> Result<Isotonic, FitError> {
        if max_knots == 0 {
            return Err(FitError::BadParam("an isotonic calibration needs at least one knot".into()));
        }
        check(scores, y)?;
        let blocks = reduce(pav(scores, y), max_knots);
        let mut xs = Vec::with_capacity(blocks.len());
        let mut ys = Vec::with_capacity(blocks.len());
        for b in &blocks {
            // Blocks cover disjoint increasing score ranges, so clamped means are strictly increasing.
            xs.push((b.sum_s / b.w).clamp(b.lo, b.hi));
            ys.push(b.mean_y().clamp(0.0, 1.0));
        }
        Ok(Isotonic { xs, ys })
    }

    /// The calibrated probability: linear interpolation between knots, clamped at the ends; NaN for a
    /// NaN score or an empty calibrator.
    pub fn apply(&self, s: f64) -> f64 {
        let (xs, ys) = (&self.xs, &self.ys);
        let n = xs.len().min(ys.len());
        if n == 0 || s.is_nan() {
            return f64::NAN;
        }
        if s <= xs[0] {
            return ys[0];
        }
        if s >= xs[n - 1] {
            return ys[n - 1];
        }
        // xs[i] ≤ s < xs[i + 1]
        let i = xs[..n].partition_point(|&x| x <= s) - 1;
        let (x0, x1, y0, y1) = (xs[i], xs[i + 1], ys[i], ys[i + 1]);
        let t = (s - x0) / (x1 - x0);
        let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 };
        // Kept between the two knots despite rounding (max/min rather than clamp: no panic on NaN knots).
        (y0 + (y1 - y0) * t).max(y0.min(y1)).min(y0.max(y1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::SplitMix;
    use proptest::prelude::*;

    /// Brute force: the isotonic regression's value at sorted position i is
    /// max over j ≤ i of min over k ≥ i of the mean of y[j..=k] (Barlow et al.'s min–max formula),
    /// computed on tie-pooled groups.
    fn brute_force(scores: &[f64], y: &[bool]) -> Vec<(f64, f64)> {
        let mut pairs: Vec<(f64, f64)> = scores.iter().zip(y).map(|(&s, &v)| (s, f64::from(u8::from(v)))).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Groups of equal scores: (score, sum, count).
        let mut groups: Vec<(f64, f64, f64)> = Vec::new();
        for (s, v) in pairs {
            match groups.last_mut() {
                Some(g) if g.0 == s => {
                    g.1 += v;
                    g.2 += 1.0;
                }
                _ => groups.push((s, v, 1.0)),
            }
        }
        let m = groups.len();
        (0..m)
            .map(|i| {
                let mut best = f64::NEG_INFINITY;
                for j in 0..=i {
                    let mut inner = f64::INFINITY;
                    for k in i..m {
                        let (sum, cnt) = groups[j..=k].iter().fold((0.0, 0.0), |a, g| (a.0 + g.1, a.1 + g.2));
                        inner = inner.min(sum / cnt);
                    }
                    best = best.max(inner);
                }
                (groups[i].0, best)
            })
            .collect()
    }

    /// The fitted value at each distinct score, from the PAV blocks.
    fn pav_values(scores: &[f64], y: &[bool]) -> Vec<(f64, f64)> {
        let blocks = pav(scores, y);
        let mut distinct: Vec<f64> = scores.to_vec();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        distinct
            .iter()
            .map(|&s| {
                let b = blocks.iter().find(|b| b.lo <= s && s <= b.hi).expect("every score is in a block");
                (s, b.mean_y())
            })
            .collect()
    }

    #[test]
    fn pav_known_answer() {
        // Sorted y: 0 1 0 1 1 0 → pools (1,0) and (1,1,0): 0, ½, ½, ⅔, ⅔, ⅔.
        let scores = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [false, true, false, true, true, false];
        let iso = Isotonic::fit(&scores, &y, 100).unwrap();
        assert_eq!(iso.xs, vec![1.0, 2.5, 5.0]);
        assert_eq!(iso.ys, vec![0.0, 0.5, 2.0 / 3.0]);
        assert_eq!(iso.apply(0.0), 0.0);
        assert_eq!(iso.apply(10.0), 2.0 / 3.0);
        assert!((iso.apply(1.75) - 0.25).abs() < 1e-15);
        // Ties are pooled before anything else: two samples at score 1, one win.
        let iso = Isotonic::fit(&[1.0, 1.0, 2.0], &[true, false, true], 10).unwrap();
        assert_eq!((iso.xs, iso.ys), (vec![1.0, 2.0], vec![0.5, 1.0]));
    }

    #[test]
    fn knot_reduction_merges_the_cheapest_pair() {
        // Sorted y = 0 0 0 1 0 1 1 1 at scores 1..=8. PAV blocks: {0,0,0} = 0 (w 3, mean score 2),
        // {1,0} = ½ (w 2, mean score 4.5), {1,1,1} = 1 (w 3, mean score 7).
        let scores: Vec<f64> = (1..=8).map(f64::from).collect();
        let y = [false, false, false, true, false, true, true, true];
        let full = Isotonic::fit(&scores, &y, 10).unwrap();
        assert_eq!(full.ys, vec![0.0, 0.5, 1.0]);
        // Costs: merge(0,½) = 3·2/5·¼ = 0.3; merge(½,1) = 0.3 too → tie, the leftmost goes first:
        // {0,0,0,1,0} = 0.2 at mean score 3, then {1,1,1} = 1 at mean score 7.
        let two = Isotonic::fit(&scores, &y, 2).unwrap();
        assert_eq!(two.xs, vec![3.0, 7.0]);
        assert_eq!(two.ys, vec![0.2, 1.0]);
        let one = Isotonic::fit(&scores, &y, 1).unwrap();
        assert_eq!((one.xs, one.ys), (vec![4.5], vec![0.5]));
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(Isotonic::fit(&[], &[], 5), Err(FitError::Empty { .. })));
        assert!(matches!(Isotonic::fit(&[1.0, 2.0], &[true, true], 5), Err(FitError::OneClass { .. })));
        assert!(matches!(Isotonic::fit(&[1.0, f64::NAN], &[true, false], 5), Err(FitError::NonFinite { .. })));
        assert!(matches!(Isotonic::fit(&[1.0, 2.0], &[true, false], 0), Err(FitError::BadParam(_))));
        assert!(matches!(Platt::fit(&[1.0], &[true, false]), Err(FitError::LengthMismatch { .. })));
        assert!(matches!(Platt::fit(&[1.0, 2.0], &[false, false]), Err(FitError::OneClass { .. })));
        assert!(matches!(Platt::fit(&[1.0, f64::INFINITY], &[true, false]), Err(FitError::NonFinite { .. })));
        assert!(Isotonic { xs: vec![], ys: vec![] }.apply(0.3).is_nan());
    }

    #[test]
    fn platt_recovers_a_known_sigmoid() {
        let (a, b) = (1.5, -0.7);
        let mut rng = SplitMix(42);
        let n = 200_000;
        let scores: Vec<f64> = (0..n).map(|_| -4.0 + 8.0 * rng.uniform()).collect();
        let y: Vec<bool> = scores.iter().map(|&s| rng.uniform() < sigmoid(a * s + b)).collect();
        let fit = Platt::fit(&scores, &y).unwrap();
        // Standard errors at this n are ≈ 0.006 (a) and ≈ 0.006 (b).
        assert!((fit.a - a).abs() < 0.03 && (fit.b - b).abs() < 0.03, "{fit:?}");
        assert!((fit.apply(0.0) - sigmoid(b)).abs() < 0.01);
    }

    #[test]
    fn platt_on_separable_scores_is_finite_and_matches_smoothed_targets() {
        // Losses at −1, wins at +1, two each: smoothed targets ¼ and ¾. With a symmetric design the
        // optimum fits them exactly: sigmoid(−a + b) = ¼ and sigmoid(a + b) = ¾ → a = ln 3, b = 0.
        let fit = Platt::fit(&[-1.0, -1.0, 1.0, 1.0], &[false, false, true, true]).unwrap();
        assert!((fit.a - 3f64.ln()).abs() < 1e-9 && fit.b.abs() < 1e-9, "{fit:?}");
        // Constant scores: the documented fallback a = 0, b = logit of the mean smoothed target.
        let c = Platt::fit(&[2.0, 2.0, 2.0], &[true, false, false]).unwrap();
        let mean_t = (2.0 / 3.0 + 2.0 * 0.25) / 3.0;
        assert_eq!(c.a, 0.0);
        assert!((sigmoid(c.b) - mean_t).abs() < 1e-12);
    }

    #[test]
    fn large_fit_is_fast_and_reduced() {
        let mut rng = SplitMix(9);
        let scores: Vec<f64> = (0..100_000).map(|_| rng.normal() * 2.0).collect();
        let y: Vec<bool> = scores.iter().map(|&s| rng.uniform() < sigmoid(s)).collect();
        let iso = Isotonic::fit(&scores, &y, 20).unwrap();
        assert!(iso.xs.len() <= 20 && iso.xs.len() >= 10, "{}", iso.xs.len());
        // Close to the true curve in the bulk.
        for s in [-1.0, 0.0, 1.0] {
            assert!((iso.apply(s) - sigmoid(s)).abs() < 0.05, "{s}: {}", iso.apply(s));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn pav_equals_brute_force(data in proptest::collection::vec((0u8..8, any::<bool>()), 1..14)) {
            let scores: Vec<f64> = data.iter().map(|d| f64::from(d.0)).collect();
            let y: Vec<bool> = data.iter().map(|d| d.1).collect();
            let got = pav_values(&scores, &y);
            let want = brute_force(&scores, &y);
            prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                prop_assert_eq!(g.0, w.0);
                prop_assert!((g.1 - w.1).abs() < 1e-12, "{:?} vs {:?}", got, want);
            }
            prop_assert!(got.windows(2).all(|p| p[0].1 <= p[1].1));
        }

        #[test]
        fn knots_and_apply_are_monotone_and_bounded(
            data in proptest::collection::vec((-50.0f64..50.0, any::<bool>()), 2..300),
            max_knots in 1usize..30,
            probes in proptest::collection::vec(-100.0f64..100.0, 1..50),
        ) {
            let scores: Vec<f64> = data.iter().map(|d| d.0).collect();
            let y: Vec<bool> = data.iter().map(|d| d.1).collect();
            prop_assume!(y.iter().any(|&v| v) && y.iter().any(|&v| !v));
            let iso = Isotonic::fit(&scores, &y, max_knots).unwrap();
            prop_assert!(!iso.xs.is_empty() && iso.xs.len() <= max_knots);
            prop_assert_eq!(iso.xs.len(), iso.ys.len());
            prop_assert!(iso.xs.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(iso.ys.windows(2).all(|w| w[0] <= w[1]));
            let mut probes = probes;
            probes.extend_from_slice(&iso.xs);
            probes.sort_by(f64::total_cmp);
            let out: Vec<f64> = probes.iter().map(|&s| iso.apply(s)).collect();
            prop_assert!(out.iter().all(|p| (0.0..=1.0).contains(p)));
            prop_assert!(out.windows(2).all(|w| w[0] <= w[1]), "{:?}", out);
            // The knots are hit exactly.
            for (x, yv) in iso.xs.iter().zip(&iso.ys) {
                prop_assert_eq!(iso.apply(*x), *yv);
            }
            // Knot reduction keeps the mass: the knots' weighted mean equals the base rate when no
            // reduction was needed at all (one knot: it is the base rate).
            if max_knots == 1 {
                let rate = y.iter().filter(|&&v| v).count() as f64 / y.len() as f64;
                prop_assert!((iso.ys[0] - rate).abs() < 1e-12);
            }
        }
    }
}
