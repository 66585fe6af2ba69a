//! The hidden regime chain: the planted ground truth that regime models are scored against.
//!
//! A continuous-time Markov chain over three market regimes. Each visit lasts an exponential time
//! (plus a short floor, so that no span is too brief to be recoverable from the prices), then the
//! chain jumps to one of the *other* regimes. The chain draws from its own random stream, so the
//! regime path of a seed does not change when the market model is tuned.

use super::random::Random;
use kestrel_engine::types::UnixNanos;
use serde::{Deserialize, Serialize};

/// The state of the market that drives the mid-price dynamics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regime {
    /// Persistent drift in one direction (chosen per episode), moderate volatility.
    Trend,
    /// Mean reversion around the price at which the episode began, low volatility.
    Range,
    /// High volatility, fast mean reversion and occasional jumps: noise with no direction.
    Chop,
}

impl Regime {
    pub const ALL: [Regime; 3] = [Regime::Trend, Regime::Range, Regime::Chop];

    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Trend => "trend",
            Regime::Range => "range",
            Regime::Chop => "chop",
        }
    }

    /// Mean visit length relative to the configured mean dwell: chop episodes are shorter than
    /// ranges, as in real markets where bursts of noise settle quickly.
    fn dwell_factor(self) -> f64 {
        match self {
            Regime::Trend => 1.0,
            Regime::Range => 1.25,
            Regime::Chop => 0.75,
        }
    }

    /// Probability of moving to each regime in [`Regime::ALL`] order when this one ends.
    fn transitions(self) -> [f64; 3] {
        match self {
            Regime::Trend => [0.0, 0.55, 0.45],
            Regime::Range => [0.6, 0.0, 0.4],
            Regime::Chop => [0.5, 0.5, 0.0],
        }
    }
}

impl std::fmt::Display for Regime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One visit of the chain: `regime` held in venue time `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "SpanRepr", from = "SpanRepr")]
pub struct RegimeSpan {
    pub start: UnixNanos,
    pub end: UnixNanos,
    pub regime: Regime,
}

impl RegimeSpan {
    pub fn duration_ns(&self) -> u64 {
        self.end.0.saturating_sub(self.start.0)
    }

    pub fn contains(&self, ts: UnixNanos) -> bool {
        self.start <= ts && ts < self.end
    }
}

/// The serialised form: plain nanosecond integers, so that Python tools read it without knowing
/// Kestrel's types.
#[derive(Clone, Copy, Serialize, Deserialize)]
struct SpanRepr {
    start_ns: u64,
    end_ns: u64,
    regime: Regime,
}

impl From<RegimeSpan> for SpanRepr {
    fn from(s: RegimeSpan) -> Self {
        SpanRepr { start_ns: s.start.0, end_ns: s.end.0, regime: s.regime }
    }
}

impl From<SpanRepr> for RegimeSpan {
    fn from(s: SpanRepr) -> Self {
        RegimeSpan { start: UnixNanos(s.start_ns), end: UnixNanos(s.end_ns), regime: s.regime }
    }
}

/// The regime in force at venue time `ts`, given spans sorted by start (as the generator returns
/// them); `None` outside them. Labels records for training and scoring.
pub fn regime_at(spans: &[RegimeSpan], ts: UnixNanos) -> Option<Regime> {
    let i = spans.partition_point(|s| s.start <= ts);
    let span = spans.get(i.checked_sub(1)?)?;
    span.contains(ts).then_some(span.regime)
}

/// The chain, generated lazily as the market clock reaches each switch. Every span is recorded
/// with its final end when it begins (its length is drawn up front), clipped to the horizon.
#[derive(Clone, Debug)]
pub(crate) struct RegimeChain {
    rng: Random,
    mean_dwell_ns: f64,
    horizon: UnixNanos,
    spans: Vec<RegimeSpan>,
}

impl RegimeChain {
    pub(crate) fn new(rng: Random, start: UnixNanos, horizon: UnixNanos, mean_dwell_ns: u64) -> Self {
        let mut chain = RegimeChain { rng, mean_dwell_ns: mean_dwell_ns as f64, horizon, spans: Vec::new() };
        let first = Regime::ALL[chain.rng.below(3) as usize];
        chain.enter(first, start);
        chain
    }

    fn enter(&mut self, regime: Regime, at: UnixNanos) {
        let mean = self.mean_dwell_ns * regime.dwell_factor();
        // A floor of a tenth of the mean keeps every span long enough to show its character.
        let dwell = mean * 0.1 + self.rng.exponential(mean * 0.9);
        let dwell_ns = if dwell.is_finite() { (dwell as u64).max(1) } else { u64::MAX };
        let end = UnixNanos(at.0.saturating_add(dwell_ns).min(self.horizon.0));
        self.spans.push(RegimeSpan { start: at, end, regime });
    }

    fn last(&self) -> &RegimeSpan {
        // `new` pushes the first span and spans are never removed.
        &self.spans[self.spans.len() - 1]
    }

    pub(crate) fn current(&self) -> Regime {
        self.last().regime
    }

    /// When the current span ends (venue time).
    pub(crate) fn switch_at(&self) -> UnixNanos {
        self.last().end
    }

    /// Ends the current span and starts the next one at its end; returns the new regime.
    pub(crate) fn switch(&mut self) -> Regime {
        let span = *self.last();
        let weights = span.regime.transitions();
        let u = self.rng.uniform();
        let mut acc = 0.0;
        let mut next = Regime::ALL[0];
        for (regime, w) in Regime::ALL.into_iter().zip(weights) {
            if w > 0.0 {
                next = regime;
                acc += w;
                if u < acc {
                    break;
                }
            }
        }
        self.enter(next, span.end);
        next
    }

    pub(crate) fn spans(&self) -> &[RegimeSpan] {
        &self.spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_tile_the_horizon_without_self_transitions() {
        let start = UnixNanos(1_000);
        let horizon = UnixNanos(1_000 + 3_600 * 1_000_000_000);
        let mut chain = RegimeChain::new(Random::new(3, 1), start, horizon, 120_000_000_000);
        while chain.switch_at() < horizon {
            chain.switch();
        }
        let spans = chain.spans();
        assert!(spans.len() > 10, "{} spans in an hour with 2-minute dwell", spans.len());
        assert_eq!(spans[0].start, start);
        assert_eq!(spans[spans.len() - 1].end, horizon);
        for w in spans.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            assert_ne!(w[0].regime, w[1].regime);
        }
        assert_eq!(regime_at(spans, start), Some(spans[0].regime));
        assert_eq!(regime_at(spans, spans[1].start), Some(spans[1].regime));
        assert_eq!(regime_at(spans, horizon), None);
        assert_eq!(regime_at(spans, UnixNanos(999)), None);
    }

    #[test]
    fn spans_serialise_as_plain_integers() {
        let span = RegimeSpan { start: UnixNanos(5), end: UnixNanos(9), regime: Regime::Chop };
        let json = serde_json::to_string(&span).unwrap();
        assert_eq!(json, r#"{"start_ns":5,"end_ns":9,"regime":"chop"}"#);
        assert_eq!(serde_json::from_str::<RegimeSpan>(&json).unwrap(), span);
    }
}
