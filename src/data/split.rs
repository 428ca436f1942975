//! Stratified train / validation / hold-out splits with a seed and a manifest that proves
//! which rows went where.

use super::dataset::Dataset;
use super::labels::Labels;
use crate::display::Table;
use crate::error::{Error, Result};
use polars::prelude::{Column, DataFrame};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One side of a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Rows a model learns from.
    Train,
    /// Rows for early stopping and tuning.
    Val,
    /// Rows kept aside for the final score.
    Hold,
}

/// How to split: side ratios (summing to 1) and the seed. Default 80/10/10, seed 42.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitConfig {
    /// Share of rows for training.
    pub train: f64,
    /// Share of rows for validation.
    pub val: f64,
    /// Share of rows held out.
    pub hold: f64,
    /// Seed of the shuffle inside each genre.
    pub seed: u64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            train: 0.8,
            val: 0.1,
            hold: 0.1,
            seed: 42,
        }
    }
}

impl SplitConfig {
    /// 80/10/10 with seed 42.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the three ratios; they must be in [0, 1], sum to 1, and `train` must be positive.
    pub fn ratios(mut self, train: f64, val: f64, hold: f64) -> Self {
        (self.train, self.val, self.hold) = (train, val, hold);
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    fn validate(&self) -> Result<()> {
        let r = [self.train, self.val, self.hold];
        if r.iter().any(|x| !x.is_finite() || *x < 0.0 || *x > 1.0) || self.train <= 0.0 {
            return Err(Error::Config(format!(
                "split ratios must be in [0, 1] with train > 0, got {r:?}"
            )));
        }
        if (r.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
            return Err(Error::Config(format!(
                "split ratios must sum to 1, got {r:?}"
            )));
        }
        Ok(())
    }
}

/// A genre too rare to appear on every side, and where its rows went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RareGenre {
    /// The genre.
    pub genre: String,
    /// How many rows it has.
    pub rows: usize,
    /// The sides that got at least one row.
    pub sides: Vec<Side>,
}

/// Ids per side plus hashes: two runs used the same split exactly when their manifests are
/// byte-identical (same data, seed and ratios always give the same bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitManifest {
    /// Manifest format tag.
    pub format: String,
    /// File name of the source (no directory, so the manifest does not depend on where data lives).
    pub source: String,
    /// Rows in the source.
    pub rows: usize,
    /// SHA-256 over every row's id, title, genre and text, in order.
    pub content_sha256: String,
    /// The seed used.
    pub seed: u64,
    /// Ratios train, val, hold.
    pub ratios: [f64; 3],
    /// SHA-256 over the ids of each side: equal hashes, equal splits.
    pub split_sha256: String,
    /// Genres that could not be placed on every side.
    pub rare_genres: Vec<RareGenre>,
    /// Ids of the training rows, in source order.
    pub train: Vec<u64>,
    /// Ids of the validation rows, in source order.
    pub val: Vec<u64>,
    /// Ids of the hold-out rows, in source order.
    pub hold: Vec<u64>,
}

impl SplitManifest {
    /// Writes the manifest as pretty JSON to `dir/split-seed<SEED>-<HASH12>.json`, returning the path.
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<PathBuf> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(format!(
            "split-seed{}-{}.json",
            self.seed,
            &self.split_sha256[..12]
        ));
        let mut json = serde_json::to_string_pretty(self)?;
        json.push('\n');
        std::fs::write(&path, json).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }

    /// Reads a manifest written by [`SplitManifest::write`].
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// The three sides of a split, the labels of the whole dataset, and the manifest.
#[derive(Debug, Clone)]
pub struct Split {
    /// Training rows.
    pub train: Dataset,
    /// Validation rows.
    pub val: Dataset,
    /// Hold-out rows.
    pub hold: Dataset,
    /// Every genre of the source dataset.
    pub labels: Labels,
    /// Which ids went where, with hashes.
    pub manifest: SplitManifest,
}

impl Split {
    /// Genres that could not be placed on every side (fewer than 3 rows, or a zero ratio).
    pub fn rare_genres(&self) -> &[RareGenre] {
        &self.manifest.rare_genres
    }

    /// Rows and genres per side, with the split hash in the caption.
    pub fn sizes(&self) -> Table {
        let sides = [&self.train, &self.val, &self.hold];
        let total = sides.iter().map(|s| s.len()).sum::<usize>().max(1) as f64;
        let genres = |d: &Dataset| {
            d.genres()
                .into_iter()
                .flatten()
                .collect::<BTreeSet<_>>()
                .len() as u32
        };
        let df = DataFrame::new(
            3,
            vec![
                Column::new("side".into(), ["train", "val", "hold"]),
                Column::new(
                    "rows".into(),
                    sides.iter().map(|s| s.len() as u32).collect::<Vec<_>>(),
                ),
                Column::new(
                    "share_pct".into(),
                    sides
                        .iter()
                        .map(|s| 100.0 * s.len() as f64 / total)
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "genres".into(),
                    sides.iter().map(|s| genres(s)).collect::<Vec<_>>(),
                ),
            ],
        )
        .expect("four columns of three rows");
        Table::new(df).title(format!(
            "split sides (seed {}, split sha256 {}…)",
            self.manifest.seed,
            &self.manifest.split_sha256[..12]
        ))
    }

    /// Lets evcxr show a split as its side sizes.
    pub fn evcxr_display(&self) {
        self.sizes().evcxr_display();
    }
}

/// Per-genre side sizes: at least one row per side with a positive ratio when the genre has
/// enough rows, training first.
fn side_sizes(n: usize, cfg: &SplitConfig) -> [usize; 3] {
    let sides_wanted = [cfg.train, cfg.val, cfg.hold]
        .iter()
        .filter(|r| **r > 0.0)
        .count();
    let round = |r: f64| (n as f64 * r).round() as usize;
    let mut val = round(cfg.val);
    let mut hold = round(cfg.hold);
    if n >= sides_wanted {
        if cfg.val > 0.0 {
            val = val.max(1);
        }
        if cfg.hold > 0.0 {
            hold = hold.max(1);
        }
    } else {
        // Too few rows for every side: one to train, then hold-out, then validation.
        let rest = n.saturating_sub(1);
        hold = usize::from(cfg.hold > 0.0 && rest >= 1);
        val = usize::from(cfg.val > 0.0 && rest > hold);
    }
    while val + hold + 1 > n.max(1) && val + hold > 0 {
        if val >= hold {
            val -= 1;
        } else {
            hold -= 1;
        }
    }
    [n - val - hold, val, hold]
}

pub(crate) fn content_hash(ds: &Dataset) -> String {
    let mut h = Sha256::new();
    let (ids, titles, texts, genres) = (ds.ids(), ds.titles(), ds.texts(), ds.genres());
    for i in 0..ds.len() {
        h.update(ids[i].to_le_bytes());
        for field in [titles[i], genres[i].unwrap_or(""), texts[i]] {
            h.update((field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Dataset {
    /// Splits a labelled dataset by genre: each genre's rows are shuffled with the seed and cut
    /// by the ratios; every genre with at least 3 rows lands on every side. Rarer genres go to
    /// train first, then hold, then val, and are listed in [`Split::rare_genres`].
    pub fn split(&self, cfg: SplitConfig) -> Result<Split> {
        cfg.validate()?;
        let labels = Labels::from_dataset(self)?;
        let codes = labels.encode(self)?;
        let mut by_genre: Vec<Vec<usize>> = vec![Vec::new(); labels.len()];
        for (i, &c) in codes.iter().enumerate() {
            by_genre[c].push(i);
        }
        let mut rng = crate::seed::rng(cfg.seed, crate::seed::SPLIT);
        let mut sides: [Vec<usize>; 3] = Default::default();
        let mut rare = Vec::new();
        for (g, rows) in by_genre.iter_mut().enumerate() {
            rows.shuffle(&mut rng);
            let sizes = side_sizes(rows.len(), &cfg);
            let mut start = 0;
            for (side, &k) in sizes.iter().enumerate() {
                sides[side].extend_from_slice(&rows[start..start + k]);
                start += k;
            }
            let wanted = [cfg.train, cfg.val, cfg.hold];
            if (0..3).any(|s| wanted[s] > 0.0 && sizes[s] == 0) {
                let names = [Side::Train, Side::Val, Side::Hold];
                rare.push(RareGenre {
                    genre: labels.name(g).unwrap_or_default().to_string(),
                    rows: rows.len(),
                    sides: (0..3).filter(|&s| sizes[s] > 0).map(|s| names[s]).collect(),
                });
            }
        }
        for s in sides.iter_mut() {
            s.sort_unstable();
        }
        let ids = self.ids();
        let side_ids: Vec<Vec<u64>> = sides
            .iter()
            .map(|s| s.iter().map(|&i| ids[i]).collect())
            .collect();
        let mut h = Sha256::new();
        for (name, list) in ["train", "val", "hold"].iter().zip(&side_ids) {
            h.update(name.as_bytes());
            h.update((list.len() as u64).to_le_bytes());
            for id in list {
                h.update(id.to_le_bytes());
            }
        }
        let manifest = SplitManifest {
            format: "genre_nlp.split/1".into(),
            source: self
                .source()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "<memory>".into()),
            rows: self.len(),
            content_sha256: content_hash(self),
            seed: cfg.seed,
            ratios: [cfg.train, cfg.val, cfg.hold],
            split_sha256: hex(&h.finalize()),
            rare_genres: rare,
            train: side_ids[0].clone(),
            val: side_ids[1].clone(),
            hold: side_ids[2].clone(),
        };
        if !manifest.rare_genres.is_empty() {
            let list: Vec<String> = manifest
                .rare_genres
                .iter()
                .map(|r| format!("{} ({} rows)", r.genre, r.rows))
                .collect();
            eprintln!("note: too rare for every split side: {}", list.join(", "));
        }
        Ok(Split {
            train: self.take(&sides[0])?,
            val: self.take(&sides[1])?,
            hold: self.take(&sides[2])?,
            labels,
            manifest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_sizes_keep_every_side_from_three_rows() {
        let c = SplitConfig::default();
        assert_eq!(side_sizes(3, &c), [1, 1, 1]);
        assert_eq!(side_sizes(4, &c), [2, 1, 1]);
        assert_eq!(side_sizes(10, &c), [8, 1, 1]);
        assert_eq!(side_sizes(522, &c), [418, 52, 52]);
        assert_eq!(side_sizes(2, &c), [1, 0, 1]);
        assert_eq!(side_sizes(1, &c), [1, 0, 0]);
        let no_val = SplitConfig::default().ratios(0.9, 0.0, 0.1);
        assert_eq!(side_sizes(2, &no_val), [1, 0, 1]);
        assert_eq!(side_sizes(20, &no_val), [18, 0, 2]);
    }

    #[test]
    fn bad_ratios_are_rejected() {
        assert!(SplitConfig::default()
            .ratios(0.8, 0.1, 0.2)
            .validate()
            .is_err());
        assert!(SplitConfig::default()
            .ratios(0.0, 0.5, 0.5)
            .validate()
            .is_err());
        assert!(SplitConfig::default()
            .ratios(1.1, -0.1, 0.0)
            .validate()
            .is_err());
        assert!(SplitConfig::default()
            .ratios(0.7, 0.2, 0.1)
            .validate()
            .is_ok());
    }
}
