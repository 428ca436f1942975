//! A linear model on top of any representation (the `…-linear` composed pipelines, e.g.
//! `minilm-linear`): logistic regression or linear SVM, C picked by stratified k-fold
//! cross-validation (macro-F1) on the training rows, then refitted on all of them.

use serde::{Deserialize, Serialize};

use crate::data::Labels;
use crate::error::{Error, Result};
use crate::eval::ClassificationReport;
use crate::features::{Csr, Dense, Features};
use crate::models::linear::{ClassWeight, LinearModel, LinearSvc, LogisticRegression};
use crate::models::tfidf_linear::Head;
use crate::train::config::{bad_value, parse_value};

/// Below this many rows, `cv_repeats = 0` (auto) repeats the cross-validation 3 times.
pub const AUTO_REPEAT_ROWS: usize = 10_000;

/// `(C, mean macro-F1, mean accuracy)` for each candidate C, in grid order.
pub type Tuning = Vec<(f32, f64, f64)>;

/// Options of the linear model on a representation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearHeadConfig {
    /// Logistic regression (probabilities) or linear SVM.
    pub head: Head,
    /// C when `c_grid` is empty (and the one picked, in a fitted model).
    pub c: f32,
    /// Candidate C values tried on the validation split.
    pub c_grid: Vec<f32>,
    /// Class weights.
    pub class_weight: ClassWeight,
    /// Share of the training rows held out (stratified) to pick C when `cv_folds` < 2.
    pub val_fraction: f64,
    /// Folds of the stratified cross-validation that picks C (train and validation rows
    /// pooled); below 2, C is picked on the validation split alone.
    #[serde(default = "default_folds")]
    pub cv_folds: usize,
    /// Repeats of the cross-validation, each with other folds (scikit-learn's
    /// `RepeatedStratifiedKFold`); 0 = auto: 3 below [`AUTO_REPEAT_ROWS`] rows, where fold
    /// assignment moves the scores more than C does, else 1.
    #[serde(default)]
    pub cv_repeats: usize,
    /// Iteration limit of the logistic regression's L-BFGS (scikit-learn's `max_iter`).
    #[serde(default = "default_max_iter")]
    pub max_iter: usize,
    /// Seed of the internal split and the solvers.
    pub seed: u64,
}

impl Default for LinearHeadConfig {
    fn default() -> Self {
        LinearHeadConfig {
            head: Head::Logistic,
            c: 1.0,
            c_grid: vec![0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
            class_weight: ClassWeight::Balanced,
            val_fraction: 0.1,
            cv_folds: 5,
            cv_repeats: 0,
            max_iter: 2000,
            seed: 42,
        }
    }
}

fn default_folds() -> usize {
    5
}

fn default_max_iter() -> usize {
    2000
}

/// Keys [`LinearHeadConfig::set`] accepts.
pub const LINEAR_HEAD_KEYS: &[&str] = &[
    "head (logistic|svm)",
    "c (float > 0; clears c_grid)",
    "c_grid (comma-separated floats, or none)",
    "class_weight (balanced|none)",
    "val_fraction (float in (0, 0.5))",
    "cv_folds (integer; < 2 picks C on the validation split)",
    "cv_repeats (integer; 0 = auto: 3 below 10,000 rows, else 1)",
    "max_iter (integer >= 1, logistic regression)",
    "seed (integer)",
];

impl LinearHeadConfig {
    /// Applies `key=value`; `Ok(false)` when the key is not one of [`LINEAR_HEAD_KEYS`].
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        match key.trim() {
            "head" => {
                self.head = match v {
                    "logistic" => Head::Logistic,
                    "svm" => Head::Svm,
                    _ => return Err(bad_value(key, v, "logistic|svm")),
                }
            }
            "c" => {
                self.c = parse_value(key, v)?;
                self.c_grid.clear();
            }
            "c_grid" => {
                self.c_grid = if v.eq_ignore_ascii_case("none") {
                    Vec::new()
                } else {
                    v.split(',')
                        .map(|x| parse_value(key, x))
                        .collect::<Result<_>>()?
                }
            }
            "class_weight" => {
                self.class_weight = match v {
                    "balanced" => ClassWeight::Balanced,
                    "none" => ClassWeight::None,
                    _ => return Err(bad_value(key, v, "balanced|none")),
                }
            }
            "val_fraction" => self.val_fraction = parse_value(key, v)?,
            "cv_folds" => self.cv_folds = parse_value(key, v)?,
            "cv_repeats" => self.cv_repeats = parse_value(key, v)?,
            "max_iter" => self.max_iter = parse_value(key, v)?,
            "seed" => self.seed = parse_value(key, v)?,
            _ => return Ok(false),
        }
        self.validate()?;
        Ok(true)
    }

    /// Checks the options; errors name the key.
    pub fn validate(&self) -> Result<()> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(bad_value("c", &self.c.to_string(), "a float > 0"));
        }
        if let Some(bad) = self.c_grid.iter().find(|c| !(c.is_finite() && **c > 0.0)) {
            return Err(bad_value("c_grid", &bad.to_string(), "floats > 0"));
        }
        if self.max_iter == 0 {
            return Err(bad_value("max_iter", "0", "an integer >= 1"));
        }
        if !(self.val_fraction > 0.0 && self.val_fraction < 0.5) {
            return Err(bad_value(
                "val_fraction",
                &self.val_fraction.to_string(),
                "a float in (0, 0.5)",
            ));
        }
        Ok(())
    }

    /// Cross-validation repeats for `rows` pooled training rows (resolves 0 = auto).
    pub fn repeats(&self, rows: usize) -> usize {
        match self.cv_repeats {
            0 if rows < AUTO_REPEAT_ROWS => 3,
            0 => 1,
            r => r,
        }
    }

    /// How C is picked for `rows` pooled training rows, for messages: `5-fold CV`,
    /// `5-fold CV × 3`, or `validation`.
    pub fn tuned_on(&self, rows: usize) -> String {
        match (self.cv_folds, self.repeats(rows)) {
            (f, 1) if f >= 2 => format!("{f}-fold CV"),
            (f, r) if f >= 2 => format!("{f}-fold CV × {r}"),
            _ => "validation".into(),
        }
    }

    fn solve(&self, c: f32, x: &Features, y: &[usize], k: usize) -> Result<LinearModel> {
        match (&self.head, x) {
            (Head::Logistic, Features::Dense(d)) => self.logistic(c).fit(d, y, k),
            (Head::Logistic, Features::Sparse(s)) => self.logistic(c).fit(s, y, k),
            (Head::Svm, Features::Dense(d)) => self.svm(c).fit(d, y, k),
            (Head::Svm, Features::Sparse(s)) => self.svm(c).fit(s, y, k),
        }
    }

    fn logistic(&self, c: f32) -> LogisticRegression {
        LogisticRegression::default()
            .c(c)
            .max_iter(self.max_iter)
            .class_weight(self.class_weight.clone())
    }

    fn svm(&self, c: f32) -> LinearSvc {
        LinearSvc::default()
            .c(c)
            .class_weight(self.class_weight.clone())
            .seed(self.seed)
    }

    /// Picks C by stratified `cv_folds`-fold cross-validation on `train` and `val` pooled,
    /// repeated [`LinearHeadConfig::repeats`] times with other folds (or on `val` alone when
    /// `cv_folds` < 2), by mean macro-F1, then fits on `train` and `val` together. Returns the model, the chosen C and `(C, mean macro-F1, mean accuracy)` per
    /// candidate.
    pub fn fit(
        &self,
        labels: &Labels,
        train: (&Features, &[usize]),
        val: (&Features, &[usize]),
    ) -> Result<(LinearModel, f32, Tuning)> {
        self.validate()?;
        let k = labels.len();
        let both = stack(train.0, val.0)?;
        let y: Vec<usize> = train.1.iter().chain(val.1).copied().collect();
        let mut tuning = Vec::new();
        let mut c = self.c;
        if self.c_grid.len() > 1 {
            let folds: Vec<(Features, Vec<usize>, Features, Vec<usize>)> = if self.cv_folds >= 2 {
                (0..self.repeats(y.len()))
                    .flat_map(|r| stratified_folds(&y, self.cv_folds, repeat_seed(self.seed, r)))
                    .map(|(tr, va)| {
                        Ok((
                            take(&both, &tr)?,
                            tr.iter().map(|&i| y[i]).collect(),
                            take(&both, &va)?,
                            va.iter().map(|&i| y[i]).collect(),
                        ))
                    })
                    .collect::<Result<_>>()?
            } else {
                vec![(
                    train.0.clone(),
                    train.1.to_vec(),
                    val.0.clone(),
                    val.1.to_vec(),
                )]
            };
            let mut best: Option<(f32, f64)> = None;
            for &cand in &self.c_grid {
                let (mut f1, mut acc) = (0.0, 0.0);
                for (xtr, ytr, xva, yva) in &folds {
                    let m = self.solve(cand, xtr, ytr, k)?;
                    let r = ClassificationReport::new(yva, &predict(&m, xva)?, labels)?;
                    f1 += r.macro_f1() / folds.len() as f64;
                    acc += r.accuracy() / folds.len() as f64;
                }
                tuning.push((cand, f1, acc));
                if best.is_none_or(|(_, f)| f1 > f) {
                    best = Some((cand, f1));
                }
            }
            c = best.map_or(self.c, |(c, _)| c);
        } else if let Some(&only) = self.c_grid.first() {
            c = only;
        }
        Ok((self.solve(c, &both, &y, k)?, c, tuning))
    }
}

/// The seed of repeat `r` of the cross-validation (`seed` itself for the first).
fn repeat_seed(seed: u64, r: usize) -> u64 {
    seed ^ (r as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Stratified folds of `y`'s rows: each class's rows, shuffled with `seed`, dealt round-robin
/// (one running position across classes, so fold sizes stay even). Returns `(train, held out)`
/// row indices per fold.
pub fn stratified_folds(y: &[usize], folds: usize, seed: u64) -> Vec<(Vec<usize>, Vec<usize>)> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n_classes = y.iter().max().map_or(0, |m| m + 1);
    let mut fold_of = vec![0usize; y.len()];
    let mut pos = 0usize;
    for class in 0..n_classes {
        let mut rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        rows.shuffle(&mut rng);
        for r in rows {
            fold_of[r] = pos % folds;
            pos += 1;
        }
    }
    (0..folds)
        .map(|f| {
            let (held, kept): (Vec<usize>, Vec<usize>) =
                (0..y.len()).partition(|&i| fold_of[i] == f);
            (kept, held)
        })
        .collect()
}

/// The rows `idx` of `x`.
fn take(x: &Features, idx: &[usize]) -> Result<Features> {
    match x {
        Features::Dense(d) => Ok(Features::Dense(d.select(ndarray::Axis(0), idx))),
        Features::Sparse(s) => {
            let rows: Vec<_> = idx.iter().map(|&i| s.slice_outer(i..i + 1)).collect();
            Ok(Features::Sparse(sprs::vstack(&rows)))
        }
    }
}

/// Decision scores of `x`'s rows.
pub fn decision(m: &LinearModel, x: &Features) -> Result<Dense> {
    match x {
        Features::Dense(d) => m.decision_function(d),
        Features::Sparse(s) => m.decision_function(s),
    }
}

fn predict(m: &LinearModel, x: &Features) -> Result<Vec<usize>> {
    match x {
        Features::Dense(d) => m.predict(d),
        Features::Sparse(s) => m.predict(s),
    }
}

/// The rows of `a` then those of `b`.
fn stack(a: &Features, b: &Features) -> Result<Features> {
    match (a, b) {
        (Features::Dense(a), Features::Dense(b)) => Ok(Features::Dense(
            ndarray::concatenate(ndarray::Axis(0), &[a.view(), b.view()])
                .map_err(|e| Error::Model(e.to_string()))?,
        )),
        (Features::Sparse(a), Features::Sparse(b)) => {
            let v: Csr = sprs::vstack(&[a.view(), b.view()]);
            Ok(Features::Sparse(v))
        }
        _ => Err(Error::Model(
            "training and validation features differ in kind (dense / sparse)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_folds_hold_every_row_out_once_and_spread_each_class() {
        // Classes of 11, 6 and 3 rows, interleaved.
        let y: Vec<usize> = [0, 1, 0, 2, 0, 1, 0, 1, 0, 2, 0, 1, 0, 1, 0, 2, 0, 1, 0, 0].to_vec();
        let sizes: Vec<usize> = (0..3)
            .map(|c| y.iter().filter(|&&v| v == c).count())
            .collect();
        let folds = stratified_folds(&y, 5, 7);
        assert_eq!(folds.len(), 5);
        let mut held = vec![0; y.len()];
        for (tr, va) in &folds {
            assert_eq!(tr.len() + va.len(), y.len());
            assert!(va.len() == 4, "fold sizes {}", va.len());
            for &i in va {
                held[i] += 1;
                assert!(!tr.contains(&i));
            }
            for (c, &n) in sizes.iter().enumerate() {
                let k = va.iter().filter(|&&i| y[i] == c).count();
                assert!(k == n / 5 || k == n.div_ceil(5), "class {c}: {k} of {n}");
            }
        }
        assert!(held.iter().all(|&h| h == 1), "{held:?}");
        assert_eq!(folds, stratified_folds(&y, 5, 7));
        assert_ne!(folds, stratified_folds(&y, 5, repeat_seed(7, 1)));
        assert_eq!(repeat_seed(7, 0), 7);
    }

    #[test]
    fn repeats_resolve_auto_by_size_and_messages_say_how_c_was_picked() {
        let mut cfg = LinearHeadConfig::default();
        assert_eq!(cfg.repeats(2_110), 3);
        assert_eq!(cfg.repeats(54_214), 1);
        assert_eq!(cfg.tuned_on(2_110), "5-fold CV × 3");
        assert_eq!(cfg.tuned_on(54_214), "5-fold CV");
        cfg.set("cv_repeats", "2").unwrap();
        assert_eq!(cfg.repeats(54_214), 2);
        cfg.set("cv_folds", "1").unwrap();
        assert_eq!(cfg.tuned_on(100), "validation");
        let err = cfg.set("cv_repeats", "x").unwrap_err().to_string();
        assert!(err.contains("cv_repeats"), "{err}");
    }
}
