//! What one model call costs in the hot loop, against the floor of a hand-written dot product
//! (DESIGN.md §9): Kestrel's p(win) model (logistic on every feature, isotonic calibration of 20
//! knots) and slippage model (identity link), each written with `export.rs`, loaded like a shipped
//! model and scored by `TractScorer` and by `NativeLinear`, in one run so the ratios hold.
//!
//! `cargo bench -p kestrel-infer --bench inference -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, criterion_group, criterion_main};
use kestrel_engine::decide::model::Scorer;
use kestrel_engine::features::schema::{FEATURES, SCHEMA_VERSION, idx};
use kestrel_infer::card::{
    CARD_FORMAT, CARD_VERSION, CardFeature, SchemaRef, TensorSpec, Training, engine_schema_hash,
};
use kestrel_infer::{LinearModel, Link, LoadedModel, ModelCard, PiecewiseLinear, card_path_for};
use std::hint::black_box;
use std::path::Path;

const N: usize = idx::COUNT;
const KNOTS: usize = 20;

fn pwin_model() -> LinearModel {
    let weights = (0..N).map(|i| 0.02 * ((i * 5 % 11) as f32 - 5.0)).collect();
    let xs: Vec<f32> = (0..KNOTS).map(|k| 0.02 + 0.96 * k as f32 / (KNOTS - 1) as f32).collect();
    let ys: Vec<f32> = xs.iter().map(|&x| 0.05 + 0.9 * x * x * (3.0 - 2.0 * x)).collect();
    LinearModel {
        input_name: "features".into(),
        output_name: "p_win".into(),
        weights,
        bias: -0.2,
        link: Link::Sigmoid,
        calibration: Some(PiecewiseLinear { xs, ys }),
    }
}

fn slippage_model() -> LinearModel {
    LinearModel {
        input_name: "features".into(),
        output_name: "slippage_bps".into(),
        weights: (0..N).map(|i| 0.05 * ((i % 7) as f32 - 3.0)).collect(),
        bias: 1.2,
        link: Link::Identity,
        calibration: None,
    }
}

fn write(dir: &Path, name: &str, role: &str, model: &LinearModel) -> LoadedModel {
    let onnx = dir.join(format!("{name}.onnx"));
    std::fs::write(&onnx, model.to_onnx_bytes()).expect("write the bench model");
    let card = ModelCard {
        format: CARD_FORMAT.into(),
        card_version: CARD_VERSION,
        name: name.into(),
        role: role.into(),
        version: "bench".into(),
        created_at: "2026-11-01T00:00:00Z".into(),
        schema: SchemaRef { version: SCHEMA_VERSION, hash: engine_schema_hash() },
        features: FEATURES.iter().map(|f| CardFeature { name: f.name.into(), fill: 0.0, signed: false }).collect(),
        input: TensorSpec { name: model.input_name.clone(), shape: vec![1, N], column: 0 },
        output: TensorSpec { name: model.output_name.clone(), shape: vec![1, 1], column: 0 },
        trade: None,
        training: Training {
            tapes: vec![],
            window: [String::new(), String::new()],
            samples: 0,
            method: Default::default(),
        },
        calibration: "isotonic".into(),
        metrics: Default::default(),
    };
    card.save(&card_path_for(&onnx)).expect("write the bench card");
    LoadedModel::open(&onnx).expect("load the bench model")
}

/// 64 rows of plausible standardised features, cycled so that no call sees the previous row.
fn rows() -> Vec<Vec<f32>> {
    (0..64).map(|k| (0..N).map(|i| (((i * 31 + k * 17) % 41) as f32 - 20.0) / 10.0).collect()).collect()
}

/// The floor: an `f32` dot product with eight accumulators (so the compiler vectorises it), plus bias.
#[inline(never)]
fn dot(w: &[f32], x: &[f32], b: f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let (cw, cx) = (w.chunks_exact(8), x.chunks_exact(8));
    let tail: f32 = cw.remainder().iter().zip(cx.remainder()).map(|(a, b)| a * b).sum();
    for (a, c) in cw.zip(cx) {
        for k in 0..8 {
            acc[k] += a[k] * c[k];
        }
    }
    acc.iter().sum::<f32>() + tail + b
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pwin_m = pwin_model();
    let slip_m = slippage_model();
    let pwin = write(dir.path(), "pwin", "pwin", &pwin_m);
    let slip = write(dir.path(), "slippage", "slippage", &slip_m);
    assert!(pwin.is_native() && slip.is_native(), "the bench models must be recognised by NativeLinear");
    let rows = rows();
    let mut g = c.benchmark_group("inference");
    let mut run = |name: &str, s: &mut dyn Scorer| {
        let mut i = 0usize;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) & 63;
                black_box(s.score(black_box(&rows[i])))
            })
        });
    };
    run("tract/pwin", &mut pwin.tract_scorer().expect("tract scorer"));
    run("tract/slippage", &mut slip.tract_scorer().expect("tract scorer"));
    run("native/pwin", &mut pwin.native_scorer().expect("native scorer"));
    run("native/slippage", &mut slip.native_scorer().expect("native scorer"));
    let mut i = 0usize;
    g.bench_function("floor/dot+sigmoid", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            let z = dot(&pwin_m.weights, black_box(&rows[i]), pwin_m.bias);
            black_box(1.0 / (1.0 + (-z).exp()))
        })
    });
    g.bench_function("floor/dot", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            black_box(dot(&slip_m.weights, black_box(&rows[i]), slip_m.bias))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
