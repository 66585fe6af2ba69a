//! Runners: how the hot stages are put on threads. The stages themselves ([`Stage`],
//! `ExecuteStage`) know nothing of this.
//!
//! - [`topology`]: fused or threaded, chosen from the machine's cores; which core each thread gets.
//! - [`link`] and [`wait`]: the SPSC rings between threads and what a thread does while it waits.
//! - [`fused`]: every stage in order on one pinned hot thread.
//! - [`threaded`]: one pinned hot thread per stage, rings between them, reports flowing back.
//!
//! Both runners produce the same journal for the same tape and config (DESIGN.md §2.6); see
//! `threaded.rs` for how decide and execute stay in step when they run apart.

pub mod fused;
pub mod link;
mod sink;
mod stage;
pub mod threaded;
pub mod topology;
pub mod wait;

pub use link::LinkStats;
pub use stage::Stage;
pub use topology::{Plan, PlanError, Topology, plan};
pub use wait::WaitStrategy;

use crate::decide::DecideStage;
use crate::execute::ExecuteStage;
use crate::features::FeatureStage;
use crate::ingest::Source;
use crate::journal::{JournalError, JournalWriter};
use crate::latency::LatencyRecorder;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Slots of the ring carrying reports from execute back to decide. Reports wait there until their
/// arrival time, so it must hold every answer the venue gives within one response latency: an ack,
/// any number of partial fills and a cancel or expiry per order. The bound is generous (a few
/// hundred KB) because a full ring cannot drop a report without desynchronising decide.
pub(crate) fn report_capacity(decide: &DecideStage) -> usize {
    (decide.max_orders() * 512).max(8192)
}

/// Everything a run needs on the hot side, built and validated before any thread starts.
#[derive(Debug)]
pub struct Pipeline<S, V> {
    pub source: S,
    pub features: FeatureStage,
    pub decide: DecideStage,
    pub execute: ExecuteStage<V>,
    pub journal: JournalWriter,
}

/// Shared between the hot threads and the cold side: a stop request and progress counters. Each
/// counter sits on its own cache line so that the hot threads never contend on one (128 bytes: x86
/// prefetches lines in pairs).
#[derive(Debug, Default)]
pub struct RunControl {
    stop: Padded<AtomicBool>,
    ingested: Padded<AtomicU64>,
    executed: Padded<AtomicU64>,
}

#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

impl RunControl {
    pub fn new() -> Arc<RunControl> {
        Arc::new(RunControl::default())
    }

    /// Asks the run to end after the event in hand; the journal keeps everything up to it.
    pub fn request_stop(&self) {
        self.stop.0.store(true, Ordering::Relaxed);
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.0.load(Ordering::Relaxed)
    }

    /// A flag a `Source` can poll without holding the whole `RunControl`.
    pub fn stop_flag(self: &Arc<Self>) -> StopFlag {
        StopFlag(self.clone())
    }

    /// Events taken in by ingest so far.
    pub fn ingested(&self) -> u64 {
        self.ingested.0.load(Ordering::Relaxed)
    }

    /// Events through the last stage so far.
    pub fn executed(&self) -> u64 {
        self.executed.0.load(Ordering::Relaxed)
    }

    #[inline]
    fn set_ingested(&self, n: u64) {
        self.ingested.0.store(n, Ordering::Relaxed);
    }

    #[inline]
    fn set_executed(&self, n: u64) {
        self.executed.0.store(n, Ordering::Relaxed);
    }
}

/// The stop request, as a source sees it.
#[derive(Clone, Debug)]
pub struct StopFlag(Arc<RunControl>);

impl StopFlag {
    #[inline]
    pub fn is_set(&self) -> bool {
        self.0.stop_requested()
    }
}

/// What a run hands back to the cold side.
#[derive(Debug)]
pub struct Finished<S, V> {
    pub source: S,
    pub features: FeatureStage,
    pub decide: DecideStage,
    pub execute: ExecuteStage<V>,
    /// Still to be finished (flushed and trimmed) by the caller.
    pub journal: JournalWriter,
    /// Every hot thread's histograms, merged.
    pub latency: LatencyRecorder,
    /// One entry per ring (none in the fused topology).
    pub links: Vec<LinkStats>,
    pub events: u64,
    /// The first journal write that failed; the run stopped there (no trading without an audit trail).
    pub journal_error: Option<JournalError>,
}

/// A hot thread died; the message is its panic payload.
#[derive(Debug, thiserror::Error)]
#[error("hot thread `{thread}` failed: {message} (a bug: please report it with the command you ran)")]
pub struct ThreadPanic {
    pub thread: &'static str,
    pub message: String,
}

/// Runs `pipeline` by `plan`, calling `monitor` on the calling (cold) thread every `tick` until the
/// hot side is done.
pub fn run<S, V>(
    pipeline: Pipeline<S, V>,
    plan: &Plan,
    control: &Arc<RunControl>,
    monitor: &mut dyn FnMut(&RunControl),
) -> Result<Finished<S, V>, ThreadPanic>
where
    S: Source + 'static,
    V: crate::execute::Venue + 'static,
{
    if plan.threaded {
        threaded::run(pipeline, plan, control, monitor)
    } else {
        fused::run(pipeline, plan, control, monitor)
    }
}

/// After decide handled an event in `nanos`: files it under `decide_in_swap` too while the cold side
/// has a model swap under way (one relaxed load per event, and only with a control ring).
#[inline]
pub(crate) fn record_swap_window(latency: &mut LatencyRecorder, decide: &DecideStage, nanos: u64) {
    if let Some(window) = decide.swap_window()
        && window.load(Ordering::Relaxed)
    {
        latency.record(crate::latency::Metric::DecideInSwap, nanos);
    }
}

/// Adds decide's own model-call histograms to the run's (at the end of a run).
pub(crate) fn absorb_model_latency(latency: &mut LatencyRecorder, decide: &DecideStage) {
    if let Some([pwin, slippage]) = decide.models().latency() {
        latency.merge_histogram(crate::latency::Metric::ModelPWin, pwin);
        latency.merge_histogram(crate::latency::Metric::ModelSlippage, slippage);
    }
}

/// Pins the calling thread to `core` if the plan gave it one. Must run on the thread itself, after it
/// started: a thread spawned from a pinned thread would inherit the pin (DESIGN.md §10).
pub(crate) fn pin_current(core: Option<usize>) {
    if let Some(id) = core {
        let _ = core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

/// How often the cold side looks at progress while the hot side runs.
pub const MONITOR_TICK: std::time::Duration = std::time::Duration::from_millis(50);

/// Waits on the cold thread until `finished` says the hot threads are done, calling `monitor` every
/// [`MONITOR_TICK`].
pub(crate) fn watch(finished: &dyn Fn() -> bool, control: &RunControl, monitor: &mut dyn FnMut(&RunControl)) {
    loop {
        monitor(control);
        if finished() {
            return;
        }
        std::thread::sleep(MONITOR_TICK);
    }
}

pub(crate) fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".into())
}
