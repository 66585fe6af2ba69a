//! What `kestrel features` shows: a progress bar on stderr, one summary line on stdout.

use crate::tape::{human_bytes, thousands};
use indicatif::{ProgressBar, ProgressStyle};
use kestrel_engine::features::{FEATURES, SCHEMA_VERSION};
use kestrel_tools::features_export::ExportSummary;
use kestrel_tools::features_export::columns::schema_hash_hex;
use std::io::Write;

/// A bar over the tape's events, drawn on stderr when it is a terminal.
pub fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} features [{bar:40}] {percent:>3}% {human_pos}/{human_len} events, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// `wrote 1,234 rows × 46 columns (parquet, 1.2 MB) to PATH; feature schema v1, hash 0123…`
pub fn summary(s: &ExportSummary) {
    let sampled =
        if s.rows == s.events { String::new() } else { format!("; sampled from {} events", thousands(s.events)) };
    // The file is complete whatever happens to stdout (`| head -0` closes it): write errors are ignored.
    let _ = writeln!(
        std::io::stdout().lock(),
        "wrote {} rows × {} columns ({}, {}{sampled}) to {}; feature schema v{SCHEMA_VERSION}, hash {}",
        thousands(s.rows),
        s.columns,
        s.format.name(),
        human_bytes(s.bytes),
        s.path.display(),
        schema_hash_hex()
    );
    if s.profile_trades_dropped > 0 {
        eprintln!(
            "warning: {} trades fell outside the volume-profile window and are missing from the POC and value \
             area; raise [features] profile_ticks (now {} ticks wide) for this instrument's tick and range",
            thousands(s.profile_trades_dropped),
            s.profile_ticks
        );
    }
}

/// `--list-columns`: every column with its type or unit and meaning.
pub fn columns() -> std::io::Result<()> {
    let mut w = std::io::stdout().lock();
    writeln!(w, "feature schema v{SCHEMA_VERSION}, hash {}", schema_hash_hex())?;
    let leading = [
        ("ts_ns", "int64", "strategy time, Unix nanoseconds (UTC)"),
        ("ts", "timestamp", "the same instant, nanosecond unit, UTC"),
        ("symbol", "string", "the event's instrument"),
        ("seq", "uint64", "the record's index in the tape"),
    ];
    for (name, kind, doc) in leading {
        writeln!(w, "{name:<22} {kind:<12} {doc}")?;
    }
    for f in FEATURES {
        writeln!(w, "{:<22} {:<12} {}", f.name, f.unit, f.doc)?;
    }
    Ok(())
}
