//! A BERT-family encoder in trainable form (fine-tuning), over the same packed batches as the
//! inference encoder ([`super::bert`]): the sequences of a batch are laid end to end (no
//! padding), every dense layer is one matmul over all the batch's tokens, and attention runs
//! per (sequence, head).
//!
//! Why not `candle_transformers::models::bert::BertModel`: its `LayerNorm` takes candle-nn's
//! fused op, which has no backward (a training step through it silently updates only the
//! head; candle issues #3011, #3752), its softmax has none either, and its dropout is a no-op.
//! Here on the CPU the layer norm, the erf GELU and the whole attention of a layer are each
//! ONE autograd node with a hand-written backward (the vectorised kernels of
//! [`super::kernels`]); elsewhere (CUDA) and in tests the same maths runs as plain,
//! differentiable candle ops ([`BertOps::Reference`]). Dropout is real: after the embeddings,
//! on the attention probabilities and after every dense output, drawn from the [`Ctx`]'s seed.
//!
//! Parameters live in a [`Params`] under their Hugging Face names with a prefix (`bert.` for a
//! model with a head), so the store saves as a checkpoint `transformers` reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor, D};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::nn::arch::{weight_prefix, Slot};
use crate::nn::bert::BertConfig;
use crate::nn::fused::{gemm_into, gemm_new, gemm_strided, slice, supported, with_values};
use crate::nn::kernels;
use crate::train::{Ctx, GradSink, Params};

/// Which implementation of the layer norm, GELU and attention a [`TrainableBert`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BertOps {
    /// One op with a hand-written backward each on the CPU; the reference ops elsewhere.
    #[default]
    Fused,
    /// Plain candle ops (differentiable everywhere; the test oracle).
    Reference,
    /// The reference ops but candle-nn's fused `layer_norm`, which has no backward: what
    /// `candle_transformers`' BertModel does. Only for showing what the gradient test catches.
    CandleLayerNorm,
}

/// A batch of sequences laid end to end.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedSeqs {
    /// `(offset, length)` of each sequence, in batch order.
    pub spans: Vec<(usize, usize)>,
    /// Total tokens.
    pub n: usize,
}

impl PackedSeqs {
    /// The layout of `seqs` (each non-empty).
    pub fn new(seqs: &[&[u32]]) -> Self {
        let mut spans = Vec::with_capacity(seqs.len());
        let mut n = 0;
        for s in seqs {
            spans.push((n, s.len()));
            n += s.len();
        }
        PackedSeqs { spans, n }
    }
}

struct Dense {
    w: Tensor,
    b: Tensor,
}

struct Norm {
    g: Tensor,
    b: Tensor,
}

struct Layer {
    q: Dense,
    k: Dense,
    v: Dense,
    o: Dense,
    attn_norm: Norm,
    inter: Dense,
    out: Dense,
    out_norm: Norm,
}

/// The encoder's tensors (in a [`Params`]) and the forward pass over packed batches.
pub struct TrainableBert {
    config: BertConfig,
    word: Tensor,
    position: Tensor,
    token_type: Option<Tensor>,
    emb_norm: Norm,
    project: Option<Dense>,
    /// One per layer (ALBERT's layers of a group hold the same tensors).
    layers: Vec<Layer>,
    /// Depth of each parameter (store name) for layer-wise learning-rate decay.
    depths: HashMap<String, usize>,
    ops: BertOps,
    freeze_embeddings: bool,
}

/// Takes the encoder's tensors out of a weight map into a [`Params`].
struct Loader<'a> {
    weights: &'a HashMap<String, Tensor>,
    origin: &'a std::path::Path,
    config: &'a BertConfig,
    src: &'static str,
    prefix: &'a str,
    depths: HashMap<String, usize>,
}

impl Loader<'_> {
    /// The tensor `{slot's name}.{part}`, added to `params` once (a shared ALBERT tensor
    /// is taken from the store the second time).
    fn take(
        &mut self,
        params: &mut Params,
        slot: Slot,
        part: &str,
        shape: &[usize],
    ) -> Result<Tensor> {
        let name = format!("{}.{part}", self.config.arch().name(slot, self.config));
        let stored = format!("{}{name}", self.prefix);
        let depth = self.depths.entry(stored.clone()).or_insert(0);
        *depth = (*depth).max(slot.depth());
        if let Some(v) = params.get(&stored) {
            return Ok(v.as_tensor().clone());
        }
        let alt = name
            .replace("LayerNorm.weight", "LayerNorm.gamma")
            .replace("LayerNorm.bias", "LayerNorm.beta");
        let src = self.src;
        let t = [name.as_str(), alt.as_str()]
            .iter()
            .find_map(|n| self.weights.get(&format!("{src}{n}")))
            .ok_or_else(|| Error::Format {
                path: self.origin.to_path_buf(),
                message: format!("tensor `{src}{name}` is missing"),
            })?;
        if t.dims() != shape {
            return Err(Error::Format {
                path: self.origin.to_path_buf(),
                message: format!(
                    "tensor `{src}{name}` has shape {:?}, the config implies {shape:?}",
                    t.dims()
                ),
            });
        }
        params.add(&stored, t.clone())
    }

    fn dense(&mut self, params: &mut Params, slot: Slot, out: usize, inp: usize) -> Result<Dense> {
        Ok(Dense {
            w: self.take(params, slot, "weight", &[out, inp])?,
            b: self.take(params, slot, "bias", &[out])?,
        })
    }

    fn norm(&mut self, params: &mut Params, slot: Slot, h: usize) -> Result<Norm> {
        Ok(Norm {
            g: self.take(params, slot, "weight", &[h])?,
            b: self.take(params, slot, "bias", &[h])?,
        })
    }
}

impl TrainableBert {
    /// Adds the encoder of `config` to `params` from `weights` (Hugging Face names of the
    /// config's architecture, with or without its prefix), each parameter named
    /// `{prefix}{HF name}` (ALBERT's shared layers once). Missing tensors or wrong shapes are
    /// errors naming the tensor and `origin`.
    pub fn new(
        config: BertConfig,
        weights: &HashMap<String, Tensor>,
        origin: &std::path::Path,
        params: &mut Params,
        prefix: &str,
    ) -> Result<Self> {
        let arch = config.arch();
        let mut ld = Loader {
            weights,
            origin,
            config: &config,
            src: weight_prefix(arch, &config, |n| weights.contains_key(n)),
            prefix,
            depths: HashMap::new(),
        };
        let (h, i, e) = (
            config.hidden_size,
            config.intermediate_size,
            config.embedding_dim(),
        );
        let word = ld.take(params, Slot::Word, "weight", &[config.vocab_size, e])?;
        let position = ld.take(
            params,
            Slot::Position,
            "weight",
            &[config.max_position_embeddings, e],
        )?;
        let token_type = if arch.has_token_types() {
            Some(ld.take(
                params,
                Slot::TokenType,
                "weight",
                &[config.type_vocab_size, e],
            )?)
        } else {
            None
        };
        let emb_norm = ld.norm(params, Slot::EmbNorm, e)?;
        let project = if arch.has_projection(&config) {
            Some(ld.dense(params, Slot::Project, h, e)?)
        } else {
            None
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            layers.push(Layer {
                q: ld.dense(params, Slot::Query(l), h, h)?,
                k: ld.dense(params, Slot::Key(l), h, h)?,
                v: ld.dense(params, Slot::Value(l), h, h)?,
                o: ld.dense(params, Slot::AttnOut(l), h, h)?,
                attn_norm: ld.norm(params, Slot::AttnNorm(l), h)?,
                inter: ld.dense(params, Slot::Inter(l), i, h)?,
                out: ld.dense(params, Slot::Out(l), h, i)?,
                out_norm: ld.norm(params, Slot::OutNorm(l), h)?,
            });
        }
        let depths = ld.depths;
        Ok(TrainableBert {
            word,
            position,
            token_type,
            emb_norm,
            project,
            layers,
            depths,
            config,
            ops: BertOps::default(),
            freeze_embeddings: false,
        })
    }

    /// Chooses the ops (see [`BertOps`]).
    pub fn set_ops(&mut self, ops: BertOps) {
        self.ops = ops;
    }

    /// Keeps the embeddings block (word, position, type embeddings and their layer norm) as
    /// loaded: no gradient reaches it.
    pub fn set_frozen_embeddings(&mut self, on: bool) {
        self.freeze_embeddings = on;
    }

    /// The model's config.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Depth of the parameter stored as `name` for layer-wise learning-rate decay: 0 for the
    /// embeddings (and their projection), `l + 1` for layer `l` (ALBERT's shared layers: the
    /// deepest layer that uses them), `None` for a tensor that is not the encoder's (a head).
    pub fn depth(&self, name: &str) -> Option<usize> {
        self.depths.get(name).copied()
    }

    fn fused(&self, x: &Tensor) -> bool {
        self.ops == BertOps::Fused && supported(x)
    }

    /// Last hidden states of a batch of word-piece sequences, packed (`N × hidden`, the
    /// sequences' tokens end to end); dropout when `ctx` is in training mode.
    pub fn forward(&self, seqs: &[&[u32]], ctx: &mut Ctx) -> candle_core::Result<Tensor> {
        let packed = PackedSeqs::new(seqs);
        let c = &self.config;
        for (i, s) in seqs.iter().enumerate() {
            if s.is_empty() || s.len() > c.max_tokens() {
                candle_core::bail!(
                    "sequence {i} has {} word pieces; the model takes 1..={}",
                    s.len(),
                    c.max_tokens()
                );
            }
            if let Some(&id) = s.iter().find(|&&id| id as usize >= c.vocab_size) {
                candle_core::bail!(
                    "sequence {i}: word-piece id {id} is outside the vocabulary ({})",
                    c.vocab_size
                );
            }
        }
        let dev = self.word.device();
        let offset = c.arch().position_offset(c) as u32;
        let ids: Vec<u32> = seqs.iter().flat_map(|s| s.iter().copied()).collect();
        let pos: Vec<u32> = seqs
            .iter()
            .flat_map(|s| offset..offset + s.len() as u32)
            .collect();
        let ids = Tensor::from_vec(ids, packed.n, dev)?;
        let pos = Tensor::from_vec(pos, packed.n, dev)?;
        let frozen = |t: &Tensor| {
            if self.freeze_embeddings {
                t.detach()
            } else {
                t.clone()
            }
        };
        let mut x = frozen(&self.word)
            .index_select(&ids, 0)?
            .add(&frozen(&self.position).index_select(&pos, 0)?)?;
        if let Some(tt) = &self.token_type {
            x = x.broadcast_add(&frozen(tt).narrow(0, 0, 1)?)?;
        }
        let en = Norm {
            g: frozen(&self.emb_norm.g),
            b: frozen(&self.emb_norm.b),
        };
        let mut x = ctx.dropout(&self.norm(&x, &en)?, c.hidden_dropout_prob)?;
        if let Some(p) = &self.project {
            x = match (self.fused(&x), ctx.grad_sink().cloned()) {
                (true, Some(sink)) => LinearOp::new(&[p], sink).apply(&x, None)?,
                _ => linear(&x, &p.w, &p.b)?,
            };
        }
        for layer in &self.layers {
            x = self.layer(&x, layer, &packed, ctx)?;
        }
        Ok(x)
    }

    fn layer(
        &self,
        x: &Tensor,
        l: &Layer,
        packed: &PackedSeqs,
        ctx: &mut Ctx,
    ) -> candle_core::Result<Tensor> {
        let c = &self.config;
        let heads = c.num_attention_heads;
        let arch = c.arch();
        let act = self.act();
        // Dropout after the attention's and the feed-forward's output dense, where the
        // architecture has it.
        let p_attn = if arch.dropout_after_attention() {
            c.hidden_dropout_prob
        } else {
            0.0
        };
        let p_ffn = if arch.dropout_after_ffn() {
            c.hidden_dropout_prob
        } else {
            0.0
        };
        if let (true, Some(sink)) = (self.fused(x), ctx.grad_sink().cloned()) {
            // Each dense layer one op (bias, GELU, dropout and the residual inside), their
            // weight gradients handed to the sink; Q, K and V as one matmul.
            let qkv = LinearOp::new(&[&l.q, &l.k, &l.v], sink.clone()).apply(x, None)?;
            let n_probs: usize = packed.spans.iter().map(|(_, l)| l * l).sum::<usize>() * heads;
            let mask = ctx.dropout_mask(n_probs, c.attention_probs_dropout_prob);
            let a = qkv.apply_op1(PackedAttention::new(packed, heads, mask))?;
            let mask = ctx.dropout_mask(a.elem_count(), p_attn);
            let a = LinearOp::new(&[&l.o], sink.clone())
                .mask(mask)
                .apply(&a, Some(x))?;
            let a = self.norm(&a, &l.attn_norm)?;
            let i = LinearOp::new(&[&l.inter], sink.clone())
                .gelu(act)
                .apply(&a, None)?;
            let mask = ctx.dropout_mask(a.elem_count(), p_ffn);
            let o = LinearOp::new(&[&l.out], sink)
                .mask(mask)
                .apply(&i, Some(&a))?;
            return self.norm(&o, &l.out_norm);
        }
        let w = Tensor::cat(&[&l.q.w, &l.k.w, &l.v.w], 0)?;
        let b = Tensor::cat(&[&l.q.b, &l.k.b, &l.v.b], 0)?;
        let qkv = linear(x, &w, &b)?;
        let a = if self.fused(&qkv) {
            let n_probs: usize = packed.spans.iter().map(|(_, l)| l * l).sum::<usize>() * heads;
            let mask = ctx.dropout_mask(n_probs, c.attention_probs_dropout_prob);
            qkv.apply_op1(PackedAttention::new(packed, heads, mask))?
        } else {
            attention_reference(&qkv, packed, heads, ctx, c.attention_probs_dropout_prob)?
        };
        let a = ctx.dropout(&linear(&a, &l.o.w, &l.o.b)?, p_attn)?;
        let a = self.norm(&a.add(x)?, &l.attn_norm)?;
        let i = self.gelu(&linear(&a, &l.inter.w, &l.inter.b)?)?;
        let o = ctx.dropout(&linear(&i, &l.out.w, &l.out.b)?, p_ffn)?;
        self.norm(&o.add(&a)?, &l.out_norm)
    }

    fn act(&self) -> Gelu {
        if self.config.gelu_tanh() {
            Gelu::Tanh
        } else {
            Gelu::Erf
        }
    }

    fn norm(&self, x: &Tensor, n: &Norm) -> candle_core::Result<Tensor> {
        let eps = self.config.layer_norm_eps;
        match self.ops {
            BertOps::CandleLayerNorm => candle_nn::ops::layer_norm(x, &n.g, &n.b, eps as f32),
            _ if self.fused(x) => x.apply_op3(&n.g, &n.b, LayerNormOp::new(eps)),
            _ => layer_norm_reference(x, &n.g, &n.b, eps),
        }
    }

    fn gelu(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self.act() {
            a if self.fused(x) => x.apply_op1(GeluOp(a)),
            Gelu::Erf => x.gelu_erf(),
            Gelu::Tanh => x.gelu(),
        }
    }
}

/// `x · Wᵀ + b` with `W` as PyTorch stores it (`out × in`).
fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    x.matmul(&w.t()?)?.broadcast_add(b)
}

/// Layer norm over the last dimension in plain candle ops.
pub fn layer_norm_reference(
    x: &Tensor,
    g: &Tensor,
    b: &Tensor,
    eps: f64,
) -> candle_core::Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    xc.broadcast_div(&(var + eps)?.sqrt()?)?
        .broadcast_mul(g)?
        .broadcast_add(b)
}

/// Attention of every (sequence, head) of the packed `qkv` (`N × 3H`: Q, K, V side by side)
/// in plain candle ops: `N × H`.
pub fn attention_reference(
    qkv: &Tensor,
    packed: &PackedSeqs,
    heads: usize,
    ctx: &mut Ctx,
    dropout: f32,
) -> candle_core::Result<Tensor> {
    let h = qkv.dim(1)? / 3;
    let dh = h / heads;
    let scale = 1.0 / (dh as f64).sqrt();
    let mut outs = Vec::with_capacity(packed.spans.len());
    for &(off, len) in &packed.spans {
        let rows = qkv.narrow(0, off, len)?;
        let split = |i: usize| -> candle_core::Result<Tensor> {
            rows.narrow(1, i * h, h)?
                .reshape((len, heads, dh))?
                .transpose(0, 1)?
                .contiguous()
        };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let s = (q.matmul(&k.t()?)? * scale)?;
        let p = candle_nn::ops::softmax(&s, D::Minus1)?;
        let p = ctx.dropout(&p, dropout)?;
        outs.push(p.matmul(&v)?.transpose(0, 1)?.reshape((len, h))?);
    }
    Tensor::cat(&outs, 0)
}

fn lock<T>(m: &Mutex<T>) -> candle_core::Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| candle_core::Error::Msg("bert op: lock poisoned".into()))
}

/// Rows per rayon task for row-wise passes over `rows × width`.
fn row_chunk(rows: usize) -> usize {
    rows.div_ceil(rayon::current_num_threads() * 4).max(16)
}

/// Layer norm over rows as one op; keeps each row's mean and 1/σ for the backward.
#[derive(Debug, Clone)]
struct LayerNormOp {
    eps: f32,
    stats: Arc<Mutex<Vec<(f32, f32)>>>,
}

impl LayerNormOp {
    fn new(eps: f64) -> Self {
        LayerNormOp {
            eps: eps as f32,
            stats: Arc::default(),
        }
    }
}

impl CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "bert-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s1, l1, "layer-norm input")?;
        let g = slice(s2, l2, "layer-norm weight")?;
        let b = slice(s3, l3, "layer-norm bias")?;
        let w = g.len();
        if b.len() != w || x.len() % w != 0 {
            candle_core::bail!("layer norm: {} values for rows of {w}", x.len());
        }
        let rows = x.len() / w;
        let mut y = x.to_vec();
        let mut stats = vec![(0.0f32, 0.0f32); rows];
        let ch = row_chunk(rows);
        y.par_chunks_mut(ch * w)
            .zip(stats.par_chunks_mut(ch))
            .for_each(|(y, st)| {
                for (row, st) in y.chunks_exact_mut(w).zip(st) {
                    kernels::layer_norm_row_stats(row, g, b, self.eps, st);
                }
            });
        *lock(&self.stats)? = stats;
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    #[allow(clippy::type_complexity)]
    fn bwd(
        &self,
        x: &Tensor,
        g: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let stats = lock(&self.stats)?;
        let w = g.elem_count();
        let rows = stats.len();
        let mut dx = vec![0.0f32; rows * w];
        let ch = row_chunk(rows);
        let (dg, db) = with_values(x, |xv| {
            with_values(g, |gv| {
                with_values(grad, |dy| {
                    let parts: Vec<(Vec<f32>, Vec<f32>)> = dx
                        .par_chunks_mut(ch * w)
                        .enumerate()
                        .map(|(ci, dxc)| {
                            let mut dg = vec![0.0f32; w];
                            let mut db = vec![0.0f32; w];
                            let r0 = ci * ch;
                            for (j, dxr) in dxc.chunks_exact_mut(w).enumerate() {
                                let r = r0 + j;
                                kernels::layer_norm_row_back(
                                    &xv[r * w..(r + 1) * w],
                                    &dy[r * w..(r + 1) * w],
                                    gv,
                                    stats[r],
                                    dxr,
                                    &mut dg,
                                    &mut db,
                                );
                            }
                            (dg, db)
                        })
                        .collect();
                    let mut dg = vec![0.0f32; w];
                    let mut db = vec![0.0f32; w];
                    for (pg, pb) in parts {
                        dg.iter_mut().zip(&pg).for_each(|(a, b)| *a += b);
                        db.iter_mut().zip(&pb).for_each(|(a, b)| *a += b);
                    }
                    Ok((dg, db))
                })
            })
        })?;
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), dev)?),
            Some(Tensor::from_vec(dg, w, dev)?),
            Some(Tensor::from_vec(db, w, dev)?),
        ))
    }
}

/// A dense layer as one op: `act(x · Wᵀ + b) ⊙ mask (+ residual)`, `W` as PyTorch stores it
/// (`out × in`), possibly several layers' weights side by side (Q, K, V: one matmul). The
/// weights are read from the op, not passed as inputs: their gradients go to the [`GradSink`]
/// (each part's to its own tensor), so candle never zero-fills and adds them.
#[derive(Clone)]
struct LinearOp {
    ws: Vec<Tensor>,
    bs: Vec<Tensor>,
    gelu: Option<Gelu>,
    mask: Option<Arc<Vec<f32>>>,
    pre: Arc<Mutex<Option<Vec<f32>>>>,
    sink: GradSink,
}

impl LinearOp {
    fn new(parts: &[&Dense], sink: GradSink) -> Self {
        LinearOp {
            ws: parts.iter().map(|d| d.w.clone()).collect(),
            bs: parts.iter().map(|d| d.b.clone()).collect(),
            gelu: None,
            mask: None,
            pre: Arc::default(),
            sink,
        }
    }

    fn gelu(mut self, act: Gelu) -> Self {
        self.gelu = Some(act);
        self
    }

    fn mask(mut self, mask: Option<Vec<f32>>) -> Self {
        self.mask = mask.map(Arc::new);
        self
    }

    /// The first weight is passed as an input too (its gradient still goes to the sink): it
    /// makes candle track the op even when `x` needs no gradient (the first layer over frozen
    /// embeddings), so the weights still get theirs.
    fn apply(self, x: &Tensor, residual: Option<&Tensor>) -> candle_core::Result<Tensor> {
        let w0 = self.ws[0].clone();
        match residual {
            Some(r) => x.apply_op3(r, &w0, self),
            None => x.apply_op2(&w0, self),
        }
    }

    /// The weights side by side (`out × in`) and the biases.
    fn weights(&self) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
        let mut w = Vec::new();
        let mut b = Vec::new();
        for (wt, bt) in self.ws.iter().zip(&self.bs) {
            with_values(wt, |v| {
                w.extend_from_slice(v);
                Ok(())
            })?;
            with_values(bt, |v| {
                b.extend_from_slice(v);
                Ok(())
            })?;
        }
        Ok((w, b))
    }

    fn forward(
        &self,
        x: &[f32],
        l: &Layout,
        residual: Option<&[f32]>,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (rows, inp) = l.shape().dims2()?;
        let (w, b) = self.weights()?;
        let out = b.len();
        if w.len() != out * inp {
            candle_core::bail!("bert linear: {rows}×{inp} input for {} weights", w.len());
        }
        let mut z = vec![0.0f32; rows * out];
        let ch = row_chunk(rows) * out;
        z.par_chunks_mut(ch)
            .for_each(|c| kernels::fill_bias(c, &b, None));
        gemm_into(&mut z, rows, out, inp, true, x, (inp, 1), &w, (1, inp));
        if let Some(act) = self.gelu {
            *lock(&self.pre)? = Some(z.clone());
            z.par_chunks_mut(ch).for_each(|c| act.forward(c));
        }
        if let Some(m) = &self.mask {
            z.par_chunks_mut(ch)
                .zip(m.par_chunks(ch))
                .for_each(|(z, m)| z.iter_mut().zip(m).for_each(|(a, b)| *a *= b));
        }
        if let Some(r) = residual {
            z.par_chunks_mut(ch)
                .zip(r.par_chunks(ch))
                .for_each(|(z, r)| z.iter_mut().zip(r).for_each(|(a, b)| *a += b));
        }
        Ok((CpuStorage::F32(z), Shape::from((rows, out))))
    }

    /// The input's gradient; the weights' go to the sink.
    fn backward(&self, x: &Tensor, grad: &Tensor) -> candle_core::Result<Tensor> {
        let (rows, inp) = x.dims2()?;
        let (w, _) = self.weights()?;
        let out = w.len() / inp.max(1);
        let mut gz = with_values(grad, |g| Ok(g.to_vec()))?;
        let ch = row_chunk(rows) * out;
        if let Some(m) = &self.mask {
            gz.par_chunks_mut(ch)
                .zip(m.par_chunks(ch))
                .for_each(|(g, m)| g.iter_mut().zip(m).for_each(|(a, b)| *a *= b));
        }
        if let Some(act) = self.gelu {
            let pre = lock(&self.pre)?;
            let Some(z) = pre.as_ref() else {
                candle_core::bail!("bert linear: backward without the kept pre-activation");
            };
            gz.par_chunks_mut(ch)
                .zip(z.par_chunks(ch))
                .for_each(|(g, z)| act.backward(z, g));
        }
        let dev = x.device();
        let (dw, dx) = with_values(x, |xv| {
            // dW = gzᵀ · x (out × in), dx = gz · W (rows × in).
            let dw = gemm_new(out, inp, rows, &gz, (1, out), xv, (inp, 1));
            let dx = gemm_new(rows, inp, out, &gz, (out, 1), &w, (inp, 1));
            Ok((dw, dx))
        })?;
        let mut db = vec![0.0f32; out];
        for r in gz.chunks_exact(out) {
            db.iter_mut().zip(r).for_each(|(d, &g)| *d += g);
        }
        let mut at = 0;
        for (wt, bt) in self.ws.iter().zip(&self.bs) {
            let o = bt.elem_count();
            let dwp = dw[at * inp..(at + o) * inp].to_vec();
            self.sink
                .push(wt.id(), Tensor::from_vec(dwp, wt.shape(), dev)?)?;
            self.sink
                .push(bt.id(), Tensor::from_vec(db[at..at + o].to_vec(), o, dev)?)?;
            at += o;
        }
        Tensor::from_vec(dx, (rows, inp), dev)
    }
}

impl candle_core::CustomOp2 for LinearOp {
    fn name(&self) -> &'static str {
        "bert-linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        _s2: &CpuStorage,
        _l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.forward(slice(s1, l1, "linear input")?, l1, None)
    }

    fn bwd(
        &self,
        x: &Tensor,
        _w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(self.backward(x, grad)?), None))
    }
}

impl CustomOp3 for LinearOp {
    fn name(&self) -> &'static str {
        "bert-linear-residual"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        _s3: &CpuStorage,
        _l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let r = slice(s2, l2, "residual")?;
        self.forward(slice(s1, l1, "linear input")?, l1, Some(r))
    }

    #[allow(clippy::type_complexity)]
    fn bwd(
        &self,
        x: &Tensor,
        _r: &Tensor,
        _w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        Ok((Some(self.backward(x, grad)?), Some(grad.clone()), None))
    }
}

/// Which GELU the feed-forward runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gelu {
    /// `gelu`: with erf.
    Erf,
    /// `gelu_new` / `gelu_pytorch_tanh`: the tanh approximation.
    Tanh,
}

impl Gelu {
    fn forward(self, x: &mut [f32]) {
        match self {
            Gelu::Erf => kernels::gelu_in_place(x),
            Gelu::Tanh => kernels::gelu_tanh_in_place(x),
        }
    }

    /// `g = g · gelu'(x)`.
    fn backward(self, x: &[f32], g: &mut [f32]) {
        match self {
            Gelu::Erf => kernels::gelu_erf_back(x, g),
            Gelu::Tanh => kernels::gelu_tanh_back(x, g),
        }
    }
}

/// The GELU as one op (the backward recomputes from the input).
#[derive(Debug, Clone, Copy)]
struct GeluOp(Gelu);

impl CustomOp1 for GeluOp {
    fn name(&self) -> &'static str {
        "bert-gelu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let mut y = slice(s, l, "gelu input")?.to_vec();
        let ch = row_chunk(y.len() / 64) * 64;
        y.par_chunks_mut(ch).for_each(|c| self.0.forward(c));
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let mut dx = with_values(grad, |g| Ok(g.to_vec()))?;
        with_values(x, |xv| {
            let ch = row_chunk(dx.len() / 64) * 64;
            dx.par_chunks_mut(ch)
                .zip(xv.par_chunks(ch))
                .for_each(|(d, x)| self.0.backward(x, d));
            Ok(())
        })?;
        Ok(Some(Tensor::from_vec(dx, x.shape(), x.device())?))
    }
}

/// Attention of every (sequence, head) of a packed batch as one op: `qkv` (`N × 3H`) →
/// context (`N × H`). Keeps the probabilities for the backward.
#[derive(Debug, Clone)]
struct PackedAttention {
    spans: Vec<(usize, usize)>,
    heads: usize,
    /// Dropout factors of the probabilities (jobs' blocks end to end), when training.
    mask: Option<Arc<Vec<f32>>>,
    /// One job per (sequence, head): `(offset, length, head, offset of its probabilities)`.
    jobs: Vec<(usize, usize, usize, usize)>,
    probs: Arc<Mutex<Vec<f32>>>,
}

impl PackedAttention {
    fn new(packed: &PackedSeqs, heads: usize, mask: Option<Vec<f32>>) -> Self {
        let mut jobs = Vec::with_capacity(packed.spans.len() * heads);
        let mut at = 0;
        for &(off, len) in &packed.spans {
            for head in 0..heads {
                jobs.push((off, len, head, at));
                at += len * len;
            }
        }
        PackedAttention {
            spans: packed.spans.clone(),
            heads,
            mask: mask.map(Arc::new),
            jobs,
            probs: Arc::default(),
        }
    }

    fn n_probs(&self) -> usize {
        self.jobs.last().map_or(0, |&(_, l, _, at)| at + l * l)
    }
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only for the disjoint writes documented where it is dereferenced.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// # Safety
    /// `[at, at + len)` must be inside the buffer and written by this job only.
    unsafe fn slice<'a>(self, at: usize, len: usize) -> &'a mut [f32] {
        unsafe { std::slice::from_raw_parts_mut(self.0.add(at), len) }
    }
}

impl CustomOp1 for PackedAttention {
    fn name(&self) -> &'static str {
        "bert-packed-attention"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, h3) = l.shape().dims2()?;
        let qkv = slice(s, l, "qkv")?;
        let h = h3 / 3;
        let dh = h / self.heads;
        let scale = 1.0 / (dh as f32).sqrt();
        if self.spans.last().map_or(0, |&(o, l)| o + l) != n {
            candle_core::bail!("packed attention: {n} rows for the batch's spans");
        }
        let mut probs = vec![0.0f32; self.n_probs()];
        let mut out = vec![0.0f32; n * h];
        let (pp, op) = (SendPtr(probs.as_mut_ptr()), SendPtr(out.as_mut_ptr()));
        self.jobs.par_iter().for_each_init(
            Vec::new,
            |tmp: &mut Vec<f32>, &(off, len, head, at)| {
                let (pp, op) = (pp, op);
                // SAFETY: each job owns its block of `probs`; its block of `out` (rows
                // off..off+len, columns head·dh..) is written through gemm's strides below.
                let p = unsafe { pp.slice(at, len * len) };
                let q = &qkv[off * h3 + head * dh..];
                let k = &qkv[off * h3 + h + head * dh..];
                let v = &qkv[off * h3 + 2 * h + head * dh..];
                gemm_into(p, len, len, dh, false, q, (h3, 1), k, (1, h3));
                kernels::softmax_rows(p, len, scale);
                let pv: &[f32] = match &self.mask {
                    Some(m) => {
                        tmp.clear();
                        tmp.extend(p.iter().zip(&m[at..at + len * len]).map(|(a, b)| a * b));
                        tmp
                    }
                    None => p,
                };
                // SAFETY: rows off..off+len, columns head·dh..head·dh+dh of `out`, disjoint
                // from every other job's; gemm writes only there (row stride h).
                unsafe {
                    gemm_strided_1(
                        op.0.add(off * h + head * dh),
                        h,
                        len,
                        dh,
                        len,
                        pv,
                        (len, 1),
                        v,
                        (h3, 1),
                    );
                }
            },
        );
        *lock(&self.probs)? = probs;
        Ok((CpuStorage::F32(out), Shape::from((n, h))))
    }

    fn bwd(
        &self,
        qkv: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (n, h3) = qkv.dims2()?;
        let h = h3 / 3;
        let dh = h / self.heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let probs = lock(&self.probs)?;
        let mut dqkv = vec![0.0f32; n * h3];
        let dp_ptr = SendPtr(dqkv.as_mut_ptr());
        with_values(qkv, |x| {
            with_values(grad, |dout| {
                self.jobs.par_iter().for_each_init(
                    || (Vec::new(), Vec::new()),
                    |(dp, pd): &mut (Vec<f32>, Vec<f32>), &(off, len, head, at)| {
                        let dq_ptr = dp_ptr;
                        let p = &probs[at..at + len * len];
                        let q = &x[off * h3 + head * dh..];
                        let k = &x[off * h3 + h + head * dh..];
                        let v = &x[off * h3 + 2 * h + head * dh..];
                        let d_o = &dout[off * h + head * dh..];
                        let mask = self.mask.as_ref().map(|m| &m[at..at + len * len]);
                        // The probabilities the forward multiplied V by.
                        let pv: &[f32] = match mask {
                            Some(m) => {
                                pd.clear();
                                pd.extend(p.iter().zip(m).map(|(a, b)| a * b));
                                pd
                            }
                            None => p,
                        };
                        // SAFETY: the dQ, dK and dV blocks of this (sequence, head) — rows
                        // off..off+len, columns head·dh.. of each third of `dqkv` — belong
                        // to this job only.
                        unsafe {
                            let base = dq_ptr.0.add(off * h3 + head * dh);
                            // dV = P'ᵀ · dO
                            gemm_strided_1(
                                base.add(2 * h),
                                h3,
                                len,
                                dh,
                                len,
                                pv,
                                (1, len),
                                d_o,
                                (h, 1),
                            );
                        }
                        // dP' = dO · Vᵀ, then through the dropout mask and the softmax:
                        // dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale.
                        dp.resize(len * len, 0.0);
                        gemm_into(dp, len, len, dh, false, d_o, (h, 1), v, (1, h3));
                        if let Some(m) = mask {
                            dp.iter_mut().zip(m).for_each(|(a, b)| *a *= b);
                        }
                        kernels::softmax_rows_back(dp, p, len, scale);
                        unsafe {
                            let base = dq_ptr.0.add(off * h3 + head * dh);
                            // dQ = dS · K, dK = dSᵀ · Q
                            gemm_strided_1(base, h3, len, dh, len, dp, (len, 1), k, (h3, 1));
                            gemm_strided_1(base.add(h), h3, len, dh, len, dp, (1, len), q, (h3, 1));
                        }
                    },
                );
                Ok(())
            })
        })?;
        Ok(Some(Tensor::from_vec(dqkv, (n, h3), qkv.device())?))
    }
}

/// [`gemm_strided`] overwriting `dst`, single-threaded: the attention runs one per rayon job.
///
/// # Safety
/// As [`gemm_strided`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_strided_1(
    dst: *mut f32,
    dst_rs: usize,
    m: usize,
    n: usize,
    k: usize,
    lhs: &[f32],
    l: (usize, usize),
    rhs: &[f32],
    r: (usize, usize),
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm_strided(
            dst,
            dst_rs,
            m,
            n,
            k,
            false,
            lhs,
            l,
            rhs,
            r,
            gemm::Parallelism::None,
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use candle_core::Device;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Every architecture the encoders read.
    pub(crate) const MODEL_TYPES: [&str; 5] =
        ["bert", "distilbert", "roberta", "electra", "albert"];

    /// A small random model of `model_type` (hidden 32, 4 heads; ELECTRA and ALBERT with
    /// 16-wide embeddings, ALBERT with 3 layers sharing one set of weights and the tanh GELU),
    /// its tensors named as transformers names them.
    pub(crate) fn tiny_of(model_type: &str, dropout: f32) -> (BertConfig, HashMap<String, Tensor>) {
        let albert = model_type == "albert";
        let c = BertConfig {
            model_type: model_type.into(),
            vocab_size: 50,
            hidden_size: 32,
            embedding_size: matches!(model_type, "albert" | "electra").then_some(16),
            num_hidden_layers: if albert { 3 } else { 2 },
            num_attention_heads: 4,
            intermediate_size: 64,
            hidden_act: if albert { "gelu_new" } else { "gelu" }.into(),
            max_position_embeddings: 40,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: Some(1),
            num_hidden_groups: 1,
            inner_group_num: 1,
            hidden_dropout_prob: dropout,
            attention_probs_dropout_prob: dropout,
        }
        .validated()
        .expect("tiny config");
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut m = HashMap::new();
        let mut put = |name: String, shape: &[usize], scale: f32, offset: f32| {
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n)
                .map(|_| offset + scale * (rng.random::<f32>() * 2.0 - 1.0))
                .collect();
            m.insert(name, Tensor::from_vec(v, shape, &Device::Cpu).unwrap());
        };
        let (h, i, e) = (32, 64, c.embedding_dim());
        let arch = c.arch();
        let mut seen = std::collections::HashSet::new();
        for slot in arch.slots(&c) {
            let name = arch.name(slot, &c);
            if !seen.insert(name.clone()) {
                continue;
            }
            let (w, b) = (format!("{name}.weight"), format!("{name}.bias"));
            match slot {
                Slot::Word => put(w, &[50, e], 0.5, 0.0),
                Slot::Position => put(w, &[40, e], 0.5, 0.0),
                Slot::TokenType => put(w, &[2, e], 0.5, 0.0),
                Slot::EmbNorm | Slot::AttnNorm(_) | Slot::OutNorm(_) => {
                    let width = if slot == Slot::EmbNorm { e } else { h };
                    put(w, &[width], 0.2, 1.0);
                    put(b, &[width], 0.1, 0.0);
                }
                _ => {
                    let (o, inp) = match slot {
                        Slot::Project => (h, e),
                        Slot::Inter(_) => (i, h),
                        Slot::Out(_) => (h, i),
                        _ => (h, h),
                    };
                    put(w, &[o, inp], 0.3, 0.0);
                    put(b, &[o], 0.1, 0.0);
                }
            }
        }
        (c, m)
    }

    fn seqs() -> Vec<Vec<u32>> {
        vec![
            (0..23).map(|i| (i * 7 + 1) % 50).collect(),
            vec![2, 9, 4],
            (0..11).map(|i| (i * 3 + 5) % 50).collect(),
            vec![7],
        ]
    }

    fn build(ops: BertOps, dropout: f32) -> (TrainableBert, Params) {
        build_of("bert", ops, dropout)
    }

    fn build_of(model_type: &str, ops: BertOps, dropout: f32) -> (TrainableBert, Params) {
        let (c, m) = tiny_of(model_type, dropout);
        let mut p = Params::new(Device::Cpu);
        let prefix = c.arch().prefix();
        let mut b = TrainableBert::new(c, &m, std::path::Path::new("tiny"), &mut p, prefix)
            .expect("tiny model");
        b.set_ops(ops);
        (b, p)
    }

    /// A loss that weighs every output differently, so every gradient path matters.
    fn loss_of(x: &Tensor) -> Tensor {
        let n = x.elem_count();
        let w: Vec<f32> = (0..n).map(|i| ((i % 13) as f32 - 6.0) * 0.1).collect();
        let w = Tensor::from_vec(w, x.shape(), x.device()).unwrap();
        x.mul(&w).unwrap().sum_all().unwrap()
    }

    fn grads(ops: BertOps, dropout: f32) -> (Vec<f32>, Vec<(String, Vec<f32>)>) {
        grads_of(build(ops, dropout))
    }

    fn grads_arch(
        model_type: &str,
        ops: BertOps,
        dropout: f32,
    ) -> (Vec<f32>, Vec<(String, Vec<f32>)>) {
        grads_of(build_of(model_type, ops, dropout))
    }

    fn grads_of((b, p): (TrainableBert, Params)) -> (Vec<f32>, Vec<(String, Vec<f32>)>) {
        let s = seqs();
        let refs: Vec<&[u32]> = s.iter().map(|v| v.as_slice()).collect();
        let mut ctx = Ctx::train(ChaCha8Rng::seed_from_u64(1)).with_grad_sink();
        let x = b.forward(&refs, &mut ctx).unwrap();
        let mut g = loss_of(&x).backward().unwrap();
        ctx.merge_grads(&mut g).unwrap();
        let out = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let gs = p
            .iter()
            .map(|(n, v)| {
                let gv = g
                    .get(v.as_tensor())
                    .map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
                    .unwrap_or_default();
                (n.to_string(), gv)
            })
            .collect();
        (out, gs)
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn fused_ops_match_the_reference_ops_in_values_and_gradients() {
        for model_type in MODEL_TYPES {
            let (yf, gf) = grads_arch(model_type, BertOps::Fused, 0.0);
            let (yr, gr) = grads_arch(model_type, BertOps::Reference, 0.0);
            assert!(
                max_diff(&yf, &yr) < 1e-4,
                "{model_type}: outputs differ by {}",
                max_diff(&yf, &yr)
            );
            for ((n, a), (_, b)) in gf.iter().zip(&gr) {
                assert_eq!(
                    a.len(),
                    b.len(),
                    "{model_type} {n}: one side has no gradient"
                );
                let scale = b.iter().map(|v| v.abs()).fold(1e-3, f32::max);
                let d = max_diff(a, b);
                assert!(
                    d / scale < 2e-3,
                    "{model_type} {n}: gradients differ by {d} (scale {scale})"
                );
            }
        }
    }

    #[test]
    fn every_encoder_parameter_gets_a_gradient_and_candle_layer_norm_would_not() {
        for model_type in MODEL_TYPES {
            let (c, m) = tiny_of(model_type, 0.0);
            for ops in [BertOps::Fused, BertOps::Reference] {
                for dropout in [0.0, 0.1] {
                    let (_, g) = grads_arch(model_type, ops, dropout);
                    assert_eq!(g.len(), m.len(), "{model_type}: {c:?}");
                    for (n, v) in &g {
                        assert!(
                            v.iter().any(|&x| x != 0.0),
                            "{model_type} {ops:?}, dropout {dropout}: `{n}` got no gradient"
                        );
                    }
                }
            }
        }
        // What candle_transformers' BertModel does: the fused layer norm cuts the graph, and
        // the check above catches it.
        let (_, g) = grads(BertOps::CandleLayerNorm, 0.0);
        let none: Vec<&str> = g
            .iter()
            .filter(|(_, v)| v.iter().all(|&x| x == 0.0))
            .map(|(n, _)| n.as_str())
            .collect();
        assert!(
            none.len() > 30,
            "candle-nn's layer norm should cut the gradients, {} tensors without: {none:?}",
            none.len()
        );
    }

    #[test]
    fn albert_layers_share_their_tensors_and_sum_their_gradients() {
        // The shared layer's gradient is the sum over the layers that use it: with the
        // reference ops (candle's own autograd) and with the fused ops (the sink adds).
        let (_, gf) = grads_arch("albert", BertOps::Fused, 0.0);
        let (_, gr) = grads_arch("albert", BertOps::Reference, 0.0);
        let layer: Vec<&String> = gf
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.contains("albert_layer_groups"))
            .collect();
        assert_eq!(layer.len(), 16, "one set of layer tensors: {layer:?}");
        let (b, _) = build_of("albert", BertOps::Fused, 0.0);
        let n = "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight";
        assert_eq!(b.depth(n), Some(3), "shared: the deepest use");
        assert_eq!(b.depth("albert.embeddings.LayerNorm.bias"), Some(0));
        let f = &gf.iter().find(|(k, _)| k == n).unwrap().1;
        let r = &gr.iter().find(|(k, _)| k == n).unwrap().1;
        assert!(max_diff(f, r) < 1e-3 * r.iter().map(|v| v.abs()).fold(1e-3, f32::max));
    }

    #[test]
    fn frozen_embeddings_get_no_gradient_and_every_layer_still_does() {
        for model_type in MODEL_TYPES {
            for ops in [BertOps::Fused, BertOps::Reference] {
                let (mut b, p) = build_of(model_type, ops, 0.1);
                b.set_frozen_embeddings(true);
                let (_, g) = grads_of((b, p));
                for (n, v) in &g {
                    let frozen = n.contains(".embeddings.");
                    assert_eq!(
                        v.iter().any(|&x| x != 0.0),
                        !frozen,
                        "{model_type} {ops:?}: `{n}` (frozen: {frozen})"
                    );
                }
            }
        }
    }

    #[test]
    fn inference_encoder_gives_the_trainable_forward_without_dropout() {
        for model_type in MODEL_TYPES {
            let (c, m) = tiny_of(model_type, 0.1);
            let (b, _) = build_of(model_type, BertOps::Fused, 0.1);
            let fast = crate::nn::BertEncoder::from_tensors(m, c, std::path::Path::new("tiny"))
                .expect("inference encoder");
            let s = seqs();
            let refs: Vec<&[u32]> = s.iter().map(|v| v.as_slice()).collect();
            let y = b
                .forward(&refs, &mut Ctx::eval())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let z = fast.forward_packed(&refs).unwrap();
            assert!(
                max_diff(&y, &z) < 1e-4,
                "{model_type}: differ by {}",
                max_diff(&y, &z)
            );
        }
    }

    #[test]
    fn dropout_changes_training_outputs_and_repeats_with_the_seed() {
        let (b, _) = build(BertOps::Fused, 0.1);
        let s = seqs();
        let refs: Vec<&[u32]> = s.iter().map(|v| v.as_slice()).collect();
        let run = |seed| {
            b.forward(&refs, &mut Ctx::train(ChaCha8Rng::seed_from_u64(seed)))
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        let eval = b
            .forward(&refs, &mut Ctx::eval())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(run(5), run(5));
        assert!(max_diff(&run(5), &run(6)) > 1e-3);
        assert!(max_diff(&run(5), &eval) > 1e-3);
    }

    #[test]
    fn depth_orders_embeddings_layers_and_head() {
        let (b, _) = build(BertOps::Fused, 0.0);
        assert_eq!(b.depth("bert.embeddings.word_embeddings.weight"), Some(0));
        assert_eq!(b.depth("bert.encoder.layer.1.output.dense.weight"), Some(2));
        assert_eq!(b.depth("classifier.weight"), None);
        let (d, _) = build_of("distilbert", BertOps::Fused, 0.0);
        assert_eq!(
            d.depth("distilbert.transformer.layer.0.ffn.lin1.bias"),
            Some(1)
        );
    }
}
