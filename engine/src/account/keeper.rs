//! The account as one processor: orders, positions and brackets updated together, so that no fill,
//! partial or not, can reach an order without reaching its position and its bracket.
//!
//! `Account::on_order_event` is the only door for execution reports: it advances the order's state
//! machine, books a fill into the portfolio, lets the bracket follow the new position, and re-arms a
//! bracket whose exit order has ended. `Account::on_market` checks the brackets on every market
//! event.

use super::brackets::{Brackets, ExitSignal, Touches};
use super::fill::Fill;
use super::order_state::OrderEvent;
use super::order_table::{InsertError, OrderError, OrderTable, OrderUpdate};
use super::portfolio::Portfolio;
use super::position::FillEffect;
use crate::orders::{OrderRequest, Purpose};
use crate::types::UnixNanos;

/// Sizes fixed at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountShape {
    /// Most orders working at once.
    pub max_orders: usize,
    pub strategies: usize,
    /// Per instrument, `price_scale + qty_scale`.
    pub money_scales: Vec<u8>,
}

/// Why a request could not become a working order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Table(#[from] InsertError),
    #[error("order {} names strategy {} / instrument {}, outside the account's table", .0.order_id, .0.strategy.0, .0.instrument.0)]
    OutOfRange(OrderRequest),
}

/// What an execution report did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Booked {
    pub update: OrderUpdate,
    /// What the fill did to the position, for a fill.
    pub effect: Option<FillEffect>,
}

#[derive(Clone, Debug)]
pub struct Account {
    orders: OrderTable,
    portfolio: Portfolio,
    brackets: Brackets,
}

impl Account {
    pub fn new(shape: &AccountShape) -> Self {
        Account {
            orders: OrderTable::with_capacity(shape.max_orders),
            portfolio: Portfolio::new(shape.strategies, &shape.money_scales),
            brackets: Brackets::new(shape.strategies, shape.money_scales.len()),
        }
    }

    /// Registers an order (state `New`) before it is sent.
    pub fn submit(&mut self, request: OrderRequest) -> Result<(), SubmitError> {
        if self.portfolio.position(request.strategy, request.instrument).is_none() {
            return Err(SubmitError::OutOfRange(request));
        }
        Ok(self.orders.insert(request)?)
    }

    /// Applies one execution report (or our own Sent / CancelRequested) at tape time `now`.
    pub fn on_order_event(&mut self, now: UnixNanos, order_id: u64, event: &OrderEvent) -> Result<Booked, OrderError> {
        let update = self.orders.apply(order_id, event)?;
        let req = update.order.request;
        let effect = update.fill.map(|f| {
            let fill = Fill {
                order_id,
                strategy: req.strategy,
                instrument: req.instrument,
                side: req.side,
                px: f.px,
                qty: f.qty,
                fee: f.fee,
                liquidity: f.liquidity,
                purpose: req.purpose,
                ts: now,
            };
            // In range: checked by `submit`.
            let effect = self.portfolio.apply(&fill).unwrap_or_default();
            if let Some(pos) = self.portfolio.position(req.strategy, req.instrument) {
                self.brackets.on_position(req.strategy, req.instrument, pos, now);
            }
            effect
        });
        let bracket_exit = matches!(req.purpose, Purpose::TakeProfit | Purpose::StopLoss | Purpose::TimeExit);
        if update.state.is_terminal() && bracket_exit {
            self.brackets.exit_done(req.strategy, req.instrument);
        }
        Ok(Booked { update, effect })
    }

    /// Checks the brackets against the market; call until `None` (see [`Brackets::on_event`]).
    pub fn on_market<T: Touches + ?Sized>(&mut self, now: UnixNanos, market: &T) -> Option<ExitSignal> {
        self.brackets.on_event(now, market)
    }

    pub fn orders(&self) -> &OrderTable {
        &self.orders
    }

    pub fn portfolio(&self) -> &Portfolio {
        &self.portfolio
    }

    pub fn brackets(&self) -> &Brackets {
        &self.brackets
    }

    /// To set bracket specs (start-up, or parameter changes between events) and to report an exit
    /// signal that never became an order ([`Brackets::exit_done`]).
    pub fn brackets_mut(&mut self) -> &mut Brackets {
        &mut self.brackets
    }
}
