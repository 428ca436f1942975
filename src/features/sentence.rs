//! Sentence embeddings with a BERT-family encoder (all-MiniLM-L6-v2 by default), as
//! sentence-transformers computes them: word pieces (truncated at 256), the encoder, mean
//! pooling over the real tokens, L2 normalisation.
//!
//! Inputs are sorted by length and cut into batches of neighbours, so a batch holds sequences of
//! about one length; [`BertEncoder`] packs them without padding. Results come back in input
//! order. With a [`EmbeddingCache`] a second call on the same texts reads them from disk.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use crate::error::{Error, Result};
use crate::features::cache::{CacheSpace, EmbeddingCache};
use crate::features::matrix::Dense;
use crate::nn::BertEncoder;

/// Name of the default model's folder under `$GENRE_NLP_TOOLS/assets/`.
pub const MINILM_DIR: &str = "all-MiniLM-L6-v2";

/// Where `scripts/assets` puts pretrained files: `$GENRE_NLP_TOOLS/assets`, else `.tools/assets`
/// of the checkout (also looked for one folder up, for notebooks in `notebooks/`).
pub fn assets_dir() -> PathBuf {
    if let Ok(t) = std::env::var("GENRE_NLP_TOOLS") {
        return PathBuf::from(t).join("assets");
    }
    for base in [".tools", "../.tools"] {
        let p = PathBuf::from(base).join("assets");
        if p.is_dir() {
            return p;
        }
    }
    PathBuf::from(".tools/assets")
}

/// The default model directory: `assets_dir()/all-MiniLM-L6-v2`.
pub fn default_model_dir() -> PathBuf {
    assets_dir().join(MINILM_DIR)
}

/// Options of [`SentenceEncoder`].
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderOptions {
    /// Word pieces kept per text, [CLS] and [SEP] included (the model's max_seq_length: 256).
    pub max_length: usize,
    /// Texts per forward pass (after sorting by length).
    pub batch_size: usize,
    /// Threads (`None`: rayon's global pool, i.e. `RAYON_NUM_THREADS` or every core).
    pub threads: Option<usize>,
    /// L2-normalise each embedding (sentence-transformers' `Normalize` module).
    pub normalize: bool,
    /// Draw a progress bar (on a terminal, for more than a few batches).
    pub progress: bool,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            max_length: 256,
            batch_size: 32,
            threads: None,
            normalize: true,
            progress: true,
        }
    }
}

impl EncoderOptions {
    /// Sets [`EncoderOptions::max_length`].
    pub fn max_length(mut self, n: usize) -> Self {
        self.max_length = n;
        self
    }
    /// Sets [`EncoderOptions::batch_size`].
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }
    /// Sets [`EncoderOptions::threads`].
    pub fn threads(mut self, n: Option<usize>) -> Self {
        self.threads = n;
        self
    }
    /// Sets [`EncoderOptions::normalize`].
    pub fn normalize(mut self, on: bool) -> Self {
        self.normalize = on;
        self
    }
    /// Sets [`EncoderOptions::progress`].
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// Checks the options; errors name the field.
    pub fn validate(&self, max_positions: usize) -> Result<()> {
        if self.max_length < 2 || self.max_length > max_positions {
            return Err(Error::Config(format!(
                "max_length = {}: must be in 2..={max_positions} (the model's positions)",
                self.max_length
            )));
        }
        if self.batch_size == 0 {
            return Err(Error::Config("batch_size = 0: must be at least 1".into()));
        }
        if self.threads == Some(0) {
            return Err(Error::Config("threads = 0: must be at least 1".into()));
        }
        Ok(())
    }
}

/// What one [`SentenceEncoder::embed_report`] call did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmbedReport {
    /// Texts asked for (rows returned).
    pub docs: usize,
    /// Word pieces run through the encoder (after truncation, [CLS]/[SEP] included).
    pub tokens: usize,
    /// Texts that were cut at `max_length`.
    pub truncated: usize,
    /// Floating-point operations of the forward passes.
    pub flops: f64,
    /// Seconds tokenising.
    pub tokenize_seconds: f64,
    /// Seconds in the encoder.
    pub encode_seconds: f64,
    /// Texts whose vectors came from the cache (the rest went through the encoder).
    pub cached: usize,
}

impl EmbedReport {
    /// Texts that went through the encoder.
    pub fn encoded(&self) -> usize {
        self.docs - self.cached
    }
    /// Encoded texts per second (tokenising and encoding).
    pub fn docs_per_second(&self) -> f64 {
        self.encoded() as f64 / (self.tokenize_seconds + self.encode_seconds).max(1e-9)
    }
    /// Achieved GFLOP/s in the encoder.
    pub fn gflops(&self) -> f64 {
        self.flops / self.encode_seconds.max(1e-9) / 1e9
    }
}

/// A sentence encoder: tokenizer + [`BertEncoder`] + mean pooling.
///
/// ```no_run
/// use genre_nlp::features::SentenceEncoder;
/// # fn main() -> genre_nlp::Result<()> {
/// let enc = SentenceEncoder::minilm()?;
/// let e = enc.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
/// println!("{}", genre_nlp::features::sentence::cosine(e.row(0).as_slice().unwrap(), e.row(1).as_slice().unwrap()));
/// # Ok(()) }
/// ```
pub struct SentenceEncoder {
    bert: BertEncoder,
    tokenizer: Tokenizer,
    dir: PathBuf,
    model_sha256: String,
    options: EncoderOptions,
    cache: Option<EmbeddingCache>,
}

impl std::fmt::Debug for SentenceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEncoder")
            .field("dir", &self.dir)
            .field("model_sha256", &self.model_sha256)
            .field("options", &self.options)
            .finish()
    }
}

/// sha256 of a file, hex.
pub fn file_sha256(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

impl SentenceEncoder {
    /// The default model (all-MiniLM-L6-v2 in [`default_model_dir`]); a missing folder is an
    /// error that says which command fetches it.
    pub fn minilm() -> Result<Self> {
        Self::from_dir(default_model_dir())
    }

    /// Loads a sentence-transformers / Hugging Face directory: `config.json`,
    /// `model.safetensors`, `tokenizer.json`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        for f in ["config.json", "model.safetensors", "tokenizer.json"] {
            if !dir.join(f).is_file() {
                return Err(Error::Config(format!(
                    "{} not found: the sentence encoder needs config.json, model.safetensors and \
                     tokenizer.json there (run `scripts/assets` to fetch all-MiniLM-L6-v2 into \
                     $GENRE_NLP_TOOLS/assets, or pass another model directory)",
                    dir.join(f).display()
                )));
            }
        }
        let bert = BertEncoder::from_dir(&dir)?;
        let tpath = dir.join("tokenizer.json");
        let tokenizer = Tokenizer::from_file(&tpath).map_err(|e| Error::Format {
            path: tpath.clone(),
            message: format!("cannot read the tokenizer: {e}"),
        })?;
        let model_sha256 = file_sha256(&dir.join("model.safetensors"))?;
        let mut enc = SentenceEncoder {
            bert,
            tokenizer,
            dir,
            model_sha256,
            options: EncoderOptions::default(),
            cache: None,
        };
        enc.set_options(EncoderOptions::default())?;
        Ok(enc)
    }

    /// Replaces the options (checked against the model).
    pub fn set_options(&mut self, options: EncoderOptions) -> Result<()> {
        options.validate(self.bert.config().max_tokens())?;
        self.tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: options.max_length,
                ..Default::default()
            }))
            .map_err(|e| Error::Model(format!("tokenizer truncation: {e}")))?;
        self.tokenizer.with_padding(None);
        self.options = options;
        Ok(())
    }

    /// With these options.
    pub fn with_options(mut self, options: EncoderOptions) -> Result<Self> {
        self.set_options(options)?;
        Ok(self)
    }

    /// Reads and writes embeddings through `cache`.
    pub fn with_cache(mut self, cache: EmbeddingCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The options in use.
    pub fn options(&self) -> &EncoderOptions {
        &self.options
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// sha256 of `model.safetensors`.
    pub fn model_sha256(&self) -> &str {
        &self.model_sha256
    }

    /// Embedding width.
    pub fn dim(&self) -> usize {
        self.bert.hidden_size()
    }

    /// The encoder.
    pub fn encoder(&self) -> &BertEncoder {
        &self.bert
    }

    /// Word-piece ids of each text, [CLS] … [SEP], truncated at `max_length`.
    pub fn tokenize<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<u32>>> {
        let inputs: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
        let enc = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| Error::Model(format!("tokenizer: {e}")))?;
        Ok(enc.into_iter().map(|e| e.get_ids().to_vec()).collect())
    }

    /// Embeddings of `texts`, one row of [`SentenceEncoder::dim`] each, in input order.
    pub fn embed<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Dense> {
        Ok(self.embed_report(texts)?.0)
    }

    /// The cache space of this model and these options.
    pub fn cache_space(&self) -> CacheSpace {
        CacheSpace::new(
            &self.model_sha256,
            self.options.max_length,
            if self.options.normalize {
                "mean+l2"
            } else {
                "mean"
            },
        )
    }

    /// [`SentenceEncoder::embed`] and what it did. With a cache, only the texts it lacks go
    /// through the encoder (and are added to it); the report counts the tokens of those.
    pub fn embed_report<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<(Dense, EmbedReport)> {
        let h = self.dim();
        let space = self.cache_space();
        let hits = match &self.cache {
            Some(cache) => cache.lookup(&space, texts, h)?,
            None => vec![None; texts.len()],
        };
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| hits[i].is_none()).collect();
        let todo: Vec<&str> = missing.iter().map(|&i| texts[i].as_ref()).collect();
        let run = || -> Result<(Dense, EmbedReport)> {
            let t0 = Instant::now();
            let ids = self.tokenize(&todo)?;
            let tokenize_seconds = t0.elapsed().as_secs_f64();
            let (x, mut report) = self.embed_ids(&ids)?;
            report.tokenize_seconds = tokenize_seconds;
            Ok((x, report))
        };
        let (fresh, mut report) = if todo.is_empty() {
            (Dense::zeros((0, h)), EmbedReport::default())
        } else {
            match self.options.threads {
                Some(n) => rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| Error::Model(format!("thread pool: {e}")))?
                    .install(run)?,
                None => run()?,
            }
        };
        if let Some(cache) = &self.cache {
            cache.store(&space, &todo, &fresh)?;
        }
        let mut out = Dense::zeros((texts.len(), h));
        for (i, hit) in hits.into_iter().enumerate() {
            if let Some(v) = hit {
                out.row_mut(i).assign(&ndarray::ArrayView1::from(&v[..]));
            }
        }
        for (j, &i) in missing.iter().enumerate() {
            out.row_mut(i).assign(&fresh.row(j));
        }
        report.docs = texts.len();
        report.cached = texts.len() - missing.len();
        Ok((out, report))
    }

    /// Embeddings of already tokenised texts (sorted by length, batched, pooled; input order).
    pub fn embed_ids(&self, ids: &[Vec<u32>]) -> Result<(Dense, EmbedReport)> {
        let t0 = Instant::now();
        let n = ids.len();
        let h = self.dim();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut out = Dense::zeros((n, h));
        let bs = self.options.batch_size;
        let n_batches = n.div_ceil(bs);
        let bar = if self.options.progress {
            crate::progress::bar_min(n as u64, "embed", 256)
        } else {
            indicatif::ProgressBar::hidden()
        };
        for b in 0..n_batches {
            let idx = &order[b * bs..((b + 1) * bs).min(n)];
            let seqs: Vec<&[u32]> = idx.iter().map(|&i| ids[i].as_slice()).collect();
            let pooled = self.bert.mean_pooled(&seqs, self.options.normalize)?;
            for (&i, row) in idx.iter().zip(pooled) {
                out.row_mut(i)
                    .as_slice_mut()
                    .ok_or_else(|| Error::Model("embedding row is not contiguous".into()))?
                    .copy_from_slice(&row);
            }
            bar.inc(idx.len() as u64);
        }
        bar.finish_and_clear();
        let lengths: Vec<usize> = ids.iter().map(|s| s.len()).collect();
        let report = EmbedReport {
            docs: n,
            tokens: lengths.iter().sum(),
            truncated: lengths
                .iter()
                .filter(|&&l| l >= self.options.max_length)
                .count(),
            flops: self.bert.config().flops(&lengths),
            tokenize_seconds: 0.0,
            encode_seconds: t0.elapsed().as_secs_f64(),
            cached: 0,
        };
        Ok((out, report))
    }
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
