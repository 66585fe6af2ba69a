//! The config file as written. Every section and key is optional; `configs/default.toml` lists them
//! all with their defaults and what they do. Unknown keys are an error (a typo must not silently fall
//! back to a default).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub engine: EngineSection,
    pub replay: ReplaySection,
    pub features: FeaturesSection,
    pub strategy: StrategySection,
    pub paper: PaperSection,
    pub journal: JournalSection,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// `auto`, `fused` or `threaded`.
    pub topology: String,
    /// `auto`, `busy-spin`, `spin-yield` or `park`.
    pub wait: String,
    /// How long a waiting thread spins before it yields or parks, in ns.
    pub spin_ns: u32,
    /// Slots in each ring between stages.
    pub ring_capacity: usize,
    /// Pin hot threads to their own cores (and the cold thread to core 0).
    pub pin_threads: bool,
    /// Book levels kept per side per instrument (fixed memory; deeper levels are dropped).
    pub book_levels: usize,
}

impl Default for EngineSection {
    fn default() -> Self {
        EngineSection {
            topology: "auto".into(),
            wait: "auto".into(),
            spin_ns: 2_000,
            ring_capacity: 4096,
            pin_threads: true,
            book_levels: 1000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplaySection {
    /// `max`, or a factor of tape time such as `1x` or `10x`.
    pub speed: String,
}

impl Default for ReplaySection {
    fn default() -> Self {
        ReplaySection { speed: "max".into() }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeaturesSection {
    /// Length of the bars that ATR, realized volatility, the regime filter and CVD slopes use, in s.
    pub bar_seconds: u64,
    /// Session length in hours (the volume profile and CVD reset at each session start).
    pub session_hours: f64,
    /// Session start, in hours after UTC midnight.
    pub session_offset_hours: f64,
    /// Width of the volume-profile price histogram, in ticks (fixed memory per instrument).
    pub profile_ticks: usize,
    /// Regime HMM parameters: "bundled" (fitted on synthetic tapes; see models/README.md) or the path
    /// of a file written by `kestrel regime fit`.
    pub regime_model: String,
}

impl Default for FeaturesSection {
    fn default() -> Self {
        FeaturesSection {
            bar_seconds: 60,
            session_hours: 24.0,
            session_offset_hours: 0.0,
            profile_ticks: 200_000,
            regime_model: "bundled".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StrategySection {
    /// The rule; `imbalance` is the only one so far.
    pub kind: String,
    /// Symbols to trade; `["*"]` trades every instrument on the tape.
    pub symbols: Vec<String>,
    /// |L1 imbalance| at or above which to trade, in (0, 1].
    pub imbalance_threshold: f64,
    /// Size of each order in the instrument's base units, as a decimal string ("0.010").
    pub order_qty: String,
    /// Largest absolute position, counting orders in flight, as a decimal string.
    pub max_position: String,
    /// Widest spread, in ticks, at which to trade.
    pub max_spread_ticks: i64,
    /// Least tape time between two candidates on one instrument, in ms.
    pub cooldown_ms: u64,
    /// Most orders awaiting the venue's answer at once.
    pub max_in_flight: u32,
}

impl Default for StrategySection {
    fn default() -> Self {
        StrategySection {
            kind: "imbalance".into(),
            symbols: vec!["*".into()],
            imbalance_threshold: 0.6,
            order_qty: "0.010".into(),
            max_position: "0.050".into(),
            max_spread_ticks: 5,
            cooldown_ms: 250,
            max_in_flight: 4,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaperSection {
    /// Tape time from an order leaving the engine to the venue acting on it, in µs.
    pub order_latency_us: u64,
    /// Tape time from the venue acting to the engine hearing of it, in µs.
    pub response_latency_us: u64,
}

impl Default for PaperSection {
    fn default() -> Self {
        PaperSection { order_latency_us: 100, response_latency_us: 100 }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalSection {
    /// Records the journal file is sized for up front; it doubles when full (a rare syscall on the
    /// hot thread, counted in the summary).
    pub capacity_records: u64,
}

impl Default for JournalSection {
    fn default() -> Self {
        JournalSection { capacity_records: 1 << 18 }
    }
}
