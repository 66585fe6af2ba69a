//! The only way to the venue: an order the gate has approved.
//!
//! `RiskApproved`'s field is private and its constructor is visible only inside `risk`, so code
//! elsewhere can hold, read and forward one but never make one: a venue or ring that takes a
//! `RiskApproved` cannot be handed an unchecked order. It is deliberately not `Clone`: one approval
//! sends one order (copying it would also slip past the rate limiter).

use crate::orders::OrderRequest;

/// An order that passed every check of [`RiskGate::check`](super::RiskGate::check).
///
/// The normal path compiles:
///
/// ```
/// use kestrel_engine::journal::Side;
/// use kestrel_engine::orders::{OrderKind, OrderRequest, Purpose, StrategyId, TimeInForce};
/// use kestrel_engine::risk::{GlobalLimits, RiskApproved, RiskConfig, RiskContext, RiskGate, RiskLimits};
/// use kestrel_engine::types::{InstrumentId, Price, Qty, UnixNanos};
///
/// let limits = RiskLimits {
///     max_position: Qty(1_000),
///     max_order_qty: Qty(100),
///     max_order_notional: 1_000_000_000,
///     price_collar_bps: 50,
/// };
/// let global = GlobalLimits { max_orders_per_second: 10, daily_loss_limit: 1_000_000, day_start_offset_ns: 0 };
/// let mut gate = RiskGate::new(RiskConfig { instruments: vec![limits], global }).unwrap();
///
/// let req = OrderRequest {
///     order_id: 1,
///     strategy: StrategyId(0),
///     instrument: InstrumentId(0),
///     side: Side::Buy,
///     qty: Qty(10),
///     kind: OrderKind::Limit { px: Price(6_000_000) },
///     tif: TimeInForce::Gtc,
///     purpose: Purpose::Entry,
///     created: UnixNanos(1),
/// };
/// let ctx = RiskContext { now: UnixNanos(1), bid: Price(6_000_000), ask: Price(6_000_010), ..RiskContext::default() };
///
/// fn send(order: RiskApproved) -> OrderRequest {
///     order.into_inner()
/// }
/// let approved = gate.check(req, &ctx).unwrap();
/// assert_eq!(approved.request().qty, Qty(10));
/// assert_eq!(send(approved), req);
/// ```
///
/// Outside the `risk` module an approval cannot be built by hand (each `compile_fail` example below
/// was seen to fail with only the error code it names; stable rustdoc does not check the codes):
///
/// ```compile_fail,E0451
/// # use kestrel_engine::journal::Side;
/// # use kestrel_engine::orders::{OrderKind, OrderRequest, Purpose, StrategyId, TimeInForce};
/// # use kestrel_engine::types::{InstrumentId, Qty, UnixNanos};
/// use kestrel_engine::risk::RiskApproved;
/// # let req = OrderRequest {
/// #     order_id: 1,
/// #     strategy: StrategyId(0),
/// #     instrument: InstrumentId(0),
/// #     side: Side::Buy,
/// #     qty: Qty(10),
/// #     kind: OrderKind::Market,
/// #     tif: TimeInForce::Ioc,
/// #     purpose: Purpose::Entry,
/// #     created: UnixNanos(1),
/// # };
/// let forged = RiskApproved { request: req };
/// ```
///
/// nor through its constructor:
///
/// ```compile_fail,E0624
/// # use kestrel_engine::journal::Side;
/// # use kestrel_engine::orders::{OrderKind, OrderRequest, Purpose, StrategyId, TimeInForce};
/// # use kestrel_engine::types::{InstrumentId, Qty, UnixNanos};
/// use kestrel_engine::risk::RiskApproved;
/// # let req = OrderRequest {
/// #     order_id: 1,
/// #     strategy: StrategyId(0),
/// #     instrument: InstrumentId(0),
/// #     side: Side::Buy,
/// #     qty: Qty(10),
/// #     kind: OrderKind::Market,
/// #     tif: TimeInForce::Ioc,
/// #     purpose: Purpose::Entry,
/// #     created: UnixNanos(1),
/// # };
/// let forged = RiskApproved::new(req);
/// ```
///
/// and an unchecked request does not type-check where an approval is required:
///
/// ```compile_fail,E0308
/// # use kestrel_engine::journal::Side;
/// # use kestrel_engine::orders::{OrderKind, OrderRequest, Purpose, StrategyId, TimeInForce};
/// # use kestrel_engine::types::{InstrumentId, Qty, UnixNanos};
/// use kestrel_engine::risk::RiskApproved;
/// fn send(order: RiskApproved) {}
/// # let req = OrderRequest {
/// #     order_id: 1,
/// #     strategy: StrategyId(0),
/// #     instrument: InstrumentId(0),
/// #     side: Side::Buy,
/// #     qty: Qty(10),
/// #     kind: OrderKind::Market,
/// #     tif: TimeInForce::Ioc,
/// #     purpose: Purpose::Entry,
/// #     created: UnixNanos(1),
/// # };
/// send(req);
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct RiskApproved {
    request: OrderRequest,
}

impl RiskApproved {
    /// Only the gate approves.
    pub(super) fn new(request: OrderRequest) -> Self {
        RiskApproved { request }
    }

    pub fn request(&self) -> &OrderRequest {
        &self.request
    }

    /// The approved request, for the venue that sends it.
    pub fn into_inner(self) -> OrderRequest {
        self.request
    }
}
