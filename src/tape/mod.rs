//! `kestrel tape …`: import, synthesise, inspect.

mod cat;
mod import;
mod info;
mod synth;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum TapeCommand {
    Import(import::ImportArgs),
    Synth(synth::SynthArgs),
    Info(info::InfoArgs),
    Cat(cat::CatArgs),
}

pub fn run(cmd: TapeCommand) -> anyhow::Result<()> {
    match cmd {
        TapeCommand::Import(args) => import::run(args),
        TapeCommand::Synth(args) => synth::run(args),
        TapeCommand::Info(args) => info::run(args),
        TapeCommand::Cat(args) => cat::run(args),
    }
}

/// Refuses to replace an existing file unless asked to: a tape may be hours of recorded data.
pub(crate) fn check_output(out: &std::path::Path, force: bool) -> anyhow::Result<()> {
    if out.exists() && !force {
        return Err(
            crate::exit::UsageError(format!("{}: already exists; pass --force to replace it", out.display())).into()
        );
    }
    Ok(())
}

/// `1234567` → `1,234,567`, for counts people read.
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes as a short human figure.
pub(crate) fn human_bytes(n: u64) -> String {
    match n {
        0..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}
