//! One import for notebook cells and scripts: `use genre_nlp::prelude::*;`.

pub use crate::data::{
    data_file, Dataset, Labels, LoadOptions, Mode, Side, Split, SplitConfig, SplitManifest,
};
pub use crate::display::Table;
pub use crate::eda::{
    document_clusters, duplicate_texts, genre_table, length_stats, top_terms, top_terms_wide,
    Clusters,
};
pub use crate::error::{Error, Result};
pub use crate::eval::{ClassificationReport, ConfusionMatrix, Curves};
pub use crate::features::{
    Architecture, FastTextConfig, FittedWordVectorFeatures, PoolConfig, Pooling, VectorFormat,
    VectorSource, Word2VecConfig, WordVectorFeatures, WordVectors,
};
pub use crate::features::{
    Csr, Dense, EmbeddingCache, EncoderOptions, Features, FittedSvd, FittedTextFeatures,
    FittedTfidf, Representation, SentenceEncoder, SentenceFeatures, Svd, TextFeatures, Tfidf,
};
pub use crate::models::linear::{ClassWeight, LinearSvc, LogisticRegression};
pub use crate::models::{
    evaluate, load as load_model, Classifier, Evaluation, FfnnConfig, Fit, Head, LinearHeadConfig,
    ModelSpec, Pipeline, PipelineConfig, PipelineFitOptions, RepresentationSpec, RnnConfig,
    RnnPooling, TextView, TfidfLinear, TfidfLinearConfig,
};
pub use crate::nn::{Activation, Cell};
pub use crate::plot;
pub use crate::plot::{FamilyScore, Figure, ModelLatency, PlotConfig, TrainingCurves};
pub use crate::study::{
    Experiment, ExperimentResult, Family, Profile, Study, StudyConfig, StudyFiles, Submission,
};
pub use crate::text::*;
pub use crate::track::{Mlflow, MlflowConfig, MlflowTracker, NoopTracker, RunStatus, Tracker};
pub use crate::train::{History, LossKind, Schedule, TrainConfig};
