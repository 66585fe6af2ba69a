//! `summary.json`: what a run did, in one document for people and scripts.

use super::PaperRequest;
use crate::config::RunSettings;
use crate::decide::Models;
use crate::decide::model::{ModelCounters, ModelRole};
use crate::execute::{ExecuteStage, SimVenue, Venue};
use crate::journal::BlockReason;
use crate::journal::JournalSummary;
use crate::latency::{LatencyRecorder, Metric, Percentiles, report};
use crate::pipeline::{LinkStats, Plan};
use crate::types::{Fixed, InstrumentId, format_wide};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub kestrel_version: &'static str,
    pub tape: String,
    pub tape_records: u64,
    pub tape_span_s: f64,
    pub config: String,
    pub topology: String,
    pub topology_reason: String,
    pub wait: &'static str,
    pub cores: usize,
    pub speed: String,
    pub events: u64,
    /// The run ended before the tape did (a stop request).
    pub stopped_early: bool,
    /// A resumed run: how many journal records the replay verified before it went on.
    pub resumed_after_records: Option<u64>,
    pub elapsed_s: f64,
    pub events_per_s: f64,
    pub decisions: u64,
    pub blocked: u64,
    /// `blocked` by reason (the strategy's, the risk gate's and the models'), reasons that occurred.
    pub blocked_by_reason: BTreeMap<&'static str, u64>,
    pub orders: u64,
    pub fills: u64,
    /// Fills that rested in the book (maker), of `fills`.
    pub maker_fills: u64,
    /// Orders the venue refused.
    pub rejects: u64,
    /// Exit orders sent by brackets (take-profit, stop-loss, time exit), of `orders`.
    pub exits: u64,
    pub cancels: u64,
    /// IOC and market orders whose rest ended unfilled.
    pub expired: u64,
    /// Candidates the risk gate refused, by reason (the rest of `blocked` are the strategy's own).
    pub risk_rejects: BTreeMap<&'static str, u64>,
    /// Trading state at the end: active, reducing or halted (killed when the kill switch is on).
    pub trading_state: &'static str,
    /// Venue answers that execute could not book or the strategy's account could not apply (0 unless
    /// something is wrong).
    pub report_errors: u64,
    /// Fills that reduced a position, and the share of them that made money.
    pub closing_fills: u64,
    pub win_rate: Option<f64>,
    /// Realized + unrealized over all instruments, in quote currency (a float: for reading; the
    /// per-instrument figures are exact).
    pub pnl_total: f64,
    pub instruments: Vec<InstrumentSummary>,
    /// Nanoseconds, per stage and end to end.
    pub latency_ns: BTreeMap<&'static str, Percentiles>,
    /// Per ring: sends that found it full and waited (none in the fused topology: no rings).
    pub back_pressure: Vec<LinkStats>,
    pub journal_records: u64,
    pub journal_bytes: u64,
    pub journal_grows: u32,
    pub journal: String,
    /// Book level updates not kept because a side was at `engine.book_levels`.
    pub book_levels_dropped: u64,
    /// Trades outside the volume-profile window (`features.profile_ticks`): missing from the POC
    /// and value area.
    pub profile_trades_dropped: u64,
    /// The models decide consulted; absent from a run without models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<ModelsSummary>,
}

/// What the models did in a run.
#[derive(Clone, Debug, Serialize)]
pub struct ModelsSummary {
    pub pwin: ModelRoleSummary,
    pub slippage: ModelRoleSummary,
}

/// One role's model over a run.
#[derive(Clone, Debug, Serialize)]
pub struct ModelRoleSummary {
    /// `Scorer::version` of the live model at the end (hex), `None` for none.
    pub live_version: Option<String>,
    pub calls: u64,
    /// Calls that failed safe, by kind: `error`, `bad_output`, `overrun`.
    pub faults: BTreeMap<&'static str, u64>,
    pub overruns: u64,
    /// Install and Remove commands applied (the starting model not counted).
    pub swaps: u64,
    /// Installs refused (the live model stayed).
    pub refused: u64,
    /// Time of one call, ns (`None` without calls).
    pub latency_ns: Option<Percentiles>,
}

impl ModelsSummary {
    fn build(models: &Models, latency: &LatencyRecorder) -> Option<ModelsSummary> {
        if !models.configured() {
            return None;
        }
        let c = models.counters();
        let g = ModelCounters::get;
        let role = |r: ModelRole, metric: Metric| {
            let i = r.index();
            let h = latency.histogram(metric);
            ModelRoleSummary {
                live_version: Some(g(&c.live_version[i])).filter(|&v| v != 0).map(|v| format!("{v:#018x}")),
                calls: g(&c.calls[i]),
                faults: [
                    ("error", g(&c.errors[i])),
                    ("bad_output", g(&c.bad_outputs[i])),
                    ("overrun", g(&c.overruns[i])),
                ]
                .into_iter()
                .collect(),
                overruns: g(&c.overruns[i]),
                swaps: g(&c.swaps[i]),
                refused: g(&c.refused[i]),
                latency_ns: (!h.is_empty()).then(|| Percentiles::of(h)),
            }
        };
        Some(ModelsSummary {
            pwin: role(ModelRole::PWin, Metric::ModelPWin),
            slippage: role(ModelRole::Slippage, Metric::ModelSlippage),
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct InstrumentSummary {
    pub symbol: String,
    pub position: String,
    /// Gross price PnL locked in by closing fills.
    pub realized_pnl: String,
    /// Fees paid, net of rebates.
    pub fees: String,
    /// The open position marked where it would close: a long at the bid, a short at the ask.
    pub unrealized_pnl: String,
    /// Realized − fees + unrealized.
    pub total_pnl: String,
    pub volume: String,
    pub orders: u64,
    pub fills: u64,
    pub win_rate: Option<f64>,
}

pub(super) struct Inputs<'a> {
    pub request: &'a PaperRequest,
    pub settings: &'a RunSettings,
    pub plan: &'a Plan,
    pub events: u64,
    pub elapsed: Duration,
    pub execute: &'a ExecuteStage<SimVenue>,
    pub risk: &'a crate::risk::RiskGate,
    pub report_errors: u64,
    pub latency: &'a LatencyRecorder,
    pub links: &'a [LinkStats],
    pub journal: &'a JournalSummary,
    pub journal_path: &'a Path,
    pub dropped_levels: u64,
    pub profile_trades_dropped: u64,
    pub stopped_early: bool,
    pub resumed_after_records: Option<u64>,
    pub models: &'a Models,
}

fn rate(wins: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| wins as f64 / of as f64)
}

impl RunSummary {
    pub(super) fn build(i: Inputs<'_>) -> RunSummary {
        let tape = &i.request.tape;
        let header = tape.header();
        let specs = tape.instruments();
        let stats = i.execute.stats();
        let venue = i.execute.venue();
        let mut instruments = Vec::new();
        let mut pnl_total = 0.0;
        for (idx, (spec, st)) in specs.iter().zip(stats).enumerate() {
            let pos = st.position;
            let money_scale = spec.price_scale + spec.qty_scale;
            let unrealized = match venue.touch(InstrumentId(idx as u16)) {
                Some(t) if pos.qty > 0 => pos.unrealized(t.bid.px),
                Some(t) if pos.qty < 0 => pos.unrealized(t.ask.px),
                _ => 0,
            };
            let total = pos.realized - pos.fees + unrealized;
            pnl_total += total as f64 / 10f64.powi(i32::from(money_scale));
            instruments.push(InstrumentSummary {
                symbol: spec.symbol.clone(),
                position: Fixed::new(pos.qty, spec.qty_scale).to_string(),
                realized_pnl: format_wide(pos.realized, money_scale),
                fees: format_wide(pos.fees, money_scale),
                unrealized_pnl: format_wide(unrealized, money_scale),
                total_pnl: format_wide(total, money_scale),
                volume: Fixed::new(st.volume, spec.qty_scale).to_string(),
                orders: st.orders,
                fills: st.fills,
                win_rate: rate(st.winning_fills, st.closing_fills),
            });
        }
        let sum = |f: fn(&crate::execute::InstrumentStats) -> u64| stats.iter().map(f).sum::<u64>();
        let elapsed_s = i.elapsed.as_secs_f64();
        RunSummary {
            kestrel_version: env!("CARGO_PKG_VERSION"),
            tape: i.request.tape_label.clone(),
            tape_records: tape.len() as u64,
            tape_span_s: header.last_ts_local.saturating_sub(header.first_ts_local) as f64 / 1e9,
            config: i.request.config_origin.clone(),
            topology: i.plan.topology_name().into(),
            topology_reason: i.plan.why.clone(),
            wait: i.plan.wait.name(),
            cores: i.plan.cores,
            speed: i.settings.speed.to_string(),
            events: i.events,
            stopped_early: i.stopped_early,
            resumed_after_records: i.resumed_after_records,
            elapsed_s,
            events_per_s: if elapsed_s > 0.0 { i.events as f64 / elapsed_s } else { 0.0 },
            decisions: sum(|s| s.decisions),
            blocked: sum(|s| s.blocked),
            blocked_by_reason: BlockReason::ALL
                .iter()
                .map(|&r| (r.as_str(), stats.iter().map(|s| s.blocked_by[r as usize - 1]).sum::<u64>()))
                .filter(|&(_, n)| n > 0)
                .collect(),
            orders: sum(|s| s.orders),
            fills: sum(|s| s.fills),
            maker_fills: sum(|s| s.maker_fills),
            rejects: sum(|s| s.rejects),
            exits: sum(|s| s.exits),
            cancels: sum(|s| s.cancels),
            expired: sum(|s| s.expired),
            risk_rejects: crate::risk::RiskReject::ALL
                .iter()
                .map(|&r| (r.as_str(), i.risk.counters().rejected(r)))
                .filter(|&(_, n)| n > 0)
                .collect(),
            trading_state: if i.risk.is_killed() { "killed" } else { i.risk.state().as_str() },
            report_errors: i.report_errors,
            closing_fills: sum(|s| s.closing_fills),
            win_rate: rate(sum(|s| s.winning_fills), sum(|s| s.closing_fills)),
            pnl_total,
            instruments,
            latency_ns: report::percentiles(i.latency).into_iter().map(|(m, p)| (m.name(), p)).collect(),
            back_pressure: i.links.to_vec(),
            journal_records: i.journal.records,
            journal_bytes: i.journal.bytes,
            journal_grows: i.journal.grows,
            journal: i.journal_path.display().to_string(),
            book_levels_dropped: i.dropped_levels,
            profile_trades_dropped: i.profile_trades_dropped,
            models: ModelsSummary::build(i.models, i.latency),
        }
    }
}
