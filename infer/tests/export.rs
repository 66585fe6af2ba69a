//! The ONNX writer: what it writes loads in plain tract (no card, no Kestrel loader) and computes
//! `LinearModel::eval`, with and without calibration, on random models and rows.

use kestrel_infer::export::{IR_VERSION, OPSET, PRODUCER};
use kestrel_infer::{LinearModel, Link, PiecewiseLinear};
use proptest::prelude::*;
use prost::Message;
use tract_onnx::pb;
use tract_onnx::prelude::*;

fn run_in_tract(bytes: &[u8], row: &[f32]) -> f32 {
    let model =
        tract_onnx::onnx().model_for_read(&mut &bytes[..]).unwrap().into_optimized().unwrap().into_runnable().unwrap();
    let input = Tensor::from_shape(&[1, row.len()], row).unwrap();
    let out = model.run(tvec!(input.into())).unwrap();
    let view = out[0].try_as_plain_ram().unwrap();
    let s = view.as_slice::<f32>().unwrap();
    assert_eq!(s.len(), 1);
    s[0]
}

fn calibration() -> impl Strategy<Value = Option<PiecewiseLinear>> {
    prop_oneof![
        Just(None),
        (2usize..24).prop_flat_map(|k| {
            (proptest::collection::vec(0.01f32..0.2, k), proptest::collection::vec(0.0f32..0.1, k)).prop_map(
                |(dx, dy)| {
                    let mut xs = Vec::new();
                    let mut ys = Vec::new();
                    let (mut x, mut y) = (-0.1f32, 0.0f32);
                    for (a, b) in dx.iter().zip(&dy) {
                        x += a;
                        y = (y + b).min(1.0);
                        xs.push(x);
                        ys.push(y);
                    }
                    Some(PiecewiseLinear { xs, ys })
                },
            )
        }),
    ]
}

fn model() -> impl Strategy<Value = LinearModel> {
    (1usize..50).prop_flat_map(|n| {
        (
            proptest::collection::vec(-2.0f32..2.0, n),
            -1.0f32..1.0,
            prop_oneof![Just(Link::Identity), Just(Link::Sigmoid)],
            calibration(),
        )
            .prop_map(|(weights, bias, link, calibration)| LinearModel {
                input_name: "x".into(),
                output_name: "y".into(),
                weights,
                bias,
                link,
                calibration,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn tract_runs_the_written_model_like_eval(m in model(), seed in any::<u64>()) {
        let mut x = seed | 1;
        let rows: Vec<Vec<f32>> = (0..3)
            .map(|_| {
                (0..m.weights.len())
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        ((x % 2001) as f32 - 1000.0) / 250.0
                    })
                    .collect()
            })
            .collect();
        prop_assert!(m.validate().is_ok(), "{:?}", m.validate());
        let bytes = m.to_onnx_bytes();
        for row in &rows {
            let want = m.eval(row);
            let got = run_in_tract(&bytes, row);
            prop_assert!((got - want).abs() <= 1e-5 * want.abs().max(1.0), "tract {} vs eval {}", got, want);
            if m.link == Link::Sigmoid && m.calibration.is_none() {
                prop_assert!((0.0..=1.0).contains(&got));
            }
            if let Some(c) = &m.calibration {
                let lo = c.ys.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = c.ys.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                prop_assert!(got >= lo && got <= hi, "{} outside [{}, {}]", got, lo, hi);
            }
        }
    }
}

#[test]
fn the_model_header_says_who_wrote_it_and_for_which_opset() {
    let m = LinearModel {
        input_name: "x".into(),
        output_name: "y".into(),
        weights: vec![1.0, 2.0],
        bias: 0.0,
        link: Link::Identity,
        calibration: None,
    };
    let proto = pb::ModelProto::decode(&m.to_onnx_bytes()[..]).unwrap();
    assert_eq!(proto.ir_version, IR_VERSION);
    assert_eq!(proto.producer_name, PRODUCER);
    assert_eq!(proto.opset_import.len(), 1);
    assert_eq!(proto.opset_import[0].version, OPSET);
    let g = proto.graph.unwrap();
    assert_eq!(g.input.len(), 1);
    assert_eq!(g.output.len(), 1);
    assert_eq!(g.input[0].name, "x");
    assert_eq!(g.output[0].name, "y");
    assert_eq!(run_in_tract(&m.to_onnx_bytes(), &[3.0, 4.0]), 11.0);
}

#[test]
fn calibration_clamps_to_the_end_knots_in_tract() {
    let m = LinearModel {
        input_name: "x".into(),
        output_name: "y".into(),
        weights: vec![1.0],
        bias: 0.0,
        link: Link::Identity,
        calibration: Some(PiecewiseLinear { xs: vec![0.0, 1.0, 3.0], ys: vec![0.1, 0.3, 0.9] }),
    };
    let bytes = m.to_onnx_bytes();
    for (x, want) in [(-5.0, 0.1), (0.0, 0.1), (0.5, 0.2), (1.0, 0.3), (2.0, 0.6), (3.0, 0.9), (50.0, 0.9)] {
        let got = run_in_tract(&bytes, &[x]);
        assert!((got - want).abs() < 1e-6, "at {x}: {got} vs {want}");
        assert!((m.eval(&[x]) - want).abs() < 1e-6);
    }
}

/// Runs `onnx.checker` (and onnxruntime, when installed) on a written model. Needs python3 with the
/// `onnx` package: `cargo test -p kestrel-infer --test export -- --ignored`.
#[test]
#[ignore = "needs python3 with the onnx package"]
fn onnx_checker_accepts_the_written_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.onnx");
    let m = LinearModel {
        input_name: "x".into(),
        output_name: "y".into(),
        weights: vec![0.5, -0.5, 0.25],
        bias: 0.1,
        link: Link::Sigmoid,
        calibration: Some(PiecewiseLinear { xs: vec![0.2, 0.5, 0.8], ys: vec![0.1, 0.5, 0.9] }),
    };
    std::fs::write(&path, m.to_onnx_bytes()).unwrap();
    let script = "import sys, onnx\nm = onnx.load(sys.argv[1])\nonnx.checker.check_model(m, full_check=True)\n\
                  try:\n    import numpy as np, onnxruntime as ort\n    s = ort.InferenceSession(sys.argv[1])\n    \
                  print(s.run(None, {'x': np.array([[1, 2, 3]], dtype=np.float32)})[0][0][0])\nexcept ImportError:\n    \
                  print('no onnxruntime')\n";
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    if let Ok(v) = stdout.trim().parse::<f32>() {
        assert!((v - m.eval(&[1.0, 2.0, 3.0])).abs() < 1e-5, "onnxruntime {v}");
    }
}
