//! Volume-profile features of the session (being built).

use super::schema::FeatureVector;
use super::tick::Tick;

#[derive(Clone, Debug, Default)]
pub struct ProfileFeatures {}

impl ProfileFeatures {
    /// `max_ticks`: width of the price histogram, in ticks, centred on the session's first price.
    pub fn new(_max_ticks: usize) -> Self {
        ProfileFeatures {}
    }

    #[inline]
    pub fn update(&mut self, _t: &Tick<'_>, _out: &mut FeatureVector) {}
}
