//! The allocation-free scorer for Kestrel's own linear models. tract allocates on every call and costs
//! about a microsecond for a model that is one dot product (DESIGN.md §9); the graph that
//! [`export`](crate::export) writes is recognised node by node here, its initializers are read from
//! the ONNX protobuf, and the same function is computed directly: an `f64` dot product, the link, and
//! the calibration's segment found by binary search. No tract, no allocation.
//!
//! Only that exact graph is recognised. Anything else (another exporter, an extra node, a different
//! wiring) runs in tract; [`Backend::Auto`](crate::Backend::Auto) picks the native scorer only when it
//! also agrees with tract on the probe rows.

use crate::export::{Link, Segments, linear_eval};
use crate::scorer::check_output;
use kestrel_engine::decide::model::{ModelFault, ModelInputs, ModelRole, Scorer, TradeStats};
use std::collections::HashMap;
use tract_onnx::pb;

/// A recognised linear graph: what [`NativeLinear`] evaluates.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LinearGraph {
    pub weights: Vec<f32>,
    pub bias: f32,
    pub link: Link,
    pub cal: Option<Segments>,
}

impl LinearGraph {
    #[inline]
    pub fn eval(&self, x: &[f32]) -> f32 {
        linear_eval(&self.weights, self.bias, self.link, self.cal.as_ref(), x)
    }
}

/// Recognises the graph [`LinearModel::to_onnx_bytes`](crate::LinearModel::to_onnx_bytes) writes, with
/// `input` and `output` as its input and output names. `Err` says why not, for the logs.
pub(crate) fn recognise(proto: &pb::ModelProto, input: &str, output: &str) -> Result<LinearGraph, String> {
    let g = proto.graph.as_ref().ok_or("the model has no graph")?;
    let inits: HashMap<&str, &pb::TensorProto> = g.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let sources: Vec<&str> = g.input.iter().map(|i| i.name.as_str()).filter(|n| !inits.contains_key(n)).collect();
    if sources != [input] {
        return Err(format!("graph inputs {sources:?}, expected only `{input}`"));
    }
    if g.output.len() != 1 || g.output[0].name != output {
        return Err(format!("graph outputs {:?}, expected only `{output}`", names_of(&g.output)));
    }
    let mut nodes = Nodes { nodes: &g.node, at: 0 };
    let z0 = nodes.expect("MatMul", &[Some(input), None])?;
    let w_name = &g.node[0].input[1];
    let w = float_tensor(&inits, w_name)?;
    let n = w.1.len();
    if w.0 != [n as i64, 1] {
        return Err(format!("weights `{w_name}` have shape {:?}, expected [{n}, 1]", w.0));
    }
    let weights = w.1;
    let z = nodes.expect("Add", &[Some(&z0), None])?;
    let bias = scalar(&inits, &g.node[1].input[1])?;
    if z == output {
        // Identity link, no calibration: no guard.
        if nodes.at != g.node.len() {
            return Err(format!("{} node(s) follow the output node", g.node.len() - nodes.at));
        }
        return Ok(LinearGraph { weights, bias, link: Link::Identity, cal: None });
    }
    let guard = nodes.expect("Sub", &[Some(&z), Some(&z)])?;
    let mut link = Link::Identity;
    let mut s = z.clone();
    if nodes.peek() == Some("Sigmoid") {
        s = nodes.expect("Sigmoid", &[Some(&z)])?;
        link = Link::Sigmoid;
    }
    let mut cal = None;
    if nodes.peek() == Some("Sub") {
        let d = nodes.expect("Sub", &[Some(&s), None])?;
        let lo = float_tensor(&inits, nodes.last_input(1))?;
        let r = nodes.expect("Relu", &[Some(&d)])?;
        let c = nodes.expect("Min", &[Some(&r), None])?;
        let width = float_tensor(&inits, nodes.last_input(1))?;
        let m = nodes.expect("MatMul", &[Some(&c), None])?;
        let slope = float_tensor(&inits, nodes.last_input(1))?;
        let a = nodes.expect("Add", &[Some(&m), None])?;
        let y0 = scalar(&inits, nodes.last_input(1))?;
        let l = nodes.expect("Max", &[Some(&a), None])?;
        let y_min = scalar(&inits, nodes.last_input(1))?;
        s = nodes.expect("Min", &[Some(&l), None])?;
        let y_max = scalar(&inits, nodes.last_input(1))?;
        let k = lo.1.len();
        if k == 0 || lo.0 != [1, k as i64] || width.0 != [1, k as i64] || slope.0 != [k as i64, 1] {
            return Err(format!(
                "calibration tensors have shapes {:?}, {:?}, {:?}, expected [1, k], [1, k], [k, 1]",
                lo.0, width.0, slope.0
            ));
        }
        cal = Some(Segments::from_parts(lo.1, width.1, slope.1, y0, y_min, y_max));
    }
    if link == Link::Identity && cal.is_none() {
        return Err("a guard without a sigmoid or a calibration is not a graph kestrel-infer writes".into());
    }
    let out = nodes.expect("Add", &[Some(&s), Some(&guard)])?;
    if out != output {
        return Err(format!("the last node writes `{out}`, not the output `{output}`"));
    }
    if nodes.at != g.node.len() {
        return Err(format!("{} node(s) follow the output node", g.node.len() - nodes.at));
    }
    Ok(LinearGraph { weights, bias, link, cal })
}

fn names_of(v: &[pb::ValueInfoProto]) -> Vec<&str> {
    v.iter().map(|i| i.name.as_str()).collect()
}

struct Nodes<'a> {
    nodes: &'a [pb::NodeProto],
    at: usize,
}

impl Nodes<'_> {
    fn peek(&self) -> Option<&str> {
        self.nodes.get(self.at).map(|n| n.op_type.as_str())
    }

    /// The next node must be `op` in the default domain, without attributes, with these inputs (`None`:
    /// any name, to be read as an initializer) and one output, whose name it returns.
    fn expect(&mut self, op: &str, inputs: &[Option<&str>]) -> Result<String, String> {
        let Some(n) = self.nodes.get(self.at) else {
            return Err(format!("the graph ends where a {op} node was expected"));
        };
        let ok = n.op_type == op
            && (n.domain.is_empty() || n.domain == "ai.onnx")
            && n.attribute.is_empty()
            && n.output.len() == 1
            && n.input.len() == inputs.len()
            && n.input.iter().zip(inputs).all(|(have, want)| want.is_none_or(|w| w == have));
        if !ok {
            return Err(format!(
                "node {} is {} {:?} → {:?}, expected {op} {inputs:?}",
                self.at, n.op_type, n.input, n.output
            ));
        }
        self.at += 1;
        Ok(n.output[0].clone())
    }

    fn last_input(&self, i: usize) -> &str {
        self.nodes[self.at - 1].input[i].as_str()
    }
}

/// An initializer of type float: its dims and values (from `float_data` or little-endian `raw_data`).
fn float_tensor(inits: &HashMap<&str, &pb::TensorProto>, name: &str) -> Result<(Vec<i64>, Vec<f32>), String> {
    let t = inits.get(name).ok_or_else(|| format!("`{name}` is not an initializer"))?;
    if t.data_type != pb::tensor_proto::DataType::Float as i32 {
        return Err(format!("initializer `{name}` is not float"));
    }
    if !t.external_data.is_empty() || t.data_location.unwrap_or(0) != 0 || t.segment.is_some() {
        return Err(format!("initializer `{name}` is stored outside the file"));
    }
    let values: Vec<f32> = if !t.raw_data.is_empty() {
        if t.raw_data.len() % 4 != 0 {
            return Err(format!(
                "initializer `{name}` has {} raw bytes, not a whole number of floats",
                t.raw_data.len()
            ));
        }
        t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    } else {
        t.float_data.clone()
    };
    let count = t.dims.iter().try_fold(1i64, |acc, &d| if d >= 0 { acc.checked_mul(d) } else { None });
    if count != Some(values.len() as i64) {
        return Err(format!("initializer `{name}` has dims {:?} but {} values", t.dims, values.len()));
    }
    Ok((t.dims.clone(), values))
}

fn scalar(inits: &HashMap<&str, &pb::TensorProto>, name: &str) -> Result<f32, String> {
    let (dims, v) = float_tensor(inits, name)?;
    if v.len() != 1 || dims.len() > 2 {
        return Err(format!("initializer `{name}` has dims {dims:?}, expected one value"));
    }
    Ok(v[0])
}

/// Scores Kestrel's own linear models (see [`export`](crate::export)) with a plain `f64` dot
/// product, the link and the calibration: no allocation, no tract. Built by
/// [`LoadedModel::scorer`](crate::LoadedModel::scorer) with [`Backend::Native`](crate::Backend::Native)
/// or [`Backend::Auto`](crate::Backend::Auto).
#[derive(Clone, Debug)]
pub struct NativeLinear {
    graph: LinearGraph,
    inputs: ModelInputs,
    role: ModelRole,
    version: u64,
    trade_stats: Option<TradeStats>,
}

impl NativeLinear {
    pub(crate) fn new(
        graph: LinearGraph,
        inputs: ModelInputs,
        role: ModelRole,
        version: u64,
        trade_stats: Option<TradeStats>,
    ) -> NativeLinear {
        NativeLinear { graph, inputs, role, version, trade_stats }
    }

    /// The model's output for one row, unchecked (NaN when the row has the wrong length).
    pub fn eval(&self, input: &[f32]) -> f32 {
        self.graph.eval(input)
    }

    pub fn role(&self) -> ModelRole {
        self.role
    }
}

impl Scorer for NativeLinear {
    #[inline]
    fn score(&mut self, input: &[f32]) -> Result<f32, ModelFault> {
        if input.len() != self.graph.weights.len() {
            return Err(ModelFault::Error);
        }
        check_output(self.role, self.graph.eval(input))
    }

    fn inputs(&self) -> &ModelInputs {
        &self.inputs
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn trade_stats(&self) -> Option<TradeStats> {
        self.trade_stats
    }
}
