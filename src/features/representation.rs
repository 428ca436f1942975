//! Representations: what turns a [`Dataset`] into features, fitted on the training side.
//!
//! - [`Features`]: sparse ([`Csr`]) or dense ([`Dense`]) rows, one per document;
//! - [`Representation`]: a fitted representation (transform, save);
//! - [`TextFeatures`]: text view → BoW or TF-IDF → optional truncated SVD → optional
//!   standardisation — the `tfidf-…`, `bow-…`, `tfidf-svd-…` and `bow-svd-…` parts of a
//!   pipeline name.

use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::features::matrix::{Csr, Dense};
use crate::features::svd::{FittedSvd, Svd};
use crate::features::tfidf::{DocFreq, FittedTfidf, Tfidf, Tokenizer};
use crate::text::{classic_tokens_all, ClassicConfig, ClassicText, TextFields};
use crate::train::config::{bad_value, parse_value};
use crate::train::params::{load_tensors, save_tensors};

/// Which text the vectorizer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextView {
    /// `classic_text`: lemmas of content words and learned phrases, whitespace-tokenised.
    Classic,
    /// `neural_text` (minimal clean) with scikit-learn's default token pattern — what a
    /// scikit-learn `TfidfVectorizer` user feeds it.
    Raw,
}

/// Feature rows, one per document.
#[derive(Debug, Clone)]
pub enum Features {
    /// Sparse rows (BoW / TF-IDF).
    Sparse(Csr),
    /// Dense rows (SVD, embeddings).
    Dense(Dense),
}

impl Features {
    /// Rows.
    pub fn n_rows(&self) -> usize {
        match self {
            Features::Sparse(x) => x.rows(),
            Features::Dense(x) => x.nrows(),
        }
    }

    /// Columns.
    pub fn n_cols(&self) -> usize {
        match self {
            Features::Sparse(x) => x.cols(),
            Features::Dense(x) => x.ncols(),
        }
    }

    /// `true` for sparse rows.
    pub fn is_sparse(&self) -> bool {
        matches!(self, Features::Sparse(_))
    }
}

/// A fitted representation: the same transformation for training and new rows.
pub trait Representation: Send + Sync {
    /// The pipeline-name part, e.g. `"tfidf-svd"`.
    fn name(&self) -> String;
    /// Columns of its output.
    fn dim(&self) -> usize;
    /// `true` when [`Representation::transform`] gives sparse rows.
    fn sparse(&self) -> bool;
    /// The features of `data`'s rows.
    fn transform(&self, data: &Dataset) -> Result<Features>;
    /// Writes its state into `dir`.
    fn save(&self, dir: &Path) -> Result<()>;
}

/// BoW or TF-IDF weighting of the terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// TF-IDF (sublinear tf, smooth idf, L2 rows by default).
    Tfidf,
    /// Raw counts (scikit-learn's `CountVectorizer`).
    Bow,
}

/// Text view → BoW / TF-IDF → optional SVD → optional standardisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextFeatures {
    /// BoW or TF-IDF.
    pub weighting: Weighting,
    /// Fields that make the text.
    pub fields: TextFields,
    /// Text view the vectorizer reads.
    pub view: TextView,
    /// Options of the classic view.
    pub classic: ClassicConfig,
    /// The vectorizer (its tokenizer follows `view`).
    pub vectorizer: Tfidf,
    /// Truncated SVD after the vectorizer, or none (sparse output).
    pub svd: Option<Svd>,
    /// Standardise each output column to mean 0, variance 1 on the training rows (dense
    /// output only).
    pub standardize: bool,
}

/// Keys [`TextFeatures::set`] accepts.
pub const TEXT_FEATURE_KEYS: &[&str] = &[
    "fields (plot|title_plot)",
    "view (raw|classic)",
    "ngram_max (1..)",
    "min_df (int count or float fraction)",
    "max_df (int count or float fraction)",
    "max_features (int or none)",
    "sublinear_tf (true|false)",
    "svd (components, int; with an -svd- pipeline)",
    "standardize (true|false; dense output)",
];

impl TextFeatures {
    /// TF-IDF of the classic view (word 1–2-grams, sublinear tf, min_df 2), sparse output.
    pub fn tfidf() -> Self {
        TextFeatures {
            weighting: Weighting::Tfidf,
            fields: TextFields::TitlePlot,
            view: TextView::Classic,
            classic: ClassicConfig::default(),
            vectorizer: Tfidf::default()
                .ngram_range(1, 2)
                .sublinear_tf(true)
                .min_df(DocFreq::Count(2)),
            svd: None,
            standardize: false,
        }
    }

    /// Counts of the classic view (word 1–2-grams, min_df 2), sparse output.
    pub fn bow() -> Self {
        TextFeatures {
            weighting: Weighting::Bow,
            vectorizer: Tfidf::bow().ngram_range(1, 2).min_df(DocFreq::Count(2)),
            ..Self::tfidf()
        }
    }

    /// Adds a truncated SVD of `k` components (seeded by `seed`) and standardisation.
    pub fn then_svd(mut self, k: usize, seed: u64) -> Self {
        self.svd = Some(Svd::new(k).seed(seed));
        self.standardize = true;
        self
    }

    /// Caps the vocabulary.
    pub fn max_features(mut self, n: Option<usize>) -> Self {
        self.vectorizer.max_features = n;
        self
    }

    /// The pipeline-name part: `tfidf`, `bow`, `tfidf-svd`, `bow-svd`.
    pub fn name(&self) -> String {
        let base = match self.weighting {
            Weighting::Tfidf => "tfidf",
            Weighting::Bow => "bow",
        };
        if self.svd.is_some() {
            format!("{base}-svd")
        } else {
            base.to_string()
        }
    }

    /// Applies `key=value`; `Ok(false)` when the key is not one of [`TEXT_FEATURE_KEYS`].
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        let none = v.eq_ignore_ascii_case("none");
        let df = |v: &str| -> Result<DocFreq> {
            if v.contains('.') {
                Ok(DocFreq::Fraction(parse_value(key, v)?))
            } else {
                Ok(DocFreq::Count(parse_value(key, v)?))
            }
        };
        match key.trim() {
            "fields" => {
                self.fields = match v {
                    "plot" => TextFields::Plot,
                    "title_plot" | "title+plot" => TextFields::TitlePlot,
                    _ => return Err(bad_value(key, v, "plot|title_plot")),
                }
            }
            "view" => {
                self.view = match v {
                    "raw" => TextView::Raw,
                    "classic" => TextView::Classic,
                    _ => return Err(bad_value(key, v, "raw|classic")),
                }
            }
            "ngram_max" => {
                let hi: usize = parse_value(key, v)?;
                self.vectorizer.ngram_range = (self.vectorizer.ngram_range.0.min(hi), hi);
            }
            "min_df" => self.vectorizer.min_df = df(v)?,
            "max_df" => self.vectorizer.max_df = df(v)?,
            "max_features" => {
                self.vectorizer.max_features = if none {
                    None
                } else {
                    Some(parse_value(key, v)?)
                }
            }
            "sublinear_tf" => self.vectorizer.sublinear_tf = parse_value(key, v)?,
            "svd" => match &mut self.svd {
                Some(svd) => svd.n_components = parse_value(key, v)?,
                None => {
                    return Err(Error::Config(format!(
                        "--set svd={v}: this pipeline has no SVD step (use a …-svd-… pipeline)"
                    )))
                }
            },
            "standardize" => self.standardize = parse_value(key, v)?,
            _ => return Ok(false),
        }
        self.validate()?;
        Ok(true)
    }

    /// Checks the options.
    pub fn validate(&self) -> Result<()> {
        self.vectorizer.validate()?;
        self.classic.validate()?;
        if let Some(svd) = &self.svd {
            svd.validate()?;
        }
        Ok(())
    }

    fn base_text(&self, data: &Dataset) -> Vec<String> {
        data.neural_text(self.fields)
    }

    fn vectorizer(&self) -> Tfidf {
        let tokenizer = match self.view {
            TextView::Classic => Tokenizer::Whitespace,
            TextView::Raw => Tokenizer::Pattern,
        };
        self.vectorizer.clone().tokenizer(tokenizer)
    }

    /// Fits on `train`; returns the fitted representation and the training rows' features.
    pub fn fit_transform(&self, train: &Dataset) -> Result<(FittedTextFeatures, Features)> {
        self.validate()?;
        let raw = self.base_text(train);
        let (classic, docs) = match self.view {
            TextView::Classic => {
                let tokens = classic_tokens_all(&raw, &self.classic);
                let (view, toks) = ClassicText::fit_tokens(tokens, self.classic.clone())?;
                (
                    Some(view),
                    toks.into_iter().map(|d| d.join(" ")).collect::<Vec<_>>(),
                )
            }
            TextView::Raw => (None, raw),
        };
        let (vectorizer, x) = self.vectorizer().fit_transform(&docs)?;
        let mut fitted = FittedTextFeatures {
            config: self.clone(),
            classic,
            vectorizer,
            svd: None,
            scaler: None,
        };
        let features = match &self.svd {
            None => Features::Sparse(x),
            Some(svd) => {
                let (fs, z) = svd.fit_transform(&x)?;
                fitted.svd = Some(fs);
                let z = if self.standardize {
                    let sc = Scaler::fit(&z);
                    let z = sc.apply(z);
                    fitted.scaler = Some(sc);
                    z
                } else {
                    z
                };
                Features::Dense(z)
            }
        };
        Ok((fitted, features))
    }
}

/// Per-column mean and 1/std of the training rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    mean: Vec<f32>,
    inv_std: Vec<f32>,
}

impl Scaler {
    /// Column means and inverse standard deviations (population; constant columns keep 1).
    pub fn fit(x: &Dense) -> Self {
        let n = x.nrows().max(1) as f64;
        let d = x.ncols();
        let mut mean = vec![0.0f64; d];
        for row in x.rows() {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0f64; d];
        for row in x.rows() {
            for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (f64::from(v) - m).powi(2);
            }
        }
        Scaler {
            mean: mean.iter().map(|&m| m as f32).collect(),
            inv_std: var
                .iter()
                .map(|&s| {
                    let sd = (s / n).sqrt();
                    if sd > 1e-12 {
                        (1.0 / sd) as f32
                    } else {
                        1.0
                    }
                })
                .collect(),
        }
    }

    /// A scaler from its column means and inverse standard deviations.
    pub fn from_parts(mean: Vec<f32>, inv_std: Vec<f32>) -> Self {
        Scaler { mean, inv_std }
    }

    /// Column means.
    pub fn mean(&self) -> &[f32] {
        &self.mean
    }

    /// Inverse standard deviations.
    pub fn inv_std(&self) -> &[f32] {
        &self.inv_std
    }

    /// `(x − mean) / std`, column-wise.
    pub fn apply(&self, mut x: Dense) -> Dense {
        for mut row in x.rows_mut() {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.inv_std) {
                *v = (*v - m) * s;
            }
        }
        x
    }
}

/// A fitted [`TextFeatures`].
#[derive(Debug, Clone)]
pub struct FittedTextFeatures {
    config: TextFeatures,
    classic: Option<ClassicText>,
    vectorizer: FittedTfidf,
    svd: Option<FittedSvd>,
    scaler: Option<Scaler>,
}

/// File names a [`FittedTextFeatures`] writes.
const VOCAB_FILE: &str = "tfidf_word.json";
const CLASSIC_FILE: &str = "classic_view.json";
const SVD_FILE: &str = "svd.safetensors";

impl FittedTextFeatures {
    /// The options it was fitted with.
    pub fn config(&self) -> &TextFeatures {
        &self.config
    }

    /// The fitted vectorizer.
    pub fn vectorizer(&self) -> &FittedTfidf {
        &self.vectorizer
    }

    /// The fitted SVD, when there is one.
    pub fn svd(&self) -> Option<&FittedSvd> {
        self.svd.as_ref()
    }

    /// Reads what [`Representation::save`] wrote for `config`.
    pub fn load(dir: &Path, config: TextFeatures) -> Result<Self> {
        let read_json = |name: &str| -> Result<String> {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))
        };
        let bad = |name: &str, e: serde_json::Error| Error::Format {
            path: dir.join(name),
            message: format!("cannot read it: {e}"),
        };
        let vectorizer: FittedTfidf =
            serde_json::from_str(&read_json(VOCAB_FILE)?).map_err(|e| bad(VOCAB_FILE, e))?;
        let classic = match config.view {
            TextView::Classic => Some(
                serde_json::from_str(&read_json(CLASSIC_FILE)?)
                    .map_err(|e| bad(CLASSIC_FILE, e))?,
            ),
            TextView::Raw => None,
        };
        let (mut svd, mut scaler) = (None, None);
        if let Some(svd_cfg) = &config.svd {
            let path = dir.join(SVD_FILE);
            let t = load_tensors(&path)?;
            let get = |name: &str| -> Result<Vec<f32>> {
                let tensor = t.get(name).ok_or_else(|| Error::Format {
                    path: path.clone(),
                    message: format!("tensor `{name}` is missing"),
                })?;
                Ok(tensor.flatten_all()?.to_vec1::<f32>()?)
            };
            let comp = t.get("components").ok_or_else(|| Error::Format {
                path: path.clone(),
                message: "tensor `components` is missing".into(),
            })?;
            let (k, d) = comp.dims2()?;
            let comp = Array2::from_shape_vec((k, d), comp.flatten_all()?.to_vec1::<f32>()?)
                .map_err(|e| Error::Model(e.to_string()))?;
            svd = Some(FittedSvd::from_parts(
                *svd_cfg,
                comp,
                get("singular_values")?,
                get("explained_variance")?,
                get("explained_variance_ratio")?,
            )?);
            if config.standardize {
                scaler = Some(Scaler {
                    mean: get("scaler.mean")?,
                    inv_std: get("scaler.inv_std")?,
                });
            }
        }
        Ok(FittedTextFeatures {
            config,
            classic,
            vectorizer,
            svd,
            scaler,
        })
    }
}

impl Representation for FittedTextFeatures {
    fn name(&self) -> String {
        self.config.name()
    }

    fn dim(&self) -> usize {
        match &self.svd {
            Some(s) => s.n_components(),
            None => self.vectorizer.n_features(),
        }
    }

    fn sparse(&self) -> bool {
        self.svd.is_none()
    }

    fn transform(&self, data: &Dataset) -> Result<Features> {
        let raw = self.config.base_text(data);
        let docs: Vec<String> = match &self.classic {
            Some(view) => view.transform_joined(&raw),
            None => raw,
        };
        let x = self.vectorizer.transform(&docs)?;
        match &self.svd {
            None => Ok(Features::Sparse(x)),
            Some(svd) => {
                let z = svd.transform(&x)?;
                Ok(Features::Dense(match &self.scaler {
                    Some(sc) => sc.apply(z),
                    None => z,
                }))
            }
        }
    }

    fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let write = |name: &str, text: String| -> Result<()> {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
        };
        write(VOCAB_FILE, serde_json::to_string(&self.vectorizer)?)?;
        if let Some(c) = &self.classic {
            write(CLASSIC_FILE, serde_json::to_string(c)?)?;
        }
        if let Some(svd) = &self.svd {
            use candle_core::{Device, Tensor};
            let dev = Device::Cpu;
            let (k, d) = svd.components().dim();
            let flat: Vec<f32> = svd.components().iter().copied().collect();
            let vec1 = |v: &[f32]| Tensor::from_slice(v, v.len(), &dev);
            let mut map = std::collections::HashMap::new();
            map.insert(
                "components".to_string(),
                Tensor::from_vec(flat, (k, d), &dev)?,
            );
            map.insert("singular_values".into(), vec1(svd.singular_values())?);
            map.insert("explained_variance".into(), vec1(svd.explained_variance())?);
            map.insert(
                "explained_variance_ratio".into(),
                vec1(svd.explained_variance_ratio())?,
            );
            if let Some(sc) = &self.scaler {
                map.insert("scaler.mean".into(), vec1(&sc.mean)?);
                map.insert("scaler.inv_std".into(), vec1(&sc.inv_std)?);
            }
            save_tensors(&map, &dir.join(SVD_FILE))?;
        }
        Ok(())
    }
}
