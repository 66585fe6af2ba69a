//! [`Synth`]: the market as a stream of tape records, in the order a recorder would write them.
//!
//! It owns the clocks. Venue time advances by exponential gaps (a Poisson process whose rate the
//! regime sets); each message reaches the recorder after a feed latency of about a millisecond with
//! rare spikes, and local time is clamped to never go back, as a real capture's would be when a
//! slow message holds up the ones behind it. Records are produced one event at a time, so a tape
//! of any length is generated in constant memory.

use super::book::{Change, Top};
use super::market::{Event, Market};
use super::random::Random;
use super::regime::{RegimeChain, RegimeSpan};
use super::{SynthConfig, SynthError};
use kestrel_engine::tape::{BookClear, LevelUpdate, Quote, RawRecord, RecordKind, Trade, flags};
use kestrel_engine::types::{InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};

/// Random streams of one seed: separate so that each part keeps its path when another changes.
const STREAM_MARKET: u64 = 0;
const STREAM_REGIME: u64 = 1;
const STREAM_LATENCY: u64 = 2;

/// Median feed latency and the spread of its lognormal (≈ 0.5–2 ms for 95 % of messages).
const LATENCY_MEDIAN_NS: f64 = 1_000_000.0;
const LATENCY_SIGMA: f64 = 0.35;
/// Probability and mean size of a latency spike (a GC pause, a congested switch).
const SPIKE_P: f64 = 0.002;
const SPIKE_MEAN_NS: f64 = 20_000_000.0;

/// Records of each kind produced so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCounts {
    pub quotes: u64,
    pub trades: u64,
    pub level_updates: u64,
    pub book_clears: u64,
}

impl RecordCounts {
    pub fn total(&self) -> u64 {
        self.quotes + self.trades + self.level_updates + self.book_clears
    }

    fn add(&mut self, record: &RawRecord) {
        match record.header.kind() {
            Some(RecordKind::Quote) => self.quotes += 1,
            Some(RecordKind::Trade) => self.trades += 1,
            Some(RecordKind::LevelUpdate) => self.level_updates += 1,
            Some(RecordKind::BookClear) => self.book_clears += 1,
            None => {}
        }
    }
}

/// The regime chain alone, run to the end of the configured duration: the ground truth of a
/// config without generating its market. It equals [`Synth::regimes`] after the stream ends.
pub fn regime_plan(cfg: &SynthConfig) -> Result<Vec<RegimeSpan>, SynthError> {
    cfg.validate()?;
    let horizon = UnixNanos(cfg.start.0 + cfg.duration_ns);
    let mut chain = RegimeChain::new(Random::new(cfg.seed, STREAM_REGIME), cfg.start, horizon, cfg.mean_dwell_ns);
    while chain.switch_at() < horizon {
        chain.switch();
    }
    Ok(chain.spans().to_vec())
}

/// A seeded synthetic market, yielding tape records for instrument 0.
///
/// The first records are a `BookClear`, the opening snapshot (level updates flagged `SNAPSHOT`,
/// the last also `END_OF_BATCH`) and a `Quote`. Every later book change is a batch of level updates
/// ending with `END_OF_BATCH`, after which the book is uncrossed; a `Quote` follows whenever the
/// top of book changed. A trade comes before the level updates that its fill caused.
#[derive(Debug)]
pub struct Synth {
    instrument: InstrumentSpec,
    id: InstrumentId,
    chain: RegimeChain,
    market: Market,
    latency: Random,
    start: u64,
    /// Venue time since `start`, in ns.
    t: u64,
    duration: u64,
    last_local: u64,
    update_id: u64,
    trade_id: u64,
    last_top: Option<Top>,
    changes: Vec<Change>,
    pending: Vec<RawRecord>,
    cursor: usize,
    counts: RecordCounts,
    done: bool,
}

impl Synth {
    /// Checks `cfg` and prepares the opening book; no record is produced until asked for.
    pub fn new(cfg: &SynthConfig) -> Result<Synth, SynthError> {
        cfg.validate()?;
        let horizon = UnixNanos(cfg.start.0 + cfg.duration_ns);
        let chain = RegimeChain::new(Random::new(cfg.seed, STREAM_REGIME), cfg.start, horizon, cfg.mean_dwell_ns);
        let mut changes = Vec::with_capacity(4 * cfg.depth_levels + 16);
        let start_ticks = cfg.start_price.0 / cfg.instrument.tick.0;
        let market = Market::new(
            Random::new(cfg.seed, STREAM_MARKET),
            chain.current(),
            start_ticks,
            cfg.depth_levels,
            cfg.activity,
            &mut changes,
        );
        let mut synth = Synth {
            instrument: cfg.instrument.clone(),
            id: InstrumentId(0),
            chain,
            market,
            latency: Random::new(cfg.seed, STREAM_LATENCY),
            start: cfg.start.0,
            t: 0,
            duration: cfg.duration_ns,
            last_local: 0,
            update_id: 0,
            trade_id: 0,
            last_top: None,
            changes,
            pending: Vec::with_capacity(4 * cfg.depth_levels + 16),
            cursor: 0,
            counts: RecordCounts::default(),
            done: false,
        };
        synth.open();
        Ok(synth)
    }

    /// The instrument the records describe (written to the tape's instrument table as index 0).
    pub fn instrument(&self) -> &InstrumentSpec {
        &self.instrument
    }

    /// The regime spans entered so far, in order; complete (tiling `[start, start + duration)`)
    /// once the stream has ended. See [`regime_plan`] for the full list up front.
    pub fn regimes(&self) -> &[RegimeSpan] {
        self.chain.spans()
    }

    /// Records of each kind yielded so far.
    pub fn counts(&self) -> RecordCounts {
        self.counts
    }

    /// The next record, or `None` when the configured duration is over.
    pub fn next_record(&mut self) -> Option<RawRecord> {
        loop {
            if let Some(&record) = self.pending.get(self.cursor) {
                self.cursor += 1;
                self.counts.add(&record);
                return Some(record);
            }
            if self.done {
                return None;
            }
            self.pending.clear();
            self.cursor = 0;
            self.step();
        }
    }

    /// The opening book: clear, snapshot, quote.
    fn open(&mut self) {
        self.update_id += 1;
        let (local, exchange) = self.stamp();
        self.pending.push(BookClear::new(self.id, local, exchange, self.update_id).into());
        self.push_levels(local, exchange, flags::SNAPSHOT);
        self.push_quote_if_changed();
    }

    /// Runs the clock to the next event that produces records, switching regimes on the way, or
    /// marks the stream done at the end of the duration.
    fn step(&mut self) {
        while self.pending.is_empty() {
            let rate = self.market.event_rate();
            let gap = self.market.rng().exponential(1e9 / rate).round();
            let gap = if gap.is_finite() && gap >= 1.0 { gap as u64 } else { 1 };
            let switch = self.chain.switch_at().0 - self.start;
            let boundary = switch.min(self.duration);
            let next = self.t.saturating_add(gap);
            if next >= boundary {
                self.market.advance((boundary - self.t) as f64 * 1e-9);
                self.t = boundary;
                if boundary >= self.duration {
                    self.done = true;
                    return;
                }
                // Memoryless arrivals: drawing the next gap afresh at the new rate is exact.
                let regime = self.chain.switch();
                self.market.enter(regime);
                continue;
            }
            self.market.advance(gap as f64 * 1e-9);
            self.t = next;
            self.changes.clear();
            match self.market.event(&mut self.changes) {
                Event::None => {}
                Event::Book => {
                    self.update_id += 1;
                    let (local, exchange) = self.stamp();
                    self.push_levels(local, exchange, 0);
                    self.push_quote_if_changed();
                }
                Event::Trade { aggressor, ticks, lots } => {
                    self.trade_id += 1;
                    let (local, exchange) = self.stamp();
                    let trade = Trade::new(
                        self.id,
                        local,
                        exchange,
                        self.price(ticks),
                        self.qty(lots),
                        aggressor,
                        self.trade_id,
                    );
                    self.pending.push(trade.into());
                    self.update_id += 1;
                    let (local, exchange) = self.stamp();
                    self.push_levels(local, exchange, 0);
                    self.push_quote_if_changed();
                }
            }
        }
    }

    /// Venue and local time of a message sent now: local = venue + feed latency, never earlier
    /// than the previous message's local time.
    fn stamp(&mut self) -> (UnixNanos, UnixNanos) {
        let exchange = self.start + self.t;
        let mut latency = self.latency.lognormal(LATENCY_MEDIAN_NS, LATENCY_SIGMA);
        if self.latency.chance(SPIKE_P) {
            latency += self.latency.exponential(SPIKE_MEAN_NS);
        }
        let latency = if latency.is_finite() { latency.min(1e12) as u64 } else { 0 };
        self.last_local = self.last_local.max(exchange.saturating_add(latency));
        (UnixNanos(self.last_local), UnixNanos(exchange))
    }

    fn price(&self, ticks: i64) -> Price {
        Price(ticks * self.instrument.tick.0)
    }

    fn qty(&self, lots: i64) -> Qty {
        Qty(lots * self.instrument.lot.0)
    }

    /// The buffered book changes as one batch of level updates, the last flagged `END_OF_BATCH`.
    fn push_levels(&mut self, local: UnixNanos, exchange: UnixNanos, extra_flags: u8) {
        let n = self.changes.len();
        for (i, c) in self.changes.iter().enumerate() {
            let end = if i + 1 == n { flags::END_OF_BATCH } else { 0 };
            let px = Price(c.ticks * self.instrument.tick.0);
            let qty = Qty(c.lots * self.instrument.lot.0);
            let update = LevelUpdate::new(self.id, local, exchange, c.side, px, qty, self.update_id, extra_flags | end);
            self.pending.push(update.into());
        }
    }

    /// A `Quote` (its own message, with its own latency) if the best bid or ask moved or resized.
    fn push_quote_if_changed(&mut self) {
        let top = self.market.book().top();
        if self.last_top == Some(top) {
            return;
        }
        self.last_top = Some(top);
        let (local, exchange) = self.stamp();
        let bid = (self.price(top.bid_ticks), self.qty(top.bid_lots));
        let ask = (self.price(top.ask_ticks), self.qty(top.ask_lots));
        self.pending.push(Quote::new(self.id, local, exchange, bid, ask).into());
    }
}

impl Iterator for Synth {
    type Item = RawRecord;

    fn next(&mut self) -> Option<RawRecord> {
        self.next_record()
    }
}

impl std::iter::FusedIterator for Synth {}
