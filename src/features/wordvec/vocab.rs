//! Training vocabulary: word counts above `min_count`, most frequent first.

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};

/// Words kept for training (count ≥ `min_count`), sorted by count descending, ties by word, so
/// the ids do not depend on hash order.
#[derive(Debug, Clone)]
pub struct Vocab {
    words: Vec<String>,
    counts: Vec<u64>,
    index: FxHashMap<String, u32>,
    total: u64,
    corpus_tokens: u64,
}

impl Vocab {
    /// Counts the tokens of `docs` and keeps the words seen at least `min_count` times.
    ///
    /// Errors with [`Error::Config`] when no word reaches `min_count`.
    pub fn build(docs: &[Vec<String>], min_count: u64) -> Result<Self> {
        let mut counts: FxHashMap<&str, u64> = FxHashMap::default();
        let mut corpus_tokens = 0u64;
        for doc in docs {
            for w in doc {
                *counts.entry(w.as_str()).or_insert(0) += 1;
                corpus_tokens += 1;
            }
        }
        let mut kept: Vec<(&str, u64)> = counts
            .into_iter()
            .filter(|&(_, c)| c >= min_count.max(1))
            .collect();
        if kept.is_empty() {
            return Err(Error::Config(format!(
                "no word occurs at least min_count = {min_count} times in {} documents \
                 ({corpus_tokens} tokens)",
                docs.len()
            )));
        }
        if kept.len() > u32::MAX as usize {
            return Err(Error::Config(
                "vocabulary larger than u32::MAX words".into(),
            ));
        }
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let words: Vec<String> = kept.iter().map(|(w, _)| (*w).to_string()).collect();
        let counts: Vec<u64> = kept.iter().map(|&(_, c)| c).collect();
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        let total = counts.iter().sum();
        Ok(Self {
            words,
            counts,
            index,
            total,
            corpus_tokens,
        })
    }

    /// Number of kept words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether no word was kept (never true for a built vocabulary).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of `word`, if kept.
    pub fn id(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied()
    }

    /// The kept words, by id.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The corpus count of each kept word, by id.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Sum of the counts of the kept words (word2vec's `train_words`).
    pub fn total_count(&self) -> u64 {
        self.total
    }

    /// All tokens of the corpus the vocabulary was built from, kept or not.
    pub fn corpus_tokens(&self) -> u64 {
        self.corpus_tokens
    }

    /// Maps a document to word ids, dropping words outside the vocabulary.
    pub fn ids(&self, doc: &[String]) -> Vec<u32> {
        doc.iter().filter_map(|w| self.id(w)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(s: &[&str]) -> Vec<Vec<String>> {
        s.iter()
            .map(|d| d.split_whitespace().map(String::from).collect())
            .collect()
    }

    #[test]
    fn counts_sort_and_min_count() {
        let v = Vocab::build(&docs(&["b a a c", "a b d"]), 2).unwrap();
        assert_eq!(v.words(), &["a".to_string(), "b".to_string()]);
        assert_eq!(v.counts(), &[3, 2]);
        assert_eq!(v.total_count(), 5);
        assert_eq!(v.corpus_tokens(), 7);
        assert_eq!(v.ids(&docs(&["d a b"])[0]), vec![0, 1]);
    }

    #[test]
    fn empty_is_an_error() {
        assert!(matches!(
            Vocab::build(&docs(&["a b"]), 2),
            Err(Error::Config(_))
        ));
    }
}
