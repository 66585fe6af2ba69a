//! Writes Kestrel's own models as ONNX, with the maintained protobuf types `tract_onnx::pb` (DESIGN.md
//! §10: no Rust ML crate exports ONNX by itself). A model written here loads in tract like any other
//! exporter's, and [`NativeLinear`](crate::NativeLinear) recognises its graph and runs it as a plain dot
//! product, allocation-free.
//!
//! The graph, for `n` inputs (all tensors `float`, every shape fixed):
//!
//! ```text
//! x [1,n] ─MatMul(W [n,1])─ Add(b) ─▶ z [1,1]                    the linear score
//!                           (Identity without calibration: z is the output, and the graph ends here)
//! guard = Sub(z, z)                                              0, or NaN when z is not finite
//! s = Sigmoid(z)            (Link::Sigmoid; s = z for Link::Identity)
//! calibration (optional), m knots → m−1 segments:
//!   c = Min(Relu(Sub(s, lo [1,m−1])), width [1,m−1])             how far s got into each segment
//!   v = Min(Max(Add(MatMul(c, slope [m−1,1]), y0), y_min), y_max)
//! output [1,1] = Add(v, guard)
//! ```
//!
//! The guard makes a non-finite linear score (an infinite input against weights of both signs, a NaN
//! weight) come out as NaN, which the scorers turn into a fail-safe `BadOutput`, rather than a finite
//! number after the sigmoid's or the calibration's clamping. Without a sigmoid or a calibration there
//! is nothing to hide a non-finite score, and no guard (tract allocates per node: two nodes fewer).

use tract_onnx::pb;

/// The ONNX operator set the writer targets (tract is tested against 9 to 18).
pub const OPSET: i64 = 13;
/// The ONNX IR version the writer declares.
pub const IR_VERSION: i64 = 8;
/// `producer_name` of every model written here.
pub const PRODUCER: &str = "kestrel";

/// What follows the linear score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// The score itself (regression: slippage in bps).
    Identity,
    /// `1 / (1 + e^(−z))` (logistic regression: a probability).
    Sigmoid,
}

/// A monotone calibration map given by knots: linear between knots, `ys[0]` below `xs[0]` and
/// `ys[last]` above `xs[last]` (an isotonic fit's thresholds, or a few points of a Platt curve).
/// `xs` must increase strictly ([`LinearModel::validate`] says so; a model written with a repeated or
/// decreasing knot scores NaN and is refused when loaded).
#[derive(Clone, Debug, PartialEq)]
pub struct PiecewiseLinear {
    pub xs: Vec<f32>,
    pub ys: Vec<f32>,
}

/// A linear model with an optional link and calibration: Kestrel's p(win) (logistic + isotonic) and
/// slippage (identity) models.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    /// The graph's input name (the card's `input.name`).
    pub input_name: String,
    /// The graph's output name (the card's `output.name`).
    pub output_name: String,
    /// One weight per input, in the card's feature order.
    pub weights: Vec<f32>,
    pub bias: f32,
    pub link: Link,
    pub calibration: Option<PiecewiseLinear>,
}

/// Names of the graph's internal tensors and initializers; the prefix keeps them apart from the user's
/// input and output names.
pub(crate) mod names {
    pub const W: &str = "kestrel.W";
    pub const B: &str = "kestrel.b";
    pub const LO: &str = "kestrel.knot_lo";
    pub const WIDTH: &str = "kestrel.knot_width";
    pub const SLOPE: &str = "kestrel.knot_slope";
    pub const Y0: &str = "kestrel.y0";
    pub const Y_MIN: &str = "kestrel.y_min";
    pub const Y_MAX: &str = "kestrel.y_max";
    pub const PREFIX: &str = "kestrel.";
}

/// The calibration as the graph stores it (segment starts, widths and slopes, the value at the first
/// knot, the output's bounds), with what evaluating it quickly needs: the value at each segment's
/// start. `None` from [`Segments::new`] when there are no knots.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Segments {
    pub lo: Vec<f32>,
    pub width: Vec<f32>,
    pub slope: Vec<f32>,
    pub y0: f32,
    pub y_min: f32,
    pub y_max: f32,
    /// `y0 + Σ_{i<k} slope_i · width_i`: the map at `lo[k]`.
    start: Vec<f64>,
    /// Every number finite, starts non-decreasing, widths non-negative; otherwise the map is NaN
    /// everywhere (as the graph is for the NaN slopes [`Segments::new`] gives a bad knot).
    valid: bool,
}

impl Segments {
    /// Uses the first `min(xs.len(), ys.len())` knots; one knot is a constant. A zero or negative width
    /// gives a NaN slope (an invalid map scores NaN rather than something else).
    pub fn new(p: &PiecewiseLinear) -> Option<Segments> {
        let m = p.xs.len().min(p.ys.len());
        if m == 0 {
            return None;
        }
        let (xs, ys) = (&p.xs[..m], &p.ys[..m]);
        let (mut y_min, mut y_max) =
            (ys.iter().copied().fold(f32::INFINITY, f32::min), ys.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        if ys.iter().any(|y| y.is_nan()) {
            y_min = f32::NAN;
            y_max = f32::NAN;
        }
        if m == 1 {
            return Some(Segments::from_parts(vec![xs[0]], vec![0.0], vec![0.0], ys[0], y_min, y_max));
        }
        let (mut lo, mut width, mut slope) = (Vec::with_capacity(m), Vec::with_capacity(m), Vec::with_capacity(m));
        for k in 0..m - 1 {
            let w = xs[k + 1] - xs[k];
            lo.push(xs[k]);
            width.push(w);
            slope.push(if w > 0.0 { (ys[k + 1] - ys[k]) / w } else { f32::NAN });
        }
        Some(Segments::from_parts(lo, width, slope, ys[0], y_min, y_max))
    }

    /// From the graph's tensors (the three vectors have one value per segment).
    pub fn from_parts(lo: Vec<f32>, width: Vec<f32>, slope: Vec<f32>, y0: f32, y_min: f32, y_max: f32) -> Segments {
        let mut valid = !lo.is_empty()
            && lo.len() == width.len()
            && lo.len() == slope.len()
            && [y0, y_min, y_max].iter().chain(&lo).chain(&width).chain(&slope).all(|v| v.is_finite())
            && width.iter().all(|&w| w >= 0.0)
            && lo.windows(2).all(|p| p[0] <= p[1]);
        let mut start = Vec::with_capacity(lo.len());
        let mut acc = f64::from(y0);
        for (&w, &k) in width.iter().zip(&slope) {
            start.push(acc);
            acc += f64::from(k) * f64::from(w);
        }
        valid &= acc.is_finite();
        Segments { lo, width, slope, y0, y_min, y_max, start, valid }
    }

    /// The map at `s`, in `f64`: the segment holding `s` found by binary search, then one multiply-add
    /// (the graph sums every segment's share instead; the two agree to rounding). NaN in, NaN out.
    #[inline]
    pub fn apply(&self, s: f64) -> f64 {
        if s.is_nan() || !self.valid {
            return f64::NAN;
        }
        // segments that start at or below s
        let k = self.lo.partition_point(|&lo| f64::from(lo) <= s);
        let v = match k.checked_sub(1) {
            None => f64::from(self.y0),
            Some(j) => {
                self.start[j] + f64::from(self.slope[j]) * (s - f64::from(self.lo[j])).min(f64::from(self.width[j]))
            }
        };
        v.max(f64::from(self.y_min)).min(f64::from(self.y_max))
    }
}

/// `w · x` in `f64` with four accumulators (vectorisable, and one fixed order so that the reference
/// and the native scorer agree bit for bit). The slices must have the same length.
#[inline]
pub(crate) fn dot(w: &[f32], x: &[f32]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (cw, cx) = (w.chunks_exact(4), x.chunks_exact(4));
    let (rw, rx) = (cw.remainder(), cx.remainder());
    for (a, b) in cw.zip(cx) {
        for i in 0..4 {
            acc[i] += f64::from(a[i]) * f64::from(b[i]);
        }
    }
    let mut tail = 0.0f64;
    for (a, b) in rw.iter().zip(rx) {
        tail += f64::from(*a) * f64::from(*b);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// The whole model on one row, in `f64` (see [`LinearModel::eval`]).
#[inline]
pub(crate) fn linear_eval(weights: &[f32], bias: f32, link: Link, cal: Option<&Segments>, x: &[f32]) -> f32 {
    if weights.len() != x.len() {
        return f32::NAN;
    }
    let z = dot(weights, x) + f64::from(bias);
    if link == Link::Identity && cal.is_none() {
        return z as f32;
    }
    if !z.is_finite() {
        return f32::NAN; // the graph's guard
    }
    let s = match link {
        Link::Identity => z,
        Link::Sigmoid => 1.0 / (1.0 + (-z).exp()),
    };
    let v = match cal {
        Some(c) => c.apply(s),
        None => s,
    };
    v as f32
}

impl LinearModel {
    /// What the model computes for one row (the reference the tests hold tract and the native scorer
    /// to). NaN when `x` does not have one value per weight, or when the linear score is not finite
    /// (the identity link without calibration returns the score itself: ±inf stays ±inf).
    pub fn eval(&self, x: &[f32]) -> f32 {
        let cal = self.calibration.as_ref().and_then(Segments::new);
        linear_eval(&self.weights, self.bias, self.link, cal.as_ref(), x)
    }

    /// Problems that would make the written model unusable (it would then be refused when loaded):
    /// no weights, non-finite numbers, knots that do not increase strictly, names that are empty or
    /// clash with the graph's internal names.
    pub fn validate(&self) -> Result<(), String> {
        if self.weights.is_empty() {
            return Err("the model has no weights: it must read at least one input".into());
        }
        if let Some(i) = self.weights.iter().position(|w| !w.is_finite()) {
            return Err(format!("weight {i} is {}, expected a finite number", self.weights[i]));
        }
        if !self.bias.is_finite() {
            return Err(format!("the bias is {}, expected a finite number", self.bias));
        }
        for (what, name) in [("input", &self.input_name), ("output", &self.output_name)] {
            if name.is_empty() {
                return Err(format!("the {what} name is empty"));
            }
            if name.starts_with(names::PREFIX) {
                return Err(format!(
                    "the {what} name `{name}` starts with `{}`, reserved for the graph's own tensors",
                    names::PREFIX
                ));
            }
        }
        if self.input_name == self.output_name {
            return Err(format!("the input and the output are both named `{}`", self.input_name));
        }
        if let Some(p) = &self.calibration {
            if p.xs.len() != p.ys.len() {
                return Err(format!("calibration has {} xs but {} ys", p.xs.len(), p.ys.len()));
            }
            if p.xs.is_empty() {
                return Err("calibration has no knots (use `calibration: None`)".into());
            }
            if let Some(i) = p.xs.iter().chain(&p.ys).position(|v| !v.is_finite()) {
                return Err(format!("calibration value {i} (xs then ys) is not finite"));
            }
            if let Some(k) = p.xs.windows(2).position(|w| w[1] <= w[0]) {
                return Err(format!(
                    "calibration xs must increase strictly: xs[{}] = {} is not above xs[{k}] = {}",
                    k + 1,
                    p.xs[k + 1],
                    p.xs[k]
                ));
            }
        }
        Ok(())
    }

    /// The model as an ONNX file (see the module docs for the graph). Never fails; call
    /// [`Self::validate`] first, since an invalid model is written as it is and refused at load.
    pub fn to_onnx_bytes(&self) -> Vec<u8> {
        use prost::Message;
        self.to_proto().encode_to_vec()
    }

    /// The model as ONNX protobuf.
    pub fn to_proto(&self) -> pb::ModelProto {
        let n = self.weights.len() as i64;
        let mut g = GraphBuilder::default();
        g.init(names::W, &[n, 1], &self.weights);
        g.init(names::B, &[1], &[self.bias]);
        let cal = self.calibration.as_ref().and_then(Segments::new);
        g.node("MatMul", &[&self.input_name, names::W], "kestrel.z0");
        if self.link == Link::Identity && cal.is_none() {
            g.node("Add", &["kestrel.z0", names::B], &self.output_name);
            return self.model_proto(g);
        }
        g.node("Add", &["kestrel.z0", names::B], "kestrel.z");
        g.node("Sub", &["kestrel.z", "kestrel.z"], "kestrel.guard");
        let mut s = "kestrel.z";
        if self.link == Link::Sigmoid {
            g.node("Sigmoid", &["kestrel.z"], "kestrel.s");
            s = "kestrel.s";
        }
        let mut v = s;
        if let Some(seg) = cal {
            let k = seg.lo.len() as i64;
            g.init(names::LO, &[1, k], &seg.lo);
            g.init(names::WIDTH, &[1, k], &seg.width);
            g.init(names::SLOPE, &[k, 1], &seg.slope);
            g.init(names::Y0, &[1], &[seg.y0]);
            g.init(names::Y_MIN, &[1], &[seg.y_min]);
            g.init(names::Y_MAX, &[1], &[seg.y_max]);
            g.node("Sub", &[s, names::LO], "kestrel.d");
            g.node("Relu", &["kestrel.d"], "kestrel.r");
            g.node("Min", &["kestrel.r", names::WIDTH], "kestrel.c");
            g.node("MatMul", &["kestrel.c", names::SLOPE], "kestrel.m");
            g.node("Add", &["kestrel.m", names::Y0], "kestrel.a");
            g.node("Max", &["kestrel.a", names::Y_MIN], "kestrel.lo_clamped");
            g.node("Min", &["kestrel.lo_clamped", names::Y_MAX], "kestrel.v");
            v = "kestrel.v";
        }
        g.node("Add", &[v, "kestrel.guard"], &self.output_name);
        self.model_proto(g)
    }

    fn model_proto(&self, g: GraphBuilder) -> pb::ModelProto {
        let n = self.weights.len() as i64;
        let graph = pb::GraphProto {
            name: "kestrel_linear".into(),
            node: g.nodes,
            initializer: g.inits,
            input: vec![value_info(&self.input_name, &[1, n])],
            output: vec![value_info(&self.output_name, &[1, 1])],
            doc_string: format!(
                "Kestrel linear model: {n} inputs, link {:?}, calibration {}",
                self.link,
                if self.calibration.is_some() { "piecewise linear" } else { "none" }
            ),
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: OPSET }],
            producer_name: PRODUCER.into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            graph: Some(graph),
            ..Default::default()
        }
    }
}

#[derive(Default)]
struct GraphBuilder {
    nodes: Vec<pb::NodeProto>,
    inits: Vec<pb::TensorProto>,
}

impl GraphBuilder {
    fn init(&mut self, name: &str, dims: &[i64], data: &[f32]) {
        self.inits.push(pb::TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: pb::tensor_proto::DataType::Float as i32,
            float_data: data.to_vec(),
            ..Default::default()
        });
    }

    fn node(&mut self, op: &str, inputs: &[&str], output: &str) {
        let name = format!("kestrel.node{}.{op}", self.nodes.len());
        self.nodes.push(pb::NodeProto {
            name,
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            ..Default::default()
        });
    }
}

fn value_info(name: &str, dims: &[i64]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension { value: Some(Value::DimValue(d)), ..Default::default() })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(cal: Option<PiecewiseLinear>) -> LinearModel {
        LinearModel {
            input_name: "x".into(),
            output_name: "y".into(),
            weights: vec![0.5, -0.25, 1.0],
            bias: 0.1,
            link: Link::Sigmoid,
            calibration: cal,
        }
    }

    #[test]
    fn calibration_clamps_outside_the_knots_and_interpolates_between() {
        let p = PiecewiseLinear { xs: vec![0.2, 0.5, 0.8], ys: vec![0.1, 0.4, 0.9] };
        let s = Segments::new(&p).unwrap();
        assert_eq!(s.apply(-5.0), 0.1f32 as f64);
        assert!((s.apply(5.0) - 0.9).abs() < 1e-6);
        assert!((s.apply(0.35) - 0.25).abs() < 1e-6);
        assert!((s.apply(0.65) - 0.65).abs() < 1e-6);
        assert!(s.apply(f64::NAN).is_nan());
    }

    #[test]
    fn the_segment_lookup_equals_the_graphs_sum_of_shares() {
        let p =
            PiecewiseLinear { xs: vec![-1.0, -0.2, 0.1, 0.15, 0.9, 2.0], ys: vec![0.0, 0.05, 0.3, 0.31, 0.8, 0.95] };
        let s = Segments::new(&p).unwrap();
        for i in -300..=300 {
            let x = f64::from(i) / 100.0;
            let sum: f64 =
                s.lo.iter()
                    .zip(&s.width)
                    .zip(&s.slope)
                    .map(|((&lo, &w), &k)| f64::from(k) * (x - f64::from(lo)).max(0.0).min(f64::from(w)))
                    .sum::<f64>()
                    + f64::from(s.y0);
            let sum = sum.max(f64::from(s.y_min)).min(f64::from(s.y_max));
            assert!((s.apply(x) - sum).abs() < 1e-7, "at {x}: {} vs {sum}", s.apply(x));
        }
        let one = Segments::new(&PiecewiseLinear { xs: vec![0.5], ys: vec![0.7] }).unwrap();
        assert_eq!(one.apply(-3.0) as f32, 0.7);
        assert_eq!(one.apply(3.0) as f32, 0.7);
        let bad = Segments::new(&PiecewiseLinear { xs: vec![0.5, 0.5], ys: vec![0.1, 0.7] }).unwrap();
        assert!(bad.apply(0.0).is_nan());
        assert!(Segments::new(&PiecewiseLinear { xs: vec![], ys: vec![] }).is_none());
    }

    #[test]
    fn a_non_finite_score_is_nan_and_a_wrong_length_is_nan() {
        let m = model(None);
        assert!(m.eval(&[f32::INFINITY, f32::INFINITY, 0.0]).is_nan());
        assert!(m.eval(&[1.0, 2.0]).is_nan());
        assert!(m.eval(&[1.0, 2.0, 3.0]).is_finite());
    }

    #[test]
    fn validate_names_the_problem() {
        assert!(model(None).validate().is_ok());
        let bad = model(Some(PiecewiseLinear { xs: vec![0.0, 0.0], ys: vec![0.0, 1.0] }));
        assert!(bad.validate().unwrap_err().contains("increase strictly"));
        let mut w = model(None);
        w.weights[1] = f32::NAN;
        assert!(w.validate().unwrap_err().contains("weight 1"));
        let mut e = model(None);
        e.weights.clear();
        assert!(e.validate().is_err());
        // writing an invalid model does not panic
        assert!(!bad.to_onnx_bytes().is_empty());
        assert!(!e.to_onnx_bytes().is_empty());
    }
}
