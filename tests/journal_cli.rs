//! End to end: `kestrel journal export` on journals written with the engine API, run as the real
//! binary. Checks what a script relies on: the CSV, the one-line summary, never touching the
//! journal, and the exit codes (2 an output that exists, 4 nothing to read, 5 a corrupt journal).

use kestrel_engine::journal::{EntryKind, FILE_NAME, JournalMeta, JournalRecord, JournalWriter, Side, header};
use kestrel_engine::orders::{Liquidity, OrderKind, Purpose, TimeInForce};
use kestrel_engine::types::{InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use std::path::{Path, PathBuf};
use std::process::Command;

const CSV_HEADER: &str = "record,event_seq,ts_ns,kind,symbol,side,reason,order_id,px,qty,purpose,order_type,tif,liquidity,signal,fee,realized_pnl,position";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `kestrel ARGS`; whatever the input, it must not panic or die of a signal.
#[track_caller]
fn kestrel(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel")).args(args).output().unwrap();
    let run = Run {
        code: out.status.code().expect("killed by a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "`kestrel {}` panicked:\n{}", args.join(" "), run.stderr);
    run
}

fn eth() -> InstrumentSpec {
    InstrumentSpec {
        symbol: "ETHUSDT".into(),
        venue: "BINANCE".into(),
        price_scale: 2,
        qty_scale: 3,
        tick: Price(1),
        lot: Qty(1),
    }
}

/// A decision, its order, its fill, and a maker fill that closes part of the position.
fn records() -> [JournalRecord; 4] {
    let base = JournalRecord {
        side: Side::Buy as u8,
        event_seq: 4,
        ts: UnixNanos(1_723_161_254_300_000_000),
        px: Price(268_390),
        qty: Qty(500),
        instrument: InstrumentId(0),
        ..JournalRecord::default()
    };
    let entry = Purpose::Entry.as_u8();
    [
        JournalRecord { kind: EntryKind::Decision as u8, value: 734_000, aux: entry, ..base },
        JournalRecord {
            kind: EntryKind::Order as u8,
            order_id: 1,
            px: Price(0),
            aux: entry,
            order_type: OrderKind::Market.as_u8(),
            tif: TimeInForce::Ioc.as_u8(),
            ..base
        },
        JournalRecord {
            kind: EntryKind::Fill as u8,
            order_id: 1,
            value: 67_098,
            aux: Liquidity::Taker.as_u8(),
            ..base
        },
        JournalRecord {
            kind: EntryKind::Fill as u8,
            side: Side::Sell as u8,
            order_id: 2,
            px: Price(268_400),
            qty: Qty(200),
            value: -100,
            aux: Liquidity::Maker.as_u8(),
            ..base
        },
    ]
}

/// A run directory holding a journal of [`records`]; `finish` or leave it as a crashed run would.
fn run_dir(finish: bool) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let mut w = JournalWriter::create(&path, &[eth()], JournalMeta::default(), 64).unwrap();
    for r in records() {
        w.append(r).unwrap();
    }
    if finish {
        w.finish().unwrap();
    }
    (dir, path)
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Fees and realized PnL in quote units at price + quantity decimals (5): the sell of 0.200 at
/// 2684.00 against an entry at 2683.90 locks in 0.02000; the rebate is negative.
const EXPECTED: [&str; 5] = [
    CSV_HEADER,
    "0,4,1723161254300000000,decision,ETHUSDT,buy,,0,2683.90,0.500,entry,,,,0.734000,,,",
    "1,4,1723161254300000000,order,ETHUSDT,buy,,1,0.00,0.500,entry,market,ioc,,,,,",
    "2,4,1723161254300000000,fill,ETHUSDT,buy,,1,2683.90,0.500,,,,taker,,0.67098,0.00000,0.500",
    "3,4,1723161254300000000,fill,ETHUSDT,sell,,2,2684.00,0.200,,,,maker,,-0.00100,0.02000,0.300",
];

#[test]
fn exports_a_run_directory_to_journal_csv() {
    let (dir, journal) = run_dir(true);
    let before = std::fs::read(&journal).unwrap();
    let r = kestrel(&["journal", "export", arg(dir.path()), "--format", "csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = dir.path().join("journal.csv");
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv.lines().collect::<Vec<_>>(), EXPECTED);
    assert!(r.stderr.contains("wrote 4 records to") && r.stderr.contains("journal.csv"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(std::fs::read(&journal).unwrap(), before);
    // No temporary file left beside the output.
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // An existing output is refused (2) and left as it was, unless --force.
    std::fs::write(&out, "keep me").unwrap();
    let r = kestrel(&["journal", "export", arg(dir.path()), "--format", "csv"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("already exists") && r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    let r = kestrel(&["journal", "export", arg(dir.path()), "--format", "csv", "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), csv);
}

#[test]
fn exports_a_journal_file_to_stdout_or_a_chosen_file() {
    let (dir, journal) = run_dir(true);
    let r = kestrel(&["journal", "export", arg(&journal), "--out", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), EXPECTED);

    let out = dir.path().join("elsewhere.csv");
    let r = kestrel(&["journal", "export", arg(&journal), "--format", "csv", "--out", arg(&out)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().collect::<Vec<_>>(), EXPECTED);

    // --force never replaces the journal with its own export.
    let before = std::fs::read(&journal).unwrap();
    let r = kestrel(&["journal", "export", arg(&journal), "--out", arg(&journal), "--force"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("the journal itself"), "{}", r.stderr);
    assert_eq!(std::fs::read(&journal).unwrap(), before);
}

#[test]
fn a_crashed_runs_journal_exports_its_records_with_a_warning_and_is_not_modified() {
    let (dir, journal) = run_dir(false);
    let before = std::fs::read(&journal).unwrap();
    let r = kestrel(&["journal", "export", arg(dir.path()), "--format", "csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("warning:") && r.stderr.contains("4 valid records"), "{}", r.stderr);
    let csv = std::fs::read_to_string(dir.path().join("journal.csv")).unwrap();
    assert_eq!(csv.lines().collect::<Vec<_>>(), EXPECTED);
    assert_eq!(std::fs::read(&journal).unwrap(), before, "export modified the journal");
}

#[test]
fn a_missing_run_directory_or_journal_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-run");
    let r = kestrel(&["journal", "export", arg(&missing), "--format", "csv"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("no-such-run") && r.stderr.contains("no such run directory"), "{}", r.stderr);

    // A directory without a journal.
    let r = kestrel(&["journal", "export", arg(dir.path()), "--format", "csv"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("no journal.kj"), "{}", r.stderr);
}

#[test]
fn a_corrupt_journal_exits_5_naming_the_record() {
    let (dir, journal) = run_dir(true);
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes[header::data_offset_for(1) as usize + 10] ^= 0x55; // record 0, followed by whole records
    std::fs::write(&journal, &bytes).unwrap();
    let r = kestrel(&["journal", "export", arg(dir.path()), "--format", "csv"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("journal.kj") && r.stderr.contains("record 0"), "{}", r.stderr);
    assert!(!dir.path().join("journal.csv").exists());
    assert_eq!(std::fs::read(&journal).unwrap(), bytes);

    // Not a journal at all.
    std::fs::write(&journal, b"hello, world").unwrap();
    let r = kestrel(&["journal", "export", arg(dir.path())]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("not a Kestrel journal"), "{}", r.stderr);
}

/// A model run's journal: the models named at event 0, a judged candidate (blocked below min_pwin)
/// with its Features records, and a swap.
fn model_run_dir() -> (tempfile::TempDir, PathBuf) {
    use kestrel_engine::features::idx;
    use kestrel_engine::journal::{BlockReason, FEATURES_PER_RECORD, FeaturesRecord, features_chunks};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let mut w = JournalWriter::create(&path, &[eth()], JournalMeta::default(), 64).unwrap();
    let swap = |seq, role, new, old: u64| JournalRecord {
        kind: EntryKind::ModelSwap as u8,
        event_seq: seq,
        aux: role,
        order_id: new,
        value: old as i64,
        ..JournalRecord::default()
    };
    w.append(swap(0, 0, 0x51, 0)).unwrap();
    let [decision, ..] = records();
    let blocked = JournalRecord { kind: EntryKind::Blocked as u8, reason: BlockReason::BelowPWin as u8, ..decision };
    w.append(blocked).unwrap();
    // p(win) 0.25, no slippage model, then feature i = i / 2, feature 3 undefined.
    let mut values = vec![0.25, f32::NAN];
    values.extend((0..idx::COUNT).map(|i| if i == 3 { f32::NAN } else { i as f32 / 2.0 }));
    values.resize(features_chunks(idx::COUNT) * FEATURES_PER_RECORD, 0.0);
    for (k, part) in values.chunks(FEATURES_PER_RECORD).enumerate() {
        let mut f = FeaturesRecord {
            kind: EntryKind::Features as u8,
            chunk: k as u8,
            chunks: features_chunks(idx::COUNT) as u8,
            event_seq: decision.event_seq,
            ..FeaturesRecord::default()
        };
        f.values.copy_from_slice(part);
        w.append(f.to_record()).unwrap();
    }
    w.append(swap(9, 0, 0x52, 0x51)).unwrap();
    w.finish().unwrap();
    (dir, path)
}

#[test]
fn exports_the_judged_candidates_with_their_features_and_the_swaps() {
    use kestrel_engine::features::{FEATURES, idx};
    let (dir, _) = model_run_dir();
    let out = dir.path().join("features.csv");
    let r = kestrel(&["journal", "export", arg(dir.path()), "--features", arg(&out)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("wrote 1 candidates to"), "{}", r.stderr);
    let csv = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let names: Vec<&str> = FEATURES.iter().map(|f| f.name).collect();
    assert_eq!(
        header[..11],
        ["record", "event_seq", "ts_ns", "symbol", "side", "verdict", "reason", "px", "qty", "p_win", "slippage_bps"]
    );
    assert_eq!(header[11..], names[..]);
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        row[..11],
        ["1", "4", "1723161254300000000", "ETHUSDT", "buy", "blocked", "below_pwin", "2683.90", "0.500", "0.25", ""]
    );
    assert_eq!(row.len(), 11 + idx::COUNT);
    assert_eq!((row[11], row[12], row[14], row[15]), ("0", "0.5", "", "2"), "NaN is an empty cell");

    // The journal CSV: the swaps are rows, the features records are not.
    let r = kestrel(&["journal", "export", arg(dir.path()), "--out", "-"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert_eq!(lines[1], "0,0,0,model_swap,,,pwin,81,,,,,,,,,,");
    assert!(lines[2].starts_with("1,4,1723161254300000000,blocked,ETHUSDT,buy,below_pwin,0,"), "{}", lines[2]);
    assert_eq!(lines[3], format!("{},9,0,model_swap,,,pwin,82,,,,,,,,,,", 2 + features_chunks()));

    // --features and --out are one or the other.
    let r = kestrel(&["journal", "export", arg(dir.path()), "--features", "-", "--out", "x.csv"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

fn features_chunks() -> usize {
    kestrel_engine::journal::features_chunks(kestrel_engine::features::idx::COUNT)
}
