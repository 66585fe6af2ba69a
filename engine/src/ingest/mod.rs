//! Ingest: where events enter the hot side. A [`Source`] hands out [`MarketEvent`]s stamped with
//! strategy time (from a [`Clock`]) and a TSC stamp for latency. Paper mode reads a tape
//! ([`TapeSource`]); the live gateway will be another `Source` behind the same trait.

mod pace;

pub use pace::Speed;

use crate::clock::{Clock, Stopwatch, TapeClock};
use crate::event::MarketEvent;
use crate::pipeline::StopFlag;
use crate::tape::Tape;
use pace::Pacer;
use std::sync::Arc;

/// Where events come from.
pub trait Source: Send {
    /// The next event, or `None` when the feed has ended (or the run was asked to stop).
    fn next_event(&mut self) -> Option<MarketEvent>;
}

/// Replays a memory-mapped tape, in order, at full speed or paced to tape time.
#[derive(Debug)]
pub struct TapeSource {
    tape: Arc<Tape>,
    next: usize,
    clock: TapeClock,
    stopwatch: Stopwatch,
    pacer: Pacer,
    stop: StopFlag,
    /// Events before this index are replayed at full speed whatever the pace (a resumed run
    /// catching up with its journal); pacing starts after them.
    catch_up: usize,
}

impl TapeSource {
    /// `stop` ends the replay early when set (Ctrl-C, a journal error on another thread).
    pub fn new(tape: Arc<Tape>, speed: Speed, stop: StopFlag) -> Self {
        TapeSource {
            tape,
            next: 0,
            clock: TapeClock::default(),
            stopwatch: Stopwatch::new(),
            pacer: Pacer::new(speed),
            stop,
            catch_up: 0,
        }
    }

    /// Replays the first `events` events unpaced (a resumed run catching up), then paces the rest
    /// from there.
    pub fn catch_up(&mut self, events: u64) {
        self.catch_up = usize::try_from(events).unwrap_or(usize::MAX);
    }
}

impl Source for TapeSource {
    #[inline]
    fn next_event(&mut self) -> Option<MarketEvent> {
        let record = *self.tape.records().get(self.next)?;
        if self.stop.is_set() {
            return None;
        }
        let ts = self.clock.stamp_event(record.header.ts_local);
        if self.next >= self.catch_up && !self.pacer.wait_for(ts, &self.stopwatch, &self.stop) {
            return None;
        }
        let seq = self.next as u64;
        self.next += 1;
        Some(MarketEvent { seq, ts, stamp: self.stopwatch.stamp(), record })
    }
}
