//! Sentence-embedding representations (the `minilm-…` pipelines): each row's text through a
//! [`SentenceEncoder`], optionally standardised on the training rows, cached on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::features::cache::EmbeddingCache;
use crate::features::representation::{Features, Representation, Scaler};
use crate::features::sentence::{default_model_dir, EncoderOptions, SentenceEncoder};
use crate::text::TextFields;
use crate::train::config::{bad_value, parse_value};

/// Options of a sentence-embedding representation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentenceFeatures {
    /// Model directory (`None`: all-MiniLM-L6-v2 in `$GENRE_NLP_TOOLS/assets`).
    pub model_dir: Option<PathBuf>,
    /// Fields that make the text (the neural view of them is embedded).
    pub fields: TextFields,
    /// Word pieces kept per text.
    pub max_length: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// Standardise each column on the training rows.
    pub standardize: bool,
    /// Read and write the embedding cache.
    pub cache: bool,
    /// The cache's folder (`None`: [`EmbeddingCache::default_dir`]).
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
}

impl Default for SentenceFeatures {
    fn default() -> Self {
        SentenceFeatures {
            model_dir: None,
            fields: TextFields::TitlePlot,
            max_length: 256,
            batch_size: 32,
            standardize: true,
            cache: true,
            cache_dir: None,
        }
    }
}

/// Keys [`SentenceFeatures::set`] accepts.
pub const SENTENCE_KEYS: &[&str] = &[
    "model_dir (path of a sentence-transformers / HF BERT directory)",
    "fields (plot|title_plot)",
    "max_length (word pieces, 2..=512)",
    "embed_batch_size (texts per encoder forward pass)",
    "standardize (true|false)",
    "cache (true|false)",
    "cache_dir (path; default $GENRE_CACHE_DIR or artifacts/cache)",
];

impl SentenceFeatures {
    /// all-MiniLM-L6-v2, title + plot, 256 word pieces, standardised, cached.
    pub fn minilm() -> Self {
        Self::default()
    }

    /// The pipeline-name part.
    pub fn name(&self) -> String {
        "minilm".into()
    }

    /// Applies `key=value`; `Ok(false)` when the key is not one of [`SENTENCE_KEYS`].
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        match key.trim() {
            "model_dir" => self.model_dir = Some(PathBuf::from(v)),
            "fields" => {
                self.fields = match v {
                    "plot" => TextFields::Plot,
                    "title_plot" | "title+plot" => TextFields::TitlePlot,
                    _ => return Err(bad_value(key, v, "plot|title_plot")),
                }
            }
            "max_length" => self.max_length = parse_value(key, v)?,
            "embed_batch_size" => self.batch_size = parse_value(key, v)?,
            "standardize" => self.standardize = parse_value(key, v)?,
            "cache" => self.cache = parse_value(key, v)?,
            "cache_dir" => self.cache_dir = Some(PathBuf::from(v)),
            _ => return Ok(false),
        }
        self.validate()?;
        Ok(true)
    }

    /// Checks the options.
    pub fn validate(&self) -> Result<()> {
        if !(2..=512).contains(&self.max_length) {
            return Err(bad_value(
                "max_length",
                &self.max_length.to_string(),
                "an integer in 2..=512",
            ));
        }
        if self.batch_size == 0 {
            return Err(bad_value("embed_batch_size", "0", "an integer ≥ 1"));
        }
        Ok(())
    }

    /// Loads the encoder these options name.
    pub fn encoder(&self) -> Result<SentenceEncoder> {
        let dir = match &self.model_dir {
            Some(d) => crate::nn::hub::resolve_model_dir(d)?,
            None => default_model_dir(),
        };
        let enc = SentenceEncoder::from_dir(dir)?.with_options(
            EncoderOptions::default()
                .max_length(self.max_length)
                .batch_size(self.batch_size),
        )?;
        Ok(if self.cache {
            enc.with_cache(match &self.cache_dir {
                Some(d) => EmbeddingCache::new(d),
                None => EmbeddingCache::open_default(),
            })
        } else {
            enc
        })
    }

    /// Embeds `train` and fits the standardisation on it.
    pub fn fit_transform(&self, train: &Dataset) -> Result<(FittedSentenceFeatures, Features)> {
        self.validate()?;
        let encoder = Arc::new(self.encoder()?);
        let x = encoder.embed(&train.neural_text(self.fields))?;
        let scaler = self.standardize.then(|| Scaler::fit(&x));
        let x = match &scaler {
            Some(s) => s.apply(x),
            None => x,
        };
        let model_sha256 = encoder.model_sha256().to_string();
        Ok((
            FittedSentenceFeatures {
                config: self.clone(),
                encoder,
                model_sha256,
                scaler,
            },
            Features::Dense(x),
        ))
    }
}

/// A fitted [`SentenceFeatures`]: the loaded encoder and the training rows' scaler.
#[derive(Debug, Clone)]
pub struct FittedSentenceFeatures {
    config: SentenceFeatures,
    encoder: Arc<SentenceEncoder>,
    model_sha256: String,
    scaler: Option<Scaler>,
}

/// What a saved pipeline keeps of its sentence encoder (the weights stay where they are).
#[derive(Serialize, Deserialize)]
struct SavedSentence {
    model_dir: PathBuf,
    model_sha256: String,
    dim: usize,
    scaler_mean: Option<Vec<f32>>,
    scaler_inv_std: Option<Vec<f32>>,
}

const SENTENCE_FILE: &str = "sentence_encoder.json";

impl FittedSentenceFeatures {
    /// The options it was fitted with.
    pub fn config(&self) -> &SentenceFeatures {
        &self.config
    }

    /// The encoder.
    pub fn encoder(&self) -> &SentenceEncoder {
        &self.encoder
    }

    /// Reads what [`Representation::save`] wrote; the model directory must hold the same
    /// weights (checked by sha256).
    pub fn load(dir: &Path, config: SentenceFeatures) -> Result<Self> {
        let path = dir.join(SENTENCE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let saved: SavedSentence = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: path.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        let mut config = config;
        if config.model_dir.is_none() && !default_model_dir().is_dir() {
            config.model_dir = Some(saved.model_dir.clone());
        }
        let encoder = Arc::new(config.encoder()?);
        if encoder.model_sha256() != saved.model_sha256 {
            return Err(Error::Format {
                path,
                message: format!(
                    "the model was trained on encoder weights with sha256 {}, but {} holds {}",
                    saved.model_sha256,
                    encoder.dir().display(),
                    encoder.model_sha256()
                ),
            });
        }
        let scaler = match (saved.scaler_mean, saved.scaler_inv_std) {
            (Some(mean), Some(inv_std)) => Some(Scaler::from_parts(mean, inv_std)),
            _ => None,
        };
        Ok(FittedSentenceFeatures {
            config,
            encoder,
            model_sha256: saved.model_sha256,
            scaler,
        })
    }
}

impl Representation for FittedSentenceFeatures {
    fn name(&self) -> String {
        self.config.name()
    }

    fn dim(&self) -> usize {
        self.encoder.dim()
    }

    fn sparse(&self) -> bool {
        false
    }

    fn transform(&self, data: &Dataset) -> Result<Features> {
        let x = self.encoder.embed(&data.neural_text(self.config.fields))?;
        Ok(Features::Dense(match &self.scaler {
            Some(s) => s.apply(x),
            None => x,
        }))
    }

    fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let model_dir = std::fs::canonicalize(self.encoder.dir())
            .unwrap_or_else(|_| self.encoder.dir().to_path_buf());
        let saved = SavedSentence {
            model_dir,
            model_sha256: self.model_sha256.clone(),
            dim: self.encoder.dim(),
            scaler_mean: self.scaler.as_ref().map(|s| s.mean().to_vec()),
            scaler_inv_std: self.scaler.as_ref().map(|s| s.inv_std().to_vec()),
        };
        let p = dir.join(SENTENCE_FILE);
        std::fs::write(&p, serde_json::to_string_pretty(&saved)?).map_err(|e| Error::io(&p, e))
    }
}
