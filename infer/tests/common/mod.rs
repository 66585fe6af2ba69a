//! Test fixtures: Kestrel linear models written with `export.rs` and a matching card, in a tempdir.
#![allow(dead_code)]

use kestrel_engine::features::schema::{FEATURES, SCHEMA_VERSION};
use kestrel_infer::card::{
    CARD_FORMAT, CARD_VERSION, CardFeature, SchemaRef, TensorSpec, Training, engine_schema_hash,
};
use kestrel_infer::{LinearModel, Link, ModelCard, PiecewiseLinear, card_path_for};
use std::path::{Path, PathBuf};

/// The first `n` feature names of the engine's schema.
pub fn feature_names(n: usize) -> Vec<&'static str> {
    FEATURES.iter().take(n).map(|f| f.name).collect()
}

pub fn linear(weights: Vec<f32>, bias: f32, link: Link, calibration: Option<PiecewiseLinear>) -> LinearModel {
    LinearModel { input_name: "features".into(), output_name: "score".into(), weights, bias, link, calibration }
}

/// A card for `model` reading the first `weights.len()` features, fill 0.
pub fn card_for(model: &LinearModel, name: &str, role: &str) -> ModelCard {
    let n = model.weights.len();
    ModelCard {
        format: CARD_FORMAT.into(),
        card_version: CARD_VERSION,
        name: name.into(),
        role: role.into(),
        version: "test-1".into(),
        created_at: "2026-11-01T00:00:00Z".into(),
        schema: SchemaRef { version: SCHEMA_VERSION, hash: engine_schema_hash() },
        features: feature_names(n)
            .into_iter()
            .map(|f| CardFeature { name: f.into(), fill: 0.0, signed: false })
            .collect(),
        input: TensorSpec { name: model.input_name.clone(), shape: vec![1, n], column: 0 },
        output: TensorSpec { name: model.output_name.clone(), shape: vec![1, 1], column: 0 },
        trade: None,
        training: Training { tapes: vec![], window: ["".into(), "".into()], samples: 0, method: Default::default() },
        calibration: "none".into(),
        metrics: Default::default(),
    }
}

/// Writes `dir/NAME.onnx` and `dir/NAME.card.json`; returns the ONNX path.
pub fn write_model(dir: &Path, name: &str, model: &LinearModel, card: &ModelCard) -> PathBuf {
    let onnx = dir.join(format!("{name}.onnx"));
    std::fs::write(&onnx, model.to_onnx_bytes()).unwrap();
    card.save(&card_path_for(&onnx)).unwrap();
    onnx
}

/// A logistic p(win) model on `n` inputs with alternating-sign weights and an isotonic-like calibration.
pub fn pwin_model(n: usize, knots: usize) -> LinearModel {
    let weights = (0..n).map(|i| if i % 2 == 0 { 0.05 + 0.01 * i as f32 } else { -0.04 - 0.005 * i as f32 }).collect();
    let calibration = (knots > 0).then(|| {
        let xs: Vec<f32> = (0..knots).map(|k| 0.05 + 0.9 * k as f32 / (knots - 1).max(1) as f32).collect();
        let ys: Vec<f32> = xs.iter().map(|&x| (0.02 + 0.96 * x * x).min(1.0)).collect();
        PiecewiseLinear { xs, ys }
    });
    linear(weights, -0.1, Link::Sigmoid, calibration)
}

/// A slippage model (identity link) on `n` inputs.
pub fn slippage_model(n: usize) -> LinearModel {
    let weights = (0..n).map(|i| 0.1 * ((i % 7) as f32 - 3.0)).collect();
    linear(weights, 1.5, Link::Identity, None)
}

/// Writes a model with its card and returns the ONNX path.
pub fn write_linear(dir: &Path, name: &str, model: &LinearModel, role: &str) -> PathBuf {
    let card = card_for(model, name, role);
    write_model(dir, name, model, &card)
}
