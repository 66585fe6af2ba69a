//! The models decide holds, one slot per [`ModelRole`], and what it does with them between and inside
//! events: applying the control ring's commands, gathering a model's row into a fixed buffer, timing
//! each call (and failing it safe past the deadline), counting, and judging an entry candidate
//! through [`super::policy`].
//!
//! Nothing here allocates per event: the row buffer is fixed, the latency histograms are sized at
//! start-up, a replaced model goes back on the `retired` ring to be freed on the cold side (a command
//! is only taken when the ring has room for what it gives back), and swap notes travel in the
//! [`Intent`](crate::event::Intent) by value.

use super::policy::{self, Costs, Inputs, Plan, StyleChoice};
use super::{
    MAX_INPUTS, ModelCommand, ModelControl, ModelCounters, ModelFault, ModelRole, SIDE_INPUT, Scorer, TradeStats,
};
use crate::clock::Stopwatch;
use crate::decide::rule::{EntryStyle, InstrumentLimits, RuleParams};
use crate::event::{Features, Judged, SwapNote, SwapNotes};
use crate::features::FeatureVector;
use crate::journal::BlockReason;
use crate::journal::Side;
use crate::latency::recorder::{new_histogram, record_into};
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The models a run starts with, and the control ring that swaps them (the `kestrel` command loads
/// them from `[models]`; tests build them by hand). `Default`: none, the rule trades alone.
#[derive(Debug, Default)]
pub struct ModelSet {
    /// Indexed by [`ModelRole::index`].
    pub scorers: [Option<Box<dyn Scorer>>; 2],
    pub control: Option<ModelControl>,
}

impl ModelSet {
    /// Just these scorers, no control ring.
    pub fn scorers(pwin: Option<Box<dyn Scorer>>, slippage: Option<Box<dyn Scorer>>) -> ModelSet {
        ModelSet { scorers: [pwin, slippage], control: None }
    }

    pub fn is_empty(&self) -> bool {
        self.scorers.iter().all(Option::is_none) && self.control.is_none()
    }

    pub fn has(&self, role: ModelRole) -> bool {
        self.scorers[role.index()].is_some()
    }
}

/// A model decide will not run.
#[derive(Debug, thiserror::Error)]
#[error("the {role} model (version {version:#018x}) {why}", role = role.as_str())]
pub struct ModelRefused {
    pub role: ModelRole,
    pub version: u64,
    pub why: &'static str,
}

/// The checks a model passes before it reaches a slot; for a p(win) model, its trade statistics.
pub fn admit(role: ModelRole, scorer: &dyn Scorer) -> Result<Option<TradeStats>, ModelRefused> {
    let refuse = |why| ModelRefused { role, version: scorer.version(), why };
    let inputs = scorer.inputs();
    if inputs.len() > MAX_INPUTS {
        return Err(refuse("takes more inputs than the feature vector has"));
    }
    if inputs.fill.len() != inputs.index.len() || inputs.signed.len() != inputs.index.len() {
        return Err(refuse("has a fill value or sign flag count that differs from its input count"));
    }
    if inputs.index.iter().any(|&i| i > SIDE_INPUT) {
        return Err(refuse("reads a feature outside the engine's feature vector"));
    }
    match role {
        ModelRole::Slippage => Ok(None),
        ModelRole::PWin => match scorer.trade_stats() {
            Some(s) if policy::stats_ok(&s) => Ok(Some(s)),
            Some(_) => Err(refuse("has trade statistics that are not finite and non-negative")),
            None => Err(refuse(
                "has no trade statistics (average win, average loss, CVaR 95 % in bps): decide needs them for \
                 the expected value and the size",
            )),
        },
    }
}

/// Decide's models: slots, control, counters and latency.
#[derive(Debug)]
pub struct Models {
    slots: [Option<Box<dyn Scorer>>; 2],
    /// The live p(win) model's trade statistics.
    stats: Option<TradeStats>,
    /// Roles the strategy relies on: set by a model at start-up or any install (refused ones too),
    /// and by `entry = "auto"`. An empty slot of such a role fails its candidates safe (ModelError).
    expected: [bool; 2],
    control: Option<ModelControl>,
    counters: Arc<ModelCounters>,
    /// The row of the model being called.
    row: [f32; MAX_INPUTS],
    /// Changes applied and not yet handed to execute (the starting models, then each command).
    notes: SwapNotes,
    /// Per role, the time of each call; `None` without models (no memory for a rule-only run).
    latency: Option<Box<[Histogram<u64>; 2]>>,
    stopwatch: Stopwatch,
    deadline_ns: u64,
}

impl Models {
    /// No models: the rule trades alone.
    pub fn none() -> Models {
        Models {
            slots: [None, None],
            stats: None,
            expected: [false; 2],
            control: None,
            counters: Arc::new(ModelCounters::default()),
            row: [0.0; MAX_INPUTS],
            notes: SwapNotes::default(),
            latency: None,
            stopwatch: Stopwatch::new(),
            deadline_ns: 0,
        }
    }

    /// Takes the starting models (each checked by [`admit`]) and the control ring. The first event's
    /// intent carries a swap note per starting model (old version 0), so a journal names the models
    /// that made its decisions from its first event on.
    pub fn new(set: ModelSet, params: &RuleParams) -> Result<Models, ModelRefused> {
        let mut m = Models::none();
        m.deadline_ns = params.decision.deadline_ns;
        m.expected[ModelRole::PWin.index()] = matches!(params.entry, EntryStyle::Auto { .. });
        if let Some(control) = &set.control {
            m.counters = control.counters.clone();
        }
        let ModelSet { scorers, control } = set;
        for (role, scorer) in ModelRole::ALL.into_iter().zip(scorers) {
            let Some(scorer) = scorer else { continue };
            let stats = admit(role, scorer.as_ref())?;
            if role == ModelRole::PWin {
                m.stats = stats;
            }
            let version = scorer.version();
            m.counters.live_version[role.index()].store(version, Ordering::Relaxed);
            m.notes.push(SwapNote { role, new_version: version, old_version: 0 });
            m.expected[role.index()] = true;
            m.slots[role.index()] = Some(scorer);
        }
        if m.slots.iter().any(Option::is_some) || control.is_some() || m.expected.iter().any(|&e| e) {
            m.latency = Some(Box::new([new_histogram(), new_histogram()]));
        }
        m.control = control;
        Ok(m)
    }

    /// Whether entries consult the models: a p(win) model is live, or expected (then an empty slot
    /// blocks every entry with ModelError).
    #[inline]
    pub fn gating(&self) -> bool {
        self.expected[ModelRole::PWin.index()]
    }

    /// Whether any model was ever part of this run (the summary reports them then).
    pub fn configured(&self) -> bool {
        self.latency.is_some()
    }

    pub fn counters(&self) -> &Arc<ModelCounters> {
        &self.counters
    }

    /// The live model of `role`, if any.
    pub fn scorer(&self, role: ModelRole) -> Option<&dyn Scorer> {
        self.slots[role.index()].as_deref()
    }

    /// Per role, the time of each call (`None` for a run without models).
    pub fn latency(&self) -> Option<&[Histogram<u64>; 2]> {
        self.latency.as_deref()
    }

    /// Set by the cold side while a swap is under way (see [`ModelControl::swap_window`]).
    #[inline]
    pub fn swap_window(&self) -> Option<&AtomicBool> {
        self.control.as_ref().map(|c| &*c.swap_window)
    }

    /// Applies pending control commands (start of an event, before anything else) and hands over
    /// the notes of what changed since the last event.
    #[inline]
    pub fn between_events(&mut self) -> SwapNotes {
        if self.control.is_some() {
            self.apply_commands();
        }
        self.notes.take()
    }

    fn apply_commands(&mut self) {
        let Some(mut control) = self.control.take() else { return };
        // Each command gives back at most one model: take one only when the ring can hold it, so no
        // model is ever dropped (freed) on this thread.
        while !self.notes.is_full() && control.retired.slots() > 0 {
            let Ok(command) = control.commands.pop() else { break };
            let back = match command {
                ModelCommand::Install { role, scorer } => self.install(role, scorer),
                ModelCommand::Remove { role } => self.remove(role),
            };
            if let Some(old) = back {
                // Cannot fail: a slot was free before the pop, and only this thread pushes.
                let _ = control.retired.push(old);
            }
            ModelCounters::bump(&self.counters.applied);
        }
        self.control = Some(control);
    }

    /// Installs `scorer` (or refuses it); returns the model to retire.
    fn install(&mut self, role: ModelRole, scorer: Box<dyn Scorer>) -> Option<Box<dyn Scorer>> {
        let i = role.index();
        self.expected[i] = true;
        let stats = match admit(role, scorer.as_ref()) {
            Ok(stats) => stats,
            Err(_) => {
                // The live model (if any) stays; without one the role's candidates fail safe.
                ModelCounters::bump(&self.counters.refused[i]);
                return Some(scorer);
            }
        };
        if role == ModelRole::PWin {
            self.stats = stats;
        }
        let new_version = scorer.version();
        let old = self.slots[i].replace(scorer);
        let old_version = old.as_ref().map_or(0, |s| s.version());
        self.note(SwapNote { role, new_version, old_version });
        old
    }

    fn remove(&mut self, role: ModelRole) -> Option<Box<dyn Scorer>> {
        let i = role.index();
        let old = self.slots[i].take();
        if role == ModelRole::PWin {
            self.stats = None;
        }
        let old_version = old.as_ref().map_or(0, |s| s.version());
        self.note(SwapNote { role, new_version: 0, old_version });
        old
    }

    fn note(&mut self, note: SwapNote) {
        let i = note.role.index();
        self.counters.live_version[i].store(note.new_version, Ordering::Relaxed);
        ModelCounters::bump(&self.counters.swaps[i]);
        // Room was checked before the command was taken.
        let _ = self.notes.push(note);
    }

    /// One call of `role`'s model on `features` for a candidate on `side`: `None` when the slot is
    /// empty. Times the call into the role's histogram, fails it as an overrun past the deadline,
    /// checks the output, counts.
    #[inline]
    pub fn score(&mut self, role: ModelRole, features: &FeatureVector, side: Side) -> Option<Result<f64, ModelFault>> {
        let i = role.index();
        let scorer = self.slots[i].as_mut()?;
        let n = scorer.inputs().len();
        let row = &mut self.row[..n];
        scorer.inputs().gather(features, side, row);
        let sw = &self.stopwatch;
        let t0 = sw.stamp();
        let out = scorer.score(row);
        let nanos = sw.nanos(t0, sw.stamp());
        if let Some(h) = self.latency.as_deref_mut() {
            record_into(&mut h[i], nanos);
        }
        let c = &*self.counters;
        ModelCounters::bump(&c.calls[i]);
        let checked = match out {
            _ if self.deadline_ns > 0 && nanos > self.deadline_ns => Err(ModelFault::Overrun),
            Ok(v) => match role {
                ModelRole::PWin => policy::pwin_output(v),
                ModelRole::Slippage => policy::slippage_output(v),
            },
            Err(f) => Err(f),
        };
        if let Err(fault) = checked {
            ModelCounters::bump(&c.faults[i]);
            ModelCounters::bump(match fault {
                ModelFault::Error => &c.errors[i],
                ModelFault::BadOutput => &c.bad_outputs[i],
                ModelFault::Overrun => &c.overruns[i],
            });
        }
        Some(checked)
    }

    /// Judges an entry candidate on `side` that passed the strategy's own checks: p(win), slippage, then
    /// [`policy::plan`]. Returns the plan or the reason to block, and what the models saw and said
    /// (for the journal's Features records). Call only when [`Models::gating`].
    pub fn judge(
        &mut self,
        f: &Features,
        side: Side,
        limits: &InstrumentLimits,
        params: &RuleParams,
    ) -> (Result<Plan, BlockReason>, Judged) {
        let mut judged = Judged::unscored(&f.values);
        let p_win = match self.score(ModelRole::PWin, &f.values, side) {
            None => return (Err(BlockReason::ModelError), judged),
            Some(Err(fault)) => return (Err(policy::fault_reason(fault)), judged),
            Some(Ok(p)) => p,
        };
        judged.p_win = p_win as f32;
        let Some(stats) = self.stats else { return (Err(BlockReason::ModelError), judged) };
        let half_spread_bps = policy::half_spread_bps(f.bid_px, f.ask_px);
        let slippage_bps = match self.score(ModelRole::Slippage, &f.values, side) {
            None if self.expected[ModelRole::Slippage.index()] => return (Err(BlockReason::ModelError), judged),
            None => half_spread_bps,
            Some(Err(fault)) => return (Err(policy::fault_reason(fault)), judged),
            Some(Ok(s)) => {
                judged.slippage_bps = s as f32;
                s
            }
        };
        let choice = match params.entry {
            EntryStyle::Market => StyleChoice::Market,
            EntryStyle::Join { .. } => StyleChoice::Join,
            EntryStyle::Auto { .. } => StyleChoice::Auto,
        };
        let d = &params.decision;
        let inputs = Inputs {
            p_win,
            stats,
            costs: Costs {
                slippage_bps,
                half_spread_bps,
                maker_fee_bps: policy::fee_bps(limits.maker_fee_millibps),
                taker_fee_bps: policy::fee_bps(limits.taker_fee_millibps),
            },
            choice,
            min_pwin: d.min_pwin,
            min_ev_bps: d.min_ev_bps,
            join_fill_probability: d.join_fill_probability,
            cvar_budget: limits.cvar_budget,
            mid_px: (f.bid_px.0 as f64 + f.ask_px.0 as f64) / 2.0,
            lot: limits.lot,
            order_qty: limits.order_qty,
        };
        (policy::plan(&inputs), judged)
    }
}
