//! The gate itself: the checks in their fixed order, the switches, and per-reason counters.

use super::approved::RiskApproved;
use super::context::RiskContext;
use super::day::DayBoundary;
use super::limits::{BPS, GlobalLimits, RiskConfig, RiskConfigError, RiskLimits};
use super::rate::TokenBucket;
use super::reject::RiskReject;
use super::state::{Switches, TradingState};
use crate::orders::{OrderKind, OrderRequest};
use crate::types::{InstrumentId, UnixNanos};

/// How many orders the gate approved and refused, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RiskCounters {
    pub approved: u64,
    rejected: [u64; RiskReject::ALL.len()],
}

impl RiskCounters {
    pub fn rejected(&self, reason: RiskReject) -> u64 {
        self.rejected[reason.index()]
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }
}

/// The pre-trade risk gate of one engine (one hot thread): see the [module docs](super) for the
/// checks and the states. Everything is sized in [`RiskGate::new`]; [`RiskGate::check`] neither
/// allocates nor formats.
#[derive(Clone, Debug)]
pub struct RiskGate {
    /// Indexed by `InstrumentId`.
    limits: Vec<RiskLimits>,
    global: GlobalLimits,
    days: DayBoundary,
    bucket: TokenBucket,
    switches: Switches,
    counters: RiskCounters,
}

impl RiskGate {
    /// A gate in the ACTIVE state with a full rate bucket.
    pub fn new(config: RiskConfig) -> Result<Self, RiskConfigError> {
        config.validate()?;
        let RiskConfig { instruments, global } = config;
        Ok(RiskGate {
            limits: instruments,
            days: DayBoundary::new(global.day_start_offset_ns),
            bucket: TokenBucket::new(global.max_orders_per_second),
            global,
            switches: Switches::default(),
            counters: RiskCounters::default(),
        })
    }

    /// Checks `req` and approves it, or names the first check it failed. An approval takes one
    /// token from the rate bucket; a refusal takes none.
    #[inline]
    pub fn check(&mut self, req: OrderRequest, ctx: &RiskContext) -> Result<RiskApproved, RiskReject> {
        match self.evaluate(&req, ctx) {
            Ok(()) => {
                self.counters.approved += 1;
                Ok(RiskApproved::new(req))
            }
            Err(reason) => {
                self.counters.rejected[reason.index()] += 1;
                Err(reason)
            }
        }
    }

    /// Brings the day and the daily loss latch up to date without checking an order (call it on
    /// every mark so that a loss halts the engine before the next order is tried); returns the
    /// state in force. `check` does the same first.
    pub fn observe(&mut self, now: UnixNanos, pnl_today: i128) -> TradingState {
        self.switches.advance_to(self.days.day_of(now));
        if pnl_today < -self.global.daily_loss_limit {
            self.switches.loss_latched_on = Some(self.switches.day);
        }
        self.switches.state()
    }

    /// The state in force (HALTED while the daily loss latch holds). A killed gate refuses
    /// everything whatever this says: see [`RiskGate::is_killed`].
    pub fn state(&self) -> TradingState {
        self.switches.state()
    }

    /// Sets the state by hand. It stays until set again (or the kill switch), and clears the day's
    /// loss latch: if the loss is still past the limit, the next check latches it again.
    pub fn set_state(&mut self, state: TradingState) {
        self.switches.manual = state;
        self.switches.loss_latched_on = None;
    }

    /// The kill switch: from now on every order is refused, exits included, until
    /// [`RiskGate::reset_kill`]. The caller cancels every working order (cancels do not pass
    /// through the gate). The manual state becomes HALTED, so that a reset does not resume trading
    /// by itself.
    pub fn kill(&mut self) {
        self.switches.killed = true;
        self.switches.manual = TradingState::Halted;
    }

    /// A human's reset of the kill switch: the gate is HALTED (exits only) until set ACTIVE.
    pub fn reset_kill(&mut self) {
        self.switches.killed = false;
    }

    pub fn is_killed(&self) -> bool {
        self.switches.killed
    }

    /// Whether today's loss passed the daily limit (the engine is HALTED until the next day).
    pub fn is_loss_halted(&self) -> bool {
        self.switches.loss_latched()
    }

    /// Where trading days start: the PnL in [`RiskContext::pnl_today`] must be counted from it.
    pub fn day_boundary(&self) -> DayBoundary {
        self.days
    }

    pub fn limits(&self, instrument: InstrumentId) -> Option<&RiskLimits> {
        self.limits.get(instrument.index())
    }

    pub fn global(&self) -> &GlobalLimits {
        &self.global
    }

    pub fn counters(&self) -> &RiskCounters {
        &self.counters
    }

    /// The checks in their documented order; the first failure is the answer.
    fn evaluate(&mut self, req: &OrderRequest, ctx: &RiskContext) -> Result<(), RiskReject> {
        let state = self.observe(ctx.now, ctx.pnl_today);
        // 1. Kill switch.
        if self.switches.killed {
            return Err(RiskReject::Killed);
        }
        // 2. Instrument.
        let limits = *self.limits.get(req.instrument.index()).ok_or(RiskReject::UnknownInstrument)?;
        // 3. Well-formed order.
        let limit_px = match req.kind {
            OrderKind::Limit { px } => Some(px),
            OrderKind::Market => None,
        };
        if req.qty.0 <= 0 || limit_px.is_some_and(|px| px.0 <= 0) {
            return Err(RiskReject::InvalidOrder);
        }
        // 4. Trading state.
        let qty = i128::from(req.qty.0);
        let reduces = qty <= ctx.reducible(req.side);
        match state {
            TradingState::Active => {}
            TradingState::Reducing if !reduces => return Err(RiskReject::ReduceOnly),
            TradingState::Reducing => {}
            TradingState::Halted if !req.purpose.is_exit() => {
                return Err(if self.switches.loss_latched() { RiskReject::DailyLossLimit } else { RiskReject::Halted });
            }
            TradingState::Halted if !reduces => return Err(RiskReject::ReduceOnly),
            TradingState::Halted => {}
        }
        // 5. A market to check against.
        if !ctx.has_market() {
            return Err(RiskReject::NoMarket);
        }
        // 6. Order quantity.
        if req.qty > limits.max_order_qty {
            return Err(RiskReject::OrderQty);
        }
        // 7. Notional, at the limit price or at the touch a market order would take.
        let px = limit_px.unwrap_or(ctx.touch(req.side));
        if i128::from(px.0) * qty > limits.max_order_notional {
            return Err(RiskReject::OrderNotional);
        }
        // 8. Price collar: |px − mid| ≤ bps × mid / 10,000, in integers with twice the mid.
        let mid_x2 = ctx.mid_x2();
        let distance_x2 = (2 * i128::from(px.0) - mid_x2).abs();
        if distance_x2 * i128::from(BPS) > i128::from(limits.price_collar_bps) * mid_x2 {
            return Err(RiskReject::PriceCollar);
        }
        // 9. Position, counting the working orders on this side as filled.
        if ctx.worst_case_after(req.side, req.qty).abs() > i128::from(limits.max_position.0) {
            return Err(RiskReject::PositionLimit);
        }
        // 10. Order rate, last: only an order that passed everything else takes a token.
        if !self.bucket.try_take(ctx.now) {
            return Err(RiskReject::RateLimit);
        }
        Ok(())
    }
}
