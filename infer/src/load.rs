//! Loading a model for the engine, on a cold thread (DESIGN.md §5): the card beside the ONNX file is
//! read and checked against the engine's feature schema, the graph is read with tract, its input is
//! pinned to the fixed shape `f32 [1, n]`, its input and output are checked against the card, it is
//! optimised, and it must give usable answers on probe rows before anything scores with it. A model
//! that fails any step is refused with an error naming the file; nothing here panics on bad input.

use crate::card::{ModelCard, card_path_for};
use crate::error::{ModelError, chain};
use crate::native::{LinearGraph, NativeLinear, recognise};
use crate::scorer::{TractScorer, check_output};
use kestrel_engine::decide::model::{ModelInputs, ModelRole, Scorer, TradeStats};
use prost::Message;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tract_onnx::pb;
use tract_onnx::prelude::{Framework, InferenceModelExt};
use tract_onnx::tract_core::internal::*;

/// Which implementation scores a model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// [`NativeLinear`] when the graph is Kestrel's own linear model and agrees with tract on the probe
    /// rows, [`TractScorer`] otherwise.
    #[default]
    Auto,
    /// Always tract.
    Tract,
    /// Always [`NativeLinear`]; an error for any other graph.
    Native,
}

impl Backend {
    pub fn parse(s: &str) -> Option<Backend> {
        match s {
            "auto" => Some(Backend::Auto),
            "tract" => Some(Backend::Tract),
            "native" => Some(Backend::Native),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Tract => "tract",
            Backend::Native => "native",
        }
    }
}

/// How close the native scorer must be to tract on every probe row for [`Backend::Auto`] to pick it:
/// absolute below 1, relative above.
pub const NATIVE_AGREEMENT: f32 = 1e-5;

/// A model read, checked and optimised: the source of scorers for the hot loop and of cold-side
/// scores (shadow scoring).
pub struct LoadedModel {
    path: PathBuf,
    card: ModelCard,
    inputs: ModelInputs,
    role: ModelRole,
    version: u64,
    plan: Arc<TypedRunnableModel>,
    /// The recognised linear graph when it agrees with tract, or why the native scorer is not used.
    native: Result<LinearGraph, String>,
}

impl fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedModel")
            .field("path", &self.path)
            .field("name", &self.card.name)
            .field("version", &self.card.version)
            .field("role", &self.role)
            .field("inputs", &self.inputs.len())
            .field("native", &self.native.as_ref().map(|_| "recognised"))
            .finish_non_exhaustive()
    }
}

impl LoadedModel {
    /// Loads `onnx_path` and its card (`NAME.card.json` beside `NAME.onnx`), checks them against each
    /// other and against the engine's feature schema, optimises the graph for the fixed input shape
    /// and probes it (the card's fill row, zeros, ones and minus ones).
    pub fn open(onnx_path: &Path) -> Result<LoadedModel, ModelError> {
        let card_path = card_path_for(onnx_path);
        let card = ModelCard::load(&card_path)?;
        let inputs = card.resolve_inputs().map_err(|e| e.with_path(&card_path))?;
        let role = card.model_role().map_err(|e| e.with_path(&card_path))?;
        let bytes = std::fs::read(onnx_path).map_err(|e| {
            let what = if e.kind() == std::io::ErrorKind::NotFound {
                "model file not found"
            } else {
                "reading the model file"
            };
            ModelError::io(onnx_path, what, e)
        })?;
        Self::from_parts(onnx_path, card, inputs, role, &bytes)
    }

    fn from_parts(
        path: &Path,
        card: ModelCard,
        inputs: ModelInputs,
        role: ModelRole,
        bytes: &[u8],
    ) -> Result<LoadedModel, ModelError> {
        let onnx_err = |msg: String| ModelError::Onnx { path: path.to_path_buf(), msg };
        let sig_err = |msg: String| ModelError::Signature { path: path.to_path_buf(), msg };
        if bytes.is_empty() {
            return Err(onnx_err("the file is empty".into()));
        }
        let proto = pb::ModelProto::decode(bytes).map_err(|e| onnx_err(format!("protobuf decoding failed ({e})")))?;
        let Some(graph) = proto.graph.as_ref() else {
            return Err(onnx_err("it holds no graph".into()));
        };
        if graph.node.is_empty() {
            return Err(onnx_err("its graph has no nodes".into()));
        }
        check_declared_signature(graph, &card)
            .map_err(|m| sig_err(format!("{m} (card {})", card_path_for(path).display())))?;

        let n = inputs.len();
        let mut model =
            tract_onnx::onnx().model_for_proto_model(&proto).map_err(|e| onnx_err(format!("tract: {}", chain(&e))))?;
        model
            .select_outputs_by_name([card.output.name.as_str()])
            .map_err(|e| sig_err(format!("no output `{}`: {}", card.output.name, chain(&e))))?;
        model
            .set_input_fact(0, f32::fact([1, n]).into())
            .map_err(|e| sig_err(format!("cannot pin the input to f32 [1, {n}]: {}", chain(&e))))?;
        let typed = model.into_typed().map_err(|e| {
            sig_err(format!(
                "the graph does not accept the card's input `{}` f32 [1, {n}]: {}",
                card.input.name,
                chain(&e)
            ))
        })?;
        let fact = typed.output_fact(0).map_err(|e| sig_err(chain(&e)))?;
        let shape: Option<Vec<usize>> = fact.shape.as_concrete().map(|s| s.to_vec());
        if fact.datum_type != f32::datum_type() || shape.as_deref() != Some(card.output.shape.as_slice()) {
            return Err(sig_err(format!(
                "output `{}` is {:?} {:?}, the card declares f32 {:?}",
                card.output.name, fact.datum_type, fact.shape, card.output.shape
            )));
        }
        let optimized =
            typed.into_optimized().map_err(|e| onnx_err(format!("tract could not optimise it: {}", chain(&e))))?;
        let plan =
            optimized.into_runnable().map_err(|e| onnx_err(format!("tract could not plan it: {}", chain(&e))))?;

        let version = card.version_hash();
        let mut loaded = LoadedModel {
            path: path.to_path_buf(),
            card,
            inputs,
            role,
            version,
            plan,
            native: Err("not checked yet".into()),
        };
        let probe = loaded.probe_rows();
        let mut tract_out = Vec::with_capacity(probe.len());
        for (what, row) in &probe {
            let v = loaded.run_row(row).map_err(|e| ModelError::Probe {
                path: path.to_path_buf(),
                msg: format!("on the {what} row, tract failed: {}", chain(&e)),
            })?;
            if check_output(role, v).is_err() {
                let expect = if role == ModelRole::PWin { "a probability in [0, 1]" } else { "a finite number" };
                return Err(ModelError::Probe {
                    path: path.to_path_buf(),
                    msg: format!("on the {what} row it returned {v}, expected {expect} ({} model)", role.as_str()),
                });
            }
            tract_out.push(v);
        }
        loaded.native = recognise(&proto, &loaded.card.input.name, &loaded.card.output.name).and_then(|g| {
            if g.weights.len() != n || loaded.card.output.shape != [1, 1] {
                return Err(format!("the graph has {} weights, the card {n} inputs", g.weights.len()));
            }
            for ((what, row), &t) in probe.iter().zip(&tract_out) {
                let v = g.eval(row);
                if !agrees(v, t) {
                    return Err(format!("on the {what} row the native scorer gives {v}, tract {t}"));
                }
            }
            Ok(g)
        });
        Ok(loaded)
    }

    /// The rows every model must score sensibly: the card's fill row (the training means), zeros,
    /// ones and minus ones.
    fn probe_rows(&self) -> Vec<(&'static str, Vec<f32>)> {
        let n = self.inputs.len();
        vec![
            ("fill-value", self.inputs.fill.clone()),
            ("all-zero", vec![0.0; n]),
            ("all-one", vec![1.0; n]),
            ("all-minus-one", vec![-1.0; n]),
        ]
    }

    fn run_row(&self, row: &[f32]) -> TractResult<f32> {
        let n = self.inputs.len();
        if row.len() != n {
            bail!("the row has {} values, the model takes {n}", row.len());
        }
        let input = Tensor::from_shape(&[1, n], row)?;
        let out = self.plan.run(tvec!(input.into()))?;
        let t = out.first().context("the model returned no output")?;
        let column = self.card.output.column;
        t.try_as_plain_ram()?
            .as_slice::<f32>()?
            .get(column)
            .copied()
            .with_context(|| format!("the output has no column {column}"))
    }

    /// Scores rows on the cold side (shadow scoring, checks; allocates). Values are returned as the
    /// model gave them, NaN included; an error names the row that could not be scored.
    pub fn score_rows(&self, rows: &[Vec<f32>]) -> Result<Vec<f32>, ModelError> {
        rows.iter()
            .enumerate()
            .map(|(i, row)| {
                self.run_row(row)
                    .map_err(|e| ModelError::Run { path: self.path.clone(), msg: format!("row {i}: {}", chain(&e)) })
            })
            .collect()
    }

    /// A tract scorer for one decide thread, warmed up with one call.
    pub fn tract_scorer(&self) -> Result<TractScorer, ModelError> {
        let run_err = |e: TractError| ModelError::Run { path: self.path.clone(), msg: chain(&e) };
        let mut s = TractScorer::new(
            &self.plan,
            self.card.output.column,
            self.inputs.clone(),
            self.role,
            self.version,
            self.trade_stats(),
        )
        .map_err(run_err)?;
        // The first call sizes tract's per-state buffers; the hot loop gets the steady state.
        let _ = s.score(&self.inputs.fill);
        Ok(s)
    }

    /// The allocation-free native scorer, when the graph is Kestrel's own linear model and agrees with
    /// tract on the probe rows.
    pub fn native_scorer(&self) -> Result<NativeLinear, ModelError> {
        match &self.native {
            Ok(g) => Ok(NativeLinear::new(g.clone(), self.inputs.clone(), self.role, self.version, self.trade_stats())),
            Err(why) => Err(ModelError::Backend {
                path: self.path.clone(),
                msg: format!(
                    "the native backend cannot run this model ({why}); it runs only the linear graphs \
                     kestrel-infer exports: use the `tract` or `auto` backend"
                ),
            }),
        }
    }

    /// Whether [`Backend::Auto`] picks the native scorer.
    pub fn is_native(&self) -> bool {
        self.native.is_ok()
    }

    /// A scorer for the hot loop with the chosen backend.
    pub fn scorer(&self, backend: Backend) -> Result<Box<dyn Scorer>, ModelError> {
        Ok(match backend {
            Backend::Tract => Box::new(self.tract_scorer()?),
            Backend::Native => Box::new(self.native_scorer()?),
            Backend::Auto if self.is_native() => Box::new(self.native_scorer()?),
            Backend::Auto => Box::new(self.tract_scorer()?),
        })
    }

    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    pub fn inputs(&self) -> &ModelInputs {
        &self.inputs
    }

    pub fn role(&self) -> ModelRole {
        self.role
    }

    /// [`ModelCard::version_hash`]: what [`Scorer::version`] reports.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn trade_stats(&self) -> Option<TradeStats> {
        self.card.trade.as_ref().map(TradeStats::from)
    }

    /// The ONNX file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn agrees(a: f32, b: f32) -> bool {
    (a - b).abs() <= NATIVE_AGREEMENT * a.abs().max(b.abs()).max(1.0)
}

/// Compares the graph's declared input and output (names, element type, fixed dims) with the card.
/// Symbolic dims (a batch `N`) are accepted here; the pinned shape is checked when tract types the graph.
fn check_declared_signature(g: &pb::GraphProto, card: &ModelCard) -> Result<(), String> {
    let inits: std::collections::HashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    let sources: Vec<&pb::ValueInfoProto> = g.input.iter().filter(|i| !inits.contains(i.name.as_str())).collect();
    let names = |v: &[&pb::ValueInfoProto]| v.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    if sources.len() != 1 || sources[0].name != card.input.name {
        return Err(format!(
            "the graph's inputs are {:?}, the card declares one input `{}`",
            names(&sources),
            card.input.name
        ));
    }
    check_declared(sources[0], "input", &card.input.shape)?;
    let Some(out) = g.output.iter().find(|o| o.name == card.output.name) else {
        return Err(format!(
            "the graph's outputs are {:?}, the card declares output `{}`",
            names(&g.output.iter().collect::<Vec<_>>()),
            card.output.name
        ));
    };
    check_declared(out, "output", &card.output.shape)
}

fn check_declared(v: &pb::ValueInfoProto, what: &str, card_shape: &[usize]) -> Result<(), String> {
    use pb::tensor_shape_proto::dimension::Value;
    let Some(pb::TypeProto { value: Some(pb::type_proto::Value::TensorType(t)), .. }) = &v.r#type else {
        return Ok(());
    };
    let float = pb::tensor_proto::DataType::Float as i32;
    if t.elem_type != float && t.elem_type != 0 {
        let ty = pb::tensor_proto::DataType::try_from(t.elem_type).map(|d| d.as_str_name()).unwrap_or("unknown");
        return Err(format!("{what} `{}` has element type {ty}, Kestrel feeds and reads float (f32)", v.name));
    }
    let Some(shape) = &t.shape else { return Ok(()) };
    let dims: Vec<String> = shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(Value::DimValue(x)) => x.to_string(),
            Some(Value::DimParam(p)) => p.clone(),
            None => "?".into(),
        })
        .collect();
    let mismatch = shape.dim.len() != card_shape.len()
        || shape.dim.iter().zip(card_shape).any(|(d, &c)| matches!(d.value, Some(Value::DimValue(x)) if x != c as i64));
    if mismatch {
        return Err(format!(
            "{what} `{}` has shape [{}] in the graph, the card declares {card_shape:?}",
            v.name,
            dims.join(", ")
        ));
    }
    Ok(())
}
