//! Tape reading and import throughput, each reported as a ratio against a floor measured in the
//! same run (the machines are noisy; a ratio against the same run's floor is not).
//!
//! - `read`: a synthetic tape of over a million records (~90 MB), read three ways. The floor
//!   (`floor_seq_sum`) sums the mapped record bytes as u64 words: the cost of touching every byte
//!   once. `iter_typed` walks [`Tape::iter`] and reads each record's typed fields; `open_verify`
//!   maps the file and runs [`Tape::verify`] (data CRC and per-record checks).
//! - `import`: `--format binance` on a real capture (skipped with a note if the capture is absent)
//!   and `--format csv` on the CSV `kestrel tape cat` prints for a synthetic tape. Each has a floor
//!   that reads the same input into lines the way the importer does (gunzip for gz, a 256 KiB
//!   `BufReader`, `read_until`) and only counts them.
//!
//! Run with `cargo bench --bench tape`; after criterion's own output a table prints each measured
//! median as a multiple of its floor's, with records/s, GB/s and lines/s alongside. The real capture
//! is looked for under `$KESTREL_DATA_DIR/binance/usdm/` (default `../shared/data` next to the
//! workspace). Under `cargo test --benches` every routine runs once on small inputs, as a smoke test.

#[path = "support/criterion_dir.rs"]
mod criterion_dir;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group};
use criterion_dir::criterion_dir;
use flate2::read::MultiGzDecoder;
use kestrel_engine::tape::{Record, Tape};
use kestrel_tools::import::{self, Format, ImportOptions};
use kestrel_tools::inspect::{CatOptions, write_csv};
use kestrel_tools::synth::{self, SynthConfig};
use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

const MINUTE_NS: u64 = 60 * 1_000_000_000;
/// The real capture, relative to the data directory.
const BINANCE_CAPTURE: &str = "binance/usdm/btcusdt_20240808.gz";
/// Same buffer the importer's line source uses (tools/src/import/source.rs).
const LINE_BUF: usize = 1 << 18;

/// `cargo bench` passes `--bench`; `cargo test --benches` does not (criterion then runs each
/// routine once), and neither needs full-size inputs for `--list` or `--test`.
fn full_size() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test" || a == "--list")
}

/// Inputs live in one temporary directory for the whole run; `main` removes it at the end.
static WORKDIR: Mutex<Option<tempfile::TempDir>> = Mutex::new(None);

fn workdir() -> PathBuf {
    let mut dir = WORKDIR.lock().unwrap_or_else(|e| e.into_inner());
    let dir = dir.get_or_insert_with(|| {
        tempfile::Builder::new().prefix("kestrel-bench-").tempdir().expect("create a temporary directory")
    });
    dir.path().to_path_buf()
}

/// Benchmarks whose routine ran in this process, with their throughput: only these get a row in
/// the table, so that a filtered run never reports a stale estimate from an earlier run.
static RAN: Mutex<Vec<(String, Throughput)>> = Mutex::new(Vec::new());

fn mark_ran(id: &str, throughput: &Throughput) {
    let mut ran = RAN.lock().unwrap_or_else(|e| e.into_inner());
    if !ran.iter().any(|(r, _)| r == id) {
        ran.push((id.to_string(), throughput.clone()));
    }
}

/// Registers `name` in `group` with `throughput`, recording that it ran when criterion calls it.
fn bench<R>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    group_name: &str,
    name: &str,
    throughput: &Throughput,
    mut routine: R,
) where
    R: FnMut() -> u64,
{
    group.throughput(throughput.clone());
    let id = format!("{group_name}/{name}");
    group.bench_function(name, |b| {
        mark_ran(&id, throughput);
        b.iter(|| black_box(routine()));
    });
}

// ---------------------------------------------------------------------------------------------
// read

/// The floor: every mapped record byte loaded once, as little-endian u64 words.
fn sum_words(bytes: &[u8]) -> u64 {
    let (words, rest) = bytes.as_chunks::<8>();
    let sum = words.iter().fold(0u64, |acc, w| acc.wrapping_add(u64::from_le_bytes(*w)));
    rest.iter().fold(sum, |acc, &b| acc.wrapping_add(u64::from(b)))
}

/// What a consumer of the tape does at the least: the typed view of each record and its fields.
fn sum_typed(tape: &Tape) -> u64 {
    let (mut px, mut qty, mut ids, mut ts) = (0i64, 0i64, 0u64, 0u64);
    for record in tape.iter() {
        match record {
            Record::Quote(q) => {
                px = px.wrapping_add(q.bid_px.0).wrapping_add(q.ask_px.0);
                qty = qty.wrapping_add(q.bid_qty.0).wrapping_add(q.ask_qty.0);
            }
            Record::Trade(t) => {
                px = px.wrapping_add(t.px.0);
                qty = qty.wrapping_add(t.qty.0);
                ids = ids.wrapping_add(t.trade_id);
            }
            Record::Level(l) => {
                px = px.wrapping_add(l.px.0);
                qty = qty.wrapping_add(l.qty.0);
                ids = ids.wrapping_add(l.update_id);
            }
            Record::Clear(c) => ids = ids.wrapping_add(c.update_id),
        }
        ts = ts.wrapping_add(record.header().ts_local.0);
    }
    (px as u64) ^ (qty as u64).rotate_left(16) ^ ids.rotate_left(32) ^ ts.rotate_left(48)
}

fn read_benches(c: &mut Criterion) {
    // 30 minutes at 5x the default activity: over a million records, ~90 MB.
    let cfg = if full_size() {
        SynthConfig { duration_ns: 30 * MINUTE_NS, activity: 5.0, ..SynthConfig::default() }
    } else {
        SynthConfig { duration_ns: MINUTE_NS, ..SynthConfig::default() }
    };
    let path = workdir().join("read.tape");
    let report = synth::write_tape(&cfg, &path).expect("write the synthetic tape");
    let tape = Tape::open(&path).expect("open the synthetic tape");
    tape.verify().expect("the synthetic tape verifies");
    let records = tape.len() as u64;
    let bytes = tape.record_bytes().len() as u64;
    eprintln!(
        "read: synthetic tape of {} records, {:.1} MB of records ({:.1} MB file) at {}",
        records,
        bytes as f64 / 1e6,
        report.bytes as f64 / 1e6,
        path.display()
    );
    let throughput = Throughput::ElementsAndBytes { elements: records, bytes };

    let mut group = c.benchmark_group("read");
    group.sample_size(20).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(5));
    bench(&mut group, "read", "floor_seq_sum", &throughput, || sum_words(black_box(&tape).record_bytes()));
    bench(&mut group, "read", "iter_typed", &throughput, || sum_typed(black_box(&tape)));
    bench(&mut group, "read", "open_verify", &throughput, || {
        let t = Tape::open(black_box(&path)).expect("open");
        t.verify().expect("verify");
        t.len() as u64
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// import

/// A line reader over `path` built the way the importer's line source builds it: gzip detected by
/// its magic bytes, 256 KiB of buffer.
fn line_reader(path: &Path) -> Box<dyn BufRead> {
    let mut file = File::open(path).expect("open input");
    let mut magic = [0u8; 2];
    let gz = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let file = File::open(path).expect("open input");
    if gz {
        Box::new(BufReader::with_capacity(LINE_BUF, MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::with_capacity(LINE_BUF, file))
    }
}

/// The floor: the input split into lines and counted, no parsing. Returns (lines, bytes).
fn count_lines(path: &Path) -> (u64, u64) {
    let mut reader = line_reader(path);
    let mut buf = Vec::with_capacity(1 << 16);
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).expect("read input");
        if n == 0 {
            return (lines, bytes);
        }
        lines += 1;
        bytes += n as u64;
        black_box(&buf);
    }
}

fn run_import(format: Format, input: &Path, out: &Path) -> u64 {
    let report = import::import(format, &[input.to_path_buf()], out, &ImportOptions::default(), &mut |_, _| {})
        .unwrap_or_else(|e| panic!("import of {} failed: {e}", input.display()));
    report.stats.lines
}

fn data_dir() -> PathBuf {
    match std::env::var_os("KESTREL_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    }
}

fn import_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("import");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .sampling_mode(SamplingMode::Flat);

    let capture = data_dir().join(BINANCE_CAPTURE);
    let capture = capture.canonicalize().unwrap_or(capture);
    if capture.is_file() {
        let (lines, bytes) = count_lines(&capture);
        eprintln!(
            "import: binance capture {} ({lines} lines, {:.1} MB uncompressed)",
            capture.display(),
            bytes as f64 / 1e6
        );
        let throughput = Throughput::ElementsAndBytes { elements: lines, bytes };
        let out = workdir().join("binance.tape");
        bench(&mut group, "import", "floor_gunzip_lines", &throughput, || count_lines(black_box(&capture)).0);
        bench(&mut group, "import", "binance", &throughput, || run_import(Format::Binance, black_box(&capture), &out));
    } else {
        eprintln!(
            "import: skipping the binance benchmarks: {} not found (set KESTREL_DATA_DIR to the folder that holds binance/)",
            capture.display()
        );
    }

    // The CSV `kestrel tape cat` prints for 20 minutes of synthetic market (~200k rows, ~17 MB).
    let cfg = if full_size() {
        SynthConfig { duration_ns: 20 * MINUTE_NS, ..SynthConfig::default() }
    } else {
        SynthConfig { duration_ns: MINUTE_NS / 2, ..SynthConfig::default() }
    };
    let tape_path = workdir().join("csv-source.tape");
    synth::write_tape(&cfg, &tape_path).expect("write the synthetic tape");
    let csv = workdir().join("synth.csv");
    {
        let tape = Tape::open(&tape_path).expect("open the synthetic tape");
        let mut out = BufWriter::new(File::create(&csv).expect("create the CSV"));
        write_csv(&tape, &mut out, &CatOptions::default()).expect("write the CSV");
    }
    let (lines, bytes) = count_lines(&csv);
    eprintln!("import: synthetic CSV {} ({lines} lines, {:.1} MB)", csv.display(), bytes as f64 / 1e6);
    let throughput = Throughput::ElementsAndBytes { elements: lines, bytes };
    let out = workdir().join("csv.tape");
    bench(&mut group, "import", "floor_csv_lines", &throughput, || count_lines(black_box(&csv)).0);
    bench(&mut group, "import", "csv", &throughput, || run_import(Format::Csv, black_box(&csv), &out));
    group.finish();
}

criterion_group!(tape_benches, read_benches, import_benches);

// ---------------------------------------------------------------------------------------------
// the ratio table

/// The median time of one iteration in ns, from this run's `new/estimates.json`.
fn median_ns(dir: &Path, id: &str) -> Option<f64> {
    let path = dir.join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(&path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn fmt_time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn fmt_rate(per_s: f64, unit: &str) -> String {
    if per_s >= 1e9 {
        format!("{:.2} G{unit}/s", per_s / 1e9)
    } else if per_s >= 1e6 {
        format!("{:.2} M{unit}/s", per_s / 1e6)
    } else if per_s >= 1e3 {
        format!("{:.1} k{unit}/s", per_s / 1e3)
    } else {
        format!("{per_s:.0} {unit}/s")
    }
}

/// `(group, floor, measured benches, element unit)`, in print order.
const TABLE: [(&str, &str, &[&str], &str); 3] = [
    ("read", "floor_seq_sum", &["iter_typed", "open_verify"], "records"),
    ("import", "floor_gunzip_lines", &["binance"], "lines"),
    ("import", "floor_csv_lines", &["csv"], "lines"),
];

fn print_ratio_table() {
    let dir = criterion_dir();
    let ran = RAN.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let lookup = |id: &str| -> Option<(f64, Throughput)> {
        let (_, throughput) = ran.iter().find(|(r, _)| r == id)?;
        Some((median_ns(&dir, id)?, throughput.clone()))
    };
    let absolute = |ns: f64, throughput: &Throughput, unit: &str| -> String {
        let per_s = |n: u64| n as f64 * 1e9 / ns;
        match *throughput {
            Throughput::ElementsAndBytes { elements, bytes } => {
                format!("{:>18}  {:>11}", fmt_rate(per_s(elements), unit), fmt_rate(per_s(bytes), "B"))
            }
            Throughput::Elements(n) => format!("{:>18}", fmt_rate(per_s(n), unit)),
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                format!("{:>18}  {:>11}", "", fmt_rate(per_s(n), "B"))
            }
            Throughput::Bits(n) => format!("{:>18}  {:>11}", "", fmt_rate(per_s(n), "bit")),
        }
    };

    let mut rows = Vec::new();
    for (group, floor, measured, unit) in TABLE {
        let floor_id = format!("{group}/{floor}");
        let Some((floor_ns, floor_tp)) = lookup(&floor_id) else {
            continue;
        };
        let floor_name = format!("{group}.{floor}");
        rows.push(format!(
            "{:<44} {:>7}  {:>10}  {}",
            floor_name,
            "floor",
            fmt_time(floor_ns),
            absolute(floor_ns, &floor_tp, unit)
        ));
        for name in measured {
            let Some((ns, tp)) = lookup(&format!("{group}/{name}")) else {
                continue;
            };
            let label = format!("{group}.{name} / {floor_name}");
            let ratio = format!("{:.2}x", ns / floor_ns);
            rows.push(format!("{label:<44} {ratio:>7}  {:>10}  {}", fmt_time(ns), absolute(ns, &tp, unit)));
        }
    }
    if rows.is_empty() {
        return;
    }
    println!();
    println!("Ratios against same-run floors (median time per pass / floor's median; 1.00x = as fast as the floor)");
    println!("bytes/s counts tape records (read) or uncompressed input text (import); k, M, G are powers of 1000.");
    println!("Estimates from {}", dir.display());
    println!();
    println!("{:<44} {:>7}  {:>10}  {:>18}  {:>11}", "benchmark", "ratio", "median", "rate", "bytes/s");
    for row in rows {
        println!("{row}");
    }
}

fn main() {
    tape_benches();
    Criterion::default().configure_from_args().final_summary();
    if full_size() {
        print_ratio_table();
    }
    drop(WORKDIR.lock().unwrap_or_else(|e| e.into_inner()).take());
}
