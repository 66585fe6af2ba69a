//! Seeded synthetic market generator: the backend of `kestrel tape synth`.
//!
//! Real captures are few, short and have no labels; a synthetic tape can be as long as needed,
//! is reproduced exactly from its seed, and comes with the ground truth that produced it. The
//! market switches between hidden regimes ([`Regime`]: trend, range, chop) on a Markov chain with
//! exponential dwell times of a few minutes; within each, a fair value follows its own dynamics and
//! an L2 book, L1 quotes and trades follow the fair value (see `market.rs`). The regime spans are
//! returned with the tape so that regime models can be scored against what was planted.
//!
//! - [`Synth`] yields the records one by one (for tests and benches, no file needed);
//! - [`write_tape`] streams them into a tape file in constant memory;
//! - [`regime_plan`] gives a config's regime spans without generating the market.
//!
//! The same config gives a byte-identical tape on the same platform (see `random.rs` for why not
//! across platforms); a different seed gives a different one.

mod book;
mod market;
mod random;
mod regime;
mod stream;
#[cfg(test)]
mod tests;

pub use regime::{Regime, RegimeSpan, regime_at};
pub use stream::{RecordCounts, Synth, regime_plan};

use kestrel_engine::tape::{TapeError, TapeWriter};
use kestrel_engine::types::{InstrumentSpec, Price, Qty, UnixNanos};
use std::path::{Path, PathBuf};

/// Most book levels per side the generator maintains.
pub const MAX_DEPTH_LEVELS: usize = 1000;

/// What to generate. Build one with struct update syntax:
/// `SynthConfig { seed: 7, duration_ns: 60_000_000_000, ..SynthConfig::default() }`.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    /// Selects the random streams; everything else equal, the tape is a function of the seed.
    pub seed: u64,
    /// Venue time covered after `start`, in ns (> 0). Every record's `ts_exchange` lies in
    /// `[start, start + duration_ns)`.
    pub duration_ns: u64,
    /// Venue time of the opening snapshot (must be known, i.e. non-zero).
    pub start: UnixNanos,
    /// Levels per side of the L2 book, 1 to [`MAX_DEPTH_LEVELS`].
    pub depth_levels: usize,
    /// The instrument written to the tape; prices are multiples of its tick, sizes of its lot.
    pub instrument: InstrumentSpec,
    /// Opening fair value, a multiple of the tick and at least `4 × depth_levels + 64` ticks so that
    /// the bid ladder stays at positive prices.
    pub start_price: Price,
    /// Mean time the regime chain stays in a regime, in ns (chop a little shorter, range a little
    /// longer).
    pub mean_dwell_ns: u64,
    /// Multiplier on event rates (1.0 ≈ 200 records per simulated second); in `0.01..=100`.
    pub activity: f64,
}

/// 2024-01-02T00:00:00Z: a plain weekday, so synthetic tapes sort next to real ones of that era.
const DEFAULT_START: UnixNanos = UnixNanos(1_704_153_600_000_000_000);

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 42,
            duration_ns: 10 * 60 * 1_000_000_000,
            start: DEFAULT_START,
            depth_levels: 20,
            instrument: InstrumentSpec {
                symbol: "SYNUSD".into(),
                venue: "SYNTH".into(),
                price_scale: 2,
                qty_scale: 3,
                tick: Price(1),
                lot: Qty(1),
            },
            start_price: Price(10_000),
            mean_dwell_ns: 180 * 1_000_000_000,
            activity: 1.0,
        }
    }
}

impl SynthConfig {
    /// Checks every field, so that generation itself cannot fail or overflow.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |what: String| Err(SynthError::Config(what));
        if self.duration_ns == 0 {
            return bad("duration must be positive".into());
        }
        if !(1..=MAX_DEPTH_LEVELS).contains(&self.depth_levels) {
            return bad(format!("depth_levels is {}, must be 1 to {MAX_DEPTH_LEVELS}", self.depth_levels));
        }
        if !self.start.is_known() {
            return bad("start time 0 means 'unknown' on a tape; give a real start time".into());
        }
        // Room after the end for feed latency, so local times cannot overflow.
        const SLACK_NS: u64 = 3_600 * 1_000_000_000;
        if self.start.0.checked_add(self.duration_ns).and_then(|t| t.checked_add(SLACK_NS)).is_none() {
            return bad(format!(
                "start {} + duration {} ns overflows 64-bit nanoseconds",
                self.start, self.duration_ns
            ));
        }
        if let Err(e) = self.instrument.validate() {
            return bad(format!("instrument: {e}"));
        }
        let (tick, lot) = (self.instrument.tick.0, self.instrument.lot.0);
        if lot > i64::MAX / book::MAX_LOTS {
            return bad(format!("lot {lot} is too large; sizes of up to {} lots must fit in 64 bits", book::MAX_LOTS));
        }
        let min_ticks = 4 * self.depth_levels as i64 + 64;
        let p = self.start_price.0;
        if p <= 0 || p % tick != 0 || p / tick < min_ticks {
            return bad(format!(
                "start_price {p} must be a positive multiple of the tick {tick} and at least {min_ticks} ticks \
                 (4 × depth_levels + 64) so the bid ladder stays at positive prices"
            ));
        }
        if p > i64::MAX / 64 {
            return bad(format!("start_price {p} is too large; prices may reach 20× it and must fit in 64 bits"));
        }
        if self.mean_dwell_ns == 0 {
            return bad("mean_dwell_ns must be positive".into());
        }
        if !(0.01..=100.0).contains(&self.activity) {
            return bad(format!("activity {} must be between 0.01 and 100", self.activity));
        }
        Ok(())
    }
}

/// Why a synthetic tape could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("invalid synth config: {0}")]
    Config(String),
    #[error(transparent)]
    Tape(#[from] TapeError),
}

/// What [`write_tape`] wrote, with the planted ground truth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthReport {
    pub path: PathBuf,
    pub records: u64,
    /// File size in bytes.
    pub bytes: u64,
    pub counts: RecordCounts,
    /// The regime spans, in order, tiling `[start, start + duration)` in venue time.
    pub regimes: Vec<RegimeSpan>,
}

/// Generates the market of `cfg` into a new tape at `out`, streaming (constant memory). The tape
/// appears at `out` only when complete (see [`TapeWriter`]).
pub fn write_tape(cfg: &SynthConfig, out: &Path) -> Result<SynthReport, SynthError> {
    let mut synth = Synth::new(cfg)?;
    let mut writer = TapeWriter::create(out, 1)?;
    let id = writer.add_instrument(synth.instrument())?;
    for mut record in synth.by_ref() {
        record.header.instrument = id;
        writer.write(record)?;
    }
    let written = writer.finish()?;
    Ok(SynthReport {
        path: written.path,
        records: written.records,
        bytes: written.bytes,
        counts: synth.counts(),
        regimes: synth.regimes().to_vec(),
    })
}
