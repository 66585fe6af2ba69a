//! Run configuration: TOML in, validated settings out, before any thread starts.
//!
//! [`raw`] is the file as written (serde, unknown keys rejected, every key optional with a documented
//! default); [`resolve`] checks values and turns sizes given as decimals into each instrument's
//! fixed-point units; [`trading`] resolves the strategy, the simulated exchange and the risk limits
//! against a tape's instruments. Errors name the file, the key and what to write instead.

pub mod raw;
pub mod resolve;
pub mod trading;

pub use raw::RawConfig;
pub use resolve::{ModelBackend, ModelSettings, RunSettings, model_settings, resolve_strategy};
pub use trading::{Trading, resolve_trading};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// TOML syntax, a type mismatch or an unknown key; toml's message names the key, line and column.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{origin}: `{key}` {message}")]
    Value { origin: String, key: &'static str, message: String },
}

impl ConfigError {
    pub(crate) fn value(origin: &str, key: &'static str, message: impl Into<String>) -> Self {
        ConfigError::Value { origin: origin.to_string(), key, message: message.into() }
    }
}

/// Reads and parses a config file.
pub fn load(path: &Path) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    parse(&text, path)
}

/// Parses config text; `path` is only for messages.
pub fn parse(text: &str, path: &Path) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })
}
