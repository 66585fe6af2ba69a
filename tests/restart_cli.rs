//! Restart: `kestrel paper` killed with SIGKILL mid-replay, then resumed with `--resume`, ends with
//! the journal (so the positions) of an uninterrupted run, and the killed run's journal already
//! holds the positions the uninterrupted run had at the same tape point.

#[path = "support/cli.rs"]
#[allow(dead_code)]
mod cli;

use kestrel_engine::journal::{Journal, Recovered};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A config whose runs keep orders resting at the exchange (joined entries with a TTL), so that
/// working orders, partial fills and cancels are in flight when the process dies.
const CONFIG: &str =
    "[strategy]\nentry = \"join\"\njoin_ttl_ms = 3000\ncooldown_ms = 100\n[engine]\npin_threads = false\n";

fn run(dir: &Path, args: &[&str]) -> cli::Run {
    cli::kestrel_in(Some(dir), args)
}

#[test]
fn a_run_killed_mid_replay_resumes_to_the_journal_of_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.toml"), CONFIG).unwrap();
    let tape = ["--synth-duration", "5m"];

    let whole = [&tape[..], &["--config", "c.toml", "--out", "whole"]].concat();
    run(d, &[&["paper"][..], &whole].concat()).code(0);
    let reference = Journal::open_read_only(d.join("whole/journal.kj")).unwrap();

    // The same run paced at 20x (15 s for 5 min of tape), killed once it has journaled a fair part.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .current_dir(d)
        .args(["paper", "--synth-duration", "5m", "--config", "c.toml", "--out", "killed", "--speed", "20x"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let target = reference.len() / 3;
    // Polls for up to 2 minutes (6000 × 20 ms): the paced run needs about 5 s to get there.
    for polls in 0.. {
        let written = Journal::open_read_only(d.join("killed/journal.kj")).map_or(0, |j| j.len());
        if written >= target {
            break;
        }
        assert!(polls < 6000, "the paced run wrote {written} of {target} records");
        assert!(child.try_wait().unwrap().is_none(), "the paced run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no handler runs, the journal is left as the kernel has it
    child.wait().unwrap();
    assert!(!d.join("killed/summary.json").exists(), "the run finished before it was killed");

    // What the killed run had journaled is the uninterrupted run's journal up to that point, so the
    // positions and working orders recovered from it are the uninterrupted run's at that tape point.
    let killed = Journal::open_read_only(d.join("killed/journal.kj")).unwrap();
    let n = killed.len();
    assert!(n >= target && n < reference.len(), "killed after {n} of {} records", reference.len());
    assert!(killed.records() == &reference.records()[..n], "the killed run's records differ from the reference");
    let recovered = Recovered::from_records(killed.records(), 1);
    let expected = Recovered::from_records(&reference.records()[..n], 1);
    assert_eq!(recovered, expected);
    assert!(recovered.positions[0].fills > 0, "no fills before the kill: nothing was tested");

    // Resumed: the replay checks every old record, reconciles, and trades on to the end.
    let resumed = run(d, &[&["paper"][..], &tape, &["--resume", "killed", "--json"]].concat());
    resumed.code(0).err_has("resuming killed");
    assert!(
        std::fs::read(d.join("killed/journal.kj")).unwrap() == std::fs::read(d.join("whole/journal.kj")).unwrap(),
        "the resumed journal differs from the uninterrupted run's"
    );
    let whole_summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("whole/summary.json")).unwrap()).unwrap();
    let summary = resumed.json();
    assert_eq!(summary["instruments"], whole_summary["instruments"], "final positions and PnL");
    assert_eq!(summary["resumed_after_records"], n as u64);
}

#[test]
fn a_resume_with_another_config_or_tape_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("c.toml"), CONFIG).unwrap();
    run(d, &["paper", "--synth-duration", "2m", "--config", "c.toml", "--out", "r"]).code(0);
    let before = std::fs::read(d.join("r/journal.kj")).unwrap();

    run(d, &["paper", "--synth-duration", "3m", "--resume", "r"]).code(2).err_has("another tape");

    // The run directory's config.toml is the one a resume uses: edit what it trades.
    let cfg = d.join("r/config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("taker_bps = 5.0", "taker_bps = 4.0")).unwrap();
    run(d, &["paper", "--synth-duration", "2m", "--resume", "r"]).code(2).err_has("config differs");
    assert!(std::fs::read(d.join("r/journal.kj")).unwrap() == before, "a refused resume touched the journal");

    // --resume takes the directory's own config: --config alongside it is a usage error.
    run(d, &["paper", "--resume", "r", "--config", "c.toml"]).code(2);
}
