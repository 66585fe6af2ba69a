//! Latency for people (a percentile table) and for tools (HdrHistogram log, JSON).

use super::recorder::{LatencyRecorder, Metric};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use serde::Serialize;
use std::io::Write;
use std::time::{Duration, SystemTime};

/// The percentiles every run reports, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub p99_99: u64,
    pub max: u64,
    pub mean: f64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        let q = |p: f64| if h.is_empty() { 0 } else { h.value_at_quantile(p) };
        Percentiles {
            count: h.len(),
            p50: q(0.50),
            p90: q(0.90),
            p99: q(0.99),
            p99_9: q(0.999),
            p99_99: q(0.9999),
            max: if h.is_empty() { 0 } else { h.max() },
            mean: if h.is_empty() { 0.0 } else { h.mean() },
        }
    }
}

/// Every reported metric's percentiles, in [`Metric::ALL`] order (the model metrics only when
/// recorded: [`Metric::is_optional`]).
pub fn percentiles(rec: &LatencyRecorder) -> Vec<(Metric, Percentiles)> {
    Metric::ALL.iter().filter(|&&m| rec.reports(m)).map(|&m| (m, Percentiles::of(rec.histogram(m)))).collect()
}

/// Writes the histograms as JSON: `{ "unit": "ns", "metrics": { "decide": { "p50": …, … }, … } }`.
pub fn write_json(rec: &LatencyRecorder, out: &mut impl Write) -> std::io::Result<()> {
    let metrics: serde_json::Map<String, serde_json::Value> = percentiles(rec)
        .into_iter()
        .map(|(m, p)| (m.name().to_string(), serde_json::to_value(p).unwrap_or_default()))
        .collect();
    let doc = serde_json::json!({ "unit": "ns", "metrics": metrics });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// Writes one interval per reported metric (see [`percentiles`]), tagged with its name, in the standard HdrHistogram interval log
/// format (V2, deflate-compressed, base64) that HdrHistogram's `HistogramLogProcessor`, `hdr-plot`
/// and HdrHistogram.js read. `run_start` is when the run began, `elapsed` how long it lasted.
pub fn write_hlog(
    rec: &LatencyRecorder,
    run_start: SystemTime,
    elapsed: Duration,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment("Kestrel latency histograms, values in nanoseconds; one interval per metric, tagged")
        .with_start_time(run_start)
        .with_base_time(run_start)
        .with_max_value_divisor(1.0)
        .begin_log_with(out, &mut serializer)?;
    for &m in Metric::ALL.iter().filter(|&&m| rec.reports(m)) {
        let tag = Tag::new(m.name());
        writer
            .write_histogram(rec.histogram(m), Duration::ZERO, elapsed, tag)
            .map_err(|e| std::io::Error::other(format!("writing the {} histogram: {e:?}", m.name())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    #[test]
    fn the_hlog_reads_back_into_the_same_histograms() {
        let mut rec = LatencyRecorder::new();
        for v in [120, 250, 250, 9_000, 1_500_000] {
            rec.record(Metric::TickToDecision, v);
        }
        rec.record(Metric::Execute, 42);
        let mut buf = Vec::new();
        write_hlog(&rec, SystemTime::UNIX_EPOCH, Duration::from_secs(3), &mut buf).unwrap();
        let mut back = std::collections::HashMap::new();
        for entry in IntervalLogIterator::new(&buf) {
            if let Ok(LogEntry::Interval(iv)) = entry {
                let bytes = base64::engine::general_purpose::STANDARD.decode(iv.encoded_histogram()).unwrap();
                let h: Histogram<u64> = Deserializer::new().deserialize(&mut &bytes[..]).unwrap();
                back.insert(iv.tag().map(|t| t.as_str().to_string()).unwrap_or_default(), h);
            }
        }
        let reported = Metric::ALL.iter().filter(|m| !m.is_optional()).count();
        assert_eq!(back.len(), reported, "one interval per metric, the unrecorded model metrics left out");
        assert_eq!(&back["tick_to_decision"], rec.histogram(Metric::TickToDecision));
        assert_eq!(back["execute"].len(), 1);
    }

    #[test]
    fn json_has_every_metric_with_its_percentiles() {
        let mut rec = LatencyRecorder::new();
        rec.record(Metric::Decide, 1000);
        let mut buf = Vec::new();
        write_json(&rec, &mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["unit"], "ns");
        let decide = &v["metrics"]["decide"];
        assert_eq!(decide["count"], 1);
        assert!((999..=1001).contains(&decide["p50"].as_u64().unwrap()));
        assert_eq!(v["metrics"]["features"]["count"], 0);
        assert!(v["metrics"].get("model_pwin").is_none(), "a model metric only when recorded");
        rec.record(Metric::ModelPWin, 700);
        let mut buf = Vec::new();
        write_json(&rec, &mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["metrics"]["model_pwin"]["count"], 1);
    }
}
