//! Ridge regression: the slippage regressor.
//!
//! Closed form on standardised, centred data, solved with the shared Cholesky in `linalg`
//! (written here rather than taken from linfa, which pins ndarray 0.16 while tract pins 0.17). The
//! objective, on standardised features `s = (x − mean) / std` (population std), is
//!
//! ```text
//!   (1 / 2n) Σᵢ (yᵢ − w·sᵢ − b)²  +  (l2 / 2) ‖w‖²
//! ```
//!
//! the same scaling as [`crate::logistic`]: `l2` does not depend on the sample count or the features'
//! units, and the bias is not penalised. Because the standardised columns have mean zero, the bias is the
//! mean of `y` and `w` solves `(SᵀS/n + l2·I) w = Sᵀ(y − ȳ)/n`. Constant columns get weight 0. With
//! `l2 = 0` and collinear columns the system is singular and the jitter fallback returns a slightly ridged
//! solution. The result is folded back onto raw inputs ([`LinearFit`]).

use crate::linalg::solve_spd;
use crate::logistic::{FitError, LinearFit, column_stats, fold, std_row};
use crate::matrix::Matrix;

/// Fits ridge regression of `y` on the rows of `x`; returns `w·x + b` on raw inputs.
///
/// Errors: empty data, rows ≠ targets, a non-finite feature or target, `l2` negative or not finite, a
/// singular system the jitter fallback cannot repair.
pub fn fit_ridge(x: &Matrix, y: &[f64], l2: f64) -> Result<LinearFit, FitError> {
    if !(l2.is_finite() && l2 >= 0.0) {
        return Err(FitError::BadPenalty(l2));
    }
    if x.rows != y.len() {
        return Err(FitError::LengthMismatch { rows: x.rows, targets: y.len() });
    }
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(FitError::NonFinite { what: "the targets", row, col: None, value: y[row] });
    }
    let (st, active) = column_stats(x)?;
    let cols: Vec<usize> = (0..x.cols).filter(|&j| active[j]).collect();
    let d = cols.len();
    let n = x.rows as f64;
    let y_mean = y.iter().sum::<f64>() / n;

    let mut gram = vec![0.0; d * d];
    let mut rhs = vec![0.0; d];
    let mut s = vec![0.0; d];
    for (r, &yi) in y.iter().enumerate() {
        std_row(x, r, &st, &cols, &mut s);
        let yc = yi - y_mean;
        for a in 0..d {
            rhs[a] += s[a] * yc;
            for b in 0..=a {
                gram[a * d + b] += s[a] * s[b];
            }
        }
    }
    for a in 0..d {
        rhs[a] /= n;
        for b in 0..=a {
            gram[a * d + b] /= n;
            gram[b * d + a] = gram[a * d + b];
        }
        gram[a * d + a] += l2;
    }
    let w = solve_spd(&gram, &rhs, d).ok_or(FitError::Singular)?;
    Ok(fold(&st, &active, &w, y_mean))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::SplitMix;
    use proptest::prelude::*;

    #[test]
    fn noise_free_data_is_recovered_exactly() {
        let mut rng = SplitMix(1);
        let rows: Vec<Vec<f64>> = (0..50).map(|_| vec![rng.normal(), 100.0 + 5.0 * rng.normal(), 4.0]).collect();
        let y: Vec<f64> = rows.iter().map(|r| 2.0 * r[0] - 3.0 * r[1] + 5.0).collect();
        let fit = fit_ridge(&Matrix::from_rows(&rows).unwrap(), &y, 0.0).unwrap();
        assert!((fit.weights[0] - 2.0).abs() < 1e-9, "{fit:?}");
        assert!((fit.weights[1] + 3.0).abs() < 1e-9, "{fit:?}");
        assert_eq!(fit.weights[2], 0.0, "a constant column gets weight 0");
        assert!((fit.bias - 5.0).abs() < 1e-7, "{fit:?}");
    }

    /// One feature: the standardised column has variance 1, so w_std = cov(s, y) / (1 + l2), i.e. on raw
    /// inputs w = cov(x, y) / (var(x)·(1 + l2)) and b = ȳ − w·x̄ (population moments).
    #[test]
    fn one_feature_matches_the_closed_form() {
        let x = [1.0, 2.0, 4.0, 7.0, 11.0];
        let y = [3.0, -1.0, 2.0, 8.0, 6.5];
        let n = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let cov = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / n;
        let var = x.iter().map(|a| (a - mx) * (a - mx)).sum::<f64>() / n;
        let m = Matrix::from_rows(&x.iter().map(|&v| vec![v]).collect::<Vec<_>>()).unwrap();
        for l2 in [0.0, 0.5, 3.0] {
            let fit = fit_ridge(&m, &y, l2).unwrap();
            let w = cov / (var * (1.0 + l2));
            assert!((fit.weights[0] - w).abs() < 1e-12, "l2 {l2}: {fit:?} vs {w}");
            assert!((fit.bias - (my - w * mx)).abs() < 1e-12, "l2 {l2}: {fit:?}");
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let x = Matrix::from_rows(&[vec![1.0], vec![2.0]]).unwrap();
        assert!(matches!(fit_ridge(&x, &[1.0], 0.1), Err(FitError::LengthMismatch { .. })));
        assert!(matches!(fit_ridge(&x, &[1.0, f64::NAN], 0.1), Err(FitError::NonFinite { row: 1, .. })));
        assert!(matches!(fit_ridge(&x, &[1.0, 2.0], f64::INFINITY), Err(FitError::BadPenalty(_))));
        assert!(matches!(fit_ridge(&Matrix::zeros(0, 1), &[], 0.1), Err(FitError::Empty { .. })));
        // One sample: every column is constant, the fit is the mean.
        let one = fit_ridge(&Matrix::from_rows(&[vec![3.0, 4.0]]).unwrap(), &[2.5], 0.0).unwrap();
        assert_eq!(one, LinearFit { weights: vec![0.0, 0.0], bias: 2.5 });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Normal equations in raw coordinates at the fit: Σ rᵢ = 0 and Σ rᵢ xᵢⱼ / (n·stdⱼ) = l2·wⱼ·stdⱼ,
        /// with rᵢ = yᵢ − ŷᵢ.
        #[test]
        fn normal_equations_hold(
            data in proptest::collection::vec((-10.0f64..10.0, -1e3f64..1e3, -50.0f64..50.0), 5..50),
            l2 in 0.0f64..3.0,
        ) {
            let rows: Vec<Vec<f64>> = data.iter().map(|d| vec![d.0, d.1]).collect();
            let y: Vec<f64> = data.iter().map(|d| d.2).collect();
            let x = Matrix::from_rows(&rows).unwrap();
            let fit = fit_ridge(&x, &y, l2.max(1e-6)).unwrap();
            let n = x.rows as f64;
            let r: Vec<f64> = (0..x.rows).map(|i| y[i] - fit.predict_raw(x.row(i))).collect();
            prop_assert!(r.iter().sum::<f64>().abs() / n < 1e-8);
            for j in 0..2 {
                let m = rows.iter().map(|v| v[j]).sum::<f64>() / n;
                let sd = (rows.iter().map(|v| (v[j] - m).powi(2)).sum::<f64>() / n).sqrt();
                let g = r.iter().zip(&rows).map(|(e, v)| e * v[j]).sum::<f64>() / (n * sd)
                    - l2.max(1e-6) * fit.weights[j] * sd;
                prop_assert!(g.abs() < 1e-7 * (1.0 + y.iter().map(|v| v.abs()).fold(0.0, f64::max)),
                    "column {j}: {g}");
            }
        }
    }
}
