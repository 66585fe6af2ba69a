//! Tape → rows: the tape replayed by the engine's `TapeSource` at full speed (the same strategy-time
//! stamping as a paper run: tape time that never goes backwards) through a `FeatureStage` built from
//! the config's feature settings exactly as `kestrel_engine::paper::build_pipeline` builds it.

use kestrel_engine::features::{FeatureSettings, FeatureStage, FeatureVector};
use kestrel_engine::ingest::{Source, Speed, TapeSource};
use kestrel_engine::pipeline::{RunControl, Stage};
use kestrel_engine::tape::Tape;
use std::sync::Arc;

/// Events between two progress reports.
pub const PROGRESS_EVERY: u64 = 16_384;

/// One row of the matrix: one event and the feature vector of its instrument after it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// The record's index in the tape (the journal's `event_seq` in a paper run).
    pub seq: u64,
    /// Strategy time: the record's local time, never earlier than the previous record's.
    pub ts_ns: u64,
    /// Index into the tape's instrument table.
    pub instrument: u16,
    pub values: FeatureVector,
}

/// Feeds every record of `tape` through a fresh `FeatureStage` and hands each resulting row to `f`,
/// in tape order. Returns the number of events read (the whole tape, unless `control`'s stop flag
/// was set) and the stage's dropped volume-profile trades. `progress` gets the count every
/// [`PROGRESS_EVERY`] events and at the end.
pub fn for_each_row<E>(
    tape: Arc<Tape>,
    settings: &FeatureSettings,
    control: &Arc<RunControl>,
    progress: &mut dyn FnMut(u64),
    mut f: impl FnMut(&Row) -> Result<(), E>,
) -> Result<Replayed, E> {
    let mut stage = FeatureStage::new(tape.instruments(), settings);
    let mut source = TapeSource::new(tape, Speed::Max, control.stop_flag());
    let mut events = 0u64;
    while let Some(event) = source.next_event() {
        let out = stage.on_event(&event);
        let row = Row {
            seq: event.seq,
            ts_ns: event.ts.0,
            instrument: event.record.header.instrument.0,
            values: out.features.values,
        };
        f(&row)?;
        events += 1;
        if events.is_multiple_of(PROGRESS_EVERY) {
            progress(events);
        }
    }
    progress(events);
    Ok(Replayed { events, profile_trades_dropped: stage.profile_trades_dropped() })
}

/// What a replay through the features stage read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replayed {
    pub events: u64,
    /// See `FeatureStage::profile_trades_dropped`.
    pub profile_trades_dropped: u64,
}
