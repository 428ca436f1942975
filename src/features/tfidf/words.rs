//! The fast path for word unigrams and bigrams (the common TF-IDF setting): every document is
//! lowercased and tokenised once, tokens become integer ids, and a bigram is a pair of ids — no
//! n-gram string is built except for the terms that end up in the vocabulary.
//!
//! Fitting runs in four parallel steps: tokens → ids per chunk of documents, one global id per
//! distinct token, document and total counts per chunk (unigrams in a dense array, bigrams in
//! a hash map keyed by the id pair), merge. `fit_transform` then turns the kept id sequences into
//! rows without reading the text again.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::{Analyzer, Candidate, FittedTfidf, Tfidf, Tokenizer};
use crate::error::Result;
use crate::features::matrix::{csr_from_rows, Csr};

/// Marks a token outside the vocabulary, or a token that is not a term on its own.
const NONE: u32 = u32::MAX;

/// True when the options are ones this path handles: word unigrams and/or bigrams.
pub(super) fn applies(cfg: &Tfidf) -> bool {
    cfg.analyzer == Analyzer::Word && cfg.ngram_range.1 <= 2
}

/// `doc`, lowercased into `buf` when `lowercase` is set and the text has anything to lower.
pub(super) fn lowered<'a>(lowercase: bool, doc: &'a str, buf: &'a mut String) -> &'a str {
    if !lowercase {
        return doc;
    }
    if doc.is_ascii() {
        if !doc.bytes().any(|b| b.is_ascii_uppercase()) {
            return doc;
        }
        buf.clear();
        buf.push_str(doc);
        buf.make_ascii_lowercase();
    } else {
        *buf = doc.to_lowercase();
    }
    buf
}

/// Calls `f` with every token of `text`, in order.
pub(super) fn for_each_token<'a>(tokenizer: Tokenizer, text: &'a str, f: impl FnMut(&'a str)) {
    match tokenizer {
        Tokenizer::Whitespace => text.split_whitespace().for_each(f),
        Tokenizer::Pattern => pattern_each(text, f),
    }
}

/// scikit-learn's `(?u)\b\w\w+\b`: maximal runs of word characters, 2 or more long.
fn pattern_each<'a>(doc: &'a str, mut f: impl FnMut(&'a str)) {
    if doc.is_ascii() {
        let bytes = doc.as_bytes();
        let mut start = None;
        for (i, &b) in bytes.iter().enumerate() {
            if b.is_ascii_alphanumeric() || b == b'_' {
                start.get_or_insert(i);
            } else if let Some(s) = start.take() {
                if i - s >= 2 {
                    f(&doc[s..i]);
                }
            }
        }
        if let Some(s) = start {
            if bytes.len() - s >= 2 {
                f(&doc[s..]);
            }
        }
        return;
    }
    let mut start: Option<usize> = None;
    let mut len = 0usize;
    for (i, c) in doc.char_indices() {
        if c.is_alphanumeric() || c == '_' {
            if start.is_none() {
                start = Some(i);
                len = 0;
            }
            len += 1;
        } else if let Some(s) = start.take() {
            if len >= 2 {
                f(&doc[s..i]);
            }
        }
    }
    if let Some(s) = start {
        if len >= 2 {
            f(&doc[s..]);
        }
    }
}

/// The pattern tokens of `doc` as a vector.
#[cfg(test)]
pub(super) fn pattern_tokens(doc: &str) -> Vec<&str> {
    let mut out = Vec::new();
    pattern_each(doc, |t| out.push(t));
    out
}

/// Counts one occurrence of a term in document `d` (numbered from 1) into its
/// (document frequency, total count, last document seen).
pub(super) fn tally(e: &mut (u32, u64, u32), d: u32) {
    e.1 += 1;
    if e.2 != d {
        e.0 += 1;
        e.2 = d;
    }
}

/// The id of `token` in `map`, given the next free id on first sight.
fn intern(map: &mut FxHashMap<Box<str>, u32>, token: impl AsRef<str> + Into<Box<str>>) -> u32 {
    if let Some(&id) = map.get(token.as_ref()) {
        return id;
    }
    let id = map.len() as u32;
    map.insert(token.into(), id);
    id
}

/// The tokens of an id map, indexed by id.
fn by_id(map: FxHashMap<Box<str>, u32>) -> Vec<Box<str>> {
    let mut words = vec![Box::<str>::default(); map.len()];
    for (w, id) in map {
        words[id as usize] = w;
    }
    words
}

/// One key for an ordered pair of token ids.
fn pair(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// Finds an id for every token of a new document and the columns of its unigrams and bigrams.
#[derive(Debug, Clone, Default)]
pub(super) struct WordIndex {
    /// Every token that appears in some term.
    tokens: FxHashMap<Box<str>, u32>,
    /// Token id → column of the token as a unigram term, or [`NONE`].
    uni: Vec<u32>,
    /// Token id pair → column of the bigram term.
    bi: FxHashMap<u64, u32>,
}

impl WordIndex {
    /// Builds the index of a vocabulary of unigrams (`"word"`) and bigrams (`"word word"`).
    pub(super) fn new(terms: &[String]) -> Self {
        let mut index = WordIndex::default();
        for (j, term) in terms.iter().enumerate() {
            let j = j as u32;
            match term.split_once(' ') {
                None => {
                    let t = index.intern(term);
                    index.uni[t as usize] = j;
                }
                Some((a, b)) => {
                    let (a, b) = (index.intern(a), index.intern(b));
                    index.bi.insert(pair(a, b), j);
                }
            }
        }
        index
    }

    fn intern(&mut self, token: &str) -> u32 {
        let t = intern(&mut self.tokens, token);
        if t as usize == self.uni.len() {
            self.uni.push(NONE);
        }
        t
    }

    /// The id of `token`, or [`NONE`].
    fn token(&self, token: &str) -> u32 {
        self.tokens.get(token).copied().unwrap_or(NONE)
    }

    /// Column of a unigram or bigram term.
    pub(super) fn column(&self, term: &str) -> Option<usize> {
        let col = match term.split_once(' ') {
            None => *self.uni.get(self.token(term) as usize)?,
            Some((a, b)) => *self.bi.get(&pair(self.token(a), self.token(b)))?,
        };
        (col != NONE).then_some(col as usize)
    }

    /// The token ids of `doc` ([`NONE`] for tokens outside the vocabulary), into `ids`.
    pub(super) fn token_ids(&self, cfg: &Tfidf, doc: &str, buf: &mut String, ids: &mut Vec<u32>) {
        ids.clear();
        let text = lowered(cfg.lowercase, doc, buf);
        for_each_token(cfg.tokenizer, text, |t| ids.push(self.token(t)));
    }

    /// Appends the columns of the unigrams and bigrams (as `ngram_range` asks) of a token id
    /// sequence to `cols`, with repeats.
    pub(super) fn columns(&self, ids: &[u32], (lo, hi): (usize, usize), cols: &mut Vec<u32>) {
        if lo <= 1 {
            for &t in ids {
                if t != NONE && self.uni[t as usize] != NONE {
                    cols.push(self.uni[t as usize]);
                }
            }
        }
        if hi >= 2 {
            for w in ids.windows(2) {
                if w[0] != NONE && w[1] != NONE {
                    if let Some(&c) = self.bi.get(&pair(w[0], w[1])) {
                        cols.push(c);
                    }
                }
            }
        }
    }
}

/// A chunk of documents as token ids.
struct Chunk {
    /// Local id → token (taken by the global merge).
    words: Vec<Box<str>>,
    /// All documents' token ids, one after the other.
    seq: Vec<u32>,
    /// End of each document in `seq`.
    ends: Vec<usize>,
}

/// Document frequency, total count and last document seen, per unigram and per bigram.
struct Counts {
    uni: Vec<(u32, u64, u32)>,
    bi: FxHashMap<u64, (u32, u64, u32)>,
}

impl Chunk {
    fn read<S: AsRef<str>>(cfg: &Tfidf, docs: &[S]) -> Chunk {
        let mut local: FxHashMap<Box<str>, u32> = FxHashMap::default();
        let mut seq = Vec::new();
        let mut ends = Vec::with_capacity(docs.len());
        let mut buf = String::new();
        for doc in docs {
            let text = lowered(cfg.lowercase, doc.as_ref(), &mut buf);
            for_each_token(cfg.tokenizer, text, |t| seq.push(intern(&mut local, t)));
            ends.push(seq.len());
        }
        Chunk {
            words: by_id(local),
            seq,
            ends,
        }
    }

    /// Counts unigrams and/or bigrams; `remap` turns local ids into global ones first.
    fn count(&mut self, remap: &[u32], n_words: usize, uni: bool, bi: bool) -> Counts {
        for id in &mut self.seq {
            *id = remap[*id as usize];
        }
        let mut counts = Counts {
            uni: vec![(0, 0, 0); if uni { n_words } else { 0 }],
            bi: FxHashMap::default(),
        };
        let mut start = 0;
        for (d, &end) in self.ends.iter().enumerate() {
            let d = d as u32 + 1;
            let toks = &self.seq[start..end];
            start = end;
            if uni {
                for &t in toks {
                    tally(&mut counts.uni[t as usize], d);
                }
            }
            if bi {
                for w in toks.windows(2) {
                    tally(counts.bi.entry(pair(w[0], w[1])).or_default(), d);
                }
            }
        }
        counts
    }
}

/// Fits the vocabulary and idf on `docs`; with `matrix`, also returns their rows.
pub(super) fn fit<S: AsRef<str> + Sync>(
    cfg: &Tfidf,
    docs: &[S],
    matrix: bool,
) -> Result<(FittedTfidf, Option<Csr>)> {
    let n_docs = docs.len();
    let chunk = n_docs.div_ceil(rayon::current_num_threads() * 2).max(256);
    let mut chunks: Vec<Chunk> = docs
        .par_chunks(chunk)
        .map(|docs| Chunk::read(cfg, docs))
        .collect();

    // One global id per distinct token.
    let mut global: FxHashMap<Box<str>, u32> = FxHashMap::default();
    let remaps: Vec<Vec<u32>> = chunks
        .iter_mut()
        .map(|c| {
            std::mem::take(&mut c.words)
                .into_iter()
                .map(|w| intern(&mut global, w))
                .collect()
        })
        .collect();
    let words = by_id(global);

    let (lo, hi) = cfg.ngram_range;
    let (want_uni, want_bi) = (lo == 1, hi >= 2);
    let n_words = words.len();
    let counts: Vec<Counts> = chunks
        .par_iter_mut()
        .zip(remaps.par_iter())
        .map(|(c, remap)| c.count(remap, n_words, want_uni, want_bi))
        .collect();
    let mut uni = vec![(0u32, 0u64); if want_uni { n_words } else { 0 }];
    let mut bi: FxHashMap<u64, (u32, u64, u32)> = FxHashMap::default();
    for c in counts {
        for (u, x) in uni.iter_mut().zip(c.uni) {
            u.0 += x.0;
            u.1 += x.1;
        }
        if bi.is_empty() {
            bi = c.bi;
            continue;
        }
        for (k, (df, tf, _)) in c.bi {
            let e = bi.entry(k).or_insert((0, 0, 0));
            e.0 += df;
            e.1 += tf;
        }
    }

    let (min_df, max_df) = cfg.df_bounds(n_docs)?;
    let within = |df: u32| df > 0 && (df as f64) >= min_df && (df as f64) <= max_df;
    let mut kept: Vec<Candidate> = uni
        .iter()
        .enumerate()
        .filter(|(_, &(df, _))| within(df))
        .map(|(t, &(df, tf))| Candidate {
            term: words[t].clone(),
            df,
            tf,
        })
        .collect();
    let bigrams: Vec<(u64, (u32, u64, u32))> =
        bi.into_iter().filter(|(_, v)| within(v.0)).collect();
    kept.par_extend(bigrams.into_par_iter().map(|(k, (df, tf, _))| {
        let (a, b) = (
            &words[(k >> 32) as usize],
            &words[(k & 0xffff_ffff) as usize],
        );
        let mut term = String::with_capacity(a.len() + 1 + b.len());
        term.push_str(a);
        term.push(' ');
        term.push_str(b);
        Candidate {
            term: term.into_boxed_str(),
            df,
            tf,
        }
    }));
    let (terms, idf) = cfg.vocabulary(kept, n_docs)?;
    let fitted = FittedTfidf::from_parts(cfg.clone(), terms, idf, n_docs);
    if !matrix {
        return Ok((fitted, None));
    }
    let super::Lookup::Words(index) = &fitted.lookup else {
        return Ok((fitted, None));
    };

    // The rows, from the id sequences: global id → the fitted index's token id.
    let to_index: Vec<u32> = words.par_iter().map(|w| index.token(w)).collect();
    let rows: Vec<Vec<(usize, f32)>> = chunks
        .par_iter()
        .flat_map_iter(|c| {
            let mut ids: Vec<u32> = Vec::new();
            let mut cols: Vec<u32> = Vec::new();
            let mut start = 0;
            c.ends
                .iter()
                .map(|&end| {
                    ids.clear();
                    ids.extend(c.seq[start..end].iter().map(|&g| to_index[g as usize]));
                    start = end;
                    cols.clear();
                    index.columns(&ids, cfg.ngram_range, &mut cols);
                    fitted.weigh(&mut cols)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let x = csr_from_rows(fitted.terms.len(), rows);
    Ok((fitted, Some(x)))
}
