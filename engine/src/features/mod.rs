//! Features: turns each market event into the feature vector the strategy and the models read.
//!
//! The same code computes features in the hot loop and offline (`kestrel features`, training), so
//! a model never sees in production anything but what it was trained on. Every feature is O(1) per
//! event in memory sized at start-up (per-bar work is bounded by fixed buffers too), and the list
//! of features with their units is the versioned [`schema`].
//!
//! Per event: the book ([`MarketView`]) is updated, the instrument's bar builder and session clock
//! advance, then each calculator writes its part of the instrument's vector:
//! - [`micro`]: touch, depth, order flow, volatility, trade flow;
//! - [`profile`]: the session's volume profile (POC, value area, crosses, CVD);
//! - [`regime`]: the HMM filter and the rule-based regime;
//! - [`session`]: time of day and time in session.

pub mod bars;
pub mod micro;
pub mod profile;
pub mod regime;
pub mod schema;
pub mod session;
pub mod tick;

pub use schema::{DIRECTIONAL, FEATURES, FeatureDef, FeatureVector, PRICE_LEVELS, SCHEMA_VERSION, idx, schema_hash};

use crate::book::MarketView;
use crate::event::{Featured, Features, MarketEvent};
use crate::pipeline::Stage;
use crate::tape::Record;
use crate::types::{BookSide, InstrumentSpec, UnixNanos};
use bars::BarBuilder;
use micro::MicroFeatures;
use profile::ProfileFeatures;
use regime::{HmmParams, RegimeFeatures};
use session::{SessionClock, SessionFeatures};
use tick::{Tick, TradeTick, Units};

/// How features are computed; from the `[features]` config section.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureSettings {
    /// Book levels kept per side per instrument.
    pub book_levels: usize,
    /// Bar length.
    pub bar_ns: u64,
    /// Session length and its start after UTC midnight.
    pub session_ns: u64,
    pub session_offset_ns: u64,
    /// Width of the volume-profile histogram, in ticks.
    pub profile_ticks: usize,
    pub regime: HmmParams,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        FeatureSettings {
            book_levels: 1000,
            bar_ns: 60_000_000_000,
            session_ns: 86_400_000_000_000,
            session_offset_ns: 0,
            profile_ticks: 200_000,
            regime: HmmParams::default(),
        }
    }
}

/// Everything one instrument's features keep between events.
#[derive(Clone, Debug)]
struct InstrumentState {
    units: Units,
    bars: BarBuilder,
    session_start: Option<UnixNanos>,
    micro: MicroFeatures,
    profile: ProfileFeatures,
    regime: RegimeFeatures,
    session: SessionFeatures,
    vector: FeatureVector,
}

#[derive(Clone, Debug)]
pub struct FeatureStage {
    view: MarketView,
    sessions: SessionClock,
    states: Vec<InstrumentState>,
}

impl FeatureStage {
    pub fn new(instruments: &[InstrumentSpec], settings: &FeatureSettings) -> Self {
        let states = instruments
            .iter()
            .map(|spec| InstrumentState {
                units: Units::of(spec),
                bars: BarBuilder::new(settings.bar_ns),
                session_start: None,
                micro: MicroFeatures::new(),
                profile: ProfileFeatures::with_lengths(settings.profile_ticks, settings.bar_ns, settings.session_ns),
                regime: RegimeFeatures::new(&settings.regime),
                session: SessionFeatures,
                vector: FeatureVector::default(),
            })
            .collect();
        FeatureStage {
            view: MarketView::new(instruments.len(), settings.book_levels),
            sessions: SessionClock::new(settings.session_ns, settings.session_offset_ns),
            states,
        }
    }

    pub fn market(&self) -> &MarketView {
        &self.view
    }

    /// Trades that fell outside an instrument's volume-profile window (`features.profile_ticks`)
    /// and so are missing from its POC and value area. Non-zero means the window is too narrow for
    /// the tape: runs and exports report it.
    pub fn profile_trades_dropped(&self) -> u64 {
        self.states.iter().map(|s| s.profile.dropped_trades()).sum()
    }
}

impl Stage for FeatureStage {
    type In = MarketEvent;
    type Out = Featured;

    #[inline]
    fn on_event(&mut self, event: &MarketEvent) -> Featured {
        let instrument = event.record.header.instrument;
        let none = Featured { event: *event, features: Features { instrument, ..Features::default() } };
        let Some(id) = self.view.apply(&event.record) else { return none };
        let Some(state) = self.states.get_mut(id.index()) else { return none };
        let ts = event.ts;
        let touch = self.view.touch(id);
        let u = state.units;
        let mid = touch.map(|t| (t.bid.px.0 + t.ask.px.0) as f64 * 0.5 * u.price);
        let trade = match event.record.view() {
            Some(Record::Trade(tr)) => Some(TradeTick {
                px: tr.px.0 as f64 * u.price,
                qty: tr.qty.0 as f64 * u.qty,
                aggressor: tr.aggressor(),
            }),
            _ => None,
        };
        let session_start = self.sessions.start_of(ts);
        let new_session = state.session_start != Some(session_start);
        state.session_start = Some(session_start);
        let closed_bar = state.bars.advance(ts);
        if let Some(m) = mid {
            state.bars.on_mid(m);
        }
        if let Some(tr) = trade {
            state.bars.on_trade(tr.qty, tr.buyer_initiated());
        }
        let tick = Tick {
            ts,
            record: &event.record,
            units: u,
            touch,
            mid,
            bids: self.view.levels(id, BookSide::Bid),
            asks: self.view.levels(id, BookSide::Ask),
            trade,
            closed_bar: closed_bar.as_ref(),
            session_start,
            new_session,
        };
        let out = &mut state.vector;
        state.micro.update(&tick, out);
        state.profile.update(&tick, out);
        state.regime.update(&tick, out);
        state.session.update(&tick, out);
        let features = match touch {
            Some(t) => Features {
                instrument: id,
                tradable: true,
                bid_px: t.bid.px,
                bid_qty: t.bid.qty,
                ask_px: t.ask.px,
                ask_qty: t.ask.qty,
                values: *out,
            },
            None => Features { instrument: id, values: *out, ..Features::default() },
        };
        Featured { event: *event, features }
    }
}
