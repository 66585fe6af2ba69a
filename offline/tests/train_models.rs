//! Training end to end on a seeded random-walk tape: validation folds, refusals, the exported models
//! (loaded back by the engine's loader), reproducibility and the dataset CSV
//! (`kestrel_offline::{train, publish, report}`).

use kestrel_engine::config::RawConfig;
use kestrel_engine::decide::model::SIDE_INPUT;
use kestrel_engine::features::{DIRECTIONAL, idx};
use kestrel_engine::features::{FEATURES, SCHEMA_VERSION};
use kestrel_engine::journal::Side;
use kestrel_engine::tape::{Quote, RawRecord, TapeWriter};
use kestrel_engine::types::{InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use kestrel_infer::LoadedModel;
use kestrel_offline::dataset::{self, Dataset, DatasetOptions, LabelSettings};
use kestrel_offline::publish::{self, Outputs};
use kestrel_offline::train::{self, Calibration, InputFrame, TrainError, TrainOptions};
use std::path::{Path, PathBuf};

const S: u64 = 1_000_000_000;
const T0: u64 = 1_704_153_600 * S;

/// A tape of one instrument (price 2 decimals, tick and lot 1) being written at `dir/name`.
fn one_instrument_tape(dir: &Path, name: &str, symbol: &str) -> (PathBuf, TapeWriter) {
    let path = dir.join(name);
    let mut w = TapeWriter::create(&path, 1).unwrap();
    let spec = InstrumentSpec {
        symbol: symbol.into(),
        venue: "X".into(),
        price_scale: 2,
        qty_scale: 3,
        tick: Price(1),
        lot: Qty(1),
    };
    w.add_instrument(&spec).unwrap();
    (path, w)
}

/// Quote number `k` (one every 50 ms from `T0`).
fn quote(k: u64, bid: i64, spread: i64, bq: i64, aq: i64) -> RawRecord {
    let ts = UnixNanos(T0 + k * 50_000_000);
    Quote::new(InstrumentId(0), ts, ts, (Price(bid), Qty(bq)), (Price(bid + spread), Qty(aq))).into()
}

/// A seeded xorshift64 stream: the tapes' only randomness.
fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// A quote every 50 ms for `minutes`: the mid walks a tick at a time, sizes are random (so the L1
/// imbalance often passes the strategy's threshold), the spread is 1 or 2 ticks.
fn random_walk_tape(dir: &Path, minutes: u64, seed: u64) -> PathBuf {
    let (path, mut w) = one_instrument_tape(dir, &format!("walk{seed}.tape"), "WALK");
    let mut next = xorshift(seed);
    let mut bid = 10_000i64;
    for k in 0..minutes * 60 * 20 {
        let r = next();
        match r % 10 {
            0 => bid += 1,
            1 => bid -= 1,
            _ => {}
        }
        let spread = 1 + (r >> 8) % 2;
        let bq = 1 + ((r >> 16) % 1000) as i64;
        let aq = 1 + ((r >> 32) % 1000) as i64;
        w.write(quote(k, bid, spread as i64, bq, aq)).unwrap();
    }
    w.finish().unwrap();
    path
}

/// Like [`random_walk_tape`], but the market takes turns: every 20 s the book starts to lean one
/// way (the leaning side's touch is 600–1000 lots, the other 1–400), and a coin says whether the lean
/// is real (the price then drifts its way) or a fake (the price drifts against it). The strategy
/// trades with the lean (|L1 imbalance| ≥ 0.6), so a candidate wins when the recent order flow
/// agrees with its side: a fact about the trade's frame. Raw, order flow up is as often a winning
/// buy (a real lean up) as a losing sell (a fake lean down), so a model that reads it without the
/// side has nothing linear to learn.
fn pressure_tape(dir: &Path, minutes: u64, seed: u64) -> PathBuf {
    let (path, mut w) = one_instrument_tape(dir, &format!("pressure{seed}.tape"), "LEAN");
    let mut next = xorshift(seed);
    let mut bid = 10_000i64;
    let (mut lean, mut drift) = (1i64, 1i64);
    for k in 0..minutes * 60 * 20 {
        if k % 400 == 0 {
            let r = next();
            lean = if r.is_multiple_of(2) { 1 } else { -1 };
            drift = if (r >> 1).is_multiple_of(2) { lean } else { -lean };
        }
        let r = next();
        let (strong, weak) = (600 + ((r >> 16) % 401) as i64, 1 + ((r >> 32) % 400) as i64);
        let (bq, aq) = if lean > 0 { (strong, weak) } else { (weak, strong) };
        bid += match r % 20 {
            0..4 => drift,
            4 => -drift,
            _ => 0,
        };
        let spread = 1 + (r >> 8) % 2;
        w.write(quote(k, bid, spread as i64, bq, aq)).unwrap();
    }
    w.finish().unwrap();
    path
}

fn dataset_of(tapes: &[PathBuf], raw: &RawConfig, labels: LabelSettings) -> Dataset {
    let opts = DatasetOptions { labels, keep_paths: false };
    dataset::build(tapes, raw, "test", &opts, &mut |_| {}).unwrap()
}

fn outputs(dir: &Path) -> Outputs {
    Outputs {
        models_dir: dir.join("models"),
        report_dir: Some(dir.join("report")),
        dataset_csv: Some(dir.join("candidates.csv")),
        force: false,
    }
}

#[test]
fn walk_forward_then_models_that_load_and_reproduce() {
    let dir = tempfile::tempdir().unwrap();
    let tape = random_walk_tape(dir.path(), 30, 7);
    let data = dataset_of(std::slice::from_ref(&tape), &RawConfig::default(), LabelSettings::default());
    let n = data.candidates.len();
    assert!(n > 1000, "{n} candidates: {:?}", data.tapes);
    let opts = TrainOptions { splits: 3, kfold: 3, ..TrainOptions::default() };
    let mut lines = Vec::new();
    let trained = train::train(&data, &opts, &mut |l| lines.push(l.to_string())).unwrap();
    let text = lines.join("\n");
    assert!(text.contains("walk-forward: 3 folds, embargo 1m"), "{text}");
    assert!(text.contains("pooled out-of-sample"), "{text}");
    assert!(text.contains("purged 3-fold"), "{text}");
    assert!(text.contains("slippage ridge"), "{text}");
    assert_eq!(trained.walk_forward.len(), 3);
    assert_eq!(trained.embargo_ns, 60 * S);
    for (k, f) in trained.walk_forward.iter().enumerate() {
        // Walk-forward: every training label ends (plus the embargo) before the test block starts.
        assert!(f.train_window.1 < f.test_window.0, "fold {k}");
        assert!(f.scores.n > 0 && f.n_train > 0);
        assert!(f.purged > 0, "fold {k}: 60 s labels every 250 ms must purge some");
    }
    // Pooled = the folds' test blocks.
    assert_eq!(trained.pooled.scores.n, trained.walk_forward.iter().map(|f| f.scores.n).sum::<usize>());
    let p = &trained.pooled.scores;
    assert!(p.brier.is_finite() && p.brier_base.is_finite() && p.log_loss.is_finite());
    assert_eq!(trained.pooled.reliability.iter().map(|b| b.count).sum::<usize>(), p.n);

    // Cards: the engine's schema, one fill per feature, the inputs the selection made.
    for e in [&trained.pwin, &trained.slippage] {
        let card = &e.card;
        assert_eq!(card.schema.version, SCHEMA_VERSION);
        assert_eq!(card.schema.hash, kestrel_infer::card::engine_schema_hash());
        assert_eq!(card.input.name, "features");
        assert_eq!(card.input.shape, vec![1, card.features.len()]);
        assert_eq!(card.output.shape, vec![1, 1]);
        assert_eq!(card.training.samples, n);
        assert_eq!(card.version.len(), 16);
        assert_eq!(card.created_at, "2024-01-02T00:29:59Z", "the last tape event, not the wall clock");
        card.resolve_inputs().unwrap();
    }
    assert_eq!(trained.pwin.card.output.name, "p_win");
    assert_eq!(trained.slippage.card.output.name, "slippage_bps");
    assert_eq!(trained.pwin.card.calibration, "isotonic");
    let names: Vec<&str> = trained.pwin.card.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, trained.selection.names());
    // A feature that is NaN for most of a 30-minute tape (73 bars for ATR z) is left out.
    assert!(!names.contains(&"atr_z"));
    assert!(names.contains(&"imbalance_l1"));
    let trade = trained.pwin.card.trade.as_ref().unwrap();
    assert!(trade.avg_win_bps > 0.0 && trade.avg_loss_bps > 0.0 && trade.cvar95_loss_bps >= trade.avg_loss_bps);
    assert!(trained.pwin.card.metrics.contains_key("brier") && trained.pwin.card.metrics.contains_key("kfold"));

    // Written, loaded back by the engine's loader, and scored like the trainer.
    let out = outputs(dir.path());
    let written = publish::publish(&trained, &data, &out).unwrap();
    assert!(written.max_diff_pwin <= publish::VERIFY_TOLERANCE);
    let pwin = LoadedModel::open(&dir.path().join("models/pwin.onnx")).unwrap();
    let slip = LoadedModel::open(&dir.path().join("models/slippage.onnx")).unwrap();
    assert!(pwin.is_native() && slip.is_native(), "Kestrel's own linear graphs run natively");
    let scores = pwin.score_rows(&trained.probe_rows).unwrap();
    assert!(scores.iter().all(|p| (0.0..=1.0).contains(p)));
    for f in ["metrics.json", "reliability.svg"] {
        assert!(dir.path().join("report").join(f).is_file(), "{f}");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report/metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["walk_forward"]["folds"].as_array().unwrap().len(), 3);
    assert!(std::fs::read_to_string(dir.path().join("report/reliability.svg")).unwrap().starts_with("<svg"));

    // The dataset CSV: the documented columns, then the selected features, one row per candidate.
    let csv = std::fs::read_to_string(dir.path().join("candidates.csv")).unwrap();
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    assert_eq!(&header[..6], ["ts_ns", "symbol", "side", "win", "ret_bps", "slippage_bps"]);
    assert_eq!(&header[6..], names.as_slice(), "the selected features (no side input by default)");
    let body: Vec<&str> = rows.collect();
    assert_eq!(body.len(), n);
    let first: Vec<&str> = body[0].split(',').collect();
    assert_eq!(first.len(), header.len());
    assert_eq!(first[0], data.candidates[0].ts_ns.to_string());
    assert_eq!(first[1], "WALK");
    assert!(first[2] == "buy" || first[2] == "sell");
    assert!(first[3] == "0" || first[3] == "1");
    assert_eq!(first[4].parse::<f64>().unwrap(), data.candidates[0].label.ret_bps);

    // Existing outputs are refused without force, naming one.
    let err = publish::publish(&trained, &data, &out).unwrap_err().to_string();
    assert!(err.contains("already exists") && err.contains("--force"), "{err}");

    // The same data and options give the same bytes.
    let again = train::train(&data, &opts, &mut |_| {}).unwrap();
    assert_eq!(again.pwin.onnx, trained.pwin.onnx);
    assert_eq!(again.slippage.onnx, trained.slippage.onnx);
    assert_eq!(again.pwin.card, trained.pwin.card);
    let dir2 = tempfile::tempdir().unwrap();
    publish::publish(&again, &data, &outputs(dir2.path())).unwrap();
    for f in ["models/pwin.onnx", "models/pwin.card.json", "models/slippage.card.json", "report/metrics.json"] {
        assert_eq!(std::fs::read(dir.path().join(f)).unwrap(), std::fs::read(dir2.path().join(f)).unwrap(), "{f}");
    }

    // Platt folds into the weights: no calibration map in the graph.
    let platt = TrainOptions { calibration: Calibration::Platt, ..opts.clone() };
    let t = train::train(&data, &platt, &mut |_| {}).unwrap();
    assert_eq!(t.pwin.card.calibration, "platt");
    assert!(t.pwin.model.calibration.is_none());
    // SOURCE_DATE_EPOCH-style created_at.
    let stamped = TrainOptions { created_at_s: Some(0), ..opts };
    assert_eq!(train::train(&data, &stamped, &mut |_| {}).unwrap().pwin.card.created_at, "1970-01-01T00:00:00Z");
}

#[test]
fn refusals_say_what_to_try() {
    let dir = tempfile::tempdir().unwrap();
    let tape = random_walk_tape(dir.path(), 6, 3);
    // No candidates: a threshold no imbalance reaches.
    let mut raw = RawConfig::default();
    raw.strategy.imbalance_threshold = 1.0;
    let none = dataset_of(std::slice::from_ref(&tape), &raw, LabelSettings::default());
    let err = train::train(&none, &TrainOptions::default(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, TrainError::NoCandidates(_)), "{err}");
    assert!(err.to_string().contains("no candidates"), "{err}");

    // One class: barriers out of reach and a fee no 60 s move beats.
    let mut raw = RawConfig::default();
    raw.fees.taker_bps = 1000.0;
    let labels = LabelSettings { min_bps: 5000.0, ..LabelSettings::default() };
    let losses = dataset_of(std::slice::from_ref(&tape), &raw, labels);
    assert!(!losses.candidates.is_empty());
    let err = train::train(&losses, &TrainOptions::default(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, TrainError::OneClass { what: "losses", .. }), "{err}");
    assert!(err.to_string().contains("only one class"), "{err}");

    // Too few samples per fold: 40 splits of a 6-minute tape.
    let data = dataset_of(std::slice::from_ref(&tape), &RawConfig::default(), LabelSettings::default());
    let opts = TrainOptions { splits: 40, ..TrainOptions::default() };
    let err = train::train(&data, &opts, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("too few samples") && err.contains("--splits"), "{err}");
    // Options out of range.
    let err = train::train(&data, &TrainOptions { l2: -1.0, ..TrainOptions::default() }, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("--l2"), "{err}");
    let bad = TrainOptions { exclude: vec!["no_such_feature".into()], ..TrainOptions::default() };
    let err = train::train(&data, &bad, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("no_such_feature"), "{err}");
}

#[test]
fn every_feature_left_out_is_said_why() {
    let dir = tempfile::tempdir().unwrap();
    let tape = random_walk_tape(dir.path(), 12, 5);
    let data = dataset_of(std::slice::from_ref(&tape), &RawConfig::default(), LabelSettings::default());
    let sel =
        train::select_features(&data.candidates, &["atr_14".to_string()], InputFrame::Trade, false, true).unwrap();
    // Every schema feature is either an input or said why not; the side is an input too.
    assert_eq!(sel.len() - 1 + sel.dropped.len(), FEATURES.len());
    assert_eq!(sel.inputs.index.last(), Some(&SIDE_INPUT));
    assert!(sel.inputs.index.windows(2).all(|w| w[0] < w[1]), "schema order, the side last");
    let why = |name: &str| sel.dropped.iter().find(|(n, _)| n == name).map(|(_, w)| w.clone());
    assert!(why("atr_14").unwrap().contains("--exclude"));
    assert!(why("mid").unwrap().contains("price level"), "{:?}", sel.dropped);
    // An L1 random walk has no trades: trade flow is constant 0.
    assert!(why("trade_rate_10s").unwrap().contains("constant"), "{:?}", sel.dropped);
    assert!(why("atr_z").unwrap().contains("finite in"), "{:?}", sel.dropped);
}

#[test]
fn in_the_trade_frame_a_model_learns_what_the_raw_features_hide() {
    let dir = tempfile::tempdir().unwrap();
    let tape = pressure_tape(dir.path(), 60, 11);
    // Labels of 5 s: mostly within one 20 s turn of the market.
    let labels = LabelSettings { max_hold_ns: Some(5 * S), ..LabelSettings::default() };
    let data = dataset_of(std::slice::from_ref(&tape), &RawConfig::default(), labels);
    let buys = data.candidates.iter().filter(|c| c.is_long()).count();
    let n = data.candidates.len();
    assert!(buys > n / 4 && buys < n * 3 / 4, "both sides propose: {buys} buys of {n}");

    let run = |frame| {
        let opts = TrainOptions { splits: 3, kfold: 3, frame, ..TrainOptions::default() };
        train::train(&data, &opts, &mut |_| {}).unwrap()
    };
    let trade = run(InputFrame::Trade);
    let raw = run(InputFrame::Raw);

    // The card says how each input is read: directional features signed; no side unless asked.
    let card = &trade.pwin.card;
    let imb = card.features.iter().find(|f| f.name == "imbalance_l1").unwrap();
    assert!(imb.signed);
    assert!(card.features.iter().all(|f| f.name != "side"));
    for f in &card.features {
        let directional = kestrel_engine::features::FEATURES
            .iter()
            .position(|d| d.name == f.name)
            .is_some_and(|i| DIRECTIONAL.contains(&i));
        assert_eq!(f.signed, directional, "{}", f.name);
    }
    assert!(raw.pwin.card.features.iter().all(|f| !f.signed && f.name != "side"));

    // Out of sample, the trade frame beats the base rate and the raw frame.
    let (t, r) = (&trade.pooled.scores, &raw.pooled.scores);
    assert!(t.brier < t.brier_base, "trade frame: Brier {} vs base {}", t.brier, t.brier_base);
    assert!(t.brier < r.brier, "trade frame Brier {} vs raw {}", t.brier, r.brier);
    let (ta, ra) = (t.auc.unwrap(), r.auc.unwrap());
    assert!(ta > ra, "trade frame AUC {ta} vs raw {ra}");

    // The exported model reads its rows as the trainer built them: a buy and a sell with the same
    // book lean scored by the engine's loader agree with the trainer's p(win) for each.
    let out = dir.path().join("out");
    let outputs = Outputs { models_dir: out.clone(), report_dir: None, dataset_csv: None, force: false };
    publish::publish(&trade, &data, &outputs).unwrap();
    let model = LoadedModel::open(&out.join("pwin.onnx")).unwrap();
    let c = data.candidates.iter().find(|c| c.features.get(idx::IMBALANCE_L1).abs() > 0.9).unwrap();
    let mut flipped = c.clone();
    flipped.side = if c.is_long() { Side::Sell } else { Side::Buy };
    let score = |c: &kestrel_offline::dataset::Candidate| {
        let mut row = vec![0f32; model.inputs().len()];
        model.inputs().gather(&c.features, c.side, &mut row);
        model.score_rows(&[row]).unwrap()[0]
    };
    let (with, against) = (score(c), score(&flipped));
    assert!(with > against, "trading with a strong lean ({with}) must score above against it ({against})");
}

#[test]
fn isotonic_knots_never_claim_certainty_from_a_handful_of_samples() {
    // 200 scores; the 5 highest are all wins and the 5 lowest all losses.
    let s: Vec<f64> = (0..200).map(|i| f64::from(i) / 200.0).collect();
    let y: Vec<bool> = (0..200).map(|i| i >= 195 || (i >= 5 && i % 3 == 0)).collect();
    let iso = train::isotonic_with_min_block(&s, &y, 32);
    assert!(iso.xs.windows(2).all(|w| w[0] < w[1]), "{:?}", iso.xs);
    assert!(iso.ys.windows(2).all(|w| w[0] <= w[1]), "{:?}", iso.ys);
    let lo = iso.ys[0];
    let hi = *iso.ys.last().unwrap();
    assert!(lo > 0.0 && hi < 1.0, "{lo} {hi}");
    assert!(iso.xs.len() <= 10, "blocks of at least 20 of 200 samples: {}", iso.xs.len());
    // A pure step still calibrates to (nearly) 0 and 1, with enough samples.
    let y: Vec<bool> = (0..200).map(|i| i >= 100).collect();
    let iso = train::isotonic_with_min_block(&s, &y, 32);
    assert!(iso.ys[0] < 0.03 && *iso.ys.last().unwrap() > 0.97, "{:?}", iso.ys);
    assert!(iso.apply(0.0) < 0.03 && iso.apply(0.99) > 0.97);
}
