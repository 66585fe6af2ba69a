//! Shared by the pipeline tests: synthetic tapes and pipelines built the way `kestrel paper` builds
//! them.
#![allow(dead_code)]

use kestrel_engine::config::{RawConfig, RunSettings, resolve_trading};
use kestrel_engine::execute::SimVenue;
use kestrel_engine::ingest::TapeSource;
use kestrel_engine::journal::{JournalMeta, JournalWriter};
use kestrel_engine::paper::build_pipeline;
use kestrel_engine::pipeline::{Pipeline, RunControl};
use kestrel_engine::tape::Tape;
use kestrel_tools::synth::{self, SynthConfig};
use std::path::Path;
use std::sync::Arc;

/// A synthetic tape of `minutes` of simulated time (≈ 10k records a minute) in `dir`.
pub fn synth_tape(dir: &Path, name: &str, seed: u64, minutes: u64) -> Arc<Tape> {
    let path = dir.join(name);
    let cfg = SynthConfig { seed, duration_ns: minutes * 60 * 1_000_000_000, ..SynthConfig::default() };
    synth::write_tape(&cfg, &path).expect("synthetic tape");
    Arc::new(Tape::open(&path).expect("open synthetic tape"))
}

/// A pipeline over `tape` with `config`, journaling to `journal`.
pub fn pipeline(
    tape: &Arc<Tape>,
    config: &RawConfig,
    journal: &Path,
    control: &Arc<RunControl>,
) -> Pipeline<TapeSource, SimVenue> {
    let settings = RunSettings::from_raw(config, "test").expect("valid settings");
    let trading = resolve_trading(config, tape.instruments(), "test").expect("valid trading config");
    let meta = JournalMeta { tape_data_crc32: tape.header().data_crc32, config_hash: 0 };
    let writer = JournalWriter::create(journal, tape.instruments(), meta, settings.journal_capacity).expect("journal");
    build_pipeline(tape.clone(), &settings, trading, writer, control.stop_flag()).expect("valid risk limits")
}
