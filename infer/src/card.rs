//! The model card: `NAME.card.json` beside `NAME.onnx` (DESIGN.md §5). It says what the model reads
//! (feature names in input order, with the engine schema's version and hash), its input and output
//! (names and shapes), what it predicts, how it was trained, validated and calibrated, and when.
//!
//! The engine refuses a model whose card does not match its own feature schema, or whose ONNX graph
//! does not have the shapes the card declares.

use serde::{Deserialize, Serialize};

/// The card format this build writes and reads.
pub const CARD_FORMAT: &str = "kestrel-model-card";
pub const CARD_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// Always [`CARD_FORMAT`].
    pub format: String,
    /// Always [`CARD_VERSION`] for this build.
    pub card_version: u32,
    /// The model's name: `pwin` or `slippage` for the engine's two roles, or a user's name.
    pub name: String,
    /// What the model predicts: `"pwin"` (calibrated probability that the candidate wins) or
    /// `"slippage"` (market-order slippage in bps of the mid).
    pub role: String,
    /// A version the trainer chose (`kestrel train` uses a content hash of the ONNX file).
    pub version: String,
    /// When it was made, RFC 3339 (UTC). `kestrel train` takes it from `SOURCE_DATE_EPOCH` when set.
    pub created_at: String,
    pub schema: SchemaRef,
    /// Inputs, in the model's input order.
    pub features: Vec<CardFeature>,
    pub input: TensorSpec,
    pub output: TensorSpec,
    /// Trade statistics decide needs for expected value and sizing (p(win) models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade: Option<TradeStats>,
    pub training: Training,
    /// `"platt"`, `"isotonic"` or `"none"`.
    pub calibration: String,
    /// Out-of-sample metrics from validation (free-form numbers: brier, log_loss, auc, base_rate, …).
    #[serde(default)]
    pub metrics: serde_json::Map<String, serde_json::Value>,
}

/// The engine feature schema the model was trained on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaRef {
    pub version: u32,
    /// `schema_hash()` as 16 lower-case hex digits.
    pub hash: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardFeature {
    /// A name from the engine's feature schema.
    pub name: String,
    /// What the engine feeds while the feature is NaN (not yet defined): usually the training mean.
    pub fill: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    /// Fixed shape; inputs are `[1, n_features]`. Outputs `[1, 1]`, or `[1, 2]` for a classifier
    /// exported with both class probabilities (then `column` says which one is p(win)).
    pub shape: Vec<usize>,
    /// Which column of the output is the answer (default 0).
    #[serde(default)]
    pub column: usize,
}

/// From the training labels: what a winning and a losing trade made, used for expected value and the
/// CVaR budget (all in bps of the mid at decision, gross of fees and slippage).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradeStats {
    pub avg_win_bps: f64,
    pub avg_loss_bps: f64,
    /// Mean of the worst 5 % of trade returns, as a positive loss.
    pub cvar95_loss_bps: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// Tapes (file name and data CRC) the model was trained on.
    pub tapes: Vec<String>,
    /// Tape time covered, RFC 3339, first and last event.
    pub window: [String; 2],
    pub samples: usize,
    /// Free-form description of labels, splits and the learner (barriers, embargo, folds, penalty).
    pub method: serde_json::Map<String, serde_json::Value>,
}
