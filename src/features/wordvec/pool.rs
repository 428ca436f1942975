//! Document vectors from word vectors: plain mean, TF-IDF-weighted mean, and SIF (Arora,
//! Liang & Ma 2017, "A simple but tough-to-beat baseline for sentence embeddings").
//!
//! A [`Pooler`] is fitted on the training documents (IDF, word probabilities and SIF's
//! principal component come from them only) and then transforms any documents. Tokens without
//! a vector are skipped (FastText vectors give out-of-vocabulary words one from their n-grams);
//! a document with no token that has a vector becomes the zero vector. Output is row-major,
//! `n_docs × dim`.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::config_err;
use super::WordVectors;
use crate::error::{Error, Result};

/// How word vectors are combined into a document vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Unweighted mean of the token vectors.
    #[default]
    Mean,
    /// Mean weighted by IDF per token (so by tf·idf per word): Σ idf(w)·v(w) / Σ idf(w), with
    /// scikit-learn's smooth idf `ln((1 + n) / (1 + df)) + 1` from the training documents; a
    /// word absent from them gets the largest idf, `ln(1 + n) + 1`.
    TfIdfMean,
    /// SIF: (1/|d|) Σ a/(a + p(w))·v(w), p from the training corpus counts (0 for an unseen
    /// word, so weight 1), then the projection on the first principal component of the
    /// training document vectors removed (uncentred, as the authors' code: the first right
    /// singular vector). The component is stored, so new documents lose the same direction.
    Sif,
}

/// Pooling settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolConfig {
    /// The pooling (default mean).
    pub pooling: Pooling,
    /// SIF's smoothing `a` (default 1e-3, the paper's recommended range is 1e-4..1e-3).
    pub sif_a: f64,
    /// SIF: remove the first principal component (default true; false keeps only the
    /// weighting).
    pub remove_component: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            pooling: Pooling::Mean,
            sif_a: 1e-3,
            remove_component: true,
        }
    }
}

impl PoolConfig {
    /// Sets the pooling.
    pub fn pooling(mut self, pooling: Pooling) -> Self {
        self.pooling = pooling;
        self
    }

    /// Sets SIF's `a`.
    pub fn sif_a(mut self, sif_a: f64) -> Self {
        self.sif_a = sif_a;
        self
    }

    /// Sets whether SIF removes the first principal component.
    pub fn remove_component(mut self, remove_component: bool) -> Self {
        self.remove_component = remove_component;
        self
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        if !(self.sif_a.is_finite() && self.sif_a > 0.0) {
            return Err(config_err("sif_a", "must be a finite number > 0"));
        }
        Ok(())
    }

    /// Fits the pooling on the training documents.
    pub fn fit(&self, vectors: &WordVectors, train_docs: &[Vec<String>]) -> Result<Pooler> {
        Ok(self.fit_transform(vectors, train_docs)?.0)
    }

    /// Fits on the training documents and returns their document vectors too.
    pub fn fit_transform(
        &self,
        vectors: &WordVectors,
        train_docs: &[Vec<String>],
    ) -> Result<(Pooler, Vec<f32>)> {
        self.validate()?;
        if train_docs.is_empty() {
            return Err(Error::Config(
                "no training documents to fit the pooling on".into(),
            ));
        }
        let n = train_docs.len() as f64;
        let (weights, default_weight) = match self.pooling {
            Pooling::Mean => (FxHashMap::default(), 1.0),
            Pooling::TfIdfMean => {
                let mut df: FxHashMap<&str, u64> = FxHashMap::default();
                let mut seen: Vec<&str> = Vec::new();
                for d in train_docs {
                    seen.clear();
                    seen.extend(d.iter().map(String::as_str));
                    seen.sort_unstable();
                    seen.dedup();
                    for w in &seen {
                        *df.entry(w).or_insert(0) += 1;
                    }
                }
                let idf = |df: f64| (((1.0 + n) / (1.0 + df)).ln() + 1.0) as f32;
                let weights = df
                    .into_iter()
                    .map(|(w, c)| (w.to_string(), idf(c as f64)))
                    .collect();
                (weights, idf(0.0))
            }
            Pooling::Sif => {
                let mut counts: FxHashMap<&str, u64> = FxHashMap::default();
                let mut total = 0u64;
                for d in train_docs {
                    for w in d {
                        *counts.entry(w.as_str()).or_insert(0) += 1;
                        total += 1;
                    }
                }
                let a = self.sif_a;
                let weights = counts
                    .into_iter()
                    .map(|(w, c)| {
                        let p = c as f64 / total.max(1) as f64;
                        (w.to_string(), (a / (a + p)) as f32)
                    })
                    .collect();
                (weights, 1.0)
            }
        };
        let mut pooler = Pooler {
            pooling: self.pooling,
            dim: vectors.dim(),
            weights,
            default_weight,
            component: None,
        };
        let mut x = pooler.weighted_means(vectors, train_docs)?;
        if self.pooling == Pooling::Sif && self.remove_component {
            let u = first_component(&x, vectors.dim());
            pooler.component = u;
            pooler.remove(&mut x);
        }
        Ok((pooler, x))
    }
}

/// A fitted pooling: turns documents into vectors with the weights (and SIF component) learnt
/// from the training documents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pooler {
    pooling: Pooling,
    dim: usize,
    weights: FxHashMap<String, f32>,
    default_weight: f32,
    component: Option<Vec<f32>>,
}

impl Pooler {
    /// The pooling this was fitted for.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// SIF's removed direction (unit length), if any.
    pub fn component(&self) -> Option<&[f32]> {
        self.component.as_deref()
    }

    /// The weight of `word` (1 for mean pooling).
    pub fn weight(&self, word: &str) -> f32 {
        self.weights
            .get(word)
            .copied()
            .unwrap_or(self.default_weight)
    }

    /// Document vectors of `docs`, row-major `docs.len() × dim`; errors when `vectors` has
    /// another dimension than the vectors the pooling was fitted with.
    pub fn transform(&self, vectors: &WordVectors, docs: &[Vec<String>]) -> Result<Vec<f32>> {
        let mut x = self.weighted_means(vectors, docs)?;
        self.remove(&mut x);
        Ok(x)
    }

    fn weighted_means(&self, vectors: &WordVectors, docs: &[Vec<String>]) -> Result<Vec<f32>> {
        let dim = self.dim;
        if vectors.dim() != dim {
            return Err(config_err(
                "vectors",
                format!(
                    "have dim {}, the pooling was fitted on dim {dim}",
                    vectors.dim()
                ),
            ));
        }
        let mut out = vec![0f32; docs.len() * dim];
        let mut acc = vec![0f64; dim];
        for (d, row) in docs.iter().zip(out.chunks_exact_mut(dim)) {
            acc.iter_mut().for_each(|a| *a = 0.0);
            let (mut wsum, mut n) = (0f64, 0usize);
            for w in d {
                let Some(v) = vectors.vector(w) else { continue };
                let wt = self.weight(w) as f64;
                for (a, &x) in acc.iter_mut().zip(v.iter()) {
                    *a += wt * x as f64;
                }
                wsum += wt;
                n += 1;
            }
            // Mean and TF-IDF: divide by the total weight; SIF: by the token count.
            let denom = match self.pooling {
                Pooling::Sif => n as f64,
                _ => wsum,
            };
            if n > 0 && denom > 0.0 {
                for (r, a) in row.iter_mut().zip(&acc) {
                    *r = (a / denom) as f32;
                }
            }
        }
        Ok(out)
    }

    fn remove(&self, x: &mut [f32]) {
        let Some(u) = &self.component else { return };
        for row in x.chunks_exact_mut(self.dim) {
            let p: f64 = row.iter().zip(u).map(|(&a, &b)| a as f64 * b as f64).sum();
            for (r, &b) in row.iter_mut().zip(u) {
                *r = (*r as f64 - p * b as f64) as f32;
            }
        }
    }
}

/// The first right singular vector of the row-major `n × dim` matrix `x` (top eigenvector of
/// XᵀX), by power iteration from the column means; `None` when X is all zeros. The sign is
/// fixed so that the largest-magnitude entry is positive.
fn first_component(x: &[f32], dim: usize) -> Option<Vec<f32>> {
    let mut c = vec![0f64; dim * dim];
    let mut mean = vec![0f64; dim];
    for row in x.chunks_exact(dim) {
        for i in 0..dim {
            let ri = row[i] as f64;
            if ri == 0.0 {
                continue;
            }
            mean[i] += ri;
            for j in i..dim {
                c[i * dim + j] += ri * row[j] as f64;
            }
        }
    }
    for i in 0..dim {
        for j in 0..i {
            c[i * dim + j] = c[j * dim + i];
        }
    }
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    // Start from the mean (close to the top direction for uncentred data), else from the
    // largest-variance axis.
    let mut v = mean;
    if norm(&v) == 0.0 {
        let best = (0..dim).max_by(|&a, &b| c[a * dim + a].total_cmp(&c[b * dim + b]))?;
        if c[best * dim + best] == 0.0 {
            return None;
        }
        v = vec![0.0; dim];
        v[best] = 1.0;
    }
    let nv = norm(&v);
    v.iter_mut().for_each(|a| *a /= nv);
    let mut next = vec![0f64; dim];
    for _ in 0..10_000 {
        for i in 0..dim {
            next[i] = (0..dim).map(|j| c[i * dim + j] * v[j]).sum();
        }
        let nn = norm(&next);
        if nn == 0.0 {
            return None;
        }
        next.iter_mut().for_each(|a| *a /= nn);
        let diff: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut v, &mut next);
        if diff < 1e-13 {
            break;
        }
    }
    let big = v
        .iter()
        .copied()
        .max_by(|a, b| a.abs().total_cmp(&b.abs()))
        .unwrap_or(1.0);
    let sign = if big < 0.0 { -1.0 } else { 1.0 };
    Some(v.iter().map(|a| (a * sign) as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(s: &[&str]) -> Vec<Vec<String>> {
        s.iter()
            .map(|d| d.split_whitespace().map(String::from).collect())
            .collect()
    }

    /// a = (1, 0), b = (0, 1), c = (1, 1).
    fn abc() -> WordVectors {
        WordVectors::new(
            vec!["a".into(), "b".into(), "c".into()],
            2,
            vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
        )
        .unwrap()
    }

    fn close(got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }

    /// Worked by hand. Training docs d1 = [a c], d2 = [b c], d3 = [c]: counts a 1, b 1, c 3 of
    /// 5 tokens, so p(a) = p(b) = 1/5, p(c) = 3/5. With a = 1/5 the weights are
    /// w(a) = w(b) = (1/5)/(1/5 + 1/5) = 1/2 and w(c) = (1/5)/(1/5 + 3/5) = 1/4.
    /// Weighted averages (÷ token count):
    ///   d1 = (½(1,0) + ¼(1,1)) / 2 = (3/8, 1/8);  d2 = (1/8, 3/8);  d3 = ¼(1,1) = (1/4, 1/4).
    /// XᵀX = [[14, 10], [10, 14]] / 64: eigenvalues 24/64 on (1,1)/√2 and 4/64 on (1,−1)/√2,
    /// so u = (1,1)/√2. Removing the projection (v·u)u:
    ///   d1: v·u = (1/2)/√2, (v·u)u = (1/4, 1/4), d1' = (1/8, −1/8);  d2' = (−1/8, 1/8);
    ///   d3' = (0, 0).
    /// New doc [a a zzz] (zzz has no vector, skipped): (½(1,0) + ½(1,0)) / 2 = (1/2, 0),
    /// minus (1/4, 1/4) = (1/4, −1/4). An empty doc stays (0, 0).
    #[test]
    fn sif_matches_the_hand_computed_example() {
        let v = abc();
        let train = docs(&["a c", "b c", "c"]);
        let cfg = PoolConfig::default().pooling(Pooling::Sif).sif_a(0.2);
        let (pooler, x) = cfg.fit_transform(&v, &train).unwrap();
        close(&x, &[0.125, -0.125, -0.125, 0.125, 0.0, 0.0]);
        let s = std::f64::consts::FRAC_1_SQRT_2;
        close(pooler.component().unwrap(), &[s, s]);
        let y = pooler.transform(&v, &docs(&["a a zzz", ""])).unwrap();
        close(&y, &[0.25, -0.25, 0.0, 0.0]);
        // without the component removal, only the weighting is left
        let (_, x) = cfg
            .remove_component(false)
            .fit_transform(&v, &train)
            .unwrap();
        close(&x, &[0.375, 0.125, 0.125, 0.375, 0.25, 0.25]);
    }

    #[test]
    fn mean_and_tfidf_mean() {
        let v = abc();
        let train = docs(&["a c", "b c", "c"]);
        let (_, x) = PoolConfig::default().fit_transform(&v, &train).unwrap();
        close(&x, &[1.0, 0.5, 0.5, 1.0, 1.0, 1.0]);
        // idf(a) = ln(4/2) + 1, idf(c) = ln(4/4) + 1 = 1
        let ia = 2f64.ln() + 1.0;
        let (p, x) = PoolConfig::default()
            .pooling(Pooling::TfIdfMean)
            .fit_transform(&v, &train)
            .unwrap();
        close(&x[..2], &[1.0, 1.0 / (ia + 1.0)]);
        // unseen word with a vector: largest idf ln(1 + 3) + 1
        assert!((p.weight("zzz") as f64 - (4f64.ln() + 1.0)).abs() < 1e-6);
        let y = p.transform(&v, &docs(&["", "nothing known"])).unwrap();
        assert_eq!(y, vec![0.0; 4]);
    }

    #[test]
    fn validate_names_the_field() {
        let e = PoolConfig::default().sif_a(0.0).validate().unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.contains("`sif_a`")),
            "{e}"
        );
    }
}
