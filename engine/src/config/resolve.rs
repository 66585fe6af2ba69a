//! Raw config → checked settings. Runs before any thread starts; every error names the key.

use super::ConfigError;
use super::raw::{RawConfig, StrategySection};
use crate::decide::{DecisionParams, InstrumentLimits, RuleParams};
use crate::features::FeatureSettings;
use crate::features::regime::HmmParams;
use crate::ingest::Speed;
use crate::pipeline::{Topology, WaitStrategy};
use crate::types::{InstrumentSpec, Qty, parse_fixed};

/// Settings that do not depend on the tape.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    pub topology: Topology,
    /// `None`: chosen by the topology plan.
    pub wait: Option<WaitStrategy>,
    pub ring_capacity: usize,
    pub pin_threads: bool,
    pub book_levels: usize,
    pub speed: Speed,
    pub features: FeatureSettings,
    pub journal_capacity: u64,
    /// `[models]`, checked: which model files the `kestrel` command loads, and how.
    pub models: ModelSettings,
}

/// How models run (`models.backend`); the engine only passes it on to whoever loads the models.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModelBackend {
    /// The loader's choice.
    #[default]
    Auto,
    /// ONNX through `tract`.
    Tract,
    /// A hand-written evaluator for the model shapes it knows.
    Native,
}

impl ModelBackend {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(ModelBackend::Auto),
            "tract" => Some(ModelBackend::Tract),
            "native" => Some(ModelBackend::Native),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ModelBackend::Auto => "auto",
            ModelBackend::Tract => "tract",
            ModelBackend::Native => "native",
        }
    }
}

/// `[models]` checked. Paths are as written in the config (relative ones to the working directory).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelSettings {
    /// The p(win) model's `NAME.onnx`; `None`: no model, the rule trades alone.
    pub pwin: Option<std::path::PathBuf>,
    /// The slippage model's `NAME.onnx`; `None`: the half spread stands in for it.
    pub slippage: Option<std::path::PathBuf>,
    pub backend: ModelBackend,
    /// Longest a model call may take, in ns; 0: no deadline. Also in [`DecisionParams::deadline_ns`].
    pub deadline_ns: u64,
    /// A directory the cold side watches for models to swap in.
    pub watch: Option<std::path::PathBuf>,
}

/// Longest `models.deadline_us`: a second is surely a typo.
const MAX_DEADLINE_US: u64 = 1_000_000;

/// Checks `[models]`.
pub fn model_settings(raw: &RawConfig, origin: &str) -> Result<ModelSettings, ConfigError> {
    let m = &raw.models;
    let backend = ModelBackend::parse(&m.backend).ok_or_else(|| {
        ConfigError::value(
            origin,
            "models.backend",
            format!("= {:?}: use \"auto\", \"tract\" or \"native\"", m.backend),
        )
    })?;
    if m.deadline_us > MAX_DEADLINE_US {
        return Err(ConfigError::value(
            origin,
            "models.deadline_us",
            format!("= {} is over a second; give µs, or 0 for no deadline", m.deadline_us),
        ));
    }
    let path = |text: &str, key: &'static str| -> Result<Option<std::path::PathBuf>, ConfigError> {
        if text.is_empty() {
            return Ok(None);
        }
        if text.trim() != text {
            return Err(ConfigError::value(origin, key, format!("= {text:?} has leading or trailing spaces")));
        }
        Ok(Some(text.into()))
    };
    Ok(ModelSettings {
        pwin: path(&m.pwin, "models.pwin")?,
        slippage: path(&m.slippage, "models.slippage")?,
        backend,
        deadline_ns: m.deadline_us * 1_000,
        watch: path(&m.watch, "models.watch")?,
    })
}

/// Most book levels per side a config may ask for (memory: 16 bytes a level, two copies).
const MAX_BOOK_LEVELS: usize = 1_000_000;

impl RunSettings {
    /// `origin` names where the config came from (a path, or "built-in defaults") for messages.
    pub fn from_raw(raw: &RawConfig, origin: &str) -> Result<RunSettings, ConfigError> {
        let e = &raw.engine;
        let topology = Topology::parse(&e.topology).ok_or_else(|| {
            ConfigError::value(
                origin,
                "engine.topology",
                format!("= {:?}: use \"auto\", \"fused\" or \"threaded\"", e.topology),
            )
        })?;
        let wait = match e.wait.as_str() {
            "auto" => None,
            "busy-spin" => Some(WaitStrategy::BusySpin),
            "spin-yield" => Some(WaitStrategy::SpinYield { spin_ns: e.spin_ns }),
            "park" => Some(WaitStrategy::Park { spin_ns: e.spin_ns }),
            other => {
                return Err(ConfigError::value(
                    origin,
                    "engine.wait",
                    format!("= {other:?}: use \"auto\", \"busy-spin\", \"spin-yield\" or \"park\""),
                ));
            }
        };
        if e.spin_ns > 1_000_000_000 {
            return Err(ConfigError::value(origin, "engine.spin_ns", "is over 1 s; a spin budget is µs at most"));
        }
        if !(1..=MAX_BOOK_LEVELS).contains(&e.book_levels) {
            return Err(ConfigError::value(origin, "engine.book_levels", format!("must be 1 to {MAX_BOOK_LEVELS}")));
        }
        let speed = Speed::parse(&raw.replay.speed).map_err(|m| ConfigError::value(origin, "replay.speed", m))?;
        if raw.journal.capacity_records == 0 {
            return Err(ConfigError::value(origin, "journal.capacity_records", "must be at least 1"));
        }
        check_strategy(&raw.strategy, origin)?;
        let features = feature_settings(raw, origin)?;
        let models = model_settings(raw, origin)?;
        Ok(RunSettings {
            topology,
            wait,
            ring_capacity: e.ring_capacity,
            pin_threads: e.pin_threads,
            book_levels: e.book_levels,
            speed,
            features,
            journal_capacity: raw.journal.capacity_records,
            models,
        })
    }
}

/// Longest bar or session a config may ask for: a week.
const MAX_PERIOD_S: f64 = 7.0 * 86_400.0;
/// Widest volume-profile histogram: 8 bytes a tick per instrument.
const MAX_PROFILE_TICKS: usize = 10_000_000;

fn feature_settings(raw: &RawConfig, origin: &str) -> Result<FeatureSettings, ConfigError> {
    let f = &raw.features;
    if f.bar_seconds == 0 || f.bar_seconds as f64 > MAX_PERIOD_S {
        return Err(ConfigError::value(origin, "features.bar_seconds", "must be 1 s to a week"));
    }
    if !(f.session_hours.is_finite()
        && f.session_hours * 3600.0 >= f.bar_seconds as f64
        && f.session_hours * 3600.0 <= MAX_PERIOD_S)
    {
        return Err(ConfigError::value(
            origin,
            "features.session_hours",
            "must be at least one bar and at most a week",
        ));
    }
    if !(f.session_offset_hours.is_finite() && (0.0..24.0).contains(&f.session_offset_hours)) {
        return Err(ConfigError::value(origin, "features.session_offset_hours", "must be in [0, 24)"));
    }
    if !(16..=MAX_PROFILE_TICKS).contains(&f.profile_ticks) {
        return Err(ConfigError::value(origin, "features.profile_ticks", format!("must be 16 to {MAX_PROFILE_TICKS}")));
    }
    let regime = if f.regime_model == "bundled" {
        HmmParams::bundled()
    } else {
        HmmParams::load(std::path::Path::new(&f.regime_model))
            .map_err(|e| ConfigError::value(origin, "features.regime_model", e))?
    };
    // The filter's observations are per bar: a model fitted on other bars would read them wrongly.
    if regime.bar_seconds != f.bar_seconds {
        return Err(ConfigError::value(
            origin,
            "features.regime_model",
            format!(
                "= {:?} was fitted on {} s bars but features.bar_seconds = {}; refit it with \
                 `kestrel regime fit --bar-seconds {}` or set bar_seconds to match",
                f.regime_model, regime.bar_seconds, f.bar_seconds, f.bar_seconds
            ),
        ));
    }
    Ok(FeatureSettings {
        book_levels: raw.engine.book_levels,
        bar_ns: f.bar_seconds * 1_000_000_000,
        session_ns: (f.session_hours * 3.6e12) as u64,
        session_offset_ns: (f.session_offset_hours * 3.6e12) as u64,
        profile_ticks: f.profile_ticks,
        regime,
    })
}

fn check_strategy(s: &StrategySection, origin: &str) -> Result<(), ConfigError> {
    if s.kind != "imbalance" {
        return Err(ConfigError::value(
            origin,
            "strategy.kind",
            format!("= {:?}: the only rule so far is \"imbalance\"", s.kind),
        ));
    }
    if !(s.imbalance_threshold.is_finite() && s.imbalance_threshold > 0.0 && s.imbalance_threshold <= 1.0) {
        return Err(ConfigError::value(origin, "strategy.imbalance_threshold", "must be in (0, 1]"));
    }
    if !(1..=1_000_000).contains(&s.max_spread_ticks) {
        return Err(ConfigError::value(origin, "strategy.max_spread_ticks", "must be 1 to 1000000"));
    }
    if !(1..=1024).contains(&s.max_in_flight) {
        return Err(ConfigError::value(origin, "strategy.max_in_flight", "must be 1 to 1024"));
    }
    if s.symbols.is_empty() {
        return Err(ConfigError::value(origin, "strategy.symbols", "is empty; use [\"*\"] to trade every instrument"));
    }
    if !(s.min_pwin.is_finite() && (0.0..=1.0).contains(&s.min_pwin)) {
        return Err(ConfigError::value(origin, "strategy.min_pwin", format!("= {} must be in [0, 1]", s.min_pwin)));
    }
    if !(s.min_ev_bps.is_finite() && s.min_ev_bps.abs() <= 10_000.0) {
        return Err(ConfigError::value(
            origin,
            "strategy.min_ev_bps",
            format!("= {} must be within ±10000 bps", s.min_ev_bps),
        ));
    }
    if !(s.join_fill_probability.is_finite() && s.join_fill_probability > 0.0 && s.join_fill_probability <= 1.0) {
        return Err(ConfigError::value(
            origin,
            "strategy.join_fill_probability",
            format!("= {} must be in (0, 1]", s.join_fill_probability),
        ));
    }
    Ok(())
}

/// Resolves the strategy's signal and sizes against the tape's instruments: which to trade, and
/// sizes in their units (market entries, no brackets; [`super::resolve_trading`] adds those).
pub fn resolve_strategy(
    s: &StrategySection,
    instruments: &[InstrumentSpec],
    origin: &str,
) -> Result<RuleParams, ConfigError> {
    check_strategy(s, origin)?;
    let all = s.symbols.iter().any(|x| x == "*");
    for sym in s.symbols.iter().filter(|x| *x != "*") {
        if !instruments.iter().any(|i| &i.symbol == sym) {
            let known: Vec<&str> = instruments.iter().map(|i| i.symbol.as_str()).collect();
            return Err(ConfigError::value(
                origin,
                "strategy.symbols",
                format!("names {sym:?}, which is not on the tape (it has: {})", known.join(", ")),
            ));
        }
    }
    let mut limits = Vec::with_capacity(instruments.len());
    for spec in instruments {
        let trade = all || s.symbols.iter().any(|x| x == &spec.symbol);
        let order_qty = size(&s.order_qty, spec, "strategy.order_qty", origin)?;
        let max_position = size(&s.max_position, spec, "strategy.max_position", origin)?;
        if trade && max_position < order_qty {
            return Err(ConfigError::value(
                origin,
                "strategy.max_position",
                format!("= {} is smaller than order_qty = {}: no order could ever pass", s.max_position, s.order_qty),
            ));
        }
        let cvar_budget = budget(&s.cvar_budget, spec.price_scale + spec.qty_scale, origin)?;
        limits.push(InstrumentLimits {
            trade,
            order_qty,
            max_position,
            tick: spec.tick,
            lot: spec.lot,
            maker_fee_millibps: 0,
            taker_fee_millibps: 0,
            cvar_budget,
        });
    }
    Ok(RuleParams {
        imbalance_threshold: s.imbalance_threshold,
        cooldown_ns: s.cooldown_ms.saturating_mul(1_000_000),
        max_spread_ticks: s.max_spread_ticks,
        max_in_flight: s.max_in_flight,
        instruments: limits,
        entry: crate::decide::EntryStyle::Market,
        brackets: None,
        decision: DecisionParams {
            min_pwin: s.min_pwin,
            min_ev_bps: s.min_ev_bps,
            join_fill_probability: s.join_fill_probability,
            deadline_ns: 0,
        },
    })
}

/// `strategy.cvar_budget`: a non-negative amount of quote currency in units of `10^-scale`.
fn budget(text: &str, scale: u8, origin: &str) -> Result<i128, ConfigError> {
    let key = "strategy.cvar_budget";
    // Parse at up to 6 decimals in i64, then scale up in i128 (as the risk section's money keys).
    let coarse = scale.min(6);
    let v = parse_fixed(text, coarse).map_err(|e| {
        ConfigError::value(origin, key, format!("= {text:?}: {e} (a quote amount, 6 decimals at most; \"0\" for none)"))
    })?;
    if v < 0 {
        return Err(ConfigError::value(origin, key, format!("= {text:?} must not be negative (\"0\" turns it off)")));
    }
    Ok(i128::from(v) * 10i128.pow(u32::from(scale - coarse)))
}

/// A decimal size in `spec`'s units: positive, representable at its scale, a multiple of its lot.
fn size(text: &str, spec: &InstrumentSpec, key: &'static str, origin: &str) -> Result<Qty, ConfigError> {
    let v = parse_fixed(text, spec.qty_scale).map_err(|e| {
        ConfigError::value(
            origin,
            key,
            format!("= {text:?} for {}: {e} (quantity scale {})", spec.symbol, spec.qty_scale),
        )
    })?;
    if v <= 0 {
        return Err(ConfigError::value(origin, key, format!("= {text:?} must be positive")));
    }
    if spec.lot.0 > 0 && v % spec.lot.0 != 0 {
        return Err(ConfigError::value(
            origin,
            key,
            format!("= {text:?} is not a multiple of {}'s lot {}", spec.symbol, spec.lot.at(spec.qty_scale)),
        ));
    }
    Ok(Qty(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use crate::types::Price;
    use std::path::Path;

    fn spec(symbol: &str) -> InstrumentSpec {
        InstrumentSpec {
            symbol: symbol.into(),
            venue: "X".into(),
            price_scale: 2,
            qty_scale: 3,
            tick: Price(1),
            lot: Qty(5),
        }
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it() {
        let err = parse("[engine]\ntopolgy = \"fused\"\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("c.toml") && err.contains("topolgy"), "{err}");
        let err = parse("[stratgy]\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("stratgy"), "{err}");
    }

    #[test]
    fn the_defaults_resolve_and_bad_values_name_their_key() {
        let raw = RawConfig::default();
        let s = RunSettings::from_raw(&raw, "defaults").unwrap();
        assert_eq!(s.topology, Topology::Auto);
        let mut bad = raw.clone();
        bad.engine.wait = "spinny".into();
        let err = RunSettings::from_raw(&bad, "c.toml").unwrap_err().to_string();
        assert!(err.contains("engine.wait") && err.contains("spin-yield"), "{err}");
        let mut bad = raw.clone();
        bad.replay.speed = "fast".into();
        assert!(RunSettings::from_raw(&bad, "c").unwrap_err().to_string().contains("replay.speed"));
    }

    #[test]
    fn the_models_section_is_checked_and_passed_on() {
        let raw = RawConfig::default();
        let m = RunSettings::from_raw(&raw, "defaults").unwrap().models;
        assert_eq!(m, ModelSettings::default());
        let cfg = parse(
            "[models]\npwin = \"models/pwin.onnx\"\nbackend = \"native\"\ndeadline_us = 25\nwatch = \"models/incoming\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let m = RunSettings::from_raw(&cfg, "c.toml").unwrap().models;
        assert_eq!(m.pwin.as_deref(), Some(Path::new("models/pwin.onnx")));
        assert_eq!(m.slippage, None);
        assert_eq!((m.backend, m.deadline_ns), (ModelBackend::Native, 25_000));
        assert_eq!(m.watch.as_deref(), Some(Path::new("models/incoming")));
        let err = parse("[models]\npwn = \"x.onnx\"\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.contains("pwn"), "{err}");
        let mut bad = RawConfig::default();
        bad.models.slippage = " s.onnx".into();
        let err = RunSettings::from_raw(&bad, "c.toml").unwrap_err().to_string();
        assert!(err.contains("models.slippage"), "{err}");
    }

    #[test]
    fn a_regime_model_fitted_on_other_bars_is_refused() {
        let mut raw = RawConfig::default();
        raw.features.bar_seconds = 5;
        let err = RunSettings::from_raw(&raw, "c.toml").unwrap_err().to_string();
        assert!(err.contains("features.regime_model") && err.contains("--bar-seconds 5"), "{err}");
    }

    #[test]
    fn sizes_resolve_per_instrument_and_must_fit_lot_and_scale() {
        let mut s = StrategySection { order_qty: "0.010".into(), max_position: "0.050".into(), ..Default::default() };
        let p = resolve_strategy(&s, &[spec("A"), spec("B")], "c").unwrap();
        assert_eq!(p.instruments[1].order_qty, Qty(10));
        s.order_qty = "0.0101".into();
        assert!(resolve_strategy(&s, &[spec("A")], "c").unwrap_err().to_string().contains("strategy.order_qty"));
        s.order_qty = "0.012".into();
        let err = resolve_strategy(&s, &[spec("A")], "c").unwrap_err().to_string();
        assert!(err.contains("lot"), "{err}");
        s.order_qty = "0.010".into();
        s.symbols = vec!["ZZZ".into()];
        let err = resolve_strategy(&s, &[spec("A")], "c").unwrap_err().to_string();
        assert!(err.contains("ZZZ") && err.contains("A"), "{err}");
        s.symbols = vec!["B".into()];
        let p = resolve_strategy(&s, &[spec("A"), spec("B")], "c").unwrap();
        assert_eq!(p.instruments.iter().map(|l| l.trade).collect::<Vec<_>>(), [false, true]);
    }
}
