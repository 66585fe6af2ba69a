//! A paper run: a tape replayed through the hot pipeline against the simulated exchange, written to a run
//! directory. This is the cold side's job around the hot one: build and check everything, start the
//! runners, wait, then write the journal's end, the latency files and the summary.
//!
//! A run directory holds:
//! - `journal.kj`: every decision, block, order, ack, fill, cancel, expiry and reject
//!   (`kestrel journal export` → CSV);
//! - `latency.hlog`: the histograms in the HdrHistogram interval-log format, one tagged interval per
//!   metric; `latency.json`: their percentiles;
//! - `summary.json`: counts, PnL, win rate, throughput, latency percentiles, back-pressure, and the
//!   models (live versions, calls, faults, swaps, call latency) when the run had any;
//! - `config.toml`: the configuration the run used, every default spelled out.

mod summary;

pub use crate::decide::ModelSet;
pub use summary::{InstrumentSummary, ModelRoleSummary, ModelsSummary, RunSummary};

use crate::config::{ConfigError, RawConfig, RunSettings, Trading, resolve_trading};
use crate::decide::model::ModelRole;
use crate::decide::{DecideStage, EntryStyle};
use crate::execute::{ExecuteStage, SimVenue};
use crate::features::FeatureStage;
use crate::ingest::TapeSource;
use crate::journal::{JournalError, JournalMeta, JournalWriter, Recovered};
use crate::latency::{write_hlog, write_json};
use crate::pipeline::{self, Pipeline, Plan, PlanError, RunControl, StopFlag, ThreadPanic};
use crate::risk::{RiskConfigError, RiskGate};
use crate::tape::Tape;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub const JOURNAL_FILE: &str = "journal.kj";

#[derive(Debug, thiserror::Error)]
pub enum PaperError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("topology: {0}")]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}: exists and is not empty; give a new --out directory (runs never overwrite each other)")]
    OutExists(PathBuf),
    #[error(transparent)]
    Thread(#[from] ThreadPanic),
    #[error("risk limits: {0}")]
    Risk(#[from] RiskConfigError),
    /// The run directory cannot be resumed with this tape and config, or the replay did not rebuild
    /// what the journal recorded.
    #[error("{dir}: cannot resume: {why}")]
    Resume { dir: PathBuf, why: String },
    /// The models given cannot run, or the config needs one that was not given.
    #[error("models: {0}")]
    Models(String),
}

impl From<BuildError> for PaperError {
    fn from(e: BuildError) -> Self {
        match e {
            BuildError::Risk(e) => PaperError::Risk(e),
            BuildError::Models(e) => PaperError::Models(e.to_string()),
        }
    }
}

/// Why [`build_pipeline_with_models`] could not build the stages.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("risk limits: {0}")]
    Risk(#[from] RiskConfigError),
    #[error(transparent)]
    Models(#[from] crate::decide::ModelRefused),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PaperError + '_ {
    move |source| PaperError::Io { path: path.to_path_buf(), source }
}

/// What to run.
#[derive(Debug)]
pub struct PaperRequest {
    pub tape: Arc<Tape>,
    /// A name for the tape in the summary (its path, or "bundled synthetic").
    pub tape_label: String,
    pub config: RawConfig,
    /// Where the config came from, for messages and the summary.
    pub config_origin: String,
    pub out_dir: PathBuf,
    /// Cores available to the process, read before anything was pinned.
    pub cores: usize,
    /// Wall-clock start, read by the caller (the engine does not read the wall clock); stamps the
    /// HdrHistogram log.
    pub started: SystemTime,
    /// Continue the run in `out_dir` (killed or stopped) instead of starting a new one: see [`resume`].
    pub resume: bool,
    /// The models decide starts with and the control ring that swaps them; the caller loads what
    /// `[models]` names (`RunSettings::models`). Default: none, the rule trades alone. Taken by
    /// [`prepare`].
    pub models: ModelSet,
}

/// A run checked and built, ready to start: every error that can be found before the first event
/// has been found.
#[derive(Debug)]
pub struct Prepared {
    request: PaperRequest,
    settings: RunSettings,
    plan: Plan,
    pipeline: Pipeline<TapeSource, SimVenue>,
    /// What the journal of the run being resumed holds.
    recovered: Option<Recovered>,
}

impl Prepared {
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn settings(&self) -> &RunSettings {
        &self.settings
    }

    pub fn events_total(&self) -> u64 {
        self.request.tape.len() as u64
    }

    pub fn instruments(&self) -> &[crate::types::InstrumentSpec] {
        self.request.tape.instruments()
    }

    /// The positions and working orders recovered from the journal, when resuming.
    pub fn recovered(&self) -> Option<&Recovered> {
        self.recovered.as_ref()
    }
}

/// Checks the config against the tape, plans the topology, creates the run directory and the
/// journal, and builds the stages.
pub fn prepare(mut request: PaperRequest, control: &Arc<RunControl>) -> Result<Prepared, PaperError> {
    let origin = request.config_origin.clone();
    let settings = RunSettings::from_raw(&request.config, &origin)?;
    let models = std::mem::take(&mut request.models);
    let instruments = request.tape.instruments();
    let trading = resolve_trading(&request.config, instruments, &origin)?;
    if matches!(trading.params.entry, EntryStyle::Auto { .. }) && !models.has(ModelRole::PWin) {
        return Err(PaperError::Models(format!(
            "{origin}: strategy.entry = \"auto\" chooses market or join by the p(win) model's expected value, but no \
             p(win) model was given; set models.pwin, or use entry = \"market\" or \"join\""
        )));
    }
    // Checked before anything is written: a model decide would refuse stops the run here.
    for role in ModelRole::ALL {
        if let Some(scorer) = &models.scorers[role.index()] {
            crate::decide::model::admit(role, scorer.as_ref()).map_err(|e| PaperError::Models(e.to_string()))?;
        }
    }
    // A resumed run replays from the first event on one thread (see `resume`).
    let topology = if request.resume { crate::pipeline::Topology::Fused } else { settings.topology };
    let plan = pipeline::plan(topology, settings.wait, request.cores, settings.pin_threads, settings.ring_capacity)?;

    let meta =
        JournalMeta { tape_data_crc32: request.tape.header().data_crc32, config_hash: decision_hash(&request.config) };
    let journal_path = request.out_dir.join(JOURNAL_FILE);
    let (journal, recovered) = if request.resume {
        // Checked before the writer opens it: a refused resume leaves the file as it was.
        let old = crate::journal::Journal::open_read_only(&journal_path)?;
        let refuse = |why: String| PaperError::Resume { dir: request.out_dir.clone(), why };
        if old.meta().tape_data_crc32 != meta.tape_data_crc32 || old.instruments() != instruments {
            return Err(refuse("the journal was written from another tape; give the run's own --tape".into()));
        }
        if old.meta().config_hash != meta.config_hash {
            return Err(refuse(
                "the config differs from the run's in what it trades (strategy, exchange, fees, risk, book \
                 depth); resume with the run directory's own config.toml"
                    .into(),
            ));
        }
        drop(old);
        let (writer, old) = JournalWriter::resume(&journal_path, settings.journal_capacity)?;
        (writer, Some(Recovered::from_records(old.records(), instruments.len())))
    } else {
        create_run_dir(&request.out_dir)?;
        let config_text = toml::to_string(&request.config).unwrap_or_default();
        let config_path = request.out_dir.join("config.toml");
        std::fs::write(&config_path, &config_text).map_err(io(&config_path))?;
        (JournalWriter::create(&journal_path, instruments, meta, settings.journal_capacity)?, None)
    };

    let pipeline =
        build_pipeline_with_models(request.tape.clone(), &settings, trading, journal, control.stop_flag(), models)?;
    Ok(Prepared { request, settings, plan, pipeline, recovered })
}

/// Resumes a run from its journal: the tape is replayed from its first event, deterministically,
/// and every record the replay writes is compared with the one the journal already holds
/// ([`JournalWriter::resume`]) until the replay reaches the journal's end. There the rebuilt state is
/// reconciled with the journal's own account ([`Recovered`]): positions (quantity, cost, realized
/// PnL, fees) and the orders working at the exchange must agree exactly. Only then does the run go
/// on, appending to the journal. So a run killed at any point and resumed writes the journal an
/// uninterrupted run would have.
///
/// Replay rather than a snapshot: the exchange's queues and the features' windows are rebuilt
/// exactly from the tape, at the engine's replay speed (millions of events a second).
fn resume(
    pipeline: Pipeline<TapeSource, SimVenue>,
    recovered: &Recovered,
    dir: &Path,
) -> Result<crate::pipeline::fused::Fused<TapeSource, SimVenue>, PaperError> {
    let mut pipeline = pipeline;
    pipeline.source.catch_up(recovered.last_event_seq.map_or(0, |s| s + 1));
    let mut fused = crate::pipeline::fused::Fused::new(pipeline);
    while fused.pipeline().journal.verifying() && fused.step() {}
    if let Some(e) = fused.journal_error() {
        return Err(PaperError::Resume { dir: dir.to_path_buf(), why: e.to_string() });
    }
    reconcile(fused.pipeline(), recovered)
        .map_err(|why| PaperError::Resume { dir: dir.to_path_buf(), why: format!("after the replay, {why}") })?;
    Ok(fused)
}

/// The rebuilt state against the journal's account.
fn reconcile(p: &Pipeline<TapeSource, SimVenue>, recovered: &Recovered) -> Result<(), String> {
    for (i, (stats, journal)) in p.execute.stats().iter().zip(&recovered.positions).enumerate() {
        let mut rebuilt = stats.position;
        // The journal's fold counts fills the same way; compare what defines the position.
        rebuilt.fills = journal.fills;
        if rebuilt != *journal {
            return Err(format!(
                "instrument {i}: the position is {} (cost {}, realized {}, fees {}) but the journal says {} (cost {}, \
                 realized {}, fees {})",
                stats.position.qty,
                stats.position.cost,
                stats.position.realized,
                stats.position.fees,
                journal.qty,
                journal.cost,
                journal.realized,
                journal.fees
            ));
        }
    }
    let exchange = p.execute.venue().exchange();
    for i in 0..recovered.positions.len() {
        for w in exchange.working(crate::types::InstrumentId(i as u16)) {
            let Some(j) = recovered.working.iter().find(|o| o.order_id == w.order_id) else {
                return Err(format!("order {} rests at the exchange but the journal has it finished", w.order_id));
            };
            if j.filled != w.filled {
                return Err(format!(
                    "order {} has {} filled at the exchange but {} in the journal",
                    w.order_id, w.filled.0, j.filled.0
                ));
            }
        }
    }
    Ok(())
}

/// The hot stages for a replay of `tape`: a tape source, features, the rule strategy with its risk
/// gate, the simulated exchange and the journal; no models. (Tests and benches build pipelines with
/// it too.)
pub fn build_pipeline(
    tape: Arc<Tape>,
    settings: &RunSettings,
    trading: Trading,
    journal: JournalWriter,
    stop: StopFlag,
) -> Result<Pipeline<TapeSource, SimVenue>, RiskConfigError> {
    build_pipeline_with_models(tape, settings, trading, journal, stop, ModelSet::default()).map_err(|e| match e {
        BuildError::Risk(e) => e,
        BuildError::Models(_) => unreachable!("no models, none refused"),
    })
}

/// [`build_pipeline`] with models for decide (see [`ModelSet`]).
pub fn build_pipeline_with_models(
    tape: Arc<Tape>,
    settings: &RunSettings,
    trading: Trading,
    journal: JournalWriter,
    stop: StopFlag,
    models: ModelSet,
) -> Result<Pipeline<TapeSource, SimVenue>, BuildError> {
    let specs = tape.instruments();
    let n = specs.len();
    let venue = SimVenue::new(specs, &trading.exchange);
    let mut gate = RiskGate::new(trading.risk)?;
    gate.set_state(trading.initial_state);
    Ok(Pipeline {
        features: FeatureStage::new(specs, &settings.features),
        decide: DecideStage::with_models(trading.params, gate, specs, models)?,
        execute: ExecuteStage::new(venue, n, trading.decision_latency),
        source: TapeSource::new(tape, settings.speed, stop),
        journal,
    })
}

/// Runs a prepared run to the end of the tape (or a stop request), then writes the run directory's
/// remaining files. `monitor` is called on this thread every few tens of ms (a progress bar).
pub fn run(
    prepared: Prepared,
    control: &Arc<RunControl>,
    monitor: &mut dyn FnMut(&RunControl),
) -> Result<RunSummary, PaperError> {
    let Prepared { request, settings, plan, pipeline, recovered } = prepared;
    let sw = crate::clock::Stopwatch::new();
    let t0 = sw.stamp();
    let finished = match &recovered {
        Some(r) => crate::pipeline::fused::run_from(resume(pipeline, r, &request.out_dir)?, &plan, control, monitor)?,
        None => pipeline::run(pipeline, &plan, control, monitor)?,
    };
    let elapsed = Duration::from_nanos(sw.since(t0));
    let journal_path = finished.journal.path().to_path_buf();
    let journal_summary = finished.journal.finish()?;
    if let Some(e) = finished.journal_error {
        return Err(e.into());
    }
    let dir = &request.out_dir;
    let hlog = dir.join("latency.hlog");
    let mut f = std::fs::File::create(&hlog).map_err(io(&hlog))?;
    write_hlog(&finished.latency, request.started, elapsed, &mut f).map_err(io(&hlog))?;
    let json = dir.join("latency.json");
    let mut f = std::fs::File::create(&json).map_err(io(&json))?;
    write_json(&finished.latency, &mut f).map_err(io(&json))?;

    let summary = RunSummary::build(summary::Inputs {
        request: &request,
        settings: &settings,
        plan: &plan,
        events: finished.events,
        elapsed,
        execute: &finished.execute,
        risk: finished.decide.gate(),
        report_errors: finished.decide.report_errors() + finished.execute.unbooked(),
        latency: &finished.latency,
        links: &finished.links,
        journal: &journal_summary,
        journal_path: &journal_path,
        dropped_levels: finished.features.market().dropped_levels(),
        profile_trades_dropped: finished.features.profile_trades_dropped(),
        stopped_early: finished.events < request.tape.len() as u64,
        resumed_after_records: recovered.as_ref().map(|r| r.records),
        models: finished.decide.models(),
    });
    let path = dir.join("summary.json");
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n";
    std::fs::write(&path, text).map_err(io(&path))?;
    Ok(summary)
}

/// A hash of the settings that decide what the journal holds: the strategy, the simulated exchange,
/// fees, risk limits, the book depth and the models. Topology, wait strategy, rings, pinning and speed change how fast a run goes, never what
/// it decides, so two runs that differ only in those have byte-identical journals, headers included.
///
/// The keys that came with the models (`[models]`, and `strategy.min_pwin`, `min_ev_bps`,
/// `join_fill_probability`, `cvar_budget`) count only when one differs from its default: a config
/// without models hashes as it did before them, so its runs can still be resumed.
fn decision_hash(config: &RawConfig) -> u64 {
    let s = &config.strategy;
    let d = crate::config::raw::StrategySection::default();
    let models_default = config.models == crate::config::raw::ModelsSection::default()
        && s.min_pwin == d.min_pwin
        && s.min_ev_bps == d.min_ev_bps
        && s.join_fill_probability == d.join_fill_probability
        && s.cvar_budget == d.cvar_budget;
    let text = if models_default {
        let semantic = (RuleKeys::of(s), &config.exchange, &config.fees, &config.risk, config.engine.book_levels);
        serde_json::to_string(&semantic).unwrap_or_default()
    } else {
        let semantic = (s, &config.exchange, &config.fees, &config.risk, config.engine.book_levels, &config.models);
        serde_json::to_string(&semantic).unwrap_or_default()
    };
    // Two CRC-32s over different seeds make a 64-bit fingerprint; this is for telling configs apart,
    // not for security.
    let mut h = crc32fast::Hasher::new_with_initial(0x4b53_5452);
    h.update(text.as_bytes());
    (u64::from(crc32fast::hash(text.as_bytes())) << 32) | u64::from(h.finalize())
}

/// Creates `dir` (and parents). An existing empty directory is fine; anything in it is not touched.
fn create_run_dir(dir: &Path) -> Result<(), PaperError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(PaperError::OutExists(dir.to_path_buf()));
        }
    }
    std::fs::create_dir_all(dir).map_err(io(dir))
}

/// `[strategy]` as it was before the models: serialises exactly as `StrategySection` did then.
#[derive(serde::Serialize)]
struct RuleKeys<'a> {
    kind: &'a str,
    symbols: &'a [String],
    imbalance_threshold: f64,
    order_qty: &'a str,
    max_position: &'a str,
    max_spread_ticks: i64,
    cooldown_ms: u64,
    max_in_flight: u32,
    entry: &'a str,
    join_ttl_ms: u64,
    take_profit_bps: u32,
    stop_loss_bps: u32,
    max_hold_ms: u64,
}

impl<'a> RuleKeys<'a> {
    fn of(s: &'a crate::config::raw::StrategySection) -> Self {
        RuleKeys {
            kind: &s.kind,
            symbols: &s.symbols,
            imbalance_threshold: s.imbalance_threshold,
            order_qty: &s.order_qty,
            max_position: &s.max_position,
            max_spread_ticks: s.max_spread_ticks,
            cooldown_ms: s.cooldown_ms,
            max_in_flight: s.max_in_flight,
            entry: &s.entry,
            join_ttl_ms: s.join_ttl_ms,
            take_profit_bps: s.take_profit_bps,
            stop_loss_bps: s.stop_loss_bps,
            max_hold_ms: s.max_hold_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_without_models_hashes_as_before_them() {
        // Before the models, the strategy section serialised as it does now without its four
        // trailing model keys: the text hashed for a config without models must be that text.
        let c = RawConfig::default();
        let now = serde_json::to_string(&c.strategy).unwrap();
        let tail = r#","min_pwin":0.55,"min_ev_bps":0.0,"join_fill_probability":0.35,"cvar_budget":"0"}"#;
        let before = now.strip_suffix(tail).map(|s| format!("{s}}}")).expect("the model keys come last");
        assert_eq!(serde_json::to_string(&RuleKeys::of(&c.strategy)).unwrap(), before);
        let base = decision_hash(&RawConfig::default());
        let mut c = RawConfig::default();
        c.models.pwin = "models/pwin.onnx".into();
        assert_ne!(decision_hash(&c), base, "other models: another hash");
        let mut c = RawConfig::default();
        c.strategy.min_pwin = 0.6;
        assert_ne!(decision_hash(&c), base);
        let mut c = RawConfig::default();
        c.engine.topology = "threaded".into();
        assert_eq!(decision_hash(&c), base, "how fast a run goes is not what it decides");
    }
}
