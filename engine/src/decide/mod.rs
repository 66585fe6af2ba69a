//! Decide: turns features into at most one entry and one bracket exit per event, puts each through
//! the strategy's checks and the pre-trade [risk gate](crate::risk), and keeps the strategy's view
//! of its orders and positions from the venue's reports.
//!
//! - [`rule`]: the first strategy, a configurable L1-imbalance rule, and its entry style.
//! - [`exposure`]: what the risk gate is told about an instrument (position, working orders, touch,
//!   today's PnL).
//! - [`model`]: the p(win) and slippage models, their control ring, and the decision they make
//!   (gate, expected value, market or join, size) when a p(win) model is live.
//!
//! Only the gate makes a [`RiskApproved`](crate::risk::RiskApproved), and only an approved order
//! travels on to execute. Every refusal, the strategy's or the gate's, becomes a Blocked candidate
//! that execute journals with its reason.
//!
//! Reports are applied by the runner through [`DecideStage::on_report`] before the event they are due
//! at, in every topology, which is what keeps the journal identical between fused and threaded runs.

pub mod exposure;
pub mod model;
pub mod rule;

pub use model::{ModelRefused, ModelSet, Models};
pub use rule::{DecisionParams, EntryStyle, InstrumentLimits, RuleParams};

use crate::account::{Account, AccountShape, OrderEvent, OrderState};
use crate::book::{Level, Touch};
use crate::event::{CancelRequest, Candidate, Featured, Intent, Report, ReportKind, Verdict};
use crate::features::idx;
use crate::journal::{BlockReason, Side};
use crate::orders::{OrderKind, OrderRequest, Purpose, StrategyId, TimeInForce};
use crate::pipeline::Stage;
use crate::risk::RiskGate;
use crate::types::{InstrumentId, InstrumentSpec, Price, UnixNanos};
use exposure::Exposure;
use model::policy::Style;

/// The one strategy so far.
pub const STRATEGY: StrategyId = StrategyId(0);

#[derive(Debug)]
pub struct DecideStage {
    params: RuleParams,
    models: Models,
    account: Account,
    gate: RiskGate,
    exposure: Exposure,
    /// Tape time of each instrument's last entry candidate, for the cooldown.
    last_candidate: Vec<Option<u64>>,
    /// After a refused exit, brackets are not looked at again before this time (else a refused exit
    /// would be retried, and journaled, on every event).
    exit_retry_at: u64,
    next_order_id: u64,
    /// Reports the account could not apply (a venue bug, or an order from before a restart).
    report_errors: u64,
}

impl DecideStage {
    /// `specs` is the tape's instrument table, `gate` the risk gate with its limits in the same units.
    /// No models: the rule trades alone (see [`DecideStage::with_models`]).
    pub fn new(params: RuleParams, gate: RiskGate, specs: &[InstrumentSpec]) -> Self {
        Self::build(params, gate, specs, Models::none())
    }

    /// As [`DecideStage::new`], with models: each starting scorer is checked ([`model::admit`]),
    /// and the control ring, if any, is read between events.
    pub fn with_models(
        params: RuleParams,
        gate: RiskGate,
        specs: &[InstrumentSpec],
        models: ModelSet,
    ) -> Result<Self, ModelRefused> {
        let models = Models::new(models, &params)?;
        Ok(Self::build(params, gate, specs, models))
    }

    fn build(params: RuleParams, gate: RiskGate, specs: &[InstrumentSpec], models: Models) -> Self {
        let n = specs.len();
        let shape = AccountShape {
            // Entries, plus room for one exit per instrument.
            max_orders: params.max_in_flight as usize + n,
            strategies: 1,
            money_scales: specs.iter().map(|s| s.price_scale + s.qty_scale).collect(),
        };
        let mut account = Account::new(&shape);
        for i in 0..n {
            account.brackets_mut().set_spec(STRATEGY, InstrumentId(i as u16), params.brackets);
        }
        DecideStage {
            params,
            models,
            account,
            gate,
            exposure: Exposure::new(n),
            last_candidate: vec![None; n],
            exit_retry_at: 0,
            next_order_id: 1,
            report_errors: 0,
        }
    }

    /// A venue report reaching the strategy.
    #[inline]
    pub fn on_report(&mut self, report: &Report) {
        let event = match report.kind {
            ReportKind::Ack => OrderEvent::Ack,
            ReportKind::Filled(f) => OrderEvent::Fill(f),
            ReportKind::Canceled => OrderEvent::Canceled,
            ReportKind::Expired => OrderEvent::Expired,
            ReportKind::Rejected(_) => OrderEvent::Rejected,
            ReportKind::CancelRejected(_) => OrderEvent::CancelRejected,
        };
        if self.account.on_order_event(report.ts_arrive, report.order_id, &event).is_err() {
            self.report_errors += 1;
        }
    }

    pub fn account(&self) -> &Account {
        &self.account
    }

    pub fn gate(&self) -> &RiskGate {
        &self.gate
    }

    /// To halt, reduce or kill between events (a control message, a test).
    pub fn gate_mut(&mut self) -> &mut RiskGate {
        &mut self.gate
    }

    pub fn params(&self) -> &RuleParams {
        &self.params
    }

    pub fn report_errors(&self) -> u64 {
        self.report_errors
    }

    /// The models, their counters and call latencies.
    pub fn models(&self) -> &Models {
        &self.models
    }

    /// Set by the cold side while a model swap is under way; `None` without a control ring. The
    /// runners read it after each event to file its service time under `decide_in_swap` too.
    #[inline]
    pub fn swap_window(&self) -> Option<&std::sync::atomic::AtomicBool> {
        self.models.swap_window()
    }

    /// Most orders the strategy can have working or in flight at once (entries and exits): the
    /// reports ring is sized from it.
    pub fn max_orders(&self) -> usize {
        self.account.orders().capacity()
    }

    fn take_order_id(&mut self) -> u64 {
        let id = self.next_order_id;
        self.next_order_id += 1;
        id
    }

    /// Registers an approved request as sent; `false` when the order table is full (then the
    /// approval is dropped and nothing is sent).
    fn book_sent(&mut self, req: OrderRequest, now: UnixNanos) -> bool {
        self.account.submit(req).is_ok() && self.account.on_order_event(now, req.order_id, &OrderEvent::Sent).is_ok()
    }

    /// A triggered bracket becomes an exit order (market, IOC), if the gate lets it.
    fn exit(&mut self, now: UnixNanos, intent: &mut Intent) {
        if now.0 < self.exit_retry_at {
            return;
        }
        let Some(sig) = self.account.on_market(now, self.exposure.touches()) else { return };
        let ctx = self.exposure.context(&self.account, sig.instrument, now);
        // Never more than closes the position, counting exits already working.
        let reducible = ctx.reducible(sig.side);
        let qty = if reducible > 0 && reducible < i128::from(sig.qty.0) { reducible as i64 } else { sig.qty.0 };
        let req = OrderRequest {
            order_id: self.take_order_id(),
            strategy: STRATEGY,
            instrument: sig.instrument,
            side: sig.side,
            qty: crate::types::Qty(qty),
            kind: OrderKind::Market,
            tif: TimeInForce::Ioc,
            purpose: sig.purpose,
            created: now,
        };
        let mut candidate = Candidate {
            instrument: sig.instrument,
            side: sig.side,
            qty: req.qty,
            px_seen: ctx.touch(sig.side),
            signal_micros: 0,
            purpose: sig.purpose,
            verdict: Verdict::Blocked(BlockReason::InFlightLimit),
        };
        if self.account.orders().len() < self.account.orders().capacity() {
            match self.gate.check(req, &ctx) {
                Ok(approved) if self.book_sent(req, now) => {
                    candidate.verdict = Verdict::Approved { order_id: req.order_id };
                    intent.orders[1] = Some(approved);
                }
                Ok(_) => {}
                Err(reason) => candidate.verdict = Verdict::Blocked(reason.into()),
            }
        }
        if let Verdict::Blocked(_) = candidate.verdict {
            self.account.brackets_mut().exit_done(sig.strategy, sig.instrument);
            self.exit_retry_at = now.0.saturating_add(self.params.cooldown_ns);
        }
        intent.candidates[1] = Some(candidate);
    }

    /// The rule's signal becomes an entry, if the strategy's checks and the gate let it.
    fn entry(&mut self, input: &Featured, intent: &mut Intent) {
        let f = &input.features;
        let now = input.event.ts;
        let Some(limits) = self.params.instruments.get(f.instrument.index()).copied() else { return };
        if !f.tradable || !limits.trade {
            return;
        }
        let Some(side) = self.params.signal(f) else { return };
        let last = &mut self.last_candidate[f.instrument.index()];
        if last.is_some_and(|t| now.0 < t.saturating_add(self.params.cooldown_ns)) {
            return;
        }
        *last = Some(now.0);
        let (px_seen, own_touch) = match side {
            Side::Buy => (f.ask_px, f.bid_px),
            Side::Sell => (f.bid_px, f.ask_px),
        };
        let (kind, tif) = match self.params.entry {
            EntryStyle::Market => (OrderKind::Market, TimeInForce::Ioc),
            // `Auto` is only reached without models when a p(win) model is expected: the models
            // block it (ModelError) before this is used.
            EntryStyle::Join { .. } | EntryStyle::Auto { .. } => {
                (OrderKind::Limit { px: own_touch }, TimeInForce::PostOnly)
            }
        };
        let mut candidate = Candidate {
            instrument: f.instrument,
            side,
            qty: limits.order_qty,
            px_seen,
            signal_micros: (f.values.get(idx::IMBALANCE_L1) * 1e6).round() as i64,
            purpose: Purpose::Entry,
            verdict: Verdict::Blocked(BlockReason::NoMarket),
        };
        let ctx = self.exposure.context(&self.account, f.instrument, now);
        let entries = self.account.orders().iter().filter(|o| o.request.purpose == Purpose::Entry).count();
        let spread = f.ask_px.0 - f.bid_px.0;
        candidate.verdict = if limits.tick.0 > 0 && spread > limits.tick.0.saturating_mul(self.params.max_spread_ticks)
        {
            Verdict::Blocked(BlockReason::SpreadTooWide)
        } else if entries >= self.params.max_in_flight as usize
            || self.account.orders().len() >= self.account.orders().capacity()
        {
            Verdict::Blocked(BlockReason::InFlightLimit)
        } else if ctx.worst_case_after(side, limits.order_qty).abs() > i128::from(limits.max_position.0) {
            Verdict::Blocked(BlockReason::PositionLimit)
        } else {
            // With a p(win) model the models decide whether, how and how much (see `model`).
            let judged = self.models.gating().then(|| self.models.judge(f, side, &limits, &self.params));
            let plan = match judged {
                None => Ok((kind, tif, limits.order_qty)),
                Some((plan, seen)) => {
                    intent.judged = Some(seen);
                    plan.map(|p| match p.style {
                        Style::Market => (OrderKind::Market, TimeInForce::Ioc, p.qty),
                        Style::Join => (OrderKind::Limit { px: own_touch }, TimeInForce::PostOnly, p.qty),
                    })
                }
            };
            match plan {
                Err(reason) => Verdict::Blocked(reason),
                Ok((kind, tif, qty)) => {
                    candidate.qty = qty;
                    let req = OrderRequest {
                        order_id: self.take_order_id(),
                        strategy: STRATEGY,
                        instrument: f.instrument,
                        side,
                        qty,
                        kind,
                        tif,
                        purpose: Purpose::Entry,
                        created: now,
                    };
                    match self.gate.check(req, &ctx) {
                        Ok(approved) if self.book_sent(req, now) => {
                            intent.orders[0] = Some(approved);
                            Verdict::Approved { order_id: req.order_id }
                        }
                        Ok(_) => Verdict::Blocked(BlockReason::InFlightLimit),
                        Err(reason) => Verdict::Blocked(reason.into()),
                    }
                }
            }
        };
        intent.candidates[0] = Some(candidate);
    }

    /// A joined entry that has rested `ttl` without filling completely is cancelled (one per event).
    fn expire_joins(&mut self, now: UnixNanos, intent: &mut Intent) {
        let Some(ttl_ns) = self.params.entry.join_ttl_ns() else { return };
        let due = self.account.orders().iter().find(|o| {
            o.request.purpose == Purpose::Entry
                && matches!(o.state(), OrderState::Acked | OrderState::PartiallyFilled)
                && now.0 >= o.request.created.0.saturating_add(ttl_ns)
        });
        let Some(order) = due.map(|o| o.request) else { return };
        if self.account.on_order_event(now, order.order_id, &OrderEvent::CancelRequested).is_ok() {
            intent.cancel =
                Some(CancelRequest { order_id: order.order_id, instrument: order.instrument, side: order.side });
        }
    }
}

impl Stage for DecideStage {
    type In = Featured;
    type Out = Intent;

    #[inline]
    fn on_event(&mut self, input: &Featured) -> Intent {
        let f = &input.features;
        let now = input.event.ts;
        let mut intent = Intent::pass(input.event);
        // Model swaps happen between two events: before anything of this one.
        intent.swaps = self.models.between_events();
        if f.instrument.index() >= self.last_candidate.len() {
            return intent;
        }
        let touch = f.tradable.then_some(Touch {
            bid: Level { px: f.bid_px, qty: f.bid_qty },
            ask: Level { px: f.ask_px, qty: f.ask_qty },
        });
        self.exposure.set_touch(f.instrument, touch);
        let pnl_today = self.exposure.mark(&self.account, self.gate.day_boundary(), now);
        self.gate.observe(now, pnl_today);
        self.exit(now, &mut intent);
        self.entry(input, &mut intent);
        self.expire_joins(now, &mut intent);
        intent
    }
}

/// The mid, rounded down, of a touch.
pub(crate) fn mid(t: &Touch) -> Price {
    Price(((i128::from(t.bid.px.0) + i128::from(t.ask.px.0)) / 2) as i64)
}
