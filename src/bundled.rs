//! The bundled defaults that commands fall back on: the default config, and a synthetic tape made on
//! the fly when no `--tape` is given.

use crate::exit::UsageError;
use kestrel_engine::config::{self, RawConfig};
use kestrel_tools::synth::{self, SynthConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The bundled defaults; `configs/default.toml` is this file.
pub const DEFAULT_CONFIG: &str = include_str!("../configs/default.toml");

/// The config at `path`, or the bundled defaults; with a name for it in messages and outputs.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<(RawConfig, String)> {
    Ok(match path {
        Some(p) => (config::load(p)?, p.display().to_string()),
        None => (config::parse(DEFAULT_CONFIG, "configs/default.toml (bundled)".as_ref())?, "bundled defaults".into()),
    })
}

/// A tape to read: the user's, or a synthetic one that lives as long as this value.
#[derive(Debug)]
pub struct TapeChoice {
    pub path: PathBuf,
    /// How summaries and metadata name it.
    pub label: String,
    _dir: Option<tempfile::TempDir>,
}

/// `tape` if given (labelled by `label_of`), else a synthetic tape of `duration` with the default
/// seed and instrument.
pub fn tape_or_synthetic(
    tape: Option<&Path>,
    duration: Duration,
    label_of: impl FnOnce(&Path) -> String,
) -> anyhow::Result<TapeChoice> {
    if let Some(p) = tape {
        return Ok(TapeChoice { path: p.to_path_buf(), label: label_of(p), _dir: None });
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bundled.tape");
    let cfg =
        SynthConfig { duration_ns: u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX), ..SynthConfig::default() };
    synth::write_tape(&cfg, &path).map_err(|e| match e {
        synth::SynthError::Config(what) => anyhow::Error::new(UsageError(format!("--synth-duration: {what}"))),
        other => anyhow::Error::new(other),
    })?;
    let label = format!(
        "bundled synthetic ({} of {}, seed {})",
        humantime::format_duration(duration),
        cfg.instrument.symbol,
        cfg.seed
    );
    Ok(TapeChoice { path, label, _dir: Some(dir) })
}
