//! The trading side of a config resolved against a tape's instruments: the strategy's entry style
//! and brackets, the simulated exchange (latencies, queue model, fees) and the risk limits, each in
//! the instrument's own fixed-point units.

use super::ConfigError;
use super::raw::{ExchangeSection, FeesSection, RawConfig, RiskSection};
use crate::account::{BracketSpec, Offset, TriggerPrice};
use crate::decide::{EntryStyle, RuleParams};
use crate::execute::DecisionLatency;
use crate::execute::sim::{FeeSchedule, FeedLatency, LatencyModel, QueueModel, SimConfig};
use crate::risk::{GlobalLimits, NANOS_PER_DAY, RiskConfig, RiskLimits, TradingState};
use crate::types::{InstrumentId, InstrumentSpec, Qty, parse_fixed};
use std::path::Path;

/// Everything a paper run trades with, resolved for one tape.
#[derive(Clone, Debug, PartialEq)]
pub struct Trading {
    pub params: RuleParams,
    pub risk: RiskConfig,
    pub initial_state: TradingState,
    pub exchange: SimConfig,
    pub decision_latency: DecisionLatency,
}

/// Longest configurable latency: an hour of tape time is surely a typo.
const MAX_LATENCY_US: u64 = 3_600_000_000;
/// Largest fee rate, in bps either way (10 %).
const MAX_FEE_BPS: f64 = 1_000.0;

pub fn resolve_trading(raw: &RawConfig, instruments: &[InstrumentSpec], origin: &str) -> Result<Trading, ConfigError> {
    let mut params = super::resolve_strategy(&raw.strategy, instruments, origin)?;
    let s = &raw.strategy;
    let ttl_ns = s.join_ttl_ms.saturating_mul(1_000_000);
    params.entry = match s.entry.as_str() {
        "market" => EntryStyle::Market,
        "join" | "auto" if s.join_ttl_ms == 0 => {
            return Err(ConfigError::value(
                origin,
                "strategy.join_ttl_ms",
                format!("must be positive with entry = {:?}", s.entry),
            ));
        }
        "join" => EntryStyle::Join { ttl_ns },
        "auto" => EntryStyle::Auto { ttl_ns },
        other => {
            return Err(ConfigError::value(
                origin,
                "strategy.entry",
                format!("= {other:?}: use \"market\", \"join\" or \"auto\" (needs a p(win) model)"),
            ));
        }
    };
    params.decision.deadline_ns = super::model_settings(raw, origin)?.deadline_ns;
    for (key, bps) in [("strategy.take_profit_bps", s.take_profit_bps), ("strategy.stop_loss_bps", s.stop_loss_bps)] {
        if bps > 10_000 {
            return Err(ConfigError::value(origin, key, format!("= {bps} is over 100 %; give basis points")));
        }
    }
    let spec = BracketSpec {
        take_profit: (s.take_profit_bps > 0).then_some(Offset::Bps(s.take_profit_bps)),
        stop_loss: (s.stop_loss_bps > 0).then_some(Offset::Bps(s.stop_loss_bps)),
        max_hold: (s.max_hold_ms > 0).then(|| s.max_hold_ms.saturating_mul(1_000_000)),
        trigger: TriggerPrice::Touch,
    };
    params.brackets = (spec != BracketSpec::default()).then_some(spec);
    let (risk, initial_state) = resolve_risk(&raw.risk, instruments, origin)?;
    let exchange = resolve_exchange(&raw.exchange, &raw.fees, instruments, origin)?;
    // The models' expected value pays the fees the venue will charge.
    for (i, limits) in params.instruments.iter_mut().enumerate() {
        let fees = exchange.fees.iter().find(|(id, _)| id.index() == i).map_or(exchange.default_fees, |(_, f)| *f);
        limits.maker_fee_millibps = fees.maker_millibps;
        limits.taker_fee_millibps = fees.taker_millibps;
    }
    let decision_latency = match raw.exchange.decision_latency.as_str() {
        "ignore" => DecisionLatency::Ignore,
        "measured" => DecisionLatency::Measured,
        other => {
            return Err(ConfigError::value(
                origin,
                "exchange.decision_latency",
                format!("= {other:?}: use \"ignore\" or \"measured\""),
            ));
        }
    };
    Ok(Trading { params, risk, initial_state, exchange, decision_latency })
}

fn resolve_exchange(
    x: &ExchangeSection,
    fees: &FeesSection,
    instruments: &[InstrumentSpec],
    origin: &str,
) -> Result<SimConfig, ConfigError> {
    for (key, v) in [
        ("exchange.entry_latency_us", x.entry_latency_us),
        ("exchange.response_latency_us", x.response_latency_us),
        ("exchange.feed_latency_us", x.feed_latency_us),
        ("exchange.feed_latency_max_ms", x.feed_latency_max_ms.saturating_mul(1000)),
    ] {
        if v > MAX_LATENCY_US {
            return Err(ConfigError::value(origin, key, format!("= {v} is over an hour")));
        }
    }
    let feed = match x.feed_latency.as_str() {
        "tape" => FeedLatency {
            use_tape: true,
            max_tape_ns: x.feed_latency_max_ms * 1_000_000,
            fallback_ns: x.feed_latency_us * 1000,
        },
        "constant" => FeedLatency { use_tape: false, max_tape_ns: 0, fallback_ns: x.feed_latency_us * 1000 },
        other => {
            return Err(ConfigError::value(
                origin,
                "exchange.feed_latency",
                format!("= {other:?}: use \"tape\" or \"constant\""),
            ));
        }
    };
    let queue = QueueModel::parse(&x.queue_model).map_err(|m| ConfigError::value(origin, "exchange.queue_model", m))?;
    if !(1..=100_000).contains(&x.max_orders) {
        return Err(ConfigError::value(origin, "exchange.max_orders", "must be 1 to 100000"));
    }
    if x.l1_extra_levels > 1_000 {
        return Err(ConfigError::value(origin, "exchange.l1_extra_levels", "must be 0 to 1000"));
    }
    let (entry_latency, response_latency) = if x.latency_file.is_empty() {
        (LatencyModel::Constant(x.entry_latency_us * 1000), LatencyModel::Constant(x.response_latency_us * 1000))
    } else {
        let samples = latency_samples(Path::new(&x.latency_file))
            .map_err(|m| ConfigError::value(origin, "exchange.latency_file", m))?;
        (LatencyModel::empirical(&samples), LatencyModel::empirical(&samples))
    };
    let rates = |maker: f64, taker: f64, key: &'static str| -> Result<FeeSchedule, ConfigError> {
        Ok(FeeSchedule { maker_millibps: millibps(maker, key, origin)?, taker_millibps: millibps(taker, key, origin)? })
    };
    let default_fees = rates(fees.maker_bps, fees.taker_bps, "fees.maker_bps / fees.taker_bps")?;
    let mut per_instrument = Vec::new();
    for (symbol, r) in &fees.symbols {
        let Some(i) = instruments.iter().position(|s| &s.symbol == symbol) else {
            let known: Vec<&str> = instruments.iter().map(|i| i.symbol.as_str()).collect();
            return Err(ConfigError::value(
                origin,
                "fees.symbols",
                format!("names {symbol:?}, which is not on the tape (it has: {})", known.join(", ")),
            ));
        };
        per_instrument.push((InstrumentId(i as u16), rates(r.maker_bps, r.taker_bps, "fees.symbols")?));
    }
    Ok(SimConfig {
        max_orders: x.max_orders,
        queue,
        feed,
        entry_latency,
        response_latency,
        seed: x.seed,
        fees: per_instrument,
        default_fees,
        l1_extra_levels: x.l1_extra_levels,
        ..SimConfig::default()
    })
}

/// A rate in bps to thousandths of a bp, exactly (a finer rate is refused, never rounded).
fn millibps(bps: f64, key: &'static str, origin: &str) -> Result<i64, ConfigError> {
    let m = bps * 1000.0;
    if !(bps.is_finite() && bps.abs() <= MAX_FEE_BPS) || (m - m.round()).abs() > 1e-6 {
        return Err(ConfigError::value(
            origin,
            key,
            format!("= {bps} must be within ±{MAX_FEE_BPS} bps with at most 3 decimals"),
        ));
    }
    Ok(m.round() as i64)
}

/// Recorded latencies in µs, one per line (blank lines and `#` comments skipped), in ns.
fn latency_samples(path: &Path) -> Result<Vec<u64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match line.parse::<f64>() {
            Ok(us) if us.is_finite() && us >= 0.0 && us <= MAX_LATENCY_US as f64 => {
                out.push((us * 1000.0).round() as u64)
            }
            _ => {
                return Err(format!(
                    "{}:{}: {line:?} is not a latency in µs (one non-negative number per line)",
                    path.display(),
                    n + 1
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("{}: holds no latencies (one number in µs per line)", path.display()));
    }
    Ok(out)
}

fn resolve_risk(
    r: &RiskSection,
    instruments: &[InstrumentSpec],
    origin: &str,
) -> Result<(RiskConfig, TradingState), ConfigError> {
    let state = match r.state.as_str() {
        "active" => TradingState::Active,
        "reducing" => TradingState::Reducing,
        "halted" => TradingState::Halted,
        other => {
            return Err(ConfigError::value(
                origin,
                "risk.state",
                format!("= {other:?}: use \"active\", \"reducing\" or \"halted\""),
            ));
        }
    };
    if !(r.day_start_hours.is_finite() && (0.0..24.0).contains(&r.day_start_hours)) {
        return Err(ConfigError::value(origin, "risk.day_start_hours", "must be in [0, 24)"));
    }
    let money_scale = instruments.iter().map(|s| s.price_scale + s.qty_scale).max().unwrap_or(0);
    let mut limits = Vec::with_capacity(instruments.len());
    for spec in instruments {
        let qty = |text: &str, key: &'static str| -> Result<Qty, ConfigError> {
            let v = parse_fixed(text, spec.qty_scale)
                .map_err(|e| ConfigError::value(origin, key, format!("= {text:?} for {}: {e}", spec.symbol)))?;
            if v <= 0 {
                return Err(ConfigError::value(origin, key, format!("= {text:?} must be positive")));
            }
            Ok(Qty(v))
        };
        limits.push(RiskLimits {
            max_position: qty(&r.max_position, "risk.max_position")?,
            max_order_qty: qty(&r.max_order_qty, "risk.max_order_qty")?,
            max_order_notional: money(
                &r.max_order_notional,
                spec.price_scale + spec.qty_scale,
                "risk.max_order_notional",
                origin,
            )?,
            price_collar_bps: r.price_collar_bps,
        });
    }
    let global = GlobalLimits {
        max_orders_per_second: r.max_orders_per_second,
        daily_loss_limit: money(&r.daily_loss_limit, money_scale, "risk.daily_loss_limit", origin)?,
        day_start_offset_ns: ((r.day_start_hours * 3.6e12) as u64).min(NANOS_PER_DAY - 1),
    };
    let config = RiskConfig { instruments: limits, global };
    config.validate().map_err(|e| ConfigError::value(origin, "risk", e.to_string()))?;
    Ok((config, state))
}

/// A positive amount of quote currency in units of `10^-scale`, exactly (scales up to 38 digits).
fn money(text: &str, scale: u8, key: &'static str, origin: &str) -> Result<i128, ConfigError> {
    // Parse at up to 6 decimals in i64 (9.2e12 quote units), then scale up in i128.
    let coarse = scale.min(6);
    let v = parse_fixed(text, coarse).map_err(|e| {
        ConfigError::value(origin, key, format!("= {text:?}: {e} (a quote amount, 6 decimals at most)"))
    })?;
    if v <= 0 {
        return Err(ConfigError::value(origin, key, format!("= {text:?} must be positive")));
    }
    Ok(i128::from(v) * 10i128.pow(u32::from(scale - coarse)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Price;

    fn spec(symbol: &str) -> InstrumentSpec {
        InstrumentSpec {
            symbol: symbol.into(),
            venue: "X".into(),
            price_scale: 2,
            qty_scale: 3,
            tick: Price(1),
            lot: Qty(1),
        }
    }

    fn err(edit: impl FnOnce(&mut RawConfig)) -> String {
        let mut raw = RawConfig::default();
        edit(&mut raw);
        resolve_trading(&raw, &[spec("A")], "c.toml").unwrap_err().to_string()
    }

    #[test]
    fn the_defaults_resolve_to_fees_limits_and_brackets_in_the_instruments_units() {
        let t = resolve_trading(&RawConfig::default(), &[spec("A"), spec("B")], "defaults").unwrap();
        assert_eq!(t.exchange.default_fees, FeeSchedule { maker_millibps: 2_000, taker_millibps: 5_000 });
        assert_eq!(t.exchange.queue, QueueModel::RiskAverse);
        assert_eq!(t.risk.instruments.len(), 2);
        // "1000000" quote units at price + quantity scale 5.
        assert_eq!(t.risk.instruments[0].max_order_notional, 1_000_000 * 100_000);
        assert_eq!(t.risk.instruments[0].max_position, Qty(100));
        assert_eq!(t.initial_state, TradingState::Active);
        let b = t.params.brackets.expect("default brackets");
        assert_eq!(
            (b.take_profit, b.stop_loss, b.max_hold),
            (Some(Offset::Bps(10)), Some(Offset::Bps(10)), Some(60_000_000_000))
        );
    }

    #[test]
    fn bad_trading_values_name_their_key() {
        for (e, key) in [
            (err(|r| r.exchange.queue_model = "fifo".into()), "exchange.queue_model"),
            (err(|r| r.exchange.feed_latency = "live".into()), "exchange.feed_latency"),
            (err(|r| r.fees.taker_bps = 4.0001), "fees.maker_bps / fees.taker_bps"),
            (err(|r| r.risk.state = "paused".into()), "risk.state"),
            (err(|r| r.risk.daily_loss_limit = "-5".into()), "risk.daily_loss_limit"),
            (err(|r| r.strategy.entry = "limit".into()), "strategy.entry"),
            (err(|r| r.exchange.decision_latency = "yes".into()), "exchange.decision_latency"),
            (err(|r| r.strategy.min_pwin = 1.5), "strategy.min_pwin"),
            (err(|r| r.strategy.min_ev_bps = f64::NAN), "strategy.min_ev_bps"),
            (err(|r| r.strategy.join_fill_probability = 0.0), "strategy.join_fill_probability"),
            (err(|r| r.strategy.cvar_budget = "-1".into()), "strategy.cvar_budget"),
            (err(|r| r.strategy.cvar_budget = "lots".into()), "strategy.cvar_budget"),
            (
                err(|r| {
                    r.strategy.entry = "auto".into();
                    r.strategy.join_ttl_ms = 0;
                }),
                "strategy.join_ttl_ms",
            ),
            (err(|r| r.models.backend = "onnxruntime".into()), "models.backend"),
            (err(|r| r.models.deadline_us = 5_000_000), "models.deadline_us"),
        ] {
            assert!(e.contains("c.toml") && e.contains(key), "{key}: {e}");
        }
        let e = err(|r| {
            r.fees.symbols.insert("ZZZ".into(), crate::config::raw::FeeRates { maker_bps: 0.0, taker_bps: 1.0 });
        });
        assert!(e.contains("ZZZ") && e.contains("fees.symbols"), "{e}");
    }

    #[test]
    fn model_keys_resolve_to_decision_params_fees_and_budgets_per_instrument() {
        let mut raw = RawConfig::default();
        raw.strategy.entry = "auto".into();
        raw.strategy.min_pwin = 0.6;
        raw.strategy.cvar_budget = "12.5".into();
        raw.models.deadline_us = 40;
        raw.fees.symbols.insert("B".into(), crate::config::raw::FeeRates { maker_bps: -0.25, taker_bps: 4.5 });
        let t = resolve_trading(&raw, &[spec("A"), spec("B")], "c").unwrap();
        assert_eq!(t.params.entry, EntryStyle::Auto { ttl_ns: 2_000_000_000 });
        assert_eq!(t.params.decision.min_pwin, 0.6);
        assert_eq!(t.params.decision.deadline_ns, 40_000);
        let (a, b) = (t.params.instruments[0], t.params.instruments[1]);
        assert_eq!((a.maker_fee_millibps, a.taker_fee_millibps), (2_000, 5_000));
        assert_eq!((b.maker_fee_millibps, b.taker_fee_millibps), (-250, 4_500));
        // 12.5 quote at money scale 5.
        assert_eq!(a.cvar_budget, 1_250_000);
        assert_eq!(a.lot, Qty(1));
        let t = resolve_trading(&RawConfig::default(), &[spec("A")], "c").unwrap();
        assert_eq!(t.params.instruments[0].cvar_budget, 0, "no budget by default");
        assert_eq!(t.params.entry, EntryStyle::Market);
    }

    #[test]
    fn a_latency_file_is_read_in_microseconds_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("lat.txt");
        std::fs::write(&good, "# recorded\n120\n80.5\n\n300 # slow\n").unwrap();
        assert_eq!(latency_samples(&good).unwrap(), vec![120_000, 80_500, 300_000]);
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "120\nfast\n").unwrap();
        let e = latency_samples(&bad).unwrap_err();
        assert!(e.contains("bad.txt:2") && e.contains("fast"), "{e}");
    }
}
