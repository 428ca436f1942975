//! The [`Classifier`] trait, [`Fit`] for configurations that train one, and [`load`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Labels};
use crate::error::{Error, Result};
use crate::features::Dense;

/// Version of the saved-model directory layout written by this crate.
pub const MODEL_FORMAT: u32 = 1;

/// A trained text classifier: from a [`Dataset`]'s rows (title + plot) to genre scores.
///
/// Every family implements it; `genre predict` / `genre evaluate` work through it.
pub trait Classifier: Send + Sync {
    /// The pipeline name written in `model.json` (e.g. `"tfidf-linear"`).
    fn pipeline(&self) -> &str;

    /// The genres, in score-column order.
    fn labels(&self) -> &Labels;

    /// Decision scores: one row per input row, one column per genre; higher means more likely.
    fn scores(&self, data: &Dataset) -> Result<Dense>;

    /// Class probabilities (rows sum to 1) when the model has them, else `None`.
    fn predict_proba(&self, data: &Dataset) -> Result<Option<Dense>>;

    /// Label index of the best score per row (ties: the lower index, as numpy's argmax).
    fn predict(&self, data: &Dataset) -> Result<Vec<usize>> {
        Ok(argmax_rows(&self.scores(data)?))
    }

    /// Genre name of the best score per row.
    fn predict_genres(&self, data: &Dataset) -> Result<Vec<String>> {
        let labels = self.labels();
        Ok(self
            .predict(data)?
            .into_iter()
            .map(|i| labels.name(i).unwrap_or("?").to_string())
            .collect())
    }

    /// The options it was fitted with, flattened to `key → value` (for tracking).
    fn params(&self) -> Vec<(String, String)>;

    /// Writes the model into `dir` (created if missing); [`load`] reads it back.
    fn save(&self, dir: &Path) -> Result<()>;
}

/// A configuration that trains a [`Classifier`] on labelled data.
pub trait Fit {
    /// The trained model.
    type Model: Classifier;

    /// Trains on `train` (labelled; unknown or missing genres are an error).
    fn fit(&self, train: &Dataset) -> Result<Self::Model>;
}

/// The part of `model.json` every pipeline shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Pipeline name, e.g. `"tfidf-linear"`.
    pub pipeline: String,
    /// Layout version ([`MODEL_FORMAT`]).
    pub format: u32,
    /// Crate version that wrote it.
    pub crate_version: String,
}

impl ModelMeta {
    /// Meta for `pipeline`, written by this crate version.
    pub fn new(pipeline: &str) -> Self {
        ModelMeta {
            pipeline: pipeline.to_string(),
            format: MODEL_FORMAT,
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Reads `dir/model.json`'s shared part, with errors naming the file.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("model.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let meta: ModelMeta = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: path.clone(),
            message: format!("not a genre_nlp model.json: {e}"),
        })?;
        if meta.format != MODEL_FORMAT {
            return Err(Error::Format {
                path,
                message: format!(
                    "model format {} is not supported (this build reads format {MODEL_FORMAT})",
                    meta.format
                ),
            });
        }
        Ok(meta)
    }
}

/// Loads a model saved by [`Classifier::save`] from `dir`, whatever its pipeline.
pub fn load(dir: impl AsRef<Path>) -> Result<Box<dyn Classifier>> {
    let dir = dir.as_ref();
    let meta = ModelMeta::read(dir)?;
    match meta.pipeline.as_str() {
        crate::models::tfidf_linear::PIPELINE => Ok(Box::new(
            crate::models::tfidf_linear::TfidfLinear::load(dir)?,
        )),
        other if crate::models::pipeline::PipelineConfig::from_name(other).is_ok() => {
            Ok(Box::new(crate::models::pipeline::Pipeline::load(dir)?))
        }
        other => Err(Error::Format {
            path: dir.join("model.json"),
            message: format!(
                "unknown pipeline `{other}` (known: {})",
                crate::models::pipeline::PIPELINES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// Flattens a JSON value into `prefix.key → value` pairs (strings unquoted), for tracking.
pub fn flatten_params(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_params(&key, v, out);
            }
        }
        serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Index of the largest value in each row (first one on ties).
pub fn argmax_rows(scores: &Dense) -> Vec<usize> {
    scores
        .rows()
        .into_iter()
        .map(|row| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect()
}
