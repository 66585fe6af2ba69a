//! Volume-profile features of the session: point of control (POC), value area, POC crosses, time
//! spent above / below / inside value, session range and its percentile, cumulative volume delta.
//!
//! # Definitions
//!
//! Everything is per instrument and per session, and resets on the session's first event
//! (`Tick::new_session`), except the mid, which carries over, and the table of previous sessions'
//! ranges. Prices are compared in exact fixed point: the mid is `(bid + ask) / 2` of the touch, a
//! trade's price and size are the tape's integers, and only the outputs are floats.
//!
//! - **Mid.** The mid of the latest event whose book was two-sided and settled (`Tick::touch`),
//!   this one or an earlier one, possibly of an earlier session; undefined before the first.
//! - **Histogram.** Each trade of size > 0 adds its size to the bucket of its price rounded to the
//!   nearest tick (half a tick rounds up). The histogram is a fixed array of `max_ticks` buckets;
//!   the session's first trade sits at bucket `max_ticks / 2`, so the window covers ticks
//!   `first − max_ticks/2 ..= first + (max_ticks − 1) − max_ticks/2`. A trade outside it is **not
//!   counted** in the histogram (nor in the value area's total); it still counts in the CVD, and
//!   [`ProfileFeatures::dropped_trades`] counts it (runs and `kestrel features` report the count).
//!   The default 200,000 ticks (1.6 MB) span ±1,000 USD at a 0.01 tick, ±10,000 USD at 0.10.
//! - **POC.** The tick with the most volume; on a tie the **lowest** of the tied ticks, so the POC
//!   is a function of the histogram alone. Kept after every trade in O(1) (volumes only grow within
//!   a session, so the POC can only become the bucket just added). Undefined until the session has
//!   counted volume.
//! - **Value area** (VAL ..= VAH, ticks). Start with the POC's tick; while it holds less than 70 %
//!   of the counted volume (`covered · 10 < total · 7`, exact integers), add the next tick below
//!   or the next tick above, whichever has more volume (**below on a tie**, empty ticks included;
//!   a side past the lowest / highest traded tick of the session is not taken). It is recomputed
//!   **only** on the event carrying the session's first counted trade and on every event that
//!   closes a bar (`Tick::closed_bar`), from all the session's trades up to and including that
//!   event, and held in between: so between bar closes the POC (live) may lie outside the held
//!   value area. A recomputation steps at most once per tick between the session's lowest and
//!   highest traded ticks, so it is bounded by the histogram width (and usually far less).
//! - **Distances** POC / VAH / VAL = `(mid − level) / tick`, NaN without a mid or the level.
//! - **POC side** = sign(mid − POC): +1, −1, or 0 when the mid is exactly at the POC's price.
//!   NaN without both.
//! - **POC crosses.** The side is evaluated after every event (once both are defined). A cross is
//!   the side becoming +1 when the last non-zero side of the session was −1, or the reverse; the
//!   event's time is the cross's time. A 0 (touching) neither counts nor resets: +1 → 0 → +1 is no
//!   cross, +1 → 0 → −1 is one cross, when it reaches −1. The side may flip because the mid moved
//!   or because the POC moved past the mid; both count. POC_CROSSES_{5,15,30}M = crosses of the
//!   session with time in `(now − W, now]` (the window does not reach into the previous session),
//!   NaN until the side is defined in the session. The ring keeps the last [`CROSS_CAPACITY`]
//!   cross times: counts are exact up to that many crosses in a window and saturate at it beyond.
//!   SECS_SINCE_POC_CROSS = now − last cross of the session, in seconds, NaN before the first.
//! - **Time above / below / inside value.** After each event the mid's relation to the held value
//!   area is noted: above if mid > VAH's price, below if mid < VAL's price, inside otherwise. The
//!   time from one event of the session to the next is credited to the relation noted at the
//!   earlier one (none when it was undefined). Each feature is its credited time over the sum of
//!   the three, so they sum to 1: shares of the session time during which the relation was known
//!   (NaN until some time has been credited). The time before the session's first event, and from
//!   the previous session's last event, is not counted.
//! - **Session range** = (highest − lowest mid over the session's events) / tick, the mid being the
//!   carried mid above; NaN before the session has one.
//! - **Session-range percentile.** The session is cut into slots of one bar length from its start
//!   (slot `j` = elapsed time in `[j · bar, (j + 1) · bar)`; the last slot takes everything beyond;
//!   for sessions of more than [`MAX_RANGE_SLOTS`] bars the slots are widened to
//!   `ceil(session / MAX_RANGE_SLOTS)`). For each of the last [`RANGE_HISTORY`] sessions that had
//!   events, the table keeps its range at the end of every slot (over its events with elapsed time
//!   below `(j + 1) · slot`; a session's last value fills its remaining slots; slots before its first
//!   mid are undefined). SESSION_RANGE_PCTL = among those previous sessions with a range at the
//!   current event's slot, the share whose range there was **strictly smaller** than the current
//!   range now. NaN in the first session, or when no previous session had a mid by that slot.
//! - **CVD** = buyer-initiated minus seller-initiated volume of the session's trades (unknown
//!   aggressors count 0), in base units; 0 from the session's first event.
//! - **CVD slopes.** A snapshot (time, CVD) is taken on the session's first event and on every
//!   event that closes a bar, before that event's own trade: the CVD at the bar's end, stamped with
//!   the closing event's time. CVD_SLOPE_{5,15}M = (CVD now − CVD of the newest snapshot at or
//!   before now − W) / (minutes from that snapshot to now): a rate in base units per minute over
//!   at least W. NaN until the session has such a snapshot.
//!
//! # Cost
//!
//! Memory is fixed at construction: the histogram (8 bytes a tick), the cross ring (32 KB), the
//! CVD snapshot ring ([`CVD_CAPACITY`], 16 KB) and the range table (`31 × slots × 8` bytes; 357 KB
//! for a day of minute bars). Per event: O(1) amortized: the POC update is O(1), the cross and CVD
//! windows advance pointers (each cross or snapshot leaves each window once), the range row gets
//! one write per slot over a whole session, and the percentile compares at most 30 values, only
//! when the slot or the range changed. Per bar close: one value-area recomputation, bounded by the
//! histogram width. Per session: zeroing the used part of the histogram and closing the range row,
//! bounded by the width and the slot count. No allocation, formatting or locking after
//! [`ProfileFeatures::with_lengths`]; the same input gives the same output bit for bit.

mod crosses;
mod cvd;
mod histogram;
mod range;

pub use crosses::{CROSS_CAPACITY, CROSS_WINDOWS_NS};
pub use cvd::{CVD_CAPACITY, CVD_WINDOWS_NS};
pub use range::{MAX_RANGE_SLOTS, RANGE_HISTORY, range_slots};

use super::schema::{FeatureVector, idx};
use super::tick::Tick;
use crate::tape::Record;
use crate::types::Aggressor;
use crosses::Crosses;
use cvd::Cvd;
use histogram::Histogram;
use range::RangeTable;

/// Bar length [`ProfileFeatures::new`] assumes (the `FeatureSettings` default).
pub const DEFAULT_BAR_NS: u64 = 60_000_000_000;
/// Session length [`ProfileFeatures::new`] assumes (the `FeatureSettings` default).
pub const DEFAULT_SESSION_NS: u64 = 86_400_000_000_000;

/// Where the mid stood against the held value area after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    Above = 0,
    Below = 1,
    Inside = 2,
}

/// The volume-profile calculator of one instrument. See the module documentation for the exact
/// definitions.
#[derive(Clone, Debug)]
pub struct ProfileFeatures {
    hist: Histogram,
    crosses: Crosses,
    range: RangeTable,
    cvd: Cvd,
    /// A session has started (its first event was seen).
    in_session: bool,
    /// The held value area, in ticks (low, high).
    value_area: Option<(i64, i64)>,
    /// The carried mid, as bid + ask in price units (twice the mid: exact).
    mid2: Option<i64>,
    /// The session's lowest and highest `mid2`.
    low2: i64,
    high2: i64,
    has_range: bool,
    /// Time of the session's previous event and the relation noted after it.
    prev_ts: Option<u64>,
    held: Option<Relation>,
    /// Time credited above, below and inside value this session, in ns.
    time_ns: [u64; 3],
    /// The last percentile computed, for (slot, range): the previous sessions' rows do not change
    /// within a session, so it is recomputed only when the slot or the range moves.
    pctl: Option<(usize, i64, f64)>,
}

impl ProfileFeatures {
    /// `max_ticks`: width of the price histogram, in ticks, centred on the session's first trade.
    /// Assumes the default bar and session lengths ([`DEFAULT_BAR_NS`], [`DEFAULT_SESSION_NS`]) for
    /// the range-percentile slots; use [`ProfileFeatures::with_lengths`] to pass the configured
    /// ones.
    pub fn new(max_ticks: usize) -> Self {
        Self::with_lengths(max_ticks, DEFAULT_BAR_NS, DEFAULT_SESSION_NS)
    }

    /// `max_ticks`: histogram width in ticks; `bar_ns`: the bar length (the range-percentile slot);
    /// `session_ns`: the session length (slots per session). Allocates every buffer the calculator
    /// will ever use.
    pub fn with_lengths(max_ticks: usize, bar_ns: u64, session_ns: u64) -> Self {
        ProfileFeatures {
            hist: Histogram::new(max_ticks),
            crosses: Crosses::new(),
            range: RangeTable::new(bar_ns, session_ns),
            cvd: Cvd::new(),
            in_session: false,
            value_area: None,
            mid2: None,
            low2: 0,
            high2: 0,
            has_range: false,
            prev_ts: None,
            held: None,
            time_ns: [0; 3],
            pctl: None,
        }
    }

    /// Trades not counted in the histogram because their price fell outside its window, since
    /// construction.
    pub fn dropped_trades(&self) -> u64 {
        self.hist.dropped_trades()
    }

    /// Their total size, in fixed-point quantity units (saturating).
    pub fn dropped_qty(&self) -> u64 {
        self.hist.dropped_qty()
    }

    /// Width of the histogram, in ticks.
    pub fn max_ticks(&self) -> usize {
        self.hist.width()
    }

    /// The session's POC, as a tick index (price / tick).
    pub fn poc_tick(&self) -> Option<i64> {
        self.hist.poc_tick()
    }

    /// The held value area, as tick indices (low, high), inclusive.
    pub fn value_area_ticks(&self) -> Option<(i64, i64)> {
        self.value_area
    }

    /// Length of a range-percentile slot, and slots per session.
    pub fn range_slots(&self) -> (u64, usize) {
        (self.range.slot_ns(), self.range.slots())
    }

    /// The current session range in units of bid + ask (−1 when undefined).
    fn range2(&self) -> i64 {
        if self.has_range { self.high2 - self.low2 } else { -1 }
    }

    fn start_session(&mut self) {
        if self.in_session {
            let last = self.range2();
            self.range.end_session(last);
        }
        self.in_session = true;
        self.hist.reset();
        self.crosses.reset();
        self.cvd.reset();
        self.value_area = None;
        self.has_range = false;
        self.prev_ts = None;
        self.held = None;
        self.time_ns = [0; 3];
        self.pctl = None;
    }

    /// Takes one event of the instrument and writes all 16 profile features into `out` (NaN where
    /// undefined, so that nothing stale survives from an earlier event).
    #[inline]
    pub fn update(&mut self, t: &Tick<'_>, out: &mut FeatureVector) {
        let ts = t.ts.0;
        let u = t.units;
        // The tick in price units: an exact integer (Units::of multiplies it by the price unit).
        let tick = ((u.tick / u.price).round() as i64).max(1);
        let first_event = t.new_session || !self.in_session;
        if first_event {
            self.start_session();
        }

        // 1. Time since the previous event goes to the relation held before this one.
        if let (Some(prev), Some(rel)) = (self.prev_ts, self.held) {
            let slot = &mut self.time_ns[rel as usize];
            *slot = slot.saturating_add(ts.saturating_sub(prev));
        }
        self.prev_ts = Some(ts);

        // 2. Range slots that ended before this event take the range so far.
        let slot = self.range.slot_of(ts.saturating_sub(t.session_start.0));
        let range_before = self.range2();
        self.range.enter(slot, range_before);

        // 3. CVD snapshot at the session's start and at a bar close, before this event's trade.
        if first_event || t.closed_bar.is_some() {
            self.cvd.snapshot(ts);
        }

        // 4. The trade.
        let mut first_trade = false;
        if let Some(tr) = t.trade {
            let (px, qty) = match t.record.view() {
                Some(Record::Trade(r)) => (r.px.0, r.qty.0),
                // A hand-built tick: back to fixed point from the floats.
                _ => ((tr.px / u.price).round() as i64, (tr.qty / u.qty).round() as i64),
            };
            if qty > 0 {
                first_trade = !self.hist.started();
                // Nearest tick, half up: floor((2·px + tick) / (2·tick)).
                let at = (2 * px + tick).div_euclid(2 * tick);
                self.hist.add(at, qty as u64);
                match tr.aggressor {
                    Aggressor::Buy => self.cvd.add(qty),
                    Aggressor::Sell => self.cvd.add(-qty),
                    Aggressor::Unknown => {}
                }
            }
        }

        // 5. The mid and the session's range.
        if let Some(touch) = t.touch {
            self.mid2 = Some(touch.bid.px.0 + touch.ask.px.0);
        }
        if let Some(m) = self.mid2 {
            if self.has_range {
                self.low2 = self.low2.min(m);
                self.high2 = self.high2.max(m);
            } else {
                (self.low2, self.high2, self.has_range) = (m, m, true);
            }
        }

        // 6. The value area, at bar closes and at the session's first trade.
        if (first_trade || t.closed_bar.is_some()) && self.hist.total() > 0 {
            self.value_area = self.hist.value_area();
        }

        // 7. Levels against the mid.
        let to_ticks = |diff2: i64| diff2 as f64 / (2 * tick) as f64;
        let poc = self.hist.poc_tick();
        let side = match (self.mid2, poc) {
            (Some(m), Some(p)) => Some((m - 2 * p * tick).signum() as i8),
            _ => None,
        };
        let dist = |level: Option<i64>| match (self.mid2, level) {
            (Some(m), Some(l)) => to_ticks(m - 2 * l * tick),
            _ => f64::NAN,
        };
        out.set(idx::POC_DISTANCE_TICKS, dist(poc));
        out.set(idx::VAH_DISTANCE_TICKS, dist(self.value_area.map(|v| v.1)));
        out.set(idx::VAL_DISTANCE_TICKS, dist(self.value_area.map(|v| v.0)));

        // 8. Crosses.
        let (c5, c15, c30, side_f) = match side {
            Some(s) => {
                self.crosses.observe(ts, s);
                let [a, b, c] = self.crosses.counts(ts);
                (a as f64, b as f64, c as f64, f64::from(s))
            }
            None => (f64::NAN, f64::NAN, f64::NAN, f64::NAN),
        };
        out.set(idx::POC_CROSSES_5M, c5);
        out.set(idx::POC_CROSSES_15M, c15);
        out.set(idx::POC_CROSSES_30M, c30);
        out.set(idx::POC_SIDE, side_f);
        let since = self.crosses.last().map_or(f64::NAN, |c| ts.saturating_sub(c) as f64 / 1e9);
        out.set(idx::SECS_SINCE_POC_CROSS, since);

        // 9. Time against value: note the relation after this event, report the shares so far.
        self.held = match (self.mid2, self.value_area) {
            (Some(m), Some((_, high))) if m > 2 * high * tick => Some(Relation::Above),
            (Some(m), Some((low, _))) if m < 2 * low * tick => Some(Relation::Below),
            (Some(_), Some(_)) => Some(Relation::Inside),
            _ => None,
        };
        let known = self.time_ns.iter().fold(0u64, |a, b| a.saturating_add(*b));
        let share = |i: Relation| if known == 0 { f64::NAN } else { self.time_ns[i as usize] as f64 / known as f64 };
        out.set(idx::TIME_ABOVE_VALUE, share(Relation::Above));
        out.set(idx::TIME_BELOW_VALUE, share(Relation::Below));
        out.set(idx::TIME_INSIDE_VALUE, share(Relation::Inside));

        // 10. Range and its percentile.
        let range2 = self.range2();
        out.set(idx::SESSION_RANGE_TICKS, if range2 < 0 { f64::NAN } else { to_ticks(range2) });
        let pctl = match self.pctl {
            Some((at, r, v)) if at == slot && r == range2 => v,
            _ => {
                let v = self.range.percentile(slot, range2);
                self.pctl = Some((slot, range2, v));
                v
            }
        };
        out.set(idx::SESSION_RANGE_PCTL, pctl);

        // 11. CVD.
        out.set(idx::CVD, self.cvd.value() as f64 * u.qty);
        let [s5, s15] = self.cvd.slopes(ts, u.qty);
        out.set(idx::CVD_SLOPE_5M, s5);
        out.set(idx::CVD_SLOPE_15M, s15);
    }
}
