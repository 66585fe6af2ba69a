//! How `kestrel models swap|rollback` reaches a running `kestrel paper`: request and outcome files in
//! the run directory's `control/` folder.
//!
//! A file, not a socket: the run directory is already the one thing a user points at, it needs no
//! port or permission, and it leaves a record of every request next to the journal. A request is
//! written to a temporary name and renamed into place, so the engine never reads half of one; the
//! engine answers with `ID.outcome.json` (also renamed into place) and renames the request to
//! `ID.done.json`.
#![allow(clippy::disallowed_methods, reason = "waiting for the engine's answer is wall time; request ids sort by it")]

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const CONTROL_DIR: &str = "control";
const REQUEST: &str = ".request.json";
const OUTCOME: &str = ".outcome.json";
const DONE: &str = ".done.json";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Swap,
    Rollback,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: String,
    pub action: Action,
    /// `pwin` or `slippage`.
    pub role: String,
    /// The new model (absolute path) for a swap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

/// What the engine did with a request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub id: String,
    pub ok: bool,
    /// One line a person reads: what happened, or why it was refused.
    pub message: String,
    /// The live model's version for the role afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_version: Option<String>,
    /// Shadow scoring of the new model beside the live one (swaps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<super::shadow::ShadowReport>,
    /// From the start of loading to the old model freed, in milliseconds of wall time.
    pub window_ms: f64,
    /// Events the engine had processed when the new model went live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_from_event: Option<u64>,
}

pub fn control_dir(run_dir: &Path) -> PathBuf {
    run_dir.join(CONTROL_DIR)
}

fn write_atomically(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)? + "\n";
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Puts a request in the run's inbox; returns its id.
pub fn submit(run_dir: &Path, mut request: Request) -> anyhow::Result<String> {
    let dir = control_dir(run_dir);
    if !run_dir.join(kestrel_engine::paper::JOURNAL_FILE).exists() {
        anyhow::bail!(
            "{}: not a run directory (no {}); give the --out directory of a running `kestrel paper`",
            run_dir.display(),
            kestrel_engine::paper::JOURNAL_FILE
        );
    }
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    request.id = new_id();
    let path = dir.join(format!("{}{REQUEST}", request.id));
    write_atomically(&path, &request).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(request.id)
}

/// Waits for the engine's answer to request `id`.
pub fn wait_outcome(run_dir: &Path, id: &str, timeout: Duration) -> anyhow::Result<Outcome> {
    let path = control_dir(run_dir).join(format!("{id}{OUTCOME}"));
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&path) {
            return serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
        }
        if start.elapsed() > timeout {
            anyhow::bail!(
                "no answer from the engine after {}: is `kestrel paper` still running with --out {}? The request \
                 stays in {} and is applied if the run picks it up later",
                humantime::format_duration(timeout),
                run_dir.display(),
                control_dir(run_dir).display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The engine's side: requests waiting, oldest first. A file that does not parse is answered with a
/// refusal (and set aside) rather than retried forever.
pub fn take_requests(run_dir: &Path) -> Vec<Request> {
    let dir = control_dir(run_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(REQUEST)))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let id = name.trim_end_matches(REQUEST).to_string();
        let done = dir.join(format!("{id}{DONE}"));
        match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Request>(&t).map_err(|e| format!("not a request: {e}")))
        {
            Ok(mut req) => {
                req.id = id;
                out.push(req);
            }
            Err(why) => answer(
                run_dir,
                &Outcome {
                    id: id.clone(),
                    ok: false,
                    message: format!("{}: {why}", path.display()),
                    ..Outcome::default()
                },
            ),
        }
        let _ = std::fs::rename(&path, &done);
    }
    out
}

/// Writes the engine's answer.
pub fn answer(run_dir: &Path, outcome: &Outcome) {
    let path = control_dir(run_dir).join(format!("{}{OUTCOME}", outcome.id));
    if let Err(e) = write_atomically(&path, outcome) {
        eprintln!("kestrel: could not write {}: {e}", path.display());
    }
}

fn new_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{nanos:024}-{}", std::process::id())
}
