//! Models on a running engine: `kestrel paper` replaying a paced tape while `kestrel models swap`
//! and `rollback` change its p(win) model. No event is lost, the new model is live from the event the
//! engine reports, a corrupt or mismatched file is refused while the live model keeps trading, a
//! rollback restores the previous model, and decide's latency inside the swap window is recorded
//! apart.

#[path = "support/cli.rs"]
#[allow(dead_code)]
mod cli;

use kestrel_engine::journal::{EntryKind, Journal};
use kestrel_infer::card::ModelCard;
use kestrel_infer::{LinearModel, Link, card_path_for};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const FEATURES: [&str; 3] = ["imbalance_l1", "spread_bps", "vol_ewma_10s"];

/// Writes a p(win) model `sigmoid(w·x + b)` over [`FEATURES`] as `dir/name.onnx` + card (version `name`).
fn pwin_model(dir: &Path, name: &str, weights: [f32; 3], bias: f32) -> PathBuf {
    let model = LinearModel {
        input_name: "features".into(),
        output_name: "p_win".into(),
        weights: weights.to_vec(),
        bias,
        link: Link::Sigmoid,
        calibration: None,
    };
    let onnx = dir.join(format!("{name}.onnx"));
    kestrel_infer::linear_file::write_linear(&onnx, &model, "pwin", name, &FEATURES).unwrap();
    onnx
}

/// Rule candidates on every imbalance of 0.3 or more, gated by the model at 0.5: model A passes the
/// strong-imbalance side, model B (opposite sign) the other, so a swap changes what is traded.
const CONFIG: &str = "[engine]\npin_threads = false\n[strategy]\nentry = \"market\"\nimbalance_threshold = 0.3\n\
    cooldown_ms = 200\nmin_pwin = 0.5\nmin_ev_bps = -1000.0\n[models]\npwin = \"a.onnx\"\n";

fn models_cmd(dir: &Path, args: &[&str]) -> cli::Run {
    cli::kestrel_in(Some(dir), &[&["models"][..], args].concat())
}

#[test]
fn swaps_and_rollbacks_on_a_running_replay_lose_no_event_and_refuse_bad_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("c.toml"), CONFIG).unwrap();
    pwin_model(d, "a", [4.0, 0.0, 0.0], 0.0);
    pwin_model(d, "b", [-4.0, 0.0, 0.0], 0.0);
    // A truncated copy of b, and a model whose card names a feature the engine does not have.
    let bytes = std::fs::read(d.join("b.onnx")).unwrap();
    std::fs::write(d.join("torn.onnx"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(d.join("b.card.json"), d.join("torn.card.json")).unwrap();
    pwin_model(d, "alien", [1.0, 0.0, 0.0], 0.0);
    let card = std::fs::read_to_string(d.join("alien.card.json")).unwrap().replace("vol_ewma_10s", "moon_phase");
    std::fs::write(d.join("alien.card.json"), card).unwrap();

    // 5 minutes of synthetic tape paced at 20x: about 15 s of replay to swap in.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .current_dir(d)
        .args(["paper", "--synth-duration", "5m", "--config", "c.toml", "--out", "run", "--speed", "20x", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for polls in 0.. {
        if Journal::open_read_only(d.join("run/journal.kj")).is_ok_and(|j| j.len() > 50) {
            break;
        }
        assert!(polls < 3000, "the paced run journaled nothing in a minute");
        assert!(child.try_wait().unwrap().is_none(), "the paced run ended before any swap");
        std::thread::sleep(Duration::from_millis(20));
    }

    let swap = models_cmd(d, &["swap", "pwin", "b.onnx", "--run", "run"]);
    swap.code(0).out_has("swapped in version b").out_has("shadow:");
    models_cmd(d, &["swap", "pwin", "torn.onnx", "--run", "run"]).code(5).err_has("torn.onnx");
    models_cmd(d, &["swap", "pwin", "alien.onnx", "--run", "run"]).code(5).err_has("moon_phase");
    models_cmd(d, &["swap", "slippage", "b.onnx", "--run", "run"]).code(5).err_has("not a slippage model");
    models_cmd(d, &["rollback", "pwin", "--run", "run"]).code(0).out_has("rolled back");
    models_cmd(d, &["rollback", "pwin", "--run", "run"]).code(5).err_has("no earlier pwin model");

    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "paper run failed: {}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["events"], summary["tape_records"], "events lost across the swaps");
    assert_eq!(summary["stopped_early"], false);

    // The journal: the starting model, then two swaps applied (b, then a again), with trades before,
    // between and after.
    let journal = Journal::open_read_only(d.join("run/journal.kj")).unwrap();
    let all: Vec<_> = journal.records().iter().filter(|r| r.kind() == Some(EntryKind::ModelSwap)).collect();
    assert_eq!(all.len(), 3, "the starting model, one swap and one rollback: {all:?}");
    let (a, b) = (version_of(d, "a"), version_of(d, "b"));
    assert_eq!((all[0].event_seq, all[0].order_id, all[0].value), (0, a, 0), "a is live from the first event");
    let swaps = &all[1..];
    assert_eq!((swaps[0].order_id, swaps[0].value as u64), (b, a), "swap: b replaces a");
    assert_eq!((swaps[1].order_id, swaps[1].value as u64), (a, b), "rollback: a replaces b");
    let decisions_between = journal
        .records()
        .iter()
        .filter(|r| r.kind() == Some(EntryKind::Decision))
        .filter(|r| r.event_seq > swaps[0].event_seq && r.event_seq < swaps[1].event_seq)
        .count();
    let decisions = journal.records().iter().filter(|r| r.kind() == Some(EntryKind::Decision)).count();
    assert!(decisions > decisions_between, "model a traded nothing");

    // Decide's latency inside the swap windows is its own histogram.
    let latency: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/latency.json")).unwrap()).unwrap();
    let text = latency.to_string();
    assert!(text.contains("decide_in_swap"), "no decide_in_swap metric in latency.json: {text}");
    let log = std::fs::read_to_string(d.join("run/models.log")).unwrap();
    assert_eq!(log.lines().count(), 6, "every request answered and logged:\n{log}");
}

fn version_of(dir: &Path, name: &str) -> u64 {
    ModelCard::load(&card_path_for(&dir.join(format!("{name}.onnx")))).unwrap().version_hash()
}

#[test]
fn the_shipped_models_config_runs_with_both_models_scoring_every_candidate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let run = cli::kestrel_in(
        Some(root),
        &[
            "paper",
            "--config",
            "configs/models.toml",
            "--synth-duration",
            "5m",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    let summary = run.code(0).json();
    for role in ["pwin", "slippage"] {
        let calls = &summary["models"][role]["calls"];
        assert!(calls.as_u64().is_some_and(|c| c > 0), "{role} never scored: {}", summary["models"]);
        assert_eq!(summary["models"][role]["faults"]["error"], 0, "{}", summary["models"]);
    }
}
