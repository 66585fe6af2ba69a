//! Model cards: parse errors name the file and the line, a card made for another feature schema is
//! refused as a schema mismatch, every field the engine relies on is checked, and save/load round-trips.

mod common;

use common::*;
use kestrel_engine::features::schema::FEATURES;
use kestrel_infer::card::card_path_for;
use kestrel_infer::{LoadedModel, ModelCard, ModelError};
use std::path::Path;

fn card() -> ModelCard {
    card_for(&pwin_model(4, 0), "pwin", "pwin")
}

#[test]
fn card_path_sits_beside_the_model() {
    assert_eq!(card_path_for(Path::new("models/pwin.onnx")), Path::new("models/pwin.card.json"));
    assert_eq!(card_path_for(Path::new("m.v2.onnx")), Path::new("m.v2.card.json"));
}

#[test]
fn save_then_load_round_trips_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pwin.card.json");
    let c = card();
    c.save(&path).unwrap();
    assert_eq!(ModelCard::load(&path).unwrap(), c);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\n  \"format\""), "pretty JSON expected:\n{text}");
}

#[test]
fn a_missing_card_says_which_file_is_expected() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("pwin.onnx");
    std::fs::write(&onnx, pwin_model(4, 0).to_onnx_bytes()).unwrap();
    let e = LoadedModel::open(&onnx).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("pwin.card.json") && msg.contains("not found"), "{msg}");
}

#[test]
fn a_malformed_card_names_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.card.json");
    std::fs::write(&path, "{\n  \"format\": \"kestrel-model-card\",\n  \"card_version\": \"one\"\n}\n").unwrap();
    let e = ModelCard::load(&path).unwrap_err();
    match &e {
        ModelError::CardParse { path: p, line, .. } => {
            assert_eq!(p, &path);
            assert_eq!(*line, 3);
        }
        other => panic!("expected CardParse, got {other:?}"),
    }
    assert!(e.to_string().contains("bad.card.json:3:"), "{e}");
    assert!(e.to_string().contains("card_version"), "{e}");
    // not JSON at all, and not UTF-8
    std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
    assert!(matches!(ModelCard::load(&path), Err(ModelError::CardParse { .. })));
    // an unknown field
    let mut v = serde_json::to_value(card()).unwrap();
    v["colour"] = "red".into();
    std::fs::write(&path, v.to_string()).unwrap();
    let e = ModelCard::load(&path).unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
}

#[test]
fn a_card_resolves_its_features_to_engine_positions_and_fills() {
    let mut c = card();
    c.features.reverse();
    c.features[0].fill = 2.5;
    let inputs = c.resolve_inputs().unwrap();
    assert_eq!(inputs.index, vec![3, 2, 1, 0]);
    assert_eq!(inputs.fill, vec![2.5, 0.0, 0.0, 0.0]);
}

#[test]
fn signed_features_and_the_side_are_read_in_the_trades_frame() {
    use kestrel_engine::decide::model::SIDE_INPUT;
    use kestrel_engine::features::{FeatureVector, idx};
    use kestrel_engine::journal::Side;
    use kestrel_infer::card::{CardFeature, SIDE_FEATURE};
    let mut c = card();
    c.features = vec![
        CardFeature { name: "imbalance_l1".into(), fill: 0.0, signed: true },
        CardFeature { name: "spread_bps".into(), fill: 0.0, signed: false },
        CardFeature { name: "ofi_1s".into(), fill: 0.25, signed: true },
        CardFeature { name: SIDE_FEATURE.into(), fill: 0.0, signed: false },
    ];
    // Written only where true: older cards (no `signed`) still read, as unsigned.
    let text = serde_json::to_string(&c).unwrap();
    assert_eq!(text.matches("\"signed\"").count(), 2, "{text}");
    let inputs = c.resolve_inputs().unwrap();
    assert_eq!(inputs.index, vec![idx::IMBALANCE_L1, idx::SPREAD_BPS, idx::OFI_1S, SIDE_INPUT]);
    assert_eq!(inputs.signed, vec![true, false, true, false]);

    let mut fv = FeatureVector::default();
    fv.set(idx::IMBALANCE_L1, 0.75);
    fv.set(idx::SPREAD_BPS, 1.5);
    let mut row = [0f32; 4];
    assert_eq!(inputs.gather(&fv, Side::Buy, &mut row), 1, "ofi_1s is NaN: its fill stands in");
    assert_eq!(row, [0.75, 1.5, 0.25, 1.0]);
    inputs.gather(&fv, Side::Sell, &mut row);
    assert_eq!(row, [-0.75, 1.5, 0.25, -1.0], "signed inputs and the side flip; the fill does not");

    // `signed` on the side itself is a mistake worth naming.
    c.features[3].signed = true;
    let e = c.resolve_inputs().unwrap_err().to_string();
    assert!(e.contains("features[3].signed"), "{e}");
    // The side counts as one more input: every feature and the side fit, a second side does not.
    let mut all = card();
    all.features = FEATURES
        .iter()
        .map(|f| CardFeature { name: f.name.into(), fill: 0.0, signed: false })
        .chain([CardFeature { name: SIDE_FEATURE.into(), fill: 0.0, signed: false }])
        .collect();
    all.input.shape = vec![1, all.features.len()];
    assert_eq!(all.resolve_inputs().unwrap().len(), FEATURES.len() + 1);
    all.features.push(CardFeature { name: SIDE_FEATURE.into(), fill: 0.0, signed: false });
    all.input.shape = vec![1, all.features.len()];
    assert!(all.resolve_inputs().is_err());
}

#[test]
fn a_wrong_schema_hash_is_a_schema_mismatch_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = pwin_model(4, 0);
    let mut c = card_for(&model, "pwin", "pwin");
    c.schema.hash = "0123456789abcdef".into();
    let onnx = write_model(dir.path(), "pwin", &model, &c);
    let e = LoadedModel::open(&onnx).unwrap_err();
    assert!(matches!(e, ModelError::SchemaMismatch { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("pwin.card.json"), "{msg}");
    assert!(msg.contains("schema mismatch") && msg.contains("retrain"), "{msg}");
    assert!(msg.contains("0123456789abcdef"), "{msg}");

    let mut c = card();
    c.schema.version += 1;
    assert!(matches!(c.resolve_inputs(), Err(ModelError::SchemaMismatch { .. })));
}

#[test]
fn an_unknown_feature_name_is_refused_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = pwin_model(4, 0);
    let mut c = card_for(&model, "pwin", "pwin");
    c.features[2].name = "moon_phase".into();
    let onnx = write_model(dir.path(), "pwin", &model, &c);
    let msg = LoadedModel::open(&onnx).unwrap_err().to_string();
    assert!(msg.contains("pwin.card.json") && msg.contains("moon_phase") && msg.contains("features[2]"), "{msg}");
}

#[test]
fn every_field_the_engine_relies_on_is_checked() {
    let check = |f: &dyn Fn(&mut ModelCard), field: &str| {
        let mut c = card();
        f(&mut c);
        let e = c.resolve_inputs().unwrap_err();
        match &e {
            ModelError::Card { field: got, .. } => assert_eq!(got, field, "{e}"),
            other => panic!("expected Card error on {field}, got {other:?}"),
        }
    };
    check(&|c| c.format = "onnx-card".into(), "format");
    check(&|c| c.card_version = 99, "card_version");
    check(&|c| c.role = "alpha".into(), "role");
    check(&|c| c.features.clear(), "features");
    check(&|c| c.features[1].name = c.features[0].name.clone(), "features[1].name");
    check(&|c| c.features[3].fill = f32::NAN, "features[3].fill");
    check(&|c| c.input.shape = vec![1, 5], "input.shape");
    check(&|c| c.input.shape = vec![4], "input.shape");
    check(&|c| c.input.name.clear(), "input.name");
    check(&|c| c.output.shape = vec![2, 1], "output.shape");
    check(&|c| c.output.shape = vec![1, 1, 1], "output.shape");
    check(
        &|c| {
            c.output.shape = vec![1, 2];
            c.output.column = 2;
        },
        "output.column",
    );
    check(
        &|c| {
            c.features = FEATURES
                .iter()
                .chain(FEATURES)
                .map(|f| kestrel_infer::card::CardFeature { name: f.name.into(), fill: 0.0, signed: false })
                .collect()
        },
        "features",
    );
    // [1, 2] with column 1 is a classifier's probabilities: fine
    let mut c = card();
    c.output.shape = vec![1, 2];
    c.output.column = 1;
    assert!(c.resolve_inputs().is_ok());
}

#[test]
fn the_version_hash_changes_with_name_and_version_and_is_never_zero() {
    let a = card();
    let mut b = card();
    b.version = "test-2".into();
    let mut c = card();
    c.name = "pwin2".into();
    assert_ne!(a.version_hash(), b.version_hash());
    assert_ne!(a.version_hash(), c.version_hash());
    assert_ne!(a.version_hash(), 0);
    assert_eq!(a.version_hash(), card().version_hash());
}
