//! Learned bigram phrases, a faithful port of gensim 4's `Phrases` (without connector words):
//! count unigrams and adjacent bigrams over a corpus of token lists, score every bigram, keep
//! those scoring strictly above a threshold (gensim's frozen phraser), and join them greedily
//! left to right (`new york` → `new_york`).

use crate::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// How a bigram `a b` is scored (gensim 4's `scoring` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Scoring {
    /// Mikolov et al.'s score, gensim's `original_scorer`:
    /// `(count(a b) - min_count) / (count(a) * count(b)) * len_vocab`, where `len_vocab` is the
    /// number of distinct unigrams plus distinct bigrams counted. Thresholds are typically 10–100.
    #[default]
    Default,
    /// Normalised pointwise mutual information, gensim's `npmi_scorer`:
    /// `ln(p(a b) / (p(a) p(b))) / -ln(p(a b))`, probabilities over the corpus word count;
    /// `-inf` when `count(a b) < min_count`. Scores lie in `[-1, 1]`; thresholds typically 0.3–0.8.
    Npmi,
}

impl Scoring {
    /// Scores one bigram exactly as gensim 4 does, with the same argument names as its scorers.
    /// Returns `-inf` where gensim does (zero denominators; NPMI below `min_count`).
    ///
    /// ```
    /// use genre_nlp::text::Scoring;
    /// // (3 - 2) / (4 * 3) * 24 = 2.0
    /// assert_eq!(Scoring::Default.score(4, 3, 3, 24, 2, 100), 2.0);
    /// ```
    pub fn score(
        self,
        worda_count: u64,
        wordb_count: u64,
        bigram_count: u64,
        len_vocab: u64,
        min_count: u64,
        corpus_word_count: u64,
    ) -> f64 {
        match self {
            Scoring::Default => {
                let denominator = worda_count as f64 * wordb_count as f64;
                if denominator == 0.0 {
                    return f64::NEG_INFINITY;
                }
                (bigram_count as f64 - min_count as f64) / denominator * len_vocab as f64
            }
            Scoring::Npmi => {
                if bigram_count < min_count {
                    return f64::NEG_INFINITY;
                }
                let n = corpus_word_count as f64;
                let pa = worda_count as f64 / n;
                let pb = wordb_count as f64 / n;
                let pab = bigram_count as f64 / n;
                let denominator = -pab.ln();
                // Python raises ZeroDivisionError here (p(a b) = 1) and gensim returns -inf.
                if denominator == 0.0 || !denominator.is_finite() {
                    return f64::NEG_INFINITY;
                }
                (pab / (pa * pb)).ln() / denominator
            }
        }
    }
}

/// Options of [`Phrases::fit`], with gensim 4's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhrasesConfig {
    /// Ignore words and bigrams seen fewer times in total (gensim `min_count`, default 5).
    pub min_count: u64,
    /// A bigram becomes a phrase when its score is strictly greater (default 10.0).
    pub threshold: f64,
    /// Scoring function (default [`Scoring::Default`]).
    pub scoring: Scoring,
    /// Glue between the two words of a phrase (default `"_"`).
    pub delimiter: String,
    /// Prune rare entries while counting when the vocabulary grows beyond this many keys,
    /// as gensim does (count < 1, then < 2, ...). `None` (default) never prunes: gensim's
    /// default of 40 million is never reached by this corpus. With `Some`, counting is
    /// sequential, because pruning depends on document order.
    pub max_vocab_size: Option<usize>,
}

impl Default for PhrasesConfig {
    fn default() -> Self {
        PhrasesConfig {
            min_count: 5,
            threshold: 10.0,
            scoring: Scoring::Default,
            delimiter: "_".to_string(),
            max_vocab_size: None,
        }
    }
}

impl PhrasesConfig {
    /// Sets [`PhrasesConfig::min_count`].
    pub fn min_count(mut self, min_count: u64) -> Self {
        self.min_count = min_count;
        self
    }
    /// Sets [`PhrasesConfig::threshold`].
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }
    /// Sets [`PhrasesConfig::scoring`].
    pub fn scoring(mut self, scoring: Scoring) -> Self {
        self.scoring = scoring;
        self
    }
    /// Sets [`PhrasesConfig::delimiter`].
    pub fn delimiter(mut self, delimiter: impl Into<String>) -> Self {
        self.delimiter = delimiter.into();
        self
    }
    /// Sets [`PhrasesConfig::max_vocab_size`].
    pub fn max_vocab_size(mut self, max_vocab_size: Option<usize>) -> Self {
        self.max_vocab_size = max_vocab_size;
        self
    }

    /// Checks the options: a non-empty delimiter, a non-NaN threshold, an NPMI threshold below 1
    /// (no NPMI score can exceed 1), and a `max_vocab_size` of at least 1.
    pub fn validate(&self) -> Result<()> {
        if self.delimiter.is_empty() {
            return Err(Error::Config("phrases delimiter must not be empty".into()));
        }
        if self.threshold.is_nan() {
            return Err(Error::Config("phrases threshold must be a number".into()));
        }
        if self.scoring == Scoring::Npmi && self.threshold >= 1.0 {
            return Err(Error::Config(format!(
                "phrases threshold {} can never be passed with NPMI scoring (scores lie in [-1, 1])",
                self.threshold
            )));
        }
        if self.max_vocab_size == Some(0) {
            return Err(Error::Config(
                "phrases max_vocab_size must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// One learned phrase: two adjacent words that scored above the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phrase {
    /// First word.
    pub first: String,
    /// Second word.
    pub second: String,
    /// Times `first second` occurred in the training corpus.
    pub count: u64,
    /// Score under the configured [`Scoring`] (always above the threshold).
    pub score: f64,
}

/// A fitted phrase model: the frozen table of bigrams that passed, ready to apply.
/// Serialises as its config, corpus statistics and phrase list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "PhrasesState", into = "PhrasesState")]
pub struct Phrases {
    config: PhrasesConfig,
    corpus_word_count: u64,
    vocab_len: u64,
    /// Sorted by score, best first (ties by words).
    phrases: Vec<Phrase>,
    /// first word → second word → index into `phrases`.
    index: HashMap<String, HashMap<String, usize>>,
}

/// The serialised form of [`Phrases`] (the lookup index is rebuilt on load).
#[derive(Serialize, Deserialize)]
struct PhrasesState {
    config: PhrasesConfig,
    corpus_word_count: u64,
    vocab_len: u64,
    phrases: Vec<Phrase>,
}

impl From<PhrasesState> for Phrases {
    fn from(s: PhrasesState) -> Self {
        Phrases::from_parts(s.config, s.corpus_word_count, s.vocab_len, s.phrases)
    }
}

impl From<Phrases> for PhrasesState {
    fn from(p: Phrases) -> Self {
        PhrasesState {
            config: p.config,
            corpus_word_count: p.corpus_word_count,
            vocab_len: p.vocab_len,
            phrases: p.phrases,
        }
    }
}

/// Unigram and bigram counts of a corpus, words interned as `u32` ids.
struct Counts<'a> {
    words: Vec<&'a str>,
    word_counts: Vec<u64>,
    /// `(id_a << 32) | id_b` → count.
    bigrams: FxMap<u64, u64>,
    /// Vocabulary keys not represented above (bigrams of pruned words).
    extra_vocab: u64,
    corpus_word_count: u64,
}

impl Phrases {
    /// Learns phrases from `docs` (each a list of tokens; bigrams never cross documents).
    /// Errors with [`Error::Config`] when `config` is invalid (see [`PhrasesConfig::validate`]).
    ///
    /// ```
    /// use genre_nlp::text::{Phrases, PhrasesConfig};
    /// let doc = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    /// let docs = vec![doc("new york is big"), doc("i love new york"), doc("new york new york")];
    /// let p = Phrases::fit(&docs, PhrasesConfig::default().min_count(1).threshold(1.0)).unwrap();
    /// assert_eq!(p.apply(&doc("in new york")), vec!["in", "new_york"]);
    /// ```
    pub fn fit(docs: &[Vec<String>], config: PhrasesConfig) -> Result<Self> {
        config.validate()?;
        let counts = match config.max_vocab_size {
            None => count_parallel(docs),
            Some(max) => count_pruned(docs, max),
        };
        let vocab_len = (counts.words.len() + counts.bigrams.len()) as u64 + counts.extra_vocab;
        let mut phrases = Vec::new();
        for (&key, &count) in &counts.bigrams {
            let (a, b) = ((key >> 32) as usize, (key & 0xffff_ffff) as usize);
            let (ca, cb) = (counts.word_counts[a], counts.word_counts[b]);
            // gensim's score_candidate: both words (and the bigram) must have been counted.
            if ca == 0 || cb == 0 || count == 0 {
                continue;
            }
            let score = config.scoring.score(
                ca,
                cb,
                count,
                vocab_len,
                config.min_count,
                counts.corpus_word_count,
            );
            if score > config.threshold {
                phrases.push(Phrase {
                    first: counts.words[a].to_string(),
                    second: counts.words[b].to_string(),
                    count,
                    score,
                });
            }
        }
        Ok(Phrases::from_parts(
            config,
            counts.corpus_word_count,
            vocab_len,
            phrases,
        ))
    }

    fn from_parts(
        config: PhrasesConfig,
        corpus_word_count: u64,
        vocab_len: u64,
        mut phrases: Vec<Phrase>,
    ) -> Self {
        phrases.sort_by(|x, y| {
            y.score
                .total_cmp(&x.score)
                .then_with(|| x.first.cmp(&y.first))
                .then_with(|| x.second.cmp(&y.second))
        });
        let mut index: HashMap<String, HashMap<String, usize>> = HashMap::new();
        for (i, p) in phrases.iter().enumerate() {
            index
                .entry(p.first.clone())
                .or_default()
                .insert(p.second.clone(), i);
        }
        Phrases {
            config,
            corpus_word_count,
            vocab_len,
            phrases,
            index,
        }
    }

    /// The learned phrases, best score first.
    pub fn phrases(&self) -> &[Phrase] {
        &self.phrases
    }

    /// Number of learned phrases.
    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    /// True when no bigram passed the threshold.
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The options this model was fitted with.
    pub fn config(&self) -> &PhrasesConfig {
        &self.config
    }

    /// Total number of tokens in the training corpus.
    pub fn corpus_word_count(&self) -> u64 {
        self.corpus_word_count
    }

    /// Distinct unigrams plus distinct bigrams counted in training (gensim's `len(vocab)`).
    pub fn vocab_len(&self) -> u64 {
        self.vocab_len
    }

    /// The learned phrase `first second`, if it is one.
    pub fn get(&self, first: &str, second: &str) -> Option<&Phrase> {
        let i = *self.index.get(first)?.get(second)?;
        self.phrases.get(i)
    }

    /// Joins learned phrases in one document, greedily left to right as gensim's
    /// `phrases[doc]`: when `doc[i] doc[i+1]` is a phrase it becomes `doc[i]<delimiter>doc[i+1]`
    /// and scanning resumes at `doc[i+2]`, so in `a b c` with phrases `a b` and `b c` only
    /// `a_b` is formed.
    pub fn apply<S: AsRef<str>>(&self, doc: &[S]) -> Vec<String> {
        self.apply_owned(doc.iter().map(|s| s.as_ref().to_string()).collect())
    }

    /// [`Phrases::apply`] on an owned document, reusing its strings.
    pub fn apply_owned(&self, doc: Vec<String>) -> Vec<String> {
        if self.phrases.is_empty() || doc.len() < 2 {
            return doc;
        }
        let mut out = Vec::with_capacity(doc.len());
        let mut iter = doc.into_iter().peekable();
        while let Some(word) = iter.next() {
            let joined = match (self.index.get(&word), iter.peek()) {
                (Some(seconds), Some(next)) if seconds.contains_key(next) => {
                    iter.next().map(|next| {
                        let mut j = String::with_capacity(
                            word.len() + self.config.delimiter.len() + next.len(),
                        );
                        j.push_str(&word);
                        j.push_str(&self.config.delimiter);
                        j.push_str(&next);
                        j
                    })
                }
                _ => None,
            };
            out.push(joined.unwrap_or(word));
        }
        out
    }

    /// [`Phrases::apply`] over many documents, in parallel (rayon), order kept.
    pub fn apply_all<S: AsRef<str> + Sync>(&self, docs: &[Vec<S>]) -> Vec<Vec<String>> {
        docs.par_iter().map(|d| self.apply(d)).collect()
    }
}

/// Counts in parallel: unigrams by rayon fold/reduce, then bigrams over interned ids.
fn count_parallel(docs: &[Vec<String>]) -> Counts<'_> {
    let unigrams: FxMap<&str, u64> = docs
        .par_iter()
        .fold(FxMap::default, |mut m, doc| {
            for w in doc {
                *m.entry(w.as_str()).or_insert(0) += 1;
            }
            m
        })
        .reduce(FxMap::default, merge_counts);
    let mut words: Vec<&str> = unigrams.keys().copied().collect();
    words.sort_unstable();
    let ids: FxMap<&str, u32> = words
        .iter()
        .enumerate()
        .map(|(i, w)| (*w, i as u32))
        .collect();
    let word_counts: Vec<u64> = words.iter().map(|w| unigrams[w]).collect();
    let corpus_word_count = word_counts.iter().sum();
    let bigrams: FxMap<u64, u64> = docs
        .par_iter()
        .fold(FxMap::default, |mut m, doc| {
            let mut prev: Option<u32> = None;
            for w in doc {
                let id = ids[w.as_str()];
                if let Some(p) = prev {
                    *m.entry(((p as u64) << 32) | id as u64).or_insert(0) += 1;
                }
                prev = Some(id);
            }
            m
        })
        .reduce(FxMap::default, merge_counts);
    Counts {
        words,
        word_counts,
        bigrams,
        extra_vocab: 0,
        corpus_word_count,
    }
}

fn merge_counts<K: std::hash::Hash + Eq>(
    mut a: FxMap<K, u64>,
    mut b: FxMap<K, u64>,
) -> FxMap<K, u64> {
    if a.len() < b.len() {
        std::mem::swap(&mut a, &mut b);
    }
    for (k, v) in b {
        *a.entry(k).or_insert(0) += v;
    }
    a
}

/// A key of gensim's single vocabulary: a unigram or a bigram.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key<'a> {
    Uni(&'a str),
    Bi(&'a str, &'a str),
}

/// Counts sequentially with gensim's pruning: after each document, when the vocabulary holds
/// more than `max` keys, drop keys counted fewer than `min_reduce` times, then raise
/// `min_reduce` by one.
fn count_pruned(docs: &[Vec<String>], max: usize) -> Counts<'_> {
    let mut vocab: FxMap<Key<'_>, u64> = FxMap::default();
    let mut min_reduce = 1u64;
    let mut corpus_word_count = 0u64;
    for doc in docs {
        let mut prev: Option<&str> = None;
        for w in doc {
            *vocab.entry(Key::Uni(w)).or_insert(0) += 1;
            if let Some(p) = prev {
                *vocab.entry(Key::Bi(p, w)).or_insert(0) += 1;
            }
            prev = Some(w);
            corpus_word_count += 1;
        }
        if vocab.len() > max {
            vocab.retain(|_, c| *c >= min_reduce);
            min_reduce += 1;
        }
    }
    let mut words: Vec<&str> = vocab
        .keys()
        .filter_map(|k| match k {
            Key::Uni(w) => Some(*w),
            Key::Bi(..) => None,
        })
        .collect();
    words.sort_unstable();
    let ids: FxMap<&str, u32> = words
        .iter()
        .enumerate()
        .map(|(i, w)| (*w, i as u32))
        .collect();
    let word_counts = words.iter().map(|w| vocab[&Key::Uni(w)]).collect();
    let mut bigrams = FxMap::default();
    for (k, &c) in &vocab {
        if let Key::Bi(a, b) = k {
            // A bigram whose word was pruned cannot score (gensim: count 0 → no candidate).
            if let (Some(&ia), Some(&ib)) = (ids.get(a), ids.get(b)) {
                bigrams.insert(((ia as u64) << 32) | ib as u64, c);
            }
        }
    }
    // len_vocab must still count bigrams whose words were pruned (they can never score).
    let bigram_keys = vocab.keys().filter(|k| matches!(k, Key::Bi(..))).count();
    Counts {
        words,
        word_counts,
        extra_vocab: (bigram_keys - bigrams.len()) as u64,
        bigrams,
        corpus_word_count,
    }
}

/// FxHash (rustc's hasher): much faster than SipHash for short string and integer keys;
/// not DoS-resistant, which is fine for counting a corpus.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(c);
            self.add(u64::from_le_bytes(buf));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` using [`FxHasher`].
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(lines: &[&str]) -> Vec<Vec<String>> {
        lines
            .iter()
            .map(|l| l.split_whitespace().map(String::from).collect())
            .collect()
    }

    /// Counts: new 4, york 4, every other word 1 (8 distinct words); bigrams: new york 3,
    /// every other pair 1 (7 distinct); len_vocab = 8 + 7 = 15; corpus_word_count = 14.
    fn corpus() -> Vec<Vec<String>> {
        docs(&[
            "new york pizza",
            "new york city",
            "i love new york",
            "new car",
            "york minster",
        ])
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn default_scoring_by_hand() {
        // min_count 1: new york = (3 - 1) / (4 * 4) * 15 = 1.875; pairs seen once score 0.
        let p = Phrases::fit(
            &corpus(),
            PhrasesConfig::default().min_count(1).threshold(1.0),
        )
        .unwrap();
        assert_eq!(p.vocab_len(), 15);
        assert_eq!(p.corpus_word_count(), 14);
        assert_eq!(p.len(), 1);
        let ny = p.get("new", "york").unwrap();
        assert!(close(ny.score, 1.875), "{}", ny.score);
        assert_eq!(ny.count, 3);
        // Threshold is strict: a score equal to it does not pass.
        let p = Phrases::fit(
            &corpus(),
            PhrasesConfig::default().min_count(1).threshold(1.875),
        )
        .unwrap();
        assert!(p.is_empty());
        // min_count 2: (3 - 2) / 16 * 15 = 0.9375.
        let p = Phrases::fit(
            &corpus(),
            PhrasesConfig::default().min_count(2).threshold(0.9),
        )
        .unwrap();
        assert!(close(p.get("new", "york").unwrap().score, 0.9375));
        // Threshold 0: pairs seen once score exactly 0 and do not pass either.
        let p = Phrases::fit(
            &corpus(),
            PhrasesConfig::default().min_count(1).threshold(0.0),
        )
        .unwrap();
        assert_eq!(p.len(), 1);
        // gensim's default min_count 5 makes (3 - 5) negative: nothing passes.
        let p = Phrases::fit(&corpus(), PhrasesConfig::default().threshold(-1.0)).unwrap();
        assert!(p.is_empty());
    }

    #[test]
    fn npmi_scoring_by_hand() {
        // new york: p_a = p_b = 4/14, p_ab = 3/14: ln(2.625) / ln(14/3) = 0.626495...
        // i love: p_a = p_b = p_ab = 1/14: ln(14) / ln(14) = 1.0.
        // love new, york pizza, ...: p_a = 1/14, p_b = 4/14, p_ab = 1/14: ln(3.5) / ln(14) = 0.4747...
        let expected_ny = (2.625f64).ln() / (14.0f64 / 3.0).ln();
        let cfg = PhrasesConfig::default()
            .scoring(Scoring::Npmi)
            .min_count(1)
            .threshold(0.5);
        let p = Phrases::fit(&corpus(), cfg.clone()).unwrap();
        let listed: Vec<(&str, &str)> = p
            .phrases()
            .iter()
            .map(|x| (x.first.as_str(), x.second.as_str()))
            .collect();
        assert_eq!(listed, vec![("i", "love"), ("new", "york")]); // sorted by score
        assert!(close(p.phrases()[0].score, 1.0));
        assert!(close(p.phrases()[1].score, expected_ny));
        assert!(close(expected_ny, 0.626_494_857_3), "{expected_ny}");
        // min_count 2: pairs seen once are -inf, new york keeps its score.
        let p = Phrases::fit(&corpus(), cfg.clone().min_count(2)).unwrap();
        assert_eq!(p.len(), 1);
        assert!(close(p.get("new", "york").unwrap().score, expected_ny));
        // Threshold 0.4: the 0.4747 pairs pass too (all 7 bigrams).
        let p = Phrases::fit(&corpus(), cfg.threshold(0.4)).unwrap();
        assert_eq!(p.len(), 7);
        assert_eq!(Scoring::Npmi.score(4, 4, 1, 15, 2, 14), f64::NEG_INFINITY);
    }

    #[test]
    fn greedy_application() {
        // a 3, b 3, c 3, x 1, y 1 (5 words); a b 3, b c 3, x y 1 (3 bigrams): len_vocab 8.
        // a b = b c = (3 - 1) / 9 * 8 = 1.78 > 1; x y = 0.
        let p = Phrases::fit(
            &docs(&["a b c", "a b c", "a b c", "x y"]),
            PhrasesConfig::default().min_count(1).threshold(1.0),
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        let apply = |s: &str| p.apply(&s.split(' ').collect::<Vec<_>>());
        assert_eq!(apply("a b c"), vec!["a_b", "c"]);
        assert_eq!(apply("b c a b"), vec!["b_c", "a_b"]);
        assert_eq!(apply("c a b c"), vec!["c", "a_b", "c"]);
        assert_eq!(apply("x y a"), vec!["x", "y", "a"]);
        assert_eq!(apply("a"), vec!["a"]);
        assert!(p.apply::<&str>(&[]).is_empty());
        let all = p.apply_all(&[vec!["a", "b"], vec!["b", "c", "c"]]);
        assert_eq!(all, vec![vec!["a_b"], vec!["b_c", "c"]]);
    }

    #[test]
    fn custom_delimiter() {
        let p = Phrases::fit(
            &corpus(),
            PhrasesConfig::default()
                .min_count(1)
                .threshold(1.0)
                .delimiter(" "),
        )
        .unwrap();
        assert_eq!(p.apply(&["new", "york", "city"]), vec!["new york", "city"]);
    }

    #[test]
    fn pruning_like_gensim() {
        // max 3: after doc 2 the vocabulary has 6 keys > 3: prune count < 1 (nothing),
        // min_reduce = 2; after doc 3: {a 2, b 2, ab 2, c 1, d 1, cd 1} > 3: prune count < 2.
        // Left: a, b, a b → len_vocab 3; score = (2 - 1) / (2 * 2) * 3 = 0.75.
        let d = docs(&["a b", "c d", "a b"]);
        let p = Phrases::fit(
            &d,
            PhrasesConfig::default()
                .min_count(1)
                .threshold(0.5)
                .max_vocab_size(Some(3)),
        )
        .unwrap();
        assert_eq!(p.vocab_len(), 3);
        assert_eq!(p.corpus_word_count(), 6);
        assert!(close(p.get("a", "b").unwrap().score, 0.75));
        // Without pruning: 4 words + 2 bigrams; score = 1 / 4 * 6 = 1.5; c d = 0.
        let p = Phrases::fit(&d, PhrasesConfig::default().min_count(1).threshold(0.5)).unwrap();
        assert_eq!(p.vocab_len(), 6);
        assert!(close(p.get("a", "b").unwrap().score, 1.5));
        // A large limit gives the parallel result.
        let q = Phrases::fit(
            &corpus(),
            PhrasesConfig::default()
                .min_count(1)
                .threshold(1.0)
                .max_vocab_size(Some(1000)),
        )
        .unwrap();
        assert!(close(q.get("new", "york").unwrap().score, 1.875));
        assert_eq!(q.vocab_len(), 15);
    }

    #[test]
    fn invalid_configs() {
        let bad = [
            PhrasesConfig::default().delimiter(""),
            PhrasesConfig::default().threshold(f64::NAN),
            PhrasesConfig::default().scoring(Scoring::Npmi),
            PhrasesConfig::default().max_vocab_size(Some(0)),
        ];
        for cfg in bad {
            assert!(matches!(
                Phrases::fit(&corpus(), cfg),
                Err(Error::Config(_))
            ));
        }
    }

    #[test]
    fn serde_round_trip() {
        let p = Phrases::fit(
            &corpus(),
            PhrasesConfig::default().min_count(1).threshold(1.0),
        )
        .unwrap();
        let json = serde_json::to_string(&p).unwrap();
        let q: Phrases = serde_json::from_str(&json).unwrap();
        assert_eq!(q.phrases(), p.phrases());
        assert_eq!(q.config(), p.config());
        assert_eq!(q.vocab_len(), 15);
        assert_eq!(q.apply(&["i", "new", "york"]), vec!["i", "new_york"]);
    }
}
