//! Running the `kestrel` binary in end-to-end tests, and what a run did.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// What one run of `kestrel` did.
#[derive(Debug)]
pub struct Run {
    /// The arguments, for messages.
    pub args: String,
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Run {
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code,
            expected,
            "`kestrel {}` exited {} instead of {expected}\n{}",
            self.args,
            self.code,
            self.show()
        );
        self
    }

    #[track_caller]
    pub fn err_has(&self, needle: &str) -> &Run {
        assert!(self.stderr.contains(needle), "`kestrel {}`: stderr lacks {needle:?}\n{}", self.args, self.show());
        self
    }

    #[track_caller]
    pub fn out_has(&self, needle: &str) -> &Run {
        assert!(self.stdout.contains(needle), "`kestrel {}`: stdout lacks {needle:?}\n{}", self.args, self.show());
        self
    }

    pub fn show(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}---", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("`kestrel {}`: stdout is not JSON ({e})\n{}", self.args, self.show()))
    }
}

/// Runs `kestrel ARGS` (in `cwd` when given). Whatever the input, it must not panic or die of a
/// signal.
#[track_caller]
pub fn kestrel_in(cwd: Option<&Path>, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kestrel"));
    cmd.args(args);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = cmd.output().expect("run kestrel");
    let run = Run {
        args: args.join(" "),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    };
    assert!(
        out.status.code().is_some(),
        "`kestrel {}` was killed by a signal: {}\n{}",
        run.args,
        out.status,
        run.show()
    );
    assert!(!run.stderr.contains("panicked"), "`kestrel {}` panicked\n{}", run.args, run.show());
    assert_ne!(run.code, 101, "`kestrel {}` exited 101 (a panic)\n{}", run.args, run.show());
    run
}
