//! Loading refuses what it cannot use, naming the file and the problem, without panicking: corrupt
//! ONNX files, graphs whose signature differs from the card, and graphs that give NaN or an
//! impossible probability on the probe rows.

mod common;

use common::*;
use kestrel_engine::decide::model::ModelRole;
use kestrel_infer::card::{TradeStats, card_path_for};
use kestrel_infer::{Backend, LoadedModel, ModelError, load_scorer};
use prost::Message;
use tract_onnx::pb;

fn assert_onnx_error(e: &ModelError, file: &str) {
    assert!(matches!(e, ModelError::Onnx { .. }), "expected an Onnx error, got {e:?}");
    let msg = e.to_string();
    assert!(msg.contains(file) && msg.contains("not a valid ONNX model"), "{msg}");
}

#[test]
fn a_good_model_loads_with_its_card() {
    let dir = tempfile::tempdir().unwrap();
    let model = pwin_model(6, 5);
    let mut card = card_for(&model, "pwin", "pwin");
    card.trade = Some(TradeStats { avg_win_bps: 12.0, avg_loss_bps: 9.0, cvar95_loss_bps: 30.0 });
    let onnx = write_model(dir.path(), "pwin", &model, &card);
    let m = LoadedModel::open(&onnx).unwrap();
    assert_eq!(m.role(), ModelRole::PWin);
    assert_eq!(m.inputs().len(), 6);
    assert_eq!(m.version(), card.version_hash());
    assert_eq!(m.path(), onnx.as_path());
    assert_eq!(m.card(), &card);
    assert_eq!(m.trade_stats().unwrap().cvar95_loss_bps, 30.0);
    assert!(m.is_native());
    let rows = vec![vec![0.5; 6], vec![-2.0; 6]];
    let got = m.score_rows(&rows).unwrap();
    for (r, g) in rows.iter().zip(&got) {
        assert!((model.eval(r) - g).abs() < 1e-5, "{} vs {g}", model.eval(r));
    }
    let e = m.score_rows(&[vec![0.0; 5]]).unwrap_err();
    assert!(matches!(e, ModelError::Run { .. }) && e.to_string().contains("row 0"), "{e}");
}

#[test]
fn truncated_random_and_empty_files_are_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let model = pwin_model(8, 4);
    let onnx = write_linear(dir.path(), "pwin", &model, "pwin");
    let bytes = model.to_onnx_bytes();

    std::fs::write(&onnx, []).unwrap();
    let e = LoadedModel::open(&onnx).unwrap_err();
    assert_onnx_error(&e, "pwin.onnx");
    assert!(e.to_string().contains("empty"), "{e}");

    for cut in [1, 7, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&onnx, &bytes[..cut]).unwrap();
        let e = LoadedModel::open(&onnx).unwrap_err();
        assert!(matches!(e, ModelError::Onnx { .. } | ModelError::Signature { .. }), "truncated at {cut}: {e:?}");
        assert!(e.to_string().contains("pwin.onnx"), "{e}");
    }

    // random bytes (a fixed xorshift stream, several seeds)
    for seed in 1..20u64 {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let junk: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(&onnx, &junk).unwrap();
        let e = LoadedModel::open(&onnx).unwrap_err();
        assert!(e.to_string().contains("pwin.onnx"), "{e}");
    }

    std::fs::write(&onnx, b"this is a text file, not a model\n").unwrap();
    assert_onnx_error(&LoadedModel::open(&onnx).unwrap_err(), "pwin.onnx");
}

#[test]
fn a_missing_model_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = pwin_model(4, 0);
    let onnx = write_linear(dir.path(), "pwin", &model, "pwin");
    std::fs::remove_file(&onnx).unwrap();
    let msg = LoadedModel::open(&onnx).unwrap_err().to_string();
    assert!(msg.contains("pwin.onnx") && msg.contains("not found"), "{msg}");
}

#[test]
fn a_card_with_five_inputs_for_a_graph_with_four_is_a_signature_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let model = pwin_model(4, 0);
    let mut card = card_for(&pwin_model(5, 0), "pwin", "pwin");
    card.input.name = model.input_name.clone();
    let onnx = write_model(dir.path(), "pwin", &model, &card);
    let e = LoadedModel::open(&onnx).unwrap_err();
    assert!(matches!(e, ModelError::Signature { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("pwin.onnx") && msg.contains("[1, 4]") && msg.contains("[1, 5]"), "{msg}");
}

#[test]
fn a_card_naming_another_input_or_output_is_a_signature_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let model = pwin_model(4, 0);
    let mut card = card_for(&model, "a", "pwin");
    card.input.name = "x".into();
    let onnx = write_model(dir.path(), "a", &model, &card);
    let msg = LoadedModel::open(&onnx).unwrap_err().to_string();
    assert!(msg.contains("`x`") && msg.contains("features"), "{msg}");

    let mut card = card_for(&model, "b", "pwin");
    card.output.name = "label".into();
    let onnx = write_model(dir.path(), "b", &model, &card);
    let e = LoadedModel::open(&onnx).unwrap_err();
    assert!(matches!(e, ModelError::Signature { .. }), "{e:?}");
    assert!(e.to_string().contains("`label`") && e.to_string().contains("score"), "{e}");

    let mut card = card_for(&model, "c", "pwin");
    card.output.shape = vec![1, 2];
    let onnx = write_model(dir.path(), "c", &model, &card);
    assert!(matches!(LoadedModel::open(&onnx), Err(ModelError::Signature { .. })));
}

#[test]
fn a_graph_with_a_symbolic_batch_is_pinned_and_checked_when_typed() {
    // Like exporters that declare [N, n]: the declared shape passes, the pinned one is checked by tract.
    let dir = tempfile::tempdir().unwrap();
    let model = pwin_model(4, 0);
    let mut proto = model.to_proto();
    let g = proto.graph.as_mut().unwrap();
    for vi in g.input.iter_mut().chain(g.output.iter_mut()) {
        let Some(pb::TypeProto { value: Some(pb::type_proto::Value::TensorType(t)), .. }) = &mut vi.r#type else {
            panic!()
        };
        let shape = t.shape.as_mut().unwrap();
        shape.dim[0].value = Some(pb::tensor_shape_proto::dimension::Value::DimParam("N".into()));
        if vi.name == "features" {
            shape.dim[1].value = Some(pb::tensor_shape_proto::dimension::Value::DimParam("F".into()));
        }
    }
    let good = dir.path().join("sym.onnx");
    std::fs::write(&good, proto.encode_to_vec()).unwrap();
    card_for(&model, "sym", "pwin").save(&card_path_for(&good)).unwrap();
    let m = LoadedModel::open(&good).unwrap();
    assert!(m.is_native());

    let bad = dir.path().join("sym5.onnx");
    std::fs::write(&bad, proto.encode_to_vec()).unwrap();
    let mut card = card_for(&pwin_model(5, 0), "sym5", "pwin");
    card.input.name = "features".into();
    card.save(&card_path_for(&bad)).unwrap();
    let e = LoadedModel::open(&bad).unwrap_err();
    assert!(matches!(e, ModelError::Signature { .. }), "{e:?}");
}

#[test]
fn a_graph_that_gives_nan_on_the_probe_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = pwin_model(4, 3);
    model.weights[2] = f32::NAN;
    let onnx = write_linear(dir.path(), "nan", &model, "pwin");
    let e = LoadedModel::open(&onnx).unwrap_err();
    assert!(matches!(e, ModelError::Probe { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("nan.onnx") && msg.contains("NaN"), "{msg}");

    // a calibration with a repeated knot is NaN too
    let mut model = pwin_model(4, 0);
    model.calibration = Some(kestrel_infer::PiecewiseLinear { xs: vec![0.2, 0.2, 0.6], ys: vec![0.1, 0.5, 0.9] });
    let onnx = write_linear(dir.path(), "knots", &model, "pwin");
    assert!(matches!(LoadedModel::open(&onnx), Err(ModelError::Probe { .. })));
}

#[test]
fn a_pwin_model_that_is_not_a_probability_is_refused_but_fine_as_slippage() {
    let dir = tempfile::tempdir().unwrap();
    let model = slippage_model(4);
    let onnx = write_linear(dir.path(), "p", &model, "pwin");
    let e = LoadedModel::open(&onnx).unwrap_err();
    assert!(matches!(e, ModelError::Probe { .. }), "{e:?}");
    assert!(e.to_string().contains("[0, 1]"), "{e}");
    let onnx = write_linear(dir.path(), "s", &model, "slippage");
    let (m, mut s) = load_scorer(&onnx, Backend::Tract).unwrap();
    assert_eq!(m.role(), ModelRole::Slippage);
    assert!((s.score(&[1.0, 2.0, 3.0, 4.0]).unwrap() - model.eval(&[1.0, 2.0, 3.0, 4.0])).abs() < 1e-5);
}

#[test]
fn an_unsupported_operator_is_refused_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    let model = pwin_model(4, 0);
    let mut proto = model.to_proto();
    proto.graph.as_mut().unwrap().node[3].op_type = "FrobnicateV7".into();
    let onnx = dir.path().join("odd.onnx");
    std::fs::write(&onnx, proto.encode_to_vec()).unwrap();
    card_for(&model, "odd", "pwin").save(&card_path_for(&onnx)).unwrap();
    let e = LoadedModel::open(&onnx).unwrap_err();
    assert!(e.to_string().contains("odd.onnx"), "{e}");
}
