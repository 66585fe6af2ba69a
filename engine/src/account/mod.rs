//! The account: what we have asked the venue for, what we hold, and when to get out.
//!
//! Read in the order a fill flows through it:
//! - [`order_state`]: one order's state machine (`New → Sent → Acked → PartiallyFilled → Filled`,
//!   cancels, rejects, expiry); illegal events come back as values naming state and event.
//! - [`order_table`]: the working orders, a fixed-capacity table looked up by id.
//! - [`fill`] and [`position`]: one fill booked into one strategy's position in one instrument —
//!   exact average entry, realized and unrealized PnL, fees and rebates. Partial fills count.
//! - [`portfolio`]: every (strategy, instrument) position with totals per strategy, per instrument
//!   and overall.
//! - [`brackets`]: take-profit, stop-loss and time exits that follow each position and are checked
//!   on every event.
//! - [`keeper`]: [`Account`], the one door through which execution reports reach all of the above.
//! - [`avg_price`]: exact averages and the account's single rounding rule.
//!
//! Money is `i128` in quote units of `10^-(price_scale + qty_scale)`: a price times a quantity.
//! Nothing here allocates after construction; no stage uses it yet (execute still keeps its own
//! `execute::position`).

pub mod avg_price;
pub mod brackets;
pub mod fill;
pub mod keeper;
pub mod order_state;
pub mod order_table;
pub mod portfolio;
pub mod position;

pub use avg_price::AvgPrice;
pub use brackets::{Bracket, BracketSpec, Brackets, ExitSignal, Offset, Touches, TriggerPrice};
pub use fill::Fill;
pub use keeper::{Account, AccountShape, Booked, SubmitError};
pub use order_state::{EventKind, FillReport, Order, OrderEvent, OrderState, Refusal, TransitionError};
pub use order_table::{InsertError, OrderError, OrderTable, OrderUpdate};
pub use portfolio::{InstrumentTotals, Marked, Money, Portfolio, PortfolioError};
pub use position::{FillEffect, Position};
