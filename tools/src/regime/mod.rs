//! Regime model tools: the backend of `kestrel regime fit` and `kestrel regime check`.
//!
//! - [`replay`]: a tape through the engine's features stage, bar by bar;
//! - [`observations`]: the regime observations of a tape's bars, computed by the engine's own
//!   [`Observer`] (the function the online filter calls), cut into sequences at long gaps;
//! - [`fit`]: Baum-Welch for the 3-state diagonal-Gaussian HMM, with several initialisations, and
//!   a sampler of known HMMs for tests;
//! - [`check`]: per-bar accuracy and confusion matrices of the engine's filter (and of the rule
//!   baseline) against planted regimes;
//! - [`truth`]: the planted-regime CSV that `kestrel tape synth --truth` writes, and per-bar labels.

pub mod check;
pub mod fit;
pub mod replay;
pub mod truth;

use kestrel_engine::features::FeatureSettings;
use kestrel_engine::features::regime::{MAX_GAP_BARS, Observation, Observer, bars_between};
use kestrel_engine::tape::Tape;
use kestrel_engine::types::UnixNanos;

/// The observations of one run of consecutive bars of one instrument; empty bars inside it (at
/// most [`MAX_GAP_BARS`] in a row) are all-`NaN` observations, as the filter treats them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sequence {
    pub instrument: usize,
    /// Start of the first bar.
    pub start: UnixNanos,
    pub observations: Vec<Observation>,
}

/// The regime observations of every closed bar of `tape` at `bar_ns` bars, per instrument, in
/// sequences split where more than [`MAX_GAP_BARS`] bars in a row are empty (where the engine's
/// filter restarts).
pub fn observations(tape: &Tape, bar_ns: u64) -> Vec<Sequence> {
    let settings = FeatureSettings { bar_ns, ..FeatureSettings::default() };
    let n = tape.instruments().len();
    let mut observers = vec![Observer::new(); n];
    let mut open: Vec<Option<(Sequence, UnixNanos)>> = vec![None; n];
    let mut done = Vec::new();
    replay::replay(tape, &settings, |c| {
        let o = observers[c.instrument].observe(c.bar);
        let slot = &mut open[c.instrument];
        if let Some((seq, last)) = slot {
            let gap = bars_between(*last, c.bar.start, bar_ns);
            if gap > MAX_GAP_BARS + 1 {
                done.extend(slot.take().map(|(s, _)| s));
            } else {
                for _ in 1..gap {
                    seq.observations.push([f64::NAN; kestrel_engine::features::regime::OBS_DIM]);
                }
            }
        }
        let (seq, last) = slot.get_or_insert_with(|| {
            (Sequence { instrument: c.instrument, start: c.bar.start, observations: Vec::new() }, c.bar.start)
        });
        seq.observations.push(o);
        *last = c.bar.start;
    });
    done.extend(open.into_iter().flatten().map(|(s, _)| s));
    done.retain(|s| !s.observations.is_empty());
    done
}
