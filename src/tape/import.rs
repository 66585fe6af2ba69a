//! `kestrel tape import`: raw captures → tape.

use super::{check_output, human_bytes, thousands};
use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use kestrel_tools::import::{self, Format, ImportOptions, Increments, TsUnit};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// Binance combined-stream websocket captures: `<local_ts> <json>` per line, gzip or plain,
    /// with a REST depth snapshot line (spot and USDⓈ-M futures)
    Binance,
    /// Kestrel's generic CSV of quotes, trades and book levels (the format `kestrel tape cat` prints;
    /// columns documented in the README)
    Csv,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TsUnitArg {
    /// detect ns, µs or ms from each file's first timestamp
    Auto,
    Ns,
    Us,
    Ms,
}

/// Convert raw market-data captures into a tape.
///
/// Inputs are read as one continuous stream in the order given (a capture split across files
/// continues its book across them), streamed line by line, gzip detected automatically. The L2 book
/// is rebuilt from the snapshot and diffs to check sequence gaps and crossed books. The tape appears
/// under --out only once complete; a failed or interrupted import leaves nothing there.
///
/// By default the first bad line stops the import with its file, line and what to do; --lenient
/// skips bad lines instead (marking sequence gaps on the tape) and reports what it skipped.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  kestrel tape import --format binance --out btc.tape ../shared/data/binance/usdm/btcusdt_20240808.gz\n  kestrel tape import --format binance --out eth.tape spot/ethusdt_20240808.gz spot/ethusdt_20240809.gz\n  kestrel tape import --format csv --out mine.tape quotes_and_trades.csv"
)]
pub struct ImportArgs {
    /// Input format
    #[arg(long, value_enum)]
    format: FormatArg,
    /// Output tape
    #[arg(long, short)]
    out: PathBuf,
    /// Input files, in time order (gzip or plain)
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Skip and count bad input instead of stopping at the first problem
    #[arg(long)]
    lenient: bool,
    /// Replace --out if it exists
    #[arg(long)]
    force: bool,
    /// Unit of the local receive timestamps
    #[arg(long, value_enum, default_value = "auto")]
    ts_unit: TsUnitArg,
    /// Tick size for every instrument, e.g. 0.10 (default: inferred from the data)
    #[arg(long)]
    tick: Option<String>,
    /// Lot size for every instrument, e.g. 0.001 (default: inferred from the data)
    #[arg(long)]
    lot: Option<String>,
    /// Decimal places of prices (default: read off each instrument's first message)
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=12))]
    price_decimals: Option<u8>,
    /// Decimal places of sizes (default: read off each instrument's first message)
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=12))]
    qty_decimals: Option<u8>,
    /// Venue name for every instrument (default: BINANCE / BINANCE-USDM, or CSV)
    #[arg(long)]
    venue: Option<String>,
    /// Print the import report as JSON on stdout
    #[arg(long)]
    json: bool,
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    check_output(&args.out, args.force)?;
    let format = match args.format {
        FormatArg::Binance => Format::Binance,
        FormatArg::Csv => Format::Csv,
    };
    let opts = ImportOptions {
        lenient: args.lenient,
        ts_unit: match args.ts_unit {
            TsUnitArg::Auto => TsUnit::Auto,
            TsUnitArg::Ns => TsUnit::Nanos,
            TsUnitArg::Us => TsUnit::Micros,
            TsUnitArg::Ms => TsUnit::Millis,
        },
        increments: Increments { tick: args.tick, lot: args.lot },
        price_decimals: args.price_decimals,
        qty_decimals: args.qty_decimals,
        venue: args.venue,
        ..ImportOptions::default()
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} importing {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec}, eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    #[allow(clippy::disallowed_methods)] // timing the whole command for the report, not engine time
    let started = std::time::Instant::now();
    let result = import::import(format, &args.inputs, &args.out, &opts, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let report =
        result.with_context(|| format!("importing into {} failed; nothing was written there", args.out.display()))?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let s = &report.stats;
    if args.json {
        let doc = serde_json::json!({
            "out": report.tape.path,
            "records": report.tape.records,
            "bytes": report.tape.bytes,
            "lines": s.lines,
            "seconds": secs,
            "lines_per_s": s.lines as f64 / secs,
            "events": s.events,
            "unused_streams": s.unused_streams,
            "gaps": s.gaps,
            "crossed_books": s.crossed_books,
            "stale_diffs": s.stale_diffs,
            "diffs_applied": s.diffs_applied,
            "files": s.files.iter().map(|f| serde_json::json!({"path": f.path, "lines": f.lines, "ts_unit": f.ts_unit})).collect::<Vec<_>>(),
            "instruments": report.instruments.iter().map(|i| serde_json::json!({
                "symbol": i.symbol, "venue": i.venue,
                "tick": i.tick.at(i.price_scale).to_string(), "lot": i.lot.at(i.qty_scale).to_string(),
            })).collect::<Vec<_>>(),
            "issues": report.issues.iter().map(|(k, t)| (k.to_string(), serde_json::json!({
                "count": t.count, "first_at": t.first.to_string(), "first": t.first_issue.to_string(),
            }))).collect::<serde_json::Map<_, _>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "imported {} lines from {} file(s) in {:.2} s ({} lines/s) → {} ({} records, {})",
        thousands(s.lines),
        s.files.len(),
        secs,
        thousands((s.lines as f64 / secs) as u64),
        report.tape.path.display(),
        thousands(report.tape.records),
        human_bytes(report.tape.bytes)
    );
    for f in &s.files {
        let unit = match f.ts_unit {
            Some("ns") | None => String::new(),
            Some(u) => format!(", local timestamps in {u} (converted to ns)"),
        };
        println!("  {}: {} lines{unit}", f.path.display(), thousands(f.lines));
    }
    let events: Vec<String> = s.events.iter().map(|(k, v)| format!("{k} {}", thousands(*v))).collect();
    println!("  events: {}", events.join(", "));
    for (stream, n) in &s.unused_streams {
        println!("  not imported: {} lines of stream {stream}", thousands(*n));
    }
    for i in &report.instruments {
        println!(
            "  {} @ {}: tick {}, lot {}{}",
            i.symbol,
            i.venue,
            i.tick.at(i.price_scale),
            i.lot.at(i.qty_scale),
            if opts.increments.tick.is_none() || opts.increments.lot.is_none() {
                " (inferred from the data where not given)"
            } else {
                ""
            }
        );
    }
    if s.diffs_applied > 0 || s.stale_diffs > 0 {
        println!(
            "  book: {} diffs applied, {} already covered by the snapshot dropped, {} gaps, {} crossed",
            thousands(s.diffs_applied),
            thousands(s.stale_diffs),
            s.gaps,
            s.crossed_books
        );
    }
    for (category, tally) in &report.issues {
        let action = match *category {
            "sequence_gap" => "marked on the tape, import continued",
            "crossed_book" => "kept as received",
            "truncated_input" => "kept the lines before the cut",
            _ => "skipped",
        };
        println!(
            "  {category}: {} ({action}); first at {}: {}",
            thousands(tally.count),
            tally.first,
            tally.first_issue
        );
    }
    Ok(())
}
