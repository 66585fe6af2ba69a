//! The batch reference, shared with the root package's tape tests.

use kestrel_engine::features::profile::{CROSS_CAPACITY, RANGE_HISTORY};
use kestrel_engine::features::{FeatureSettings, FeatureVector, idx};
use kestrel_engine::tape::{RawRecord, Record};
use kestrel_engine::types::{Aggressor, InstrumentSpec};

/// The profile features in schema order: the reference's output layout.
pub const FIRST: usize = idx::POC_DISTANCE_TICKS;
pub const COUNT: usize = idx::CVD_SLOPE_15M - idx::POC_DISTANCE_TICKS + 1;
pub const NAMES: [&str; COUNT] = [
    "poc_distance_ticks",
    "vah_distance_ticks",
    "val_distance_ticks",
    "poc_crosses_5m",
    "poc_crosses_15m",
    "poc_crosses_30m",
    "secs_since_poc_cross",
    "poc_side",
    "time_above_value",
    "time_below_value",
    "time_inside_value",
    "session_range_ticks",
    "session_range_pctl",
    "cvd",
    "cvd_slope_5m",
    "cvd_slope_15m",
];
const MIN: u64 = 60_000_000_000;
const CROSS_WINDOWS: [u64; 3] = [5 * MIN, 15 * MIN, 30 * MIN];
const SLOPE_WINDOWS: [u64; 2] = [5 * MIN, 15 * MIN];

/// One event of one instrument, as the reference needs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ev {
    pub ts: u64,
    /// bid + ask (price units) of the settled two-sided touch after this event, if any.
    pub touch_mid2: Option<i64>,
    pub trade: Option<Tr>,
}

/// A trade in fixed point; `sign` +1 buyer-initiated, −1 seller-initiated, 0 unknown.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tr {
    pub px: i64,
    pub qty: i64,
    pub sign: i64,
}

/// Everything the definitions depend on.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Tick and base-unit size: price units per tick, base units per quantity unit.
    pub tick: i64,
    pub qty_unit: f64,
    pub max_ticks: usize,
    pub bar_ns: u64,
    pub session_ns: u64,
    pub session_offset_ns: u64,
    /// Range-percentile slot length and slots per session.
    pub slot_ns: u64,
    pub slots: usize,
}

impl Params {
    /// For an instrument and the settings; `slot_ns` / `slots` for the bar and session lengths
    /// the calculator was built with (worked out here, not taken from the engine).
    pub fn new(spec: &InstrumentSpec, s: &FeatureSettings, calc_bar_ns: u64, calc_session_ns: u64) -> Params {
        let mut slot_ns = calc_bar_ns;
        if calc_session_ns.div_ceil(slot_ns) > 2880 {
            slot_ns = calc_session_ns.div_ceil(2880);
        }
        Params {
            tick: spec.tick.0,
            qty_unit: 10f64.powi(-i32::from(spec.qty_scale)),
            max_ticks: s.profile_ticks,
            bar_ns: s.bar_ns,
            session_ns: s.session_ns,
            session_offset_ns: s.session_offset_ns,
            slot_ns,
            slots: calc_session_ns.div_ceil(slot_ns) as usize,
        }
    }
}

fn session_of(p: &Params, ts: u64) -> u64 {
    let off = p.session_offset_ns % p.session_ns;
    let shifted = ts.saturating_sub(off);
    shifted / p.session_ns * p.session_ns + off
}

/// The nearest tick of a price, half a tick up.
fn tick_of(px: i64, tick: i64) -> i64 {
    let (q, r) = (px.div_euclid(tick), px.rem_euclid(tick));
    if 2 * r >= tick { q + 1 } else { q }
}

/// POC of a histogram (tick → volume): most volume, lowest tick on ties.
fn poc(hist: &std::collections::BTreeMap<i64, u64>) -> Option<i64> {
    let mut best: Option<(i64, u64)> = None;
    for (&t, &v) in hist {
        if best.is_none_or(|(_, bv)| v > bv) {
            best = Some((t, v));
        }
    }
    best.map(|b| b.0)
}

/// Value area of a histogram grown from its POC: the larger neighbour, below on ties, within
/// the traded extent, until ≥ 70 % of the volume.
fn value_area(hist: &std::collections::BTreeMap<i64, u64>) -> Option<(i64, i64)> {
    let p = poc(hist)?;
    let total: u64 = hist.values().sum();
    let (min, max) = (*hist.keys().next()?, *hist.keys().next_back()?);
    let vol = |t: i64| hist.get(&t).copied().unwrap_or(0);
    let (mut lo, mut hi, mut covered) = (p, p, vol(p));
    while u128::from(covered) * 10 < u128::from(total) * 7 {
        let below = if lo > min { Some(vol(lo - 1)) } else { None };
        let above = if hi < max { Some(vol(hi + 1)) } else { None };
        let take_below = match (below, above) {
            (Some(b), Some(a)) => b >= a,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => panic!("value area cannot grow: covered {covered} of {total}"),
        };
        if take_below {
            lo -= 1;
            covered += vol(lo);
        } else {
            hi += 1;
            covered += vol(hi);
        }
    }
    Some((lo, hi))
}

/// Per-event series that the windowed features are recomputed from.
#[derive(Debug)]
pub struct Reference {
    p: Params,
    ts: Vec<u64>,
    /// Session start and index of the session's first event.
    session: Vec<u64>,
    s0: Vec<usize>,
    bar_close: Vec<bool>,
    /// The carried mid (bid + ask).
    mid: Vec<Option<i64>>,
    poc: Vec<Option<i64>>,
    /// The value area in effect after the event.
    va: Vec<Option<(i64, i64)>>,
    /// sign(mid − POC).
    side: Vec<Option<i64>>,
    /// CVD before and after the event's trade (quantity units).
    cvd_before: Vec<i64>,
    cvd: Vec<i64>,
    /// Sessions in order: (start, first event, last event).
    sessions: Vec<(u64, usize, usize)>,
    /// Index into `sessions` of each event's session.
    session_no: Vec<usize>,
    /// Trades outside their session's histogram window.
    dropped: usize,
}

impl Reference {
    /// Builds the per-event series of `evs` (one instrument, in order).
    pub fn new(evs: &[Ev], p: Params) -> Reference {
        let n = evs.len();
        let mut r = Reference {
            p,
            ts: evs.iter().map(|e| e.ts).collect(),
            session: Vec::with_capacity(n),
            s0: Vec::with_capacity(n),
            bar_close: Vec::with_capacity(n),
            mid: Vec::with_capacity(n),
            poc: Vec::with_capacity(n),
            va: Vec::with_capacity(n),
            side: Vec::with_capacity(n),
            cvd_before: Vec::with_capacity(n),
            cvd: Vec::with_capacity(n),
            sessions: Vec::new(),
            session_no: Vec::with_capacity(n),
            dropped: 0,
        };
        let mut hist = std::collections::BTreeMap::<i64, u64>::new();
        let mut window: Option<(i64, i64)> = None;
        let (mut mid, mut cvd, mut va, mut cur_poc) = (None, 0i64, None, None);
        for (k, e) in evs.iter().enumerate() {
            let start = session_of(&p, e.ts);
            let new_session = k == 0 || r.session[k - 1] != start;
            if new_session {
                r.sessions.push((start, k, k));
                hist.clear();
                window = None;
                cvd = 0;
                va = None;
                cur_poc = None;
            }
            let s = r.sessions.len() - 1;
            r.sessions[s].2 = k;
            r.session_no.push(s);
            r.session.push(start);
            r.s0.push(r.sessions[s].1);
            let closes = k > 0 && e.ts / p.bar_ns != evs[k - 1].ts / p.bar_ns;
            r.bar_close.push(closes);
            r.cvd_before.push(cvd);
            let mut first_trade = false;
            if let Some(tr) = e.trade.filter(|t| t.qty > 0) {
                let t = tick_of(tr.px, p.tick);
                if window.is_none() {
                    first_trade = true;
                    let low = t - (p.max_ticks / 2) as i64;
                    window = Some((low, low + p.max_ticks as i64 - 1));
                }
                let (low, high) = window.unwrap();
                if (low..=high).contains(&t) {
                    *hist.entry(t).or_insert(0) += tr.qty as u64;
                } else {
                    r.dropped += 1;
                }
                cvd += tr.sign * tr.qty;
                cur_poc = poc(&hist);
            }
            if e.touch_mid2.is_some() {
                mid = e.touch_mid2;
            }
            if (first_trade || closes) && !hist.is_empty() {
                va = value_area(&hist);
            }
            r.cvd.push(cvd);
            r.mid.push(mid);
            r.poc.push(cur_poc);
            r.va.push(va);
            r.side.push(match (mid, cur_poc) {
                (Some(m), Some(c)) => Some((m - 2 * c * p.tick).signum()),
                _ => None,
            });
        }
        r
    }

    pub fn events(&self) -> usize {
        self.ts.len()
    }

    /// Trades left out of the histograms (outside their session's window).
    pub fn dropped_trades(&self) -> usize {
        self.dropped
    }

    /// Whether event `k` closed a bar.
    pub fn closes_bar(&self, k: usize) -> bool {
        self.bar_close[k]
    }

    fn slot(&self, elapsed: u64) -> usize {
        ((elapsed / self.p.slot_ns) as usize).min(self.p.slots - 1)
    }

    fn relation(&self, j: usize) -> Option<usize> {
        let (m, (low, high)) = (self.mid[j]?, self.va[j]?);
        let t = self.p.tick;
        Some(if m > 2 * high * t {
            0
        } else if m < 2 * low * t {
            1
        } else {
            2
        })
    }

    /// Range (bid + ask units) of session `s` over its events `j` with `keep(j)`.
    fn range_of(&self, s: usize, keep: impl Fn(usize) -> bool) -> Option<i64> {
        let (_, a, b) = self.sessions[s];
        let mids = (a..=b).filter(|&j| keep(j)).filter_map(|j| self.mid[j]);
        let (lo, hi) = mids.fold((i64::MAX, i64::MIN), |(lo, hi), m| (lo.min(m), hi.max(m)));
        (lo <= hi).then(|| hi - lo)
    }

    /// The profile features after event `k`, recomputed from the history.
    pub fn features_at(&self, k: usize) -> [f64; COUNT] {
        let p = &self.p;
        let (s0, now) = (self.s0[k], self.ts[k]);
        let to_ticks = |d2: i64| d2 as f64 / (2 * p.tick) as f64;
        let dist = |level: Option<i64>| match (self.mid[k], level) {
            (Some(m), Some(l)) => to_ticks(m - 2 * l * p.tick),
            _ => f64::NAN,
        };
        let mut f = [f64::NAN; COUNT];
        f[0] = dist(self.poc[k]);
        f[1] = dist(self.va[k].map(|v| v.1));
        f[2] = dist(self.va[k].map(|v| v.0));

        // One scan of the session's history up to k (kept to one pass: the tape tests run
        // it over hundreds of thousands of events, unoptimised).
        let mut last_side = 0; // crosses: the last non-zero side
        let mut crosses = Vec::new();
        let mut time = [0u64; 3]; // above, below, inside
        let (mut lo, mut hi) = (i64::MAX, i64::MIN); // range
        let mut anchors = [None; 2]; // CVD snapshots at least 5 and 15 minutes old
        for j in s0..=k {
            if let Some(s) = self.side[j].filter(|&s| s != 0) {
                if last_side != 0 && s != last_side {
                    crosses.push(self.ts[j]);
                }
                last_side = s;
            }
            if j > s0
                && let Some(rel) = self.relation(j - 1)
            {
                time[rel] += self.ts[j] - self.ts[j - 1];
            }
            if let Some(m) = self.mid[j] {
                (lo, hi) = (lo.min(m), hi.max(m));
            }
            if j == s0 || self.bar_close[j] {
                for (w, window) in SLOPE_WINDOWS.iter().enumerate() {
                    if self.ts[j] + window <= now {
                        anchors[w] = Some(j);
                    }
                }
            }
        }

        if let Some(side) = self.side[k] {
            for (w, window) in CROSS_WINDOWS.iter().enumerate() {
                let inside = crosses.iter().filter(|&&t| t + window > now).count();
                f[3 + w] = inside.min(CROSS_CAPACITY) as f64;
            }
            f[7] = side as f64;
        }
        if let Some(&last) = crosses.last() {
            f[6] = (now - last) as f64 / 1e9;
        }

        let known: u64 = time.iter().sum();
        if known > 0 {
            for (i, t) in time.iter().enumerate() {
                f[8 + i] = *t as f64 / known as f64;
            }
        }

        // Range and percentile.
        let s = self.session_no[k];
        if lo <= hi {
            let r = hi - lo;
            f[11] = to_ticks(r);
            let slot = self.slot(now - self.session[k]);
            let (mut below, mut known) = (0, 0);
            for prev in s.saturating_sub(RANGE_HISTORY)..s {
                let start = self.sessions[prev].0;
                if let Some(pr) = self.range_of(prev, |j| self.slot(self.ts[j] - start) <= slot) {
                    known += 1;
                    below += usize::from(pr < r);
                }
            }
            if known > 0 {
                f[12] = below as f64 / known as f64;
            }
        }

        // CVD and its slopes from the snapshots (session start, bar closes).
        f[13] = self.cvd[k] as f64 * p.qty_unit;
        for (w, anchor) in anchors.into_iter().enumerate() {
            if let Some(j) = anchor {
                let minutes = (now - self.ts[j]) as f64 / 60e9;
                f[14 + w] = (self.cvd[k] - self.cvd_before[j]) as f64 * p.qty_unit / minutes;
            }
        }
        f
    }
}

/// Equal, both NaN, or (shares, slopes, percentile) within 1e-12 relative.
pub fn same(feature: usize, got: f64, want: f64) -> bool {
    if got.is_nan() || want.is_nan() {
        return got.is_nan() && want.is_nan();
    }
    let tolerant = matches!(feature, 8..=10 | 12 | 14 | 15);
    got == want || (tolerant && (got - want).abs() <= 1e-12 * want.abs().max(1.0))
}

/// Compares engine output `got` (the whole feature vector) with the reference at event `k`;
/// returns how many features matched exactly, panics with context on a mismatch.
pub fn assert_matches(reference: &Reference, k: usize, got: &FeatureVector, context: &str) -> usize {
    let want = reference.features_at(k);
    let mut exact = 0;
    for i in 0..COUNT {
        let g = got.get(FIRST + i);
        assert!(
            same(i, g, want[i]),
            "{context}: event {k} (ts {}): {} = {g}, reference {}\nall got:  {:?}\nall want: {:?}",
            reference.ts[k],
            NAMES[i],
            want[i],
            &got.0[FIRST..FIRST + COUNT],
            want
        );
        exact += usize::from(g == want[i] || (g.is_nan() && want[i].is_nan()));
    }
    exact
}

/// The reference's view of one tape record, given the touch after it.
pub fn ev_of(record: &RawRecord, touch_mid2: Option<i64>) -> Ev {
    let trade = match record.view() {
        Some(Record::Trade(t)) => Some(Tr {
            px: t.px.0,
            qty: t.qty.0,
            sign: match t.aggressor() {
                Aggressor::Buy => 1,
                Aggressor::Sell => -1,
                Aggressor::Unknown => 0,
            },
        }),
        _ => None,
    };
    Ev { ts: record.header.ts_local.0, touch_mid2, trade }
}
