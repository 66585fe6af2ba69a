//! The microstructure features against the batch reference of `engine/tests/features_micro.rs`,
//! over whole tapes: a synthetic one (`kestrel_tools::synth`) and the real Binance USDⓈ-M capture
//! in ../shared/data when it is there (otherwise the test says SKIPPED on stderr and passes; point
//! KESTREL_DATA_DIR at the folder holding `binance/` to run it).
//!
//! The reference recomputes each decayed feature as a direct sum over the history, so checking
//! every event of a long tape would take O(n²): the touch, depth and bar features are checked at
//! the first few thousand events and at about 1,500 events spread over the tape, the same set for
//! all features. Decayed sums skip contributions older than 60 time constants (weight below
//! e⁻⁶⁰ ≈ 1e−26, added to the tolerance). Bars are 1 s (real, 345 s long) or 2 s (synthetic,
//! 10 min) so that the ATR's 73-bar warm-up is passed well inside the tape.

#[path = "../engine/tests/reference/micro.rs"]
#[allow(dead_code)]
mod reference;

use kestrel_engine::features::FeatureSettings;
use kestrel_engine::tape::{RawRecord, Tape};
use kestrel_engine::types::InstrumentSpec;
use kestrel_tools::import::{self, Format, ImportOptions};
use kestrel_tools::synth::{SynthConfig, write_tape};
use reference::check_stream;
use std::path::{Path, PathBuf};

const SEC: u64 = 1_000_000_000;

/// Checks every event among the first `dense`, then about `spread` more evenly spaced, and the last.
fn check_tape(spec: &InstrumentSpec, records: &[RawRecord], bar_ns: u64, dense: usize, spread: usize) {
    assert!(records.iter().all(|r| r.header.instrument.index() == 0), "one instrument");
    let settings = FeatureSettings { bar_ns, ..FeatureSettings::default() };
    let last = records.len() - 1;
    let stride = (records.len() / spread).max(1);
    let pick = |n: usize| n < dense || n.is_multiple_of(stride) || n == last;
    let cov = check_stream(spec, &settings, records, &pick, Some(60.0)).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{} records, {} checked:\n{}", records.len(), cov.checked, cov.summary());
    assert_eq!(cov.never_defined(), Vec::<&str>::new(), "features never defined on this tape");
}

#[test]
fn a_synthetic_tape_matches_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synth.tape");
    let cfg = SynthConfig { seed: 11, ..SynthConfig::default() }; // 10 minutes, L2 + quotes + trades
    write_tape(&cfg, &path).expect("synthetic tape");
    let tape = Tape::open(&path).unwrap();
    check_tape(&tape.instruments()[0], tape.records(), 2 * SEC, 3_000, 1_500);
}

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KESTREL_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let file = dir.join("binance/usdm/btcusdt_20240808.gz");
    if file.is_file() {
        Some(file)
    } else {
        eprintln!(
            "SKIPPED: real capture not found at {} (set KESTREL_DATA_DIR to the folder holding binance/)",
            file.display()
        );
        None
    }
}

#[test]
fn the_real_btcusdt_capture_matches_the_reference() {
    let Some(input) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("btcusdt.tape");
    import::import(Format::Binance, &[input], &out, &ImportOptions::default(), &mut |_, _| {}).expect("import");
    let tape = Tape::open(&out).unwrap();
    check_tape(&tape.instruments()[0], tape.records(), SEC, 5_000, 1_500);
}
