//! Regime features: an online 3-state HMM filter and a rule-based baseline.
//!
//! - [`observe`]: what the model sees of each closed bar (trend strength, relative volatility,
//!   relative activity) — one function shared by the engine and `kestrel regime fit`;
//! - [`hmm`]: the parameters ([`HmmParams`], JSON, fitted offline) and the forward filter that
//!   writes `regime_p_trend`, `regime_p_range` and `regime_p_chop` at each bar close (`NaN` until
//!   the first bar of the instrument closes; held between bar closes);
//! - [`rules`]: `regime_rule` (0 trend, 1 range, 2 chop) from the last bar's direction and
//!   volatility, with the volume profile's values of the same event (CVD slope, range percentile,
//!   POC crosses) as confirmation and stand-in.
//!
//! Per event the work is a few comparisons; per closed bar O(S² + S·D) with S = 3 states and D = 3
//! observations, on fixed-size arrays: no allocation after construction.
//!
//! The filter runs on across sessions (regimes do not reset at midnight); empty bars are bridged by
//! transition steps and a long silence restarts it (see [`hmm`]). A model is fitted for one bar
//! length (`HmmParams::bar_seconds`, 60 s for the bundled one): its transition matrix is per bar
//! and its emissions describe bars of that length, so run it with the same `features.bar_seconds`
//! (the config refuses a model fitted on other bars).

pub mod hmm;
pub mod observe;
pub mod rules;

pub use hmm::{HmmFilter, HmmParams, MAX_GAP_BARS, N_STATES, STATE_NAMES};
pub use observe::{OBS_DIM, OBSERVATION_NAMES, OBSERVATION_VERSION, Observation, Observer};
pub use rules::RuleClassifier;

use super::bars::Bar;
use super::schema::{FeatureVector, idx};
use super::tick::Tick;
use crate::types::UnixNanos;

/// How many bar lengths after the previous bar a bar starts: 1 for consecutive bars (and always 1
/// with `bar_ns` 0, a length unknown). `bar_ns` is the model's bar length.
#[inline]
pub fn bars_between(previous: UnixNanos, next: UnixNanos, bar_ns: u64) -> u64 {
    next.0.saturating_sub(previous.0).checked_div(bar_ns).unwrap_or(1)
}

/// The regime calculator of one instrument.
#[derive(Clone, Debug)]
pub struct RegimeFeatures {
    observer: Observer,
    filter: HmmFilter,
    rules: RuleClassifier,
    bar_ns: u64,
    last_bar: Option<UnixNanos>,
}

impl RegimeFeatures {
    pub fn new(params: &HmmParams) -> Self {
        RegimeFeatures {
            observer: Observer::new(),
            filter: HmmFilter::new(params),
            rules: RuleClassifier::new(),
            bar_ns: params.bar_seconds.saturating_mul(1_000_000_000),
            last_bar: None,
        }
    }

    /// Takes in a closed bar: the observation, gap steps, the filter update and the rule's bar inputs.
    #[inline]
    fn on_bar(&mut self, bar: &Bar) {
        // A bar without a mid (trades before any two-sided book) says nothing about the regime.
        if !bar.close.is_finite() {
            return;
        }
        let obs = self.observer.observe(bar);
        if let Some(previous) = self.last_bar {
            let gap = bars_between(previous, bar.start, self.bar_ns);
            if gap > MAX_GAP_BARS + 1 {
                self.filter.reset();
            } else {
                for _ in 1..gap {
                    self.filter.predict();
                }
            }
        }
        self.last_bar = Some(bar.start);
        self.filter.update(&obs);
        self.rules.on_bar(bar, &obs);
    }

    #[inline]
    pub fn update(&mut self, t: &Tick<'_>, out: &mut FeatureVector) {
        if let Some(bar) = t.closed_bar {
            self.on_bar(bar);
        }
        let p = self.filter.probabilities().unwrap_or([f64::NAN; N_STATES]);
        out.set(idx::REGIME_P_TREND, p[hmm::TREND]);
        out.set(idx::REGIME_P_RANGE, p[hmm::RANGE]);
        out.set(idx::REGIME_P_CHOP, p[hmm::CHOP]);
        out.set(idx::REGIME_RULE, self.rules.classify(out));
    }
}
