//! Fine-tuning a BERT-family encoder (BERT / MiniLM, DistilBERT, RoBERTa, ELECTRA, ALBERT:
//! [`crate::nn::arch`]) with a classification head (`minilm-finetune`; any of them with
//! `--set model_dir=DIR`): the encoder of [`crate::nn::TrainableBert`], pooling (mean over the tokens or `[CLS]`), dropout
//! and a linear layer, trained end to end on the shared loop ([`crate::train::fit`]) with
//! AdamW, warm-up and linear decay, optional layer-wise learning-rate decay, gradient
//! accumulation and early stopping on validation macro-F1.
//!
//! Training batches are grouped by length (shuffled windows of 50 batches, each sorted, the
//! batches shuffled again), as `transformers`' `group_by_length` does: a packed batch costs
//! its tokens plus its squared lengths, so similar lengths keep the attention blocks even.
//! Inference (validation, prediction) runs the fast packed encoder of [`crate::nn::bert`] on
//! the current weights — the same outputs to ~1e-5.
//!
//! Saved in the Hugging Face layout: `config.json` (the base model's, with `id2label` /
//! `label2id`), `model.safetensors` (encoder tensors under the architecture's prefix —
//! `bert.…`, `distilbert.…`, `roberta.…`, `electra.…`, `albert.…` — and `classifier.weight` /
//! `classifier.bias`), `tokenizer.json` (by the representation) and `finetune_head.json`
//! (pooling). `transformers.AutoModel.from_pretrained(dir)` reads the encoder.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::Labels;
use crate::error::{Error, Result};
use crate::features::Dense;
use crate::nn::bert::{load_dir_weights, BertConfig, BertEncoder};
use crate::nn::kernels;
use crate::nn::{BertOps, PackedSeqs, TrainableBert};
use crate::train::config::{bad_value, parse_value};
use crate::train::{
    fit, ClassWeight, Ctx, FitOptions, Labelled, Network, ParamGroup, Params, TrainConfig,
    TrainOutcome,
};

/// How the head reads the encoder's last hidden states.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinetunePooling {
    /// Mean over the sequence's tokens (as sentence-transformers pools MiniLM).
    #[default]
    Mean,
    /// The `[CLS]` token's state.
    Cls,
}

/// Options of the head and the fine-tuning; the model directory, text view and max length
/// come from the pipeline's representation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FinetuneConfig {
    /// Pooling of the last hidden states.
    pub pooling: FinetunePooling,
    /// Dropout on the pooled vector before the linear layer.
    pub head_dropout: f32,
    /// Layer-wise learning-rate decay: layer `l` of `L` trains at `lr · decay^(L − l)`, the
    /// embeddings at `lr · decay^L`, the head at `lr` (1.0: one rate for all).
    pub layer_decay: f64,
    /// Keep the embeddings block as loaded.
    pub freeze_embeddings: bool,
    /// The training loop.
    pub train: TrainConfig,
}

impl Default for FinetuneConfig {
    /// Mean pooling, head dropout 0.1, AdamW at 1e-4 (weight decay 0.01, none on biases and
    /// layer norms), 10 % warm-up then linear decay, batch 16, at most 6 epochs (patience 2),
    /// balanced class weights. (The usual 5e-5 for 3 epochs barely moves MiniLM on 1,898 rows:
    /// one such epoch ended at validation macro-F1 0.066.)
    fn default() -> Self {
        FinetuneConfig {
            pooling: FinetunePooling::Mean,
            head_dropout: 0.1,
            layer_decay: 1.0,
            freeze_embeddings: false,
            train: TrainConfig {
                epochs: 6,
                batch_size: 16,
                lr: 1e-4,
                warmup: 0.1,
                weight_decay: 0.01,
                patience: 2,
                class_weight: ClassWeight::Balanced,
                eval_batch_size: 64,
                ..TrainConfig::default()
            },
        }
    }
}

/// Keys [`FinetuneConfig::set`] takes besides the training keys.
pub const FINETUNE_KEYS: &[&str] = &[
    "pooling (mean|cls)",
    "head_dropout (float in [0, 1))",
    "layer_decay (float in (0, 1]: layer-wise learning-rate decay)",
    "freeze_embeddings (true|false)",
];

impl FinetuneConfig {
    /// Sets the pooling.
    pub fn pooling(mut self, pooling: FinetunePooling) -> Self {
        self.pooling = pooling;
        self
    }
    /// Sets the layer-wise learning-rate decay.
    pub fn layer_decay(mut self, decay: f64) -> Self {
        self.layer_decay = decay;
        self
    }
    /// Freezes (or not) the embeddings.
    pub fn freeze_embeddings(mut self, on: bool) -> Self {
        self.freeze_embeddings = on;
        self
    }
    /// Sets the training options.
    pub fn train(mut self, train: TrainConfig) -> Self {
        self.train = train;
        self
    }

    /// Applies `key=value` (fine-tuning or training key); `Ok(false)` when it is neither. A
    /// refused value leaves the options unchanged.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        let mut next = self.clone();
        let v = value.trim();
        let known = match key.trim() {
            "pooling" => {
                next.pooling = match v {
                    "mean" => FinetunePooling::Mean,
                    "cls" => FinetunePooling::Cls,
                    _ => return Err(bad_value(key, v, "mean|cls")),
                };
                true
            }
            "head_dropout" => {
                next.head_dropout = parse_value(key, v)?;
                true
            }
            "layer_decay" => {
                next.layer_decay = parse_value(key, v)?;
                true
            }
            "freeze_embeddings" => {
                next.freeze_embeddings = parse_value(key, v)?;
                true
            }
            _ => next.train.set(key, value)?,
        };
        if known {
            next.validate()?;
            *self = next;
        }
        Ok(known)
    }

    /// Checks the options; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.head_dropout) {
            return Err(Error::Config(format!(
                "finetune `head_dropout` must be in [0, 1), got {}",
                self.head_dropout
            )));
        }
        if !(self.layer_decay > 0.0 && self.layer_decay <= 1.0) {
            return Err(Error::Config(format!(
                "finetune `layer_decay` must be in (0, 1], got {}",
                self.layer_decay
            )));
        }
        self.train.validate()
    }

    /// Loads the encoder of `model_dir`, adds a head for `labels` and trains it on the
    /// word-piece ids of `train`, validating on `val`.
    pub fn fit(
        &self,
        model_dir: &Path,
        labels: &Labels,
        train: (&[Vec<u32>], &[usize]),
        val: (&[Vec<u32>], &[usize]),
        opts: FitOptions,
    ) -> Result<(FinetuneModel, TrainOutcome)> {
        self.validate()?;
        let device = crate::train::default_device()?;
        let model = FinetuneModel::from_pretrained(model_dir, labels, self, &device)?;
        // Validation in length order: the packed encoder does not care, but the batches are
        // then even in cost.
        let mut order: Vec<usize> = (0..val.0.len()).collect();
        order.sort_by_key(|&i| val.0[i].len());
        let xva: Vec<Vec<u32>> = order.iter().map(|&i| val.0[i].clone()).collect();
        let yva: Vec<usize> = order.iter().map(|&i| val.1[i]).collect();
        let outcome = fit(
            &model,
            &self.train,
            labels,
            Labelled {
                input: train.0,
                labels: train.1,
            },
            Labelled {
                input: &xva[..],
                labels: &yva,
            },
            opts,
        )?;
        Ok((model, outcome))
    }
}

/// What `finetune_head.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinetuneHead {
    /// Pooling of the last hidden states.
    pub pooling: FinetunePooling,
    /// Dropout on the pooled vector (training only).
    pub head_dropout: f32,
    /// Output classes.
    pub n_classes: usize,
}

/// File of the head's metadata in a saved model.
pub const HEAD_FILE: &str = "finetune_head.json";
/// Weights file (Hugging Face layout).
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Config file (Hugging Face layout).
pub const CONFIG_FILE: &str = "config.json";

/// A BERT-family encoder with a classification head.
pub struct FinetuneModel {
    config_json: serde_json::Value,
    bert: BertConfig,
    params: Params,
    encoder: TrainableBert,
    head_w: Tensor,
    head_b: Tensor,
    head: FinetuneHead,
    layer_decay: f64,
    label_names: Vec<String>,
}

impl std::fmt::Debug for FinetuneModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinetuneModel")
            .field("bert", &self.bert)
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

fn read_config(dir: &Path) -> Result<(BertConfig, serde_json::Value)> {
    let path = dir.join(CONFIG_FILE);
    let bert = BertConfig::from_file(&path)?;
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let json = serde_json::from_str(&text).map_err(|e| Error::Format {
        path,
        message: format!("cannot read it: {e}"),
    })?;
    Ok((bert, json))
}

impl FinetuneModel {
    /// The encoder of a Hugging Face model directory (`config.json`, `model.safetensors`)
    /// with a new head for `labels` (weights drawn from N(0, 0.02²) with the training seed,
    /// biases 0, as `transformers` initialises one).
    pub fn from_pretrained(
        dir: &Path,
        labels: &Labels,
        cfg: &FinetuneConfig,
        device: &Device,
    ) -> Result<Self> {
        let (bert, config_json) = read_config(dir)?;
        let (weights, wpath) = load_dir_weights(dir)?;
        let k = labels.len();
        let h = bert.hidden_size;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.train.seed);
        let w: Vec<f32> = (0..k * h).map(|_| 0.02 * normal(&mut rng)).collect();
        let mut map = weights;
        map.insert(
            "classifier.weight".into(),
            Tensor::from_vec(w, (k, h), &Device::Cpu)?,
        );
        map.insert(
            "classifier.bias".into(),
            Tensor::zeros(k, candle_core::DType::F32, &Device::Cpu)?,
        );
        let head = FinetuneHead {
            pooling: cfg.pooling,
            head_dropout: cfg.head_dropout,
            n_classes: k,
        };
        let mut m = Self::build(bert, config_json, &map, &wpath, head, device)?;
        m.label_names = labels.names().to_vec();
        m.encoder.set_frozen_embeddings(cfg.freeze_embeddings);
        m.layer_decay = cfg.layer_decay;
        Ok(m)
    }

    fn build(
        bert: BertConfig,
        config_json: serde_json::Value,
        map: &HashMap<String, Tensor>,
        origin: &Path,
        head: FinetuneHead,
        device: &Device,
    ) -> Result<Self> {
        let mut params = Params::new(device.clone());
        let prefix = bert.arch().prefix();
        let encoder = TrainableBert::new(bert.clone(), map, origin, &mut params, prefix)?;
        let h = bert.hidden_size;
        let k = head.n_classes;
        let get = |name: &str, shape: &[usize]| -> Result<Tensor> {
            let t = map.get(name).ok_or_else(|| Error::Format {
                path: origin.to_path_buf(),
                message: format!("tensor `{name}` is missing"),
            })?;
            if t.dims() != shape {
                return Err(Error::Format {
                    path: origin.to_path_buf(),
                    message: format!(
                        "tensor `{name}` has shape {:?}, the head needs {shape:?}",
                        t.dims()
                    ),
                });
            }
            Ok(t.clone())
        };
        let head_w = params.add("classifier.weight", get("classifier.weight", &[k, h])?)?;
        let head_b = params.add("classifier.bias", get("classifier.bias", &[k])?)?;
        Ok(FinetuneModel {
            config_json,
            bert,
            params,
            encoder,
            head_w,
            head_b,
            head,
            layer_decay: 1.0,
            label_names: Vec::new(),
        })
    }

    /// Reads a model saved by [`FinetuneModel::save`].
    pub fn load(dir: &Path) -> Result<Self> {
        let (bert, config_json) = read_config(dir)?;
        let hpath = dir.join(HEAD_FILE);
        let text = std::fs::read_to_string(&hpath).map_err(|e| Error::io(&hpath, e))?;
        let head: FinetuneHead = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: hpath,
            message: format!("cannot read it: {e}"),
        })?;
        let (map, wpath) = load_dir_weights(dir)?;
        let mut m = Self::build(
            bert,
            config_json,
            &map,
            &wpath,
            head,
            &crate::train::default_device()?,
        )?;
        m.label_names = m
            .config_json
            .get("id2label")
            .and_then(|v| v.as_object())
            .map(|o| {
                let mut v: Vec<(usize, String)> = o
                    .iter()
                    .filter_map(|(k, n)| Some((k.parse().ok()?, n.as_str()?.to_string())))
                    .collect();
                v.sort();
                v.into_iter().map(|(_, n)| n).collect()
            })
            .unwrap_or_default();
        Ok(m)
    }

    /// Writes `config.json` (with the labels), `model.safetensors` and the head's metadata.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut cfg = self.config_json.clone();
        if let Some(o) = cfg.as_object_mut() {
            let id2label: serde_json::Map<String, serde_json::Value> = self
                .label_names
                .iter()
                .enumerate()
                .map(|(i, n)| (i.to_string(), serde_json::Value::from(n.clone())))
                .collect();
            let label2id: serde_json::Map<String, serde_json::Value> = self
                .label_names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), serde_json::Value::from(i)))
                .collect();
            o.insert("id2label".into(), id2label.into());
            o.insert("label2id".into(), label2id.into());
            o.insert(
                "architectures".into(),
                serde_json::json!([self.bert.arch().base_class()]),
            );
        }
        let write = |name: &str, text: String| -> Result<()> {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
        };
        write(CONFIG_FILE, serde_json::to_string_pretty(&cfg)?)?;
        write(HEAD_FILE, serde_json::to_string_pretty(&self.head)?)?;
        self.params.save(&dir.join(WEIGHTS_FILE))
    }

    /// The trainable tensors (`bert.…` or the architecture's prefix, `classifier.…`).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The encoder's config.
    pub fn bert_config(&self) -> &BertConfig {
        &self.bert
    }

    /// The head's metadata.
    pub fn head(&self) -> &FinetuneHead {
        &self.head
    }

    /// Sets the layer-wise learning-rate decay [`Network::param_group`] applies (fitting sets
    /// it from [`FinetuneConfig::layer_decay`]).
    pub fn set_layer_decay(&mut self, decay: f64) {
        self.layer_decay = decay;
    }

    /// Chooses the encoder's ops (tests compare the fused ops with the reference ones).
    pub fn set_ops(&mut self, ops: BertOps) {
        self.encoder.set_ops(ops);
    }

    /// The fast inference encoder on the current weights (CPU).
    fn inference_encoder(&self) -> Result<BertEncoder> {
        let map: HashMap<String, Tensor> = self
            .params
            .iter()
            .filter(|(n, _)| n.starts_with(self.bert.arch().prefix()))
            .map(|(n, v)| Ok((n.to_string(), v.as_tensor().to_device(&Device::Cpu)?)))
            .collect::<Result<_>>()?;
        BertEncoder::from_tensors(map, self.bert.clone(), Path::new("(fine-tuned weights)"))
    }

    /// Logits of word-piece sequences, `n × n_classes`, in input order (the fast packed
    /// encoder on the CPU, the trainable one in inference mode elsewhere).
    pub fn scores(&self, seqs: &[Vec<u32>]) -> Result<Dense> {
        let k = self.head.n_classes;
        let mut out = Dense::zeros((seqs.len(), k));
        if seqs.is_empty() {
            return Ok(out);
        }
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].len());
        let sorted: Vec<Vec<u32>> = order.iter().map(|&i| seqs[i].clone()).collect();
        let rows: Vec<usize> = (0..sorted.len()).collect();
        let enc = self.fast_encoder()?;
        let mut ctx = Ctx::eval();
        for chunk in rows.chunks(64) {
            let l = self.logits_with(&sorted[..], chunk, &mut ctx, enc.as_ref())?;
            let v = l.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
            for (j, &r) in chunk.iter().enumerate() {
                out.row_mut(order[r])
                    .iter_mut()
                    .zip(&v[j * k..(j + 1) * k])
                    .for_each(|(o, &x)| *o = x);
            }
        }
        Ok(out)
    }

    /// Logits of `rows` of `input` through the trainable encoder (dropout when `ctx` trains),
    /// never the fast inference one.
    pub fn trainable_logits(
        &self,
        input: &[Vec<u32>],
        rows: &[usize],
        ctx: &mut Ctx,
    ) -> candle_core::Result<Tensor> {
        self.logits_with(input, rows, ctx, None)
    }

    fn fast_encoder(&self) -> Result<Option<BertEncoder>> {
        Ok(if self.params.device().is_cpu() {
            Some(self.inference_encoder()?)
        } else {
            None
        })
    }

    /// Pooled vectors of the packed states `x` (`N × H`): `B × H`.
    fn pool(&self, x: &Tensor, packed: &PackedSeqs) -> candle_core::Result<Tensor> {
        let dev = x.device();
        match self.head.pooling {
            FinetunePooling::Mean => {
                let b = packed.spans.len();
                let mut m = vec![0.0f32; b * packed.n];
                for (i, &(off, len)) in packed.spans.iter().enumerate() {
                    let w = 1.0 / len as f32;
                    m[i * packed.n + off..i * packed.n + off + len]
                        .iter_mut()
                        .for_each(|v| *v = w);
                }
                Tensor::from_vec(m, (b, packed.n), dev)?.matmul(x)
            }
            FinetunePooling::Cls => {
                let idx: Vec<u32> = packed.spans.iter().map(|&(o, _)| o as u32).collect();
                let n = idx.len();
                x.index_select(&Tensor::from_vec(idx, n, dev)?, 0)
            }
        }
    }

    fn logits_with(
        &self,
        input: &[Vec<u32>],
        rows: &[usize],
        ctx: &mut Ctx,
        fast: Option<&BertEncoder>,
    ) -> candle_core::Result<Tensor> {
        let seqs: Vec<&[u32]> = rows.iter().map(|&r| input[r].as_slice()).collect();
        let packed = PackedSeqs::new(&seqs);
        let pooled = match fast {
            Some(enc) if !ctx.is_train() => {
                let h = self.bert.hidden_size;
                let x = enc
                    .forward_packed(&seqs)
                    .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
                let mut p = vec![0.0f32; seqs.len() * h];
                for (i, &(off, len)) in packed.spans.iter().enumerate() {
                    let dst = &mut p[i * h..(i + 1) * h];
                    match self.head.pooling {
                        FinetunePooling::Mean => {
                            kernels::mean_rows(&x[off * h..(off + len) * h], dst, false)
                        }
                        FinetunePooling::Cls => dst.copy_from_slice(&x[off * h..(off + 1) * h]),
                    }
                }
                Tensor::from_vec(p, (seqs.len(), h), self.params.device())?
            }
            _ => {
                let x = self.encoder.forward(&seqs, ctx)?;
                self.pool(&x, &packed)?
            }
        };
        let pooled = ctx.dropout(&pooled, self.head.head_dropout)?;
        pooled
            .matmul(&self.head_w.t()?)?
            .broadcast_add(&self.head_b)
    }
}

/// One N(0, 1) draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

impl Network for FinetuneModel {
    type Input = [Vec<u32>];

    fn params(&self) -> &Params {
        &self.params
    }

    fn logits(
        &self,
        input: &[Vec<u32>],
        rows: &[usize],
        ctx: &mut Ctx,
    ) -> candle_core::Result<Tensor> {
        let fast = if ctx.is_train() {
            None
        } else {
            self.fast_encoder()
                .map_err(|e| candle_core::Error::Msg(e.to_string()))?
        };
        self.logits_with(input, rows, ctx, fast.as_ref())
    }

    fn param_group(&self, name: &str) -> ParamGroup {
        let decay =
            !(name.ends_with(".bias") || name.contains("LayerNorm") || name.contains("layer_norm"));
        let l = self.bert.num_hidden_layers;
        let lr_scale = match self.encoder.depth(name) {
            Some(d) => self.layer_decay.powi((l.saturating_sub(d.min(l))) as i32),
            None => 1.0,
        };
        ParamGroup { lr_scale, decay }
    }

    fn batches(
        &self,
        input: &[Vec<u32>],
        order: Vec<usize>,
        batch: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<Vec<usize>> {
        length_grouped(&order, |i| input[i].len(), batch, rng)
    }
}

/// Batches of rows of similar length: windows of 50 batches of the shuffled `order`, each
/// sorted longest first and cut into batches, then the batches shuffled.
pub fn length_grouped(
    order: &[usize],
    len: impl Fn(usize) -> usize,
    batch: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<usize>> {
    let batch = batch.max(1);
    let mut out = Vec::with_capacity(order.len().div_ceil(batch));
    for window in order.chunks(batch * 50) {
        let mut w = window.to_vec();
        w.sort_by_key(|&i| std::cmp::Reverse(len(i)));
        out.extend(w.chunks(batch).map(|c| c.to_vec()));
    }
    out.shuffle(rng);
    out
}

/// What [`FinetuneModel::latency`] measured: inference speed at one max length and batch size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyProbe {
    /// Sequences timed (the warm-up batch excluded).
    pub samples: usize,
    /// Word pieces per sequence at most.
    pub max_length: usize,
    /// Sequences per forward pass.
    pub batch_size: usize,
    /// Where it ran (`cpu` or `cuda`).
    pub device: String,
    /// Compute threads (the rayon pool on the CPU).
    pub threads: usize,
    /// Sequences per second.
    pub samples_per_second: f64,
    /// Milliseconds per sequence (batch wall time / batch size).
    pub ms_per_sample: f64,
}

impl std::fmt::Display for LatencyProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1} samples/s, {:.2} ms/sample ({} samples, max length {}, batch {}, {} with {} threads)",
            self.samples_per_second,
            self.ms_per_sample,
            self.samples,
            self.max_length,
            self.batch_size,
            self.device,
            self.threads
        )
    }
}

impl LatencyProbe {
    /// Logs the probe to a tracker: `latency.samples_per_second`, `latency.ms_per_sample`
    /// (metrics) and its settings (params `latency.max_length`, `latency.batch_size`,
    /// `latency.device`, `latency.threads`).
    pub fn log(&self, t: &mut dyn crate::track::Tracker) -> Result<()> {
        t.log_metric("latency.samples_per_second", self.samples_per_second, 0)?;
        t.log_metric("latency.ms_per_sample", self.ms_per_sample, 0)?;
        for (k, v) in [
            ("latency.max_length", self.max_length.to_string()),
            ("latency.batch_size", self.batch_size.to_string()),
            ("latency.device", self.device.clone()),
            ("latency.threads", self.threads.to_string()),
        ] {
            t.log_param(k, &v)?;
        }
        Ok(())
    }

    /// The record the latency chart ([`crate::plot::latency`]) draws.
    pub fn chart_record(&self, name: &str) -> crate::plot::ModelLatency {
        crate::plot::ModelLatency::new(name, self.ms_per_sample)
    }
}

impl FinetuneModel {
    /// Times inference on `seqs` (cut to `max_length` word pieces, the last one kept as the
    /// closing `[SEP]`) in batches of `batch_size` in the given order; the first batch warms up
    /// and is not counted. Needs more than one batch of sequences.
    pub fn latency(
        &self,
        seqs: &[Vec<u32>],
        max_length: usize,
        batch_size: usize,
    ) -> Result<LatencyProbe> {
        if max_length < 2 || batch_size == 0 || seqs.len() <= batch_size {
            return Err(Error::Config(format!(
                "latency probe: needs max_length >= 2, batch_size >= 1 and more than one batch \
                 of sequences; got {max_length}, {batch_size}, {} sequences",
                seqs.len()
            )));
        }
        let cut: Vec<Vec<u32>> = seqs
            .iter()
            .map(|s| {
                if s.len() <= max_length {
                    s.clone()
                } else {
                    let mut v = s[..max_length - 1].to_vec();
                    v.push(*s.last().unwrap_or(&0));
                    v
                }
            })
            .collect();
        let enc = self.fast_encoder()?;
        let mut ctx = Ctx::eval();
        let rows: Vec<usize> = (0..cut.len()).collect();
        let mut timed = 0usize;
        let mut seconds = 0.0f64;
        for (i, chunk) in rows.chunks(batch_size).enumerate() {
            let t0 = std::time::Instant::now();
            let l = self.logits_with(&cut, chunk, &mut ctx, enc.as_ref())?;
            // Wait for the device: read the logits back.
            let _ = l.to_device(&Device::Cpu)?;
            if i > 0 {
                seconds += t0.elapsed().as_secs_f64();
                timed += chunk.len();
            }
        }
        let dev = self.params.device();
        Ok(LatencyProbe {
            samples: timed,
            max_length,
            batch_size,
            device: if dev.is_cpu() { "cpu" } else { "cuda" }.into(),
            threads: if dev.is_cpu() {
                rayon::current_num_threads()
            } else {
                1
            },
            samples_per_second: timed as f64 / seconds.max(1e-12),
            ms_per_sample: seconds * 1e3 / timed.max(1) as f64,
        })
    }
}
