//! The `tfidf-linear` pipeline: a text view (classic tokens + phrases, or the raw text with
//! scikit-learn's tokenizer), word (and optionally character) TF-IDF, and a linear model
//! (one-vs-rest linear SVM or multinomial logistic regression), with the regularisation
//! strength picked on an internal stratified validation split.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Labels, SplitConfig};
use crate::error::{Error, Result};
use crate::eval::ClassificationReport;
use crate::features::{hstack, Csr, Dense, FittedTfidf, Tfidf, Tokenizer};
use crate::models::classifier::{flatten_params, Classifier, Fit, ModelMeta};
use crate::models::linear::{ClassWeight, LinearModel, LinearSvc, LogisticRegression};
use crate::text::{classic_tokens_all, ClassicConfig, ClassicText, TextFields};

/// The pipeline name in `model.json` and on the CLI.
pub const PIPELINE: &str = "tfidf-linear";

pub use crate::features::TextView;

/// The linear model on top of the features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    /// One-vs-rest linear SVM (squared hinge, as scikit-learn's `LinearSVC`): scores only.
    Svm,
    /// Multinomial logistic regression (as scikit-learn's `LogisticRegression`): probabilities.
    Logistic,
}

/// Options of the `tfidf-linear` pipeline. The default is the best setting measured on the
/// real data slice (README "Results"): title + plot, the classic_text view (lemmas of content
/// words + learned phrases), word 1–2-grams with sublinear tf, linear SVM with balanced class
/// weights, C picked from {0.03, 0.1, 0.3, 1} on a stratified 10 % validation split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TfidfLinearConfig {
    /// Fields that make up the text.
    pub fields: TextFields,
    /// Text view the vectorizers read.
    pub view: TextView,
    /// Options of the classic view (used when `view` is `Classic`).
    pub classic: ClassicConfig,
    /// Word-level vectorizer.
    pub word: Tfidf,
    /// Optional character n-gram vectorizer whose columns are appended to the word ones.
    pub chars: Option<Tfidf>,
    /// The linear model.
    pub head: Head,
    /// Inverse regularisation strength used when `c_grid` is empty (and the one picked after
    /// tuning, in a fitted model).
    pub c: f32,
    /// Candidate C values tried on the internal validation split; empty: no tuning.
    pub c_grid: Vec<f32>,
    /// Class weights of the linear model.
    pub class_weight: ClassWeight,
    /// Share of the training rows held out (stratified) to pick C.
    pub val_fraction: f64,
    /// Seed of the internal split and of the solvers.
    pub seed: u64,
}

impl Default for TfidfLinearConfig {
    fn default() -> Self {
        TfidfLinearConfig {
            fields: TextFields::TitlePlot,
            view: TextView::Classic,
            classic: ClassicConfig::default(),
            word: Tfidf::default().ngram_range(1, 2).sublinear_tf(true),
            chars: None,
            head: Head::Svm,
            c: 1.0,
            c_grid: vec![0.03, 0.1, 0.3, 1.0],
            class_weight: ClassWeight::Balanced,
            val_fraction: 0.1,
            seed: 42,
        }
    }
}

/// Keys accepted by [`TfidfLinearConfig::set`] (`genre fit --set key=value`).
pub const SET_KEYS: &[&str] = &[
    "fields (plot|title_plot)",
    "view (raw|classic)",
    "head (svm|logistic)",
    "c (float)",
    "c_grid (comma-separated floats, or none)",
    "class_weight (balanced|none)",
    "ngram_max (1..)",
    "min_df (int count or float fraction)",
    "max_df (int count or float fraction)",
    "max_features (int or none)",
    "sublinear_tf (true|false)",
    "char_ngrams (LO-HI, e.g. 2-5, or none)",
    "val_fraction (0..1)",
    "seed (int)",
];

fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::Config(format!("--set {key}={value}: cannot parse `{value}`")))
}

fn parse_df(key: &str, value: &str) -> Result<crate::features::DocFreq> {
    if value.contains('.') {
        Ok(crate::features::DocFreq::Fraction(parse(key, value)?))
    } else {
        Ok(crate::features::DocFreq::Count(parse(key, value)?))
    }
}

impl TfidfLinearConfig {
    /// The default (best measured) setting.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the text fields.
    pub fn fields(mut self, fields: TextFields) -> Self {
        self.fields = fields;
        self
    }
    /// Sets the text view.
    pub fn view(mut self, view: TextView) -> Self {
        self.view = view;
        self
    }
    /// Sets the word vectorizer.
    pub fn word(mut self, word: Tfidf) -> Self {
        self.word = word;
        self
    }
    /// Sets (or removes) the character vectorizer.
    pub fn chars(mut self, chars: Option<Tfidf>) -> Self {
        self.chars = chars;
        self
    }
    /// Sets the linear model.
    pub fn head(mut self, head: Head) -> Self {
        self.head = head;
        self
    }
    /// Sets C and turns tuning off.
    pub fn c(mut self, c: f32) -> Self {
        self.c = c;
        self.c_grid.clear();
        self
    }
    /// Sets the C candidates tried on the validation split.
    pub fn c_grid(mut self, grid: impl Into<Vec<f32>>) -> Self {
        self.c_grid = grid.into();
        self
    }
    /// Sets the class weights.
    pub fn class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.class_weight = class_weight;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Applies one `key=value` option (see [`SET_KEYS`]); unknown keys and bad values are
    /// errors naming the key and listing the known ones.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let v = value.trim();
        let none = v.eq_ignore_ascii_case("none");
        match key.trim() {
            "fields" => {
                self.fields = match v {
                    "plot" => TextFields::Plot,
                    "title_plot" | "title+plot" => TextFields::TitlePlot,
                    _ => return Err(bad(key, v, "plot|title_plot")),
                }
            }
            "view" => {
                self.view = match v {
                    "raw" => TextView::Raw,
                    "classic" => TextView::Classic,
                    _ => return Err(bad(key, v, "raw|classic")),
                }
            }
            "head" => {
                self.head = match v {
                    "svm" => Head::Svm,
                    "logistic" => Head::Logistic,
                    _ => return Err(bad(key, v, "svm|logistic")),
                }
            }
            "c" => {
                self.c = parse(key, v)?;
                self.c_grid.clear();
            }
            "c_grid" => {
                self.c_grid = if none {
                    Vec::new()
                } else {
                    v.split(',').map(|x| parse(key, x)).collect::<Result<_>>()?
                }
            }
            "class_weight" => {
                self.class_weight = match v {
                    "balanced" => ClassWeight::Balanced,
                    "none" => ClassWeight::None,
                    _ => return Err(bad(key, v, "balanced|none")),
                }
            }
            "ngram_max" => {
                let hi: usize = parse(key, v)?;
                self.word.ngram_range = (self.word.ngram_range.0.min(hi), hi);
            }
            "min_df" => self.word.min_df = parse_df(key, v)?,
            "max_df" => self.word.max_df = parse_df(key, v)?,
            "max_features" => {
                self.word.max_features = if none { None } else { Some(parse(key, v)?) }
            }
            "sublinear_tf" => self.word.sublinear_tf = parse(key, v)?,
            "char_ngrams" => {
                self.chars = if none {
                    None
                } else {
                    let (lo, hi) = v
                        .split_once('-')
                        .ok_or_else(|| bad(key, v, "LO-HI such as 2-5, or none"))?;
                    Some(Tfidf::char_wb(parse(key, lo)?, parse(key, hi)?))
                }
            }
            "val_fraction" => self.val_fraction = parse(key, v)?,
            "seed" => self.seed = parse(key, v)?,
            other => {
                return Err(Error::Config(format!(
                    "unknown option `{other}` for pipeline {PIPELINE}; known: {}",
                    SET_KEYS.join(", ")
                )))
            }
        }
        Ok(())
    }

    /// Checks every option, naming the wrong one.
    pub fn validate(&self) -> Result<()> {
        self.word.validate()?;
        if let Some(c) = &self.chars {
            c.validate()?;
        }
        self.classic.validate()?;
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(Error::Config(format!("c must be positive, got {}", self.c)));
        }
        if let Some(bad) = self.c_grid.iter().find(|c| !(c.is_finite() && **c > 0.0)) {
            return Err(Error::Config(format!(
                "c_grid values must be positive, got {bad}"
            )));
        }
        if self.c_grid.len() > 1 && !(self.val_fraction > 0.0 && self.val_fraction < 0.5) {
            return Err(Error::Config(format!(
                "val_fraction must be in (0, 0.5) to tune C, got {}",
                self.val_fraction
            )));
        }
        Ok(())
    }

    /// The options as flat `key → value` pairs, for tracking.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut out = vec![("pipeline".to_string(), PIPELINE.to_string())];
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) {
            flatten_params("", &serde_json::Value::Object(map), &mut out);
        }
        out
    }

    fn solver(&self, c: f32) -> Solver {
        match self.head {
            Head::Svm => Solver::Svm(
                LinearSvc::default()
                    .c(c)
                    .class_weight(self.class_weight.clone())
                    .seed(self.seed),
            ),
            Head::Logistic => Solver::Logistic(
                LogisticRegression::default()
                    .c(c)
                    .class_weight(self.class_weight.clone()),
            ),
        }
    }
}

fn bad(key: &str, value: &str, allowed: &str) -> Error {
    Error::Config(format!("--set {key}={value}: expected {allowed}"))
}

enum Solver {
    Svm(LinearSvc),
    Logistic(LogisticRegression),
}

impl Solver {
    fn fit(&self, x: &Csr, y: &[usize], k: usize) -> Result<LinearModel> {
        match self {
            Solver::Svm(s) => s.fit(x, y, k),
            Solver::Logistic(s) => s.fit(x, y, k),
        }
    }
}

/// What happened during [`Fit::fit`]: the C tried with their validation macro-F1, the one
/// picked, and how long each stage took.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// `(C, validation macro-F1, validation accuracy)` per candidate, in grid order.
    pub tuning: Vec<(f32, f64, f64)>,
    /// The C of the final model.
    pub chosen_c: f32,
    /// Training rows of the final model.
    pub train_rows: usize,
    /// Feature columns of the final model.
    pub n_features: usize,
    /// Seconds building the text view (tagging, phrases) of all training rows.
    pub view_seconds: f64,
    /// Seconds fitting and applying the vectorizers in the final fit.
    pub vectorize_seconds: f64,
    /// Seconds fitting the final linear model.
    pub model_seconds: f64,
    /// Seconds spent on tuning (validation fits), view excluded.
    pub tuning_seconds: f64,
    /// Wall seconds of the whole fit.
    pub total_seconds: f64,
}

/// A fitted `tfidf-linear` model.
#[derive(Debug, Clone)]
pub struct TfidfLinear {
    config: TfidfLinearConfig,
    labels: Labels,
    vecs: Vectorizers,
    model: LinearModel,
    report: FitReport,
}

/// Per-row cleaned text (`neural_text` of the configured fields): what the raw view and the
/// character n-grams read, and what the classic view tags.
fn base_view(config: &TfidfLinearConfig, data: &Dataset) -> Vec<String> {
    data.neural_text(config.fields)
}

#[derive(Debug, Clone)]
struct Vectorizers {
    classic: Option<ClassicText>,
    word: FittedTfidf,
    chars: Option<FittedTfidf>,
}

impl Vectorizers {
    /// Fits phrases (classic view) and vectorizers on `rows` of the prepared training input.
    fn fit(
        config: &TfidfLinearConfig,
        raw: &[String],
        tagged: Option<&[Vec<String>]>,
        rows: &[usize],
    ) -> Result<(Self, Csr)> {
        let (classic, docs): (Option<ClassicText>, Vec<String>) = match tagged {
            Some(tokens) => {
                let sub: Vec<Vec<String>> = rows.iter().map(|&i| tokens[i].clone()).collect();
                let (view, toks) = ClassicText::fit_tokens(sub, config.classic.clone())?;
                (Some(view), toks.into_iter().map(|d| d.join(" ")).collect())
            }
            None => (None, rows.iter().map(|&i| raw[i].clone()).collect()),
        };
        let word_cfg = word_config(config);
        let (word, xw) = word_cfg.fit_transform(&docs)?;
        let (chars, x) = match &config.chars {
            Some(c) => {
                // Character n-grams read the cleaned text, never the lemmas.
                let text: Vec<&str> = rows.iter().map(|&i| raw[i].as_str()).collect();
                let (fc, xc) = c.fit_transform(&text)?;
                (Some(fc), hstack(&[&xw, &xc])?)
            }
            None => (None, xw),
        };
        Ok((
            Vectorizers {
                classic,
                word,
                chars,
            },
            x,
        ))
    }

    /// Vectorizes `rows` of the prepared input with fitted state.
    fn transform(
        &self,
        raw: &[String],
        tagged: Option<&[Vec<String>]>,
        rows: &[usize],
    ) -> Result<Csr> {
        let docs: Vec<String> = match (&self.classic, tagged) {
            (Some(view), Some(tokens)) => {
                let sub: Vec<Vec<String>> = rows.iter().map(|&i| tokens[i].clone()).collect();
                view.apply_phrases(sub)
                    .into_iter()
                    .map(|d| d.join(" "))
                    .collect()
            }
            _ => rows.iter().map(|&i| raw[i].clone()).collect(),
        };
        let xw = self.word.transform(&docs)?;
        match &self.chars {
            Some(c) => {
                let text: Vec<&str> = rows.iter().map(|&i| raw[i].as_str()).collect();
                hstack(&[&xw, &c.transform(&text)?])
            }
            None => Ok(xw),
        }
    }
}

/// The word vectorizer as configured, with the tokenizer the view needs.
fn word_config(config: &TfidfLinearConfig) -> Tfidf {
    let tokenizer = match config.view {
        TextView::Classic => Tokenizer::Whitespace,
        TextView::Raw => Tokenizer::Pattern,
    };
    config.word.clone().tokenizer(tokenizer)
}

/// Tags every text once when the view is classic (the slow step), else `None`.
fn tag_all(config: &TfidfLinearConfig, raw: &[String]) -> Option<Vec<Vec<String>>> {
    match config.view {
        TextView::Classic => Some(classic_tokens_all(raw, &config.classic)),
        TextView::Raw => None,
    }
}

impl Fit for TfidfLinearConfig {
    type Model = TfidfLinear;

    fn fit(&self, train: &Dataset) -> Result<TfidfLinear> {
        self.validate()?;
        let t0 = Instant::now();
        let labels = Labels::from_dataset(train)?;
        let y = labels.encode(train)?;
        let k = labels.len();
        if k < 2 {
            return Err(Error::Config(format!(
                "need at least 2 genres to train, found {k}"
            )));
        }
        let raw = base_view(self, train);
        let tagged = tag_all(self, &raw);
        let view_seconds = t0.elapsed().as_secs_f64();
        let mut report = FitReport {
            view_seconds,
            ..FitReport::default()
        };

        let mut c = self.c;
        if self.c_grid.len() > 1 {
            let t = Instant::now();
            let inner = train.split(
                SplitConfig::new()
                    .ratios(1.0 - self.val_fraction, self.val_fraction, 0.0)
                    .seed(self.seed),
            )?;
            let index: std::collections::HashMap<u64, usize> = train
                .ids()
                .into_iter()
                .enumerate()
                .map(|(i, id)| (id, i))
                .collect();
            let pos = |side: &Dataset| -> Vec<usize> {
                side.ids()
                    .iter()
                    .filter_map(|id| index.get(id).copied())
                    .collect()
            };
            let (tr, va) = (pos(&inner.train), pos(&inner.val));
            let (vecs, xtr) = Vectorizers::fit(self, &raw, tagged.as_deref(), &tr)?;
            let xva = vecs.transform(&raw, tagged.as_deref(), &va)?;
            let ytr: Vec<usize> = tr.iter().map(|&i| y[i]).collect();
            let yva: Vec<usize> = va.iter().map(|&i| y[i]).collect();
            let mut best: Option<(f32, f64)> = None;
            for &cand in &self.c_grid {
                let m = self.solver(cand).fit(&xtr, &ytr, k)?;
                let pred = m.predict(&xva)?;
                let r = ClassificationReport::new(&yva, &pred, &labels)?;
                report.tuning.push((cand, r.macro_f1(), r.accuracy()));
                if best.is_none_or(|(_, f)| r.macro_f1() > f) {
                    best = Some((cand, r.macro_f1()));
                }
            }
            c = best.map_or(self.c, |(c, _)| c);
            report.tuning_seconds = t.elapsed().as_secs_f64();
        } else if let Some(&only) = self.c_grid.first() {
            c = only;
        }

        let all: Vec<usize> = (0..train.len()).collect();
        let t = Instant::now();
        let (vecs, x) = Vectorizers::fit(self, &raw, tagged.as_deref(), &all)?;
        report.vectorize_seconds = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let model = self.solver(c).fit(&x, &y, k)?;
        report.model_seconds = t.elapsed().as_secs_f64();
        report.chosen_c = c;
        report.train_rows = train.len();
        report.n_features = x.cols();
        report.total_seconds = t0.elapsed().as_secs_f64();

        let mut config = self.clone();
        config.c = c;
        Ok(TfidfLinear {
            config,
            labels,
            vecs,
            model,
            report,
        })
    }
}

/// What `model.json` holds for this pipeline.
#[derive(Serialize, Deserialize)]
struct SavedConfig {
    #[serde(flatten)]
    meta: ModelMeta,
    config: TfidfLinearConfig,
    fit_report: FitReport,
}

impl TfidfLinear {
    /// The options it was fitted with (`c` is the one picked by tuning).
    pub fn config(&self) -> &TfidfLinearConfig {
        &self.config
    }

    /// Tuning results and stage timings of the fit.
    pub fn fit_report(&self) -> &FitReport {
        &self.report
    }

    /// The fitted word vectorizer.
    pub fn word_vectorizer(&self) -> &FittedTfidf {
        &self.vecs.word
    }

    /// The linear model.
    pub fn linear(&self) -> &LinearModel {
        &self.model
    }

    /// The feature matrix of `data`, exactly as the model sees it.
    pub fn features(&self, data: &Dataset) -> Result<Csr> {
        let raw = base_view(&self.config, data);
        let tagged = self
            .vecs
            .classic
            .as_ref()
            .map(|view| classic_tokens_all(&raw, view.config()));
        let all: Vec<usize> = (0..data.len()).collect();
        self.vecs.transform(&raw, tagged.as_deref(), &all)
    }

    /// Loads a model written by [`Classifier::save`].
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |name: &str| -> Result<String> {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))
        };
        let json = |name: &str, e: serde_json::Error| Error::Format {
            path: dir.join(name),
            message: format!("cannot read it: {e}"),
        };
        let saved: SavedConfig =
            serde_json::from_str(&read("model.json")?).map_err(|e| json("model.json", e))?;
        if saved.meta.pipeline != PIPELINE {
            return Err(Error::Format {
                path: dir.join("model.json"),
                message: format!("pipeline is `{}`, not {PIPELINE}", saved.meta.pipeline),
            });
        }
        let labels: Labels =
            serde_json::from_str(&read("labels.json")?).map_err(|e| json("labels.json", e))?;
        let word: FittedTfidf = serde_json::from_str(&read("tfidf_word.json")?)
            .map_err(|e| json("tfidf_word.json", e))?;
        let chars = if saved.config.chars.is_some() {
            Some(
                serde_json::from_str(&read("tfidf_char.json")?)
                    .map_err(|e| json("tfidf_char.json", e))?,
            )
        } else {
            None
        };
        let classic = if saved.config.view == TextView::Classic {
            Some(
                serde_json::from_str(&read("classic_view.json")?)
                    .map_err(|e| json("classic_view.json", e))?,
            )
        } else {
            None
        };
        let model = LinearModel::load(dir)?;
        let n_features = word.n_features() + chars.as_ref().map_or(0, FittedTfidf::n_features);
        if model.n_features() != n_features || model.n_classes() != labels.len() {
            return Err(Error::Format {
                path: dir.to_path_buf(),
                message: format!(
                    "weights are {} classes × {} features but labels.json has {} genres and the \
                     vectorizers {} columns",
                    model.n_classes(),
                    model.n_features(),
                    labels.len(),
                    n_features
                ),
            });
        }
        Ok(TfidfLinear {
            config: saved.config,
            labels,
            vecs: Vectorizers {
                classic,
                word,
                chars,
            },
            model,
            report: saved.fit_report,
        })
    }
}

impl Classifier for TfidfLinear {
    fn pipeline(&self) -> &str {
        PIPELINE
    }

    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn scores(&self, data: &Dataset) -> Result<Dense> {
        self.model.decision_function(&self.features(data)?)
    }

    fn predict_proba(&self, data: &Dataset) -> Result<Option<Dense>> {
        self.model.predict_proba(&self.features(data)?)
    }

    fn params(&self) -> Vec<(String, String)> {
        self.config.params()
    }

    fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let write = |name: &str, text: String| -> Result<()> {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
        };
        let saved = SavedConfig {
            meta: ModelMeta::new(PIPELINE),
            config: self.config.clone(),
            fit_report: self.report.clone(),
        };
        write("model.json", serde_json::to_string_pretty(&saved)?)?;
        write("labels.json", serde_json::to_string_pretty(&self.labels)?)?;
        write("tfidf_word.json", serde_json::to_string(&self.vecs.word)?)?;
        if let Some(c) = &self.vecs.chars {
            write("tfidf_char.json", serde_json::to_string(c)?)?;
        }
        if let Some(v) = &self.vecs.classic {
            write("classic_view.json", serde_json::to_string(v)?)?;
        }
        self.model.save(dir)
    }
}
