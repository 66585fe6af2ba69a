//! The time and session features through `FeatureStage`, against a direct computation from each
//! event's time (exact: the same integer arithmetic, one float division), over random streams that
//! cross midnights and session boundaries, with and without a session offset.

use kestrel_engine::event::MarketEvent;
use kestrel_engine::features::{FeatureSettings, FeatureStage, idx};
use kestrel_engine::pipeline::Stage;
use kestrel_engine::tape::Quote;
use kestrel_engine::types::{InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use proptest::prelude::*;

const S: u64 = 1_000_000_000;
const H: u64 = 3_600 * S;
const DAY: u64 = 24 * H;
const T0: u64 = 1_704_153_600 * S; // 2024-01-02T00:00:00Z

fn spec() -> InstrumentSpec {
    InstrumentSpec { symbol: "T".into(), venue: "X".into(), price_scale: 2, qty_scale: 0, tick: Price(1), lot: Qty(1) }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn time_features_match_a_direct_computation(
        gaps in proptest::collection::vec(0u64..(7 * H), 1..200),
        session_hours in prop_oneof![Just(24u64), Just(8), Just(1)],
        offset_hours in 0u64..8,
    ) {
        let settings = FeatureSettings {
            session_ns: session_hours * H,
            session_offset_ns: (offset_hours * H) % (session_hours * H),
            ..FeatureSettings::default()
        };
        let mut stage = FeatureStage::new(&[spec()], &settings);
        let mut ts = T0 + 1234;
        for (i, gap) in gaps.iter().enumerate() {
            ts += gap;
            let q = Quote::new(InstrumentId(0), UnixNanos(ts), UnixNanos(ts), (Price(100), Qty(1)), (Price(101), Qty(1)));
            let out = stage.on_event(&MarketEvent { seq: i as u64, ts: UnixNanos(ts), stamp: 0, record: q.into() });
            let v = out.features.values;
            // Direct: the session holding ts starts at the last offset + k·length at or before ts.
            let (len, off) = (settings.session_ns, settings.session_offset_ns);
            let session_start = off + (ts - off) / len * len;
            let tod = ts % DAY;
            prop_assert_eq!(v.get(idx::TIME_OF_DAY_S), tod as f64 / 1e9);
            let angle = std::f64::consts::TAU * tod as f64 / DAY as f64;
            prop_assert_eq!(v.get(idx::TIME_OF_DAY_SIN), angle.sin());
            prop_assert_eq!(v.get(idx::TIME_OF_DAY_COS), angle.cos());
            prop_assert_eq!(v.get(idx::SESSION_ELAPSED_S), (ts - session_start) as f64 / 1e9);
            prop_assert!(v.get(idx::SESSION_ELAPSED_S) < len as f64 / 1e9);
        }
    }
}
