//! What `kestrel train` prints and writes besides the models: the per-fold table, the pooled
//! out-of-sample verdict, `metrics.json`, the cards' `metrics`, and the labelled dataset as CSV.
//!
//! Nothing here reads a clock: every figure is a function of the data and the options, so the files
//! are reproducible byte for byte.

use crate::dataset::{Candidate, Dataset, tape_label};
use crate::provenance::rfc3339_seconds;
use crate::train::{FoldResult, Pooled, Selection, TrainOptions};
use kestrel_engine::features::{FEATURES, SCHEMA_VERSION};
use kestrel_engine::journal::Side;
use serde_json::{Map, Value, json};
use std::io::Write;

/// `90s`, `1m`, `1m30s`, `250ms`, `0s`: a duration in ns for people.
pub fn duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    if !ns.is_multiple_of(1_000_000_000) {
        return if ns.is_multiple_of(1_000_000) {
            format!("{}ms", ns / 1_000_000)
        } else if ns.is_multiple_of(1_000) {
            format!("{}µs", ns / 1_000)
        } else {
            format!("{ns}ns")
        };
    }
    let s = ns / 1_000_000_000;
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 {
        out.push_str(&format!("{sec}s"));
    }
    out
}

/// The column heads of [`fold_line`].
pub fn fold_header() -> String {
    format!(
        "  {:>4} {:>7} {:>6} {:>6}  {:<20} {:>6} {:>7} {:>10} {:>8} {:>8} {:>6}",
        "fold",
        "train",
        "purged",
        "test",
        "test block from",
        "base",
        "Brier",
        "Brier base",
        "log-loss",
        "LL base",
        "AUC"
    )
}

/// One fold: training and test sizes, the test block's start, the training base rate, the
/// calibrated model's Brier score and log-loss next to the base rate's, and the AUC.
pub fn fold_line(k: usize, r: &FoldResult) -> String {
    let s = &r.scores;
    format!(
        "  {:>4} {:>7} {:>6} {:>6}  {:<20} {:>6.3} {:>7.4} {:>10.4} {:>8.4} {:>8.4} {:>6}",
        k,
        r.n_train,
        r.purged,
        s.n,
        rfc3339_seconds(r.test_window.0),
        r.base,
        s.brier,
        s.brier_base,
        s.log_loss,
        s.log_loss_base,
        auc_text(s.auc)
    )
}

fn auc_text(a: Option<f64>) -> String {
    a.map_or_else(|| "–".to_string(), |v| format!("{v:.3}"))
}

/// The pooled out-of-sample figures and a plain verdict.
pub fn pooled_lines(what: &str, p: &Pooled) -> Vec<String> {
    let s = &p.scores;
    let beats = s.brier < s.brier_base;
    vec![
        format!(
            "pooled out-of-sample ({what}, {} candidates, win rate {:.3}): Brier {:.4} vs {:.4} for the training \
             base rate (Brier skill {:+.2} %); log-loss {:.4} vs {:.4}; AUC {}",
            s.n,
            s.base_rate,
            s.brier,
            s.brier_base,
            p.brier_skill * 100.0,
            s.log_loss,
            s.log_loss_base,
            auc_text(s.auc)
        ),
        if beats {
            "verdict: the calibrated p(win) beats the base rate out of sample".to_string()
        } else {
            "verdict: the calibrated p(win) does NOT beat the base rate out of sample: what it learned in the \
             training windows did not hold in the test blocks (a drifting or too weak signal, or too little data); \
             the engine would do as well with the win rate alone"
                .to_string()
        },
    ]
}

/// Win rates by side per fold, training → test. The models read no side (the engine gives them only
/// the feature vector; the side is the sign of `imbalance_l1`), so a side whose win rate flips between
/// the training window and the test block (a trend that turns) is a bias the p(win) model learns and
/// then pays for out of sample: this line shows whether that happened.
pub fn side_line(folds: &[FoldResult], frame: crate::train::InputFrame) -> String {
    let r = |v: f64| if v.is_finite() { format!("{v:.2}") } else { "–".into() };
    let per: Vec<String> = folds
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let s = &f.side_win_rates;
            format!("{}: buy {}→{} sell {}→{}", k + 1, r(s.train_buy), r(s.test_buy), r(s.train_sell), r(s.test_sell))
        })
        .collect();
    let seen = match frame {
        crate::train::InputFrame::Trade => "the models see directional features in the trade's frame",
        crate::train::InputFrame::Raw => "--frame raw: the models see no side, only the sign of imbalance_l1",
    };
    format!("win rate by side, training → test ({seen}): {}", per.join("; "))
}

/// The slippage ridge per fold and pooled.
pub fn slippage_line(what: &str, folds: &[FoldResult], p: &Pooled) -> String {
    let per: Vec<String> = folds
        .iter()
        .enumerate()
        .map(|(k, f)| format!("{}: {:.3}/{:.3}", k + 1, f.slippage.mae, f.slippage.mae_base))
        .collect();
    format!(
        "slippage ridge ({what}, out of sample): MAE {:.3} bps vs {:.3} bps for the training mean, R² {:+.3} \
         (per fold MAE model/mean: {})",
        p.slippage.mae,
        p.slippage.mae_base,
        p.slippage.r2,
        per.join(", ")
    )
}

/// The purged K-fold summary.
pub fn kfold_line(k: usize, p: &Pooled) -> String {
    let s = &p.scores;
    format!(
        "purged {k}-fold (check): Brier {:.4} vs {:.4} base (skill {:+.2} %), log-loss {:.4} vs {:.4}, AUC {}; \
         slippage MAE {:.3} vs {:.3} bps, R² {:+.3}",
        s.brier,
        s.brier_base,
        p.brier_skill * 100.0,
        s.log_loss,
        s.log_loss_base,
        auc_text(s.auc),
        p.slippage.mae,
        p.slippage.mae_base,
        p.slippage.r2
    )
}

/// A number for JSON: non-finite values become `null`.
fn num(v: f64) -> Value {
    if v.is_finite() { json!(v) } else { Value::Null }
}

fn scores_json(p: &Pooled) -> Value {
    let s = &p.scores;
    json!({
        "n": s.n,
        "win_rate": num(s.base_rate),
        "brier": num(s.brier),
        "brier_base": num(s.brier_base),
        "brier_skill": num(p.brier_skill),
        "log_loss": num(s.log_loss),
        "log_loss_base": num(s.log_loss_base),
        "auc": s.auc.map_or(Value::Null, num),
    })
}

fn slip_json(p: &Pooled) -> Value {
    json!({
        "n": p.slippage.n,
        "mae_bps": num(p.slippage.mae),
        "mae_base_bps": num(p.slippage.mae_base),
        "r2": num(p.slippage.r2),
    })
}

/// The p(win) card's `metrics`: pooled walk-forward out-of-sample figures, and the K-fold check.
pub fn pwin_card_metrics(wf: &Pooled, kfold: &Pooled) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("validation".into(), json!("pooled walk-forward out-of-sample; baseline: each fold's training win rate"));
    if let Value::Object(o) = scores_json(wf) {
        m.extend(o);
    }
    m.insert("kfold".into(), scores_json(kfold));
    m
}

/// The slippage card's `metrics`.
pub fn slippage_card_metrics(wf: &Pooled) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("validation".into(), json!("pooled walk-forward out-of-sample; baseline: each fold's training mean"));
    if let Value::Object(o) = slip_json(wf) {
        m.extend(o);
    }
    m
}

/// `metrics.json`: everything printed, as numbers.
pub fn metrics_json(
    data: &Dataset,
    sel: &Selection,
    opts: &TrainOptions,
    embargo_ns: u64,
    folds: &[FoldResult],
    wf: &Pooled,
    kfold: &Pooled,
) -> Value {
    let (first, last) = data.window_ns();
    let fold_json: Vec<Value> = folds
        .iter()
        .enumerate()
        .map(|(k, f)| {
            json!({
                "fold": k + 1,
                "train": f.n_train,
                "purged": f.purged,
                "train_from": rfc3339_seconds(f.train_window.0),
                "train_to": rfc3339_seconds(f.train_window.1),
                "test_from": rfc3339_seconds(f.test_window.0),
                "test_to": rfc3339_seconds(f.test_window.1),
                "n": f.scores.n,
                "base_rate": num(f.base),
                "brier": num(f.scores.brier),
                "brier_base": num(f.scores.brier_base),
                "log_loss": num(f.scores.log_loss),
                "log_loss_base": num(f.scores.log_loss_base),
                "auc": f.scores.auc.map_or(Value::Null, num),
                "slippage_mae_bps": num(f.slippage.mae),
                "slippage_mae_base_bps": num(f.slippage.mae_base),
                "slippage_r2": num(f.slippage.r2),
                "win_rate_by_side": {
                    "train_buy": num(f.side_win_rates.train_buy),
                    "train_sell": num(f.side_win_rates.train_sell),
                    "test_buy": num(f.side_win_rates.test_buy),
                    "test_sell": num(f.side_win_rates.test_sell),
                },
            })
        })
        .collect();
    let reliability: Vec<Value> = wf
        .reliability
        .iter()
        .map(|b| json!({"lo": num(b.lo), "hi": num(b.hi), "count": b.count, "mean_p": num(b.mean_pred), "win_rate": num(b.frac_pos)}))
        .collect();
    json!({
        "format": "kestrel-train-metrics",
        "schema": {"version": SCHEMA_VERSION, "hash": kestrel_infer::card::engine_schema_hash()},
        "tapes": data.tapes.iter().map(|t| json!({
            "tape": tape_label(t),
            "events": t.events,
            "candidates": t.candidates,
            "undecided": t.undecided,
            "spread_refused": t.spread_refused,
            "book_exhausted": t.book_exhausted,
        })).collect::<Vec<_>>(),
        "window": [rfc3339_seconds(first), rfc3339_seconds(last)],
        "candidates": data.candidates.len(),
        "wins": data.candidates.iter().filter(|c| c.label.win).count(),
        "features": sel.names(),
        "features_left_out": sel.dropped.iter().map(|(n, why)| json!({"name": n, "why": why})).collect::<Vec<_>>(),
        "calibration": opts.calibration.as_str(),
        "l2": opts.l2,
        "embargo_ms": embargo_ns as f64 / 1e6,
        "walk_forward": {"splits": opts.splits, "folds": fold_json, "pooled": scores_json(wf), "slippage": slip_json(wf)},
        "reliability": reliability,
        "purged_kfold": {"k": opts.kfold, "pooled": scores_json(kfold), "slippage": slip_json(kfold)},
    })
}

/// The label's return in bps of the entry mid before the cost it was judged net of (what the card's
/// trade statistics hold: the engine subtracts fees and slippage itself).
pub fn gross_ret_bps(c: &Candidate) -> f64 {
    c.label.ret_bps
}

/// The leading columns of the dataset CSV, before the selected features.
pub const CSV_LEADING: [&str; 6] = ["ts_ns", "symbol", "side", "win", "ret_bps", "slippage_bps"];

/// Writes the labelled candidates as CSV: `ts_ns, symbol, side (buy/sell), win (0/1), ret_bps,
/// slippage_bps`, then every selected schema feature under its name, in schema order, as the engine
/// computes it (a model reads the card's `signed` ones times +1 for a buy, −1 for a sell). Floats are
/// written in the shortest form that reads back to the same bits; an undefined feature (NaN) is an
/// empty cell.
pub fn write_dataset_csv(w: &mut dyn Write, data: &Dataset, sel: &Selection) -> std::io::Result<()> {
    let mut line = String::new();
    line.push_str(&CSV_LEADING.join(","));
    let columns: Vec<usize> = sel.inputs.index.iter().copied().filter(|&j| j < FEATURES.len()).collect();
    for &j in &columns {
        line.push(',');
        line.push_str(FEATURES[j].name);
    }
    line.push('\n');
    w.write_all(line.as_bytes())?;
    for c in &data.candidates {
        line.clear();
        let side = if c.side == Side::Buy { "buy" } else { "sell" };
        line.push_str(&format!(
            "{},{},{side},{},{},{}",
            c.ts_ns,
            csv_text(data.symbol(c)),
            u8::from(c.label.win),
            float(c.label.ret_bps),
            float(c.slippage_bps)
        ));
        for &j in &columns {
            line.push(',');
            line.push_str(&float(c.features.get(j)));
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn float(v: f64) -> String {
    if v.is_finite() { format!("{v:?}") } else { String::new() }
}

/// Quotes a CSV field when it needs it.
fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_options() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(60_000_000_000), "1m");
        assert_eq!(duration(90_000_000_000), "1m30s");
        assert_eq!(duration(250_000_000), "250ms");
        assert_eq!(duration(3_600_000_000_000), "1h");
        assert_eq!(duration(7), "7ns");
        assert_eq!(duration(100_000), "100µs");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_text("BTCUSDT"), "BTCUSDT");
        assert_eq!(csv_text("A,B"), "\"A,B\"");
        assert_eq!(float(f64::NAN), "");
        assert_eq!(float(0.1), "0.1");
        assert_eq!(float(1e300), "1e300");
    }
}
