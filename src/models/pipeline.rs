//! Pipelines as compositions: a representation ([`RepresentationSpec`]) and a model on top
//! ([`ModelSpec`]) make a [`PipelineConfig`]; its name is the parts joined (`tfidf-svd-ffnn`,
//! `bow-svd-ffnn`, `tfidf-ffnn`, `minilm-linear`, `minilm-ffnn`, `w2v-ffnn`, `glove-linear`, ...). Fitting gives a [`Pipeline`], a [`Classifier`] saved as
//! one directory (`model.json` names the parts and their options; each part saves its own
//! state) that [`crate::models::load`] reads back.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Labels, Split, SplitConfig};
use crate::error::{Error, Result};
use crate::features::embedding::SENTENCE_KEYS;
use crate::features::representation::TEXT_FEATURE_KEYS;
use crate::features::wordvec::representation::WORDVEC_KEYS;
use crate::features::{
    Dense, Features, FittedSentenceFeatures, FittedTextFeatures, FittedWordVectorFeatures,
    Representation, SentenceFeatures, TextFeatures, WordPieces, WordVectorFeatures,
};
use crate::models::classifier::{flatten_params, Classifier, Fit, ModelMeta};
use crate::models::ffnn::{FfnnConfig, FfnnModel, FFNN_KEYS};
use crate::models::finetune::{FinetuneConfig, FinetuneModel, FINETUNE_KEYS};
use crate::models::linear::LinearModel;
use crate::models::linear_head::{decision, LinearHeadConfig, LINEAR_HEAD_KEYS};
use crate::models::rnn::{RnnConfig, RnnModel, RnnShape, RNN_KEYS};
use crate::nn::FfnnShape;
use crate::track::Tracker;
use crate::train::{CheckpointDir, FitOptions, History, TRAIN_KEYS};

/// The representation part of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepresentationSpec {
    /// BoW / TF-IDF of a text view, optionally reduced by SVD.
    Text(TextFeatures),
    /// Sentence embeddings (MiniLM).
    Sentence(SentenceFeatures),
    /// Pooled word vectors (Word2Vec / FastText trained here, GloVe / spaCy pretrained).
    WordVectors(WordVectorFeatures),
}

impl RepresentationSpec {
    /// The name part (`tfidf-svd`, `minilm`, ...).
    pub fn name(&self) -> String {
        match self {
            RepresentationSpec::Text(t) => t.name(),
            RepresentationSpec::Sentence(s) => s.name(),
            RepresentationSpec::WordVectors(w) => w.name(),
        }
    }

    fn keys(&self) -> &'static [&'static str] {
        match self {
            RepresentationSpec::Text(_) => TEXT_FEATURE_KEYS,
            RepresentationSpec::Sentence(_) => SENTENCE_KEYS,
            RepresentationSpec::WordVectors(_) => WORDVEC_KEYS,
        }
    }

    fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        match self {
            RepresentationSpec::Text(t) => t.set(key, value),
            RepresentationSpec::Sentence(s) => s.set(key, value),
            RepresentationSpec::WordVectors(w) => w.set(key, value),
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            RepresentationSpec::Text(t) => t.validate(),
            RepresentationSpec::Sentence(s) => s.validate(),
            RepresentationSpec::WordVectors(w) => w.validate(),
        }
    }

    fn fit_transform(&self, train: &Dataset) -> Result<(FittedRepresentation, Features)> {
        Ok(match self {
            RepresentationSpec::Text(t) => {
                let (r, x) = t.fit_transform(train)?;
                (FittedRepresentation::Text(Box::new(r)), x)
            }
            RepresentationSpec::Sentence(s) => {
                let (r, x) = s.fit_transform(train)?;
                (FittedRepresentation::Sentence(r), x)
            }
            RepresentationSpec::WordVectors(w) => {
                let (r, x) = w.fit_transform(train)?;
                (FittedRepresentation::WordVectors(Box::new(r)), x)
            }
        })
    }

    fn load(&self, dir: &Path) -> Result<FittedRepresentation> {
        Ok(match self {
            RepresentationSpec::Text(t) => {
                FittedRepresentation::Text(Box::new(FittedTextFeatures::load(dir, t.clone())?))
            }
            RepresentationSpec::Sentence(s) => {
                FittedRepresentation::Sentence(FittedSentenceFeatures::load(dir, s.clone())?)
            }
            RepresentationSpec::WordVectors(w) => FittedRepresentation::WordVectors(Box::new(
                FittedWordVectorFeatures::load(dir, w.clone())?,
            )),
        })
    }
}

/// A fitted representation of a pipeline.
#[derive(Debug, Clone)]
pub enum FittedRepresentation {
    /// BoW / TF-IDF (+ SVD).
    Text(Box<FittedTextFeatures>),
    /// Sentence embeddings.
    Sentence(FittedSentenceFeatures),
    /// Pooled word vectors.
    WordVectors(Box<FittedWordVectorFeatures>),
    /// Word-piece ids for a fine-tuned encoder.
    WordPieces(Box<WordPieces>),
}

impl FittedRepresentation {
    fn inner(&self) -> &dyn Representation {
        match self {
            FittedRepresentation::Text(t) => t.as_ref(),
            FittedRepresentation::Sentence(s) => s,
            FittedRepresentation::WordVectors(w) => w.as_ref(),
            FittedRepresentation::WordPieces(w) => w.as_ref(),
        }
    }
}

impl Representation for FittedRepresentation {
    fn name(&self) -> String {
        self.inner().name()
    }
    fn dim(&self) -> usize {
        self.inner().dim()
    }
    fn sparse(&self) -> bool {
        self.inner().sparse()
    }
    fn transform(&self, data: &Dataset) -> Result<Features> {
        self.inner().transform(data)
    }
    fn save(&self, dir: &Path) -> Result<()> {
        self.inner().save(dir)
    }
}

/// The model part of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSpec {
    /// A feed-forward network on the shared training loop.
    Ffnn(FfnnConfig),
    /// Logistic regression / linear SVM, C picked on the validation split.
    Linear(LinearHeadConfig),
    /// A (bidirectional) GRU / LSTM over the representation's tokens, its embedding
    /// initialised from the representation's word vectors.
    Rnn(RnnConfig),
    /// The representation's encoder itself fine-tuned with a classification head (it reads
    /// word pieces, not features).
    Finetune(FinetuneConfig),
}

impl ModelSpec {
    /// The name part (`ffnn`, `linear`, `bigru`, `bilstm`, `gru`, `lstm`, `finetune`).
    pub fn name(&self) -> &'static str {
        match self {
            ModelSpec::Ffnn(_) => "ffnn",
            ModelSpec::Linear(_) => "linear",
            ModelSpec::Rnn(r) => r.name(),
            ModelSpec::Finetune(_) => "finetune",
        }
    }

    fn keys(&self) -> Vec<&'static str> {
        match self {
            ModelSpec::Ffnn(_) => FFNN_KEYS.iter().chain(TRAIN_KEYS).copied().collect(),
            ModelSpec::Linear(_) => LINEAR_HEAD_KEYS.to_vec(),
            ModelSpec::Rnn(_) => RNN_KEYS.iter().chain(TRAIN_KEYS).copied().collect(),
            ModelSpec::Finetune(_) => FINETUNE_KEYS.iter().chain(TRAIN_KEYS).copied().collect(),
        }
    }

    fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        match self {
            ModelSpec::Ffnn(m) => m.set(key, value),
            ModelSpec::Linear(m) => m.set(key, value),
            ModelSpec::Rnn(m) => m.set(key, value),
            ModelSpec::Finetune(m) => m.set(key, value),
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            ModelSpec::Ffnn(m) => m.validate(),
            ModelSpec::Linear(m) => m.validate(),
            ModelSpec::Rnn(m) => m.validate(),
            ModelSpec::Finetune(m) => m.validate(),
        }
    }

    /// Seed of the internal split.
    fn seed(&self) -> u64 {
        match self {
            ModelSpec::Ffnn(m) => m.train.seed,
            ModelSpec::Linear(m) => m.seed,
            ModelSpec::Rnn(m) => m.train.seed,
            ModelSpec::Finetune(m) => m.train.seed,
        }
    }

    /// Share of the training rows held out for validation.
    fn val_fraction(&self) -> f64 {
        match self {
            ModelSpec::Ffnn(m) => m.train.val_fraction,
            ModelSpec::Linear(m) => m.val_fraction,
            ModelSpec::Rnn(m) => m.train.val_fraction,
            ModelSpec::Finetune(m) => m.train.val_fraction,
        }
    }
}

/// The fitted model of a pipeline.
#[derive(Debug)]
pub enum FittedModel {
    /// A trained FFNN.
    Ffnn(FfnnModel),
    /// A linear model.
    Linear(LinearModel),
    /// A trained GRU / LSTM (it reads tokens, not the representation's features).
    Rnn(RnnModel),
    /// A fine-tuned encoder with its head (it reads word pieces).
    Finetune(Box<FinetuneModel>),
}

impl FittedModel {
    fn n_values(&self) -> usize {
        match self {
            FittedModel::Ffnn(m) => m.params().n_values(),
            FittedModel::Linear(m) => m.coef().len() + m.intercept().len(),
            FittedModel::Rnn(m) => m.n_trainable(),
            FittedModel::Finetune(m) => m.params().n_values(),
        }
    }
}

/// A representation and a model: one line per (representation × model) pair of the study.
///
/// ```no_run
/// use genre_nlp::prelude::*;
/// # fn main() -> genre_nlp::Result<()> {
/// let train = Dataset::kaggle(data_file("train_data.txt")?)?;
/// let model = PipelineConfig::new(TextFeatures::tfidf().then_svd(512, 42), FfnnConfig::default())
///     .fit(&train)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineConfig {
    /// What turns rows into features.
    pub representation: RepresentationSpec,
    /// What classifies the features.
    pub model: ModelSpec,
}

/// Every composed pipeline name with a one-line description.
pub const PIPELINES: &[(&str, &str)] = &[
    (
        "tfidf-linear",
        "classic view → word TF-IDF → linear SVM / logistic regression (the baseline)",
    ),
    (
        "tfidf-svd-ffnn",
        "classic view → TF-IDF → SVD-512 → standardised → FFNN",
    ),
    (
        "bow-svd-ffnn",
        "classic view → counts → SVD-512 → standardised → FFNN",
    ),
    (
        "tfidf-ffnn",
        "classic view → TF-IDF (≤ 50k terms), sparse rows straight into the FFNN's first layer",
    ),
    (
        "bow-ffnn",
        "classic view → counts, sparse rows into the FFNN",
    ),
    (
        "minilm-linear",
        "title + plot → all-MiniLM-L6-v2 sentence embeddings (384) → standardised → logistic regression",
    ),
    (
        "minilm-ffnn",
        "title + plot → all-MiniLM-L6-v2 sentence embeddings (384) → standardised → FFNN",
    ),
    (
        "w2v-ffnn",
        "classic view → Word2Vec skip-gram (100-d, 20 epochs) trained on the training side → SIF → standardised → FFNN",
    ),
    (
        "fasttext-ffnn",
        "classic view → FastText skip-gram (100-d, 20 epochs, n-grams 3–6) trained on the training side → SIF → standardised → FFNN",
    ),
    (
        "glove-ffnn",
        "classic view → GloVe 6B 50d (pretrained) → SIF → standardised → FFNN",
    ),
    (
        "spacy-ffnn",
        "classic view → spaCy en_core_web_md vectors (300, pretrained) → SIF → standardised → FFNN",
    ),
    (
        "w2v-linear",
        "Word2Vec document vectors (as w2v-ffnn) → logistic regression, C by cross-validation",
    ),
    (
        "fasttext-linear",
        "FastText document vectors (as fasttext-ffnn) → logistic regression, C by cross-validation",
    ),
    (
        "glove-linear",
        "GloVe document vectors (as glove-ffnn) → logistic regression, C by cross-validation",
    ),
    (
        "spacy-linear",
        "spaCy document vectors (as spacy-ffnn) → logistic regression, C by cross-validation",
    ),
    (
        "w2v-bigru",
        "classic-view tokens → embedding initialised from Word2Vec (trained here), trainable → BiGRU (128 per direction) → max over time → linear",
    ),
    (
        "fasttext-bilstm",
        "classic-view tokens → embedding initialised from FastText (trained here), trainable → BiLSTM (128) → max over time → linear",
    ),
    (
        "glove-bilstm",
        "classic-view tokens → embedding initialised from GloVe 6B 50d, trainable → BiLSTM (128) → max over time → linear",
    ),
    (
        "random-bigru",
        "classic-view tokens → randomly initialised embedding (100) → BiGRU (128) → max over time → linear",
    ),
    (
        "minilm-finetune",
        "title + plot → all-MiniLM-L6-v2 word pieces (≤ 256) → the encoder fine-tuned end to end → mean pooling → dropout → linear",
    ),
];

/// Model name parts of the RNN family.
const RNN_MODELS: &[&str] = &["bigru", "bilstm", "gru", "lstm"];

/// Representation names made of word vectors.
const WORDVEC_REPRS: &[&str] = &["w2v", "fasttext", "glove", "spacy", "random"];

/// Options a pipeline's `fit` takes besides its config.
#[derive(Default)]
pub struct PipelineFitOptions<'a> {
    /// Receives every epoch as step metrics.
    pub tracker: Option<&'a mut dyn Tracker>,
    /// Checkpoint folder of the network's training.
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue from the checkpoint folder.
    pub resume: bool,
    /// No progress output.
    pub quiet: bool,
    /// Stop after this many epochs as if interrupted (tests).
    pub stop_after: Option<usize>,
}

impl PipelineConfig {
    /// `representation` then `model`.
    pub fn new(representation: TextFeatures, model: FfnnConfig) -> Self {
        PipelineConfig {
            representation: RepresentationSpec::Text(representation),
            model: ModelSpec::Ffnn(model),
        }
    }

    /// The defaults of a composed pipeline name (see [`PIPELINES`]); `tfidf-linear` has its own
    /// config ([`crate::models::TfidfLinearConfig`]).
    pub fn from_name(name: &str) -> Result<Self> {
        let unknown = || {
            Error::Config(format!(
                "unknown pipeline `{name}`; known: {}",
                PIPELINES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        let (repr, model) = name.rsplit_once('-').ok_or_else(unknown)?;
        let model = match model {
            "ffnn" => ModelSpec::Ffnn(FfnnConfig::default()),
            "linear" if repr == "minilm" || WORDVEC_REPRS.contains(&repr) => {
                ModelSpec::Linear(LinearHeadConfig::default())
            }
            "finetune" if repr == "minilm" => ModelSpec::Finetune(FinetuneConfig::default()),
            m if RNN_MODELS.contains(&m) && WORDVEC_REPRS.contains(&repr) => {
                let mut r = if m.ends_with("lstm") {
                    RnnConfig::bilstm()
                } else {
                    RnnConfig::bigru()
                };
                r.bidirectional = m.starts_with("bi");
                ModelSpec::Rnn(r)
            }
            _ => return Err(unknown()),
        };
        let seed = model.seed();
        let representation = match repr {
            "tfidf" => RepresentationSpec::Text(TextFeatures::tfidf().max_features(Some(50_000))),
            "bow" => RepresentationSpec::Text(TextFeatures::bow().max_features(Some(50_000))),
            "tfidf-svd" => RepresentationSpec::Text(TextFeatures::tfidf().then_svd(512, seed)),
            "bow-svd" => RepresentationSpec::Text(TextFeatures::bow().then_svd(512, seed)),
            "minilm" => RepresentationSpec::Sentence(SentenceFeatures::minilm()),
            "w2v" => RepresentationSpec::WordVectors(WordVectorFeatures::w2v()),
            "fasttext" => RepresentationSpec::WordVectors(WordVectorFeatures::fasttext()),
            "glove" => RepresentationSpec::WordVectors(WordVectorFeatures::glove()),
            "spacy" => RepresentationSpec::WordVectors(WordVectorFeatures::spacy()),
            "random" => RepresentationSpec::WordVectors(WordVectorFeatures::random()),
            _ => return Err(unknown()),
        };
        Ok(PipelineConfig {
            representation,
            model,
        })
    }

    /// Any representation, any model.
    pub fn compose(representation: RepresentationSpec, model: ModelSpec) -> Self {
        PipelineConfig {
            representation,
            model,
        }
    }

    /// The pipeline name: the parts joined by `-`.
    pub fn name(&self) -> String {
        format!("{}-{}", self.representation.name(), self.model.name())
    }

    /// Every `--set` key this pipeline takes.
    pub fn keys(&self) -> Vec<&'static str> {
        let mut k: Vec<&str> = self.representation.keys().to_vec();
        k.extend(self.model.keys());
        k
    }

    /// Applies `key=value` to whichever part takes it; unknown keys are an error listing the
    /// known ones, bad values an error naming the key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        if key.trim() == "seed" {
            let seed: u64 = crate::train::config::parse_value(key, value)?;
            if let RepresentationSpec::Text(TextFeatures { svd: Some(svd), .. }) =
                &mut self.representation
            {
                svd.seed = seed;
            }
            if let RepresentationSpec::WordVectors(w) = &mut self.representation {
                w.set_seed(seed);
            }
        }
        if self.representation.set(key, value)? || self.model.set(key, value)? {
            return Ok(());
        }
        Err(Error::Config(format!(
            "unknown option `{key}` for pipeline {}; known: {}",
            self.name(),
            self.keys().join(", ")
        )))
    }

    /// Checks every part.
    pub fn validate(&self) -> Result<()> {
        self.representation.validate()?;
        self.model.validate()
    }

    /// The options as flat `key → value` pairs, for tracking.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut out = vec![("pipeline".to_string(), self.name())];
        if let Ok(v) = serde_json::to_value(self) {
            flatten_params("", &v, &mut out);
        }
        out
    }

    /// The stratified internal split [`PipelineConfig::fit_with`] makes of `train`: `train`
    /// (the representation and the model learn from it) and `val` (early stopping), cut by
    /// the model's `val_fraction` and seed (peers in the benches read the very same rows).
    pub fn inner_split(&self, train: &Dataset) -> Result<Split> {
        let vf = self.model.val_fraction();
        train.split(
            SplitConfig::new()
                .ratios(1.0 - vf, vf, 0.0)
                .seed(self.model.seed()),
        )
    }

    /// Fits the representation on a stratified internal training part, trains the model with
    /// validation on the rest (early stopping, best epoch kept), and returns the pipeline.
    pub fn fit_with(&self, train: &Dataset, opts: PipelineFitOptions) -> Result<Pipeline> {
        self.validate()?;
        let t0 = Instant::now();
        let labels = Labels::from_dataset(train)?;
        if labels.len() < 2 {
            return Err(Error::Config(format!(
                "need at least 2 genres to train, found {}",
                labels.len()
            )));
        }
        let inner = self.inner_split(train)?;
        let no_features = || Features::Dense(Dense::zeros((0, 0)));
        let (repr, xtr) = match (&self.model, &self.representation) {
            // A fine-tuned encoder reads word pieces: nothing to embed up front.
            (ModelSpec::Finetune(_), RepresentationSpec::Sentence(spec)) => {
                let wp = WordPieces::from_spec(spec)?;
                // A max length past the model's positions fails here, not mid-epoch.
                let c = crate::nn::BertConfig::from_file(&wp.dir().join("config.json"))?;
                if spec.max_length > c.max_tokens() {
                    return Err(crate::train::config::bad_value(
                        "max_length",
                        &spec.max_length.to_string(),
                        &format!(
                            "at most {} (the positions of the model in {})",
                            c.max_tokens(),
                            wp.dir().display()
                        ),
                    ));
                }
                (
                    FittedRepresentation::WordPieces(Box::new(wp)),
                    no_features(),
                )
            }
            (ModelSpec::Finetune(_), other) => {
                return Err(Error::Config(format!(
                    "{}: fine-tuning needs a transformer representation (minilm), not {}",
                    self.name(),
                    other.name()
                )))
            }
            _ => self.representation.fit_transform(&inner.train)?,
        };
        // An RNN reads the representation's tokens, not its features.
        let xva = match &self.model {
            ModelSpec::Rnn(_) | ModelSpec::Finetune(_) => no_features(),
            _ => repr.transform(&inner.val)?,
        };
        let repr_seconds = t0.elapsed().as_secs_f64();
        let ytr = labels.encode(&inner.train)?;
        let yva = labels.encode(&inner.val)?;
        let name = self.name();
        let t_model = Instant::now();
        // What the networks' training loop reports to and saves in (a linear head only logs
        // its tuning to the tracker).
        let loop_opts = FitOptions {
            tracker: opts.tracker,
            checkpoint: opts.checkpoint_dir.map(CheckpointDir::new),
            resume: opts.resume,
            stop_after: opts.stop_after,
            name: name.clone(),
            quiet: opts.quiet,
        };
        let (model, history, interrupted, train_seconds, tuning) = match &self.model {
            ModelSpec::Ffnn(model_cfg) => {
                let (model, outcome) =
                    model_cfg.fit(&labels, (&xtr, &ytr), (&xva, &yva), loop_opts)?;
                (
                    FittedModel::Ffnn(model),
                    outcome.history,
                    outcome.interrupted,
                    outcome.seconds,
                    Vec::new(),
                )
            }
            ModelSpec::Rnn(rnn_cfg) => {
                let wv = rnn_tokens_source(&repr, &name)?;
                let ttr = wv.tokens(&inner.train);
                let tva = wv.tokens(&inner.val);
                let (model, outcome) = rnn_cfg.fit(
                    &labels,
                    Some(wv.vectors()),
                    (&ttr, &ytr),
                    (&tva, &yva),
                    loop_opts,
                )?;
                (
                    FittedModel::Rnn(model),
                    outcome.history,
                    outcome.interrupted,
                    outcome.seconds,
                    Vec::new(),
                )
            }
            ModelSpec::Finetune(ft_cfg) => {
                let FittedRepresentation::WordPieces(wp) = &repr else {
                    return Err(Error::Config(format!("{name}: word pieces expected")));
                };
                let ttr = wp.ids(&inner.train)?;
                let tva = wp.ids(&inner.val)?;
                let (model, outcome) =
                    ft_cfg.fit(wp.dir(), &labels, (&ttr, &ytr), (&tva, &yva), loop_opts)?;
                (
                    FittedModel::Finetune(Box::new(model)),
                    outcome.history,
                    outcome.interrupted,
                    outcome.seconds,
                    Vec::new(),
                )
            }
            ModelSpec::Linear(head) => {
                let (model, c, tuning) = head.fit(&labels, (&xtr, &ytr), (&xva, &yva))?;
                if !opts.quiet {
                    for (cand, f1, acc) in &tuning {
                        eprintln!(
                            "  C = {cand:<6} {} macro-F1 {f1:.4}  accuracy {acc:.4}",
                            head.tuned_on(ytr.len() + yva.len())
                        );
                    }
                    eprintln!("  chosen C = {c}");
                }
                if let Some(t) = loop_opts.tracker {
                    for (step, (cand, f1, acc)) in tuning.iter().enumerate() {
                        t.log_metric("tuning.c", f64::from(*cand), step as i64)?;
                        t.log_metric("tuning.val_macro_f1", *f1, step as i64)?;
                        t.log_metric("tuning.val_accuracy", *acc, step as i64)?;
                    }
                    t.log_metric("chosen_c", f64::from(c), 0)?;
                }
                (
                    FittedModel::Linear(model),
                    History::default(),
                    false,
                    t_model.elapsed().as_secs_f64(),
                    tuning,
                )
            }
        };
        let report = PipelineReport {
            train_rows: inner.train.len(),
            val_rows: inner.val.len(),
            n_features: match &model {
                FittedModel::Rnn(m) => m.shape().embedding_dim,
                FittedModel::Finetune(m) => m.bert_config().hidden_size,
                _ => xtr.n_cols(),
            },
            n_params: model.n_values(),
            representation_seconds: repr_seconds,
            train_seconds,
            total_seconds: t0.elapsed().as_secs_f64(),
            interrupted,
            tuning,
        };
        Ok(Pipeline {
            name,
            config: self.clone(),
            labels,
            repr,
            model,
            history,
            report,
        })
    }
}

/// The word-vector representation an RNN takes its tokens and initial embedding from.
fn rnn_tokens_source<'a>(
    repr: &'a FittedRepresentation,
    name: &str,
) -> Result<&'a FittedWordVectorFeatures> {
    match repr {
        FittedRepresentation::WordVectors(w) => Ok(w),
        _ => Err(Error::Config(format!(
            "{name}: an RNN reads tokens of a word-vector representation (w2v, fasttext, \
             glove, spacy, random), not {}",
            repr.name()
        ))),
    }
}

impl Fit for PipelineConfig {
    type Model = Pipeline;

    fn fit(&self, train: &Dataset) -> Result<Pipeline> {
        self.fit_with(train, PipelineFitOptions::default())
    }
}

/// Sizes and timings of a pipeline's fit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineReport {
    /// Rows the model trained on (the internal training part).
    pub train_rows: usize,
    /// Rows it validated on.
    pub val_rows: usize,
    /// Feature columns.
    pub n_features: usize,
    /// Trainable scalars of the model.
    pub n_params: usize,
    /// Seconds fitting the representation and transforming both parts.
    pub representation_seconds: f64,
    /// Seconds in the training loop.
    pub train_seconds: f64,
    /// Wall seconds of the whole fit.
    pub total_seconds: f64,
    /// `true` when training stopped as interrupted (resume to finish).
    pub interrupted: bool,
    /// Linear models: `(C, macro-F1, accuracy)` per candidate, on the validation split or
    /// averaged over the cross-validation folds.
    #[serde(default)]
    pub tuning: Vec<(f32, f64, f64)>,
}

/// A fitted composed pipeline.
#[derive(Debug)]
pub struct Pipeline {
    name: String,
    config: PipelineConfig,
    labels: Labels,
    repr: FittedRepresentation,
    model: FittedModel,
    history: History,
    report: PipelineReport,
}

/// What `model.json` holds for a composed pipeline.
#[derive(Serialize, Deserialize)]
struct SavedPipeline {
    #[serde(flatten)]
    meta: ModelMeta,
    config: PipelineConfig,
    /// The network's layer sizes (FFNN models only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shape: Option<FfnnShape>,
    /// The network's sizes (RNN models only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rnn: Option<RnnShape>,
    fit_report: PipelineReport,
    history: History,
}

impl Pipeline {
    /// The options it was fitted with.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Every epoch of its training.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Sizes and timings of the fit.
    pub fn fit_report(&self) -> &PipelineReport {
        &self.report
    }

    /// The fitted representation.
    pub fn representation(&self) -> &FittedRepresentation {
        &self.repr
    }

    /// The fitted model.
    pub fn model(&self) -> &FittedModel {
        &self.model
    }

    /// The name of the per-epoch CSV it writes: `<pipeline>_epoch_metrics.csv`.
    pub fn epoch_csv_name(&self) -> String {
        format!("{}_epoch_metrics.csv", self.config.name())
    }

    /// Loads a pipeline written by [`Classifier::save`].
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("model.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let saved: SavedPipeline = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: path.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        if saved.meta.pipeline != saved.config.name() {
            return Err(Error::Format {
                path,
                message: format!(
                    "pipeline is `{}` but its parts make `{}`",
                    saved.meta.pipeline,
                    saved.config.name()
                ),
            });
        }
        let lpath = dir.join("labels.json");
        let labels: Labels = serde_json::from_str(
            &std::fs::read_to_string(&lpath).map_err(|e| Error::io(&lpath, e))?,
        )
        .map_err(|e| Error::Format {
            path: lpath.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        let repr = match (&saved.config.model, &saved.config.representation) {
            (ModelSpec::Finetune(_), RepresentationSpec::Sentence(spec)) => {
                FittedRepresentation::WordPieces(Box::new(WordPieces::from_dir(dir, spec)?))
            }
            (_, spec) => spec.load(dir)?,
        };
        let model = match (&saved.config.model, saved.shape) {
            (ModelSpec::Ffnn(_), Some(shape)) => {
                if repr.dim() != shape.input_dim || labels.len() != shape.n_classes {
                    return Err(Error::Format {
                        path,
                        message: format!(
                            "the network reads {} columns into {} classes, but the \
                             representation gives {} columns and labels.json has {} genres",
                            shape.input_dim,
                            shape.n_classes,
                            repr.dim(),
                            labels.len()
                        ),
                    });
                }
                FittedModel::Ffnn(FfnnModel::load(dir, shape)?)
            }
            (ModelSpec::Ffnn(_), None) => {
                return Err(Error::Format {
                    path,
                    message: "an FFNN pipeline without its `shape`".into(),
                })
            }
            (ModelSpec::Rnn(_), _) => {
                let Some(shape) = saved.rnn else {
                    return Err(Error::Format {
                        path,
                        message: "an RNN pipeline without its `rnn` sizes".into(),
                    });
                };
                if repr.dim() != shape.embedding_dim || labels.len() != shape.n_classes {
                    return Err(Error::Format {
                        path,
                        message: format!(
                            "the network embeds {} columns into {} classes, but the \
                             representation gives {}-d vectors and labels.json has {} genres",
                            shape.embedding_dim,
                            shape.n_classes,
                            repr.dim(),
                            labels.len()
                        ),
                    });
                }
                FittedModel::Rnn(RnnModel::load(dir, shape)?)
            }
            (ModelSpec::Finetune(_), _) => {
                let m = FinetuneModel::load(dir)?;
                if m.head().n_classes != labels.len() {
                    return Err(Error::Format {
                        path,
                        message: format!(
                            "the head has {} classes but labels.json has {} genres",
                            m.head().n_classes,
                            labels.len()
                        ),
                    });
                }
                FittedModel::Finetune(Box::new(m))
            }
            (ModelSpec::Linear(_), _) => {
                let m = LinearModel::load(dir)?;
                if m.n_features() != repr.dim() || m.n_classes() != labels.len() {
                    return Err(Error::Format {
                        path,
                        message: format!(
                            "the linear model reads {} columns into {} classes, but the \
                             representation gives {} columns and labels.json has {} genres",
                            m.n_features(),
                            m.n_classes(),
                            repr.dim(),
                            labels.len()
                        ),
                    });
                }
                FittedModel::Linear(m)
            }
        };
        Ok(Pipeline {
            name: saved.meta.pipeline,
            config: saved.config,
            labels,
            repr,
            model,
            history: saved.history,
            report: saved.fit_report,
        })
    }
}

/// Row-wise softmax.
fn softmax_rows(mut x: Dense) -> Dense {
    for mut row in x.rows_mut() {
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let mut s = 0.0f32;
        row.iter_mut().for_each(|v| {
            *v = (*v - m).exp();
            s += *v;
        });
        row.iter_mut().for_each(|v| *v /= s);
    }
    x
}

impl Classifier for Pipeline {
    fn pipeline(&self) -> &str {
        &self.name
    }

    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn scores(&self, data: &Dataset) -> Result<Dense> {
        match &self.model {
            FittedModel::Ffnn(m) => m.logits(&self.repr.transform(data)?),
            FittedModel::Linear(m) => decision(m, &self.repr.transform(data)?),
            // An RNN reads the representation's tokens, not its features.
            FittedModel::Rnn(m) => {
                m.logits(&rnn_tokens_source(&self.repr, &self.name)?.tokens(data))
            }
            FittedModel::Finetune(m) => match &self.repr {
                FittedRepresentation::WordPieces(wp) => m.scores(&wp.ids(data)?),
                other => Err(Error::Model(format!(
                    "{}: a fine-tuned encoder reads word pieces, not {}",
                    self.name,
                    other.name()
                ))),
            },
        }
    }

    fn predict_proba(&self, data: &Dataset) -> Result<Option<Dense>> {
        match &self.model {
            FittedModel::Linear(m) => match self.repr.transform(data)? {
                Features::Dense(d) => m.predict_proba(&d),
                Features::Sparse(s) => m.predict_proba(&s),
            },
            // Networks: the softmax of their logits.
            FittedModel::Ffnn(_) | FittedModel::Rnn(_) | FittedModel::Finetune(_) => {
                Ok(Some(softmax_rows(self.scores(data)?)))
            }
        }
    }

    fn params(&self) -> Vec<(String, String)> {
        self.config.params()
    }

    fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let saved = SavedPipeline {
            meta: ModelMeta::new(&self.config.name()),
            config: self.config.clone(),
            shape: match &self.model {
                FittedModel::Ffnn(m) => Some(m.shape().clone()),
                _ => None,
            },
            rnn: match &self.model {
                FittedModel::Rnn(m) => Some(m.shape().clone()),
                _ => None,
            },
            fit_report: self.report.clone(),
            history: self.history.clone(),
        };
        let write = |name: &str, text: String| -> Result<()> {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
        };
        write("model.json", serde_json::to_string_pretty(&saved)?)?;
        write("labels.json", serde_json::to_string_pretty(&self.labels)?)?;
        self.repr.save(dir)?;
        match &self.model {
            FittedModel::Ffnn(m) => {
                m.save(dir)?;
                self.history.write_csv(&dir.join(self.epoch_csv_name()))
            }
            FittedModel::Linear(m) => m.save(dir),
            FittedModel::Rnn(m) => {
                m.save(dir)?;
                self.history.write_csv(&dir.join(self.epoch_csv_name()))
            }
            FittedModel::Finetune(m) => {
                m.save(dir)?;
                self.history.write_csv(&dir.join(self.epoch_csv_name()))
            }
        }
    }
}
