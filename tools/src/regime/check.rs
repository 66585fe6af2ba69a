//! Scores the engine's regime outputs against planted regimes, bar by bar.
//!
//! The tape is replayed through the features stage with the model under test; at every closed bar
//! the prediction is the argmax of the filtered probabilities the stage wrote on the event that
//! closed it (`regime_p_*`, i.e. after taking in that bar), and the rule baseline is `regime_rule`
//! on the same event. The truth of a bar is the planted regime covering most of its interval
//! ([`super::truth::bar_label`]); "pure" bars lie inside one span, the others straddle a switch and
//! are ambiguous by nature. Bars without a prediction or a planted regime are counted apart.

use super::replay::replay;
use super::truth::{bar_label, state_of};
use crate::synth::RegimeSpan;
use kestrel_engine::features::regime::{N_STATES, Observation, Observer, STATE_NAMES};
use kestrel_engine::features::{FeatureSettings, idx};
use kestrel_engine::tape::Tape;
use std::fmt::Write as _;

/// Counts of (truth, predicted) pairs: rows truth, columns predicted, in [`STATE_NAMES`] order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Confusion(pub [[u64; N_STATES]; N_STATES]);

impl Confusion {
    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.0[truth][predicted] += 1;
    }

    pub fn total(&self) -> u64 {
        self.0.iter().flatten().sum()
    }

    pub fn correct(&self) -> u64 {
        (0..N_STATES).map(|i| self.0[i][i]).sum()
    }

    /// Share of bars predicted right (`NaN` with no bars).
    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total() as f64
    }

    /// Recall of each true state (row-normalised diagonal).
    pub fn recall(&self) -> [f64; N_STATES] {
        std::array::from_fn(|i| self.0[i][i] as f64 / self.0[i].iter().sum::<u64>() as f64)
    }

    /// A table for people: counts, with recall per row.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{:>14} {:>7} {:>7} {:>7}   recall", "truth \\ pred", "trend", "range", "chop");
        let recall = self.recall();
        for (i, row) in self.0.iter().enumerate() {
            let _ = writeln!(
                s,
                "{:>14} {:>7} {:>7} {:>7}   {:>5.1} %",
                STATE_NAMES[i],
                row[0],
                row[1],
                row[2],
                100.0 * recall[i]
            );
        }
        s
    }
}

/// One scored bar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BarScore {
    pub instrument: usize,
    pub start_ns: u64,
    /// Planted state and the share of the bar it covers.
    pub truth: Option<(usize, f64)>,
    /// Filtered probabilities after this bar (`NaN` if the filter has not started).
    pub probabilities: [f64; N_STATES],
    pub hmm: Option<usize>,
    pub rule: Option<usize>,
    pub observation: Observation,
}

/// What [`check`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckReport {
    pub bars: u64,
    /// Bars with a planted regime and a prediction from both the HMM and the rule.
    pub scored: u64,
    pub hmm: Confusion,
    pub rule: Confusion,
    /// The same over bars that lie inside one planted span.
    pub hmm_pure: Confusion,
    pub rule_pure: Confusion,
    pub per_bar: Vec<BarScore>,
}

/// Replays `tape` with `settings` (whose `regime` is the model under test) and scores every closed
/// bar against `spans`.
pub fn check(tape: &Tape, settings: &FeatureSettings, spans: &[RegimeSpan]) -> CheckReport {
    let mut report = CheckReport::default();
    let mut observers = vec![Observer::new(); tape.instruments().len()];
    replay(tape, settings, |c| {
        report.bars += 1;
        let v = c.features;
        let p = [v.get(idx::REGIME_P_TREND), v.get(idx::REGIME_P_RANGE), v.get(idx::REGIME_P_CHOP)];
        let hmm =
            p.iter().all(|x| x.is_finite()).then(|| (0..N_STATES).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0));
        let r = v.get(idx::REGIME_RULE);
        let rule = (r.is_finite() && r >= 0.0 && r < N_STATES as f64).then_some(r as usize);
        let truth = bar_label(spans, c.bar.start, settings.bar_ns).map(|(regime, share)| (state_of(regime), share));
        let observation = observers[c.instrument].observe(c.bar);
        if let (Some((t, share)), Some(h), Some(r)) = (truth, hmm, rule) {
            report.scored += 1;
            report.hmm.add(t, h);
            report.rule.add(t, r);
            if share >= 1.0 {
                report.hmm_pure.add(t, h);
                report.rule_pure.add(t, r);
            }
        }
        report.per_bar.push(BarScore {
            instrument: c.instrument,
            start_ns: c.bar.start.0,
            truth,
            probabilities: p,
            hmm,
            rule,
            observation,
        });
    });
    report
}

impl CheckReport {
    /// The per-bar CSV (`kestrel regime check --bars`).
    pub fn bars_csv(&self) -> String {
        let mut s = String::from(
            "instrument,start_ns,truth,truth_share,p_trend,p_range,p_chop,hmm,rule,trend_strength,rel_log_vol,rel_log_activity\n",
        );
        let name = |x: Option<usize>| x.map_or("", |i| STATE_NAMES[i]);
        for b in &self.per_bar {
            let o = b.observation;
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                b.instrument,
                b.start_ns,
                name(b.truth.map(|t| t.0)),
                b.truth.map_or(String::new(), |t| format!("{:.4}", t.1)),
                csv_num(b.probabilities[0]),
                csv_num(b.probabilities[1]),
                csv_num(b.probabilities[2]),
                name(b.hmm),
                name(b.rule),
                csv_num(o[0]),
                csv_num(o[1]),
                csv_num(o[2]),
            );
        }
        s
    }
}

/// Numbers as pandas reads them: empty for missing.
fn csv_num(x: f64) -> String {
    if x.is_finite() { format!("{x:.6}") } else { String::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_counts_and_accuracy() {
        let mut c = Confusion::default();
        c.add(0, 0);
        c.add(0, 0);
        c.add(1, 2);
        c.add(2, 2);
        assert_eq!((c.total(), c.correct()), (4, 3));
        assert_eq!(c.accuracy(), 0.75);
        assert_eq!(c.recall()[1], 0.0);
        assert!(c.table().contains("trend"));
    }
}
