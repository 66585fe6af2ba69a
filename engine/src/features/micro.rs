//! Microstructure features: the touch, the book's depth, order flow, volatility and trade flow.
//!
//! Everything here is O(1) per event in memory fixed when the calculator is built: three
//! [`Decayed`] groups (one per time constant: 1 s, 10 s, 60 s) for the flows and the EWMA
//! volatilities, and three [`Ring`]s (5, 14 and 60 values) for the per-bar features, whose work
//! at a bar close is bounded by those windows. Nothing allocates or formats.
//!
//! A feature keeps its last value on events that do not change it and is `NaN` until it is defined.
//! The exact definitions, for an event at time `t` (ns) of an instrument whose touch, when the book
//! is two-sided, uncrossed and settled, is bid `b × qb`, ask `a × qa` (prices in fixed-point steps,
//! sizes in lots; `price` and `qty` are the units of one step and one lot, `tick` the tick in steps):
//!
//! **Touch** (updated at every event with a touch; unchanged without one: a crossed, locked,
//! one-sided or half-built book is no market):
//! - `MID` = `(b + a) · ½ · price` (the same mid as the bars and the rest of the stage);
//! - `MICROPRICE` = `(b + (a − b) · qb / (qb + qa)) · price`, which is the schema's
//!   `(bid·qa + ask·qb)/(qb + qa)` written so that the rounding stays inside the spread;
//! - `SPREAD_TICKS` = `(a − b) / tick` (a ratio of integers: a one-tick spread is exactly 1);
//! - `SPREAD_BPS` = `(a − b) / ((a + b)/2) · 10⁴` (unit-free, so the price unit adds no rounding);
//! - `IMBALANCE_L1` = `(qb − qa) / (qb + qa)`.
//!
//! **Depth** (`IMBALANCE_DEPTH5`, `IMBALANCE_DEPTH10`): `(B − A) / (B + A)` with `B`, `A` the summed
//! sizes of the best N levels (or as many as there are) of each side of the L2 book. When either
//! side has no levels (an L1-only tape, or before the first snapshot) the touch sizes are used,
//! so the feature equals `IMBALANCE_L1`. It is updated at events with a touch whose book is settled:
//! not on a `BookClear` nor on a level update inside a batch (without `END_OF_BATCH`), where the
//! levels are half-applied (a quote tape's touch stays readable there, its depth does not).
//!
//! **Order-flow imbalance** (`OFI_1S`, `OFI_10S`; Cont, Kukanov & Stoikov 2014): at every event with a
//! touch, against the previous touch `b′ × qb′`, `a′ × qa′` (the last one seen, however many
//! touchless events lie between):
//! `e = 1{b ≥ b′}·qb − 1{b ≤ b′}·qb′ − 1{a ≤ a′}·qa + 1{a ≥ a′}·qa′`, in base units (exact in lots,
//! then scaled). `OFI_τ(t) = Σ eᵢ · exp(−(t − tᵢ)/τ)` over the events so far: 0 from the first touch
//! (no flow seen yet), NaN before it.
//!
//! **EWMA volatility** (`VOL_EWMA_1S/10S/60S`): at every event whose mid differs from the previous
//! defined mid `m′`, the log-return `rᵢ = ln(m/m′)` updates `v ← v·w + (1 − w)·rᵢ²` with
//! `w = exp(−Δtᵢ/τ)`, `Δtᵢ` the time since the previous mid change (since the first mid for the
//! first change): each squared return stands for the interval it closes. Between changes `v` decays
//! like every other sum here, so that it is valued at `t`, and what is reported is
//! `sqrt(v(t))` with `v(t) = Σᵢ (1 − exp(−Δtᵢ/τ)) · rᵢ² · exp(−(t − tᵢ)/τ)`: a quiet market's
//! volatility fades towards 0 (a later change then brings the weight of the whole quiet interval).
//! NaN until the first mid change. The definition weighs returns by time, not by count: a return
//! that comes `Δt ≪ τ` after the previous change weighs `≈ Δt/τ`, and one at the same nanosecond
//! nothing. Receive-time bursts thus count mostly through their first change (on the bundled
//! BTCUSDT capture, 246 of 2,026 mid changes arrive less than 1 µs after the previous one).
//!
//! **Per bar** (updated when an event closes a bar; bars without any mid, which only happen before
//! the first two-sided book, are skipped):
//! - `REALIZED_VOL_5BARS` = `sqrt(Σ sum_sq_returns)` over the last 5 bars; NaN before 5 bars;
//! - `ATR_14` = mean of the true range over the last 14 bars, `TR = max(high − low,
//!   |high − prev_close|, |low − prev_close|)`, or `high − low` when `prev_close` is NaN;
//! - `ATR_Z` = `(ATR − mean) / std` over the last 60 ATR values (this one included), `std` the
//!   sample standard deviation (divisor 59); 0 when `std ≤ 1e-9 · |mean|` (a flat ATR, whose only
//!   variation is rounding); NaN before 60 ATR values, i.e. 73 bars.
//!
//! **Trade flow** (defined, 0, from the instrument's first event: no trade seen is no flow):
//! - `TRADE_RATE_10S` = `Σ exp(−(t − tᵢ)/τ) / τ` over every trade (τ = 10 s, in trades/s);
//! - `SIGNED_VOLUME_10S/60S` = `Σ ±qtyᵢ · exp(−(t − tᵢ)/τ)`, + when the buyer was the aggressor,
//!   − the seller; trades of unknown aggressor are left out.
//!
//! Every decayed feature is valued at the event's time, also on events that add nothing to it or
//! have no touch: after an hour without events a 60 s sum keeps `exp(−60) ≈ 1e−26` of its value,
//! and a gap of 745 τ or more (12.4 h at τ = 60 s) leaves exactly 0 (the factor underflows).

mod decay;
mod ring;

pub use decay::Decayed;
pub use ring::Ring;

use super::schema::{FeatureVector, idx};
use super::tick::Tick;
use crate::book::{Level, Touch};
use crate::tape::{RecordKind, flags};
use crate::types::UnixNanos;

const SEC: u64 = 1_000_000_000;

/// Slots of the 1 s group.
const S1_OFI: usize = 0;
const S1_VOL: usize = 1;
/// Slots of the 10 s group.
const S10_OFI: usize = 0;
const S10_VOL: usize = 1;
const S10_TRADES: usize = 2;
const S10_SIGNED: usize = 3;
/// Slots of the 60 s group.
const S60_VOL: usize = 0;
const S60_SIGNED: usize = 1;

/// Bars in the realized volatility, the ATR, and the ATR's z-score window.
const RV_BARS: usize = 5;
const ATR_BARS: usize = 14;
const ATR_Z_BARS: usize = 60;
/// Below this standard deviation relative to their mean, the last 60 ATR values are one value
/// up to rounding (60 equal ATRs of 0.1 average to 0.1 plus an ulp or two, and dividing that
/// rounding by an std of the same size would give a z-score of ±1 out of a flat market). A real
/// change of the ATR is at least one tick over 14 bars, many orders of magnitude above this.
const FLAT_ATR: f64 = 1e-9;

/// One instrument's microstructure state; see the module doc for what it computes.
#[derive(Clone, Debug)]
pub struct MicroFeatures {
    /// The last touch seen, for the order-flow imbalance.
    prev_touch: Option<Touch>,
    /// The instrument's tick in price steps (NaN until the first touch).
    tick_steps: f64,
    /// The last defined mid (NaN before the first), and when it last changed (or first appeared).
    last_mid: f64,
    last_change: UnixNanos,
    /// At least one mid change: the EWMA volatilities are defined.
    has_return: bool,
    d1: Decayed<2>,
    d10: Decayed<4>,
    d60: Decayed<2>,
    /// `sum_sq_returns` of the last bars.
    bar_sq_returns: Ring<RV_BARS>,
    true_ranges: Ring<ATR_BARS>,
    atrs: Ring<ATR_Z_BARS>,
}

impl Default for MicroFeatures {
    fn default() -> Self {
        Self::new()
    }
}

impl MicroFeatures {
    pub fn new() -> Self {
        MicroFeatures {
            prev_touch: None,
            tick_steps: f64::NAN,
            last_mid: f64::NAN,
            last_change: UnixNanos(0),
            has_return: false,
            d1: Decayed::new(SEC),
            d10: Decayed::new(10 * SEC),
            d60: Decayed::new(60 * SEC),
            bar_sq_returns: Ring::new(),
            true_ranges: Ring::new(),
            atrs: Ring::new(),
        }
    }

    #[inline]
    pub fn update(&mut self, t: &Tick<'_>, out: &mut FeatureVector) {
        self.d1.advance(t.ts);
        self.d10.advance(t.ts);
        self.d60.advance(t.ts);

        if let Some(tr) = t.trade {
            self.d10.add(S10_TRADES, 1.0);
            let signed = match tr.buyer_initiated() {
                Some(true) => tr.qty,
                Some(false) => -tr.qty,
                None => 0.0,
            };
            self.d10.add(S10_SIGNED, signed);
            self.d60.add(S60_SIGNED, signed);
        }

        if let Some(touch) = t.touch {
            self.on_touch(t, touch, out);
        }

        if let Some(bar) = t.closed_bar
            && bar.close.is_finite()
        {
            self.on_bar(bar.high, bar.low, bar.prev_close, bar.sum_sq_returns, out);
        }

        if self.prev_touch.is_some() {
            out.set(idx::OFI_1S, self.d1.get(S1_OFI));
            out.set(idx::OFI_10S, self.d10.get(S10_OFI));
        }
        if self.has_return {
            out.set(idx::VOL_EWMA_1S, self.d1.get(S1_VOL).sqrt());
            out.set(idx::VOL_EWMA_10S, self.d10.get(S10_VOL).sqrt());
            out.set(idx::VOL_EWMA_60S, self.d60.get(S60_VOL).sqrt());
        }
        out.set(idx::TRADE_RATE_10S, self.d10.get(S10_TRADES) / self.d10.tau_secs());
        out.set(idx::SIGNED_VOLUME_10S, self.d10.get(S10_SIGNED));
        out.set(idx::SIGNED_VOLUME_60S, self.d60.get(S60_SIGNED));
    }

    /// The touch, depth, OFI and volatility updates of an event with a touch.
    #[inline]
    fn on_touch(&mut self, t: &Tick<'_>, touch: Touch, out: &mut FeatureVector) {
        let u = t.units;
        let (b, a) = (touch.bid.px.0, touch.ask.px.0);
        let (qb, qa) = (touch.bid.qty.0 as f64, touch.ask.qty.0 as f64);
        let spread = (a as f64) - (b as f64);
        if self.tick_steps.is_nan() {
            // The tick in fixed-point steps, an integer: once, the units never change.
            self.tick_steps = (u.tick / u.price).round().max(1.0);
        }
        // The stage's mid (the bars use it too); the same expression when a caller left it out.
        let mid = t.mid.unwrap_or((b + a) as f64 * 0.5 * u.price);
        out.set(idx::MID, mid);
        out.set(idx::MICROPRICE, (b as f64 + spread * (qb / (qb + qa))) * u.price);
        out.set(idx::SPREAD_TICKS, spread / self.tick_steps);
        out.set(idx::SPREAD_BPS, spread / ((a as f64 + b as f64) * 0.5) * 1e4);
        out.set(idx::IMBALANCE_L1, (qb - qa) / (qb + qa));

        if book_settled(t) {
            let (d5, d10) = if t.bids.is_empty() || t.asks.is_empty() {
                let l1 = (qb - qa) / (qb + qa);
                (l1, l1)
            } else {
                let ((b5, b10), (a5, a10)) = (top_sums(t.bids), top_sums(t.asks));
                ((b5 - a5) / (b5 + a5), (b10 - a10) / (b10 + a10))
            };
            out.set(idx::IMBALANCE_DEPTH5, d5);
            out.set(idx::IMBALANCE_DEPTH10, d10);
        }

        if let Some(prev) = self.prev_touch {
            let e = ofi_lots(&prev, &touch) * u.qty;
            self.d1.add(S1_OFI, e);
            self.d10.add(S10_OFI, e);
        }
        self.prev_touch = Some(touch);

        if self.last_mid.is_finite() {
            if mid != self.last_mid {
                let r = (mid / self.last_mid).ln();
                let dt = t.ts.0.saturating_sub(self.last_change.0);
                let r2 = r * r;
                self.d1.add(S1_VOL, self.d1.weight(dt) * r2);
                self.d10.add(S10_VOL, self.d10.weight(dt) * r2);
                self.d60.add(S60_VOL, self.d60.weight(dt) * r2);
                self.last_change = t.ts;
                self.has_return = true;
            }
        } else {
            self.last_change = t.ts;
        }
        self.last_mid = mid;
    }

    /// The per-bar features at the close of a bar with a mid.
    #[inline]
    fn on_bar(&mut self, high: f64, low: f64, prev_close: f64, sum_sq_returns: f64, out: &mut FeatureVector) {
        self.bar_sq_returns.push(sum_sq_returns);
        if self.bar_sq_returns.is_full() {
            out.set(idx::REALIZED_VOL_5BARS, self.bar_sq_returns.sum().sqrt());
        }
        self.true_ranges.push(true_range(high, low, prev_close));
        if !self.true_ranges.is_full() {
            return;
        }
        let atr = self.true_ranges.mean();
        out.set(idx::ATR_14, atr);
        self.atrs.push(atr);
        if self.atrs.is_full() {
            let (mean, sd) = (self.atrs.mean(), self.atrs.sample_std());
            let z = if sd > FLAT_ATR * mean.abs() { (atr - mean) / sd } else { 0.0 };
            out.set(idx::ATR_Z, z);
        }
    }
}

/// The bar's true range: `max(high − low, |high − prev_close|, |low − prev_close|)`, `high − low`
/// without a previous close.
#[inline]
pub fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let hl = high - low;
    if prev_close.is_nan() { hl } else { hl.max((high - prev_close).abs()).max((low - prev_close).abs()) }
}

/// The Cont–Kukanov–Stoikov order-flow contribution of the move from `prev` to `now`, in lots:
/// bid size arriving at or above the old bid counts for buying pressure, bid size leaving at or
/// below it against; symmetrically on the ask. In floats, which hold sums of lot counts exactly
/// below 2⁵³ lots (a 128-bit integer sum would be as exact, but its conversion to a float is a
/// software routine that cost more than everything else here).
#[inline]
pub fn ofi_lots(prev: &Touch, now: &Touch) -> f64 {
    let (b, pb) = (now.bid.px, prev.bid.px);
    let (a, pa) = (now.ask.px, prev.ask.px);
    let mut e = 0.0;
    if b >= pb {
        e += now.bid.qty.0 as f64;
    }
    if b <= pb {
        e -= prev.bid.qty.0 as f64;
    }
    if a <= pa {
        e -= now.ask.qty.0 as f64;
    }
    if a >= pa {
        e += prev.ask.qty.0 as f64;
    }
    e
}

/// The summed sizes of the best 5 and best 10 levels of a side (fewer if it has fewer), in one pass;
/// lots in floats, exact below 2⁵³ lots.
#[inline]
fn top_sums(levels: &[Level]) -> (f64, f64) {
    let n = levels.len().min(10);
    let mut s5 = 0.0;
    let mut s10 = 0.0;
    for (i, l) in levels[..n].iter().enumerate() {
        s10 += l.qty.0 as f64;
        if i == 4 {
            s5 = s10;
        }
    }
    if n < 5 {
        s5 = s10;
    }
    (s5, s10)
}

/// False while the L2 levels are half-applied: on a `BookClear` and on a level update inside a batch.
#[inline]
fn book_settled(t: &Tick<'_>) -> bool {
    let h = &t.record.header;
    match h.kind() {
        Some(RecordKind::BookClear) => false,
        Some(RecordKind::LevelUpdate) => h.has(flags::END_OF_BATCH),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::bars::Bar;
    use crate::features::tick::{TradeTick, Units};
    use crate::tape::{BookClear, LevelUpdate, Quote, RawRecord, Trade};
    use crate::types::{Aggressor, BookSide, InstrumentId, Price, Qty};

    const ID: InstrumentId = InstrumentId(0);
    /// Prices in cents, tick 5 cents, sizes in thousandths.
    const U: Units = Units { price: 0.01, qty: 0.001, tick: 0.05 };

    fn touch(b: i64, qb: i64, a: i64, qa: i64) -> Touch {
        Touch { bid: Level { px: Price(b), qty: Qty(qb) }, ask: Level { px: Price(a), qty: Qty(qa) } }
    }

    fn quote_record(ts: u64) -> RawRecord {
        Quote::new(ID, UnixNanos(ts), UnixNanos(ts), (Price(1), Qty(1)), (Price(2), Qty(1))).into()
    }

    /// A calculator with its vector, fed hand-made ticks.
    struct Harness {
        m: MicroFeatures,
        out: FeatureVector,
    }

    impl Harness {
        fn new() -> Self {
            Harness { m: MicroFeatures::new(), out: FeatureVector::default() }
        }

        fn feed(&mut self, ts: u64, record: &RawRecord, touch: Option<Touch>, levels: (&[Level], &[Level])) {
            self.feed_full(ts, record, touch, levels, None, None);
        }

        fn feed_full(
            &mut self,
            ts: u64,
            record: &RawRecord,
            touch: Option<Touch>,
            levels: (&[Level], &[Level]),
            trade: Option<TradeTick>,
            closed_bar: Option<&Bar>,
        ) {
            let mid = touch.map(|t| (t.bid.px.0 + t.ask.px.0) as f64 * 0.5 * U.price);
            let tick = Tick {
                ts: UnixNanos(ts),
                record,
                units: U,
                touch,
                mid,
                bids: levels.0,
                asks: levels.1,
                trade,
                closed_bar,
                session_start: UnixNanos(0),
                new_session: false,
            };
            self.m.update(&tick, &mut self.out);
        }

        fn get(&self, i: usize) -> f64 {
            self.out.get(i)
        }
    }

    #[test]
    fn touch_features_follow_the_schema() {
        let mut h = Harness::new();
        h.feed(SEC, &quote_record(SEC), Some(touch(10_000, 3_000, 10_010, 1_000)), (&[], &[]));
        assert!((h.get(idx::MID) - 100.05).abs() < 1e-12);
        let micro = (100.00 * 1.0 + 100.10 * 3.0) / 4.0;
        assert!((h.get(idx::MICROPRICE) - micro).abs() < 1e-12, "{}", h.get(idx::MICROPRICE));
        assert_eq!(h.get(idx::SPREAD_TICKS), 2.0, "10 cents at a 5-cent tick, exactly");
        assert!((h.get(idx::SPREAD_BPS) - 0.10 / 100.05 * 1e4).abs() < 1e-12);
        assert_eq!(h.get(idx::IMBALANCE_L1), 0.5);
        assert_eq!(h.get(idx::IMBALANCE_DEPTH5), 0.5, "L1-only: the touch");
        assert_eq!(h.get(idx::IMBALANCE_DEPTH10), 0.5);
        assert_eq!(h.get(idx::OFI_1S), 0.0, "defined from the first touch");
        assert!(h.get(idx::VOL_EWMA_1S).is_nan(), "no return yet");
        assert!(h.get(idx::ATR_14).is_nan() && h.get(idx::REALIZED_VOL_5BARS).is_nan());
        assert_eq!(h.get(idx::TRADE_RATE_10S), 0.0);
    }

    #[test]
    fn depth_sums_the_best_levels_and_waits_for_the_end_of_a_batch() {
        let lv = |px: i64, q: i64| Level { px: Price(px), qty: Qty(q) };
        let bids: Vec<Level> = (0..12).map(|i| lv(100 - i, 1)).collect();
        let asks: Vec<Level> = (0..12).map(|i| lv(101 + i, if i < 5 { 3 } else { 1 })).collect();
        let t = Some(touch(100, 1, 101, 3));
        let mut h = Harness::new();
        let end: RawRecord = LevelUpdate::new(
            ID,
            UnixNanos(SEC),
            UnixNanos(SEC),
            BookSide::Bid,
            Price(100),
            Qty(1),
            1,
            flags::END_OF_BATCH,
        )
        .into();
        h.feed(SEC, &end, t, (&bids, &asks));
        assert_eq!(h.get(idx::IMBALANCE_DEPTH5), (5.0 - 15.0) / 20.0);
        assert_eq!(h.get(idx::IMBALANCE_DEPTH10), (10.0 - 20.0) / 30.0);
        // Mid-batch (and on a clear) the levels are not read, even though a quote touch is there.
        let mid_batch: RawRecord =
            LevelUpdate::new(ID, UnixNanos(SEC), UnixNanos(SEC), BookSide::Ask, Price(101), Qty(0), 2, 0).into();
        h.feed(2 * SEC, &mid_batch, t, (&bids[..1], &asks[1..]));
        assert_eq!(h.get(idx::IMBALANCE_DEPTH5), (5.0 - 15.0) / 20.0);
        let clear: RawRecord = BookClear::new(ID, UnixNanos(SEC), UnixNanos(SEC), 3).into();
        h.feed(3 * SEC, &clear, t, (&[], &[]));
        assert_eq!(h.get(idx::IMBALANCE_DEPTH10), (10.0 - 20.0) / 30.0);
        // A side without levels: the touch.
        h.feed(4 * SEC, &quote_record(4 * SEC), t, (&bids, &[]));
        assert_eq!(h.get(idx::IMBALANCE_DEPTH5), -0.5);
    }

    #[test]
    fn top_sums_take_what_there_is() {
        let side = |n: i64| -> Vec<Level> { (1..=n).map(|q| Level { px: Price(100 - q), qty: Qty(q) }).collect() };
        assert_eq!(top_sums(&side(0)), (0.0, 0.0));
        assert_eq!(top_sums(&side(3)), (6.0, 6.0));
        assert_eq!(top_sums(&side(5)), (15.0, 15.0));
        assert_eq!(top_sums(&side(7)), (15.0, 28.0));
        assert_eq!(top_sums(&side(12)), (15.0, 55.0));
    }

    #[test]
    fn ofi_follows_cont_kukanov_stoikov() {
        let p = touch(100, 5, 102, 7);
        assert_eq!(ofi_lots(&p, &p), 0.0, "nothing moved");
        assert_eq!(ofi_lots(&p, &touch(100, 8, 102, 7)), 3.0, "bid size added");
        assert_eq!(ofi_lots(&p, &touch(100, 5, 102, 9)), -2.0, "ask size added");
        assert_eq!(ofi_lots(&p, &touch(101, 4, 102, 7)), 4.0, "a better bid: all of it");
        assert_eq!(ofi_lots(&p, &touch(99, 4, 102, 7)), -5.0, "bid level gone: all of the old");
        assert_eq!(ofi_lots(&p, &touch(100, 5, 101, 2)), -2.0, "a better ask");
        assert_eq!(ofi_lots(&p, &touch(100, 5, 103, 2)), 7.0, "ask level gone");
        let mut h = Harness::new();
        h.feed(SEC, &quote_record(SEC), Some(p), (&[], &[]));
        h.feed(SEC, &quote_record(SEC), Some(touch(101, 4, 102, 7)), (&[], &[]));
        assert!((h.get(idx::OFI_1S) - 0.004).abs() < 1e-18, "in base units");
        h.feed(2 * SEC, &quote_record(2 * SEC), None, (&[], &[]));
        let decayed = 0.004 * (-1f64).exp();
        assert!((h.get(idx::OFI_1S) - decayed).abs() < 1e-18, "valued at the event's time");
        assert!((h.get(idx::OFI_10S) - 0.004 * (-0.1f64).exp()).abs() < 1e-18);
        assert_eq!(h.get(idx::MID), 101.5 * 0.01, "no touch: the touch features keep their value");
    }

    #[test]
    fn ewma_volatility_weighs_each_return_by_the_time_it_covers() {
        let mut h = Harness::new();
        h.feed(SEC, &quote_record(SEC), Some(touch(100, 1, 102, 1)), (&[], &[]));
        h.feed(SEC + SEC / 2, &quote_record(0), Some(touch(100, 2, 102, 1)), (&[], &[]));
        assert!(h.get(idx::VOL_EWMA_1S).is_nan(), "a size change is no return");
        h.feed(3 * SEC, &quote_record(0), Some(touch(102, 1, 104, 1)), (&[], &[]));
        let r = (103.0f64 / 101.0).ln();
        let v1 = (1.0 - (-2f64).exp()) * r * r;
        assert!((h.get(idx::VOL_EWMA_1S) - v1.sqrt()).abs() < 1e-15);
        let v60 = (1.0 - (-2.0f64 / 60.0).exp()) * r * r;
        assert!((h.get(idx::VOL_EWMA_60S) - v60.sqrt()).abs() < 1e-15);
        h.feed(4 * SEC, &quote_record(0), Some(touch(102, 1, 104, 1)), (&[], &[]));
        assert!((h.get(idx::VOL_EWMA_1S) - (v1 * (-1f64).exp()).sqrt()).abs() < 1e-15, "decays between changes");
        let before = h.get(idx::VOL_EWMA_60S);
        h.feed(4 * SEC + 3 * 3_600 * SEC, &quote_record(0), None, (&[], &[]));
        assert_eq!(h.get(idx::VOL_EWMA_1S), 0.0, "10,800 time constants underflow");
        assert!(h.get(idx::VOL_EWMA_60S) < 1e-35 * before, "sqrt(exp(−180)) left of the 60 s volatility");
    }

    #[test]
    fn trade_flow_is_counted_and_signed() {
        let mut h = Harness::new();
        let rec: RawRecord =
            Trade::new(ID, UnixNanos(SEC), UnixNanos(SEC), Price(100), Qty(1500), Aggressor::Buy, 1).into();
        let tr = |qty: f64, aggressor| Some(TradeTick { px: 1.0, qty, aggressor });
        assert!(h.get(idx::TRADE_RATE_10S).is_nan());
        h.feed_full(SEC, &rec, None, (&[], &[]), tr(1.5, Aggressor::Buy), None);
        h.feed_full(SEC, &rec, None, (&[], &[]), tr(0.5, Aggressor::Sell), None);
        h.feed_full(SEC, &rec, None, (&[], &[]), tr(9.0, Aggressor::Unknown), None);
        assert_eq!(h.get(idx::TRADE_RATE_10S), 0.3, "3 trades / 10 s");
        assert_eq!(h.get(idx::SIGNED_VOLUME_10S), 1.0, "unknown aggressor left out");
        assert_eq!(h.get(idx::SIGNED_VOLUME_60S), 1.0);
        assert!(h.get(idx::MID).is_nan() && h.get(idx::OFI_1S).is_nan(), "no book yet");
        h.feed(11 * SEC, &quote_record(0), None, (&[], &[]));
        assert!((h.get(idx::SIGNED_VOLUME_10S) - (-1f64).exp()).abs() < 1e-15);
        assert!((h.get(idx::TRADE_RATE_10S) - 0.3 * (-1f64).exp()).abs() < 1e-15);
    }

    #[test]
    fn bar_features_need_full_windows() {
        let mut h = Harness::new();
        let rec = quote_record(0);
        let mut bars = Vec::new();
        let mut prev_close = f64::NAN;
        for i in 0..80u64 {
            let close = 100.0 + (i % 7) as f64;
            let bar = Bar {
                start: UnixNanos(i * SEC),
                open: close,
                high: close + 1.0 + (i % 3) as f64,
                low: close - 1.0,
                close,
                prev_close,
                sum_sq_returns: 1e-6 * (i + 1) as f64,
                ..Bar::default()
            };
            prev_close = close;
            bars.push(bar);
        }
        // A bar without a mid is skipped.
        let empty = Bar { high: f64::NAN, low: f64::NAN, close: f64::NAN, open: f64::NAN, ..Bar::default() };
        h.feed_full(0, &rec, None, (&[], &[]), None, Some(&empty));
        for (i, bar) in bars.iter().enumerate() {
            h.feed_full((i as u64 + 1) * SEC, &rec, None, (&[], &[]), None, Some(bar));
            let n = i + 1;
            assert_eq!(h.get(idx::REALIZED_VOL_5BARS).is_nan(), n < 5, "bar {n}");
            assert_eq!(h.get(idx::ATR_14).is_nan(), n < 14, "bar {n}");
            assert_eq!(h.get(idx::ATR_Z).is_nan(), n < 73, "bar {n}");
        }
        let want_rv: f64 = bars[75..].iter().map(|b| b.sum_sq_returns).sum::<f64>().sqrt();
        assert!((h.get(idx::REALIZED_VOL_5BARS) - want_rv).abs() < 1e-15);
        let trs: Vec<f64> = bars.iter().map(|b| true_range(b.high, b.low, b.prev_close)).collect();
        assert_eq!(trs[0], bars[0].high - bars[0].low, "no previous close");
        let want_atr = trs[66..].iter().sum::<f64>() / 14.0;
        assert!((h.get(idx::ATR_14) - want_atr).abs() < 1e-12);
        assert!(h.get(idx::ATR_Z).is_finite());
    }

    #[test]
    fn a_constant_atr_has_a_z_score_of_zero() {
        for (high, low, close) in [(2.0, 1.0, 1.5), (100.1, 100.0, 100.05), (0.3, 0.1, 0.2), (5.0, 5.0, 5.0)] {
            let mut h = Harness::new();
            let rec = quote_record(0);
            let bar = Bar { high, low, close, prev_close: close, ..Bar::default() };
            for i in 0..73u64 {
                h.feed_full(i * SEC, &rec, None, (&[], &[]), None, Some(&bar));
            }
            assert!((h.get(idx::ATR_14) - (high - low)).abs() < 1e-12);
            assert_eq!(h.get(idx::ATR_Z), 0.0, "a flat ATR of {}, not rounding noise", high - low);
        }
    }

    #[test]
    fn true_range_reaches_to_the_previous_close() {
        assert_eq!(true_range(10.0, 9.0, 12.0), 3.0, "gap down");
        assert_eq!(true_range(10.0, 9.0, 7.0), 3.0, "gap up");
        assert_eq!(true_range(10.0, 9.0, 9.5), 1.0, "inside");
        assert_eq!(true_range(10.0, 9.0, f64::NAN), 1.0);
    }
}
