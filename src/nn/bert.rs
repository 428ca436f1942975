//! A BERT-family encoder (BERT, MiniLM, DistilBERT, RoBERTa, ELECTRA, ALBERT: see
//! [`super::arch`]) for fast CPU inference over packed sequences.
//!
//! Weights are read by their Hugging Face names (`embeddings.word_embeddings.weight`,
//! `encoder.layer.N.attention.self.query.weight`, …; the architecture's prefix — `bert.`,
//! `roberta.`, … — and the old `LayerNorm.gamma`/`beta` names are accepted) from
//! `model.safetensors`, with the model's `config.json` ([`BertConfig`]).
//!
//! Why it is not `candle_transformers::models::bert::BertModel`: that one pads every sequence
//! to the longest of the batch, copies Q, K and V four times a layer, and runs a scalar softmax
//! and erf. Here the sequences of a batch are **packed** (no padding at all): every linear
//! layer is one matmul over all the batch's tokens (gemm's AVX-512 kernels, bias and residual
//! accumulated in place), and attention runs per (sequence, head) in parallel straight on the
//! strided Q/K/V of the fused QKV output, with the fused kernels of [`super::kernels`].
//! Inference only; the fine-tuning issue adds a differentiable path over the same weights.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::nn::arch::{weight_prefix as arch_prefix, Arch, Slot, MODEL_TYPES};
use crate::nn::kernels;

/// Phases of a forward pass, as [`BertEncoder::profile`] reports them.
pub const PHASES: [&str; 8] = [
    "embeddings",
    "qkv matmul",
    "attention",
    "attn-out matmul",
    "layer norms",
    "ffn-in matmul",
    "gelu",
    "ffn-out matmul",
];
static PHASE_NANOS: [std::sync::atomic::AtomicU64; 8] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 8];

fn lap(phase: usize, t: &mut std::time::Instant) {
    let now = std::time::Instant::now();
    PHASE_NANOS[phase].fetch_add(
        (now - *t).as_nanos() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    *t = now;
}

/// Forward passes run by every encoder of this process (tests use it to show a cache hit).
static FORWARD_PASSES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// `config.json` of a BERT-family model (the fields the encoders read). DistilBERT's keys
/// (`dim`, `n_layers`, `n_heads`, `hidden_dim`, `activation`, `dropout`, `attention_dropout`)
/// are read as their BERT names; `model_type` picks the [`Arch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// `bert`, `distilbert`, `roberta`, `electra` or `albert` (default `bert`).
    #[serde(default = "default_model_type")]
    pub model_type: String,
    /// Word-piece vocabulary size.
    pub vocab_size: usize,
    /// Hidden width.
    #[serde(alias = "dim")]
    pub hidden_size: usize,
    /// Width of the embeddings when narrower than `hidden_size` (ELECTRA, ALBERT).
    #[serde(default)]
    pub embedding_size: Option<usize>,
    /// Transformer layers.
    #[serde(alias = "n_layers")]
    pub num_hidden_layers: usize,
    /// Attention heads (they split `hidden_size`).
    #[serde(alias = "n_heads")]
    pub num_attention_heads: usize,
    /// Feed-forward width.
    #[serde(alias = "hidden_dim")]
    pub intermediate_size: usize,
    /// Activation of the feed-forward layer (`gelu` = erf GELU; `gelu_new` and
    /// `gelu_pytorch_tanh` = its tanh approximation).
    #[serde(default = "default_act", alias = "activation")]
    pub hidden_act: String,
    /// Positions the model knows.
    #[serde(default = "default_positions")]
    pub max_position_embeddings: usize,
    /// Segment types.
    #[serde(default = "default_types")]
    pub type_vocab_size: usize,
    /// Epsilon of every layer norm.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Padding id (RoBERTa counts positions from it).
    #[serde(default)]
    pub pad_token_id: Option<usize>,
    /// ALBERT: groups of shared layers.
    #[serde(default = "default_one")]
    pub num_hidden_groups: usize,
    /// ALBERT: layers inside a group (1 is supported).
    #[serde(default = "default_one")]
    pub inner_group_num: usize,
    /// Dropout on the embeddings and after every dense layer (fine-tuning only).
    #[serde(default = "default_dropout", alias = "dropout")]
    pub hidden_dropout_prob: f32,
    /// Dropout on the attention probabilities (fine-tuning only).
    #[serde(default = "default_dropout", alias = "attention_dropout")]
    pub attention_probs_dropout_prob: f32,
}

fn default_model_type() -> String {
    "bert".into()
}

fn default_one() -> usize {
    1
}

fn default_dropout() -> f32 {
    0.1
}

fn default_act() -> String {
    "gelu".into()
}
fn default_positions() -> usize {
    512
}
fn default_types() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

impl BertConfig {
    /// Reads and checks `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let c: BertConfig = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: path.to_path_buf(),
            message: format!("not a BERT-family config.json: {e}"),
        })?;
        c.validated().map_err(|m| Error::Format {
            path: path.to_path_buf(),
            message: m,
        })
    }

    /// Checks the config (the message names the field).
    pub fn validated(self) -> std::result::Result<Self, String> {
        if Arch::from_model_type(&self.model_type).is_none() {
            return Err(format!(
                "model_type `{}` is not supported (supported: {MODEL_TYPES})",
                self.model_type
            ));
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !matches!(
            self.hidden_act.as_str(),
            "gelu" | "gelu_new" | "gelu_pytorch_tanh"
        ) {
            return Err(format!(
                "hidden_act `{}` is not supported (gelu, gelu_new, gelu_pytorch_tanh)",
                self.hidden_act
            ));
        }
        if self.arch() == Arch::Albert
            && (self.inner_group_num != 1
                || self.num_hidden_groups == 0
                || self.num_hidden_groups > self.num_hidden_layers)
        {
            return Err(format!(
                "ALBERT with inner_group_num {} and num_hidden_groups {} is not supported \
                 (inner_group_num 1, 1..=num_hidden_layers groups)",
                self.inner_group_num, self.num_hidden_groups
            ));
        }
        if self.max_position_embeddings <= self.arch().position_offset(&self) {
            return Err(format!(
                "max_position_embeddings {} leaves no position for a token",
                self.max_position_embeddings
            ));
        }
        Ok(self)
    }

    /// The architecture (`model_type`; BERT when unknown, which [`BertConfig::validated`]
    /// refuses).
    pub fn arch(&self) -> Arch {
        Arch::from_model_type(&self.model_type).unwrap_or_default()
    }

    /// Width of the embedding tables (`embedding_size`, else `hidden_size`).
    pub fn embedding_dim(&self) -> usize {
        self.embedding_size.unwrap_or(self.hidden_size)
    }

    /// Longest sequence the model takes (its positions, less RoBERTa's offset).
    pub fn max_tokens(&self) -> usize {
        self.max_position_embeddings - self.arch().position_offset(self)
    }

    /// Whether the feed-forward GELU is the tanh approximation (`gelu_new`).
    pub fn gelu_tanh(&self) -> bool {
        self.hidden_act != "gelu"
    }

    /// Multiply-adds ×2 of one forward pass over sequences of these lengths.
    pub fn flops(&self, lengths: &[usize]) -> f64 {
        let h = self.hidden_size as f64;
        let i = self.intermediate_size as f64;
        let tokens: f64 = lengths.iter().map(|&l| l as f64).sum();
        let sq: f64 = lengths.iter().map(|&l| (l * l) as f64).sum();
        let per_layer = 2.0 * tokens * (3.0 * h * h + h * h + 2.0 * h * i) + 2.0 * 2.0 * sq * h;
        per_layer * self.num_hidden_layers as f64
    }
}

/// A linear layer: `y = x · Wᵀ + b`, `W` row-major `[out, in]` as stored by PyTorch.
#[derive(Debug, Clone)]
struct Linear {
    w: Vec<f32>,
    b: Vec<f32>,
    inp: usize,
    out: usize,
}

impl Linear {
    /// `dst = x · Wᵀ + b (+ residual)`; `x` has rows of `inp`, `dst` of `out`.
    fn forward_into(&self, x: &[f32], dst: &mut [f32], residual: Option<&[f32]>) {
        let rows = x.len() / self.inp;
        debug_assert_eq!(dst.len(), rows * self.out);
        kernels::fill_bias(dst, &self.b, residual);
        // SAFETY: the slices hold rows×inp, out×inp and rows×out values; strides match.
        unsafe {
            gemm::gemm(
                rows,
                self.out,
                self.inp,
                dst.as_mut_ptr(),
                1,
                self.out as isize,
                true,
                x.as_ptr(),
                1,
                self.inp as isize,
                self.w.as_ptr(),
                self.inp as isize,
                1,
                1.0,
                1.0,
                false,
                false,
                false,
                Parallelism::Rayon(0),
            );
        }
    }
}

#[derive(Debug, Clone)]
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

#[derive(Debug, Clone)]
struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    inter: Linear,
    out: Linear,
    out_norm: Norm,
}

/// Weight files a model directory may hold, in the order they are tried.
pub const WEIGHT_FILES: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

/// The weights of a Hugging Face model directory (`model.safetensors`, else PyTorch's
/// `pytorch_model.bin`) onto the CPU, and the file they came from; errors name the files.
pub fn load_dir_weights(dir: &Path) -> Result<(HashMap<String, Tensor>, std::path::PathBuf)> {
    for name in WEIGHT_FILES {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        if name.ends_with(".bin") {
            let tensors = candle_core::pickle::read_all(&path).map_err(|e| Error::Format {
                path: path.clone(),
                message: format!("cannot read PyTorch weights: {e}"),
            })?;
            let map = tensors
                .into_iter()
                .map(|(k, t)| Ok((k, t.to_dtype(DType::F32)?)))
                .collect::<Result<_>>()?;
            return Ok((map, path));
        }
        return Ok((load_weights(&path)?, path));
    }
    Err(Error::Format {
        path: dir.to_path_buf(),
        message: format!("no model weights here ({})", WEIGHT_FILES.join(" or ")),
    })
}

/// Reads a safetensors file of weights onto the CPU; errors name the file.
pub fn load_weights(path: &Path) -> Result<HashMap<String, Tensor>> {
    if !path.exists() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: "model weights not found".into(),
        });
    }
    candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        message: format!("cannot read safetensors: {e}"),
    })
}

/// A loaded BERT-family encoder (inference).
#[derive(Debug, Clone)]
pub struct BertEncoder {
    config: BertConfig,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Option<Vec<f32>>,
    emb_norm: Norm,
    project: Option<Linear>,
    /// One per layer; ALBERT's layers of a group share one.
    layers: Vec<Arc<Layer>>,
}

/// Tensors of a safetensors file by name, with errors that name the file and the tensor.
struct Weights<'a> {
    path: &'a Path,
    map: HashMap<String, Tensor>,
    prefix: &'static str,
}

impl Weights<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let alt = name
            .replace("LayerNorm.weight", "LayerNorm.gamma")
            .replace("LayerNorm.bias", "LayerNorm.beta");
        let t = [name, alt.as_str()]
            .iter()
            .find_map(|n| self.map.get(&format!("{}{n}", self.prefix)))
            .ok_or_else(|| Error::Format {
                path: self.path.to_path_buf(),
                message: format!("tensor `{}{name}` is missing", self.prefix),
            })?;
        if t.dims() != shape {
            return Err(Error::Format {
                path: self.path.to_path_buf(),
                message: format!(
                    "tensor `{}{name}` has shape {:?}, the config implies {shape:?}",
                    self.prefix,
                    t.dims()
                ),
            });
        }
        Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
    }

    fn linear(&self, name: &str, out: usize, inp: usize) -> Result<Linear> {
        Ok(Linear {
            w: self.get(&format!("{name}.weight"), &[out, inp])?,
            b: self.get(&format!("{name}.bias"), &[out])?,
            inp,
            out,
        })
    }

    fn norm(&self, name: &str, h: usize) -> Result<Norm> {
        Ok(Norm {
            gamma: self.get(&format!("{name}.weight"), &[h])?,
            beta: self.get(&format!("{name}.bias"), &[h])?,
        })
    }
}

impl BertEncoder {
    /// Loads `config.json` and the weights (`model.safetensors` or `pytorch_model.bin`) of a
    /// Hugging Face model directory.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        let (map, path) = load_dir_weights(dir)?;
        Self::from_tensors(map, config, &path)
    }

    /// Loads the weights of `config`'s model from a safetensors file.
    pub fn from_safetensors(path: &Path, config: BertConfig) -> Result<Self> {
        Self::from_tensors(load_weights(path)?, config, path)
    }

    /// The encoder of `config` from tensors by their Hugging Face names (with the
    /// architecture's prefix — `bert.`, `roberta.`, … — or without); `origin` names where they
    /// came from in errors.
    pub fn from_tensors(
        map: HashMap<String, Tensor>,
        config: BertConfig,
        origin: &Path,
    ) -> Result<Self> {
        let arch = config.arch();
        let prefix = arch_prefix(arch, &config, |n| map.contains_key(n));
        let w = Weights {
            path: origin,
            map,
            prefix,
        };
        let name = |s: Slot| arch.name(s, &config);
        let (h, i, e) = (
            config.hidden_size,
            config.intermediate_size,
            config.embedding_dim(),
        );
        let mut layers: Vec<Arc<Layer>> = Vec::with_capacity(config.num_hidden_layers);
        let mut shared: HashMap<String, Arc<Layer>> = HashMap::new();
        for l in 0..config.num_hidden_layers {
            let key = name(Slot::Query(l));
            if let Some(layer) = shared.get(&key) {
                layers.push(layer.clone());
                continue;
            }
            let q = w.linear(&key, h, h)?;
            let k = w.linear(&name(Slot::Key(l)), h, h)?;
            let v = w.linear(&name(Slot::Value(l)), h, h)?;
            let qkv = Linear {
                w: [q.w, k.w, v.w].concat(),
                b: [q.b, k.b, v.b].concat(),
                inp: h,
                out: 3 * h,
            };
            let layer = Arc::new(Layer {
                qkv,
                attn_out: w.linear(&name(Slot::AttnOut(l)), h, h)?,
                attn_norm: w.norm(&name(Slot::AttnNorm(l)), h)?,
                inter: w.linear(&name(Slot::Inter(l)), i, h)?,
                out: w.linear(&name(Slot::Out(l)), h, i)?,
                out_norm: w.norm(&name(Slot::OutNorm(l)), h)?,
            });
            shared.insert(key, layer.clone());
            layers.push(layer);
        }
        let table = |s: Slot, rows: usize| w.get(&format!("{}.weight", name(s)), &[rows, e]);
        Ok(BertEncoder {
            word: table(Slot::Word, config.vocab_size)?,
            position: table(Slot::Position, config.max_position_embeddings)?,
            token_type: if arch.has_token_types() {
                Some(table(Slot::TokenType, config.type_vocab_size)?)
            } else {
                None
            },
            emb_norm: w.norm(&name(Slot::EmbNorm), e)?,
            project: if arch.has_projection(&config) {
                Some(w.linear(&name(Slot::Project), h, e)?)
            } else {
                None
            },
            layers,
            config,
        })
    }

    /// Seconds spent so far in each phase of [`PHASES`], by every encoder of this process.
    pub fn profile() -> Vec<(&'static str, f64)> {
        PHASES
            .iter()
            .zip(&PHASE_NANOS)
            .map(|(p, n)| {
                (
                    *p,
                    n.load(std::sync::atomic::Ordering::Relaxed) as f64 * 1e-9,
                )
            })
            .collect()
    }

    /// Resets [`BertEncoder::profile`].
    pub fn reset_profile() {
        PHASE_NANOS
            .iter()
            .for_each(|n| n.store(0, std::sync::atomic::Ordering::Relaxed));
    }

    /// Forward passes run so far by every encoder of this process.
    pub fn forward_passes() -> usize {
        FORWARD_PASSES.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The model's config.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Hidden width (the embedding size).
    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// Last hidden states of a batch of token-id sequences, packed: row `t` of the result
    /// (`hidden_size` wide) is token `t` of the sequences laid end to end. Every token
    /// attends to the tokens of its own sequence only (so no padding and no mask).
    pub fn forward_packed(&self, seqs: &[&[u32]]) -> Result<Vec<f32>> {
        FORWARD_PASSES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let h = self.config.hidden_size;
        let mut spans = Vec::with_capacity(seqs.len());
        let mut total = 0usize;
        for (i, s) in seqs.iter().enumerate() {
            if s.is_empty() {
                return Err(Error::Model(format!("sequence {i} of the batch is empty")));
            }
            if s.len() > self.config.max_tokens() {
                return Err(Error::Model(format!(
                    "sequence {i} has {} tokens; the model takes {} (truncate first)",
                    s.len(),
                    self.config.max_tokens()
                )));
            }
            spans.push((total, s.len()));
            total += s.len();
        }
        let mut t = std::time::Instant::now();
        // Embeddings: word + position (+ token type 0), then layer norm (and a projection).
        let e = self.config.embedding_dim();
        let offset = self.config.arch().position_offset(&self.config);
        let mut x = vec![0.0f32; total * e];
        for ((off, len), s) in spans.iter().zip(seqs) {
            for (p, &id) in s.iter().enumerate().take(*len) {
                let id = id as usize;
                if id >= self.config.vocab_size {
                    return Err(Error::Model(format!(
                        "token id {id} is outside the vocabulary ({} ids)",
                        self.config.vocab_size
                    )));
                }
                let row = &mut x[(off + p) * e..(off + p + 1) * e];
                let w = &self.word[id * e..(id + 1) * e];
                let pos = p + offset;
                let pe = &self.position[pos * e..(pos + 1) * e];
                for j in 0..e {
                    row[j] = w[j] + pe[j];
                }
                if let Some(tt) = &self.token_type {
                    row.iter_mut().zip(&tt[..e]).for_each(|(r, t)| *r += t);
                }
            }
        }
        let eps = self.config.layer_norm_eps as f32;
        let norm = |x: &mut [f32], n: &Norm| {
            let w = n.gamma.len();
            let chunk = (x.len() / w)
                .div_ceil(rayon::current_num_threads() * 4)
                .max(16)
                * w;
            x.par_chunks_mut(chunk)
                .for_each(|c| kernels::layer_norm_rows(c, &n.gamma, &n.beta, eps));
        };
        norm(&mut x, &self.emb_norm);
        if let Some(p) = &self.project {
            let mut y = vec![0.0f32; total * h];
            p.forward_into(&x, &mut y, None);
            x = y;
        }
        lap(0, &mut t);
        let mut qkv = vec![0.0f32; total * 3 * h];
        let mut ctx = vec![0.0f32; total * h];
        let mut a = vec![0.0f32; total * h];
        let mut inter = vec![0.0f32; total * self.config.intermediate_size];
        let i_w = self.config.intermediate_size;
        let tanh = self.config.gelu_tanh();
        for layer in &self.layers {
            layer.qkv.forward_into(&x, &mut qkv, None);
            lap(1, &mut t);
            self.attention(&qkv, &spans, &mut ctx);
            lap(2, &mut t);
            layer.attn_out.forward_into(&ctx, &mut a, Some(&x));
            lap(3, &mut t);
            norm(&mut a, &layer.attn_norm);
            lap(4, &mut t);
            layer.inter.forward_into(&a, &mut inter, None);
            lap(5, &mut t);
            // The intermediate dense's bias is already in (fill_bias); only GELU is left.
            let chunk = (total.div_ceil(rayon::current_num_threads() * 4)).max(16) * i_w;
            inter.par_chunks_mut(chunk).for_each(|c| {
                if tanh {
                    kernels::gelu_tanh_in_place(c)
                } else {
                    kernels::gelu_in_place(c)
                }
            });
            lap(6, &mut t);
            layer.out.forward_into(&inter, &mut x, Some(&a));
            lap(7, &mut t);
            norm(&mut x, &layer.out_norm);
            lap(4, &mut t);
        }
        Ok(x)
    }

    /// Scaled dot-product attention of every (sequence, head) on the fused QKV rows.
    fn attention(&self, qkv: &[f32], spans: &[(usize, usize)], ctx: &mut [f32]) {
        let h = self.config.hidden_size;
        let nh = self.config.num_attention_heads;
        let dh = h / nh;
        let scale = 1.0 / (dh as f32).sqrt();
        let qkv_ptr = SendPtr(qkv.as_ptr() as *mut f32);
        let ctx_ptr = SendPtr(ctx.as_mut_ptr());
        let jobs: Vec<(usize, usize, usize)> = spans
            .iter()
            .flat_map(|&(off, len)| (0..nh).map(move |head| (off, len, head)))
            .collect();
        jobs.par_iter()
            .for_each_init(Vec::new, |scores, &(off, len, head)| {
                scores.resize(len * len, 0.0);
                let (qkv_ptr, ctx_ptr) = (qkv_ptr, ctx_ptr);
                // SAFETY: Q, K, V of (off, head) are read-only strided views inside `qkv`; each job
                // writes its own (rows off..off+len, columns head·dh..) block of `ctx`, disjoint
                // from every other job's.
                unsafe {
                    let base = qkv_ptr.0.add(off * 3 * h + head * dh);
                    let q = base;
                    let k = base.add(h);
                    let v = base.add(2 * h);
                    gemm::gemm(
                        len,
                        len,
                        dh,
                        scores.as_mut_ptr(),
                        1,
                        len as isize,
                        false,
                        q,
                        1,
                        (3 * h) as isize,
                        k,
                        (3 * h) as isize,
                        1,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                    kernels::softmax_rows(scores, len, scale);
                    gemm::gemm(
                        len,
                        dh,
                        len,
                        ctx_ptr.0.add(off * h + head * dh),
                        1,
                        h as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        len as isize,
                        v,
                        1,
                        (3 * h) as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            });
    }

    /// Mean of each sequence's last hidden states (every token counts: CLS and SEP too, as
    /// sentence-transformers' mean pooling over the attention mask does), optionally
    /// L2-normalised. One row of `hidden_size` per sequence, in input order.
    pub fn mean_pooled(&self, seqs: &[&[u32]], normalize: bool) -> Result<Vec<Vec<f32>>> {
        let h = self.config.hidden_size;
        let x = self.forward_packed(seqs)?;
        let mut out = Vec::with_capacity(seqs.len());
        let mut off = 0;
        for s in seqs {
            let mut row = vec![0.0f32; h];
            kernels::mean_rows(&x[off * h..(off + s.len()) * h], &mut row, normalize);
            off += s.len();
            out.push(row);
        }
        Ok(out)
    }
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only for the disjoint writes / shared reads documented in `attention`.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
