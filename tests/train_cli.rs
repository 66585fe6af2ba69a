//! `kestrel train` end to end: the shipped models are what `--defaults` makes, byte for byte; training
//! on a tape prints the walk-forward validation and writes models the engine loads; refusals exit
//! non-zero and say why; the dataset CSV has the documented columns.

#[allow(dead_code)]
#[path = "support/cli.rs"]
mod cli;

use cli::kestrel_in;
use kestrel_infer::LoadedModel;
use kestrel_tools::synth::{self, SynthConfig};
use std::path::{Path, PathBuf};

fn kestrel(args: &[&str]) -> cli::Run {
    kestrel_in(None, args)
}

fn synth_tape(dir: &Path, seed: u64, minutes: u64) -> PathBuf {
    let path = dir.join(format!("s{seed}_{minutes}m.tape"));
    let cfg = SynthConfig { seed, duration_ns: minutes * 60_000_000_000, ..SynthConfig::default() };
    synth::write_tape(&cfg, &path).expect("synthetic tape");
    path
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// What keeps models/ honest: the committed files are exactly what the documented command makes.
#[test]
fn defaults_reproduce_the_shipped_models_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("models");
    // SOURCE_DATE_EPOCH must not leak into --defaults (created_at is the tape's last event).
    let exe = env!("CARGO_BIN_EXE_kestrel");
    let run = std::process::Command::new(exe)
        .args(["train", "--defaults", "--out", s(&out)])
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    for f in [
        "pwin.onnx",
        "pwin.card.json",
        "slippage.onnx",
        "slippage.card.json",
        "report/metrics.json",
        "report/reliability.svg",
    ] {
        let made = std::fs::read(out.join(f)).unwrap();
        let committed = std::fs::read(shipped.join(f)).unwrap_or_else(|e| panic!("models/{f}: {e}"));
        assert!(
            made == committed,
            "models/{f} differs from what `kestrel train --defaults` makes: regenerate it with \
             `kestrel train --defaults --force` (see models/README.md)\n{stdout}"
        );
    }
    // And the shipped models load in the engine.
    for m in ["pwin.onnx", "slippage.onnx"] {
        LoadedModel::open(&shipped.join(m)).unwrap_or_else(|e| panic!("models/{m}: {e}"));
    }
}

#[test]
fn training_on_a_tape_prints_the_walk_forward_and_writes_loadable_models() {
    let dir = tempfile::tempdir().unwrap();
    let tape = synth_tape(dir.path(), 5, 20);
    let out = dir.path().join("m");
    let csv = dir.path().join("c.csv");
    let run = kestrel(&[
        "train",
        "--tape",
        s(&tape),
        "--out",
        s(&out),
        "--splits",
        "3",
        "--kfold",
        "3",
        "--dataset-out",
        s(&csv),
    ]);
    run.code(0)
        .out_has("candidates (")
        .out_has("walk-forward: 3 folds, embargo 1m after each test block")
        .out_has("test block from")
        .out_has("pooled out-of-sample (walk-forward")
        .out_has("Brier skill")
        .out_has("verdict: ")
        .out_has("reliability of the pooled out-of-sample p(win) (10 bins)")
        .out_has("slippage ridge (walk-forward, out of sample): MAE")
        .out_has("purged 3-fold (check)")
        .out_has("checked: both models load");
    // One table row per fold.
    let folds: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.split_whitespace().next().is_some_and(|w| ["1", "2", "3"].contains(&w)))
        .collect();
    assert_eq!(folds.len(), 3, "{}", run.stdout);

    let pwin = LoadedModel::open(&out.join("pwin.onnx")).unwrap();
    let slip = LoadedModel::open(&out.join("slippage.onnx")).unwrap();
    let engine_hash = kestrel_infer::card::engine_schema_hash();
    for m in [&pwin, &slip] {
        assert_eq!(m.card().schema.hash, engine_hash);
        assert_eq!(m.card().schema.version, kestrel_engine::features::SCHEMA_VERSION);
    }
    assert_eq!(pwin.card().role, "pwin");
    assert_eq!(slip.card().role, "slippage");
    assert!(pwin.card().trade.is_some());
    assert!(out.join("report/metrics.json").is_file() && out.join("report/reliability.svg").is_file());
    kestrel(&["models", "check", s(&out.join("pwin.onnx"))]).code(0);

    // The CSV: documented leading columns, then the model's features in its order.
    let text = std::fs::read_to_string(&csv).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert_eq!(&header[..6], ["ts_ns", "symbol", "side", "win", "ret_bps", "slippage_bps"]);
    let features: Vec<&str> = pwin.card().features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(&header[6..], features.as_slice());
    assert_eq!(text.lines().count() - 1, pwin.card().training.samples);

    // Outputs that exist are refused without --force; with it, the same bytes again.
    let before = std::fs::read(out.join("pwin.onnx")).unwrap();
    kestrel(&["train", "--tape", s(&tape), "--out", s(&out), "--splits", "3", "--kfold", "3"])
        .code(2)
        .err_has("already exists")
        .err_has("--force");
    kestrel(&["train", "--tape", s(&tape), "--out", s(&out), "--splits", "3", "--kfold", "3", "--force"]).code(0);
    assert_eq!(std::fs::read(out.join("pwin.onnx")).unwrap(), before);
}

#[test]
fn refusals_exit_non_zero_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let tape = synth_tape(dir.path(), 9, 6);
    let out = dir.path().join("m");
    let t = s(&tape);
    let o = s(&out);

    // No candidates: an imbalance threshold no two-sided book reaches.
    let never = dir.path().join("never.toml");
    std::fs::write(&never, "[strategy]\nimbalance_threshold = 1.0\n").unwrap();
    kestrel(&["train", "--tape", t, "--out", o, "--config", s(&never)]).code(2).err_has("no candidates");

    // One class: barriers out of reach, and a fee no minute's move beats.
    let costly = dir.path().join("costly.toml");
    std::fs::write(&costly, "[fees]\ntaker_bps = 1000.0\n").unwrap();
    kestrel(&["train", "--tape", t, "--out", o, "--config", s(&costly), "--min-bps", "5000"])
        .code(2)
        .err_has("only one class")
        .err_has("losses");

    // Too few samples per fold, with what to try.
    kestrel(&["train", "--tape", t, "--out", o, "--splits", "60"])
        .code(2)
        .err_has("too few samples")
        .err_has("--splits");

    // Nothing was written by any refusal.
    assert!(!out.exists());

    // Bad input: a missing tape (4), a file that is not a tape (5), a bad config key (2), bad options (2).
    kestrel(&["train", "--tape", s(&dir.path().join("nope.tape")), "--out", o]).code(4).err_has("nope.tape");
    let junk = dir.path().join("junk.tape");
    std::fs::write(&junk, vec![7u8; 9000]).unwrap();
    kestrel(&["train", "--tape", s(&junk), "--out", o]).code(5).err_has("junk.tape");
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "[strategy]\nimbalance_treshold = 0.5\n").unwrap();
    kestrel(&["train", "--tape", t, "--out", o, "--config", s(&typo)]).code(2).err_has("imbalance_treshold");
    kestrel(&["train", "--tape", t, "--out", o, "--calibration", "magic"]).code(2);
    kestrel(&["train", "--tape", t, "--out", o, "--l2=-1"]).code(2).err_has("--l2");
    kestrel(&["train", "--tape", t, "--out", o, "--exclude", "no_such_feature"]).code(2).err_has("no_such_feature");
    kestrel(&["train", "--out", o]).code(2).err_has("--tape");
    kestrel(&["train", "--defaults", "--tape", t]).code(2);
}

#[test]
fn help_explains_every_option() {
    let run = kestrel(&["train", "--help"]);
    run.code(0);
    for opt in [
        "--tape",
        "--defaults",
        "--config",
        "--out",
        "--report",
        "--calibration",
        "--splits",
        "--kfold",
        "--embargo",
        "--profit-mult",
        "--stop-mult",
        "--min-bps",
        "--max-hold",
        "--l2",
        "--isotonic-knots",
        "--exclude",
        "--dataset-out",
        "--force",
        "What it prints",
        "Exit codes",
    ] {
        run.out_has(opt);
    }
}

#[test]
fn a_paper_run_is_training_data_and_a_run_that_changed_is_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let tape = synth_tape(dir.path(), 13, 12);
    let run = dir.path().join("run");
    // With the shipped models, so the journal also holds what they saw for every candidate.
    kestrel_in(Some(root), &["paper", "--tape", s(&tape), "--config", "configs/models.toml", "--out", s(&run)]).code(0);
    let journal = kestrel_engine::journal::Journal::open_read_only(run.join("journal.kj")).unwrap();
    let candidates = kestrel_engine::journal::entry_candidates(&journal).unwrap();
    let seen = candidates.iter().filter(|c| c.seen.is_some()).count();
    assert!(seen > 100, "{seen} candidates with features");

    // Default splits: a 12-minute run cannot fill 5 walk-forward folds with a 60 s embargo, and
    // training says so and uses fewer instead of refusing.
    let out = dir.path().join("m");
    let trained = kestrel(&["train", "--run", s(&run), "--out", s(&out)]);
    trained.code(0).out_has("journaled candidates").out_has("pooled out-of-sample");
    // Every entry candidate of the run is a training example but those refused for the spread and
    // those whose label the tape's end cut off.
    let line = trained.stdout.lines().find(|l| l.contains("journaled candidates")).unwrap().to_string();
    let number = |after: &str| -> usize {
        let words: Vec<&str> = line.split_whitespace().collect();
        words
            .iter()
            .position(|w| w.starts_with(after))
            .map_or(0, |k| words[k - 1].trim_start_matches('(').replace(',', "").parse().unwrap())
    };
    let dropped = number("undecided") + number("without") + number("refused");
    assert_eq!(number("journaled") + dropped, candidates.len(), "{line}");
    assert!(number("journaled") > 100, "{line}");
    let card = kestrel_infer::ModelCard::load(&out.join("pwin.card.json")).unwrap();
    assert!(card.training.tapes[0].contains("candidates of run"), "{:?}", card.training.tapes);
    LoadedModel::open(&out.join("pwin.onnx")).unwrap();

    // Another tape than the run's: refused by its data CRC.
    let other = synth_tape(dir.path(), 14, 2);
    let wrong = format!("{}={}", s(&run), s(&other));
    kestrel(&["train", "--run", &wrong, "--out", s(&out), "--force"]).code(2).err_has("is not the tape run");
    // The run's [features] edited since: the features the models saw differ from the replay's.
    let cfg = run.join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    // (A session that opens at 06:00 rather than midnight: the profile, CVD and session clock differ.)
    assert!(text.contains("session_offset_hours = 0.0"), "{text}");
    std::fs::write(&cfg, text.replace("session_offset_hours = 0.0", "session_offset_hours = 6.0")).unwrap();
    kestrel(&["train", "--run", s(&run), "--out", s(&out), "--force"])
        .code(2)
        .err_has("when the models saw it")
        .err_has("does not match the run");
    // --config is for tapes; a run has its own.
    kestrel(&["train", "--run", s(&run), "--config", s(&cfg), "--out", s(&out), "--force"]).code(2).err_has("--config");
    kestrel(&["train", "--run", s(&dir.path().join("nowhere")), "--out", s(&out), "--force"])
        .code(2)
        .err_has("nowhere");
}
