//! The volume-profile features (`features/profile.rs`) against a plain batch recomputation.
//!
//! [`reference`] recomputes every profile feature at an event from the whole history up to it, by
//! the definitions in the module documentation of `features::profile`, without the incremental
//! machinery: the histogram is the sum of the session's trades, the POC a scan of it for the
//! largest volume, the value area grown from that scan at the events where the definition says it
//! is recomputed, crosses found by scanning the session's side history and counted in each window,
//! time shares summed over the session's events, ranges taken over the mids of each session (the
//! previous sessions' included, for the percentile), CVD slopes from the snapshots the definition
//! names, found by scanning. The value area is held between bar closes by definition, so the
//! reference holds it too and the comparison runs at every event (not only at bar closes).
//!
//! Agreement is exact (`==`, NaN matching NaN) for every feature: both sides compute from exact
//! integers (fixed-point prices, sizes, nanoseconds) with the same single final division, so
//! there is no rounding to tolerate. [`same`] still accepts a relative difference of 1e-12 on
//! the shares, slopes and percentile should a future change reorder a float operation; it is
//! never needed today (the tests also count exact matches).
//!
//! The tests:
//! - `hand_computed_scenario`: a short stream whose values are worked out by hand in comments;
//! - `random_streams_match_the_reference` (proptest): random-walk quotes, crossed quotes (no mid),
//!   trades on and off the tick with every aggressor, equal timestamps, gaps from 0 to more than a
//!   session, histograms narrow enough to drop trades; through `FeatureStage` with the default bars;
//! - `random_streams_with_short_bars_match_the_reference` (proptest): the same streams through
//!   `ProfileFeatures::with_lengths` with 10-second bars and 7-minute sessions, driven the way
//!   `FeatureStage` drives it (the configured bar length reaches the calculator there only once
//!   `FeatureStage::new` passes it; see `ProfileFeatures::new`);
//! - `long_oscillation_fills_every_window`: 2.5 hours of a mid swinging around a fixed POC, so
//!   that the 5 / 15 / 30-minute counts and both CVD slopes are all in play;
//! - `many_sessions_keep_the_last_thirty`: 45 short sessions, more than the range table keeps;
//! - `single_event_sessions`: the percentile sees each newly completed session.
//!
//! `tests/features_profile_tapes.rs` (root package) reuses [`reference`] on a synthetic and a real
//! tape; it includes this file, so this file's own tests return at once there (see [`included`]).

use kestrel_engine::book::MarketView;
use kestrel_engine::event::MarketEvent;
use kestrel_engine::features::bars::BarBuilder;
use kestrel_engine::features::profile::{CROSS_CAPACITY, ProfileFeatures, RANGE_HISTORY, range_slots};
use kestrel_engine::features::session::SessionClock;
use kestrel_engine::features::tick::{Tick, TradeTick, Units};
use kestrel_engine::features::{FeatureSettings, FeatureStage, FeatureVector, idx};
use kestrel_engine::pipeline::Stage;
use kestrel_engine::tape::{Quote, RawRecord, Record, Trade};
use kestrel_engine::types::{Aggressor, BookSide, InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use proptest::prelude::*;

/// The batch reference, shared with the root package's tape tests.
pub mod reference {
    use super::*;

    /// The profile features in schema order: the reference's output layout.
    pub const FIRST: usize = idx::POC_DISTANCE_TICKS;
    pub const COUNT: usize = idx::CVD_SLOPE_15M - idx::POC_DISTANCE_TICKS + 1;
    pub const NAMES: [&str; COUNT] = [
        "poc_distance_ticks",
        "vah_distance_ticks",
        "val_distance_ticks",
        "poc_crosses_5m",
        "poc_crosses_15m",
        "poc_crosses_30m",
        "secs_since_poc_cross",
        "poc_side",
        "time_above_value",
        "time_below_value",
        "time_inside_value",
        "session_range_ticks",
        "session_range_pctl",
        "cvd",
        "cvd_slope_5m",
        "cvd_slope_15m",
    ];
    const MIN: u64 = 60_000_000_000;
    const CROSS_WINDOWS: [u64; 3] = [5 * MIN, 15 * MIN, 30 * MIN];
    const SLOPE_WINDOWS: [u64; 2] = [5 * MIN, 15 * MIN];

    /// One event of one instrument, as the reference needs it.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct Ev {
        pub ts: u64,
        /// bid + ask (price units) of the settled two-sided touch after this event, if any.
        pub touch_mid2: Option<i64>,
        pub trade: Option<Tr>,
    }

    /// A trade in fixed point; `sign` +1 buyer-initiated, −1 seller-initiated, 0 unknown.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct Tr {
        pub px: i64,
        pub qty: i64,
        pub sign: i64,
    }

    /// Everything the definitions depend on.
    #[derive(Clone, Copy, Debug)]
    pub struct Params {
        /// Tick and base-unit size: price units per tick, base units per quantity unit.
        pub tick: i64,
        pub qty_unit: f64,
        pub max_ticks: usize,
        pub bar_ns: u64,
        pub session_ns: u64,
        pub session_offset_ns: u64,
        /// Range-percentile slot length and slots per session.
        pub slot_ns: u64,
        pub slots: usize,
    }

    impl Params {
        /// For an instrument and the settings; `slot_ns` / `slots` for the bar and session lengths
        /// the calculator was built with (worked out here, not taken from the engine).
        pub fn new(spec: &InstrumentSpec, s: &FeatureSettings, calc_bar_ns: u64, calc_session_ns: u64) -> Params {
            let mut slot_ns = calc_bar_ns;
            if calc_session_ns.div_ceil(slot_ns) > 2880 {
                slot_ns = calc_session_ns.div_ceil(2880);
            }
            Params {
                tick: spec.tick.0,
                qty_unit: 10f64.powi(-i32::from(spec.qty_scale)),
                max_ticks: s.profile_ticks,
                bar_ns: s.bar_ns,
                session_ns: s.session_ns,
                session_offset_ns: s.session_offset_ns,
                slot_ns,
                slots: calc_session_ns.div_ceil(slot_ns) as usize,
            }
        }
    }

    fn session_of(p: &Params, ts: u64) -> u64 {
        let off = p.session_offset_ns % p.session_ns;
        let shifted = ts.saturating_sub(off);
        shifted / p.session_ns * p.session_ns + off
    }

    /// The nearest tick of a price, half a tick up.
    fn tick_of(px: i64, tick: i64) -> i64 {
        let (q, r) = (px.div_euclid(tick), px.rem_euclid(tick));
        if 2 * r >= tick { q + 1 } else { q }
    }

    /// POC of a histogram (tick → volume): most volume, lowest tick on ties.
    fn poc(hist: &std::collections::BTreeMap<i64, u64>) -> Option<i64> {
        let mut best: Option<(i64, u64)> = None;
        for (&t, &v) in hist {
            if best.is_none_or(|(_, bv)| v > bv) {
                best = Some((t, v));
            }
        }
        best.map(|b| b.0)
    }

    /// Value area of a histogram grown from its POC: the larger neighbour, below on ties, within
    /// the traded extent, until ≥ 70 % of the volume.
    fn value_area(hist: &std::collections::BTreeMap<i64, u64>) -> Option<(i64, i64)> {
        let p = poc(hist)?;
        let total: u64 = hist.values().sum();
        let (min, max) = (*hist.keys().next()?, *hist.keys().next_back()?);
        let vol = |t: i64| hist.get(&t).copied().unwrap_or(0);
        let (mut lo, mut hi, mut covered) = (p, p, vol(p));
        while u128::from(covered) * 10 < u128::from(total) * 7 {
            let below = if lo > min { Some(vol(lo - 1)) } else { None };
            let above = if hi < max { Some(vol(hi + 1)) } else { None };
            let take_below = match (below, above) {
                (Some(b), Some(a)) => b >= a,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => panic!("value area cannot grow: covered {covered} of {total}"),
            };
            if take_below {
                lo -= 1;
                covered += vol(lo);
            } else {
                hi += 1;
                covered += vol(hi);
            }
        }
        Some((lo, hi))
    }

    /// Per-event series that the windowed features are recomputed from.
    #[derive(Debug)]
    pub struct Reference {
        p: Params,
        ts: Vec<u64>,
        /// Session start and index of the session's first event.
        session: Vec<u64>,
        s0: Vec<usize>,
        bar_close: Vec<bool>,
        /// The carried mid (bid + ask).
        mid: Vec<Option<i64>>,
        poc: Vec<Option<i64>>,
        /// The value area in effect after the event.
        va: Vec<Option<(i64, i64)>>,
        /// sign(mid − POC).
        side: Vec<Option<i64>>,
        /// CVD before and after the event's trade (quantity units).
        cvd_before: Vec<i64>,
        cvd: Vec<i64>,
        /// Sessions in order: (start, first event, last event).
        sessions: Vec<(u64, usize, usize)>,
        /// Index into `sessions` of each event's session.
        session_no: Vec<usize>,
        /// Trades outside their session's histogram window.
        dropped: usize,
    }

    impl Reference {
        /// Builds the per-event series of `evs` (one instrument, in order).
        pub fn new(evs: &[Ev], p: Params) -> Reference {
            let n = evs.len();
            let mut r = Reference {
                p,
                ts: evs.iter().map(|e| e.ts).collect(),
                session: Vec::with_capacity(n),
                s0: Vec::with_capacity(n),
                bar_close: Vec::with_capacity(n),
                mid: Vec::with_capacity(n),
                poc: Vec::with_capacity(n),
                va: Vec::with_capacity(n),
                side: Vec::with_capacity(n),
                cvd_before: Vec::with_capacity(n),
                cvd: Vec::with_capacity(n),
                sessions: Vec::new(),
                session_no: Vec::with_capacity(n),
                dropped: 0,
            };
            let mut hist = std::collections::BTreeMap::<i64, u64>::new();
            let mut window: Option<(i64, i64)> = None;
            let (mut mid, mut cvd, mut va, mut cur_poc) = (None, 0i64, None, None);
            for (k, e) in evs.iter().enumerate() {
                let start = session_of(&p, e.ts);
                let new_session = k == 0 || r.session[k - 1] != start;
                if new_session {
                    r.sessions.push((start, k, k));
                    hist.clear();
                    window = None;
                    cvd = 0;
                    va = None;
                    cur_poc = None;
                }
                let s = r.sessions.len() - 1;
                r.sessions[s].2 = k;
                r.session_no.push(s);
                r.session.push(start);
                r.s0.push(r.sessions[s].1);
                let closes = k > 0 && e.ts / p.bar_ns != evs[k - 1].ts / p.bar_ns;
                r.bar_close.push(closes);
                r.cvd_before.push(cvd);
                let mut first_trade = false;
                if let Some(tr) = e.trade.filter(|t| t.qty > 0) {
                    let t = tick_of(tr.px, p.tick);
                    if window.is_none() {
                        first_trade = true;
                        let low = t - (p.max_ticks / 2) as i64;
                        window = Some((low, low + p.max_ticks as i64 - 1));
                    }
                    let (low, high) = window.unwrap();
                    if (low..=high).contains(&t) {
                        *hist.entry(t).or_insert(0) += tr.qty as u64;
                    } else {
                        r.dropped += 1;
                    }
                    cvd += tr.sign * tr.qty;
                    cur_poc = poc(&hist);
                }
                if e.touch_mid2.is_some() {
                    mid = e.touch_mid2;
                }
                if (first_trade || closes) && !hist.is_empty() {
                    va = value_area(&hist);
                }
                r.cvd.push(cvd);
                r.mid.push(mid);
                r.poc.push(cur_poc);
                r.va.push(va);
                r.side.push(match (mid, cur_poc) {
                    (Some(m), Some(c)) => Some((m - 2 * c * p.tick).signum()),
                    _ => None,
                });
            }
            r
        }

        pub fn events(&self) -> usize {
            self.ts.len()
        }

        /// Trades left out of the histograms (outside their session's window).
        pub fn dropped_trades(&self) -> usize {
            self.dropped
        }

        /// Whether event `k` closed a bar.
        pub fn closes_bar(&self, k: usize) -> bool {
            self.bar_close[k]
        }

        fn slot(&self, elapsed: u64) -> usize {
            ((elapsed / self.p.slot_ns) as usize).min(self.p.slots - 1)
        }

        fn relation(&self, j: usize) -> Option<usize> {
            let (m, (low, high)) = (self.mid[j]?, self.va[j]?);
            let t = self.p.tick;
            Some(if m > 2 * high * t {
                0
            } else if m < 2 * low * t {
                1
            } else {
                2
            })
        }

        /// Range (bid + ask units) of session `s` over its events `j` with `keep(j)`.
        fn range_of(&self, s: usize, keep: impl Fn(usize) -> bool) -> Option<i64> {
            let (_, a, b) = self.sessions[s];
            let mids = (a..=b).filter(|&j| keep(j)).filter_map(|j| self.mid[j]);
            let (lo, hi) = mids.fold((i64::MAX, i64::MIN), |(lo, hi), m| (lo.min(m), hi.max(m)));
            (lo <= hi).then(|| hi - lo)
        }

        /// The profile features after event `k`, recomputed from the history.
        pub fn features_at(&self, k: usize) -> [f64; COUNT] {
            let p = &self.p;
            let (s0, now) = (self.s0[k], self.ts[k]);
            let to_ticks = |d2: i64| d2 as f64 / (2 * p.tick) as f64;
            let dist = |level: Option<i64>| match (self.mid[k], level) {
                (Some(m), Some(l)) => to_ticks(m - 2 * l * p.tick),
                _ => f64::NAN,
            };
            let mut f = [f64::NAN; COUNT];
            f[0] = dist(self.poc[k]);
            f[1] = dist(self.va[k].map(|v| v.1));
            f[2] = dist(self.va[k].map(|v| v.0));

            // One scan of the session's history up to k (kept to one pass: the tape tests run
            // it over hundreds of thousands of events, unoptimised).
            let mut last_side = 0; // crosses: the last non-zero side
            let mut crosses = Vec::new();
            let mut time = [0u64; 3]; // above, below, inside
            let (mut lo, mut hi) = (i64::MAX, i64::MIN); // range
            let mut anchors = [None; 2]; // CVD snapshots at least 5 and 15 minutes old
            for j in s0..=k {
                if let Some(s) = self.side[j].filter(|&s| s != 0) {
                    if last_side != 0 && s != last_side {
                        crosses.push(self.ts[j]);
                    }
                    last_side = s;
                }
                if j > s0
                    && let Some(rel) = self.relation(j - 1)
                {
                    time[rel] += self.ts[j] - self.ts[j - 1];
                }
                if let Some(m) = self.mid[j] {
                    (lo, hi) = (lo.min(m), hi.max(m));
                }
                if j == s0 || self.bar_close[j] {
                    for (w, window) in SLOPE_WINDOWS.iter().enumerate() {
                        if self.ts[j] + window <= now {
                            anchors[w] = Some(j);
                        }
                    }
                }
            }

            if let Some(side) = self.side[k] {
                for (w, window) in CROSS_WINDOWS.iter().enumerate() {
                    let inside = crosses.iter().filter(|&&t| t + window > now).count();
                    f[3 + w] = inside.min(CROSS_CAPACITY) as f64;
                }
                f[7] = side as f64;
            }
            if let Some(&last) = crosses.last() {
                f[6] = (now - last) as f64 / 1e9;
            }

            let known: u64 = time.iter().sum();
            if known > 0 {
                for (i, t) in time.iter().enumerate() {
                    f[8 + i] = *t as f64 / known as f64;
                }
            }

            // Range and percentile.
            let s = self.session_no[k];
            if lo <= hi {
                let r = hi - lo;
                f[11] = to_ticks(r);
                let slot = self.slot(now - self.session[k]);
                let (mut below, mut known) = (0, 0);
                for prev in s.saturating_sub(RANGE_HISTORY)..s {
                    let start = self.sessions[prev].0;
                    if let Some(pr) = self.range_of(prev, |j| self.slot(self.ts[j] - start) <= slot) {
                        known += 1;
                        below += usize::from(pr < r);
                    }
                }
                if known > 0 {
                    f[12] = below as f64 / known as f64;
                }
            }

            // CVD and its slopes from the snapshots (session start, bar closes).
            f[13] = self.cvd[k] as f64 * p.qty_unit;
            for (w, anchor) in anchors.into_iter().enumerate() {
                if let Some(j) = anchor {
                    let minutes = (now - self.ts[j]) as f64 / 60e9;
                    f[14 + w] = (self.cvd[k] - self.cvd_before[j]) as f64 * p.qty_unit / minutes;
                }
            }
            f
        }
    }

    /// Equal, both NaN, or (shares, slopes, percentile) within 1e-12 relative.
    pub fn same(feature: usize, got: f64, want: f64) -> bool {
        if got.is_nan() || want.is_nan() {
            return got.is_nan() && want.is_nan();
        }
        let tolerant = matches!(feature, 8..=10 | 12 | 14 | 15);
        got == want || (tolerant && (got - want).abs() <= 1e-12 * want.abs().max(1.0))
    }

    /// Compares engine output `got` (the whole feature vector) with the reference at event `k`;
    /// returns how many features matched exactly, panics with context on a mismatch.
    pub fn assert_matches(reference: &Reference, k: usize, got: &FeatureVector, context: &str) -> usize {
        let want = reference.features_at(k);
        let mut exact = 0;
        for i in 0..COUNT {
            let g = got.get(FIRST + i);
            assert!(
                same(i, g, want[i]),
                "{context}: event {k} (ts {}): {} = {g}, reference {}\nall got:  {:?}\nall want: {:?}",
                reference.ts[k],
                NAMES[i],
                want[i],
                &got.0[FIRST..FIRST + COUNT],
                want
            );
            exact += usize::from(g == want[i] || (g.is_nan() && want[i].is_nan()));
        }
        exact
    }

    /// The reference's view of one tape record, given the touch after it.
    pub fn ev_of(record: &RawRecord, touch_mid2: Option<i64>) -> Ev {
        let trade = match record.view() {
            Some(Record::Trade(t)) => Some(Tr {
                px: t.px.0,
                qty: t.qty.0,
                sign: match t.aggressor() {
                    Aggressor::Buy => 1,
                    Aggressor::Sell => -1,
                    Aggressor::Unknown => 0,
                },
            }),
            _ => None,
        };
        Ev { ts: record.header.ts_local.0, touch_mid2, trade }
    }
}

use reference::{Ev, Params, Reference, assert_matches};

/// True when this file is compiled into another test crate for its [`reference`] module: the
/// tests below then return at once, so that they run once, in the engine package.
fn included() -> bool {
    env!("CARGO_CRATE_NAME") != "features_profile"
}

const ID: InstrumentId = InstrumentId(0);
const S: u64 = 1_000_000_000;
const MIN: u64 = 60 * S;
/// 2024-01-02T00:00:00Z.
const DAY0: u64 = 1_704_153_600 * S;

fn spec(tick: i64, qty_scale: u8) -> InstrumentSpec {
    InstrumentSpec {
        symbol: "TEST".into(),
        venue: "SIM".into(),
        price_scale: 2,
        qty_scale,
        tick: Price(tick),
        lot: Qty(1),
    }
}

fn quote(ts: u64, bid: i64, ask: i64) -> RawRecord {
    Quote::new(ID, UnixNanos(ts), UnixNanos(ts), (Price(bid), Qty(10)), (Price(ask), Qty(10))).into()
}

fn trade(ts: u64, px: i64, qty: i64, aggressor: Aggressor) -> RawRecord {
    Trade::new(ID, UnixNanos(ts), UnixNanos(ts), Price(px), Qty(qty), aggressor, 1).into()
}

/// Runs `records` through a `FeatureStage` and returns each event's feature vector.
fn run_stage(spec: &InstrumentSpec, settings: &FeatureSettings, records: &[RawRecord]) -> Vec<FeatureVector> {
    let mut stage = FeatureStage::new(std::slice::from_ref(spec), settings);
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let e = MarketEvent { seq: i as u64, ts: r.header.ts_local, stamp: 0, record: *r };
            stage.on_event(&e).features.values
        })
        .collect()
}

/// Runs `records` through a `ProfileFeatures` built with `with_lengths`, handing it ticks made the
/// way `FeatureStage::on_event` makes them.
fn run_direct(spec: &InstrumentSpec, settings: &FeatureSettings, records: &[RawRecord]) -> Vec<FeatureVector> {
    let mut view = MarketView::new(1, 64);
    let mut bars = BarBuilder::new(settings.bar_ns);
    let clock = SessionClock::new(settings.session_ns, settings.session_offset_ns);
    let mut profile = ProfileFeatures::with_lengths(settings.profile_ticks, settings.bar_ns, settings.session_ns);
    let u = Units::of(spec);
    let mut last_session = None;
    let mut out = FeatureVector::default();
    records
        .iter()
        .map(|r| {
            let id = view.apply(r).expect("known instrument");
            let ts = r.header.ts_local;
            let touch = view.touch(id);
            let mid = touch.map(|t| (t.bid.px.0 + t.ask.px.0) as f64 * 0.5 * u.price);
            let trade = match r.view() {
                Some(Record::Trade(t)) => Some(TradeTick {
                    px: t.px.0 as f64 * u.price,
                    qty: t.qty.0 as f64 * u.qty,
                    aggressor: t.aggressor(),
                }),
                _ => None,
            };
            let session_start = clock.start_of(ts);
            let new_session = last_session != Some(session_start);
            last_session = Some(session_start);
            let closed = bars.advance(ts);
            let tick = Tick {
                ts,
                record: r,
                units: u,
                touch,
                mid,
                bids: view.levels(id, BookSide::Bid),
                asks: view.levels(id, BookSide::Ask),
                trade,
                closed_bar: closed.as_ref(),
                session_start,
                new_session,
            };
            profile.update(&tick, &mut out);
            out
        })
        .collect()
}

/// The reference's events for records of one instrument carrying L1 quotes only: the touch is the
/// last quote when it is two-sided and uncrossed.
fn evs_of(records: &[RawRecord]) -> Vec<Ev> {
    let mut last = None;
    records
        .iter()
        .map(|r| {
            if let Some(Record::Quote(q)) = r.view() {
                let sane = q.bid_qty.0 > 0 && q.ask_qty.0 > 0 && q.bid_px < q.ask_px;
                last = sane.then_some(q.bid_px.0 + q.ask_px.0);
            }
            reference::ev_of(r, last)
        })
        .collect()
}

/// Compares every event; returns (events, exact feature matches).
fn compare_all(records: &[RawRecord], got: &[FeatureVector], p: Params, context: &str) -> (usize, usize) {
    let reference = Reference::new(&evs_of(records), p);
    assert_eq!(reference.events(), got.len());
    let exact = (0..got.len()).map(|k| assert_matches(&reference, k, &got[k], context)).sum();
    (got.len(), exact)
}

fn at(out: &FeatureVector, i: usize) -> f64 {
    out.get(i)
}

#[test]
fn hand_computed_scenario() {
    if included() {
        return;
    }
    // Tick 0.01 (1 unit), whole-unit sizes, 10-minute sessions from midnight, 1-minute bars.
    let spec = spec(1, 0);
    let settings = FeatureSettings { session_ns: 10 * MIN, ..FeatureSettings::default() };
    let t = |s: u64| DAY0 + s * S;
    let records = [
        quote(t(0), 10_000, 10_002),                       // 0: mid 100.01
        trade(t(1), 10_000, 5, Aggressor::Buy),            // 1: POC 100.00, VA [100.00, 100.00]
        trade(t(2), 10_002, 5, Aggressor::Sell),           // 2: tie: the POC stays at the lower price
        quote(t(3), 9_998, 10_000),                        // 3: mid 99.99: below, first cross
        trade(t(4), 10_002, 1, Aggressor::Buy),            // 4: POC 100.02 (6 > 5)
        quote(t(61), 10_002, 10_004),                      // 5: closes bar 0: VA recomputed; mid 100.03
        quote(t(6 * 60 + 30), 10_004, 10_006),             // 6: mid 100.05
        trade(t(10 * 60 + 5), 10_100, 2, Aggressor::Sell), // 7: next session
        quote(t(10 * 60 + 6), 10_010, 10_012),             // 8: mid 100.11
    ];
    let out = run_stage(&spec, &settings, &records);
    let nan = |v: f64| v.is_nan();

    // 0: a mid but no trade yet: distances NaN, range 0, CVD 0, nothing else.
    assert!(nan(at(&out[0], idx::POC_DISTANCE_TICKS)) && nan(at(&out[0], idx::POC_SIDE)));
    assert!(nan(at(&out[0], idx::POC_CROSSES_5M)) && nan(at(&out[0], idx::TIME_INSIDE_VALUE)));
    assert_eq!(at(&out[0], idx::SESSION_RANGE_TICKS), 0.0);
    assert!(nan(at(&out[0], idx::SESSION_RANGE_PCTL)), "first session");
    assert_eq!(at(&out[0], idx::CVD), 0.0);
    assert!(nan(at(&out[0], idx::CVD_SLOPE_5M)));

    // 1: POC = VA = 100.00; mid 100.01 is one tick above all three. Relation noted: above.
    for i in [idx::POC_DISTANCE_TICKS, idx::VAH_DISTANCE_TICKS, idx::VAL_DISTANCE_TICKS] {
        assert_eq!(at(&out[1], i), 1.0, "{i}");
    }
    assert_eq!((at(&out[1], idx::POC_SIDE), at(&out[1], idx::POC_CROSSES_5M)), (1.0, 0.0));
    assert!(nan(at(&out[1], idx::SECS_SINCE_POC_CROSS)));
    assert!(nan(at(&out[1], idx::TIME_ABOVE_VALUE)), "no time credited yet");
    assert_eq!(at(&out[1], idx::CVD), 5.0);

    // 2: POC tie (5 at 100.00 and 100.02): the lower stays. 1 s above value.
    assert_eq!(at(&out[2], idx::POC_DISTANCE_TICKS), 1.0);
    assert_eq!(at(&out[2], idx::TIME_ABOVE_VALUE), 1.0);
    assert_eq!(at(&out[2], idx::CVD), 0.0);

    // 3: mid 99.99 → side −1: a cross at 3 s.
    assert_eq!((at(&out[3], idx::POC_SIDE), at(&out[3], idx::POC_DISTANCE_TICKS)), (-1.0, -1.0));
    assert_eq!(at(&out[3], idx::POC_CROSSES_5M), 1.0);
    assert_eq!(at(&out[3], idx::SECS_SINCE_POC_CROSS), 0.0);
    assert_eq!(at(&out[3], idx::SESSION_RANGE_TICKS), 2.0);

    // 4: POC jumps to 100.02 (6 lots), still above the mid: no cross. The VA is held at 100.00.
    assert_eq!(at(&out[4], idx::POC_DISTANCE_TICKS), -3.0);
    assert_eq!(at(&out[4], idx::VAH_DISTANCE_TICKS), -1.0);
    assert_eq!(at(&out[4], idx::POC_CROSSES_5M), 1.0);
    assert_eq!(at(&out[4], idx::SECS_SINCE_POC_CROSS), 1.0);
    assert_eq!(at(&out[4], idx::CVD), 1.0);

    // 5 (61 s) closes bar 0. VA from POC 100.02 (6 of 11): nothing traded above, so it grows down
    // through the empty 100.01 to 100.00 (11 ≥ 7.7): [100.00, 100.02]. Mid 100.03: above the POC
    // again (second cross), 1 tick over VAH and POC, 3 over VAL. Time: above 1–3 s (2 s), below
    // 3–61 s (58 s).
    assert_eq!(at(&out[5], idx::POC_DISTANCE_TICKS), 1.0);
    assert_eq!(at(&out[5], idx::VAH_DISTANCE_TICKS), 1.0);
    assert_eq!(at(&out[5], idx::VAL_DISTANCE_TICKS), 3.0);
    assert_eq!(at(&out[5], idx::POC_CROSSES_5M), 2.0);
    assert_eq!(at(&out[5], idx::TIME_ABOVE_VALUE), 2.0 / 60.0);
    assert_eq!(at(&out[5], idx::TIME_BELOW_VALUE), 58.0 / 60.0);
    assert_eq!(at(&out[5], idx::TIME_INSIDE_VALUE), 0.0);
    assert_eq!(at(&out[5], idx::SESSION_RANGE_TICKS), 4.0);

    // 6 (390 s): the crosses at 3 s and 61 s have left the 5-minute window, not the 15-minute
    // one. CVD snapshots: (0 s, 0) at the session's first event, (61 s, 1) at bar 0's close; the
    // newest at least 5 minutes old is the one at 61 s: (1 − 1) / 5.48 min = 0. None is 15
    // minutes old. Time: above 2 s + 329 s (61 → 390 s, noted above after event 5), below 58 s.
    assert_eq!(at(&out[6], idx::POC_CROSSES_5M), 0.0);
    assert_eq!(at(&out[6], idx::POC_CROSSES_15M), 2.0);
    assert_eq!(at(&out[6], idx::SECS_SINCE_POC_CROSS), 390.0 - 61.0);
    assert_eq!(at(&out[6], idx::CVD_SLOPE_5M), 0.0);
    assert!(nan(at(&out[6], idx::CVD_SLOPE_15M)));
    assert_eq!(at(&out[6], idx::TIME_ABOVE_VALUE), 331.0 / 389.0);
    assert_eq!(at(&out[6], idx::TIME_BELOW_VALUE), 58.0 / 389.0);

    // 7: a new session. The carried mid 100.05 is its range (0). The previous session's range
    // at slot 0 (events before 60 s: mids 100.01 and 99.99) was 2 ticks: not smaller than 0.
    assert_eq!(at(&out[7], idx::SESSION_RANGE_TICKS), 0.0);
    assert_eq!(at(&out[7], idx::SESSION_RANGE_PCTL), 0.0);
    assert_eq!(at(&out[7], idx::CVD), -2.0);
    assert_eq!(at(&out[7], idx::POC_DISTANCE_TICKS), -95.0);
    assert!(nan(at(&out[7], idx::SECS_SINCE_POC_CROSS)), "crosses reset with the session");
    assert_eq!(at(&out[7], idx::POC_CROSSES_30M), 0.0);
    assert!(nan(at(&out[7], idx::TIME_BELOW_VALUE)));
    // 8: mid 100.11: range 6 ticks > 2: every previous session was smaller.
    assert_eq!(at(&out[8], idx::SESSION_RANGE_TICKS), 6.0);
    assert_eq!(at(&out[8], idx::SESSION_RANGE_PCTL), 1.0);
    assert_eq!(at(&out[8], idx::TIME_BELOW_VALUE), 1.0);

    // And the reference agrees everywhere.
    let p = Params::new(&spec, &settings, 60 * S, 86_400 * S);
    compare_all(&records, &out, p, "scenario");
}

/// One step of a random stream.
#[derive(Clone, Debug)]
struct Step {
    gap_kind: u8,
    gap: u32,
    kind: u8,
    delta: i8,
    size: u8,
    aux: u8,
}

fn steps(max: usize) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (any::<u8>(), any::<u32>(), 0u8..16, -2i8..=2, 0u8..8, 0u8..3)
            .prop_map(|(gap_kind, gap, kind, delta, size, aux)| Step { gap_kind, gap, kind, delta, size, aux }),
        1..max,
    )
}

/// Records for `steps`: a random-walk touch (on the tick, sometimes off it, sometimes crossed),
/// trades around it (on and off the tick, every aggressor), and gaps: 30 % none, then up to 6 s,
/// up to 40 s, and (1 %) up to 1.5 sessions; with `whole_seconds`, every gap is cut to whole
/// seconds, so that events land exactly on window edges (W after a cross or a snapshot).
fn records_of(steps: &[Step], start: u64, session_ns: u64, tick: i64, whole_seconds: bool) -> Vec<RawRecord> {
    let mut ts = start;
    let mut bid = 10_000i64; // in ticks
    let mut out = Vec::with_capacity(steps.len());
    for s in steps {
        let gap = match s.gap_kind {
            0..=76 => 0,
            77..=204 => u64::from(s.gap) % (6 * S),
            205..=252 => u64::from(s.gap) * 10 % (40 * S),
            _ => u64::from(s.gap) * 1_000 % (session_ns * 3 / 2),
        };
        ts += if whole_seconds { gap - gap % S } else { gap };
        match s.kind {
            0..=8 => {
                bid += i64::from(s.delta);
                let spread = 1 + i64::from(s.size % 3);
                let off = if s.size == 7 { tick / 2 } else { 0 };
                out.push(quote(ts, bid * tick + off, (bid + spread) * tick + off));
            }
            9..=14 => {
                let level = bid + i64::from(s.delta) + i64::from(s.aux);
                let off = if s.size >= 6 { i64::from(s.gap % 7) % tick } else { 0 };
                let aggressor = [Aggressor::Unknown, Aggressor::Buy, Aggressor::Sell][usize::from(s.aux)];
                out.push(trade(ts, level * tick + off, 1 + i64::from(s.size), aggressor));
            }
            _ => out.push(quote(ts, bid * tick, bid * tick)), // crossed: no touch, the mid is carried
        }
    }
    out
}

/// 40 cases; compiled into another crate (see [`included`]) a single case that returns at once,
/// without the failure file (proptest finds no source root there).
fn proptest_config() -> ProptestConfig {
    if included() {
        ProptestConfig { cases: 1, failure_persistence: None, ..ProptestConfig::default() }
    } else {
        ProptestConfig::with_cases(40)
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn random_streams_match_the_reference(
        steps in steps(900),
        start_s in 0u64..86_400,
        whole_seconds in any::<bool>(),
        session_min in prop::sample::select(vec![25u64, 45]),
        offset_min in 0u64..30,
        ticks in prop::sample::select(vec![16usize, 40, 20_000]),
    ) {
        if included() {
            return Ok(());
        }
        let spec = spec(5, 1);
        let settings = FeatureSettings {
            session_ns: session_min * MIN,
            session_offset_ns: offset_min * MIN,
            profile_ticks: ticks,
            ..FeatureSettings::default()
        };
        let records = records_of(&steps, DAY0 + start_s * S, settings.session_ns, spec.tick.0, whole_seconds);
        let got = run_stage(&spec, &settings, &records);
        // `FeatureStage::new` builds the calculator with `ProfileFeatures::new` (default lengths)
        // today; with the configured ones once it passes them. The slot indices agree either way
        // here: sessions shorter than a day, bars of the default minute.
        let p = Params::new(&spec, &settings, 60 * S, 86_400 * S);
        let (events, exact) = compare_all(&records, &got, p, "FeatureStage");
        prop_assert_eq!(exact, events * reference::COUNT);
    }

    #[test]
    fn random_streams_with_short_bars_match_the_reference(
        steps in steps(900),
        start_s in 0u64..86_400,
        whole_seconds in any::<bool>(),
        ticks in prop::sample::select(vec![16usize, 40, 20_000]),
    ) {
        if included() {
            return Ok(());
        }
        let spec = spec(5, 1);
        let settings = FeatureSettings {
            bar_ns: 10 * S,
            session_ns: 7 * MIN,
            profile_ticks: ticks,
            ..FeatureSettings::default()
        };
        let records = records_of(&steps, DAY0 + start_s * S, settings.session_ns, spec.tick.0, whole_seconds);
        let got = run_direct(&spec, &settings, &records);
        let p = Params::new(&spec, &settings, settings.bar_ns, settings.session_ns);
        prop_assert_eq!(range_slots(settings.bar_ns, settings.session_ns), (p.slot_ns, p.slots));
        let (events, exact) = compare_all(&records, &got, p, "with_lengths(10 s bars, 7 min sessions)");
        prop_assert_eq!(exact, events * reference::COUNT);
    }
}

/// Streams long enough to fill the windows: a steady oscillation around a fixed POC over more than
/// 30 minutes, several sessions, checked against the reference at every event.
#[test]
fn long_oscillation_fills_every_window() {
    if included() {
        return;
    }
    let spec = spec(5, 1);
    let settings = FeatureSettings { session_ns: 50 * MIN, ..FeatureSettings::default() };
    let start = DAY0 - DAY0 % settings.session_ns; // three whole sessions
    let mut records = Vec::new();
    for k in 0..9_000u64 {
        let ts = start + k * S;
        if k % 10 == 0 {
            // Most volume at 500.00, some one and two ticks either side: a value area wider than
            // the POC.
            let (px, qty) = match (k / 10) % 6 {
                0 | 3 => (50_000, 3),
                1 => (50_005, 2),
                2 => (49_995, 2),
                4 => (50_010, 1),
                _ => (49_990, 1),
            };
            records.push(trade(ts, px, qty, if k % 30 == 0 { Aggressor::Buy } else { Aggressor::Sell }));
        } else {
            // The mid swings ±3 ticks around 500.00 with a period of 70 s.
            let phase = (k % 70) as i64;
            let off = if phase < 35 { phase / 6 - 3 } else { 3 - (phase - 35) / 6 };
            let bid = (10_000 + off) * 5;
            records.push(quote(ts, bid, bid + 5));
        }
    }
    let got = run_stage(&spec, &settings, &records);
    let p = Params::new(&spec, &settings, 60 * S, 86_400 * S);
    let (events, exact) = compare_all(&records, &got, p, "oscillation");
    assert_eq!(exact, events * reference::COUNT);
    let last = got.last().unwrap();
    assert!(at(last, idx::POC_CROSSES_30M) > at(last, idx::POC_CROSSES_15M));
    assert!(at(last, idx::POC_CROSSES_15M) > at(last, idx::POC_CROSSES_5M));
    assert!(at(last, idx::POC_CROSSES_5M) > 0.0);
    assert!(at(last, idx::SESSION_RANGE_PCTL).is_finite());
    assert!(at(last, idx::CVD_SLOPE_15M).is_finite());
    assert!(at(last, idx::VAH_DISTANCE_TICKS) < at(last, idx::VAL_DISTANCE_TICKS));
    assert!(at(last, idx::TIME_INSIDE_VALUE) > 0.0 && at(last, idx::TIME_ABOVE_VALUE) > 0.0);
}

/// More sessions than the range table keeps (30): the percentile must forget the oldest ones.
/// Sessions of 2 minutes, each with its own swing, through both constructors.
#[test]
fn many_sessions_keep_the_last_thirty() {
    if included() {
        return;
    }
    let spec = spec(5, 1);
    let mut settings = FeatureSettings { session_ns: 2 * MIN, ..FeatureSettings::default() };
    let start = DAY0;
    let mut records = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for session in 0..45u64 {
        // Early sessions swing wide, later ones narrow: forgetting the early ones moves the
        // percentile.
        let amplitude = if session < 10 { 12 } else { 1 + next(6) as i64 };
        for k in 0..24u64 {
            let ts = start + session * 2 * MIN + k * 5 * S + next(S);
            let bid = 10_000 + (next(2 * amplitude as u64 + 1) as i64 - amplitude);
            if k % 4 == 1 {
                let aggressor = if next(2) == 0 { Aggressor::Buy } else { Aggressor::Sell };
                records.push(trade(ts, bid * 5, 1 + next(4) as i64, aggressor));
            } else {
                records.push(quote(ts, bid * 5, bid * 5 + 5));
            }
        }
    }
    let got = run_stage(&spec, &settings, &records);
    let p = Params::new(&spec, &settings, 60 * S, 86_400 * S);
    let (events, exact) = compare_all(&records, &got, p, "45 sessions, FeatureStage");
    assert_eq!(exact, events * reference::COUNT);
    let finite = got.iter().filter(|v| v.get(idx::SESSION_RANGE_PCTL).is_finite()).count();
    assert!(finite > events * 9 / 10, "{finite} of {events} percentiles defined");

    settings.bar_ns = 10 * S;
    let got = run_direct(&spec, &settings, &records);
    let p = Params::new(&spec, &settings, settings.bar_ns, settings.session_ns);
    let (events, exact) = compare_all(&records, &got, p, "45 sessions, 10 s bars");
    assert_eq!(exact, events * reference::COUNT);
}

/// Sessions of a single quote: each new session's first event sits at the same slot with the same
/// range (0) as the previous session's last, and must still see one more previous session.
#[test]
fn single_event_sessions() {
    if included() {
        return;
    }
    let spec = spec(5, 1);
    let settings = FeatureSettings { session_ns: 10 * MIN, ..FeatureSettings::default() };
    let records: Vec<RawRecord> =
        (0..4u64).map(|s| quote(DAY0 + s * 10 * MIN + 7 * S, 50_000 + 5 * s as i64, 50_010 + 5 * s as i64)).collect();
    let got = run_stage(&spec, &settings, &records);
    let pctl: Vec<f64> = got.iter().map(|v| v.get(idx::SESSION_RANGE_PCTL)).collect();
    assert!(pctl[0].is_nan());
    assert_eq!(&pctl[1..], &[0.0, 0.0, 0.0], "ranges of 0 are not smaller than 0");
    let p = Params::new(&spec, &settings, 60 * S, 86_400 * S);
    let (events, exact) = compare_all(&records, &got, p, "single-event sessions");
    assert_eq!(exact, events * reference::COUNT);
}
