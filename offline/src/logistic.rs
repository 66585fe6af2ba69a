//! L2-regularised logistic regression: the p(win) classifier.
//!
//! Fitted by Newton's method (iteratively reweighted least squares) with a backtracking line search, each
//! step solved by the shared dense Cholesky in `linalg`. Written here rather than taken from linfa,
//! which pins ndarray 0.16 while tract pins 0.17 (one version per workspace, DESIGN.md §10); the problem is
//! small (a few dozen features) and the textbook method converges in a handful of iterations.
//!
//! The objective, on standardised features `s = (x − mean) / std` (population std), is
//!
//! ```text
//!   (1/n) Σᵢ [ log(1 + e^{zᵢ}) − yᵢ zᵢ ]  +  (l2 / 2) ‖w‖²,     zᵢ = w·sᵢ + b
//! ```
//!
//! so `l2` does not depend on the sample count or on the features' units, and the bias is not penalised.
//! The fitted map is returned on RAW inputs ([`LinearFit`]): the standardisation is folded into the weights
//! and bias, so the engine computes `w·x + b` with no preprocessing (a logistic ONNX model, or a dot product).
//!
//! Convergence: the ∞-norm of the objective's gradient below `1e-10`, at most [`MAX_ITERATIONS`] Newton steps.
//! With `l2 > 0` the objective is strictly convex and bounded below, so separable data still gives finite
//! weights. With `l2 = 0` the maximum-likelihood estimate may not exist; a fit that separates the training
//! data perfectly is refused ([`FitError::Separable`]). Use `l2 > 0` in production.

use crate::linalg::solve_spd;
use crate::matrix::Matrix;

/// At most this many Newton steps.
pub const MAX_ITERATIONS: usize = 50;
/// Converged when every component of the gradient is at most this in absolute value.
const GRAD_TOL: f64 = 1e-10;

/// Why a learner or calibrator could not fit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("no {what} samples: nothing to fit")]
    Empty { what: &'static str },
    #[error("{rows} rows of features but {targets} targets: they must match one to one")]
    LengthMismatch { rows: usize, targets: usize },
    #[error("the feature matrix says {rows} × {cols} but holds {len} values")]
    BadMatrix { rows: usize, cols: usize, len: usize },
    #[error("non-finite value ({value}) in {what} at row {row}{}: clean or drop such rows before fitting",
        col.map(|c| format!(", column {c}")).unwrap_or_default())]
    NonFinite { what: &'static str, row: usize, col: Option<usize>, value: f64 },
    #[error("only one class in {} {what} samples: the labels are all {}; widen the barriers or use more data",
        thousands(*n), if *all_wins { "wins" } else { "losses" })]
    OneClass { what: &'static str, n: usize, all_wins: bool },
    #[error("the L2 penalty must be finite and ≥ 0, got {0}")]
    BadPenalty(f64),
    #[error("invalid parameter: {0}")]
    BadParam(String),
    #[error(
        "the classes are perfectly separable with l2 = 0, so the maximum-likelihood weights are infinite; use l2 > 0"
    )]
    Separable,
    #[error("the linear system is singular even after adding jitter (collinear or degenerate features)")]
    Singular,
    #[error("Newton's method did not converge in {iterations} iterations (gradient norm {grad_norm:.3e})")]
    NotConverged { iterations: usize, grad_norm: f64 },
}

/// `1234567` → `"1,234,567"`, for messages people read.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A linear map on raw (unstandardised) inputs: `w·x + b`. For [`fit_logistic`] it gives the logit.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinearFit {
    pub weights: Vec<f64>,
    pub bias: f64,
}

impl LinearFit {
    /// `w·x + b`. NaN when `x` does not have one value per weight (no panic).
    pub fn predict_raw(&self, x: &[f64]) -> f64 {
        if x.len() != self.weights.len() {
            return f64::NAN;
        }
        self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>() + self.bias
    }

    /// `sigmoid(w·x + b)`: the probability, for a logistic fit.
    pub fn predict_proba(&self, x: &[f64]) -> f64 {
        sigmoid(self.predict_raw(x))
    }
}

/// Per-column mean and population standard deviation. A constant column (std ≤ 1e-12·|mean|, or 0) gets
/// std 1; the learners give such a column weight 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Column statistics of `x`, refusing an empty matrix, a malformed one, or a non-finite value.
    pub fn fit(x: &Matrix) -> Result<Standardizer, FitError> {
        Ok(column_stats(x)?.0)
    }

    /// `(x − mean) / std` into `out` (both of the matrix's width).
    pub fn apply(&self, x: &[f64], out: &mut [f64]) {
        for (((o, v), m), s) in out.iter_mut().zip(x).zip(&self.mean).zip(&self.std) {
            *o = (v - m) / s;
        }
    }
}

/// Checks the matrix and returns its standardiser and which columns vary (are fitted).
pub(crate) fn column_stats(x: &Matrix) -> Result<(Standardizer, Vec<bool>), FitError> {
    if x.data.len() != x.rows * x.cols {
        return Err(FitError::BadMatrix { rows: x.rows, cols: x.cols, len: x.data.len() });
    }
    if x.rows == 0 {
        return Err(FitError::Empty { what: "training" });
    }
    if let Some(i) = x.data.iter().position(|v| !v.is_finite()) {
        let (row, col) = (i / x.cols.max(1), i % x.cols.max(1));
        return Err(FitError::NonFinite { what: "the features", row, col: Some(col), value: x.data[i] });
    }
    let n = x.rows as f64;
    let mut mean = vec![0.0; x.cols];
    for r in 0..x.rows {
        for (m, v) in mean.iter_mut().zip(x.row(r)) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; x.cols];
    for r in 0..x.rows {
        for ((s, v), m) in var.iter_mut().zip(x.row(r)).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    let mut active = vec![true; x.cols];
    let std = var
        .iter()
        .zip(&mean)
        .zip(&mut active)
        .map(|((v, m), a)| {
            let s = (v / n).sqrt();
            if s > 1e-12 * m.abs() && s > 0.0 && s.is_finite() {
                s
            } else {
                *a = false;
                1.0
            }
        })
        .collect();
    Ok((Standardizer { mean, std }, active))
}

/// The logistic function, computed without overflow for any `z` (NaN stays NaN).
#[inline]
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^z)` without overflow.
#[inline]
pub(crate) fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// Refuses an empty, mismatched or single-class label set.
pub(crate) fn check_labels(rows: usize, y: &[bool], what: &'static str) -> Result<(), FitError> {
    if rows != y.len() {
        return Err(FitError::LengthMismatch { rows, targets: y.len() });
    }
    if y.is_empty() {
        return Err(FitError::Empty { what });
    }
    let wins = y.iter().filter(|&&v| v).count();
    if wins == 0 || wins == y.len() {
        return Err(FitError::OneClass { what, n: y.len(), all_wins: wins > 0 });
    }
    Ok(())
}

/// Folds the standardisation into weights fitted on the active standardised columns.
pub(crate) fn fold(std: &Standardizer, active: &[bool], w_std: &[f64], b_std: f64) -> LinearFit {
    let mut weights = vec![0.0; active.len()];
    let mut bias = b_std;
    let mut k = 0;
    for j in 0..active.len() {
        if active[j] {
            weights[j] = w_std[k] / std.std[j];
            bias -= weights[j] * std.mean[j];
            k += 1;
        }
    }
    LinearFit { weights, bias }
}

/// The active standardised columns of row `r`, written into `out`.
#[inline]
pub(crate) fn std_row(x: &Matrix, r: usize, st: &Standardizer, cols: &[usize], out: &mut [f64]) {
    let row = x.row(r);
    for (o, &j) in out.iter_mut().zip(cols) {
        *o = (row[j] - st.mean[j]) / st.std[j];
    }
}

/// Fits L2-regularised logistic regression of `y` on the rows of `x` and returns the logit's linear map on
/// raw inputs (see the module docs for the objective and the meaning of `l2`).
///
/// Errors: empty data, rows ≠ labels, a non-finite feature, one class only, `l2` negative or not finite,
/// separable data with `l2 = 0`, no convergence.
pub fn fit_logistic(x: &Matrix, y: &[bool], l2: f64) -> Result<LinearFit, FitError> {
    if !(l2.is_finite() && l2 >= 0.0) {
        return Err(FitError::BadPenalty(l2));
    }
    check_labels(x.rows, y, "training")?;
    let (st, active) = column_stats(x)?;
    let cols: Vec<usize> = (0..x.cols).filter(|&j| active[j]).collect();
    let d = cols.len();
    let p = d + 1; // weights then bias
    let n = x.rows as f64;

    // θ = [w, b]; start at w = 0, b = logit of the base rate (the optimum when w = 0).
    let rate = y.iter().filter(|&&v| v).count() as f64 / n;
    let mut theta = vec![0.0; p];
    theta[d] = (rate / (1.0 - rate)).ln();

    let mut s = vec![0.0; d];
    let objective = |theta: &[f64], s: &mut [f64]| -> f64 {
        let mut loss = 0.0;
        for (r, &yi) in y.iter().enumerate() {
            std_row(x, r, &st, &cols, s);
            let z = dot(&theta[..d], s) + theta[d];
            loss += softplus(z) - if yi { z } else { 0.0 };
        }
        loss / n + 0.5 * l2 * theta[..d].iter().map(|w| w * w).sum::<f64>()
    };

    let mut f = objective(&theta, &mut s);
    let mut grad = vec![0.0; p];
    let mut hess = vec![0.0; p * p];
    let mut sx = vec![0.0; p];
    let mut candidate = vec![0.0; p];
    let mut converged = false;
    let mut grad_norm = f64::INFINITY;
    for _ in 0..MAX_ITERATIONS {
        grad.iter_mut().for_each(|g| *g = 0.0);
        hess.iter_mut().for_each(|h| *h = 0.0);
        for (r, &yi) in y.iter().enumerate() {
            std_row(x, r, &st, &cols, &mut sx[..d]);
            sx[d] = 1.0;
            let z = dot(&theta[..d], &sx[..d]) + theta[d];
            let pr = sigmoid(z);
            let resid = pr - if yi { 1.0 } else { 0.0 };
            let wgt = pr * (1.0 - pr);
            for a in 0..p {
                grad[a] += resid * sx[a];
                let wa = wgt * sx[a];
                for b in 0..=a {
                    hess[a * p + b] += wa * sx[b];
                }
            }
        }
        for a in 0..p {
            grad[a] /= n;
            for b in 0..=a {
                hess[a * p + b] /= n;
                hess[b * p + a] = hess[a * p + b];
            }
        }
        for j in 0..d {
            grad[j] += l2 * theta[j];
            hess[j * p + j] += l2;
        }
        grad_norm = grad.iter().fold(0.0_f64, |m, g| m.max(g.abs()));
        if grad_norm <= GRAD_TOL {
            converged = true;
            break;
        }
        let step = solve_spd(&hess, &grad, p).ok_or(FitError::Singular)?;
        let slope = dot(&grad, &step); // > 0: −step is a descent direction
        // Backtracking (Armijo) with a rounding allowance, so that near the optimum, where the decrease is
        // below the objective's rounding error, the full Newton step is still taken.
        let noise = 1e-13 * (1.0 + f.abs());
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            for a in 0..p {
                candidate[a] = theta[a] - t * step[a];
            }
            let fc = objective(&candidate, &mut s);
            if fc.is_finite() && fc <= f - 1e-4 * t * slope + noise {
                theta.copy_from_slice(&candidate);
                f = fc;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            // No progress possible at this precision: accept if the gradient is already tiny.
            converged = grad_norm <= 1e-7;
            break;
        }
    }
    if l2 == 0.0 && d > 0 {
        let separates = y.iter().enumerate().all(|(r, &yi)| {
            std_row(x, r, &st, &cols, &mut s);
            let z = dot(&theta[..d], &s) + theta[d];
            if yi { z > 0.0 } else { z < 0.0 }
        });
        if separates {
            return Err(FitError::Separable);
        }
    }
    if !converged {
        return Err(FitError::NotConverged { iterations: MAX_ITERATIONS, grad_norm });
    }
    Ok(fold(&st, &active, &theta[..d], theta[d]))
}

#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::SplitMix;
    use proptest::prelude::*;

    fn logit(p: f64) -> f64 {
        (p / (1.0 - p)).ln()
    }

    #[test]
    fn sigmoid_is_stable_and_symmetric() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert!((sigmoid(2.0) - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-16);
        for z in [-30.0, -3.0, -0.1, 0.7, 5.0, 40.0] {
            assert!((sigmoid(z) + sigmoid(-z) - 1.0).abs() < 1e-15);
        }
        assert!(sigmoid(f64::NAN).is_nan());
        assert!((softplus(800.0) - 800.0).abs() < 1e-12 && softplus(-800.0) >= 0.0);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    /// One binary feature: the unpenalised MLE is analytic, b = logit(p̂₀), w = logit(p̂₁) − logit(p̂₀),
    /// where p̂ₖ is the win rate among rows with x = k.
    #[test]
    fn binary_feature_matches_the_analytic_mle() {
        // x = 0: 30 rows, 10 wins; x = 1: 20 rows, 15 wins.
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..30 {
            rows.push(vec![0.0]);
            y.push(i < 10);
        }
        for i in 0..20 {
            rows.push(vec![1.0]);
            y.push(i < 15);
        }
        let fit = fit_logistic(&Matrix::from_rows(&rows).unwrap(), &y, 0.0).unwrap();
        let b = logit(10.0 / 30.0);
        let w = logit(15.0 / 20.0) - b;
        assert!((fit.bias - b).abs() < 1e-9, "{fit:?} vs b {b}");
        assert!((fit.weights[0] - w).abs() < 1e-9, "{fit:?} vs w {w}");
        // Same answer when the feature is rescaled and shifted: the fit is on raw inputs.
        let rows2: Vec<Vec<f64>> = rows.iter().map(|r| vec![1000.0 + 250.0 * r[0]]).collect();
        let fit2 = fit_logistic(&Matrix::from_rows(&rows2).unwrap(), &y, 0.0).unwrap();
        assert!((fit2.predict_raw(&[1000.0]) - b).abs() < 1e-8);
        assert!((fit2.predict_raw(&[1250.0]) - (b + w)).abs() < 1e-8);
    }

    fn gaussian_problem(n: usize, seed: u64) -> (Matrix, Vec<bool>) {
        let mut rng = SplitMix(seed);
        let true_w = [1.2, -0.8, 0.3];
        let mut x = Matrix::zeros(n, 3);
        let mut y = Vec::with_capacity(n);
        for r in 0..n {
            let row = x.row_mut(r);
            row[0] = rng.normal();
            row[1] = 3.0 + 2.0 * rng.normal();
            row[2] = -50.0 + 10.0 * rng.normal();
            let z = true_w[0] * row[0] + true_w[1] * (row[1] - 3.0) / 2.0 + true_w[2] * (row[2] + 50.0) / 10.0;
            y.push(rng.uniform() < sigmoid(z - 0.4));
        }
        (x, y)
    }

    /// Independent solution: plain gradient descent on the same objective, written from scratch here.
    fn gradient_descent(x: &Matrix, y: &[bool], l2: f64) -> LinearFit {
        let (n, d) = (x.rows, x.cols);
        let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|r| x.row(r)[j]).sum::<f64>() / n as f64).collect();
        let sd: Vec<f64> =
            (0..d).map(|j| ((0..n).map(|r| (x.row(r)[j] - mean[j]).powi(2)).sum::<f64>() / n as f64).sqrt()).collect();
        let s: Vec<Vec<f64>> = (0..n).map(|r| (0..d).map(|j| (x.row(r)[j] - mean[j]) / sd[j]).collect()).collect();
        let (mut w, mut b) = (vec![0.0; d], 0.0);
        for _ in 0..20_000 {
            let (mut gw, mut gb) = (vec![0.0; d], 0.0);
            for (si, &yi) in s.iter().zip(y) {
                let z: f64 = si.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>() + b;
                let e = 1.0 / (1.0 + (-z).exp()) - f64::from(u8::from(yi));
                gb += e;
                for j in 0..d {
                    gw[j] += e * si[j];
                }
            }
            b -= 1.0 * gb / n as f64;
            for j in 0..d {
                w[j] -= 1.0 * (gw[j] / n as f64 + l2 * w[j]);
            }
        }
        let weights: Vec<f64> = (0..d).map(|j| w[j] / sd[j]).collect();
        let bias = b - (0..d).map(|j| weights[j] * mean[j]).sum::<f64>();
        LinearFit { weights, bias }
    }

    #[test]
    fn newton_matches_gradient_descent() {
        let (x, y) = gaussian_problem(400, 11);
        for l2 in [0.0, 0.01, 0.3] {
            let fit = fit_logistic(&x, &y, l2).unwrap();
            let gd = gradient_descent(&x, &y, l2);
            for r in 0..x.rows {
                let (a, b) = (fit.predict_raw(x.row(r)), gd.predict_raw(x.row(r)));
                assert!((a - b).abs() < 1e-6, "l2 {l2}, row {r}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn recovers_true_weights_on_large_samples() {
        let (x, y) = gaussian_problem(50_000, 3);
        let fit = fit_logistic(&x, &y, 0.0).unwrap();
        // Raw weights: 1.2, −0.8/2, 0.3/10; bias −0.4 + 0.8·3/2 + 0.3·50/10.
        let want = [1.2, -0.4, 0.03];
        for (w, t) in fit.weights.iter().zip(want) {
            assert!((w - t).abs() < 0.05 * t.abs().max(0.2), "{fit:?}");
        }
        assert!((fit.bias - (-0.4 + 1.2 + 1.5)).abs() < 0.1, "{fit:?}");
    }

    #[test]
    fn separable_data_stays_finite_with_l2_and_is_refused_without() {
        let rows: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64]).collect();
        let y: Vec<bool> = (0..20).map(|i| i >= 10).collect();
        let x = Matrix::from_rows(&rows).unwrap();
        let fit = fit_logistic(&x, &y, 1e-3).unwrap();
        assert!(fit.weights[0].is_finite() && fit.weights[0] > 0.0 && fit.bias.is_finite());
        assert!(fit.predict_proba(&[0.0]) < 0.5 && fit.predict_proba(&[19.0]) > 0.5);
        assert_eq!(fit_logistic(&x, &y, 0.0), Err(FitError::Separable));
    }

    #[test]
    fn constant_and_duplicate_columns() {
        let (x, y) = gaussian_problem(300, 5);
        // Add a constant column and a copy of column 0.
        let rows: Vec<Vec<f64>> = (0..x.rows).map(|r| vec![x.row(r)[0], 7.5, x.row(r)[0]]).collect();
        let fit = fit_logistic(&Matrix::from_rows(&rows).unwrap(), &y, 0.1).unwrap();
        assert_eq!(fit.weights[1], 0.0);
        // With a penalty the two copies share the weight equally.
        assert!((fit.weights[0] - fit.weights[2]).abs() < 1e-9, "{fit:?}");
        // Without a penalty the Hessian is singular: the jitter fallback still gives a usable fit.
        let fit0 = fit_logistic(&Matrix::from_rows(&rows).unwrap(), &y, 0.0).unwrap();
        let single: Vec<Vec<f64>> = (0..x.rows).map(|r| vec![x.row(r)[0]]).collect();
        let ref0 = fit_logistic(&Matrix::from_rows(&single).unwrap(), &y, 0.0).unwrap();
        assert!((fit0.weights[0] + fit0.weights[2] - ref0.weights[0]).abs() < 1e-4, "{fit0:?} {ref0:?}");
    }

    #[test]
    fn no_features_gives_the_base_rate() {
        let x = Matrix::zeros(4, 0);
        let fit = fit_logistic(&x, &[true, false, false, false], 1.0).unwrap();
        assert!(fit.weights.is_empty());
        assert!((sigmoid(fit.bias) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let x = Matrix::from_rows(&[vec![1.0], vec![2.0], vec![3.0]]).unwrap();
        let e = fit_logistic(&x, &[false, false, false], 1.0).unwrap_err();
        assert_eq!(e, FitError::OneClass { what: "training", n: 3, all_wins: false });
        assert!(e.to_string().contains("all losses"), "{e}");
        let big = Matrix::zeros(1234, 1);
        let msg = fit_logistic(&big, &vec![true; 1234], 1.0).unwrap_err().to_string();
        assert_eq!(
            msg,
            "only one class in 1,234 training samples: the labels are all wins; widen the barriers or use more data"
        );
        assert!(matches!(
            fit_logistic(&Matrix::zeros(0, 2), &[], 1.0),
            Err(FitError::LengthMismatch { .. }) | Err(FitError::Empty { .. })
        ));
        assert!(matches!(fit_logistic(&x, &[true, false], 1.0), Err(FitError::LengthMismatch { .. })));
        assert!(matches!(fit_logistic(&x, &[true, false, true], -1.0), Err(FitError::BadPenalty(_))));
        assert!(matches!(fit_logistic(&x, &[true, false, true], f64::NAN), Err(FitError::BadPenalty(_))));
        let nan = Matrix::from_rows(&[vec![1.0], vec![f64::NAN], vec![3.0]]).unwrap();
        let e = fit_logistic(&nan, &[true, false, true], 1.0).unwrap_err();
        assert!(matches!(e, FitError::NonFinite { row: 1, col: Some(0), .. }), "{e}");
        let bad = Matrix { rows: 2, cols: 2, data: vec![1.0; 3] };
        assert!(matches!(fit_logistic(&bad, &[true, false], 1.0), Err(FitError::BadMatrix { .. })));
        assert!(LinearFit { weights: vec![1.0], bias: 0.0 }.predict_raw(&[1.0, 2.0]).is_nan());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// At the returned fit the penalised objective's gradient vanishes (checked in raw coordinates):
        /// Σ(p − y) = 0 and Σ(p − y)·xⱼ / (n·stdⱼ) + l2·wⱼ·stdⱼ = 0.
        #[test]
        fn first_order_conditions_hold(
            data in proptest::collection::vec((-5.0f64..5.0, -100.0f64..100.0, any::<bool>()), 8..60),
            l2 in 0.001f64..2.0,
        ) {
            let y: Vec<bool> = data.iter().map(|d| d.2).collect();
            prop_assume!(y.iter().any(|&v| v) && y.iter().any(|&v| !v));
            let rows: Vec<Vec<f64>> = data.iter().map(|d| vec![d.0, d.1]).collect();
            let x = Matrix::from_rows(&rows).unwrap();
            let fit = fit_logistic(&x, &y, l2).unwrap();
            let n = x.rows as f64;
            let resid: Vec<f64> =
                (0..x.rows).map(|r| fit.predict_proba(x.row(r)) - f64::from(u8::from(y[r]))).collect();
            prop_assert!(resid.iter().sum::<f64>().abs() / n < 1e-8);
            for j in 0..2 {
                let m = rows.iter().map(|r| r[j]).sum::<f64>() / n;
                let sd = (rows.iter().map(|r| (r[j] - m).powi(2)).sum::<f64>() / n).sqrt();
                if sd < 1e-9 { continue; }
                let g = resid.iter().zip(&rows).map(|(e, r)| e * r[j]).sum::<f64>() / (n * sd)
                    + l2 * fit.weights[j] * sd;
                prop_assert!(g.abs() < 1e-8, "column {j}: gradient {g}");
            }
        }
    }
}
