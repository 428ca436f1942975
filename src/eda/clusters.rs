//! KMeans clusters of document vectors set against the genres (linfa-clustering): which genres
//! each cluster gathers, purity and normalised mutual information, and a 2-D map.

use linfa::prelude::*;
use linfa::DatasetBase;
use linfa_clustering::KMeans;
use ndarray::{Array1, Array2, Axis};
use polars::prelude::*;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;

use crate::data::{Dataset, Labels};
use crate::display::Table;
use crate::error::{Error, Result};
use crate::features::{Dense, Features, TextFeatures};
use crate::plot::Figure;

/// KMeans clusters of a dataset's documents and how they line up with the genres.
#[derive(Debug, Clone)]
pub struct Clusters {
    /// Cluster of each document, in dataset order.
    pub assignments: Vec<usize>,
    /// Genre index (into `genres`) of each document.
    pub genre_of: Vec<usize>,
    /// Genre names.
    pub genres: Vec<String>,
    /// Number of clusters.
    pub k: usize,
    /// Share of documents whose genre is their cluster's most common genre.
    pub purity: f64,
    /// Normalised mutual information of clusters and genres (arithmetic mean of the entropies,
    /// scikit-learn's `normalized_mutual_info_score`).
    pub nmi: f64,
    /// Each document on the first two principal directions of its vector.
    pub points: Vec<[f32; 2]>,
}

/// `counts[c][g]`: documents of genre `g` in cluster `c`.
fn contingency(assign: &[usize], genre: &[usize], k: usize, g: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0usize; g]; k];
    for (&c, &y) in assign.iter().zip(genre) {
        m[c][y] += 1;
    }
    m
}

/// Purity and NMI of a contingency table.
fn scores(m: &[Vec<usize>]) -> (f64, f64) {
    let n: usize = m.iter().flatten().sum();
    if n == 0 {
        return (0.0, 0.0);
    }
    let nf = n as f64;
    let purity = m
        .iter()
        .map(|r| *r.iter().max().unwrap_or(&0))
        .sum::<usize>() as f64
        / nf;
    let rows: Vec<f64> = m.iter().map(|r| r.iter().sum::<usize>() as f64).collect();
    let g = m.first().map_or(0, Vec::len);
    let cols: Vec<f64> = (0..g)
        .map(|j| m.iter().map(|r| r[j]).sum::<usize>() as f64)
        .collect();
    let entropy = |v: &[f64]| -> f64 {
        v.iter()
            .filter(|&&x| x > 0.0)
            .map(|&x| -(x / nf) * (x / nf).ln())
            .sum()
    };
    let mut mi = 0.0;
    for (i, r) in m.iter().enumerate() {
        for (j, &c) in r.iter().enumerate() {
            if c > 0 {
                let p = c as f64 / nf;
                mi += p * (p * nf * nf / (rows[i] * cols[j])).ln();
            }
        }
    }
    let (hc, hg) = (entropy(&rows), entropy(&cols));
    let nmi = if hc + hg > 0.0 {
        (2.0 * mi / (hc + hg)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    (purity, nmi)
}

/// The first two principal directions of the rows of `x` (centred), by power iteration.
fn project_2d(x: &Array2<f32>, seed: u64) -> Vec<[f32; 2]> {
    let mean = x
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(x.ncols()));
    let c = x - &mean;
    let cov = c.t().dot(&c);
    let d = cov.nrows();
    let mut dirs: Vec<Array1<f32>> = Vec::new();
    for k in 0..2.min(d) {
        // A fixed, seed-dependent start vector; 100 iterations are plenty for a display.
        let mut v = Array1::from_iter(
            (0..d).map(|i| (((i as u64 + 1) * (seed + 7 + k as u64)) % 97) as f32 + 1.0),
        );
        for _ in 0..100 {
            let mut w = cov.dot(&v);
            for u in &dirs {
                let p = w.dot(u);
                w = w - u * p;
            }
            let n = w.dot(&w).sqrt();
            if n <= f32::EPSILON {
                break;
            }
            v = w / n;
        }
        dirs.push(v);
    }
    c.rows()
        .into_iter()
        .map(|r| {
            let a = dirs.first().map_or(0.0, |u| r.dot(u));
            let b = dirs.get(1).map_or(0.0, |u| r.dot(u));
            [a, b]
        })
        .collect()
}

/// KMeans (k clusters, seeded, k-means++ start as linfa does) over the rows of `x`, one per
/// document of `ds`, set against `ds`'s genres.
pub fn kmeans_clusters(ds: &Dataset, x: &Dense, k: usize, seed: u64) -> Result<Clusters> {
    if k < 2 || k > x.nrows() {
        return Err(Error::Config(format!(
            "clusters: k must be in [2, {}] (the documents), got {k}",
            x.nrows()
        )));
    }
    if x.nrows() != ds.len() {
        return Err(Error::Config(format!(
            "clusters: {} vectors for {} documents",
            x.nrows(),
            ds.len()
        )));
    }
    let labels = Labels::from_dataset(ds)?;
    let genre_of = labels.encode(ds)?;
    let records = DatasetBase::from(x.clone());
    let rng = Xoshiro256Plus::seed_from_u64(seed);
    let model = KMeans::params_with_rng(k, rng)
        .max_n_iterations(300)
        .tolerance(1e-4)
        .fit(&records)
        .map_err(|e| Error::Config(format!("clusters: KMeans failed: {e}")))?;
    let assignments: Vec<usize> = model.predict(&records).iter().copied().collect();
    let m = contingency(&assignments, &genre_of, k, labels.len());
    let (purity, nmi) = scores(&m);
    Ok(Clusters {
        assignments,
        genre_of,
        genres: labels.names().to_vec(),
        k,
        purity,
        nmi,
        points: project_2d(x, seed),
    })
}

/// KMeans clusters of the documents' TF-IDF vectors (classic_text view, reduced by SVD to 100
/// standardised components), k clusters, seeded.
pub fn document_clusters(ds: &Dataset, k: usize, seed: u64) -> Result<Clusters> {
    let (_, x) = TextFeatures::tfidf()
        .then_svd(100, seed)
        .fit_transform(ds)?;
    match x {
        Features::Dense(d) => kmeans_clusters(ds, &d, k, seed),
        Features::Sparse(_) => Err(Error::Config("clusters: expected dense vectors".into())),
    }
}

impl Clusters {
    /// Per cluster: its size, its three most common genres with their shares, and its purity.
    pub fn table(&self) -> Result<Table> {
        let m = contingency(&self.assignments, &self.genre_of, self.k, self.genres.len());
        let mut order: Vec<usize> = (0..self.k).collect();
        order.sort_by_key(|&c| std::cmp::Reverse(m[c].iter().sum::<usize>()));
        let mut cluster = Vec::new();
        let mut size = Vec::new();
        let mut top = Vec::new();
        let mut share = Vec::new();
        for &c in &order {
            let n: usize = m[c].iter().sum();
            let mut g: Vec<(usize, usize)> = m[c].iter().copied().enumerate().collect();
            g.sort_by_key(|&(j, v)| (std::cmp::Reverse(v), j));
            let desc: Vec<String> = g
                .iter()
                .take(3)
                .filter(|(_, v)| *v > 0)
                .map(|(j, v)| {
                    format!(
                        "{} {:.0}%",
                        self.genres[*j],
                        100.0 * *v as f64 / n.max(1) as f64
                    )
                })
                .collect();
            cluster.push(c as u32);
            size.push(n as u32);
            top.push(desc.join(", "));
            share.push(g.first().map_or(0.0, |(_, v)| *v as f64 / n.max(1) as f64));
        }
        let df = DataFrame::new(
            order.len(),
            vec![
                Column::new("cluster".into(), cluster),
                Column::new("docs".into(), size),
                Column::new("top_genres".into(), top),
                Column::new("purity".into(), share),
            ],
        )?;
        Ok(Table::new(df).title(format!(
            "{} KMeans clusters vs {} genres: purity {:.3}, NMI {:.3}",
            self.k,
            self.genres.len(),
            self.purity,
            self.nmi
        )))
    }

    /// The documents on their first two principal directions, coloured by cluster (named by
    /// each cluster's most common genre).
    pub fn map(&self) -> Result<Figure> {
        let m = contingency(&self.assignments, &self.genre_of, self.k, self.genres.len());
        let names: Vec<String> = m
            .iter()
            .enumerate()
            .map(|(c, r)| {
                let best = r
                    .iter()
                    .enumerate()
                    .max_by_key(|&(j, v)| (*v, std::cmp::Reverse(j)));
                match best {
                    Some((j, _)) => format!("{c}: {}", self.genres[j]),
                    None => c.to_string(),
                }
            })
            .collect();
        crate::plot::document_map(&self.points, &self.assignments, &names)
    }

    /// Shows the cluster table inline in evcxr.
    pub fn evcxr_display(&self) {
        match self.table() {
            Ok(t) => t.evcxr_display(),
            Err(e) => println!("{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purity_and_nmi_by_hand() {
        // Perfect agreement (up to relabelling): purity 1, NMI 1.
        let m = contingency(&[0, 0, 1, 1], &[1, 1, 0, 0], 2, 2);
        let (p, n) = scores(&m);
        assert!(
            (p - 1.0).abs() < 1e-12 && (n - 1.0).abs() < 1e-12,
            "{p} {n}"
        );
        // Independent: one cluster holds half of each genre.
        let m = contingency(&[0, 1, 0, 1], &[0, 0, 1, 1], 2, 2);
        let (p, n) = scores(&m);
        assert!((p - 0.5).abs() < 1e-12 && n.abs() < 1e-12, "{p} {n}");
        // 2·I(C;G) / (H(C) + H(G)) for clusters [0,0,1,1,2,2] and genres [0,0,0,1,1,1], by hand:
        // 0.5158037429793888 (the definition of scikit-learn's normalized_mutual_info_score).
        let m = contingency(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 1], 3, 2);
        let (p, n) = scores(&m);
        assert!((n - 0.5158037429793889).abs() < 1e-9, "{n}");
        assert!((p - 5.0 / 6.0).abs() < 1e-12, "{p}");
    }

    #[test]
    fn projection_finds_the_spread_direction() {
        // Points on a line along (1, 1, 0) with a little noise on z: the first coordinate
        // carries the spread.
        let x = Array2::from_shape_fn((20, 3), |(i, j)| match j {
            0 | 1 => i as f32,
            _ => (i % 2) as f32 * 0.01,
        });
        let p = project_2d(&x, 1);
        let spread0 = p.iter().map(|q| q[0].abs()).fold(0.0, f32::max);
        let spread1 = p.iter().map(|q| q[1].abs()).fold(0.0, f32::max);
        assert!(spread0 > 10.0 && spread1 < 0.1, "{spread0} {spread1}");
    }
}
