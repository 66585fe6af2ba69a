//! Shadow scoring: before a new model goes live, it scores the engine's recent candidates beside the
//! live model on the cold side, and the swap is refused if it answers nonsense.
//!
//! The rows are the feature vectors the decide stage journaled with its last candidates (DESIGN.md
//! §1: the cold side reads what the hot side wrote), so the comparison is on the market the engine is
//! trading now, not on training data. With no candidates yet, the model's probe rows stand in.

use super::recent::RecentRow;
use kestrel_engine::decide::model::ModelRole;
use kestrel_infer::LoadedModel;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShadowReport {
    /// Rows scored.
    pub rows: usize,
    /// Mean output of the new model.
    pub new_mean: f64,
    /// Mean output of the live model on the same rows (none when the role had no live model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_abs_diff: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_abs_diff: Option<f64>,
    /// p(win) only: rows on which the two models fall on different sides of `strategy.min_pwin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_flips: Option<usize>,
}

fn score(model: &LoadedModel, rows: &[RecentRow]) -> Result<Vec<f32>, String> {
    let inputs = model.inputs();
    let rows: Vec<Vec<f32>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![0f32; inputs.len()];
            inputs.gather(&r.features, r.side, &mut row);
            row
        })
        .collect();
    model.score_rows(&rows).map_err(|e| e.to_string())
}

/// Scores `rows` with both models; `Err` (the reason) when the new model's answers are unusable.
/// `max_drift`: refuse when the mean absolute difference from the live model exceeds it.
pub fn compare(
    new: &LoadedModel,
    live: Option<&LoadedModel>,
    rows: &[RecentRow],
    min_pwin: f64,
    max_drift: Option<f64>,
) -> Result<ShadowReport, String> {
    if rows.is_empty() {
        return Ok(ShadowReport::default());
    }
    let fresh = score(new, rows)?;
    let role = new.role();
    if let Some((i, v)) = fresh.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(format!("shadow scoring: output {v} on recent candidate {i} of {}", rows.len()));
    }
    if role == ModelRole::PWin
        && let Some((i, v)) = fresh.iter().enumerate().find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        return Err(format!("shadow scoring: p(win) {v} outside [0, 1] on recent candidate {i}"));
    }
    let mean = |v: &[f32]| v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
    let mut report = ShadowReport { rows: rows.len(), new_mean: mean(&fresh), ..ShadowReport::default() };
    if let Some(live) = live {
        let old = score(live, rows)?;
        let diffs: Vec<f64> = fresh.iter().zip(&old).map(|(a, b)| f64::from(a - b).abs()).collect();
        let mad = diffs.iter().sum::<f64>() / diffs.len() as f64;
        report.live_mean = Some(mean(&old));
        report.mean_abs_diff = Some(mad);
        report.max_abs_diff = Some(diffs.iter().copied().fold(0.0, f64::max));
        if role == ModelRole::PWin {
            report.gate_flips = Some(
                fresh
                    .iter()
                    .zip(&old)
                    .filter(|(a, b)| (f64::from(**a) >= min_pwin) != (f64::from(**b) >= min_pwin))
                    .count(),
            );
        }
        if let Some(limit) = max_drift.filter(|&l| mad > l) {
            return Err(format!(
                "shadow scoring: the new model differs from the live one by {mad:.4} on average over {} recent \
                 candidates, more than the allowed drift {limit}",
                rows.len()
            ));
        }
    }
    Ok(report)
}
