//! Kestrel's cold-side tools: everything that makes, converts or inspects tapes.
//!
//! - [`import`]: raw captures (Binance websocket dumps, generic CSV) → tape.
//! - [`synth`]: a seeded, regime-switching market generator → tape.
//! - [`inspect`]: tape → statistics (`kestrel tape info`) and CSV (`kestrel tape cat`).
//! - [`simcheck`]: drives the simulated exchange with a scripted quoting strategy, for the
//!   cross-check against hftbacktest (`tools/crosscheck/`).
#![forbid(unsafe_code)]

pub mod features_export;
pub mod import;
pub mod inspect;
pub mod regime;
pub mod simcheck;
pub mod synth;
