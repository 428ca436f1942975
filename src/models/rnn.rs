//! The GRU / LSTM model over token ids (`…-bigru`, `…-bilstm` pipelines): a vocabulary of the
//! training side's tokens, an embedding layer (random, or initialised from word vectors;
//! trainable or frozen), one recurrent layer ([`crate::nn::rnn`], one or two directions) over
//! the packed batch, pooling over time (last state / mean / max), dropout and a linear
//! output layer, trained by the shared loop.
//!
//! A batch is packed (rows longest first, only real tokens, as PyTorch's `PackedSequence`): the
//! embedding's input part of every gate is one matmul over the batch's tokens (`N × E` times
//! `E × D·G`) before the scan; only the recurrent part runs step by step.

use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::data::Labels;
use crate::error::{Error, Result};
use crate::features::svd::box_muller;
use crate::features::wordvec::WordVectors;
use crate::features::Dense;
use crate::nn::fused::{self, FusedAct};
use crate::nn::rnn::{self, Cell, Packed, Reduce};
use crate::train::config::{bad_value, parse_value};
use crate::train::{
    fit, predict_logits, Ctx, FitOptions, Labelled, Network, Params, TrainConfig, TrainOutcome,
};

/// Id of the padding token (never fed to the network: batches are packed; its row stays zero).
pub const PAD: u32 = 0;
/// Id of every token outside the vocabulary.
pub const UNK: u32 = 1;

/// The ChaCha stream [`TokenVocab::embedding_from`] draws from ([`crate::seed::EMBEDDING_INIT`]):
/// not the network weights' ([`crate::seed::RNN_INIT`]) nor the epochs' (the unknown token's
/// row and the first input weights once came from the same uniforms).
pub const EMBEDDING_INIT_STREAM: u64 = crate::seed::EMBEDDING_INIT;

/// The tokens the embedding layer knows: ids 0 (padding) and 1 (unknown), then the training
/// side's tokens, most frequent first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenVocab {
    words: Vec<String>,
    #[serde(skip)]
    index: FxHashMap<String, u32>,
}

impl TokenVocab {
    /// Tokens of `docs` seen at least `min_count` times, the `max_size` most frequent (ties by
    /// the token, so the vocabulary does not depend on hash order).
    pub fn fit(docs: &[Vec<String>], min_count: usize, max_size: usize) -> Self {
        let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
        for d in docs {
            for t in d {
                *counts.entry(t.as_str()).or_default() += 1;
            }
        }
        let mut kept: Vec<(&str, usize)> = counts
            .into_iter()
            .filter(|&(_, c)| c >= min_count.max(1))
            .collect();
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        kept.truncate(max_size);
        let mut words = vec!["<pad>".to_string(), "<unk>".to_string()];
        words.extend(kept.into_iter().map(|(w, _)| w.to_string()));
        let mut v = TokenVocab {
            words,
            index: FxHashMap::default(),
        };
        v.reindex();
        v
    }

    fn reindex(&mut self) {
        self.index = self
            .words
            .iter()
            .enumerate()
            .skip(2)
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
    }

    /// Ids including padding and unknown.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// `true` when only padding and unknown are there.
    pub fn is_empty(&self) -> bool {
        self.words.len() <= 2
    }

    /// The token of each id (`<pad>`, `<unk>`, then the vocabulary).
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The id of `token` ([`UNK`] when it is not in the vocabulary).
    pub fn id(&self, token: &str) -> u32 {
        self.index.get(token).copied().unwrap_or(UNK)
    }

    /// Ids of each document's first `max_len` tokens; an empty document becomes one [`UNK`].
    pub fn encode(&self, docs: &[Vec<String>], max_len: usize) -> Sequences {
        Sequences {
            ids: docs
                .iter()
                .map(|d| {
                    let mut ids: Vec<u32> =
                        d.iter().take(max_len.max(1)).map(|t| self.id(t)).collect();
                    if ids.is_empty() {
                        ids.push(UNK);
                    }
                    ids
                })
                .collect(),
        }
    }

    /// The embedding rows for this vocabulary from `vectors` (`len × dim`, row-major): a
    /// token's vector when `vectors` has one (FastText builds one for any token), else a
    /// draw from N(0, σ²) with σ the standard deviation of the vectors found (stream
    /// [`EMBEDDING_INIT_STREAM`] of `seed`); padding is zero. Returns the rows and how many
    /// tokens had a vector.
    pub fn embedding_from(&self, vectors: &WordVectors, seed: u64) -> (Vec<f32>, usize) {
        let dim = vectors.dim();
        let mut out = vec![0.0f32; self.len() * dim];
        let mut found = vec![false; self.len()];
        let (mut sum, mut sq, mut n) = (0.0f64, 0.0f64, 0usize);
        for (i, w) in self.words.iter().enumerate().skip(2) {
            if let Some(v) = vectors.vector(w) {
                out[i * dim..(i + 1) * dim].copy_from_slice(&v);
                found[i] = true;
                for &x in v.iter() {
                    sum += f64::from(x);
                    sq += f64::from(x) * f64::from(x);
                }
                n += dim;
            }
        }
        let sigma = if n > 1 {
            let mean = sum / n as f64;
            (sq / n as f64 - mean * mean).max(0.0).sqrt() as f32
        } else {
            1.0
        };
        let mut rng = crate::seed::rng(seed, EMBEDDING_INIT_STREAM);
        for (i, f) in found.iter().enumerate().skip(1) {
            if !f {
                for x in &mut out[i * dim..(i + 1) * dim] {
                    *x = box_muller(&mut rng).0 * sigma;
                }
            }
        }
        (out, found.iter().filter(|&&f| f).count())
    }
}

/// Token ids of each row (what an RNN reads).
#[derive(Debug, Clone, Default)]
pub struct Sequences {
    /// One list of ids per row, never empty.
    pub ids: Vec<Vec<u32>>,
}

impl Sequences {
    /// Rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// `true` without rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The rows reordered by `order` (row `i` of the result is row `order[i]`).
    pub fn permuted(&self, order: &[usize]) -> Sequences {
        Sequences {
            ids: order.iter().map(|&i| self.ids[i].clone()).collect(),
        }
    }

    /// Positions in `rows` (a batch of row indices), longest row first (stable): the order
    /// the network packs the batch in, as PyTorch's `PackedSequence` does.
    pub fn packed_order(&self, rows: &[usize]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.ids[rows[i]].len()));
        order
    }

    /// Row indices sorted by length (stable): batches of similar lengths pad little.
    pub fn by_length(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.ids.len()).collect();
        order.sort_by_key(|&i| self.ids[i].len());
        order
    }
}

/// How the states of all steps become one vector per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RnnPooling {
    /// The last token's state of the forward direction (and the first token's of the reverse).
    Last,
    /// The mean over the tokens.
    Mean,
    /// The element-wise maximum over the tokens.
    Max,
}

/// Keys [`RnnConfig::set`] accepts besides the training keys.
pub const RNN_KEYS: &[&str] = &[
    "cell (gru|lstm)",
    "bidirectional (true|false)",
    "hidden (state size per direction)",
    "pooling (last|mean|max)",
    "dropout (on the pooled vector, [0, 1))",
    "embedding_dropout ([0, 1))",
    "max_len (tokens read per document)",
    "min_count (training count for a token id of its own)",
    "max_vocab (most frequent tokens kept)",
    "freeze_embedding (true|false)",
    "embedding_dim (without word vectors)",
];

/// Options of the RNN model: cell, sizes, embedding, pooling and the shared training loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RnnConfig {
    /// GRU or LSTM.
    pub cell: Cell,
    /// Both directions (BiGRU / BiLSTM) or forward only.
    pub bidirectional: bool,
    /// State size per direction.
    pub hidden: usize,
    /// Pooling over time.
    pub pooling: RnnPooling,
    /// Dropout on the embedded tokens.
    pub embedding_dropout: f32,
    /// Dropout on the pooled vector.
    pub dropout: f32,
    /// Tokens read per document (the first ones).
    pub max_len: usize,
    /// Minimum count of a training token to get an id of its own.
    pub min_count: usize,
    /// At most this many tokens (the most frequent).
    pub max_vocab: usize,
    /// Keep the embedding as initialised (word vectors) instead of training it.
    pub freeze_embedding: bool,
    /// Embedding size when there are no word vectors to take it from.
    pub embedding_dim: usize,
    /// The training loop.
    pub train: TrainConfig,
}

impl RnnConfig {
    /// A bidirectional GRU (`…-bigru`): 128 units per direction, max pooling, AdamW at lr
    /// 5e-3 for at most 15 epochs (patience 4). The learning rate was picked on the internal
    /// validation part of train_data.txt (seed 42; the test file not looked at): validation
    /// macro-F1 at 5e-3 / 2e-3 was 0.100 / 0.057 for `random-bigru`, 0.165 / 0.136 for
    /// `w2v-bigru` and 0.143 / 0.159 for `glove-bilstm` (1e-2: 0.079 for `random-bigru`).
    pub fn bigru() -> Self {
        RnnConfig {
            cell: Cell::Gru,
            bidirectional: true,
            hidden: 128,
            pooling: RnnPooling::Max,
            embedding_dropout: 0.2,
            dropout: 0.3,
            max_len: 256,
            min_count: 1,
            max_vocab: 50_000,
            freeze_embedding: false,
            embedding_dim: 100,
            train: TrainConfig {
                epochs: 15,
                patience: 4,
                lr: 5e-3,
                ..TrainConfig::default()
            },
        }
    }

    /// A bidirectional LSTM (`…-bilstm`), otherwise as [`RnnConfig::bigru`].
    pub fn bilstm() -> Self {
        RnnConfig {
            cell: Cell::Lstm,
            ..Self::bigru()
        }
    }

    /// Sets the cell.
    pub fn cell(mut self, cell: Cell) -> Self {
        self.cell = cell;
        self
    }
    /// Sets the state size per direction.
    pub fn hidden(mut self, hidden: usize) -> Self {
        self.hidden = hidden;
        self
    }
    /// Sets the pooling.
    pub fn pooling(mut self, pooling: RnnPooling) -> Self {
        self.pooling = pooling;
        self
    }
    /// Freezes (or not) the embedding.
    pub fn freeze_embedding(mut self, freeze: bool) -> Self {
        self.freeze_embedding = freeze;
        self
    }
    /// Sets the training options.
    pub fn train(mut self, train: TrainConfig) -> Self {
        self.train = train;
        self
    }

    /// The name part: `bigru`, `bilstm`, `gru`, `lstm`.
    pub fn name(&self) -> &'static str {
        match (self.cell, self.bidirectional) {
            (Cell::Gru, true) => "bigru",
            (Cell::Lstm, true) => "bilstm",
            (Cell::Gru, false) => "gru",
            (Cell::Lstm, false) => "lstm",
        }
    }

    /// Applies `key=value` (RNN or training key); `Ok(false)` when it is neither. A value
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
            "rnn_hidden" | "hidden" => self.hidden = parse_value(key, v)?,
            "cell" => {
                self.cell = match v {
                    "gru" => Cell::Gru,
                    "lstm" => Cell::Lstm,
                    _ => return Err(bad_value(key, v, "gru|lstm")),
                }
            }
            "bidirectional" => self.bidirectional = parse_value(key, v)?,
            "rnn_pool" | "pooling" => {
                self.pooling = match v {
                    "last" => RnnPooling::Last,
                    "mean" => RnnPooling::Mean,
                    "max" => RnnPooling::Max,
                    _ => return Err(bad_value(key, v, "last|mean|max")),
                }
            }
            "embedding_dropout" => self.embedding_dropout = parse_value(key, v)?,
            "dropout" => self.dropout = parse_value(key, v)?,
            "max_len" => self.max_len = parse_value(key, v)?,
            "min_count" => self.min_count = parse_value(key, v)?,
            "max_vocab" => self.max_vocab = parse_value(key, v)?,
            "freeze_embedding" | "freeze" => self.freeze_embedding = parse_value(key, v)?,
            "embedding_dim" => self.embedding_dim = parse_value(key, v)?,
            _ => return self.train.set(key, value),
        }
        Ok(true)
    }

    /// Checks the options.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, msg: &str| Err(Error::Config(format!("rnn `{field}`: {msg}")));
        if self.hidden == 0 {
            return bad("hidden", "must be >= 1");
        }
        if self.max_len == 0 {
            return bad("max_len", "must be >= 1");
        }
        if self.max_vocab == 0 {
            return bad("max_vocab", "must be >= 1");
        }
        if self.embedding_dim == 0 {
            return bad("embedding_dim", "must be >= 1");
        }
        for (f, p) in [
            ("dropout", self.dropout),
            ("embedding_dropout", self.embedding_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                return bad(f, "must be in [0, 1)");
            }
        }
        self.train.validate()
    }

    /// Builds the vocabulary of `train_docs`, an untrained network (embedding from `vectors`
    /// when given, else random) and trains it, validating on `val_docs`.
    pub fn fit(
        &self,
        labels: &Labels,
        vectors: Option<&WordVectors>,
        train: (&[Vec<String>], &[usize]),
        val: (&[Vec<String>], &[usize]),
        opts: FitOptions,
    ) -> Result<(RnnModel, TrainOutcome)> {
        self.validate()?;
        let vocab = TokenVocab::fit(train.0, self.min_count, self.max_vocab);
        let device = crate::train::default_device()?;
        let model = self.build(vocab, vectors, labels.len(), &device)?;
        let xtr = model.vocab.encode(train.0, self.max_len);
        // Validation in length order: its batches pad little (metrics ignore the order).
        let xva_raw = model.vocab.encode(val.0, self.max_len);
        let order = xva_raw.by_length();
        let xva = xva_raw.permuted(&order);
        let yva: Vec<usize> = order.iter().map(|&i| val.1[i]).collect();
        let outcome = fit(
            &model,
            &self.train,
            labels,
            Labelled {
                input: &xtr,
                labels: train.1,
            },
            Labelled {
                input: &xva,
                labels: &yva,
            },
            opts,
        )?;
        Ok((model, outcome))
    }

    /// An untrained network over `vocab` (initialised from the training seed).
    pub fn build(
        &self,
        vocab: TokenVocab,
        vectors: Option<&WordVectors>,
        n_classes: usize,
        device: &Device,
    ) -> Result<RnnModel> {
        let (init, dim) = match vectors {
            Some(v) => (Some(vocab.embedding_from(v, self.train.seed).0), v.dim()),
            None => (None, self.embedding_dim),
        };
        let shape = RnnShape {
            cell: self.cell,
            bidirectional: self.bidirectional,
            hidden: self.hidden,
            vocab_size: vocab.len(),
            embedding_dim: dim,
            n_classes,
            pooling: self.pooling,
            embedding_dropout: self.embedding_dropout,
            dropout: self.dropout,
            freeze_embedding: self.freeze_embedding,
            max_len: self.max_len,
        };
        RnnModel::new(shape, vocab, init, self.train.seed, device)
    }
}

/// Sizes and options of a built network (saved in `model.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RnnShape {
    /// GRU or LSTM.
    pub cell: Cell,
    /// Two directions.
    pub bidirectional: bool,
    /// State size per direction.
    pub hidden: usize,
    /// Embedding rows (padding and unknown included).
    pub vocab_size: usize,
    /// Embedding columns.
    pub embedding_dim: usize,
    /// Outputs.
    pub n_classes: usize,
    /// Pooling over time.
    pub pooling: RnnPooling,
    /// Dropout on the embedded tokens.
    pub embedding_dropout: f32,
    /// Dropout on the pooled vector.
    pub dropout: f32,
    /// The embedding is not trained.
    pub freeze_embedding: bool,
    /// Tokens read per document.
    pub max_len: usize,
}

impl RnnShape {
    /// Directions of the recurrent layer: 2 when bidirectional, else 1.
    pub fn dirs(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }
}

/// A (trained) RNN: vocabulary, parameters and sizes.
#[derive(Debug)]
pub struct RnnModel {
    params: Params,
    shape: RnnShape,
    vocab: TokenVocab,
    embedding: Tensor,
    w_ih: Tensor,
    b_ih: Tensor,
    w_hh: Tensor,
    b_hh: Tensor,
    head_w: Tensor,
    head_b: Tensor,
}

/// The network's weights in a saved model directory.
pub const RNN_WEIGHTS: &str = "model.safetensors";
/// The vocabulary in a saved model directory.
pub const RNN_VOCAB: &str = "rnn_vocab.json";

impl RnnModel {
    /// A network of `shape`: the embedding from `init` (`vocab_size × embedding_dim`) or
    /// N(0, 1) (PyTorch's `nn.Embedding`), padding row zero; recurrent weights and biases from
    /// U(−1/√H, 1/√H) and the output layer from U(−1/√in, 1/√in) (PyTorch's defaults), drawn
    /// from stream [`crate::seed::RNN_INIT`] of `seed`.
    pub fn new(
        shape: RnnShape,
        vocab: TokenVocab,
        init: Option<Vec<f32>>,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        if vocab.len() != shape.vocab_size {
            return Err(Error::Model(format!(
                "rnn: a vocabulary of {} tokens for an embedding of {} rows",
                vocab.len(),
                shape.vocab_size
            )));
        }
        let (v, e, h, d) = (
            shape.vocab_size,
            shape.embedding_dim,
            shape.hidden,
            shape.dirs(),
        );
        let g = shape.cell.gates() * h;
        let mut rng = crate::seed::rng(seed, crate::seed::RNN_INIT);
        let mut params = Params::new(device.clone());
        let emb = match init {
            Some(x) if x.len() == v * e => x,
            Some(x) => {
                return Err(Error::Model(format!(
                    "rnn: {} embedding values for {v} × {e}",
                    x.len()
                )))
            }
            None => {
                let mut x: Vec<f32> = (0..v * e).map(|_| box_muller(&mut rng).0).collect();
                x[..e].iter_mut().for_each(|z| *z = 0.0);
                x
            }
        };
        let embedding = params.add("embedding", Tensor::from_vec(emb, (v, e), &Device::Cpu)?)?;
        let bound = 1.0 / (h as f32).sqrt();
        let w_ih = params.uniform("rnn.w_ih", &[e, d * g], bound, &mut rng)?;
        let b_ih = params.uniform("rnn.b_ih", &[d * g], bound, &mut rng)?;
        let w_hh = params.uniform("rnn.w_hh", &[d, h, g], bound, &mut rng)?;
        let b_hh = params.uniform("rnn.b_hh", &[d, g], bound, &mut rng)?;
        let hb = 1.0 / ((d * h) as f32).sqrt();
        let head_w = params.uniform("head.w", &[d * h, shape.n_classes], hb, &mut rng)?;
        let head_b = params.uniform("head.b", &[shape.n_classes], hb, &mut rng)?;
        Ok(RnnModel {
            params,
            shape,
            vocab,
            embedding,
            w_ih,
            b_ih,
            w_hh,
            b_hh,
            head_w,
            head_b,
        })
    }

    /// Sizes and options.
    pub fn shape(&self) -> &RnnShape {
        &self.shape
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &TokenVocab {
        &self.vocab
    }

    /// The parameters (the embedding among them, even when frozen).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Trainable scalars (a frozen embedding not counted).
    pub fn n_trainable(&self) -> usize {
        let emb = if self.shape.freeze_embedding {
            self.shape.vocab_size * self.shape.embedding_dim
        } else {
            0
        };
        self.params.n_values() - emb
    }

    /// Logits of every document (`docs` are tokens as the representation gives them),
    /// `n × n_classes`. Rows run in length order so batches pad little.
    pub fn logits(&self, docs: &[Vec<String>]) -> Result<Dense> {
        let seqs = self.vocab.encode(docs, self.shape.max_len);
        self.logits_ids(&seqs)
    }

    /// Logits of token-id sequences, `n × n_classes`.
    pub fn logits_ids(&self, seqs: &Sequences) -> Result<Dense> {
        let n = seqs.len();
        let k = self.shape.n_classes;
        let order = seqs.by_length();
        let sorted = seqs.permuted(&order);
        let (v, _) = predict_logits(self, &sorted, n, 256)?;
        let mut out = Dense::zeros((n, k));
        for (pos, &row) in order.iter().enumerate() {
            out.row_mut(row)
                .iter_mut()
                .zip(&v[pos * k..(pos + 1) * k])
                .for_each(|(o, &x)| *o = x);
        }
        Ok(out)
    }

    /// Writes the weights (`model.safetensors`) and the vocabulary (`rnn_vocab.json`).
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.params.save(&dir.join(RNN_WEIGHTS))?;
        let p = dir.join(RNN_VOCAB);
        std::fs::write(&p, serde_json::to_string(&self.vocab)?).map_err(|e| Error::io(&p, e))
    }

    /// A network of `shape` with the weights and vocabulary of `dir`.
    pub fn load(dir: &Path, shape: RnnShape) -> Result<Self> {
        let p = dir.join(RNN_VOCAB);
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        let mut vocab: TokenVocab = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: p.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        vocab.reindex();
        let init = vec![0.0f32; shape.vocab_size * shape.embedding_dim];
        let m = RnnModel::new(
            shape,
            vocab,
            Some(init),
            0,
            &crate::train::default_device()?,
        )
        .map_err(|e| Error::Format {
            path: p,
            message: e.to_string(),
        })?;
        m.params.load(&dir.join(RNN_WEIGHTS))?;
        Ok(m)
    }
}

/// `x · w + b` through the fused layer on the CPU, plain ops elsewhere.
fn linear(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    input_grad: bool,
    ctx: &Ctx,
) -> candle_core::Result<Tensor> {
    if fused::supported(x) {
        fused::dense(
            x,
            w,
            b,
            FusedAct::Identity,
            None,
            input_grad,
            ctx.is_train(),
            ctx.grad_sink(),
        )
    } else {
        x.matmul(w)?.broadcast_add(b)
    }
}

impl Network for RnnModel {
    type Input = Sequences;

    fn params(&self) -> &Params {
        &self.params
    }

    fn logits(
        &self,
        input: &Sequences,
        rows: &[usize],
        ctx: &mut Ctx,
    ) -> candle_core::Result<Tensor> {
        let dev = self.params.device();
        let s = &self.shape;
        let (h, d) = (s.hidden, s.dirs());
        // The batch packed longest first (PyTorch's PackedSequence): only real tokens are
        // embedded, projected and scanned. `order[i]` is the batch row at packed row i.
        let order = input.packed_order(rows);
        let lens: Vec<usize> = order
            .iter()
            .map(|&i| input.ids[rows[i]].len().max(1))
            .collect();
        let packed = Arc::new(Packed::from_lengths(&lens)?);
        let mut ids = Vec::with_capacity(packed.n);
        for (t, &k) in packed.sizes.iter().enumerate() {
            for &i in &order[..k] {
                ids.push(input.ids[rows[i]].get(t).copied().unwrap_or(UNK));
            }
        }
        let emb = if s.freeze_embedding {
            self.embedding.detach()
        } else {
            self.embedding.clone()
        };
        let n = ids.len();
        let x = emb.embedding(&Tensor::from_vec(ids, n, dev)?)?;
        let x = ctx.dropout(&x, s.embedding_dropout)?;
        let xp = linear(&x, &self.w_ih, &self.b_ih, !s.freeze_embedding, ctx)?;
        let hs = rnn::scan(
            &xp,
            &self.w_hh,
            &self.b_hh,
            &packed,
            s.cell,
            ctx.is_train(),
            ctx.grad_sink(),
        )?;
        let pooled = match s.pooling {
            RnnPooling::Last => {
                // The forward direction at each row's last token, the reverse one at its first.
                let last: Vec<u32> = lens
                    .iter()
                    .enumerate()
                    .map(|(b, &l)| (packed.offsets[l - 1] + b) as u32)
                    .collect();
                let nb = last.len();
                let fwd = hs
                    .index_select(&Tensor::from_vec(last, nb, dev)?, 0)?
                    .narrow(1, 0, h)?;
                if d == 2 {
                    Tensor::cat(&[&fwd, &hs.narrow(0, 0, nb)?.narrow(1, h, h)?], 1)?
                } else {
                    fwd
                }
            }
            RnnPooling::Mean => rnn::packed_pool(&hs, &packed, Reduce::Mean)?,
            RnnPooling::Max => rnn::packed_pool(&hs, &packed, Reduce::Max)?,
        };
        let pooled = ctx.dropout(&pooled.contiguous()?, s.dropout)?;
        let logits = linear(&pooled, &self.head_w, &self.head_b, true, ctx)?;
        // Back to the order of `rows`.
        let mut back = vec![0u32; order.len()];
        for (p, &i) in order.iter().enumerate() {
            back[i] = p as u32;
        }
        if back.iter().enumerate().all(|(i, &p)| i as u32 == p) {
            return Ok(logits);
        }
        let nb = back.len();
        logits.index_select(&Tensor::from_vec(back, nb, dev)?, 0)
    }
}

impl RnnModel {
    /// The embedding as a tensor (tests: a frozen one must not move).
    pub fn embedding(&self) -> &Tensor {
        &self.embedding
    }

    /// Values of every parameter by name, as f32 vectors (tests).
    pub fn param_values(&self) -> Result<Vec<(String, Vec<f32>)>> {
        self.params
            .iter()
            .map(|(n, v)| {
                Ok((
                    n.to_string(),
                    v.as_tensor()
                        .to_dtype(DType::F32)?
                        .flatten_all()?
                        .to_vec1::<f32>()?,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn docs() -> Vec<Vec<String>> {
        [
            "a b c d e f",
            "b c a",
            "f e d",
            "a a b b",
            "c",
            "d e f a b c d e",
        ]
        .iter()
        .map(|s| s.split(' ').map(String::from).collect())
        .collect()
    }

    fn model(cell: Cell, pooling: RnnPooling, freeze: bool) -> RnnModel {
        let cfg = RnnConfig::bigru()
            .cell(cell)
            .hidden(5)
            .pooling(pooling)
            .freeze_embedding(freeze);
        let vocab = TokenVocab::fit(&docs(), 1, 100);
        let mut cfg = cfg;
        cfg.embedding_dim = 4;
        cfg.build(vocab, None, 3, &Device::Cpu).unwrap()
    }

    #[test]
    fn rows_without_a_vector_do_not_share_the_weights_draws() {
        // "a" has a vector, every other token (and <unk>) is drawn.
        let wv = WordVectors::new(vec!["a".into()], 4, vec![1.0, -1.0, 0.5, -0.5]).unwrap();
        let vocab = TokenVocab::fit(&docs(), 1, 100);
        let (rows, found) = vocab.embedding_from(&wv, 7);
        assert_eq!(found, 1);
        assert!(rows[..4].iter().all(|&x| x == 0.0), "padding row not zero");
        assert_eq!(&rows[2 * 4..3 * 4], &[1.0, -1.0, 0.5, -0.5]);
        // What the weights' stream (`seed::RNN_INIT` of the same seed) or stream 0 (where the
        // weights drew before) would have given the unknown token: the row must be neither.
        let sigma = {
            let v = [1.0f32, -1.0, 0.5, -0.5];
            let m = v.iter().sum::<f32>() / 4.0;
            (v.iter().map(|x| x * x).sum::<f32>() / 4.0 - m * m).sqrt()
        };
        let unk = &rows[4..8];
        assert!(unk.iter().all(|x| x.abs() > 0.0));
        for mut w in [
            crate::seed::rng(7, crate::seed::RNN_INIT),
            ChaCha8Rng::seed_from_u64(7),
        ] {
            let same_stream: Vec<f32> = (0..4).map(|_| box_muller(&mut w).0 * sigma).collect();
            for (a, b) in unk.iter().zip(&same_stream) {
                assert!(
                    (a - b).abs() > 1e-6,
                    "unknown row {unk:?} is the weights' stream"
                );
            }
        }
        // and it repeats with the seed
        assert_eq!(vocab.embedding_from(&wv, 7).0, rows);
    }

    #[test]
    fn vocab_orders_by_count_and_maps_unknown_tokens() {
        let v = TokenVocab::fit(&docs(), 2, 100);
        assert_eq!(&v.words()[..2], &["<pad>", "<unk>"]);
        // counts: a 5, b 5, c 4, d 4, e 4, f 3
        assert_eq!(&v.words()[2..], &["a", "b", "c", "d", "e", "f"]);
        assert_eq!(v.id("zzz"), UNK);
        let s = v.encode(&[vec![], vec!["a".into(), "zzz".into(), "c".into()]], 2);
        assert_eq!(s.ids, vec![vec![UNK], vec![2, UNK]]);
        assert_eq!(TokenVocab::fit(&docs(), 1, 3).len(), 5);
    }

    #[test]
    fn every_parameter_gets_a_gradient_and_a_frozen_embedding_none() {
        for cell in [Cell::Gru, Cell::Lstm] {
            for pooling in [RnnPooling::Last, RnnPooling::Mean, RnnPooling::Max] {
                for freeze in [false, true] {
                    let m = model(cell, pooling, freeze);
                    let seqs = m.vocab.encode(&docs(), 256);
                    let mut ctx = Ctx::train(ChaCha8Rng::seed_from_u64(1)).with_grad_sink();
                    let rows: Vec<usize> = (0..seqs.len()).collect();
                    let l = Network::logits(&m, &seqs, &rows, &mut ctx).unwrap();
                    let loss = l.sqr().unwrap().sum_all().unwrap();
                    let mut grads = loss.backward().unwrap();
                    ctx.merge_grads(&mut grads).unwrap();
                    for (name, var) in m.params.iter() {
                        let g = grads.get(var.as_tensor());
                        if name == "embedding" && freeze {
                            assert!(
                                g.is_none(),
                                "{cell:?} {pooling:?}: frozen embedding got a gradient"
                            );
                            continue;
                        }
                        let g = g.unwrap_or_else(|| {
                            panic!("{cell:?} {pooling:?}: no gradient for {name}")
                        });
                        let nz = g
                            .abs()
                            .unwrap()
                            .sum_all()
                            .unwrap()
                            .to_scalar::<f32>()
                            .unwrap();
                        assert!(nz > 0.0, "{cell:?} {pooling:?}: zero gradient for {name}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_row_scores_the_same_alone_and_in_a_batch() {
        for cell in [Cell::Gru, Cell::Lstm] {
            for pooling in [RnnPooling::Last, RnnPooling::Mean, RnnPooling::Max] {
                let m = model(cell, pooling, false);
                let seqs = m.vocab.encode(&docs(), 256);
                let all = m.logits_ids(&seqs).unwrap();
                for i in 0..seqs.len() {
                    let one = m.logits_ids(&seqs.permuted(&[i])).unwrap();
                    for (a, b) in one.row(0).iter().zip(all.row(i)) {
                        assert!(
                            (a - b).abs() < 1e-5,
                            "{cell:?} {pooling:?} row {i}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }
}
