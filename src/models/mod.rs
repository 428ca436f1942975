//! Models: the [`Classifier`] trait every family implements, the saved-model directory format,
//! and the families themselves.
//!
//! - [`linear`]: one-vs-rest linear SVM and multinomial logistic regression on sparse or
//!   dense features;
//! - [`tfidf_linear`]: the `tfidf-linear` pipeline (text view → TF-IDF → linear model);
//! - [`ffnn`]: the FFNN model on any dense or sparse representation;
//! - [`rnn`]: (bi)GRU / (bi)LSTM over the tokens of a word-vector representation;
//! - [`linear_head`]: a linear model on any representation (`minilm-linear`);
//! - [`finetune`]: a BERT-family encoder fine-tuned with a classification head
//!   (`minilm-finetune`);
//! - [`pipeline`]: composed pipelines (representation × model: `tfidf-svd-ffnn`, ...);
//! - [`evaluate()`]: every metric of a model on labelled data.
//!
//! A saved model is a directory holding `model.json` (`{"pipeline": "...", "format": 1, ...}`
//! plus the options it was fitted with), `labels.json` and the state the pipeline needs
//! (fitted vectorizers, weights). [`load`] reads any of them back by its `pipeline` name.

pub mod classifier;
pub mod evaluate;
pub mod ffnn;
pub mod finetune;
pub mod linear;
pub mod linear_head;
pub mod pipeline;
pub mod rnn;
pub mod tfidf_linear;

pub use classifier::{argmax_rows, flatten_params, load, Classifier, Fit, ModelMeta, MODEL_FORMAT};
pub use evaluate::{evaluate, Evaluation};
pub use ffnn::{FfnnConfig, FfnnModel};
pub use finetune::{FinetuneConfig, FinetuneModel, FinetunePooling, LatencyProbe};
pub use linear_head::LinearHeadConfig;
pub use pipeline::{
    FittedModel, FittedRepresentation, ModelSpec, Pipeline, PipelineConfig, PipelineFitOptions,
    PipelineReport, RepresentationSpec, PIPELINES,
};
pub use rnn::{RnnConfig, RnnModel, RnnPooling, RnnShape, Sequences, TokenVocab};
pub use tfidf_linear::{FitReport, Head, TextView, TfidfLinear, TfidfLinearConfig};
