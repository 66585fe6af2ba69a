//! The control ring between the cold side and the decide stage (DESIGN.md §1 "control").
//!
//! The cold side loads, checks and shadow-scores a model, then sends it as a [`ModelCommand`]; decide
//! applies commands between two events (never inside one), and sends the model it replaced back on
//! the `retired` ring so that it is freed on the cold side, not on the hot thread. [`ModelCounters`]
//! is what decide publishes for the cold side to watch (relaxed atomics: counters, not locks), and
//! `swap_window` is set by the cold side while a swap is under way so that the runner can file the
//! decide stage's latency inside and outside the window apart.

use super::{ModelRole, Scorer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A change the cold side asks of decide. Decide applies pending commands at the start of an event,
/// before anything else (at most [`crate::event::MAX_SWAPS_PER_EVENT`] per event, and only while the
/// `retired` ring has room for what a command gives back: the cold side must keep draining it), and
/// journals each as a ModelSwap record. Rollback is installing the previous model again.
#[derive(Debug)]
pub enum ModelCommand {
    /// Make `scorer` the live model for `role` (replacing any).
    Install { role: ModelRole, scorer: Box<dyn Scorer> },
    /// Stop consulting a model for `role` (then the role's candidates fail safe: see decide).
    Remove { role: ModelRole },
}

/// Per role, what decide has done with its live model; written by decide only (so it bumps them
/// with a relaxed load and store, no read-modify-write), read by anyone.
#[derive(Debug, Default)]
pub struct ModelCounters {
    /// Indexed by [`ModelRole::index`].
    pub calls: [AtomicU64; 2],
    /// Calls that failed safe ([`super::ModelFault`] of any kind): `errors + bad_outputs + overruns`.
    pub faults: [AtomicU64; 2],
    pub overruns: [AtomicU64; 2],
    /// Calls whose runtime returned an error ([`super::ModelFault::Error`]).
    pub errors: [AtomicU64; 2],
    /// Calls whose output was unusable ([`super::ModelFault::BadOutput`]).
    pub bad_outputs: [AtomicU64; 2],
    /// `Scorer::version` of the live model, 0 for none.
    pub live_version: [AtomicU64; 2],
    /// Install and Remove commands applied, per role.
    pub swaps: [AtomicU64; 2],
    /// Installs refused (the model went straight back on `retired`): a p(win) model without trade
    /// statistics, or inputs outside the feature vector.
    pub refused: [AtomicU64; 2],
    /// Commands applied (all roles, refused installs included).
    pub applied: AtomicU64,
}

impl ModelCounters {
    /// Adds one; only the one writer (decide) may call it.
    #[inline]
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.store(counter.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    #[inline]
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The cold side's end.
#[derive(Debug)]
pub struct ModelController {
    pub commands: rtrb::Producer<ModelCommand>,
    /// Models decide has replaced, to be dropped here.
    pub retired: rtrb::Consumer<Box<dyn Scorer>>,
    pub counters: Arc<ModelCounters>,
    pub swap_window: Arc<AtomicBool>,
}

/// Decide's end.
#[derive(Debug)]
pub struct ModelControl {
    pub commands: rtrb::Consumer<ModelCommand>,
    pub retired: rtrb::Producer<Box<dyn Scorer>>,
    pub counters: Arc<ModelCounters>,
    pub swap_window: Arc<AtomicBool>,
}

/// A control ring pair with `capacity` slots each way (the retired ring as deep as the command ring,
/// so decide can always hand back what a command replaced).
pub fn control_channel(capacity: usize) -> (ModelController, ModelControl) {
    let (cmd_tx, cmd_rx) = rtrb::RingBuffer::new(capacity);
    let (ret_tx, ret_rx) = rtrb::RingBuffer::new(capacity);
    let counters = Arc::new(ModelCounters::default());
    let swap_window = Arc::new(AtomicBool::new(false));
    (
        ModelController {
            commands: cmd_tx,
            retired: ret_rx,
            counters: counters.clone(),
            swap_window: swap_window.clone(),
        },
        ModelControl { commands: cmd_rx, retired: ret_tx, counters, swap_window },
    )
}
