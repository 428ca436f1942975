//! Bag-of-words and TF-IDF vectorizers with scikit-learn's options and definitions, sparse
//! output ([`Csr`]), fitted on training documents only and applied to any side.
//!
//! Definitions follow scikit-learn's `CountVectorizer` / `TfidfVectorizer`:
//! - tokens: [`Tokenizer::Pattern`] keeps maximal runs of 2+ word characters (`(?u)\b\w\w+\b`),
//!   [`Tokenizer::Whitespace`] splits on whitespace (for pre-tokenised text such as
//!   `classic_text`, whose phrases are joined by `_`);
//! - word n-grams join tokens with one space; [`Analyzer::CharWb`] makes character n-grams
//!   inside each whitespace-separated word padded with one space on each side;
//! - vocabulary: terms with `min_df ≤ df ≤ max_df`, then the `max_features` most frequent ones
//!   (total count in the corpus, ties alphabetical); columns are in alphabetical order;
//! - `idf = ln((1 + n) / (1 + df)) + 1` (smooth) or `ln(n / df) + 1`;
//! - `tf` is the raw count, `1 + ln(count)` with `sublinear_tf`, or 1 with `binary`;
//! - rows are scaled to unit L2 (or L1) norm unless `norm` is [`Norm::None`].

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::matrix::{csr_from_rows, Csr};

mod words;

/// How text is cut into tokens before n-grams are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Tokenizer {
    /// scikit-learn's default `token_pattern`: maximal runs of two or more word characters
    /// (Unicode letters, digits, `_`); punctuation and 1-character tokens are dropped.
    #[default]
    Pattern,
    /// Tokens are separated by whitespace and kept as they are (pre-tokenised text).
    Whitespace,
}

/// What the features are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Analyzer {
    /// Word n-grams over the tokens.
    #[default]
    Word,
    /// Character n-grams inside word boundaries (scikit-learn's `char_wb`).
    CharWb,
}

/// Row normalisation of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Norm {
    /// Each row has unit Euclidean norm.
    #[default]
    L2,
    /// Each row's absolute values sum to 1.
    L1,
    /// Rows are left as they are.
    None,
}

/// A document-frequency bound: an absolute count of documents, or a fraction of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum DocFreq {
    /// At least / at most this many documents.
    Count(usize),
    /// At least / at most this fraction of documents, in `[0, 1]`.
    Fraction(f64),
}

impl DocFreq {
    fn resolve(self, n_docs: usize) -> f64 {
        match self {
            DocFreq::Count(c) => c as f64,
            DocFreq::Fraction(f) => f * n_docs as f64,
        }
    }
}

impl From<usize> for DocFreq {
    fn from(c: usize) -> Self {
        DocFreq::Count(c)
    }
}

impl From<i32> for DocFreq {
    fn from(c: i32) -> Self {
        DocFreq::Count(c.max(0) as usize)
    }
}

impl From<f64> for DocFreq {
    fn from(f: f64) -> Self {
        DocFreq::Fraction(f)
    }
}

/// Vectorizer options (scikit-learn's names and defaults); [`Tfidf::fit`] learns a
/// [`FittedTfidf`]. `Tfidf::bow()` gives raw counts (a `CountVectorizer`).
///
/// ```
/// use genre_nlp::features::Tfidf;
/// let docs = ["a space pirate", "space pirates and a pirate ship"];
/// let fitted = Tfidf::default().ngram_range(1, 2).sublinear_tf(true).fit(&docs).unwrap();
/// let x = fitted.transform(&docs).unwrap();
/// assert_eq!(x.rows(), 2);
/// assert_eq!(fitted.vocabulary()[0], "and");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tfidf {
    /// Word or character n-grams.
    pub analyzer: Analyzer,
    /// How words are found (word analyzer) — the char analyzer always splits on whitespace.
    pub tokenizer: Tokenizer,
    /// Lowercase the text first.
    pub lowercase: bool,
    /// Smallest and largest n of the n-grams.
    pub ngram_range: (usize, usize),
    /// Drop terms in fewer documents than this.
    pub min_df: DocFreq,
    /// Drop terms in more documents than this.
    pub max_df: DocFreq,
    /// Keep only this many of the most frequent terms.
    pub max_features: Option<usize>,
    /// Term frequency is 1 for every present term.
    pub binary: bool,
    /// Weight terms by inverse document frequency.
    pub use_idf: bool,
    /// Add one to document frequencies, as if one extra document held every term.
    pub smooth_idf: bool,
    /// Replace tf by `1 + ln(tf)`.
    pub sublinear_tf: bool,
    /// Row normalisation.
    pub norm: Norm,
}

impl Default for Tfidf {
    fn default() -> Self {
        Tfidf {
            analyzer: Analyzer::Word,
            tokenizer: Tokenizer::Pattern,
            lowercase: true,
            ngram_range: (1, 1),
            min_df: DocFreq::Count(1),
            max_df: DocFreq::Fraction(1.0),
            max_features: None,
            binary: false,
            use_idf: true,
            smooth_idf: true,
            sublinear_tf: false,
            norm: Norm::L2,
        }
    }
}

impl Tfidf {
    /// scikit-learn's `TfidfVectorizer()` defaults: word unigrams, smooth idf, L2 rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raw term counts, no idf, no normalisation (scikit-learn's `CountVectorizer()`).
    pub fn bow() -> Self {
        Tfidf {
            use_idf: false,
            norm: Norm::None,
            ..Self::default()
        }
    }

    /// Character n-grams inside words, `lo..=hi` characters (e.g. 2–5), L2 rows, sublinear tf.
    pub fn char_wb(lo: usize, hi: usize) -> Self {
        Tfidf {
            analyzer: Analyzer::CharWb,
            ngram_range: (lo, hi),
            sublinear_tf: true,
            ..Self::default()
        }
    }

    /// Sets word or character analysis.
    pub fn analyzer(mut self, analyzer: Analyzer) -> Self {
        self.analyzer = analyzer;
        self
    }
    /// Sets the tokenizer of the word analyzer.
    pub fn tokenizer(mut self, tokenizer: Tokenizer) -> Self {
        self.tokenizer = tokenizer;
        self
    }
    /// Lowercase the text first (default true).
    pub fn lowercase(mut self, lowercase: bool) -> Self {
        self.lowercase = lowercase;
        self
    }
    /// Sets the n-gram sizes, inclusive.
    pub fn ngram_range(mut self, lo: usize, hi: usize) -> Self {
        self.ngram_range = (lo, hi);
        self
    }
    /// Minimum document frequency: a count (`2`) or a fraction (`0.01`).
    pub fn min_df(mut self, min_df: impl Into<DocFreq>) -> Self {
        self.min_df = min_df.into();
        self
    }
    /// Maximum document frequency: a count or a fraction (`0.5`).
    pub fn max_df(mut self, max_df: impl Into<DocFreq>) -> Self {
        self.max_df = max_df.into();
        self
    }
    /// Keeps only the `n` most frequent terms (`None`: all).
    pub fn max_features(mut self, n: impl Into<Option<usize>>) -> Self {
        self.max_features = n.into();
        self
    }
    /// Presence (1) instead of counts.
    pub fn binary(mut self, binary: bool) -> Self {
        self.binary = binary;
        self
    }
    /// Weight by inverse document frequency.
    pub fn use_idf(mut self, use_idf: bool) -> Self {
        self.use_idf = use_idf;
        self
    }
    /// Smooth the idf (default true).
    pub fn smooth_idf(mut self, smooth_idf: bool) -> Self {
        self.smooth_idf = smooth_idf;
        self
    }
    /// `1 + ln(tf)` instead of `tf`.
    pub fn sublinear_tf(mut self, sublinear_tf: bool) -> Self {
        self.sublinear_tf = sublinear_tf;
        self
    }
    /// Row normalisation.
    pub fn norm(mut self, norm: Norm) -> Self {
        self.norm = norm;
        self
    }

    /// Checks the options, naming the wrong one.
    pub fn validate(&self) -> Result<()> {
        let (lo, hi) = self.ngram_range;
        if lo == 0 || lo > hi {
            return Err(Error::Config(format!(
                "tfidf: ngram_range must be 1 ≤ lo ≤ hi, got ({lo}, {hi})"
            )));
        }
        for (name, df) in [("min_df", self.min_df), ("max_df", self.max_df)] {
            if let DocFreq::Fraction(f) = df {
                if !(0.0..=1.0).contains(&f) {
                    return Err(Error::Config(format!(
                        "tfidf: {name} as a fraction must be in [0, 1], got {f}"
                    )));
                }
            }
        }
        if self.max_features == Some(0) {
            return Err(Error::Config("tfidf: max_features must be positive".into()));
        }
        Ok(())
    }

    /// Learns the vocabulary and idf on `docs` (the training side only).
    pub fn fit<S: AsRef<str> + Sync>(&self, docs: &[S]) -> Result<FittedTfidf> {
        self.check_fit(docs.len())?;
        if words::applies(self) {
            return Ok(words::fit(self, docs, false)?.0);
        }
        self.fit_terms(docs)
    }

    /// [`Tfidf::fit`] then [`FittedTfidf::transform`] of the same documents (word unigrams and
    /// bigrams read each document once).
    pub fn fit_transform<S: AsRef<str> + Sync>(&self, docs: &[S]) -> Result<(FittedTfidf, Csr)> {
        self.check_fit(docs.len())?;
        let (fitted, x) = if words::applies(self) {
            words::fit(self, docs, true)?
        } else {
            (self.fit_terms(docs)?, None)
        };
        let x = match x {
            Some(x) => x,
            None => fitted.transform(docs)?,
        };
        Ok((fitted, x))
    }

    /// The options are valid and there is something to fit on.
    fn check_fit(&self, n_docs: usize) -> Result<()> {
        self.validate()?;
        if n_docs == 0 {
            return Err(Error::Config("tfidf: cannot fit on zero documents".into()));
        }
        Ok(())
    }

    /// The general fit: every term as a string (character n-grams, word n-grams beyond 2).
    fn fit_terms<S: AsRef<str> + Sync>(&self, docs: &[S]) -> Result<FittedTfidf> {
        let n_docs = docs.len();
        let chunk = n_docs.div_ceil(rayon::current_num_threads() * 4).max(64);
        // One table per chunk: (document frequency, total count, last document seen). A term is
        // allocated once per chunk, on first sight; repeats in a document bump only the count.
        let tables: Vec<FxHashMap<Box<str>, (u32, u64)>> = docs
            .par_chunks(chunk)
            .map(|docs| {
                let mut table: FxHashMap<Box<str>, (u32, u64, u32)> = FxHashMap::default();
                let mut buf = String::new();
                for (d, doc) in docs.iter().enumerate() {
                    let d = d as u32 + 1;
                    self.for_each_term(doc.as_ref(), &mut buf, |term| {
                        words::tally(table.entry_box(term), d);
                    });
                }
                table
                    .into_iter()
                    .map(|(t, (df, tf, _))| (t, (df, tf)))
                    .collect()
            })
            .collect();
        let mut merged: FxHashMap<Box<str>, (u32, u64)> = FxHashMap::default();
        for table in tables {
            if merged.is_empty() {
                merged = table;
                continue;
            }
            for (term, (df, tf)) in table {
                let e = merged.entry(term).or_insert((0, 0));
                e.0 += df;
                e.1 += tf;
            }
        }
        let (min_df, max_df) = self.df_bounds(n_docs)?;
        let kept: Vec<Candidate> = merged
            .into_iter()
            .filter(|(_, (df, _))| (*df as f64) >= min_df && (*df as f64) <= max_df)
            .map(|(term, (df, tf))| Candidate { term, df, tf })
            .collect();
        let (terms, idf) = self.vocabulary(kept, n_docs)?;
        Ok(FittedTfidf::from_parts(self.clone(), terms, idf, n_docs))
    }

    /// `min_df` and `max_df` in documents, checked against each other.
    fn df_bounds(&self, n_docs: usize) -> Result<(f64, f64)> {
        let min_df = self.min_df.resolve(n_docs);
        let max_df = self.max_df.resolve(n_docs);
        if max_df < min_df {
            return Err(Error::Config(format!(
                "tfidf: max_df ({max_df} documents) is below min_df ({min_df} documents)"
            )));
        }
        Ok((min_df, max_df))
    }

    /// From the terms within the df bounds to the vocabulary: alphabetical columns,
    /// `max_features` most frequent (ties alphabetical), and the idf per column.
    fn vocabulary(
        &self,
        mut kept: Vec<Candidate>,
        n_docs: usize,
    ) -> Result<(Vec<String>, Vec<f32>)> {
        kept.par_sort_unstable_by(|a, b| a.term.cmp(&b.term));
        if let Some(limit) = self.max_features {
            if kept.len() > limit {
                // Most frequent first, ties in alphabetical order (stable sort over sorted terms).
                let mut order: Vec<usize> = (0..kept.len()).collect();
                order.par_sort_by(|&a, &b| kept[b].tf.cmp(&kept[a].tf));
                let mut keep = vec![false; kept.len()];
                for &i in &order[..limit] {
                    keep[i] = true;
                }
                let mut i = 0;
                kept.retain(|_| {
                    i += 1;
                    keep[i - 1]
                });
            }
        }
        if kept.is_empty() {
            return Err(Error::Config(format!(
                "tfidf: empty vocabulary after min_df/max_df/max_features on {n_docs} documents \
                 (do the documents contain any tokens?)"
            )));
        }
        let n = n_docs as f64 + if self.smooth_idf { 1.0 } else { 0.0 };
        let idf = kept
            .iter()
            .map(|c| {
                let df = c.df as f64 + if self.smooth_idf { 1.0 } else { 0.0 };
                ((n / df).ln() + 1.0) as f32
            })
            .collect();
        let terms = kept.into_iter().map(|c| c.term.into_string()).collect();
        Ok((terms, idf))
    }

    /// Calls `f` with every term of `doc` (with repeats), as the options define terms;
    /// `buf` holds the lowercased text.
    fn for_each_term(&self, doc: &str, buf: &mut String, mut f: impl FnMut(&str)) {
        let doc = words::lowered(self.lowercase, doc, buf);
        let (lo, hi) = self.ngram_range;
        match self.analyzer {
            Analyzer::Word => {
                let mut tokens: Vec<&str> = Vec::new();
                words::for_each_token(self.tokenizer, doc, |t| tokens.push(t));
                let mut buf = String::new();
                for n in lo..=hi.min(tokens.len()) {
                    for window in tokens.windows(n) {
                        if n == 1 {
                            f(window[0]);
                        } else {
                            buf.clear();
                            for (k, t) in window.iter().enumerate() {
                                if k > 0 {
                                    buf.push(' ');
                                }
                                buf.push_str(t);
                            }
                            f(&buf);
                        }
                    }
                }
            }
            Analyzer::CharWb => {
                let mut padded = String::new();
                let mut bounds: Vec<usize> = Vec::new();
                for word in doc.split_whitespace() {
                    padded.clear();
                    padded.push(' ');
                    padded.push_str(word);
                    padded.push(' ');
                    bounds.clear();
                    bounds.extend(padded.char_indices().map(|(i, _)| i));
                    bounds.push(padded.len());
                    let n_chars = bounds.len() - 1;
                    for n in lo..=hi {
                        // scikit-learn emits the whole padded word once when it is shorter than n.
                        if n_chars <= n {
                            f(&padded);
                            continue;
                        }
                        for start in 0..=(n_chars - n) {
                            f(&padded[bounds[start]..bounds[start + n]]);
                        }
                    }
                }
            }
        }
    }
}

/// A term within the df bounds, before the vocabulary is cut: its text, document frequency
/// and total count.
struct Candidate {
    term: Box<str>,
    df: u32,
    tf: u64,
}

/// Looks up a `&str` key without allocating when present (the vectorizers' hot loop).
trait BoxMap {
    fn entry_box(&mut self, key: &str) -> &mut (u32, u64, u32);
}

impl BoxMap for FxHashMap<Box<str>, (u32, u64, u32)> {
    fn entry_box(&mut self, key: &str) -> &mut (u32, u64, u32) {
        if !self.contains_key(key) {
            self.insert(key.into(), (0, 0, 0));
        }
        self.get_mut(key).expect("inserted above")
    }
}

/// A fitted vectorizer: the options, the vocabulary (column order) and the idf weights.
/// Serialisable, so a saved model can vectorize new text exactly as in training.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "FittedTfidfState", into = "FittedTfidfState")]
pub struct FittedTfidf {
    config: Tfidf,
    terms: Vec<String>,
    idf: Vec<f32>,
    n_train_docs: usize,
    lookup: Lookup,
}

/// How a fitted vectorizer finds the column of a term.
#[derive(Debug, Clone)]
enum Lookup {
    /// Every term's text (character n-grams, word n-grams beyond 2).
    Terms(FxHashMap<String, u32>),
    /// Word unigrams and bigrams by token ids.
    Words(words::WordIndex),
}

impl Lookup {
    /// The text lookup of a vocabulary in column order.
    fn terms(terms: &[String]) -> Self {
        Lookup::Terms(
            terms
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i as u32))
                .collect(),
        )
    }
}

/// What a [`FittedTfidf`] saves: the index is rebuilt on load.
#[derive(Serialize, Deserialize)]
struct FittedTfidfState {
    config: Tfidf,
    n_train_docs: usize,
    terms: Vec<String>,
    idf: Vec<f32>,
}

impl From<FittedTfidfState> for FittedTfidf {
    fn from(s: FittedTfidfState) -> Self {
        FittedTfidf::from_parts(s.config, s.terms, s.idf, s.n_train_docs)
    }
}

impl From<FittedTfidf> for FittedTfidfState {
    fn from(f: FittedTfidf) -> Self {
        FittedTfidfState {
            config: f.config,
            n_train_docs: f.n_train_docs,
            terms: f.terms,
            idf: f.idf,
        }
    }
}

impl FittedTfidf {
    fn from_parts(config: Tfidf, terms: Vec<String>, idf: Vec<f32>, n_train_docs: usize) -> Self {
        let lookup = if words::applies(&config) {
            Lookup::Words(words::WordIndex::new(&terms))
        } else {
            Lookup::terms(&terms)
        };
        FittedTfidf {
            config,
            terms,
            idf,
            n_train_docs,
            lookup,
        }
    }

    /// The options it was fitted with.
    pub fn config(&self) -> &Tfidf {
        &self.config
    }

    /// The terms, in column order (alphabetical).
    pub fn vocabulary(&self) -> &[String] {
        &self.terms
    }

    /// Number of columns.
    pub fn n_features(&self) -> usize {
        self.terms.len()
    }

    /// Column of `term`, if it is in the vocabulary.
    pub fn column(&self, term: &str) -> Option<usize> {
        match &self.lookup {
            Lookup::Terms(index) => index.get(term).map(|&i| i as usize),
            Lookup::Words(index) => index.column(term),
        }
    }

    /// The idf weight per column (all 1 when `use_idf` is off).
    pub fn idf(&self) -> &[f32] {
        &self.idf
    }

    /// Number of training documents it was fitted on.
    pub fn n_train_docs(&self) -> usize {
        self.n_train_docs
    }

    /// One sparse row per document; terms outside the vocabulary are ignored.
    pub fn transform<S: AsRef<str> + Sync>(&self, docs: &[S]) -> Result<Csr> {
        let cfg = &self.config;
        let chunk = docs
            .len()
            .div_ceil(rayon::current_num_threads() * 4)
            .max(64);
        let rows: Vec<Vec<(usize, f32)>> = docs
            .par_chunks(chunk)
            .flat_map_iter(|docs| {
                let mut buf = String::new();
                let mut ids: Vec<u32> = Vec::new();
                let mut cols: Vec<u32> = Vec::new();
                docs.iter()
                    .map(|doc| {
                        cols.clear();
                        match &self.lookup {
                            Lookup::Terms(index) => {
                                cfg.for_each_term(doc.as_ref(), &mut buf, |term| {
                                    if let Some(&j) = index.get(term) {
                                        cols.push(j);
                                    }
                                });
                            }
                            Lookup::Words(index) => {
                                index.token_ids(cfg, doc.as_ref(), &mut buf, &mut ids);
                                index.columns(&ids, cfg.ngram_range, &mut cols);
                            }
                        }
                        self.weigh(&mut cols)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(csr_from_rows(self.terms.len(), rows))
    }

    /// One row from the columns of a document's terms (with repeats, any order): tf, idf and
    /// the norm as configured.
    fn weigh(&self, cols: &mut [u32]) -> Vec<(usize, f32)> {
        let cfg = &self.config;
        cols.sort_unstable();
        let mut row: Vec<(usize, f32)> = Vec::new();
        for run in cols.chunk_by(|a, b| a == b) {
            let (j, c) = (run[0], run.len());
            let tf = if cfg.binary {
                1.0
            } else if cfg.sublinear_tf {
                1.0 + (c as f32).ln()
            } else {
                c as f32
            };
            let w = if cfg.use_idf {
                tf * self.idf[j as usize]
            } else {
                tf
            };
            row.push((j as usize, w));
        }
        normalize(&mut row, cfg.norm);
        row
    }
}

fn normalize(row: &mut [(usize, f32)], norm: Norm) {
    let total: f64 = match norm {
        Norm::None => return,
        Norm::L2 => row
            .iter()
            .map(|&(_, v)| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt(),
        Norm::L1 => row.iter().map(|&(_, v)| f64::from(v).abs()).sum(),
    };
    if total > 0.0 {
        for (_, v) in row.iter_mut() {
            *v = (f64::from(*v) / total) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(x: &Csr) -> Vec<Vec<f32>> {
        x.to_dense()
            .rows()
            .into_iter()
            .map(|r| r.to_vec())
            .collect()
    }

    #[test]
    fn pattern_tokens_match_sklearn_token_pattern() {
        assert_eq!(
            words::pattern_tokens("It's a well-known _x_ café, 42 times!"),
            vec!["It", "well", "known", "_x_", "café", "42", "times"]
        );
        assert!(words::pattern_tokens("a b c ,.").is_empty());
    }

    /// Worked by hand (and equal to scikit-learn 1.x `TfidfVectorizer()` on the same corpus):
    /// corpus ["the cat sat", "the cat the dog", "dogs"]; vocabulary cat, dog, dogs, sat, the.
    #[test]
    fn tfidf_math_on_a_tiny_corpus() {
        let docs = ["the cat sat", "the cat the dog", "dogs"];
        let (fitted, x) = Tfidf::default().fit_transform(&docs).unwrap();
        assert_eq!(fitted.vocabulary(), ["cat", "dog", "dogs", "sat", "the"]);
        // idf = ln((1 + 3) / (1 + df)) + 1
        let idf2 = (4f32 / 3.0).ln() + 1.0; // df = 2: cat, the
        let idf1 = 2f32.ln() + 1.0; // df = 1: dog, dogs, sat
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        for (got, want) in fitted.idf().iter().zip([idf2, idf1, idf1, idf1, idf2]) {
            assert!(close(*got, want), "{got} vs {want}");
        }
        let d = dense(&x);
        // doc 0: cat, sat, the once each.
        let n0 = (idf2 * idf2 + idf1 * idf1 + idf2 * idf2).sqrt();
        let want0 = [idf2 / n0, 0.0, 0.0, idf1 / n0, idf2 / n0];
        // doc 1: cat 1, dog 1, the 2.
        let n1 = (idf2 * idf2 + idf1 * idf1 + 4.0 * idf2 * idf2).sqrt();
        let want1 = [idf2 / n1, idf1 / n1, 0.0, 0.0, 2.0 * idf2 / n1];
        for (got, want) in d[0].iter().zip(want0).chain(d[1].iter().zip(want1)) {
            assert!(close(*got, want), "{got} vs {want}");
        }
        assert!(close(d[2][2], 1.0));
        // sklearn's documented values for doc 0 (rounded): 0.5178, 0, 0, 0.6809, 0.5178.
        assert!((d[0][0] - 0.5178).abs() < 1e-4 && (d[0][3] - 0.6809).abs() < 1e-4);
    }

    #[test]
    fn sublinear_bigrams_min_df_and_max_features() {
        let docs = ["b a b a b", "a b c", "c d"];
        // The pattern tokenizer drops 1-character tokens: nothing is left to learn.
        assert!(Tfidf::bow().fit(&docs).is_err());
        let f = Tfidf::bow()
            .tokenizer(Tokenizer::Whitespace)
            .ngram_range(1, 2)
            .fit(&docs)
            .unwrap();
        let x = dense(&f.transform(&["b a b a b"]).unwrap());
        let col = |t: &str| f.column(t).unwrap();
        assert_eq!(x[0][col("b")], 3.0);
        assert_eq!(x[0][col("a b")], 2.0);
        assert_eq!(x[0][col("b a")], 2.0);
        let f = Tfidf::default()
            .tokenizer(Tokenizer::Whitespace)
            .sublinear_tf(true)
            .use_idf(false)
            .norm(Norm::None)
            .fit(&docs)
            .unwrap();
        let x = dense(&f.transform(&["b a b a b"]).unwrap());
        assert!((x[0][f.column("b").unwrap()] - (1.0 + 3f32.ln())).abs() < 1e-6);
        // min_df = 2 keeps a, b, c (in 2 docs each); max_features = 2 keeps the 2 most
        // frequent by total count: b (4), a (3).
        let f = Tfidf::bow()
            .tokenizer(Tokenizer::Whitespace)
            .min_df(2)
            .fit(&docs)
            .unwrap();
        assert_eq!(f.vocabulary(), ["a", "b", "c"]);
        let f = Tfidf::bow()
            .tokenizer(Tokenizer::Whitespace)
            .max_features(2)
            .fit(&docs)
            .unwrap();
        assert_eq!(f.vocabulary(), ["a", "b"]);
        let f = Tfidf::bow()
            .tokenizer(Tokenizer::Whitespace)
            .max_df(0.5)
            .fit(&docs)
            .unwrap();
        assert_eq!(f.vocabulary(), ["d"]);
    }

    #[test]
    fn char_wb_ngrams_like_sklearn() {
        // sklearn: CountVectorizer(analyzer="char_wb", ngram_range=(2, 3)) on ["ab c"] gives
        // ' a', ' ab', ' c', ' c ', 'ab', 'ab ', 'b ', 'c ' (the short word " c " once for n=3).
        let f = Tfidf::bow()
            .analyzer(Analyzer::CharWb)
            .ngram_range(2, 3)
            .fit(&["ab c"])
            .unwrap();
        assert_eq!(
            f.vocabulary(),
            [" a", " ab", " c", " c ", "ab", "ab ", "b ", "c "]
        );
    }

    #[test]
    fn bad_options_and_empty_vocabulary_are_errors() {
        assert!(Tfidf::default().ngram_range(2, 1).fit(&["a b"]).is_err());
        assert!(Tfidf::default().min_df(1.5).fit(&["abc"]).is_err());
        assert!(Tfidf::default().fit::<&str>(&[]).is_err());
        let e = Tfidf::default().fit(&["a b c"]).unwrap_err().to_string();
        assert!(e.contains("empty vocabulary"), "{e}");
    }

    /// The same fit with every term looked up as a string (the general path).
    fn by_strings(cfg: &Tfidf, docs: &[String]) -> FittedTfidf {
        let mut f = cfg.fit_terms(docs).unwrap();
        f.lookup = Lookup::terms(&f.terms);
        f
    }

    /// The token-id path gives exactly the general path's vocabulary, idf and rows.
    #[test]
    fn word_id_path_equals_the_string_path() {
        let data =
            crate::data::Dataset::load(crate::data::data_file("train_data.txt").unwrap()).unwrap();
        let mut docs = data.neural_text(crate::text::TextFields::TitlePlot);
        docs.truncate(400);
        docs.push("ǅungla Straße ΣΊΣΥΦΟΣ — Café_Noir 42 it's A b".into());
        docs.push(String::new());
        let (train, test) = docs.split_at(300);
        let configs = [
            Tfidf::default(),
            Tfidf::default().ngram_range(1, 2).sublinear_tf(true),
            Tfidf::bow().ngram_range(2, 2).min_df(2),
            Tfidf::default()
                .ngram_range(1, 2)
                .tokenizer(Tokenizer::Whitespace)
                .lowercase(false)
                .max_df(0.5)
                .max_features(500),
        ];
        for cfg in configs {
            assert!(words::applies(&cfg));
            let slow = by_strings(&cfg, train);
            let (fast, x) = cfg.fit_transform(train).unwrap();
            assert!(matches!(fast.lookup, Lookup::Words(_)));
            assert_eq!(fast.vocabulary(), slow.vocabulary(), "{cfg:?}");
            assert_eq!(fast.idf(), slow.idf());
            assert_eq!(dense(&x), dense(&slow.transform(train).unwrap()), "{cfg:?}");
            assert_eq!(
                dense(&fast.transform(test).unwrap()),
                dense(&slow.transform(test).unwrap()),
                "{cfg:?}"
            );
            for t in fast.vocabulary().iter().step_by(7) {
                assert_eq!(fast.column(t), slow.column(t));
            }
            assert_eq!(fast.column("no such term"), None);
        }
    }

    #[test]
    fn serde_round_trip_keeps_the_transform() {
        let docs = ["the cat sat", "the cat the dog", "dogs"];
        let f = Tfidf::default().ngram_range(1, 2).fit(&docs).unwrap();
        let json = serde_json::to_string(&f).unwrap();
        let g: FittedTfidf = serde_json::from_str(&json).unwrap();
        assert_eq!(
            dense(&f.transform(&docs).unwrap()),
            dense(&g.transform(&docs).unwrap())
        );
    }
}
