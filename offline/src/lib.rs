//! Offline learning (DESIGN.md §1, §5): tapes → the engine's own features → candidates → labels →
//! validation → models → ONNX + card → `models/`.
//!
//! In data-flow order:
//! - [`matrix`]: the row-major design matrix every learner takes;
//! - [`label`]: triple-barrier labels (profit-take and stop-loss scaled by volatility, a time barrier);
//! - [`split`]: purged K-fold and walk-forward splits with an embargo;
//! - [`logistic`] and [`ridge`]: the p(win) classifier and the slippage regressor (Newton / closed form
//!   over a small hand-written Cholesky in `linalg`: no linfa, whose ndarray differs from tract's);
//! - [`calibrate`]: Platt scaling and isotonic regression;
//! - [`metrics`]: Brier score, log-loss, AUC, reliability table and plot, against the base rate.

pub mod calibrate;
pub mod dataset;
pub mod label;
mod linalg;
pub mod logistic;
pub mod matrix;
pub mod metrics;
pub mod provenance;
pub mod publish;
pub mod report;
pub mod ridge;
pub mod runs;
pub mod split;
pub mod train;
