//! The features stage's cost per event, as a ratio against a floor measured in the same run.
//!
//! - `features/stage_synthetic`: `FeatureStage::on_event` over every record of a synthetic tape
//!   (20-level L2 book, trades, bars, a session): book update, microstructure, volume profile, regime
//!   filter, session features, and the copy of the feature vector into the outgoing message.
//! - `features/stage_real`: the same over the real Binance usdm capture (full-depth L2 book) when
//!   ../shared/data (or `$KESTREL_DATA_DIR`) has it.
//! - floors: an empty loop over the same tape's records, each copied through `black_box`, and the
//!   book update alone (`MarketView::apply`), so the table separates the book's cost from the
//!   features'.
//!
//! Run with `cargo bench --bench features`; a table of ns per event and ratios prints at the end.

#[path = "support/criterion_dir.rs"]
mod criterion_dir;
use criterion::{Criterion, Throughput};
use criterion_dir::criterion_dir;
use kestrel_engine::book::MarketView;
use kestrel_engine::config::{RawConfig, RunSettings};
use kestrel_engine::event::MarketEvent;
use kestrel_engine::features::FeatureStage;
use kestrel_engine::pipeline::Stage;
use kestrel_engine::tape::Tape;
use kestrel_engine::types::UnixNanos;
use kestrel_tools::synth::{self, SynthConfig};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `cargo bench` passes `--bench`; under `--test` a short tape is enough.
fn full_size() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list")
}

fn events(tape: &Tape) -> Vec<MarketEvent> {
    tape.records()
        .iter()
        .enumerate()
        .map(|(i, r)| MarketEvent { seq: i as u64, ts: UnixNanos(r.header.ts_local.0), stamp: 0, record: *r })
        .collect()
}

fn real_capture(dir: &Path) -> Option<Tape> {
    let data = std::env::var_os("KESTREL_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let capture = data.join("binance/usdm/btcusdt_20240808.gz");
    if !capture.exists() {
        eprintln!("features/stage_real: SKIPPED ({} not found)", capture.display());
        return None;
    }
    let out = dir.join("real.tape");
    use kestrel_tools::import::{Format, ImportOptions, import};
    import(Format::Binance, &[capture], &out, &ImportOptions::default(), &mut |_, _| {}).ok()?;
    Tape::open(&out).ok()
}

fn bench_tape(c: &mut Criterion, name: &str, tape: &Tape, settings: &RunSettings) {
    let evs = events(tape);
    let mut group = c.benchmark_group("features");
    group.throughput(Throughput::Elements(evs.len() as u64));
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.bench_function(format!("floor_loop_{name}"), |b| {
        b.iter(|| {
            for e in &evs {
                black_box(*e);
            }
        })
    });
    group.bench_function(format!("book_only_{name}"), |b| {
        b.iter_batched_ref(
            || MarketView::new(tape.instruments().len(), settings.features.book_levels),
            |view| {
                for e in &evs {
                    black_box(view.apply(&e.record));
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.bench_function(format!("stage_{name}"), |b| {
        b.iter_batched_ref(
            || FeatureStage::new(tape.instruments(), &settings.features),
            |stage| {
                for e in &evs {
                    black_box(stage.on_event(e));
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
    print_row(name, evs.len());
}

fn median_ns(id: &str) -> Option<f64> {
    let path = criterion_dir().join(id).join("new").join("estimates.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn print_row(name: &str, n: usize) {
    let per_event = |id: String| median_ns(&id).map(|ns| ns / n as f64);
    let (Some(floor), Some(book), Some(stage)) = (
        per_event(format!("features/floor_loop_{name}")),
        per_event(format!("features/book_only_{name}")),
        per_event(format!("features/stage_{name}")),
    ) else {
        return;
    };
    println!(
        "\nfeatures stage on the {name} tape ({n} events; ns per event on this machine, noisy: the ratios matter)"
    );
    println!("  {:<28} {:>9} {:>10}", "", "ns/event", "× floor");
    println!("  {:<28} {:>9.1} {:>10}", "floor (empty loop)", floor, "1.0");
    println!("  {:<28} {:>9.1} {:>9.1}x", "book update only", book, book / floor);
    println!("  {:<28} {:>9.1} {:>9.1}x", "features stage (all)", stage, stage / floor);
    println!("  features beyond the book: {:.1} ns/event ({:.2} M events/s for the stage)", stage - book, 1e3 / stage);
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let minutes = if full_size() { 30 } else { 1 };
    let path = dir.path().join("synth.tape");
    let cfg = SynthConfig { duration_ns: minutes * 60 * 1_000_000_000, ..SynthConfig::default() };
    synth::write_tape(&cfg, &path).expect("synthetic tape");
    let tape = Tape::open(&path).expect("open tape");
    let settings = RunSettings::from_raw(&RawConfig::default(), "bench").expect("default settings");
    let mut c = Criterion::default().configure_from_args();
    bench_tape(&mut c, "synthetic", &tape, &settings);
    if full_size()
        && let Some(real) = real_capture(dir.path())
    {
        bench_tape(&mut c, "real", &real, &settings);
    }
    c.final_summary();
}
