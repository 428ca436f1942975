//! Document vectors from word vectors as a pipeline representation (the `w2v-…`,
//! `fasttext-…`, `glove-…` and `spacy-…` parts): classic_text tokens (lowercased) → word
//! vectors (trained on the training side, or pretrained) → mean / TF-IDF-weighted mean / SIF →
//! optional standardisation.
//!
//! A learned phrase (`new_york`) that has no vector of its own is replaced by its words, so
//! pretrained tables (which have no phrases) still see them.
//!
//! Saving: trained vectors go into the model folder (`word_vectors.bin`, word2vec binary;
//! FastText's trained n-gram buckets into `subword_vectors.bin`), so loading retrains nothing.
//! Pretrained tables are not copied (GloVe alone is 80 MB): `wordvec.json` records the files
//! and their sha256, and loading reads them again and refuses files whose sha256 changed, so a
//! loaded pipeline sees exactly the vectors the fitted one saw, for any new document.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::Array2;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::fasttext::{FastTextConfig, Subwords};
use super::io::VectorFormat;
use super::pool::{PoolConfig, Pooler, Pooling};
use super::pretrained::{
    glove_dir, glove_files, load_glove, load_spacy, load_vectors_path, spacy_dir, spacy_files,
};
use super::word2vec::{Architecture, TrainStats, Word2VecConfig};
use super::{config_err, WordVectors};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::features::representation::{Features, Representation, Scaler};
use crate::features::sentence::file_sha256;
use crate::text::{classic_tokens_all, ClassicConfig, ClassicText, TextFields};
use crate::train::config::{bad_value, parse_value};

/// Where the word vectors come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VectorSource {
    /// Word2Vec trained on the training side (`w2v`).
    W2v(Word2VecConfig),
    /// FastText trained on the training side (`fasttext`).
    FastText(FastTextConfig),
    /// GloVe 6B 50d (`glove`).
    Glove,
    /// spaCy en_core_web_md 300d (`spacy`).
    Spacy,
    /// Random N(0, 1) vectors for the training side's tokens (`random`): no word knowledge,
    /// for RNNs whose embedding learns from scratch (`random-bigru`).
    Random {
        /// Vector size.
        dim: usize,
        /// Seed of the draws.
        seed: u64,
    },
}

/// Options of a word-vector representation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordVectorFeatures {
    /// The vectors.
    pub source: VectorSource,
    /// Pretrained sources: another folder (GloVe or spaCy layout) or a word2vec text / binary,
    /// fastText `.vec` or GloVe text file instead of the one in `$GENRE_NLP_TOOLS/assets`.
    #[serde(default)]
    pub vectors: Option<PathBuf>,
    /// How word vectors become a document vector.
    pub pool: PoolConfig,
    /// Fields that make the text.
    pub fields: TextFields,
    /// Options of the classic view (the tokens).
    pub classic: ClassicConfig,
    /// Standardise each column on the training rows.
    pub standardize: bool,
}

/// Epochs of the `w2v` / `fasttext` trainers in the pipelines (gensim's default is 5). On the
/// 2,110-row slice, 5 epochs leave the vectors near their random start: the internal validation
/// macro-F1 of `w2v-ffnn` (mean of seeds 42, 43) rose from 0.151 at 5 epochs to 0.195 at 20
/// (`fasttext-ffnn`: 0.093 → 0.194), and 50 added little (0.226 vs 0.222 with min_count 2), at
/// 2.4× the time. Measured on the training file's internal validation part only.
pub const TRAINED_EPOCHS: usize = 20;

/// Keys [`WordVectorFeatures::set`] accepts.
pub const WORDVEC_KEYS: &[&str] = &[
    "pool (mean|tfidf|sif)",
    "sif_a (SIF smoothing, > 0; default 1e-3)",
    "sif_component (true|false: SIF removes the first principal component)",
    "vectors (glove/spacy: a folder or a word2vec .bin / .txt / .vec or GloVe text file)",
    "standardize (true|false)",
    "fields (plot|title_plot)",
    "wv_dim (w2v/fasttext/random: vector size)",
    "wv_window (w2v/fasttext)",
    "wv_epochs (w2v/fasttext: passes over the corpus)",
    "wv_min_count (w2v/fasttext)",
    "wv_negative (w2v/fasttext: negative samples)",
    "wv_sg (w2v/fasttext: 1 skip-gram, 0 CBOW)",
    "wv_threads (w2v/fasttext: > 1 trains Hogwild, not reproducible)",
    "wv_sample (w2v/fasttext: subsampling threshold)",
    "wv_min_n, wv_max_n, wv_buckets (fasttext n-grams)",
];

impl WordVectorFeatures {
    fn with_source(source: VectorSource) -> Self {
        WordVectorFeatures {
            source,
            vectors: None,
            pool: PoolConfig::default().pooling(Pooling::Sif),
            fields: TextFields::TitlePlot,
            classic: ClassicConfig::default(),
            standardize: true,
        }
    }

    /// Word2Vec skip-gram (dim 100, window 5, min_count 5, 5 negatives, 1 thread) trained on
    /// the training side for [`TRAINED_EPOCHS`] epochs, SIF pooling, standardised.
    pub fn w2v() -> Self {
        Self::with_source(VectorSource::W2v(
            Word2VecConfig::default().epochs(TRAINED_EPOCHS),
        ))
    }

    /// FastText skip-gram (as [`WordVectorFeatures::w2v`], plus n-grams of 3–6 characters in
    /// 2M buckets), SIF, standardised.
    pub fn fasttext() -> Self {
        Self::with_source(VectorSource::FastText(
            FastTextConfig::default().word2vec(Word2VecConfig::default().epochs(TRAINED_EPOCHS)),
        ))
    }

    /// GloVe 6B 50d, SIF, standardised.
    pub fn glove() -> Self {
        Self::with_source(VectorSource::Glove)
    }

    /// spaCy en_core_web_md 300d, SIF, standardised.
    pub fn spacy() -> Self {
        Self::with_source(VectorSource::Spacy)
    }

    /// Random 100-d vectors (see [`VectorSource::Random`]), SIF, standardised.
    pub fn random() -> Self {
        Self::with_source(VectorSource::Random { dim: 100, seed: 42 })
    }

    /// The pipeline-name part: `w2v`, `fasttext`, `glove`, `spacy`, `random`.
    pub fn name(&self) -> String {
        match self.source {
            VectorSource::W2v(_) => "w2v",
            VectorSource::FastText(_) => "fasttext",
            VectorSource::Glove => "glove",
            VectorSource::Spacy => "spacy",
            VectorSource::Random { .. } => "random",
        }
        .into()
    }

    /// Sets the seed of the trained vectors (no effect for pretrained ones).
    pub fn set_seed(&mut self, seed: u64) {
        if let Some(w) = self.word2vec_mut() {
            w.seed = seed;
        }
        if let VectorSource::Random { seed: s, .. } = &mut self.source {
            *s = seed;
        }
    }

    fn word2vec_mut(&mut self) -> Option<&mut Word2VecConfig> {
        match &mut self.source {
            VectorSource::W2v(w) => Some(w),
            VectorSource::FastText(f) => Some(&mut f.word2vec),
            _ => None,
        }
    }

    /// Applies `key=value`; `Ok(false)` when the key is not one of [`WORDVEC_KEYS`].
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        let k = key.trim();
        let name = self.name();
        if let Some(rest) = k.strip_prefix("wv_") {
            if matches!(rest, "min_n" | "max_n" | "buckets") {
                let VectorSource::FastText(f) = &mut self.source else {
                    return Err(Error::Config(format!(
                        "--set {k}={v}: only fasttext pipelines have n-grams (this is {name})"
                    )));
                };
                match rest {
                    "min_n" => f.min_n = parse_value(k, v)?,
                    "max_n" => f.max_n = parse_value(k, v)?,
                    _ => f.buckets = parse_value(k, v)?,
                }
            } else if let (VectorSource::Random { dim, seed }, "dim" | "seed") =
                (&mut self.source, rest)
            {
                match rest {
                    "dim" => *dim = parse_value(k, v)?,
                    _ => *seed = parse_value(k, v)?,
                }
            } else {
                let Some(w) = self.word2vec_mut() else {
                    return Err(Error::Config(format!(
                        "--set {k}={v}: {name} vectors are pretrained, only w2v / fasttext \
                         pipelines train vectors"
                    )));
                };
                match rest {
                    "dim" => w.dim = parse_value(k, v)?,
                    "window" => w.window = parse_value(k, v)?,
                    "epochs" => w.epochs = parse_value(k, v)?,
                    "min_count" => w.min_count = parse_value(k, v)?,
                    "negative" => w.negative = parse_value(k, v)?,
                    "threads" => w.threads = parse_value(k, v)?,
                    "sample" => w.sample = parse_value(k, v)?,
                    "alpha" => w.alpha = parse_value(k, v)?,
                    "seed" => w.seed = parse_value(k, v)?,
                    "sg" => {
                        w.architecture = match v {
                            "1" | "true" | "skipgram" | "skip-gram" => Architecture::SkipGram,
                            "0" | "false" | "cbow" => Architecture::Cbow,
                            _ => return Err(bad_value(k, v, "1 (skip-gram) or 0 (CBOW)")),
                        }
                    }
                    _ => return Ok(false),
                }
            }
        } else {
            match k {
                "pool" => {
                    self.pool.pooling = match v {
                        "mean" => Pooling::Mean,
                        "tfidf" | "tfidfmean" | "tfidf_mean" => Pooling::TfIdfMean,
                        "sif" => Pooling::Sif,
                        _ => return Err(bad_value(k, v, "mean|tfidf|sif")),
                    }
                }
                "sif_a" => self.pool.sif_a = parse_value(k, v)?,
                "sif_component" => self.pool.remove_component = parse_value(k, v)?,
                "standardize" => self.standardize = parse_value(k, v)?,
                "fields" => {
                    self.fields = match v {
                        "plot" => TextFields::Plot,
                        "title_plot" | "title+plot" => TextFields::TitlePlot,
                        _ => return Err(bad_value(k, v, "plot|title_plot")),
                    }
                }
                "vectors" => {
                    if self.vectors_path().is_none() {
                        return Err(Error::Config(format!(
                            "--set vectors={v}: {name} trains its own vectors; pretrained \
                             vectors go with the glove or spacy pipelines"
                        )));
                    }
                    self.vectors = Some(PathBuf::from(v));
                }
                _ => return Ok(false),
            }
        }
        self.validate().map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("--set {k}={v}: {m}")),
            e => e,
        })?;
        Ok(true)
    }

    /// Checks the options (not whether pretrained files exist: fitting says so).
    pub fn validate(&self) -> Result<()> {
        match &self.source {
            VectorSource::W2v(w) => w.validate()?,
            VectorSource::FastText(f) => f.validate()?,
            VectorSource::Glove | VectorSource::Spacy => {}
            VectorSource::Random { dim, .. } => {
                if *dim == 0 {
                    return Err(config_err("wv_dim", "must be >= 1"));
                }
            }
        }
        self.pool.validate()?;
        self.classic.validate()
    }

    /// The pretrained folder or file these options read, `None` for trained vectors.
    pub fn vectors_path(&self) -> Option<PathBuf> {
        match (&self.source, &self.vectors) {
            (VectorSource::W2v(_) | VectorSource::FastText(_) | VectorSource::Random { .. }, _) => {
                None
            }
            (_, Some(p)) => Some(p.clone()),
            (VectorSource::Glove, None) => Some(glove_dir()),
            (VectorSource::Spacy, None) => Some(spacy_dir()),
        }
    }

    /// Loads the pretrained vectors and the files they came from (path, sha256).
    fn load_pretrained(&self) -> Result<(WordVectors, Vec<(PathBuf, String)>)> {
        let path = self.vectors_path().expect("pretrained source");
        let vectors = match (&self.source, self.vectors.is_some()) {
            (VectorSource::Glove, false) => load_glove(&path)?,
            (VectorSource::Spacy, false) => load_spacy(&path)?,
            _ => load_vectors_path(&path)?,
        };
        let files = if path.is_dir() {
            if path.join(super::pretrained::GLOVE_NPY).is_file() {
                glove_files(&path)
            } else {
                spacy_files(&path)
            }
        } else {
            vec![path.clone()]
        };
        let mut out = Vec::new();
        for f in files {
            let sha = file_sha256(&f)?;
            let abs = std::fs::canonicalize(&f).unwrap_or(f);
            out.push((abs, sha));
        }
        Ok((vectors, out))
    }

    /// Tokens of `train` (phrases learned on it), trains or loads the vectors, fits the pooling
    /// and the standardisation on the training rows; returns the fitted representation and
    /// the training rows' features.
    pub fn fit_transform(&self, train: &Dataset) -> Result<(FittedWordVectorFeatures, Features)> {
        self.validate()?;
        let raw = train.neural_text(self.fields);
        let tokens = classic_tokens_all(&raw, &self.classic);
        let (classic, docs) = ClassicText::fit_tokens(tokens, self.classic.clone())?;
        let docs = lowercase(docs);
        let (vectors, files, stats) = match &self.source {
            VectorSource::W2v(w) => {
                let (v, s) = w.train_with_stats(&docs)?;
                (v, Vec::new(), Some(s))
            }
            VectorSource::FastText(f) => {
                let (v, s) = f.train_with_stats(&docs)?;
                (v, Vec::new(), Some(s))
            }
            VectorSource::Glove | VectorSource::Spacy => {
                let (v, files) = self.load_pretrained()?;
                (v, files, None)
            }
            VectorSource::Random { dim, seed } => {
                (random_vectors(&docs, *dim, *seed)?, Vec::new(), None)
            }
        };
        let docs = lookup_tokens(&vectors, docs);
        let (pooler, x) = self.pool.fit_transform(&vectors, &docs)?;
        let x = to_dense(x, docs.len(), vectors.dim())?;
        let scaler = self.standardize.then(|| Scaler::fit(&x));
        let x = match &scaler {
            Some(s) => s.apply(x),
            None => x,
        };
        Ok((
            FittedWordVectorFeatures {
                config: self.clone(),
                classic,
                vectors: Arc::new(vectors),
                files,
                pooler,
                scaler,
                stats,
            },
            Features::Dense(x),
        ))
    }
}

/// N(0, 1) vectors for every distinct token of `docs` (first-seen order), from `seed`.
fn random_vectors(docs: &[Vec<String>], dim: usize, seed: u64) -> Result<WordVectors> {
    use rand::SeedableRng;
    let mut seen = rustc_hash::FxHashSet::default();
    let mut words = Vec::new();
    for d in docs {
        for t in d {
            if seen.insert(t.as_str()) {
                words.push(t.clone());
            }
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let data: Vec<f32> = (0..words.len() * dim)
        .map(|_| crate::features::svd::box_muller(&mut rng).0)
        .collect();
    WordVectors::new(words, dim, data)
}

fn lowercase(docs: Vec<Vec<String>>) -> Vec<Vec<String>> {
    docs.into_iter()
        .map(|d| {
            d.into_iter()
                .map(|t| {
                    if t.chars().any(char::is_uppercase) {
                        t.to_lowercase()
                    } else {
                        t
                    }
                })
                .collect()
        })
        .collect()
}

/// A phrase without a vector of its own becomes its words.
fn lookup_tokens(vectors: &WordVectors, docs: Vec<Vec<String>>) -> Vec<Vec<String>> {
    docs.into_iter()
        .map(|d| {
            let mut out = Vec::with_capacity(d.len());
            for t in d {
                if vectors.index_of(&t).is_none() && t.contains('_') {
                    out.extend(t.split('_').filter(|p| !p.is_empty()).map(String::from));
                } else {
                    out.push(t);
                }
            }
            out
        })
        .collect()
}

fn to_dense(x: Vec<f32>, rows: usize, dim: usize) -> Result<Array2<f32>> {
    Array2::from_shape_vec((rows, dim), x).map_err(|e| Error::Model(e.to_string()))
}

/// A fitted [`WordVectorFeatures`]: the classic view, the vectors, the pooling and the scaler.
#[derive(Debug, Clone)]
pub struct FittedWordVectorFeatures {
    config: WordVectorFeatures,
    classic: ClassicText,
    vectors: Arc<WordVectors>,
    files: Vec<(PathBuf, String)>,
    pooler: Pooler,
    scaler: Option<Scaler>,
    stats: Option<TrainStats>,
}

/// What `wordvec.json` holds.
#[derive(Serialize, Deserialize)]
struct SavedWordVec {
    /// Pretrained files read (absolute path, sha256); empty for trained vectors.
    pretrained_files: Vec<(PathBuf, String)>,
    dim: usize,
    pooler: Pooler,
    scaler_mean: Option<Vec<f32>>,
    scaler_inv_std: Option<Vec<f32>>,
    /// FastText: (min_n, max_n, buckets) of `subword_vectors.bin`.
    subwords: Option<(usize, usize, u32)>,
    /// Training words/s and sizes, for the record.
    #[serde(default)]
    train_stats: Option<SavedStats>,
}

#[derive(Serialize, Deserialize)]
struct SavedStats {
    vocab_size: usize,
    raw_words: u64,
    train_seconds: f64,
}

const WORDVEC_FILE: &str = "wordvec.json";
const CLASSIC_FILE: &str = "wordvec_classic_view.json";
const VECTORS_FILE: &str = "word_vectors.bin";
const SUBWORDS_FILE: &str = "subword_vectors.bin";

impl FittedWordVectorFeatures {
    /// The options it was fitted with.
    pub fn config(&self) -> &WordVectorFeatures {
        &self.config
    }

    /// The word vectors (trained or pretrained).
    pub fn vectors(&self) -> &WordVectors {
        &self.vectors
    }

    /// The fitted pooling.
    pub fn pooler(&self) -> &Pooler {
        &self.pooler
    }

    /// What training the vectors did (trained sources, fresh fits only).
    pub fn train_stats(&self) -> Option<&TrainStats> {
        self.stats.as_ref()
    }

    /// The lowercased classic tokens of `data` as the pooling sees them.
    pub fn tokens(&self, data: &Dataset) -> Vec<Vec<String>> {
        let raw = data.neural_text(self.config.fields);
        lookup_tokens(&self.vectors, lowercase(self.classic.transform(&raw)))
    }

    /// Reads what [`Representation::save`] wrote for `config`.
    pub fn load(dir: &Path, config: WordVectorFeatures) -> Result<Self> {
        let path = dir.join(WORDVEC_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let saved: SavedWordVec = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: path.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        let cpath = dir.join(CLASSIC_FILE);
        let classic: ClassicText = serde_json::from_str(
            &std::fs::read_to_string(&cpath).map_err(|e| Error::io(&cpath, e))?,
        )
        .map_err(|e| Error::Format {
            path: cpath.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        let vectors = match &config.source {
            VectorSource::W2v(_) | VectorSource::FastText(_) | VectorSource::Random { .. } => {
                let v = VectorFormat::Word2VecBinary.read(dir.join(VECTORS_FILE))?;
                match saved.subwords {
                    None => v,
                    Some((min_n, max_n, buckets)) => {
                        let spath = dir.join(SUBWORDS_FILE);
                        let s = VectorFormat::Word2VecBinary.read(&spath)?;
                        let mut rows = FxHashMap::default();
                        for (i, w) in s.words().iter().enumerate() {
                            let b: u32 = w.parse().map_err(|_| Error::Format {
                                path: spath.clone(),
                                message: format!("bucket id `{w}` is not a number"),
                            })?;
                            rows.insert(b, i as u32);
                        }
                        v.with_subwords(Subwords {
                            min_n,
                            max_n,
                            buckets,
                            rows,
                            data: s.data().to_vec(),
                            dim: s.dim(),
                        })?
                    }
                }
            }
            VectorSource::Glove | VectorSource::Spacy => {
                // the same files, unchanged
                let mut cfg = config.clone();
                let first = saved.pretrained_files.first().map(|f| f.0.clone());
                if cfg.vectors.is_none() {
                    let default = cfg.vectors_path().expect("pretrained");
                    if !default.exists() {
                        if let Some(f) = &first {
                            cfg.vectors = f.parent().map(Path::to_path_buf);
                        }
                    }
                }
                let (v, files) = cfg.load_pretrained()?;
                for ((p, sha), (_, want)) in files.iter().zip(&saved.pretrained_files) {
                    if sha != want {
                        return Err(Error::Format {
                            path: p.clone(),
                            message: format!(
                                "the model was fitted on a file with sha256 {want}, this one \
                                 has {sha}: the pretrained vectors changed (fetch them again \
                                 with `bash scripts/assets`, or refit)"
                            ),
                        });
                    }
                }
                v
            }
        };
        if vectors.dim() != saved.dim {
            return Err(Error::Format {
                path,
                message: format!(
                    "fitted on {}-d vectors, the vectors read now are {}-d",
                    saved.dim,
                    vectors.dim()
                ),
            });
        }
        let scaler = match (saved.scaler_mean, saved.scaler_inv_std) {
            (Some(m), Some(s)) => Some(Scaler::from_parts(m, s)),
            _ => None,
        };
        Ok(FittedWordVectorFeatures {
            config,
            classic,
            vectors: Arc::new(vectors),
            files: saved.pretrained_files,
            pooler: saved.pooler,
            scaler,
            stats: None,
        })
    }
}

impl Representation for FittedWordVectorFeatures {
    fn name(&self) -> String {
        self.config.name()
    }

    fn dim(&self) -> usize {
        self.vectors.dim()
    }

    fn sparse(&self) -> bool {
        false
    }

    fn transform(&self, data: &Dataset) -> Result<Features> {
        let docs = self.tokens(data);
        let x = self.pooler.transform(&self.vectors, &docs)?;
        let x = to_dense(x, docs.len(), self.vectors.dim())?;
        Ok(Features::Dense(match &self.scaler {
            Some(s) => s.apply(x),
            None => x,
        }))
    }

    fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut subwords = None;
        if self.files.is_empty() {
            VectorFormat::Word2VecBinary.write(&self.vectors, dir.join(VECTORS_FILE))?;
            if let Some(s) = self.vectors.subwords() {
                let mut ids: Vec<(u32, u32)> = s.rows.iter().map(|(&b, &r)| (b, r)).collect();
                ids.sort_unstable();
                let words: Vec<String> = ids.iter().map(|(b, _)| b.to_string()).collect();
                let mut data = Vec::with_capacity(ids.len() * s.dim);
                for (_, r) in &ids {
                    let r = *r as usize;
                    data.extend_from_slice(&s.data[r * s.dim..(r + 1) * s.dim]);
                }
                if !words.is_empty() {
                    let table = WordVectors::new(words, s.dim, data)?;
                    VectorFormat::Word2VecBinary.write(&table, dir.join(SUBWORDS_FILE))?;
                    subwords = Some((s.min_n, s.max_n, s.buckets));
                }
            }
        }
        let saved = SavedWordVec {
            pretrained_files: self.files.clone(),
            dim: self.vectors.dim(),
            pooler: self.pooler.clone(),
            scaler_mean: self.scaler.as_ref().map(|s| s.mean().to_vec()),
            scaler_inv_std: self.scaler.as_ref().map(|s| s.inv_std().to_vec()),
            subwords,
            train_stats: self.stats.as_ref().map(|s| SavedStats {
                vocab_size: s.vocab_size,
                raw_words: s.raw_words,
                train_seconds: s.train_seconds,
            }),
        };
        let write = |name: &str, text: String| -> Result<()> {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
        };
        write(WORDVEC_FILE, serde_json::to_string(&saved)?)?;
        write(CLASSIC_FILE, serde_json::to_string(&self.classic)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_names_the_key_and_refuses_keys_of_other_sources() {
        let mut w = WordVectorFeatures::w2v();
        assert!(w.set("wv_dim", "64").unwrap());
        assert!(w.set("pool", "mean").unwrap());
        assert_eq!(w.pool.pooling, Pooling::Mean);
        let e = w.set("wv_dim", "abc").unwrap_err().to_string();
        assert!(e.contains("wv_dim"), "{e}");
        let e = w.set("wv_window", "0").unwrap_err().to_string();
        assert!(e.contains("wv_window") && e.contains("`window`"), "{e}");
        let e = w.set("pool", "max").unwrap_err().to_string();
        assert!(e.contains("pool") && e.contains("mean|tfidf|sif"), "{e}");
        assert!(w.set("vectors", "/x").is_err());
        assert!(!w.set("epochs", "3").unwrap(), "epochs belongs to the FFNN");
        let mut g = WordVectorFeatures::glove();
        assert!(g.set("wv_dim", "3").is_err());
        assert!(g.set("vectors", "/some/where").unwrap());
        assert!(WordVectorFeatures::fasttext()
            .set("wv_buckets", "1000")
            .unwrap());
        assert!(WordVectorFeatures::w2v().set("wv_buckets", "1000").is_err());
    }
}
