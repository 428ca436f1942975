//! Linear baselines on sparse ([`Csr`](crate::features::Csr)) or dense
//! ([`Dense`](crate::features::Dense)) features, matching scikit-learn so the numbers are
//! comparable:
//!
//! - [`LinearSvc`]: one-vs-rest squared-hinge SVM, liblinear's dual coordinate descent
//!   (scikit-learn's `LinearSVC()`);
//! - [`LogisticRegression`]: multinomial logistic regression with an L2 penalty, L-BFGS
//!   (scikit-learn's `LogisticRegression()`);
//! - [`ClassWeight`]: none, balanced (scikit-learn's formula) or custom weights per class;
//! - [`LinearModel`]: what both fit; scores, predictions, probabilities (logistic), and
//!   `linear.json` + `linear.bin` on disk.
//!
//! ```no_run
//! use genre_nlp::models::linear::{ClassWeight, LinearSvc};
//! # fn demo(x: &genre_nlp::features::Csr, y: &[usize]) -> genre_nlp::Result<()> {
//! let model = LinearSvc::default().c(0.5).class_weight(ClassWeight::Balanced).fit(x, y, 27)?;
//! model.save(std::path::Path::new("artifacts/models/svm"))?;
//! # Ok(()) }
//! ```
//!
//! Rows are read through [`RowMatrix`] only (the matrix is never densified); the weights are a
//! dense `n_classes × n_features` matrix.

mod lbfgs;
mod logistic;
mod model;
mod svm;

pub use crate::train::ClassWeight;
pub use logistic::LogisticRegression;
pub use model::{LinearKind, LinearModel, LinearOptions, LINEAR_BIN, LINEAR_FORMAT, LINEAR_JSON};
pub use svm::LinearSvc;

use crate::features::RowMatrix;
use crate::{Error, Result};

/// Checks what every `fit` needs: rows present, one label per row, labels in range, at least
/// two classes among them. All failures are [`Error::Config`].
fn check_fit_input<M: RowMatrix>(x: &M, y: &[usize], n_classes: usize) -> Result<()> {
    if x.n_rows() == 0 || x.n_cols() == 0 {
        return Err(Error::Config(format!(
            "cannot fit a linear model on an empty matrix ({} × {})",
            x.n_rows(),
            x.n_cols()
        )));
    }
    if y.len() != x.n_rows() {
        return Err(Error::Config(format!(
            "{} labels given for {} rows",
            y.len(),
            x.n_rows()
        )));
    }
    if n_classes < 2 {
        return Err(Error::Config(format!(
            "a classifier needs at least 2 classes, n_classes is {n_classes}"
        )));
    }
    let counts = crate::train::class_weight::class_counts(y, n_classes)?;
    if counts.iter().filter(|&&c| c > 0).count() < 2 {
        return Err(Error::Config(
            "the labels hold a single class; a classifier needs at least 2".into(),
        ));
    }
    Ok(())
}

/// Small datasets shared by the unit tests.
#[cfg(test)]
pub(crate) mod test_data {
    use crate::features::{csr_from_rows, Csr, Dense};

    /// 30 rows, 3 features, 3 well separated classes (10 rows each).
    pub(crate) fn separable() -> (Dense, Vec<usize>) {
        let centers = [(3.0f32, 0.0f32), (-3.0, 3.0), (-3.0, -3.0)];
        let mut flat = Vec::new();
        let mut y = Vec::new();
        for i in 0..30 {
            let c = i % 3;
            let jitter = ((i * 7919) % 13) as f32 / 13.0 - 0.5;
            flat.extend([centers[c].0 + jitter, centers[c].1 - jitter, 0.3 * jitter]);
            y.push(c);
        }
        (Dense::from_shape_vec((30, 3), flat).unwrap(), y)
    }

    /// The same matrix in CSR form (zeros dropped).
    pub(crate) fn to_csr(x: &Dense) -> Csr {
        let rows = x
            .rows()
            .into_iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(j, v)| (j, *v))
                    .collect()
            })
            .collect();
        csr_from_rows(x.ncols(), rows)
    }
}
