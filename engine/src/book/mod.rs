//! Order books rebuilt from tape records.

mod l2;

pub use l2::{L2Book, Level};
