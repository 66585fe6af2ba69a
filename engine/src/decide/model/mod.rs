//! Models in the decide stage: the hot-side interface a model implements ([`Scorer`]), how its inputs
//! are gathered from the feature vector ([`ModelInputs`]), and what happens when a model fails.
//!
//! The engine does not know how a model is run: `kestrel-infer` implements [`Scorer`] with `tract`
//! (any ONNX file with the right signature), tests implement it with plain functions. Keeping tract
//! out of this crate keeps the engine's own build and tests quick.
//!
//! Rules (DESIGN.md §2.3): a scorer is loaded, checked and optimised on a cold thread before it
//! reaches the hot loop; it has a fixed input shape `[1, n]` and one output; its state is its own
//! (one scorer per decide thread); a failure or a non-finite output never becomes a trade: decide
//! blocks the candidate and journals [`ModelFault`]'s reason.
//!
//! - [`slot`]: the models decide holds ([`Models`], started from a [`ModelSet`]), commands from the
//!   [`control`] ring applied between events, each call timed, counted and checked.
//! - [`policy`]: the decision from the answers: the p(win) gate, expected value (market or join),
//!   the CVaR size.
//!
//! When a p(win) model is live, every entry candidate that passes the strategy's own checks
//! (spread, in-flight, position) is judged, in this order, each failure a Blocked reason:
//! p(win) model fails → `model_error` / `model_bad_output` / `model_overrun` (a p(win) model that is
//! expected but missing — removed, or refused at install — is `model_error`); slippage model fails
//! the same way (without one, the half spread stands in); p(win) below `strategy.min_pwin` →
//! `below_pwin`; the best expected value below `strategy.min_ev_bps` → `negative_ev`; the CVaR
//! budget allows less than a lot → `below_min_size`; then the risk gate, with the chosen style and
//! size. Each judged candidate's record is followed by Features records: what the models saw. A
//! p(win) model must carry [`TradeStats`]; one without is refused at install (the live model, if
//! any, stays; without one the candidates are blocked as `model_error`), and a run refuses to start
//! with one.
//!
//! Determinism: model calls are timed (the `model_pwin` and `model_slippage` latency metrics) but the
//! time decides nothing unless `models.deadline_us` is set: then a slow call fails safe as an
//! overrun, and the journal depends on the machine's speed and load, as with
//! `exchange.decision_latency = "measured"`. A swap takes effect at the event after the cold side
//! sends it, which a replay cannot reproduce: a run with hot swaps is not byte-identical to another
//! run of the same tape, and cannot be resumed past its first swap.

pub mod control;
pub mod policy;
pub mod slot;

pub use control::{ModelCommand, ModelControl, ModelController, ModelCounters, control_channel};
pub use slot::{ModelRefused, ModelSet, Models, admit};

use crate::features::FeatureVector;
use crate::journal::Side;
use std::fmt;

/// The two models decide consults for every candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelRole {
    /// The meta-labeler: calibrated probability, in [0, 1], that the candidate trade wins.
    PWin = 0,
    /// The execution model: predicted slippage of a market order, in basis points of the mid (a cost:
    /// positive is worse).
    Slippage = 1,
}

impl ModelRole {
    pub const ALL: [ModelRole; 2] = [ModelRole::PWin, ModelRole::Slippage];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelRole::PWin => "pwin",
            ModelRole::Slippage => "slippage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Why a model gave no usable answer. Each becomes a Blocked record's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelFault {
    /// The runtime returned an error.
    Error,
    /// The output was NaN, infinite, or (for p(win)) outside [0, 1].
    BadOutput,
    /// The call took longer than the configured deadline.
    Overrun,
}

/// The input position that stands for the candidate's side rather than a feature: +1 for a buy, −1
/// for a sell. A card names it `side` (see `kestrel-infer`'s card).
pub const SIDE_INPUT: usize = crate::features::idx::COUNT;

/// Most inputs a model may take: every feature of the schema once, and the side.
pub const MAX_INPUTS: usize = crate::features::idx::COUNT + 1;

/// A side as a model sees it: +1 buy, −1 sell.
#[inline]
pub fn side_sign(side: Side) -> f64 {
    match side {
        Side::Buy => 1.0,
        Side::Sell => -1.0,
    }
}

/// A model ready for the hot loop.
///
/// `score` must not allocate where the runtime allows it, must not block, and must return within a
/// bounded time. It is called only from the decide thread; `Send` lets the cold side build it and hand
/// it over through the control ring.
pub trait Scorer: Send + fmt::Debug {
    /// Scores one row: `input` holds the model's inputs in its card's order (`inputs().len()` values,
    /// `NaN` already replaced by the card's fill values).
    fn score(&mut self, input: &[f32]) -> Result<f32, ModelFault>;

    /// Which features, by position in the engine's vector, the model reads, and the value standing in
    /// for each while the feature is `NaN`.
    fn inputs(&self) -> &ModelInputs;

    /// A short identity for journals and summaries: the card's `name` and `version` hashed (see
    /// `kestrel-infer`); changes with every new model file.
    fn version(&self) -> u64;

    /// For a p(win) model: its training trade statistics (see [`TradeStats`]).
    fn trade_stats(&self) -> Option<TradeStats> {
        None
    }
}

/// The mapping from the engine's feature vector to a model's input row, resolved once at load.
///
/// A model judges one candidate trade, and a candidate has a side. A directional feature (an order-flow
/// imbalance, a signed volume, a distance from the point of control) means the opposite for a sell
/// as for a buy, so a p(win) model that reads it raw can only learn which side won in its training
/// window, which flips when the trend does. An input marked `signed` is read in the trade's frame:
/// multiplied by the side's sign, so "the book leans my way" has one sign for both sides. The side
/// itself is available as an input ([`SIDE_INPUT`]). Offline training builds its rows with
/// [`Self::value`] too, so training and serving read the same numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInputs {
    /// Position in [`FeatureVector`] of each input, in the model's order; [`SIDE_INPUT`] for the side.
    pub index: Vec<usize>,
    /// Value used for an input whose feature is `NaN` (not yet defined), in the model's order (in the
    /// trade's frame for a signed input).
    pub fill: Vec<f32>,
    /// Per input: read in the trade's frame (multiplied by [`side_sign`]).
    pub signed: Vec<bool>,
}

impl ModelInputs {
    /// Inputs reading these features raw (not signed, no side).
    pub fn unsigned(index: Vec<usize>, fill: Vec<f32>) -> ModelInputs {
        let signed = vec![false; index.len()];
        ModelInputs { index, fill, signed }
    }

    /// Input `k` for a candidate whose side has sign `sign` (+1 buy, −1 sell), before the fill: `NaN`
    /// (or ±∞) while its feature is undefined.
    #[inline]
    pub fn value(&self, k: usize, features: &FeatureVector, sign: f64) -> f64 {
        let i = self.index[k];
        if i == SIDE_INPUT {
            return sign;
        }
        let v = features.get(i);
        if self.signed[k] { v * sign } else { v }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Writes the model's row for a candidate on `side` into `row` (which must hold [`Self::len`]
    /// values); returns how many inputs were `NaN` and took their fill value. No allocation.
    #[inline]
    pub fn gather(&self, features: &FeatureVector, side: Side, row: &mut [f32]) -> usize {
        let sign = side_sign(side);
        let mut filled = 0;
        for (k, (slot, &fill)) in row.iter_mut().zip(&self.fill).enumerate() {
            let v = self.value(k, features, sign);
            *slot = if v.is_finite() {
                v as f32
            } else {
                filled += 1;
                fill
            };
        }
        filled
    }
}

/// What a p(win) model's training labels said about winning and losing trades, in bps of the mid at
/// decision (gross of fees and slippage). Decide needs it for expected value and the CVaR size; it
/// travels with the model, so a swap changes both at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TradeStats {
    pub avg_win_bps: f64,
    pub avg_loss_bps: f64,
    /// Mean of the worst 5 % of trade returns, as a positive loss.
    pub cvar95_loss_bps: f64,
}
