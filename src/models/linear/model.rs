//! The fitted linear model: scores, predictions, probabilities, and its files on disk.

use std::fs;
use std::io::Write;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{LinearSvc, LogisticRegression};
use crate::features::{Dense, RowMatrix};
use crate::{Error, Result};

/// Format version written to `linear.json`.
pub const LINEAR_FORMAT: u32 = 1;
/// File holding the shapes and options of a saved [`LinearModel`].
pub const LINEAR_JSON: &str = "linear.json";
/// File holding the weights of a saved [`LinearModel`]: little-endian `f32`, the
/// `n_classes × n_features` coefficients (row-major) then the `n_classes` intercepts.
pub const LINEAR_BIN: &str = "linear.bin";

/// Which family a [`LinearModel`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinearKind {
    /// One-vs-rest squared-hinge SVM ([`LinearSvc`]): scores, no probabilities.
    Svm,
    /// Multinomial logistic regression ([`LogisticRegression`]): softmax probabilities.
    Logistic,
}

/// The options a [`LinearModel`] was fitted with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinearOptions {
    /// Fitted by [`LinearSvc::fit`].
    Svm(LinearSvc),
    /// Fitted by [`LogisticRegression::fit`].
    Logistic(LogisticRegression),
    /// Built by [`LinearModel::from_parts`] (no solver options).
    None,
}

/// A fitted linear classifier: `score_k(x) = coef[k] · x + intercept[k]`.
///
/// Built by [`LinearSvc::fit`] or [`LogisticRegression::fit`]; saved as `linear.json` +
/// `linear.bin` by [`LinearModel::save`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    kind: LinearKind,
    n_classes: usize,
    n_features: usize,
    coef: Vec<f32>,
    intercept: Vec<f32>,
    history: Vec<f64>,
    options: LinearOptions,
}

/// What `linear.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    kind: LinearKind,
    n_classes: usize,
    n_features: usize,
    /// Always `"f32-le"`.
    dtype: String,
    /// Number of `f32` values in `linear.bin`: `n_classes * (n_features + 1)`.
    values: usize,
    options: LinearOptions,
    history: Vec<f64>,
}

impl LinearModel {
    /// Builds a model from its weights: `coef` is `n_classes × n_features` row-major,
    /// `intercept` has `n_classes` values. [`Error::Model`] when the lengths disagree.
    pub fn from_parts(
        kind: LinearKind,
        n_classes: usize,
        n_features: usize,
        coef: Vec<f32>,
        intercept: Vec<f32>,
    ) -> Result<Self> {
        Self::build(
            kind,
            n_classes,
            n_features,
            coef,
            intercept,
            Vec::new(),
            LinearOptions::None,
        )
    }

    pub(crate) fn build(
        kind: LinearKind,
        n_classes: usize,
        n_features: usize,
        coef: Vec<f32>,
        intercept: Vec<f32>,
        history: Vec<f64>,
        options: LinearOptions,
    ) -> Result<Self> {
        if n_classes == 0 || coef.len() != n_classes * n_features || intercept.len() != n_classes {
            return Err(Error::Model(format!(
                "linear model of {n_classes} classes × {n_features} features needs {} \
                 coefficients and {n_classes} intercepts, got {} and {}",
                n_classes * n_features,
                coef.len(),
                intercept.len()
            )));
        }
        Ok(LinearModel {
            kind,
            n_classes,
            n_features,
            coef,
            intercept,
            history,
            options,
        })
    }

    /// The family (SVM or logistic).
    pub fn kind(&self) -> LinearKind {
        self.kind
    }

    /// Number of classes (columns of [`LinearModel::decision_function`]).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Number of input features the model expects.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Coefficients, `n_classes × n_features`, row-major (row `k` scores class `k`).
    pub fn coef(&self) -> &[f32] {
        &self.coef
    }

    /// Coefficients of class `k` (`n_features` values); panics if `k >= n_classes`.
    pub fn coef_row(&self, k: usize) -> &[f32] {
        &self.coef[k * self.n_features..(k + 1) * self.n_features]
    }

    /// Intercepts, one per class.
    pub fn intercept(&self) -> &[f32] {
        &self.intercept
    }

    /// Training trace (saved in `linear.json`; reading it back may be 1 ulp off).
    ///
    /// Logistic: the objective scikit-learn's lbfgs minimises,
    /// `Σ s_i·CE_i / Σ s_i + ‖W‖² / (2·C·Σ s_i)`, at the start (entry 0) and after each
    /// L-BFGS iteration (so `len() - 1` iterations were run).
    /// SVM: the number of dual coordinate-descent epochs each one-vs-rest problem ran, in
    /// class order (one entry for two classes, which share one binary problem).
    pub fn history(&self) -> &[f64] {
        &self.history
    }

    /// The options the model was fitted with.
    pub fn options(&self) -> &LinearOptions {
        &self.options
    }

    fn check_cols<M: RowMatrix>(&self, x: &M) -> Result<()> {
        if x.n_cols() != self.n_features {
            return Err(Error::Model(format!(
                "linear model expects {} features, the input has {} columns",
                self.n_features,
                x.n_cols()
            )));
        }
        Ok(())
    }

    /// Scores, `n_rows × n_classes` (rows scored in parallel).
    ///
    /// [`Error::Model`] when `x.n_cols() != n_features`.
    pub fn decision_function<M: RowMatrix>(&self, x: &M) -> Result<Dense> {
        self.check_cols(x)?;
        let (n, k, d) = (x.n_rows(), self.n_classes, self.n_features);
        let mut out = vec![0f32; n * k];
        if k > 0 {
            out.par_chunks_mut(k).enumerate().for_each(|(i, row)| {
                for (c, v) in row.iter_mut().enumerate() {
                    *v = x.dot_row(i, &self.coef[c * d..(c + 1) * d]) + self.intercept[c];
                }
            });
        }
        Dense::from_shape_vec((n, k), out).map_err(|e| Error::Model(e.to_string()))
    }

    /// The class of highest score for each row (the first one on ties).
    pub fn predict<M: RowMatrix>(&self, x: &M) -> Result<Vec<usize>> {
        let scores = self.decision_function(x)?;
        Ok(scores
            .rows()
            .into_iter()
            .map(|row| {
                let mut best = 0;
                for (c, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = c;
                    }
                }
                best
            })
            .collect())
    }

    /// Class probabilities (softmax of the scores, rows sum to 1) for a logistic model;
    /// `None` for an SVM, whose scores are not probabilities.
    pub fn predict_proba<M: RowMatrix>(&self, x: &M) -> Result<Option<Dense>> {
        if self.kind == LinearKind::Svm {
            self.check_cols(x)?;
            return Ok(None);
        }
        let mut scores = self.decision_function(x)?;
        scores
            .as_slice_mut()
            .ok_or_else(|| Error::Model("scores are not contiguous".into()))?
            .par_chunks_mut(self.n_classes.max(1))
            .for_each(softmax_in_place);
        Ok(Some(scores))
    }

    /// Writes `dir/linear.json` (kind, shapes, options, history) and `dir/linear.bin`
    /// (weights); `dir` must exist.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let header = Header {
            format: LINEAR_FORMAT,
            kind: self.kind,
            n_classes: self.n_classes,
            n_features: self.n_features,
            dtype: "f32-le".into(),
            values: self.coef.len() + self.intercept.len(),
            options: self.options.clone(),
            history: self.history.clone(),
        };
        let json_path = dir.join(LINEAR_JSON);
        let json = serde_json::to_string_pretty(&header)?;
        fs::write(&json_path, json).map_err(|e| Error::io(&json_path, e))?;

        let bin_path = dir.join(LINEAR_BIN);
        let mut bytes = Vec::with_capacity(4 * header.values);
        for v in self.coef.iter().chain(&self.intercept) {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let mut file = fs::File::create(&bin_path).map_err(|e| Error::io(&bin_path, e))?;
        file.write_all(&bytes)
            .and_then(|_| file.flush())
            .map_err(|e| Error::io(&bin_path, e))
    }

    /// Reads a model written by [`LinearModel::save`]. Errors name the file and what is
    /// wrong: missing file, bad JSON, unknown format, a `.bin` whose size does not match
    /// the shapes.
    pub fn load(dir: &Path) -> Result<LinearModel> {
        let json_path = dir.join(LINEAR_JSON);
        let text = fs::read_to_string(&json_path).map_err(|e| Error::io(&json_path, e))?;
        let bad = |path: &Path, message: String| Error::Format {
            path: path.to_path_buf(),
            message,
        };
        let header: Header = serde_json::from_str(&text)
            .map_err(|e| bad(&json_path, format!("not a linear model header: {e}")))?;
        if header.format != LINEAR_FORMAT {
            return Err(bad(
                &json_path,
                format!(
                    "format {} is not supported (this build reads format {LINEAR_FORMAT})",
                    header.format
                ),
            ));
        }
        if header.dtype != "f32-le" {
            return Err(bad(
                &json_path,
                format!(
                    "dtype `{}` is not supported (expected f32-le)",
                    header.dtype
                ),
            ));
        }
        let expected = header
            .n_classes
            .checked_mul(header.n_features)
            .and_then(|v| v.checked_add(header.n_classes))
            .filter(|&v| v == header.values)
            .ok_or_else(|| {
                bad(
                    &json_path,
                    format!(
                        "`values` is {} but {} classes × {} features need {} + {}",
                        header.values,
                        header.n_classes,
                        header.n_features,
                        header.n_classes as u128 * header.n_features as u128,
                        header.n_classes
                    ),
                )
            })?;

        let bin_path = dir.join(LINEAR_BIN);
        let bytes = fs::read(&bin_path).map_err(|e| Error::io(&bin_path, e))?;
        if bytes.len() != 4 * expected {
            let what = if bytes.len() < 4 * expected {
                "truncated"
            } else {
                "too long"
            };
            return Err(bad(
                &bin_path,
                format!(
                    "{what}: {} bytes, expected {} ({expected} f32 values for {} classes × {} \
                     features + intercepts)",
                    bytes.len(),
                    4 * expected,
                    header.n_classes,
                    header.n_features
                ),
            ));
        }
        let mut values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let intercept = values.split_off(header.n_classes * header.n_features);
        Self::build(
            header.kind,
            header.n_classes,
            header.n_features,
            values,
            intercept,
            header.history,
            header.options,
        )
        .map_err(|e| bad(&json_path, e.to_string()))
    }
}

/// Replaces scores by their softmax (computed in `f64`, stable for large scores).
pub(crate) fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
    let mut sum = 0f64;
    let exps: Vec<f64> = row
        .iter()
        .map(|&v| {
            let e = (v as f64 - max).exp();
            sum += e;
            e
        })
        .collect();
    for (v, e) in row.iter_mut().zip(exps) {
        *v = (e / sum) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::csr_from_rows;

    fn toy() -> LinearModel {
        LinearModel::from_parts(
            LinearKind::Logistic,
            3,
            2,
            vec![1.0, 0.0, 0.0, 1.0, -1.0, -1.0],
            vec![0.0, 0.5, 0.0],
        )
        .unwrap()
    }

    #[test]
    fn scores_predictions_and_probabilities() {
        let m = toy();
        let x = csr_from_rows(2, vec![vec![(0, 2.0)], vec![], vec![(1, 1.0)]]);
        let s = m.decision_function(&x).unwrap();
        assert_eq!(s.row(0).to_vec(), vec![2.0, 0.5, -2.0]);
        assert_eq!(s.row(1).to_vec(), vec![0.0, 0.5, 0.0]);
        assert_eq!(m.predict(&x).unwrap(), vec![0, 1, 1]);
        let p = m.predict_proba(&x).unwrap().unwrap();
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-6);
        }
        let wrong = csr_from_rows(3, vec![vec![]]);
        assert!(matches!(m.decision_function(&wrong), Err(Error::Model(_))));
    }

    #[test]
    fn ties_pick_the_first_class() {
        let m = LinearModel::from_parts(LinearKind::Svm, 3, 1, vec![0.0; 3], vec![0.0; 3]).unwrap();
        let x = csr_from_rows(1, vec![vec![(0, 1.0)]]);
        assert_eq!(m.predict(&x).unwrap(), vec![0]);
        assert!(m.predict_proba(&x).unwrap().is_none());
    }

    #[test]
    fn from_parts_checks_shapes() {
        let r = LinearModel::from_parts(LinearKind::Svm, 2, 3, vec![0.0; 5], vec![0.0; 2]);
        assert!(matches!(r, Err(Error::Model(_))));
    }

    #[test]
    fn save_load_round_trip_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let m = toy();
        m.save(dir.path()).unwrap();
        let back = LinearModel::load(dir.path()).unwrap();
        assert_eq!(back, m);

        let bin = dir.path().join(LINEAR_BIN);
        let bytes = fs::read(&bin).unwrap();
        fs::write(&bin, &bytes[..bytes.len() - 3]).unwrap();
        let err = LinearModel::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("linear.bin") && err.contains("truncated"),
            "{err}"
        );

        fs::write(dir.path().join(LINEAR_JSON), "{not json").unwrap();
        let err = LinearModel::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("linear.json"), "{err}");

        let missing = LinearModel::load(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(missing, Error::Io { .. }));
    }
}
