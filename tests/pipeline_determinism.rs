//! Determinism (DESIGN.md §2.6): the same tape and config give a byte-identical journal whether the
//! stages run fused on one thread or threaded over rings, whatever the wait strategy, the ring size
//! (down to 2 slots, which makes back-pressure constant) or the latencies (zero latency puts decide
//! and execute in lockstep; long latency lets decide run far ahead), with models deciding too.

mod support;

use kestrel_engine::config::RawConfig;
use kestrel_engine::decide::model::ModelSet;
use kestrel_engine::journal::{BlockReason, EntryKind, Journal};
use kestrel_engine::pipeline::{self, RunControl, Topology, WaitStrategy};
use std::path::Path;

struct Case {
    name: &'static str,
    order_latency_us: u64,
    response_latency_us: u64,
    ring_capacity: usize,
    wait: WaitStrategy,
}

fn run(
    tape: &std::sync::Arc<kestrel_engine::tape::Tape>,
    cfg: &RawConfig,
    topology: Topology,
    wait: WaitStrategy,
    journal: &Path,
) -> (u64, Vec<u8>) {
    run_with(tape, cfg, topology, wait, journal, ModelSet::default())
}

fn run_with(
    tape: &std::sync::Arc<kestrel_engine::tape::Tape>,
    cfg: &RawConfig,
    topology: Topology,
    wait: WaitStrategy,
    journal: &Path,
    models: ModelSet,
) -> (u64, Vec<u8>) {
    let control = RunControl::new();
    let p = support::pipeline_with_models(tape, cfg, journal, &control, models);
    // Two cores assumed at most, so threaded never busy-spins; no pinning, tests run in parallel.
    let plan = pipeline::plan(topology, Some(wait), 2, false, cfg.engine.ring_capacity).unwrap();
    let finished = pipeline::run(p, &plan, &control, &mut |_| {}).unwrap();
    assert!(finished.journal_error.is_none());
    let orders: u64 = finished.execute.stats().iter().map(|s| s.orders).sum();
    finished.journal.finish().unwrap();
    (orders, std::fs::read(journal).unwrap())
}

#[test]
fn fused_and_threaded_journals_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let tape = support::synth_tape(dir.path(), "t.tape", 7, 6);
    let cases = [
        Case {
            name: "default latencies",
            order_latency_us: 100,
            response_latency_us: 100,
            ring_capacity: 4096,
            wait: WaitStrategy::SpinYield { spin_ns: 2000 },
        },
        Case {
            name: "zero latency: lockstep",
            order_latency_us: 0,
            response_latency_us: 0,
            ring_capacity: 4096,
            wait: WaitStrategy::SpinYield { spin_ns: 2000 },
        },
        Case {
            name: "long latency, tiny rings",
            order_latency_us: 5_000,
            response_latency_us: 20_000,
            ring_capacity: 2,
            wait: WaitStrategy::SpinYield { spin_ns: 0 },
        },
        Case {
            name: "constant feed latency: decide runs ahead by the response latency",
            order_latency_us: 300,
            response_latency_us: 2_000,
            ring_capacity: 64,
            wait: WaitStrategy::SpinYield { spin_ns: 2000 },
        },
        Case {
            name: "parking waits",
            order_latency_us: 50,
            response_latency_us: 300,
            ring_capacity: 64,
            wait: WaitStrategy::Park { spin_ns: 500 },
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let mut cfg = RawConfig::default();
        cfg.exchange.entry_latency_us = c.order_latency_us;
        cfg.exchange.response_latency_us = c.response_latency_us;
        cfg.engine.ring_capacity = c.ring_capacity;
        cfg.strategy.cooldown_ms = 20; // many orders, so reports race events often
        if c.name.starts_with("constant feed") {
            // With the feed latency bounded, reports cannot come sooner than 2 ms after the event
            // that caused them: the threaded runner lets decide run that far ahead of execute.
            cfg.exchange.feed_latency = "constant".into();
        }
        if i % 2 == 1 {
            // Resting limit orders, cancels and maker fills race events too.
            cfg.strategy.entry = "join".into();
            cfg.strategy.join_ttl_ms = 500;
        }
        let (orders, fused) = run(&tape, &cfg, Topology::Fused, c.wait, &dir.path().join(format!("f{i}.kj")));
        let (_, threaded) = run(&tape, &cfg, Topology::Threaded, c.wait, &dir.path().join(format!("t{i}.kj")));
        assert!(orders > 100, "{}: the case must trade to prove anything ({orders} orders)", c.name);
        assert!(fused.len() > 4096, "{}: journal has records", c.name);
        assert!(fused == threaded, "{}: fused and threaded journals differ", c.name);
    }
}

#[test]
fn latency_changes_the_journal() {
    // The guard on the test above: if latency were ignored, "identical" would prove less.
    let dir = tempfile::tempdir().unwrap();
    let tape = support::synth_tape(dir.path(), "t.tape", 3, 2);
    let wait = WaitStrategy::SpinYield { spin_ns: 2000 };
    let mut cfg = RawConfig::default();
    cfg.strategy.cooldown_ms = 20;
    let (_, a) = run(&tape, &cfg, Topology::Fused, wait, &dir.path().join("a.kj"));
    cfg.exchange.entry_latency_us = 50_000; // orders meet a later market: other fill prices
    let (_, b) = run(&tape, &cfg, Topology::Fused, wait, &dir.path().join("b.kj"));
    assert_ne!(a, b);
}

#[test]
fn with_models_fused_and_threaded_journals_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let tape = support::synth_tape(dir.path(), "t.tape", 7, 4);
    let wait = WaitStrategy::SpinYield { spin_ns: 2000 };
    for (i, entry) in ["market", "auto"].into_iter().enumerate() {
        let mut cfg = RawConfig::default();
        cfg.strategy.cooldown_ms = 20;
        cfg.strategy.entry = entry.into();
        cfg.strategy.cvar_budget = "25".into();
        cfg.engine.ring_capacity = 64;
        let f = dir.path().join(format!("mf{i}.kj"));
        let (orders, fused) = run_with(&tape, &cfg, Topology::Fused, wait, &f, support::Wave::models());
        let t = dir.path().join(format!("mt{i}.kj"));
        let (_, threaded) = run_with(&tape, &cfg, Topology::Threaded, wait, &t, support::Wave::models());
        assert!(fused == threaded, "{entry}: fused and threaded journals differ with models");
        // The models really decided: trades, and refusals of their own, each judged candidate with
        // its features journaled.
        let j = Journal::open_read_only(&f).unwrap();
        let reasons: Vec<_> = j
            .records()
            .iter()
            .filter(|r| r.kind() == Some(EntryKind::Blocked))
            .filter_map(|r| BlockReason::from_u8(r.reason))
            .collect();
        assert!(orders > 50, "{entry}: {orders} orders");
        assert!(reasons.contains(&BlockReason::BelowPWin), "{entry}: the p(win) gate never refused");
        assert!(j.records().iter().any(|r| r.kind() == Some(EntryKind::Features)));
        if entry == "auto" {
            let types: std::collections::BTreeSet<u8> = j
                .records()
                .iter()
                .filter(|r| r.kind() == Some(EntryKind::Order) && r.aux == 1)
                .map(|r| r.order_type)
                .collect();
            assert_eq!(types.len(), 2, "auto: both market and joined entries ({types:?})");
        }
    }
}
