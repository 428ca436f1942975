//! Features: vectorizers from text views to numbers.
//!
//! - [`matrix`]: the sparse [`Csr`] and dense [`Dense`] matrices and [`RowMatrix`];
//! - [`tfidf`]: bag-of-words and TF-IDF vectorizers (word and character n-grams), sparse output;
//! - [`representation`]: [`Representation`] (fitted on the training side, [`Features`] out) and
//!   [`TextFeatures`] (view → BoW / TF-IDF → SVD → standardisation);
//! - [`sentence`]: sentence embeddings (MiniLM: tokenizer, encoder, mean pooling), length-sorted;
//! - [`embedding`]: sentence embeddings as a representation (`minilm-…` pipelines);
//! - [`word_pieces`]: word-piece ids for a fine-tuned encoder (`minilm-finetune`);
//! - [`cache`]: the on-disk embedding cache (`artifacts/cache/`);
//! - [`svd`]: truncated randomized SVD (Halko et al.) straight on the sparse matrix;
//! - [`wordvec`]: word vectors (Word2Vec / FastText training, GloVe / spaCy tables, word2vec and
//!   fastText formats, mean / TF-IDF / SIF pooling, neighbours) and the `w2v-…`, `fasttext-…`,
//!   `glove-…`, `spacy-…` representations.

pub mod cache;
pub mod embedding;
pub mod matrix;
pub mod representation;
pub mod sentence;
pub mod svd;
pub mod tfidf;
pub mod word_pieces;
pub mod wordvec;

pub use cache::{CacheSpace, EmbeddingCache};
pub use embedding::{FittedSentenceFeatures, SentenceFeatures};
pub use matrix::{csr_from_rows, hstack, Csr, Dense, RowMatrix};
pub use representation::{
    Features, FittedTextFeatures, Representation, Scaler, TextFeatures, TextView, Weighting,
};
pub use sentence::{EmbedReport, EncoderOptions, SentenceEncoder};
pub use svd::{FittedSvd, Svd};
pub use tfidf::{Analyzer, DocFreq, FittedTfidf, Norm, Tfidf, Tokenizer};
pub use word_pieces::WordPieces;
pub use wordvec::{
    Architecture, FastTextConfig, FittedWordVectorFeatures, Neighbour, PoolConfig, Pooler, Pooling,
    VectorFormat, VectorSource, Word2VecConfig, WordVectorFeatures, WordVectors,
};
