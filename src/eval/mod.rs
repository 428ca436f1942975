//! Evaluation: the numbers every model family is judged by, defined exactly as scikit-learn
//! defines them (agreement to 1e-9 is pinned by `tests/eval.rs` against
//! `benches/peers/eval_reference.py`).
//!
//! - [`metrics`]: accuracy, per-class precision / recall / F1 / support, macro / weighted /
//!   micro averages;
//! - [`report`]: [`ClassificationReport`], the per-class table plus accuracy, macro-F1 and
//!   weighted-F1, shown inline in notebooks;
//! - [`confusion`]: [`ConfusionMatrix`], counts and row-normalised;
//! - [`curves`]: one-vs-rest ROC and precision-recall curves, ROC-AUC and average precision per
//!   class with macro and micro averages ([`Curves`]).
//!
//! Inputs are plain slices so every model family can feed them: class indices as `&[usize]`
//! (each in `0..K`), class names as [`crate::data::Labels`], and scores as a row-major
//! `n × K` slice of `f32` or `f64` (any `Copy + Into<f64>`; computed in `f64`). Inputs that
//! make a metric meaningless (no samples, lengths that disagree, an index `≥ K`, a non-finite
//! score) are [`Error::Config`] naming the offending position.

pub mod confusion;
pub mod curves;
pub mod metrics;
pub mod report;

pub use confusion::ConfusionMatrix;
pub use curves::{
    average_precision_score, precision_recall_curve, roc_auc_score, roc_curve, ClassCurves, Curves,
    PrCurve, RocCurve,
};
pub use metrics::{
    accuracy, f1_score, precision_recall_fscore_support, Average, AveragedScores, PerClass,
};
pub use report::{ClassificationReport, ReportSummary};

use crate::error::{Error, Result};

/// Checks a pair of label vectors: non-empty, equal length, `K ≥ 1`, every index `< K`.
pub(crate) fn check_pair(y_true: &[usize], y_pred: &[usize], k: usize) -> Result<()> {
    check_len(y_true.len(), y_pred.len(), "y_pred")?;
    check_classes(y_true, k, "y_true")?;
    check_classes(y_pred, k, "y_pred")
}

/// `other` must have `n` entries and `n` must be positive.
pub(crate) fn check_len(n: usize, other: usize, what: &str) -> Result<()> {
    if n == 0 {
        return Err(Error::Config(
            "evaluation needs at least one sample, got an empty y_true".into(),
        ));
    }
    if other != n {
        return Err(Error::Config(format!(
            "y_true has {n} samples but {what} has {other}"
        )));
    }
    Ok(())
}

/// Every index in `y` is a class of `0..k`, and `k ≥ 1`.
pub(crate) fn check_classes(y: &[usize], k: usize, what: &str) -> Result<()> {
    if k == 0 {
        return Err(Error::Config(
            "evaluation needs at least one class, got K = 0".into(),
        ));
    }
    match y.iter().position(|&c| c >= k) {
        Some(i) => Err(Error::Config(format!(
            "{what}[{i}] = {} is not a class index (K = {k})",
            y[i]
        ))),
        None => Ok(()),
    }
}

/// Converts scores to `f64`, rejecting NaN and ±inf (scikit-learn rejects them too) and mapping
/// `-0.0` to `0.0` so that equal scores compare equal. `cols` is `K` for a score matrix (for
/// messages), 1 for a score vector.
pub(crate) fn to_f64<S: Copy + Into<f64>>(scores: &[S], cols: usize) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(scores.len());
    for (i, &s) in scores.iter().enumerate() {
        let x: f64 = s.into();
        if !x.is_finite() {
            let at = if cols > 1 {
                format!("scores[{}, {}]", i / cols, i % cols)
            } else {
                format!("y_score[{i}]")
            };
            return Err(Error::Config(format!("{at} = {x} is not a finite score")));
        }
        out.push(x + 0.0);
    }
    Ok(out)
}

/// Class names for `k` classes, checking that `labels` has exactly `k`.
pub(crate) fn names(labels: &crate::data::Labels, k: usize) -> Result<Vec<String>> {
    if labels.len() != k {
        return Err(Error::Config(format!(
            "{} label names given for {k} classes",
            labels.len()
        )));
    }
    Ok(labels.names().to_vec())
}
