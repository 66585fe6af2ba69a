//! End-to-end checks of the generator: determinism, tape validity, book invariants, planted regimes.

use super::*;
use kestrel_engine::book::L2Book;
use kestrel_engine::tape::{RawRecord, Record, Tape, flags};
use kestrel_engine::types::Aggressor;
use std::collections::HashMap;

const SECOND: u64 = 1_000_000_000;

fn cfg(seed: u64, secs: u64) -> SynthConfig {
    SynthConfig { seed, duration_ns: secs * SECOND, ..SynthConfig::default() }
}

/// Replays `records` into an `L2Book` and checks every rule the generator promises. Returns the
/// number of records seen.
fn check_stream(cfg: &SynthConfig, records: impl IntoIterator<Item = RawRecord>) -> u64 {
    let (tick, lot) = (cfg.instrument.tick.0, cfg.instrument.lot.0);
    let end = cfg.start.0 + cfg.duration_ns;
    let mut book = L2Book::with_capacity(cfg.depth_levels);
    let mut in_batch = false;
    let mut last_local = 0;
    let mut last_exchange = 0;
    let mut trade_ids = 0;
    let mut n = 0u64;
    for (i, raw) in records.into_iter().enumerate() {
        n += 1;
        let h = raw.header;
        assert!(h.ts_local.0 >= last_local, "record {i}: local time goes back");
        assert!(h.ts_exchange.0 >= last_exchange, "record {i}: venue time goes back");
        assert!(h.ts_exchange.0 >= cfg.start.0 && h.ts_exchange.0 < end, "record {i}: venue time outside the duration");
        assert!(h.ts_local.0 > h.ts_exchange.0, "record {i}: no feed latency");
        (last_local, last_exchange) = (h.ts_local.0, h.ts_exchange.0);
        match raw.view().expect("known kind") {
            Record::Clear(_) => {
                assert_eq!(i, 0, "only the opening clear");
                book.clear();
            }
            Record::Level(l) => {
                assert_eq!(l.header.has(flags::SNAPSHOT), i <= 2 * cfg.depth_levels, "record {i}: snapshot flag");
                assert!(l.px.0 > 0 && l.px.0 % tick == 0, "record {i}: price {}", l.px.0);
                assert!(l.qty.0 >= 0 && l.qty.0 % lot == 0, "record {i}: size {}", l.qty.0);
                book.set(l.side(), l.px, l.qty);
                in_batch = !l.header.has(flags::END_OF_BATCH);
                if !in_batch {
                    assert!(!book.is_crossed(), "record {i}: crossed book at the end of a batch");
                    assert_eq!(book.bids().len(), cfg.depth_levels, "record {i}: bid depth");
                    assert_eq!(book.asks().len(), cfg.depth_levels, "record {i}: ask depth");
                }
            }
            Record::Quote(q) => {
                assert!(!in_batch, "record {i}: quote inside a batch");
                let (bid, ask) = (book.best_bid().expect("bid"), book.best_ask().expect("ask"));
                assert_eq!(
                    (q.bid_px, q.bid_qty, q.ask_px, q.ask_qty),
                    (bid.px, bid.qty, ask.px, ask.qty),
                    "record {i}"
                );
            }
            Record::Trade(t) => {
                assert!(!in_batch, "record {i}: trade inside a batch");
                trade_ids += 1;
                assert_eq!(t.trade_id, trade_ids, "record {i}: trade ids count up from 1");
                let touch = match t.aggressor() {
                    Aggressor::Buy => book.best_ask(),
                    Aggressor::Sell => book.best_bid(),
                    Aggressor::Unknown => panic!("record {i}: trade without an aggressor"),
                }
                .expect("touch");
                assert_eq!(t.px, touch.px, "record {i}: trade away from the touch");
                assert!(t.qty.0 > 0 && t.qty.0 % lot == 0 && t.qty <= touch.qty, "record {i}: trade size {}", t.qty.0);
            }
        }
    }
    assert!(!in_batch, "stream ends inside a batch");
    n
}

#[test]
fn same_seed_gives_identical_bytes_and_other_seeds_differ() {
    let dir = tempfile::tempdir().unwrap();
    let write = |seed, name: &str| {
        let path = dir.path().join(name);
        write_tape(&cfg(seed, 60), &path).unwrap();
        std::fs::read(path).unwrap()
    };
    let a = write(7, "a.tape");
    assert_eq!(a, write(7, "b.tape"));
    assert_ne!(a, write(8, "c.tape"));
}

#[test]
fn default_tape_passes_verify_and_replays_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synth.tape");
    let cfg = SynthConfig::default();
    let report = write_tape(&cfg, &path).unwrap();
    let tape = Tape::open(&path).unwrap();
    tape.verify().unwrap();
    assert_eq!(tape.instruments(), std::slice::from_ref(&cfg.instrument));
    assert_eq!(report.path, path);
    assert_eq!(report.records, tape.len() as u64);
    assert_eq!(report.counts.total(), report.records);
    assert_eq!(report.bytes, std::fs::metadata(&path).unwrap().len());
    let entry = &tape.instrument_entries()[0];
    let c = report.counts;
    assert_eq!(
        (entry.quotes, entry.trades, entry.level_updates, entry.book_clears),
        (c.quotes, c.trades, c.level_updates, c.book_clears)
    );
    assert_eq!(c.book_clears, 1);
    assert!(c.trades > 1_000 && c.quotes > 1_000, "{c:?}");
    assert_eq!(check_stream(&cfg, tape.records().iter().copied()), report.records);
    // Roughly 100–400 records per simulated second.
    let rate = report.records as f64 / 600.0;
    assert!((100.0..=400.0).contains(&rate), "{rate} records per second");
    assert_eq!(report.regimes, regime_plan(&cfg).unwrap());
}

#[test]
fn extreme_depths_keep_the_invariants() {
    for depth in [1, 2, 1000] {
        let cfg = SynthConfig { depth_levels: depth, ..cfg(depth as u64, 60) };
        let n = check_stream(&cfg, Synth::new(&cfg).unwrap());
        assert!(n > 2 * depth as u64 + 1_000, "depth {depth}: {n} records");
    }
    // A coarse tick and lot, a price close to the lowest allowed, a volatile market.
    let mut cfg = SynthConfig { depth_levels: 50, start_price: Price(2_640), activity: 5.0, ..cfg(3, 300) };
    cfg.instrument.tick = Price(10);
    cfg.instrument.lot = Qty(100);
    check_stream(&cfg, Synth::new(&cfg).unwrap());
}

#[test]
fn duration_is_respected() {
    for secs in [1, 10, 61] {
        let cfg = cfg(11, secs);
        let last = Synth::new(&cfg).unwrap().last().unwrap();
        assert!(last.header.ts_exchange.0 - cfg.start.0 < cfg.duration_ns);
        let spans = regime_plan(&cfg).unwrap();
        assert_eq!(spans.last().unwrap().end.0, cfg.start.0 + cfg.duration_ns);
    }
    // One nanosecond: only the opening book.
    let cfg = SynthConfig { duration_ns: 1, ..SynthConfig::default() };
    let records: Vec<_> = Synth::new(&cfg).unwrap().collect();
    assert_eq!(records.len(), 2 * cfg.depth_levels + 2);
    check_stream(&cfg, records);
}

/// Mid price (in ticks) at each quote, with its venue time.
fn quote_mids(cfg: &SynthConfig) -> (Vec<(u64, f64)>, Vec<RegimeSpan>) {
    let mut synth = Synth::new(cfg).unwrap();
    let mids = synth
        .by_ref()
        .filter_map(|r| match r.view() {
            Some(Record::Quote(q)) => Some((q.header.ts_exchange.0, (q.bid_px.0 + q.ask_px.0) as f64 / 2.0)),
            _ => None,
        })
        .collect();
    (mids, synth.regimes().to_vec())
}

#[test]
fn planted_regimes_shape_the_prices() {
    let cfg = cfg(42, 30 * 60);
    let (mids, spans) = quote_mids(&cfg);
    for regime in Regime::ALL {
        assert!(spans.iter().any(|s| s.regime == regime), "{regime} missing from {spans:?}");
    }
    // Per regime: mean |net move| per second over its spans, and squared quote-to-quote moves per
    // second (realised variance).
    let mut drift: HashMap<Regime, (f64, u32)> = HashMap::new();
    let mut var: HashMap<Regime, (f64, f64)> = HashMap::new();
    for span in &spans {
        let inside: Vec<_> = mids.iter().filter(|(t, _)| span.contains(UnixNanos(*t))).collect();
        if inside.len() < 2 {
            continue;
        }
        let secs = span.duration_ns() as f64 / 1e9;
        let e = drift.entry(span.regime).or_default();
        e.0 += (inside[inside.len() - 1].1 - inside[0].1).abs() / secs;
        e.1 += 1;
        let v = var.entry(span.regime).or_default();
        v.0 += inside.windows(2).map(|w| (w[1].1 - w[0].1).powi(2)).sum::<f64>();
        v.1 += secs;
    }
    let mean_drift = |r| drift.get(&r).map(|(s, n)| s / f64::from(*n)).unwrap();
    let variance = |r| var.get(&r).map(|(s, secs)| s / secs).unwrap();
    let (trend, range) = (mean_drift(Regime::Trend), mean_drift(Regime::Range));
    assert!(trend > 0.3, "trend drifts {trend} ticks/s");
    assert!(trend > 5.0 * range, "trend {trend} vs range {range} ticks/s");
    let (chop_var, range_var) = (variance(Regime::Chop), variance(Regime::Range));
    assert!(chop_var > 3.0 * range_var, "chop {chop_var} vs range {range_var} ticks²/s");
}

#[test]
fn regimes_tile_the_tape_and_match_the_plan() {
    let cfg = cfg(5, 20 * 60);
    let mut synth = Synth::new(&cfg).unwrap();
    assert_eq!(synth.regimes().len(), 1, "spans are entered as the clock reaches them");
    synth.by_ref().for_each(drop);
    let spans = synth.regimes();
    assert_eq!(spans, regime_plan(&cfg).unwrap());
    assert_eq!(spans[0].start, cfg.start);
    for w in spans.windows(2) {
        assert_eq!(w[0].end, w[1].start);
    }
    assert!(synth.next().is_none(), "stays ended");
}

#[test]
fn feed_latency_is_around_a_millisecond_with_rare_spikes() {
    let cfg = cfg(2, 120);
    let mut lat: Vec<u64> = Synth::new(&cfg).unwrap().map(|r| r.header.ts_local.0 - r.header.ts_exchange.0).collect();
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize];
    assert!((800_000..1_300_000).contains(&q(0.5)), "median {}", q(0.5));
    assert!(q(0.05) > 300_000 && q(0.95) < 5_000_000, "p5 {} p95 {}", q(0.05), q(0.95));
    assert!(q(1.0) > 5_000_000, "no spike: max {}", q(1.0));
}

#[test]
fn invalid_configs_are_refused_before_any_file_is_made() {
    let d = SynthConfig::default();
    let mut bad_tick = d.clone();
    bad_tick.instrument.tick = Price(3);
    let cases = [
        SynthConfig { duration_ns: 0, ..d.clone() },
        SynthConfig { depth_levels: 0, ..d.clone() },
        SynthConfig { depth_levels: MAX_DEPTH_LEVELS + 1, ..d.clone() },
        SynthConfig { start: UnixNanos(0), ..d.clone() },
        SynthConfig { start: UnixNanos(u64::MAX - 10), ..d.clone() },
        SynthConfig { duration_ns: u64::MAX, ..d.clone() },
        SynthConfig { start_price: Price(0), ..d.clone() },
        SynthConfig { start_price: Price(100), ..d.clone() },
        SynthConfig { start_price: Price(i64::MAX), ..d.clone() },
        SynthConfig { mean_dwell_ns: 0, ..d.clone() },
        SynthConfig { activity: f64::NAN, ..d.clone() },
        SynthConfig { activity: 0.0, ..d.clone() },
        bad_tick,
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.tape");
    for c in cases {
        assert!(matches!(Synth::new(&c), Err(SynthError::Config(_))), "{c:?}");
        assert!(matches!(write_tape(&c, &path), Err(SynthError::Config(_))), "{c:?}");
        assert!(regime_plan(&c).is_err());
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let mut bad_symbol = d;
    bad_symbol.instrument.symbol = "has space".into();
    assert!(Synth::new(&bad_symbol).is_err());
}

#[test]
fn unwritable_output_is_a_tape_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = write_tape(&cfg(1, 1), &dir.path().join("missing/dir/x.tape")).unwrap_err();
    assert!(matches!(err, SynthError::Tape(_)), "{err}");
}
