//! One-vs-rest ROC and precision-recall curves, ROC-AUC and average precision, as
//! scikit-learn defines them (`roc_curve`, `roc_auc_score`, `precision_recall_curve`,
//! `average_precision_score`).
//!
//! Thresholds are the distinct score values: samples with tied scores enter the curve together
//! (one point per distinct score), exactly as scikit-learn's `_binary_clf_curve`.

use super::{check_classes, check_len, names, to_f64};
use crate::data::Labels;
use crate::display::Table;
use crate::error::{Error, Result};
use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A ROC curve, as `sklearn.metrics.roc_curve(y_true, y_score, drop_intermediate=True)`:
/// `thresholds[0] = +inf` (the point (0, 0)), then the distinct scores in decreasing order,
/// keeping only the points where the curve bends (collinear intermediate points are dropped;
/// the area is unchanged). `fpr[i]` / `tpr[i]` are the false / true positive rates when
/// predicting positive for `score ≥ thresholds[i]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RocCurve {
    /// False positive rate, non-decreasing from 0 to 1.
    pub fpr: Vec<f64>,
    /// True positive rate, non-decreasing from 0 to 1.
    pub tpr: Vec<f64>,
    /// Decision thresholds, `+inf` first, then decreasing.
    pub thresholds: Vec<f64>,
}

impl RocCurve {
    /// Area under the curve by the trapezoidal rule (scikit-learn's `auc(fpr, tpr)`).
    pub fn auc(&self) -> f64 {
        trapezoid(&self.fpr, &self.tpr)
    }
}

/// A precision-recall curve, as `sklearn.metrics.precision_recall_curve(y_true, y_score)`
/// (`drop_intermediate=False`): one point per distinct score in increasing threshold order
/// (recall non-increasing), then a final point (precision 1, recall 0) with no threshold, so
/// `precision` and `recall` have one more entry than `thresholds`. Precision where nothing is
/// predicted positive is 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrCurve {
    /// Precision at each threshold, then 1.
    pub precision: Vec<f64>,
    /// Recall at each threshold, then 0.
    pub recall: Vec<f64>,
    /// The distinct scores, increasing.
    pub thresholds: Vec<f64>,
}

impl PrCurve {
    /// Average precision, the step-wise sum `AP = Σₙ (Rₙ − Rₙ₋₁)·Pₙ` over thresholds in
    /// decreasing order (scikit-learn's `average_precision_score`; no interpolation, not the
    /// trapezoidal area), clipped at 0 as scikit-learn does.
    pub fn average_precision(&self) -> f64 {
        let s: f64 = self
            .recall
            .windows(2)
            .zip(&self.precision)
            .map(|(r, p)| (r[1] - r[0]) * p)
            .sum();
        (-s).max(0.0)
    }
}

/// `∫ y dx` by trapezoids over points sorted by `x`.
fn trapezoid(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[1] + y[0]) / 2.0)
        .sum()
}

/// Cumulative false and true positive counts at each distinct score, scores decreasing
/// (scikit-learn's `_binary_clf_curve`). Scores must be finite.
#[derive(Clone)]
struct ClfCurve {
    fps: Vec<f64>,
    tps: Vec<f64>,
    thresholds: Vec<f64>,
}

fn clf_curve(pairs: &mut [(f64, bool)]) -> ClfCurve {
    pairs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let n = pairs.len();
    let (mut fps, mut tps, mut thresholds) = (Vec::new(), Vec::new(), Vec::new());
    let mut tp = 0usize;
    for i in 0..n {
        tp += usize::from(pairs[i].1);
        if i + 1 == n || pairs[i + 1].0 != pairs[i].0 {
            tps.push(tp as f64);
            fps.push((i + 1 - tp) as f64);
            thresholds.push(pairs[i].0);
        }
    }
    ClfCurve {
        fps,
        tps,
        thresholds,
    }
}

/// ROC from a [`ClfCurve`]; the caller guarantees at least one positive and one negative.
fn roc_from(c: ClfCurve) -> RocCurve {
    let m = c.fps.len();
    let keep: Vec<usize> = if m > 2 {
        (0..m)
            .filter(|&i| {
                i == 0
                    || i == m - 1
                    || c.fps[i + 1] - 2.0 * c.fps[i] + c.fps[i - 1] != 0.0
                    || c.tps[i + 1] - 2.0 * c.tps[i] + c.tps[i - 1] != 0.0
            })
            .collect()
    } else {
        (0..m).collect()
    };
    let fp_all = c.fps[m - 1];
    let tp_all = c.tps[m - 1];
    let mut fpr = vec![0.0];
    let mut tpr = vec![0.0];
    let mut thresholds = vec![f64::INFINITY];
    for i in keep {
        fpr.push(c.fps[i] / fp_all);
        tpr.push(c.tps[i] / tp_all);
        thresholds.push(c.thresholds[i]);
    }
    RocCurve {
        fpr,
        tpr,
        thresholds,
    }
}

/// PR curve from a [`ClfCurve`]; the caller guarantees at least one positive.
fn pr_from(c: ClfCurve) -> PrCurve {
    let tp_all = c.tps[c.tps.len() - 1];
    let mut precision: Vec<f64> = c
        .tps
        .iter()
        .zip(&c.fps)
        .map(|(&tp, &fp)| if tp + fp == 0.0 { 0.0 } else { tp / (tp + fp) })
        .rev()
        .collect();
    let mut recall: Vec<f64> = c.tps.iter().map(|&tp| tp / tp_all).rev().collect();
    precision.push(1.0);
    recall.push(0.0);
    let mut thresholds = c.thresholds;
    thresholds.reverse();
    PrCurve {
        precision,
        recall,
        thresholds,
    }
}

/// `(score, is_positive)` pairs of a binary problem.
type Pairs = Vec<(f64, bool)>;

/// Validated pairs of a binary problem, with positive / negative counts.
fn binary_pairs<S: Copy + Into<f64>>(
    y_true: &[bool],
    y_score: &[S],
) -> Result<(Pairs, usize, usize)> {
    check_len(y_true.len(), y_score.len(), "y_score")?;
    let s = to_f64(y_score, 1)?;
    let pos = y_true.iter().filter(|&&b| b).count();
    let pairs = s.into_iter().zip(y_true.iter().copied()).collect();
    Ok((pairs, pos, y_true.len() - pos))
}

/// ROC curve of a binary problem (`y_true[i]`: sample `i` is positive; higher score = more
/// positive), as `sklearn.metrics.roc_curve` (see [`RocCurve`]).
///
/// Errors (`Error::Config`) on empty input, lengths that disagree, a non-finite score, or when
/// `y_true` has no positives or no negatives (scikit-learn then warns and returns NaN rates).
pub fn roc_curve<S: Copy + Into<f64>>(y_true: &[bool], y_score: &[S]) -> Result<RocCurve> {
    let (mut pairs, pos, neg) = binary_pairs(y_true, y_score)?;
    if pos == 0 || neg == 0 {
        return Err(Error::Config(format!(
            "ROC is undefined when y_true has only one class ({pos} positives, {neg} negatives)"
        )));
    }
    Ok(roc_from(clf_curve(&mut pairs)))
}

/// Area under the ROC curve by the trapezoidal rule, as `sklearn.metrics.roc_auc_score` on
/// binary input. Errors as [`roc_curve`] (scikit-learn 1.9 returns NaN with a warning when
/// only one class is present; we return an error).
pub fn roc_auc_score<S: Copy + Into<f64>>(y_true: &[bool], y_score: &[S]) -> Result<f64> {
    Ok(roc_curve(y_true, y_score)?.auc())
}

/// Precision-recall curve of a binary problem, as `sklearn.metrics.precision_recall_curve`
/// (see [`PrCurve`]).
///
/// Errors (`Error::Config`) on empty input, lengths that disagree, a non-finite score, or when
/// `y_true` has no positives (recall is undefined; scikit-learn warns and sets it to 1).
pub fn precision_recall_curve<S: Copy + Into<f64>>(
    y_true: &[bool],
    y_score: &[S],
) -> Result<PrCurve> {
    let (mut pairs, pos, _) = binary_pairs(y_true, y_score)?;
    if pos == 0 {
        return Err(Error::Config(
            "precision-recall curve is undefined when y_true has no positives".into(),
        ));
    }
    Ok(pr_from(clf_curve(&mut pairs)))
}

/// Average precision (step-wise, see [`PrCurve::average_precision`]), as
/// `sklearn.metrics.average_precision_score` on binary input. Errors as
/// [`precision_recall_curve`] (scikit-learn returns 0 with a warning when there are no
/// positives).
pub fn average_precision_score<S: Copy + Into<f64>>(y_true: &[bool], y_score: &[S]) -> Result<f64> {
    Ok(precision_recall_curve(y_true, y_score)?.average_precision())
}

/// One class's one-vs-rest curves: class `c` positive, every other class negative, scored by
/// column `c` of the score matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassCurves {
    /// Class index.
    pub class: usize,
    /// Class name.
    pub name: String,
    /// Number of samples whose true class is this one.
    pub positives: usize,
    /// ROC curve; `None` when the class has no positives or no negatives.
    pub roc: Option<RocCurve>,
    /// ROC-AUC; `None` exactly when `roc` is.
    pub roc_auc: Option<f64>,
    /// Precision-recall curve; `None` when the class has no positives.
    pub pr: Option<PrCurve>,
    /// Average precision; `None` exactly when `pr` is.
    pub average_precision: Option<f64>,
}

/// One-vs-rest ROC and PR curves of a multi-class score matrix, per class and averaged.
///
/// Definitions (`Y = label_binarize(y_true, classes=range(K))`, the `n × K` 0/1 matrix):
/// - per class `c`: [`roc_curve`], [`roc_auc_score`], [`precision_recall_curve`],
///   [`average_precision_score`] of `(Y[:, c], scores[:, c])`;
/// - macro ROC-AUC / AP: the unweighted mean of the per-class values over the classes where
///   they are defined, as `roc_auc_score(y_true, scores, multi_class="ovr", average="macro")`
///   and `average_precision_score(Y, scores, average="macro")` when every class is present;
/// - micro ROC-AUC / AP and the micro curves: the binary metric of `(Y.ravel(),
///   scores.ravel())`, as scikit-learn's `average="micro"` (every class counts, present or not).
///
/// Classes without positives (absent from `y_true`) have no ROC-AUC nor AP, and a class
/// without negatives (every sample belongs to it) has no ROC-AUC. **They are excluded from the
/// macro averages** and listed by [`Curves::roc_excluded`] / [`Curves::ap_excluded`].
/// scikit-learn 1.9 instead gives such a class ROC-AUC = NaN (so its OvR macro is NaN, and
/// older versions raise) and AP = 0 with a warning (so its macro AP is pulled down).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    classes: Vec<ClassCurves>,
    micro_roc: Option<RocCurve>,
    micro_pr: PrCurve,
    macro_roc_auc: Option<f64>,
    micro_roc_auc: Option<f64>,
    macro_ap: Option<f64>,
    micro_ap: f64,
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

impl Curves {
    /// Builds every curve from true classes (`y_true[i]` in `0..K`, `K = labels.len()`) and a
    /// row-major `n × K` score matrix (`scores[i * K + c]`: how strongly sample `i` looks like
    /// class `c`; probabilities, logits or decision values, `f32` or `f64`). Only the order of
    /// scores within a column matters (and within the whole matrix, for micro averages).
    ///
    /// Errors (`Error::Config`) on empty input, `scores.len() != n·K`, an index `≥ K`, an
    /// empty `labels` or a non-finite score.
    pub fn one_vs_rest<S: Copy + Into<f64> + Sync>(
        y_true: &[usize],
        scores: &[S],
        labels: &Labels,
    ) -> Result<Self> {
        let k = labels.len();
        check_classes(y_true, k, "y_true")?;
        let n = y_true.len();
        check_len(n, scores.len() / k, "the score matrix (rows)")?;
        if scores.len() != n * k {
            return Err(Error::Config(format!(
                "score matrix has {} entries, expected n × K = {n} × {k}",
                scores.len()
            )));
        }
        let s = to_f64(scores, k)?;
        let names = names(labels, k)?;
        let classes: Vec<ClassCurves> = (0..k)
            .into_par_iter()
            .map(|c| {
                let mut pairs: Vec<(f64, bool)> =
                    (0..n).map(|i| (s[i * k + c], y_true[i] == c)).collect();
                let positives = y_true.iter().filter(|&&t| t == c).count();
                let curve = (positives > 0).then(|| clf_curve(&mut pairs));
                let roc = curve
                    .as_ref()
                    .filter(|_| positives < n)
                    .map(|cc| roc_from(cc.clone()));
                let pr = curve.map(pr_from);
                ClassCurves {
                    class: c,
                    name: names[c].clone(),
                    positives,
                    roc_auc: roc.as_ref().map(RocCurve::auc),
                    roc,
                    average_precision: pr.as_ref().map(PrCurve::average_precision),
                    pr,
                }
            })
            .collect();
        let mut pairs: Vec<(f64, bool)> = s
            .iter()
            .enumerate()
            .map(|(j, &x)| (x, y_true[j / k] == j % k))
            .collect();
        let micro = clf_curve(&mut pairs);
        let micro_roc = (k > 1).then(|| roc_from(micro.clone()));
        let micro_pr = pr_from(micro);
        Ok(Curves {
            macro_roc_auc: mean(classes.iter().filter_map(|c| c.roc_auc)),
            macro_ap: mean(classes.iter().filter_map(|c| c.average_precision)),
            micro_roc_auc: micro_roc.as_ref().map(RocCurve::auc),
            micro_ap: micro_pr.average_precision(),
            classes,
            micro_roc,
            micro_pr,
        })
    }

    /// Per-class curves, index order.
    pub fn classes(&self) -> &[ClassCurves] {
        &self.classes
    }

    /// Curves of class `c`.
    pub fn class(&self, c: usize) -> Option<&ClassCurves> {
        self.classes.get(c)
    }

    /// Mean ROC-AUC over the classes where it is defined; `None` when it is defined nowhere.
    pub fn macro_roc_auc(&self) -> Option<f64> {
        self.macro_roc_auc
    }

    /// ROC-AUC of the flattened problem; `None` when `K = 1` (no negatives).
    pub fn micro_roc_auc(&self) -> Option<f64> {
        self.micro_roc_auc
    }

    /// Mean average precision over the classes that have positives.
    pub fn macro_average_precision(&self) -> Option<f64> {
        self.macro_ap
    }

    /// Average precision of the flattened problem.
    pub fn micro_average_precision(&self) -> f64 {
        self.micro_ap
    }

    /// ROC curve of the flattened problem; `None` when `K = 1`.
    pub fn micro_roc(&self) -> Option<&RocCurve> {
        self.micro_roc.as_ref()
    }

    /// PR curve of the flattened problem.
    pub fn micro_pr(&self) -> &PrCurve {
        &self.micro_pr
    }

    /// Classes left out of the macro ROC-AUC (no positives or no negatives).
    pub fn roc_excluded(&self) -> Vec<usize> {
        self.classes
            .iter()
            .filter(|c| c.roc_auc.is_none())
            .map(|c| c.class)
            .collect()
    }

    /// Classes left out of the macro average precision (no positives).
    pub fn ap_excluded(&self) -> Vec<usize> {
        self.classes
            .iter()
            .filter(|c| c.average_precision.is_none())
            .map(|c| c.class)
            .collect()
    }

    /// Per-class table: `genre`, `positives`, `roc_auc`, `average_precision` (null where
    /// undefined).
    pub fn table(&self) -> Result<Table> {
        let c = &self.classes;
        let df = DataFrame::new(
            c.len(),
            vec![
                Column::new(
                    "genre".into(),
                    c.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "positives".into(),
                    c.iter().map(|c| c.positives as u64).collect::<Vec<_>>(),
                ),
                Column::new(
                    "roc_auc".into(),
                    c.iter().map(|c| c.roc_auc).collect::<Vec<_>>(),
                ),
                Column::new(
                    "average_precision".into(),
                    c.iter().map(|c| c.average_precision).collect::<Vec<_>>(),
                ),
            ],
        )?;
        Ok(Table::new(df).title("One-vs-rest ROC-AUC and average precision"))
    }

    fn summary_lines(&self) -> Vec<String> {
        let f = |x: Option<f64>| x.map_or("undefined".to_string(), |x| format!("{x:.4}"));
        let mut lines = vec![
            format!(
                "ROC-AUC: macro {}, micro {}",
                f(self.macro_roc_auc),
                f(self.micro_roc_auc)
            ),
            format!(
                "average precision: macro {}, micro {:.4}",
                f(self.macro_ap),
                self.micro_ap
            ),
        ];
        let names = |v: Vec<usize>| {
            v.iter()
                .map(|&c| self.classes[c].name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (r, a) = (self.roc_excluded(), self.ap_excluded());
        if !r.is_empty() {
            lines.push(format!("excluded from macro ROC-AUC: {}", names(r)));
        }
        if !a.is_empty() {
            lines.push(format!("excluded from macro AP: {}", names(a)));
        }
        lines
    }

    /// Shows the per-class table and the averages inline in an evcxr notebook.
    pub fn evcxr_display(&self) {
        let mut html = match self.table() {
            Ok(t) => t.to_html(),
            Err(e) => html_escape::encode_text(&e.to_string()).into_owned(),
        };
        for l in self.summary_lines() {
            html.push_str(&format!("<p>{}</p>", html_escape::encode_text(&l)));
        }
        println!("EVCXR_BEGIN_CONTENT text/html\n{html}\nEVCXR_END_CONTENT");
    }
}

impl fmt::Display for Curves {
    /// The per-class table, then the macro / micro averages and the excluded classes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.table() {
            Ok(t) => write!(f, "{t}")?,
            Err(e) => writeln!(f, "{e}")?,
        }
        for l in self.summary_lines() {
            writeln!(f, "{l}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn binary_by_hand() {
        // scores 0.9(+) 0.8(-) 0.7(+) 0.6(-): 3 of 4 (pos, neg) pairs ranked right.
        let y = [true, false, true, false];
        let s = [0.9, 0.8, 0.7, 0.6];
        close(roc_auc_score(&y, &s).unwrap(), 0.75);
        // AP = 0.5·1 + 0.5·(2/3)
        close(average_precision_score(&y, &s).unwrap(), 0.5 + 1.0 / 3.0);
        let roc = roc_curve(&y, &s).unwrap();
        assert_eq!(roc.thresholds[0], f64::INFINITY);
        assert_eq!(roc.fpr, vec![0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_eq!(roc.tpr, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
        let pr = precision_recall_curve(&y, &s).unwrap();
        assert_eq!(pr.thresholds, vec![0.6, 0.7, 0.8, 0.9]);
        assert_eq!(pr.recall, vec![1.0, 1.0, 0.5, 0.5, 0.0]);
        close(pr.precision[1], 2.0 / 3.0);
    }

    #[test]
    fn perfect_reversed_and_tied() {
        let y = [true, true, false, false];
        close(roc_auc_score(&y, &[4.0f32, 3.0, 2.0, 1.0]).unwrap(), 1.0);
        close(roc_auc_score(&y, &[1.0, 2.0, 3.0, 4.0]).unwrap(), 0.0);
        // all tied: one threshold, the diagonal, AUC 0.5; AP = prevalence.
        let tied = [0.5; 4];
        let roc = roc_curve(&y, &tied).unwrap();
        assert_eq!(roc.fpr, vec![0.0, 1.0]);
        close(roc.auc(), 0.5);
        close(average_precision_score(&y, &tied).unwrap(), 0.5);
        // -0.0 and 0.0 are one threshold.
        let pr = precision_recall_curve(&y, &[-0.0, 0.0, 0.0, -1.0]).unwrap();
        assert_eq!(pr.thresholds.len(), 2);
    }

    #[test]
    fn drops_collinear_points() {
        let y = [true, true, true, false, false, false];
        let s = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
        let roc = roc_curve(&y, &s).unwrap();
        assert_eq!(roc.fpr, vec![0.0, 0.0, 0.0, 1.0]);
        assert_eq!(roc.tpr, vec![0.0, 1.0 / 3.0, 1.0, 1.0]);
    }

    #[test]
    fn undefined_and_bad_inputs() {
        assert!(matches!(
            roc_curve(&[true, true], &[0.1, 0.2]),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            average_precision_score(&[false, false], &[0.1, 0.2]),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            roc_auc_score::<f64>(&[], &[]),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            roc_auc_score(&[true, false], &[0.1]),
            Err(Error::Config(_))
        ));
        let e = roc_auc_score(&[true, false], &[0.1, f64::NAN]).unwrap_err();
        assert!(e.to_string().contains("y_score[1]"), "{e}");
    }

    #[test]
    fn one_vs_rest_edges() {
        let labels = Labels::from_names(["a", "b", "c"]);
        // class c absent: excluded from macro, micro still defined.
        let y = [0, 1, 0, 1];
        let s = [
            0.8f32, 0.1, 0.1, //
            0.2, 0.7, 0.1, //
            0.6, 0.3, 0.1, //
            0.3, 0.3, 0.4,
        ];
        let cv = Curves::one_vs_rest(&y, &s, &labels).unwrap();
        assert_eq!(cv.roc_excluded(), vec![2]);
        assert_eq!(cv.ap_excluded(), vec![2]);
        // a: AUC 1; b: pairs (0.7, 0.1) (0.7, 0.3) (0.3, 0.1) right, (0.3, 0.3) tied = ½.
        close(cv.macro_roc_auc().unwrap(), (1.0 + 3.5 / 4.0) / 2.0);
        assert!(cv.micro_roc_auc().is_some());
        assert_eq!(cv.table().unwrap().shape(), (3, 4));
        assert!(cv.to_string().contains("excluded from macro ROC-AUC: c"));
        // wrong sizes
        assert!(matches!(
            Curves::one_vs_rest(&y, &s[..11], &labels),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Curves::one_vs_rest::<f32>(&[], &[], &labels),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            Curves::one_vs_rest(&[3], &[0.1f64, 0.2, 0.3], &labels),
            Err(Error::Config(_))
        ));
        // K = 1: no negatives anywhere: no ROC, AP = 1.
        let one = Labels::from_names(["only"]);
        let cv = Curves::one_vs_rest(&[0, 0], &[0.3, 0.9], &one).unwrap();
        assert_eq!(cv.macro_roc_auc(), None);
        assert_eq!(cv.micro_roc_auc(), None);
        assert_eq!(cv.roc_excluded(), vec![0]);
        close(cv.macro_average_precision().unwrap(), 1.0);
        close(cv.micro_average_precision(), 1.0);
    }
}
