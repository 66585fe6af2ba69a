//! Writing a linear model as a complete model file pair in one call: `NAME.onnx` and a card with the
//! engine's current schema. For tests, examples and programmatic use; `kestrel train` writes fuller
//! cards (training window, metrics) through `kestrel-offline`.

use crate::card::{
    CARD_FORMAT, CARD_VERSION, CardFeature, ModelCard, SchemaRef, TensorSpec, TradeStats, Training, card_path_for,
    engine_schema_hash,
};
use crate::error::ModelError;
use crate::export::LinearModel;
use std::path::Path;

/// Writes `model` to `onnx` and its card beside it: `role` (`pwin` or `slippage`), `version`, the
/// features it reads by schema name (fill 0), neutral trade statistics for a p(win) model.
pub fn write_linear(
    onnx: &Path,
    model: &LinearModel,
    role: &str,
    version: &str,
    features: &[&str],
) -> Result<ModelCard, ModelError> {
    let io = |source| ModelError::Io { path: onnx.to_path_buf(), what: "writing the model".into(), source };
    std::fs::write(onnx, model.to_onnx_bytes()).map_err(io)?;
    let card = ModelCard {
        format: CARD_FORMAT.into(),
        card_version: CARD_VERSION,
        name: role.into(),
        role: role.into(),
        version: version.into(),
        created_at: "1970-01-01T00:00:00Z".into(),
        schema: SchemaRef { version: kestrel_engine::features::SCHEMA_VERSION, hash: engine_schema_hash() },
        features: features.iter().map(|f| CardFeature { name: (*f).into(), fill: 0.0, signed: false }).collect(),
        input: TensorSpec { name: model.input_name.clone(), shape: vec![1, features.len()], column: 0 },
        output: TensorSpec { name: model.output_name.clone(), shape: vec![1, 1], column: 0 },
        trade: (role == "pwin").then_some(TradeStats { avg_win_bps: 10.0, avg_loss_bps: 10.0, cvar95_loss_bps: 15.0 }),
        training: Training {
            tapes: Vec::new(),
            window: ["1970-01-01T00:00:00Z".into(), "1970-01-01T00:00:00Z".into()],
            samples: 0,
            method: serde_json::Map::new(),
        },
        calibration: "none".into(),
        metrics: serde_json::Map::new(),
    };
    card.save(&card_path_for(onnx))?;
    Ok(card)
}
