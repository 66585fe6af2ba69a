//! Exit codes and how errors are shown. Scripts can rely on the codes; people read the messages.

use kestrel_engine::config::ConfigError;
use kestrel_engine::journal::JournalError;
use kestrel_engine::paper::PaperError;
use kestrel_engine::tape::TapeError;
use kestrel_tools::import::ImportError;
use kestrel_tools::synth::SynthError;
use std::process::ExitCode;

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  internal error (a bug: please report it)
  2  usage error: bad arguments or options, an output that already exists
  3  bad input data: a malformed line, a sequence gap, a crossed book... (see --lenient)
  4  an input file is missing or unreadable, or an output cannot be written
  5  a tape, journal or model is corrupt, truncated, of an unsupported version or refused
  130  interrupted (Ctrl-C): a paper run still wrote its run directory up to that point";

/// An error the CLI itself raises about how it was called (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for an error, chosen by its type, never by its text.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<UsageError>().is_some() {
            return 2;
        }
        if cause.downcast_ref::<crate::models_cmd::Refused>().is_some()
            || cause.downcast_ref::<crate::models_cmd::setup::StartError>().is_some()
        {
            return 5;
        }
        if cause.downcast_ref::<crate::paper::Interrupted>().is_some() {
            return 130;
        }
        if let Some(e) = cause.downcast_ref::<ImportError>() {
            return match e {
                ImportError::Usage(_) => 2,
                ImportError::Data { .. } => 3,
                ImportError::Input { .. } => 4,
                ImportError::Tape(t) => tape_code(t),
            };
        }
        if let Some(t) = cause.downcast_ref::<TapeError>() {
            return tape_code(t);
        }
        if let Some(e) = cause.downcast_ref::<JournalError>() {
            return journal_code(e);
        }
        if let Some(e) = cause.downcast_ref::<ConfigError>() {
            return config_code(e);
        }
        if let Some(e) = cause.downcast_ref::<PaperError>() {
            return match e {
                PaperError::Config(c) => config_code(c),
                PaperError::Plan(_)
                | PaperError::OutExists(_)
                | PaperError::Risk(_)
                | PaperError::Resume { .. }
                | PaperError::Models(_) => 2,
                PaperError::Journal(j) => journal_code(j),
                PaperError::Io { .. } => 4,
                PaperError::Thread(_) => 1,
            };
        }
        if let Some(e) = cause.downcast_ref::<SynthError>() {
            return match e {
                SynthError::Config(_) => 2,
                SynthError::Tape(t) => tape_code(t),
            };
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return 4;
        }
    }
    1
}

fn journal_code(e: &JournalError) -> u8 {
    match e {
        JournalError::Io { .. } => 4,
        JournalError::Exists { .. } => 2,
        _ => 5,
    }
}

/// A config that cannot be read is an input problem (4); one that says something wrong is usage (2).
fn config_code(e: &ConfigError) -> u8 {
    match e {
        ConfigError::Read { .. } => 4,
        ConfigError::Parse { .. } | ConfigError::Value { .. } => 2,
    }
}

fn tape_code(e: &TapeError) -> u8 {
    match e {
        TapeError::Io { .. } | TapeError::Write { .. } => 4,
        _ => 5,
    }
}

/// Prints the error chain and returns its exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let mut shown = err.to_string();
    eprintln!("error: {shown}");
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        // Our errors already quote their source ("path: No such file…"); say each thing once.
        if !shown.contains(&text) {
            eprintln!("  caused by: {text}");
            shown.push_str(&text);
        }
    }
    ExitCode::from(code_for(err))
}
