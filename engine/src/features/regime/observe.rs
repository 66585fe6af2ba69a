//! The regime observation: what the HMM sees of each closed bar.
//!
//! One function, [`Observer::observe`], turns a closed [`Bar`] into a small vector; the engine's
//! filter calls it at every bar close, and `kestrel regime fit` calls the same function on the bars
//! of a replayed tape, so the model is fitted on exactly what it filters.
//!
//! The observations are chosen to be scale-free, so that one set of parameters can describe an
//! instrument whatever its price, volatility or volume level:
//!
//! | # | name              | definition                                                              |
//! |---|-------------------|-------------------------------------------------------------------------|
//! | 0 | `trend_strength`  | `sqrt(|ln(close / open)| / sqrt(sum of squared mid log-returns))`       |
//! | 1 | `rel_log_vol`     | `ln(bar realized vol)` minus its recent level                           |
//! | 2 | `rel_log_activity`| `ln(1 + trades in the bar)` minus its recent level                      |
//!
//! - **trend strength** is the bar's net move in units of the noise of its path (a t-statistic of
//!   the drift, whose square root is closer to normal). A drifting market makes the mid travel in
//!   one direction and the ratio grows like √(bar length); in a range or in chop the mid comes back
//!   and it stays below 1.
//! - **relative volatility** separates the calm range from high-volatility chop (and trend, in
//!   between). Raw volatility depends on the instrument and the hour, so it is measured against an
//!   exponentially weighted mean of the log realized volatility of the previous bars (half-life
//!   [`BASELINE_HALF_LIFE_BARS`] bars, two hours of minute bars, the current bar excluded): long
//!   enough that a regime lasting tens of minutes stands out against it, short enough to follow the
//!   intraday cycle of real markets.
//! - **relative activity** is the same for the number of trades: quiet ranges, busier trends, the
//!   most trades in chop — the volume–volatility relation of real markets.
//!
//! A value is `NaN` (missing) when it is not defined: the trend strength of a bar whose mid never
//! moved, both relative values during the first [`WARM_UP_BARS`] bars (their baseline is not yet
//! meaningful), and the activity on a tape whose bars typically hold no trade (quotes-only tapes).
//! The filter treats a missing value by leaving that dimension out of the likelihood (exact with
//! diagonal covariances), so a bar with nothing observable only moves the filter by the transition
//! matrix. Relative values are clamped to ±[`REL_CLAMP`] so that one freak bar (a gap, a halt)
//! cannot dominate.
//!
//! Changing any definition or constant here changes what fitted parameters mean: bump
//! [`OBSERVATION_VERSION`], which model files record and the engine checks.

use crate::features::bars::Bar;

/// Number of observation dimensions.
pub const OBS_DIM: usize = 3;

/// Version of the observation definitions above; recorded in every model file.
pub const OBSERVATION_VERSION: u32 = 1;

/// Names of the observations, in vector order; recorded in every model file.
pub const OBSERVATION_NAMES: [&str; OBS_DIM] = ["trend_strength", "rel_log_vol", "rel_log_activity"];

/// Half-life, in bars, of the baselines the relative observations are measured against.
pub const BASELINE_HALF_LIFE_BARS: f64 = 120.0;

/// Bars that feed a baseline before the relative observations are reported.
pub const WARM_UP_BARS: u32 = 10;

/// Bound on the absolute value of a relative observation.
pub const REL_CLAMP: f64 = 5.0;

/// Below this baseline of `ln(1 + trades)` (about one trade a bar) activity is not observed.
const MIN_ACTIVITY_BASELINE: f64 = std::f64::consts::LN_2;

/// One observation vector; `NaN` marks a missing value.
pub type Observation = [f64; OBS_DIM];

/// An exponentially weighted mean that is exact from the first sample: `Σ λ^k x_k / Σ λ^k`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Baseline {
    num: f64,
    den: f64,
    samples: u32,
}

impl Baseline {
    const fn new() -> Self {
        Baseline { num: 0.0, den: 0.0, samples: 0 }
    }

    #[inline]
    fn mean(&self) -> f64 {
        if self.samples >= WARM_UP_BARS { self.num / self.den } else { f64::NAN }
    }

    #[inline]
    fn push(&mut self, x: f64, decay: f64) {
        self.num = decay * self.num + x;
        self.den = decay * self.den + 1.0;
        self.samples = self.samples.saturating_add(1);
    }
}

/// Turns each closed bar of one instrument into an [`Observation`]; keeps the baselines between bars.
/// O(1) per bar, no allocation.
#[derive(Clone, Debug, PartialEq)]
pub struct Observer {
    decay: f64,
    vol: Baseline,
    activity: Baseline,
}

impl Default for Observer {
    fn default() -> Self {
        Observer::new()
    }
}

impl Observer {
    pub fn new() -> Self {
        Observer { decay: 0.5f64.powf(1.0 / BASELINE_HALF_LIFE_BARS), vol: Baseline::new(), activity: Baseline::new() }
    }

    /// The observation of `bar` (the next closed bar of this instrument, in order), then updates
    /// the baselines with it.
    #[inline]
    pub fn observe(&mut self, bar: &Bar) -> Observation {
        let mut o = [f64::NAN; OBS_DIM];
        let rv = bar.sum_sq_returns.sqrt();
        let moved = rv.is_finite() && rv > 0.0;
        if moved && bar.open > 0.0 && bar.close > 0.0 {
            let strength = ((bar.close / bar.open).ln().abs() / rv).sqrt();
            if strength.is_finite() {
                o[0] = strength;
            }
        }
        if moved {
            let log_vol = rv.ln();
            o[1] = relative(log_vol, self.vol.mean());
            self.vol.push(log_vol, self.decay);
        }
        let log_activity = f64::from(bar.trades).ln_1p();
        let base = self.activity.mean();
        if base >= MIN_ACTIVITY_BASELINE {
            o[2] = relative(log_activity, base);
        }
        self.activity.push(log_activity, self.decay);
        o
    }
}

#[inline]
fn relative(x: f64, baseline: f64) -> f64 {
    let d = x - baseline;
    if d.is_finite() { d.clamp(-REL_CLAMP, REL_CLAMP) } else { f64::NAN }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::UnixNanos;

    fn bar(open: f64, close: f64, sum_sq: f64, trades: u32) -> Bar {
        Bar {
            start: UnixNanos(0),
            open,
            high: open.max(close),
            low: open.min(close),
            close,
            prev_close: open,
            sum_sq_returns: sum_sq,
            buy_volume: 0.0,
            sell_volume: 0.0,
            trades,
        }
    }

    #[test]
    fn trend_strength_is_the_net_move_over_the_path_noise() {
        let mut obs = Observer::new();
        let o = obs.observe(&bar(100.0, 101.0, 1e-4, 10));
        let want = ((101.0f64 / 100.0).ln() / 1e-2).sqrt();
        assert!((o[0] - want).abs() < 1e-12, "{o:?}");
        assert!(o[1].is_nan() && o[2].is_nan(), "relative values wait for the warm-up: {o:?}");
        let flat = obs.observe(&bar(100.0, 100.0, 0.0, 0));
        assert!(flat.iter().all(|v| v.is_nan()), "a bar whose mid never moved has no shape: {flat:?}");
    }

    #[test]
    fn relative_values_compare_with_the_previous_bars() {
        let mut obs = Observer::new();
        for _ in 0..WARM_UP_BARS {
            let o = obs.observe(&bar(100.0, 100.1, 1e-6, 99));
            assert!(o[1].is_nan());
        }
        // Volatility ×e against a constant past: +1; trades 270/100 (with the +1): ln 2.7.
        let o = obs.observe(&bar(100.0, 100.1, 1e-6 * std::f64::consts::E.powi(2), 269));
        assert!((o[1] - 1.0).abs() < 1e-12, "{o:?}");
        assert!((o[2] - (270.0f64 / 100.0).ln()).abs() < 1e-12, "{o:?}");
        // A freak bar is clamped.
        let o = obs.observe(&bar(100.0, 100.1, 1e-30, 99));
        assert_eq!(o[1], -REL_CLAMP);
    }

    #[test]
    fn activity_is_missing_without_trades() {
        let mut obs = Observer::new();
        for _ in 0..WARM_UP_BARS + 5 {
            let o = obs.observe(&bar(100.0, 100.1, 1e-6, 0));
            assert!(o[2].is_nan());
        }
    }
}
