//! "Bring your own model" (tools/byo/README.md): the models `tools/byo/export_model.py` made with
//! scikit-learn and LightGBM load with Kestrel's loader, and the hot loop's `Scorer` gives the
//! library's own probabilities on the rows the script saved beside them (NAME.expected.json).
//!
//! No Python here: the fixtures are committed. When the engine's feature schema changes, the cards
//! no longer match it and this test says to re-run `tools/byo/make_fixtures.sh`.

use kestrel_engine::features::schema::{FEATURES, SCHEMA_VERSION};
use kestrel_infer::card::{ModelCard, card_path_for, engine_schema_hash};
use kestrel_infer::{Backend, LoadedModel, load_scorer};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// How close tract must be to the library's `predict_proba` (the library computes in f64, the ONNX
/// graph in f32).
const TOLERANCE: f64 = 1e-5;

/// The fixtures that must be there (any other `*.onnx` in the folder is checked too).
const REQUIRED: &[&str] = &["sklearn_logreg", "lightgbm"];

const REGENERATE: &str = "re-run `tools/byo/make_fixtures.sh` (with `--dataset` if a feature it uses was renamed \
     or removed) and commit tools/byo/fixtures/; see tools/byo/README.md";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/byo/fixtures")
}

/// Every `NAME.onnx` in the fixtures folder, sorted.
fn fixtures() -> Vec<PathBuf> {
    let dir = fixtures_dir();
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
        .collect();
    out.sort();
    for name in REQUIRED {
        let p = dir.join(format!("{name}.onnx"));
        assert!(out.contains(&p), "fixture {} is missing: {REGENERATE}", p.display());
    }
    out
}

fn expected_path(onnx: &Path) -> PathBuf {
    onnx.with_extension("expected.json")
}

struct Expected {
    features: Vec<String>,
    /// Inputs in the card's order; `None` is NaN (the engine feeds the card's fill).
    rows: Vec<Vec<Option<f32>>>,
    p_win: Vec<f64>,
}

fn read_expected(onnx: &Path) -> Expected {
    let path = expected_path(onnx);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().expect("an array").iter().map(|s| s.as_str().expect("a string").to_string()).collect()
    };
    // Values are f32s written exactly as f64s: the cast is exact.
    let rows = v["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no `rows`", path.display()))
        .iter()
        .map(|r| r.as_array().expect("a row").iter().map(|x| x.as_f64().map(|f| f as f32)).collect())
        .collect();
    let p_win = v["p_win"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no `p_win`", path.display()))
        .iter()
        .map(|x| x.as_f64().expect("a probability"))
        .collect();
    Expected { features: strings(&v["features"]), rows, p_win }
}

/// The card's schema against the engine's: a mismatch is a stale fixture, with the fix in the message.
fn check_schema(onnx: &Path) -> ModelCard {
    let card_path = card_path_for(onnx);
    let card = ModelCard::load(&card_path).unwrap_or_else(|e| panic!("{e}"));
    let hash = engine_schema_hash();
    assert!(
        card.schema.version == SCHEMA_VERSION && card.schema.hash == hash,
        "{} was made for feature schema v{} (hash {}), the engine's is v{SCHEMA_VERSION} (hash {hash}): the engine's \
         feature schema changed; {REGENERATE}",
        card_path.display(),
        card.schema.version,
        card.schema.hash,
    );
    for f in &card.features {
        assert!(
            FEATURES.iter().any(|d| d.name == f.name),
            "{}: feature `{}` is no longer in the engine's schema; {REGENERATE}",
            card_path.display(),
            f.name
        );
    }
    card
}

#[test]
fn fixture_cards_match_the_engine_schema() {
    for onnx in fixtures() {
        let card = check_schema(&onnx);
        assert_eq!(card.role, "pwin", "{}", onnx.display());
        assert_eq!(card.input.name, "features", "{}", onnx.display());
        assert_eq!(card.input.shape, [1, card.features.len()], "{}", onnx.display());
        assert_eq!((card.output.shape.as_slice(), card.output.column), ([1, 2].as_slice(), 1), "{}", onnx.display());
        assert!(card.trade.is_some(), "{}: a p(win) card carries trade statistics", onnx.display());
        card.resolve_inputs().unwrap_or_else(|e| panic!("{}: {e}", onnx.display()));
    }
}

#[test]
fn fixtures_score_as_the_library_does() {
    for onnx in fixtures() {
        let card = check_schema(&onnx);
        let (model, mut scorer) = load_scorer(&onnx, Backend::Auto).unwrap_or_else(|e| panic!("{e}"));
        let exp = read_expected(&onnx);
        let names: Vec<&str> = card.features.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(exp.features, names, "{}: expected rows and card list different features", onnx.display());
        assert_eq!(exp.rows.len(), exp.p_win.len(), "{}", onnx.display());
        assert!(exp.rows.len() >= 20, "{}: {} expected rows, want 20", onnx.display(), exp.rows.len());
        assert!(exp.rows.iter().any(|r| r.contains(&None)), "{}: no row exercises the fill values", onnx.display());

        let fill = &model.inputs().fill;
        let mut filled = Vec::new();
        for (i, (row, &want)) in exp.rows.iter().zip(&exp.p_win).enumerate() {
            assert_eq!(row.len(), fill.len(), "{} row {i}", onnx.display());
            // What decide does before it calls the model: NaN → the card's fill.
            let input: Vec<f32> = row.iter().zip(fill).map(|(v, f)| v.unwrap_or(*f)).collect();
            let got = scorer.score(&input).unwrap_or_else(|e| panic!("{} row {i}: model fault {e:?}", onnx.display()));
            let again = scorer.score(&input).expect("a second call");
            assert_eq!(got.to_bits(), again.to_bits(), "{} row {i}: the scorer is not repeatable", onnx.display());
            assert!(
                (f64::from(got) - want).abs() <= TOLERANCE,
                "{} row {i}: Kestrel scores {got}, {} gave {want} (|diff| {:.2e} > {TOLERANCE:e})",
                onnx.display(),
                card.training.method.get("library").and_then(Value::as_str).unwrap_or("the library"),
                (f64::from(got) - want).abs()
            );
            filled.push(input);
        }
        // The cold side (shadow scoring) agrees with the hot scorer.
        let cold = model.score_rows(&filled).unwrap_or_else(|e| panic!("{e}"));
        for (i, (row, c)) in filled.iter().zip(&cold).enumerate() {
            let hot = scorer.score(row).expect("scores");
            assert_eq!(hot.to_bits(), c.to_bits(), "{} row {i}: hot {hot} vs cold {c}", onnx.display());
        }
    }
}

/// The loader's own schema check refuses a fixture whose card names another schema (what a user
/// sees after an engine upgrade without a re-export).
#[test]
fn a_card_for_another_schema_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let src = fixtures_dir().join("sklearn_logreg.onnx");
    let onnx = dir.path().join("stale.onnx");
    std::fs::copy(&src, &onnx).expect("copy the model");
    let mut card = ModelCard::load(&card_path_for(&src)).expect("the fixture's card");
    card.schema.hash = "0000000000000000".into();
    card.save(&card_path_for(&onnx)).expect("write the card");
    let err = LoadedModel::open(&onnx).expect_err("a card for another schema must be refused").to_string();
    assert!(err.contains("stale.card.json"), "the error names the card: {err}");
}
