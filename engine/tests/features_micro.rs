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
//! The reference lives in `reference/micro.rs`, which the root package's
//! `tests/features_micro_tapes.rs` also includes to run it over a synthetic tape and the real
//! Binance capture.

use kestrel_engine::event::MarketEvent;
use kestrel_engine::features::{FEATURES, FeatureSettings, FeatureStage, FeatureVector, idx};
use kestrel_engine::pipeline::Stage;
use kestrel_engine::tape::{BookClear, LevelUpdate, Quote, RawRecord, Trade, flags};
use kestrel_engine::types::{Aggressor, BookSide, InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use proptest::prelude::*;

#[path = "reference/micro.rs"]
pub mod reference;

use reference::{MICRO, agrees, check_stream};

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
        cases: 64,
        ..ProptestConfig::default()
    })]

    /// An L1-only tape: every micro feature equals the batch reference at every event.
    #[test]
    fn l1_streams_match_the_reference(steps in proptest::collection::vec(step(), 1..400)) {
        run_all(&build(Mode::L1, &steps)).map_err(TestCaseError::fail)?;
    }

    /// An L2-only tape (touch from the book, batches, clears, crossed books).
    #[test]
    fn l2_streams_match_the_reference(steps in proptest::collection::vec(step(), 1..400)) {
        run_all(&build(Mode::L2, &steps)).map_err(TestCaseError::fail)?;
    }

    /// Quotes for the touch and L2 levels for the depth, interleaved with trades.
    #[test]
    fn mixed_streams_match_the_reference(steps in proptest::collection::vec(step(), 1..400)) {
        run_all(&build(Mode::Mixed, &steps)).map_err(TestCaseError::fail)?;
    }
}

/// A long synthetic stream from a fixed seed (xorshift draws through the same builder), checked at
/// every event; it must bring every micro feature to a defined value, so that the property tests'
/// generator is known to reach the per-bar windows (73 bars for the ATR's z-score).
#[test]
fn a_long_seeded_stream_matches_the_reference_and_defines_every_feature() {
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
