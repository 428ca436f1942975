//! Experiment tracking: a complete MLflow REST client ([`Mlflow`]) with retries, chunked
//! `log-batch` and an offline [`Outbox`] that replays what an outage held back, and the
//! [`Tracker`] face the study logs through ([`MlflowTracker`], [`NoopTracker`]).
//!
//! ```no_run
//! use genre_nlp::track::{Tracker, RunStatus};
//! # fn main() -> genre_nlp::Result<()> {
//! // MLflowTracker when MLFLOW_TRACKING_URI is set, a no-op tracker otherwise.
//! let mut tracker = genre_nlp::track::from_env("movie-genre-nlp")?;
//! tracker.start_run("tfidf+ffnn")?;
//! tracker.log_param("max_features", "50000")?;
//! for step in 0..10 {
//!     tracker.log_metric("loss", 1.0 / (step + 1) as f64, step)?;
//! }
//! tracker.end_run(RunStatus::Finished)?;
//! # Ok(()) }
//! ```
//!
//! Configuration comes from the standard variables (`MLFLOW_TRACKING_URI`,
//! `MLFLOW_EXPERIMENT_NAME`, `MLFLOW_TRACKING_TOKEN` or `MLFLOW_TRACKING_USERNAME` /
//! `MLFLOW_TRACKING_PASSWORD`, `MLFLOW_TRACKING_INSECURE_TLS`); credentials never appear in
//! `Debug` output or errors.

pub mod client;
pub mod config;
pub mod outbox;
pub mod system;
pub mod tracker;
pub mod types;

pub use client::{Mlflow, SyncReport};
pub use config::{Auth, MlflowConfig, NonFinite, RetryPolicy, Secret, DEFAULT_OUTBOX_DIR};
pub use outbox::{Outbox, OutboxStatus};
pub use system::{SystemSample, SystemSampler};
pub use tracker::{
    dataset_input, from_env, run_source, run_user, MlflowTracker, NoopTracker, Tracker,
    EXPERIMENT_KIND, EXPERIMENT_KIND_TAG,
};
pub use types::{
    validate_key, Batch, DatasetInfo, DatasetInput, Experiment, FileInfo, LoggedModel,
    LoggedModelData, LoggedModelInfo, Metric, ModelOutput, Param, Run, RunData, RunInfo, RunInputs,
    RunOutputs, RunStatus, Tag, DATASET_CONTEXT_TAG, LOGGED_MODEL_READY,
    LOGGED_MODEL_UPLOAD_FAILED,
};
