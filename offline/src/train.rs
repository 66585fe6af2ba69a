//! Labelled candidates → validated, calibrated models → ONNX + cards: the work of `kestrel train`.
//!
//! 1. **Features.** Every schema feature that is finite in at least 95 % of the candidates and not
//!    constant (minus any the user excludes, and the price levels unless asked), in schema order. In
//!    the trade's frame ([`InputFrame::Trade`], the default) the directional features are read times
//!    +1 for a buy and −1 for a sell (and, when asked, the side is the last input): the rows are built with the
//!    engine's own `ModelInputs::value`, so training and the hot loop read the same numbers. A NaN is
//!    replaced by the mean of the training rows (per fold in validation, over all rows for the final
//!    model): the final means are the card's `fill`, which the engine feeds while a feature is
//!    undefined.
//! 2. **Walk-forward validation** ([`crate::split::walk_forward`], default 5 splits) with an embargo
//!    (default: the labels' `max_hold`) and purging (a training label whose horizon reaches into the
//!    test block or its embargo is dropped). In each fold: the logistic model is fitted on the first
//!    75 % of the training window (purged of labels that reach the calibration part), calibrated on the
//!    last 25 % (isotonic or Platt), and scored on the test block against the training base rate. The
//!    pooled out-of-sample predictions give the headline metrics, the Brier skill score and the
//!    reliability table. The slippage ridge is fitted on the whole training window and scored by MAE
//!    and R² against predicting the training mean.
//! 3. **Purged K-fold** ([`crate::split::purged_kfold`], default k = 5): the same per-fold procedure
//!    with training data on both sides of the test block; one summary line (a check that the
//!    walk-forward figures are not an accident of the split).
//! 4. **Final models** on all candidates (calibration on the last 25 %), exported with
//!    `kestrel_infer::export` (Platt folds into the weights: `a·(w·x + b) + c`; isotonic becomes the
//!    graph's piecewise-linear map on the sigmoid's output).
//!
//! Everything is deterministic: no random numbers, no wall clock, one thread; the same dataset and
//! options give the same bytes.

use crate::calibrate::{Isotonic, Platt};
use crate::dataset::{Candidate, Dataset, tape_label};
use crate::logistic::{FitError, LinearFit, fit_logistic, sigmoid};
use crate::matrix::Matrix;
use crate::metrics;
use crate::provenance::{content_version, rfc3339_seconds};
use crate::ridge::fit_ridge;
use crate::split;
use kestrel_engine::decide::model::{ModelInputs, SIDE_INPUT, side_sign};
use kestrel_engine::features::{DIRECTIONAL, FEATURES, PRICE_LEVELS, SCHEMA_VERSION};
use kestrel_infer::card::{
    CARD_FORMAT, CARD_VERSION, CardFeature, ModelCard, SIDE_FEATURE, SchemaRef, TensorSpec, TradeStats, Training,
    engine_schema_hash,
};
use kestrel_infer::{LinearModel, Link, PiecewiseLinear};
use serde_json::{Map, Value, json};

/// The input name of every model `kestrel train` writes (the card's `input.name`).
pub const INPUT_NAME: &str = "features";
pub const PWIN_OUTPUT: &str = "p_win";
pub const SLIPPAGE_OUTPUT: &str = "slippage_bps";
/// Share of a training window (its latest part) that calibrates the classifier.
pub const CALIBRATION_SHARE: f64 = 0.25;
/// Bins of the reliability table and plot.
pub const RELIABILITY_BINS: usize = 10;
/// Least share of candidates in which a feature must be finite to be used.
pub const MIN_FINITE_SHARE: f64 = 0.95;
/// Least samples in a fold's fitting set, calibration set and test block.
pub const MIN_FIT: usize = 30;
pub const MIN_CALIBRATION: usize = 10;
pub const MIN_TEST: usize = 10;

/// How the classifier's scores become probabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calibration {
    /// Pool-adjacent-violators on the sigmoid's output, at most [`TrainOptions::isotonic_knots`]
    /// knots, linear between them: the ONNX graph's piecewise-linear map.
    Isotonic,
    /// `sigmoid(a·z + c)` on the logit `z`, folded into the linear weights.
    Platt,
}

impl Calibration {
    pub fn as_str(self) -> &'static str {
        match self {
            Calibration::Isotonic => "isotonic",
            Calibration::Platt => "platt",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    pub calibration: Calibration,
    /// Walk-forward splits.
    pub splits: usize,
    /// Folds of the purged K-fold check.
    pub kfold: usize,
    /// When a walk-forward fold would have too few samples, use fewer splits, down to 2, and say
    /// so, rather than refuse (for short tapes, with the defaults).
    pub fewer_splits: bool,
    /// The same for the K-fold check.
    pub fewer_kfold: bool,
    /// `None`: the labels' `max_hold`.
    pub embargo_ns: Option<u64>,
    /// L2 penalty of the logistic and the ridge fits (on standardised features).
    pub l2: f64,
    pub isotonic_knots: usize,
    /// Schema names never used as inputs.
    pub exclude: Vec<String>,
    /// How directional features and the side reach the models.
    pub frame: InputFrame,
    /// Use the price-level features ([`PRICE_LEVELS`]) too.
    pub price_levels: bool,
    /// Give the models the side itself as an input (trade frame only). Off by default: over a
    /// training window the side mostly says which way the market trended then, which the test
    /// block does not repeat.
    pub side_input: bool,
    /// `created_at` of the cards, Unix seconds (`SOURCE_DATE_EPOCH`); `None`: the last tape event.
    pub created_at_s: Option<u64>,
    /// Free-form provenance added to the cards' `training.method` (the synthetic tapes' seeds…).
    pub provenance: Map<String, Value>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            calibration: Calibration::Isotonic,
            splits: 5,
            kfold: 5,
            fewer_splits: false,
            fewer_kfold: false,
            embargo_ns: None,
            l2: 1.0,
            isotonic_knots: 32,
            exclude: Vec::new(),
            frame: InputFrame::Trade,
            price_levels: false,
            side_input: false,
            created_at_s: None,
            provenance: Map::new(),
        }
    }
}

impl TrainOptions {
    /// Checks the options on their own (before any tape is read).
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.splits < 1 || self.kfold < 2 {
            return Err(TrainError::Options("--splits must be at least 1 and --kfold at least 2".into()));
        }
        if !(self.l2.is_finite() && self.l2 > 0.0) {
            return Err(TrainError::Options(format!("--l2 = {}: must be a finite number > 0", self.l2)));
        }
        if self.isotonic_knots < 2 {
            return Err(TrainError::Options("--isotonic-knots must be at least 2".into()));
        }
        for name in &self.exclude {
            if !FEATURES.iter().any(|f| f.name == name) {
                return Err(TrainError::Options(format!(
                    "--exclude {name}: not a feature of the engine's schema (`kestrel features --list-columns` lists them)"
                )));
            }
        }
        Ok(())
    }
}

/// Why training refused (every message says what to try).
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(
        "no candidates: the strategy proposed no entry whose label could be decided on these tapes ({0}); \
         use longer tapes, a lower strategy.imbalance_threshold, or a shorter --max-hold"
    )]
    NoCandidates(String),
    #[error(
        "only one class: all {n} candidates are {what}; no classifier can be trained. Try other barriers \
         (--profit-mult / --stop-mult / --min-bps) or more data"
    )]
    OneClass { n: usize, what: &'static str },
    #[error("no usable features: {0}")]
    NoFeatures(String),
    #[error("too few samples: {0}")]
    TooFew(String),
    #[error("{0}")]
    Options(String),
    #[error("{what}: {source}")]
    Fit {
        what: String,
        #[source]
        source: FitError,
    },
    #[error("{0}")]
    Split(String),
}

/// How directional features reach the models (see `ModelInputs` in the engine).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFrame {
    /// Directional features ([`DIRECTIONAL`]) in the trade's frame (times +1 for a buy, −1 for a
    /// sell; the card marks them `signed`), and the side itself as an input when asked
    /// ([`TrainOptions::side_input`]): a model can learn "the book leans my way" once for both sides.
    Trade,
    /// Every feature as the engine computes it, no side: the model cannot tell a buy from a sell.
    Raw,
}

impl InputFrame {
    pub fn as_str(self) -> &'static str {
        match self {
            InputFrame::Trade => "trade",
            InputFrame::Raw => "raw",
        }
    }
}

/// The selected inputs, in schema order (the side, when used, last).
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    /// What each input reads: schema index or [`SIDE_INPUT`], and whether it is signed. Its `fill`
    /// is unused here: each fit has its own means.
    pub inputs: ModelInputs,
    /// Why each other schema feature was left out: (name, reason).
    pub dropped: Vec<(String, String)>,
}

impl Selection {
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Input names as the card writes them.
    pub fn names(&self) -> Vec<&'static str> {
        self.inputs.index.iter().map(|&i| if i == SIDE_INPUT { SIDE_FEATURE } else { FEATURES[i].name }).collect()
    }

    /// Input `k` of candidate `c`, exactly as the engine gathers it (NaN while undefined).
    fn value(&self, k: usize, c: &Candidate) -> f64 {
        self.inputs.value(k, &c.features, side_sign(c.side))
    }
}

/// Picks the features (see the module docs).
pub fn select_features(
    candidates: &[Candidate],
    exclude: &[String],
    frame: InputFrame,
    price_levels: bool,
    side_input: bool,
) -> Result<Selection, TrainError> {
    for name in exclude {
        if !FEATURES.iter().any(|f| f.name == name) {
            return Err(TrainError::Options(format!(
                "--exclude {name}: not a feature of the engine's schema (`kestrel features --list-columns` lists them)"
            )));
        }
    }
    let n = candidates.len();
    let mut index = Vec::new();
    let mut signed = Vec::new();
    let mut dropped = Vec::new();
    for (j, def) in FEATURES.iter().enumerate() {
        if exclude.iter().any(|e| e == def.name) {
            dropped.push((def.name.to_string(), "excluded (--exclude)".to_string()));
            continue;
        }
        if !price_levels && PRICE_LEVELS.contains(&j) {
            dropped.push((def.name.to_string(), "a price level (--price-levels uses it)".to_string()));
            continue;
        }
        let sign = frame == InputFrame::Trade && DIRECTIONAL.contains(&j);
        let one = ModelInputs { index: vec![j], fill: vec![0.0], signed: vec![sign] };
        let mut finite = 0usize;
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for c in candidates {
            let v = one.value(0, &c.features, side_sign(c.side));
            if v.is_finite() {
                finite += 1;
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        let share = if n == 0 { 0.0 } else { finite as f64 / n as f64 };
        if share < MIN_FINITE_SHARE {
            dropped.push((def.name.to_string(), format!("finite in {:.1} % of candidates (< 95 %)", share * 100.0)));
        } else if lo == hi {
            dropped.push((def.name.to_string(), format!("constant ({lo})")));
        } else {
            index.push(j);
            signed.push(sign);
        }
    }
    if index.is_empty() {
        return Err(TrainError::NoFeatures(format!(
            "no schema feature is finite in 95 % of the {n} candidates and varies; use longer tapes (features \
             based on bars need minutes of history)"
        )));
    }
    if side_input && frame == InputFrame::Trade {
        let buys = candidates.iter().filter(|c| c.is_long()).count();
        if buys == 0 || buys == n {
            dropped.push((SIDE_FEATURE.to_string(), "constant: every candidate is on the same side".to_string()));
        } else {
            index.push(SIDE_INPUT);
            signed.push(false);
        }
    }
    let fill = vec![0.0; index.len()];
    Ok(Selection { inputs: ModelInputs { index, fill, signed }, dropped })
}

/// Per input, the mean of its finite values over `rows` (0 when it has none there).
fn column_means(candidates: &[Candidate], rows: &[usize], sel: &Selection) -> Vec<f64> {
    (0..sel.len())
        .map(|k| {
            let (mut sum, mut n) = (0.0, 0usize);
            for &r in rows {
                let v = sel.value(k, &candidates[r]);
                if v.is_finite() {
                    sum += v;
                    n += 1;
                }
            }
            if n == 0 { 0.0 } else { sum / n as f64 }
        })
        .collect()
}

/// One row of inputs, NaN (and ±∞) replaced by `fill`.
fn inputs(c: &Candidate, sel: &Selection, fill: &[f64]) -> Vec<f64> {
    fill.iter()
        .enumerate()
        .map(|(k, &f)| {
            let v = sel.value(k, c);
            if v.is_finite() { v } else { f }
        })
        .collect()
}

fn design(candidates: &[Candidate], rows: &[usize], sel: &Selection, fill: &[f64]) -> Matrix {
    let mut data = Vec::with_capacity(rows.len() * sel.len());
    for &r in rows {
        data.extend(inputs(&candidates[r], sel, fill));
    }
    Matrix { rows: rows.len(), cols: sel.len(), data }
}

/// A fitted, calibrated classifier: `calibrate(sigmoid(w·x + b))`.
#[derive(Clone, Debug, PartialEq)]
pub struct Classifier {
    pub fit: LinearFit,
    pub calibration: Calibrator,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Calibrator {
    /// Applied to the logit.
    Platt(Platt),
    /// Applied to the sigmoid's output.
    Isotonic(Isotonic),
}

impl Classifier {
    pub fn predict(&self, x: &[f64]) -> f64 {
        let z = self.fit.predict_raw(x);
        match &self.calibration {
            Calibrator::Platt(p) => p.apply(z),
            Calibrator::Isotonic(i) => i.apply(sigmoid(z)),
        }
    }
}

/// The calibration split of a training window (sorted by time): the first part fits, the last
/// [`CALIBRATION_SHARE`] calibrates; fitting rows whose label ends at or after the first calibration
/// decision are purged.
fn calibration_split(candidates: &[Candidate], train: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let n_cal = ((train.len() as f64) * CALIBRATION_SHARE).ceil() as usize;
    let cut = train.len().saturating_sub(n_cal);
    let cal = train[cut..].to_vec();
    let first_cal = cal.first().map_or(u64::MAX, |&r| candidates[r].ts_ns);
    let fit = train[..cut].iter().copied().filter(|&r| candidates[r].label.end_ns < first_cal).collect();
    (fit, cal)
}

fn labels(candidates: &[Candidate], rows: &[usize]) -> Vec<bool> {
    rows.iter().map(|&r| candidates[r].label.win).collect()
}

/// Fits and calibrates a classifier on `train` (sorted by time). `what` names the fold in errors.
fn fit_classifier(
    candidates: &[Candidate],
    train: &[usize],
    sel: &Selection,
    fill: &[f64],
    opts: &TrainOptions,
    what: &str,
) -> Result<Classifier, TrainError> {
    let (fit_rows, cal_rows) = calibration_split(candidates, train);
    check_counts(candidates, &fit_rows, MIN_FIT, &format!("{what}: fitting set (first 75 % of training)"))?;
    check_counts(candidates, &cal_rows, MIN_CALIBRATION, &format!("{what}: calibration set (last 25 % of training)"))?;
    let x = design(candidates, &fit_rows, sel, fill);
    let fit = fit_logistic(&x, &labels(candidates, &fit_rows), opts.l2)
        .map_err(|source| TrainError::Fit { what: format!("{what}: logistic fit"), source })?;
    let z: Vec<f64> = cal_rows.iter().map(|&r| fit.predict_raw(&inputs(&candidates[r], sel, fill))).collect();
    let y = labels(candidates, &cal_rows);
    let calibration = match opts.calibration {
        Calibration::Platt => Calibrator::Platt(
            Platt::fit(&z, &y)
                .map_err(|source| TrainError::Fit { what: format!("{what}: Platt calibration"), source })?,
        ),
        Calibration::Isotonic => {
            let s: Vec<f64> = z.iter().map(|&v| sigmoid(v)).collect();
            Calibrator::Isotonic(isotonic_with_min_block(&s, &y, opts.isotonic_knots))
        }
    };
    Ok(Classifier { fit, calibration })
}

/// Least calibration samples behind one isotonic knot.
pub const MIN_ISOTONIC_BLOCK: usize = 20;

/// Isotonic calibration that never claims more than its data supports. Plain pool-adjacent-violators
/// ([`Isotonic::fit`]) puts a knot on every pooled run, and the runs at the ends are often a handful of
/// samples that are all wins or all losses: a knot at exactly 0 or 1, which then scores every test row
/// beyond it (a regime the training data did not see) with certainty, and an out-of-sample log-loss
/// in the tens. Here, after PAV, adjacent blocks are pooled left to right until each holds at least
/// `max(`[`MIN_ISOTONIC_BLOCK`]`, n / max_knots)` samples (the last short run joins its neighbour), the
/// cheapest adjacent pairs are then merged down to `max_knots`, and each knot's win rate is kept within
/// `[1/(2·b+2), 1 − 1/(2·b+2)]`, `b` the least block size. Pooling adjacent blocks of a non-decreasing
/// fit keeps it non-decreasing; the knots are `(mean score, win rate)` of each block as in
/// [`Isotonic::fit`], applied by linear interpolation, clamped at the ends ([`Isotonic::apply`]).
pub fn isotonic_with_min_block(s: &[f64], y: &[bool], max_knots: usize) -> Isotonic {
    #[derive(Clone, Copy)]
    struct B {
        w: f64,
        sy: f64,
        ss: f64,
        lo: f64,
        hi: f64,
    }
    let merge =
        |a: B, b: B| B { w: a.w + b.w, sy: a.sy + b.sy, ss: a.ss + b.ss, lo: a.lo.min(b.lo), hi: a.hi.max(b.hi) };
    let mut order: Vec<usize> = (0..s.len().min(y.len())).filter(|&i| s[i].is_finite()).collect();
    order.sort_by(|&i, &j| s[i].total_cmp(&s[j]));
    let mut blocks: Vec<B> = Vec::new();
    for &i in &order {
        let b = B { w: 1.0, sy: f64::from(u8::from(y[i])), ss: s[i], lo: s[i], hi: s[i] };
        match blocks.last_mut() {
            Some(last) if last.hi == s[i] => *last = merge(*last, b), // ties pool first
            _ => blocks.push(b),
        }
        while blocks.len() >= 2 {
            let (a, c) = (blocks[blocks.len() - 2], blocks[blocks.len() - 1]);
            if a.sy * c.w >= c.sy * a.w {
                blocks.pop();
                blocks.pop();
                blocks.push(merge(a, c));
            } else {
                break;
            }
        }
    }
    let n = order.len();
    let max_knots = max_knots.max(1);
    let min_block = MIN_ISOTONIC_BLOCK.max(n.div_ceil(max_knots)) as f64;
    let mut pooled: Vec<B> = Vec::new();
    let mut acc: Option<B> = None;
    for b in blocks {
        let cur = acc.map_or(b, |a| merge(a, b));
        if cur.w >= min_block {
            pooled.push(cur);
            acc = None;
        } else {
            acc = Some(cur);
        }
    }
    if let Some(rest) = acc {
        match pooled.last_mut() {
            Some(last) => *last = merge(*last, rest),
            None => pooled.push(rest),
        }
    }
    while pooled.len() > max_knots {
        let mean = |b: &B| b.sy / b.w;
        let cost = |a: &B, b: &B| a.w * b.w / (a.w + b.w) * (mean(a) - mean(b)).powi(2);
        let k = (0..pooled.len() - 1)
            .min_by(|&i, &j| cost(&pooled[i], &pooled[i + 1]).total_cmp(&cost(&pooled[j], &pooled[j + 1])))
            .unwrap_or(0);
        let m = merge(pooled[k], pooled[k + 1]);
        pooled[k] = m;
        pooled.remove(k + 1);
    }
    let eps = 1.0 / (2.0 * min_block.min(n.max(1) as f64) + 2.0);
    let xs = pooled.iter().map(|b| (b.ss / b.w).clamp(b.lo, b.hi)).collect();
    let ys = pooled.iter().map(|b| (b.sy / b.w).clamp(eps, 1.0 - eps)).collect();
    Isotonic { xs, ys }
}

/// At least `min` rows with both classes, or a refusal that says what to try.
fn check_counts(candidates: &[Candidate], rows: &[usize], min: usize, what: &str) -> Result<(), TrainError> {
    let wins = rows.iter().filter(|&&r| candidates[r].label.win).count();
    if rows.len() < min || wins == 0 || wins == rows.len() {
        return Err(TrainError::TooFew(format!(
            "{what} has {} samples ({wins} wins, {} losses); it needs at least {min} with both classes. \
             Try fewer --splits (or --kfold), a shorter --embargo, or longer / more tapes",
            rows.len(),
            rows.len() - wins
        )));
    }
    Ok(())
}

/// One validation fold's out-of-sample results.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldResult {
    pub train_window: (u64, u64),
    pub test_window: (u64, u64),
    pub n_train: usize,
    pub purged: usize,
    pub scores: metrics::Scores,
    pub slippage: SlipScores,
    /// Test rows and their predictions (pooled afterwards).
    pub rows: Vec<usize>,
    pub p: Vec<f64>,
    pub base: f64,
    /// Slippage predictions on the test rows, and the training mean they are judged against.
    pub slip_pred: Vec<f64>,
    pub slip_base: f64,
    /// Win rates of buys and sells in the training window and in the test block (NaN without any).
    pub side_win_rates: SideWinRates,
}

/// Win rates by side, training window and test block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SideWinRates {
    pub train_buy: f64,
    pub train_sell: f64,
    pub test_buy: f64,
    pub test_sell: f64,
}

fn side_rate(candidates: &[Candidate], rows: &[usize], long: bool) -> f64 {
    let (mut n, mut w) = (0usize, 0usize);
    for &r in rows {
        if candidates[r].is_long() == long {
            n += 1;
            w += usize::from(candidates[r].label.win);
        }
    }
    if n == 0 { f64::NAN } else { w as f64 / n as f64 }
}

/// Slippage regression scores on a test block.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct SlipScores {
    pub n: usize,
    pub mae: f64,
    /// MAE of predicting the training mean.
    pub mae_base: f64,
    /// `1 − SSE / SSE(training mean)`.
    pub r2: f64,
}

fn slip_scores(pred: &[f64], base: f64, y: &[f64]) -> SlipScores {
    let n = y.len();
    let (mut ae, mut ae0, mut se, mut se0) = (0.0, 0.0, 0.0, 0.0);
    for (&p, &v) in pred.iter().zip(y) {
        ae += (p - v).abs();
        ae0 += (base - v).abs();
        se += (p - v) * (p - v);
        se0 += (base - v) * (base - v);
    }
    let nf = n.max(1) as f64;
    SlipScores { n, mae: ae / nf, mae_base: ae0 / nf, r2: if se0 > 0.0 { 1.0 - se / se0 } else { f64::NAN } }
}

/// Validation of both models on one split (train rows, test rows; both sorted by time).
fn run_fold(
    candidates: &[Candidate],
    train: &[usize],
    test: &[usize],
    purged: usize,
    sel: &Selection,
    opts: &TrainOptions,
    what: &str,
) -> Result<FoldResult, TrainError> {
    if test.len() < MIN_TEST {
        return Err(TrainError::TooFew(format!(
            "{what}: the test block has {} samples, at least {MIN_TEST} are needed. Try fewer --splits, a \
             shorter --embargo, or longer / more tapes",
            test.len()
        )));
    }
    let fill = column_means(candidates, train, sel);
    let clf = fit_classifier(candidates, train, sel, &fill, opts, what)?;
    let y_train = labels(candidates, train);
    let base = y_train.iter().filter(|&&v| v).count() as f64 / y_train.len() as f64;
    let p: Vec<f64> = test.iter().map(|&r| clf.predict(&inputs(&candidates[r], sel, &fill))).collect();
    let y_test = labels(candidates, test);
    let scores = metrics::score(&p, &y_test, base);
    // Slippage: ridge on the whole training window.
    let x = design(candidates, train, sel, &fill);
    let s_train: Vec<f64> = train.iter().map(|&r| candidates[r].slippage_bps).collect();
    let ridge = fit_ridge(&x, &s_train, opts.l2)
        .map_err(|source| TrainError::Fit { what: format!("{what}: slippage ridge fit"), source })?;
    let s_mean = s_train.iter().sum::<f64>() / s_train.len() as f64;
    let s_pred: Vec<f64> = test.iter().map(|&r| ridge.predict_raw(&inputs(&candidates[r], sel, &fill))).collect();
    let s_test: Vec<f64> = test.iter().map(|&r| candidates[r].slippage_bps).collect();
    let window = |rows: &[usize]| {
        (rows.first().map_or(0, |&r| candidates[r].ts_ns), rows.last().map_or(0, |&r| candidates[r].ts_ns))
    };
    Ok(FoldResult {
        train_window: window(train),
        test_window: window(test),
        n_train: train.len(),
        purged,
        scores,
        slippage: slip_scores(&s_pred, s_mean, &s_test),
        rows: test.to_vec(),
        p,
        base,
        slip_pred: s_pred,
        slip_base: s_mean,
        side_win_rates: SideWinRates {
            train_buy: side_rate(candidates, train, true),
            train_sell: side_rate(candidates, train, false),
            test_buy: side_rate(candidates, test, true),
            test_sell: side_rate(candidates, test, false),
        },
    })
}

/// Label intervals of the candidates, as the splits take them.
fn intervals(candidates: &[Candidate]) -> (Vec<u64>, Vec<u64>) {
    (candidates.iter().map(|c| c.ts_ns).collect(), candidates.iter().map(|c| c.label.end_ns.max(c.ts_ns)).collect())
}

/// Pooled out-of-sample results of a set of folds.
#[derive(Clone, Debug, PartialEq)]
pub struct Pooled {
    pub scores: metrics::Scores,
    pub brier_skill: f64,
    pub reliability: Vec<metrics::ReliabilityBin>,
    pub slippage: SlipScores,
}

fn pool(candidates: &[Candidate], folds: &[FoldResult]) -> Pooled {
    let (mut p, mut y, mut base_p) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ae, mut ae0, mut se, mut se0) = (0.0, 0.0, 0.0, 0.0);
    for f in folds {
        for ((&r, &pi), &si) in f.rows.iter().zip(&f.p).zip(&f.slip_pred) {
            p.push(pi);
            y.push(candidates[r].label.win);
            base_p.push(f.base);
            let v = candidates[r].slippage_bps;
            ae += (si - v).abs();
            ae0 += (f.slip_base - v).abs();
            se += (si - v) * (si - v);
            se0 += (f.slip_base - v) * (f.slip_base - v);
        }
    }
    let n = y.len();
    let base_rate = y.iter().filter(|&&v| v).count() as f64 / n.max(1) as f64;
    let mut scores = metrics::score(&p, &y, base_rate);
    // Each fold is judged against its own training base rate.
    scores.brier_base = metrics::brier(&base_p, &y);
    scores.log_loss_base = metrics::log_loss(&base_p, &y);
    let brier_skill = metrics::brier_skill(&scores);
    let reliability = metrics::reliability(&p, &y, RELIABILITY_BINS);
    let nf = n.max(1) as f64;
    Pooled {
        scores,
        brier_skill,
        reliability,
        slippage: SlipScores {
            n,
            mae: ae / nf,
            mae_base: ae0 / nf,
            r2: if se0 > 0.0 { 1.0 - se / se0 } else { f64::NAN },
        },
    }
}

/// Everything a training run produced, before anything is written.
#[derive(Debug)]
pub struct Trained {
    pub selection: Selection,
    pub fill: Vec<f64>,
    pub walk_forward: Vec<FoldResult>,
    pub pooled: Pooled,
    pub kfold: Vec<FoldResult>,
    pub kfold_pooled: Pooled,
    pub embargo_ns: u64,
    pub pwin: Exported,
    pub slippage: Exported,
    /// A few training rows (f32, filled) with the Rust-side predictions of both models, to check the
    /// written files against.
    pub probe_rows: Vec<Vec<f32>>,
    pub metrics_json: Value,
    pub reliability_svg: String,
}

/// A model ready to write: its graph, bytes, card and the Rust-side predictions on the probe rows.
#[derive(Debug)]
pub struct Exported {
    pub model: LinearModel,
    pub onnx: Vec<u8>,
    pub card: ModelCard,
    pub expected: Vec<f64>,
}

/// Runs the whole procedure on `data`; `log` receives each line of the printed report as it is known.
pub fn train(data: &Dataset, opts: &TrainOptions, log: &mut dyn FnMut(&str)) -> Result<Trained, TrainError> {
    let c = &data.candidates;
    if c.is_empty() {
        let why = data
            .tapes
            .iter()
            .map(|t| {
                format!(
                    "{}: {} events, {} undecided, {} refused for spread",
                    t.file_name, t.events, t.undecided, t.spread_refused
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(TrainError::NoCandidates(why));
    }
    let wins = c.iter().filter(|x| x.label.win).count();
    if wins == 0 || wins == c.len() {
        return Err(TrainError::OneClass { n: c.len(), what: if wins == 0 { "losses" } else { "wins" } });
    }
    opts.validate()?;
    let sel = select_features(c, &opts.exclude, opts.frame, opts.price_levels, opts.side_input)?;
    let embargo_ns = opts.embargo_ns.unwrap_or(data.barriers.max_hold_ns);
    let (starts, ends) = intervals(c);

    log(&format!(
        "{} candidates ({} wins, {:.1} %), {} features used of {} ({} left out{})",
        c.len(),
        wins,
        wins as f64 * 100.0 / c.len() as f64,
        sel.len(),
        FEATURES.len(),
        sel.dropped.len(),
        if sel.dropped.is_empty() {
            String::new()
        } else {
            format!(": {}", sel.dropped.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "))
        }
    ));

    // Walk-forward.
    let (splits, wf_results) = shrinking(opts.splits, 2, opts.fewer_splits, log, "walk-forward", |n| {
        let wf = split::walk_forward(&starts, &ends, n, embargo_ns).map_err(|e| split_error(e, "walk-forward"))?;
        wf.iter()
            .enumerate()
            .map(|(k, fold)| {
                // Everything before the test block that is not in the training set was purged or embargoed.
                let purged = fold.test.first().map_or(0, |&t| t - fold.train.len());
                run_fold(c, &fold.train, &fold.test, purged, &sel, opts, &format!("walk-forward fold {}", k + 1))
            })
            .collect()
    })?;
    log(&format!(
        "walk-forward: {} folds, embargo {} after each test block, training labels reaching a test block or its embargo purged; calibration: {} on the last 25 % of each training window",
        wf_results.len(),
        crate::report::duration(embargo_ns),
        opts.calibration.as_str()
    ));
    log(&crate::report::fold_header());
    for (k, r) in wf_results.iter().enumerate() {
        log(&crate::report::fold_line(k + 1, r));
    }
    let pooled = pool(c, &wf_results);
    for line in crate::report::pooled_lines("walk-forward", &pooled) {
        log(&line);
    }
    log(&crate::report::side_line(&wf_results, opts.frame));
    log(&format!("reliability of the pooled out-of-sample p(win) ({RELIABILITY_BINS} bins):"));
    for line in metrics::reliability_table(&pooled.reliability).lines() {
        log(&format!("  {line}"));
    }
    log(&crate::report::slippage_line("walk-forward", &wf_results, &pooled));

    // Purged K-fold.
    let (kfold, kf_results) = shrinking(opts.kfold, 2, opts.fewer_kfold, log, "purged K-fold", |k| {
        let kf = split::purged_kfold(&starts, &ends, k, embargo_ns).map_err(|e| split_error(e, "purged K-fold"))?;
        kf.iter()
            .enumerate()
            .map(|(i, fold)| {
                let purged = c.len() - fold.test.len() - fold.train.len();
                run_fold(c, &fold.train, &fold.test, purged, &sel, opts, &format!("purged K-fold fold {}", i + 1))
            })
            .collect()
    })?;
    // What was used, for the cards and metrics.json.
    let opts = &TrainOptions { splits, kfold, ..opts.clone() };
    let kf_pooled = pool(c, &kf_results);
    log(&crate::report::kfold_line(opts.kfold, &kf_pooled));

    // Final models on everything.
    let all: Vec<usize> = (0..c.len()).collect();
    let fill = column_means(c, &all, &sel);
    let clf = fit_classifier(c, &all, &sel, &fill, opts, "final model")?;
    let x = design(c, &all, &sel, &fill);
    let s_all: Vec<f64> = c.iter().map(|x| x.slippage_bps).collect();
    let ridge = fit_ridge(&x, &s_all, opts.l2)
        .map_err(|source| TrainError::Fit { what: "final slippage ridge fit".into(), source })?;

    // Probe rows: evenly spread training rows, as the engine feeds them (f32, NaN filled).
    let probe_rows: Vec<Vec<f32>> = (0..8)
        .map(|k| k * (c.len() - 1) / 7)
        .map(|r| inputs(&c[r], &sel, &fill).iter().map(|&v| v as f32).collect())
        .collect();

    let created_ns = match opts.created_at_s {
        Some(s) => s.saturating_mul(1_000_000_000),
        None => data.window_ns().1,
    };
    let common = CardCommon::new(data, &sel, &fill, opts, embargo_ns, created_ns);
    let pwin = export_pwin(&clf, c, &common, &pooled, &kf_pooled, &probe_rows)?;
    let slippage = export_slippage(&ridge, &common, &pooled, &probe_rows)?;
    let metrics_json = crate::report::metrics_json(data, &sel, opts, embargo_ns, &wf_results, &pooled, &kf_pooled);
    let reliability_svg = metrics::reliability_svg(
        &pooled.reliability,
        &format!("p(win) reliability, pooled walk-forward out-of-sample ({} candidates)", pooled.scores.n),
    );
    Ok(Trained {
        selection: sel,
        fill,
        walk_forward: wf_results,
        pooled,
        kfold: kf_results,
        kfold_pooled: kf_pooled,
        embargo_ns,
        pwin,
        slippage,
        probe_rows,
        metrics_json,
        reliability_svg,
    })
}

/// Runs `validate` with `n` folds; when `shrink` allows and a fold has too few samples (or the
/// split cannot be made), says so and tries one fold fewer, down to `least`. Returns the folds used.
fn shrinking(
    n: usize,
    least: usize,
    shrink: bool,
    log: &mut dyn FnMut(&str),
    what: &str,
    mut validate: impl FnMut(usize) -> Result<Vec<FoldResult>, TrainError>,
) -> Result<(usize, Vec<FoldResult>), TrainError> {
    let mut n = n;
    loop {
        match validate(n) {
            Ok(r) => return Ok((n, r)),
            Err(TrainError::TooFew(why) | TrainError::Split(why)) if shrink && n > least => {
                // The advice ("Try fewer --splits…") is what happens next.
                let why = why.split(". Try").next().unwrap_or(&why);
                log(&format!("{what}: {n} folds are too many for these candidates ({why}); trying {}", n - 1));
                n -= 1;
            }
            Err(e) => return Err(e),
        }
    }
}

fn split_error(e: split::SplitError, what: &str) -> TrainError {
    match e {
        split::SplitError::TooFewSamples { .. } | split::SplitError::EmptyTrain { .. } => TrainError::TooFew(format!(
            "{what}: {e}. Try fewer --splits / --kfold, a shorter --embargo or --max-hold, or longer / more tapes"
        )),
        other => TrainError::Split(format!("{what}: {other}")),
    }
}

/// What both cards share.
struct CardCommon {
    features: Vec<CardFeature>,
    training: Training,
    created_at: String,
}

impl CardCommon {
    fn new(
        data: &Dataset,
        sel: &Selection,
        fill: &[f64],
        opts: &TrainOptions,
        embargo_ns: u64,
        created_ns: u64,
    ) -> Self {
        let features = sel
            .names()
            .into_iter()
            .zip(fill)
            .zip(&sel.inputs.signed)
            .map(|((name, &f), &signed)| CardFeature { name: name.to_string(), fill: f as f32, signed })
            .collect();
        let (first, last) = data.window_ns();
        let b = &data.barriers;
        let mut method = Map::new();
        method.insert("trainer".into(), json!("kestrel train"));
        method.insert("kestrel_version".into(), json!(env!("CARGO_PKG_VERSION")));
        method.insert(
            "labels".into(),
            json!({
                "kind": "triple barrier",
                "profit_mult": b.profit_mult,
                "stop_mult": b.stop_mult,
                "min_bps": b.min_bps,
                "max_hold_ms": b.max_hold_ns as f64 / 1e6,
                "sigma": "vol_ewma_60s · sqrt(mid changes per second (60 s EWMA) · max_hold)",
                "cost": "taker fee (fees.taker_bps)",
                "win": "the label's net return is positive",
            }),
        );
        method.insert(
            "slippage_label".into(),
            json!({
                "definition": "market order of strategy.order_qty walking the visible book after the entry latency, bps of the mid at decision",
                "entry_latency_us": data.entry_latency_ns as f64 / 1e3,
            }),
        );
        method.insert(
            "validation".into(),
            json!({
                "walk_forward_splits": opts.splits,
                "purged_kfold": opts.kfold,
                "embargo_ms": embargo_ns as f64 / 1e6,
                "purging": "training labels whose horizon reaches the test block or its embargo",
            }),
        );
        method.insert(
            "learner".into(),
            json!({
                "pwin": "L2 logistic regression (Newton), standardisation folded into the weights",
                "slippage": "ridge regression, standardisation folded into the weights",
                "l2": opts.l2,
                "calibration_share": CALIBRATION_SHARE,
                "isotonic_knots": opts.isotonic_knots,
                "nan_fill": "training mean",
                "feature_rule": "finite in ≥ 95 % of candidates and not constant",
                "excluded": opts.exclude,
                "frame": opts.frame.as_str(),
                "price_levels": opts.price_levels,
                "side_input": opts.side_input,
            }),
        );
        method.insert("seed".into(), Value::Null);
        method.insert("randomness".into(), json!("none: the fits are deterministic"));
        for (k, v) in &opts.provenance {
            method.insert(k.clone(), v.clone());
        }
        CardCommon {
            features,
            training: Training {
                tapes: data.tapes.iter().map(tape_label).collect(),
                window: [rfc3339_seconds(first), rfc3339_seconds(last)],
                samples: data.candidates.len(),
                method,
            },
            created_at: rfc3339_seconds(created_ns),
        }
    }

    fn card(&self, name: &str, output: &str, onnx: &[u8]) -> ModelCard {
        let n = self.features.len();
        ModelCard {
            format: CARD_FORMAT.into(),
            card_version: CARD_VERSION,
            name: name.into(),
            role: name.into(),
            version: content_version(onnx),
            created_at: self.created_at.clone(),
            schema: SchemaRef { version: SCHEMA_VERSION, hash: engine_schema_hash() },
            features: self.features.clone(),
            input: TensorSpec { name: INPUT_NAME.into(), shape: vec![1, n], column: 0 },
            output: TensorSpec { name: output.into(), shape: vec![1, 1], column: 0 },
            trade: None,
            training: self.training.clone(),
            calibration: "none".into(),
            metrics: Map::new(),
        }
    }
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Mean win, mean loss and CVaR 95 of the labels' returns (bps, gross of fees and slippage).
pub fn trade_stats(candidates: &[Candidate]) -> TradeStats {
    let gross = |c: &Candidate| crate::report::gross_ret_bps(c);
    let wins: Vec<f64> = candidates.iter().filter(|c| c.label.win).map(gross).collect();
    let losses: Vec<f64> = candidates.iter().filter(|c| !c.label.win).map(gross).collect();
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    let mut all: Vec<f64> = candidates.iter().map(gross).collect();
    all.sort_by(f64::total_cmp);
    let k = ((all.len() as f64) * 0.05).ceil().max(1.0) as usize;
    let tail = &all[..k.min(all.len())];
    TradeStats { avg_win_bps: mean(&wins), avg_loss_bps: -mean(&losses), cvar95_loss_bps: -mean(tail) }
}

fn export_pwin(
    clf: &Classifier,
    candidates: &[Candidate],
    common: &CardCommon,
    pooled: &Pooled,
    kfold: &Pooled,
    probe: &[Vec<f32>],
) -> Result<Exported, TrainError> {
    let (weights, bias, calibration, label) = match &clf.calibration {
        Calibrator::Platt(p) => {
            (clf.fit.weights.iter().map(|w| p.a * w).collect::<Vec<_>>(), p.a * clf.fit.bias + p.b, None, "platt")
        }
        Calibrator::Isotonic(iso) => {
            // Knots as the graph stores them: f32, strictly increasing (knots that meet in f32 merge).
            let mut xs: Vec<f32> = Vec::with_capacity(iso.xs.len());
            let mut ys: Vec<f32> = Vec::with_capacity(iso.ys.len());
            for (&x, &y) in iso.xs.iter().zip(&iso.ys) {
                let (x, y) = (x as f32, y as f32);
                match xs.last() {
                    Some(&last) if x <= last => {
                        if let Some(l) = ys.last_mut() {
                            *l = l.max(y);
                        }
                    }
                    _ => {
                        xs.push(x);
                        ys.push(y);
                    }
                }
            }
            (clf.fit.weights.clone(), clf.fit.bias, Some(PiecewiseLinear { xs, ys }), "isotonic")
        }
    };
    let model = LinearModel {
        input_name: INPUT_NAME.into(),
        output_name: PWIN_OUTPUT.into(),
        weights: f32s(&weights),
        bias: bias as f32,
        link: Link::Sigmoid,
        calibration,
    };
    model.validate().map_err(|e| TrainError::Options(format!("the p(win) model cannot be exported: {e}")))?;
    // The Rust-side prediction: the f64 model (with the f32 knots the graph holds) on the f32 inputs.
    let rust = Classifier {
        fit: clf.fit.clone(),
        calibration: match (&clf.calibration, &model.calibration) {
            (Calibrator::Isotonic(_), Some(p)) => Calibrator::Isotonic(Isotonic {
                xs: p.xs.iter().map(|&v| f64::from(v)).collect(),
                ys: p.ys.iter().map(|&v| f64::from(v)).collect(),
            }),
            (other, _) => other.clone(),
        },
    };
    let expected =
        probe.iter().map(|row| rust.predict(&row.iter().map(|&v| f64::from(v)).collect::<Vec<_>>())).collect();
    let onnx = model.to_onnx_bytes();
    let mut card = common.card("pwin", PWIN_OUTPUT, &onnx);
    card.trade = Some(trade_stats(candidates));
    card.calibration = label.into();
    card.metrics = crate::report::pwin_card_metrics(pooled, kfold);
    Ok(Exported { model, onnx, card, expected })
}

fn export_slippage(
    ridge: &LinearFit,
    common: &CardCommon,
    pooled: &Pooled,
    probe: &[Vec<f32>],
) -> Result<Exported, TrainError> {
    let model = LinearModel {
        input_name: INPUT_NAME.into(),
        output_name: SLIPPAGE_OUTPUT.into(),
        weights: f32s(&ridge.weights),
        bias: ridge.bias as f32,
        link: Link::Identity,
        calibration: None,
    };
    model.validate().map_err(|e| TrainError::Options(format!("the slippage model cannot be exported: {e}")))?;
    let expected =
        probe.iter().map(|row| ridge.predict_raw(&row.iter().map(|&v| f64::from(v)).collect::<Vec<_>>())).collect();
    let onnx = model.to_onnx_bytes();
    let mut card = common.card("slippage", SLIPPAGE_OUTPUT, &onnx);
    card.metrics = crate::report::slippage_card_metrics(pooled);
    Ok(Exported { model, onnx, card, expected })
}
