//! One-vs-rest linear SVM with the squared hinge loss, as scikit-learn's `LinearSVC()`
//! (liblinear's L2R_L2LOSS_SVC_DUAL).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::check_fit_input;
use super::model::{LinearKind, LinearModel, LinearOptions};
use crate::features::RowMatrix;
use crate::train::ClassWeight;
use crate::{Error, Result};

/// Linear SVM, squared hinge loss, L2 penalty, one-vs-rest: scikit-learn's
/// `LinearSVC(C, class_weight, fit_intercept, intercept_scaling, tol, max_iter, dual=True)`.
///
/// Each binary problem `min ½‖w‖² + Σ_i C_i·max(0, 1 - y_i·w·x_i)²` is solved in the dual by
/// coordinate descent with shrinking (Hsieh et al. 2008, liblinear's `solve_l2r_l1l2_svc`),
/// visiting the samples in a fresh seeded random order each epoch, until the projected-gradient
/// spread `PGmax - PGmin <= tol` or `max_iter` epochs (then a warning on stderr, as
/// scikit-learn's `ConvergenceWarning`). The problems run in parallel.
///
/// As in liblinear: the intercept is the weight of an extra constant feature of value
/// `intercept_scaling`, and it is regularised; with class weights `c_k`, problem `k` gives its
/// positives `C·c_k` and its negatives plain `C` (liblinear's `train()` calls
/// `train_one(..., weighted_C[k], param->C)`). With two classes a single problem is solved,
/// class 1 positive with `C·c_1`, class 0 negative with `C·c_0`, stored as rows `[-w, w]`.
///
/// ```no_run
/// # use genre_nlp::models::linear::{ClassWeight, LinearSvc};
/// # fn demo(x: &genre_nlp::features::Csr, y: &[usize]) -> genre_nlp::Result<()> {
/// let model = LinearSvc::default().c(0.5).class_weight(ClassWeight::Balanced).fit(x, y, 27)?;
/// let labels = model.predict(x)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinearSvc {
    /// Penalty of the loss term (`> 0`); default 1.
    pub c: f32,
    /// Per-class weights multiplying `C` for the positives of each problem; default none.
    pub class_weight: ClassWeight,
    /// Add the constant feature that carries the intercept; default true.
    pub fit_intercept: bool,
    /// Value of that constant feature (`> 0`); default 1.
    pub intercept_scaling: f32,
    /// Stopping tolerance on the projected-gradient spread (`> 0`); default 1e-4.
    pub tol: f32,
    /// Epoch limit per binary problem (`>= 1`); default 1000.
    pub max_iter: usize,
    /// Seed of the sample order (problem `k` uses stream `k` of a ChaCha8 generator); default 42.
    pub seed: u64,
}

impl Default for LinearSvc {
    fn default() -> Self {
        LinearSvc {
            c: 1.0,
            class_weight: ClassWeight::None,
            fit_intercept: true,
            intercept_scaling: 1.0,
            tol: 1e-4,
            max_iter: 1000,
            seed: 42,
        }
    }
}

impl LinearSvc {
    /// Sets `C`.
    pub fn c(mut self, c: f32) -> Self {
        self.c = c;
        self
    }

    /// Sets the class weights.
    pub fn class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.class_weight = class_weight;
        self
    }

    /// Fits an intercept (or not).
    pub fn fit_intercept(mut self, fit_intercept: bool) -> Self {
        self.fit_intercept = fit_intercept;
        self
    }

    /// Sets the value of the constant intercept feature.
    pub fn intercept_scaling(mut self, intercept_scaling: f32) -> Self {
        self.intercept_scaling = intercept_scaling;
        self
    }

    /// Sets the stopping tolerance.
    pub fn tol(mut self, tol: f32) -> Self {
        self.tol = tol;
        self
    }

    /// Sets the epoch limit.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Sets the seed of the sample order.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// [`Error::Config`] for `C <= 0`, `tol <= 0`, `intercept_scaling <= 0` (when fitting an
    /// intercept), non-finite values, `max_iter == 0` or bad custom class weights.
    pub fn validate(&self) -> Result<()> {
        let positive = |name: &str, v: f32| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::Config(format!(
                    "LinearSvc: {name} must be finite and > 0, got {v}"
                )))
            }
        };
        positive("C", self.c)?;
        positive("tol", self.tol)?;
        if self.fit_intercept {
            positive("intercept_scaling", self.intercept_scaling)?;
        }
        if self.max_iter == 0 {
            return Err(Error::Config("LinearSvc: max_iter must be >= 1".into()));
        }
        self.class_weight.validate()
    }

    /// Fits on `x` (`n × d`, sparse or dense) and labels `y` (`n` values in `0..n_classes`).
    ///
    /// [`Error::Config`] for bad options, empty data, `y.len() != x.n_rows()`, a label
    /// `>= n_classes` or fewer than two classes present. A class absent from `y` (with more
    /// than two classes) gets a row trained with no positives.
    /// [`LinearModel::history`] holds the epochs each binary problem ran.
    pub fn fit<M: RowMatrix>(&self, x: &M, y: &[usize], n_classes: usize) -> Result<LinearModel> {
        self.validate()?;
        check_fit_input(x, y, n_classes)?;
        let class_w = self.class_weight.weights(y, n_classes)?;
        let c = self.c as f64;
        let bias = if self.fit_intercept {
            Some(self.intercept_scaling as f64)
        } else {
            None
        };
        // (positive class, C of positives, C of negatives)
        let problems: Vec<(usize, f64, f64)> = if n_classes == 2 {
            vec![(1, c * class_w[1] as f64, c * class_w[0] as f64)]
        } else {
            (0..n_classes)
                .map(|k| (k, c * class_w[k] as f64, c))
                .collect()
        };
        let sq_norms: Vec<f64> = (0..x.n_rows())
            .into_par_iter()
            .map(|i| x.row_sq_norm(i) as f64)
            .collect();
        let solved: Vec<Binary> = problems
            .par_iter()
            .enumerate()
            .map(|(p, &(positive, cp, cn))| {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                rng.set_stream(p as u64);
                solve_binary(
                    x,
                    &sq_norms,
                    |i| y[i] == positive,
                    cp,
                    cn,
                    bias,
                    self.tol as f64,
                    self.max_iter,
                    &mut rng,
                )
            })
            .collect();
        if let Some(b) = solved.iter().find(|b| b.epochs >= self.max_iter) {
            eprintln!(
                "warning: LinearSvc did not converge in {} epochs (projected-gradient spread \
                 {:.3e} > tol = {:e}); increase max_iter",
                self.max_iter, b.spread, self.tol
            );
        }

        let d = x.n_cols();
        let history = solved.iter().map(|b| b.epochs as f64).collect();
        let (coef, intercept) = if n_classes == 2 {
            let b = &solved[0];
            let neg: Vec<f32> = b.w.iter().map(|v| -v).collect();
            ([neg, b.w.clone()].concat(), vec![-b.intercept, b.intercept])
        } else {
            let mut coef = Vec::with_capacity(n_classes * d);
            for b in &solved {
                coef.extend_from_slice(&b.w);
            }
            (coef, solved.iter().map(|b| b.intercept).collect())
        };
        LinearModel::build(
            LinearKind::Svm,
            n_classes,
            d,
            coef,
            intercept,
            history,
            LinearOptions::Svm(self.clone()),
        )
    }
}

/// A solved binary problem.
struct Binary {
    w: Vec<f32>,
    intercept: f32,
    epochs: usize,
    spread: f64,
}

/// Dual coordinate descent for `min ½‖w‖² + Σ C_i max(0, 1 - y_i (w·x_i + w_b·B))²`
/// (liblinear's `solve_l2r_l1l2_svc`, L2 loss: `D_ii = 1 / (2 C_i)`, no upper bound), with
/// shrinking. `w` is `f32` (what [`RowMatrix`] updates); the dual variables, gradients and the
/// bias weight are `f64`. Samples with `C_i == 0` are left out, as liblinear drops them.
#[allow(clippy::too_many_arguments)]
fn solve_binary<M: RowMatrix>(
    x: &M,
    sq_norms: &[f64],
    is_positive: impl Fn(usize) -> bool,
    cp: f64,
    cn: f64,
    bias: Option<f64>,
    eps: f64,
    max_iter: usize,
    rng: &mut ChaCha8Rng,
) -> Binary {
    let n = x.n_rows();
    let bias_sq = bias.map_or(0.0, |b| b * b);
    let bias_v = bias.unwrap_or(0.0);
    let positive: Vec<bool> = (0..n).map(&is_positive).collect();
    let diag: Vec<f64> = positive
        .iter()
        .map(|&p| 0.5 / if p { cp } else { cn })
        .collect();
    let qd: Vec<f64> = (0..n).map(|i| diag[i] + sq_norms[i] + bias_sq).collect();
    let mut index: Vec<usize> = (0..n)
        .filter(|&i| if positive[i] { cp > 0.0 } else { cn > 0.0 })
        .collect();
    let l = index.len();
    let mut alpha = vec![0f64; n];
    let mut w = vec![0f32; x.n_cols()];
    let mut wb = 0f64;

    let mut active = l;
    // liblinear also tracks PGmin_old to shrink variables at their upper bound; the L2 loss
    // has no upper bound, so only PGmax_old is needed.
    let mut pg_max_old = f64::INFINITY;
    let mut epochs = 0;
    let mut spread = f64::INFINITY;
    while epochs < max_iter {
        let mut pg_max_new = f64::NEG_INFINITY;
        let mut pg_min_new = f64::INFINITY;
        for i in 0..active {
            let j = i + rng.random_range(0..active - i);
            index.swap(i, j);
        }
        let mut s = 0;
        while s < active {
            let i = index[s];
            let yi = if positive[i] { 1.0 } else { -1.0 };
            let g = (x.dot_row(i, &w) as f64 + wb * bias_v) * yi - 1.0 + alpha[i] * diag[i];
            let mut pg = 0.0;
            if alpha[i] == 0.0 {
                if g > pg_max_old {
                    active -= 1;
                    index.swap(s, active);
                    continue;
                } else if g < 0.0 {
                    pg = g;
                }
            } else {
                pg = g;
            }
            pg_max_new = pg_max_new.max(pg);
            pg_min_new = pg_min_new.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                let step = (alpha[i] - old) * yi;
                x.axpy_row(i, step as f32, &mut w);
                wb += step * bias_v;
            }
            s += 1;
        }
        epochs += 1;
        spread = pg_max_new - pg_min_new;
        if spread <= eps {
            if active == l {
                break;
            }
            active = l;
            pg_max_old = f64::INFINITY;
            continue;
        }
        pg_max_old = if pg_max_new <= 0.0 {
            f64::INFINITY
        } else {
            pg_max_new
        };
    }
    Binary {
        w,
        intercept: (wb * bias_v) as f32,
        epochs,
        spread,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Dense;
    use crate::models::linear::test_data::{separable, to_csr};

    #[test]
    fn separable_data_is_fitted_and_has_no_probabilities() {
        let (x, y) = separable();
        let model = LinearSvc::default().fit(&x, &y, 3).unwrap();
        assert_eq!(model.predict(&x).unwrap(), y);
        assert!(model.predict_proba(&x).unwrap().is_none());
        assert_eq!(model.history().len(), 3);
        assert_eq!(model.kind(), LinearKind::Svm);
    }

    #[test]
    fn two_classes_share_one_problem() {
        let (x, y) = separable();
        let keep: Vec<usize> = (0..y.len()).filter(|&i| y[i] < 2).collect();
        let xb = x.select(ndarray::Axis(0), &keep);
        let yb: Vec<usize> = keep.iter().map(|&i| y[i]).collect();
        let model = LinearSvc::default().fit(&xb, &yb, 2).unwrap();
        assert_eq!(model.predict(&xb).unwrap(), yb);
        assert_eq!(model.history().len(), 1);
        let d = model.n_features();
        for j in 0..d {
            assert_eq!(model.coef()[j], -model.coef()[d + j]);
        }
    }

    #[test]
    fn same_seed_same_model_and_sparse_matches_dense() {
        let (x, y) = separable();
        let csr = to_csr(&x);
        let svc = LinearSvc::default().c(0.1).tol(1e-6);
        let a = svc.fit(&csr, &y, 3).unwrap();
        let b = svc.fit(&csr, &y, 3).unwrap();
        assert_eq!(a, b);
        let dense = svc.fit(&x, &y, 3).unwrap();
        for (p, q) in a.coef().iter().zip(dense.coef()) {
            assert!((p - q).abs() < 1e-4, "{p} vs {q}");
        }
        let other = svc.clone().seed(7).fit(&csr, &y, 3).unwrap();
        for (p, q) in a.coef().iter().zip(other.coef()) {
            assert!((p - q).abs() < 1e-3, "{p} vs {q}");
        }
    }

    #[test]
    fn bad_options_are_config_errors() {
        let (x, y) = separable();
        for bad in [
            LinearSvc::default().c(0.0),
            LinearSvc::default().c(f32::NAN),
            LinearSvc::default().tol(-1.0),
            LinearSvc::default().intercept_scaling(0.0),
            LinearSvc::default().max_iter(0),
            LinearSvc::default().class_weight(ClassWeight::Custom(vec![1.0, 1.0])),
        ] {
            assert!(
                matches!(bad.fit(&x, &y, 3), Err(Error::Config(_))),
                "{bad:?}"
            );
        }
        let svc = LinearSvc::default();
        assert!(matches!(
            svc.fit(&Dense::zeros((0, 3)), &[], 3),
            Err(Error::Config(_))
        ));
        let one_class = vec![0; y.len()];
        assert!(matches!(svc.fit(&x, &one_class, 3), Err(Error::Config(_))));
    }

    #[test]
    fn hitting_max_iter_still_returns_a_model() {
        let (x, y) = separable();
        let model = LinearSvc::default()
            .max_iter(1)
            .tol(1e-12)
            .fit(&x, &y, 3)
            .unwrap();
        assert!(model.history().iter().all(|&e| e == 1.0));
    }
}
