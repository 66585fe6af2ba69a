//! End to end: `kestrel paper`, run as the real binary on synthetic tapes.
//!
//! Checks what a person or a script relies on: the run directory and what its files say (the summary,
//! the latency files, the config it ran with), that the journal agrees with the summary, that the
//! journal does not depend on the topology or the wait strategy, the exit codes (2 usage and config,
//! 4 a missing file, 5 a corrupt tape) with messages naming the key or file, that nothing is written
//! under `--out` when a run is refused, that `--speed` holds the replay back, and that the shipped
//! `configs/default.toml` is the code's defaults.
//!
//! Every run passes a config with `[engine] pin_threads = false`: the tests run in parallel, and
//! pinning every run's hot thread to core 1 would serialise them.

use kestrel_engine::config::{self, RawConfig};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const METRICS: [&str; 6] = ["ingest", "features", "decide", "execute", "tick_to_decision", "tick_to_order"];
const RUN_FILES: [&str; 5] = ["journal.kj", "latency.hlog", "latency.json", "summary.json", "config.toml"];

// ---------------------------------------------------------------------------------------------
// Running the binary

#[path = "support/cli.rs"]
#[allow(dead_code)]
mod cli;
use cli::Run;

/// A temporary directory holding the tapes, configs and run directories of one test.
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

    /// The absolute path of `name`, as an argument.
    fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    /// Runs `kestrel ARGS` in the sandbox. Whatever the input, it must not panic or die of a signal.
    #[track_caller]
    fn kestrel(&self, args: &[&str]) -> Run {
        cli::kestrel_in(Some(self.dir.path()), args)
    }

    /// Writes config `name`: an `[engine]` section with `pin_threads = false` and the `engine` lines,
    /// then `rest` (further sections).
    fn config(&self, name: &str, engine: &str, rest: &str) -> String {
        std::fs::write(self.path(name), format!("[engine]\npin_threads = false\n{engine}\n{rest}")).unwrap();
        self.arg(name)
    }

    /// `kestrel tape synth --duration DURATION --out NAME`.
    #[track_caller]
    fn synth(&self, name: &str, duration: &str) -> String {
        let out = self.arg(name);
        self.kestrel(&["tape", "synth", "--duration", duration, "--out", &out]).code(0);
        out
    }

    /// `kestrel paper --tape TAPE --config CONFIG --out OUT EXTRA...`, which must succeed: the
    /// summary.json it wrote.
    #[track_caller]
    fn paper(&self, tape: &str, config: &str, out: &str, extra: &[&str]) -> Value {
        let out_dir = self.arg(out);
        let mut args = vec!["paper", "--tape", tape, "--config", config, "--out", &out_dir];
        args.extend_from_slice(extra);
        self.kestrel(&args).code(0);
        self.summary(out)
    }

    fn summary(&self, run: &str) -> Value {
        let text = std::fs::read_to_string(self.path(run).join("summary.json")).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{run}/summary.json is not JSON ({e}):\n{text}"))
    }

    fn journal(&self, run: &str) -> Vec<u8> {
        std::fs::read(self.path(run).join("journal.kj")).unwrap()
    }

    /// `kestrel paper` with a bad config (or other input) that must be refused before anything is
    /// written: `out` does not exist afterwards.
    #[track_caller]
    fn refused(&self, out: &str, args: &[&str]) -> Run {
        let out_dir = self.arg(out);
        let mut all = vec!["paper", "--out", &out_dir];
        all.extend_from_slice(args);
        let run = self.kestrel(&all);
        assert_ne!(run.code, 0, "`kestrel {}` succeeded\n{}", run.args, run.show());
        assert!(!self.path(out).exists(), "`kestrel {}` created {out}\n{}", run.args, run.show());
        run
    }
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// An exact decimal ("-0.00586") as its digits and its scale: (-586, 5).
fn fixed(text: &str) -> (i128, usize) {
    let scale = text.split_once('.').map_or(0, |(_, frac)| frac.len());
    let digits: String = text.chars().filter(|&c| c != '.').collect();
    (digits.parse().unwrap_or_else(|e| panic!("{text:?} is not a decimal: {e}")), scale)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `config.toml` of a run, read back the way `kestrel paper --config` would.
fn run_config(dir: &Path) -> RawConfig {
    let path = dir.join("config.toml");
    config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// 1. The bundled default

#[test]
fn the_bundled_default_writes_a_complete_run_directory() {
    let sb = Sandbox::new();
    let config = sb.config("c.toml", "", "");
    let out = sb.arg("run");
    let r = sb.kestrel(&["paper", "--synth-duration", "60s", "--out", &out, "--config", &config]);
    r.code(0);
    assert!(r.stdout.contains("paper run:") && r.stdout.contains("journal.kj"), "{}", r.show());
    for f in RUN_FILES {
        let len = std::fs::metadata(sb.path("run").join(f)).unwrap_or_else(|e| panic!("run/{f}: {e}")).len();
        assert!(len > 0, "run/{f} is empty");
    }
    let s = sb.summary("run");

    let events = u(&s["events"]);
    assert!(events > 0, "no events: {s:#}");
    assert_eq!(events, u(&s["tape_records"]), "a full run replays every record");
    assert_eq!(s["stopped_early"], false);
    assert!(s["tape"].as_str().unwrap().contains("bundled synthetic"), "{}", s["tape"]);
    assert_eq!(s["config"], config.as_str(), "the summary names the config file");
    let span = s["tape_span_s"].as_f64().unwrap();
    assert!((55.0..=60.0).contains(&span), "a 60 s synthetic tape spans {span} s");

    let (orders, fills, rejects, expired) = (u(&s["orders"]), u(&s["fills"]), u(&s["rejects"]), u(&s["expired"]));
    assert!(orders > 0 && fills > 0, "the default strategy never traded on a minute of synthetic tape: {s:#}");
    // Market orders are IOC: each ends in one or more fills (one per level walked), a reject, or
    // an expiry of its rest.
    assert!(fills + rejects + expired >= orders, "an order went unanswered: {s:#}");
    let inst = &s["instruments"][0];
    assert_eq!((u(&inst["orders"]), u(&inst["fills"])), (orders, fills), "one instrument: its counts are the run's");

    let latency = s["latency_ns"].as_object().unwrap();
    let names: BTreeSet<&str> = latency.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(METRICS), "latency_ns metrics");
    for m in &METRICS[..5] {
        assert_eq!(u(&latency[*m]["count"]), events, "{m} is recorded for every event");
    }
    assert_eq!(u(&latency["tick_to_order"]["count"]), orders, "tick_to_order is recorded for every order");
    for (m, p) in latency {
        let (p50, p99, max) = (u(&p["p50"]), u(&p["p99"]), u(&p["max"]));
        assert!(p50 <= p99 && p99 <= max && max > 0, "{m}: p50 {p50}, p99 {p99}, max {max}");
    }

    // latency.json holds the same percentiles; latency.hlog one tagged interval per metric with the
    // same maximum.
    let json: Value = serde_json::from_str(&std::fs::read_to_string(sb.path("run/latency.json")).unwrap()).unwrap();
    assert_eq!(json["unit"], "ns");
    for m in METRICS {
        assert_eq!(json["metrics"][m], latency[m], "latency.json {m}");
    }
    let hlog = std::fs::read_to_string(sb.path("run/latency.hlog")).unwrap();
    let tags: BTreeMap<&str, u64> = hlog
        .lines()
        .filter_map(|l| l.strip_prefix("Tag="))
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            (fields[0], fields[3].parse::<f64>().unwrap() as u64)
        })
        .collect();
    assert_eq!(tags.len(), METRICS.len(), "latency.hlog intervals: {tags:?}");
    for m in METRICS {
        assert_eq!(tags.get(m), Some(&u(&latency[m]["max"])), "latency.hlog {m} max");
    }

    // config.toml is the configuration the run used, every key spelled out, and reads back.
    let expected = RawConfig {
        engine: config::raw::EngineSection { pin_threads: false, ..Default::default() },
        ..RawConfig::default()
    };
    assert_eq!(run_config(&sb.path("run")), expected);
    let text = std::fs::read_to_string(sb.path("run/config.toml")).unwrap();
    for key in [
        "topology",
        "ring_capacity",
        "imbalance_threshold",
        "entry_latency_us",
        "queue_model",
        "taker_bps",
        "daily_loss_limit",
        "capacity_records",
    ] {
        assert!(text.contains(&format!("{key} = ")), "config.toml does not spell out {key}:\n{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The journal agrees with the summary

#[test]
fn the_journal_agrees_with_the_summary() {
    let sb = Sandbox::new();
    let config = sb.config("c.toml", "", "");
    let out = sb.arg("run");
    sb.kestrel(&["paper", "--synth-duration", "60s", "--out", &out, "--config", &config]).code(0);
    let s = sb.summary("run");
    let csv_path = sb.arg("journal.csv");
    sb.kestrel(&["journal", "export", &out, "--format", "csv", "--out", &csv_path]).code(0);
    let csv = std::fs::read_to_string(&csv_path).unwrap();

    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} in {header:?}"));
    let (kind, pnl, fee) = (col("kind"), col("realized_pnl"), col("fee"));
    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
    let mut realized: i128 = 0;
    let mut fees: i128 = 0;
    let mut pnl_scale = None;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "row {line}");
        *rows.entry(cells[kind].to_owned()).or_default() += 1;
        if cells[kind] == "fill" {
            let (v, scale) = fixed(cells[pnl]);
            assert_eq!(*pnl_scale.get_or_insert(scale), scale, "fill rows at one scale: {line}");
            realized += v;
            let (f, fee_scale) = fixed(cells[fee]);
            assert_eq!(fee_scale, scale, "fee and PnL at one scale: {line}");
            fees += f;
        }
    }
    let count = |k: &str| rows.get(k).copied().unwrap_or(0);
    assert!(count("fill") > 0, "no fills to compare: {rows:?}");
    assert_eq!(count("fill"), u(&s["fills"]), "fill rows vs summary: {rows:?}");
    assert_eq!(count("order"), u(&s["orders"]), "order rows vs summary: {rows:?}");
    assert_eq!(count("blocked"), u(&s["blocked"]), "blocked rows vs summary: {rows:?}");
    assert_eq!(count("reject"), u(&s["rejects"]), "reject rows vs summary: {rows:?}");
    assert_eq!(count("decision"), u(&s["decisions"]), "decision rows vs summary: {rows:?}");
    assert_eq!(count("expired"), u(&s["expired"]), "expired rows vs summary: {rows:?}");
    assert_eq!(count("canceled"), u(&s["cancels"]), "canceled rows vs summary: {rows:?}");
    assert_eq!(rows.values().sum::<u64>(), u(&s["journal_records"]), "rows vs journal_records: {rows:?}");

    let (summary_realized, scale) = fixed(s["instruments"][0]["realized_pnl"].as_str().unwrap());
    assert_eq!(pnl_scale, Some(scale), "the journal and the summary give PnL at one scale");
    assert_eq!(realized, summary_realized, "the fills' realized PnL sums to the summary's");
    let (summary_fees, _) = fixed(s["instruments"][0]["fees"].as_str().unwrap());
    assert!(fees > 0, "taker fills pay fees");
    assert_eq!(fees, summary_fees, "the fills' fees sum to the summary's");
}

/// A daily loss limit small enough to trip on synthetic data halts entries for the day, while a
/// bracket's time exit still closes the position: HALTED stops new orders, exits still work.
#[test]
fn the_daily_loss_limit_halts_entries_while_exits_still_close_the_position() {
    let sb = Sandbox::new();
    let config = sb.config("c.toml", "", "[risk]\ndaily_loss_limit = \"0.05\"\n[strategy]\nmax_hold_ms = 5000\n");
    let out = sb.arg("run");
    sb.kestrel(&["paper", "--synth-duration", "10m", "--out", &out, "--config", &config]).code(0);
    let s = sb.summary("run");
    assert_eq!(s["trading_state"], "halted", "{s:#}");
    assert!(u(&s["risk_rejects"]["daily_loss_limit"]) > 0, "{s:#}");

    let csv_path = sb.arg("journal.csv");
    sb.kestrel(&["journal", "export", &out, "--out", &csv_path]).code(0);
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (kind, reason, purpose) = (col("kind"), col("reason"), col("purpose"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let halted_at = rows.iter().position(|r| r[reason] == "daily_loss_limit").expect("a daily_loss_limit block");
    let after = &rows[halted_at..];
    let orders = |exit: bool| after.iter().filter(|r| r[kind] == "order" && (r[purpose] != "entry") == exit).count();
    assert_eq!(orders(false), 0, "an entry order went out after the engine halted");
    assert!(orders(true) > 0, "no exit went out after the halt: the position was left open");
    assert!(after.iter().any(|r| r[kind] == "fill"), "the exit never filled");
}

// ---------------------------------------------------------------------------------------------
// 3. Determinism

#[test]
fn journals_do_not_depend_on_topology_or_wait_strategy() {
    let sb = Sandbox::new();
    let tape = sb.synth("t.tape", "60s");
    let config = sb.config("c.toml", "", "");
    let park = sb.config("park.toml", "wait = \"park\"", "");
    let small = cores() <= 5;

    let fused = sb.paper(&tape, &config, "fused", &["--topology", "fused"]);
    assert!(u(&fused["fills"]) > 0, "nothing to compare: {fused:#}");
    assert_eq!(fused["topology"], "fused");
    let again = sb.paper(&tape, &config, "fused2", &["--topology", "fused"]);
    let threaded = sb.paper(&tape, &config, "threaded", &["--topology", "threaded"]);
    assert_eq!(threaded["topology"], "threaded");
    if small {
        assert_eq!(threaded["wait"], "spin-yield", "threaded on {} cores", cores());
    }
    let parked = sb.paper(&tape, &park, "park", &["--topology", "threaded"]);
    assert_eq!(parked["topology"], "threaded");
    assert_eq!(parked["wait"], "park");

    let journal = sb.journal("fused");
    for (run, s) in [("fused2", &again), ("threaded", &threaded), ("park", &parked)] {
        assert!(sb.journal(run) == journal, "{run}/journal.kj differs from fused/journal.kj");
        for key in ["events", "decisions", "blocked", "orders", "fills", "rejects", "instruments", "journal_records"] {
            assert_eq!(s[key], fused[key], "{run}: summary {key}");
        }
    }

    // Lockstep: with no venue latency an order's fill comes back on the very next event, which the
    // threaded topology must wait for rather than race past.
    let zero = sb.config("zero.toml", "", "[exchange]\nentry_latency_us = 0\nresponse_latency_us = 0\n");
    let zf = sb.paper(&tape, &zero, "zero-fused", &["--topology", "fused"]);
    let zt = sb.paper(&tape, &zero, "zero-threaded", &["--topology", "threaded"]);
    assert!(u(&zf["fills"]) > 0, "nothing to compare: {zf:#}");
    assert!(
        sb.journal("zero-threaded") == sb.journal("zero-fused"),
        "zero latency: threaded journal differs from fused"
    );
    assert_eq!(zt["instruments"], zf["instruments"]);
    // (That latency changes what is traded at all is `pipeline_determinism::latency_changes_the_journal`.)
}

// ---------------------------------------------------------------------------------------------
// 4. Topology on a small machine

#[test]
fn busy_spin_threaded_is_refused_on_a_small_machine() {
    let n = cores();
    if n >= 6 {
        println!("skipped: {n} cores fit 4 busy-spinning hot threads and a cold one");
        return;
    }
    let sb = Sandbox::new();
    let config = sb.config("spin.toml", "wait = \"busy-spin\"", "");
    let r = sb.refused("run", &["--synth-duration", "60s", "--config", &config, "--topology", "threaded"]);
    r.code(2).err_has("busy-spin").err_has("spin-yield").err_has("park");
}

#[test]
fn auto_topology_is_fused_on_a_small_machine() {
    let sb = Sandbox::new();
    let tape = sb.synth("t.tape", "60s");
    let config = sb.config("c.toml", "", "");
    let s = sb.paper(&tape, &config, "run", &["--topology", "auto"]);
    assert_eq!(u(&s["cores"]), cores() as u64);
    let n = cores();
    if n > 5 {
        println!("skipped the assertion: on {n} cores auto may choose threaded (it chose {})", s["topology"]);
        return;
    }
    assert_eq!(s["topology"], "fused", "auto on {n} cores: {}", s["topology_reason"]);
    assert!(s["topology_reason"].as_str().unwrap().contains("auto"), "{}", s["topology_reason"]);
}

// ---------------------------------------------------------------------------------------------
// 5. Config errors

#[test]
fn bad_config_values_exit_2_naming_the_key_and_write_nothing() {
    let sb = Sandbox::new();
    let tape = sb.synth("t.tape", "60s");
    // (config file, [strategy] lines, what the message must name)
    let cases: [(&str, &str, &[&str]); 5] = [
        ("threshold.toml", "imbalance_threshold = 1.5", &["strategy.imbalance_threshold", "(0, 1]"]),
        // The synthetic instrument's quantities have three decimals.
        ("qty.toml", "order_qty = \"0.0101\"", &["strategy.order_qty", "0.0101", "SYNUSD", "scale"]),
        ("symbols.toml", "symbols = [\"ETHUSDT\"]", &["strategy.symbols", "ETHUSDT", "not on the tape", "SYNUSD"]),
        ("position.toml", "max_position = \"0.005\"", &["strategy.max_position", "order_qty"]),
        ("kind.toml", "kind = \"momentum\"", &["strategy.kind", "momentum", "imbalance"]),
    ];
    for (name, lines, needles) in cases {
        let config = sb.config(name, "", &format!("[strategy]\n{lines}\n"));
        let r = sb.refused("run", &["--tape", &tape, "--config", &config]);
        r.code(2).err_has(&config);
        for n in needles {
            r.err_has(n);
        }
    }
    let config = sb.config("wait.toml", "wait = \"spinny\"", "");
    sb.refused("run", &["--tape", &tape, "--config", &config]).code(2).err_has("engine.wait").err_has("spinny");
    let config = sb.config("speed.toml", "", "[replay]\nspeed = \"fast\"\n");
    sb.refused("run", &["--tape", &tape, "--config", &config]).code(2).err_has("replay.speed");

    // An existing empty --out is kept as it is: still empty.
    std::fs::create_dir(sb.path("empty")).unwrap();
    let out = sb.arg("empty");
    let config = sb.config("bad.toml", "", "[strategy]\nimbalance_threshold = 0\n");
    sb.kestrel(&["paper", "--tape", &tape, "--config", &config, "--out", &out]).code(2);
    assert_eq!(std::fs::read_dir(sb.path("empty")).unwrap().count(), 0, "a refused run wrote into --out");
}

/// Unknown keys and sections, type mismatches and TOML syntax errors: what the file says is wrong.
const UNPARSABLE: [(&str, &str, &str); 4] = [
    ("key.toml", "[engine]\npin_threads = false\ntopolgy = \"fused\"\n", "topolgy"),
    ("section.toml", "[engine]\npin_threads = false\n[stratgy]\nkind = \"imbalance\"\n", "stratgy"),
    ("type.toml", "[engine]\npin_threads = \"no\"\n", "pin_threads"),
    ("syntax.toml", "[engine]\npin_threads = false\n[strategy\n", "line 3"),
];

#[test]
fn unknown_keys_and_sections_are_refused_by_name_before_anything_is_written() {
    let sb = Sandbox::new();
    for (name, text, needle) in UNPARSABLE {
        std::fs::write(sb.path(name), text).unwrap();
        let config = sb.arg(name);
        sb.refused("run", &["--synth-duration", "60s", "--config", &config]).err_has(&config).err_has(needle);
    }
    // The key is named with what it could have been.
    let config = sb.arg("key.toml");
    sb.refused("run", &["--synth-duration", "60s", "--config", &config]).err_has("topology");
    // A missing config is a missing input (4).
    let missing = sb.arg("no-such.toml");
    sb.refused("run", &["--synth-duration", "60s", "--config", &missing]).code(4).err_has("no-such.toml");
}

#[test]
fn unknown_keys_and_sections_exit_2() {
    let sb = Sandbox::new();
    for (name, text, needle) in UNPARSABLE {
        std::fs::write(sb.path(name), text).unwrap();
        let config = sb.arg(name);
        sb.refused("run", &["--synth-duration", "60s", "--config", &config]).code(2).err_has(needle);
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Outputs that exist, missing and corrupt tapes, bad options

#[test]
fn a_non_empty_out_directory_is_refused_and_left_untouched() {
    let sb = Sandbox::new();
    let tape = sb.synth("t.tape", "60s");
    let config = sb.config("c.toml", "", "");
    std::fs::create_dir(sb.path("run")).unwrap();
    std::fs::write(sb.path("run/notes.txt"), "keep me").unwrap();
    std::fs::write(sb.path("run/journal.kj"), "an earlier run's journal").unwrap();
    let out = sb.arg("run");
    let r = sb.kestrel(&["paper", "--tape", &tape, "--config", &config, "--out", &out]);
    r.code(2).err_has(&out).err_has("not empty");
    let mut names: Vec<String> = std::fs::read_dir(sb.path("run"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["journal.kj", "notes.txt"]);
    assert_eq!(std::fs::read_to_string(sb.path("run/notes.txt")).unwrap(), "keep me");
    assert_eq!(std::fs::read_to_string(sb.path("run/journal.kj")).unwrap(), "an earlier run's journal");

    // An existing empty directory is fine.
    std::fs::create_dir(sb.path("empty")).unwrap();
    let s = sb.paper(&tape, &config, "empty", &[]);
    assert_eq!(s["events"], s["tape_records"]);
}

#[test]
fn a_missing_tape_exits_4_and_a_corrupt_one_5() {
    let sb = Sandbox::new();
    let config = sb.config("c.toml", "", "");
    let missing = sb.arg("no-such.tape");
    sb.refused("run", &["--tape", &missing, "--config", &config]).code(4).err_has("no-such.tape");

    let tape = sb.synth("t.tape", "60s");
    let mut bytes = std::fs::read(&tape).unwrap();
    let data_offset = u64::from_le_bytes(bytes[16..24].try_into().unwrap()) as usize;
    let records = u64::from_le_bytes(bytes[24..32].try_into().unwrap()) as usize;
    assert!(records > 100 && bytes.len() >= data_offset + records * 64, "{records} records from {data_offset}");
    bytes[data_offset + 64 * (records / 2) + 20] ^= 0x55;
    std::fs::write(sb.path("bad.tape"), &bytes).unwrap();
    let bad = sb.arg("bad.tape");
    sb.refused("run", &["--tape", &bad, "--config", &config]).code(5).err_has("bad.tape").err_has("checksum");
}

#[test]
fn a_bad_speed_exits_2() {
    let sb = Sandbox::new();
    let config = sb.config("c.toml", "", "");
    for speed in ["fast", "0x", "NaNx", "infx"] {
        sb.refused("run", &["--synth-duration", "60s", "--config", &config, "--speed", speed])
            .code(2)
            .err_has("--speed");
    }
    let r = sb.refused("run", &["--synth-duration", "60s", "--config", &config, "--topology", "sideways"]);
    r.code(2).err_has("sideways");
}

// ---------------------------------------------------------------------------------------------
// 7. Pacing

#[test]
fn a_paced_replay_takes_at_least_the_scaled_tape_time() {
    let sb = Sandbox::new();
    let tape = sb.synth("t.tape", "2s");
    let config = sb.config("c.toml", "", "");
    let s = sb.paper(&tape, &config, "run", &["--speed", "20x"]);
    assert_eq!(s["speed"], "20x");
    assert_eq!(s["events"], s["tape_records"]);
    let (span, elapsed) = (s["tape_span_s"].as_f64().unwrap(), s["elapsed_s"].as_f64().unwrap());
    assert!(span > 1.5, "a 2 s tape spans {span} s");
    assert!(
        elapsed >= span / 20.0 * 0.9,
        "20x replay of {span} s of tape took {elapsed} s: pacing did not hold it back"
    );
    assert_eq!(run_config(&sb.path("run")).replay.speed, "20x", "config.toml records the --speed override");
}

// ---------------------------------------------------------------------------------------------
// 8. --json

#[test]
fn json_prints_the_summary_document() {
    let sb = Sandbox::new();
    let tape = sb.synth("t.tape", "60s");
    let config = sb.config("c.toml", "", "");
    let out = sb.arg("run");
    let r = sb.kestrel(&["paper", "--tape", &tape, "--config", &config, "--out", &out, "--json"]);
    r.code(0);
    let printed: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e})\n{}", r.show()));
    let file = sb.summary("run");
    assert!(u(&file["events"]) > 0 && u(&file["fills"]) > 0, "{file:#}");
    assert_eq!(printed["events"], file["events"]);
    assert_eq!(printed["fills"], file["fills"]);
    assert_eq!(printed, file, "--json prints summary.json");
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    let sb = Sandbox::new();
    let tape = sb.synth("t.tape", "60s");
    let config = sb.config("c.toml", "", "");
    for (run, json) in [("json", true), ("table", false)] {
        let out = sb.arg(run);
        let mut args = vec!["paper", "--tape", &tape, "--config", &config, "--out", &out];
        if json {
            args.push("--json");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_kestrel"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // nobody reads: every write to stdout fails with EPIPE
        let done = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(!stderr.contains("panicked"), "{run}: panicked on a closed stdout\n{stderr}");
        assert_eq!(done.status.code(), Some(0), "{run}: {}\n{stderr}", done.status);
        assert!(sb.path(run).join("summary.json").exists());
    }
}

// ---------------------------------------------------------------------------------------------
// 9. The shipped config is the code's defaults

#[test]
fn the_shipped_default_config_is_the_codes_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/default.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed = config::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed, RawConfig::default(), "configs/default.toml and RawConfig::default() have drifted apart");

    // Every section and key is spelled out (a missing key would parse to its default unnoticed).
    let mut in_file: BTreeSet<String> = BTreeSet::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            in_file.insert(section.clone());
        } else if let Some((key, _)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
            in_file.insert(format!("{section}.{}", key.trim()));
        }
    }
    let defaults = serde_json::to_value(RawConfig::default()).unwrap();
    let mut in_code: BTreeSet<String> = BTreeSet::new();
    for (section, keys) in defaults.as_object().unwrap() {
        in_code.insert(section.clone());
        for key in keys.as_object().unwrap().keys() {
            in_code.insert(format!("{section}.{key}"));
        }
    }
    assert_eq!(in_file, in_code, "configs/default.toml does not spell out every key");
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C

/// Ctrl-C during a paced replay ends it after the event in hand: exit 130, and a complete run
/// directory whose summary says it stopped early and whose journal exports.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_replay_and_keeps_the_run_directory() {
    let sb = Sandbox::new();
    let tape = sb.synth("t.tape", "60s");
    let cfg = sb.config("c.toml", "", "");
    let out = sb.path("run");
    let child = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["paper", "--tape", &tape, "--config", &cfg, "--speed", "1x", "--out", out.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The journal exists once the run is prepared (and the handler installed just after): wait for
    // it, then a little more, then interrupt. A 60 s tape at 1x is far from over by then.
    for _ in 0..500 {
        if out.join("journal.kj").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "exit status {:?}\n{stderr}", output.status);
    assert!(stderr.contains("stopped early"), "{stderr}");
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["stopped_early"], true);
    let (events, records) = (summary["events"].as_u64().unwrap(), summary["tape_records"].as_u64().unwrap());
    assert!(events < records, "{events} of {records} events");
    for f in RUN_FILES {
        assert!(out.join(f).exists(), "{f} missing after Ctrl-C");
    }
    let csv = sb.path("j.csv");
    sb.kestrel(&["journal", "export", out.to_str().unwrap(), "--format", "csv", "--out", csv.to_str().unwrap()])
        .code(0);
}
