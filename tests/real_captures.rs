//! Importing the real Binance captures in ../shared/data reproduces the independently computed
//! figures in ../shared/data/binance/expected_stats.json, read from that file (never copied here).
//!
//! The captures are not part of the repository. When they are absent these tests say so on stderr
//! and pass without checking; point KESTREL_DATA_DIR at the folder holding `binance/` to run them.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KESTREL_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.join("binance/expected_stats.json").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: real captures not found at {} (set KESTREL_DATA_DIR to the folder holding binance/)",
            dir.display()
        );
        None
    }
}

fn kestrel(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel")).args(args).output().expect("run kestrel");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "kestrel panicked: {stderr}");
    out
}

/// Imports the files of one expected_stats entry through the CLI and returns `tape info --json`.
fn import_and_info(data: &Path, files: &[String], out: &Path) -> Value {
    let mut args = vec!["tape", "import", "--format", "binance", "--out", out.to_str().unwrap()];
    let inputs: Vec<String> = files.iter().map(|f| data.join("binance").join(f).display().to_string()).collect();
    args.extend(inputs.iter().map(String::as_str));
    let imported = kestrel(&args);
    assert!(imported.status.success(), "import failed: {}", String::from_utf8_lossy(&imported.stderr));
    let info = kestrel(&["tape", "info", "--json", out.to_str().unwrap()]);
    assert!(info.status.success(), "info failed: {}", String::from_utf8_lossy(&info.stderr));
    serde_json::from_slice(&info.stdout).expect("info --json is JSON")
}

#[test]
fn imports_reproduce_expected_stats() {
    let Some(data) = data_dir() else { return };
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("binance/expected_stats.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (n, want) in expected.as_array().expect("a list of captures").iter().enumerate() {
        let files: Vec<String> =
            want["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
        let got = import_and_info(&data, &files, &dir.path().join(format!("{n}.tape")));
        let ctx = format!("capture {files:?}");
        let (t, wt) = (&got["trades"], &want["trades"]);
        assert_eq!(t["count"], wt["count"], "{ctx}: trade count");
        assert_eq!(t["buy_aggressor"], wt["buy_aggressor"], "{ctx}");
        assert_eq!(t["sell_aggressor"], wt["sell_aggressor"], "{ctx}");
        assert_eq!(t["total_qty"], wt["total_qty"], "{ctx}");
        assert_eq!(t["vwap"], wt["vwap"], "{ctx}");
        assert_eq!(t["first_id"], wt["first_trade_id"], "{ctx}");
        assert_eq!(t["last_id"], wt["last_trade_id"], "{ctx}");
        assert_eq!(got["counts"]["trades"], wt["count"], "{ctx}");
        assert_eq!(got["counts"]["quotes"], want["events"]["bookTicker"], "{ctx}: one quote per bookTicker");
        assert_eq!(got["counts"]["snapshots"], want["events"]["snapshot"], "{ctx}");
        let (b, wb) = (&got["book"], &want["final_book"]);
        assert_eq!(b["gaps"], want["depth_seq_gaps"], "{ctx}");
        assert_eq!(b["crossed"], want["crossed_book_after_diff"], "{ctx}");
        assert_eq!(b["source"], "l2", "{ctx}: the final book comes from the rebuilt L2 book");
        assert_eq!(b["final_bid_px"], wb["best_bid"], "{ctx}");
        assert_eq!(b["final_bid_qty"], wb["best_bid_qty"], "{ctx}");
        assert_eq!(b["final_ask_px"], wb["best_ask"], "{ctx}");
        assert_eq!(b["final_ask_qty"], wb["best_ask_qty"], "{ctx}");
        assert_eq!(b["levels_bid"], wb["levels_bid"], "{ctx}");
        assert_eq!(b["levels_ask"], wb["levels_ask"], "{ctx}");
        // The last quote on the tape is the last bookTicker.
        let (q, wq) = (&got["instruments"][0]["last_quote"], &want["final_bookTicker"]);
        assert_eq!((&q["bid_px"], &q["bid_qty"]), (&wq["b"], &wq["B"]), "{ctx}");
        assert_eq!((&q["ask_px"], &q["ask_qty"]), (&wq["a"], &wq["A"]), "{ctx}");
        // Span fields exist and are ordered.
        assert!(got["span"]["first_ts_ns"].as_u64().unwrap() < got["span"]["last_ts_ns"].as_u64().unwrap());
    }
}

/// The spot capture split at midnight is one continuous book: importing the second day alone has
/// no snapshot to start from, while both files together give zero gaps (checked above).
#[test]
fn split_capture_needs_its_first_half() {
    let Some(data) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("day2.tape");
    let second = data.join("binance/spot/ethusdt_20240809.gz");
    let r =
        kestrel(&["tape", "import", "--format", "binance", "--out", out.to_str().unwrap(), second.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(3), "strict import of the second half alone must fail");
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(stderr.contains("no book snapshot") && stderr.contains("ethusdt_20240809.gz:1"), "{stderr}");
    assert!(!out.exists());

    // Given in the wrong order, the files go back in time at the join.
    let first = data.join("binance/spot/ethusdt_20240808.gz");
    let r = kestrel(&[
        "tape",
        "import",
        "--format",
        "binance",
        "--out",
        out.to_str().unwrap(),
        second.to_str().unwrap(),
        first.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&r.stderr).contains("earlier than the previous line"));
}

/// Round trip through the generic CSV: `tape cat` of a real tape, imported back, prints the same rows.
#[test]
fn real_tape_survives_csv_round_trip() {
    let Some(data) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tape = dir.path().join("eth.tape");
    let files = ["spot/ethusdt_20240808.gz".to_string()];
    import_and_info(&data, &files, &tape);
    let cat = kestrel(&["tape", "cat", tape.to_str().unwrap()]);
    assert!(cat.status.success());
    let csv = dir.path().join("eth.csv");
    std::fs::write(&csv, &cat.stdout).unwrap();
    let back = dir.path().join("back.tape");
    let r = kestrel(&["tape", "import", "--format", "csv", "--out", back.to_str().unwrap(), csv.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let cat2 = kestrel(&["tape", "cat", back.to_str().unwrap()]);
    assert!(cat.stdout == cat2.stdout, "tape → csv → tape → csv changed the rows");
}
