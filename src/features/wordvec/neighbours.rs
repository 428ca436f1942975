//! Nearest neighbours by cosine similarity, and analogies (`b − a + c`, as gensim's
//! `most_similar(positive=[b, c], negative=[a])`, on unit-length vectors).

use polars::prelude::{Column, DataFrame};

use super::WordVectors;
use crate::display::Table;
use crate::error::{Error, Result};

/// A word and its cosine similarity to a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    /// The word.
    pub word: String,
    /// Cosine similarity to the query.
    pub cosine: f32,
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// Cosine similarity; 0 when either vector is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (na * nb)
}

impl WordVectors {
    fn vector_or_err(&self, word: &str) -> Result<Vec<f32>> {
        self.vector(word)
            .map(|v| v.into_owned())
            .ok_or_else(|| Error::Config(format!("no vector for word {word:?}")))
    }

    /// Cosine similarity of two words (out-of-vocabulary FastText words included); `None` when
    /// either has no vector.
    pub fn similarity(&self, a: &str, b: &str) -> Option<f32> {
        Some(cosine(&self.vector(a)?, &self.vector(b)?))
    }

    /// The `k` words most similar to `query`, excluding the words in `exclude`, best first
    /// (ties by row order).
    pub fn nearest_to_vector(&self, query: &[f32], k: usize, exclude: &[&str]) -> Vec<Neighbour> {
        let qn = norm(query);
        if qn == 0.0 || query.len() != self.dim() || k == 0 {
            return Vec::new();
        }
        let skip: Vec<usize> = exclude.iter().filter_map(|w| self.index_of(w)).collect();
        let mut scored: Vec<(f32, usize)> = (0..self.len())
            .filter(|i| !skip.contains(i))
            .map(|i| {
                let r = self.row(i);
                let n = norm(r);
                let c = if n == 0.0 {
                    -1.0
                } else {
                    r.iter().zip(query).map(|(x, y)| x * y).sum::<f32>() / (n * qn)
                };
                (c, i)
            })
            .collect();
        let k = k.min(scored.len());
        let by = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if k < scored.len() {
            scored.select_nth_unstable_by(k, by);
            scored.truncate(k);
        }
        scored.sort_by(by);
        scored
            .into_iter()
            .map(|(c, i)| Neighbour {
                word: self.words()[i].clone(),
                cosine: c,
            })
            .collect()
    }

    /// The `k` nearest neighbours of `word` by cosine, the word itself excluded. The query may
    /// be out of vocabulary for FastText vectors.
    pub fn nearest(&self, word: &str, k: usize) -> Result<Vec<Neighbour>> {
        let q = self.vector_or_err(word)?;
        Ok(self.nearest_to_vector(&q, k, &[word]))
    }

    /// Analogy "`a` is to `b` as `c` is to ?": the `k` words nearest to
    /// `unit(b) − unit(a) + unit(c)`, the three inputs excluded.
    pub fn analogy(&self, a: &str, b: &str, c: &str, k: usize) -> Result<Vec<Neighbour>> {
        let unit = |w: &str| -> Result<Vec<f32>> {
            let v = self.vector_or_err(w)?;
            let n = norm(&v);
            Ok(if n == 0.0 {
                v
            } else {
                v.iter().map(|x| x / n).collect()
            })
        };
        let (va, vb, vc) = (unit(a)?, unit(b)?, unit(c)?);
        let q: Vec<f32> = (0..self.dim()).map(|i| vb[i] - va[i] + vc[i]).collect();
        Ok(self.nearest_to_vector(&q, k, &[a, b, c]))
    }
}

/// Rows of a neighbour table: (query, rank, word, cosine).
type Rows = (Vec<String>, Vec<u32>, Vec<String>, Vec<Option<f32>>);

fn table(rows: Rows, title: String) -> Table {
    let (q, r, w, c) = rows;
    let n = q.len();
    let df = DataFrame::new(
        n,
        vec![
            Column::new("query".into(), q),
            Column::new("rank".into(), r),
            Column::new("word".into(), w),
            Column::new("cosine".into(), c),
        ],
    )
    .expect("four columns of equal length");
    Table::new(df).title(title)
}

fn push(rows: &mut Rows, query: &str, found: Result<Vec<Neighbour>>) {
    match found {
        Ok(ns) => {
            for (i, n) in ns.into_iter().enumerate() {
                rows.0.push(query.to_string());
                rows.1.push(i as u32 + 1);
                rows.2.push(n.word);
                rows.3.push(Some(n.cosine));
            }
        }
        Err(_) => {
            rows.0.push(query.to_string());
            rows.1.push(0);
            rows.2.push("(no vector)".into());
            rows.3.push(None);
        }
    }
}

impl WordVectors {
    /// The `k` nearest neighbours of each word as a table (`query`, `rank`, `word`, `cosine`)
    /// that shows itself inline in a notebook; a word without a vector gets one row saying so.
    pub fn neighbours_table(&self, words: &[&str], k: usize) -> Table {
        let mut rows = Rows::default();
        for w in words {
            push(&mut rows, w, self.nearest(w, k));
        }
        table(rows, format!("nearest {k} neighbours by cosine"))
    }

    /// Analogies `a : b :: c : ?` as a table (query `b − a + c`, then the `k` best words).
    pub fn analogy_table(&self, queries: &[(&str, &str, &str)], k: usize) -> Table {
        let mut rows = Rows::default();
        for (a, b, c) in queries {
            push(
                &mut rows,
                &format!("{b} − {a} + {c}"),
                self.analogy(a, b, c, k),
            );
        }
        table(rows, format!("analogies, {k} best by cosine"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_and_analogy() {
        // king − man + woman = queen on a hand-made 3-d table
        let words = ["man", "woman", "king", "queen", "apple"];
        let data = vec![
            1.0, 0.0, 0.0, //
            0.0, 1.0, 0.0, //
            1.0, 0.0, 1.0, //
            0.0, 1.0, 1.0, //
            -1.0, -1.0, 0.2,
        ];
        let v = WordVectors::new(words.iter().map(|s| s.to_string()).collect(), 3, data).unwrap();
        let n = v.nearest("king", 2).unwrap();
        assert_eq!(n.len(), 2);
        assert!(n.iter().all(|x| x.word != "king"));
        assert_eq!(n[0].word, "man");
        assert!((n[0].cosine - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        let a = v.analogy("man", "king", "woman", 1).unwrap();
        assert_eq!(a[0].word, "queen");
        assert!(v.nearest("nope", 3).is_err());
        assert_eq!(v.nearest("king", 100).unwrap().len(), 4);
        let t = v.neighbours_table(&["king", "nope"], 2);
        assert_eq!(t.height(), 3);
        assert!(t.to_html().contains("<td>man</td>"), "{}", t.to_html());
        assert!(t.to_html().contains("(no vector)"));
        let t = v.analogy_table(&[("man", "king", "woman")], 1);
        assert!(t.to_html().contains("<td>queen</td>"), "{}", t.to_html());
    }
}
