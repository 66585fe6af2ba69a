//! The fused topology: one hot thread runs ingest → features → decide → execute for each event in
//! turn. No ring hops (≈ 55–60 ns each across cores) and one core: the right choice when the machine
//! cannot give every stage a core of its own.

use super::sink::Sink;
use super::{Finished, Pipeline, Plan, RunControl, Stage, ThreadPanic};
use crate::clock::Stopwatch;
use crate::event::Report;
use crate::execute::Venue;
use crate::ingest::Source;
use crate::journal::JournalError;
use crate::latency::{LatencyRecorder, Metric};
use std::sync::Arc;

/// A fused pipeline that can be stepped one event at a time (the no-allocation test steps it, the
/// runner loops it).
#[derive(Debug)]
pub struct Fused<S, V> {
    pipeline: Pipeline<S, V>,
    reports_tx: rtrb::Producer<Report>,
    reports_rx: rtrb::Consumer<Report>,
    latency: LatencyRecorder,
    stopwatch: Stopwatch,
    journal_error: Option<JournalError>,
    events: u64,
}

impl<S: Source, V: Venue> Fused<S, V> {
    pub fn new(pipeline: Pipeline<S, V>) -> Self {
        let capacity = super::report_capacity(&pipeline.decide);
        let (reports_tx, reports_rx) = rtrb::RingBuffer::new(capacity);
        Fused {
            pipeline,
            reports_tx,
            reports_rx,
            latency: LatencyRecorder::new(),
            stopwatch: Stopwatch::new(),
            journal_error: None,
            events: 0,
        }
    }

    /// Runs one event through every stage; `false` when the source has ended or a journal write
    /// failed.
    #[inline]
    pub fn step(&mut self) -> bool {
        if self.journal_error.is_some() {
            return false;
        }
        let p = &mut self.pipeline;
        let sw = &self.stopwatch;
        let Some(event) = p.source.next_event() else { return false };
        let t_ingested = sw.stamp();
        self.latency.record(Metric::Ingest, sw.nanos(event.stamp, t_ingested));

        let featured = p.features.on_event(&event);
        let t_featured = sw.stamp();
        self.latency.record(Metric::Features, sw.nanos(t_ingested, t_featured));

        // Reports due by this event's time reach decide first, exactly as in the threaded runner.
        while let Ok(r) = self.reports_rx.peek() {
            if r.ts_arrive > event.ts {
                break;
            }
            let r = *r;
            let _ = self.reports_rx.pop();
            p.decide.on_report(&r);
        }
        let intent = p.decide.on_event(&featured);
        let t_decided = sw.stamp();
        let decide_ns = sw.nanos(t_featured, t_decided);
        self.latency.record(Metric::Decide, decide_ns);
        super::record_swap_window(&mut self.latency, &p.decide, decide_ns);
        self.latency.record(Metric::TickToDecision, sw.nanos(event.stamp, t_decided));

        let mut sink = Sink { journal: &mut p.journal, reports: &mut self.reports_tx, error: &mut self.journal_error };
        let step = p.execute.on_event(intent, &mut sink);
        let t_executed = sw.stamp();
        self.latency.record(Metric::Execute, sw.nanos(t_decided, t_executed));
        if step.orders_sent > 0 {
            self.latency.record(Metric::TickToOrder, sw.nanos(event.stamp, t_executed));
        }
        self.events += 1;
        true
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn pipeline(&self) -> &Pipeline<S, V> {
        &self.pipeline
    }

    /// The journal write that stopped the pipeline, if one did.
    pub fn journal_error(&self) -> Option<&JournalError> {
        self.journal_error.as_ref()
    }

    pub fn into_finished(self) -> Finished<S, V> {
        let p = self.pipeline;
        let mut latency = self.latency;
        super::absorb_model_latency(&mut latency, &p.decide);
        Finished {
            source: p.source,
            features: p.features,
            decide: p.decide,
            execute: p.execute,
            journal: p.journal,
            latency,
            links: Vec::new(),
            events: self.events,
            journal_error: self.journal_error,
        }
    }
}

/// Runs the whole pipeline on one hot thread (pinned by the plan) while the calling thread monitors.
pub fn run<S, V>(
    pipeline: Pipeline<S, V>,
    plan: &Plan,
    control: &Arc<RunControl>,
    monitor: &mut dyn FnMut(&RunControl),
) -> Result<Finished<S, V>, ThreadPanic>
where
    S: Source + 'static,
    V: Venue + 'static,
{
    run_from(Fused::new(pipeline), plan, control, monitor)
}

/// Runs an already stepped pipeline on to the end (a resumed run continues from where its replay
/// caught up with the journal).
pub fn run_from<S, V>(
    mut fused: Fused<S, V>,
    plan: &Plan,
    control: &Arc<RunControl>,
    monitor: &mut dyn FnMut(&RunControl),
) -> Result<Finished<S, V>, ThreadPanic>
where
    S: Source + 'static,
    V: Venue + 'static,
{
    let core = plan.hot_cores.first().copied().flatten();
    let ctl = control.clone();
    let handle = std::thread::Builder::new()
        .name("kestrel-fused".into())
        .spawn(move || {
            super::pin_current(core);
            while fused.step() {
                ctl.set_ingested(fused.events);
                ctl.set_executed(fused.events);
            }
            fused.into_finished()
        })
        .map_err(|e| ThreadPanic { thread: "kestrel-fused", message: format!("could not start: {e}") })?;
    super::pin_current(plan.cold_core);
    super::watch(&|| handle.is_finished(), control, monitor);
    handle.join().map_err(|p| ThreadPanic { thread: "kestrel-fused", message: super::panic_message(p) })
}
