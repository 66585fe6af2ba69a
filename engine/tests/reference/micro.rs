use kestrel_engine::event::MarketEvent;
use kestrel_engine::features::{FEATURES, FeatureSettings, FeatureStage, FeatureVector, idx};
use kestrel_engine::pipeline::Stage;
use kestrel_engine::tape::{RawRecord, Record, RecordKind, flags};
use kestrel_engine::types::{Aggressor, BookSide, InstrumentSpec, UnixNanos};
use std::collections::BTreeMap;

/// The microstructure features, in schema order.
pub const MICRO: [usize; 18] = [
    idx::MID,
    idx::MICROPRICE,
    idx::SPREAD_TICKS,
    idx::SPREAD_BPS,
    idx::IMBALANCE_L1,
    idx::IMBALANCE_DEPTH5,
    idx::IMBALANCE_DEPTH10,
    idx::OFI_1S,
    idx::OFI_10S,
    idx::VOL_EWMA_1S,
    idx::VOL_EWMA_10S,
    idx::VOL_EWMA_60S,
    idx::REALIZED_VOL_5BARS,
    idx::ATR_14,
    idx::ATR_Z,
    idx::TRADE_RATE_10S,
    idx::SIGNED_VOLUME_10S,
    idx::SIGNED_VOLUME_60S,
];

const SEC: f64 = 1e9;

/// Strategy time of every record: tape time that never goes backwards (what `TapeClock` gives).
pub fn event_times(records: &[RawRecord]) -> Vec<u64> {
    let mut now = 0;
    records
        .iter()
        .map(|r| {
            now = now.max(r.header.ts_local.0);
            now
        })
        .collect()
}

/// A touch in fixed point: prices in steps, sizes in lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Touch {
    b: i64,
    qb: i64,
    a: i64,
    qa: i64,
}

/// The market as the features stage is specified to see it: quotes are the touch when the tape
/// has any; otherwise the L2 book's best levels once the batch is complete; a touch only when
/// two-sided with positive sizes and bid < ask.
#[derive(Debug, Default)]
struct Market {
    has_quotes: bool,
    quote: Option<Touch>,
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    in_batch: bool,
}

impl Market {
    fn apply(&mut self, r: &RawRecord) {
        match r.view() {
            Some(Record::Quote(q)) => {
                self.has_quotes = true;
                self.quote = Some(Touch { b: q.bid_px.0, qb: q.bid_qty.0, a: q.ask_px.0, qa: q.ask_qty.0 });
            }
            Some(Record::Level(l)) => {
                let book = if l.side() == BookSide::Bid { &mut self.bids } else { &mut self.asks };
                if l.qty.0 > 0 {
                    book.insert(l.px.0, l.qty.0);
                } else {
                    book.remove(&l.px.0);
                }
                self.in_batch = !l.header.has(flags::END_OF_BATCH);
            }
            Some(Record::Clear(_)) => {
                self.bids.clear();
                self.asks.clear();
                self.in_batch = true;
            }
            Some(Record::Trade(_)) | None => {}
        }
    }

    fn touch(&self) -> Option<Touch> {
        let t = if self.has_quotes {
            self.quote?
        } else if self.in_batch {
            return None;
        } else {
            let (&b, &qb) = self.bids.iter().next_back()?;
            let (&a, &qa) = self.asks.iter().next()?;
            Touch { b, qb, a, qa }
        };
        (t.qb > 0 && t.qa > 0 && t.b < t.a).then_some(t)
    }

    /// Summed sizes of the best `n` bid and ask levels; `None` when a side is empty.
    fn depth(&self, n: usize) -> Option<(i64, i64)> {
        if self.bids.is_empty() || self.asks.is_empty() {
            return None;
        }
        Some((self.bids.values().rev().take(n).sum(), self.asks.values().take(n).sum()))
    }
}

/// What one event leaves behind, as plain facts.
#[derive(Debug)]
struct Event {
    ts: u64,
    touch: Option<Touch>,
    /// The levels may be read (not a clear, not inside a batch).
    settled: bool,
    depth5: Option<(i64, i64)>,
    depth10: Option<(i64, i64)>,
}

/// A contribution `x` made at event `at` (time `ts`) to a decayed sum.
#[derive(Clone, Copy, Debug)]
struct Term {
    at: usize,
    ts: u64,
    x: f64,
}

/// A mid change at event `at`: its squared log-return and the time since the previous change.
#[derive(Clone, Copy, Debug)]
struct Return {
    at: usize,
    ts: u64,
    dt: u64,
    r2: f64,
}

/// A time bar, from the events whose time falls in `[start, start + bar_ns)`.
#[derive(Clone, Copy, Debug)]
struct Bar {
    high: f64,
    low: f64,
    close: f64,
    prev_close: f64,
    sum_sq_returns: f64,
    /// The event that closes it: the first one of a later bar (`None`: still open).
    closed_at: Option<usize>,
}

/// What a feature should be at an event, and how close the engine must come.
#[derive(Clone, Debug)]
pub struct Expected {
    pub value: [f64; idx::COUNT],
    /// Allowed absolute difference; 0 means bit-exact. NaN values must be NaN.
    pub tol: [f64; idx::COUNT],
}

/// The whole history of one instrument's records, ready to answer "what should the features be
/// after event n".
#[derive(Debug)]
pub struct Reference {
    price: f64,
    tick_steps: i64,
    events: Vec<Event>,
    first_touch: Option<usize>,
    ofi: Vec<Term>,
    trades: Vec<Term>,
    signed: Vec<Term>,
    returns: Vec<Return>,
    bars: Vec<Bar>,
}

impl Reference {
    pub fn new(spec: &InstrumentSpec, records: &[RawRecord], bar_ns: u64) -> Reference {
        let price = 10f64.powi(-i32::from(spec.price_scale));
        let qty = 10f64.powi(-i32::from(spec.qty_scale));
        let times = event_times(records);
        let mut market = Market::default();
        let mut events = Vec::with_capacity(records.len());
        let (mut ofi, mut trades, mut signed, mut returns) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut prev_touch: Option<Touch> = None;
        let mut first_touch = None;
        let mut last_mid: Option<f64> = None;
        let mut last_change = 0u64;
        for (n, r) in records.iter().enumerate() {
            let ts = times[n];
            market.apply(r);
            let touch = market.touch();
            let settled = match r.header.kind() {
                Some(RecordKind::BookClear) => false,
                Some(RecordKind::LevelUpdate) => r.header.has(flags::END_OF_BATCH),
                _ => true,
            };
            if let Some(Record::Trade(tr)) = r.view() {
                trades.push(Term { at: n, ts, x: 1.0 });
                let q = tr.qty.0 as f64 * qty;
                match tr.aggressor() {
                    Aggressor::Buy => signed.push(Term { at: n, ts, x: q }),
                    Aggressor::Sell => signed.push(Term { at: n, ts, x: -q }),
                    Aggressor::Unknown => {}
                }
            }
            if let Some(t) = touch {
                first_touch.get_or_insert(n);
                if let Some(p) = prev_touch {
                    // Cont, Kukanov & Stoikov (2014), eq. (2), with primes the previous touch.
                    let e = i64::from(t.b >= p.b) * t.qb - i64::from(t.b <= p.b) * p.qb - i64::from(t.a <= p.a) * t.qa
                        + i64::from(t.a >= p.a) * p.qa;
                    ofi.push(Term { at: n, ts, x: e as f64 * qty });
                }
                prev_touch = Some(t);
                let mid = (t.b + t.a) as f64 * 0.5 * price;
                match last_mid {
                    Some(m) if m != mid => {
                        let r = (mid / m).ln();
                        returns.push(Return { at: n, ts, dt: ts - last_change, r2: r * r });
                        last_change = ts;
                    }
                    Some(_) => {}
                    None => last_change = ts,
                }
                last_mid = Some(mid);
            }
            events.push(Event { ts, touch, settled, depth5: market.depth(5), depth10: market.depth(10) });
        }
        let bars = bars(&events, &returns, price, bar_ns);
        let tick_steps = spec.tick.0.max(1);
        Reference { price, tick_steps, events, first_touch, ofi, trades, signed, returns, bars }
    }

    /// Every micro feature after event `n`. With `horizon` (in time constants), decayed sums skip
    /// contributions older than `horizon · τ` (their weight is below `exp(−horizon)`) and widen
    /// the tolerance by the most they could add; `None` sums over the whole history.
    pub fn at(&self, n: usize, horizon: Option<f64>) -> Expected {
        let mut value = [f64::NAN; idx::COUNT];
        let mut tol = [0.0; idx::COUNT];
        let t = self.events[n].ts;
        let mid = |t: &Touch| (t.b + t.a) as f64 * 0.5 * self.price;

        // Touch: the last event that had one.
        if let Some(j) = (0..=n).rev().find(|&j| self.events[j].touch.is_some()) {
            let tt = self.events[j].touch.unwrap();
            let (bp, ap) = (tt.b as f64 * self.price, tt.a as f64 * self.price);
            let (qb, qa) = (tt.qb as f64, tt.qa as f64);
            value[idx::MID] = mid(&tt);
            value[idx::MICROPRICE] = (bp * qa + ap * qb) / (qa + qb);
            tol[idx::MICROPRICE] = 1e-14 * value[idx::MICROPRICE].abs();
            value[idx::SPREAD_TICKS] = (tt.a - tt.b) as f64 / self.tick_steps as f64;
            value[idx::SPREAD_BPS] = (tt.a - tt.b) as f64 / ((tt.a + tt.b) as f64 / 2.0) * 1e4;
            value[idx::IMBALANCE_L1] = (tt.qb - tt.qa) as f64 / (tt.qb + tt.qa) as f64;
        }
        // Depth: the last event with a touch and a settled book.
        if let Some(j) = (0..=n).rev().find(|&j| self.events[j].touch.is_some() && self.events[j].settled) {
            let e = &self.events[j];
            let tt = e.touch.unwrap();
            let imbalance = |d: Option<(i64, i64)>| {
                let (b, a) = d.unwrap_or((tt.qb, tt.qa));
                (b - a) as f64 / (b + a) as f64
            };
            value[idx::IMBALANCE_DEPTH5] = imbalance(e.depth5);
            value[idx::IMBALANCE_DEPTH10] = imbalance(e.depth10);
        }

        // Decayed sums over the whole history.
        let sum = |terms: &[Term], tau_s: f64| -> (f64, f64) {
            let end = terms.partition_point(|x| x.at <= n);
            let tau = tau_s * SEC;
            let cutoff = horizon.map_or(0, |h| t.saturating_sub((h * tau) as u64));
            let start = terms[..end].partition_point(|x| x.ts < cutoff);
            let (mut s, mut abs) = (0.0, 0.0);
            for x in &terms[start..end] {
                let w = (-((t - x.ts) as f64) / tau).exp();
                s += x.x * w;
                abs += x.x.abs() * w;
            }
            let skipped: f64 = terms[..start].iter().map(|x| x.x.abs()).sum();
            (s, abs + skipped * (-horizon.unwrap_or(0.0)).exp())
        };
        if self.first_touch.is_some_and(|f| f <= n) {
            for (i, tau) in [(idx::OFI_1S, 1.0), (idx::OFI_10S, 10.0)] {
                let (s, abs) = sum(&self.ofi, tau);
                value[i] = s;
                tol[i] = 1e-9 * abs + 1e-300;
            }
        }
        if self.returns.first().is_some_and(|r| r.at <= n) {
            for (i, tau) in [(idx::VOL_EWMA_1S, 1.0), (idx::VOL_EWMA_10S, 10.0), (idx::VOL_EWMA_60S, 60.0)] {
                let tau_ns = tau * SEC;
                let terms: Vec<Term> = self
                    .returns
                    .iter()
                    .map(|r| Term { at: r.at, ts: r.ts, x: -(-(r.dt as f64) / tau_ns).exp_m1() * r.r2 })
                    .collect();
                let (v, _) = sum(&terms, tau);
                value[i] = v.sqrt();
                tol[i] = 1e-9 * value[i] + 1e-150;
            }
        }
        let (count, _) = sum(&self.trades, 10.0);
        value[idx::TRADE_RATE_10S] = count / 10.0;
        tol[idx::TRADE_RATE_10S] = 1e-9 * value[idx::TRADE_RATE_10S] + 1e-300;
        for (i, tau) in [(idx::SIGNED_VOLUME_10S, 10.0), (idx::SIGNED_VOLUME_60S, 60.0)] {
            let (s, abs) = sum(&self.signed, tau);
            value[i] = s;
            tol[i] = 1e-9 * abs + 1e-300;
        }

        // Per bar: every bar closed by event n that has a mid.
        let closed: Vec<&Bar> =
            self.bars.iter().filter(|b| b.closed_at.is_some_and(|c| c <= n) && b.close.is_finite()).collect();
        if closed.len() >= 5 {
            value[idx::REALIZED_VOL_5BARS] =
                closed[closed.len() - 5..].iter().map(|b| b.sum_sq_returns).sum::<f64>().sqrt();
            tol[idx::REALIZED_VOL_5BARS] = 1e-12 * value[idx::REALIZED_VOL_5BARS];
        }
        let tr: Vec<f64> = closed
            .iter()
            .map(|b| {
                let hl = b.high - b.low;
                if b.prev_close.is_nan() {
                    hl
                } else {
                    hl.max((b.high - b.prev_close).abs()).max((b.low - b.prev_close).abs())
                }
            })
            .collect();
        let atr: Vec<f64> = (14..=tr.len()).map(|k| tr[k - 14..k].iter().sum::<f64>() / 14.0).collect();
        if let Some(&last) = atr.last() {
            value[idx::ATR_14] = last;
            tol[idx::ATR_14] = 1e-12 * last;
        }
        if atr.len() >= 60 {
            let w = &atr[atr.len() - 60..];
            let mean = w.iter().sum::<f64>() / 60.0;
            let sd = (w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 59.0).sqrt();
            // A flat ATR (std within rounding of its mean) has a z-score of 0, by definition.
            let z = if sd > 1e-9 * mean.abs() { (w[59] - mean) / sd } else { 0.0 };
            value[idx::ATR_Z] = z;
            tol[idx::ATR_Z] = 1e-9 * z.abs().max(1.0);
        }
        Expected { value, tol }
    }
}

/// The bars of the history: events grouped by `ts / bar_ns`; a bar opens at the last mid before
/// it, spans the mids of its events, and is closed by the first event of the next group.
fn bars(events: &[Event], returns: &[Return], price: f64, bar_ns: u64) -> Vec<Bar> {
    let bar_ns = bar_ns.max(1);
    let mut bars: Vec<Bar> = Vec::new();
    let mut last_mid = f64::NAN;
    let mut n = 0;
    while n < events.len() {
        let bucket = events[n].ts / bar_ns;
        let end = n + events[n..].iter().take_while(|e| e.ts / bar_ns == bucket).count();
        let mut mids: Vec<f64> = Vec::new();
        if last_mid.is_finite() {
            mids.push(last_mid);
        }
        mids.extend(events[n..end].iter().filter_map(|e| e.touch.map(|t| (t.b + t.a) as f64 * 0.5 * price)));
        let (high, low, close) = match mids.last() {
            Some(&c) => {
                (mids.iter().copied().fold(f64::MIN, f64::max), mids.iter().copied().fold(f64::MAX, f64::min), c)
            }
            None => (f64::NAN, f64::NAN, f64::NAN),
        };
        let sum_sq_returns = returns.iter().filter(|r| (n..end).contains(&r.at)).map(|r| r.r2).sum::<f64>();
        let prev_close = bars.last().map_or(f64::NAN, |b| b.close);
        let closed_at = (end < events.len()).then_some(end);
        bars.push(Bar { high, low, close, prev_close, sum_sq_returns, closed_at });
        last_mid = close;
        n = end;
    }
    bars
}

/// How many checked events had each feature defined.
#[derive(Clone, Debug)]
pub struct Coverage {
    pub checked: usize,
    pub defined: [usize; idx::COUNT],
    /// The largest `|got − want| / tol` seen (features with a tolerance), to show the margin.
    pub worst: [f64; idx::COUNT],
}

impl Default for Coverage {
    fn default() -> Self {
        Coverage { checked: 0, defined: [0; idx::COUNT], worst: [0.0; idx::COUNT] }
    }
}

impl Coverage {
    /// The micro features never seen defined.
    pub fn never_defined(&self) -> Vec<&'static str> {
        MICRO.iter().filter(|&&i| self.defined[i] == 0).map(|&i| FEATURES[i].name).collect()
    }

    /// One line per micro feature: how often it was defined and the worst error against its
    /// tolerance.
    pub fn summary(&self) -> String {
        MICRO
            .iter()
            .map(|&i| {
                format!(
                    "  {:<20} defined at {:>7} of {} checks, worst error {:.1e} of the tolerance\n",
                    FEATURES[i].name, self.defined[i], self.checked, self.worst[i]
                )
            })
            .collect()
    }
}

/// Whether `got` agrees with `want` within `tol` (NaN with NaN; `tol` 0: the same value).
pub fn agrees(got: f64, want: f64, tol: f64) -> bool {
    if want.is_nan() { got.is_nan() } else { got == want || (got - want).abs() <= tol }
}

/// Feeds `records` (one instrument, id 0) through a `FeatureStage` and compares every micro
/// feature with the reference at each event for which `check(n)` holds.
pub fn check_stream(
    spec: &InstrumentSpec,
    settings: &FeatureSettings,
    records: &[RawRecord],
    check: &dyn Fn(usize) -> bool,
    horizon: Option<f64>,
) -> Result<Coverage, String> {
    let reference = Reference::new(spec, records, settings.bar_ns);
    let mut stage = FeatureStage::new(std::slice::from_ref(spec), settings);
    let times = event_times(records);
    let mut cov = Coverage::default();
    for (n, r) in records.iter().enumerate() {
        let event = MarketEvent { seq: n as u64, ts: UnixNanos(times[n]), stamp: 0, record: *r };
        let got: FeatureVector = stage.on_event(&event).features.values;
        if !check(n) {
            continue;
        }
        cov.checked += 1;
        let want = reference.at(n, horizon);
        for &i in &MICRO {
            let (g, w, tol) = (got.get(i), want.value[i], want.tol[i]);
            if !agrees(g, w, tol) {
                return Err(format!(
                    "event {n} (t = {} ns, {:?}): {} = {g:e}, the reference says {w:e} (± {tol:e}; diff {:e})",
                    times[n],
                    r.header.kind(),
                    FEATURES[i].name,
                    g - w
                ));
            }
            if !w.is_nan() {
                cov.defined[i] += 1;
                if tol > 0.0 {
                    cov.worst[i] = cov.worst[i].max((g - w).abs() / tol);
                }
            }
        }
    }
    Ok(cov)
}
