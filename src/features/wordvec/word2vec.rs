//! Word2Vec (skip-gram / CBOW with negative sampling) and its FastText variant (input vectors
//! made of the word's own row plus its character n-gram bucket rows), trained as word2vec.c,
//! fastText and gensim do: unigram^0.75 negative sampling, frequent-word subsampling, a
//! dynamically reduced window, and a learning rate decaying linearly from `alpha` to
//! `min_alpha` over all words of all epochs.
//!
//! Threads train lock-free on shared matrices ("Hogwild", like word2vec.c, fastText and
//! gensim): with `threads > 1` updates from different threads may interleave, so the result
//! varies from run to run. With `threads = 1` a run is fully determined by `seed`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::config_err;
use super::fasttext::{ngram_buckets, FastTextConfig, Subwords};
use super::vocab::Vocab;
use super::WordVectors;
use crate::error::{Error, Result};

/// Which word2vec model to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Skip-gram: each context word predicts the centre word (FastText: the centre word's
    /// subwords predict each context word).
    #[default]
    SkipGram,
    /// Continuous bag of words: the (summed or averaged) context predicts the centre word.
    Cbow,
}

/// Word2Vec training settings. Defaults follow gensim / word2vec.c except `threads` (1, so a
/// run is reproducible from `seed`) and `min_count` (5; see the field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Word2VecConfig {
    /// Skip-gram or CBOW (default skip-gram).
    pub architecture: Architecture,
    /// Vector dimension (default 100).
    pub dim: usize,
    /// Maximal distance between the centre and a context word (default 5); each centre word
    /// draws its effective window uniformly from `1..=window`.
    pub window: usize,
    /// Words seen fewer times are dropped (default 5, as gensim, word2vec.c and fastText).
    /// On the 2,110-row slice (129k tokens after stopwords) 5 keeps 5,002 words covering
    /// 78.5 % of the tokens (2 would keep 11,623 / 92 %), but a word seen 2–4 times gets a
    /// few dozen updates in 5 epochs and stays close to its random start, adding noise to
    /// pooled document vectors; FastText still gives the dropped words n-gram vectors.
    pub min_count: u64,
    /// Negative samples per positive pair (default 5).
    pub negative: usize,
    /// Subsampling threshold for frequent words (default 1e-3; 0 turns it off).
    pub sample: f64,
    /// Passes over the corpus (default 5).
    pub epochs: usize,
    /// Initial learning rate (default 0.025).
    pub alpha: f32,
    /// Final learning rate, reached after the last word of the last epoch (default 1e-4).
    pub min_alpha: f32,
    /// CBOW only: average the context vectors (true, default) or sum them.
    pub cbow_mean: bool,
    /// Training threads (default 1: deterministic for a seed; more threads train Hogwild).
    pub threads: usize,
    /// Seed of every random choice (initial vectors, subsampling, windows, negatives).
    pub seed: u64,
}

impl Default for Word2VecConfig {
    fn default() -> Self {
        Self {
            architecture: Architecture::SkipGram,
            dim: 100,
            window: 5,
            min_count: 5,
            negative: 5,
            sample: 1e-3,
            epochs: 5,
            alpha: 0.025,
            min_alpha: 1e-4,
            cbow_mean: true,
            threads: 1,
            seed: 42,
        }
    }
}

macro_rules! setter {
    ($(#[$m:meta])* $name:ident: $t:ty) => {
        $(#[$m])*
        pub fn $name(mut self, $name: $t) -> Self {
            self.$name = $name;
            self
        }
    };
}

impl Word2VecConfig {
    setter!(/// Sets the architecture.
        architecture: Architecture);
    setter!(/// Sets the vector dimension.
        dim: usize);
    setter!(/// Sets the maximal window.
        window: usize);
    setter!(/// Sets the minimal word count.
        min_count: u64);
    setter!(/// Sets the number of negative samples.
        negative: usize);
    setter!(/// Sets the subsampling threshold.
        sample: f64);
    setter!(/// Sets the number of epochs.
        epochs: usize);
    setter!(/// Sets the initial learning rate.
        alpha: f32);
    setter!(/// Sets the final learning rate.
        min_alpha: f32);
    setter!(/// Sets CBOW averaging (true) or summing (false).
        cbow_mean: bool);
    setter!(/// Sets the number of threads.
        threads: usize);
    setter!(/// Sets the seed.
        seed: u64);

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        if self.dim == 0 || self.dim > 100_000 {
            return Err(config_err("dim", "must be in 1..=100000"));
        }
        if self.window == 0 {
            return Err(config_err("window", "must be ≥ 1"));
        }
        if self.negative == 0 {
            return Err(config_err(
                "negative",
                "must be ≥ 1 (only negative sampling is implemented)",
            ));
        }
        if !(self.sample.is_finite() && self.sample >= 0.0) {
            return Err(config_err("sample", "must be a finite number ≥ 0"));
        }
        if self.epochs == 0 {
            return Err(config_err("epochs", "must be ≥ 1"));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(config_err("alpha", "must be a finite number > 0"));
        }
        if !(self.min_alpha.is_finite() && self.min_alpha >= 0.0 && self.min_alpha <= self.alpha) {
            return Err(config_err("min_alpha", "must be in 0..=alpha"));
        }
        if self.threads == 0 || self.threads > 1024 {
            return Err(config_err("threads", "must be in 1..=1024"));
        }
        Ok(())
    }

    /// Trains Word2Vec on tokenised documents.
    pub fn train(&self, docs: &[Vec<String>]) -> Result<WordVectors> {
        Ok(self.train_with_stats(docs)?.0)
    }

    /// Trains Word2Vec and also reports how much work was done and how fast.
    pub fn train_with_stats(&self, docs: &[Vec<String>]) -> Result<(WordVectors, TrainStats)> {
        self.validate()?;
        train(self, None, docs)
    }
}

impl FastTextConfig {
    /// Trains FastText on tokenised documents.
    pub fn train(&self, docs: &[Vec<String>]) -> Result<WordVectors> {
        Ok(self.train_with_stats(docs)?.0)
    }

    /// Trains FastText and also reports how much work was done and how fast.
    pub fn train_with_stats(&self, docs: &[Vec<String>]) -> Result<(WordVectors, TrainStats)> {
        self.validate()?;
        train(&self.word2vec, Some(self), docs)
    }
}

/// What a training run did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainStats {
    /// Vocabulary size after `min_count`.
    pub vocab_size: usize,
    /// All corpus tokens × epochs (gensim's "raw words"; out-of-vocabulary ones included).
    pub raw_words: u64,
    /// Words that were trained on after subsampling, all epochs (gensim's "effective words").
    pub effective_words: u64,
    /// Seconds spent in the training passes (vocabulary and initialisation excluded).
    pub train_seconds: f64,
    /// Seconds spent building the vocabulary, subword table and initial vectors.
    pub setup_seconds: f64,
}

impl TrainStats {
    /// Raw corpus words per second of training.
    pub fn raw_words_per_sec(&self) -> f64 {
        self.raw_words as f64 / self.train_seconds.max(1e-9)
    }
}

// ---------------------------------------------------------------------------------------------
// Random numbers, sampling tables

/// SplitMix64: a tiny fast generator for the hot loop, seeded from the run's seed.
struct SplitMix(u64);

impl SplitMix {
    #[inline(always)]
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n ≥ 1), by multiply-shift.
    #[inline(always)]
    fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }
}

/// Negative-sampling distribution count^0.75, drawn in O(1) by Walker's alias method (exact,
/// and small enough to stay in cache, unlike word2vec.c's 1e8-entry table).
struct AliasTable {
    prob: Vec<u32>,
    alias: Vec<u32>,
}

impl AliasTable {
    fn new(counts: &[u64]) -> Self {
        let n = counts.len();
        let w: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(0.75)).collect();
        let sum: f64 = w.iter().sum();
        let mut p: Vec<f64> = w.iter().map(|x| x * n as f64 / sum).collect();
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let mut prob = vec![u32::MAX; n];
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| p[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            prob[s] = (p[s] * 4_294_967_296.0).min(u32::MAX as f64) as u32;
            alias[s] = l as u32;
            p[l] -= 1.0 - p[s];
            if p[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        Self { prob, alias }
    }

    #[inline(always)]
    fn sample(&self, rng: &mut SplitMix) -> u32 {
        let r = rng.next_u64();
        let i = (((r >> 32) * self.prob.len() as u64) >> 32) as usize;
        if (r as u32) < self.prob[i] {
            i as u32
        } else {
            self.alias[i]
        }
    }
}

const MAX_EXP: f32 = 6.0;
const SIGMOID_SIZE: usize = 1024;

/// Precomputed logistic function on [-MAX_EXP, MAX_EXP], as word2vec.c's EXP_TABLE.
struct Sigmoid([f32; SIGMOID_SIZE + 1]);

impl Sigmoid {
    fn new() -> Self {
        let mut t = [0f32; SIGMOID_SIZE + 1];
        for (i, v) in t.iter_mut().enumerate() {
            let x = (i as f64 / SIGMOID_SIZE as f64 * 2.0 - 1.0) * MAX_EXP as f64;
            *v = (1.0 / (1.0 + (-x).exp())) as f32;
        }
        Self(t)
    }

    /// `(label - σ(f)) * alpha`, with σ saturated to 0 / 1 outside [-MAX_EXP, MAX_EXP] as in
    /// word2vec.c.
    #[inline(always)]
    fn gradient(&self, f: f32, label: f32, alpha: f32) -> f32 {
        let s = if f >= MAX_EXP {
            1.0
        } else if f <= -MAX_EXP {
            0.0
        } else {
            let i = ((f + MAX_EXP) * (SIGMOID_SIZE as f32 / MAX_EXP / 2.0)) as usize;
            self.0[i.min(SIGMOID_SIZE)]
        };
        (label - s) * alpha
    }
}

// ---------------------------------------------------------------------------------------------
// Vector kernels: rows are padded to a multiple of LANES, so every loop runs whole chunks of
// 16 f32 that the compiler turns into SIMD (one zmm, two ymm or four xmm registers), with the
// same operation order on every path (no FMA contraction), hence identical results.

const LANES: usize = 16;

#[inline(always)]
fn lanes(x: &[f32]) -> &[[f32; LANES]] {
    x.as_chunks::<LANES>().0
}

#[inline(always)]
fn lanes_mut(x: &mut [f32]) -> &mut [[f32; LANES]] {
    x.as_chunks_mut::<LANES>().0
}

#[inline(always)]
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    for (x, y) in lanes(a).iter().zip(lanes(b)) {
        let mut p = [0f32; LANES];
        for k in 0..LANES {
            p[k] = x[k] * y[k];
        }
        for k in 0..LANES {
            acc[k] += p[k];
        }
    }
    // fixed pairwise order, the same on every instruction set
    let mut h = [0f32; LANES / 2];
    for k in 0..LANES / 2 {
        h[k] = acc[k] + acc[k + LANES / 2];
    }
    let mut q = [0f32; LANES / 4];
    for k in 0..LANES / 4 {
        q[k] = h[k] + h[k + LANES / 4];
    }
    (q[0] + q[2]) + (q[1] + q[3])
}

/// The dot product, per instruction set: LLVM splits the portable 16-lane reduction into
/// 2-lane pieces, so the x86 paths use intrinsics with the same lane layout and the same
/// reduction order (results are bit-identical on every path).
trait Dot {
    fn dot(a: &[f32], b: &[f32]) -> f32;
}

struct Portable;

impl Dot for Portable {
    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        dot_portable(a, b)
    }
}

#[cfg(target_arch = "x86_64")]
struct Avx512;

#[cfg(target_arch = "x86_64")]
impl Dot for Avx512 {
    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        use std::arch::x86_64::*;
        // SAFETY: only used inside `worker_avx512`, entered after detecting AVX-512F; every
        // load reads one whole [f32; 16] chunk.
        unsafe {
            let mut acc = _mm512_setzero_ps();
            for (x, y) in lanes(a).iter().zip(lanes(b)) {
                let p = _mm512_mul_ps(_mm512_loadu_ps(x.as_ptr()), _mm512_loadu_ps(y.as_ptr()));
                acc = _mm512_add_ps(acc, p);
            }
            let h = _mm256_add_ps(
                _mm512_castps512_ps256(acc),
                _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(acc))),
            );
            reduce8(h)
        }
    }
}

#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Dot for Avx2 {
    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        use std::arch::x86_64::*;
        // SAFETY: only used inside `worker_avx2`, entered after detecting AVX2; every load
        // reads within one [f32; 16] chunk.
        unsafe {
            let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            for (x, y) in lanes(a).iter().zip(lanes(b)) {
                let (px, py) = (x.as_ptr(), y.as_ptr());
                lo = _mm256_add_ps(lo, _mm256_mul_ps(_mm256_loadu_ps(px), _mm256_loadu_ps(py)));
                hi = _mm256_add_ps(
                    hi,
                    _mm256_mul_ps(_mm256_loadu_ps(px.add(8)), _mm256_loadu_ps(py.add(8))),
                );
            }
            reduce8(_mm256_add_ps(lo, hi))
        }
    }
}

/// h[k] + h[k + 4], then (q0 + q2) + (q1 + q3): the portable reduction's order.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn reduce8(h: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    // SAFETY: AVX is implied by the callers' detected features.
    unsafe {
        let q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
        let t = _mm_add_ps(q, _mm_movehl_ps(q, q));
        _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps::<0b01>(t, t)))
    }
}

/// y += a * x
#[inline(always)]
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (xc, yc) in lanes(x).iter().zip(lanes_mut(y)) {
        for k in 0..LANES {
            yc[k] += a * xc[k];
        }
    }
}

/// work += g * out; out += g * hidden (one pass).
#[inline(always)]
fn update_pair(g: f32, hidden: &[f32], out: &mut [f32], work: &mut [f32]) {
    for ((h, o), w) in lanes(hidden)
        .iter()
        .zip(lanes_mut(out))
        .zip(lanes_mut(work))
    {
        let mut nw = *w;
        let mut no = *o;
        for k in 0..LANES {
            nw[k] += g * o[k];
            no[k] += g * h[k];
        }
        *w = nw;
        *o = no;
    }
}

/// The factor that turns the sum of a FastText centre word's `rows` input rows (its own row,
/// then its n-grams) into the hidden vector of skip-gram: 1 / (number of n-grams), as gensim 4's
/// `fasttext_fast_sentence_sg_neg` divides it (fastText C++ divides by the number of rows);
/// 1 for a word without n-grams. gensim is the peer we are compared with; on the internal
/// validation part of train_data.txt (seeds 42–44) this raised `fasttext-ffnn`'s macro-F1 from
/// 0.203 to 0.217 (mean over the three seeds).
fn ft_norm(rows: usize) -> f32 {
    1.0 / rows.saturating_sub(1).max(1) as f32
}

#[inline(always)]
fn scale(a: f32, x: &mut [f32]) {
    for c in lanes_mut(x) {
        for v in c {
            *v *= a;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared matrices

/// A matrix shared by the training threads without locks (Hogwild). Threads read and write
/// rows concurrently; a lost or torn update of one f32 is the accepted price, exactly as in
/// word2vec.c, fastText and gensim. With one thread there is no sharing at all.
#[derive(Clone, Copy)]
struct SharedMatrix {
    ptr: *mut f32,
    rows: usize,
    stride: usize,
}

// SAFETY: see the type's documentation: concurrent row updates are the Hogwild algorithm; the
// buffer outlives every thread (they are scoped), and row indices are checked in `row`.
unsafe impl Send for SharedMatrix {}
unsafe impl Sync for SharedMatrix {}

impl SharedMatrix {
    fn new(v: &mut [f32], stride: usize) -> Self {
        Self {
            ptr: v.as_mut_ptr(),
            rows: v.len() / stride,
            stride,
        }
    }

    /// Row `i` as a mutable slice.
    ///
    /// # Safety
    /// The caller must not hold another slice of the same row in the same thread.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    unsafe fn row(&self, i: usize) -> &mut [f32] {
        debug_assert!(i < self.rows);
        // SAFETY: i < rows (ids come from the vocabulary / subword table built for this
        // matrix); the caller guarantees no aliasing slice within the thread.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(i * self.stride), self.stride) }
    }
}

// ---------------------------------------------------------------------------------------------
// Training

/// Everything a training thread reads.
struct Ctx<'a> {
    architecture: Architecture,
    cbow_mean: bool,
    window: usize,
    negative: usize,
    epochs: usize,
    alpha: f32,
    min_alpha: f32,
    total_work: f64,
    stride: usize,
    keep: &'a [u64],
    table: &'a AliasTable,
    sigmoid: &'a Sigmoid,
    ids: &'a [u32],
    offsets: &'a [usize],
    /// FastText: input rows of each word (CSR: `sub_off[w]..sub_off[w+1]` in `sub_rows`).
    sub: Option<(&'a [usize], &'a [u32])>,
    /// FastText skip-gram: Σ m² / n over each word's input rows (m = repeats of a row).
    gain: &'a [f32],
    syn0: SharedMatrix,
    syn1: SharedMatrix,
    progress: &'a AtomicU64,
}

/// Longest stretch of a document trained as one sentence (gensim's limit).
const MAX_SENTENCE: usize = 10_000;
/// Words between two learning-rate updates.
const ALPHA_EVERY: u64 = 10_000;

fn train(
    cfg: &Word2VecConfig,
    ft: Option<&FastTextConfig>,
    docs: &[Vec<String>],
) -> Result<(WordVectors, TrainStats)> {
    let setup = Instant::now();
    if docs.is_empty() {
        return Err(Error::Config(
            "no documents to train word vectors on".into(),
        ));
    }
    let vocab = Vocab::build(docs, cfg.min_count)?;
    let v = vocab.len();
    let dim = cfg.dim;
    let stride = dim.div_ceil(LANES) * LANES;

    // Documents as ids, out-of-vocabulary words dropped.
    let mut ids = Vec::with_capacity(vocab.total_count() as usize);
    let mut offsets = Vec::with_capacity(docs.len() + 1);
    offsets.push(0);
    for d in docs {
        ids.extend(d.iter().filter_map(|w| vocab.id(w)));
        offsets.push(ids.len());
    }

    // FastText: each word's input rows = its own row, then one row per n-gram occurrence;
    // n-gram buckets are numbered densely in order of first use.
    let mut bucket_rows: FxHashMap<u32, u32> = FxHashMap::default();
    let (sub_off, sub_rows) = match ft {
        None => (Vec::new(), Vec::new()),
        Some(ft) => {
            let mut off = Vec::with_capacity(v + 1);
            let mut rows = Vec::new();
            off.push(0usize);
            for (w, word) in vocab.words().iter().enumerate() {
                rows.push(w as u32);
                if ft.max_n >= ft.min_n {
                    for b in ngram_buckets(word, ft.min_n, ft.max_n, ft.buckets) {
                        let next = bucket_rows.len() as u32;
                        let r = *bucket_rows.entry(b).or_insert(next);
                        rows.push(v as u32 + r);
                    }
                }
                off.push(rows.len());
            }
            (off, rows)
        }
    };
    let n_input = v + bucket_rows.len();
    let gain: Vec<f32> = (0..sub_off.len().saturating_sub(1))
        .map(|w| {
            let mut r = sub_rows[sub_off[w]..sub_off[w + 1]].to_vec();
            r.sort_unstable();
            let mut sq = 0usize;
            for g in r.chunk_by(|a, b| a == b) {
                sq += g.len() * g.len();
            }
            sq as f32 * ft_norm(r.len())
        })
        .collect();

    // Initial vectors: U(-1/dim, 1/dim), as fastText and gensim 4 draw them (word2vec.c and
    // gensim 3: U(-0.5/dim, 0.5/dim)); output vectors start at zero. Padding lanes stay zero
    // throughout. On the 1,898-plot internal training part, ±1/dim instead of ±0.5/dim raised
    // `w2v-ffnn`'s internal validation macro-F1 on each of seeds 42–44 (mean 0.215 → 0.233).
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let half = 1.0 / dim as f32;
    let mut syn0 = vec![0f32; n_input * stride];
    for row in syn0.chunks_exact_mut(stride) {
        for x in &mut row[..dim] {
            *x = (rng.random::<f32>() * 2.0 - 1.0) * half;
        }
    }
    let mut syn1 = vec![0f32; v * stride];

    // Subsampling: keep word w with probability (sqrt(c/t) + 1) t / c, t = sample * total
    // (word2vec.c, gensim), stored as a threshold on a 32-bit random number.
    let t = cfg.sample * vocab.total_count() as f64;
    let keep: Vec<u64> = vocab
        .counts()
        .iter()
        .map(|&c| {
            let p = if cfg.sample > 0.0 {
                ((c as f64 / t).sqrt() + 1.0) * t / c as f64
            } else {
                1.0
            };
            (p.min(1.0) * 4_294_967_296.0) as u64
        })
        .collect();
    let table = AliasTable::new(vocab.counts());
    let sigmoid = Sigmoid::new();
    let progress = AtomicU64::new(0);
    let setup_seconds = setup.elapsed().as_secs_f64();

    let ctx = Ctx {
        architecture: cfg.architecture,
        cbow_mean: cfg.cbow_mean,
        window: cfg.window,
        negative: cfg.negative,
        epochs: cfg.epochs,
        alpha: cfg.alpha,
        min_alpha: cfg.min_alpha,
        total_work: (cfg.epochs as u64 * vocab.total_count()).max(1) as f64,
        stride,
        keep: &keep,
        table: &table,
        sigmoid: &sigmoid,
        ids: &ids,
        offsets: &offsets,
        sub: ft.map(|_| (sub_off.as_slice(), sub_rows.as_slice())),
        gain: &gain,
        syn0: SharedMatrix::new(&mut syn0, stride),
        syn1: SharedMatrix::new(&mut syn1, stride),
        progress: &progress,
    };

    // Shards: contiguous runs of documents with about equal numbers of words.
    let threads = cfg.threads.min(docs.len()).max(1);
    let n_ids = ids.len();
    let bounds: Vec<usize> = (0..=threads)
        .map(|k| offsets.partition_point(|&o| o < n_ids * k / threads))
        .map(|d| d.min(docs.len()))
        .collect();
    let seed = cfg.seed;
    let start = Instant::now();
    let effective: u64 = if threads == 1 {
        run_worker(&ctx, 0..docs.len(), thread_seed(seed, 0))
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|k| {
                    let ctx = &ctx;
                    let range = bounds[k]..bounds[k + 1];
                    s.spawn(move || run_worker(ctx, range, thread_seed(seed, k as u64)))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .sum()
        })
    };
    let train_seconds = start.elapsed().as_secs_f64();

    let unpad = |m: &[f32], rows: usize| -> Vec<f32> {
        let mut out = Vec::with_capacity(rows * dim);
        for r in m.chunks_exact(stride).take(rows) {
            out.extend_from_slice(&r[..dim]);
        }
        out
    };
    let words = vocab.words().to_vec();
    let vectors = match ft {
        None => WordVectors::new(words, dim, unpad(&syn0, v))?,
        Some(ft) => {
            // In-vocabulary word vector = mean of its input rows (fastText, gensim).
            let mut data = vec![0f32; v * dim];
            for (w, out) in data.chunks_exact_mut(dim).enumerate() {
                let rows = &sub_rows[sub_off[w]..sub_off[w + 1]];
                for &r in rows {
                    let src = &syn0[r as usize * stride..r as usize * stride + dim];
                    out.iter_mut().zip(src).for_each(|(o, s)| *o += s);
                }
                let inv = 1.0 / rows.len() as f32;
                out.iter_mut().for_each(|o| *o *= inv);
            }
            let ngram_data = unpad(&syn0[v * stride..], bucket_rows.len());
            WordVectors::new(words, dim, data)?.with_subwords(Subwords {
                min_n: ft.min_n,
                max_n: ft.max_n,
                buckets: ft.buckets,
                rows: bucket_rows,
                data: ngram_data,
                dim,
            })?
        }
    };
    let stats = TrainStats {
        vocab_size: v,
        raw_words: vocab.corpus_tokens() * cfg.epochs as u64,
        effective_words: effective,
        train_seconds,
        setup_seconds,
    };
    Ok((vectors, stats))
}

fn thread_seed(seed: u64, k: u64) -> u64 {
    let mut s = SplitMix(seed ^ k.wrapping_mul(0xA076_1D64_78BD_642F));
    s.next_u64()
}

/// Runs a worker on the fastest instruction set the CPU has; every path gives the same
/// numbers (same operation order, no FMA).
fn run_worker(ctx: &Ctx, docs: std::ops::Range<usize>, seed: u64) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { worker_avx512(ctx, docs, seed) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { worker_avx2(ctx, docs, seed) };
        }
    }
    worker::<Portable>(ctx, docs, seed)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
unsafe fn worker_avx512(ctx: &Ctx, docs: std::ops::Range<usize>, seed: u64) -> u64 {
    worker::<Avx512>(ctx, docs, seed)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn worker_avx2(ctx: &Ctx, docs: std::ops::Range<usize>, seed: u64) -> u64 {
    worker::<Avx2>(ctx, docs, seed)
}

/// Trains on documents `docs` for all epochs; returns the words trained on after subsampling.
#[inline(always)]
fn worker<D: Dot>(ctx: &Ctx, docs: std::ops::Range<usize>, seed: u64) -> u64 {
    let mut rng = SplitMix(seed);
    let mut hidden = vec![0f32; ctx.stride];
    let mut work = vec![0f32; ctx.stride];
    let mut total = vec![0f32; ctx.stride];
    let mut sentence: Vec<u32> = Vec::with_capacity(MAX_SENTENCE);
    let mut alpha = ctx.alpha;
    let mut since = 0u64;
    let mut effective = 0u64;
    for _ in 0..ctx.epochs {
        for d in docs.clone() {
            let doc = &ctx.ids[ctx.offsets[d]..ctx.offsets[d + 1]];
            for chunk in doc.chunks(MAX_SENTENCE) {
                sentence.clear();
                for &w in chunk {
                    if (rng.next_u64() >> 32) < ctx.keep[w as usize] {
                        sentence.push(w);
                    }
                }
                since += chunk.len() as u64;
                if since >= ALPHA_EVERY {
                    alpha = update_alpha(ctx, since);
                    since = 0;
                }
                effective += sentence.len() as u64;
                train_sentence::<D>(
                    ctx,
                    &sentence,
                    alpha,
                    &mut rng,
                    &mut hidden,
                    &mut work,
                    &mut total,
                );
            }
        }
    }
    ctx.progress.fetch_add(since, Ordering::Relaxed);
    effective
}

fn update_alpha(ctx: &Ctx, since: u64) -> f32 {
    let done = ctx.progress.fetch_add(since, Ordering::Relaxed) + since;
    let frac = (done as f64 / ctx.total_work).min(1.0);
    let a = ctx.alpha as f64 - (ctx.alpha - ctx.min_alpha) as f64 * frac;
    (a as f32).max(ctx.min_alpha)
}

/// Negative sampling for one input (`hidden`) and one positive `target`: accumulates the input
/// gradient into `work` and updates the output vectors.
#[inline(always)]
fn negative_sampling<D: Dot>(
    ctx: &Ctx,
    hidden: &[f32],
    target: u32,
    alpha: f32,
    rng: &mut SplitMix,
    work: &mut [f32],
) {
    for d in 0..=ctx.negative {
        let (t, label) = if d == 0 {
            (target, 1.0)
        } else {
            let t = ctx.table.sample(rng);
            if t == target {
                continue;
            }
            (t, 0.0)
        };
        // SAFETY: `t` is a vocabulary id; `hidden` and `work` are thread-local buffers or a
        // syn0 row, never this syn1 row.
        let out = unsafe { ctx.syn1.row(t as usize) };
        let g = ctx.sigmoid.gradient(D::dot(hidden, out), label, alpha);
        update_pair(g, hidden, out, work);
    }
}

#[inline(always)]
fn train_sentence<D: Dot>(
    ctx: &Ctx,
    s: &[u32],
    alpha: f32,
    rng: &mut SplitMix,
    hidden: &mut [f32],
    work: &mut [f32],
    total: &mut [f32],
) {
    let n = s.len();
    for i in 0..n {
        let w = ctx.window - rng.below(ctx.window);
        let lo = i.saturating_sub(w);
        let hi = (i + w + 1).min(n);
        let center = s[i];
        match (ctx.architecture, ctx.sub) {
            (Architecture::SkipGram, None) => {
                for (j, &c) in s.iter().enumerate().take(hi).skip(lo) {
                    if j == i {
                        continue;
                    }
                    // SAFETY: `c` is a vocabulary id, so a syn0 row; no other slice of it is
                    // held.
                    let l1 = unsafe { ctx.syn0.row(c as usize) };
                    work.fill(0.0);
                    negative_sampling::<D>(ctx, l1, center, alpha, rng, work);
                    axpy(1.0, work, l1);
                }
            }
            (Architecture::SkipGram, Some((off, rows))) => {
                // gensim recomputes the input (the centre's rows summed, times ft_norm) for
                // every context word and adds each pair's gradient to every row. Since the
                // input moves by exactly gain × gradient when all rows get the gradient (gain =
                // Σ m² × ft_norm for rows repeated m times), we keep the input up to date
                // instead and add the summed gradient to the rows once per centre: the same
                // arithmetic up to rounding, with ~2n instead of 2n × pairs row passes.
                let rows = &rows[off[center as usize]..off[center as usize + 1]];
                let gain = ctx.gain[center as usize];
                hidden.fill(0.0);
                for &r in rows {
                    // SAFETY: rows index syn0 (words then buckets); read only here.
                    axpy(1.0, unsafe { ctx.syn0.row(r as usize) }, hidden);
                }
                scale(ft_norm(rows.len()), hidden);
                total.fill(0.0);
                for (j, &c) in s.iter().enumerate().take(hi).skip(lo) {
                    if j == i {
                        continue;
                    }
                    work.fill(0.0);
                    negative_sampling::<D>(ctx, hidden, c, alpha, rng, work);
                    axpy(gain, work, hidden);
                    axpy(1.0, work, total);
                }
                for &r in rows {
                    // SAFETY: as above; one row at a time.
                    axpy(1.0, total, unsafe { ctx.syn0.row(r as usize) });
                }
            }
            (Architecture::Cbow, sub) => {
                hidden.fill(0.0);
                let mut count = 0usize;
                for (j, &c) in s.iter().enumerate().take(hi).skip(lo) {
                    if j == i {
                        continue;
                    }
                    for r in input_rows(sub, c) {
                        // SAFETY: a syn0 row, read only here.
                        axpy(1.0, unsafe { ctx.syn0.row(r as usize) }, hidden);
                        count += 1;
                    }
                }
                if count == 0 {
                    continue;
                }
                let inv = 1.0 / count as f32;
                if ctx.cbow_mean {
                    scale(inv, hidden);
                }
                work.fill(0.0);
                negative_sampling::<D>(ctx, hidden, center, alpha, rng, work);
                if !ctx.cbow_mean {
                    scale(inv, work);
                }
                for (j, &c) in s.iter().enumerate().take(hi).skip(lo) {
                    if j == i {
                        continue;
                    }
                    for r in input_rows(sub, c) {
                        // SAFETY: a syn0 row, one at a time.
                        axpy(1.0, work, unsafe { ctx.syn0.row(r as usize) });
                    }
                }
            }
        }
    }
}

/// The input rows of word `w`: itself (Word2Vec) or itself and its n-gram buckets (FastText).
#[inline(always)]
fn input_rows<'a>(sub: Option<(&'a [usize], &'a [u32])>, w: u32) -> impl Iterator<Item = u32> + 'a {
    let (own, rows): (Option<u32>, &[u32]) = match sub {
        None => (Some(w), &[]),
        Some((off, rows)) => (None, &rows[off[w as usize]..off[w as usize + 1]]),
    };
    own.into_iter().chain(rows.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_table_follows_counts_to_the_three_quarters() {
        let counts = [1000u64, 100, 10, 1];
        let t = AliasTable::new(&counts);
        let mut rng = SplitMix(7);
        let mut hits = [0u64; 4];
        let n = 400_000;
        for _ in 0..n {
            hits[t.sample(&mut rng) as usize] += 1;
        }
        let w: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(0.75)).collect();
        let s: f64 = w.iter().sum();
        for i in 0..4 {
            let expect = w[i] / s;
            let got = hits[i] as f64 / n as f64;
            assert!((got - expect).abs() < 0.005, "{i}: {got} vs {expect}");
        }
    }

    #[test]
    fn kernels_match_scalar() {
        let a: Vec<f32> = (0..32).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..32).map(|i| 1.0 - i as f32 * 0.25).collect();
        let expect: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot_portable(&a, &b) - expect).abs() < 1e-3);
        #[cfg(target_arch = "x86_64")]
        {
            let p = dot_portable(&a, &b).to_bits();
            if std::is_x86_feature_detected!("avx2") {
                assert_eq!(Avx2::dot(&a, &b).to_bits(), p);
            }
            if std::is_x86_feature_detected!("avx512f") {
                assert_eq!(Avx512::dot(&a, &b).to_bits(), p);
            }
        }
        let mut y = b.clone();
        axpy(2.0, &a, &mut y);
        assert_eq!(y[3], b[3] + 2.0 * a[3]);
    }

    #[test]
    fn validate_names_the_field() {
        for (cfg, field) in [
            (Word2VecConfig::default().dim(0), "dim"),
            (Word2VecConfig::default().window(0), "window"),
            (Word2VecConfig::default().negative(0), "negative"),
            (Word2VecConfig::default().sample(-1.0), "sample"),
            (Word2VecConfig::default().epochs(0), "epochs"),
            (Word2VecConfig::default().alpha(f32::NAN), "alpha"),
            (Word2VecConfig::default().min_alpha(1.0), "min_alpha"),
            (Word2VecConfig::default().threads(0), "threads"),
        ] {
            match cfg.validate() {
                Err(Error::Config(m)) => assert!(m.contains(&format!("`{field}`")), "{m}"),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(Word2VecConfig::default().validate().is_ok());
    }
}
