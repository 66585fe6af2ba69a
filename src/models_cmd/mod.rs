//! `kestrel models`: check a model file, and swap or roll back models on a running paper run.
//!
//! - [`inbox`]: the request/outcome files in a run directory through which this command reaches the
//!   running engine;
//! - [`manager`]: the engine's cold thread that serves them (load, check, shadow, hand over, free);
//! - [`shadow`]: the new model scored beside the live one on the engine's recent candidates;
//! - [`recent`]: those candidates, read back from the journal the hot side writes;
//! - [`setup`]: the models a paper run starts with, from `[models]`.

pub mod inbox;
pub mod manager;
pub mod recent;
pub mod setup;
pub mod shadow;

use crate::exit::UsageError;
use clap::{Args, Subcommand};
use kestrel_engine::decide::model::{ModelRole, Scorer};
use kestrel_infer::{Backend, LoadedModel};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Check a model file as the engine would load it, and time it
    ///
    /// Reads NAME.onnx and NAME.card.json beside it, checks the card against this engine's feature
    /// schema and the graph's input and output against the card, optimises it, scores probe rows, and
    /// prints what the model reads, the backend the hot loop would use and the time per inference.
    /// Exits 0 when the engine would accept the file, 5 when it would refuse it (with the reason).
    #[command(after_help = "Examples:\n  kestrel models check models/pwin.onnx\n  \
        kestrel models check my_model.onnx --backend tract")]
    Check(CheckArgs),
    /// Swap a model into a running paper run (kestrel paper --out RUN_DIR)
    ///
    /// The engine loads and checks FILE on its cold thread, scores it in shadow beside the live model
    /// on its recent candidates, hands it to the decide stage between two events and frees the old
    /// one. A corrupt or mismatched file is refused with the reason and the live model keeps running.
    /// Prints the outcome (with the shadow comparison) and exits non-zero if the swap was refused.
    #[command(after_help = "Example:\n  kestrel models swap pwin models/pwin.onnx --run runs/live1")]
    Swap(SwapArgs),
    /// Roll a running paper run back to the model its last swap replaced
    #[command(after_help = "Example:\n  kestrel models rollback pwin --run runs/live1")]
    Rollback(RollbackArgs),
    /// List the models in a directory (default models/) with their versions and validation metrics
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The model: NAME.onnx, with NAME.card.json beside it
    file: PathBuf,
    /// Backend to check: auto (native when the graph is Kestrel's linear form, else tract), tract, native
    #[arg(long, default_value = "auto", value_parser = parse_backend)]
    backend: Backend,
}

#[derive(Debug, Args)]
pub struct SwapArgs {
    /// pwin or slippage
    #[arg(value_parser = parse_role)]
    role: ModelRole,
    /// The new model: NAME.onnx, with NAME.card.json beside it
    file: PathBuf,
    /// The run directory of the running `kestrel paper` (its --out)
    #[arg(long, value_name = "RUN_DIR")]
    run: PathBuf,
    /// How long to wait for the engine's answer
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// pwin or slippage
    #[arg(value_parser = parse_role)]
    role: ModelRole,
    #[arg(long, value_name = "RUN_DIR")]
    run: PathBuf,
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(default_value = "models")]
    dir: PathBuf,
}

fn parse_role(s: &str) -> Result<ModelRole, String> {
    ModelRole::parse(s).ok_or_else(|| format!("`{s}`: use pwin or slippage"))
}

pub fn parse_backend(s: &str) -> Result<Backend, String> {
    match s {
        "auto" => Ok(Backend::Auto),
        "tract" => Ok(Backend::Tract),
        "native" => Ok(Backend::Native),
        _ => Err(format!("`{s}`: use auto, tract or native")),
    }
}

pub fn run(cmd: ModelsCommand) -> anyhow::Result<()> {
    match cmd {
        ModelsCommand::Check(a) => check(&a.file, a.backend),
        ModelsCommand::Swap(a) => {
            let file = std::path::absolute(&a.file).map_err(|e| anyhow::anyhow!("{}: {e}", a.file.display()))?;
            if !file.exists() {
                return Err(UsageError(format!("{}: no such file", file.display())).into());
            }
            let req = inbox::Request {
                id: String::new(),
                action: inbox::Action::Swap,
                role: a.role.as_str().into(),
                file: Some(file),
            };
            request(&a.run, req, a.timeout)
        }
        ModelsCommand::Rollback(a) => {
            let req = inbox::Request {
                id: String::new(),
                action: inbox::Action::Rollback,
                role: a.role.as_str().into(),
                file: None,
            };
            request(&a.run, req, a.timeout)
        }
        ModelsCommand::List(a) => list(&a.dir),
    }
}

/// Refused by the engine (exit code 5, like a corrupt file).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn request(run_dir: &Path, req: inbox::Request, timeout: Duration) -> anyhow::Result<()> {
    let id = inbox::submit(run_dir, req)?;
    let outcome = inbox::wait_outcome(run_dir, &id, timeout)?;
    if let Some(s) = &outcome.shadow {
        let live = s.live_mean.map_or("none".into(), |m| format!("{m:.4}"));
        println!(
            "shadow: {} recent candidates, mean output new {:.4} vs live {live}, mean |diff| {}, gate flips {}",
            s.rows,
            s.new_mean,
            s.mean_abs_diff.map_or("-".into(), |d| format!("{d:.4}")),
            s.gate_flips.map_or("-".into(), |f| f.to_string())
        );
    }
    if !outcome.ok {
        return Err(Refused(outcome.message).into());
    }
    println!("{} (swap window {:.1} ms)", outcome.message, outcome.window_ms);
    Ok(())
}

fn check(file: &Path, backend: Backend) -> anyhow::Result<()> {
    let model = LoadedModel::open(file).map_err(|e| Refused(e.to_string()))?;
    let card = model.card();
    println!(
        "{}: {} model `{}` version {}, created {}",
        file.display(),
        card.role,
        card.name,
        card.version,
        card.created_at
    );
    println!(
        "  reads {} features (schema v{} {}): {}",
        card.features.len(),
        card.schema.version,
        card.schema.hash,
        card.features.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
    );
    println!(
        "  input {} {:?} → output {} {:?} column {}",
        card.input.name, card.input.shape, card.output.name, card.output.shape, card.output.column
    );
    println!(
        "  calibration {}; trained on {} samples, {} to {}",
        card.calibration, card.training.samples, card.training.window[0], card.training.window[1]
    );
    if !card.metrics.is_empty() {
        println!("  validation: {}", serde_json::Value::Object(card.metrics.clone()));
    }
    let mut scorer: Box<dyn Scorer> = model.scorer(backend).map_err(|e| Refused(e.to_string()))?;
    let row: Vec<f32> = card.features.iter().map(|f| f.fill).collect();
    let out = scorer
        .score(&row)
        .map_err(|f| Refused(format!("{}: the model failed on its fill row: {f:?}", file.display())))?;
    let (ns, backend_name) = time_scorer(scorer.as_mut(), &row);
    println!("  on its fill row: {out:.6}; {backend_name}: {ns:.0} ns per inference (median of 5 × 2,000 calls)");
    println!("ok: the engine accepts this model");
    Ok(())
}

#[allow(clippy::disallowed_methods, reason = "a one-off timing printed for the user, not part of any replay")]
fn time_scorer(scorer: &mut dyn Scorer, row: &[f32]) -> (f64, String) {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t = std::time::Instant::now();
        for _ in 0..2_000 {
            let _ = std::hint::black_box(scorer.score(std::hint::black_box(row)));
        }
        runs.push(t.elapsed().as_nanos() as f64 / 2_000.0);
    }
    runs.sort_by(f64::total_cmp);
    (runs[2], format!("{scorer:?}").split([' ', '{', '(']).next().unwrap_or("scorer").to_string())
}

fn list(dir: &Path) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
        .collect();
    files.sort();
    if files.is_empty() {
        println!("{}: no models (NAME.onnx + NAME.card.json)", dir.display());
    }
    for f in files {
        match LoadedModel::open(&f) {
            Ok(m) => {
                let c = m.card();
                let brier =
                    c.metrics.get("brier").and_then(|v| v.as_f64()).map_or(String::new(), |b| format!(" brier {b:.4}"));
                let base = c
                    .metrics
                    .get("brier_base")
                    .and_then(|v| v.as_f64())
                    .map_or(String::new(), |b| format!(" (base {b:.4})"));
                println!(
                    "{:<28} {:<9} v{} {} {} features{brier}{base}",
                    f.display(),
                    c.role,
                    c.version,
                    c.created_at,
                    c.features.len()
                );
            }
            Err(e) => println!("{:<28} REFUSED: {e}", f.display()),
        }
    }
    Ok(())
}
