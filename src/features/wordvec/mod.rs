//! Word vectors: training (Word2Vec skip-gram / CBOW, FastText with hashed character n-grams),
//! the word2vec text / binary and fastText `.vec` formats, GloVe text, document pooling (mean,
//! TF-IDF-weighted mean, SIF) and nearest neighbours / analogies; the pretrained GloVe 6B 50d and
//! spaCy en_core_web_md tables ([`pretrained`]); document vectors as a pipeline
//! representation ([`representation`]: the `w2v-…`, `fasttext-…`, `glove-…`, `spacy-…` parts).
//!
//! The Word2Vec / FastText trainer is written here rather than taken from a crate: see the
//! README ("Written by hand, and why").

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};

pub mod fasttext;
pub mod io;
pub mod neighbours;
pub mod pool;
pub mod pretrained;
pub mod representation;
pub mod vocab;
pub mod word2vec;

pub use fasttext::{FastTextConfig, Subwords};
pub use io::VectorFormat;
pub use neighbours::Neighbour;
pub use pool::{PoolConfig, Pooler, Pooling};
pub use pretrained::{glove_dir, murmurhash64a, spacy_dir, GLOVE_DIR, SPACY_DIR};
pub use representation::{FittedWordVectorFeatures, VectorSource, WordVectorFeatures};
pub use vocab::Vocab;
pub use word2vec::{Architecture, TrainStats, Word2VecConfig};

/// A configuration error naming the offending field: ``invalid configuration: word vectors:
/// `field` msg``.
pub(crate) fn config_err(field: &str, msg: impl Into<String>) -> Error {
    Error::Config(format!("word vectors: `{field}` {}", msg.into()))
}

/// Whether `w` can be stored in the word2vec formats: not empty, no ASCII space, tab, CR or LF
/// (other Unicode spaces are allowed, as in GloVe and fastText files).
pub(crate) fn valid_word(w: &str) -> bool {
    !w.is_empty() && !w.bytes().any(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A table of word vectors: `words[i]` has the row `data[i * dim..(i + 1) * dim]`. FastText
/// vectors also carry their n-gram buckets, so out-of-vocabulary words get a vector too.
#[derive(Debug, Clone)]
pub struct WordVectors {
    words: Vec<String>,
    index: FxHashMap<String, usize>,
    dim: usize,
    data: Vec<f32>,
    subwords: Option<Subwords>,
}

impl WordVectors {
    /// Builds a table from words and their row-major vectors.
    ///
    /// Errors when `dim` is 0, when `data` is not `words.len() × dim` long, or when a word is
    /// empty, contains whitespace or is repeated.
    pub fn new(words: Vec<String>, dim: usize, data: Vec<f32>) -> Result<Self> {
        if dim == 0 {
            return Err(config_err("dim", "must be ≥ 1"));
        }
        if data.len() != words.len() * dim {
            return Err(config_err(
                "data",
                format!(
                    "has {} values, expected {} words × {dim}",
                    data.len(),
                    words.len()
                ),
            ));
        }
        let mut index = FxHashMap::default();
        index.reserve(words.len());
        for (i, w) in words.iter().enumerate() {
            if !valid_word(w) {
                return Err(config_err(
                    "words",
                    format!("word {i} ({w:?}) is empty or contains a space, tab or newline"),
                ));
            }
            if index.insert(w.clone(), i).is_some() {
                return Err(config_err("words", format!("word {w:?} appears twice")));
            }
        }
        Ok(Self {
            words,
            index,
            dim,
            data,
            subwords: None,
        })
    }

    /// Attaches FastText n-gram vectors (their dimension must match).
    pub fn with_subwords(mut self, subwords: Subwords) -> Result<Self> {
        if subwords.dim != self.dim || subwords.data.len() != subwords.rows.len() * self.dim {
            return Err(config_err(
                "subwords",
                format!("dimension {} does not match {}", subwords.dim, self.dim),
            ));
        }
        self.subwords = Some(subwords);
        Ok(self)
    }

    /// Adds other spellings for existing rows (spaCy maps many strings onto one vector):
    /// `index_of(alias)` then gives `row`. Rows stay as they are, so [`WordVectors::words`],
    /// the files written and the neighbour lists show one word per row. An alias that is
    /// already a word or an alias, or whose row is out of range, is skipped.
    pub fn with_aliases(mut self, aliases: impl IntoIterator<Item = (String, usize)>) -> Self {
        for (w, row) in aliases {
            if row < self.words.len() {
                self.index.entry(w).or_insert(row);
            }
        }
        self
    }

    /// Number of words that find a vector through [`WordVectors::index_of`] (rows and aliases).
    pub fn n_lookup_words(&self) -> usize {
        self.index.len()
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the table has no word.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The words, by row.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// All vectors, row-major (`len() × dim()`).
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The FastText n-gram vectors, if any.
    pub fn subwords(&self) -> Option<&Subwords> {
        self.subwords.as_ref()
    }

    /// The row of `word`, if in the vocabulary.
    pub fn index_of(&self, word: &str) -> Option<usize> {
        self.index.get(word).copied()
    }

    /// The vector of row `i`. Panics if `i >= len()` (rows come from `index_of` or `0..len()`).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The stored vector of an in-vocabulary `word`.
    pub fn get(&self, word: &str) -> Option<&[f32]> {
        self.index_of(word).map(|i| self.row(i))
    }

    /// The vector of `word`: its stored row, or for FastText vectors an out-of-vocabulary
    /// word's mean n-gram vector. `None` when neither exists.
    pub fn vector(&self, word: &str) -> Option<Cow<'_, [f32]>> {
        if let Some(v) = self.get(word) {
            return Some(Cow::Borrowed(v));
        }
        self.subwords
            .as_ref()
            .and_then(|s| s.oov_vector(word))
            .map(Cow::Owned)
    }
}
