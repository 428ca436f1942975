//! Pipelines as compositions: a representation ([`RepresentationSpec`]) and a model on top
//! ([`ModelSpec`]) make a [`PipelineConfig`]; its name is the parts joined (`tfidf-svd-ffnn`,
//! `bow-svd-ffnn`, `tfidf-ffnn`, ...). Fitting gives a [`Pipeline`], a [`Classifier`] saved as
//! one directory (`model.json` names the parts and their options; each part saves its own
//! state) that [`crate::models::load`] reads back.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Labels, SplitConfig};
use crate::error::{Error, Result};
use crate::features::representation::TEXT_FEATURE_KEYS;
use crate::features::{Dense, FittedTextFeatures, Representation, TextFeatures};
use crate::models::classifier::{flatten_params, Classifier, Fit, ModelMeta};
use crate::models::ffnn::{FfnnConfig, FfnnModel, FFNN_KEYS};
use crate::nn::FfnnShape;
use crate::track::Tracker;
use crate::train::{CheckpointDir, FitOptions, History, TRAIN_KEYS};

/// The representation part of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepresentationSpec {
    /// BoW / TF-IDF of a text view, optionally reduced by SVD.
    Text(TextFeatures),
}

impl RepresentationSpec {
    /// The name part (`tfidf-svd`, ...).
    pub fn name(&self) -> String {
        match self {
            RepresentationSpec::Text(t) => t.name(),
        }
    }
}

/// The model part of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSpec {
    /// A feed-forward network on the shared training loop.
    Ffnn(FfnnConfig),
}

impl ModelSpec {
    /// The name part (`ffnn`).
    pub fn name(&self) -> &'static str {
        match self {
            ModelSpec::Ffnn(_) => "ffnn",
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
];

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
            "ffnn" => FfnnConfig::default(),
            _ => return Err(unknown()),
        };
        let seed = model.train.seed;
        let representation = match repr {
            "tfidf" => TextFeatures::tfidf().max_features(Some(50_000)),
            "bow" => TextFeatures::bow().max_features(Some(50_000)),
            "tfidf-svd" => TextFeatures::tfidf().then_svd(512, seed),
            "bow-svd" => TextFeatures::bow().then_svd(512, seed),
            _ => return Err(unknown()),
        };
        Ok(PipelineConfig::new(representation, model))
    }

    /// The pipeline name: the parts joined by `-`.
    pub fn name(&self) -> String {
        format!("{}-{}", self.representation.name(), self.model.name())
    }

    /// Every `--set` key this pipeline takes.
    pub fn keys(&self) -> Vec<&'static str> {
        let mut k: Vec<&str> = TEXT_FEATURE_KEYS.to_vec();
        k.extend(FFNN_KEYS);
        k.extend(TRAIN_KEYS);
        k
    }

    /// Applies `key=value` to whichever part takes it; unknown keys are an error listing the
    /// known ones, bad values an error naming the key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let RepresentationSpec::Text(repr) = &mut self.representation;
        let ModelSpec::Ffnn(model) = &mut self.model;
        if key.trim() == "seed" {
            let seed: u64 = crate::train::config::parse_value(key, value)?;
            if let Some(svd) = &mut repr.svd {
                svd.seed = seed;
            }
        }
        if repr.set(key, value)? || model.set(key, value)? {
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
        let RepresentationSpec::Text(repr) = &self.representation;
        let ModelSpec::Ffnn(model) = &self.model;
        repr.validate()?;
        model.validate()
    }

    /// The options as flat `key → value` pairs, for tracking.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut out = vec![("pipeline".to_string(), self.name())];
        if let Ok(v) = serde_json::to_value(self) {
            flatten_params("", &v, &mut out);
        }
        out
    }

    /// Fits the representation on a stratified internal training part, trains the model with
    /// validation on the rest (early stopping, best epoch kept), and returns the pipeline.
    pub fn fit_with(&self, train: &Dataset, opts: PipelineFitOptions) -> Result<Pipeline> {
        self.validate()?;
        let t0 = Instant::now();
        let ModelSpec::Ffnn(model_cfg) = &self.model;
        let RepresentationSpec::Text(repr_cfg) = &self.representation;
        let labels = Labels::from_dataset(train)?;
        if labels.len() < 2 {
            return Err(Error::Config(format!(
                "need at least 2 genres to train, found {}",
                labels.len()
            )));
        }
        let vf = model_cfg.train.val_fraction;
        let inner = train.split(
            SplitConfig::new()
                .ratios(1.0 - vf, vf, 0.0)
                .seed(model_cfg.train.seed),
        )?;
        let (repr, xtr) = repr_cfg.fit_transform(&inner.train)?;
        let xva = repr.transform(&inner.val)?;
        let repr_seconds = t0.elapsed().as_secs_f64();
        let ytr = labels.encode(&inner.train)?;
        let yva = labels.encode(&inner.val)?;
        let name = self.name();
        let (model, outcome) = model_cfg.fit(
            &labels,
            (&xtr, &ytr),
            (&xva, &yva),
            FitOptions {
                tracker: opts.tracker,
                checkpoint: opts.checkpoint_dir.map(CheckpointDir::new),
                resume: opts.resume,
                stop_after: opts.stop_after,
                name: name.clone(),
                quiet: opts.quiet,
            },
        )?;
        let report = PipelineReport {
            train_rows: inner.train.len(),
            val_rows: inner.val.len(),
            n_features: xtr.n_cols(),
            n_params: model.params().n_values(),
            representation_seconds: repr_seconds,
            train_seconds: outcome.seconds,
            total_seconds: t0.elapsed().as_secs_f64(),
            interrupted: outcome.interrupted,
        };
        Ok(Pipeline {
            name,
            config: self.clone(),
            labels,
            repr,
            model,
            history: outcome.history,
            report,
        })
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
}

/// A fitted composed pipeline.
#[derive(Debug)]
pub struct Pipeline {
    name: String,
    config: PipelineConfig,
    labels: Labels,
    repr: FittedTextFeatures,
    model: FfnnModel,
    history: History,
    report: PipelineReport,
}

/// What `model.json` holds for a composed pipeline.
#[derive(Serialize, Deserialize)]
struct SavedPipeline {
    #[serde(flatten)]
    meta: ModelMeta,
    config: PipelineConfig,
    shape: FfnnShape,
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
    pub fn representation(&self) -> &FittedTextFeatures {
        &self.repr
    }

    /// The network.
    pub fn network(&self) -> &FfnnModel {
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
        let RepresentationSpec::Text(repr_cfg) = saved.config.representation.clone();
        let repr = FittedTextFeatures::load(dir, repr_cfg)?;
        if repr.dim() != saved.shape.input_dim || labels.len() != saved.shape.n_classes {
            return Err(Error::Format {
                path,
                message: format!(
                    "the network reads {} columns into {} classes, but the representation gives \
                     {} columns and labels.json has {} genres",
                    saved.shape.input_dim,
                    saved.shape.n_classes,
                    repr.dim(),
                    labels.len()
                ),
            });
        }
        let model = FfnnModel::load(dir, saved.shape)?;
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
        self.model.logits(&self.repr.transform(data)?)
    }

    fn predict_proba(&self, data: &Dataset) -> Result<Option<Dense>> {
        Ok(Some(softmax_rows(self.scores(data)?)))
    }

    fn params(&self) -> Vec<(String, String)> {
        self.config.params()
    }

    fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let saved = SavedPipeline {
            meta: ModelMeta::new(&self.config.name()),
            config: self.config.clone(),
            shape: self.model.shape().clone(),
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
        self.model.save(dir)?;
        self.history.write_csv(&dir.join(self.epoch_csv_name()))
    }
}
