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
//! `tests/features_profile_tapes.rs` (root package) includes [`reference`] (`reference/profile.rs`)
//! to run it on a synthetic and a real tape.

use kestrel_engine::book::MarketView;
use kestrel_engine::event::MarketEvent;
use kestrel_engine::features::bars::BarBuilder;
use kestrel_engine::features::profile::{ProfileFeatures, range_slots};
use kestrel_engine::features::session::SessionClock;
use kestrel_engine::features::tick::{Tick, TradeTick, Units};
use kestrel_engine::features::{FeatureSettings, FeatureStage, FeatureVector, idx};
use kestrel_engine::pipeline::Stage;
use kestrel_engine::tape::{Quote, RawRecord, Record, Trade};
use kestrel_engine::types::{Aggressor, BookSide, InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use proptest::prelude::*;

#[path = "reference/profile.rs"]
pub mod reference;

use reference::{Ev, Params, Reference, assert_matches};

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

fn proptest_config() -> ProptestConfig {
    ProptestConfig::with_cases(40)
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
