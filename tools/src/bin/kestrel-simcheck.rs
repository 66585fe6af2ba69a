//! `kestrel-simcheck`: replays a tape through Kestrel's simulated exchange with a scripted quoting
//! strategy and reports orders, fills, fees, position and PnL, for the cross-check against
//! hftbacktest (`tools/crosscheck/hftbacktest_check.py`). See `kestrel_tools::simcheck`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use kestrel_engine::execute::sim::FeeSchedule;
use kestrel_engine::tape::Tape;
use kestrel_engine::types::{InstrumentId, parse_fixed};
use kestrel_tools::simcheck::{self, ExchangeOrder, FeedTimeline, Params, Report};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OrderArg {
    /// Tape order (local receive time), as the engine feeds the simulated exchange
    Tape,
    /// Exchange-time order, as hftbacktest's exchange processes its data
    ExchangeTime,
}

/// Replay a tape through Kestrel's simulated exchange with a scripted quoting strategy.
///
/// Every --step-ms of local time the strategy cancels orders older than --max-age-ms and posts a
/// GTC limit of --order-lots at the best bid (buy) and best ask (sell) on each side without a live
/// order, keeping |position| <= --max-position-lots. It reads the touch from the tape's L2 levels.
/// The exchange runs on the tape's exchange time and the strategy on local time shifted forward
/// so that the smallest feed latency is zero, as hftbacktest's converter does (see --clock-shift-ns,
/// --feed-latency-us). Amounts are exact decimals.
#[derive(Debug, Parser)]
#[command(
    name = "kestrel-simcheck",
    version,
    after_help = "Example:\n  kestrel-simcheck --tape btc.tape --queue power:3 --entry-latency-us 5000 --response-latency-us 5000 --json"
)]
struct Args {
    /// Tape to replay (`kestrel tape import` output)
    #[arg(long)]
    tape: PathBuf,
    /// Instrument symbol (default: the tape's first instrument)
    #[arg(long)]
    symbol: Option<String>,
    /// Queue model, as in the engine's config: risk-averse, log, log2, power:N, power2:N, power3:N
    /// (hftbacktest's risk_adverse, log_prob, log_prob2, power_prob, power_prob2, power_prob3 queue
    /// models; power:2 is its square model)
    #[arg(long, default_value = "risk-averse", value_parser = simcheck::parse_queue)]
    queue: kestrel_engine::execute::sim::QueueModel,
    /// Order entry latency (strategy → exchange), constant, microseconds
    #[arg(long, default_value_t = 5_000)]
    entry_latency_us: u64,
    /// Response latency (exchange → strategy), constant, microseconds
    #[arg(long, default_value_t = 5_000)]
    response_latency_us: u64,
    /// Strategy step, milliseconds of local time
    #[arg(long, default_value_t = 100)]
    step_ms: u64,
    /// Cancel an order this old, milliseconds
    #[arg(long, default_value_t = 5_000)]
    max_age_ms: u64,
    /// Size of every order, in lots
    #[arg(long, default_value_t = 1)]
    order_lots: i64,
    /// Largest absolute position, in lots
    #[arg(long, default_value_t = 5)]
    max_position_lots: i64,
    /// Maker fee in basis points (negative: rebate), up to 3 decimals
    #[arg(long, default_value = "2", allow_hyphen_values = true)]
    maker_fee_bps: String,
    /// Taker fee in basis points, up to 3 decimals
    #[arg(long, default_value = "5", allow_hyphen_values = true)]
    taker_fee_bps: String,
    /// Forward shift of local time, ns (default: the largest exchange - local time over depth,
    /// snapshot and trade records, hftbacktest's correct_local_timestamp)
    #[arg(long, conflicts_with = "feed_latency_us")]
    clock_shift_ns: Option<u64>,
    /// Ignore the tape's exchange times: a constant feed latency, microseconds
    #[arg(long)]
    feed_latency_us: Option<u64>,
    /// Order in which the exchange side reads the tape
    #[arg(long, value_enum, default_value = "tape")]
    exchange_order: OrderArg,
    /// First step boundary, tape local time in ns since the epoch (default: first record + --warmup-ms,
    /// rounded up to a multiple of the step)
    #[arg(long)]
    start_ns: Option<u64>,
    /// Time before the first boundary when --start-ns is not given, milliseconds
    #[arg(long, default_value_t = 1_000)]
    warmup_ms: u64,
    /// Levels per side kept in the simulated exchange's book
    #[arg(long, default_value_t = 10_000)]
    max_levels: usize,
    /// Include every order's story (price, send time, outcome, fill) in the report
    #[arg(long)]
    orders: bool,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

fn fee_millibps(text: &str, what: &str) -> Result<i64, String> {
    parse_fixed(text, 3).map_err(|e| format!("--{what}: {e}"))
}

fn run(args: Args) -> Result<Report, String> {
    let tape = Tape::open(&args.tape).map_err(|e| format!("{}: {e}", args.tape.display()))?;
    let instrument = match &args.symbol {
        None => 0,
        Some(s) => tape
            .instruments()
            .iter()
            .position(|i| &i.symbol == s)
            .ok_or_else(|| format!("{}: no instrument '{s}'", args.tape.display()))?,
    };
    let fees = FeeSchedule {
        maker_millibps: fee_millibps(&args.maker_fee_bps, "maker-fee-bps")?,
        taker_millibps: fee_millibps(&args.taker_fee_bps, "taker-fee-bps")?,
    };
    let ms = |v: u64| v.saturating_mul(1_000_000);
    let params = Params {
        instrument: InstrumentId(u16::try_from(instrument).map_err(|_| "too many instruments".to_string())?),
        queue: args.queue,
        entry_latency_ns: args.entry_latency_us.saturating_mul(1_000),
        response_latency_ns: args.response_latency_us.saturating_mul(1_000),
        step_ns: ms(args.step_ms),
        max_age_ns: ms(args.max_age_ms),
        order_lots: args.order_lots,
        max_position_lots: args.max_position_lots,
        fees,
        feed: match args.feed_latency_us {
            Some(us) => FeedTimeline::Constant { latency_ns: us.saturating_mul(1_000) },
            None => FeedTimeline::TapeShifted { shift_ns: args.clock_shift_ns },
        },
        exchange_order: match args.exchange_order {
            OrderArg::Tape => ExchangeOrder::Tape,
            OrderArg::ExchangeTime => ExchangeOrder::ExchangeTime,
        },
        start_ns: args.start_ns,
        warmup_ns: ms(args.warmup_ms),
        max_levels: args.max_levels,
        log_orders: args.orders,
    };
    simcheck::run(tape.records(), tape.instruments(), &params).map_err(|e| e.to_string())
}

fn print_text(r: &Report) {
    let rows: [(&str, String); 20] = [
        ("instrument", format!("{} (tick {}, lot {})", r.symbol, r.tick, r.lot)),
        ("queue model", r.queue.clone()),
        ("latency", format!("entry {} ns, response {} ns", r.entry_latency_ns, r.response_latency_ns)),
        ("feed", format!("{} (shift {} ns), exchange reads in {} order", r.feed, r.clock_shift_ns, r.exchange_order)),
        ("steps", format!("{} × {} ns from local {}", r.steps, r.step_ns, r.start_local_ns)),
        ("orders", format!("{} ({} buy, {} sell)", r.orders, r.buy_orders, r.sell_orders)),
        ("cancels", format!("{} sent, {} confirmed, {} too late", r.cancels_sent, r.canceled, r.cancels_too_late)),
        ("expired / rejected", format!("{} / {}", r.expired, r.rejected)),
        ("fills", format!("{} ({} buy, {} sell)", r.fills, r.buy_fills, r.sell_fills)),
        ("maker / taker", format!("{} / {}", r.maker_fills, r.taker_fills)),
        ("filled qty", r.filled_qty.clone()),
        ("fees", format!("{} (maker {} bp, taker {} bp)", r.fees, r.maker_fee_bps, r.taker_fee_bps)),
        ("final position", r.final_position.clone()),
        ("final touch", format!("{} / {}", r.final_bid, r.final_ask)),
        ("final mid", r.final_mid.clone()),
        ("realized PnL", r.realized_pnl.clone()),
        ("unrealized PnL", r.unrealized_pnl.clone()),
        ("net PnL", format!("{} (realized + unrealized - fees)", r.net_pnl)),
        ("order size", format!("{} (max position {})", r.order_qty, r.max_position)),
        ("max age", format!("{} ns", r.max_age_ns)),
    ];
    for (k, v) in rows {
        println!("{k:<18} {v}");
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let json = args.json;
    match run(args) {
        Ok(report) => {
            if json {
                match serde_json::to_string_pretty(&report) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                print_text(&report);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
