//! The hot-loop scorers: tract and native give `LinearModel::eval`'s answers, fail safe (a fault, never
//! a panic or a number) on rows that make the output NaN, and the backends are chosen as documented.

mod common;

use common::*;
use kestrel_engine::decide::model::{ModelFault, Scorer};
use kestrel_infer::card::card_path_for;
use kestrel_infer::{Backend, LoadedModel, ModelError, load_scorer};
use proptest::prelude::*;
use prost::Message;
use tract_onnx::pb;

fn both(onnx: &std::path::Path) -> (Box<dyn Scorer>, Box<dyn Scorer>) {
    let m = LoadedModel::open(onnx).unwrap();
    (m.scorer(Backend::Tract).unwrap(), m.scorer(Backend::Native).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn tract_and_native_scorers_equal_the_reference(
        row in proptest::collection::vec(-4.0f32..4.0, 12),
        knots in 0usize..8,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let pwin = pwin_model(12, knots);
        let slip = slippage_model(12);
        for (model, role) in [(&pwin, "pwin"), (&slip, "slippage")] {
            let onnx = write_linear(dir.path(), role, model, role);
            let (mut t, mut n) = both(&onnx);
            let want = model.eval(&row);
            let got_t = t.score(&row).unwrap();
            let got_n = n.score(&row).unwrap();
            prop_assert!((got_t - want).abs() <= 1e-5 * want.abs().max(1.0), "tract {got_t} vs {want}");
            prop_assert_eq!(got_n, want);
        }
    }
}

#[test]
fn scorers_fail_safe_on_a_row_that_makes_the_output_nan() {
    let dir = tempfile::tempdir().unwrap();
    for knots in [0, 6] {
        let pwin = pwin_model(6, knots);
        let onnx = write_linear(dir.path(), "pwin", &pwin, "pwin");
        let (mut t, mut n) = both(&onnx);
        // weights alternate in sign: +inf · w0 + +inf · w1 = NaN
        let row = [f32::INFINITY, f32::INFINITY, 0.0, 0.0, 0.0, 0.0];
        assert!(pwin.eval(&row).is_nan());
        assert_eq!(t.score(&row), Err(ModelFault::BadOutput), "tract, {knots} knots");
        assert_eq!(n.score(&row), Err(ModelFault::BadOutput), "native, {knots} knots");
        let nan_row = [f32::NAN, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(t.score(&nan_row), Err(ModelFault::BadOutput));
        assert_eq!(n.score(&nan_row), Err(ModelFault::BadOutput));
        // a wrong row length is an error, not a panic
        assert_eq!(t.score(&[0.0; 5]), Err(ModelFault::Error));
        assert_eq!(n.score(&[0.0; 7]), Err(ModelFault::Error));
        // and the scorers keep working afterwards
        let ok = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
        assert!((t.score(&ok).unwrap() - pwin.eval(&ok)).abs() < 1e-5);
        assert_eq!(n.score(&ok).unwrap(), pwin.eval(&ok));
    }
}

#[test]
fn a_slippage_scorer_fails_safe_on_infinite_or_nan_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let slip = slippage_model(6);
    let onnx = write_linear(dir.path(), "slippage", &slip, "slippage");
    let (mut t, mut n) = both(&onnx);
    let mut rows = vec![[0.0f32; 6]; 3];
    rows[0][0] = f32::INFINITY; // one weight: −inf
    rows[1][0] = f32::INFINITY; // weights −0.3 and +0.1: NaN
    rows[1][4] = f32::INFINITY;
    rows[2][2] = f32::NAN;
    for row in &rows {
        assert!(!slip.eval(row).is_finite());
        assert_eq!(t.score(row), Err(ModelFault::BadOutput), "tract {row:?}");
        assert_eq!(n.score(row), Err(ModelFault::BadOutput), "native {row:?}");
    }
    assert_eq!(n.score(&[1.0; 6]).unwrap(), slip.eval(&[1.0; 6]));
}

#[test]
fn a_pwin_scorer_refuses_a_value_outside_zero_one() {
    // A slippage-shaped graph declared as p(win) would be refused at load by the probe; here the probe
    // rows pass (a steep identity model that stays in [0, 1] on them) but a far row leaves [0, 1].
    let dir = tempfile::tempdir().unwrap();
    let model = linear(vec![0.1, 0.1], 0.5, kestrel_infer::Link::Identity, None);
    let onnx = write_linear(dir.path(), "steep", &model, "pwin");
    let (mut t, mut n) = both(&onnx);
    assert_eq!(t.score(&[10.0, 10.0]), Err(ModelFault::BadOutput));
    assert_eq!(n.score(&[10.0, 10.0]), Err(ModelFault::BadOutput));
    assert!((t.score(&[1.0, 1.0]).unwrap() - 0.7).abs() < 1e-6);
}

#[test]
fn scorers_report_the_cards_identity_and_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let model = pwin_model(5, 3);
    let mut card = card_for(&model, "pwin", "pwin");
    card.features[0].fill = 0.25;
    card.trade = Some(kestrel_infer::card::TradeStats { avg_win_bps: 10.0, avg_loss_bps: 8.0, cvar95_loss_bps: 25.0 });
    let onnx = write_model(dir.path(), "pwin", &model, &card);
    for backend in [Backend::Auto, Backend::Tract, Backend::Native] {
        let (m, s) = load_scorer(&onnx, backend).unwrap();
        assert_eq!(s.version(), card.version_hash());
        assert_eq!(s.inputs(), m.inputs());
        assert_eq!(s.inputs().fill[0], 0.25);
        assert_eq!(s.trade_stats().unwrap().avg_win_bps, 10.0);
    }
}

/// Like scikit-learn's classifiers: a label output first, then `probabilities` [1, 2] with the
/// positive class in column 1.
fn classifier_like(dir: &std::path::Path) -> (std::path::PathBuf, kestrel_infer::LinearModel) {
    let model = pwin_model(4, 0);
    let mut proto = model.to_proto();
    let g = proto.graph.as_mut().unwrap();
    g.initializer.push(pb::TensorProto {
        name: "one".into(),
        dims: vec![1],
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: vec![1.0],
        ..Default::default()
    });
    let node = |op: &str, inputs: &[&str], out: &str, attribute: Vec<pb::AttributeProto>| pb::NodeProto {
        name: format!("n_{out}"),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![out.into()],
        attribute,
        ..Default::default()
    };
    let axis = |v: i64| pb::AttributeProto {
        name: "axis".into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: v,
        ..Default::default()
    };
    g.node.push(node("Sub", &["one", "score"], "negative", vec![]));
    g.node.push(node("Concat", &["negative", "score"], "probabilities", vec![axis(1)]));
    g.node.push(node("ArgMax", &["probabilities"], "label", vec![axis(1)]));
    let mut probs = g.output[0].clone();
    probs.name = "probabilities".into();
    if let Some(pb::TypeProto { value: Some(pb::type_proto::Value::TensorType(t)), .. }) = &mut probs.r#type {
        t.shape.as_mut().unwrap().dim[1].value = Some(pb::tensor_shape_proto::dimension::Value::DimValue(2));
    }
    let mut label = g.output[0].clone();
    label.name = "label".into();
    label.r#type = None;
    g.output = vec![label, probs];
    let onnx = dir.join("clf.onnx");
    std::fs::write(&onnx, proto.encode_to_vec()).unwrap();
    let mut card = card_for(&model, "clf", "pwin");
    card.output.name = "probabilities".into();
    card.output.shape = vec![1, 2];
    card.output.column = 1;
    card.save(&card_path_for(&onnx)).unwrap();
    (onnx, model)
}

#[test]
fn a_classifiers_probability_column_is_read_and_auto_falls_back_to_tract() {
    let dir = tempfile::tempdir().unwrap();
    let (onnx, model) = classifier_like(dir.path());
    let m = LoadedModel::open(&onnx).unwrap();
    assert!(!m.is_native());
    let mut s = m.scorer(Backend::Auto).unwrap();
    let row = [0.3, -1.0, 2.0, 0.5];
    assert!((s.score(&row).unwrap() - model.eval(&row)).abs() < 1e-5);
    let e = m.scorer(Backend::Native).unwrap_err();
    assert!(matches!(e, ModelError::Backend { .. }), "{e:?}");
    assert!(e.to_string().contains("clf.onnx") && e.to_string().contains("tract"), "{e}");
}

#[test]
fn auto_picks_native_for_kestrels_own_models() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = write_linear(dir.path(), "pwin", &pwin_model(8, 10), "pwin");
    let m = LoadedModel::open(&onnx).unwrap();
    assert!(m.is_native());
    let s = m.scorer(Backend::Auto).unwrap();
    assert!(format!("{s:?}").starts_with("NativeLinear"), "{s:?}");
    let s = m.scorer(Backend::Tract).unwrap();
    assert!(format!("{s:?}").starts_with("TractScorer"));
    assert_eq!(Backend::parse("native"), Some(Backend::Native));
    assert_eq!(Backend::parse(Backend::Auto.as_str()), Some(Backend::Auto));
    assert_eq!(Backend::parse("gpu"), None);
}

#[test]
fn scorers_are_send_for_the_control_ring() {
    fn send<T: Send>() {}
    send::<kestrel_infer::TractScorer>();
    send::<kestrel_infer::NativeLinear>();
    send::<LoadedModel>();
}
