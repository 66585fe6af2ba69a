//! End to end, bad input: `kestrel tape import` on damaged or inconsistent captures, and `kestrel
//! tape info` / `kestrel tape cat` on damaged tapes, run as the real binary.
//!
//! Every case checks what a person or a script relies on: the exit code (2 usage, 3 bad data, 4
//! missing or unreadable input, 5 corrupt tape), a message naming the file and line (or record) and
//! saying what to do, nothing left under `--out` (not even a `.partial` file) when an import fails,
//! and, where `--lenient` applies, that it imports and reports the skipped category with its count.
//! No input may make the binary panic.
//!
//! Several tests pin faults this suite found and that are now fixed (a garbage line filed under the
//! wrong category, the CSV round trip losing decimals, an empty import, a directory given as a tape).

use proptest::prelude::*;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

// ---------------------------------------------------------------------------------------------
// Inputs

/// A small valid spot capture, in arrival order: a depth diff that arrives before its REST
/// snapshot (line 1), the snapshot (2), two more diffs chained `U = previous u + 1` (3, 6), two
/// bookTicker quotes (4, 8) and two trades (5, 7). Imported it gives 14 records: the snapshot's
/// book clear, 9 level updates in 4 batches (the snapshot and the three diffs), 2 quotes, 2 trades.
const CAPTURE: [&str; 8] = [
    r#"1723161254000000000 {"stream":"ethusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"ETHUSDT","U":100,"u":105,"b":[["2683.80","1.0"]],"a":[["2683.90","2.0"]]}}"#,
    r#"1723161254100000000 {"lastUpdateId":104,"bids":[["2683.80","3.0"],["2683.70","1.0"]],"asks":[["2683.90","1.0"]]}"#,
    r#"1723161254200000000 {"stream":"ethusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255408,"s":"ETHUSDT","U":106,"u":108,"b":[["2683.70","2.0"]],"a":[["2684.00","1.5"]]}}"#,
    r#"1723161254300000000 {"stream":"ethusdt@bookTicker","data":{"u":109,"s":"ETHUSDT","b":"2683.80","B":"1.0","a":"2683.90","A":"2.0"}}"#,
    r#"1723161254400000000 {"stream":"ethusdt@trade","data":{"e":"trade","E":1723161255500,"s":"ETHUSDT","t":1,"p":"2683.90","q":"0.5","T":1723161255500,"m":false,"M":true}}"#,
    r#"1723161254500000000 {"stream":"ethusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255608,"s":"ETHUSDT","U":109,"u":111,"b":[["2683.60","1.0"]],"a":[["2683.90","1.5"]]}}"#,
    r#"1723161254600000000 {"stream":"ethusdt@trade","data":{"e":"trade","E":1723161255700,"s":"ETHUSDT","t":2,"p":"2683.80","q":"0.2","T":1723161255700,"m":true,"M":true}}"#,
    r#"1723161254700000000 {"stream":"ethusdt@bookTicker","data":{"u":112,"s":"ETHUSDT","b":"2683.80","B":"0.8","a":"2683.90","A":"1.5"}}"#,
];

/// Local time of the first record of the tape made from [`CAPTURE`]: the snapshot's book clear.
/// The diff on line 1 waits for the snapshot and is released at the snapshot's time.
const FIRST_TS: u64 = 1_723_161_254_100_000_000;

/// Bytes per tape record (format v1).
const RECORD: usize = 64;

/// [`CAPTURE`] as owned lines, to edit.
fn capture_lines() -> Vec<String> {
    CAPTURE.iter().map(|l| l.to_string()).collect()
}

/// Lines joined as a capture file: each ends with a newline.
fn joined(lines: &[String]) -> String {
    let mut s = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Replaces the first `from` on line `line` (1-based, as error messages count) with `to`.
fn edit(lines: &mut [String], line: usize, from: &str, to: &str) {
    let l = &mut lines[line - 1];
    assert!(l.contains(from), "line {line} has no {from}: {l}");
    *l = l.replacen(from, to, 1);
}

/// An ETHUSDT depth diff updating one bid and one ask level (`(price, size)` each).
fn depth_line(ts: u64, first: u64, last: u64, bid: (&str, &str), ask: (&str, &str)) -> String {
    format!(
        r#"{ts} {{"stream":"ethusdt@depth@100ms","data":{{"e":"depthUpdate","E":{},"s":"ETHUSDT","U":{first},"u":{last},"b":[["{}","{}"]],"a":[["{}","{}"]]}}}}"#,
        ts / 1_000_000,
        bid.0,
        bid.1,
        ask.0,
        ask.1
    )
}

/// An ETHUSDT bookTicker at 2683.80 / 2683.90 with the given sizes.
fn book_ticker_line(ts: u64, u: u64, bid_qty: &str, ask_qty: &str) -> String {
    format!(
        r#"{ts} {{"stream":"ethusdt@bookTicker","data":{{"u":{u},"s":"ETHUSDT","b":"2683.80","B":"{bid_qty}","a":"2683.90","A":"{ask_qty}"}}}}"#
    )
}

/// An ETHUSDT spot trade: a buy aggressor lifts the ask at 2683.90, a sell aggressor (the buyer is
/// the maker) hits the bid at 2683.80.
fn trade_line(ts: u64, id: u64, qty: &str, buyer_maker: bool) -> String {
    let ms = ts / 1_000_000;
    let px = if buyer_maker { "2683.80" } else { "2683.90" };
    format!(
        r#"{ts} {{"stream":"ethusdt@trade","data":{{"e":"trade","E":{ms},"s":"ETHUSDT","t":{id},"p":"{px}","q":"{qty}","T":{ms},"m":{buyer_maker},"M":true}}}}"#
    )
}

/// A valid capture of `n + 2` lines: [`CAPTURE`]'s first diff and snapshot, then `n` lines, 1 ms
/// apart, cycling through a depth diff (continuing the update-id chain, never crossing the book),
/// a bookTicker and a trade. Big enough that a cut gzip stream still holds whole lines.
fn long_capture(n: usize) -> Vec<String> {
    let mut lines = capture_lines()[..2].to_vec();
    let (mut ts, mut u, mut trade_id) = (FIRST_TS, 105u64, 0u64);
    let sizes = ["2.5", "0.7", "3.1", "1.9", "4.2", "0.3", "1.0"];
    for i in 0..n {
        ts += 1_000_000;
        let (a, b) = (sizes[i % sizes.len()], sizes[(i + 3) % sizes.len()]);
        lines.push(match i % 3 {
            0 => {
                let first = u + 1;
                u += 3;
                depth_line(ts, first, u, ("2683.70", a), ("2684.00", b))
            }
            1 => book_ticker_line(ts, u, a, b),
            _ => {
                trade_id += 1;
                trade_line(ts, trade_id, a, i % 2 == 0)
            }
        });
    }
    lines
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Running the binary

#[path = "support/cli.rs"]
#[allow(dead_code)]
mod cli;
use cli::Run;

/// A temporary directory to run `kestrel` in; paths in arguments and messages are relative to it.
#[derive(Debug)]
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.path(name), bytes).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// Runs `kestrel ARGS` in the sandbox. Whatever the input, it must not panic, report an
    /// internal error (exit 1) or die of a signal.
    #[track_caller]
    fn kestrel(&self, args: &[&str]) -> Run {
        let run = cli::kestrel_in(Some(self.dir.path()), args);
        assert_ne!(run.code, 1, "`kestrel {}` reported an internal error\n{}", run.args, run.show());
        run
    }

    /// `kestrel tape import --format FORMAT --out OUT EXTRA... INPUTS...`. A failed import must
    /// leave nothing under OUT (unless it was there before) and no temporary file.
    #[track_caller]
    fn import(&self, format: &str, out: &str, inputs: &[&str], extra: &[&str]) -> Run {
        let existed = self.path(out).exists();
        let mut args = vec!["tape", "import", "--format", format, "--out", out];
        args.extend_from_slice(extra);
        args.extend_from_slice(inputs);
        let run = self.kestrel(&args);
        if run.code != 0 && !existed {
            assert!(!self.path(out).exists(), "{out} exists after a failed import\n{}", run.show());
        }
        self.assert_no_partial();
        run
    }

    /// `tape info --json TAPE`, which must succeed.
    #[track_caller]
    fn info(&self, tape: &str) -> Value {
        self.kestrel(&["tape", "info", "--json", tape]).code(0).json()
    }

    /// `tape cat TAPE`, which must succeed: the CSV rows.
    #[track_caller]
    fn cat(&self, tape: &str) -> String {
        let r = self.kestrel(&["tape", "cat", tape]);
        r.code(0);
        r.stdout
    }

    #[track_caller]
    fn assert_nothing_written(&self, out: &str) {
        assert!(!self.path(out).exists(), "{out} exists after a failed import");
        self.assert_no_partial();
    }

    /// No `.partial` file (an unfinished tape) anywhere in the sandbox's top directory.
    #[track_caller]
    fn assert_no_partial(&self) {
        let partial: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial"))
            .collect();
        assert!(partial.is_empty(), "temporary files left behind: {partial:?}");
    }

    /// A strict Binance import of INPUT fails with CODE, and its message holds every needle.
    #[track_caller]
    fn strict_fails(&self, input: &str, code: i32, needles: &[&str]) -> Run {
        let r = self.import("binance", "strict.tape", &[input], &[]);
        r.code(code);
        for n in needles {
            r.err_has(n);
        }
        self.assert_nothing_written("strict.tape");
        r
    }

    /// A `--lenient` Binance import of INPUT into `lenient.tape` succeeds and reports COUNT lines
    /// of CATEGORY, the first at FIRST_AT (`file:line`). Returns `tape info --json` of the tape.
    #[track_caller]
    fn lenient_skips(&self, input: &str, category: &str, count: u64, first_at: &str) -> Value {
        let r = self.import("binance", "lenient.tape", &[input], &["--lenient"]);
        r.code(0).out_has(&format!("{category}: {count} (")).out_has(&format!("first at {first_at}:"));
        let json = self.import("binance", "lenient.json.tape", &[input], &["--lenient", "--json"]).code(0).json();
        let issue = &json["issues"][category];
        assert_eq!(issue["count"], count, "{category} in the JSON report\n{}", r.show());
        assert_eq!(issue["first_at"], first_at, "{category} in the JSON report\n{}", r.show());
        self.info("lenient.tape")
    }
}

// ---------------------------------------------------------------------------------------------
// Tapes

/// The little-endian u64 at `at`.
fn tape_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// Where a tape's records start (the header's `data_offset`).
fn data_offset(tape: &[u8]) -> usize {
    let offset = tape_u64(tape, 16) as usize;
    assert_eq!(offset % 4096, 0, "data offset {offset}");
    offset
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// Recomputes a tape's data and header checksums after an edit, so that only the edit is wrong.
fn fix_checksums(tape: &mut [u8]) {
    let start = data_offset(tape);
    let n = tape_u64(tape, 24) as usize; // record_count
    let data = crc32(&tape[start..start + n * RECORD]);
    tape[72..76].copy_from_slice(&data.to_le_bytes()); // data_crc32
    let mut table = tape[..start].to_vec();
    table[76..80].fill(0); // header_crc32 counts as zero
    let header = crc32(&table);
    tape[76..80].copy_from_slice(&header.to_le_bytes());
}

/// A sandbox with `capture.txt` ([`CAPTURE`]) and `good.tape`, imported from it.
fn with_good_tape() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("capture.txt", joined(&capture_lines()));
    sb.import("binance", "good.tape", &["capture.txt"], &[]).code(0);
    sb
}

// ---------------------------------------------------------------------------------------------
// 0. Valid input

#[test]
fn valid_capture_imports_with_expected_counts() {
    let sb = Sandbox::new();
    sb.write("capture.txt", joined(&capture_lines()));
    let r = sb.import("binance", "good.tape", &["capture.txt"], &[]);
    r.code(0).out_has("good.tape (14 records").out_has("ETHUSDT @ BINANCE");
    assert!(!r.stdout.contains("skipped"), "a valid capture skips nothing\n{}", r.show());

    let info = sb.info("good.tape");
    let c = &info["counts"];
    assert_eq!(c["records"], 14);
    assert_eq!(c["quotes"], 2);
    assert_eq!(c["trades"], 2);
    // The snapshot's 3 levels and three diffs of 2 levels each (the first released by the snapshot).
    assert_eq!(c["depth_updates"], 9);
    assert_eq!(c["snapshots"], 1);
    assert_eq!(c["depth_batches"], 4);
    let i = &info["instruments"][0];
    assert_eq!(i["symbol"], "ETHUSDT");
    assert_eq!(i["venue"], "BINANCE");
    assert_eq!(i["price_decimals"], 2);
    assert_eq!(i["qty_decimals"], 1);
    assert_eq!(info["trades"]["buy_aggressor"], 1);
    assert_eq!(info["trades"]["sell_aggressor"], 1);
    assert_eq!(info["trades"]["total_qty"], "0.7");
    assert_eq!(info["book"]["gaps"], 0);
    assert_eq!(info["book"]["crossed"], 0);
    assert_eq!(info["book"]["final_bid_px"], "2683.80");
    assert_eq!(info["book"]["final_ask_px"], "2683.90");
    assert_eq!(info["span"]["first_ts_ns"], FIRST_TS);

    let cat = sb.cat("good.tape");
    assert_eq!(cat.lines().count(), 15, "a header row and one row per record\n{cat}");
}

#[test]
fn long_capture_is_valid() {
    // The generator behind the bigger inputs below makes a clean capture.
    let sb = Sandbox::new();
    sb.write("long.txt", joined(&long_capture(300)));
    sb.import("binance", "long.tape", &["long.txt"], &[])
        .code(0)
        .out_has("imported 302 lines")
        .out_has("0 gaps, 0 crossed");
    let info = sb.info("long.tape");
    assert_eq!(info["counts"]["quotes"], 100);
    assert_eq!(info["counts"]["trades"], 100);
    assert_eq!(info["counts"]["depth_batches"], 102, "the snapshot, the first diff and 100 more");
    assert_eq!(info["book"]["gaps"], 0);
    assert_eq!(info["book"]["crossed"], 0);
}

// ---------------------------------------------------------------------------------------------
// 1. Truncated and corrupt gzip

#[test]
fn truncated_gzip_names_the_file_and_lenient_keeps_the_lines_before_the_cut() {
    let sb = Sandbox::new();
    let lines = long_capture(300);
    let gz = gzip(joined(&lines).as_bytes());
    sb.write("capture.gz", &gz[..gz.len() / 2]);

    let strict = sb.import("binance", "strict.tape", &["capture.gz"], &[]);
    strict.code(3).err_has("capture.gz:").err_has("cut off").err_has("--lenient");
    sb.assert_nothing_written("strict.tape");

    let r = sb.import("binance", "lenient.tape", &["capture.gz"], &["--lenient", "--json"]);
    let report = r.code(0).json();
    let kept = report["lines"].as_u64().unwrap();
    assert!(kept > 50 && kept < lines.len() as u64, "{kept} of {} lines read before the cut", lines.len());
    assert_eq!(report["issues"]["truncated_input"]["count"], 1, "{}", r.show());
    // The error names the line the cut fell in: the one after the last whole line.
    strict.err_has(&format!("capture.gz:{}", kept + 1));
    let info = sb.info("lenient.tape");
    assert!(info["counts"]["records"].as_u64().unwrap() > 50);
    assert_eq!(info["book"]["gaps"], 0);

    sb.import("binance", "lenient2.tape", &["capture.gz"], &["--lenient"])
        .code(0)
        .out_has("truncated_input: 1 (kept the lines before the cut)");
}

#[test]
fn corrupt_gzip_is_bad_data_not_a_crash() {
    let sb = Sandbox::new();
    let mut gz = gzip(joined(&long_capture(300)).as_bytes());
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 16] {
        *b ^= 0x5a;
    }
    sb.write("capture.gz", &gz);
    sb.import("binance", "strict.tape", &["capture.gz"], &[]).code(3).err_has("capture.gz:").err_has("--lenient");
    sb.assert_nothing_written("strict.tape");
    sb.import("binance", "lenient.tape", &["capture.gz"], &["--lenient"]).code(0).out_has("truncated_input: 1");
    sb.info("lenient.tape");
}

#[test]
fn truncated_first_file_lenient_goes_on_with_the_next() {
    let sb = Sandbox::new();
    let lines = long_capture(300);
    let (day1, day2) = lines.split_at(200);
    let gz = gzip(joined(day1).as_bytes());
    sb.write("day1.gz", &gz[..gz.len() - 20]); // the trailer and the end of the data are missing
    sb.write("day2.txt", joined(day2));

    let r = sb.import("binance", "strict.tape", &["day1.gz", "day2.txt"], &[]);
    r.code(3).err_has("day1.gz:").err_has("--lenient");
    sb.assert_nothing_written("strict.tape");

    let r = sb.import("binance", "lenient.tape", &["day1.gz", "day2.txt"], &["--lenient", "--json"]);
    let report = r.code(0).json();
    assert_eq!(report["issues"]["truncated_input"]["count"], 1, "{}", r.show());
    assert_eq!(report["files"][0]["path"], "day1.gz", "{}", r.show());
    assert_eq!(report["files"][1]["path"], "day2.txt", "{}", r.show());
    assert_eq!(report["files"][1]["lines"], day2.len() as u64, "every line of the second file read\n{}", r.show());
    let last_ts: u64 = day2.last().unwrap().split_once(' ').unwrap().0.parse().unwrap();
    let info = sb.info("lenient.tape");
    assert_eq!(info["span"]["last_ts_ns"], last_ts, "the tape runs to the end of the second file");
}

// ---------------------------------------------------------------------------------------------
// 2. Garbage lines

#[test]
fn garbage_line_in_the_middle() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    lines.insert(3, "hello world".into());
    sb.write("capture.txt", joined(&lines));
    sb.strict_fails("capture.txt", 3, &["capture.txt:4", "--lenient"]);

    let r = sb.import("binance", "lenient.tape", &["capture.txt"], &["--lenient", "--json"]);
    let issues = r.code(0).json()["issues"].clone();
    let total: u64 = issues.as_object().unwrap().values().map(|t| t["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 1, "one line skipped: {issues}");
    let info = sb.info("lenient.tape");
    assert_eq!(info["counts"]["records"], 14, "every good line kept");
}

#[test]
fn garbage_without_a_space_is_a_malformed_line() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    lines.insert(3, "garbage".into());
    sb.write("capture.txt", joined(&lines));
    sb.strict_fails("capture.txt", 3, &["capture.txt:4", "malformed line", "--lenient"]);
    let info = sb.lenient_skips("capture.txt", "malformed_line", 1, "capture.txt:4");
    assert_eq!(info["counts"]["records"], 14);
}

#[test]
fn json_that_is_not_a_stream_message_is_a_malformed_line() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    lines.insert(3, r#"1723161254250000000 {"hello":"world"}"#.into());
    lines.insert(4, "1723161254260000000 not json at all".into());
    sb.write("capture.txt", joined(&lines));
    sb.strict_fails("capture.txt", 3, &["capture.txt:4", "malformed line", "--lenient"]);
    let info = sb.lenient_skips("capture.txt", "malformed_line", 2, "capture.txt:4");
    assert_eq!(info["counts"]["records"], 14);
}

#[test]
fn non_utf8_line_is_rejected_with_its_location() {
    let sb = Sandbox::new();
    let mut bytes = Vec::new();
    for (i, l) in CAPTURE.iter().enumerate() {
        if i == 3 {
            bytes.extend_from_slice(b"\xff\xfe\x00garbage\x80\n");
        }
        bytes.extend_from_slice(l.as_bytes());
        bytes.push(b'\n');
    }
    sb.write("capture.txt", &bytes);
    sb.strict_fails("capture.txt", 3, &["capture.txt:4", "malformed line", "--lenient"]);
    let info = sb.lenient_skips("capture.txt", "malformed_line", 1, "capture.txt:4");
    assert_eq!(info["counts"]["records"], 14);
}

#[test]
fn garbage_line_is_counted_as_malformed_with_a_fitting_hint() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    lines.insert(3, "hello world".into());
    sb.write("capture.txt", joined(&lines));
    let r = sb.strict_fails("capture.txt", 3, &["capture.txt:4", "--lenient"]);
    assert!(
        !r.stderr.contains("--price-decimals"),
        "the hint about decimals does not fit a garbage line\n{}",
        r.show()
    );
    sb.lenient_skips("capture.txt", "malformed_line", 1, "capture.txt:4");
}

// ---------------------------------------------------------------------------------------------
// 3. A half-written last line

#[test]
fn half_written_last_line_is_reported_as_cut_off() {
    let sb = Sandbox::new();
    let mut text = joined(&capture_lines());
    text.truncate(text.len() - 60); // mid-JSON in line 8, no trailing newline
    assert!(!text.ends_with('\n'));
    sb.write("capture.txt", &text);
    sb.strict_fails("capture.txt", 3, &["capture.txt:8", "cut off", "--lenient"]);
    let info = sb.lenient_skips("capture.txt", "malformed_line", 1, "capture.txt:8");
    assert_eq!(info["counts"]["quotes"], 1, "the first quote kept, the cut one dropped");
    assert_eq!(info["counts"]["records"], 13);
}

// ---------------------------------------------------------------------------------------------
// 4. Streams

#[test]
fn unknown_stream_fails_strict_and_is_skipped_lenient() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    lines.insert(5, r#"1723161254450000000 {"stream":"ethusdt@mystery","data":{"x":1}}"#.into());
    sb.write("capture.txt", joined(&lines));
    sb.strict_fails("capture.txt", 3, &["capture.txt:6", "ethusdt@mystery", "--lenient"]);
    let info = sb.lenient_skips("capture.txt", "unknown_stream", 1, "capture.txt:6");
    assert_eq!(info["counts"]["records"], 14);
}

#[test]
fn known_unused_stream_does_not_fail_and_is_reported_as_not_imported() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    lines.insert(
        5,
        r#"1723161254450000000 {"stream":"ethusdt@aggTrade","data":{"e":"aggTrade","E":1723161255500,"s":"ETHUSDT","a":5,"p":"2683.90","q":"0.5","f":1,"l":1,"T":1723161255500,"m":false}}"#
            .into(),
    );
    sb.write("capture.txt", joined(&lines));
    let r = sb.import("binance", "out.tape", &["capture.txt"], &[]);
    r.code(0).out_has("not imported: 1 lines of stream ethusdt@aggTrade");
    assert!(!r.stdout.contains("skipped"), "{}", r.show());
    let json = sb.import("binance", "json.tape", &["capture.txt"], &["--json"]).code(0).json();
    assert_eq!(json["unused_streams"]["ethusdt@aggTrade"], 1);
    assert_eq!(json["issues"], serde_json::json!({}));
    assert_eq!(sb.info("out.tape")["counts"]["records"], 14);
}

// ---------------------------------------------------------------------------------------------
// 5. Time going backwards

#[test]
fn out_of_order_local_timestamps() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    edit(&mut lines, 6, "1723161254500000000", "1723161254050000000");
    sb.write("capture.txt", joined(&lines));
    sb.strict_fails("capture.txt", 3, &["capture.txt:6", "earlier than the previous line", "--lenient"]);
    let info = sb.lenient_skips("capture.txt", "out_of_order", 1, "capture.txt:6");
    assert_eq!(info["counts"]["depth_batches"], 3, "the diff that went back in time was dropped");
}

// ---------------------------------------------------------------------------------------------
// 6. Sequence gap

#[test]
fn depth_gap_fails_strict_and_is_marked_lenient() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    edit(&mut lines, 6, r#""U":109"#, r#""U":110"#);
    sb.write("capture.txt", joined(&lines));
    sb.strict_fails("capture.txt", 3, &["capture.txt:6", "sequence gap", "U=110", "expected U=109", "--lenient"]);
    let info = sb.lenient_skips("capture.txt", "sequence_gap", 1, "capture.txt:6");
    assert_eq!(info["book"]["gaps"], 1);
    assert_eq!(info["counts"]["records"], 14, "the diff after the gap is kept, flagged");
    let cat = sb.cat("lenient.tape");
    assert_eq!(cat.lines().filter(|l| l.ends_with(",gap")).count(), 1, "{cat}");
}

// ---------------------------------------------------------------------------------------------
// 7. Crossed book, 8. crossed quote

#[test]
fn crossed_book_after_a_diff() {
    // A bid at the best ask (locked) and above it (crossed).
    for bid in ["2683.90", "2684.00"] {
        let sb = Sandbox::new();
        let mut lines = capture_lines();
        edit(&mut lines, 6, r#""b":[["2683.60","1.0"]]"#, &format!(r#""b":[["{bid}","1.0"]]"#));
        sb.write("capture.txt", joined(&lines));
        sb.strict_fails("capture.txt", 3, &["capture.txt:6", "crossed", bid, "--lenient"]);
        let info = sb.lenient_skips("capture.txt", "crossed_book", 1, "capture.txt:6");
        assert_eq!(info["book"]["crossed"], 1, "kept as received, counted by info");
    }
}

#[test]
fn crossed_snapshot() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    edit(&mut lines, 2, r#""asks":[["2683.90","1.0"]]"#, r#""asks":[["2683.75","1.0"]]"#);
    sb.write("capture.txt", joined(&lines));
    sb.strict_fails("capture.txt", 3, &["capture.txt:2", "crossed", "--lenient"]);
}

#[test]
fn crossed_book_ticker_quote() {
    for bid in ["2683.90", "2684.00"] {
        let sb = Sandbox::new();
        let mut lines = capture_lines();
        edit(&mut lines, 8, r#""b":"2683.80""#, &format!(r#""b":"{bid}""#));
        sb.write("capture.txt", joined(&lines));
        sb.strict_fails("capture.txt", 3, &["capture.txt:8", "crossed quote", bid, "--lenient"]);
        let info = sb.lenient_skips("capture.txt", "crossed_quote", 1, "capture.txt:8");
        assert_eq!(info["counts"]["quotes"], 1, "the crossed quote was dropped");
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Bad sizes

#[test]
fn zero_trade_quantity() {
    for q in ["0.0", "0"] {
        let sb = Sandbox::new();
        let mut lines = capture_lines();
        edit(&mut lines, 5, r#""q":"0.5""#, &format!(r#""q":"{q}""#));
        sb.write("capture.txt", joined(&lines));
        sb.strict_fails("capture.txt", 3, &["capture.txt:5", "trade size", "positive", "--lenient"]);
        let info = sb.lenient_skips("capture.txt", "invalid_value", 1, "capture.txt:5");
        assert_eq!(info["counts"]["trades"], 1);
    }
}

#[test]
fn negative_level_size() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    edit(&mut lines, 3, r#"["2683.70","2.0"]"#, r#"["2683.70","-2.0"]"#);
    sb.write("capture.txt", joined(&lines));
    sb.strict_fails("capture.txt", 3, &["capture.txt:3", "-2.0", "negative", "--lenient"]);
    let info = sb.lenient_skips("capture.txt", "invalid_value", 1, "capture.txt:3");
    // Skipping a diff breaks the update-id chain: the next diff is marked as a gap, not applied
    // silently onto a wrong book.
    sb.import("binance", "again.tape", &["capture.txt"], &["--lenient"]).code(0).out_has("sequence_gap: 1");
    assert_eq!(info["book"]["gaps"], 1);
}

#[test]
fn negative_price_and_non_numbers_in_a_quote() {
    for (from, to) in [
        (r#""a":"2683.90""#, r#""a":"-2683.90""#),
        (r#""B":"0.8""#, r#""B":"lots""#),
        (r#""a":"2683.90""#, r#""a":"2683.9.0""#),
    ] {
        let sb = Sandbox::new();
        let mut lines = capture_lines();
        edit(&mut lines, 8, from, to);
        sb.write("capture.txt", joined(&lines));
        sb.strict_fails("capture.txt", 3, &["capture.txt:8", "--lenient"]);
        sb.lenient_skips("capture.txt", "invalid_value", 1, "capture.txt:8");
    }
}

// ---------------------------------------------------------------------------------------------
// 10. Missing and unreadable inputs

#[test]
fn missing_input_file() {
    let sb = Sandbox::new();
    sb.write("capture.txt", joined(&capture_lines()));
    let r = sb.import("binance", "out.tape", &["nope.txt"], &[]);
    r.code(4).err_has("nope.txt");
    sb.assert_nothing_written("out.tape");
    // Checked before anything is imported, wherever the missing file is in the list.
    let r = sb.import("binance", "out.tape", &["capture.txt", "nope.txt"], &["--lenient"]);
    r.code(4).err_has("nope.txt");
    sb.assert_nothing_written("out.tape");
}

#[test]
fn directory_as_input() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("captures")).unwrap();
    sb.strict_fails("captures", 4, &["captures", "directory"]);
    let r = sb.import("binance", "out.tape", &["captures"], &["--lenient"]);
    r.code(4).err_has("directory");
    sb.assert_nothing_written("out.tape");
}

#[test]
fn unwritable_output_directory() {
    let sb = Sandbox::new();
    sb.write("capture.txt", joined(&capture_lines()));
    let r = sb.import("binance", "missing/dir/out.tape", &["capture.txt"], &[]);
    r.code(4).err_has("out.tape");
    assert!(!sb.path("missing").exists());
}

// ---------------------------------------------------------------------------------------------
// 11. No snapshot

#[test]
fn depth_diffs_without_a_snapshot() {
    // A second-day file on its own: diffs continue from the previous day's book, no snapshot.
    let sb = Sandbox::new();
    let lines = capture_lines();
    sb.write("day2.txt", joined(&lines[2..]));
    sb.strict_fails("day2.txt", 3, &["day2.txt:1", "no book snapshot", "ETHUSDT", "--lenient"]);
    let info = sb.lenient_skips("day2.txt", "no_snapshot", 1, "day2.txt:1");
    assert_eq!(info["counts"]["depth_updates"], 0);
    assert_eq!(info["counts"]["quotes"], 2);
    assert_eq!(info["counts"]["trades"], 2);
    // Given with the file that holds the snapshot, in order, the same lines import cleanly.
    sb.write("day1.txt", joined(&lines[..2]));
    sb.import("binance", "both.tape", &["day1.txt", "day2.txt"], &[]).code(0);
    assert_eq!(sb.info("both.tape")["counts"]["records"], 14);
}

#[test]
fn snapshot_that_matches_no_depth_stream() {
    let sb = Sandbox::new();
    let lines = capture_lines();
    sb.write("capture.txt", joined(&[lines[1].clone(), lines[3].clone()]));
    sb.strict_fails("capture.txt", 3, &["capture.txt:1", "snapshot", "--lenient"]);
}

// ---------------------------------------------------------------------------------------------
// 12. Timestamp units

fn to_micros(line: &str) -> String {
    let (ts, rest) = line.split_once(' ').unwrap();
    assert_eq!(ts.len(), 19);
    format!("{} {rest}", &ts[..16])
}

#[test]
fn microsecond_timestamps_import_and_the_unit_is_reported() {
    let sb = Sandbox::new();
    let us: Vec<String> = CAPTURE.iter().map(|l| to_micros(l)).collect();
    sb.write("capture_us.txt", joined(&us));
    sb.write("capture.txt", joined(&capture_lines()));
    sb.import("binance", "us.tape", &["capture_us.txt"], &[])
        .code(0)
        .out_has("capture_us.txt: 8 lines, local timestamps in us (converted to ns)");
    let json = sb.import("binance", "us2.tape", &["capture_us.txt"], &["--json"]).code(0).json();
    assert_eq!(json["files"][0]["ts_unit"], "us");
    assert_eq!(sb.info("us.tape")["span"]["first_ts_ns"], FIRST_TS);
    sb.import("binance", "ns.tape", &["capture.txt"], &[]).code(0);
    assert_eq!(sb.cat("us.tape"), sb.cat("ns.tape"), "µs and ns captures of the same data give the same records");
}

#[test]
fn file_mixing_ns_and_us_timestamps_is_an_error() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    for l in &mut lines[..4] {
        *l = to_micros(l);
    }
    sb.write("capture.txt", joined(&lines));
    sb.strict_fails("capture.txt", 3, &["capture.txt:5", "1723161254400000000", "us", "--lenient"]);
    sb.lenient_skips("capture.txt", "invalid_value", 4, "capture.txt:5");
}

#[test]
fn timestamp_errors_hint_at_ts_unit() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    for l in &mut lines[..4] {
        *l = to_micros(l);
    }
    sb.write("capture.txt", joined(&lines));
    let r = sb.strict_fails("capture.txt", 3, &["capture.txt:5", "--ts-unit"]);
    assert!(!r.stderr.contains("--price-decimals"), "{}", r.show());
}

#[test]
fn timestamp_too_small_for_any_unit() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    edit(&mut lines, 1, "1723161254000000000 ", "1723161254 ");
    sb.write("capture.txt", joined(&lines));
    sb.strict_fails("capture.txt", 3, &["capture.txt:1", "--ts-unit"]);
}

// ---------------------------------------------------------------------------------------------
// 13. Existing output

#[test]
fn existing_output_is_kept_without_force_and_replaced_with_it() {
    let sb = Sandbox::new();
    sb.write("capture.txt", joined(&capture_lines()));
    sb.write("out.tape", "precious");
    sb.import("binance", "out.tape", &["capture.txt"], &[]).code(2).err_has("out.tape").err_has("--force");
    assert_eq!(sb.read("out.tape"), b"precious");
    sb.assert_no_partial();

    sb.import("binance", "out.tape", &["capture.txt"], &["--force"]).code(0);
    assert!(sb.read("out.tape").starts_with(b"KSTRTAPE"));
    assert_eq!(sb.info("out.tape")["counts"]["records"], 14);
    sb.assert_no_partial();
}

#[test]
fn failed_import_with_force_leaves_the_existing_output_alone() {
    let sb = Sandbox::new();
    let mut lines = capture_lines();
    lines.insert(3, "garbage".into());
    sb.write("bad.txt", joined(&lines));
    sb.write("out.tape", "precious");
    sb.import("binance", "out.tape", &["bad.txt"], &["--force"]).code(3).err_has("bad.txt:4");
    assert_eq!(sb.read("out.tape"), b"precious");
    sb.assert_no_partial();
}

#[test]
fn output_that_is_also_an_input() {
    let sb = Sandbox::new();
    let text = joined(&capture_lines());
    sb.write("capture.txt", &text);
    sb.import("binance", "capture.txt", &["capture.txt"], &["--force"]).code(2).err_has("capture.txt").err_has("--out");
    assert_eq!(sb.read("capture.txt"), text.as_bytes());
    sb.assert_no_partial();
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    sb.write("capture.txt", joined(&capture_lines()));
    sb.kestrel(&["tape", "import", "--format", "binance", "--out", "out.tape"]).code(2);
    sb.kestrel(&["tape", "import", "--out", "out.tape", "capture.txt"]).code(2);
    sb.import("nope", "out.tape", &["capture.txt"], &[]).code(2).err_has("nope");
    sb.import("binance", "out.tape", &["capture.txt"], &["--price-decimals", "13"]).code(2);
    sb.import("binance", "out.tape", &["capture.txt"], &["--ts-unit", "fortnights"]).code(2);
    sb.import("binance", "out.tape", &["capture.txt"], &["--tick", "abc"]).code(2).err_has("--tick");
    sb.import("binance", "out.tape", &["capture.txt"], &["--lot", "0"]).code(2).err_has("--lot");
    sb.assert_nothing_written("out.tape");
    // `tape info --symbol` naming a symbol the tape lacks lists the ones it has.
    sb.import("binance", "good.tape", &["capture.txt"], &[]).code(0);
    sb.kestrel(&["tape", "info", "--symbol", "BTCUSDT", "good.tape"]).code(2).err_has("ETHUSDT");
}

#[test]
fn prices_off_the_given_tick() {
    let sb = Sandbox::new();
    sb.write("capture.txt", joined(&capture_lines()));
    // 2683.80 is a multiple of 0.03, 2683.70 (the snapshot's second bid) is not.
    let r = sb.import("binance", "out.tape", &["capture.txt"], &["--tick", "0.03"]);
    r.code(3).err_has("capture.txt:2").err_has("2683.70").err_has("tick 0.03").err_has("--lenient");
    sb.assert_nothing_written("out.tape");
}

// ---------------------------------------------------------------------------------------------
// 14. Damaged tapes

#[test]
fn tape_info_on_a_text_file() {
    let sb = with_good_tape();
    for cmd in ["info", "cat"] {
        sb.kestrel(&["tape", cmd, "capture.txt"]).code(5).err_has("capture.txt").err_has("not a Kestrel tape");
    }
    sb.write("short.txt", "hi");
    sb.kestrel(&["tape", "info", "short.txt"]).code(5).err_has("short.txt");
    sb.write("empty.tape", "");
    sb.kestrel(&["tape", "info", "empty.tape"]).code(5).err_has("empty.tape").err_has("too short");
}

#[test]
fn tape_of_another_version() {
    let sb = with_good_tape();
    let mut tape = sb.read("good.tape");
    tape[8..12].copy_from_slice(&2u32.to_le_bytes());
    sb.write("v2.tape", &tape);
    for cmd in ["info", "cat"] {
        sb.kestrel(&["tape", cmd, "v2.tape"]).code(5).err_has("v2.tape").err_has("version 2").err_has("version 1");
    }
    sb.kestrel(&["tape", "info", "--no-verify", "v2.tape"]).code(5).err_has("version 2");
}

#[test]
fn tape_truncated_mid_record() {
    let sb = with_good_tape();
    let tape = sb.read("good.tape");
    let cut = data_offset(&tape) + 5 * RECORD + 20;
    sb.write("cut.tape", &tape[..cut]);
    sb.kestrel(&["tape", "info", "cut.tape"]).code(5).err_has("cut.tape").err_has("truncated").err_has("record 5");
    sb.kestrel(&["tape", "info", "--no-verify", "cut.tape"]).code(5).err_has("truncated");
    let r = sb.kestrel(&["tape", "cat", "cut.tape"]);
    r.code(5).err_has("truncated").err_has("record 5");
    // Cut exactly at a record boundary, and inside the header.
    sb.write("cut2.tape", &tape[..data_offset(&tape) + 5 * RECORD]);
    sb.kestrel(&["tape", "info", "cut2.tape"]).code(5).err_has("truncated").err_has("record 5");
    sb.write("cut3.tape", &tape[..1000]);
    sb.kestrel(&["tape", "info", "cut3.tape"]).code(5).err_has("cut3.tape");
    sb.kestrel(&["tape", "cat", "cut3.tape"]).code(5);
}

#[test]
fn tape_with_bytes_appended() {
    let sb = with_good_tape();
    let mut tape = sb.read("good.tape");
    tape.extend_from_slice(b"extra");
    sb.write("long.tape", &tape);
    sb.kestrel(&["tape", "info", "long.tape"]).code(5).err_has("long.tape").err_has("5 unexpected bytes");
}

#[test]
fn flipped_byte_in_the_records_fails_the_checksum() {
    let sb = with_good_tape();
    let mut tape = sb.read("good.tape");
    let at = data_offset(&tape) + 3 * RECORD + 40;
    tape[at] ^= 0x01;
    sb.write("flip.tape", &tape);
    sb.kestrel(&["tape", "info", "flip.tape"]).code(5).err_has("flip.tape").err_has("checksum");
    sb.kestrel(&["tape", "info", "--json", "flip.tape"]).code(5).err_has("checksum");
    let r = sb.kestrel(&["tape", "info", "--no-verify", "flip.tape"]);
    r.code(0).out_has("14 records");
    // cat does not verify; it must at least not crash.
    sb.kestrel(&["tape", "cat", "flip.tape"]);
}

#[test]
fn flipped_byte_in_the_header_is_caught_even_without_verify() {
    let sb = with_good_tape();
    let mut tape = sb.read("good.tape");
    tape[128 + 2] ^= 0x20; // the first instrument's symbol: "ETHUSDT" → "EtHUSDT"
    sb.write("hdr.tape", &tape);
    for args in
        [&["tape", "info", "hdr.tape"][..], &["tape", "info", "--no-verify", "hdr.tape"], &["tape", "cat", "hdr.tape"]]
    {
        sb.kestrel(args).code(5).err_has("hdr.tape").err_has("header");
    }
}

#[test]
fn invalid_record_behind_valid_checksums_is_named_by_index() {
    let sb = with_good_tape();
    let mut tape = sb.read("good.tape");
    let at = data_offset(&tape) + 3 * RECORD + 18; // record 3's kind byte
    tape[at] = 9;
    fix_checksums(&mut tape);
    sb.write("bad.tape", &tape);
    sb.kestrel(&["tape", "info", "bad.tape"]).code(5).err_has("bad.tape").err_has("record 3").err_has("unknown kind 9");
    sb.kestrel(&["tape", "cat", "bad.tape"]);
}

#[test]
fn no_single_flipped_record_byte_crashes_info_or_cat() {
    let sb = with_good_tape();
    let tape = sb.read("good.tape");
    let start = data_offset(&tape);
    // Every byte of two records (a level update and a quote): the header fields, sides, prices.
    for at in (start + 4 * RECORD..start + 5 * RECORD).chain(start + 8 * RECORD..start + 9 * RECORD) {
        let mut t = tape.clone();
        t[at] ^= 0xff;
        sb.write("f.tape", &t);
        sb.kestrel(&["tape", "info", "f.tape"]).code(5);
        fix_checksums(&mut t);
        sb.write("g.tape", &t);
        let r = sb.kestrel(&["tape", "info", "--json", "g.tape"]);
        assert!(r.code == 0 || r.code == 5, "byte {at}: exit {}\n{}", r.code, r.show());
        sb.kestrel(&["tape", "info", "--no-verify", "g.tape"]);
        sb.kestrel(&["tape", "cat", "g.tape"]);
    }
}

#[test]
fn tape_info_on_a_directory_says_so() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path("tapes")).unwrap();
    for cmd in ["info", "cat"] {
        sb.kestrel(&["tape", cmd, "tapes"]).code(4).err_has("tapes").err_has("directory");
    }
}

#[test]
fn tape_info_on_a_missing_file() {
    let sb = Sandbox::new();
    for cmd in ["info", "cat"] {
        sb.kestrel(&["tape", cmd, "nope.tape"]).code(4).err_has("nope.tape");
    }
}

#[test]
fn empty_capture_gives_a_tape_that_info_reads_or_is_refused() {
    let sb = Sandbox::new();
    sb.write("empty.txt", "");
    let r = sb.import("binance", "empty.tape", &["empty.txt"], &[]);
    if r.code == 0 {
        sb.kestrel(&["tape", "info", "empty.tape"]).code(0);
    } else {
        r.code(3).err_has("empty.txt");
        sb.assert_nothing_written("empty.tape");
    }
}

// ---------------------------------------------------------------------------------------------
// 15. Generic CSV

/// A sandbox with `good.tape` and `rows.csv`, its `tape cat` output.
fn with_rows_csv() -> (Sandbox, Vec<String>) {
    let sb = with_good_tape();
    let rows = sb.cat("good.tape");
    sb.write("rows.csv", &rows);
    (sb, rows.lines().map(str::to_owned).collect())
}

#[test]
fn csv_unknown_column_in_the_header() {
    let (sb, mut rows) = with_rows_csv();
    rows[0] = rows[0].replace(",flags", ",flagz");
    sb.write("bad.csv", joined(&rows));
    let r = sb.import("csv", "out.tape", &["bad.csv"], &[]);
    r.code(3).err_has("bad.csv:1").err_has("'flagz'").err_has("ts_local");
    sb.assert_nothing_written("out.tape");
    // A header cannot be skipped: the whole file is unreadable without it.
    sb.import("csv", "out.tape", &["bad.csv"], &["--lenient"]).code(3).err_has("bad.csv:1");
    sb.assert_nothing_written("out.tape");
}

#[test]
fn csv_header_error_does_not_suggest_lenient() {
    let (sb, mut rows) = with_rows_csv();
    rows[0] = rows[0].replace(",flags", ",flagz");
    sb.write("bad.csv", joined(&rows));
    let r = sb.import("csv", "out.tape", &["bad.csv"], &[]);
    r.code(3);
    assert!(!r.stderr.contains("--lenient"), "suggests --lenient, which cannot help\n{}", r.show());
}

#[test]
fn csv_unknown_kind() {
    let (sb, mut rows) = with_rows_csv();
    assert!(rows[3].contains(",level,"));
    rows[3] = rows[3].replace(",level,", ",foo,");
    sb.write("bad.csv", joined(&rows));
    let r = sb.import("csv", "out.tape", &["bad.csv"], &[]);
    r.code(3).err_has("bad.csv:4").err_has("'foo'").err_has("--lenient");
    sb.assert_nothing_written("out.tape");
    sb.import("csv", "lenient.tape", &["bad.csv"], &["--lenient"])
        .code(0)
        .out_has("malformed_line: 1 (")
        .out_has("first at bad.csv:4");
    assert_eq!(sb.info("lenient.tape")["counts"]["records"], 13);
}

#[test]
fn csv_bad_values() {
    // (row, from, to, what the message names)
    let cases = [
        (10, "2683.80,1.0,2683.90,2.0", "2683.95,1.0,2683.90,2.0", "crossed quote"),
        (11, ",trade,buy,2683.90,0.5,", ",trade,buy,2683.90,0,", "qty"),
        (11, ",trade,buy,", ",trade,sideways,", "sideways"),
        (3, ",snapshot", ",snapshot|bogus", "bogus"),
        (5, "1723161254100000000,", "1723161254000000000,", "earlier"),
    ];
    for (row, from, to, what) in cases {
        let (sb, mut rows) = with_rows_csv();
        assert!(rows[row - 1].contains(from), "row {row} lacks {from}: {}", rows[row - 1]);
        rows[row - 1] = rows[row - 1].replacen(from, to, 1);
        sb.write("bad.csv", joined(&rows));
        sb.import("csv", "out.tape", &["bad.csv"], &[])
            .code(3)
            .err_has(&format!("bad.csv:{row}"))
            .err_has(what)
            .err_has("--lenient");
        sb.assert_nothing_written("out.tape");
        sb.import("csv", "lenient.tape", &["bad.csv"], &["--lenient"])
            .code(0)
            .out_has(&format!("first at bad.csv:{row}"));
    }
}

#[test]
fn csv_round_trip_reproduces_the_records() {
    let (sb, rows) = with_rows_csv();
    sb.import("csv", "back.tape", &["rows.csv"], &[]).code(0);
    let back = sb.cat("back.tape");
    assert_eq!(back.lines().collect::<Vec<_>>(), rows, "tape → csv → tape → csv changed the rows");
}

#[test]
fn csv_round_trip_with_the_decimals_given() {
    let (sb, rows) = with_rows_csv();
    assert!(rows[1].contains(",clear,"), "the tape starts with the snapshot's book clear");
    sb.import("csv", "back.tape", &["rows.csv"], &["--price-decimals", "2", "--qty-decimals", "1"]).code(0);
    let back = sb.cat("back.tape");
    assert_eq!(back.lines().collect::<Vec<_>>(), rows, "tape → csv → tape → csv changed the rows");
    let (a, b) = (sb.info("good.tape"), sb.info("back.tape"));
    assert_eq!(a["counts"].to_string(), b["counts"].to_string());
    assert_eq!(a["book"].to_string(), b["book"].to_string());
    assert_eq!(a["trades"].to_string(), b["trades"].to_string());
}

#[test]
fn csv_round_trip_of_a_tape_starting_with_a_quote() {
    // Without a leading clear row the decimals are read off the first row and the round trip holds.
    let sb = Sandbox::new();
    let quotes_and_trades: Vec<String> =
        long_capture(6)[2..].iter().filter(|l| !l.contains("@depth")).cloned().collect();
    assert_eq!(quotes_and_trades.len(), 4);
    sb.write("capture.txt", joined(&quotes_and_trades));
    sb.import("binance", "q.tape", &["capture.txt"], &[]).code(0);
    let rows = sb.cat("q.tape");
    sb.write("rows.csv", &rows);
    sb.import("csv", "back.tape", &["rows.csv"], &[]).code(0);
    assert_eq!(sb.cat("back.tape"), rows);
}

// ---------------------------------------------------------------------------------------------
// No input makes it panic

#[test]
fn capture_cut_anywhere_never_crashes() {
    let sb = Sandbox::new();
    // Lenient imports what it can; a cut so early that nothing is left is refused as empty (exit 3).
    let lenient_ok = |r: &Run, cut: usize| {
        if r.code != 0 {
            assert_eq!(r.code, 3, "cut at {cut}: exit {}\n{}", r.code, r.show());
            r.err_has("no market data");
        }
    };
    let text = joined(&capture_lines());
    let first_line_end = CAPTURE[0].len() + 1;
    for cut in (1..text.len()).step_by(23) {
        sb.write("cut.txt", &text.as_bytes()[..cut]);
        let strict = sb.import("binance", "strict.tape", &["cut.txt"], &[]);
        assert!(strict.code == 0 || strict.code == 3, "cut at {cut}: exit {}\n{}", strict.code, strict.show());
        if strict.code == 3 {
            strict.err_has("cut.txt:");
            sb.assert_nothing_written("strict.tape");
        } else {
            std::fs::remove_file(sb.path("strict.tape")).unwrap();
        }
        let lenient = sb.import("binance", "lenient.tape", &["cut.txt"], &["--lenient", "--force"]);
        lenient_ok(&lenient, cut);
        if cut > first_line_end && lenient.code == 0 {
            sb.info("lenient.tape");
        }
    }
    let gz = gzip(text.as_bytes());
    for cut in 1..gz.len() {
        sb.write("cut.gz", &gz[..cut]);
        sb.import("binance", "strict.tape", &["cut.gz"], &[]).code(3).err_has("cut.gz:");
        sb.assert_nothing_written("strict.tape");
        lenient_ok(&sb.import("binance", "lenient.tape", &["cut.gz"], &["--lenient", "--force"]), cut);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any bytes in the middle of a capture: strict stops with a location (or imports, if the bytes
    /// happen to be blank lines), lenient imports, nothing panics.
    #[test]
    fn random_garbage_never_crashes(garbage in proptest::collection::vec(any::<u8>(), 1..120), at in 0usize..8) {
        let sb = Sandbox::new();
        let mut bytes = Vec::new();
        for (i, l) in CAPTURE.iter().enumerate() {
            if i == at {
                bytes.extend_from_slice(&garbage);
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(l.as_bytes());
            bytes.push(b'\n');
        }
        sb.write("capture.txt", &bytes);
        let strict = sb.import("binance", "strict.tape", &["capture.txt"], &[]);
        prop_assert!(strict.code == 0 || strict.code == 3, "exit {}\n{}", strict.code, strict.show());
        if strict.code == 3 {
            prop_assert!(strict.stderr.contains("capture.txt:"), "{}", strict.show());
            prop_assert!(!sb.path("strict.tape").exists());
        }
        sb.import("binance", "lenient.tape", &["capture.txt"], &["--lenient"]).code(0);
        sb.assert_no_partial();
    }

    /// The same for CSV rows.
    #[test]
    fn random_csv_rows_never_crash(garbage in "[a-z0-9,.|\"-]{0,80}", at in 1usize..15) {
        let sb = with_good_tape();
        let rows = sb.cat("good.tape");
        let mut lines: Vec<String> = rows.lines().map(str::to_owned).collect();
        lines.insert(at, garbage);
        sb.write("rows.csv", joined(&lines));
        let strict = sb.import("csv", "strict.tape", &["rows.csv"], &[]);
        prop_assert!(strict.code == 0 || strict.code == 3, "exit {}\n{}", strict.code, strict.show());
        if strict.code == 3 {
            prop_assert!(strict.stderr.contains("rows.csv:"), "{}", strict.show());
        }
        sb.import("csv", "lenient.tape", &["rows.csv"], &["--lenient"]).code(0);
        sb.assert_no_partial();
    }
}
