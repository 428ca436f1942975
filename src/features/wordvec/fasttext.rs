//! FastText subwords: character n-grams of `<word>` hashed into buckets exactly as fastText and
//! gensim do (FNV-1a 32-bit over the UTF-8 bytes, each byte sign-extended as fastText's
//! `int8_t` cast does), so a bucket id here is the same bucket id there.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::config_err;
use super::word2vec::Word2VecConfig;
use crate::error::Result;

/// fastText's string hash: FNV-1a 32-bit over the bytes, each byte sign-extended first.
pub fn fasttext_hash(bytes: &[u8]) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for &b in bytes {
        h ^= b as i8 as i32 as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// The character n-grams (`min_n..=max_n` characters) of `<word>`, as fastText's
/// `computeSubwords` and gensim's `compute_ngrams_bytes` list them: by start character, then
/// length; the whole `<word>` is included when short enough; single `<` / `>` never are.
/// Calls `f` with the UTF-8 bytes of each n-gram.
pub fn for_each_ngram(word: &str, min_n: usize, max_n: usize, mut f: impl FnMut(&[u8])) {
    let mut ext = Vec::with_capacity(word.len() + 2);
    ext.push(b'<');
    ext.extend_from_slice(word.as_bytes());
    ext.push(b'>');
    let len = ext.len();
    let is_cont = |b: u8| b & 0xC0 == 0x80;
    for i in 0..len {
        if is_cont(ext[i]) {
            continue;
        }
        let (mut j, mut n) = (i, 1usize);
        while j < len && n <= max_n {
            j += 1;
            while j < len && is_cont(ext[j]) {
                j += 1;
            }
            if n >= min_n && !(n == 1 && (i == 0 || j == len)) {
                f(&ext[i..j]);
            }
            n += 1;
        }
    }
}

/// The bucket ids of the n-grams of `word` (with repeats, in n-gram order).
pub fn ngram_buckets(word: &str, min_n: usize, max_n: usize, buckets: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if buckets == 0 {
        return out;
    }
    for_each_ngram(word, min_n, max_n, |g| out.push(fasttext_hash(g) % buckets));
    out
}

/// FastText training settings: the Word2Vec settings plus the subword n-grams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FastTextConfig {
    /// Everything Word2Vec has (architecture, dim, window, negatives, epochs, seed, ...).
    pub word2vec: Word2VecConfig,
    /// Shortest n-gram, in characters (fastText: 3).
    pub min_n: usize,
    /// Longest n-gram, in characters (fastText: 6); `max_n < min_n` means no n-grams.
    pub max_n: usize,
    /// Number of hash buckets (fastText and gensim: 2,000,000). Only buckets that some
    /// vocabulary word uses are stored, so a large value costs no memory.
    pub buckets: u32,
}

impl Default for FastTextConfig {
    fn default() -> Self {
        Self {
            word2vec: Word2VecConfig::default(),
            min_n: 3,
            max_n: 6,
            buckets: 2_000_000,
        }
    }
}

impl FastTextConfig {
    /// Sets the Word2Vec part.
    pub fn word2vec(mut self, word2vec: Word2VecConfig) -> Self {
        self.word2vec = word2vec;
        self
    }

    /// Sets the shortest n-gram length.
    pub fn min_n(mut self, min_n: usize) -> Self {
        self.min_n = min_n;
        self
    }

    /// Sets the longest n-gram length.
    pub fn max_n(mut self, max_n: usize) -> Self {
        self.max_n = max_n;
        self
    }

    /// Sets the number of hash buckets.
    pub fn buckets(mut self, buckets: u32) -> Self {
        self.buckets = buckets;
        self
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        self.word2vec.validate()?;
        if self.min_n == 0 {
            return Err(config_err("min_n", "must be ≥ 1"));
        }
        if self.max_n > 64 {
            return Err(config_err("max_n", "must be ≤ 64"));
        }
        if self.max_n >= self.min_n && self.buckets == 0 {
            return Err(config_err(
                "buckets",
                "must be ≥ 1 when n-grams are on (max_n ≥ min_n)",
            ));
        }
        Ok(())
    }
}

/// The trained n-gram vectors of a FastText model, stored only for the buckets that training
/// vocabulary words use (a bucket nobody used was never trained, so it is left out; it still
/// counts, as a zero row, when an out-of-vocabulary word's n-grams are averaged, where fastText
/// and gensim average in its small random start).
#[derive(Debug, Clone)]
pub struct Subwords {
    pub(crate) min_n: usize,
    pub(crate) max_n: usize,
    pub(crate) buckets: u32,
    pub(crate) rows: FxHashMap<u32, u32>,
    pub(crate) data: Vec<f32>,
    pub(crate) dim: usize,
}

impl Subwords {
    /// Shortest n-gram length.
    pub fn min_n(&self) -> usize {
        self.min_n
    }

    /// Longest n-gram length.
    pub fn max_n(&self) -> usize {
        self.max_n
    }

    /// Number of hash buckets.
    pub fn buckets(&self) -> u32 {
        self.buckets
    }

    /// Number of stored (trained) buckets.
    pub fn stored_buckets(&self) -> usize {
        self.rows.len()
    }

    /// The stored vector of bucket `bucket`, if trained.
    pub fn bucket_vector(&self, bucket: u32) -> Option<&[f32]> {
        let r = *self.rows.get(&bucket)? as usize;
        Some(&self.data[r * self.dim..(r + 1) * self.dim])
    }

    /// The vector of an out-of-vocabulary word, as fastText and gensim compute it: the sum of its
    /// trained n-gram vectors divided by the number of all its n-grams (the untrained buckets
    /// count, as near-zero rows: fastText and gensim keep them at their small random start, we do
    /// not store them). `None` when none of its n-grams was trained.
    pub fn oov_vector(&self, word: &str) -> Option<Vec<f32>> {
        let mut acc = vec![0f32; self.dim];
        let mut trained = 0usize;
        let mut n = 0usize;
        for b in ngram_buckets(word, self.min_n, self.max_n, self.buckets) {
            n += 1;
            if let Some(v) = self.bucket_vector(b) {
                for (a, x) in acc.iter_mut().zip(v) {
                    *a += x;
                }
                trained += 1;
            }
        }
        if trained == 0 {
            return None;
        }
        let inv = 1.0 / n as f32;
        acc.iter_mut().for_each(|a| *a *= inv);
        Some(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn ngrams(word: &str, min_n: usize, max_n: usize) -> Vec<String> {
        let mut v = Vec::new();
        for_each_ngram(word, min_n, max_n, |g| {
            v.push(String::from_utf8(g.to_vec()).unwrap())
        });
        v
    }

    #[test]
    fn ngrams_as_fasttext_lists_them() {
        assert_eq!(
            ngrams("where", 3, 3),
            vec!["<wh", "whe", "her", "ere", "re>"]
        );
        assert_eq!(
            ngrams("ab", 1, 6),
            vec!["<a", "<ab", "<ab>", "a", "ab", "ab>", "b", "b>"]
        );
        // multi-byte characters count as one character
        assert_eq!(ngrams("é", 2, 2), vec!["<é", "é>"]);
    }

    #[test]
    fn hash_matches_fasttext() {
        // Values from gensim.models.fasttext_inner.ft_hash_bytes (fastText's hash).
        assert_eq!(fasttext_hash(b""), 2_166_136_261);
        assert_eq!(fasttext_hash(b"<wh"), 1_048_167_652);
        // a byte ≥ 0x80 is sign-extended (int8_t) before the xor
        assert_eq!(fasttext_hash("é".as_bytes()), 1_023_043_777);
    }

    #[test]
    fn oov_vector_divides_by_all_its_ngrams() {
        // "ab" with 3-grams: "<ab" and "ab>"; only "<ab" was trained.
        let b = ngram_buckets("ab", 3, 3, 2_000_000);
        assert_eq!(b.len(), 2);
        let mut rows = FxHashMap::default();
        rows.insert(b[0], 0u32);
        let sub = Subwords {
            min_n: 3,
            max_n: 3,
            buckets: 2_000_000,
            rows,
            data: vec![2.0, 4.0],
            dim: 2,
        };
        // (2, 4) + an untrained zero row, over 2 n-grams (not over the 1 trained one)
        assert_eq!(sub.oov_vector("ab"), Some(vec![1.0, 2.0]));
        // no trained n-gram at all: no vector
        assert!(!ngram_buckets("zq", 3, 3, 2_000_000).contains(&b[0]));
        assert_eq!(sub.oov_vector("zq"), None);
    }

    #[test]
    fn validate_names_the_field() {
        let e = FastTextConfig::default().min_n(0).validate().unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.contains("`min_n`")),
            "{e}"
        );
        let e = FastTextConfig::default().buckets(0).validate().unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.contains("`buckets`")),
            "{e}"
        );
    }
}
