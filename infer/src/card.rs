//! The model card: `NAME.card.json` beside `NAME.onnx` (DESIGN.md §5). It says what the model reads
//! (feature names in input order, with the engine schema's version and hash), its input and output
//! (names and shapes), what it predicts, how it was trained, validated and calibrated, and when.
//!
//! The engine refuses a model whose card does not match its own feature schema, or whose ONNX graph
//! does not have the shapes the card declares.

use crate::error::ModelError;
use kestrel_engine::decide::model::{MAX_INPUTS, ModelInputs, ModelRole, SIDE_INPUT};
use kestrel_engine::features::schema::{FEATURES, SCHEMA_VERSION, schema_hash};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// A name from the engine's feature schema, or [`SIDE_FEATURE`] for the candidate's side (+1 buy,
    /// −1 sell).
    pub name: String,
    /// What the engine feeds while the feature is NaN (not yet defined): usually the training mean
    /// (in the trade's frame when `signed`).
    pub fill: f32,
    /// Read in the trade's frame: the feature times +1 for a buy, −1 for a sell (for directional
    /// features such as `imbalance_l1`, so that "the book leans my way" has one sign on both sides).
    /// Absent means false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub signed: bool,
}

/// The card's name for the candidate's side as an input (+1 buy, −1 sell): not a schema feature.
pub const SIDE_FEATURE: &str = "side";

fn is_false(b: &bool) -> bool {
    !*b
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

/// The card that belongs to a model file: `NAME.onnx` → `NAME.card.json`, in the same folder.
pub fn card_path_for(onnx: &Path) -> PathBuf {
    onnx.with_extension("card.json")
}

/// `schema_hash()` as a card records it: 16 lower-case hex digits.
pub fn engine_schema_hash() -> String {
    format!("{:016x}", schema_hash())
}

impl ModelCard {
    /// Reads and parses `path` (no checks beyond the JSON's shape: see [`Self::resolve_inputs`]).
    pub fn load(path: &Path) -> Result<ModelCard, ModelError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelError::io(
                    path,
                    "model card not found: every NAME.onnx needs its card NAME.card.json beside it \
                     (`kestrel train` writes both)",
                    e,
                ));
            }
            Err(e) => return Err(ModelError::io(path, "reading the model card", e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            let full = e.to_string();
            // serde_json appends " at line L column C"; the error carries them as fields.
            let mut msg = match full.rfind(" at line ") {
                Some(i) => full[..i].to_string(),
                None => full,
            };
            // serde names a missing or unknown field but not the field of a wrongly typed value: quote
            // the line, which does.
            if e.is_data()
                && let Some(text) =
                    std::str::from_utf8(&bytes).ok().and_then(|t| t.lines().nth(e.line().wrapping_sub(1)))
            {
                let text = text.trim();
                if !text.is_empty() && text.len() <= 120 {
                    msg.push_str(&format!(" (in `{text}`)"));
                }
            }
            ModelError::CardParse { path: path.to_path_buf(), line: e.line(), col: e.column(), msg }
        })
    }

    /// Writes the card as pretty JSON: to a temporary file in the same folder, then renamed over
    /// `path`, so a reader never sees half a card.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| ModelError::card(path, "(card)", format!("cannot be written as JSON: {e}")))?;
        text.push('\n');
        let Some(file_name) = path.file_name() else {
            return Err(ModelError::card(path, "(path)", "names no file: give the card's path, NAME.card.json"));
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = dir.join(format!(".{}.tmp-{}", file_name.to_string_lossy(), std::process::id()));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(ModelError::io(&tmp, "writing the temporary model card", e));
        }
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            ModelError::io(path, "renaming the temporary model card into place", e)
        })
    }

    /// A short identity of the model (journals, counters): FNV-1a over `name` and `version`; never 0
    /// (0 means "no model" in the engine's counters).
    pub fn version_hash(&self) -> u64 {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.name.bytes().chain([0xff]).chain(self.version.bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        if h == 0 { 1 } else { h }
    }

    /// The file name errors found without a path are reported against (`NAME.card.json`);
    /// [`ModelError::with_path`] replaces it with the real one.
    fn nominal_path(&self) -> PathBuf {
        PathBuf::from(format!("{}.card.json", self.name))
    }

    /// The card's `role`, checked.
    pub fn model_role(&self) -> Result<ModelRole, ModelError> {
        ModelRole::parse(&self.role).ok_or_else(|| {
            ModelError::card(
                &self.nominal_path(),
                "role",
                format!("`{}` is not a model role: expected \"pwin\" or \"slippage\"", self.role),
            )
        })
    }

    /// Checks the card against this build and the engine's feature schema, and resolves the model's
    /// inputs to positions in the engine's feature vector. Errors name `NAME.card.json` (the card does
    /// not know its own path: callers that do apply [`ModelError::with_path`]).
    pub fn resolve_inputs(&self) -> Result<ModelInputs, ModelError> {
        let path = self.nominal_path();
        let path = path.as_path();
        if self.format != CARD_FORMAT {
            return Err(ModelError::card(
                path,
                "format",
                format!("is `{}`, expected `{CARD_FORMAT}`: this is not a Kestrel model card", self.format),
            ));
        }
        if self.card_version != CARD_VERSION {
            return Err(ModelError::card(
                path,
                "card_version",
                format!(
                    "is {}, this build reads version {CARD_VERSION}: re-export the model with this build \
                     (`kestrel train`)",
                    self.card_version
                ),
            ));
        }
        let expected_hash = engine_schema_hash();
        if self.schema.version != SCHEMA_VERSION || self.schema.hash != expected_hash {
            return Err(ModelError::SchemaMismatch {
                path: path.to_path_buf(),
                expected: format!("version {SCHEMA_VERSION}, hash {expected_hash}"),
                found: format!("version {}, hash {}", self.schema.version, self.schema.hash),
            });
        }
        self.model_role()?;
        let n = self.features.len();
        if n == 0 {
            return Err(ModelError::card(path, "features", "is empty: a model reads at least one feature"));
        }
        if n > MAX_INPUTS {
            return Err(ModelError::card(
                path,
                "features",
                format!(
                    "lists {n} features; the engine's schema has {}, each may be read once, and `side`",
                    MAX_INPUTS - 1
                ),
            ));
        }
        let mut index = Vec::with_capacity(n);
        let mut fill = Vec::with_capacity(n);
        let mut signed = Vec::with_capacity(n);
        let mut seen = HashSet::with_capacity(n);
        for (i, f) in self.features.iter().enumerate() {
            let pos =
                if f.name == SIDE_FEATURE { Some(SIDE_INPUT) } else { FEATURES.iter().position(|d| d.name == f.name) };
            let Some(pos) = pos else {
                return Err(ModelError::card(
                    path,
                    format!("features[{i}].name"),
                    format!(
                        "unknown feature `{}`: not in the engine's feature schema (version {SCHEMA_VERSION}); \
                         the model was made for other features and must be retrained",
                        f.name
                    ),
                ));
            };
            if !seen.insert(pos) {
                return Err(ModelError::card(
                    path,
                    format!("features[{i}].name"),
                    format!("feature `{}` is listed twice; each input must be a different feature", f.name),
                ));
            }
            if !f.fill.is_finite() {
                return Err(ModelError::card(
                    path,
                    format!("features[{i}].fill"),
                    format!("is {} for `{}`: the stand-in for an undefined feature must be finite", f.fill, f.name),
                ));
            }
            if pos == SIDE_INPUT && f.signed {
                return Err(ModelError::card(
                    path,
                    format!("features[{i}].signed"),
                    "is true for `side`: the side is its own sign; drop `signed` there",
                ));
            }
            index.push(pos);
            fill.push(f.fill);
            signed.push(f.signed);
        }
        if self.input.name.is_empty() {
            return Err(ModelError::card(path, "input.name", "is empty: give the ONNX graph's input name"));
        }
        if self.input.shape != [1, n] {
            return Err(ModelError::card(
                path,
                "input.shape",
                format!("is {:?}, expected [1, {n}] (one row of the {n} features the card lists)", self.input.shape),
            ));
        }
        if self.output.name.is_empty() {
            return Err(ModelError::card(path, "output.name", "is empty: give the ONNX graph's output name"));
        }
        match self.output.shape.as_slice() {
            [1, k] if *k >= 1 => {
                if self.output.column >= *k {
                    return Err(ModelError::card(
                        path,
                        "output.column",
                        format!("is {}, but the output has {k} column(s) (0 to {})", self.output.column, k - 1),
                    ));
                }
            }
            other => {
                return Err(ModelError::card(
                    path,
                    "output.shape",
                    format!("is {other:?}, expected [1, 1] or [1, k] (one row; `column` picks the answer)"),
                ));
            }
        }
        if let Some(t) = &self.trade {
            for (field, v) in [
                ("trade.avg_win_bps", t.avg_win_bps),
                ("trade.avg_loss_bps", t.avg_loss_bps),
                ("trade.cvar95_loss_bps", t.cvar95_loss_bps),
            ] {
                if !v.is_finite() {
                    return Err(ModelError::card(path, field, format!("is {v}, expected a finite number of bps")));
                }
            }
        }
        Ok(ModelInputs { index, fill, signed })
    }
}

impl From<&TradeStats> for kestrel_engine::decide::model::TradeStats {
    fn from(t: &TradeStats) -> Self {
        kestrel_engine::decide::model::TradeStats {
            avg_win_bps: t.avg_win_bps,
            avg_loss_bps: t.avg_loss_bps,
            cvar95_loss_bps: t.cvar95_loss_bps,
        }
    }
}
