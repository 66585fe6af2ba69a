//! The feature schema: every feature's name, position, unit and meaning, versioned and hashed.
//!
//! One list, used by the hot loop, by `kestrel features` (the offline matrix) and by model cards:
//! a model declares the schema hash it was trained on, and the engine refuses one that does not match
//! (DESIGN.md §5). Adding, removing, renaming or reordering a feature changes the hash; bump
//! [`SCHEMA_VERSION`] too, so that people can tell schemas apart without comparing hashes.
//!
//! A value is `NaN` while the feature is not yet defined (before the first two-sided book, before
//! enough bars, in the first session for cross-session percentiles). Models and strategies must treat
//! `NaN` as "unknown", never as zero.

/// Bumped whenever the list below changes.
pub const SCHEMA_VERSION: u32 = 1;

/// One feature's description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureDef {
    pub name: &'static str,
    pub unit: &'static str,
    pub doc: &'static str,
}

macro_rules! schema {
    ($($idx:ident = $name:literal, $unit:literal, $doc:literal;)*) => {
        /// Positions in the feature vector, one constant per feature.
        pub mod idx {
            schema!(@consts 0usize; $($idx)*);
        }
        /// Every feature, in vector order.
        pub const FEATURES: &[FeatureDef] = &[$(FeatureDef { name: $name, unit: $unit, doc: $doc }),*];
    };
    (@consts $n:expr; $head:ident $($rest:ident)*) => {
        pub const $head: usize = $n;
        schema!(@consts $n + 1usize; $($rest)*);
    };
    (@consts $n:expr;) => {
        /// How many features there are.
        pub const COUNT: usize = $n;
    };
}

schema! {
    // ---- microstructure (features/micro.rs)
    MID = "mid", "price", "(best bid + best ask) / 2";
    MICROPRICE = "microprice", "price", "bid·ask_size + ask·bid_size over the touch sizes: the mid leaned toward the thinner side";
    SPREAD_TICKS = "spread_ticks", "ticks", "best ask − best bid";
    SPREAD_BPS = "spread_bps", "bps", "spread over mid × 10⁴";
    IMBALANCE_L1 = "imbalance_l1", "ratio", "(bid size − ask size) / (bid size + ask size) at the touch, in [−1, 1]";
    IMBALANCE_DEPTH5 = "imbalance_depth5", "ratio", "the same over the best 5 levels a side (L2 tapes; the touch only with L1)";
    IMBALANCE_DEPTH10 = "imbalance_depth10", "ratio", "the same over the best 10 levels a side";
    OFI_1S = "ofi_1s", "qty", "order-flow imbalance (Cont, Kukanov, Stoikov 2014) summed with a 1 s exponential decay";
    OFI_10S = "ofi_10s", "qty", "order-flow imbalance with a 10 s exponential decay";
    VOL_EWMA_1S = "vol_ewma_1s", "log-return", "sqrt of the exponentially decayed (1 s) mean of squared mid log-returns, per mid change";
    VOL_EWMA_10S = "vol_ewma_10s", "log-return", "the same with a 10 s decay";
    VOL_EWMA_60S = "vol_ewma_60s", "log-return", "the same with a 60 s decay";
    REALIZED_VOL_5BARS = "realized_vol_5bars", "log-return", "sqrt of the sum of squared mid log-returns over the last 5 closed bars";
    ATR_14 = "atr_14", "price", "mean true range of the last 14 closed bars (mid high/low/close)";
    ATR_Z = "atr_z", "z-score", "ATR against the mean and standard deviation of ATR over the last 60 closed bars";
    TRADE_RATE_10S = "trade_rate_10s", "trades/s", "trades per second with a 10 s exponential decay";
    SIGNED_VOLUME_10S = "signed_volume_10s", "qty", "buyer-initiated minus seller-initiated volume with a 10 s exponential decay";
    SIGNED_VOLUME_60S = "signed_volume_60s", "qty", "the same with a 60 s decay";
    // ---- volume profile (features/profile.rs)
    POC_DISTANCE_TICKS = "poc_distance_ticks", "ticks", "mid − the session's point of control (price with the most traded volume)";
    VAH_DISTANCE_TICKS = "vah_distance_ticks", "ticks", "mid − value-area high (value area: 70 % of session volume around the POC)";
    VAL_DISTANCE_TICKS = "val_distance_ticks", "ticks", "mid − value-area low";
    POC_CROSSES_5M = "poc_crosses_5m", "count", "times the mid crossed the POC in the last 5 minutes";
    POC_CROSSES_15M = "poc_crosses_15m", "count", "… in the last 15 minutes";
    POC_CROSSES_30M = "poc_crosses_30m", "count", "… in the last 30 minutes";
    SECS_SINCE_POC_CROSS = "secs_since_poc_cross", "s", "time since the mid last crossed the POC (NaN before the first cross of the session)";
    POC_SIDE = "poc_side", "sign", "+1 mid above the POC, −1 below, 0 at it";
    TIME_ABOVE_VALUE = "time_above_value", "fraction", "share of session time the mid spent above the value area";
    TIME_BELOW_VALUE = "time_below_value", "fraction", "share of session time below the value area";
    TIME_INSIDE_VALUE = "time_inside_value", "fraction", "share of session time inside the value area";
    SESSION_RANGE_TICKS = "session_range_ticks", "ticks", "session high − low of the mid";
    SESSION_RANGE_PCTL = "session_range_pctl", "fraction", "share of previous sessions (same elapsed time) whose range was smaller (NaN in the first session)";
    CVD = "cvd", "qty", "cumulative volume delta of the session: buyer- minus seller-initiated volume";
    CVD_SLOPE_5M = "cvd_slope_5m", "qty/min", "change of CVD over the last 5 minutes, per minute";
    CVD_SLOPE_15M = "cvd_slope_15m", "qty/min", "change of CVD over the last 15 minutes, per minute";
    // ---- regime (features/regime)
    REGIME_P_TREND = "regime_p_trend", "probability", "HMM filter: probability of the trend state, updated at each bar close";
    REGIME_P_RANGE = "regime_p_range", "probability", "HMM filter: probability of the range state";
    REGIME_P_CHOP = "regime_p_chop", "probability", "HMM filter: probability of the chop state";
    REGIME_RULE = "regime_rule", "class", "rule-based regime: 0 trend, 1 range, 2 chop (bar efficiency, relative volatility, CVD slope, range percentile, POC crosses)";
    // ---- time and session (features/session.rs)
    TIME_OF_DAY_S = "time_of_day_s", "s", "seconds since UTC midnight";
    TIME_OF_DAY_SIN = "time_of_day_sin", "ratio", "sin(2π · time of day / 24 h)";
    TIME_OF_DAY_COS = "time_of_day_cos", "ratio", "cos(2π · time of day / 24 h)";
    SESSION_ELAPSED_S = "session_elapsed_s", "s", "time since the session opened";
}

/// Features whose sign is a direction: positive means up, buyers or above (imbalances, order flow,
/// signed volume, CVD and its slopes, distances from the volume profile's levels, the side of the
/// POC). For a candidate trade they mean opposite things on a buy and on a sell, so `kestrel train`
/// feeds them to a model in the trade's frame (the card marks them `signed`; see
/// `decide::model::ModelInputs`). Not part of [`schema_hash`]: the card says how each input is read,
/// so this list only guides training.
pub const DIRECTIONAL: &[usize] = &[
    idx::IMBALANCE_L1,
    idx::IMBALANCE_DEPTH5,
    idx::IMBALANCE_DEPTH10,
    idx::OFI_1S,
    idx::OFI_10S,
    idx::SIGNED_VOLUME_10S,
    idx::SIGNED_VOLUME_60S,
    idx::POC_DISTANCE_TICKS,
    idx::VAH_DISTANCE_TICKS,
    idx::VAL_DISTANCE_TICKS,
    idx::POC_SIDE,
    idx::CVD,
    idx::CVD_SLOPE_5M,
    idx::CVD_SLOPE_15M,
];

/// Features that are a price level (the mid, the microprice): a model that reads one learns where
/// the price was during its training window, which says nothing about another window. `kestrel train`
/// leaves them out unless asked.
pub const PRICE_LEVELS: &[usize] = &[idx::MID, idx::MICROPRICE];

/// The vector the features stage fills for every event; indexed by [`idx`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FeatureVector(pub [f64; idx::COUNT]);

impl Default for FeatureVector {
    fn default() -> Self {
        FeatureVector([f64::NAN; idx::COUNT])
    }
}

impl FeatureVector {
    #[inline]
    pub fn get(&self, i: usize) -> f64 {
        self.0[i]
    }

    #[inline]
    pub fn set(&mut self, i: usize, v: f64) {
        self.0[i] = v;
    }
}

/// A 64-bit FNV-1a hash of the version and every feature's name and unit, in order: what a model
/// card records and the engine compares.
pub const fn schema_hash() -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let v = SCHEMA_VERSION.to_le_bytes();
    let mut i = 0;
    while i < 4 {
        h = (h ^ v[i] as u64).wrapping_mul(PRIME);
        i += 1;
    }
    let mut f = 0;
    while f < FEATURES.len() {
        let parts = [FEATURES[f].name.as_bytes(), FEATURES[f].unit.as_bytes()];
        let mut p = 0;
        while p < 2 {
            let bytes = parts[p];
            let mut b = 0;
            while b < bytes.len() {
                h = (h ^ bytes[b] as u64).wrapping_mul(PRIME);
                b += 1;
            }
            h = (h ^ 0xff).wrapping_mul(PRIME); // separator: "ab"+"c" ≠ "a"+"bc"
            p += 1;
        }
        f += 1;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_match_the_list_and_names_are_unique() {
        assert_eq!(FEATURES.len(), idx::COUNT);
        assert_eq!(FEATURES[idx::MID].name, "mid");
        assert_eq!(FEATURES[idx::SESSION_ELAPSED_S].name, "session_elapsed_s");
        let mut names: Vec<_> = FEATURES.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FEATURES.len(), "duplicate feature name");
        assert!(
            FEATURES.iter().all(|f| f.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
        );
    }

    #[test]
    fn the_hash_is_stable_and_sees_every_name() {
        assert_eq!(schema_hash(), schema_hash());
        assert_ne!(schema_hash(), 0);
    }
}
