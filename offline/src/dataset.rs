//! Tapes → labelled candidates: what `kestrel train` learns from.
//!
//! Each tape is replayed record by record through the engine's own [`FeatureStage`] (the hot-loop
//! code, built from the config's `[features]` exactly as a paper run builds it, with the same
//! strategy-time stamping: tape local time that never goes backwards). At every event where the
//! engine's rule strategy would propose an entry, a [`Candidate`] is recorded. "Would propose" is
//! the decide stage's entry logic up to the checks that depend on the market alone
//! (`engine/src/decide/mod.rs`, `DecideStage::entry`):
//!
//! 1. the instrument's book is `tradable` and the strategy trades the instrument (`strategy.symbols`);
//! 2. [`RuleParams::signal`] gives a side (|L1 imbalance| ≥ `strategy.imbalance_threshold`);
//! 3. the instrument's cooldown (`strategy.cooldown_ms` since its previous proposal) has passed; the
//!    proposal restarts the cooldown, as in the engine, whether or not a later check refuses it;
//! 4. the spread is at most `strategy.max_spread_ticks` (a wider one is refused by the strategy and
//!    never reaches the models, so it is not a training example; counted in
//!    [`TapeInfo::spread_refused`]).
//!
//! The checks that depend on the strategy's own orders and positions (entries in flight, position
//! limit, the risk gate) are left out: they depend on what earlier trades did, not on the market,
//! and every candidate they let through looks like these.
//!
//! # What each candidate holds
//! - the instrument, the side, the decision time and the full feature vector (`f64`, NaN kept);
//! - **the label** ([`crate::label::triple_barrier`]) of a position opened at the mid at decision:
//!   its mid path (every change of the instrument's touch mid after the decision, and the mid at the
//!   time barrier), its volatility `sigma` and the cost. The barriers are `profit_mult · sigma` and
//!   `stop_mult · sigma` from the entry mid, each at least `min_bps`; the time barrier is `max_hold`
//!   (default `strategy.max_hold_ms`). `sigma` is the `vol_ewma_60s` feature (the standard deviation
//!   of one mid change's log-return) scaled to the holding horizon by the square root of the number
//!   of mid changes expected in it: `sigma = vol_ewma_60s · sqrt(rate · max_hold)`, `rate` being the
//!   instrument's mid changes per second, exponentially decayed over 60 s like the feature (NaN
//!   volatility counts as 0: the `min_bps` floor then sets both barriers). `cost_bps` is the
//!   instrument's taker fee (`[fees]`) and nothing else: no predicted slippage, which is the other
//!   model's job, and the engine subtracts it from the expected value separately;
//! - **the slippage label**: the cost, in bps of the mid at decision (positive = a cost; the half
//!   spread included), of a market order of `strategy.order_qty` that walks the book the feature
//!   stage sees at the first event at or after `decision + exchange.entry_latency_us` (the median of
//!   `exchange.latency_file` when one is given) where the instrument's book is settled. Like the
//!   simulated exchange (`SimBook::walk`), an instrument with L2 levels is walked level by level, one
//!   with only L1 quotes takes the touch and then `exchange.l1_extra_levels` virtual levels one tick
//!   apart with the touch's size; the replayed book is not consumed. Size beyond the visible book is
//!   priced at the last level reached (an optimistic bound; counted in [`TapeInfo::book_exhausted`]).
//!
//! A win is a profit-take, or a time exit whose return beats `cost_bps`; `ret_bps` is the gross return
//! at the touch (what the card's trade statistics average). A candidate whose label cannot be decided
//! (the tape ends before a barrier or the time barrier) is dropped and counted in
//! [`TapeInfo::undecided`]; one whose slippage could not be measured (no readable book before the tape
//! ends) in [`TapeInfo::unmeasured`].
//!
//! # Memory
//! A candidate's path is not copied: each instrument keeps one log of its mid changes, trimmed to what
//! the oldest open candidate still needs (at most `max_hold` of changes); a candidate is labelled as
//! soon as tape time passes its time barrier, and only its label is kept (the path too, with
//! [`DatasetOptions::keep_paths`]).

use crate::label::{Barriers, Label, triple_barrier};
use crate::runs::RunSource;
use kestrel_engine::book::{Level, MarketView};
use kestrel_engine::clock::{Clock, TapeClock};
use kestrel_engine::config::{ConfigError, RawConfig, RunSettings, resolve_trading};
use kestrel_engine::decide::RuleParams;
use kestrel_engine::event::MarketEvent;
use kestrel_engine::execute::sim::LatencyModel;
use kestrel_engine::features::micro::Decayed;
use kestrel_engine::features::{FeatureSettings, FeatureStage, FeatureVector, idx};
use kestrel_engine::journal::Side;
use kestrel_engine::pipeline::Stage;
use kestrel_engine::tape::{Record, Tape, TapeError, flags};
use kestrel_engine::types::{BookSide, InstrumentId, UnixNanos};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// Events between two progress reports.
pub const PROGRESS_EVERY: u64 = 65_536;

/// Time constant of the mid-change rate that scales `vol_ewma_60s` to the horizon (the feature's own).
const RATE_TAU_NS: u64 = 60_000_000_000;

/// The triple barrier's settings, as given on the command line; `max_hold_ns: None` takes the
/// strategy's `max_hold_ms`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelSettings {
    pub profit_mult: f64,
    pub stop_mult: f64,
    pub min_bps: f64,
    pub max_hold_ns: Option<u64>,
}

impl Default for LabelSettings {
    fn default() -> Self {
        LabelSettings { profit_mult: 2.0, stop_mult: 2.0, min_bps: 5.0, max_hold_ns: None }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DatasetOptions {
    pub labels: LabelSettings,
    /// Keep each candidate's mid path in [`Candidate::path`] (tests, research): memory then grows with
    /// candidates × changes per `max_hold`.
    pub keep_paths: bool,
}

/// Why no dataset could be built.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(transparent)]
    Tape(#[from] TapeError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A setting that cannot label anything.
    #[error("{0}")]
    Settings(String),
    /// More tapes or instruments than a candidate can name.
    #[error("{}: {msg}", path.display())]
    Input { path: PathBuf, msg: String },
}

/// One proposed entry with its labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Index into [`Dataset::tapes`].
    pub tape: u16,
    /// Index into that tape's instrument table (and [`TapeInfo::symbols`]).
    pub instrument: u16,
    pub side: Side,
    /// Decision time: the event's strategy time, Unix ns.
    pub ts_ns: u64,
    /// The touch mid at decision, in price units.
    pub mid: f64,
    /// The feature vector after the event (the engine's schema order), NaN where undefined.
    pub features: FeatureVector,
    /// The volatility the barriers were scaled with (log-return over the horizon; see the module docs).
    pub sigma: f64,
    /// The cost the label was net of (the taker fee), bps.
    pub cost_bps: f64,
    pub label: Label,
    /// Cost of a market entry of `order_qty` after the entry latency, bps of the mid at decision.
    pub slippage_bps: f64,
    /// The mid path the label was computed from (with [`DatasetOptions::keep_paths`]).
    pub path: Option<Vec<(u64, f64)>>,
}

impl Candidate {
    pub fn is_long(&self) -> bool {
        self.side == Side::Buy
    }
}

/// What a tape contributed.
#[derive(Clone, Debug, PartialEq)]
pub struct TapeInfo {
    pub path: PathBuf,
    /// The file name (how cards name the tape).
    pub file_name: String,
    /// The paper run whose candidates were replayed on this tape (`--run`); `None`: the rule's own.
    pub run: Option<PathBuf>,
    pub data_crc32: u32,
    /// The tape's instruments, by index.
    pub symbols: Vec<String>,
    pub events: u64,
    /// Strategy time of the first and last event (0 for an empty tape).
    pub first_ts_ns: u64,
    pub last_ts_ns: u64,
    /// Proposals that became candidates (labelled).
    pub candidates: usize,
    /// Proposals whose spread was over `strategy.max_spread_ticks`.
    pub spread_refused: u64,
    /// Proposals whose label could not be decided (the tape ended first): dropped.
    pub undecided: u64,
    /// Candidates whose order was larger than the visible book.
    pub book_exhausted: u64,
    /// Proposals whose slippage could not be measured (no readable book after the entry latency
    /// before the tape ended): dropped.
    pub unmeasured: u64,
}

/// The labelled candidates of one or more tapes, ordered by decision time (ties: tape order).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub tapes: Vec<TapeInfo>,
    pub candidates: Vec<Candidate>,
    /// The barriers every label used (`max_hold_ns` resolved).
    pub barriers: Barriers,
    /// The latency the slippage label was measured after, ns.
    pub entry_latency_ns: u64,
}

impl Dataset {
    pub fn symbol(&self, c: &Candidate) -> &str {
        self.tapes
            .get(usize::from(c.tape))
            .and_then(|t| t.symbols.get(usize::from(c.instrument)))
            .map_or("?", String::as_str)
    }

    /// First and last event time over every tape (0, 0 without events).
    pub fn window_ns(&self) -> (u64, u64) {
        let with_events = || self.tapes.iter().filter(|t| t.events > 0);
        let first = with_events().map(|t| t.first_ts_ns).min().unwrap_or(0);
        let last = with_events().map(|t| t.last_ts_ns).max().unwrap_or(0);
        (first, last)
    }
}

/// Progress of a build: the tape being replayed (index, of how many) and its events done / total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub tape: usize,
    pub tapes: usize,
    pub events: u64,
    pub total: u64,
}

/// One tape to replay, with the settings it is replayed with.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub tape: &'a Path,
    pub raw: &'a RawConfig,
    /// How messages name the config.
    pub origin: &'a str,
    /// A paper run's journaled candidates stand in for the rule's (see [`crate::runs`]).
    pub run: Option<&'a RunSource>,
}

/// Replays `tapes` (each verified first) with the settings of `raw` (named `origin` in messages) and
/// returns their labelled candidates. `progress` is called at the start and end of each tape and every
/// [`PROGRESS_EVERY`] events.
pub fn build(
    tapes: &[PathBuf],
    raw: &RawConfig,
    origin: &str,
    opts: &DatasetOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Dataset, DatasetError> {
    let sources: Vec<Source<'_>> = tapes.iter().map(|t| Source { tape: t, raw, origin, run: None }).collect();
    build_sources(&sources, opts, progress)
}

/// The barriers `raw` and the label settings give (checked).
fn barriers_for(raw: &RawConfig, origin: &str, l: &LabelSettings) -> Result<Barriers, DatasetError> {
    let max_hold_ns = l.max_hold_ns.unwrap_or(raw.strategy.max_hold_ms.saturating_mul(1_000_000));
    if max_hold_ns == 0 {
        return Err(DatasetError::Settings(format!(
            "{origin}: strategy.max_hold_ms is 0 (no time exit): give the labels' time barrier with --max-hold"
        )));
    }
    for (name, v) in [("--profit-mult", l.profit_mult), ("--stop-mult", l.stop_mult), ("--min-bps", l.min_bps)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(DatasetError::Settings(format!("{name} = {v}: must be a finite number ≥ 0")));
        }
    }
    if l.min_bps == 0.0 && (l.profit_mult == 0.0 || l.stop_mult == 0.0) {
        return Err(DatasetError::Settings(
            "a barrier at 0 bps (multiplier 0 and --min-bps 0) would end every label at once".into(),
        ));
    }
    Ok(Barriers { profit_mult: l.profit_mult, stop_mult: l.stop_mult, min_bps: l.min_bps, max_hold_ns })
}

/// Replays each source (tapes verified first; a run's own config and candidates where it is one)
/// and returns the labelled candidates of all of them. Every label must have the same barriers: a
/// run whose `strategy.max_hold_ms` differs from the others' needs `--max-hold`.
pub fn build_sources(
    sources: &[Source<'_>],
    opts: &DatasetOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Dataset, DatasetError> {
    if sources.len() > usize::from(u16::MAX) {
        return Err(DatasetError::Settings(format!("{} tapes: at most {} per run", sources.len(), u16::MAX)));
    }
    let mut barriers: Option<(Barriers, &str)> = None;
    for src in sources {
        let b = barriers_for(src.raw, src.origin, &opts.labels)?;
        match barriers {
            Some((first, origin)) if first.max_hold_ns != b.max_hold_ns => {
                return Err(DatasetError::Settings(format!(
                    "{origin} and {} hold for different times (strategy.max_hold_ms {} and {} ms): labels must share \
                     one time barrier; give it with --max-hold",
                    src.origin,
                    first.max_hold_ns / 1_000_000,
                    b.max_hold_ns / 1_000_000
                )));
            }
            Some(_) => {}
            None => barriers = Some((b, src.origin)),
        }
    }
    let barriers = match barriers {
        Some((b, _)) => b,
        None => barriers_for(&RawConfig::default(), "the defaults", &opts.labels)?,
    };
    let mut infos = Vec::with_capacity(sources.len());
    let mut candidates = Vec::new();
    let mut entry_latency_ns = 0;
    for (i, src) in sources.iter().enumerate() {
        let settings = RunSettings::from_raw(src.raw, src.origin)?;
        let tape = Tape::open(src.tape)?;
        tape.verify()?;
        let trading = resolve_trading(src.raw, tape.instruments(), src.origin)?;
        entry_latency_ns = match &trading.exchange.entry_latency {
            LatencyModel::Constant(ns) => *ns,
            LatencyModel::Empirical { sorted } => sorted.get(sorted.len() / 2).copied().unwrap_or(0),
        };
        let ctx = TapeContext {
            index: i as u16,
            tapes: sources.len(),
            params: &trading.params,
            features: &settings.features,
            barriers,
            entry_latency_ns,
            l1_extra_levels: trading.exchange.l1_extra_levels,
            keep_paths: opts.keep_paths,
            run: src.run,
        };
        let info = replay_tape(&tape, &ctx, &mut candidates, progress)?;
        infos.push(info);
    }
    // Stable: ties keep tape order, and within a tape decision order.
    candidates.sort_by_key(|c| c.ts_ns);
    Ok(Dataset { tapes: infos, candidates, barriers, entry_latency_ns })
}

struct TapeContext<'a> {
    index: u16,
    tapes: usize,
    params: &'a RuleParams,
    features: &'a FeatureSettings,
    barriers: Barriers,
    entry_latency_ns: u64,
    l1_extra_levels: u32,
    keep_paths: bool,
    run: Option<&'a RunSource>,
}

/// A candidate being labelled.
struct Draft {
    instrument: u16,
    side: Side,
    ts_ns: u64,
    mid: f64,
    /// bid + ask at decision, in price steps (twice the mid, exact).
    mid2: i128,
    features: FeatureVector,
    sigma: f64,
    cost_bps: f64,
    label: Option<Label>,
    slippage: Option<f64>,
    path: Option<Vec<(u64, f64)>>,
    /// Global index, in its instrument's log, of the first mid change after the decision.
    start: u64,
    deadline: u64,
    exhausted: bool,
}

/// One instrument's replay state.
struct InstrumentState {
    /// Mid changes (ts, mid) still needed by open candidates; `log[0]` has global index `base`.
    log: VecDeque<(u64, f64)>,
    base: u64,
    last_mid: Option<f64>,
    /// Mid changes, exponentially decayed over [`RATE_TAU_NS`].
    changes: Decayed<1>,
    /// Drafts (indices) not yet labelled, in decision order.
    open: VecDeque<usize>,
    last_candidate: Option<u64>,
    /// Between a level update without `END_OF_BATCH` (or a clear) and the end of its batch.
    in_batch: bool,
    price_unit: f64,
}

impl InstrumentState {
    fn next_index(&self) -> u64 {
        self.base + self.log.len() as u64
    }
}

fn replay_tape(
    tape: &Tape,
    ctx: &TapeContext<'_>,
    out: &mut Vec<Candidate>,
    progress: &mut dyn FnMut(Progress),
) -> Result<TapeInfo, DatasetError> {
    let specs = tape.instruments();
    if specs.len() > usize::from(u16::MAX) {
        return Err(DatasetError::Input { path: tape.path().to_path_buf(), msg: "too many instruments".into() });
    }
    let total = tape.len() as u64;
    let mut info = TapeInfo {
        path: tape.path().to_path_buf(),
        file_name: tape
            .path()
            .file_name()
            .map_or_else(|| tape.path().display().to_string(), |n| n.to_string_lossy().into_owned()),
        run: ctx.run.map(|r| r.dir.clone()),
        data_crc32: tape.header().data_crc32,
        symbols: specs.iter().map(|s| s.symbol.clone()).collect(),
        events: 0,
        first_ts_ns: 0,
        last_ts_ns: 0,
        candidates: 0,
        spread_refused: ctx.run.map_or(0, |r| r.spread_refused),
        undecided: 0,
        book_exhausted: 0,
        unmeasured: 0,
    };
    let report = |progress: &mut dyn FnMut(Progress), events| {
        progress(Progress { tape: usize::from(ctx.index), tapes: ctx.tapes, events, total })
    };
    report(progress, 0);
    let mut stage = FeatureStage::new(specs, ctx.features);
    let mut states: Vec<InstrumentState> = specs
        .iter()
        .map(|s| InstrumentState {
            log: VecDeque::new(),
            base: 0,
            last_mid: None,
            changes: Decayed::new(RATE_TAU_NS),
            open: VecDeque::new(),
            last_candidate: None,
            in_batch: false,
            price_unit: 10f64.powi(-i32::from(s.price_scale)),
        })
        .collect();
    let mut drafts: Vec<Draft> = Vec::new();
    // Drafts waiting for their slippage: (draft, instrument, time the order reaches the exchange).
    let mut pending: Vec<(usize, usize, u64)> = Vec::new();
    let mut scratch: Vec<(u64, f64)> = Vec::new();
    let mut clock = TapeClock::default();
    let max_hold = ctx.barriers.max_hold_ns;
    let horizon_s = max_hold as f64 / 1e9;
    let mut next_proposal = 0usize;

    for (seq, record) in tape.records().iter().enumerate() {
        let ts = clock.stamp_event(record.header.ts_local);
        if seq == 0 {
            info.first_ts_ns = ts.0;
        }
        info.last_ts_ns = ts.0;
        info.events += 1;
        if info.events.is_multiple_of(PROGRESS_EVERY) {
            report(progress, info.events);
        }
        // 1. Labels whose time barrier tape time has now passed: their paths are complete (every
        //    change at or before the barrier is logged).
        for st in states.iter_mut() {
            while let Some(&d) = st.open.front() {
                if drafts[d].deadline >= ts.0 {
                    break;
                }
                st.open.pop_front();
                finish_label(&mut drafts[d], st, &ctx.barriers, true, ctx.keep_paths, &mut scratch);
            }
            trim_log(st, &drafts);
        }

        // 2. The event through the engine's feature stage.
        let event = MarketEvent { seq: seq as u64, ts, stamp: 0, record: *record };
        let featured = stage.on_event(&event);
        let id = record.header.instrument;
        let Some(st) = states.get_mut(id.index()) else {
            continue;
        };
        match record.view() {
            Some(Record::Level(l)) => st.in_batch = !l.header.has(flags::END_OF_BATCH),
            Some(Record::Clear(_)) => st.in_batch = true,
            _ => {}
        }
        let f = &featured.features;
        let tradable = f.tradable && f.instrument == id;
        let mid2 = i128::from(f.bid_px.0) + i128::from(f.ask_px.0);
        let mid = mid2 as f64 * 0.5 * st.price_unit;
        if tradable && st.last_mid != Some(mid) {
            // The first mid is no change (as for the volatility feature).
            if st.last_mid.is_some() {
                st.changes.advance(ts);
                st.changes.add(0, 1.0);
            }
            st.last_mid = Some(mid);
            if !st.open.is_empty() {
                st.log.push_back((ts.0, mid));
            }
        }

        // 3. Slippage of the drafts whose order has reached the exchange by now.
        pending.retain(|&(d, inst, at)| {
            if at > ts.0 {
                return true;
            }
            // Kept while the book cannot be read yet.
            !measure_slippage(&mut drafts[d], stage.market(), &states[inst], inst, ctx)
        });

        // 4. A proposal at this event? The rule's, or the run's journaled candidate.
        let st = &mut states[id.index()];
        let side = match ctx.run {
            None => propose(ctx.params, f, id, ts, st, &mut info),
            Some(run) => journaled(run, &mut next_proposal, seq as u64, ts, id, &f.values)?,
        };
        let Some(side) = side else { continue };
        let vol = f.values.get(idx::VOL_EWMA_60S);
        st.changes.advance(ts);
        let rate = st.changes.get(0) / st.changes.tau_secs();
        let sigma = vol * (rate * horizon_s).sqrt();
        let limits = &ctx.params.instruments[id.index()];
        let d = drafts.len();
        drafts.push(Draft {
            instrument: id.0,
            side,
            ts_ns: ts.0,
            mid,
            mid2,
            features: f.values,
            sigma: if sigma.is_finite() { sigma } else { 0.0 },
            cost_bps: limits.taker_fee_millibps as f64 / 1000.0,
            label: None,
            slippage: None,
            path: None,
            start: st.next_index(),
            deadline: ts.0.saturating_add(max_hold),
            exhausted: false,
        });
        st.open.push_back(d);
        let at = ts.0.saturating_add(ctx.entry_latency_ns);
        // A zero latency: the book of this very event.
        if at > ts.0 || !measure_slippage(&mut drafts[d], stage.market(), &states[id.index()], id.index(), ctx) {
            pending.push((d, id.index(), at));
        }
    }
    if let Some(p) = ctx.run.and_then(|r| r.proposals.get(next_proposal)) {
        return Err(run_mismatch(
            ctx.run,
            format!("the journal has a candidate at event {}, past the tape's end", p.event_seq),
        ));
    }
    // The tape has ended: what is still open is labelled from the path it has (decided only when a
    // barrier was touched); slippage still pending is measured on the last book.
    for st in states.iter_mut() {
        while let Some(d) = st.open.pop_front() {
            finish_label(&mut drafts[d], st, &ctx.barriers, false, ctx.keep_paths, &mut scratch);
        }
    }
    for &(d, inst, _) in &pending {
        measure_slippage(&mut drafts[d], stage.market(), &states[inst], inst, ctx);
    }
    for d in drafts {
        match (d.label, d.slippage) {
            (Some(label), Some(slippage_bps)) => {
                info.candidates += 1;
                info.book_exhausted += u64::from(d.exhausted);
                out.push(Candidate {
                    tape: ctx.index,
                    instrument: d.instrument,
                    side: d.side,
                    ts_ns: d.ts_ns,
                    mid: d.mid,
                    features: d.features,
                    sigma: d.sigma,
                    cost_bps: d.cost_bps,
                    label,
                    slippage_bps,
                    path: d.path,
                });
            }
            (None, _) => info.undecided += 1,
            (Some(_), None) => info.unmeasured += 1,
        }
    }
    report(progress, info.events);
    Ok(info)
}

fn run_mismatch(run: Option<&RunSource>, what: String) -> DatasetError {
    let dir = run.map_or_else(PathBuf::new, |r| r.dir.clone());
    DatasetError::Input {
        path: dir,
        msg: format!(
            "{what}: the replay does not match the run (its tape or its config.toml [features] changed since); \
             train on it with the tape and config it ran with"
        ),
    }
}

/// The run's candidate at event `seq`, if it has one (checked against the replay: the instrument,
/// the time and, where the models saw them, the features).
fn journaled(
    run: &RunSource,
    next: &mut usize,
    seq: u64,
    ts: UnixNanos,
    id: InstrumentId,
    features: &FeatureVector,
) -> Result<Option<Side>, DatasetError> {
    let Some(p) = run.proposals.get(*next).filter(|p| p.event_seq <= seq) else { return Ok(None) };
    let at = |what: String| run_mismatch(Some(run), format!("event {}: {what}", p.event_seq));
    if p.event_seq < seq {
        return Err(at("the journal's candidates are out of order".into()));
    }
    *next += 1;
    if p.instrument != id.0 || p.ts_ns != ts.0 {
        return Err(at(format!(
            "the journal's candidate is on instrument {} at {} ns, the tape's event on instrument {} at {} ns",
            p.instrument, p.ts_ns, id.0, ts.0
        )));
    }
    if let Some(seen) = &p.seen {
        for (j, def) in kestrel_engine::features::FEATURES.iter().enumerate() {
            let (a, b) = (seen.get(j) as f32, features.get(j) as f32);
            if !(a == b || (a.is_nan() && b.is_nan())) {
                return Err(at(format!("{} was {a} when the models saw it, {b} in the replay", def.name)));
            }
        }
    }
    Ok(Some(p.side))
}

/// The decide stage's entry checks that depend on the market alone (see the module docs).
fn propose(
    params: &RuleParams,
    f: &kestrel_engine::event::Features,
    id: InstrumentId,
    now: UnixNanos,
    st: &mut InstrumentState,
    info: &mut TapeInfo,
) -> Option<Side> {
    let limits = params.instruments.get(id.index())?;
    if !f.tradable || !limits.trade || f.instrument != id {
        return None;
    }
    let side = params.signal(f)?;
    if st.last_candidate.is_some_and(|t| now.0 < t.saturating_add(params.cooldown_ns)) {
        return None;
    }
    st.last_candidate = Some(now.0);
    let spread = f.ask_px.0 - f.bid_px.0;
    if limits.tick.0 > 0 && spread > limits.tick.0.saturating_mul(params.max_spread_ticks) {
        info.spread_refused += 1;
        return None;
    }
    Some(side)
}

/// Labels `d` from its instrument's log. `complete`: tape time has passed the time barrier, so the
/// mid at the barrier is known and closes the path.
fn finish_label(
    d: &mut Draft,
    st: &InstrumentState,
    barriers: &Barriers,
    complete: bool,
    keep_path: bool,
    path: &mut Vec<(u64, f64)>,
) {
    path.clear();
    path.push((d.ts_ns, d.mid));
    let from = d.start.saturating_sub(st.base) as usize;
    let mut last = d.mid;
    for &(t, m) in st.log.iter().skip(from) {
        if t > d.deadline {
            break;
        }
        path.push((t, m));
        last = m;
    }
    if complete && path.last().is_some_and(|&(t, _)| t < d.deadline) {
        path.push((d.deadline, last));
    }
    d.label = triple_barrier(path, d.side == Side::Buy, d.sigma, barriers, d.cost_bps);
    if keep_path {
        d.path = Some(path.clone());
    }
}

/// Drops the log entries no open candidate needs.
fn trim_log(st: &mut InstrumentState, drafts: &[Draft]) {
    match st.open.front() {
        Some(&d) => {
            while st.base < drafts[d].start && st.log.pop_front().is_some() {
                st.base += 1;
            }
        }
        None => {
            st.base = st.next_index();
            st.log.clear();
        }
    }
}

/// Measures `d`'s slippage on the current book; `false` while the instrument's book cannot be read
/// (mid-batch, or no two-sided market).
fn measure_slippage(
    d: &mut Draft,
    view: &MarketView,
    st: &InstrumentState,
    inst: usize,
    ctx: &TapeContext<'_>,
) -> bool {
    match walk_cost(view, st, inst, d.side, d.mid2, ctx) {
        Some((bps, exhausted)) => {
            d.slippage = Some(bps);
            d.exhausted = exhausted;
            true
        }
        None => false,
    }
}

/// What a market order of the strategy's size pays on the current book, in bps of the mid at
/// decision (`mid2` = bid + ask then, in price steps; positive: a cost), and whether it was larger
/// than the visible book. `None` while the instrument's book cannot be read.
fn walk_cost(
    view: &MarketView,
    st: &InstrumentState,
    inst: usize,
    side: Side,
    mid2: i128,
    ctx: &TapeContext<'_>,
) -> Option<(f64, bool)> {
    let id = InstrumentId(inst as u16);
    if st.in_batch || mid2 <= 0 {
        return None;
    }
    let touch = view.touch(id)?;
    let limits = ctx.params.instruments.get(inst)?;
    let want = i128::from(limits.order_qty.0.max(1));
    let taking = match side {
        Side::Buy => BookSide::Ask,
        Side::Sell => BookSide::Bid,
    };
    let levels = view.levels(id, taking);
    let mut left = want;
    let mut notional: i128 = 0;
    let mut last_px: i128 = 0;
    let mut take = |l: Level| -> bool {
        if l.qty.0 <= 0 {
            return true;
        }
        let q = left.min(i128::from(l.qty.0));
        notional += q * i128::from(l.px.0);
        last_px = i128::from(l.px.0);
        left -= q;
        left > 0
    };
    if !levels.is_empty() {
        for &l in levels {
            if !take(l) {
                break;
            }
        }
    } else {
        let (first, step) = match side {
            Side::Buy => (touch.ask, limits.tick.0),
            Side::Sell => (touch.bid, -limits.tick.0),
        };
        for k in 0..=i64::from(ctx.l1_extra_levels) {
            let px = first.px.0.saturating_add(k.saturating_mul(step));
            if !take(Level { px: kestrel_engine::types::Price(px), qty: first.qty }) {
                break;
            }
        }
    }
    let exhausted = left > 0;
    if exhausted {
        notional += left * last_px;
    }
    // (2·vwap − (bid + ask)) / (bid + ask) = (vwap − mid) / mid, exact up to the final division.
    let excess = 2 * notional - mid2 * want;
    let signed = excess as f64 / (mid2 * want) as f64 * 1e4;
    Some((if side == Side::Buy { signed } else { -signed }, exhausted))
}

/// Where a tape's file name is shown: `NAME (crc32 0123abcd)`.
pub fn tape_label(info: &TapeInfo) -> String {
    match &info.run {
        None => format!("{} (data crc32 {:08x})", info.file_name, info.data_crc32),
        Some(run) => {
            format!("{} (data crc32 {:08x}), candidates of run {}", info.file_name, info.data_crc32, run.display())
        }
    }
}
