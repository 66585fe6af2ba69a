//! The regime features through `FeatureStage`: when they are defined, that they are probabilities,
//! that they change only at bar closes, that they equal a filter driven by hand from the same bars
//! (gaps included), and that the bundled model reads an obvious trend and an obvious range.

use kestrel_engine::event::MarketEvent;
use kestrel_engine::features::bars::BarBuilder;
use kestrel_engine::features::regime::{HmmFilter, HmmParams, MAX_GAP_BARS, Observer};
use kestrel_engine::features::{FeatureSettings, FeatureStage, FeatureVector, idx};
use kestrel_engine::pipeline::Stage;
use kestrel_engine::tape::{Quote, RawRecord, Record};
use kestrel_engine::types::{InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};

const S: u64 = 1_000_000_000;
const BAR: u64 = 60 * S;
const T0: u64 = 1_704_153_600 * S;

fn spec() -> InstrumentSpec {
    InstrumentSpec {
        symbol: "TEST".into(),
        venue: "X".into(),
        price_scale: 2,
        qty_scale: 0,
        tick: Price(1),
        lot: Qty(1),
    }
}

/// A quote with a one-tick spread whose mid is `bid + 0.5` ticks.
fn quote(ts: u64, bid: i64) -> RawRecord {
    let id = InstrumentId(0);
    Quote::new(id, UnixNanos(ts), UnixNanos(ts), (Price(bid), Qty(5)), (Price(bid + 1), Qty(5))).into()
}

/// Twelve quotes a bar (every 5 s) for `bars` bars from `start`; `step(i)` is the bid move of quote i.
fn stretch(start: u64, bars: u64, bid: &mut i64, step: impl Fn(u64) -> i64) -> Vec<RawRecord> {
    (0..bars * 12)
        .map(|i| {
            *bid += step(i);
            quote(start + i * 5 * S, *bid)
        })
        .collect()
}

fn p(v: &FeatureVector) -> [f64; 3] {
    [v.get(idx::REGIME_P_TREND), v.get(idx::REGIME_P_RANGE), v.get(idx::REGIME_P_CHOP)]
}

fn run(records: &[RawRecord], settings: &FeatureSettings) -> Vec<FeatureVector> {
    let mut stage = FeatureStage::new(&[spec()], settings);
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let e = MarketEvent { seq: i as u64, ts: r.header.ts_local, stamp: 0, record: *r };
            stage.on_event(&e).features.values
        })
        .collect()
}

/// A choppy stream with a 5-bar hole and a hole longer than `MAX_GAP_BARS` bars.
fn stream_with_gaps() -> Vec<RawRecord> {
    let mut bid = 10_000;
    let wiggle = |i: u64| [3, -2, 1, -4, 2, 5, -3, -1, 4, -5, 2, 0][(i % 12) as usize] * (1 + (i / 37 % 3) as i64);
    let mut r = stretch(T0, 30, &mut bid, wiggle);
    r.extend(stretch(T0 + 35 * BAR, 20, &mut bid, |i| if i.is_multiple_of(3) { -1 } else { 2 }));
    r.extend(stretch(T0 + (55 + MAX_GAP_BARS + 10) * BAR, 20, &mut bid, wiggle));
    r
}

#[test]
fn probabilities_are_nan_until_the_first_bar_then_sum_to_one_and_change_only_at_bar_closes() {
    let records = stream_with_gaps();
    let out = run(&records, &FeatureSettings::default());
    let mut last = [f64::NAN; 3];
    for (i, (r, v)) in records.iter().zip(&out).enumerate() {
        let ts = r.header.ts_local.0;
        let first_bar = ts < T0 + BAR;
        let probs = p(v);
        if first_bar {
            assert!(probs.iter().all(|x| x.is_nan()), "event {i}: defined before the first bar closed");
            assert!(v.get(idx::REGIME_RULE).is_nan(), "event {i}: rule before the first bar");
            continue;
        }
        let sum: f64 = probs.iter().sum();
        assert!((sum - 1.0).abs() < 1e-12 && probs.iter().all(|x| (0.0..=1.0).contains(x)), "event {i}: {probs:?}");
        let rule = v.get(idx::REGIME_RULE);
        assert!([0.0, 1.0, 2.0].contains(&rule), "event {i}: rule {rule}");
        let closes_a_bar = ts / BAR != records[i - 1].header.ts_local.0 / BAR;
        if !closes_a_bar {
            assert_eq!(probs, last, "event {i}: changed inside a bar");
        }
        last = probs;
    }
}

#[test]
fn the_stage_equals_a_filter_driven_by_hand_across_gaps() {
    let records = stream_with_gaps();
    let params = HmmParams::bundled();
    let out = run(&records, &FeatureSettings::default());
    let mut bars = BarBuilder::new(BAR);
    let mut observer = Observer::new();
    let mut filter = HmmFilter::new(&params);
    let mut previous: Option<u64> = None;
    let (mut predicted, mut resets) = (0, 0);
    for (i, (r, v)) in records.iter().zip(&out).enumerate() {
        if let Some(bar) = bars.advance(r.header.ts_local) {
            if let Some(prev) = previous {
                let missing = (bar.start.0 - prev) / BAR - 1;
                if missing > MAX_GAP_BARS {
                    filter.reset();
                    resets += 1;
                } else {
                    for _ in 0..missing {
                        filter.predict();
                        predicted += 1;
                    }
                }
            }
            previous = Some(bar.start.0);
            let want = filter.update(&observer.observe(&bar));
            assert_eq!(p(v), want, "event {i}: bar at {}", bar.start.0);
        }
        match r.view() {
            Some(Record::Quote(q)) => bars.on_mid((q.bid_px.0 + q.ask_px.0) as f64 * 0.5 * 0.01),
            other => panic!("event {i}: quotes only, got {other:?}"),
        }
    }
    assert_eq!((predicted, resets), (5, 1), "the stream has one short and one long hole");
}

#[test]
fn the_bundled_model_reads_a_steady_climb_as_trend_and_a_quiet_wiggle_as_range() {
    let mut bid = 10_000;
    let alternating = |i: u64| if i.is_multiple_of(2) { 1 } else { -1 };
    // Warm the baselines on a mix, then a steady climb (every quote one tick up), then a wiggle.
    let mut records = stretch(T0, 20, &mut bid, |i| [2, -1, -2, 1, 3, -3][(i % 6) as usize]);
    records.extend(stretch(T0 + 20 * BAR, 6, &mut bid, |_| 1));
    let wiggle_start = records.len();
    records.extend(stretch(T0 + 26 * BAR, 6, &mut bid, alternating));
    records.push(quote(T0 + 32 * BAR, bid));
    let out = run(&records, &FeatureSettings::default());
    let after_climb = p(&out[wiggle_start]);
    assert!(after_climb[0] > 0.9, "a steady climb: {after_climb:?}");
    assert_eq!(out[wiggle_start].get(idx::REGIME_RULE), 0.0, "the rule sees it too");
    let after_wiggle = p(&out[records.len() - 1]);
    assert!(after_wiggle[0] < 0.1, "no direction any more: {after_wiggle:?}");
}
