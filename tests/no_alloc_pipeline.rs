//! No heap allocation per event on the hot path (DESIGN.md §2.1), proved with a counting global
//! allocator over more than 100k events, fused and threaded, with models deciding (an allocation-free
//! stand-in scorer: the model path itself, swaps through the control ring included, must not
//! allocate).
//!
//! This file holds one test on purpose: the threaded half counts every allocation in the process,
//! and a second test running in parallel would add its own.

mod support;

use kestrel_engine::config::{RawConfig, RunSettings};
use kestrel_engine::decide::model::{ModelCommand, ModelCounters, ModelRole, ModelSet, control_channel};
use kestrel_engine::event::MarketEvent;
use kestrel_engine::features::FeatureStage;
use kestrel_engine::pipeline::Stage;
use kestrel_engine::pipeline::fused::Fused;
use kestrel_engine::pipeline::{self, RunControl, Topology, WaitStrategy};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THIS_THREAD: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; the counters neither allocate nor unwind.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn count() {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    let _ = THIS_THREAD.try_with(|c| c.set(c.get() + 1));
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARM_UP: u64 = 20_000;
const MEASURED: u64 = 100_000;

fn config() -> RawConfig {
    let mut cfg = RawConfig::default();
    cfg.strategy.cooldown_ms = 20; // trade a lot: orders, fills and reports on the measured path
    cfg.journal.capacity_records = 1 << 20; // no growth inside the window (growth is counted apart)
    cfg
}

#[test]
fn no_alloc_per_event_fused_and_threaded() {
    let dir = tempfile::tempdir().unwrap();
    // ≈ 240k events: enough for the warm-up and 100k+ measured events, fused.
    let tape = support::synth_tape(dir.path(), "long.tape", 11, 20);
    assert!(tape.len() as u64 > WARM_UP + MEASURED + 50_000, "tape too short: {}", tape.len());

    // The features stage alone, with sessions of 6 minutes so that session resets (volume profile,
    // CVD, the range-percentile table) and bar closes happen many times inside the window.
    {
        let mut raw = config();
        raw.features.session_hours = 0.1;
        let settings = RunSettings::from_raw(&raw, "test").unwrap();
        let mut stage = FeatureStage::new(tape.instruments(), &settings.features);
        let events: Vec<MarketEvent> = tape
            .records()
            .iter()
            .enumerate()
            .map(|(i, r)| MarketEvent { seq: i as u64, ts: r.header.ts_local, stamp: 0, record: *r })
            .collect();
        let (warm, rest) = events.split_at(WARM_UP as usize);
        for e in warm {
            std::hint::black_box(stage.on_event(e));
        }
        let before = THIS_THREAD.with(Cell::get);
        let mut defined = 0usize;
        for e in rest {
            let out = stage.on_event(e);
            defined += out.features.values.0.iter().filter(|v| v.is_finite()).count();
        }
        let allocs = THIS_THREAD.with(Cell::get) - before;
        assert!(rest.len() as u64 >= MEASURED);
        assert!(defined > rest.len() * 20, "the stage must be computing features ({defined} finite values)");
        assert_eq!(allocs, 0, "{allocs} allocations over {} events of the features stage", rest.len());
    }

    // Fused: count this thread's allocations over every event after the warm-up.
    let control = RunControl::new();
    let (mut cold, hot) = control_channel(4);
    let models = ModelSet { control: Some(hot), ..support::Wave::models() };
    let mut fused =
        Fused::new(support::pipeline_with_models(&tape, &config(), &dir.path().join("f.kj"), &control, models));
    for _ in 0..WARM_UP {
        assert!(fused.step());
    }
    // Made before the count starts (the cold side builds models); sent and applied inside it.
    let mut swap_in = Some(support::Wave::pwin());
    let before = THIS_THREAD.with(Cell::get);
    std::hint::black_box(vec![0u8; 16]);
    assert_eq!(THIS_THREAD.with(Cell::get), before + 1, "the counter sees this thread's allocations");
    let before = before + 1;
    let mut retired = None;
    while fused.step() {
        if fused.events() == WARM_UP + 1_000
            && let Some(scorer) = swap_in.take()
        {
            assert!(cold.commands.push(ModelCommand::Install { role: ModelRole::PWin, scorer }).is_ok());
        }
        if retired.is_none() {
            retired = cold.retired.pop().ok();
        }
    }
    let allocs = THIS_THREAD.with(Cell::get) - before;
    let measured = fused.events() - WARM_UP;
    assert!(retired.is_some(), "the swap was applied inside the window");
    let finished = fused.into_finished();
    let orders: u64 = finished.execute.stats().iter().map(|s| s.orders).sum();
    let counters = finished.decide.models().counters();
    let calls = ModelCounters::get(&counters.calls[0]);
    assert!(measured >= MEASURED, "measured {measured} events");
    assert!(orders > 1_000, "the measured path must include trading ({orders} orders)");
    assert!(calls > 1_000, "the measured path must call the models ({calls} calls)");
    assert!(ModelCounters::get(&counters.swaps[0]) == 1);
    assert_eq!(allocs, 0, "{allocs} allocations over {measured} fused events"); // with models and a swap

    // Threaded: every allocation in the process during a run, for a short and a long tape. Set-up
    // (threads, rings, histograms) costs the same for both; per-event allocation would not.
    let short = support::synth_tape(dir.path(), "short.tape", 11, 2);
    let wait = WaitStrategy::SpinYield { spin_ns: 2000 };
    let plan = pipeline::plan(Topology::Threaded, Some(wait), 2, false, 4096).unwrap();
    let threaded_allocs = |tape: &std::sync::Arc<_>, name: &str| {
        let control = RunControl::new();
        let p =
            support::pipeline_with_models(tape, &config(), &dir.path().join(name), &control, support::Wave::models());
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        let finished = pipeline::run(p, &plan, &control, &mut |_| {}).unwrap();
        let allocs = ALLOCATIONS.load(Ordering::SeqCst) - before;
        (allocs, finished.events)
    };
    threaded_allocs(&short, "warm.kj"); // first run in the process: one-time calibrations
    let (a_short, n_short) = threaded_allocs(&short, "s.kj");
    let (a_long, n_long) = threaded_allocs(&tape, "l.kj");
    assert!(n_long - n_short >= MEASURED, "{n_short} vs {n_long} events");
    assert_eq!(
        a_short, a_long,
        "threaded: {a_short} allocations for {n_short} events but {a_long} for {n_long}: the hot path allocates"
    );
}
