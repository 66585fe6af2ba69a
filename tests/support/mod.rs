//! Shared by the pipeline tests: synthetic tapes and pipelines built the way `kestrel paper` builds
//! them.
#![allow(dead_code)]

use kestrel_engine::config::{RawConfig, RunSettings, resolve_trading};
use kestrel_engine::decide::model::{ModelFault, ModelInputs, ModelSet, Scorer, TradeStats};
use kestrel_engine::execute::SimVenue;
use kestrel_engine::features::idx;
use kestrel_engine::ingest::TapeSource;
use kestrel_engine::journal::{JournalMeta, JournalWriter};
use kestrel_engine::paper::{build_pipeline, build_pipeline_with_models};
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

/// [`pipeline`] with models for decide.
pub fn pipeline_with_models(
    tape: &Arc<Tape>,
    config: &RawConfig,
    journal: &Path,
    control: &Arc<RunControl>,
    models: ModelSet,
) -> Pipeline<TapeSource, SimVenue> {
    let settings = RunSettings::from_raw(config, "test").expect("valid settings");
    let trading = resolve_trading(config, tape.instruments(), "test").expect("valid trading config");
    let meta = JournalMeta { tape_data_crc32: tape.header().data_crc32, config_hash: 0 };
    let writer = JournalWriter::create(journal, tape.instruments(), meta, settings.journal_capacity).expect("journal");
    build_pipeline_with_models(tape.clone(), &settings, trading, writer, control.stop_flag(), models)
        .expect("valid limits and models")
}

/// A deterministic, allocation-free stand-in for a trained model: a function of two features.
/// As p(win): `0.5 + 0.45 · sin(time of day / 7 s)` (above and below `min_pwin` in turns); as
/// slippage: `3 · |L1 imbalance|` bps.
#[derive(Debug)]
pub struct Wave {
    inputs: ModelInputs,
    slippage: bool,
}

impl Wave {
    pub fn pwin() -> Box<dyn Scorer> {
        Box::new(Wave { inputs: Self::reads(), slippage: false })
    }

    pub fn slippage() -> Box<dyn Scorer> {
        Box::new(Wave { inputs: Self::reads(), slippage: true })
    }

    fn reads() -> ModelInputs {
        ModelInputs::unsigned(vec![idx::TIME_OF_DAY_S, idx::IMBALANCE_L1], vec![0.0, 0.0])
    }

    /// Both models.
    pub fn models() -> ModelSet {
        ModelSet::scorers(Some(Self::pwin()), Some(Self::slippage()))
    }
}

impl Scorer for Wave {
    fn score(&mut self, input: &[f32]) -> Result<f32, ModelFault> {
        let [t, imbalance] = input else { return Err(ModelFault::Error) };
        Ok(if self.slippage { 3.0 * imbalance.abs() } else { 0.5 + 0.45 * (t / 7.0).sin() })
    }

    fn inputs(&self) -> &ModelInputs {
        &self.inputs
    }

    fn version(&self) -> u64 {
        if self.slippage { 0x5117 } else { 0x9817 }
    }

    fn trade_stats(&self) -> Option<TradeStats> {
        Some(TradeStats { avg_win_bps: 12.0, avg_loss_bps: 9.0, cvar95_loss_bps: 25.0 })
    }
}
