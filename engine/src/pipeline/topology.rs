//! Which topology a run uses and which core each hot thread gets.
//!
//! `auto` picks threaded only when the machine can give each of the four hot stages a core of its
//! own and still keep one for the cold side (cores > 4 + 1); otherwise fused. Spinning threads never
//! outnumber cores: four busy-spinning threads on two cores collapse to milliseconds per message
//! (DESIGN.md §9), so a forced threaded run on a small machine waits by yielding or parking, and
//! busy-spin is refused there with a message saying what to use instead.

use super::wait::WaitStrategy;

/// Hot threads in the threaded topology: ingest, features, decide, execute.
pub const THREADED_HOT_THREADS: usize = 4;
/// Cores kept for the cold side (the monitor, reporting, and later learning and healing).
pub const COLD_CORES: usize = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Topology {
    #[default]
    Auto,
    Fused,
    Threaded,
}

impl Topology {
    pub fn parse(text: &str) -> Option<Topology> {
        match text {
            "auto" => Some(Topology::Auto),
            "fused" => Some(Topology::Fused),
            "threaded" => Some(Topology::Threaded),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Topology::Auto => "auto",
            Topology::Fused => "fused",
            Topology::Threaded => "threaded",
        }
    }
}

/// The wait a forced threaded run uses on a machine without a core per hot thread: spin for 2 µs
/// (a message usually arrives within that), then yield.
pub const SHARED_CORE_WAIT: WaitStrategy = WaitStrategy::SpinYield { spin_ns: 2_000 };

/// A resolved plan: what runs where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub threaded: bool,
    pub wait: WaitStrategy,
    /// One entry per hot thread (1 fused, 4 threaded): the core it pins itself to, if any.
    pub hot_cores: Vec<Option<usize>>,
    /// The core the cold (calling) thread pins itself to, if any.
    pub cold_core: Option<usize>,
    /// Slots in each stage-to-stage ring.
    pub ring_capacity: usize,
    /// The cores the plan was made for.
    pub cores: usize,
    /// One line on why, for the run summary.
    pub why: String,
}

impl Plan {
    pub fn topology_name(&self) -> &'static str {
        if self.threaded { "threaded" } else { "fused" }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error(
        "wait = \"busy-spin\" needs a core for each of the {hot} hot threads plus {cold} for the cold side, \
         and this machine has {cores}: spinning threads would outnumber cores and each message would take \
         milliseconds. Use wait = \"spin-yield\" or \"park\", or topology = \"fused\""
    )]
    SpinOversubscribed { hot: usize, cold: usize, cores: usize },
    #[error("ring_capacity = {0}: must be between 2 and 1048576")]
    RingCapacity(usize),
}

/// Makes the plan for `topology` on a machine with `cores` cores. `wait` is the configured wait
/// strategy (`None`: chosen here); `pin` turns pinning off (tests, shared machines).
pub fn plan(
    topology: Topology,
    wait: Option<WaitStrategy>,
    cores: usize,
    pin: bool,
    ring_capacity: usize,
) -> Result<Plan, PlanError> {
    if !(2..=1 << 20).contains(&ring_capacity) {
        return Err(PlanError::RingCapacity(ring_capacity));
    }
    let cores = cores.max(1);
    let roomy = cores > THREADED_HOT_THREADS + COLD_CORES;
    let (threaded, why) = match topology {
        Topology::Threaded => (true, "threaded: asked for".to_string()),
        Topology::Fused => (false, "fused: asked for".to_string()),
        Topology::Auto if roomy => {
            (true, format!("auto → threaded: {cores} cores > {THREADED_HOT_THREADS} hot threads + {COLD_CORES} cold"))
        }
        Topology::Auto => {
            (false, format!("auto → fused: {cores} cores ≤ {THREADED_HOT_THREADS} hot threads + {COLD_CORES} cold"))
        }
    };
    // The first allowed core is the cold side's (the OS puts its own work there too); hot threads take
    // the next ones. Ids come from the process's allowed set, so a `taskset`/cgroup-restricted run
    // pins inside its set.
    let ids = if pin { allowed_core_ids(cores) } else { Vec::new() };
    let cold_core = (ids.len() >= 2).then(|| ids[0]);
    let hot_threads = if threaded { THREADED_HOT_THREADS } else { 1 };
    let dedicated = ids.len() > hot_threads;
    let hot_cores = (0..hot_threads).map(|i| if dedicated { ids.get(1 + i).copied() } else { None }).collect();
    let wait = match wait {
        Some(w) if w.spins_forever() && threaded && !roomy => {
            return Err(PlanError::SpinOversubscribed { hot: hot_threads, cold: COLD_CORES, cores });
        }
        Some(w) => w,
        None if threaded && !roomy => SHARED_CORE_WAIT,
        None => WaitStrategy::BusySpin,
    };
    Ok(Plan { threaded, wait, hot_cores, cold_core, ring_capacity, cores, why })
}

/// The ids of the cores this process may run on, read before anything is pinned; `cores` of them when
/// the OS does not say (then 0..cores, the usual numbering).
fn allowed_core_ids(cores: usize) -> Vec<usize> {
    match core_affinity::get_core_ids() {
        // Fewer ids than cores: a plan made for another machine's count (tests); number them 0..cores.
        Some(ids) if ids.len() >= cores => ids.into_iter().map(|c| c.id).take(cores).collect(),
        _ => (0..cores).collect(),
    }
}

/// Cores this process may use, read before anything is pinned (afterwards the OS reports 1).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_fused_on_two_cores_and_threaded_on_sixteen() {
        let small = plan(Topology::Auto, None, 2, true, 1024).unwrap();
        assert!(!small.threaded);
        assert_eq!(small.hot_cores, vec![Some(1)]);
        assert_eq!(small.cold_core, Some(0));
        let big = plan(Topology::Auto, None, 16, true, 1024).unwrap();
        assert!(big.threaded);
        assert_eq!(big.wait, WaitStrategy::BusySpin);
        assert_eq!(big.hot_cores, vec![Some(1), Some(2), Some(3), Some(4)]);
        assert!(!big.hot_cores.contains(&big.cold_core), "cold never on a hot core");
        assert!(!plan(Topology::Auto, None, 5, true, 1024).unwrap().threaded, "5 = 4 + 1 is not more");
        assert!(plan(Topology::Auto, None, 6, true, 1024).unwrap().threaded);
    }

    #[test]
    fn forced_threaded_on_two_cores_yields_and_does_not_pin() {
        let p = plan(Topology::Threaded, None, 2, true, 1024).unwrap();
        assert!(p.threaded);
        assert_eq!(p.wait, SHARED_CORE_WAIT);
        assert_eq!(p.hot_cores, vec![None; 4]);
        let err = plan(Topology::Threaded, Some(WaitStrategy::BusySpin), 2, true, 1024).unwrap_err();
        assert!(err.to_string().contains("spin-yield"), "{err}");
        let parked = plan(Topology::Threaded, Some(WaitStrategy::Park { spin_ns: 0 }), 2, true, 1024).unwrap();
        assert!(matches!(parked.wait, WaitStrategy::Park { .. }));
    }

    #[test]
    fn pinning_can_be_turned_off_and_ring_sizes_are_checked() {
        let p = plan(Topology::Fused, None, 8, false, 1024).unwrap();
        assert_eq!((p.hot_cores, p.cold_core), (vec![None], None));
        assert_eq!(plan(Topology::Fused, None, 8, true, 1).unwrap_err(), PlanError::RingCapacity(1));
    }
}
