//! Latency as a product feature (DESIGN.md §4): every event is timed through every stage and end to
//! end, into HDR histograms recorded on the hot thread and merged on the cold side.
//!
//! - [`recorder`]: the pre-sized histograms a hot thread records into (no allocation per record).
//! - [`report`]: percentiles for people, the standard HdrHistogram interval log and JSON for tools.

pub mod recorder;
pub mod report;

pub use recorder::{LatencyRecorder, Metric};
pub use report::{Percentiles, write_hlog, write_json};
