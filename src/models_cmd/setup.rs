//! The models a paper run starts with: `[models] pwin` and `slippage` loaded and checked before the
//! first event (so a bad file stops the run before it starts, with the file and the reason), handed to
//! the decide stage, and the cold-side manager that can swap them later.

use super::manager::{Manager, ManagerSettings};
use crate::models_cmd::parse_backend;
use kestrel_engine::config::RawConfig;
use kestrel_engine::decide::model::{ModelRole, control_channel};
use kestrel_engine::paper::ModelSet;
use kestrel_engine::pipeline::RunControl;
use kestrel_infer::LoadedModel;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Slots in the control ring: a swap waits for the previous one, so a few are plenty.
const CONTROL_RING: usize = 4;

/// A model file could not be used at start (exit code 5 for a bad file, like a corrupt tape).
#[derive(Debug, thiserror::Error)]
#[error("[models] {key}: {message}")]
pub struct StartError {
    pub key: &'static str,
    pub message: String,
}

/// What `kestrel paper` needs for models: the engine's half and the cold thread's.
#[derive(Debug)]
pub struct RunModels {
    pub set: ModelSet,
    pub manager: Manager,
    pub done: Arc<AtomicBool>,
}

/// Loads the configured models for a run in `run_dir`. Paths are relative to the current directory.
pub fn load(raw: &RawConfig, run_dir: &Path, run: Arc<RunControl>) -> anyhow::Result<RunModels> {
    let backend = parse_backend(&raw.models.backend).map_err(|m| StartError { key: "backend", message: m })?;
    let mut set = ModelSet::default();
    let mut live: [Option<Arc<LoadedModel>>; 2] = [None, None];
    for (role, key, path) in
        [(ModelRole::PWin, "pwin", &raw.models.pwin), (ModelRole::Slippage, "slippage", &raw.models.slippage)]
    {
        if path.is_empty() {
            continue;
        }
        let model = LoadedModel::open(Path::new(path)).map_err(|e| StartError { key, message: e.to_string() })?;
        if model.role() != role {
            return Err(StartError {
                key,
                message: format!("{path} is a {} model (its card's role), not a {key} model", model.role().as_str()),
            }
            .into());
        }
        set.scorers[role.index()] =
            Some(model.scorer(backend).map_err(|e| StartError { key, message: e.to_string() })?);
        live[role.index()] = Some(Arc::new(model));
    }
    let (controller, control) = control_channel(CONTROL_RING);
    set.control = Some(control);
    let mut settings = ManagerSettings::new(run_dir.to_path_buf());
    settings.backend = backend;
    settings.watch = (!raw.models.watch.is_empty()).then(|| PathBuf::from(&raw.models.watch));
    settings.min_pwin = raw.strategy.min_pwin;
    let done = Arc::new(AtomicBool::new(false));
    let manager = Manager::new(controller, settings, run, done.clone(), live);
    Ok(RunModels { set, manager, done })
}
