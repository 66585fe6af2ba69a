//! `kestrel paper`: replay a tape through the engine against the paper venue.

mod print;

use clap::Args;
use kestrel_engine::ingest::Speed;
use kestrel_engine::paper::{self, PaperRequest};
use kestrel_engine::pipeline::{RunControl, Topology, topology::available_cores};
use kestrel_engine::tape::Tape;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Options of `kestrel paper` (its help text is on the subcommand in main.rs).
#[derive(Debug, Args)]
pub struct PaperArgs {
    /// Tape to replay (see `kestrel tape import` / `kestrel tape synth`); default: a synthetic tape
    #[arg(long)]
    tape: Option<PathBuf>,
    /// TOML config (see configs/default.toml for every key); default: the bundled defaults
    #[arg(long)]
    config: Option<PathBuf>,
    /// Overrides engine.topology: auto | fused | threaded
    #[arg(long, value_parser = parse_topology)]
    topology: Option<Topology>,
    /// Overrides replay.speed: max, or a factor of tape time such as 1x or 10x
    #[arg(long, value_parser = Speed::parse)]
    speed: Option<Speed>,
    /// Run directory to write (must not exist or be empty); default: runs/paper-<UTC time>
    #[arg(long, short, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue a killed or stopped run in this directory: replays the same --tape from the start,
    /// checks every record against the journal, reconciles positions and working orders, then
    /// trades on, appending. Uses the directory's own config.toml
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "config")]
    resume: Option<PathBuf>,
    /// Length of the bundled synthetic tape when no --tape is given
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    synth_duration: Duration,
    /// Print the summary as JSON (the same document as summary.json) instead of a table
    #[arg(long)]
    json: bool,
}

/// The run was stopped by Ctrl-C before the end of the tape; its directory is complete up to there.
#[derive(Debug, thiserror::Error)]
#[error("stopped early by Ctrl-C after {events} of {of} events; the run directory holds everything up to there")]
pub struct Interrupted {
    pub events: u64,
    pub of: u64,
}

fn parse_topology(s: &str) -> Result<Topology, String> {
    Topology::parse(s).ok_or_else(|| format!("`{s}`: use auto, fused or threaded"))
}

pub fn run(args: PaperArgs) -> anyhow::Result<()> {
    // Read before anything pins a thread: afterwards the OS reports one core (DESIGN.md §10).
    let cores = available_cores();
    let resume_config = args.resume.as_ref().map(|d| d.join("config.toml"));
    let (mut raw, origin) = crate::bundled::load_config(resume_config.as_deref().or(args.config.as_deref()))?;
    if let Some(t) = args.topology {
        raw.engine.topology = t.name().into();
    }
    if let Some(s) = args.speed {
        raw.replay.speed = s.to_string();
    }
    let choice =
        crate::bundled::tape_or_synthetic(args.tape.as_deref(), args.synth_duration, |p| p.display().to_string())?;
    let (tape_path, label) = (&choice.path, choice.label.clone());
    let tape = Tape::open(tape_path)?;
    tape.verify()?;
    let out_dir = args.resume.clone().or_else(|| args.out.clone()).unwrap_or_else(default_out_dir);
    let control = RunControl::new();
    // Models are loaded and checked before anything starts: a bad file stops the run here.
    let models = crate::models_cmd::setup::load(&raw, &out_dir, control.clone())?;
    let request = PaperRequest {
        tape: Arc::new(tape),
        tape_label: label,
        config: raw,
        config_origin: origin,
        out_dir: out_dir.clone(),
        cores,
        started: wall_clock_now(),
        resume: args.resume.is_some(),
        models: models.set,
    };
    let prepared = paper::prepare(request, &control)?;
    if let Some(r) = prepared.recovered() {
        let positions: Vec<String> = r
            .positions
            .iter()
            .zip(prepared.instruments())
            .map(|(p, spec)| format!("{} {}", spec.symbol, kestrel_engine::types::Fixed::new(p.qty, spec.qty_scale)))
            .collect();
        eprintln!(
            "resuming {}: {} journal records (last event {}), positions {}, {} working orders; replaying the tape \
             to rebuild the exchange and the features, checking every record",
            out_dir.display(),
            r.records,
            r.last_event_seq.map_or("none".into(), |s| s.to_string()),
            positions.join(", "),
            r.working.len()
        );
    }
    // Ctrl-C ends the replay after the event in hand and still writes the run directory; a second
    // Ctrl-C quits at once (the journal's torn tail, if any, is repaired when it is next opened).
    // The handler's thread starts here, before any thread is pinned, so it floats on the cold cores.
    let on_interrupt = control.clone();
    let _ = ctrlc::set_handler(move || {
        if on_interrupt.stop_requested() {
            std::process::exit(130);
        }
        on_interrupt.request_stop();
    });
    let bar = print::progress_bar(prepared.events_total(), args.json);
    // The models' cold thread (swaps, rollbacks, the watched directory) runs beside the hot stages;
    // it is spawned before they pin themselves, so it floats on whatever core is free.
    let manager = models.manager.spawn()?;
    let result = paper::run(prepared, &control, &mut |c| bar.set_position(c.executed()));
    models.done.store(true, std::sync::atomic::Ordering::Release);
    let swaps = manager.join().unwrap_or_default();
    let summary = result?;
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    let printed = if args.json {
        serde_json::to_writer_pretty(&mut out, &summary).map_err(std::io::Error::from).and_then(|()| writeln!(out))
    } else {
        print::summary(&mut out, &summary, &out_dir).and_then(|()| print::swaps(&mut out, &swaps))
    };
    match printed {
        // `kestrel paper --json | head` closes the pipe early; the run directory is complete anyway.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    if summary.stopped_early {
        return Err(Interrupted { events: summary.events, of: summary.tape_records }.into());
    }
    Ok(())
}

#[allow(clippy::disallowed_methods, reason = "the CLI names run directories and stamps logs with the wall clock")]
fn wall_clock_now() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

fn default_out_dir() -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(wall_clock_now()).to_string();
    let compact: String = stamp.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    PathBuf::from("runs").join(format!("paper-{compact}"))
}
