//! The tract-backed [`Scorer`] the decide stage calls for any ONNX model (DESIGN.md §5): one tract
//! state per scorer (one scorer per decide thread), the input tensor reused between calls, and every
//! failure mapped to a fail-safe [`ModelFault`] instead of a panic or a trade.

use kestrel_engine::decide::model::{ModelFault, ModelInputs, ModelRole, Scorer, TradeStats};
use std::sync::Arc;
use tract_onnx::tract_core::internal::*;

/// What decide may use: a finite value, and for p(win) a probability.
#[inline]
pub(crate) fn check_output(role: ModelRole, v: f32) -> Result<f32, ModelFault> {
    if !v.is_finite() {
        return Err(ModelFault::BadOutput);
    }
    if role == ModelRole::PWin && !(0.0..=1.0).contains(&v) {
        return Err(ModelFault::BadOutput);
    }
    Ok(v)
}

/// Runs a loaded model in tract for the hot loop. Built by
/// [`LoadedModel::tract_scorer`](crate::LoadedModel::tract_scorer), which also runs one warm-up call.
///
/// Allocation: tract allocates N times per call, N bounded and constant: 8 for Kestrel's slippage
/// model (41 inputs, identity link) and 26 for its p(win) model (41 inputs, sigmoid, 20-knot
/// calibration; 27 in a debug build, where tract also checks facts) — about two per plan node, for
/// each node's output tensor and its shared handle. Measured by `infer/tests/alloc.rs`: the same count
/// at call 10 and call 1000, and every allocation freed before the call returns. Where that matters,
/// use [`NativeLinear`](crate::NativeLinear), which makes none.
#[derive(Debug)]
pub struct TractScorer {
    state: TypedSimpleState,
    /// The `[1, n]` input, written in place each call; tract receives a second handle to it, which it
    /// drops by the end of the call, so the buffer is ours again (and never mutated in place by tract,
    /// which only does that to tensors it holds alone).
    input: Arc<Tensor>,
    n: usize,
    column: usize,
    inputs: ModelInputs,
    role: ModelRole,
    version: u64,
    trade_stats: Option<TradeStats>,
}

impl TractScorer {
    pub(crate) fn new(
        plan: &Arc<TypedRunnableModel>,
        column: usize,
        inputs: ModelInputs,
        role: ModelRole,
        version: u64,
        trade_stats: Option<TradeStats>,
    ) -> TractResult<TractScorer> {
        let n = inputs.len();
        let state = SimpleState::new(plan)?;
        let input = Arc::new(Tensor::zero::<f32>(&[1, n])?);
        Ok(TractScorer { state, input, n, column, inputs, role, version, trade_stats })
    }

    fn run(&mut self, row: &[f32]) -> TractResult<f32> {
        match Arc::get_mut(&mut self.input) {
            Some(t) => t.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?.copy_from_slice(row),
            // tract kept a handle (it does not in 0.23.9): take a fresh buffer rather than fail.
            None => self.input = Arc::new(Tensor::from_shape(&[1, self.n], row)?),
        }
        let outputs = self.state.run(tvec!(TValue::from_const(self.input.clone())))?;
        let out = outputs.first().context("the model returned no output")?;
        let v = out
            .try_as_plain_ram()?
            .as_slice::<f32>()?
            .get(self.column)
            .copied()
            .context("the output has no such column")?;
        Ok(v)
    }

    pub fn role(&self) -> ModelRole {
        self.role
    }
}

impl Scorer for TractScorer {
    fn score(&mut self, input: &[f32]) -> Result<f32, ModelFault> {
        if input.len() != self.n {
            return Err(ModelFault::Error);
        }
        match self.run(input) {
            Ok(v) => check_output(self.role, v),
            Err(_) => Err(ModelFault::Error),
        }
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
