//! Order books rebuilt from tape records.

mod l2;
mod market;

pub use l2::{L2Book, Level};
pub use market::{MarketView, Touch};
