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
    pub exchange: ExchangeSection,
    pub fees: FeesSection,
    pub risk: RiskSection,
    pub journal: JournalSection,
    pub models: ModelsSection,
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
    /// Most entry orders working or awaiting the venue's answer at once.
    pub max_in_flight: u32,
    /// `market` (IOC market orders), `join` (post-only limit at our own touch, cancelled after
    /// `join_ttl_ms`) or `auto` (whichever has the larger expected value; needs a p(win) model).
    pub entry: String,
    /// How long a joined entry rests before it is cancelled, in ms of tape time.
    pub join_ttl_ms: u64,
    /// Bracket exits, in basis points of the average entry; 0 turns one off.
    pub take_profit_bps: u32,
    pub stop_loss_bps: u32,
    /// Time exit: longest holding time in ms of tape time; 0 turns it off.
    pub max_hold_ms: u64,
    /// With a p(win) model: least calibrated probability of a win to trade, in [0, 1].
    pub min_pwin: f64,
    /// With a p(win) model: least expected value of a trade, net of slippage and fees, in bps.
    pub min_ev_bps: f64,
    /// With a p(win) model: the chance that a joined entry fills, in (0, 1], for its expected value.
    pub join_fill_probability: f64,
    /// With a p(win) model: the most quote currency a trade may lose at its CVaR (95 %), as a
    /// decimal string; sizes each entry (at most `order_qty`). "0": every entry is `order_qty`.
    pub cvar_budget: String,
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
            entry: "market".into(),
            join_ttl_ms: 2_000,
            take_profit_bps: 10,
            stop_loss_bps: 10,
            max_hold_ms: 60_000,
            min_pwin: 0.55,
            min_ev_bps: 0.0,
            join_fill_probability: 0.35,
            cvar_budget: "0".into(),
        }
    }
}

/// The simulated exchange of paper runs.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExchangeSection {
    /// Tape time from an order (or cancel) leaving the engine to reaching the exchange, in µs.
    pub entry_latency_us: u64,
    /// Tape time from the exchange acting to the engine hearing of it, in µs.
    pub response_latency_us: u64,
    /// A file of recorded one-way latencies in µs (one number per line, `#` comments) to sample
    /// both directions from instead of the constants; empty: constants.
    pub latency_file: String,
    /// `tape`: market data reaches the exchange at the tape's exchange time when it has one within
    /// `feed_latency_max_ms` of our receive time, else `feed_latency_us` earlier; `constant`: always
    /// `feed_latency_us` earlier.
    pub feed_latency: String,
    pub feed_latency_us: u64,
    pub feed_latency_max_ms: u64,
    /// Queue position model of resting orders: `risk-averse`, `log`, `log2`, `power:N`,
    /// `power2:N`, `power3:N` (hftbacktest's models).
    pub queue_model: String,
    /// L1-only instruments: virtual levels, one tick apart, that a market order may walk beyond the
    /// touch, each with the touch's size.
    pub l1_extra_levels: u32,
    /// Working orders the exchange accepts per instrument.
    pub max_orders: usize,
    /// Seeds the latency sampler (with `latency_file`).
    pub seed: u64,
    /// `ignore`, or `measured`: orders leave later by the engine's own measured decision time
    /// (then the journal depends on the machine).
    pub decision_latency: String,
}

impl Default for ExchangeSection {
    fn default() -> Self {
        ExchangeSection {
            entry_latency_us: 100,
            response_latency_us: 100,
            latency_file: String::new(),
            feed_latency: "tape".into(),
            feed_latency_us: 0,
            feed_latency_max_ms: 1_000,
            queue_model: "risk-averse".into(),
            l1_extra_levels: 5,
            max_orders: 64,
            seed: 1,
            decision_latency: "ignore".into(),
        }
    }
}

/// Maker and taker fees in basis points of notional; negative for a rebate.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeesSection {
    pub maker_bps: f64,
    pub taker_bps: f64,
    /// Per-symbol rates, e.g. `[fees.symbols.BTCUSDT]` with `maker_bps` and `taker_bps`.
    pub symbols: std::collections::BTreeMap<String, FeeRates>,
}

impl Default for FeesSection {
    fn default() -> Self {
        FeesSection { maker_bps: 2.0, taker_bps: 5.0, symbols: Default::default() }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeeRates {
    pub maker_bps: f64,
    pub taker_bps: f64,
}

/// Pre-trade risk limits, per instrument in its base units and for the whole engine.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskSection {
    /// Trading state at start: `active`, `reducing` (only orders that shrink a position) or
    /// `halted` (no entries; exits still work).
    pub state: String,
    /// Largest |position| counting working orders on the order's side, in base units.
    pub max_position: String,
    /// Largest single order, in base units.
    pub max_order_qty: String,
    /// Largest price × quantity of one order, in quote currency.
    pub max_order_notional: String,
    /// Refuse prices further than this from the mid, in bps.
    pub price_collar_bps: u32,
    /// Orders per second across all instruments (a token bucket in tape time).
    pub max_orders_per_second: u32,
    /// Largest loss over one trading day (realized − fees + unrealized), in quote currency; past
    /// it the engine halts entries until the next day.
    pub daily_loss_limit: String,
    /// Where the trading day starts, in hours after UTC midnight.
    pub day_start_hours: f64,
}

impl Default for RiskSection {
    fn default() -> Self {
        RiskSection {
            state: "active".into(),
            max_position: "0.100".into(),
            max_order_qty: "0.050".into(),
            max_order_notional: "1000000".into(),
            price_collar_bps: 100,
            max_orders_per_second: 50,
            daily_loss_limit: "10000".into(),
            day_start_hours: 0.0,
        }
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

/// The models decide consults (DESIGN.md §5). The engine validates these and passes them on; the
/// `kestrel` command loads the files (with `kestrel-infer`) and hands the scorers to the engine.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsSection {
    /// The p(win) model, `NAME.onnx` (its card `NAME.card.json` beside it); "" for none (then the
    /// rule trades alone).
    pub pwin: String,
    /// The slippage model, `NAME.onnx`; "" for none (the half spread stands in for it).
    pub slippage: String,
    /// How models run: `auto`, `tract` or `native`.
    pub backend: String,
    /// Longest a model call may take, in µs; a longer one fails safe (no trade). 0: no deadline.
    /// A deadline makes the journal depend on the machine's speed.
    pub deadline_us: u64,
    /// A directory the cold side watches for new models to swap in; "" for none.
    pub watch: String,
}

impl Default for ModelsSection {
    fn default() -> Self {
        ModelsSection {
            pwin: String::new(),
            slippage: String::new(),
            backend: "auto".into(),
            deadline_us: 0,
            watch: String::new(),
        }
    }
}
