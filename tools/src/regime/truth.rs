//! Planted regimes: the `start_ns,end_ns,regime` CSV that `kestrel tape synth --truth` writes, and
//! the label of each bar.

use crate::synth::{Regime, RegimeSpan};
use kestrel_engine::features::regime::STATE_NAMES;
use kestrel_engine::types::UnixNanos;

/// The engine's state index (order of [`STATE_NAMES`]) of a planted regime.
pub fn state_of(regime: Regime) -> usize {
    // The two lists share names; a mismatch is caught by the unit test below.
    STATE_NAMES.iter().position(|s| *s == regime.as_str()).unwrap_or(0)
}

/// Parses the truth CSV. Spans must be non-empty and in order without overlaps.
pub fn parse_csv(text: &str) -> Result<Vec<RegimeSpan>, String> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    match lines.next() {
        Some((_, header)) if header.trim() == "start_ns,end_ns,regime" => {}
        Some((_, header)) => return Err(format!("line 1: header is {header:?}, expected \"start_ns,end_ns,regime\"")),
        None => return Err("empty file: expected a header \"start_ns,end_ns,regime\" and one line per span".into()),
    }
    let mut spans: Vec<RegimeSpan> = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [start, end, regime] = fields[..] else {
            return Err(format!("line {n}: {} fields, expected 3 (start_ns,end_ns,regime)", fields.len()));
        };
        let int = |s: &str, what: &str| {
            s.parse::<u64>().map_err(|_| format!("line {n}: {what} {s:?} is not a non-negative integer"))
        };
        let (start, end) = (int(start, "start_ns")?, int(end, "end_ns")?);
        let regime = Regime::ALL
            .into_iter()
            .find(|r| r.as_str() == regime)
            .ok_or_else(|| format!("line {n}: regime {regime:?} is not one of trend, range, chop"))?;
        if end <= start {
            return Err(format!("line {n}: end_ns {end} is not after start_ns {start}"));
        }
        if let Some(prev) = spans.last()
            && start < prev.end.0
        {
            return Err(format!("line {n}: starts at {start}, before the previous span ends ({})", prev.end.0));
        }
        spans.push(RegimeSpan { start: UnixNanos(start), end: UnixNanos(end), regime });
    }
    if spans.is_empty() {
        return Err("no spans after the header".into());
    }
    Ok(spans)
}

/// The planted label of the bar `[start, start + bar_ns)`: the regime covering most of it, with the
/// share of the bar it covers (1.0 for a bar inside one span). `None` if no span overlaps it.
pub fn bar_label(spans: &[RegimeSpan], start: UnixNanos, bar_ns: u64) -> Option<(Regime, f64)> {
    let end = start.0.saturating_add(bar_ns);
    let first = spans.partition_point(|s| s.end.0 <= start.0);
    let mut cover = [0u64; 3];
    for span in spans[first..].iter().take_while(|s| s.start.0 < end) {
        let overlap = span.end.0.min(end).saturating_sub(span.start.0.max(start.0));
        cover[state_of(span.regime)] += overlap;
    }
    let total: u64 = cover.iter().sum();
    let best = (0..3).max_by_key(|&i| (cover[i], std::cmp::Reverse(i)))?;
    if total == 0 {
        return None;
    }
    let regime = Regime::ALL.into_iter().find(|r| state_of(*r) == best)?;
    Some((regime, cover[best] as f64 / bar_ns as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_match_the_generator() {
        for (i, r) in Regime::ALL.into_iter().enumerate() {
            assert_eq!(STATE_NAMES[state_of(r)], r.as_str());
            assert_eq!(state_of(r), i);
        }
    }

    #[test]
    fn parses_what_synth_writes_and_names_the_line() {
        let spans = parse_csv("start_ns,end_ns,regime\n0,100,chop\n100,250,trend\n").unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[1].regime, Regime::Trend);
        let err = |t: &str| parse_csv(t).unwrap_err();
        assert!(err("start,end\n").contains("line 1: header"));
        assert!(err("start_ns,end_ns,regime\n0,100,calm\n").contains("line 2: regime \"calm\""));
        assert!(err("start_ns,end_ns,regime\n0,100\n").contains("line 2: 2 fields"));
        assert!(err("start_ns,end_ns,regime\n0,x,chop\n").contains("line 2: end_ns \"x\""));
        assert!(err("start_ns,end_ns,regime\n0,100,chop\n50,80,trend\n").contains("line 3: starts at 50"));
        assert!(err("start_ns,end_ns,regime\n5,5,chop\n").contains("not after"));
        assert!(err("").contains("empty"));
    }

    #[test]
    fn a_bar_takes_the_regime_covering_most_of_it() {
        let spans = parse_csv("start_ns,end_ns,regime\n0,100,chop\n100,130,trend\n130,400,range\n").unwrap();
        assert_eq!(bar_label(&spans, UnixNanos(0), 100), Some((Regime::Chop, 1.0)));
        assert_eq!(bar_label(&spans, UnixNanos(100), 100), Some((Regime::Range, 0.7)));
        assert_eq!(bar_label(&spans, UnixNanos(60), 100), Some((Regime::Chop, 0.4)));
        assert_eq!(bar_label(&spans, UnixNanos(350), 100), Some((Regime::Range, 0.5)), "half outside");
        assert_eq!(bar_label(&spans, UnixNanos(400), 100), None);
    }
}
