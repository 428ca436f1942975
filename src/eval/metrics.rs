//! Label-based metrics: accuracy and per-class precision / recall / F1 / support with their
//! macro, weighted and micro averages, as scikit-learn defines them with
//! `labels = range(K)` and `zero_division = 0`.

use super::check_pair;
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Fraction of samples whose predicted class equals the true class,
/// as `sklearn.metrics.accuracy_score(y_true, y_pred)`.
///
/// Errors (`Error::Config`) on empty input or lengths that disagree.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    super::check_len(y_true.len(), y_pred.len(), "y_pred")?;
    let hits = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    Ok(hits as f64 / y_true.len() as f64)
}

/// How per-class scores are combined into one number (scikit-learn's `average=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Average {
    /// Unweighted mean over all `K` classes, including classes absent from both `y_true` and
    /// `y_pred` (they score 0), as scikit-learn with `labels=range(K)`.
    Macro,
    /// Mean over classes weighted by support (true count); classes with no support weigh 0.
    Weighted,
    /// Scores of the pooled counts `Σtp / Σpred`, `Σtp / Σtrue`; for single-label data over all
    /// classes, micro precision = micro recall = micro F1 = accuracy.
    Micro,
}

/// Precision, recall and F1 combined by one [`Average`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AveragedScores {
    /// Averaged precision.
    pub precision: f64,
    /// Averaged recall.
    pub recall: f64,
    /// Averaged F1 (for macro / weighted: the mean of per-class F1, not F1 of the means).
    pub f1: f64,
}

/// Per-class scores, index `c` for class `c`, as
/// `sklearn.metrics.precision_recall_fscore_support(y_true, y_pred, labels=range(K),
/// zero_division=0)`:
///
/// - `precision[c] = tp / (tp + fp)`, 0 when class `c` is never predicted;
/// - `recall[c] = tp / (tp + fn)`, 0 when class `c` never occurs in `y_true`;
/// - `f1[c] = 2·tp / (2·tp + fp + fn)` (= `2PR / (P + R)`), 0 when `tp + fp + fn = 0`;
/// - `support[c]`: the number of samples whose true class is `c`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerClass {
    /// Precision per class.
    pub precision: Vec<f64>,
    /// Recall per class.
    pub recall: Vec<f64>,
    /// F1 per class.
    pub f1: Vec<f64>,
    /// True count per class.
    pub support: Vec<usize>,
    /// Predicted count per class (`tp + fp`).
    pub predicted: Vec<usize>,
    /// True positives per class.
    pub true_positives: Vec<usize>,
}

/// `num / den`, or 0 when `den` is 0 (scikit-learn's `zero_division=0`).
fn div0(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

/// Precision, recall and F1 from counts, with scikit-learn's formulas.
fn prf(tp: usize, pred: usize, truth: usize) -> (f64, f64, f64) {
    let (tp, pred, truth) = (tp as f64, pred as f64, truth as f64);
    (
        div0(tp, pred),
        div0(tp, truth),
        div0(2.0 * tp, truth + pred),
    )
}

/// Per-class precision, recall, F1 and support over classes `0..n_classes` (see [`PerClass`]
/// for the definitions).
///
/// Errors (`Error::Config`) on empty input, lengths that disagree, `n_classes = 0` or an index
/// `≥ n_classes`.
pub fn precision_recall_fscore_support(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
) -> Result<PerClass> {
    check_pair(y_true, y_pred, n_classes)?;
    let mut support = vec![0usize; n_classes];
    let mut predicted = vec![0usize; n_classes];
    let mut tp = vec![0usize; n_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        support[t] += 1;
        predicted[p] += 1;
        if t == p {
            tp[t] += 1;
        }
    }
    let (mut precision, mut recall, mut f1) = (
        Vec::with_capacity(n_classes),
        Vec::with_capacity(n_classes),
        Vec::with_capacity(n_classes),
    );
    for c in 0..n_classes {
        let (p, r, f) = prf(tp[c], predicted[c], support[c]);
        precision.push(p);
        recall.push(r);
        f1.push(f);
    }
    Ok(PerClass {
        precision,
        recall,
        f1,
        support,
        predicted,
        true_positives: tp,
    })
}

impl PerClass {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.support.len()
    }

    /// Combines the per-class scores as scikit-learn's `precision_score` / `recall_score` /
    /// `f1_score` with `average=` and `labels=range(K)`, `zero_division=0`:
    /// macro = `mean(score[c])`; weighted = `Σ support[c]·score[c] / Σ support[c]`;
    /// micro = the formulas of [`PerClass`] applied to the summed counts.
    pub fn average(&self, average: Average) -> AveragedScores {
        let k = self.n_classes() as f64;
        match average {
            Average::Macro => AveragedScores {
                precision: self.precision.iter().sum::<f64>() / k,
                recall: self.recall.iter().sum::<f64>() / k,
                f1: self.f1.iter().sum::<f64>() / k,
            },
            Average::Weighted => {
                let total: usize = self.support.iter().sum();
                let w = |v: &[f64]| {
                    let s: f64 = v
                        .iter()
                        .zip(&self.support)
                        .map(|(x, &n)| x * n as f64)
                        .sum();
                    div0(s, total as f64)
                };
                AveragedScores {
                    precision: w(&self.precision),
                    recall: w(&self.recall),
                    f1: w(&self.f1),
                }
            }
            Average::Micro => {
                let (p, r, f) = prf(
                    self.true_positives.iter().sum(),
                    self.predicted.iter().sum(),
                    self.support.iter().sum(),
                );
                AveragedScores {
                    precision: p,
                    recall: r,
                    f1: f,
                }
            }
        }
    }
}

/// F1 over classes `0..n_classes` combined by `average`, as
/// `sklearn.metrics.f1_score(y_true, y_pred, labels=range(K), average=..., zero_division=0)`.
/// Macro-F1 is the unweighted mean of the `K` per-class F1 scores (absent classes count as 0);
/// this is not linfa's multi-class `f1_score()`.
///
/// Errors as [`precision_recall_fscore_support`].
pub fn f1_score(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    average: Average,
) -> Result<f64> {
    Ok(precision_recall_fscore_support(y_true, y_pred, n_classes)?
        .average(average)
        .f1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn binary_by_hand() {
        // tp(1)=2, fp(1)=1, fn(1)=1; class 0: tp=1, fp=1, fn=1.
        let t = [1, 1, 1, 0, 0];
        let p = [1, 1, 0, 1, 0];
        let pc = precision_recall_fscore_support(&t, &p, 2).unwrap();
        close(pc.precision[1], 2.0 / 3.0);
        close(pc.recall[1], 2.0 / 3.0);
        close(pc.f1[1], 2.0 / 3.0);
        close(pc.precision[0], 0.5);
        close(pc.recall[0], 0.5);
        close(pc.f1[0], 0.5);
        assert_eq!(pc.support, vec![2, 3]);
        close(accuracy(&t, &p).unwrap(), 0.6);
        close(pc.average(Average::Macro).f1, (0.5 + 2.0 / 3.0) / 2.0);
        close(
            pc.average(Average::Weighted).f1,
            (2.0 * 0.5 + 3.0 * 2.0 / 3.0) / 5.0,
        );
        close(pc.average(Average::Micro).f1, 0.6);
    }

    #[test]
    fn perfect_and_all_wrong() {
        let t = [0, 1, 2, 2];
        assert_eq!(f1_score(&t, &t, 3, Average::Macro).unwrap(), 1.0);
        assert_eq!(accuracy(&t, &t).unwrap(), 1.0);
        let wrong = [1, 2, 0, 0];
        let pc = precision_recall_fscore_support(&t, &wrong, 3).unwrap();
        assert!(pc.f1.iter().chain(&pc.precision).all(|&x| x == 0.0));
        assert_eq!(accuracy(&t, &wrong).unwrap(), 0.0);
        assert_eq!(pc.average(Average::Micro).f1, 0.0);
    }

    #[test]
    fn absent_class_counts_as_zero_in_macro() {
        // class 2 neither true nor predicted: all its scores are 0 and macro divides by 3.
        let t = [0, 1];
        let pc = precision_recall_fscore_support(&t, &t, 3).unwrap();
        assert_eq!(pc.f1, vec![1.0, 1.0, 0.0]);
        close(pc.average(Average::Macro).f1, 2.0 / 3.0);
        close(pc.average(Average::Weighted).f1, 1.0);
    }

    #[test]
    fn single_class() {
        let t = [0, 0, 0];
        let pc = precision_recall_fscore_support(&t, &t, 1).unwrap();
        assert_eq!((pc.precision[0], pc.recall[0], pc.f1[0]), (1.0, 1.0, 1.0));
    }

    #[test]
    fn bad_inputs_are_config_errors() {
        assert!(matches!(accuracy(&[], &[]), Err(Error::Config(_))));
        assert!(matches!(
            precision_recall_fscore_support(&[], &[], 3),
            Err(Error::Config(_))
        ));
        assert!(matches!(accuracy(&[0, 1], &[0]), Err(Error::Config(_))));
        let e = f1_score(&[0, 1], &[0, 3], 3, Average::Macro).unwrap_err();
        assert!(e.to_string().contains("y_pred[1] = 3"), "{e}");
        assert!(matches!(
            f1_score(&[0], &[0], 0, Average::Macro),
            Err(Error::Config(_))
        ));
    }
}
