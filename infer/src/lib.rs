//! Models for the engine (DESIGN.md §5): model cards, ONNX files loaded, checked and optimised with
//! `tract`, the [`Scorer`](kestrel_engine::decide::model::Scorer) the decide stage calls, and the ONNX
//! writer for Kestrel's own models.
//!
//! - [`card`]: `NAME.card.json`, read, checked against the engine's feature schema, written.
//! - [`load`]: [`LoadedModel::open`] reads `NAME.onnx` with its card, pins the input to `f32 [1, n]`,
//!   checks the graph's signature against the card, optimises it and probes it.
//! - [`scorer`]: [`TractScorer`], any ONNX model in tract (a few allocations per call, constant).
//! - [`native`]: [`NativeLinear`], Kestrel's own linear models as a plain dot product (no allocation).
//! - [`export`]: [`LinearModel`] written as ONNX with `tract_onnx::pb`.
//!
//! Everything here runs on cold threads except `Scorer::score`; every refusal is a [`ModelError`]
//! naming the file, never a panic.

pub mod card;
pub mod error;
pub mod export;
pub mod linear_file;
pub mod load;
pub mod native;
pub mod scorer;

pub use card::{ModelCard, card_path_for};
pub use error::ModelError;
pub use export::{LinearModel, Link, PiecewiseLinear};
pub use load::{Backend, LoadedModel};
pub use native::NativeLinear;
pub use scorer::TractScorer;

use kestrel_engine::decide::model::Scorer;
use std::path::Path;

/// Loads `onnx` (and its card) and builds a scorer with `backend`.
pub fn load_scorer(onnx: &Path, backend: Backend) -> Result<(LoadedModel, Box<dyn Scorer>), ModelError> {
    let model = LoadedModel::open(onnx)?;
    let scorer = model.scorer(backend)?;
    Ok((model, scorer))
}
