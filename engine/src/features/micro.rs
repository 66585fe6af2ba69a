//! Microstructure features: the touch, the book's depth, order flow, volatility and trade flow.
//! (Being built: for now the touch-derived features only.)

use super::schema::{FeatureVector, idx};
use super::tick::Tick;

#[derive(Clone, Debug, Default)]
pub struct MicroFeatures {}

impl MicroFeatures {
    pub fn new() -> Self {
        MicroFeatures {}
    }

    #[inline]
    pub fn update(&mut self, t: &Tick<'_>, out: &mut FeatureVector) {
        let Some(touch) = t.touch else { return };
        let u = t.units;
        let (bp, ap) = (touch.bid.px.0 as f64 * u.price, touch.ask.px.0 as f64 * u.price);
        let (bq, aq) = (touch.bid.qty.0 as f64 * u.qty, touch.ask.qty.0 as f64 * u.qty);
        let mid = (bp + ap) / 2.0;
        out.set(idx::MID, mid);
        out.set(idx::MICROPRICE, (bp * aq + ap * bq) / (bq + aq));
        out.set(idx::SPREAD_TICKS, (ap - bp) / u.tick);
        out.set(idx::SPREAD_BPS, (ap - bp) / mid * 1e4);
        out.set(idx::IMBALANCE_L1, (bq - aq) / (bq + aq));
    }
}
