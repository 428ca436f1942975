//! The FFNN model on top of any representation: [`FfnnConfig`] (layers + training options)
//! and [`FfnnModel`], the trained network reading dense or sparse [`Features`].

use std::path::Path;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::data::Labels;
use crate::error::{Error, Result};
use crate::features::{Dense, Features, RowMatrix};
use crate::nn::{Activation, Ffnn, FfnnShape, SparseBatch};
use crate::train::config::{bad_value, parse_value};
use crate::train::{
    fit, predict_logits, Ctx, FitOptions, Labelled, Network, Params, TrainConfig, TrainOutcome,
};

/// Options of the FFNN model: layers and the shared training loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FfnnConfig {
    /// Hidden layer sizes.
    pub hidden: Vec<usize>,
    /// Non-linearity.
    pub activation: Activation,
    /// Dropout after each hidden layer.
    pub dropout: f32,
    /// Layer norm before each activation.
    pub layer_norm: bool,
    /// The training loop.
    pub train: TrainConfig,
}

impl Default for FfnnConfig {
    fn default() -> Self {
        FfnnConfig {
            hidden: vec![512],
            activation: Activation::Relu,
            dropout: 0.5,
            layer_norm: false,
            train: TrainConfig::default(),
        }
    }
}

/// Keys [`FfnnConfig::set`] accepts besides the training keys.
pub const FFNN_KEYS: &[&str] = &[
    "hidden (comma-separated sizes, e.g. 512,256, or none)",
    "activation (relu|gelu)",
    "dropout (float in [0, 1))",
    "layer_norm (true|false)",
];

impl FfnnConfig {
    /// Sets the hidden sizes.
    pub fn hidden(mut self, hidden: impl Into<Vec<usize>>) -> Self {
        self.hidden = hidden.into();
        self
    }
    /// Sets the dropout.
    pub fn dropout(mut self, p: f32) -> Self {
        self.dropout = p;
        self
    }
    /// Sets the activation.
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }
    /// Sets the training options.
    pub fn train(mut self, train: TrainConfig) -> Self {
        self.train = train;
        self
    }

    /// Applies `key=value` (FFNN or training key); `Ok(false)` when it is neither. A value
    /// that fails to parse or validate leaves the options unchanged.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        let mut next = self.clone();
        let known = next.apply(key, value)?;
        if known {
            next.validate()?;
            *self = next;
        }
        Ok(known)
    }

    fn apply(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        match key.trim() {
            "hidden" => {
                self.hidden = if v.eq_ignore_ascii_case("none") || v.is_empty() {
                    Vec::new()
                } else {
                    v.split(',')
                        .map(|x| parse_value(key, x))
                        .collect::<Result<_>>()?
                }
            }
            "activation" => {
                self.activation = match v {
                    "relu" => Activation::Relu,
                    "gelu" => Activation::Gelu,
                    _ => return Err(bad_value(key, v, "relu|gelu")),
                }
            }
            "dropout" => self.dropout = parse_value(key, v)?,
            "layer_norm" => self.layer_norm = parse_value(key, v)?,
            _ => return self.train.set(key, value),
        }
        Ok(true)
    }

    /// Checks the options.
    pub fn validate(&self) -> Result<()> {
        // Layer sizes and dropout, checked on a stand-in input and class count.
        self.shape(1, 2).validate()?;
        self.train.validate()
    }

    /// The network shape for `input_dim` columns and `n_classes`.
    pub fn shape(&self, input_dim: usize, n_classes: usize) -> FfnnShape {
        FfnnShape {
            input_dim,
            hidden: self.hidden.clone(),
            n_classes,
            activation: self.activation,
            dropout: self.dropout,
            layer_norm: self.layer_norm,
        }
    }

    /// Builds an untrained network (initialised from the training seed) on `device`.
    pub fn build(&self, input_dim: usize, n_classes: usize, device: &Device) -> Result<FfnnModel> {
        let mut params = Params::new(device.clone());
        let net = Ffnn::new(
            &mut params,
            self.shape(input_dim, n_classes),
            self.train.seed,
        )?;
        Ok(FfnnModel { params, net })
    }

    /// Trains a network on `train`, validating on `val` (see [`crate::train::fit`]).
    pub fn fit(
        &self,
        labels: &Labels,
        train: (&Features, &[usize]),
        val: (&Features, &[usize]),
        opts: FitOptions,
    ) -> Result<(FfnnModel, TrainOutcome)> {
        self.validate()?;
        let device = crate::train::default_device()?;
        let model = self.build(train.0.n_cols(), labels.len(), &device)?;
        let outcome = fit(
            &model,
            &self.train,
            labels,
            Labelled {
                input: train.0,
                labels: train.1,
            },
            Labelled {
                input: val.0,
                labels: val.1,
            },
            opts,
        )?;
        Ok((model, outcome))
    }
}

/// A (trained) FFNN: its parameters and layers.
#[derive(Debug)]
pub struct FfnnModel {
    params: Params,
    net: Ffnn,
}

/// The network's weights file in a saved model directory.
pub const FFNN_WEIGHTS: &str = "model.safetensors";

impl FfnnModel {
    /// The layer sizes.
    pub fn shape(&self) -> &FfnnShape {
        self.net.shape()
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Logits of every row of `x`, `n × n_classes`.
    pub fn logits(&self, x: &Features) -> Result<Dense> {
        let (v, k) = predict_logits(self, x, x.n_rows(), 512)?;
        let k = if x.n_rows() == 0 {
            self.net.shape().n_classes
        } else {
            k
        };
        Dense::from_shape_vec((x.n_rows(), k), v).map_err(|e| Error::Model(e.to_string()))
    }

    /// Writes the weights to `dir/model.safetensors`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.params.save(&dir.join(FFNN_WEIGHTS))
    }

    /// A network of `shape` with the weights of `dir/model.safetensors`.
    pub fn load(dir: &Path, shape: FfnnShape) -> Result<Self> {
        let mut params = Params::new(crate::train::default_device()?);
        let net = Ffnn::new(&mut params, shape, 0)?;
        params.load(&dir.join(FFNN_WEIGHTS))?;
        Ok(FfnnModel { params, net })
    }
}

/// Dense rows `rows` of `x` as a `rows.len() × d` tensor.
fn dense_batch(x: &Dense, rows: &[usize], device: &Device) -> candle_core::Result<Tensor> {
    let d = x.ncols();
    let mut v: Vec<f32> = Vec::with_capacity(rows.len() * d);
    match x.as_slice() {
        // Row-major storage (what every representation produces): one copy per row.
        Some(all) => {
            for &i in rows {
                v.extend_from_slice(&all[i * d..(i + 1) * d]);
            }
        }
        None => {
            for &i in rows {
                v.extend(x.row(i).iter());
            }
        }
    }
    Tensor::from_vec(v, (rows.len(), d), device)
}

/// Sparse rows `rows` of `x` as a [`SparseBatch`].
fn sparse_batch(
    x: &crate::features::Csr,
    rows: &[usize],
    device: &Device,
) -> candle_core::Result<SparseBatch> {
    let (mut idx, mut val, mut row) = (Vec::new(), Vec::new(), Vec::new());
    for (b, &i) in rows.iter().enumerate() {
        x.for_each_in_row(i, |j, v| {
            idx.push(j as u32);
            val.push(v);
            row.push(b as u32);
        });
    }
    let nnz = idx.len();
    Ok(SparseBatch {
        indices: Tensor::from_vec(idx, nnz, device)?,
        values: Tensor::from_vec(val, (nnz, 1), device)?,
        rows: Tensor::from_vec(row, nnz, device)?,
        n_rows: rows.len(),
    })
}

impl Network for FfnnModel {
    type Input = Features;

    fn params(&self) -> &Params {
        &self.params
    }

    fn logits(
        &self,
        input: &Features,
        rows: &[usize],
        ctx: &mut Ctx,
    ) -> candle_core::Result<Tensor> {
        let dev = self.params.device();
        match input {
            Features::Dense(x) => self.net.forward(&dense_batch(x, rows, dev)?, ctx),
            Features::Sparse(x) => self.net.forward_sparse(&sparse_batch(x, rows, dev)?, ctx),
        }
    }
}
