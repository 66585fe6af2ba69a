//! The threaded topology: one hot thread per stage, SPSC links between them, and a link carrying
//! the venue's reports from execute back to decide.
//!
//! ```text
//! ingest ──md──▶ features ──featured──▶ decide ──intent──▶ execute ──▶ journal
//!                                          ▲                   │
//!                                          └──────reports──────┘   + `exec_done` (events finished)
//! ```
//!
//! # Keeping decide and execute in step
//! In the fused topology decide sees, before event *i*, exactly the reports produced by events
//! before *i* whose arrival time (`ts_arrive`, venue time + response latency) is at or before event
//! *i*'s time. Threaded, execute runs behind decide, so before event *i* decide waits until execute
//! has finished every event *j* that could still produce such a report: those with
//! `ts_j + response_latency <= ts_i`. Decide remembers the times of the events it has passed on
//! (`sent_ts`), reads how many execute has finished (`exec_done`, published with Release after the
//! reports of an event are pushed, read with Acquire), and applies every due report at the head of the
//! link. With a response latency of 100 µs of tape time, decide runs ahead of execute by every event
//! in that window; with zero latency the two go in lockstep. Either way the journal is byte-identical
//! to the fused run's.

use super::link::{Receiver, Sender, link};
use super::sink::Sink;
use super::{Finished, Padded, Pipeline, Plan, RunControl, Stage, ThreadPanic, pin_current};
use crate::clock::Stopwatch;
use crate::decide::DecideStage;
use crate::event::{Featured, Intent, MarketEvent, Report};
use crate::execute::{ExecuteStage, Venue};
use crate::ingest::Source;
use crate::journal::{JournalError, JournalWriter};
use crate::latency::{LatencyRecorder, Metric};
use crate::pipeline::LinkStats;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

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
    let Pipeline { source, features, decide, execute, journal } = pipeline;
    let cap = plan.ring_capacity;
    let (md_tx, md_rx) = link::<MarketEvent>("ingest→features", cap, plan.wait);
    let (feat_tx, feat_rx) = link::<Featured>("features→decide", cap, plan.wait);
    let (intent_tx, intent_rx) = link::<Intent>("decide→execute", cap, plan.wait);
    let report_cap = super::report_capacity(&decide);
    let (report_tx, report_rx) = link::<Report>("execute→decide (reports)", report_cap, plan.wait);
    let exec_done = Arc::new(Padded(AtomicU64::new(0)));
    let core = |i: usize| plan.hot_cores.get(i).copied().flatten();

    let ctl = control.clone();
    let ingest = spawn("kestrel-ingest", core(0), move || ingest_loop(source, md_tx, &ctl))?;
    let features = spawn("kestrel-features", core(1), move || stage_loop(features, md_rx, feat_tx, Metric::Features))?;
    let delay = execute.min_report_delay_ns();
    let done = exec_done.clone();
    let decide = spawn("kestrel-decide", core(2), move || {
        decide_loop(decide, feat_rx, intent_tx, report_rx, &done, delay, cap)
    })?;
    let ctl = control.clone();
    let execute = spawn("kestrel-execute", core(3), move || {
        execute_loop(execute, journal, intent_rx, report_tx, &exec_done, &ctl)
    })?;
    pin_current(plan.cold_core);
    let all_done =
        || ingest.0.is_finished() && features.0.is_finished() && decide.0.is_finished() && execute.0.is_finished();
    super::watch(&all_done, control, monitor);

    let (source, lat_i, links_i) = join(ingest)?;
    let (features, lat_f, links_f) = join(features)?;
    let (decide, lat_d, links_d) = join(decide)?;
    let ((execute, journal, journal_error, events), lat_e, links_e) = join(execute)?;
    let mut latency = lat_i;
    for l in [&lat_f, &lat_d, &lat_e] {
        latency.merge(l);
    }
    super::absorb_model_latency(&mut latency, &decide);
    Ok(Finished {
        source,
        features,
        decide,
        execute,
        journal,
        latency,
        links: [links_i, links_f, links_d, links_e].concat(),
        events,
        journal_error,
    })
}

/// What each hot thread hands back: its stage(s), its histograms, its outgoing links' counters.
type ThreadOut<T> = (T, LatencyRecorder, Vec<LinkStats>);

fn spawn<T: Send + 'static>(
    name: &'static str,
    core: Option<usize>,
    body: impl FnOnce() -> ThreadOut<T> + Send + 'static,
) -> Result<(JoinHandle<ThreadOut<T>>, &'static str), ThreadPanic> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            pin_current(core);
            body()
        })
        .map(|h| (h, name))
        .map_err(|e| ThreadPanic { thread: name, message: format!("could not start: {e}") })
}

fn join<T>((handle, name): (JoinHandle<ThreadOut<T>>, &'static str)) -> Result<ThreadOut<T>, ThreadPanic> {
    handle.join().map_err(|p| ThreadPanic { thread: name, message: super::panic_message(p) })
}

fn ingest_loop<S: Source>(mut source: S, mut tx: Sender<MarketEvent>, ctl: &RunControl) -> ThreadOut<S> {
    let sw = Stopwatch::new();
    let mut latency = LatencyRecorder::new();
    let mut n = 0;
    while let Some(event) = source.next_event() {
        latency.record(Metric::Ingest, sw.since(event.stamp));
        if tx.send(event).is_err() {
            break; // features is gone (it failed); its error is reported by its join
        }
        n += 1;
        ctl.set_ingested(n);
    }
    (source, latency, vec![tx.stats()])
}

fn stage_loop<S: Stage>(mut stage: S, mut rx: Receiver<S::In>, mut tx: Sender<S::Out>, metric: Metric) -> ThreadOut<S> {
    rx.bind_to_current_thread();
    let sw = Stopwatch::new();
    let mut latency = LatencyRecorder::new();
    while let Some(input) = rx.recv() {
        let t0 = sw.stamp();
        let out = stage.on_event(&input);
        latency.record(metric, sw.since(t0));
        if tx.send(out).is_err() {
            break;
        }
    }
    (stage, latency, vec![tx.stats()])
}

fn decide_loop(
    mut decide: DecideStage,
    mut rx: Receiver<Featured>,
    mut tx: Sender<Intent>,
    mut reports: Receiver<Report>,
    exec_done: &Padded<AtomicU64>,
    report_delay_ns: u64,
    ring_capacity: usize,
) -> ThreadOut<DecideStage> {
    rx.bind_to_current_thread();
    reports.bind_to_current_thread();
    let sw = Stopwatch::new();
    let mut latency = LatencyRecorder::new();
    // Times of events passed on to execute and not yet finished by it: at most the link's capacity
    // plus the one execute holds.
    let slots = (ring_capacity + 2).next_power_of_two();
    let mut sent_ts = vec![0u64; slots];
    let mask = slots as u64 - 1;
    while let Some(featured) = rx.recv() {
        let (seq, ts) = (featured.event.seq, featured.event.ts);
        loop {
            let done = exec_done.0.load(Ordering::Acquire);
            while let Some(r) = reports.peek().copied().filter(|r| r.ts_arrive <= ts) {
                let _ = reports.try_recv();
                decide.on_report(&r);
            }
            let caught_up = done >= seq || sent_ts[(done & mask) as usize].saturating_add(report_delay_ns) > ts.0;
            if caught_up || reports.is_closed() {
                break;
            }
            // Woken by anything that could change the answer: execute finishing an event (it
            // notifies after publishing the count), a new report, or execute going away.
            let pending = reports.len();
            reports.idle_unless(|rx| {
                exec_done.0.load(Ordering::Acquire) != done || rx.slots() != pending || rx.is_abandoned()
            });
        }
        reports.reset_wait();
        // Service time starts after the wait for execute: that wait is queueing, and it shows in
        // tick-to-decision.
        let t0 = sw.stamp();
        let intent = decide.on_event(&featured);
        let t1 = sw.stamp();
        let decide_ns = sw.nanos(t0, t1);
        latency.record(Metric::Decide, decide_ns);
        super::record_swap_window(&mut latency, &decide, decide_ns);
        latency.record(Metric::TickToDecision, sw.nanos(featured.event.stamp, t1));
        sent_ts[(seq & mask) as usize] = ts.0;
        if tx.send(intent).is_err() {
            break;
        }
    }
    (decide, latency, vec![tx.stats()])
}

type ExecOut<V> = (ExecuteStage<V>, JournalWriter, Option<JournalError>, u64);

fn execute_loop<V: Venue>(
    mut execute: ExecuteStage<V>,
    mut journal: JournalWriter,
    mut rx: Receiver<Intent>,
    mut reports: Sender<Report>,
    exec_done: &Padded<AtomicU64>,
    ctl: &RunControl,
) -> ThreadOut<ExecOut<V>> {
    rx.bind_to_current_thread();
    let sw = Stopwatch::new();
    let mut latency = LatencyRecorder::new();
    let mut error = None;
    let mut events = 0;
    while let Some(intent) = rx.recv() {
        let (stamp, seq) = (intent.event.stamp, intent.event.seq);
        let t0 = sw.stamp();
        let mut sink = Sink { journal: &mut journal, reports: &mut reports, error: &mut error };
        let step = execute.on_event(intent, &mut sink);
        let t1 = sw.stamp();
        latency.record(Metric::Execute, sw.nanos(t0, t1));
        if step.orders_sent > 0 {
            latency.record(Metric::TickToOrder, sw.nanos(stamp, t1));
        }
        events += 1;
        // Release: the reports pushed above are visible to decide once it reads this count.
        exec_done.0.store(seq + 1, Ordering::Release);
        reports.notify(); // decide may be parked waiting for this count
        ctl.set_executed(events);
        if error.is_some() {
            ctl.request_stop(); // no trading without an audit trail; ingest stops, the rest drains
        }
    }
    let stats = reports.stats();
    ((execute, journal, error, events), latency, vec![stats])
}
