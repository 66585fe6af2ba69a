//! The run summary as people read it.

use crate::tape::thousands;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kestrel_engine::latency::Metric;
use kestrel_engine::paper::RunSummary;
use std::io::Write;
use std::path::Path;

/// A bar over the tape's events, drawn on stderr when it is a terminal (hidden otherwise or when
/// the output is JSON).
pub fn progress_bar(total: u64, hidden: bool) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if hidden {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} replay [{bar:40}] {percent:>3}% {human_pos}/{human_len} events, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

fn pct(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |r| format!("{:.1}%", r * 100.0))
}

pub fn summary(w: &mut impl Write, s: &RunSummary, out: &Path) -> std::io::Result<()> {
    writeln!(w, "paper run: {} → {}", s.tape, out.display())?;
    writeln!(w, "  topology   {} ({}), wait {}, speed {}", s.topology, s.topology_reason, s.wait, s.speed)?;
    let early = if s.stopped_early { " (stopped early)" } else { "" };
    writeln!(
        w,
        "  events     {} in {:.3} s: {} events/s{early}",
        thousands(s.events),
        s.elapsed_s,
        thousands(s.events_per_s as u64)
    )?;
    writeln!(
        w,
        "  trading    {} orders ({} exits), {} fills ({} maker), {} cancels, {} expired, {} rejects; \
         win rate {} over {} closing fills",
        s.orders,
        s.exits,
        s.fills,
        s.maker_fills,
        s.cancels,
        s.expired,
        s.rejects,
        pct(s.win_rate),
        s.closing_fills
    )?;
    let risk: Vec<String> = s.risk_rejects.iter().map(|(k, n)| format!("{k} {n}")).collect();
    writeln!(
        w,
        "  risk       state {}; {} blocked{}",
        s.trading_state,
        s.blocked,
        if risk.is_empty() { String::new() } else { format!(", by the risk gate: {}", risk.join(", ")) }
    )?;
    for i in &s.instruments {
        writeln!(
            w,
            "  PnL        {}: {} (realized {}, fees {}, unrealized {}), position {}, volume {}",
            i.symbol, i.total_pnl, i.realized_pnl, i.fees, i.unrealized_pnl, i.position, i.volume
        )?;
    }
    writeln!(
        w,
        "  latency ns {:>18} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "count", "p50", "p90", "p99", "p99.9", "p99.99", "max"
    )?;
    let rows = Metric::ALL.iter().filter_map(|m| s.latency_ns.get(m.name()).map(|p| (m.name(), p)));
    for (name, p) in rows {
        writeln!(
            w,
            "    {:<16} {:>14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
            name,
            thousands(p.count),
            p.p50,
            p.p90,
            p.p99,
            p.p99_9,
            p.p99_99,
            p.max
        )?;
    }
    let stalls: Vec<String> =
        s.back_pressure.iter().filter(|l| l.full_waits > 0).map(|l| format!("{} {}×", l.name, l.full_waits)).collect();
    if !s.back_pressure.is_empty() {
        let text = if stalls.is_empty() { "none (no ring was ever full)".to_string() } else { stalls.join(", ") };
        writeln!(w, "  back-pressure {text}")?;
    }
    if s.profile_trades_dropped > 0 {
        writeln!(
            w,
            "  profile    {} trades outside the volume-profile window (raise [features] profile_ticks)",
            thousands(s.profile_trades_dropped)
        )?;
    }
    if s.book_levels_dropped > 0 {
        writeln!(
            w,
            "  book       {} level updates beyond engine.book_levels not kept",
            thousands(s.book_levels_dropped)
        )?;
    }
    writeln!(
        w,
        "  files      journal.kj ({} records), latency.hlog, latency.json, summary.json, config.toml",
        thousands(s.journal_records)
    )?;
    Ok(())
}

/// The model swaps and rollbacks of the run, one line each (nothing when there were none).
pub fn swaps(w: &mut impl Write, log: &crate::models_cmd::manager::SwapLog) -> std::io::Result<()> {
    for o in &log.outcomes {
        let mark = if o.ok { "ok" } else { "refused" };
        writeln!(w, "  model swap {mark}: {} ({:.1} ms)", o.message, o.window_ms)?;
    }
    Ok(())
}
