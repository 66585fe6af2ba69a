//! Why a model was refused. Models arrive from outside (trainers, other exporters, copies between
//! machines), so every failure says which file, what is wrong with it and what to do; none of them
//! panics. The hot path never sees these: a scorer's own failures are the engine's
//! [`ModelFault`](kestrel_engine::decide::model::ModelFault).

use std::path::{Path, PathBuf};

/// A model file or card that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read or written.
    #[error("{}: {what}: {source}", path.display())]
    Io {
        path: PathBuf,
        /// What was being done ("reading the model card", "renaming the temporary card into place", …).
        what: String,
        #[source]
        source: std::io::Error,
    },

    /// The card is not valid JSON, or does not have the card's fields.
    #[error("{}:{line}:{col}: not a valid model card: {msg}", path.display())]
    CardParse { path: PathBuf, line: usize, col: usize, msg: String },

    /// A card field holds a value this build cannot use.
    #[error("{}: field `{field}`: {msg}", path.display())]
    Card { path: PathBuf, field: String, msg: String },

    /// The model was trained on another feature schema than the one this engine computes.
    #[error(
        "{}: schema mismatch: the model was trained on feature schema {found}, this engine computes {expected}; \
         retrain the model (`kestrel train`) or re-export it against this engine's feature schema",
        path.display()
    )]
    SchemaMismatch { path: PathBuf, expected: String, found: String },

    /// The file is not an ONNX model tract can read.
    #[error(
        "{}: not a valid ONNX model: {msg} — was the file truncated or is it not an ONNX file?",
        path.display()
    )]
    Onnx { path: PathBuf, msg: String },

    /// The graph's input or output (name, shape or type) differs from what the card declares.
    #[error("{}: the ONNX graph does not match its model card: {msg}", path.display())]
    Signature { path: PathBuf, msg: String },

    /// The model loaded but gave unusable answers (NaN, infinite, p(win) outside [0, 1]) on probe rows.
    #[error("{}: the model fails its probe: {msg}; check the training run or the exporter", path.display())]
    Probe { path: PathBuf, msg: String },

    /// The runtime failed while scoring rows on the cold side (shadow scoring, checks).
    #[error("{}: scoring failed: {msg}", path.display())]
    Run { path: PathBuf, msg: String },

    /// The requested backend cannot run this model.
    #[error("{}: {msg}", path.display())]
    Backend { path: PathBuf, msg: String },
}

impl ModelError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ModelError::Io { path, .. }
            | ModelError::CardParse { path, .. }
            | ModelError::Card { path, .. }
            | ModelError::SchemaMismatch { path, .. }
            | ModelError::Onnx { path, .. }
            | ModelError::Signature { path, .. }
            | ModelError::Probe { path, .. }
            | ModelError::Run { path, .. }
            | ModelError::Backend { path, .. } => path,
        }
    }

    /// The same error about another file (used when an error found without knowing the file, such as
    /// [`ModelCard::resolve_inputs`](crate::ModelCard::resolve_inputs), is reported for a known one).
    pub fn with_path(mut self, new: &Path) -> Self {
        match &mut self {
            ModelError::Io { path, .. }
            | ModelError::CardParse { path, .. }
            | ModelError::Card { path, .. }
            | ModelError::SchemaMismatch { path, .. }
            | ModelError::Onnx { path, .. }
            | ModelError::Signature { path, .. }
            | ModelError::Probe { path, .. }
            | ModelError::Run { path, .. }
            | ModelError::Backend { path, .. } => *path = new.to_path_buf(),
        }
        self
    }

    pub(crate) fn io(path: &Path, what: &str, source: std::io::Error) -> Self {
        ModelError::Io { path: path.to_path_buf(), what: what.to_string(), source }
    }

    pub(crate) fn card(path: &Path, field: impl Into<String>, msg: impl Into<String>) -> Self {
        ModelError::Card { path: path.to_path_buf(), field: field.into(), msg: msg.into() }
    }
}

/// tract's error chain on one line ("outer: inner: innermost").
pub(crate) fn chain(e: &tract_onnx::prelude::TractError) -> String {
    let mut s = String::new();
    for (i, cause) in e.chain().enumerate() {
        if i > 0 {
            s.push_str(": ");
        }
        s.push_str(&cause.to_string());
    }
    s
}
