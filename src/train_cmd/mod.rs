//! `kestrel train`: tapes → labelled candidates → validated, calibrated models → ONNX + cards.
//!
//! The work is `kestrel_offline` (dataset, train, publish); this module parses options, draws the
//! progress bar, prints the report and maps refusals to exit codes.

use crate::exit::UsageError;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use kestrel_offline::dataset::{self, DatasetOptions, LabelSettings, Source};
use kestrel_offline::publish::{self, Outputs};
use kestrel_offline::runs::{self, RunSource};
use kestrel_offline::train::{self, Calibration, InputFrame, TrainOptions};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
What it does:
  1. Replays each tape through the engine's own feature stage (the hot-loop code, with the
     config's [features]) and records a candidate wherever the rule strategy would propose an
     entry: a tradable book, |L1 imbalance| >= strategy.imbalance_threshold, the cooldown passed,
     the spread within strategy.max_spread_ticks. Each candidate gets
     - a triple-barrier label: profit-take at profit_mult x sigma and stop at stop_mult x sigma from
       the entry mid (each at least --min-bps), a time barrier at --max-hold; sigma = vol_ewma_60s
       scaled to the horizon by sqrt(mid changes expected in it). A win is a profit-take, or a time
       exit whose return beats the taker fee. Undecidable labels (the tape ends first) are dropped;
     - a slippage label: what a market order of strategy.order_qty pays against the mid at
       decision (bps, half spread included), walking the book after exchange.entry_latency_us.
     With --run RUN_DIR the candidates are the ones that paper run journaled instead (approved
     or blocked, the models' refusals too), replayed on its tape with its own config.toml and
     labelled the same way; the tape must be the one the run read (its data CRC is in the
     journal) and the features the run's models saw must equal the replay's, else it is refused.
  2. Keeps the schema features finite in >= 95 % of candidates and not constant (minus any
     --exclude, and minus the price levels mid and microprice unless --price-levels); NaN -> the
     training mean (the card's `fill`). With --frame trade (the default) the directional features
     (imbalances, order flow, signed volume, CVD and its slopes, distances from the POC and value
     area) are read in the trade's frame, times +1 for a buy and -1 for a sell (the card marks
     them `signed`): `the book leans my way` means one thing on both sides. --side-input adds the
     side itself (+1/-1; off by default: in a training window it mostly learns which way the
     market trended then). --frame raw feeds them as computed, without the side (the model cannot tell a buy from
     a sell; for comparison). Clock features (time_of_day_s, session_elapsed_s) and cvd jump at a
     session start: on tapes that cross one (UTC midnight by default), a linear model extrapolates
     them badly; consider --exclude for them.
  3. Walk-forward validation (--splits, expanding window) with purging and an --embargo: per fold a
     logistic model (--l2) is fitted on the first 75 % of the training window, calibrated
     (--calibration) on the last 25 %, and scored on the test block.
  4. A purged K-fold check (--kfold), then the final models on all candidates, exported as ONNX,
     loaded back with the engine's loader and scored on a few rows (refused if any score differs
     from the trainer's by more than 1e-4).

What it prints (stdout):
  per tape: events, candidates, labels dropped as undecided, proposals refused for the spread;
  the features used and left out;
  per walk-forward fold: training size, purged count, test size and start, the training base
  rate, Brier score and log-loss of the calibrated p(win) next to the base rate's, AUC;
  the pooled out-of-sample Brier, base-rate Brier, Brier skill score, log-loss, AUC and a verdict;
  a 10-bin reliability table; the slippage ridge's MAE and R-squared against predicting the
  training mean; the purged K-fold summary; the files written and the check's largest difference.

Files:
  OUT/pwin.onnx + pwin.card.json          calibrated p(win): input `features` [1,n], output `p_win` [1,1]
  OUT/slippage.onnx + slippage.card.json  slippage in bps: output `slippage_bps` [1,1]
  REPORT/metrics.json, REPORT/reliability.svg   (REPORT defaults to OUT/report)
  --dataset-out FILE.csv: ts_ns, symbol, side, win (0/1), ret_bps, slippage_bps, then every
      selected feature by schema name (empty cell = NaN); for training your own model.
  Existing files are refused unless --force. The cards' created_at is SOURCE_DATE_EPOCH when set,
  else the last tape event: the same tapes and options give byte-identical files.

--defaults reproduces the shipped models/ exactly (see models/README.md): it synthesizes the
bundled synthetic tape (as `kestrel tape synth --seed 42 --duration 120m` would) in a temporary
folder and trains on it with the default settings and the bundled config; created_at is the last
tape event (SOURCE_DATE_EPOCH is ignored). It takes --out, --report, --dataset-out and --force only.

Exit codes: 0 written; 2 bad options, outputs that exist, tapes that cannot train a model
(no candidates, one class, too few samples per fold: the message says what to try), or a --run
that is not a run or does not match its tape and config; 4 a missing
or unreadable file; 5 a corrupt tape; 1 a bug (including a model that fails its own check).

Examples:
  kestrel train --defaults --force
  kestrel train --tape btc.tape --out /tmp/models
  kestrel paper --tape btc.tape --config configs/models.toml --out runs/btc
  kestrel train --run runs/btc --out /tmp/models       # learn from what that run proposed
  kestrel train --tape a.tape --tape b.tape --splits 3 --embargo 30s --calibration platt \\
      --out /tmp/models --dataset-out /tmp/candidates.csv";

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CalibrationArg {
    /// Isotonic regression on the sigmoid's output (a piecewise-linear map in the graph)
    Isotonic,
    /// Platt scaling, folded into the linear weights
    Platt,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FrameArg {
    /// Directional features times +1 (buy) / -1 (sell), and the side as an input
    Trade,
    /// Features as computed, no side
    Raw,
}

/// Options of `kestrel train`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct TrainArgs {
    /// A tape to train on (repeat for several; see `kestrel tape import` / `kestrel tape synth`)
    #[arg(long = "tape", value_name = "TAPE", required_unless_present_any = ["defaults", "runs"])]
    tapes: Vec<PathBuf>,
    /// A paper run to train on (repeat for several): its journaled entry candidates, approved or
    /// blocked, labelled on its tape with its own config.toml. The tape is the one its summary.json
    /// names, or give it: --run RUN_DIR=TAPE
    #[arg(long = "run", value_name = "RUN_DIR[=TAPE]")]
    runs: Vec<String>,
    /// Reproduce the shipped models/ from the bundled synthetic tape with fixed settings (see below)
    #[arg(long, conflicts_with_all = [
        "tapes", "runs", "config", "calibration", "splits", "kfold", "embargo", "profit_mult", "stop_mult",
        "min_bps", "max_hold", "l2", "isotonic_knots", "exclude", "frame", "price_levels", "side_input",
    ])]
    defaults: bool,
    /// TOML config: [strategy] decides the candidates, [features] the features, [exchange] the entry
    /// latency, [fees] the label's cost; default: the bundled defaults
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Folder for pwin.onnx, pwin.card.json, slippage.onnx, slippage.card.json
    #[arg(long, short, default_value = "models", value_name = "DIR")]
    out: PathBuf,
    /// Folder for metrics.json and reliability.svg [default: OUT/report]
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// How p(win) is calibrated (on the last 25 % of each training window)
    #[arg(long, value_enum, default_value = "isotonic")]
    calibration: CalibrationArg,
    /// Walk-forward splits (test blocks; the data is cut into splits + 1 blocks) [default: 5, fewer
    /// (down to 2, said in the report) when a fold would have too few samples]
    #[arg(long, value_name = "N")]
    splits: Option<usize>,
    /// Folds of the purged K-fold check [default: 5, fewer (down to 2) when a fold would have too
    /// few samples]
    #[arg(long, value_name = "K")]
    kfold: Option<usize>,
    /// Gap between training labels and a test block (e.g. 60s, 500ms) [default: the labels' max hold]
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    embargo: Option<Duration>,
    /// Profit-take barrier in units of the horizon's sigma
    #[arg(long, default_value_t = 2.0, value_name = "X")]
    profit_mult: f64,
    /// Stop-loss barrier in units of the horizon's sigma
    #[arg(long, default_value_t = 2.0, value_name = "X")]
    stop_mult: f64,
    /// Least distance of both barriers from the entry, in bps
    #[arg(long, default_value_t = 5.0, value_name = "BPS")]
    min_bps: f64,
    /// Time barrier of the labels (e.g. 30s) [default: the config's strategy.max_hold_ms]
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    max_hold: Option<Duration>,
    /// L2 penalty of the logistic and ridge fits, on standardised features
    #[arg(long, default_value_t = 1.0, value_name = "L2")]
    l2: f64,
    /// Most knots of the isotonic calibration
    #[arg(long, default_value_t = 32, value_name = "N")]
    isotonic_knots: usize,
    /// A schema feature never to use as an input (repeat for several)
    #[arg(long, value_name = "FEATURE")]
    exclude: Vec<String>,
    /// How directional features reach the models: in the trade's frame with the side as an input
    /// (trade), or as computed without the side (raw)
    #[arg(long, value_enum, default_value = "trade")]
    frame: FrameArg,
    /// Also use the price levels (mid, microprice) as inputs
    #[arg(long)]
    price_levels: bool,
    /// Also give the models the side (+1 buy, -1 sell) as an input (with --frame trade)
    #[arg(long)]
    side_input: bool,
    /// Also write the labelled candidates as CSV (columns: see below)
    #[arg(long, value_name = "FILE.csv")]
    dataset_out: Option<PathBuf>,
    /// Replace outputs that exist
    #[arg(long)]
    force: bool,
}

/// The synthetic tape(s) `--defaults` trains on: (seed, minutes), as `kestrel tape synth --seed S
/// --duration Mm` makes them (seed 42 is the bundled tape's).
pub const DEFAULT_TAPES: [(u64, u64); 1] = [(42, 120)];

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    #[allow(clippy::disallowed_methods, reason = "timing the whole command for the report, not engine time")]
    let started = std::time::Instant::now();
    let report_dir = args.report.clone().unwrap_or_else(|| args.out.join("report"));
    let outputs = Outputs {
        models_dir: args.out.clone(),
        report_dir: Some(report_dir),
        dataset_csv: args.dataset_out.clone(),
        force: args.force,
    };
    // Before any work: existing outputs are refused up front.
    outputs.check().map_err(publish_error)?;

    let mut provenance = Map::new();
    let _synthetic; // keeps the temporary folder of --defaults alive
    let (tapes, raw, origin, opts, labels) = if args.defaults {
        let dir = tempfile::tempdir()?;
        let mut tapes = Vec::new();
        let mut made = Vec::new();
        for (seed, minutes) in DEFAULT_TAPES {
            let name = format!("synth_seed{seed}_{minutes}m.tape");
            let path = dir.path().join(&name);
            let cfg =
                kestrel_tools::synth::SynthConfig { seed, duration_ns: minutes * 60_000_000_000, ..Default::default() };
            eprintln!("synthesizing {name} (seed {seed}, {minutes} min)…");
            kestrel_tools::synth::write_tape(&cfg, &path)?;
            made.push(json!({"seed": seed, "minutes": minutes, "command": format!(
                "kestrel tape synth --seed {seed} --duration {minutes}m --out {name}"
            )}));
            tapes.push(path);
        }
        provenance.insert("synthetic_tapes".into(), Value::Array(made));
        provenance.insert("command".into(), json!("kestrel train --defaults"));
        _synthetic = Some(dir);
        let (raw, origin) = crate::bundled::load_config(None)?;
        let opts = TrainOptions { provenance, ..TrainOptions::default() };
        (tapes, raw, origin, opts, LabelSettings::default())
    } else {
        _synthetic = None;
        let (raw, origin) = crate::bundled::load_config(args.config.as_deref())?;
        let created_at_s = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) => Some(v.trim().parse::<u64>().map_err(|_| {
                UsageError(format!("SOURCE_DATE_EPOCH = {v:?}: expected whole seconds since 1970 (or unset it)"))
            })?),
            Err(_) => None,
        };
        let to_ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        if args.max_hold.is_some_and(|d| d.is_zero()) {
            return Err(UsageError("--max-hold must be longer than zero".into()).into());
        }
        let opts = TrainOptions {
            calibration: match args.calibration {
                CalibrationArg::Isotonic => Calibration::Isotonic,
                CalibrationArg::Platt => Calibration::Platt,
            },
            splits: args.splits.unwrap_or(5),
            kfold: args.kfold.unwrap_or(5),
            // Given numbers are kept (or refused); the defaults adapt to short tapes.
            fewer_splits: args.splits.is_none(),
            fewer_kfold: args.kfold.is_none(),
            embargo_ns: args.embargo.map(to_ns),
            l2: args.l2,
            isotonic_knots: args.isotonic_knots,
            exclude: args.exclude.clone(),
            frame: match args.frame {
                FrameArg::Trade => InputFrame::Trade,
                FrameArg::Raw => InputFrame::Raw,
            },
            price_levels: args.price_levels,
            side_input: args.side_input,
            created_at_s,
            provenance,
        };
        let labels = LabelSettings {
            profit_mult: args.profit_mult,
            stop_mult: args.stop_mult,
            min_bps: args.min_bps,
            max_hold_ns: args.max_hold.map(to_ns),
        };
        (args.tapes.clone(), raw, origin, opts, labels)
    };

    opts.validate().map_err(train_error)?;
    if args.config.is_some() && args.tapes.is_empty() {
        return Err(UsageError(
            "--config applies to --tape; a --run is replayed with its own config.toml (copy the run and edit \
             that to change it)"
                .into(),
        )
        .into());
    }
    // Runs bring their own tape and config; they are read (and checked) before any replay.
    let runs: Vec<RunSource> = args
        .runs
        .iter()
        .map(|r| {
            let (dir, tape) = runs::parse_run_arg(r);
            runs::open_run(&dir, tape.as_deref())
        })
        .collect::<Result<_, _>>()
        .map_err(dataset_error)?;
    let mut sources: Vec<Source<'_>> =
        tapes.iter().map(|t| Source { tape: t, raw: &raw, origin: &origin, run: None }).collect();
    sources.extend(runs.iter().map(|r| Source { tape: &r.tape, raw: &r.config, origin: &r.origin, run: Some(r) }));
    let origins: Vec<&str> = {
        let mut o: Vec<&str> = sources.iter().map(|s| s.origin).collect();
        o.dedup();
        o
    };
    let bar = progress_bar();
    let data = dataset::build_sources(&sources, &DatasetOptions { labels, keep_paths: false }, &mut |p| {
        if p.events == 0 {
            bar.set_length(p.total);
            bar.set_message(format!("tape {}/{}", p.tape + 1, p.tapes));
        }
        bar.set_position(p.events);
    });
    bar.finish_and_clear();
    let data = data.map_err(dataset_error)?;
    println!(
        "labels: triple barrier, profit {}σ / stop {}σ (at least {} bps), time barrier {}; slippage after {} entry latency; config: {}",
        data.barriers.profit_mult,
        data.barriers.stop_mult,
        data.barriers.min_bps,
        kestrel_offline::report::duration(data.barriers.max_hold_ns),
        kestrel_offline::report::duration(data.entry_latency_ns),
        origins.join(", ")
    );
    for (t, src) in data.tapes.iter().zip(&sources) {
        let name = match &t.run {
            _ if args.defaults => t.file_name.clone(),
            None => src.tape.display().to_string(),
            Some(run) => format!("run {} (tape {})", run.display(), src.tape.display()),
        };
        let whose = if t.run.is_some() { "journaled " } else { "" };
        println!(
            "{name}: {} events, {} {whose}candidates ({} undecided at the tape's end dropped, {} refused for the spread{})",
            t.events,
            t.candidates,
            t.undecided,
            t.spread_refused,
            match (t.book_exhausted, t.unmeasured) {
                (0, 0) => String::new(),
                (b, 0) => format!(", {b} larger than the visible book"),
                (0, u) => format!(", {u} without a book to measure slippage dropped"),
                (b, u) => format!(", {b} larger than the visible book, {u} without a book to measure slippage dropped"),
            }
        );
    }
    let trained = train::train(&data, &opts, &mut |line| println!("{line}")).map_err(train_error)?;
    let written = publish::publish(&trained, &data, &outputs).map_err(publish_error)?;
    println!(
        "checked: both models load with the engine's loader and score the check rows within {:.1e} of the trainer \
         (largest difference: p(win) {:.1e}, slippage {:.1e} bps)",
        publish::VERIFY_TOLERANCE,
        written.max_diff_pwin,
        written.max_diff_slippage
    );
    for f in &written.files {
        println!("wrote {}", f.display());
    }
    println!(
        "{} candidates, {} features; p(win) version {}, slippage version {}; {:.1} s",
        data.candidates.len(),
        trained.selection.len(),
        trained.pwin.card.version,
        trained.slippage.card.version,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} replaying {msg} [{bar:40}] {percent:>3}% {human_pos}/{human_len} events, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// Refusals about the options or the data's fitness become usage errors (exit 2); the rest keeps
/// its type for `exit::code_for`.
fn dataset_error(e: dataset::DatasetError) -> anyhow::Error {
    match e {
        dataset::DatasetError::Settings(m) => UsageError(m).into(),
        dataset::DatasetError::Tape(t) => t.into(),
        dataset::DatasetError::Config(c) => c.into(),
        // A run that is not what it says (wrong tape, changed config, not a run directory).
        dataset::DatasetError::Input { .. } => UsageError(e.to_string()).into(),
    }
}

fn train_error(e: train::TrainError) -> anyhow::Error {
    UsageError(e.to_string()).into()
}

fn publish_error(e: publish::PublishError) -> anyhow::Error {
    match e {
        publish::PublishError::Exists(_) => UsageError(e.to_string()).into(),
        other => other.into(),
    }
}
