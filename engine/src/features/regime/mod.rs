//! Regime features: an online 3-state HMM filter and a rule-based baseline (being built).

use super::schema::FeatureVector;
use super::tick::Tick;

/// Parameters of the regime HMM, fitted offline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HmmParams {}

impl HmmParams {
    /// The parameters shipped with Kestrel.
    pub fn bundled() -> HmmParams {
        HmmParams {}
    }

    /// Reads parameters written by `kestrel regime fit`; the error says what is wrong with the file.
    pub fn load(path: &std::path::Path) -> Result<HmmParams, String> {
        Err(format!("{}: regime model files are not supported yet", path.display()))
    }
}

#[derive(Clone, Debug, Default)]
pub struct RegimeFeatures {}

impl RegimeFeatures {
    pub fn new(_params: &HmmParams) -> Self {
        RegimeFeatures {}
    }

    #[inline]
    pub fn update(&mut self, _t: &Tick<'_>, _out: &mut FeatureVector) {}
}
