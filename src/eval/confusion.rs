//! [`ConfusionMatrix`]: counts of (true class, predicted class) pairs, K × K.

use super::{check_pair, names};
use crate::data::Labels;
use crate::display::Table;
use crate::error::Result;
use polars::prelude::*;
use std::fmt;

/// Counts `C[i][j]` = number of samples of true class `i` predicted as class `j`, over all
/// `K` classes of a [`Labels`], as `sklearn.metrics.confusion_matrix(y_true, y_pred,
/// labels=range(K))`. Rows are true classes, columns predicted classes.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionMatrix {
    counts: Vec<usize>,
    names: Vec<String>,
}

impl ConfusionMatrix {
    /// Counts the pairs; class names come from `labels` (`K = labels.len()`).
    ///
    /// Errors (`Error::Config`) on empty input, lengths that disagree, an empty `labels` or an
    /// index `≥ K`.
    pub fn new(y_true: &[usize], y_pred: &[usize], labels: &Labels) -> Result<Self> {
        let k = labels.len();
        check_pair(y_true, y_pred, k)?;
        let mut counts = vec![0usize; k * k];
        for (&t, &p) in y_true.iter().zip(y_pred) {
            counts[t * k + p] += 1;
        }
        Ok(ConfusionMatrix {
            counts,
            names: names(labels, k)?,
        })
    }

    /// Number of classes `K`.
    pub fn n_classes(&self) -> usize {
        self.names.len()
    }

    /// Class names, index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Count of true class `t` predicted as `p`; `None` when either is `≥ K`.
    pub fn get(&self, t: usize, p: usize) -> Option<usize> {
        let k = self.n_classes();
        (t < k && p < k).then(|| self.counts[t * k + p])
    }

    /// The counts, one row per true class.
    pub fn counts(&self) -> Vec<Vec<usize>> {
        self.counts
            .chunks(self.n_classes())
            .map(<[usize]>::to_vec)
            .collect()
    }

    /// Row-normalised matrix: each row divided by its sum (the class's support), so entry
    /// `[i][i]` is the recall of class `i`; as scikit-learn's `normalize="true"`, a row with
    /// no samples is all zeros.
    pub fn normalized(&self) -> Vec<Vec<f64>> {
        self.counts
            .chunks(self.n_classes())
            .map(|row| {
                let total: usize = row.iter().sum();
                row.iter()
                    .map(|&c| {
                        if total == 0 {
                            0.0
                        } else {
                            c as f64 / total as f64
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// The counts as a table: a `true` column of class names, then one `u64` column per
    /// predicted class.
    pub fn table(&self) -> Result<Table> {
        let cols = self.counts();
        let k = self.n_classes();
        let mut columns = vec![Column::new("true".into(), self.names.clone())];
        for (j, name) in self.names.iter().enumerate() {
            let v: Vec<u64> = cols.iter().map(|r| r[j] as u64).collect();
            columns.push(Column::new(name.as_str().into(), v));
        }
        Ok(Table::new(DataFrame::new(k, columns)?)
            .title("Confusion matrix (rows: true genre, columns: predicted)"))
    }

    /// The row-normalised matrix ([`ConfusionMatrix::normalized`]) as a table.
    pub fn normalized_table(&self) -> Result<Table> {
        let rows = self.normalized();
        let k = self.n_classes();
        let mut columns = vec![Column::new("true".into(), self.names.clone())];
        for (j, name) in self.names.iter().enumerate() {
            let v: Vec<f64> = rows.iter().map(|r| r[j]).collect();
            columns.push(Column::new(name.as_str().into(), v));
        }
        Ok(Table::new(DataFrame::new(k, columns)?)
            .title("Confusion matrix, row-normalised (rows: true genre, sum to 1)"))
    }

    /// Shows the counts table inline in an evcxr notebook.
    pub fn evcxr_display(&self) {
        match self.table() {
            Ok(t) => t.evcxr_display(),
            Err(e) => println!("{e}"),
        }
    }
}

impl fmt::Display for ConfusionMatrix {
    /// The counts table as aligned text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.table() {
            Ok(t) => write!(f, "{t}"),
            Err(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn labels(k: usize) -> Labels {
        Labels::from_names((0..k).map(|i| format!("g{i}")))
    }

    #[test]
    fn counts_and_rows() {
        let cm = ConfusionMatrix::new(&[0, 0, 1, 1, 1], &[0, 1, 1, 1, 0], &labels(3)).unwrap();
        assert_eq!(
            cm.counts(),
            vec![vec![1, 1, 0], vec![1, 2, 0], vec![0, 0, 0]]
        );
        let n = cm.normalized();
        assert_eq!(n[0], vec![0.5, 0.5, 0.0]);
        assert_eq!(n[2], vec![0.0, 0.0, 0.0]);
        assert_eq!(cm.get(1, 1), Some(2));
        assert_eq!(cm.get(3, 0), None);
        let t = cm.table().unwrap();
        assert_eq!(t.shape(), (3, 4));
        assert!(cm.to_string().contains("g2"));
        assert_eq!(cm.normalized_table().unwrap().shape(), (3, 4));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            ConfusionMatrix::new(&[], &[], &labels(2)),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            ConfusionMatrix::new(&[0], &[0, 1], &labels(2)),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            ConfusionMatrix::new(&[2], &[0], &labels(2)),
            Err(Error::Config(_))
        ));
    }
}
