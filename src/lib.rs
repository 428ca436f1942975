//! # genre_nlp
//!
//! Classify a movie's genre (27 classes) from its plot summary, and compare text
//! representations and model families along the way. The modules are the stages of the study,
//! in the order data flows through them:
//!
//! - [`data`]: load Kaggle ` ::: ` files and CSV into a [`data::Dataset`], labels, stratified splits;
//! - [`text`]: the two text views, `neural_text` (minimal clean) and `classic_text`
//!   (tokens, stopwords, POS filter, lemmas, learned bigram phrases);
//! - [`eda`]: summaries returned as polars DataFrames;
//! - [`features`]: sparse BoW / TF-IDF and truncated SVD;
//! - [`models`]: the [`models::Classifier`] trait, saved models, linear baselines;
//! - [`eval`]: accuracy, per-class / macro / weighted F1, confusion matrix, one-vs-rest PR and
//!   ROC curves with AUC, defined as scikit-learn defines them;
//! - [`plot`]: figures as PNG / SVG files and inline notebook images;
//! - [`display`]: tables that show themselves inline in evcxr notebooks;
//! - [`nn`]: candle building blocks (FFNN layers) that know nothing of datasets;
//! - [`train`]: the training loop every network shares (AdamW, schedules, losses, early
//!   stopping, checkpoints, history);
//! - [`study`]: runs (representation × model) experiments on one split, each a nested MLflow
//!   run, and gathers the results table, the family and latency charts and the submission;
//! - [`track`]: MLflow tracking over REST (retries, chunking, offline outbox) behind a [`track::Tracker`] trait.
//!
//! Notebook cells start with `use genre_nlp::prelude::*;`.

pub mod data;
pub mod display;
pub mod eda;
pub mod error;
pub mod eval;
pub mod features;
pub mod models;
pub mod nn;
pub mod plot;
pub mod prelude;
pub mod progress;
pub mod seed;
pub mod study;
pub mod text;
pub mod track;
pub mod train;

pub use error::{Error, Result};
/// Re-exported so notebook cells can name polars types (`genre_nlp::polars::prelude::DataFrame`)
/// without a second, possibly different, polars version.
pub use polars;
