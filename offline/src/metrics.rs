//! Validation metrics for the p(win) classifier and the slippage regressor: Brier score, log-loss, AUC,
//! a reliability table and plot, each against the base rate a model must beat; MAE and R² for regression.
//!
//! Conventions (no panics on bad input): a metric over empty inputs, or inputs of different lengths,
//! is NaN; [`auc`] says `None` instead. Probabilities are not validated: a NaN prediction gives a NaN
//! Brier score and log-loss.

use std::fmt::Write as _;

/// Mean squared error of the probabilities: `(1/n) Σ (pᵢ − yᵢ)²`.
pub fn brier(p: &[f64], y: &[bool]) -> f64 {
    if p.is_empty() || p.len() != y.len() {
        return f64::NAN;
    }
    p.iter().zip(y).map(|(&pi, &yi)| (pi - f64::from(u8::from(yi))).powi(2)).sum::<f64>() / p.len() as f64
}

/// Mean negative log-likelihood in nats, probabilities clipped to `[1e-15, 1 − 1e-15]`.
pub fn log_loss(p: &[f64], y: &[bool]) -> f64 {
    if p.is_empty() || p.len() != y.len() {
        return f64::NAN;
    }
    const EPS: f64 = 1e-15;
    p.iter()
        .zip(y)
        .map(|(&pi, &yi)| {
            let pi = pi.clamp(EPS, 1.0 - EPS);
            -if yi { pi.ln() } else { (1.0 - pi).ln() }
        })
        .sum::<f64>()
        / p.len() as f64
}

/// Area under the ROC curve from ranks (Mann–Whitney U), tied scores getting their average rank: the
/// probability that a random win scores above a random loss, ties counting ½.
/// `None` when there is only one class, the lengths differ, or a score is NaN.
pub fn auc(score: &[f64], y: &[bool]) -> Option<f64> {
    if score.len() != y.len() || score.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = y.iter().filter(|&&v| v).count();
    let n_neg = y.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    // Sum of the (1-based, tie-averaged) ranks of the wins.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && score[order[j]] == score[order[i]] {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0; // mean of i+1 ..= j
        let wins = order[i..j].iter().filter(|&&k| y[k]).count();
        rank_sum += avg_rank * wins as f64;
        i = j;
    }
    let (np, nn) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - np * (np + 1.0) / 2.0) / (np * nn))
}

/// One bin of a reliability diagram.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReliabilityBin {
    /// The bin's range of predicted probabilities, `[lo, hi)` (the last bin includes 1).
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    /// Mean predicted probability in the bin.
    pub mean_pred: f64,
    /// Observed fraction of wins in the bin.
    pub frac_pos: f64,
}

/// Reliability diagram on `bins` equal-width bins over [0, 1]. Only non-empty bins are returned, in
/// increasing order. Predictions outside [0, 1] count as 0 or 1; NaN predictions are skipped.
/// Empty when `bins` is 0 or the lengths differ.
pub fn reliability(p: &[f64], y: &[bool], bins: usize) -> Vec<ReliabilityBin> {
    if bins == 0 || p.len() != y.len() {
        return Vec::new();
    }
    let nb = bins as f64;
    let mut count = vec![0usize; bins];
    let mut sum_p = vec![0.0; bins];
    let mut wins = vec![0usize; bins];
    for (&pi, &yi) in p.iter().zip(y) {
        if pi.is_nan() {
            continue;
        }
        let c = pi.clamp(0.0, 1.0);
        // floor(c·bins), corrected so that k/bins ≤ c < (k+1)/bins despite rounding.
        let mut k = ((c * nb) as usize).min(bins - 1);
        if k > 0 && c < k as f64 / nb {
            k -= 1;
        } else if k + 1 < bins && c >= (k + 1) as f64 / nb {
            k += 1;
        }
        count[k] += 1;
        sum_p[k] += c;
        wins[k] += usize::from(yi);
    }
    (0..bins)
        .filter(|&k| count[k] > 0)
        .map(|k| ReliabilityBin {
            lo: k as f64 / nb,
            hi: (k + 1) as f64 / nb,
            count: count[k],
            mean_pred: (sum_p[k] / count[k] as f64).clamp(k as f64 / nb, (k + 1) as f64 / nb),
            frac_pos: wins[k] as f64 / count[k] as f64,
        })
        .collect()
}

/// A model's scores on a test set next to those of the base-rate predictor.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scores {
    pub n: usize,
    /// The base rate the baseline predicts for every row (the TRAINING win rate).
    pub base_rate: f64,
    pub brier: f64,
    pub brier_base: f64,
    pub log_loss: f64,
    pub log_loss_base: f64,
    pub auc: Option<f64>,
}

/// Scores `p` against `y`, and the constant prediction `base_rate` (the training win rate) as the baseline.
pub fn score(p: &[f64], y: &[bool], base_rate: f64) -> Scores {
    let base = vec![base_rate; y.len()];
    Scores {
        n: y.len(),
        base_rate,
        brier: brier(p, y),
        brier_base: brier(&base, y),
        log_loss: log_loss(p, y),
        log_loss_base: log_loss(&base, y),
        auc: auc(p, y),
    }
}

/// Brier skill score, `1 − brier / brier_base`: > 0 when the model beats the base rate, 1 for a perfect
/// model. NaN when the baseline's Brier score is 0 (or NaN).
pub fn brier_skill(s: &Scores) -> f64 {
    if s.brier_base > 0.0 { 1.0 - s.brier / s.brier_base } else { f64::NAN }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A self-contained SVG reliability diagram: the diagonal, one point per bin at (mean predicted, observed)
/// with its area proportional to the bin's count. See [`reliability_svg_with_base_rate`] for a base-rate line.
pub fn reliability_svg(bins: &[ReliabilityBin], title: &str) -> String {
    reliability_svg_with_base_rate(bins, title, None)
}

/// [`reliability_svg`] plus, when given, a dashed horizontal line at the base rate.
pub fn reliability_svg_with_base_rate(bins: &[ReliabilityBin], title: &str, base_rate: Option<f64>) -> String {
    const W: f64 = 420.0;
    const H: f64 = 440.0;
    const L: f64 = 50.0; // plot left
    const T: f64 = 40.0; // plot top
    const S: f64 = 340.0; // plot side
    let px = |v: f64| L + S * v.clamp(0.0, 1.0);
    let py = |v: f64| T + S * (1.0 - v.clamp(0.0, 1.0));
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
        W / 2.0,
        xml_escape(title)
    );
    let _ = writeln!(svg, r##"<rect x="{L}" y="{T}" width="{S}" height="{S}" fill="none" stroke="#333"/>"##);
    for i in 0..=10 {
        let v = f64::from(i) / 10.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{x}" y1="{T}" x2="{x}" y2="{b}" stroke="#eee"/><line x1="{L}" y1="{y}" x2="{r}" y2="{y}" stroke="#eee"/>"##,
            x = px(v),
            y = py(v),
            b = T + S,
            r = L + S
        );
        if i % 2 == 0 {
            let _ = writeln!(svg, r#"<text x="{}" y="{}" text-anchor="middle">{v:.1}</text>"#, px(v), T + S + 16.0);
            let _ = writeln!(svg, r#"<text x="{}" y="{}" text-anchor="end">{v:.1}</text>"#, L - 6.0, py(v) + 4.0);
        }
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#888" stroke-dasharray="4 3"/>"##,
        px(0.0),
        py(0.0),
        px(1.0),
        py(1.0)
    );
    if let Some(b) = base_rate.filter(|b| b.is_finite()) {
        let _ = writeln!(
            svg,
            r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#c60" stroke-dasharray="6 3"/><text x="{}" y="{}" fill="#c60" text-anchor="end">base rate {b:.3}</text>"##,
            px(0.0),
            px(1.0),
            px(1.0) - 4.0,
            py(b) - 4.0,
            y = py(b)
        );
    }
    let max_count = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    let points: Vec<&ReliabilityBin> =
        bins.iter().filter(|b| b.count > 0 && b.mean_pred.is_finite() && b.frac_pos.is_finite()).collect();
    if points.len() > 1 {
        let path: Vec<String> =
            points.iter().map(|b| format!("{:.2},{:.2}", px(b.mean_pred), py(b.frac_pos))).collect();
        let _ = writeln!(svg, r##"<polyline points="{}" fill="none" stroke="#1f77b4"/>"##, path.join(" "));
    }
    for b in &points {
        let r = 2.0 + 10.0 * (b.count as f64 / max_count).sqrt();
        let _ = writeln!(
            svg,
            r##"<circle cx="{:.2}" cy="{:.2}" r="{r:.2}" fill="#1f77b4" fill-opacity="0.6"><title>[{:.2}, {:.2}): n = {}, predicted {:.3}, observed {:.3}</title></circle>"##,
            px(b.mean_pred),
            py(b.frac_pos),
            b.lo,
            b.hi,
            b.count,
            b.mean_pred,
            b.frac_pos
        );
    }
    let _ = writeln!(svg, r#"<text x="{}" y="{}" text-anchor="middle">predicted p(win)</text>"#, L + S / 2.0, H - 10.0);
    let _ = writeln!(
        svg,
        r#"<text x="14" y="{y}" text-anchor="middle" transform="rotate(-90 14 {y})">observed win rate</text>"#,
        y = T + S / 2.0
    );
    svg.push_str("</svg>\n");
    svg
}

/// A fixed-width text table of the bins for the terminal.
pub fn reliability_table(bins: &[ReliabilityBin]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:>13} {:>9} {:>9} {:>9} {:>8}", "bin", "count", "mean p", "win rate", "gap");
    for b in bins {
        let _ = writeln!(
            out,
            "[{:.3},{:.3}) {:>9} {:>9.4} {:>9.4} {:>+8.4}",
            b.lo,
            b.hi,
            b.count,
            b.mean_pred,
            b.frac_pos,
            b.frac_pos - b.mean_pred
        );
    }
    out
}

/// Mean absolute error.
pub fn mae(pred: &[f64], y: &[f64]) -> f64 {
    if pred.is_empty() || pred.len() != y.len() {
        return f64::NAN;
    }
    pred.iter().zip(y).map(|(p, t)| (p - t).abs()).sum::<f64>() / pred.len() as f64
}

/// Coefficient of determination, `1 − SS_res / SS_tot`. NaN when `y` is constant (SS_tot = 0).
pub fn r2(pred: &[f64], y: &[f64]) -> f64 {
    if pred.is_empty() || pred.len() != y.len() {
        return f64::NAN;
    }
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|t| (t - mean).powi(2)).sum();
    let ss_res: f64 = pred.iter().zip(y).map(|(p, t)| (t - p).powi(2)).sum();
    if ss_tot > 0.0 { 1.0 - ss_res / ss_tot } else { f64::NAN }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn brier_known_values() {
        assert_eq!(brier(&[1.0, 0.0, 1.0], &[true, false, true]), 0.0);
        assert_eq!(brier(&[0.0, 1.0], &[true, false]), 1.0);
        assert!((brier(&[0.8, 0.3], &[true, false]) - (0.04 + 0.09) / 2.0).abs() < 1e-15);
        // The base-rate predictor scores p(1 − p) on data whose win rate is p.
        let y = [true, false, false, false, true, false, false, false];
        assert!((brier(&[0.25; 8], &y) - 0.25 * 0.75).abs() < 1e-15);
        assert!(brier(&[], &[]).is_nan() && brier(&[0.5], &[]).is_nan());
    }

    #[test]
    fn log_loss_known_values() {
        assert!((log_loss(&[0.5, 0.5], &[true, false]) - std::f64::consts::LN_2).abs() < 1e-15);
        let want = -(0.9f64.ln() + 0.8f64.ln()) / 2.0;
        assert!((log_loss(&[0.9, 0.2], &[true, false]) - want).abs() < 1e-15);
        // Clipped: a confident miss costs −ln(1e-15) ≈ 34.54, not infinity.
        let miss = log_loss(&[0.0], &[true]);
        assert!((miss - 1e15f64.ln()).abs() < 1e-6, "{miss}");
        assert!(log_loss(&[1.0], &[true]) < 1e-14);
    }

    #[test]
    fn auc_known_values() {
        assert_eq!(auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
        assert_eq!(auc(&[0.1, 0.2, 0.3], &[false, true, true]), Some(1.0));
        assert_eq!(auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(auc(&[0.1, f64::NAN], &[true, false]), None);
        assert_eq!(auc(&[], &[]), None);
    }

    #[test]
    fn reliability_bins() {
        let p = [0.05, 0.15, 0.12, 0.95, 1.0, 0.3, 0.3, f64::NAN];
        let y = [false, true, false, true, true, false, true, true];
        let bins = reliability(&p, &y, 10);
        assert_eq!(bins.len(), 4);
        assert_eq!((bins[0].count, bins[0].frac_pos), (1, 0.0));
        assert_eq!(bins[1].count, 2);
        assert!((bins[1].mean_pred - 0.135).abs() < 1e-12 && bins[1].frac_pos == 0.5);
        // 0.3 lies on an edge: it belongs to [0.3, 0.4).
        assert_eq!((bins[2].lo, bins[2].count), (0.3, 2));
        assert_eq!((bins[3].lo, bins[3].hi, bins[3].count), (0.9, 1.0, 2));
        let total: usize = bins.iter().map(|b| b.count).sum();
        assert_eq!(total, 7);
        assert!(reliability(&p, &y, 0).is_empty());

        let table = reliability_table(&bins);
        assert_eq!(table.lines().count(), 5);
        assert!(table.lines().all(|l| l.len() == table.lines().next().map_or(0, str::len)), "{table}");
        let svg = reliability_svg_with_base_rate(&bins, "p(win) <test> & co", Some(0.4));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("&lt;test&gt; &amp; co") && svg.contains("base rate 0.400"));
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(!reliability_svg(&bins, "t").contains("base rate"));
    }

    #[test]
    fn scores_against_the_base_rate() {
        let p = [0.9, 0.8, 0.2, 0.1];
        let y = [true, true, false, false];
        let s = score(&p, &y, 0.5);
        assert_eq!(s.n, 4);
        assert!((s.brier - 0.025).abs() < 1e-15 && s.brier_base == 0.25);
        assert!((s.log_loss_base - std::f64::consts::LN_2).abs() < 1e-15);
        assert_eq!(s.auc, Some(1.0));
        assert!((brier_skill(&s) - 0.9).abs() < 1e-12);
        assert!(brier_skill(&score(&[1.0], &[true], 1.0)).is_nan());
    }

    #[test]
    fn regression_metrics() {
        assert_eq!(mae(&[1.0, 2.0, 3.0], &[2.0, 2.0, 5.0]), 1.0);
        assert_eq!(r2(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 1.0);
        // Predicting the mean gives 0; SS_res 1+0+1 = 2 over SS_tot 2 → 0.
        assert_eq!(r2(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]), 0.0);
        assert!((r2(&[1.5, 2.0, 2.0], &[1.0, 2.0, 3.0]) - (1.0 - 1.25 / 2.0)).abs() < 1e-15);
        assert!(r2(&[1.0], &[1.0]).is_nan() && mae(&[], &[]).is_nan());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// AUC equals the pairwise count: P(score_win > score_loss) + ½ P(equal), with many ties.
        #[test]
        fn auc_equals_pairwise_count(data in proptest::collection::vec((0u8..6, any::<bool>()), 0..40)) {
            let s: Vec<f64> = data.iter().map(|d| f64::from(d.0) / 5.0).collect();
            let y: Vec<bool> = data.iter().map(|d| d.1).collect();
            let (mut num, mut den) = (0.0, 0.0);
            for i in 0..s.len() {
                for j in 0..s.len() {
                    if y[i] && !y[j] {
                        den += 1.0;
                        num += if s[i] > s[j] { 1.0 } else if s[i] == s[j] { 0.5 } else { 0.0 };
                    }
                }
            }
            match auc(&s, &y) {
                None => prop_assert_eq!(den, 0.0),
                Some(a) => prop_assert!((a - num / den).abs() < 1e-12, "{} vs {}", a, num / den),
            }
        }

        /// Every non-NaN prediction lands in exactly one bin, and inside that bin's range.
        #[test]
        fn reliability_partitions(p in proptest::collection::vec(0.0f64..=1.0, 0..200), bins in 1usize..25) {
            let y: Vec<bool> = p.iter().map(|&v| v > 0.5).collect();
            let out = reliability(&p, &y, bins);
            prop_assert_eq!(out.iter().map(|b| b.count).sum::<usize>(), p.len());
            for b in &out {
                prop_assert!(b.lo <= b.mean_pred && b.mean_pred <= b.hi);
                prop_assert!((0.0..=1.0).contains(&b.frac_pos));
            }
            prop_assert!(out.windows(2).all(|w| w[0].hi <= w[1].lo));
        }
    }
}
