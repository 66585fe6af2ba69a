//! The model manager: the cold thread of a paper run that swaps models on the running engine.
//!
//! It serves requests from `kestrel models swap|rollback` (the run directory's `control/` inbox) and
//! files dropped into the watched models directory (`[models] watch`). A swap:
//! 1. opens the new file on this thread: card, feature schema, graph signature, probe rows
//!    (`kestrel_infer::LoadedModel::open`); a corrupt or mismatched file is refused here and the live
//!    model keeps running;
//! 2. builds the hot-loop scorer (tract plan optimised, or the native linear evaluator);
//! 3. scores it in shadow beside the live model on the candidates the engine journaled last;
//! 4. hands it to decide through the control ring, which applies it between two events;
//! 5. takes the replaced model back from the `retired` ring and frees it here, never on the hot thread.
//!
//! The swap window (1–5) is flagged to the runner, which files decide's latency inside it apart, so a
//! run shows what a swap costs the hot loop. After a swap the new model is on probation: if its share
//! of failed calls passes `max_fault_rate` within `probation_calls`, the manager rolls back to the
//! previous model by itself. Every outcome is appended to `models.log` (JSON lines) in the run
//! directory.
#![allow(
    clippy::disallowed_methods,
    reason = "the cold side times swaps and handover waits in wall time; nothing here feeds the replay"
)]

use super::inbox::{self, Action, Outcome, Request};
use super::recent::RecentRow;
use super::shadow::{self, ShadowReport};
use kestrel_engine::decide::model::{ModelCommand, ModelController, ModelRole};
use kestrel_engine::pipeline::RunControl;
use kestrel_infer::{Backend, LoadedModel};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// How the manager behaves; from `[models]` and `[strategy]`.
#[derive(Clone, Debug)]
pub struct ManagerSettings {
    pub run_dir: PathBuf,
    pub backend: Backend,
    /// A directory whose `pwin.onnx` / `slippage.onnx` (with their cards) are swapped in when they change.
    pub watch: Option<PathBuf>,
    /// `strategy.min_pwin`, to count gate flips in shadow scoring.
    pub min_pwin: f64,
    /// Recent candidates scored in shadow.
    pub shadow_rows: usize,
    /// Calls after a swap during which failures trigger an automatic rollback.
    pub probation_calls: u64,
    /// Share of failed calls on probation that triggers it.
    pub max_fault_rate: f64,
    /// How long to wait for decide to take a model (it does so at the next event).
    pub handover_timeout: Duration,
    pub poll: Duration,
}

impl ManagerSettings {
    pub fn new(run_dir: PathBuf) -> Self {
        ManagerSettings {
            run_dir,
            backend: Backend::Auto,
            watch: None,
            min_pwin: 0.5,
            shadow_rows: 256,
            probation_calls: 200,
            max_fault_rate: 0.05,
            handover_timeout: Duration::from_secs(10),
            poll: Duration::from_millis(20),
        }
    }
}

#[derive(Debug)]
struct Probation {
    calls_at_swap: u64,
    faults_at_swap: u64,
}

/// What a run's swaps did, for the summary the CLI prints.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct SwapLog {
    pub outcomes: Vec<Outcome>,
}

#[derive(Debug)]
pub struct Manager {
    ctl: ModelController,
    settings: ManagerSettings,
    run: Arc<RunControl>,
    /// Set by the paper command once the hot stages have stopped.
    done: Arc<AtomicBool>,
    live: [Option<Arc<LoadedModel>>; 2],
    /// Models replaced, newest last: what a rollback goes back to.
    history: [Vec<Arc<LoadedModel>>; 2],
    probation: [Option<Probation>; 2],
    /// Watched files by (modified time, length) when last seen, and whether that state was handled.
    watched: HashMap<PathBuf, (SystemTime, u64, bool)>,
    log: SwapLog,
}

impl Manager {
    /// `live`: the models the run starts with (by role), already handed to decide.
    pub fn new(
        ctl: ModelController,
        settings: ManagerSettings,
        run: Arc<RunControl>,
        done: Arc<AtomicBool>,
        live: [Option<Arc<LoadedModel>>; 2],
    ) -> Self {
        let mut m = Manager {
            ctl,
            settings,
            run,
            done,
            live,
            history: [Vec::new(), Vec::new()],
            probation: [None, None],
            watched: HashMap::new(),
            log: SwapLog::default(),
        };
        // Files already in the watched directory are what the run started with, not changes.
        m.scan_watch(true);
        m
    }

    /// Runs on its own (unpinned) thread until `done` is set, then returns what happened.
    pub fn spawn(mut self) -> std::io::Result<std::thread::JoinHandle<SwapLog>> {
        std::thread::Builder::new().name("kestrel-models".into()).spawn(move || {
            while !self.done.load(Ordering::Acquire) {
                self.tick();
                std::thread::sleep(self.settings.poll);
            }
            // Requests that arrived in the last poll still get an answer.
            self.tick();
            self.free_retired();
            self.log
        })
    }

    /// One round: requests, watched files, probation.
    pub fn tick(&mut self) {
        for req in inbox::take_requests(&self.settings.run_dir) {
            let outcome = self.serve(&req);
            self.finish(outcome);
        }
        self.scan_watch(false);
        self.check_probation();
        self.free_retired();
    }

    fn serve(&mut self, req: &Request) -> Outcome {
        let refuse = |message: String| Outcome { id: req.id.clone(), ok: false, message, ..Outcome::default() };
        let Some(role) = ModelRole::parse(&req.role) else {
            return refuse(format!("unknown model role `{}`: use pwin or slippage", req.role));
        };
        match req.action {
            Action::Swap => match &req.file {
                Some(file) => self.swap(&req.id, role, file),
                None => refuse("a swap request needs a file".into()),
            },
            Action::Rollback => self.rollback(&req.id, role, "requested"),
        }
    }

    /// Loads, checks, shadow-scores and installs `file` as the `role` model.
    pub fn swap(&mut self, id: &str, role: ModelRole, file: &Path) -> Outcome {
        let started = Instant::now();
        self.ctl.swap_window.store(true, Ordering::Release);
        let result = LoadedModel::open(file).map_err(|e| format!("refused: {e}")).and_then(|model| {
            if model.role() != role {
                return Err(format!(
                    "refused: {} is a {} model (its card's role), not a {} model",
                    file.display(),
                    model.role().as_str(),
                    role.as_str()
                ));
            }
            let model = Arc::new(model);
            let rows = self.recent_rows();
            let report =
                shadow::compare(&model, self.live[role.index()].as_deref(), &rows, self.settings.min_pwin, None)
                    .map_err(|e| format!("refused: {e}"))?;
            self.install(role, model, true).map(|from| (report, from))
        });
        self.ctl.swap_window.store(false, Ordering::Release);
        self.outcome(id, role, started, result, "swapped in")
    }

    /// Goes back to the model the last swap replaced.
    pub fn rollback(&mut self, id: &str, role: ModelRole, why: &str) -> Outcome {
        let started = Instant::now();
        let Some(previous) = self.history[role.index()].pop() else {
            return Outcome {
                id: id.into(),
                ok: false,
                message: format!("no earlier {} model to roll back to in this run", role.as_str()),
                live_version: self.live_version(role),
                ..Outcome::default()
            };
        };
        self.ctl.swap_window.store(true, Ordering::Release);
        let result = self.install(role, previous.clone(), false).map(|from| (ShadowReport::default(), from));
        self.ctl.swap_window.store(false, Ordering::Release);
        if result.is_err() {
            self.history[role.index()].push(previous);
        }
        self.outcome(id, role, started, result, &format!("rolled back ({why}) to"))
    }

    fn outcome(
        &self,
        id: &str,
        role: ModelRole,
        started: Instant,
        result: Result<(ShadowReport, u64), String>,
        verb: &str,
    ) -> Outcome {
        let window_ms = started.elapsed().as_secs_f64() * 1e3;
        match result {
            Ok((shadow, from)) => Outcome {
                id: id.into(),
                ok: true,
                message: format!(
                    "{} model {verb} version {} at event {from}",
                    role.as_str(),
                    self.live_version(role).unwrap_or_default()
                ),
                live_version: self.live_version(role),
                shadow: (shadow.rows > 0).then_some(shadow),
                window_ms,
                live_from_event: Some(from),
            },
            Err(message) => Outcome {
                id: id.into(),
                ok: false,
                message,
                live_version: self.live_version(role),
                window_ms,
                ..Outcome::default()
            },
        }
    }

    fn live_version(&self, role: ModelRole) -> Option<String> {
        self.live[role.index()].as_ref().map(|m| m.card().version.clone())
    }

    /// Hands `model` to decide and waits until decide has taken it; returns the event count then.
    /// `keep_old`: remember the replaced model for a rollback (a rollback itself does not).
    fn install(&mut self, role: ModelRole, model: Arc<LoadedModel>, keep_old: bool) -> Result<u64, String> {
        let scorer = model.scorer(self.settings.backend).map_err(|e| format!("refused: {e}"))?;
        let applied = self.ctl.counters.applied.load(Ordering::Acquire);
        self.ctl
            .commands
            .push(ModelCommand::Install { role, scorer })
            .map_err(|_| "the control ring is full: an earlier swap is still waiting for the engine".to_string())?;
        let deadline = Instant::now() + self.settings.handover_timeout;
        while self.ctl.counters.applied.load(Ordering::Acquire) == applied {
            if Instant::now() > deadline || self.done.load(Ordering::Acquire) {
                return Err(
                    "the engine did not take the model (the run ended or no event came); the live model is unchanged"
                        .into(),
                );
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let from = self.run.executed();
        self.free_retired();
        let old = self.live[role.index()].replace(model);
        if let (true, Some(old)) = (keep_old, old) {
            self.history[role.index()].push(old);
        }
        let c = &self.ctl.counters;
        let i = role.index();
        self.probation[i] = keep_old.then(|| Probation {
            calls_at_swap: c.calls[i].load(Ordering::Relaxed),
            faults_at_swap: c.faults[i].load(Ordering::Relaxed),
        });
        Ok(from)
    }

    /// Drops the models decide handed back (this is where their memory is freed).
    fn free_retired(&mut self) {
        while let Ok(old) = self.ctl.retired.pop() {
            drop(old);
        }
    }

    fn check_probation(&mut self) {
        for role in ModelRole::ALL {
            let i = role.index();
            let Some(p) = &self.probation[i] else { continue };
            let c = &self.ctl.counters;
            let calls = c.calls[i].load(Ordering::Relaxed) - p.calls_at_swap;
            let faults = c.faults[i].load(Ordering::Relaxed) - p.faults_at_swap;
            if calls == 0 {
                continue;
            }
            let rate = faults as f64 / calls as f64;
            if rate > self.settings.max_fault_rate && faults >= 3 {
                self.probation[i] = None;
                let why = format!("automatic: {faults} of {calls} calls failed after the swap");
                let outcome = self.rollback(&format!("auto-{}", self.run.executed()), role, &why);
                self.finish(outcome);
            } else if calls >= self.settings.probation_calls {
                self.probation[i] = None;
            }
        }
    }

    fn scan_watch(&mut self, initial: bool) {
        let Some(dir) = self.settings.watch.clone() else { return };
        for role in ModelRole::ALL {
            let onnx = dir.join(format!("{}.onnx", role.as_str()));
            let card = kestrel_infer::card_path_for(&onnx);
            let stamp =
                |p: &Path| std::fs::metadata(p).ok().map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
            let (Some(a), Some(b)) = (stamp(&onnx), stamp(&card)) else { continue };
            let now = (a.0.max(b.0), a.1 + b.1);
            match self.watched.get(&onnx).copied() {
                // Seen unchanged for one poll: the writer is done with it.
                Some((t, len, false)) if (t, len) == now => {
                    self.watched.insert(onnx.clone(), (t, len, true));
                    let outcome = self.swap(&format!("watch-{}", self.run.executed()), role, &onnx);
                    self.finish(outcome);
                }
                Some((t, len, _)) if (t, len) == now => {}
                _ => {
                    self.watched.insert(onnx, (now.0, now.1, initial));
                }
            }
        }
    }

    /// The feature vectors of the engine's last journaled candidates.
    fn recent_rows(&self) -> Vec<RecentRow> {
        let journal = self.settings.run_dir.join(kestrel_engine::paper::JOURNAL_FILE);
        super::recent::feature_rows(&journal, self.settings.shadow_rows)
    }

    fn finish(&mut self, outcome: Outcome) {
        if !outcome.id.starts_with("watch-") && !outcome.id.starts_with("auto-") {
            inbox::answer(&self.settings.run_dir, &outcome);
        }
        let path = self.settings.run_dir.join("models.log");
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            let _ = writeln!(f, "{}", serde_json::to_string(&outcome).unwrap_or_default());
        }
        self.log.outcomes.push(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_engine::decide::model::{ModelControl, Scorer, control_channel};
    use kestrel_infer::LinearModel;
    use kestrel_infer::export::Link;

    /// A p(win) model over one feature written as `dir/name.onnx` with its card.
    fn model(dir: &Path, name: &str, weight: f32) -> PathBuf {
        let linear = LinearModel {
            input_name: "features".into(),
            output_name: "p_win".into(),
            weights: vec![weight],
            bias: 0.0,
            link: Link::Sigmoid,
            calibration: None,
        };
        let onnx = dir.join(format!("{name}.onnx"));
        kestrel_infer::linear_file::write_linear(&onnx, &linear, "pwin", name, &["imbalance_l1"]).unwrap();
        onnx
    }

    /// Plays the decide stage's side of the control ring on its own thread: applies commands and
    /// hands the replaced models back, as decide does between two events. Returns the live versions
    /// it saw, in order.
    fn fake_decide(mut ctl: ModelControl, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<u64>> {
        std::thread::spawn(move || {
            let mut live: Option<Box<dyn Scorer>> = None;
            let mut seen = Vec::new();
            while !stop.load(Ordering::Acquire) {
                while let Ok(ModelCommand::Install { scorer, .. }) = ctl.commands.pop() {
                    seen.push(scorer.version());
                    if let Some(old) = live.replace(scorer) {
                        ctl.retired.push(old).unwrap();
                    }
                    ctl.counters.applied.fetch_add(1, Ordering::AcqRel);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            seen
        })
    }

    #[test]
    fn a_model_that_fails_on_probation_is_rolled_back_by_itself() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (model(dir.path(), "a", 1.0), model(dir.path(), "b", -1.0));
        let (controller, control) = control_channel(4);
        let counters = controller.counters.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let decide = fake_decide(control, stop.clone());
        let first = Arc::new(LoadedModel::open(&a).unwrap());
        let mut settings = ManagerSettings::new(dir.path().to_path_buf());
        settings.probation_calls = 100;
        let done = Arc::new(AtomicBool::new(false));
        let mut m = Manager::new(controller, settings, RunControl::new(), done, [Some(first.clone()), None]);

        let swapped = m.swap("s1", ModelRole::PWin, &b);
        assert!(swapped.ok, "{}", swapped.message);
        // Healthy calls: still on probation, nothing happens.
        counters.calls[0].fetch_add(20, Ordering::Relaxed);
        m.tick();
        assert!(m.log.outcomes.is_empty(), "rolled back a healthy model: {:?}", m.log.outcomes);
        // Then half the calls fail: the manager goes back to a without being asked.
        counters.calls[0].fetch_add(20, Ordering::Relaxed);
        counters.faults[0].fetch_add(10, Ordering::Relaxed);
        m.tick();
        let last = m.log.outcomes.last().unwrap();
        assert!(last.ok && last.message.contains("automatic: 10 of 40 calls failed"), "{last:?}");
        assert_eq!(m.live_version(ModelRole::PWin).as_deref(), Some("a"));
        // A model that passed probation is kept: swap to b, healthy past the probation, faults later.
        assert!(m.swap("s2", ModelRole::PWin, &b).ok);
        counters.calls[0].fetch_add(200, Ordering::Relaxed);
        m.tick();
        counters.faults[0].fetch_add(50, Ordering::Relaxed);
        m.tick();
        assert_eq!(m.live_version(ModelRole::PWin).as_deref(), Some("b"));

        stop.store(true, Ordering::Release);
        let seen = decide.join().unwrap();
        let v = |p: &Path| LoadedModel::open(p).unwrap().version();
        assert_eq!(seen, vec![v(&b), v(&a), v(&b)], "swap, automatic rollback, swap");
        // Every replaced model came back to be freed here.
        assert!(m.ctl.retired.is_empty());
    }

    #[test]
    fn a_corrupt_file_is_refused_and_the_live_model_stays() {
        let dir = tempfile::tempdir().unwrap();
        let a = model(dir.path(), "a", 1.0);
        let bad = model(dir.path(), "bad", 1.0);
        std::fs::write(&bad, b"not an onnx file").unwrap();
        let (controller, _control) = control_channel(4);
        let done = Arc::new(AtomicBool::new(false));
        let first = Arc::new(LoadedModel::open(&a).unwrap());
        let mut m = Manager::new(
            controller,
            ManagerSettings::new(dir.path().into()),
            RunControl::new(),
            done,
            [Some(first), None],
        );
        let out = m.swap("s", ModelRole::PWin, &bad);
        assert!(!out.ok && out.message.starts_with("refused:") && out.message.contains("bad.onnx"), "{out:?}");
        assert_eq!(out.live_version.as_deref(), Some("a"));
        assert_eq!(m.ctl.commands.slots(), 4, "nothing was sent to decide");
    }
}
