//! `kestrel regime …`: fit the regime HMM on tapes and check it against planted regimes.

use crate::exit::UsageError;
use crate::tape::check_output;
use anyhow::Context;
use clap::{Args, Subcommand};
use kestrel_engine::features::FeatureSettings;
use kestrel_engine::features::regime::{HmmParams, OBSERVATION_NAMES, STATE_NAMES};
use kestrel_engine::tape::Tape;
use kestrel_tools::regime::check::{CheckReport, Confusion, check};
use kestrel_tools::regime::fit::{FitConfig, fit};
use kestrel_tools::regime::{observations, truth};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum RegimeCommand {
    Fit(FitArgs),
    Check(CheckArgs),
}

pub fn run(cmd: RegimeCommand) -> anyhow::Result<()> {
    match cmd {
        RegimeCommand::Fit(args) => run_fit(args),
        RegimeCommand::Check(args) => run_check(args),
    }
}

/// Fit the regime HMM (3 states: trend, range, chop) on the bars of one or more tapes
///
/// Every tape is replayed through the engine's features stage; each closed bar becomes an
/// observation (trend strength, relative volatility, relative activity: the same function the
/// online filter uses), and Baum-Welch fits start probabilities, the transition matrix and
/// diagonal-Gaussian emissions, keeping the best of several seeded initialisations. The states are
/// named by their emission means (highest trend strength: trend; of the others, higher relative
/// volatility: chop). The same tapes and options give the same file. Point `features.regime_model`
/// at the output to use it.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  kestrel tape synth --seed 1 --duration 6h --out s1.tape\n  \
    kestrel regime fit --tape s1.tape --tape s2.tape --out my_regime.json")]
pub struct FitArgs {
    /// A tape to fit on (repeat for several)
    #[arg(long = "tape", value_name = "TAPE", required = true)]
    tapes: Vec<PathBuf>,
    /// Where to write the model (JSON)
    #[arg(long, short)]
    out: PathBuf,
    /// Replace --out if it exists
    #[arg(long)]
    force: bool,
    /// Bar length in seconds (the engine must run with the same `features.bar_seconds`)
    #[arg(long, default_value_t = 60)]
    bar_seconds: u64,
    /// Seed of the initialisations
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of initialisations (alternately k-means and random); the best likelihood wins
    #[arg(long, default_value_t = 8)]
    restarts: u32,
    /// Most EM iterations per initialisation
    #[arg(long, default_value_t = 500)]
    max_iterations: u32,
    /// Stop when the log-likelihood improves by less than this per bar
    #[arg(long, default_value_t = 1e-7)]
    tolerance: f64,
}

fn run_fit(args: FitArgs) -> anyhow::Result<()> {
    check_output(&args.out, args.force)?;
    if args.bar_seconds == 0 || args.bar_seconds > 86_400 {
        return Err(UsageError("--bar-seconds must be 1 to 86400".into()).into());
    }
    if !(args.tolerance.is_finite() && args.tolerance > 0.0) || args.max_iterations == 0 || args.restarts == 0 {
        return Err(
            UsageError("--tolerance must be positive, --max-iterations and --restarts at least 1".into()).into()
        );
    }
    let bar_ns = args.bar_seconds * 1_000_000_000;
    let mut sequences = Vec::new();
    let mut tapes = Vec::new();
    for path in &args.tapes {
        let tape = Tape::open(path)?;
        tape.verify()?;
        let seqs = observations(&tape, bar_ns);
        let bars: usize = seqs.iter().map(|s| s.observations.len()).sum();
        println!("{}: {bars} bars in {} sequence(s)", path.display(), seqs.len());
        tapes.push(json!({
            "file": path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            "data_crc32": format!("{:08x}", tape.header().data_crc32),
            "bars": bars,
        }));
        sequences.extend(seqs.into_iter().map(|s| s.observations));
    }
    let cfg = FitConfig {
        restarts: args.restarts,
        max_iterations: args.max_iterations,
        tolerance: args.tolerance,
        seed: args.seed,
        bar_seconds: args.bar_seconds,
    };
    let fitted = fit(&sequences, &cfg).map_err(|e| UsageError(format!("cannot fit: {e}")))?;
    for (i, r) in fitted.restarts.iter().enumerate() {
        println!(
            "  restart {i} ({:<6}): log-likelihood {:.3} after {} iterations{}{}",
            r.init,
            r.log_likelihood,
            r.iterations,
            if r.converged { "" } else { " (not converged)" },
            if i == fitted.best_restart { "  ← best" } else { "" }
        );
    }
    let best = &fitted.restarts[fitted.best_restart];
    let mut params = fitted.params;
    params.fit = Some(json!({
        "tool": "kestrel regime fit",
        "kestrel_version": env!("CARGO_PKG_VERSION"),
        "tapes": tapes,
        "sequences": sequences.len(),
        "bars": fitted.bars,
        "observed_bars": fitted.observed_bars,
        "seed": args.seed,
        "restarts": args.restarts,
        "best_restart": fitted.best_restart,
        "iterations": best.iterations,
        "converged": best.converged,
        "tolerance": args.tolerance,
        "max_iterations": args.max_iterations,
        "log_likelihood": fitted.log_likelihood,
        "log_likelihood_per_bar": fitted.log_likelihood / fitted.bars.max(1) as f64,
    }));
    std::fs::write(&args.out, params.to_json()).with_context(|| format!("writing {}", args.out.display()))?;
    print_params(&params);
    println!("model → {}", args.out.display());
    Ok(())
}

fn print_params(p: &HmmParams) {
    println!("{:>8} {:>7} {:>10}   emission mean ± sd", "state", "start", "dwell");
    for (s, name) in STATE_NAMES.iter().enumerate() {
        let stay = p.transition[s][s];
        let dwell = if stay < 1.0 { 1.0 / (1.0 - stay) } else { f64::INFINITY };
        let emissions: Vec<String> = OBSERVATION_NAMES
            .iter()
            .enumerate()
            .map(|(d, obs)| format!("{obs} {:.3} ± {:.3}", p.means[s][d], p.variances[s][d].sqrt()))
            .collect();
        println!("{name:>8} {:>7.3} {:>5.1} bars   {}", p.start[s], dwell, emissions.join(", "));
    }
    println!("transition matrix (rows: from, columns: to {}):", STATE_NAMES.join(", "));
    for (s, row) in p.transition.iter().enumerate() {
        println!("{:>8} {:.4} {:.4} {:.4}", STATE_NAMES[s], row[0], row[1], row[2]);
    }
}

/// Score the regime filter against planted regimes (a synthetic tape's truth CSV)
///
/// Replays the tape through the features stage with the model and, at every closed bar, compares
/// the argmax of the filtered probabilities (and the rule baseline `regime_rule`) with the planted
/// regime covering most of the bar. Prints the accuracy and the confusion matrices (rows: truth,
/// columns: predicted), also over the bars that lie inside one planted span.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  kestrel tape synth --seed 7 --duration 6h --out s7.tape --truth s7.csv\n  \
    kestrel regime check --tape s7.tape --truth s7.csv")]
pub struct CheckArgs {
    /// The tape to replay
    #[arg(long)]
    tape: PathBuf,
    /// The planted regimes: start_ns,end_ns,regime (what `kestrel tape synth --truth` writes)
    #[arg(long)]
    truth: PathBuf,
    /// A model written by `kestrel regime fit` (default: the bundled model)
    #[arg(long)]
    model: Option<PathBuf>,
    /// Also write every bar (truth, probabilities, predictions, observations) as CSV to this file
    #[arg(long)]
    bars: Option<PathBuf>,
    /// Print a JSON document instead of text
    #[arg(long)]
    json: bool,
}

fn load_model(path: &Path) -> anyhow::Result<HmmParams> {
    if !path.is_file() {
        let e = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file, or not a regular file");
        return Err(anyhow::Error::new(e).context(format!("cannot read regime model {}", path.display())));
    }
    HmmParams::load(path).map_err(|e| UsageError(e).into())
}

fn run_check(args: CheckArgs) -> anyhow::Result<()> {
    let (params, model_name) = match &args.model {
        Some(path) => (load_model(path)?, path.display().to_string()),
        None => (HmmParams::bundled(), "bundled".to_string()),
    };
    let text = std::fs::read_to_string(&args.truth).with_context(|| format!("reading {}", args.truth.display()))?;
    let spans = truth::parse_csv(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", args.truth.display())))?;
    let tape = Tape::open(&args.tape)?;
    tape.verify()?;
    let settings = FeatureSettings {
        bar_ns: params.bar_seconds * 1_000_000_000,
        regime: params.clone(),
        ..FeatureSettings::default()
    };
    let report = check(&tape, &settings, &spans);
    if let Some(path) = &args.bars {
        std::fs::write(path, report.bars_csv()).with_context(|| format!("writing {}", path.display()))?;
    }
    if report.scored == 0 {
        return Err(UsageError(format!(
            "no bar of {} has both a prediction and a planted regime: is {} the truth of this tape?",
            args.tape.display(),
            args.truth.display()
        ))
        .into());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report_json(&report, &model_name, params.bar_seconds))?);
    } else {
        print_report(&report, &args.tape, &model_name, params.bar_seconds);
    }
    Ok(())
}

fn confusion_json(c: &Confusion) -> serde_json::Value {
    json!({ "bars": c.total(), "accuracy": c.accuracy(), "confusion": c.0, "recall": c.recall() })
}

fn report_json(r: &CheckReport, model: &str, bar_seconds: u64) -> serde_json::Value {
    json!({
        "model": model,
        "bar_seconds": bar_seconds,
        "states": STATE_NAMES,
        "bars": r.bars,
        "scored": r.scored,
        "hmm": confusion_json(&r.hmm),
        "rule": confusion_json(&r.rule),
        "hmm_pure": confusion_json(&r.hmm_pure),
        "rule_pure": confusion_json(&r.rule_pure),
        "majority_share": majority_share(&r.hmm),
    })
}

/// The accuracy of always answering the most frequent planted regime.
fn majority_share(c: &Confusion) -> f64 {
    let rows = c.0.map(|row| row.iter().sum::<u64>());
    rows.iter().copied().max().unwrap_or(0) as f64 / c.total().max(1) as f64
}

fn print_report(r: &CheckReport, tape: &Path, model: &str, bar_seconds: u64) {
    println!("{}: {} bars of {bar_seconds} s, {} scored; model: {model}", tape.display(), r.bars, r.scored);
    let line = |name: &str, all: &Confusion, pure: &Confusion| {
        println!(
            "\n{name}: accuracy {:.1} % ({} of {} bars); inside one planted span {:.1} % ({} bars)",
            100.0 * all.accuracy(),
            all.correct(),
            all.total(),
            100.0 * pure.accuracy(),
            pure.total()
        );
        print!("{}", all.table());
    };
    line("HMM filter (argmax of regime_p_*)", &r.hmm, &r.hmm_pure);
    line("rule baseline (regime_rule)", &r.rule, &r.rule_pure);
    println!("\nalways the most frequent regime: {:.1} %", 100.0 * majority_share(&r.hmm));
}
