//! The regime HMM: its parameters ([`HmmParams`], fitted offline by `kestrel regime fit` and read
//! from JSON) and the online forward filter ([`HmmFilter`]) that runs at every bar close.
//!
//! Three hidden states ([`STATE_NAMES`]: trend, range, chop) follow a Markov chain with transition
//! matrix `A` (one step per bar); each emits the bar's [`Observation`] from a Gaussian with a
//! diagonal covariance. At each closed bar the filter computes
//!
//! ```text
//! α_t(j) ∝ (Σ_i α_{t-1}(i) · A[i][j]) · b_j(o_t)        (α_1 ∝ π · b(o_1))
//! ```
//!
//! normalised to sum to 1: the probability of each regime given every bar so far. O(S²+S·D) per bar
//! with S = 3 states and D = 3 observations, on fixed-size arrays: no allocation. Emissions are
//! computed in log space and shifted by their maximum before exponentiation, so an outlying bar
//! cannot underflow every state to zero; a missing observation (`NaN`) is left out of the
//! likelihood.
//!
//! Bars in which nothing happened are not emitted by the bar builder; when the next bar starts `k`
//! bar lengths after the previous one, the filter applies the transition matrix `k - 1` more times
//! (at most [`MAX_GAP_BARS`]); after a longer gap (a weekend, an outage) it starts again from the
//! start probabilities. `kestrel regime fit` treats gaps the same way.

use super::observe::{OBS_DIM, OBSERVATION_NAMES, OBSERVATION_VERSION, Observation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use std::sync::OnceLock;

/// Number of hidden states.
/// Longest bar a model may be fitted on: a week, as the config allows.
pub const MAX_BAR_SECONDS: u64 = 7 * 86_400;

pub const N_STATES: usize = 3;

/// The states, in the order of every per-state array (and of the `regime_p_*` features).
pub const STATE_NAMES: [&str; N_STATES] = ["trend", "range", "chop"];
pub const TREND: usize = 0;
pub const RANGE: usize = 1;
pub const CHOP: usize = 2;

/// Longest run of empty bars bridged by transition steps; a longer gap restarts the filter.
pub const MAX_GAP_BARS: u64 = 60;

/// The `format` a model file declares.
pub const MODEL_FORMAT: &str = "kestrel-regime-hmm";

/// Tolerance on sums of probabilities (start probabilities, rows of the transition matrix).
const SUM_TOLERANCE: f64 = 1e-6;

/// The bundled model (fitted on synthetic tapes; see `models/README.md`).
const BUNDLED_JSON: &str = include_str!("../../../../models/regime_hmm.json");

/// Parameters of the regime HMM, fitted offline.
///
/// The JSON form (what `kestrel regime fit` writes, what [`HmmParams::load`] reads) also names the
/// observation definitions and states the arrays are laid out for, and the engine refuses a file
/// whose names or observation version differ from its own:
///
/// ```json
/// { "format": "kestrel-regime-hmm", "observation_version": 1,
///   "observations": ["trend_strength", "rel_log_vol", "rel_log_activity"],
///   "states": ["trend", "range", "chop"], "bar_seconds": 60,
///   "start": [π…], "transition": [[A row]…], "means": [[μ per observation]…],
///   "variances": [[σ² per observation]…], "fit": { …how it was fitted… } }
/// ```
///
/// `Default` is the bundled model.
#[derive(Clone, Debug, PartialEq)]
pub struct HmmParams {
    /// The bar length the model was fitted on, in seconds: its transition matrix is per bar of
    /// this length, and its emissions describe bars of this length.
    pub bar_seconds: u64,
    /// Probabilities of each state at the first bar (sum to 1).
    pub start: [f64; N_STATES],
    /// `transition[i][j]`: probability of state `j` at the next bar given state `i` (rows sum to 1).
    pub transition: [[f64; N_STATES]; N_STATES],
    /// Mean of each observation in each state.
    pub means: [[f64; OBS_DIM]; N_STATES],
    /// Variance of each observation in each state (> 0).
    pub variances: [[f64; OBS_DIM]; N_STATES],
    /// How the parameters were fitted (tapes, seeds, likelihood, command); kept and written back,
    /// never read by the filter.
    pub fit: Option<Value>,
}

impl Default for HmmParams {
    fn default() -> Self {
        HmmParams::bundled()
    }
}

impl HmmParams {
    /// The parameters shipped with Kestrel (`models/regime_hmm.json`, compiled in).
    pub fn bundled() -> HmmParams {
        static BUNDLED: OnceLock<HmmParams> = OnceLock::new();
        BUNDLED
            .get_or_init(|| match HmmParams::from_json(BUNDLED_JSON) {
                Ok(p) => p,
                // A unit test parses the file: reaching this is a build with a broken model file.
                Err(e) => panic!("the bundled models/regime_hmm.json is invalid: {e}"),
            })
            .clone()
    }

    /// Reads parameters written by `kestrel regime fit`; the error names the file and what is wrong
    /// with it (the field, for a field).
    pub fn load(path: &Path) -> Result<HmmParams, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read regime model {}: {e}", path.display()))?;
        HmmParams::from_json(&text).map_err(|e| format!("regime model {}: {e}", path.display()))
    }

    /// Parses and checks the JSON form.
    pub fn from_json(text: &str) -> Result<HmmParams, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        HmmParams::from_value(&value)
    }

    /// The JSON form, one field a line and one matrix row a line, with a final newline.
    pub fn to_json(&self) -> String {
        fn compact<T: Serialize + ?Sized>(v: &T) -> String {
            serde_json::to_string(v).unwrap_or_default()
        }
        fn rows<const C: usize>(m: &[[f64; C]]) -> String {
            let rows: Vec<String> = m.iter().map(|r| format!("    {}", compact(&r[..]))).collect();
            format!("[\n{}\n  ]", rows.join(",\n"))
        }
        let mut fields = vec![
            format!("\"format\": {}", compact(MODEL_FORMAT)),
            format!("\"observation_version\": {OBSERVATION_VERSION}"),
            format!("\"observations\": {}", compact(&OBSERVATION_NAMES)),
            format!("\"states\": {}", compact(&STATE_NAMES)),
            format!("\"bar_seconds\": {}", self.bar_seconds),
            format!("\"start\": {}", compact(&self.start)),
            format!("\"transition\": {}", rows(&self.transition)),
            format!("\"means\": {}", rows(&self.means)),
            format!("\"variances\": {}", rows(&self.variances)),
        ];
        if let Some(fit) = &self.fit {
            let pretty = serde_json::to_string_pretty(fit).unwrap_or_default().replace('\n', "\n  ");
            fields.push(format!("\"fit\": {pretty}"));
        }
        format!("{{\n  {}\n}}\n", fields.join(",\n  "))
    }

    /// Checks a parsed JSON value field by field.
    pub fn from_value(v: &Value) -> Result<HmmParams, String> {
        let obj = v.as_object().ok_or("expected a JSON object at the top level")?;
        const KNOWN: [&str; 10] = [
            "format",
            "observation_version",
            "observations",
            "states",
            "bar_seconds",
            "start",
            "transition",
            "means",
            "variances",
            "fit",
        ];
        if let Some(unknown) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(format!("{unknown}: unknown field (expected {})", KNOWN.join(", ")));
        }
        let field = |name: &str| obj.get(name).ok_or_else(|| format!("{name}: missing field"));

        let format = field("format")?.as_str().ok_or("format: expected a string")?;
        if format != MODEL_FORMAT {
            return Err(format!("format: is {format:?}, expected {MODEL_FORMAT:?}"));
        }
        let version =
            field("observation_version")?.as_u64().ok_or("observation_version: expected a non-negative integer")?;
        if version != u64::from(OBSERVATION_VERSION) {
            return Err(format!(
                "observation_version: is {version}, but this engine computes version {OBSERVATION_VERSION} \
                 observations; refit the model with `kestrel regime fit`"
            ));
        }
        names("observations", field("observations")?, &OBSERVATION_NAMES)?;
        names("states", field("states")?, &STATE_NAMES)?;
        let bar_seconds = match field("bar_seconds")?.as_u64() {
            Some(s) if (1..=MAX_BAR_SECONDS).contains(&s) => s,
            _ => return Err(format!("bar_seconds: expected an integer from 1 to {MAX_BAR_SECONDS} (a week)")),
        };

        let start: [f64; N_STATES] = vector("start", field("start")?)?;
        probabilities("start", &start)?;
        let transition: [[f64; N_STATES]; N_STATES] = matrix("transition", field("transition")?)?;
        for (i, row) in transition.iter().enumerate() {
            probabilities(&format!("transition[{i}]"), row)?;
        }
        let means: [[f64; OBS_DIM]; N_STATES] = matrix("means", field("means")?)?;
        let variances: [[f64; OBS_DIM]; N_STATES] = matrix("variances", field("variances")?)?;
        for (i, row) in variances.iter().enumerate() {
            for (j, &x) in row.iter().enumerate() {
                if x <= 0.0 {
                    return Err(format!(
                        "variances[{i}][{j}]: is {x}, must be positive ({} of {})",
                        OBSERVATION_NAMES[j], STATE_NAMES[i]
                    ));
                }
            }
        }
        let fit = obj.get("fit").filter(|f| !f.is_null()).cloned();
        Ok(HmmParams { bar_seconds, start, transition, means, variances, fit })
    }

    /// `ln b_s(o)` for each state: the sum over the observed (non-`NaN`) dimensions of the Gaussian
    /// log-density. The filter and `kestrel regime fit` share this function.
    #[inline]
    pub fn log_emissions(&self, o: &Observation) -> [f64; N_STATES] {
        let mut out = [0.0; N_STATES];
        for (s, l) in out.iter_mut().enumerate() {
            for ((&x, &mean), &var) in o.iter().zip(&self.means[s]).zip(&self.variances[s]) {
                if x.is_finite() {
                    let z = x - mean;
                    *l -= 0.5 * (z * z / var + (std::f64::consts::TAU * var).ln());
                }
            }
        }
        out
    }

    /// The stationary distribution of the transition matrix (by power iteration): the long-run
    /// share of bars in each state.
    pub fn stationary(&self) -> [f64; N_STATES] {
        let mut p = [1.0 / N_STATES as f64; N_STATES];
        for _ in 0..10_000 {
            let next = step(&p, &self.transition);
            let diff: f64 = next.iter().zip(&p).map(|(a, b)| (a - b).abs()).sum();
            p = next;
            if diff < 1e-15 {
                break;
            }
        }
        p
    }
}

impl Serialize for HmmParams {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ModelFile::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for HmmParams {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(deserializer)?;
        HmmParams::from_value(&v).map_err(serde::de::Error::custom)
    }
}

/// The JSON layout, for writing.
#[derive(Serialize)]
struct ModelFile<'a> {
    format: &'static str,
    observation_version: u32,
    observations: [&'static str; OBS_DIM],
    states: [&'static str; N_STATES],
    bar_seconds: u64,
    start: [f64; N_STATES],
    transition: [[f64; N_STATES]; N_STATES],
    means: [[f64; OBS_DIM]; N_STATES],
    variances: [[f64; OBS_DIM]; N_STATES],
    #[serde(skip_serializing_if = "Option::is_none")]
    fit: Option<&'a Value>,
}

impl<'a> From<&'a HmmParams> for ModelFile<'a> {
    fn from(p: &'a HmmParams) -> Self {
        ModelFile {
            format: MODEL_FORMAT,
            observation_version: OBSERVATION_VERSION,
            observations: OBSERVATION_NAMES,
            states: STATE_NAMES,
            bar_seconds: p.bar_seconds,
            start: p.start,
            transition: p.transition,
            means: p.means,
            variances: p.variances,
            fit: p.fit.as_ref(),
        }
    }
}

fn names<const N: usize>(field: &str, v: &Value, want: &[&str; N]) -> Result<(), String> {
    let got: Option<Vec<&str>> = v.as_array().and_then(|a| a.iter().map(Value::as_str).collect());
    match got {
        Some(got) if got == want => Ok(()),
        Some(got) => Err(format!("{field}: is {got:?}, this engine expects {want:?} (in that order)")),
        None => Err(format!("{field}: expected an array of strings")),
    }
}

fn vector<const N: usize>(field: &str, v: &Value) -> Result<[f64; N], String> {
    let a = v.as_array().ok_or_else(|| format!("{field}: expected an array of {N} numbers"))?;
    if a.len() != N {
        return Err(format!("{field}: has {} entries, expected {N}", a.len()));
    }
    let mut out = [0.0; N];
    for (i, (x, slot)) in a.iter().zip(out.iter_mut()).enumerate() {
        *slot = match x.as_f64() {
            Some(f) if f.is_finite() => f,
            _ => return Err(format!("{field}[{i}]: is {x}, expected a finite number")),
        };
    }
    Ok(out)
}

fn matrix<const R: usize, const C: usize>(field: &str, v: &Value) -> Result<[[f64; C]; R], String> {
    let a = v.as_array().ok_or_else(|| format!("{field}: expected an array of {R} rows of {C} numbers"))?;
    if a.len() != R {
        return Err(format!("{field}: has {} rows, expected {R} (one per state)", a.len()));
    }
    let mut out = [[0.0; C]; R];
    for (i, (row, slot)) in a.iter().zip(out.iter_mut()).enumerate() {
        *slot = vector(&format!("{field}[{i}]"), row)?;
    }
    Ok(out)
}

fn probabilities(field: &str, p: &[f64]) -> Result<(), String> {
    if let Some((i, x)) = p.iter().enumerate().find(|(_, x)| **x < 0.0) {
        return Err(format!("{field}[{i}]: is {x}, a probability cannot be negative"));
    }
    let sum: f64 = p.iter().sum();
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(format!("{field}: sums to {sum}, must sum to 1 (it is a probability distribution)"));
    }
    Ok(())
}

/// One transition step: `p · A`.
#[inline]
fn step(p: &[f64; N_STATES], a: &[[f64; N_STATES]; N_STATES]) -> [f64; N_STATES] {
    let mut out = [0.0; N_STATES];
    for (i, &pi) in p.iter().enumerate() {
        for (o, &aij) in out.iter_mut().zip(&a[i]) {
            *o += pi * aij;
        }
    }
    out
}

/// The online forward filter of one instrument.
#[derive(Clone, Debug, PartialEq)]
pub struct HmmFilter {
    params: HmmParams,
    /// Filtered probabilities after the last bar; meaningful once `started`.
    alpha: [f64; N_STATES],
    started: bool,
}

impl HmmFilter {
    /// A filter with `params` (its `fit` description is not kept: every instrument holds a copy).
    pub fn new(params: &HmmParams) -> Self {
        let params = HmmParams {
            bar_seconds: params.bar_seconds,
            start: params.start,
            transition: params.transition,
            means: params.means,
            variances: params.variances,
            fit: None,
        };
        HmmFilter { alpha: params.start, params, started: false }
    }

    /// The parameters, without their `fit` description.
    pub fn params(&self) -> &HmmParams {
        &self.params
    }

    /// The probability of each state given the bars so far, or `None` before the first bar.
    #[inline]
    pub fn probabilities(&self) -> Option<[f64; N_STATES]> {
        self.started.then_some(self.alpha)
    }

    /// Forgets every bar: the next one starts from the start probabilities.
    pub fn reset(&mut self) {
        self.started = false;
        self.alpha = self.params.start;
    }

    /// One transition step with nothing observed (an empty bar). No effect before the first bar.
    #[inline]
    pub fn predict(&mut self) {
        if self.started {
            self.alpha = normalised(step(&self.alpha, &self.params.transition)).unwrap_or(self.params.start);
        }
    }

    /// Takes in the next bar's observation; returns the filtered probabilities.
    #[inline]
    pub fn update(&mut self, o: &Observation) -> [f64; N_STATES] {
        let prior = if self.started { step(&self.alpha, &self.params.transition) } else { self.params.start };
        let log_b = self.params.log_emissions(o);
        let max = log_b.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut post = prior;
        if max.is_finite() {
            for (p, l) in post.iter_mut().zip(log_b) {
                *p *= (l - max).exp();
            }
        }
        // A prior that puts all its mass where the bar is impossible (only with zero transition
        // probabilities) leaves nothing to normalise: trust the prior rather than produce NaN.
        self.alpha = normalised(post).or_else(|| normalised(prior)).unwrap_or(self.params.start);
        self.started = true;
        self.alpha
    }
}

#[inline]
fn normalised(mut p: [f64; N_STATES]) -> Option<[f64; N_STATES]> {
    let sum: f64 = p.iter().sum();
    if !(sum > 0.0 && sum.is_finite()) {
        return None;
    }
    for x in &mut p {
        *x /= sum;
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn simple() -> HmmParams {
        HmmParams {
            bar_seconds: 60,
            start: [0.5, 0.3, 0.2],
            transition: [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.25, 0.25, 0.5]],
            means: [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 1.0, 0.0]],
            variances: [[1.0, 1.0, 1.0], [0.5, 0.25, 1.0], [1.0, 2.0, 1.0]],
            fit: None,
        }
    }

    fn gauss(x: f64, mean: f64, var: f64) -> f64 {
        (-(x - mean) * (x - mean) / (2.0 * var)).exp() / (std::f64::consts::TAU * var).sqrt()
    }

    #[test]
    fn a_forward_step_matches_the_hand_computation() {
        let p = simple();
        let mut f = HmmFilter::new(&p);
        assert_eq!(f.probabilities(), None, "nothing before the first bar");
        // Bar 1 observes only dimension 0 (= 0.5); bar 2 only dimension 1 (= -0.5).
        let o1 = [0.5, f64::NAN, f64::NAN];
        let o2 = [f64::NAN, -0.5, f64::NAN];
        let b1 = [gauss(0.5, 1.0, 1.0), gauss(0.5, 0.0, 0.5), gauss(0.5, 0.0, 1.0)];
        let u1: Vec<f64> = (0..3).map(|s| p.start[s] * b1[s]).collect();
        let a1: Vec<f64> = u1.iter().map(|u| u / u1.iter().sum::<f64>()).collect();
        let got1 = f.update(&o1);
        for s in 0..3 {
            assert!((got1[s] - a1[s]).abs() < 1e-12, "bar 1: {got1:?} vs {a1:?}");
        }
        // By hand: b(o1) = [N(0.5; 1, 1), N(0.5; 0, 0.5), N(0.5; 0, 1)] = [0.352065, 0.439391, 0.352065],
        // π·b = [0.176033, 0.131817, 0.070413], Σ = 0.378263.
        let hand1 = [0.465371, 0.348481, 0.186148];
        assert!(got1.iter().zip(hand1).all(|(g, h)| (g - h).abs() < 1e-6), "{got1:?}");
        let b2 = [gauss(-0.5, 0.0, 1.0), gauss(-0.5, -1.0, 0.25), gauss(-0.5, 1.0, 2.0)];
        let pred: Vec<f64> = (0..3).map(|j| (0..3).map(|i| a1[i] * p.transition[i][j]).sum()).collect();
        let u2: Vec<f64> = (0..3).map(|s| pred[s] * b2[s]).collect();
        let a2: Vec<f64> = u2.iter().map(|u| u / u2.iter().sum::<f64>()).collect();
        let got2 = f.update(&o2);
        for s in 0..3 {
            assert!((got2[s] - a2[s]).abs() < 1e-12, "bar 2: {got2:?} vs {a2:?}");
        }
        // By hand: α1·A = [0.488530, 0.337011, 0.174459]; b(o2) = [N(-0.5; 0, 1), N(-0.5; -1, 0.25),
        // N(-0.5; 1, 2)] = [0.352065, 0.483941, 0.160733].
        let hand2 = [0.473645, 0.449133, 0.077221];
        assert!(got2.iter().zip(hand2).all(|(g, h)| (g - h).abs() < 1e-6), "{got2:?}");
        assert_eq!(f.probabilities(), Some(got2));
    }

    #[test]
    fn filtered_probabilities_stay_normalised_even_for_freak_bars() {
        let p = simple();
        let mut f = HmmFilter::new(&p);
        let bars = [
            [0.3, -2.0, 0.1],
            [1e6, -1e6, 1e6],
            [f64::NAN; 3],
            [f64::INFINITY, 0.0, 0.0],
            [-3.0, 40.0, -7.0],
            [0.0, 0.0, 0.0],
        ];
        for o in bars.iter().cycle().take(60) {
            let a = f.update(o);
            let sum: f64 = a.iter().sum();
            assert!((sum - 1.0).abs() < 1e-12 && a.iter().all(|x| x.is_finite() && *x >= 0.0), "{a:?}");
            f.predict();
            let sum: f64 = f.probabilities().unwrap().iter().sum();
            assert!((sum - 1.0).abs() < 1e-12);
        }
        let all_missing = HmmFilter::new(&p).update(&[f64::NAN; 3]);
        assert_eq!(all_missing, p.start, "nothing observed: the start probabilities");
        f.reset();
        assert_eq!(f.probabilities(), None);
    }

    #[test]
    fn the_bundled_model_parses_and_round_trips() {
        let p = HmmParams::from_json(BUNDLED_JSON).expect("models/regime_hmm.json must parse");
        assert_eq!(HmmParams::bundled(), p);
        assert_eq!(HmmParams::default(), p);
        assert_eq!(HmmParams::from_json(&p.to_json()).unwrap(), p);
        let via_serde: HmmParams = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(via_serde, p);
        // The fitted states are labelled by their emission means (see tools/src/regime).
        assert!(p.means[TREND][0] > p.means[RANGE][0] && p.means[TREND][0] > p.means[CHOP][0]);
        assert!(p.means[CHOP][1] > p.means[RANGE][1]);
    }

    fn with(edit: impl FnOnce(&mut Value)) -> Result<HmmParams, String> {
        let mut v = serde_json::to_value(simple()).unwrap();
        edit(&mut v);
        HmmParams::from_value(&v)
    }

    #[test]
    fn load_errors_name_the_field() {
        type Edit = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|v| v["transition"][1] = json!([0.5, 0.4, 0.05])), "transition[1]: sums to 0.95"),
            (Box::new(|v| v["transition"][2] = json!([0.5, 0.5])), "transition[2]: has 2 entries, expected 3"),
            (Box::new(|v| v["transition"] = json!([[1.0, 0.0, 0.0]])), "transition: has 1 rows, expected 3"),
            (Box::new(|v| v["start"] = json!([1.2, -0.2, 0.0])), "start[1]: is -0.2"),
            (Box::new(|v| v["variances"][2][1] = json!(0.0)), "variances[2][1]: is 0, must be positive"),
            (Box::new(|v| v["variances"][0][0] = json!(-1.5)), "variances[0][0]: is -1.5"),
            (Box::new(|v| v["means"][1][2] = json!("x")), "means[1][2]: is \"x\", expected a finite number"),
            (Box::new(|v| v["means"][1][2] = Value::Null), "means[1][2]: is null"),
            (Box::new(|v| v["means"] = json!({})), "means: expected an array"),
            (Box::new(|v| drop(v.as_object_mut().unwrap().remove("variances"))), "variances: missing field"),
            (Box::new(|v| v["observation_version"] = json!(99)), "observation_version: is 99"),
            (Box::new(|v| v["states"] = json!(["range", "trend", "chop"])), "states: is [\"range\""),
            (Box::new(|v| v["observations"] = json!(["a"])), "observations: is [\"a\"]"),
            (Box::new(|v| v["bar_seconds"] = json!(0)), "bar_seconds: expected an integer from 1 to 604800"),
            (Box::new(|v| v["bar_seconds"] = json!(u64::MAX)), "bar_seconds: expected an integer from 1 to 604800"),
            (Box::new(|v| v["format"] = json!("onnx")), "format: is \"onnx\""),
            (Box::new(|v| v["extra"] = json!(1)), "extra: unknown field"),
        ];
        for (edit, want) in cases {
            let err = with(edit).expect_err(want);
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
        assert_eq!(with(|_| {}), Ok(simple()));
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let err = HmmParams::load(&missing).unwrap_err();
        assert!(err.contains("cannot read regime model") && err.contains("nope.json"), "{err}");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{ \"format\": ").unwrap();
        let err = HmmParams::load(&bad).unwrap_err();
        assert!(err.contains("bad.json") && err.contains("not valid JSON"), "{err}");
        let good = dir.path().join("good.json");
        std::fs::write(&good, simple().to_json()).unwrap();
        assert_eq!(HmmParams::load(&good), Ok(simple()));
    }

    #[test]
    fn the_stationary_distribution_is_a_fixed_point() {
        let p = simple();
        let pi = p.stationary();
        let next = step(&pi, &p.transition);
        assert!(pi.iter().zip(next).all(|(a, b)| (a - b).abs() < 1e-12), "{pi:?}");
    }
}
