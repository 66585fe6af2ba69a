//! Determinism (DESIGN.md §2.6): the same tape and config give a byte-identical journal whether the
//! stages run fused on one thread or threaded over rings, whatever the wait strategy, the ring size
//! (down to 2 slots, which makes back-pressure constant) or the latencies (zero latency puts decide
//! and execute in lockstep; long latency lets decide run far ahead).

mod support;

use kestrel_engine::config::RawConfig;
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
    let control = RunControl::new();
    let p = support::pipeline(tape, cfg, journal, &control);
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
