//! The volume-profile features on whole tapes against the batch reference of
//! `engine/tests/reference/profile.rs` (included below; the engine's `features_profile` tests use it
//! too).
//!
//! - `synthetic_tape_matches_the_reference`: an hour of the seeded synthetic market (L2 book,
//!   quotes, trades, regime switches) in 20-minute sessions, with the default histogram and with
//!   one narrow enough to drop trades;
//! - `real_captures_match_the_reference`: the Binance captures in ../shared/data (the spot pair
//!   crosses midnight, so it has two daily sessions), with the default settings and with 2-minute
//!   sessions. SKIPPED, saying so on stderr, when the captures are absent (set KESTREL_DATA_DIR
//!   to the folder holding `binance/`).
//!
//! Every event goes through `FeatureStage` (the engine's path); the reference is compared exactly
//! (see the engine file for the tolerance) at every bar close, at ≈ 150 evenly spaced events
//! and at the last one: recomputing the windows from the whole history at every one of a tape's
//! events would take hours unoptimised.

#[path = "../engine/tests/reference/profile.rs"]
#[allow(dead_code)]
mod reference;

use kestrel_engine::book::MarketView;
use kestrel_engine::event::MarketEvent;
use kestrel_engine::features::{FeatureSettings, FeatureStage, FeatureVector, idx};
use kestrel_engine::pipeline::Stage;
use kestrel_engine::tape::Tape;
use kestrel_tools::synth::{self, SynthConfig};
use reference::{Params, Reference, assert_matches, ev_of};
use std::path::{Path, PathBuf};

const S: u64 = 1_000_000_000;
/// Events between two comparisons (besides bar closes): at least 400, and at most ≈ 150
/// comparisons a tape.
fn stride(events: usize) -> usize {
    (events / 150).max(400)
}

/// What a tape check saw: events compared, of which with a POC and with a range percentile;
/// trades outside the histogram.
struct Checked {
    compared: usize,
    with_poc: usize,
    with_pctl: usize,
    dropped: usize,
}

/// Runs the tape (one instrument) through `FeatureStage` and compares with the reference at
/// every bar close, at every [`stride`]th event and at the last event.
fn check_tape(tape: &Tape, settings: &FeatureSettings, context: &str) -> Checked {
    assert_eq!(tape.instruments().len(), 1, "{context}: one instrument");
    let spec = &tape.instruments()[0];
    let mut stage = FeatureStage::new(tape.instruments(), settings);
    let mut view = MarketView::new(1, settings.book_levels);
    let mut evs = Vec::with_capacity(tape.len());
    let mut outputs: Vec<(usize, FeatureVector)> = Vec::new();
    let records = tape.records();
    let mut last_bar = None;
    for (i, r) in records.iter().enumerate() {
        let id = view.apply(r).expect("a verified tape's records are of its instruments");
        let touch = view.touch(id).map(|t| t.bid.px.0 + t.ask.px.0);
        let e = MarketEvent { seq: i as u64, ts: r.header.ts_local, stamp: 0, record: *r };
        let out = stage.on_event(&e).features.values;
        let bar = r.header.ts_local.0 / settings.bar_ns;
        let closes = last_bar.is_some_and(|b| b != bar);
        last_bar = Some(bar);
        if closes || i % stride(records.len()) == 0 || i + 1 == records.len() {
            outputs.push((evs.len(), out));
        }
        evs.push(ev_of(r, touch));
    }
    // `FeatureStage::new` uses `ProfileFeatures::new` (minute slots over a day) until it passes
    // the configured lengths; with minute bars and sessions of whole minutes the slots are the same.
    let p = Params::new(spec, settings, 60 * S, 86_400 * S);
    let reference = Reference::new(&evs, p);
    let mut finite = (0, 0);
    for (k, out) in &outputs {
        assert_matches(&reference, *k, out, context);
        finite.0 += usize::from(out.get(idx::POC_DISTANCE_TICKS).is_finite());
        finite.1 += usize::from(out.get(idx::SESSION_RANGE_PCTL).is_finite());
    }
    let bar_closes = (0..reference.events()).filter(|&k| reference.closes_bar(k)).count();
    assert!(outputs.len() > bar_closes, "{context}: every bar close compared");
    eprintln!(
        "{context}: {} events, {} compared ({bar_closes} bar closes), {} with a POC, {} with a range \
         percentile, {} trades outside the histogram",
        evs.len(),
        outputs.len(),
        finite.0,
        finite.1,
        reference.dropped_trades()
    );
    Checked { compared: outputs.len(), with_poc: finite.0, with_pctl: finite.1, dropped: reference.dropped_trades() }
}

#[test]
fn synthetic_tape_matches_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synth.tape");
    // An hour at a quarter of the default activity (≈ 50 records a second) from midnight.
    let cfg = SynthConfig { seed: 7, duration_ns: 3_600 * S, activity: 0.25, ..SynthConfig::default() };
    synth::write_tape(&cfg, &path).expect("synthetic tape");
    let tape = Tape::open(&path).expect("open synthetic tape");
    for ticks in [20_000, 64] {
        let settings = FeatureSettings { session_ns: 1_200 * S, profile_ticks: ticks, ..FeatureSettings::default() };
        let c = check_tape(&tape, &settings, &format!("synthetic, {ticks} ticks"));
        assert!(c.with_poc * 10 > c.compared * 9, "the POC is defined almost everywhere");
        assert!(c.with_pctl * 2 > c.compared, "sessions 2 and 3 have a range percentile");
        assert_eq!(c.dropped > 0, ticks == 64, "only the narrow histogram drops trades");
    }
}

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KESTREL_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let files = ["usdm/btcusdt_20240808.gz", "spot/ethusdt_20240808.gz", "spot/ethusdt_20240809.gz"];
    if files.iter().all(|f| dir.join("binance").join(f).is_file()) {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: real captures not found under {}/binance (set KESTREL_DATA_DIR to the folder holding binance/)",
            dir.display()
        );
        None
    }
}

#[test]
fn real_captures_match_the_reference() {
    let Some(data) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let captures: [(&str, &[&str]); 2] = [
        ("btcusdt usdm", &["usdm/btcusdt_20240808.gz"]),
        ("ethusdt spot", &["spot/ethusdt_20240808.gz", "spot/ethusdt_20240809.gz"]),
    ];
    for (n, (name, files)) in captures.iter().enumerate() {
        use kestrel_tools::import::{Format, ImportOptions, import};
        let inputs: Vec<PathBuf> = files.iter().map(|f| data.join("binance").join(f)).collect();
        let out = dir.path().join(format!("{n}.tape"));
        import(Format::Binance, &inputs, &out, &ImportOptions::default(), &mut |_, _| {}).expect("import");
        let tape = Tape::open(&out).expect("open imported tape");
        let default = FeatureSettings::default();
        let c = check_tape(&tape, &default, &format!("{name}, default settings"));
        assert!(c.with_poc * 10 > c.compared * 9, "{name}: the POC is defined almost everywhere");
        let short = FeatureSettings { session_ns: 120 * S, profile_ticks: 200, ..FeatureSettings::default() };
        let c = check_tape(&tape, &short, &format!("{name}, 2-minute sessions"));
        assert!(c.with_pctl * 2 > c.compared, "{name}: later sessions have a range percentile");
    }
}
