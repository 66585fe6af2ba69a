//! `kestrel tape info`: what a tape holds.

use super::{human_bytes, thousands};
use anyhow::Context;
use clap::Args;
use kestrel_engine::tape::Tape;
use kestrel_tools::inspect::TapeStats;
use kestrel_tools::synth::{self, SynthConfig};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Summarise a tape: instruments, time span, counts, trade statistics (aggressor split, total
/// quantity, VWAP, trade ids) and the book rebuilt to the end (gaps, crossed states, final best bid
/// and ask). Checks the tape's checksum and every record first.
///
/// With no TAPE, summarises the bundled default: a synthetic tape (seed 42, 10 minutes) made on the fly.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The tape (default: a synthetic tape made on the fly)
    tape: Option<PathBuf>,
    /// Print a stable JSON document instead of text
    #[arg(long)]
    json: bool,
    /// On a multi-instrument tape, the symbol the top-level trades and book describe (default: the first)
    #[arg(long)]
    symbol: Option<String>,
    /// Skip the checksum and record checks (they read the whole file once)
    #[arg(long)]
    no_verify: bool,
}

pub fn run(args: InfoArgs) -> anyhow::Result<()> {
    let _default_dir;
    let path = match &args.tape {
        Some(p) => p.clone(),
        None => {
            let dir = tempfile::tempdir().context("creating a temporary directory for the default tape")?;
            let path = dir.path().join("default.tape");
            let cfg = SynthConfig::default();
            synth::write_tape(&cfg, &path)?;
            eprintln!(
                "no TAPE given: summarising the bundled default, a synthetic tape (seed {}, {} s); pass a TAPE to summarise your own",
                cfg.seed,
                cfg.duration_ns / 1_000_000_000
            );
            _default_dir = dir;
            path
        }
    };
    let tape = Tape::open(&path)?;
    if !args.no_verify {
        tape.verify()?;
    }
    let stats = TapeStats::compute(&tape, args.symbol.as_deref())
        .map_err(|e| crate::exit::UsageError(format!("{}: {e}", path.display())))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        print_text(&stats);
    }
    Ok(())
}

fn utc(ns: u64) -> String {
    if ns == 0 {
        return "unknown".into();
    }
    humantime::format_rfc3339_millis(SystemTime::UNIX_EPOCH + Duration::from_nanos(ns)).to_string()
}

fn print_text(s: &TapeStats) {
    println!(
        "tape        {} (format v{}, {}, {} records)",
        s.path,
        s.format_version,
        human_bytes(s.bytes),
        thousands(s.counts.records)
    );
    println!(
        "span        {} → {} ({:.1} s of local receive time)",
        utc(s.span.first_ts_ns),
        utc(s.span.last_ts_ns),
        s.span.duration_s
    );
    println!("exchange    {} → {}", utc(s.span.first_exchange_ts_ns), utc(s.span.last_exchange_ts_ns));
    for i in &s.instruments {
        let inferred = |b: bool| if b { " (inferred)" } else { "" };
        println!(
            "instrument  #{} {} @ {}: tick {}{}, lot {}{}",
            i.index,
            i.symbol,
            i.venue,
            i.tick,
            inferred(i.tick_inferred),
            i.lot,
            inferred(i.lot_inferred)
        );
        let c = &i.counts;
        println!(
            "  records   {} quotes, {} trades, {} level updates in {} batches, {} snapshots",
            thousands(c.quotes),
            thousands(c.trades),
            thousands(c.depth_updates),
            thousands(c.depth_batches),
            c.snapshots
        );
        let t = &i.trades;
        if t.count > 0 {
            println!(
                "  trades    {}: {} buy / {} sell aggressor{}, total qty {}, VWAP {}, ids {}..{}",
                thousands(t.count),
                thousands(t.buy_aggressor),
                thousands(t.sell_aggressor),
                if t.unknown_aggressor > 0 {
                    format!(" / {} unknown", thousands(t.unknown_aggressor))
                } else {
                    String::new()
                },
                t.total_qty,
                t.vwap.as_deref().unwrap_or("-"),
                t.first_id.unwrap_or(0),
                t.last_id.unwrap_or(0)
            );
        }
        let b = &i.book;
        let side = |px: &Option<String>, qty: &Option<String>| match (px, qty) {
            (Some(p), Some(q)) => format!("{p} × {q}"),
            _ => "-".into(),
        };
        println!(
            "  book      final bid {} / ask {} (from {}; {} bid / {} ask levels), {} gaps, {} crossed",
            side(&b.final_bid_px, &b.final_bid_qty),
            side(&b.final_ask_px, &b.final_ask_qty),
            b.source,
            thousands(b.levels_bid as u64),
            thousands(b.levels_ask as u64),
            b.gaps,
            b.crossed
        );
    }
}
