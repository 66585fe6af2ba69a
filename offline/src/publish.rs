//! Writes what [`crate::train::train`] produced: the two models with their cards, checked by loading
//! them back exactly as the engine will, then the report and the dataset CSV.
//!
//! The models are first written to a staging folder inside the output folder, opened with
//! `kestrel_infer::LoadedModel::open` (card against the engine's schema, graph against the card,
//! probes) and scored on a few training rows: a score more than [`VERIFY_TOLERANCE`] from the Rust-side
//! prediction is an error and nothing is published. Only then are they renamed into place (a rename
//! per file: a watcher never sees half a file). Other outputs are written under a temporary name and
//! renamed too.

use crate::dataset::Dataset;
use crate::train::{Exported, Trained};
use kestrel_infer::{LoadedModel, ModelError, card_path_for};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Largest difference allowed between the loaded model's score and the Rust-side prediction.
pub const VERIFY_TOLERANCE: f64 = 1e-4;

/// Where the outputs go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outputs {
    /// `pwin.onnx`, `pwin.card.json`, `slippage.onnx`, `slippage.card.json` go here.
    pub models_dir: PathBuf,
    /// `metrics.json` and `reliability.svg`; `None`: no report files.
    pub report_dir: Option<PathBuf>,
    /// The labelled dataset as CSV.
    pub dataset_csv: Option<PathBuf>,
    /// Replace existing files.
    pub force: bool,
}

pub const MODEL_FILES: [&str; 4] = ["pwin.onnx", "pwin.card.json", "slippage.onnx", "slippage.card.json"];
pub const REPORT_FILES: [&str; 2] = ["metrics.json", "reliability.svg"];

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{}: already exists; pass --force to replace {}", .0[0].display(), if .0.len() > 1 { format!("it and {} other output(s)", .0.len() - 1) } else { "it".to_string() })]
    Exists(Vec<PathBuf>),
    #[error("{}: {what}: {source}", path.display())]
    Io {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The written model does not load: a bug in the trainer or the exporter.
    #[error("the model just written does not load: {0}")]
    Model(#[from] ModelError),
    #[error("{}: {msg}", path.display())]
    Verify { path: PathBuf, msg: String },
}

impl Outputs {
    /// Every file a run writes.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = MODEL_FILES.iter().map(|f| self.models_dir.join(f)).collect();
        if let Some(r) = &self.report_dir {
            out.extend(REPORT_FILES.iter().map(|f| r.join(f)));
        }
        if let Some(d) = &self.dataset_csv {
            out.push(d.clone());
        }
        out
    }

    /// Refuses outputs that exist (before any work), unless `force`.
    pub fn check(&self) -> Result<(), PublishError> {
        if self.force {
            return Ok(());
        }
        let existing: Vec<PathBuf> = self.files().into_iter().filter(|p| p.exists()).collect();
        if existing.is_empty() { Ok(()) } else { Err(PublishError::Exists(existing)) }
    }
}

/// What was written, with the largest score difference found by the check.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub files: Vec<PathBuf>,
    pub max_diff_pwin: f64,
    pub max_diff_slippage: f64,
}

fn io<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(std::io::Error) -> PublishError + 'a {
    move |source| PublishError::Io { path: path.to_path_buf(), what, source }
}

/// Writes `bytes` to `path` through a temporary file in the same folder.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    write_atomic_with(path, &mut |w| w.write_all(bytes))
}

/// Writes what `fill` writes to `path` through a temporary file in the same folder.
fn write_atomic_with(
    path: &Path,
    fill: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), PublishError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp, "writing")(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(path, "renaming into place")(e)
    })
}

/// Writes `e` as `dir/NAME.onnx` + card, then loads it and compares the scores on `rows`.
fn stage_and_verify(e: &Exported, dir: &Path, rows: &[Vec<f32>]) -> Result<f64, PublishError> {
    let onnx = dir.join(format!("{}.onnx", e.card.name));
    std::fs::write(&onnx, &e.onnx).map_err(io(&onnx, "writing"))?;
    e.card.save(&card_path_for(&onnx))?;
    let loaded = LoadedModel::open(&onnx)?;
    if let Some(field) = card_difference(loaded.card(), &e.card) {
        return Err(PublishError::Verify {
            path: card_path_for(&onnx),
            msg: format!("the card read back differs from the card written at `{field}`"),
        });
    }
    let got = loaded.score_rows(rows)?;
    let mut max = 0.0f64;
    for (i, (&g, &want)) in got.iter().zip(&e.expected).enumerate() {
        let d = (f64::from(g) - want).abs();
        if d.is_nan() || d > VERIFY_TOLERANCE {
            return Err(PublishError::Verify {
                path: onnx,
                msg: format!(
                    "check row {i}: the loaded model scores {g}, the trainer predicted {want} (difference {d:.3e} > \
                     {VERIFY_TOLERANCE:e}); the export lost precision (features of very large magnitude? try --exclude)"
                ),
            });
        }
        // The exporter's own reference must agree too.
        let reference = f64::from(e.model.eval(&rows[i]));
        let gap = (reference - want).abs();
        if gap.is_nan() || gap > VERIFY_TOLERANCE {
            return Err(PublishError::Verify {
                path: onnx,
                msg: format!("check row {i}: the exporter's reference gives {reference}, the trainer {want}"),
            });
        }
        max = max.max(d);
    }
    Ok(max)
}

/// The first field where two cards differ beyond the last digit of a float (JSON text keeps an `f64`
/// exactly, an `f32` fill to its shortest decimal form), or `None`.
fn card_difference(a: &kestrel_infer::ModelCard, b: &kestrel_infer::ModelCard) -> Option<String> {
    fn walk(a: &serde_json::Value, b: &serde_json::Value, at: &str) -> Option<String> {
        use serde_json::Value;
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                if x.len() != y.len() {
                    return Some(at.to_string());
                }
                x.iter().find_map(|(k, v)| match y.get(k) {
                    Some(w) => walk(v, w, &format!("{at}.{k}")),
                    None => Some(format!("{at}.{k}")),
                })
            }
            (Value::Array(x), Value::Array(y)) => {
                if x.len() != y.len() {
                    return Some(at.to_string());
                }
                x.iter().zip(y).enumerate().find_map(|(i, (v, w))| walk(v, w, &format!("{at}[{i}]")))
            }
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
                let gap = (x - y).abs();
                (gap.is_nan() || gap > 1e-6 * x.abs().max(y.abs()).max(1e-300)).then(|| at.to_string())
            }
            (x, y) => (x != y).then(|| at.to_string()),
        }
    }
    let to = |c| serde_json::to_value(c).unwrap_or(serde_json::Value::Null);
    walk(&to(a), &to(b), "card")
}

/// Writes the models (after the load-and-score check), the report and the dataset.
pub fn publish(trained: &Trained, data: &Dataset, out: &Outputs) -> Result<Written, PublishError> {
    out.check()?;
    let dir = &out.models_dir;
    std::fs::create_dir_all(dir).map_err(io(dir, "creating the output folder"))?;
    let staging = dir.join(format!(".kestrel-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(io(&staging, "creating the staging folder"))?;
    let verified = (|| -> Result<(f64, f64), PublishError> {
        let p = stage_and_verify(&trained.pwin, &staging, &trained.probe_rows)?;
        let s = stage_and_verify(&trained.slippage, &staging, &trained.probe_rows)?;
        for f in MODEL_FILES {
            let (from, to) = (staging.join(f), dir.join(f));
            std::fs::rename(&from, &to).map_err(io(&to, "renaming into place"))?;
        }
        Ok((p, s))
    })();
    let _ = std::fs::remove_dir_all(&staging);
    let (max_diff_pwin, max_diff_slippage) = verified?;
    if let Some(r) = &out.report_dir {
        std::fs::create_dir_all(r).map_err(io(r, "creating the report folder"))?;
        let mut json = serde_json::to_string_pretty(&trained.metrics_json).unwrap_or_default();
        json.push('\n');
        write_atomic(&r.join(REPORT_FILES[0]), json.as_bytes())?;
        write_atomic(&r.join(REPORT_FILES[1]), trained.reliability_svg.as_bytes())?;
    }
    if let Some(path) = &out.dataset_csv {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io(parent, "creating the folder"))?;
        }
        write_atomic_with(path, &mut |w| crate::report::write_dataset_csv(w, data, &trained.selection))?;
    }
    Ok(Written { files: out.files(), max_diff_pwin, max_diff_slippage })
}
