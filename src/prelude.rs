//! One import for notebook cells and scripts: `use genre_nlp::prelude::*;`.

pub use crate::data::{
    data_file, Dataset, Labels, LoadOptions, Mode, Side, Split, SplitConfig, SplitManifest,
};
pub use crate::display::Table;
pub use crate::eda::{duplicate_texts, genre_table, length_stats, top_terms, top_terms_wide};
pub use crate::error::{Error, Result};
pub use crate::eval::{ClassificationReport, ConfusionMatrix, Curves};
pub use crate::text::*;
pub use crate::track::{Mlflow, MlflowConfig, MlflowTracker, NoopTracker, RunStatus, Tracker};
