//! [`ClassificationReport`]: per-class precision / recall / F1 / support as a table, plus
//! accuracy and the averaged F1 scores (scikit-learn's `classification_report`, as data).

use super::metrics::{precision_recall_fscore_support, Average, AveragedScores, PerClass};
use super::names;
use crate::data::Labels;
use crate::display::Table;
use crate::error::Result;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The headline numbers of a [`ClassificationReport`], ready for JSON or a tracker.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReportSummary {
    /// Number of samples scored.
    pub samples: usize,
    /// `accuracy_score`.
    pub accuracy: f64,
    /// `f1_score(average="macro")` over all `K` classes.
    pub macro_f1: f64,
    /// `f1_score(average="weighted")`.
    pub weighted_f1: f64,
    /// `f1_score(average="micro")` (equals accuracy for single-label data).
    pub micro_f1: f64,
}

/// Per-class precision, recall, F1 and support over every class of a [`Labels`]
/// (definitions in [`PerClass`]: scikit-learn's `precision_recall_fscore_support` with
/// `labels=range(K)`, `zero_division=0`), with accuracy and macro / weighted / micro averages.
///
/// The table ([`ClassificationReport::table`]) has columns `genre` (str), `precision`,
/// `recall`, `f1` (f64) and `support` (u64), one row per class in label order. It prints as
/// aligned text and shows itself inline in evcxr notebooks.
#[derive(Debug, Clone)]
pub struct ClassificationReport {
    per_class: PerClass,
    names: Vec<String>,
    accuracy: f64,
    samples: usize,
    table: Table,
}

impl ClassificationReport {
    /// Scores predictions against the truth; `K = labels.len()`.
    ///
    /// Errors (`Error::Config`) on empty input, lengths that disagree, an empty `labels` or an
    /// index `≥ K`.
    pub fn new(y_true: &[usize], y_pred: &[usize], labels: &Labels) -> Result<Self> {
        let k = labels.len();
        let per_class = precision_recall_fscore_support(y_true, y_pred, k)?;
        let names = names(labels, k)?;
        let accuracy = super::metrics::accuracy(y_true, y_pred)?;
        let df = DataFrame::new(
            k,
            vec![
                Column::new("genre".into(), names.clone()),
                Column::new("precision".into(), per_class.precision.clone()),
                Column::new("recall".into(), per_class.recall.clone()),
                Column::new("f1".into(), per_class.f1.clone()),
                Column::new(
                    "support".into(),
                    per_class
                        .support
                        .iter()
                        .map(|&s| s as u64)
                        .collect::<Vec<_>>(),
                ),
            ],
        )?;
        let table = Table::new(df).title("Classification report");
        Ok(ClassificationReport {
            per_class,
            names,
            accuracy,
            samples: y_true.len(),
            table,
        })
    }

    /// The per-class table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The per-class scores and counts.
    pub fn per_class(&self) -> &PerClass {
        &self.per_class
    }

    /// Class names, index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of samples scored.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Fraction of correct predictions (`accuracy_score`).
    pub fn accuracy(&self) -> f64 {
        self.accuracy
    }

    /// Unweighted mean of the `K` per-class F1 scores (`f1_score(average="macro")`).
    pub fn macro_f1(&self) -> f64 {
        self.per_class.average(Average::Macro).f1
    }

    /// Support-weighted mean of the per-class F1 scores (`f1_score(average="weighted")`).
    pub fn weighted_f1(&self) -> f64 {
        self.per_class.average(Average::Weighted).f1
    }

    /// Precision, recall and F1 combined by `average` (see [`PerClass::average`]).
    pub fn average(&self, average: Average) -> AveragedScores {
        self.per_class.average(average)
    }

    /// Accuracy, macro-F1, weighted-F1 and micro-F1 in one serialisable value.
    pub fn summary(&self) -> ReportSummary {
        ReportSummary {
            samples: self.samples,
            accuracy: self.accuracy,
            macro_f1: self.macro_f1(),
            weighted_f1: self.weighted_f1(),
            micro_f1: self.per_class.average(Average::Micro).f1,
        }
    }

    fn footer(&self) -> Vec<String> {
        let m = self.average(Average::Macro);
        let w = self.average(Average::Weighted);
        vec![
            format!(
                "accuracy      {:.4}  ({} samples)",
                self.accuracy, self.samples
            ),
            format!(
                "macro avg     precision {:.4}  recall {:.4}  f1 {:.4}",
                m.precision, m.recall, m.f1
            ),
            format!(
                "weighted avg  precision {:.4}  recall {:.4}  f1 {:.4}",
                w.precision, w.recall, w.f1
            ),
        ]
    }

    /// Shows the table and the averages inline in an evcxr notebook.
    pub fn evcxr_display(&self) {
        let mut html = self.table.to_html();
        html.push_str("<pre>");
        for l in self.footer() {
            html.push_str(&html_escape::encode_text(&l));
            html.push('\n');
        }
        html.push_str("</pre>");
        println!("EVCXR_BEGIN_CONTENT text/html\n{html}\nEVCXR_END_CONTENT");
    }
}

impl fmt::Display for ClassificationReport {
    /// The per-class table, then accuracy and the macro / weighted averages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.table)?;
        writeln!(f)?;
        for l in self.footer() {
            writeln!(f, "{l}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn report_by_hand() {
        let labels = Labels::from_names(["action", "drama"]);
        let r = ClassificationReport::new(&[1, 1, 1, 0, 0], &[1, 1, 0, 1, 0], &labels).unwrap();
        assert_eq!(r.table().shape(), (2, 5));
        assert!((r.accuracy() - 0.6).abs() < 1e-12);
        assert!((r.macro_f1() - (0.5 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        let s = r.summary();
        assert!((s.micro_f1 - 0.6).abs() < 1e-12);
        let text = r.to_string();
        assert!(
            text.contains("drama") && text.contains("macro avg"),
            "{text}"
        );
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"macro_f1\""));
    }

    #[test]
    fn errors() {
        let labels = Labels::from_names(["a", "b"]);
        assert!(matches!(
            ClassificationReport::new(&[], &[], &labels),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            ClassificationReport::new(&[0, 1], &[0], &labels),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            ClassificationReport::new(&[0], &[0], &Labels::from_names(Vec::<String>::new())),
            Err(Error::Config(_))
        ));
    }
}
