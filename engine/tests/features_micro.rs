//! The microstructure features (`features::micro`) against a plain batch recomputation.
//!
//! [`reference`] rebuilds the market from the records with its own book (ordered maps, no size
//! cap) and then, for any event `n`, recomputes every micro feature from the whole history up to
//! `n`, the way the schema states it: a decayed feature as the direct sum
//! `Σᵢ xᵢ · exp(−(tₙ − tᵢ)/τ)` over every past contribution, the per-bar features from the list of
//! every bar closed so far, the touch features from the last event that had a touch. Nothing is
//! carried from one event to the next but the history itself, so the recursive, fixed-memory
//! implementation is checked against an independent one at every event.
//!
//! Agreement (see [`reference::Expected`]): bit-exact for the touch, spread, L1 and depth
//! imbalances; microprice within 1e-14 relative (the reference evaluates the schema's
//! `(bid·qa + ask·qb)/(qa + qb)`, the engine an equal form that rounds inside the spread); the
//! decayed sums within 1e-9 of the decayed sum of the terms' absolute values (the recursion
//! rounds once per distinct timestamp, ≈ 1e-16 each: a 1e-9 bound leaves a margin of 10⁶
//! timestamps within a few τ, and scaling by the absolute sum, not the value, is what a sum with
//! cancelling terms can promise; the volatilities, square roots of sums of positive terms, within
//! 1e-9 relative); the per-bar features within 1e-12 relative (the z-score 1e-9, relative above 1),
//! though they agree to the last bit because both sum in the same order. The property tests check
//! every event; the worst errors seen are 1e-5 of these bounds or less (see `Coverage::summary`).
//!
//! The same file is included by the root package's `tests/features_micro_tapes.rs`, which runs the
//! reference over a synthetic tape and the real Binance capture; its own tests only run here.

use kestrel_engine::event::MarketEvent;
use kestrel_engine::features::{FEATURES, FeatureSettings, FeatureStage, FeatureVector, idx};
use kestrel_engine::pipeline::Stage;
use kestrel_engine::tape::{BookClear, LevelUpdate, Quote, RawRecord, Trade, flags};
use kestrel_engine::types::{Aggressor, BookSide, InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use proptest::prelude::*;

pub mod reference {
    use kestrel_engine::event::MarketEvent;
    use kestrel_engine::features::{FEATURES, FeatureSettings, FeatureStage, FeatureVector, idx};
    use kestrel_engine::pipeline::Stage;
    use kestrel_engine::tape::{RawRecord, Record, RecordKind, flags};
    use kestrel_engine::types::{Aggressor, BookSide, InstrumentSpec, UnixNanos};
    use std::collections::BTreeMap;

    /// The microstructure features, in schema order.
    pub const MICRO: [usize; 18] = [
        idx::MID,
        idx::MICROPRICE,
        idx::SPREAD_TICKS,
        idx::SPREAD_BPS,
        idx::IMBALANCE_L1,
        idx::IMBALANCE_DEPTH5,
        idx::IMBALANCE_DEPTH10,
        idx::OFI_1S,
        idx::OFI_10S,
        idx::VOL_EWMA_1S,
        idx::VOL_EWMA_10S,
        idx::VOL_EWMA_60S,
        idx::REALIZED_VOL_5BARS,
        idx::ATR_14,
        idx::ATR_Z,
        idx::TRADE_RATE_10S,
        idx::SIGNED_VOLUME_10S,
        idx::SIGNED_VOLUME_60S,
    ];

    const SEC: f64 = 1e9;

    /// Strategy time of every record: tape time that never goes backwards (what `TapeClock` gives).
    pub fn event_times(records: &[RawRecord]) -> Vec<u64> {
        let mut now = 0;
        records
            .iter()
            .map(|r| {
                now = now.max(r.header.ts_local.0);
                now
            })
            .collect()
    }

    /// A touch in fixed point: prices in steps, sizes in lots.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Touch {
        b: i64,
        qb: i64,
        a: i64,
        qa: i64,
    }

    /// The market as the features stage is specified to see it: quotes are the touch when the tape
    /// has any; otherwise the L2 book's best levels once the batch is complete; a touch only when
    /// two-sided with positive sizes and bid < ask.
    #[derive(Debug, Default)]
    struct Market {
        has_quotes: bool,
        quote: Option<Touch>,
        bids: BTreeMap<i64, i64>,
        asks: BTreeMap<i64, i64>,
        in_batch: bool,
    }

    impl Market {
        fn apply(&mut self, r: &RawRecord) {
            match r.view() {
                Some(Record::Quote(q)) => {
                    self.has_quotes = true;
                    self.quote = Some(Touch { b: q.bid_px.0, qb: q.bid_qty.0, a: q.ask_px.0, qa: q.ask_qty.0 });
                }
                Some(Record::Level(l)) => {
                    let book = if l.side() == BookSide::Bid { &mut self.bids } else { &mut self.asks };
                    if l.qty.0 > 0 {
                        book.insert(l.px.0, l.qty.0);
                    } else {
                        book.remove(&l.px.0);
                    }
                    self.in_batch = !l.header.has(flags::END_OF_BATCH);
                }
                Some(Record::Clear(_)) => {
                    self.bids.clear();
                    self.asks.clear();
                    self.in_batch = true;
                }
                Some(Record::Trade(_)) | None => {}
            }
        }

        fn touch(&self) -> Option<Touch> {
            let t = if self.has_quotes {
                self.quote?
            } else if self.in_batch {
                return None;
            } else {
                let (&b, &qb) = self.bids.iter().next_back()?;
                let (&a, &qa) = self.asks.iter().next()?;
                Touch { b, qb, a, qa }
            };
            (t.qb > 0 && t.qa > 0 && t.b < t.a).then_some(t)
        }

        /// Summed sizes of the best `n` bid and ask levels; `None` when a side is empty.
        fn depth(&self, n: usize) -> Option<(i64, i64)> {
            if self.bids.is_empty() || self.asks.is_empty() {
                return None;
            }
            Some((self.bids.values().rev().take(n).sum(), self.asks.values().take(n).sum()))
        }
    }

    /// What one event leaves behind, as plain facts.
    #[derive(Debug)]
    struct Event {
        ts: u64,
        touch: Option<Touch>,
        /// The levels may be read (not a clear, not inside a batch).
        settled: bool,
        depth5: Option<(i64, i64)>,
        depth10: Option<(i64, i64)>,
    }

    /// A contribution `x` made at event `at` (time `ts`) to a decayed sum.
    #[derive(Clone, Copy, Debug)]
    struct Term {
        at: usize,
        ts: u64,
        x: f64,
    }

    /// A mid change at event `at`: its squared log-return and the time since the previous change.
    #[derive(Clone, Copy, Debug)]
    struct Return {
        at: usize,
        ts: u64,
        dt: u64,
        r2: f64,
    }

    /// A time bar, from the events whose time falls in `[start, start + bar_ns)`.
    #[derive(Clone, Copy, Debug)]
    struct Bar {
        high: f64,
        low: f64,
        close: f64,
        prev_close: f64,
        sum_sq_returns: f64,
        /// The event that closes it: the first one of a later bar (`None`: still open).
        closed_at: Option<usize>,
    }

    /// What a feature should be at an event, and how close the engine must come.
    #[derive(Clone, Debug)]
    pub struct Expected {
        pub value: [f64; idx::COUNT],
        /// Allowed absolute difference; 0 means bit-exact. NaN values must be NaN.
        pub tol: [f64; idx::COUNT],
    }

    /// The whole history of one instrument's records, ready to answer "what should the features be
    /// after event n".
    #[derive(Debug)]
    pub struct Reference {
        price: f64,
        tick_steps: i64,
        events: Vec<Event>,
        first_touch: Option<usize>,
        ofi: Vec<Term>,
        trades: Vec<Term>,
        signed: Vec<Term>,
        returns: Vec<Return>,
        bars: Vec<Bar>,
    }

    impl Reference {
        pub fn new(spec: &InstrumentSpec, records: &[RawRecord], bar_ns: u64) -> Reference {
            let price = 10f64.powi(-i32::from(spec.price_scale));
            let qty = 10f64.powi(-i32::from(spec.qty_scale));
            let times = event_times(records);
            let mut market = Market::default();
            let mut events = Vec::with_capacity(records.len());
            let (mut ofi, mut trades, mut signed, mut returns) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut prev_touch: Option<Touch> = None;
            let mut first_touch = None;
            let mut last_mid: Option<f64> = None;
            let mut last_change = 0u64;
            for (n, r) in records.iter().enumerate() {
                let ts = times[n];
                market.apply(r);
                let touch = market.touch();
                let settled = match r.header.kind() {
                    Some(RecordKind::BookClear) => false,
                    Some(RecordKind::LevelUpdate) => r.header.has(flags::END_OF_BATCH),
                    _ => true,
                };
                if let Some(Record::Trade(tr)) = r.view() {
                    trades.push(Term { at: n, ts, x: 1.0 });
                    let q = tr.qty.0 as f64 * qty;
                    match tr.aggressor() {
                        Aggressor::Buy => signed.push(Term { at: n, ts, x: q }),
                        Aggressor::Sell => signed.push(Term { at: n, ts, x: -q }),
                        Aggressor::Unknown => {}
                    }
                }
                if let Some(t) = touch {
                    first_touch.get_or_insert(n);
                    if let Some(p) = prev_touch {
                        // Cont, Kukanov & Stoikov (2014), eq. (2), with primes the previous touch.
                        let e =
                            i64::from(t.b >= p.b) * t.qb - i64::from(t.b <= p.b) * p.qb - i64::from(t.a <= p.a) * t.qa
                                + i64::from(t.a >= p.a) * p.qa;
                        ofi.push(Term { at: n, ts, x: e as f64 * qty });
                    }
                    prev_touch = Some(t);
                    let mid = (t.b + t.a) as f64 * 0.5 * price;
                    match last_mid {
                        Some(m) if m != mid => {
                            let r = (mid / m).ln();
                            returns.push(Return { at: n, ts, dt: ts - last_change, r2: r * r });
                            last_change = ts;
                        }
                        Some(_) => {}
                        None => last_change = ts,
                    }
                    last_mid = Some(mid);
                }
                events.push(Event { ts, touch, settled, depth5: market.depth(5), depth10: market.depth(10) });
            }
            let bars = bars(&events, &returns, price, bar_ns);
            let tick_steps = spec.tick.0.max(1);
            Reference { price, tick_steps, events, first_touch, ofi, trades, signed, returns, bars }
        }

        /// Every micro feature after event `n`. With `horizon` (in time constants), decayed sums skip
        /// contributions older than `horizon · τ` (their weight is below `exp(−horizon)`) and widen
        /// the tolerance by the most they could add; `None` sums over the whole history.
        pub fn at(&self, n: usize, horizon: Option<f64>) -> Expected {
            let mut value = [f64::NAN; idx::COUNT];
            let mut tol = [0.0; idx::COUNT];
            let t = self.events[n].ts;
            let mid = |t: &Touch| (t.b + t.a) as f64 * 0.5 * self.price;

            // Touch: the last event that had one.
            if let Some(j) = (0..=n).rev().find(|&j| self.events[j].touch.is_some()) {
                let tt = self.events[j].touch.unwrap();
                let (bp, ap) = (tt.b as f64 * self.price, tt.a as f64 * self.price);
                let (qb, qa) = (tt.qb as f64, tt.qa as f64);
                value[idx::MID] = mid(&tt);
                value[idx::MICROPRICE] = (bp * qa + ap * qb) / (qa + qb);
                tol[idx::MICROPRICE] = 1e-14 * value[idx::MICROPRICE].abs();
                value[idx::SPREAD_TICKS] = (tt.a - tt.b) as f64 / self.tick_steps as f64;
                value[idx::SPREAD_BPS] = (tt.a - tt.b) as f64 / ((tt.a + tt.b) as f64 / 2.0) * 1e4;
                value[idx::IMBALANCE_L1] = (tt.qb - tt.qa) as f64 / (tt.qb + tt.qa) as f64;
            }
            // Depth: the last event with a touch and a settled book.
            if let Some(j) = (0..=n).rev().find(|&j| self.events[j].touch.is_some() && self.events[j].settled) {
                let e = &self.events[j];
                let tt = e.touch.unwrap();
                let imbalance = |d: Option<(i64, i64)>| {
                    let (b, a) = d.unwrap_or((tt.qb, tt.qa));
                    (b - a) as f64 / (b + a) as f64
                };
                value[idx::IMBALANCE_DEPTH5] = imbalance(e.depth5);
                value[idx::IMBALANCE_DEPTH10] = imbalance(e.depth10);
            }

            // Decayed sums over the whole history.
            let sum = |terms: &[Term], tau_s: f64| -> (f64, f64) {
                let end = terms.partition_point(|x| x.at <= n);
                let tau = tau_s * SEC;
                let cutoff = horizon.map_or(0, |h| t.saturating_sub((h * tau) as u64));
                let start = terms[..end].partition_point(|x| x.ts < cutoff);
                let (mut s, mut abs) = (0.0, 0.0);
                for x in &terms[start..end] {
                    let w = (-((t - x.ts) as f64) / tau).exp();
                    s += x.x * w;
                    abs += x.x.abs() * w;
                }
                let skipped: f64 = terms[..start].iter().map(|x| x.x.abs()).sum();
                (s, abs + skipped * (-horizon.unwrap_or(0.0)).exp())
            };
            if self.first_touch.is_some_and(|f| f <= n) {
                for (i, tau) in [(idx::OFI_1S, 1.0), (idx::OFI_10S, 10.0)] {
                    let (s, abs) = sum(&self.ofi, tau);
                    value[i] = s;
                    tol[i] = 1e-9 * abs + 1e-300;
                }
            }
            if self.returns.first().is_some_and(|r| r.at <= n) {
                for (i, tau) in [(idx::VOL_EWMA_1S, 1.0), (idx::VOL_EWMA_10S, 10.0), (idx::VOL_EWMA_60S, 60.0)] {
                    let tau_ns = tau * SEC;
                    let terms: Vec<Term> = self
                        .returns
                        .iter()
                        .map(|r| Term { at: r.at, ts: r.ts, x: -(-(r.dt as f64) / tau_ns).exp_m1() * r.r2 })
                        .collect();
                    let (v, _) = sum(&terms, tau);
                    value[i] = v.sqrt();
                    tol[i] = 1e-9 * value[i] + 1e-150;
                }
            }
            let (count, _) = sum(&self.trades, 10.0);
            value[idx::TRADE_RATE_10S] = count / 10.0;
            tol[idx::TRADE_RATE_10S] = 1e-9 * value[idx::TRADE_RATE_10S] + 1e-300;
            for (i, tau) in [(idx::SIGNED_VOLUME_10S, 10.0), (idx::SIGNED_VOLUME_60S, 60.0)] {
                let (s, abs) = sum(&self.signed, tau);
                value[i] = s;
                tol[i] = 1e-9 * abs + 1e-300;
            }

            // Per bar: every bar closed by event n that has a mid.
            let closed: Vec<&Bar> =
                self.bars.iter().filter(|b| b.closed_at.is_some_and(|c| c <= n) && b.close.is_finite()).collect();
            if closed.len() >= 5 {
                value[idx::REALIZED_VOL_5BARS] =
                    closed[closed.len() - 5..].iter().map(|b| b.sum_sq_returns).sum::<f64>().sqrt();
                tol[idx::REALIZED_VOL_5BARS] = 1e-12 * value[idx::REALIZED_VOL_5BARS];
            }
            let tr: Vec<f64> = closed
                .iter()
                .map(|b| {
                    let hl = b.high - b.low;
                    if b.prev_close.is_nan() {
                        hl
                    } else {
                        hl.max((b.high - b.prev_close).abs()).max((b.low - b.prev_close).abs())
                    }
                })
                .collect();
            let atr: Vec<f64> = (14..=tr.len()).map(|k| tr[k - 14..k].iter().sum::<f64>() / 14.0).collect();
            if let Some(&last) = atr.last() {
                value[idx::ATR_14] = last;
                tol[idx::ATR_14] = 1e-12 * last;
            }
            if atr.len() >= 60 {
                let w = &atr[atr.len() - 60..];
                let mean = w.iter().sum::<f64>() / 60.0;
                let sd = (w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 59.0).sqrt();
                // A flat ATR (std within rounding of its mean) has a z-score of 0, by definition.
                let z = if sd > 1e-9 * mean.abs() { (w[59] - mean) / sd } else { 0.0 };
                value[idx::ATR_Z] = z;
                tol[idx::ATR_Z] = 1e-9 * z.abs().max(1.0);
            }
            Expected { value, tol }
        }
    }

    /// The bars of the history: events grouped by `ts / bar_ns`; a bar opens at the last mid before
    /// it, spans the mids of its events, and is closed by the first event of the next group.
    fn bars(events: &[Event], returns: &[Return], price: f64, bar_ns: u64) -> Vec<Bar> {
        let bar_ns = bar_ns.max(1);
        let mut bars: Vec<Bar> = Vec::new();
        let mut last_mid = f64::NAN;
        let mut n = 0;
        while n < events.len() {
            let bucket = events[n].ts / bar_ns;
            let end = n + events[n..].iter().take_while(|e| e.ts / bar_ns == bucket).count();
            let mut mids: Vec<f64> = Vec::new();
            if last_mid.is_finite() {
                mids.push(last_mid);
            }
            mids.extend(events[n..end].iter().filter_map(|e| e.touch.map(|t| (t.b + t.a) as f64 * 0.5 * price)));
            let (high, low, close) = match mids.last() {
                Some(&c) => {
                    (mids.iter().copied().fold(f64::MIN, f64::max), mids.iter().copied().fold(f64::MAX, f64::min), c)
                }
                None => (f64::NAN, f64::NAN, f64::NAN),
            };
            let sum_sq_returns = returns.iter().filter(|r| (n..end).contains(&r.at)).map(|r| r.r2).sum::<f64>();
            let prev_close = bars.last().map_or(f64::NAN, |b| b.close);
            let closed_at = (end < events.len()).then_some(end);
            bars.push(Bar { high, low, close, prev_close, sum_sq_returns, closed_at });
            last_mid = close;
            n = end;
        }
        bars
    }

    /// How many checked events had each feature defined.
    #[derive(Clone, Debug)]
    pub struct Coverage {
        pub checked: usize,
        pub defined: [usize; idx::COUNT],
        /// The largest `|got − want| / tol` seen (features with a tolerance), to show the margin.
        pub worst: [f64; idx::COUNT],
    }

    impl Default for Coverage {
        fn default() -> Self {
            Coverage { checked: 0, defined: [0; idx::COUNT], worst: [0.0; idx::COUNT] }
        }
    }

    impl Coverage {
        /// The micro features never seen defined.
        pub fn never_defined(&self) -> Vec<&'static str> {
            MICRO.iter().filter(|&&i| self.defined[i] == 0).map(|&i| FEATURES[i].name).collect()
        }

        /// One line per micro feature: how often it was defined and the worst error against its
        /// tolerance.
        pub fn summary(&self) -> String {
            MICRO
                .iter()
                .map(|&i| {
                    format!(
                        "  {:<20} defined at {:>7} of {} checks, worst error {:.1e} of the tolerance\n",
                        FEATURES[i].name, self.defined[i], self.checked, self.worst[i]
                    )
                })
                .collect()
        }
    }

    /// Whether `got` agrees with `want` within `tol` (NaN with NaN; `tol` 0: the same value).
    pub fn agrees(got: f64, want: f64, tol: f64) -> bool {
        if want.is_nan() { got.is_nan() } else { got == want || (got - want).abs() <= tol }
    }

    /// Feeds `records` (one instrument, id 0) through a `FeatureStage` and compares every micro
    /// feature with the reference at each event for which `check(n)` holds.
    pub fn check_stream(
        spec: &InstrumentSpec,
        settings: &FeatureSettings,
        records: &[RawRecord],
        check: &dyn Fn(usize) -> bool,
        horizon: Option<f64>,
    ) -> Result<Coverage, String> {
        let reference = Reference::new(spec, records, settings.bar_ns);
        let mut stage = FeatureStage::new(std::slice::from_ref(spec), settings);
        let times = event_times(records);
        let mut cov = Coverage::default();
        for (n, r) in records.iter().enumerate() {
            let event = MarketEvent { seq: n as u64, ts: UnixNanos(times[n]), stamp: 0, record: *r };
            let got: FeatureVector = stage.on_event(&event).features.values;
            if !check(n) {
                continue;
            }
            cov.checked += 1;
            let want = reference.at(n, horizon);
            for &i in &MICRO {
                let (g, w, tol) = (got.get(i), want.value[i], want.tol[i]);
                if !agrees(g, w, tol) {
                    return Err(format!(
                        "event {n} (t = {} ns, {:?}): {} = {g:e}, the reference says {w:e} (± {tol:e}; diff {:e})",
                        times[n],
                        r.header.kind(),
                        FEATURES[i].name,
                        g - w
                    ));
                }
                if !w.is_nan() {
                    cov.defined[i] += 1;
                    if tol > 0.0 {
                        cov.worst[i] = cov.worst[i].max((g - w).abs() / tol);
                    }
                }
            }
        }
        Ok(cov)
    }
}

use reference::{MICRO, agrees, check_stream};

/// True when this file runs as its own test target, false when `tests/features_micro_tapes.rs`
/// includes it for the reference (its tests would otherwise run twice).
const STANDALONE: bool = str_eq(env!("CARGO_CRATE_NAME"), "features_micro");

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const ID: InstrumentId = InstrumentId(0);
const SEC: u64 = 1_000_000_000;
const HOUR: u64 = 3_600 * SEC;
/// 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000 * SEC;
const TICK: i64 = 5;

fn spec() -> InstrumentSpec {
    InstrumentSpec {
        symbol: "TEST".into(),
        venue: "T".into(),
        price_scale: 2,
        qty_scale: 3,
        tick: Price(TICK),
        lot: Qty(1),
    }
}

/// One-second bars, so that short streams close enough bars for the ATR's z-score.
fn settings() -> FeatureSettings {
    FeatureSettings { bar_ns: SEC, book_levels: 1024, ..FeatureSettings::default() }
}

fn quote(ts: u64, b: i64, qb: i64, a: i64, qa: i64) -> RawRecord {
    Quote::new(ID, UnixNanos(ts), UnixNanos(ts), (Price(b), Qty(qb)), (Price(a), Qty(qa))).into()
}

fn trade(ts: u64, px: i64, qty: i64, aggressor: Aggressor) -> RawRecord {
    Trade::new(ID, UnixNanos(ts), UnixNanos(ts), Price(px), Qty(qty), aggressor, 0).into()
}

fn level(ts: u64, side: BookSide, px: i64, qty: i64, end: bool) -> RawRecord {
    let f = if end { flags::END_OF_BATCH } else { 0 };
    LevelUpdate::new(ID, UnixNanos(ts), UnixNanos(ts), side, Price(px), Qty(qty), 0, f).into()
}

fn clear(ts: u64) -> RawRecord {
    BookClear::new(ID, UnixNanos(ts), UnixNanos(ts), 0).into()
}

/// Which records a random stream holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Quotes and trades: an L1-only tape.
    L1,
    /// Level updates, clears and trades: the touch comes from the L2 book.
    L2,
    /// All of them: quotes are the touch, the levels the depth.
    Mixed,
}

/// One step of a random stream, as raw draws (decoded by [`build`]).
#[derive(Clone, Copy, Debug)]
struct Step {
    gap_kind: u8,
    gap: u64,
    op: u8,
    drift: i64,
    spread: i64,
    q1: i64,
    q2: i64,
    offset: i64,
    flag: u8,
    trade_qty: i64,
}

fn step() -> impl Strategy<Value = Step> {
    (0u8..100, 0u64..1_000_000, 0u8..100, -2i64..=2, -1i64..=3, 0i64..=6, 0i64..=6, 0i64..8, 0u8..4, 1i64..5_000)
        .prop_map(|(gap_kind, gap, op, drift, spread, q1, q2, offset, flag, trade_qty)| Step {
            gap_kind,
            gap,
            op,
            drift,
            spread,
            q1,
            q2,
            offset,
            flag,
            trade_qty,
        })
}

/// Turns draws into records: time gaps from zero (same nanosecond) through microseconds, up to
/// seconds and, rarely, hours; a touch that random-walks around a centre; quotes that are
/// sometimes crossed, locked or one-sided (zero size); L2 levels near the centre, with batches
/// that end on a random level and clears; trades of random size and aggressor.
fn build(mode: Mode, steps: &[Step]) -> Vec<RawRecord> {
    let mut ts = T0;
    let mut centre: i64 = 2_000; // in ticks
    let mut out = Vec::with_capacity(steps.len());
    for s in steps {
        ts += match s.gap_kind {
            0..35 => 0,
            35..55 => 1 + s.gap,                 // up to 1 ms
            55..80 => 1_000_000 + s.gap * 1_000, // 1 ms to 1 s
            80..97 => SEC + s.gap * 3_000,       // 1 s to 4 s
            _ => HOUR + s.gap * 50_000_000,      // 1 h to ~15 h
        };
        centre = (centre + s.drift).max(100);
        let kinds: &[u8] = match mode {
            Mode::L1 => &[0, 0, 0, 3],
            Mode::L2 => &[1, 1, 1, 1, 1, 1, 2, 3, 3],
            Mode::Mixed => &[0, 0, 1, 1, 1, 1, 2, 3, 3],
        };
        let kind = kinds[usize::from(s.op) % kinds.len()];
        out.push(match kind {
            0 => {
                let b = centre * TICK;
                quote(ts, b, s.q1, b + s.spread * TICK, s.q2)
            }
            1 => {
                let bid = s.flag % 2 == 0;
                let (side, px) = if bid {
                    (BookSide::Bid, (centre - s.offset) * TICK)
                } else {
                    (BookSide::Ask, (centre + 1 + s.offset) * TICK)
                };
                // Three in four levels end their batch; a removal one time in seven.
                level(ts, side, px, s.q1 * i64::from(s.q2 != 0), s.flag != 3)
            }
            2 => clear(ts),
            _ => {
                let aggressor = match s.flag % 3 {
                    0 => Aggressor::Buy,
                    1 => Aggressor::Sell,
                    _ => Aggressor::Unknown,
                };
                trade(ts, centre * TICK, s.trade_qty, aggressor)
            }
        });
    }
    out
}

fn run_all(records: &[RawRecord]) -> Result<reference::Coverage, String> {
    check_stream(&spec(), &settings(), records, &|_| true, None)
}

proptest! {
    // Included elsewhere, one case that returns at once, and no regression file to look for.
    #![proptest_config(ProptestConfig {
        cases: if STANDALONE { 64 } else { 1 },
        failure_persistence: if STANDALONE { ProptestConfig::default().failure_persistence } else { None },
        ..ProptestConfig::default()
    })]

    /// An L1-only tape: every micro feature equals the batch reference at every event.
    #[test]
    fn l1_streams_match_the_reference(steps in proptest::collection::vec(step(), 1..400)) {
        if !STANDALONE { return Ok(()); }
        run_all(&build(Mode::L1, &steps)).map_err(TestCaseError::fail)?;
    }

    /// An L2-only tape (touch from the book, batches, clears, crossed books).
    #[test]
    fn l2_streams_match_the_reference(steps in proptest::collection::vec(step(), 1..400)) {
        if !STANDALONE { return Ok(()); }
        run_all(&build(Mode::L2, &steps)).map_err(TestCaseError::fail)?;
    }

    /// Quotes for the touch and L2 levels for the depth, interleaved with trades.
    #[test]
    fn mixed_streams_match_the_reference(steps in proptest::collection::vec(step(), 1..400)) {
        if !STANDALONE { return Ok(()); }
        run_all(&build(Mode::Mixed, &steps)).map_err(TestCaseError::fail)?;
    }
}

/// A long synthetic stream from a fixed seed (xorshift draws through the same builder), checked at
/// every event; it must bring every micro feature to a defined value, so that the property tests'
/// generator is known to reach the per-bar windows (73 bars for the ATR's z-score).
#[test]
fn a_long_seeded_stream_matches_the_reference_and_defines_every_feature() {
    if !STANDALONE {
        return;
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let steps: Vec<Step> = (0..3_000)
        .map(|_| Step {
            gap_kind: next(97) as u8, // no hour-long gaps: keep the bars coming
            gap: next(1_000_000),
            op: next(100) as u8,
            drift: next(5) as i64 - 2,
            spread: next(5) as i64 - 1,
            q1: next(7) as i64,
            q2: next(7) as i64,
            offset: next(8) as i64,
            flag: next(4) as u8,
            trade_qty: 1 + next(4_999) as i64,
        })
        .collect();
    for mode in [Mode::L1, Mode::L2, Mode::Mixed] {
        let cov = run_all(&build(mode, &steps)).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        eprintln!("{mode:?}:\n{}", cov.summary());
        assert_eq!(cov.never_defined(), Vec::<&str>::new(), "{mode:?}: features never defined");
    }
}

/// Runs `records` through a stage and returns the vector after each event.
fn vectors(records: &[RawRecord]) -> Vec<FeatureVector> {
    let mut stage = FeatureStage::new(&[spec()], &settings());
    let times = reference::event_times(records);
    records
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let e = MarketEvent { seq: n as u64, ts: UnixNanos(times[n]), stamp: 0, record: *r };
            stage.on_event(&e).features.values
        })
        .collect()
}

const TOUCH: [usize; 7] = [
    idx::MID,
    idx::MICROPRICE,
    idx::SPREAD_TICKS,
    idx::SPREAD_BPS,
    idx::IMBALANCE_L1,
    idx::IMBALANCE_DEPTH5,
    idx::IMBALANCE_DEPTH10,
];

fn name(i: usize) -> &'static str {
    FEATURES[i].name
}

#[test]
fn everything_is_nan_before_a_two_sided_book_but_trade_flow() {
    if !STANDALONE {
        return;
    }
    let records = [
        trade(T0, 10_000, 100, Aggressor::Buy),
        quote(T0 + 1, 10_000, 0, 10_005, 10), // no bid size: one-sided
        quote(T0 + 2, 10_005, 1, 10_000, 10), // crossed
        level(T0 + 3, BookSide::Bid, 10_000, 1, true),
    ];
    let v = vectors(&records);
    for (n, vec) in v.iter().enumerate() {
        for &i in &MICRO {
            let flow = [idx::TRADE_RATE_10S, idx::SIGNED_VOLUME_10S, idx::SIGNED_VOLUME_60S].contains(&i);
            assert_eq!(vec.get(i).is_nan(), !flow, "event {n}: {}", name(i));
        }
    }
    assert!((v[0].get(idx::SIGNED_VOLUME_10S) - 0.1).abs() < 1e-15, "100 lots of 0.001");
    run_all(&records).unwrap();
}

#[test]
fn on_an_l1_tape_the_depth_imbalances_are_the_touch() {
    if !STANDALONE {
        return;
    }
    let records = [quote(T0, 10_000, 3, 10_005, 1), quote(T0 + SEC, 10_000, 1, 10_010, 4)];
    let v = vectors(&records);
    for vec in &v {
        assert_eq!(vec.get(idx::IMBALANCE_DEPTH5), vec.get(idx::IMBALANCE_L1));
        assert_eq!(vec.get(idx::IMBALANCE_DEPTH10), vec.get(idx::IMBALANCE_L1));
    }
    assert_eq!(v[0].get(idx::IMBALANCE_L1), 0.5);
    assert_eq!(v[1].get(idx::IMBALANCE_L1), -0.6);
    assert_eq!(v[1].get(idx::SPREAD_TICKS), 2.0);
    // Same bid, 1 lot where there were 3 (+1 − 3); the ask moved away (+1 old lot): −1 lot.
    assert!((v[1].get(idx::OFI_1S) + 0.001).abs() < 1e-18, "{}", v[1].get(idx::OFI_1S));
    run_all(&records).unwrap();
}

#[test]
fn a_crossed_or_one_sided_book_leaves_the_features_alone() {
    if !STANDALONE {
        return;
    }
    let good = quote(T0, 10_000, 3, 10_005, 1);
    let records = [
        good,
        trade(T0, 10_005, 7, Aggressor::Buy),
        quote(T0 + SEC, 10_000, 3, 10_010, 2),
        quote(T0 + SEC, 10_010, 3, 10_000, 2),     // crossed, same instant
        quote(T0 + SEC, 10_000, 0, 10_010, 2),     // one-sided, same instant
        quote(T0 + 3 * SEC, 10_010, 3, 10_010, 2), // locked, 2 s later
    ];
    let v = vectors(&records);
    for n in [3, 4] {
        for &i in &MICRO {
            assert!(agrees(v[n].get(i), v[2].get(i), 0.0), "event {n}: {} changed", name(i));
        }
    }
    for &i in &TOUCH {
        assert_eq!(v[5].get(i), v[2].get(i), "{} changed on a locked book", name(i));
    }
    // Time still passes for the decayed features.
    let ofi = v[2].get(idx::OFI_1S);
    assert!(ofi != 0.0);
    assert!((v[5].get(idx::OFI_1S) - ofi * (-2f64).exp()).abs() <= 1e-15 * ofi.abs());
    run_all(&records).unwrap();
}

#[test]
fn a_gap_of_hours_decays_every_flow_to_nothing() {
    if !STANDALONE {
        return;
    }
    let mut records = Vec::new();
    for k in 0..50 {
        let t = T0 + k * 100_000_000;
        let b = 10_000 + TICK * (k as i64 % 3);
        records.push(quote(t, b, 1 + k as i64 % 4, b + TICK, 2));
        records.push(trade(t, b, 10, if k % 2 == 0 { Aggressor::Buy } else { Aggressor::Sell }));
    }
    let last = *records.last().unwrap();
    let t_last = last.header.ts_local.0;
    // Trades of unknown aggressor add to the trade rate only. 3 hours later every other decayed value
    // is below e^-180 of what it was (τ = 60 s); 13 hours later exactly 0 (e^-780 underflows).
    records.push(trade(t_last + 3 * HOUR, 10_000, 10, Aggressor::Unknown));
    records.push(trade(t_last + 13 * HOUR, 10_000, 10, Aggressor::Unknown));
    let v = vectors(&records);
    let (before, three, thirteen) = (&v[v.len() - 3], &v[v.len() - 2], &v[v.len() - 1]);
    let decayed = [
        idx::OFI_1S,
        idx::OFI_10S,
        idx::VOL_EWMA_1S,
        idx::VOL_EWMA_10S,
        idx::VOL_EWMA_60S,
        idx::SIGNED_VOLUME_10S,
        idx::SIGNED_VOLUME_60S,
    ];
    for i in decayed {
        assert!(before.get(i) != 0.0, "{} was active", name(i));
        assert!(three.get(i).abs() <= 1e-30 * before.get(i).abs(), "{} after 3 h: {}", name(i), three.get(i));
    }
    for i in decayed {
        assert_eq!(thirteen.get(i), 0.0, "{} after 13 h", name(i));
    }
    assert_eq!(three.get(idx::TRADE_RATE_10S), 0.1, "only the new trade counts");
    assert_eq!(thirteen.get(idx::TRADE_RATE_10S), 0.1);
    run_all(&records).unwrap();
}

#[test]
fn instruments_do_not_share_state() {
    if !STANDALONE {
        return;
    }
    let other = |r: RawRecord| {
        let mut r = r;
        r.header.instrument = InstrumentId(1);
        r
    };
    let specs = [spec(), spec()];
    let mut stage = FeatureStage::new(&specs, &settings());
    let mut alone = FeatureStage::new(&specs[..1], &settings());
    let mine = [quote(T0, 10_000, 3, 10_005, 1), trade(T0 + SEC, 10_000, 5, Aggressor::Sell)];
    let theirs = [quote(T0, 20_000, 1, 20_010, 9), trade(T0 + SEC, 20_000, 50, Aggressor::Buy)];
    let mut got = FeatureVector::default();
    let mut want = FeatureVector::default();
    for (n, (m, t)) in mine.iter().zip(&theirs).enumerate() {
        let ts = UnixNanos(m.header.ts_local.0);
        for (seq, r) in [(2 * n, other(*t)), (2 * n + 1, *m)] {
            let f = stage.on_event(&MarketEvent { seq: seq as u64, ts, stamp: 0, record: r });
            if f.features.instrument == ID {
                got = f.features.values;
            }
        }
        want = alone.on_event(&MarketEvent { seq: n as u64, ts, stamp: 0, record: *m }).features.values;
    }
    for &i in &MICRO {
        assert!(agrees(got.get(i), want.get(i), 0.0), "{}", name(i));
    }
}
