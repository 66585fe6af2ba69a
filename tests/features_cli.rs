//! End to end: `kestrel features`, run as the real binary.
//!
//! The matrix it writes (Parquet, read back with the parquet crate's Arrow reader, and CSV) must be
//! exactly what a `FeatureStage` run over the same tape computes, built here from the engine's public
//! API as `kestrel_engine::paper::build_pipeline` builds it: same rows, column names and order, types,
//! values bit for bit (NaN where NaN), non-decreasing time, and the footer metadata. Also: `--every`
//! sampling, `--config`, the bundled synthetic tape, bounded row groups, exit codes and messages, no
//! file left behind on errors, and a real capture read back by polars (when ../shared/data is there).

mod support;

use arrow_array::{Array, Float64Array, Int64Array, StringArray, TimestampNanosecondArray, UInt64Array};
use arrow_schema::{DataType, TimeUnit};
use kestrel_engine::config::{self, RawConfig, RunSettings};
use kestrel_engine::features::{FEATURES, FeatureStage, SCHEMA_VERSION, idx, schema_hash};
use kestrel_engine::ingest::{Source, Speed, TapeSource};
use kestrel_engine::pipeline::{RunControl, Stage};
use kestrel_engine::tape::Tape;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const ROW_GROUP_ROWS: usize = 65_536;

// ---------------------------------------------------------------------------------------------
// Running the binary

#[path = "support/cli.rs"]
#[allow(dead_code)]
mod cli;
use cli::Run;

#[track_caller]
fn kestrel(args: &[&str]) -> Run {
    cli::kestrel_in(None, args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The files in `dir`, hidden ones (a temporary `.x.partial…`) included.
fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

// ---------------------------------------------------------------------------------------------
// The matrix, computed directly and read back

/// A feature matrix, column by column.
#[derive(Debug, Default, PartialEq)]
struct Matrix {
    ts_ns: Vec<i64>,
    symbol: Vec<String>,
    seq: Vec<u64>,
    values: Vec<[f64; idx::COUNT]>,
}

impl Matrix {
    fn len(&self) -> usize {
        self.seq.len()
    }

    fn push_row(&mut self, from: &Matrix, i: usize) {
        self.ts_ns.push(from.ts_ns[i]);
        self.symbol.push(from.symbol[i].clone());
        self.seq.push(from.seq[i]);
        self.values.push(from.values[i]);
    }
}

fn default_config() -> RawConfig {
    config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/default.toml")).expect("configs/default.toml")
}

/// Every event of `tape` through a `FeatureStage` built from `config` as `build_pipeline` builds it,
/// fed by the same `TapeSource` a paper run uses.
fn direct(tape: &Arc<Tape>, config: &RawConfig) -> Matrix {
    let settings = RunSettings::from_raw(config, "test").expect("valid settings");
    let mut stage = FeatureStage::new(tape.instruments(), &settings.features);
    let control = RunControl::new();
    let mut source = TapeSource::new(tape.clone(), Speed::Max, control.stop_flag());
    let mut m = Matrix::default();
    while let Some(event) = source.next_event() {
        let out = stage.on_event(&event);
        m.ts_ns.push(i64::try_from(event.ts.0).unwrap());
        m.symbol.push(tape.instruments()[event.record.header.instrument.index()].symbol.clone());
        m.seq.push(event.seq);
        m.values.push(out.features.values.0);
    }
    m
}

fn expected_columns() -> Vec<String> {
    ["ts_ns", "ts", "symbol", "seq"].into_iter().chain(FEATURES.iter().map(|f| f.name)).map(String::from).collect()
}

/// A Parquet matrix and what its footer says.
#[derive(Debug)]
struct ParquetFile {
    matrix: Matrix,
    metadata: BTreeMap<String, String>,
    row_groups: Vec<usize>,
}

fn column<'a, T: 'static>(batch: &'a arrow_array::RecordBatch, name: &str) -> &'a T {
    batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).as_any().downcast_ref::<T>().unwrap()
}

fn read_parquet(path: &Path) -> ParquetFile {
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("a Parquet file");
    let meta = builder.metadata().clone();
    let metadata: BTreeMap<String, String> = meta
        .file_metadata()
        .key_value_metadata()
        .into_iter()
        .flatten()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect();
    let row_groups = meta.row_groups().iter().map(|g| usize::try_from(g.num_rows()).unwrap()).collect();

    let schema = builder.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, expected_columns(), "column names and order");
    let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
    assert_eq!(types[0], &DataType::Int64, "ts_ns");
    assert_eq!(types[1], &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())), "ts");
    assert_eq!(types[2], &DataType::Utf8, "symbol");
    assert_eq!(types[3], &DataType::UInt64, "seq");
    assert!(types[4..].iter().all(|t| **t == DataType::Float64), "features are float64: {types:?}");
    assert!(schema.fields().iter().all(|f| !f.is_nullable()));

    let mut m = Matrix::default();
    for batch in builder.build().unwrap() {
        let batch = batch.unwrap();
        let ts_ns = column::<Int64Array>(&batch, "ts_ns");
        let ts = column::<TimestampNanosecondArray>(&batch, "ts");
        assert_eq!(ts_ns.values(), ts.values(), "ts and ts_ns are the same instant");
        m.ts_ns.extend(ts_ns.values().iter());
        m.symbol.extend(column::<StringArray>(&batch, "symbol").iter().map(|s| s.unwrap().to_owned()));
        m.seq.extend(column::<UInt64Array>(&batch, "seq").values().iter());
        let features: Vec<&Float64Array> = FEATURES.iter().map(|f| column::<Float64Array>(&batch, f.name)).collect();
        assert!(features.iter().all(|c| c.null_count() == 0), "NaN is a value, never a null");
        for r in 0..batch.num_rows() {
            m.values.push(std::array::from_fn(|i| features[i].value(r)));
        }
    }
    ParquetFile { matrix: m, metadata, row_groups }
}

/// Reads a CSV matrix: header, RFC 3339 `ts`, NaN as empty cells.
fn read_csv(path: &Path) -> Matrix {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().expect("a header row").split(',').map(String::from).collect();
    assert_eq!(header, expected_columns(), "CSV header");
    let mut m = Matrix::default();
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "line {}: {line}", n + 2);
        let ts_ns: i64 = cells[0].parse().unwrap();
        let ts =
            humantime::parse_rfc3339(cells[1]).unwrap_or_else(|e| panic!("line {}: ts {:?}: {e}", n + 2, cells[1]));
        let since = ts.duration_since(std::time::UNIX_EPOCH).unwrap();
        assert_eq!(i64::try_from(since.as_nanos()).unwrap(), ts_ns, "line {}: ts is ts_ns", n + 2);
        m.ts_ns.push(ts_ns);
        m.symbol.push(cells[2].to_owned());
        m.seq.push(cells[3].parse().unwrap());
        m.values.push(std::array::from_fn(|i| {
            let cell = cells[4 + i];
            if cell.is_empty() { f64::NAN } else { cell.parse().unwrap_or_else(|e| panic!("{cell:?}: {e}")) }
        }));
    }
    m
}

/// The same rows, bit for bit (NaN where NaN).
#[track_caller]
fn assert_same(got: &Matrix, want: &Matrix, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: row count");
    assert!(got.ts_ns == want.ts_ns, "{what}: ts_ns differs");
    assert!(got.symbol == want.symbol, "{what}: symbol differs");
    assert!(got.seq == want.seq, "{what}: seq differs");
    for (r, (g, w)) in got.values.iter().zip(&want.values).enumerate() {
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            let same = a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            assert!(same, "{what}: row {r} (seq {}), {}: {a:?} vs {b:?}", want.seq[r], FEATURES[i].name);
        }
    }
}

#[track_caller]
fn assert_monotone(m: &Matrix) {
    assert!(m.ts_ns.windows(2).all(|w| w[0] <= w[1]), "ts_ns goes backwards");
    assert!(m.seq.windows(2).all(|w| w[0] < w[1]), "seq is not increasing");
}

/// Per symbol, the last row of each interval ((k−1)·every, k·every], in tape order.
fn sampled(m: &Matrix, every_ns: i64) -> (Matrix, usize) {
    let mut last: BTreeMap<(String, i64), usize> = BTreeMap::new();
    for r in 0..m.len() {
        let k = (m.ts_ns[r] + every_ns - 1).div_euclid(every_ns);
        last.insert((m.symbol[r].clone(), k), r);
    }
    let mut rows: Vec<usize> = last.values().copied().collect();
    rows.sort_unstable();
    let mut out = Matrix::default();
    for r in rows {
        out.push_row(m, r);
    }
    (out, last.len())
}

fn tape_data_crc(path: &Path) -> String {
    format!("{:08x}", Tape::open(path).unwrap().header().data_crc32)
}

// ---------------------------------------------------------------------------------------------
// Tests

/// The Parquet matrix of a 9-minute synthetic tape (more rows than one row group) is the direct
/// computation, row for row, with the footer metadata.
#[test]
fn parquet_matrix_is_the_feature_stage_output() {
    let dir = tempfile::tempdir().unwrap();
    let tape = support::synth_tape(dir.path(), "t.tape", 7, 9);
    let tape_path = dir.path().join("t.tape");
    let out = dir.path().join("m.parquet");
    let run = kestrel(&["features", "--tape", s(&tape_path), "--out", s(&out)]);
    run.code(0);

    let want = direct(&tape, &default_config());
    assert_eq!(want.len(), tape.len(), "one row per tape record");
    assert!(want.len() > ROW_GROUP_ROWS, "the tape must span two row groups ({} rows)", want.len());
    let file = read_parquet(&out);
    assert_same(&file.matrix, &want, "parquet");
    assert_monotone(&file.matrix);
    assert_eq!(file.matrix.seq, (0..tape.len() as u64).collect::<Vec<_>>());
    // Some features start undefined and become defined: NaN is kept, and not everywhere.
    let mid: Vec<f64> = file.matrix.values.iter().map(|v| v[idx::MID]).collect();
    assert!(mid.first().unwrap().is_nan() && mid.last().unwrap().is_finite());

    assert!(
        file.row_groups.len() >= 2 && file.row_groups.iter().all(|&n| n <= ROW_GROUP_ROWS),
        "{:?}",
        file.row_groups
    );
    assert_eq!(file.row_groups.iter().sum::<usize>(), tape.len());

    let md = &file.metadata;
    let hash = format!("{:016x}", schema_hash());
    assert_eq!(md["kestrel.schema_version"], SCHEMA_VERSION.to_string());
    assert_eq!(md["kestrel.schema_hash"], hash);
    let units: serde_json::Map<String, Value> = serde_json::from_str(&md["kestrel.feature_units"]).unwrap();
    let unit_list: Vec<(String, String)> =
        FEATURES.iter().map(|f| (f.name.to_owned(), units[f.name].as_str().unwrap().to_owned())).collect();
    assert_eq!(unit_list, FEATURES.iter().map(|f| (f.name.to_owned(), f.unit.to_owned())).collect::<Vec<_>>());
    assert_eq!(units.len(), FEATURES.len());
    assert_eq!(Path::new(&md["kestrel.tape"]), tape_path.canonicalize().unwrap());
    assert_eq!(md["kestrel.tape_data_crc32"], tape_data_crc(&tape_path));
    assert_eq!(md["kestrel.every_ns"], "0");
    assert_eq!(md["kestrel.config"], "bundled defaults");
    let features_config: Value = serde_json::from_str(&md["kestrel.features_config"]).unwrap();
    assert_eq!(features_config["bar_seconds"], 60);

    // The summary line: rows, columns, format, path, schema hash.
    let rows = tape.len().to_string();
    let rows_with_commas = rows
        .chars()
        .rev()
        .collect::<Vec<_>>()
        .chunks(3)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(",")
        .chars()
        .rev()
        .collect::<String>();
    let line = run.stdout.trim();
    assert_eq!(run.stdout.lines().count(), 1, "one summary line: {}", run.stdout);
    let needles = [
        format!("wrote {rows_with_commas} rows"),
        format!("× {} columns", 4 + FEATURES.len()),
        "parquet".to_owned(),
        s(&out).to_owned(),
        hash.clone(),
    ];
    for needle in needles {
        assert!(line.contains(&needle), "summary lacks {needle:?}: {line}");
    }
    assert_eq!(
        files_in(dir.path()),
        BTreeSet::from(["m.parquet".to_owned(), "t.tape".to_owned()]),
        "no temporary file left"
    );
    // The output has an ordinary file's permissions, not a private temporary file's.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&out), mode(&plain));
    }
}

/// CSV: the same matrix; NaN as empty cells; floats parse back to the same bits.
#[test]
fn csv_matrix_is_the_feature_stage_output() {
    let dir = tempfile::tempdir().unwrap();
    let tape = support::synth_tape(dir.path(), "t.tape", 11, 3);
    let out = dir.path().join("m.csv");
    kestrel(&["features", "--tape", s(&dir.path().join("t.tape")), "--out", s(&out)]).code(0);
    let want = direct(&tape, &default_config());
    let got = read_csv(&out);
    assert_same(&got, &want, "csv");
    assert_monotone(&got);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.lines().nth(1).unwrap().contains(",,"), "NaN cells are empty");
    assert!(!text.contains("NaN") && !text.contains("nan"));

    // --format beats the extension.
    let forced = dir.path().join("m.parquet.txt");
    kestrel(&["features", "--tape", s(&dir.path().join("t.tape")), "--out", s(&forced), "--format", "csv"]).code(0);
    assert_eq!(std::fs::read(&forced).unwrap(), text.as_bytes());
}

/// `--every 1s`: one row per instrument per non-empty 1 s interval, the interval's last row.
#[test]
fn every_keeps_the_last_row_of_each_interval() {
    let dir = tempfile::tempdir().unwrap();
    let tape = support::synth_tape(dir.path(), "t.tape", 3, 2);
    let tape_path = dir.path().join("t.tape");
    let full = direct(&tape, &default_config());
    for (every, every_ns, name) in [("1s", 1_000_000_000, "s.parquet"), ("250ms", 250_000_000, "s.csv")] {
        let out = dir.path().join(name);
        let run = kestrel(&["features", "--tape", s(&tape_path), "--out", s(&out), "--every", every]);
        run.code(0);
        let (want, buckets) = sampled(&full, every_ns);
        let got = if name.ends_with(".csv") {
            read_csv(&out)
        } else {
            let file = read_parquet(&out);
            assert_eq!(file.metadata["kestrel.every_ns"], every_ns.to_string());
            file.matrix
        };
        assert_eq!(got.len(), buckets, "--every {every}: rows = non-empty intervals");
        assert!(got.len() < full.len() && got.len() > 10);
        assert_same(&got, &want, &format!("--every {every}"));
        assert_monotone(&got);
        assert!(run.stdout.contains("sampled from"), "{}", run.stdout);
    }
}

/// Interval edges and several instruments, on a hand-made tape: an event exactly at a multiple of
/// `--every` closes its interval, and each instrument keeps its own last row.
#[test]
fn every_interval_ends_at_its_multiple_per_instrument() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("two.csv");
    std::fs::write(
        &csv,
        "ts_local,symbol,kind,side,price,qty,bid_px,bid_qty,ask_px,ask_qty\n\
         1700000000200000000,AAA,quote,,,,10.00,1.0,10.02,2.0\n\
         1700000000500000000,BBB,quote,,,,20.00,1.0,20.10,1.0\n\
         1700000001000000000,AAA,quote,,,,10.01,1.0,10.02,2.0\n\
         1700000001000000001,BBB,trade,buy,20.10,0.5,,,,\n\
         1700000001300000000,AAA,trade,sell,10.01,0.5,,,,\n\
         1700000003100000000,AAA,quote,,,,10.00,1.0,10.01,3.0\n\
         1700000003900000000,AAA,quote,,,,10.00,2.0,10.01,3.0\n\
         1700000005000000000,BBB,quote,,,,20.00,1.0,20.05,1.0\n",
    )
    .unwrap();
    let tape_path = dir.path().join("two.tape");
    kestrel(&["tape", "import", "--format", "csv", "--out", s(&tape_path), s(&csv)]).code(0);
    let tape = Arc::new(Tape::open(&tape_path).unwrap());
    let full = direct(&tape, &default_config());
    let all = dir.path().join("all.parquet");
    kestrel(&["features", "--tape", s(&tape_path), "--out", s(&all)]).code(0);
    let got = read_parquet(&all).matrix;
    assert_same(&got, &full, "two instruments");
    assert_eq!(got.symbol, ["AAA", "BBB", "AAA", "BBB", "AAA", "AAA", "AAA", "BBB"]);

    // Intervals (k−1 s, k s]: seq 2 at exactly 1700000001 s closes the first interval for AAA (not
    // seq 0); seq 3, 1 ns later, opens the next one; the interval from 2 s to 3 s holds no event.
    for name in ["s.parquet", "s.csv"] {
        let out = dir.path().join(name);
        kestrel(&["features", "--tape", s(&tape_path), "--out", s(&out), "--every", "1s"]).code(0);
        let got = if name.ends_with(".csv") { read_csv(&out) } else { read_parquet(&out).matrix };
        assert_eq!(got.seq, [1, 2, 3, 4, 6, 7], "{name}");
        assert_eq!(got.symbol, ["BBB", "AAA", "BBB", "AAA", "AAA", "BBB"], "{name}");
        assert_same(&got, &sampled(&full, 1_000_000_000).0, name);
    }
}

/// `--config`: the `[features]` section changes the values, and the file follows it.
#[test]
fn config_features_section_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let tape = support::synth_tape(dir.path(), "t.tape", 5, 4);
    let cfg_path = dir.path().join("c.toml");
    // Three-minute sessions: the volume profile and CVD reset every 3 minutes. (bar_seconds would need
    // a regime model fitted on those bars; the config refuses the bundled one with other bars.)
    let text = "[features]\nsession_hours = 0.05\n";
    std::fs::write(&cfg_path, text).unwrap();
    let out = dir.path().join("m.parquet");
    kestrel(&["features", "--tape", s(&dir.path().join("t.tape")), "--out", s(&out), "--config", s(&cfg_path)]).code(0);
    let raw = config::parse(text, &cfg_path).unwrap();
    let want = direct(&tape, &raw);
    let file = read_parquet(&out);
    assert_same(&file.matrix, &want, "with session_hours = 0.05");
    let default = direct(&tape, &default_config());
    let cvd = |m: &Matrix| m.values.iter().map(|v| v[idx::CVD].to_bits()).collect::<Vec<_>>();
    assert_ne!(cvd(&want), cvd(&default), "3-minute sessions reset CVD; a day-long session does not");
    assert_eq!(file.metadata["kestrel.config"], cfg_path.display().to_string());
    let section: Value = serde_json::from_str(&file.metadata["kestrel.features_config"]).unwrap();
    assert_eq!(section["session_hours"], 0.05);
}

/// No `--tape`: a bundled synthetic tape, the same as `kestrel tape synth` makes with the defaults.
#[test]
fn bundled_synthetic_tape_without_tape() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.parquet");
    kestrel(&["features", "--synth-duration", "1m", "--out", s(&out)]).code(0);
    let file = read_parquet(&out);
    assert!(
        file.metadata["kestrel.tape"].starts_with("bundled synthetic (1m of "),
        "{:?}",
        file.metadata["kestrel.tape"]
    );
    let tape = support::synth_tape(dir.path(), "same.tape", kestrel_tools::synth::SynthConfig::default().seed, 1);
    assert_same(&file.matrix, &direct(&tape, &default_config()), "bundled synthetic");
    assert_eq!(file.metadata["kestrel.tape_data_crc32"], format!("{:08x}", tape.header().data_crc32));
}

/// Exit codes and messages; a refused or failed run writes nothing under the output name and
/// leaves no temporary file.
#[test]
fn errors_have_exit_codes_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    support::synth_tape(dir.path(), "t.tape", 1, 1);
    let tape = dir.path().join("t.tape");
    let outs = dir.path().join("out");
    std::fs::create_dir(&outs).unwrap();
    let out = outs.join("m.parquet");

    // 4: missing tape; missing config file.
    kestrel(&["features", "--tape", s(&dir.path().join("nope.tape")), "--out", s(&out)]).code(4).err_has("nope.tape");
    kestrel(&["features", "--tape", s(&tape), "--out", s(&out), "--config", s(&dir.path().join("nope.toml"))])
        .code(4)
        .err_has("nope.toml");
    // 2: a config with an unknown key, or a bad value; --every 0; an unknown format; no --out.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[features]\nbar_secs = 5\n").unwrap();
    kestrel(&["features", "--tape", s(&tape), "--out", s(&out), "--config", s(&bad)]).code(2).err_has("bar_secs");
    std::fs::write(&bad, "[engine]\ntopology = \"sideways\"\n").unwrap();
    kestrel(&["features", "--tape", s(&tape), "--out", s(&out), "--config", s(&bad)])
        .code(2)
        .err_has("engine.topology");
    kestrel(&["features", "--tape", s(&tape), "--out", s(&out), "--every", "0s"]).code(2).err_has("--every");
    kestrel(&["features", "--tape", s(&tape), "--out", s(&out), "--every", "soon"]).code(2);
    kestrel(&["features", "--tape", s(&tape), "--out", s(&out), "--format", "xlsx"]).code(2);
    kestrel(&["features", "--tape", s(&tape)]).code(2).err_has("--out");
    // 5: a corrupt tape (one flipped byte in the records).
    let corrupt = dir.path().join("corrupt.tape");
    let mut bytes = std::fs::read(&tape).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x55;
    std::fs::write(&corrupt, bytes).unwrap();
    kestrel(&["features", "--tape", s(&corrupt), "--out", s(&out)]).code(5).err_has("corrupt.tape");
    assert!(files_in(&outs).is_empty(), "failed runs wrote {:?}", files_in(&outs));

    // 2: an existing output is refused and left alone; --force replaces it.
    std::fs::write(&out, b"precious").unwrap();
    kestrel(&["features", "--tape", s(&tape), "--out", s(&out)]).code(2).err_has("already exists").err_has("--force");
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    kestrel(&["features", "--tape", s(&tape), "--out", s(&out), "--force"]).code(0);
    assert_eq!(read_parquet(&out).matrix.len(), Tape::open(&tape).unwrap().len());
    assert_eq!(files_in(&outs), BTreeSet::from(["m.parquet".to_owned()]));

    // A missing output directory is created.
    let deep = dir.path().join("a/b/m.csv");
    kestrel(&["features", "--tape", s(&tape), "--out", s(&deep)]).code(0);
    assert!(deep.is_file());
}

/// Ctrl-C during the export: exit 130, and neither the output nor the temporary file is left.
#[cfg(unix)]
#[test]
fn ctrl_c_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    support::synth_tape(dir.path(), "t.tape", 2, 15);
    let outs = dir.path().join("out");
    std::fs::create_dir(&outs).unwrap();
    let out = outs.join("m.parquet");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["features", "--tape", s(&dir.path().join("t.tape")), "--out", s(&out)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The export has started (and the Ctrl-C handler is in place) once its temporary file exists.
    let started = loop {
        if files_in(&outs).iter().any(|f| f.starts_with(".m.parquet.partial")) {
            break true;
        }
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    if started {
        Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill -INT");
    }
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    if !started || done.status.code() == Some(0) {
        eprintln!("SKIPPED: the export finished before it could be interrupted");
        return;
    }
    assert_eq!(done.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted") && stderr.contains("nothing was written"), "{stderr}");
    assert!(files_in(&outs).is_empty(), "left behind: {:?}", files_in(&outs));
}

/// `--help` documents the columns, NaN, sampling, metadata; `--list-columns` names every column.
#[test]
fn help_and_column_list() {
    let help = kestrel(&["features", "--help"]);
    help.code(0);
    for needle in [
        "--tape",
        "--out",
        "--format",
        "--config",
        "--every",
        "--force",
        "--synth-duration",
        "NaN",
        "empty cell",
        "ts_ns",
        "UTC",
        "uint64",
        "kestrel.schema_hash",
        "kestrel.feature_units",
        "((k-1)·D, k·D]",
        "temporary name",
        "Exit codes",
    ] {
        assert!(help.stdout.contains(needle), "--help lacks {needle:?}\n{}", help.stdout);
    }
    let list = kestrel(&["features", "--list-columns"]);
    list.code(0);
    assert!(list.stdout.contains(&format!("{:016x}", schema_hash())));
    let names: Vec<&str> = list.stdout.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(names, expected_columns());
}

// ---------------------------------------------------------------------------------------------
// A real capture, read back by polars

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KESTREL_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let capture = dir.join("binance/usdm/btcusdt_20240808.gz");
    if capture.is_file() {
        Some(capture)
    } else {
        eprintln!(
            "SKIPPED: real capture not found at {} (set KESTREL_DATA_DIR to the folder holding binance/)",
            capture.display()
        );
        None
    }
}

/// Python 3 with polars, or a failure that says how to get it (CI installs it: .ci/run).
fn require_polars() {
    let hint = "install it with `python3 -m pip install polars` (.ci/run does)";
    match Command::new("python3").args(["-c", "import polars"]).output() {
        Err(e) => panic!("python3 could not be run ({e}): this test needs Python 3 with polars; {hint}"),
        Ok(o) if !o.status.success() => {
            let why = String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or_default().to_owned();
            panic!("python3 has no polars ({why}): {hint}")
        }
        Ok(_) => {}
    }
}

/// `kestrel features` on the real BTCUSDT futures capture opens in polars with the right shape,
/// types, metadata and values (compared bit for bit with what Rust reads from the same file, which
/// is itself the direct FeatureStage computation).
#[test]
fn real_capture_matrix_opens_in_polars() {
    let Some(capture) = data_dir() else { return };
    require_polars();
    let dir = tempfile::tempdir().unwrap();
    let tape_path = dir.path().join("btc.tape");
    kestrel(&["tape", "import", "--format", "binance", "--out", s(&tape_path), s(&capture)]).code(0);
    let out = dir.path().join("btc.parquet");
    kestrel(&["features", "--tape", s(&tape_path), "--out", s(&out)]).code(0);

    let tape = Arc::new(Tape::open(&tape_path).unwrap());
    let file = read_parquet(&out);
    let m = &file.matrix;
    assert_eq!(m.len(), tape.len(), "one row per record");
    assert_same(m, &direct(&tape, &default_config()), "real capture");
    assert_monotone(m);
    assert!(m.symbol.iter().all(|s| s == "BTCUSDT"));

    // What polars must see: the shape, the NaN counts, a few rows bit for bit, the metadata.
    let n = m.len();
    let mut picks = vec![0, 1, n / 7, n / 3, n / 2, 2 * n / 3, n - 1];
    if let Some(first_nan_free) = m.values.iter().position(|v| v.iter().all(|x| !x.is_nan())) {
        picks.push(first_nan_free);
    }
    let rows_checked: Vec<Value> = picks
        .iter()
        .map(|&r| {
            let bits: serde_json::Map<String, Value> = FEATURES
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let v = m.values[r][i];
                    (f.name.to_owned(), if v.is_nan() { Value::Null } else { Value::from(v.to_bits().to_string()) })
                })
                .collect();
            json!({"row": r, "ts_ns": m.ts_ns[r], "seq": m.seq[r], "symbol": m.symbol[r], "bits": bits})
        })
        .collect();
    let nan_counts: serde_json::Map<String, Value> = FEATURES
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.to_owned(), Value::from(m.values.iter().filter(|v| v[i].is_nan()).count())))
        .collect();
    let metadata: serde_json::Map<String, Value> =
        ["kestrel.schema_version", "kestrel.schema_hash", "kestrel.tape_data_crc32"]
            .iter()
            .map(|k| (k.to_string(), Value::from(file.metadata[*k].clone())))
            .collect();
    assert_eq!(file.metadata["kestrel.tape_data_crc32"], tape_data_crc(&tape_path));
    let expected = json!({
        "rows": n,
        "columns": expected_columns(),
        "features": FEATURES.iter().map(|f| f.name).collect::<Vec<_>>(),
        "nan_counts": nan_counts,
        "rows_checked": rows_checked,
        "metadata": metadata,
    });
    let expected_path = dir.path().join("expected.json");
    std::fs::write(&expected_path, serde_json::to_vec(&expected).unwrap()).unwrap();

    let script = include_str!("features_polars_check.py");
    let py = Command::new("python3").args(["-c", script, s(&out), s(&expected_path)]).output().expect("run python3");
    let (stdout, stderr) = (String::from_utf8_lossy(&py.stdout), String::from_utf8_lossy(&py.stderr));
    assert!(py.status.success(), "polars check failed ({}):\n{stdout}\n{stderr}", py.status);
    assert!(stdout.starts_with("ok"), "{stdout}");
    eprintln!("{}", stdout.trim());
}
