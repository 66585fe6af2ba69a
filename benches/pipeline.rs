//! The hot pipeline's costs, each reported as a ratio against a floor measured in the same run (the
//! machines are noisy; a ratio against the same run's floor is not).
//!
//! - `hop`: one-way latency of a hop between two threads, from a ping-pong of an 88-byte
//!   [`MarketEvent`] timed with `iter_custom` (an echo thread starts per chunk of round trips, the
//!   round trips are timed on the calling thread, RTT/2 is reported). `link_busy_spin` and
//!   `link_spin_yield` go through Kestrel's [`link`] with [`WaitStrategy::BusySpin`] and
//!   [`WaitStrategy::SpinYield`] (2 µs of spin, then yield). The floor is the same ping-pong over a
//!   raw `rtrb::RingBuffer` pair with a hand-written busy-spin, run in step with each link bench
//!   (alternate chunks), because a VM's cross-core cost drifts by several times within seconds.
//! - `fused`: the whole fused pipeline (tape source → features → rule strategy → paper venue →
//!   journal, latency histograms always on) stepped through a synthetic tape of a few minutes of
//!   market, a fresh pipeline and journal per pass, built outside the timed region. The floor
//!   (`floor_tape_loop`) is an empty loop over the same tape's records, each copied through
//!   `std::hint::black_box`.
//! - `threaded`: the same pipeline run by [`pipeline::run`] on the threaded topology (four hot
//!   threads, spin-then-yield, unpinned), timed from the call until execute has finished the last
//!   event, against the same floor. On a 2-core machine four hot threads oversubscribe the cores, so
//!   this is expected to be slower than fused here; with a core per hot thread the threaded topology
//!   runs busy-spin pinned.
//!
//! Run with `cargo bench --bench pipeline`; after criterion's own output a table prints each measured
//! median as a multiple of its floor's, in ns per hop or per event, with events/s for the pipeline
//! runs. Under `cargo test --benches` (or `-- --test`) every routine runs once on a small tape, as a
//! smoke test.

#[path = "support/criterion_dir.rs"]
mod criterion_dir;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, measurement::WallTime};
use criterion_dir::criterion_dir;
use kestrel_engine::clock::Stopwatch;
use kestrel_engine::config::{RawConfig, RunSettings, Trading, resolve_trading};
use kestrel_engine::event::MarketEvent;
use kestrel_engine::execute::SimVenue;
use kestrel_engine::ingest::TapeSource;
use kestrel_engine::journal::{JournalMeta, JournalWriter};
use kestrel_engine::paper::build_pipeline;
use kestrel_engine::pipeline::fused::Fused;
use kestrel_engine::pipeline::link::link;
use kestrel_engine::pipeline::topology::available_cores;
use kestrel_engine::pipeline::{self, Pipeline, RunControl, Topology, WaitStrategy};
use kestrel_engine::tape::Tape;
use kestrel_tools::synth::{self, SynthConfig};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECOND_NS: u64 = 1_000_000_000;
/// Simulated market in the full-size tape: ≈ 140 records a second at the default activity (seed
/// 42), so ≈ 42k records.
const FULL_TAPE_NS: u64 = 5 * 60 * SECOND_NS;
/// The smoke-test tape: ≈ 1.3k records.
const SMOKE_TAPE_NS: u64 = 10 * SECOND_NS;
/// Round trips run before the clock starts, so that the echo thread is up and spinning.
const PING_PONG_WARM_UP: u32 = 1_000;
/// Round trips per chunk of a paired hop measurement (a few ms: short next to the VM's drift, long
/// next to an echo thread's start).
const HOP_CHUNK: u64 = 20_000;
/// Smaller chunks (criterion's first warm-up calls) are timed but left out of the paired figures.
const HOP_CHUNK_MIN: u64 = 2_000;
/// The spin budget of the spin-then-yield strategy, for the hop and the threaded run.
const SPIN_YIELD: WaitStrategy = WaitStrategy::SpinYield { spin_ns: 2_000 };
/// How often the end-of-run watcher of a threaded pass looks at the progress counter: the timing's
/// resolution (the runner's own monitor only looks every 50 ms).
const WATCH_TICK: Duration = Duration::from_micros(250);

/// `cargo bench` passes `--bench`; `cargo test --benches` does not (criterion then runs each
/// routine once), and neither needs full-size inputs for `--list` or `--test`.
fn full_size() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list")
}

/// What every benchmark shares: the tape, the strategy, a place for journals.
struct Env {
    /// Holds the tape and the journals; removed when the bench ends.
    dir: tempfile::TempDir,
    tape: Arc<Tape>,
    records: u64,
    tape_minutes: f64,
    /// The default config's settings (replay at full speed, book depth, paper latencies, journal and
    /// ring sizes) and strategy, as `kestrel paper` resolves them.
    settings: RunSettings,
    trading: Trading,
    /// A realistic message for the ping-pong: the tape's first record as ingest hands it on.
    message: MarketEvent,
    /// Cores this process may use, read before anything could pin a thread.
    cores: usize,
    /// Numbers the journals so that every pass writes a fresh one.
    journals: AtomicU64,
    stopwatch: Stopwatch,
}

impl Env {
    fn new() -> Env {
        let cores = available_cores();
        let dir =
            tempfile::Builder::new().prefix("kestrel-bench-pipeline-").tempdir().expect("create a temporary directory");
        let duration_ns = if full_size() { FULL_TAPE_NS } else { SMOKE_TAPE_NS };
        let path = dir.path().join("synth.tape");
        synth::write_tape(&SynthConfig { duration_ns, ..SynthConfig::default() }, &path)
            .expect("write the synthetic tape");
        let tape = Tape::open(&path).expect("open the synthetic tape");
        let config = RawConfig::default();
        let settings = RunSettings::from_raw(&config, "bench").expect("the default config resolves");
        let trading = resolve_trading(&config, tape.instruments(), "bench").expect("the default config resolves");
        let records = tape.len() as u64;
        assert!(records > 0, "the synthetic tape has records");
        let first = tape.records()[0];
        let message = MarketEvent { seq: 0, ts: first.header.ts_local, stamp: 0, record: first };
        eprintln!(
            "pipeline: synthetic tape of {records} records ({:.1} min of market) at {}; {cores} cores",
            duration_ns as f64 / 60e9,
            path.display()
        );
        Env {
            dir,
            tape: Arc::new(tape),
            records,
            tape_minutes: duration_ns as f64 / 60e9,
            settings,
            trading,
            message,
            cores,
            journals: AtomicU64::new(0),
            stopwatch: Stopwatch::new(),
        }
    }

    /// A path no journal has used yet.
    fn fresh_journal_path(&self) -> PathBuf {
        let n = self.journals.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("journal-{n}.kj"))
    }

    /// The paper pipeline, built as `paper::prepare` builds it, writing a fresh journal at `journal`.
    fn pipeline(&self, control: &Arc<RunControl>, journal: &Path) -> Pipeline<TapeSource, SimVenue> {
        let meta = JournalMeta { tape_data_crc32: 0, config_hash: 0 };
        let journal = JournalWriter::create(journal, self.tape.instruments(), meta, self.settings.journal_capacity)
            .expect("create the journal");
        build_pipeline(self.tape.clone(), &self.settings, self.trading.clone(), journal, control.stop_flag())
            .expect("the default risk limits are valid")
    }

    fn elapsed(&self, start: u64, end: u64) -> Duration {
        Duration::from_nanos(self.stopwatch.nanos(start, end))
    }
}

/// Benchmarks whose routine ran in this process: only these get a row in the table, so that a
/// filtered run never reports a stale estimate from an earlier run.
static RAN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn mark_ran(id: &str) {
    let mut ran = RAN.lock().unwrap_or_else(|e| e.into_inner());
    if !ran.iter().any(|r| r == id) {
        ran.push(id.to_string());
    }
}

/// Registers `name` in `group`, timed by `routine` (criterion's `iter_custom` contract: the time of
/// `iters` iterations), recording that it ran when criterion calls it.
fn bench_custom<R>(group: &mut BenchmarkGroup<'_, WallTime>, group_name: &str, name: &str, mut routine: R)
where
    R: FnMut(u64) -> Duration,
{
    let id = format!("{group_name}/{name}");
    group.bench_function(name, |b| {
        mark_ran(&id);
        b.iter_custom(&mut routine);
    });
}

// ---------------------------------------------------------------------------------------------
// hop

/// Runs [`PING_PONG_WARM_UP`] untimed round trips, then `iters` timed ones; returns the last message
/// back and the stamps around the timed ones.
fn time_round_trips(
    env: &Env,
    iters: u64,
    mut round_trip: impl FnMut(MarketEvent) -> MarketEvent,
) -> (MarketEvent, u64, u64) {
    let mut m = env.message;
    for _ in 0..PING_PONG_WARM_UP {
        m = round_trip(m);
    }
    let start = env.stopwatch.stamp();
    for _ in 0..iters {
        m = round_trip(black_box(m));
    }
    let end = env.stopwatch.stamp();
    (m, start, end)
}

/// Ping-pong over raw rtrb rings, each side busy-spinning by hand. Returns the ns of `iters` round
/// trips.
fn ping_pong_rtrb(env: &Env, iters: u64) -> u64 {
    let (mut to_echo, mut echo_rx) = rtrb::RingBuffer::<MarketEvent>::new(8);
    let (mut echo_tx, mut from_echo) = rtrb::RingBuffer::<MarketEvent>::new(8);
    let echo = std::thread::spawn(move || {
        loop {
            match echo_rx.pop() {
                Ok(mut m) => {
                    m.seq += 1;
                    while let Err(rtrb::PushError::Full(back)) = echo_tx.push(m) {
                        m = back;
                        std::hint::spin_loop();
                    }
                }
                Err(_) if echo_rx.is_abandoned() => return,
                Err(_) => std::hint::spin_loop(),
            }
        }
    });
    let round_trip = |m: MarketEvent| -> MarketEvent {
        if to_echo.push(m).is_err() {
            unreachable!("one message in flight never fills the ring");
        }
        loop {
            if let Ok(back) = from_echo.pop() {
                return back;
            }
            std::hint::spin_loop();
        }
    };
    let (m, start, end) = time_round_trips(env, iters, round_trip);
    drop(to_echo);
    echo.join().expect("the echo thread");
    assert_eq!(m.seq, u64::from(PING_PONG_WARM_UP) + iters, "every round trip came back");
    env.stopwatch.nanos(start, end)
}

/// Ping-pong through Kestrel's links, both ends waiting by `wait`. Returns the ns of `iters` round
/// trips.
fn ping_pong_link(env: &Env, wait: WaitStrategy, iters: u64) -> u64 {
    let (mut to_echo, mut echo_rx) = link::<MarketEvent>("ping", 8, wait);
    let (mut echo_tx, mut from_echo) = link::<MarketEvent>("pong", 8, wait);
    let echo = std::thread::spawn(move || {
        echo_rx.bind_to_current_thread();
        while let Some(mut m) = echo_rx.recv() {
            m.seq += 1;
            if echo_tx.send(m).is_err() {
                return;
            }
        }
    });
    from_echo.bind_to_current_thread();
    let round_trip = |m: MarketEvent| -> MarketEvent {
        to_echo.send(m).expect("the echo thread is up");
        from_echo.recv().expect("the echo thread answers")
    };
    let (m, start, end) = time_round_trips(env, iters, round_trip);
    drop(to_echo);
    echo.join().expect("the echo thread");
    assert_eq!(m.seq, u64::from(PING_PONG_WARM_UP) + iters, "every round trip came back");
    env.stopwatch.nanos(start, end)
}

/// One chunk of a paired hop measurement: the mean one-way hop in ns through the floor, then
/// through the link, a few ms apart.
#[derive(Clone, Copy)]
struct HopChunk {
    floor: f64,
    link: f64,
}

/// Every full-enough chunk of each link bench, over every call criterion made (warm-up included).
static HOP_CHUNKS: Mutex<Vec<(String, Vec<HopChunk>)>> = Mutex::new(Vec::new());

/// `iters` round trips through the link, interleaved in chunks of [`HOP_CHUNK`] with as many through
/// the floor (first one, then the other, in turn), each chunk with its own echo thread (so that at most two threads spin at once). A VM's
/// cross-core cost moves by several times within seconds (35 to 300 ns a hop, in phases, was seen on
/// the 2-core machine within one run), so a floor measured by its own benchmark seconds earlier does
/// not make a ratio; a floor measured in step with the link does. Returns the link's time for
/// criterion: half the round trips' time, one hop per iteration.
fn paired_hops(env: &Env, id: &str, wait: WaitStrategy, iters: u64) -> Duration {
    let mut chunks = Vec::new();
    let mut link_ns = 0;
    let (mut left, mut turn) = (iters, 0u64);
    while left > 0 {
        let n = left.min(HOP_CHUNK);
        // Which goes first alternates, so that neither always runs right after the other.
        turn += 1;
        let (floor, link) = if turn % 2 == 1 {
            let floor = ping_pong_rtrb(env, n);
            (floor, ping_pong_link(env, wait, n))
        } else {
            let link = ping_pong_link(env, wait, n);
            (ping_pong_rtrb(env, n), link)
        };
        link_ns += link;
        if n >= HOP_CHUNK_MIN {
            let hop = |ns: u64| ns as f64 / n as f64 / 2.0;
            chunks.push(HopChunk { floor: hop(floor), link: hop(link) });
        }
        left -= n;
    }
    let mut all = HOP_CHUNKS.lock().unwrap_or_else(|e| e.into_inner());
    match all.iter_mut().find(|(p, _)| p == id) {
        Some((_, seen)) => seen.extend(chunks),
        None => all.push((id.to_string(), chunks)),
    }
    Duration::from_nanos(link_ns) / 2
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(xs[n / 2]),
        _ => Some((xs[n / 2 - 1] + xs[n / 2]) / 2.0),
    }
}

/// A link bench's paired figures: the median link hop, the median floor hop, the median of the
/// chunks' link / floor ratios, and how many chunks they come from.
fn hop_pairs(id: &str) -> Option<(f64, f64, f64, usize)> {
    let all = HOP_CHUNKS.lock().unwrap_or_else(|e| e.into_inner());
    let chunks = &all.iter().find(|(p, _)| p == id)?.1;
    Some((
        median(chunks.iter().map(|c| c.link).collect())?,
        median(chunks.iter().map(|c| c.floor).collect())?,
        median(chunks.iter().map(|c| c.link / c.floor.max(f64::MIN_POSITIVE)).collect())?,
        chunks.len(),
    ))
}

fn hop_benches(c: &mut Criterion, env: &Env) {
    let mut group = c.benchmark_group("hop");
    // Criterion budgets for the link's time alone; the interleaved floor and the echo threads' starts
    // make each bench take about 2.5 times its measurement time.
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    bench_custom(&mut group, "hop", "link_busy_spin", |iters| {
        paired_hops(env, "hop/link_busy_spin", WaitStrategy::BusySpin, iters)
    });
    bench_custom(&mut group, "hop", "link_spin_yield", |iters| {
        paired_hops(env, "hop/link_spin_yield", SPIN_YIELD, iters)
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// fused

/// The floor: every record of the tape copied out once, as the tape source does, and nothing else.
fn tape_loop(tape: &Tape) -> u64 {
    let mut n = 0u64;
    for record in tape.records() {
        black_box(*record);
        n += 1;
    }
    n
}

/// One fused pass over the whole tape: built, then timed from the first step to the last.
fn fused_pass(env: &Env) -> Duration {
    let journal = env.fresh_journal_path();
    let control = RunControl::new();
    let mut fused = Fused::new(env.pipeline(&control, &journal));
    let start = env.stopwatch.stamp();
    while fused.step() {}
    let end = env.stopwatch.stamp();
    let finished = fused.into_finished();
    assert_eq!(finished.events, env.records, "the fused pass ran every event");
    assert!(finished.journal_error.is_none(), "journal error: {:?}", finished.journal_error);
    drop(finished);
    let _ = std::fs::remove_file(&journal);
    env.elapsed(start, end)
}

fn fused_benches(c: &mut Criterion, env: &Env) {
    let mut group = c.benchmark_group("fused");
    group.throughput(Throughput::Elements(env.records));
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2));
    group.bench_function("floor_tape_loop", |b| {
        mark_ran("fused/floor_tape_loop");
        b.iter(|| tape_loop(black_box(&env.tape)));
    });
    group.sampling_mode(SamplingMode::Flat).measurement_time(Duration::from_secs(3));
    bench_custom(&mut group, "fused", "pipeline", |iters| (0..iters).map(|_| fused_pass(env)).sum());
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// threaded

/// One threaded pass: four hot threads, timed from the call to `pipeline::run` until execute has
/// finished the last event (seen by a sleeping watcher thread every [`WATCH_TICK`]; the runner's
/// own monitor only looks every 50 ms, too coarse for a pass of a few hundred ms).
fn threaded_pass(env: &Env, plan: &pipeline::Plan) -> Duration {
    let journal = env.fresh_journal_path();
    let control = RunControl::new();
    let pipeline = env.pipeline(&control, &journal);
    let returned = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (control, returned, stopwatch, total) =
            (control.clone(), returned.clone(), env.stopwatch.clone(), env.records);
        std::thread::spawn(move || {
            loop {
                // Stamped before the flag is read: if `run` returned first, the pass is already over.
                let now = stopwatch.stamp();
                if control.executed() >= total || returned.load(Ordering::Acquire) {
                    return now;
                }
                std::thread::sleep(WATCH_TICK);
            }
        })
    };
    let start = env.stopwatch.stamp();
    let finished = pipeline::run(pipeline, plan, &control, &mut |_: &RunControl| {}).expect("the threaded run");
    returned.store(true, Ordering::Release);
    let end = watcher.join().expect("the watcher thread");
    assert_eq!(finished.events, env.records, "the threaded pass ran every event");
    assert!(finished.journal_error.is_none(), "journal error: {:?}", finished.journal_error);
    drop(finished);
    let _ = std::fs::remove_file(&journal);
    env.elapsed(start, end)
}

fn threaded_benches(c: &mut Criterion, env: &Env) {
    let plan = pipeline::plan(Topology::Threaded, Some(SPIN_YIELD), env.cores, false, env.settings.ring_capacity)
        .expect("a threaded plan with spin-then-yield");
    let mut group = c.benchmark_group("threaded");
    group.throughput(Throughput::Elements(env.records));
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6))
        .sampling_mode(SamplingMode::Flat);
    bench_custom(&mut group, "threaded", "pipeline_spin_yield", |iters| {
        (0..iters).map(|_| threaded_pass(env, &plan)).sum()
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// the ratio table

/// One benchmark's figures from this run: the median time of one iteration in ns (from
/// `new/estimates.json`) and the fastest and slowest sample's mean iteration (from `new/sample.json`).
#[derive(Clone, Copy)]
struct Estimate {
    median: f64,
    min: f64,
    max: f64,
}

impl Estimate {
    fn read(dir: &Path, id: &str) -> Option<Estimate> {
        let read = |file: &str| -> Option<serde_json::Value> {
            let text = std::fs::read_to_string(dir.join(id).join("new").join(file)).ok()?;
            serde_json::from_str(&text).ok()
        };
        let median = read("estimates.json")?["median"]["point_estimate"].as_f64()?;
        let samples = read("sample.json")?;
        let (times, iters) = (samples["times"].as_array()?, samples["iters"].as_array()?);
        let per_iter = times.iter().zip(iters).filter_map(|(t, i)| Some(t.as_f64()? / i.as_f64()?));
        let (min, max) = per_iter.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        Some(Estimate { median, min: min.min(median), max: max.max(median) })
    }

    fn scaled(self, per: f64) -> Estimate {
        Estimate { median: self.median / per, min: self.min / per, max: self.max / per }
    }
}

fn fmt_rate(per_s: f64) -> String {
    if per_s >= 1e6 {
        format!("{:.2} M/s", per_s / 1e6)
    } else if per_s >= 1e3 {
        format!("{:.1} k/s", per_s / 1e3)
    } else {
        format!("{per_s:.0} /s")
    }
}

/// The rows of the table, in print order. A hop bench's iteration is one hop, against the floor
/// measured in step with it; a pipeline bench's iteration is one pass over the tape, divided by its
/// records for ns per event, against [`EVENT_FLOOR`].
const HOP_ROWS: [&str; 2] = ["hop/link_busy_spin", "hop/link_spin_yield"];
const EVENT_FLOOR: &str = "fused/floor_tape_loop";
const EVENT_ROWS: [(&str, &str); 3] =
    [(EVENT_FLOOR, ""), ("fused/pipeline", ""), ("threaded/pipeline_spin_yield", " (*)")];

fn print_ratio_table(env: &Env) {
    let dir = criterion_dir();
    let ran = RAN.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let records = env.records as f64;
    let lookup = |id: &str, per: f64| -> Option<Estimate> {
        if !ran.iter().any(|r| r == id) {
            return None;
        }
        Some(Estimate::read(&dir, id)?.scaled(per))
    };
    let row = |id: &str, note: &str, e: Estimate, floor_ns: f64, ratio: String, rate: String| -> String {
        let label = format!("{}{note}", id.replace('/', "."));
        let spread = format!("{:.1} – {:.1}", e.min, e.max);
        format!("{label:<34} {:>9.1} {floor_ns:>9.1} {ratio:>9} {rate:>11}   {spread}", e.median)
    };

    let mut lines = Vec::new();
    let mut hop_chunks = 0;
    for id in HOP_ROWS {
        let (Some(e), Some((ns, floor_ns, ratio, chunks))) = (lookup(id, 1.0), hop_pairs(id)) else {
            continue;
        };
        hop_chunks = hop_chunks.max(chunks);
        let ratio = format!("{ratio:.2}x");
        lines.push(row(id, "", Estimate { median: ns, ..e }, floor_ns, ratio, String::new()));
    }
    let event_floor = lookup(EVENT_FLOOR, records).map(|e| e.median);
    let mut per_event = Vec::new();
    for (id, note) in EVENT_ROWS {
        let (Some(e), Some(floor_ns)) = (lookup(id, records), event_floor) else {
            continue;
        };
        let (ratio, rate) = if id == EVENT_FLOOR {
            ("floor".to_string(), String::new())
        } else {
            (format!("{:.2}x", e.median / floor_ns), fmt_rate(1e9 / e.median))
        };
        lines.push(row(id, note, e, floor_ns, ratio, rate));
        per_event.push((id, e.median));
    }
    if lines.is_empty() {
        return;
    }
    let find = |id: &str| per_event.iter().find(|(r, _)| *r == id).map(|&(_, ns)| ns);
    let (cores, records, minutes) = (env.cores, env.records, env.tape_minutes);
    println!(
        "
Pipeline costs against floors measured in the same run (ratio = bench / floor; 1.00x = as fast as the floor).
ns, floor and events/s are absolute figures from this machine ({cores} cores, noisy): the ratios are what matter.
Floors:
  hop rows:   one-way hop (RTT/2) of an 88-byte MarketEvent ping-pong over a raw rtrb::RingBuffer pair with a
              hand-written busy-spin on both threads, run in step with each link bench: chunks of {HOP_CHUNK}
              round trips, floor and link in turn, up to {hop_chunks} chunk pairs a bench. ns and floor: the
              median chunk's hop; ratio: the median of the chunks' link / floor (not ns / floor: when the
              machine's hop cost moves during the run, the two medians come from different chunks).
  event rows: an empty loop over the same tape's records, each copied through std::hint::black_box; ns per
              record. Pipeline rows: ns per event over a synthetic tape of {records} records ({minutes:.0} min
              of market), a fresh pipeline and journal per pass; ns: criterion's median; ratio: median / floor.
samples: criterion's fastest and slowest sample, in ns per hop or per event.
Estimates from {}
",
        dir.display()
    );
    println!("{:<34} {:>9} {:>9} {:>9} {:>11}   samples", "bench", "ns", "floor", "ratio", "events/s");
    for line in lines {
        println!("{line}");
    }
    if let (Some(threaded), Some(fused)) = (find("threaded/pipeline_spin_yield"), find("fused/pipeline")) {
        println!("{:<34} {:>9} {:>9} {:>9}", "threaded / fused", "", "", format!("{:.2}x", threaded / fused));
    }
    if find("threaded/pipeline_spin_yield").is_some() {
        println!();
        println!("(*) four hot threads (ingest, features, decide, execute), spin 2 µs then yield, unpinned,");
        println!(
            "    {}-slot rings. On {} cores this oversubscribes the cores and is expected to be slower",
            env.settings.ring_capacity, env.cores
        );
        println!(
            "    than fused; where the OS places the threads, and the VM's cross-core cost, make passes vary by up"
        );
        println!(
            "    to 10x or more, in phases of seconds (see samples). On a machine with a core per hot thread plus"
        );
        println!("    one for the cold side (e.g. 16 cores) the threaded topology runs busy-spin, pinned.");
    }
}

fn main() {
    let env = Env::new();
    let mut c = Criterion::default().configure_from_args();
    hop_benches(&mut c, &env);
    fused_benches(&mut c, &env);
    threaded_benches(&mut c, &env);
    c.final_summary();
    if full_size() {
        print_ratio_table(&env);
    }
}
