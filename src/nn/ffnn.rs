//! A feed-forward classifier: `input → [linear → (layer norm) → activation → dropout]* →
//! linear → logits`, over dense rows or over sparse rows whose first layer gathers only the
//! weight rows of the columns present (the input matrix is never densified).
//!
//! Tensor names: `layers.{i}.weight` (`in × out`, i.e. transposed relative to
//! `torch.nn.Linear`, so the sparse first layer can gather rows), `layers.{i}.bias`,
//! `layers.{i}.norm.weight` / `.bias`.

use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nn::fused::{self, FusedAct};
use crate::nn::ops::data_matmul;
use crate::train::{Ctx, Params};

/// Non-linearity between layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(0, x).
    #[default]
    Relu,
    /// GELU (tanh approximation).
    Gelu,
}

/// The layers of an [`Ffnn`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FfnnShape {
    /// Input columns.
    pub input_dim: usize,
    /// Hidden layer sizes (empty: a linear softmax classifier).
    pub hidden: Vec<usize>,
    /// Output classes.
    pub n_classes: usize,
    /// Non-linearity.
    pub activation: Activation,
    /// Dropout after each hidden layer.
    pub dropout: f32,
    /// Layer norm before each activation.
    pub layer_norm: bool,
}

impl FfnnShape {
    /// Checks the sizes and the dropout.
    pub fn validate(&self) -> Result<()> {
        if self.input_dim == 0 || self.n_classes < 2 {
            return Err(Error::Config(format!(
                "ffnn: needs input columns and >= 2 classes, got {} × {}",
                self.input_dim, self.n_classes
            )));
        }
        if self.hidden.contains(&0) {
            return Err(Error::Config("hidden: layer sizes must be >= 1".into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Config(format!(
                "dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Layer {
    w: Tensor,
    b: Tensor,
    norm: Option<(Tensor, Tensor)>,
}

/// Rows of a sparse matrix ready for [`Ffnn::forward_sparse`]: for every stored value, its
/// column (`indices`, u32), its value (`values`, `nnz × 1`) and its row within the batch
/// (`rows`, u32).
#[derive(Debug, Clone)]
pub struct SparseBatch {
    /// Column of each stored value.
    pub indices: Tensor,
    /// The values, `nnz × 1`.
    pub values: Tensor,
    /// Batch row of each value.
    pub rows: Tensor,
    /// Rows in the batch.
    pub n_rows: usize,
}

/// A feed-forward classifier (see the module doc).
#[derive(Debug, Clone)]
pub struct Ffnn {
    shape: FfnnShape,
    layers: Vec<Layer>,
}

impl Ffnn {
    /// Creates the layers in `params`, initialised as PyTorch's `nn.Linear` (uniform ±1/√fan_in)
    /// from stream [`crate::seed::FFNN_INIT`] of `seed`.
    pub fn new(params: &mut Params, shape: FfnnShape, seed: u64) -> Result<Self> {
        shape.validate()?;
        let mut rng = crate::seed::rng(seed, crate::seed::FFNN_INIT);
        let mut sizes = vec![shape.input_dim];
        sizes.extend(&shape.hidden);
        sizes.push(shape.n_classes);
        let mut layers = Vec::new();
        for (i, win) in sizes.windows(2).enumerate() {
            let (fan_in, out) = (win[0], win[1]);
            let bound = 1.0 / (fan_in as f32).sqrt();
            let w = params.uniform(
                &format!("layers.{i}.weight"),
                &[fan_in, out],
                bound,
                &mut rng,
            )?;
            let b = params.uniform(&format!("layers.{i}.bias"), &[out], bound, &mut rng)?;
            let hidden = i + 1 < sizes.len() - 1;
            let norm = if hidden && shape.layer_norm {
                Some((
                    params.constant(&format!("layers.{i}.norm.weight"), &[out], 1.0)?,
                    params.constant(&format!("layers.{i}.norm.bias"), &[out], 0.0)?,
                ))
            } else {
                None
            };
            layers.push(Layer { w, b, norm });
        }
        Ok(Ffnn { shape, layers })
    }

    /// The layer sizes and options.
    pub fn shape(&self) -> &FfnnShape {
        &self.shape
    }

    /// Logits of dense rows `x` (`batch × input_dim`).
    ///
    /// On the CPU without layer norm every layer is one fused op (`nn::fused`); elsewhere plain
    /// candle ops. Both give the same values and gradients (tested).
    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> candle_core::Result<Tensor> {
        if self.fusable(x) {
            let mut h = x.clone();
            for i in 0..self.layers.len() {
                h = self.fused_layer(&h, i, i > 0, ctx)?;
            }
            return Ok(h);
        }
        self.forward_unfused(x, ctx)
    }

    /// [`Ffnn::forward`] with plain candle ops only (every device; the reference of the fused
    /// path).
    pub fn forward_unfused(&self, x: &Tensor, ctx: &mut Ctx) -> candle_core::Result<Tensor> {
        let first = &self.layers[0];
        let h = data_matmul(x, &first.w)?.broadcast_add(&first.b)?;
        self.rest(h, ctx)
    }

    fn fusable(&self, x: &Tensor) -> bool {
        !self.shape.layer_norm && fused::supported(x) && fused::supported(&self.layers[0].w)
    }

    fn fused_act(&self) -> FusedAct {
        match self.shape.activation {
            Activation::Relu => FusedAct::Relu,
            Activation::Gelu => FusedAct::Gelu,
        }
    }

    /// Layer `i` as one fused op: linear, then (hidden layers) activation and dropout.
    fn fused_layer(
        &self,
        h: &Tensor,
        i: usize,
        input_grad: bool,
        ctx: &mut Ctx,
    ) -> candle_core::Result<Tensor> {
        let l = &self.layers[i];
        let sink = ctx.grad_sink().cloned();
        if i + 1 == self.layers.len() {
            let id = FusedAct::Identity;
            return fused::dense(h, &l.w, &l.b, id, None, input_grad, false, sink.as_ref());
        }
        let n = h.dim(0)? * l.w.dim(1)?;
        let mask = ctx.dropout_mask(n, self.shape.dropout);
        let (act, train) = (self.fused_act(), ctx.is_train());
        fused::dense(h, &l.w, &l.b, act, mask, input_grad, train, sink.as_ref())
    }

    /// Logits of sparse rows: the first layer sums `value · W[column]` per row.
    pub fn forward_sparse(&self, x: &SparseBatch, ctx: &mut Ctx) -> candle_core::Result<Tensor> {
        let first = &self.layers[0];
        let out = first.w.dim(1)?;
        let gathered = first
            .w
            .index_select(&x.indices, 0)?
            .broadcast_mul(&x.values)?;
        let zeros = Tensor::zeros((x.n_rows, out), DType::F32, first.w.device())?;
        let h = zeros
            .index_add(&x.rows, &gathered, 0)?
            .broadcast_add(&first.b)?;
        if self.fusable(&h) {
            let mask = ctx.dropout_mask(h.elem_count(), self.shape.dropout);
            let mut h = fused::activation(&h, self.fused_act(), mask)?;
            for i in 1..self.layers.len() {
                h = self.fused_layer(&h, i, true, ctx)?;
            }
            return Ok(h);
        }
        self.rest(h, ctx)
    }

    /// Everything after the first linear map.
    fn rest(&self, mut h: Tensor, ctx: &mut Ctx) -> candle_core::Result<Tensor> {
        let last = self.layers.len() - 1;
        for i in 0..self.layers.len() {
            if i > 0 {
                let l = &self.layers[i];
                h = h.matmul(&l.w)?.broadcast_add(&l.b)?;
            }
            if i == last {
                break;
            }
            if let Some((g, b)) = &self.layers[i].norm {
                h = layer_norm(&h, g, b)?;
            }
            h = match self.shape.activation {
                Activation::Relu => h.relu()?,
                Activation::Gelu => h.gelu()?,
            };
            h = ctx.dropout(&h, self.shape.dropout)?;
        }
        Ok(h)
    }
}

/// Layer norm over the last dimension from plain (differentiable) tensor ops, ε = 1e-5.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor) -> candle_core::Result<Tensor> {
    let mean = x.mean_keepdim(1)?;
    let c = x.broadcast_sub(&mean)?;
    let var = c.sqr()?.mean_keepdim(1)?;
    c.broadcast_div(&(var + 1e-5)?.sqrt()?)?
        .broadcast_mul(gamma)?
        .broadcast_add(beta)
}
