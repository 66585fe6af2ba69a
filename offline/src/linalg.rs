//! The small dense linear algebra the learners share: a Cholesky factorisation and solve for symmetric
//! positive (semi-)definite systems of a few dozen unknowns, with a diagonal-jitter fallback.
//!
//! Written here on purpose rather than taken from linalg crates: linfa pins ndarray 0.16 while tract pins
//! 0.17, and the workspace keeps one version of everything (DESIGN.md §10). The systems solved here are
//! tiny (features + 1), so the textbook algorithm is all that is needed.

/// Cholesky factorisation in place: on success the lower triangle of the row-major `n × n` matrix `a`
/// holds `L` with `A = L·Lᵀ` (the strict upper triangle is left untouched and never read).
/// Fails (returns `false`) when a pivot is not finite or not above `min_pivot`, i.e. `A` is not
/// numerically positive definite.
fn cholesky_in_place(a: &mut [f64], n: usize, min_pivot: f64) -> bool {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if !(d > min_pivot && d.is_finite()) {
            return false;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    true
}

/// Solves `L·Lᵀ x = b` given the factor from [`cholesky_in_place`]; `b` is overwritten with `x`.
fn cholesky_solve(l: &[f64], n: usize, b: &mut [f64]) {
    // Forward: L y = b.
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    // Backward: Lᵀ x = y.
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= l[k * n + i] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
}

/// Solves the symmetric positive definite system `A x = b` (`A` row-major `n × n`).
///
/// A pivot at or below `1e-14` times the largest diagonal entry counts as zero. When `A` is not
/// numerically positive definite (a singular Hessian from collinear features with no regularisation, say),
/// a growing multiple of the identity is added — `1e-12`, then ×100 each time up to
/// `1e-2`, relative to the largest diagonal entry — which gives the solution of a slightly ridged system.
/// Returns `None` when even that fails (non-finite entries) or the solution is not finite.
pub(crate) fn solve_spd(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    debug_assert_eq!(a.len(), n * n);
    debug_assert_eq!(b.len(), n);
    if n == 0 {
        return Some(Vec::new());
    }
    if a.iter().chain(b).any(|v| !v.is_finite()) {
        return None;
    }
    let scale = (0..n).map(|i| a[i * n + i].abs()).fold(0.0_f64, f64::max).max(f64::MIN_POSITIVE);
    let mut jitter = 0.0;
    let mut factor = a.to_vec();
    loop {
        factor.copy_from_slice(a);
        for i in 0..n {
            factor[i * n + i] += jitter;
        }
        if cholesky_in_place(&mut factor, n, 1e-14 * scale) {
            let mut x = b.to_vec();
            cholesky_solve(&factor, n, &mut x);
            return x.iter().all(|v| v.is_finite()).then_some(x);
        }
        jitter = if jitter == 0.0 { 1e-12 * scale } else { jitter * 100.0 };
        if jitter > 1e-2 * scale {
            return None;
        }
    }
}

/// A small deterministic generator for tests (SplitMix64): no `rand` dependency in this crate.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct SplitMix(pub u64);

#[cfg(test)]
impl SplitMix {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matvec(a: &[f64], x: &[f64], n: usize) -> Vec<f64> {
        (0..n).map(|i| (0..n).map(|j| a[i * n + j] * x[j]).sum()).collect()
    }

    #[test]
    fn solves_a_known_system() {
        // A = [[4, 2], [2, 3]], b = [2, 1] → x = [0.5, 0] (checked by hand: 4·0.5 = 2, 2·0.5 = 1).
        let x = solve_spd(&[4.0, 2.0, 2.0, 3.0], &[2.0, 1.0], 2).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-15 && x[1].abs() < 1e-15, "{x:?}");
    }

    #[test]
    fn random_spd_systems_have_small_residuals() {
        let mut rng = SplitMix(7);
        for n in 1..12 {
            // A = MᵀM + I is SPD.
            let m: Vec<f64> = (0..n * n).map(|_| rng.normal()).collect();
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] = (0..n).map(|k| m[k * n + i] * m[k * n + j]).sum::<f64>();
                }
                a[i * n + i] += 1.0;
            }
            let b: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let x = solve_spd(&a, &b, n).unwrap();
            let r = matvec(&a, &x, n);
            for i in 0..n {
                assert!((r[i] - b[i]).abs() < 1e-9, "n {n}: residual {}", r[i] - b[i]);
            }
        }
    }

    #[test]
    fn singular_system_falls_back_to_jitter() {
        // Rank one: [[1, 1], [1, 1]] x = [2, 2]; the ridged solution tends to the minimum-norm x = [1, 1].
        let x = solve_spd(&[1.0, 1.0, 1.0, 1.0], &[2.0, 2.0], 2).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6, "{x:?}");
        // Indefinite beyond what jitter may repair, and non-finite input: None, no panic.
        assert!(solve_spd(&[1.0, 0.0, 0.0, -1.0], &[1.0, 1.0], 2).is_none());
        assert!(solve_spd(&[f64::NAN], &[1.0], 1).is_none());
    }
}
