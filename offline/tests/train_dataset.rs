//! Candidates, labels and slippage from hand-written tapes whose every number can be worked out on
//! paper (`kestrel_offline::dataset`).

use kestrel_engine::config::RawConfig;
use kestrel_engine::features::idx;
use kestrel_engine::journal::Side;
use kestrel_engine::tape::{BookClear, LevelUpdate, Quote, RawRecord, TapeWriter, flags};
use kestrel_engine::types::{BookSide, InstrumentSpec, Price, Qty, UnixNanos};
use kestrel_offline::dataset::{self, Dataset, DatasetOptions};
use kestrel_offline::label::Touched;
use std::path::{Path, PathBuf};

const S: u64 = 1_000_000_000;
const T0: u64 = 1_704_153_600 * S;

fn spec() -> InstrumentSpec {
    InstrumentSpec {
        symbol: "TEST".into(),
        venue: "X".into(),
        price_scale: 2,
        qty_scale: 3,
        tick: Price(1),
        lot: Qty(1),
    }
}

fn write_tape(dir: &Path, name: &str, records: &[RawRecord]) -> PathBuf {
    let path = dir.join(name);
    let mut w = TapeWriter::create(&path, 1).unwrap();
    w.add_instrument(&spec()).unwrap();
    for r in records {
        w.write(*r).unwrap();
    }
    w.finish().unwrap();
    path
}

/// A quote at `t` seconds (ms resolution) after T0: bid `b × bq`, ask `a × aq` (price steps, lots).
fn q(t_ms: u64, b: i64, bq: i64, a: i64, aq: i64) -> RawRecord {
    let ts = UnixNanos(T0 + t_ms * 1_000_000);
    Quote::new(kestrel_engine::types::InstrumentId(0), ts, ts, (Price(b), Qty(bq)), (Price(a), Qty(aq))).into()
}

fn level(t_ms: u64, side: BookSide, px: i64, qty: i64, end: bool) -> RawRecord {
    let ts = UnixNanos(T0 + t_ms * 1_000_000);
    let f = if end { flags::END_OF_BATCH } else { 0 };
    LevelUpdate::new(kestrel_engine::types::InstrumentId(0), ts, ts, side, Price(px), Qty(qty), 1, f).into()
}

fn clear(t_ms: u64) -> RawRecord {
    let ts = UnixNanos(T0 + t_ms * 1_000_000);
    BookClear::new(kestrel_engine::types::InstrumentId(0), ts, ts, 1).into()
}

fn build(path: &Path, keep_paths: bool) -> Dataset {
    let opts = DatasetOptions { keep_paths, ..DatasetOptions::default() };
    dataset::build(&[path.to_path_buf()], &RawConfig::default(), "defaults", &opts, &mut |_| {}).unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Default settings: imbalance threshold 0.6, cooldown 250 ms, spread ≤ 5 ticks, max hold 60 s, entry
/// latency 100 µs, 5 virtual levels beyond an L1 touch, taker fee 5 bps, order 0.010 = 10 lots.
#[test]
fn quote_tape_candidates_labels_and_slippage_are_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let records = [
        q(0, 10000, 100, 10001, 100),     // imbalance 0: nothing
        q(1000, 10000, 900, 10001, 100),  // +0.8: buy A (mid 100.005)
        q(1100, 10000, 900, 10001, 5),    // A's slippage book; buy signal inside the cooldown
        q(1400, 10000, 900, 10001, 100),  // cooldown over: buy B
        q(2000, 10010, 100, 10011, 100),  // mid 100.105: +10 bps, A and B take profit; B's slippage book
        q(3000, 10010, 100, 10011, 900),  // −0.8: sell C (mid 100.105)
        q(3500, 10010, 100, 10020, 900),  // sell signal, spread 10 ticks: refused; C's slippage book
        q(3600, 10010, 100, 10011, 100),  // back to 100.105
        q(70000, 10010, 900, 10011, 100), // past C's time barrier (63 s); buy D
        q(80000, 10010, 100, 10011, 100), // the tape ends before D's label is known
    ];
    let path = write_tape(dir.path(), "quotes.tape", &records);
    let data = build(&path, true);
    let info = &data.tapes[0];
    assert_eq!((info.events, info.candidates, info.undecided, info.spread_refused), (10, 3, 1, 1), "{info:?}");
    assert_eq!(info.unmeasured, 0);
    assert_eq!(data.barriers.max_hold_ns, 60 * S);
    assert_eq!(data.entry_latency_ns, 100_000);
    let c = &data.candidates;
    assert_eq!(c.iter().map(|x| (x.ts_ns - T0) / 1_000_000).collect::<Vec<_>>(), [1000, 1400, 3000]);
    assert_eq!(c.iter().map(|x| x.side).collect::<Vec<_>>(), [Side::Buy, Side::Buy, Side::Sell]);
    assert_eq!(data.symbol(&c[0]), "TEST");

    // A: no mid change before it, so no volatility: both barriers sit at the 5 bps floor, and the
    // 10 bps move at 2 s takes profit.
    assert_eq!(c[0].sigma, 0.0);
    assert!(c[0].features.get(idx::VOL_EWMA_60S).is_nan());
    assert_eq!((c[0].label.touched, c[0].label.win, c[0].label.end_ns), (Touched::ProfitTake, true, T0 + 2 * S));
    assert!(close(c[0].label.ret_bps, (100.105 - 100.005) / 100.005 * 1e4, 1e-9), "{:?}", c[0].label);
    assert_eq!(c[0].cost_bps, 5.0);
    // A's order reaches the book at 1.1 s: 5 lots at the touch 100.01, 5 at the first virtual level
    // 100.02; VWAP 100.015 against the mid at decision 100.005.
    assert!(close(c[0].slippage_bps, (100.015 - 100.005) / 100.005 * 1e4, 1e-9), "{}", c[0].slippage_bps);
    // B: measured on the book after the latency (2.0 s), which has moved up 10 ticks.
    assert!(close(c[1].slippage_bps, (100.11 - 100.005) / 100.005 * 1e4, 1e-9), "{}", c[1].slippage_bps);
    assert!(c[1].label.win);

    // C: a sell at 100.105; the spread's widening to 100.15 costs 4.5 bps (inside the 5 bps stop), the
    // mid returns, and the time barrier at 63 s ends it flat: a loss (0 does not beat the 5 bps fee).
    let vol = c[2].features.get(idx::VOL_EWMA_60S);
    assert!(vol > 0.0);
    // One mid change (at 2 s) decayed to 3 s: rate = e^(−1/60) / 60 per second, times 60 s.
    let expect_sigma = vol * ((-1.0f64 / 60.0).exp()).sqrt();
    assert!(close(c[2].sigma, expect_sigma, 1e-15), "{} vs {expect_sigma}", c[2].sigma);
    assert_eq!((c[2].label.touched, c[2].label.win), (Touched::Vertical, false));
    assert_eq!((c[2].label.end_ns, c[2].label.ret_bps), (T0 + 63 * S, 0.0));
    let path_c: Vec<(u64, f64)> =
        c[2].path.clone().unwrap().into_iter().map(|(t, m)| ((t - T0) / 1_000_000, m)).collect();
    assert_eq!(path_c.len(), 4, "{path_c:?}");
    assert_eq!(path_c.iter().map(|p| p.0).collect::<Vec<_>>(), [3000, 3500, 3600, 63000]);
    assert!(close(path_c[1].1, 100.15, 1e-12) && close(path_c[3].1, 100.105, 1e-12));
    // C sells 10 lots into the bid 100.10 at 3.5 s.
    assert!(close(c[2].slippage_bps, (100.105 - 100.10) / 100.105 * 1e4, 1e-9), "{}", c[2].slippage_bps);
}

#[test]
fn l2_slippage_walks_the_levels_once_the_batch_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let records = [
        clear(0),
        level(0, BookSide::Bid, 10000, 900, false),
        level(0, BookSide::Bid, 9999, 500, false),
        level(0, BookSide::Ask, 10001, 4, false),
        level(0, BookSide::Ask, 10002, 3, false),
        level(0, BookSide::Ask, 10003, 100, true), // settled: imbalance (900 − 4)/904: buy
        level(200, BookSide::Ask, 10001, 2, false), // mid-batch: the order waits (cooldown: no candidate)
        level(200, BookSide::Ask, 10003, 100, true),
        clear(1000),
        level(1000, BookSide::Bid, 10010, 100, false),
        level(1000, BookSide::Ask, 10011, 100, true), // +10 bps
    ];
    let path = write_tape(dir.path(), "l2.tape", &records);
    let data = build(&path, false);
    assert_eq!(data.candidates.len(), 1, "{:?}", data.tapes);
    let c = &data.candidates[0];
    assert_eq!((c.ts_ns, c.side), (T0, Side::Buy));
    assert!(c.path.is_none());
    // 2 lots at 100.01, 3 at 100.02, 5 at 100.03 (the book of 0.2 s, after its batch ended).
    let vwap = (2.0 * 100.01 + 3.0 * 100.02 + 5.0 * 100.03) / 10.0;
    assert!(close(c.slippage_bps, (vwap - 100.005) / 100.005 * 1e4, 1e-9), "{}", c.slippage_bps);
    assert_eq!((c.label.touched, c.label.end_ns), (Touched::ProfitTake, T0 + S));
    assert_eq!(data.tapes[0].book_exhausted, 0);
}

#[test]
fn the_config_decides_the_candidates_and_bad_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let records = [q(0, 10000, 900, 10001, 100), q(100, 10000, 900, 10001, 100), q(90_000, 10050, 100, 10051, 100)];
    let path = write_tape(dir.path(), "t.tape", &records);
    // A threshold of 0.9: nothing.
    let mut raw = RawConfig::default();
    raw.strategy.imbalance_threshold = 0.9;
    let data =
        dataset::build(std::slice::from_ref(&path), &raw, "c.toml", &DatasetOptions::default(), &mut |_| {}).unwrap();
    assert!(data.candidates.is_empty());
    // No time exit and no --max-hold: refused, naming the key.
    let mut raw = RawConfig::default();
    raw.strategy.max_hold_ms = 0;
    let err = dataset::build(std::slice::from_ref(&path), &raw, "c.toml", &DatasetOptions::default(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_hold_ms") && err.contains("--max-hold"), "{err}");
    // A symbol the tape does not have: the config error names the key.
    let mut raw = RawConfig::default();
    raw.strategy.symbols = vec!["NOPE".into()];
    let err = dataset::build(std::slice::from_ref(&path), &raw, "c.toml", &DatasetOptions::default(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("strategy.symbols"), "{err}");
    // A missing tape names the file.
    let missing = dir.path().join("missing.tape");
    let err = dataset::build(&[missing], &RawConfig::default(), "c", &DatasetOptions::default(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.tape"), "{err}");
    // A file that is no tape.
    let junk = dir.path().join("junk.tape");
    std::fs::write(&junk, b"not a tape at all, just some bytes that are long enough to hold a header").unwrap();
    assert!(dataset::build(&[junk], &RawConfig::default(), "c", &DatasetOptions::default(), &mut |_| {}).is_err());
    // Progress reports reach the end.
    let mut last = None;
    dataset::build(&[path], &RawConfig::default(), "c", &DatasetOptions::default(), &mut |p| last = Some(p)).unwrap();
    let last = last.unwrap();
    assert_eq!((last.events, last.total, last.tape, last.tapes), (3, 3, 0, 1));
}
