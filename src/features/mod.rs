//! Features: vectorizers from text views to numbers.
//!
//! - [`matrix`]: the sparse [`Csr`] and dense [`Dense`] matrices and [`RowMatrix`];
//! - [`tfidf`]: bag-of-words and TF-IDF vectorizers (word and character n-grams), sparse output;
//! - [`representation`]: [`Representation`] (fitted on the training side, [`Features`] out) and
//!   [`TextFeatures`] (view → BoW / TF-IDF → SVD → standardisation);
//! - [`svd`]: truncated randomized SVD (Halko et al.) straight on the sparse matrix.

pub mod matrix;
pub mod representation;
pub mod svd;
pub mod tfidf;

pub use matrix::{csr_from_rows, hstack, Csr, Dense, RowMatrix};
pub use representation::{
    Features, FittedTextFeatures, Representation, Scaler, TextFeatures, TextView, Weighting,
};
pub use svd::{FittedSvd, Svd};
pub use tfidf::{Analyzer, DocFreq, FittedTfidf, Norm, Tfidf, Tokenizer};
