//! Models in the decide stage, end to end through the pipeline with hand-written scorers (the engine
//! does not know tract): the p(win) gate and what the journal keeps of each judged candidate (its
//! Features records hold exactly the event's features), fail-safe blocks for errors, bad outputs and
//! overruns with the run going on, market or join by expected value, the CVaR size, hot swaps through
//! the control ring (taking effect at the next event, the old model handed back, journaled, rolled
//! back) without losing an event, and how export and recovery read the new records.

use kestrel_engine::config::{RawConfig, RunSettings, resolve_trading};
use kestrel_engine::decide::model::{
    ModelCommand, ModelCounters, ModelFault, ModelInputs, ModelRole, ModelSet, Scorer, TradeStats, control_channel,
};
use kestrel_engine::event::MarketEvent;
use kestrel_engine::execute::SimVenue;
use kestrel_engine::features::{FEATURES, FeatureStage, FeatureVector, idx};
use kestrel_engine::ingest::TapeSource;
use kestrel_engine::journal::{
    BlockReason, EntryKind, FEATURES_PER_RECORD, FeaturesRecord, Journal, JournalMeta, JournalRecord, JournalWriter,
    Recovered, features_chunks, write_csv, write_features_csv,
};
use kestrel_engine::latency::Metric;
use kestrel_engine::paper::build_pipeline_with_models;
use kestrel_engine::pipeline::fused::Fused;
use kestrel_engine::pipeline::{self, Pipeline, RunControl, Stage, Topology, WaitStrategy};
use kestrel_engine::tape::{DEFAULT_INSTRUMENT_CAPACITY, Quote, Tape, TapeWriter};
use kestrel_engine::types::{InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// 2024-08-08 12:00 UTC.
const NOON: u64 = 1_723_118_400_000_000_000;
const MS: u64 = 1_000_000;
const CHUNKS: usize = features_chunks(idx::COUNT);

// ---------------------------------------------------------------------------------------------
// Scorers

/// Returns `out` for every row; reads every feature (NaN → 0).
#[derive(Debug)]
struct Fixed {
    out: Result<f32, ModelFault>,
    version: u64,
    inputs: ModelInputs,
    stats: Option<TradeStats>,
    /// Sleeps this long per call (to overrun a deadline).
    sleep_us: u64,
    calls: Arc<AtomicU64>,
}

const STATS: TradeStats = TradeStats { avg_win_bps: 20.0, avg_loss_bps: 5.0, cvar95_loss_bps: 33.0 };

fn all_inputs() -> ModelInputs {
    ModelInputs::unsigned((0..idx::COUNT).collect(), vec![0.0; idx::COUNT])
}

fn fixed(out: Result<f32, ModelFault>, version: u64) -> Fixed {
    Fixed { out, version, inputs: all_inputs(), stats: Some(STATS), sleep_us: 0, calls: Arc::default() }
}

fn pwin(p: f32, version: u64) -> Box<dyn Scorer> {
    Box::new(fixed(Ok(p), version))
}

impl Scorer for Fixed {
    fn score(&mut self, input: &[f32]) -> Result<f32, ModelFault> {
        assert_eq!(input.len(), self.inputs.len());
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.sleep_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(self.sleep_us));
        }
        self.out
    }
    fn inputs(&self) -> &ModelInputs {
        &self.inputs
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn trade_stats(&self) -> Option<TradeStats> {
        self.stats
    }
}

// ---------------------------------------------------------------------------------------------
// A tape and pipelines

fn spec() -> InstrumentSpec {
    InstrumentSpec {
        symbol: "BTCUSDT".into(),
        venue: "TEST".into(),
        price_scale: 2,
        qty_scale: 3,
        tick: Price(1),
        lot: Qty(1),
    }
}

/// Quotes every `step_ms` at 60000.00 / 60000.01, the touch sizes leaning to the bid and the ask by
/// turns (|imbalance| 0.82: the rule wants to trade on every one its cooldown allows).
fn tape(dir: &Path, name: &str, events: u64, step_ms: u64) -> Arc<Tape> {
    let path = dir.join(name);
    let mut w = TapeWriter::create(&path, DEFAULT_INSTRUMENT_CAPACITY).unwrap();
    let id = w.add_instrument(&spec()).unwrap();
    for i in 0..events {
        let ts = UnixNanos(NOON + i * step_ms * MS);
        let (bq, aq) = if (i / 4) % 2 == 0 { (10_000, 1_000) } else { (1_000, 10_000) };
        w.write(Quote::new(id, ts, ts, (Price(6_000_000), Qty(bq)), (Price(6_000_001), Qty(aq)))).unwrap();
    }
    w.finish().unwrap();
    Arc::new(Tape::open(&path).unwrap())
}

fn config() -> RawConfig {
    let mut c = RawConfig::default();
    c.strategy.cooldown_ms = 250;
    c
}

fn build(tape: &Arc<Tape>, cfg: &RawConfig, journal: &Path, models: ModelSet) -> Pipeline<TapeSource, SimVenue> {
    let writer = JournalWriter::create(journal, tape.instruments(), JournalMeta::default(), 1 << 16).unwrap();
    build_with(tape, cfg, writer, models)
}

fn build_with(
    tape: &Arc<Tape>,
    cfg: &RawConfig,
    writer: JournalWriter,
    models: ModelSet,
) -> Pipeline<TapeSource, SimVenue> {
    let settings = RunSettings::from_raw(cfg, "test").unwrap();
    let trading = resolve_trading(cfg, tape.instruments(), "test").unwrap();
    build_pipeline_with_models(tape.clone(), &settings, trading, writer, RunControl::new().stop_flag(), models).unwrap()
}

struct Run {
    journal: Journal,
    events: u64,
    counters: Arc<ModelCounters>,
    latency: kestrel_engine::latency::LatencyRecorder,
}

/// Fused, to the end of the tape.
fn run(tape: &Arc<Tape>, cfg: &RawConfig, dir: &Path, name: &str, models: ModelSet) -> Run {
    let path = dir.join(name);
    let mut fused = Fused::new(build(tape, cfg, &path, models));
    while fused.step() {}
    finish(fused, &path)
}

fn finish(fused: Fused<TapeSource, SimVenue>, path: &Path) -> Run {
    assert!(fused.journal_error().is_none());
    let events = fused.events();
    let f = fused.into_finished();
    let counters = f.decide.models().counters().clone();
    f.journal.finish().unwrap();
    Run { journal: Journal::open_read_only(path).unwrap(), events, counters, latency: f.latency }
}

/// The feature vector after each event, from a features stage of its own.
fn features_by_event(tape: &Arc<Tape>, cfg: &RawConfig) -> Vec<FeatureVector> {
    let settings = RunSettings::from_raw(cfg, "test").unwrap();
    let mut stage = FeatureStage::new(tape.instruments(), &settings.features);
    tape.records()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let e = MarketEvent { seq: i as u64, ts: r.header.ts_local, stamp: 0, record: *r };
            stage.on_event(&e).features.values
        })
        .collect()
}

/// Entry candidates (Decision or Blocked, purpose entry) with the index of their record.
fn entries(j: &Journal) -> Vec<(usize, JournalRecord)> {
    j.records()
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.kind(), Some(EntryKind::Decision | EntryKind::Blocked)) && r.aux == 1)
        .map(|(i, r)| (i, *r))
        .collect()
}

fn count(j: &Journal, kind: EntryKind) -> usize {
    j.records().iter().filter(|r| r.kind() == Some(kind)).count()
}

fn blocked(r: &JournalRecord) -> Option<BlockReason> {
    (r.kind() == Some(EntryKind::Blocked)).then(|| BlockReason::from_u8(r.reason).unwrap())
}

/// The values of the Features records after record `at`: p(win), slippage, features.
fn features_after(j: &Journal, at: usize) -> Vec<f32> {
    let recs = &j.records()[at + 1..at + 1 + CHUNKS];
    let mut out = Vec::new();
    for (k, r) in recs.iter().enumerate() {
        assert_eq!(r.kind(), Some(EntryKind::Features), "record {} after the candidate", k + 1);
        let f = FeaturesRecord::from_record(r);
        assert_eq!((usize::from(f.chunk), usize::from(f.chunks)), (k, CHUNKS));
        assert_eq!(f.event_seq, j.records()[at].event_seq);
        out.extend_from_slice(&f.values);
    }
    out.truncate(idx::COUNT + 2);
    out
}

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn swaps(j: &Journal) -> Vec<(u64, ModelRole, u64, u64)> {
    j.records()
        .iter()
        .filter(|r| r.kind() == Some(EntryKind::ModelSwap))
        .map(|r| (r.event_seq, ModelRole::ALL[usize::from(r.aux)], r.order_id, r.value as u64))
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn below_min_pwin_is_blocked_and_the_features_the_models_saw_are_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 600, 100);
    let cfg = config();
    let seen = features_by_event(&tape, &cfg);

    let r = run(&tape, &cfg, dir.path(), "low.kj", ModelSet::scorers(Some(pwin(0.4, 7)), None));
    assert_eq!(r.events, 600);
    let cands = entries(&r.journal);
    assert!(cands.len() > 100, "the rule must want to trade: {} candidates", cands.len());
    assert_eq!(count(&r.journal, EntryKind::Order), 0, "no order below min_pwin");
    for (at, c) in &cands {
        assert_eq!(blocked(c), Some(BlockReason::BelowPWin), "record {at}");
        let v = features_after(&r.journal, *at);
        assert!(same(v[0], 0.4), "p(win) journaled: {}", v[0]);
        assert!(v[1].is_nan(), "no slippage model: NaN");
        let want = seen[c.event_seq as usize];
        for (i, (&got, &w)) in v[2..].iter().zip(&want.0).enumerate() {
            assert!(same(got, w as f32), "event {} feature {}: {got} vs {w}", c.event_seq, FEATURES[i].name);
        }
        assert!(v[2..].iter().any(|x| x.is_finite()), "the features are defined by now");
    }
    assert_eq!(count(&r.journal, EntryKind::Features), cands.len() * CHUNKS);
    let calls = ModelCounters::get(&r.counters.calls[0]);
    assert_eq!(calls, cands.len() as u64, "one p(win) call per judged candidate");
    assert_eq!(r.latency.histogram(Metric::ModelPWin).len(), calls, "every call timed");
    assert_eq!(swaps(&r.journal), vec![(0, ModelRole::PWin, 7, 0)], "the starting model is named at event 0");

    // Above the threshold the same candidates trade, and still carry their features.
    let r = run(&tape, &cfg, dir.path(), "high.kj", ModelSet::scorers(Some(pwin(0.9, 7)), None));
    let cands = entries(&r.journal);
    assert!(count(&r.journal, EntryKind::Order) > 50);
    assert!(cands.iter().all(|(_, c)| !matches!(blocked(c), Some(BlockReason::BelowPWin))));
    for (at, c) in cands.iter().filter(|(_, c)| c.kind() == Some(EntryKind::Decision)) {
        let v = features_after(&r.journal, *at);
        assert!(same(v[0], 0.9));
        // The order follows the features.
        let next = &r.journal.records()[at + 1 + CHUNKS];
        assert_eq!((next.kind(), next.event_seq), (Some(EntryKind::Order), c.event_seq));
    }
}

#[test]
fn without_a_model_the_journal_has_no_model_records() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 300, 100);
    let r = run(&tape, &config(), dir.path(), "rule.kj", ModelSet::default());
    assert!(count(&r.journal, EntryKind::Order) > 20);
    assert_eq!(count(&r.journal, EntryKind::Features) + count(&r.journal, EntryKind::ModelSwap), 0);
    assert!(r.latency.histogram(Metric::ModelPWin).is_empty());
}

#[test]
fn failing_models_fail_safe_with_their_reason_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 400, 100);
    let cfg = config();
    for (name, out, reason) in [
        ("error", Err(ModelFault::Error), BlockReason::ModelError),
        ("nan", Ok(f32::NAN), BlockReason::ModelBadOutput),
        ("above_one", Ok(1.5), BlockReason::ModelBadOutput),
    ] {
        let models = ModelSet::scorers(Some(Box::new(fixed(out, 3))), None);
        let r = run(&tape, &cfg, dir.path(), &format!("{name}.kj"), models);
        assert_eq!(r.events, 400, "{name}: every event processed");
        assert_eq!(count(&r.journal, EntryKind::Order), 0, "{name}: no order");
        let cands = entries(&r.journal);
        assert!(cands.len() > 50);
        for (at, c) in &cands {
            assert_eq!(blocked(c), Some(reason), "{name}");
            let v = features_after(&r.journal, *at);
            assert!(v[0].is_nan() && v[1].is_nan(), "{name}: no usable answer journaled as NaN");
        }
        let faults = ModelCounters::get(&r.counters.faults[0]);
        assert_eq!(faults, cands.len() as u64, "{name}");
    }

    // A failing slippage model blocks too, with the p(win) it did get.
    let models = ModelSet::scorers(Some(pwin(0.9, 1)), Some(Box::new(fixed(Ok(f32::INFINITY), 2))));
    let r = run(&tape, &cfg, dir.path(), "slip.kj", models);
    let cands = entries(&r.journal);
    assert!(cands.iter().all(|(_, c)| blocked(c) == Some(BlockReason::ModelBadOutput)));
    assert!(same(features_after(&r.journal, cands[0].0)[0], 0.9));
    assert_eq!(ModelCounters::get(&r.counters.bad_outputs[1]), cands.len() as u64);
}

#[test]
fn a_call_past_the_deadline_is_an_overrun() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 60, 100);
    let mut cfg = config();
    cfg.models.deadline_us = 1;
    // A call that sleeps a millisecond cannot return within a microsecond.
    let slow = Fixed { sleep_us: 1_000, ..fixed(Ok(0.99), 5) };
    let r = run(&tape, &cfg, dir.path(), "slow.kj", ModelSet::scorers(Some(Box::new(slow)), None));
    let cands = entries(&r.journal);
    assert!(!cands.is_empty());
    assert!(cands.iter().all(|(_, c)| blocked(c) == Some(BlockReason::ModelOverrun)));
    assert_eq!(ModelCounters::get(&r.counters.overruns[0]), cands.len() as u64);
    assert_eq!(count(&r.journal, EntryKind::Order), 0);
}

/// The order type (1 market, 2 limit) of every order, and the entries' verdicts.
fn orders_and_verdicts(r: &Run) -> (Vec<u8>, Vec<Option<BlockReason>>) {
    let orders = r.journal.records().iter().filter(|x| x.kind() == Some(EntryKind::Order) && x.aux == 1);
    (orders.map(|o| o.order_type).collect(), entries(&r.journal).iter().map(|(_, c)| blocked(c)).collect())
}

#[test]
fn auto_picks_market_or_join_by_expected_value_and_gates_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 200, 100);
    let mut cfg = config();
    cfg.strategy.entry = "auto".into();
    // Half spread 0.01 / 60000.005 / 2 = 0.0008 bps; fees maker 2, taker 5 (defaults).
    // p = 0.9, stats 20 / 5: edge 17.5 → market 17.5 − 0.0008 − 5 = 12.50 > join 0.35 · 15.50 = 5.43.
    let r = run(&tape, &cfg, dir.path(), "m.kj", ModelSet::scorers(Some(pwin(0.9, 1)), None));
    let (types, _) = orders_and_verdicts(&r);
    assert!(!types.is_empty() && types.iter().all(|&t| t == 1), "market: {types:?}");
    // Slippage predicted at 40 bps: market 17.5 − 40 − 5 < 0, join 5.43: joins.
    let models = ModelSet::scorers(Some(pwin(0.9, 1)), Some(Box::new(fixed(Ok(40.0), 2))));
    let r = run(&tape, &cfg, dir.path(), "j.kj", models);
    let (types, _) = orders_and_verdicts(&r);
    assert!(!types.is_empty() && types.iter().all(|&t| t == 2), "join: {types:?}");
    let first = entries(&r.journal)[0].0;
    assert!(same(features_after(&r.journal, first)[1], 40.0), "the slippage journaled");
    // p = 0.6: edge 12 − 2 = 10; with 40 bps of slippage market is −35, join 0.35 · 8.0008 = 2.80:
    // a min_ev of 3 bps blocks every candidate.
    cfg.strategy.min_ev_bps = 3.0;
    let models = ModelSet::scorers(Some(pwin(0.6, 1)), Some(Box::new(fixed(Ok(40.0), 2))));
    let r = run(&tape, &cfg, dir.path(), "neg.kj", models);
    let (types, verdicts) = orders_and_verdicts(&r);
    assert!(types.is_empty() && !verdicts.is_empty());
    assert!(verdicts.iter().all(|v| *v == Some(BlockReason::NegativeEv)), "{verdicts:?}");
    // A fixed market style at p = 0.9 with 40 bps of slippage: EV negative, blocked, never joined.
    cfg.strategy.entry = "market".into();
    cfg.strategy.min_ev_bps = 0.0;
    let models = ModelSet::scorers(Some(pwin(0.9, 1)), Some(Box::new(fixed(Ok(40.0), 2))));
    let r = run(&tape, &cfg, dir.path(), "fixed.kj", models);
    let (types, verdicts) = orders_and_verdicts(&r);
    assert!(types.is_empty() && verdicts.iter().all(|v| *v == Some(BlockReason::NegativeEv)));
}

#[test]
fn the_cvar_budget_sizes_entries_in_whole_lots() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 200, 100);
    let mut cfg = config();
    // Market (EV 17.5 − 2 − 5 = 10.5). Loss at the CVaR: 33 (stats) + 2 (slippage model) + 5 (taker)
    // = 40 bps of the mid 60000.005: 0.24 USDT per 0.001 BTC; a budget of 1 USDT covers 4.17 → 4.
    cfg.strategy.cvar_budget = "1".into();
    let models = ModelSet::scorers(Some(pwin(0.9, 1)), Some(Box::new(fixed(Ok(2.0), 2))));
    let r = run(&tape, &cfg, dir.path(), "cvar.kj", models);
    let decided: Vec<_> =
        entries(&r.journal).into_iter().filter(|(_, c)| c.kind() == Some(EntryKind::Decision)).collect();
    assert!(!decided.is_empty());
    assert!(
        decided.iter().all(|(_, c)| c.qty == Qty(4)),
        "{:?}",
        decided.iter().map(|(_, c)| c.qty).collect::<Vec<_>>()
    );
    let orders = r.journal.records().iter().filter(|x| x.kind() == Some(EntryKind::Order) && x.aux == 1);
    assert!(orders.clone().count() > 0 && orders.clone().all(|o| o.qty == Qty(4)));
    // A budget too small for one unit: below_min_size.
    cfg.strategy.cvar_budget = "0.2".into();
    let models = ModelSet::scorers(Some(pwin(0.9, 1)), Some(Box::new(fixed(Ok(2.0), 2))));
    let r = run(&tape, &cfg, dir.path(), "small.kj", models);
    let cands = entries(&r.journal);
    assert!(!cands.is_empty() && cands.iter().all(|(_, c)| blocked(c) == Some(BlockReason::BelowMinSize)));
}

/// Steps `n` events.
fn step(fused: &mut Fused<TapeSource, SimVenue>, n: u64) {
    for _ in 0..n {
        assert!(fused.step());
    }
}

#[test]
fn an_install_takes_effect_at_the_next_event_and_the_old_model_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 300, 100);
    let (mut cold, hot) = control_channel(4);
    let path = dir.path().join("swap.kj");
    let models = ModelSet { scorers: [Some(pwin(0.4, 0xA)), None], control: Some(hot) };
    let mut fused = Fused::new(build(&tape, &config(), &path, models));
    step(&mut fused, 100);
    assert!(cold.retired.pop().is_err(), "nothing retired yet");
    // Event 100 sees the new model; the old one comes back.
    assert!(cold.commands.push(ModelCommand::Install { role: ModelRole::PWin, scorer: pwin(0.9, 0xB) }).is_ok());
    step(&mut fused, 1);
    let old = cold.retired.pop().expect("the replaced model is handed back");
    assert_eq!(old.version(), 0xA);
    assert_eq!(ModelCounters::get(&cold.counters.live_version[0]), 0xB);
    step(&mut fused, 99);
    // Rollback: the previous model again, at event 200.
    assert!(cold.commands.push(ModelCommand::Install { role: ModelRole::PWin, scorer: old }).is_ok());
    step(&mut fused, 1);
    assert_eq!(cold.retired.pop().unwrap().version(), 0xB);
    while fused.step() {}
    let r = finish(fused, &path);
    assert_eq!(r.events, 300, "no event lost across the swaps");
    assert_eq!(
        swaps(&r.journal),
        vec![(0, ModelRole::PWin, 0xA, 0), (100, ModelRole::PWin, 0xB, 0xA), (200, ModelRole::PWin, 0xA, 0xB)]
    );
    // The swap record comes first in its event.
    let first_of_100 = r.journal.records().iter().find(|x| x.event_seq >= 100).unwrap();
    assert_eq!(first_of_100.kind(), Some(EntryKind::ModelSwap));
    for (_, c) in entries(&r.journal) {
        let low = c.event_seq < 100 || c.event_seq >= 200;
        assert_eq!(blocked(&c) == Some(BlockReason::BelowPWin), low, "event {}: {:?}", c.event_seq, blocked(&c));
    }
    assert_eq!(ModelCounters::get(&r.counters.swaps[0]), 2);
    assert_eq!(ModelCounters::get(&r.counters.applied), 2);
}

#[test]
fn remove_and_refused_installs_fail_safe() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 300, 100);
    let (mut cold, hot) = control_channel(4);
    let path = dir.path().join("rm.kj");
    let models = ModelSet { scorers: [Some(pwin(0.9, 1)), None], control: Some(hot) };
    let mut fused = Fused::new(build(&tape, &config(), &path, models));
    step(&mut fused, 100);
    // A p(win) model without trade statistics is refused: it comes straight back, the live one stays.
    let bare = Fixed { stats: None, ..fixed(Ok(0.9), 2) };
    assert!(cold.commands.push(ModelCommand::Install { role: ModelRole::PWin, scorer: Box::new(bare) }).is_ok());
    step(&mut fused, 1);
    assert_eq!(cold.retired.pop().unwrap().version(), 2);
    assert_eq!(ModelCounters::get(&cold.counters.refused[0]), 1);
    assert_eq!(ModelCounters::get(&cold.counters.live_version[0]), 1);
    step(&mut fused, 99);
    // Removed: every entry from event 200 on is blocked as model_error.
    assert!(cold.commands.push(ModelCommand::Remove { role: ModelRole::PWin }).is_ok());
    step(&mut fused, 1);
    assert_eq!(cold.retired.pop().unwrap().version(), 1);
    while fused.step() {}
    let r = finish(fused, &path);
    assert_eq!(swaps(&r.journal), vec![(0, ModelRole::PWin, 1, 0), (200, ModelRole::PWin, 0, 1)]);
    let cands = entries(&r.journal);
    for (at, c) in &cands {
        if c.event_seq >= 200 {
            assert_eq!(blocked(c), Some(BlockReason::ModelError), "event {}", c.event_seq);
            assert!(features_after(&r.journal, *at)[0].is_nan());
        } else {
            assert_ne!(blocked(c), Some(BlockReason::ModelError));
        }
    }
    assert!(cands.iter().any(|(_, c)| c.event_seq >= 200));
}

#[test]
fn a_model_without_trade_statistics_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 10, 100);
    let cfg = config();
    let settings = RunSettings::from_raw(&cfg, "test").unwrap();
    let trading = resolve_trading(&cfg, tape.instruments(), "test").unwrap();
    let writer =
        JournalWriter::create(dir.path().join("j.kj"), tape.instruments(), JournalMeta::default(), 1024).unwrap();
    let bare = Fixed { stats: None, ..fixed(Ok(0.9), 0x2a) };
    let models = ModelSet::scorers(Some(Box::new(bare)), None);
    let err =
        build_pipeline_with_models(tape.clone(), &settings, trading, writer, RunControl::new().stop_flag(), models)
            .unwrap_err()
            .to_string();
    assert!(err.contains("pwin") && err.contains("trade statistics"), "{err}");
}

#[test]
fn swaps_under_a_threaded_run_lose_no_event_and_chain_their_versions() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 20_000, 10);
    let (mut cold, hot) = control_channel(8);
    // Set for the whole run: every event's decide time is filed under decide_in_swap too.
    cold.swap_window.store(true, Ordering::Relaxed);
    // One install before the start is sure to be applied (at event 0); the rest race the run.
    assert!(cold.commands.push(ModelCommand::Install { role: ModelRole::PWin, scorer: pwin(0.9, 2) }).is_ok());
    let path = dir.path().join("threaded.kj");
    let models = ModelSet { scorers: [Some(pwin(0.9, 1)), None], control: Some(hot) };
    let pipeline = build(&tape, &config(), &path, models);
    let done = Arc::new(AtomicBool::new(false));
    let counters = cold.counters.clone();
    let stop = done.clone();
    let swapper = std::thread::spawn(move || {
        let (mut sent, mut back, mut version) = (1u64, 0u64, 3u64);
        while !stop.load(Ordering::Relaxed) {
            if cold.commands.push(ModelCommand::Install { role: ModelRole::PWin, scorer: pwin(0.9, version) }).is_ok() {
                sent += 1;
                version += 1;
            }
            while cold.retired.pop().is_ok() {
                back += 1;
            }
            std::thread::yield_now();
        }
        (cold, sent, back)
    });
    let wait = WaitStrategy::SpinYield { spin_ns: 2000 };
    let plan = pipeline::plan(Topology::Threaded, Some(wait), 2, false, 64).unwrap();
    let control = RunControl::new();
    let finished = pipeline::run(pipeline, &plan, &control, &mut |_| {}).unwrap();
    done.store(true, Ordering::Relaxed);
    let (mut cold, _sent, mut back) = swapper.join().unwrap();
    while cold.retired.pop().is_ok() {
        back += 1;
    }
    assert_eq!(finished.events, 20_000, "every event through");
    let in_swap = finished.latency.histogram(Metric::DecideInSwap).len();
    assert_eq!(in_swap, finished.latency.histogram(Metric::Decide).len(), "every event inside the window");
    finished.journal.finish().unwrap();
    let journal = Journal::open_read_only(&path).unwrap();
    let s = swaps(&journal);
    assert!(s.len() >= 2, "the starting model and the first install: {s:?}");
    assert_eq!(s[1], (0, ModelRole::PWin, 2, 1));
    // Each swap replaced the model the one before installed; every replaced model came back.
    for w in s.windows(2) {
        assert_eq!(w[1].3, w[0].2, "{w:?}");
        assert!(w[1].0 >= w[0].0);
    }
    let applied = ModelCounters::get(&counters.applied);
    assert_eq!(applied as usize, s.len() - 1, "one record per applied command");
    assert_eq!(back, applied, "each install handed its predecessor back");
    // Every event's records are in order and the journal reads back whole.
    assert!(journal.records().windows(2).all(|w| w[0].event_seq <= w[1].event_seq));
}

// ---------------------------------------------------------------------------------------------
// Export, recovery and resume

#[test]
fn a_resumed_model_run_replays_its_records_and_other_models_diverge() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 300, 100);
    let cfg = config();
    let models = || ModelSet::scorers(Some(pwin(0.6, 9)), Some(Box::new(fixed(Ok(1.0), 10))));
    let path = dir.path().join("r.kj");
    let full = run(&tape, &cfg, dir.path(), "r.kj", models());
    assert!(count(&full.journal, EntryKind::Features) > 0);
    let bytes = std::fs::read(&path).unwrap();
    // Cut the journal inside a run of Features records, as a crash would leave it.
    let cut = full.journal.records().iter().rposition(|r| r.kind() == Some(EntryKind::Features)).unwrap() - 1;
    let data = kestrel_engine::journal::header::data_offset_for(1) as usize;
    std::fs::write(&path, &bytes[..data + cut * 64 + 20]).unwrap();

    // The same models: the replay writes what the journal holds, then goes on to the same end.
    let (writer, old) = JournalWriter::resume(&path, 1 << 16).unwrap();
    assert_eq!(old.len(), cut);
    let mut fused = Fused::new(build_with(&tape, &cfg, writer, models()));
    while fused.step() {}
    assert!(fused.journal_error().is_none(), "{:?}", fused.journal_error());
    fused.into_finished().journal.finish().unwrap();
    assert!(std::fs::read(&path).unwrap() == bytes, "the resumed journal is the uninterrupted one");

    // Another p(win) model: the first record (the model's version at event 0) already differs.
    let (writer, _) = JournalWriter::resume(&path, 1 << 16).unwrap();
    let other = ModelSet::scorers(Some(pwin(0.6, 11)), Some(Box::new(fixed(Ok(1.0), 10))));
    let mut fused = Fused::new(build_with(&tape, &cfg, writer, other));
    while fused.step() {}
    let err = fused.journal_error().expect("diverged").to_string();
    assert!(err.contains("record 0"), "{err}");
}

#[test]
fn export_recovery_and_the_reader_handle_the_model_records() {
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 300, 100);
    let models = ModelSet::scorers(Some(pwin(0.6, 9)), Some(Box::new(fixed(Ok(1.25), 10))));
    let r = run(&tape, &config(), dir.path(), "x.kj", models);
    let j = &r.journal;
    let cands = entries(j);

    // The features table: one row per judged candidate, every feature by name.
    let mut out = Vec::new();
    let rows = write_features_csv(j, &mut out).unwrap();
    assert_eq!(rows as usize, cands.len());
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.len(), 11 + idx::COUNT);
    assert_eq!(
        &header[..11],
        ["record", "event_seq", "ts_ns", "symbol", "side", "verdict", "reason", "px", "qty", "p_win", "slippage_bps"]
    );
    assert_eq!(header[11..], FEATURES.iter().map(|f| f.name).collect::<Vec<_>>()[..]);
    for ((at, c), line) in cands.iter().zip(lines) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{line}");
        assert_eq!(cells[0], at.to_string());
        assert_eq!(cells[1], c.event_seq.to_string());
        assert_eq!(cells[3], "BTCUSDT");
        let verdict = if c.kind() == Some(EntryKind::Decision) { "decision" } else { "blocked" };
        assert_eq!(cells[5], verdict);
        assert_eq!((cells[9], cells[10]), ("0.6", "1.25"));
    }

    // The journal CSV: features records are not rows; model swaps are.
    let mut out = Vec::new();
    let rows = write_csv(j, &mut out).unwrap();
    let features = count(j, EntryKind::Features);
    assert_eq!(rows as usize, j.len() - features);
    let text = String::from_utf8(out).unwrap();
    let swap_rows: Vec<&str> = text.lines().filter(|l| l.contains(",model_swap,")).collect();
    assert_eq!(swap_rows.len(), 2);
    assert!(swap_rows[0].starts_with("0,0,") && swap_rows[0].contains(",model_swap,,,pwin,9,"), "{}", swap_rows[0]);
    assert!(swap_rows[1].contains(",model_swap,,,slippage,10,"), "{}", swap_rows[1]);
    assert!(text.lines().all(|l| l.split(',').count() == 18), "every row has every column");

    // Recovery ignores them: the same positions and orders as from the journal without them.
    let without: Vec<JournalRecord> = j
        .records()
        .iter()
        .filter(|x| !matches!(x.kind(), Some(EntryKind::Features | EntryKind::ModelSwap)))
        .copied()
        .collect();
    let a = Recovered::from_records(j.records(), 1);
    let b = Recovered::from_records(&without, 1);
    assert_eq!((a.positions, a.working), (b.positions, b.working));
}

#[test]
fn the_reader_checks_features_records_and_keeps_a_torn_tail_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.kj");
    let mut w = JournalWriter::create(&path, &[spec()], JournalMeta::default(), 64).unwrap();
    let cand = JournalRecord {
        kind: EntryKind::Blocked as u8,
        reason: BlockReason::BelowPWin as u8,
        side: 1,
        aux: 1,
        event_seq: 5,
        instrument: InstrumentId(0),
        ..JournalRecord::default()
    };
    w.append(cand).unwrap();
    for k in 0..CHUNKS {
        let mut f = FeaturesRecord {
            kind: EntryKind::Features as u8,
            chunk: k as u8,
            chunks: CHUNKS as u8,
            event_seq: 5,
            ..Default::default()
        };
        f.values = [k as f32; FEATURES_PER_RECORD];
        w.append(f.to_record()).unwrap();
    }
    // Dropped unfinished: the preallocated zeros are a torn tail after the features records.
    drop(w);
    let j = Journal::open_read_only(&path).unwrap();
    assert_eq!(j.len(), 1 + CHUNKS);
    assert!(j.recovered_tail().is_some());
    let mut out = Vec::new();
    assert_eq!(write_features_csv(&j, &mut out).unwrap(), 1);

    // A sealed features record numbered outside its run is damage, named.
    let bad_path = dir.path().join("bad.kj");
    let mut w = JournalWriter::create(&bad_path, &[spec()], JournalMeta::default(), 8).unwrap();
    w.append(cand).unwrap();
    let f = FeaturesRecord { kind: EntryKind::Features as u8, chunk: 4, chunks: 4, event_seq: 5, ..Default::default() };
    w.append(f.to_record()).unwrap();
    w.finish().unwrap();
    let err = Journal::open_read_only(&bad_path).unwrap_err().to_string();
    assert!(err.contains("features record numbered 4 of 4"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// A paper run

/// A fused, unpinned paper run of `tape` into `out`.
fn request(tape: &Arc<Tape>, mut cfg: RawConfig, out: &Path, models: ModelSet) -> kestrel_engine::paper::PaperRequest {
    cfg.engine.pin_threads = false;
    cfg.engine.topology = "fused".into();
    kestrel_engine::paper::PaperRequest {
        tape: tape.clone(),
        tape_label: "test".into(),
        config: cfg,
        config_origin: "test.toml".into(),
        out_dir: out.to_path_buf(),
        cores: 2,
        started: std::time::SystemTime::UNIX_EPOCH,
        resume: false,
        models,
    }
}

#[test]
fn a_paper_run_reports_its_models_and_refuses_auto_without_one() {
    use kestrel_engine::paper;
    let dir = tempfile::tempdir().unwrap();
    let tape = tape(dir.path(), "t.tape", 300, 100);
    let control = RunControl::new();

    let mut cfg = config();
    cfg.strategy.entry = "auto".into();
    let err = paper::prepare(request(&tape, cfg.clone(), &dir.path().join("none"), ModelSet::default()), &control)
        .unwrap_err()
        .to_string();
    assert!(err.contains("strategy.entry") && err.contains("p(win)"), "{err}");
    assert!(!dir.path().join("none").exists(), "refused before anything is written");

    let models = ModelSet::scorers(Some(pwin(0.9, 0xABC)), Some(Box::new(fixed(Ok(f32::NAN), 0xDEF))));
    let out = dir.path().join("run");
    let prepared = paper::prepare(request(&tape, config(), &out, models), &control).unwrap();
    let summary = paper::run(prepared, &control, &mut |_| {}).unwrap();
    let m = summary.models.as_ref().expect("a models section");
    assert_eq!(m.pwin.live_version.as_deref(), Some("0x0000000000000abc"));
    assert!(m.pwin.calls > 0 && m.pwin.calls == m.slippage.calls);
    assert_eq!(m.slippage.faults["bad_output"], m.slippage.calls, "every slippage answer was NaN");
    assert_eq!(m.pwin.latency_ns.unwrap().count, m.pwin.calls);
    assert_eq!(summary.blocked_by_reason["model_bad_output"], m.slippage.calls);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("latency.json")).unwrap()).unwrap();
    assert_eq!(json["metrics"]["model_pwin"]["count"], m.pwin.calls);
    assert!(json["metrics"].get("decide_in_swap").is_none(), "no swap, no swap metric");
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(text.contains("\"models\"") && text.contains("\"blocked_by_reason\""));

    // Without models: no models section.
    let out = dir.path().join("rule");
    let prepared = paper::prepare(request(&tape, config(), &out, ModelSet::default()), &control).unwrap();
    let summary = paper::run(prepared, &control, &mut |_| {}).unwrap();
    assert!(summary.models.is_none());
    assert!(!std::fs::read_to_string(out.join("summary.json")).unwrap().contains("\"models\""));
}
