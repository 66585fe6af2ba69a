//! Replays a tape through the engine's features stage and hands out every closed bar.
//!
//! The regime model must be fitted on exactly what the engine filters at run time, so nothing here
//! computes a feature of its own: the tape's events go through [`FeatureStage`] (the hot-loop code),
//! and a shadow [`BarBuilder`] per instrument, fed from the stage's own book in the same order as the
//! stage feeds its bars, yields the closed bars that the regime observation function
//! ([`kestrel_engine::features::regime::Observer`]) turns into observations. The test
//! `tests/regime.rs::replayed_observations_reproduce_the_engine_filter` checks that filtering these
//! observations gives, bit for bit, the probabilities the stage wrote.

use kestrel_engine::clock::{Clock, TapeClock};
use kestrel_engine::event::MarketEvent;
use kestrel_engine::features::bars::{Bar, BarBuilder};
use kestrel_engine::features::tick::Units;
use kestrel_engine::features::{FeatureSettings, FeatureStage, FeatureVector};
use kestrel_engine::pipeline::Stage;
use kestrel_engine::tape::{Record, Tape};

/// One closed bar of one instrument, with the feature vector the stage produced on the event that
/// closed it (so the regime outputs there are the filter's state after this bar).
#[derive(Clone, Copy, Debug)]
pub struct ClosedBar<'a> {
    /// Index of the instrument in the tape's table.
    pub instrument: usize,
    pub bar: &'a Bar,
    pub features: &'a FeatureVector,
}

/// Runs every record of `tape` through a [`FeatureStage`] built from `settings` and calls `on_bar`
/// for each bar that closes, in tape order. The last, unfinished bar of each instrument is not
/// reported (the engine never filters it either). Returns the number of events replayed.
pub fn replay(tape: &Tape, settings: &FeatureSettings, mut on_bar: impl FnMut(ClosedBar<'_>)) -> u64 {
    let instruments = tape.instruments();
    let mut stage = FeatureStage::new(instruments, settings);
    let mut shadows: Vec<(Units, BarBuilder)> =
        instruments.iter().map(|spec| (Units::of(spec), BarBuilder::new(settings.bar_ns))).collect();
    let mut clock = TapeClock::default();
    let mut events = 0u64;
    for (seq, record) in tape.records().iter().enumerate() {
        let ts = clock.stamp_event(record.header.ts_local);
        let event = MarketEvent { seq: seq as u64, ts, stamp: 0, record: *record };
        let out = stage.on_event(&event);
        events += 1;
        // The stage ignores records it cannot apply (an instrument outside the table, an unknown
        // kind) before touching its bars; so does the shadow.
        let id = record.header.instrument;
        let Some(view) = record.view() else { continue };
        let Some((units, bars)) = shadows.get_mut(id.index()) else { continue };
        let closed = bars.advance(ts);
        if let Some(t) = stage.market().touch(id) {
            bars.on_mid((t.bid.px.0 + t.ask.px.0) as f64 * 0.5 * units.price);
        }
        if let Record::Trade(tr) = view {
            let qty = tr.qty.0 as f64 * units.qty;
            let buyer = match tr.aggressor() {
                kestrel_engine::types::Aggressor::Buy => Some(true),
                kestrel_engine::types::Aggressor::Sell => Some(false),
                kestrel_engine::types::Aggressor::Unknown => None,
            };
            bars.on_trade(qty, buyer);
        }
        if let Some(bar) = closed {
            on_bar(ClosedBar { instrument: id.index(), bar: &bar, features: &out.features.values });
        }
    }
    events
}
