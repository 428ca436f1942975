//! Multinomial logistic regression, as scikit-learn's `LogisticRegression()` (lbfgs, L2).

use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::check_fit_input;
use super::lbfgs::{self, LbfgsOptions, Status};
use super::model::{LinearKind, LinearModel, LinearOptions};
use crate::features::RowMatrix;
use crate::train::ClassWeight;
use crate::{Error, Result};

/// Rows per chunk of the parallel loss / gradient (before the cap below).
const ROWS_PER_CHUNK: usize = 1024;
/// At most this many chunks, each with its own `n_classes × n_features` gradient buffer.
const MAX_CHUNKS: usize = 8;
/// Memory allowed for the per-chunk gradient buffers, in bytes.
const BUFFER_BUDGET: usize = 256 << 20;

/// Multinomial logistic regression with an L2 penalty, as scikit-learn's
/// `LogisticRegression(C, class_weight, fit_intercept, tol, max_iter)` with its default
/// lbfgs solver.
///
/// Minimises `C·Σ_i s_i·CE_i + ½‖W‖²` (the intercept is not penalised, `s_i` is the class
/// weight of sample `i`) with L-BFGS, on the objective scaled as scikit-learn scales it
/// (divided by `C·Σ s_i`), so `tol` means what it means there: stop when the largest
/// gradient entry is `<= tol` (scipy's `gtol`), or after `max_iter` iterations (with a
/// warning on stderr, as scikit-learn's `ConvergenceWarning`).
///
/// With two classes scikit-learn fits one binomial row `v`; this fits the equivalent
/// symmetric pair `[-v/2, v/2]` (penalty doubled so the optimum is the same), so
/// probabilities match scikit-learn's and `coef[1] - coef[0] == v`.
///
/// ```no_run
/// # use genre_nlp::models::linear::{ClassWeight, LogisticRegression};
/// # fn demo(x: &genre_nlp::features::Csr, y: &[usize]) -> genre_nlp::Result<()> {
/// let model = LogisticRegression::default().c(2.0).class_weight(ClassWeight::Balanced).fit(x, y, 27)?;
/// let proba = model.predict_proba(x)?; // Some(n × 27), rows sum to 1
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogisticRegression {
    /// Inverse regularisation strength (`> 0`); default 1.
    pub c: f32,
    /// Per-class weights of the loss; default none.
    pub class_weight: ClassWeight,
    /// Fit an unpenalised intercept per class; default true.
    pub fit_intercept: bool,
    /// Gradient tolerance (`> 0`); default 1e-4.
    pub tol: f32,
    /// L-BFGS iteration limit (`>= 1`); default 100.
    pub max_iter: usize,
    /// L-BFGS memory (correction pairs kept, `>= 1`); default 10 (scipy's).
    pub memory: usize,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        LogisticRegression {
            c: 1.0,
            class_weight: ClassWeight::None,
            fit_intercept: true,
            tol: 1e-4,
            max_iter: 100,
            memory: 10,
        }
    }
}

impl LogisticRegression {
    /// Sets the inverse regularisation strength.
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

    /// Sets the gradient tolerance.
    pub fn tol(mut self, tol: f32) -> Self {
        self.tol = tol;
        self
    }

    /// Sets the iteration limit.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Sets the L-BFGS memory.
    pub fn memory(mut self, memory: usize) -> Self {
        self.memory = memory;
        self
    }

    /// [`Error::Config`] for `C <= 0`, `tol <= 0` (or non-finite), `max_iter == 0`,
    /// `memory == 0`, or bad custom class weights.
    pub fn validate(&self) -> Result<()> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(Error::Config(format!(
                "LogisticRegression: C must be finite and > 0, got {}",
                self.c
            )));
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(Error::Config(format!(
                "LogisticRegression: tol must be finite and > 0, got {}",
                self.tol
            )));
        }
        if self.max_iter == 0 {
            return Err(Error::Config(
                "LogisticRegression: max_iter must be >= 1".into(),
            ));
        }
        if self.memory == 0 {
            return Err(Error::Config(
                "LogisticRegression: memory must be >= 1".into(),
            ));
        }
        self.class_weight.validate()
    }

    /// Fits on `x` (`n × d`, sparse or dense) and labels `y` (`n` values in `0..n_classes`).
    ///
    /// [`Error::Config`] for bad options, empty data, `y.len() != x.n_rows()`, a label
    /// `>= n_classes`, fewer than two classes present, or class weights summing to zero.
    /// A class absent from `y` gets a row too; its scores are pushed down.
    pub fn fit<M: RowMatrix>(&self, x: &M, y: &[usize], n_classes: usize) -> Result<LinearModel> {
        self.validate()?;
        check_fit_input(x, y, n_classes)?;
        let class_w = self.class_weight.weights(y, n_classes)?;
        let sw: Vec<f64> = y.iter().map(|&c| class_w[c] as f64).collect();
        let s_sum: f64 = sw.iter().sum();
        // Weights are finite and >= 0 (checked), so the sum is a number >= 0.
        if s_sum <= 0.0 {
            return Err(Error::Config(
                "LogisticRegression: the class weights of the samples sum to zero".into(),
            ));
        }
        let (k, d) = (n_classes, x.n_cols());
        let penalty = if k == 2 { 2.0 } else { 1.0 };
        let mut objective = Objective::new(
            x,
            y,
            sw,
            k,
            self.fit_intercept,
            penalty / (self.c as f64 * s_sum),
            1.0 / s_sum,
        );
        let n_params = k * d + if self.fit_intercept { k } else { 0 };
        let opts = LbfgsOptions {
            memory: self.memory,
            max_iter: self.max_iter,
            gtol: self.tol as f64,
            ftol: 64.0 * f64::EPSILON,
            max_linesearch: 50,
        };
        let out = lbfgs::minimize(
            |theta, grad| objective.eval(theta, grad),
            vec![0.0; n_params],
            &opts,
        );
        match out.status {
            Status::MaxIter => eprintln!(
                "warning: LogisticRegression (lbfgs) did not converge in {} iterations \
                 (max|grad| = {:.3e} > tol = {:e}); increase max_iter or scale the features",
                self.max_iter, out.grad_max, self.tol
            ),
            Status::LineSearch => eprintln!(
                "warning: LogisticRegression (lbfgs) stopped after {} iterations: the line \
                 search found no lower objective (max|grad| = {:.3e} > tol = {:e}, float \
                 precision reached)",
                out.iterations, out.grad_max, self.tol
            ),
            Status::Gradient | Status::Ftol => {}
        }
        // Feature-major (j·k + c) to the model's class-major (c·d + j).
        let mut coef = vec![0f32; k * d];
        for (j, wj) in out.x[..k * d].chunks_exact(k).enumerate() {
            for (c, &w) in wj.iter().enumerate() {
                coef[c * d + j] = w as f32;
            }
        }
        let intercept: Vec<f32> = if self.fit_intercept {
            out.x[k * d..].iter().map(|&v| v as f32).collect()
        } else {
            vec![0.0; k]
        };
        LinearModel::build(
            LinearKind::Logistic,
            k,
            d,
            coef,
            intercept,
            out.history,
            LinearOptions::Logistic(self.clone()),
        )
    }
}

/// The scaled objective `Σ s_i·CE_i / S + l2/2·‖W‖²` and its gradient, computed over fixed
/// row chunks in parallel and reduced in chunk order (bit-identical run to run). `W` is stored
/// feature-major (`theta[j·k + c]`), so a row's nonzeros each read and write k adjacent
/// weights instead of k scattered ones.
struct Objective<'a, M> {
    x: &'a M,
    y: &'a [usize],
    sw: Vec<f64>,
    k: usize,
    d: usize,
    fit_intercept: bool,
    l2: f64,
    inv_s: f64,
    chunks: Vec<Range<usize>>,
    buffers: Vec<Vec<f32>>,
    w32: Vec<f32>,
}

impl<'a, M: RowMatrix> Objective<'a, M> {
    fn new(
        x: &'a M,
        y: &'a [usize],
        sw: Vec<f64>,
        k: usize,
        fit_intercept: bool,
        l2: f64,
        inv_s: f64,
    ) -> Self {
        let (n, d) = (x.n_rows(), x.n_cols());
        let per_buffer = (k * d * 4).max(1);
        let cap = (BUFFER_BUDGET / per_buffer).clamp(1, MAX_CHUNKS);
        let n_chunks = n.div_ceil(ROWS_PER_CHUNK).clamp(1, cap);
        let chunks = (0..n_chunks)
            .map(|c| (c * n / n_chunks)..((c + 1) * n / n_chunks))
            .collect();
        Objective {
            x,
            y,
            sw,
            k,
            d,
            fit_intercept,
            l2,
            inv_s,
            chunks,
            buffers: vec![vec![0f32; k * d]; n_chunks],
            w32: vec![0f32; k * d],
        }
    }

    fn eval(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (k, d) = (self.k, self.d);
        let kd = k * d;
        self.w32
            .par_iter_mut()
            .zip(&theta[..kd])
            .for_each(|(w, &t)| *w = t as f32);
        let b: Vec<f64> = if self.fit_intercept {
            theta[kd..].to_vec()
        } else {
            vec![0.0; k]
        };
        let (x, y, sw, w32) = (self.x, self.y, &self.sw, &self.w32);
        let partials: Vec<(f64, Vec<f64>)> = self
            .buffers
            .par_iter_mut()
            .zip(self.chunks.par_iter())
            .map(|(buf, rows)| {
                buf.iter_mut().for_each(|v| *v = 0.0);
                let mut loss = 0f64;
                let mut gb = vec![0f64; k];
                let mut z = vec![0f64; k];
                let mut zf = vec![0f32; k];
                let mut rf = vec![0f32; k];
                for i in rows.clone() {
                    // Weights are feature-major: the k class weights of feature j sit together.
                    zf.iter_mut().for_each(|v| *v = 0.0);
                    x.for_each_in_row(i, |j, v| {
                        for (zc, &w) in zf.iter_mut().zip(&w32[j * k..(j + 1) * k]) {
                            *zc += v * w;
                        }
                    });
                    let mut zmax = f64::NEG_INFINITY;
                    let yi = y[i];
                    for ((zc, &zv), &bc) in z.iter_mut().zip(&zf).zip(&b) {
                        *zc = zv as f64 + bc;
                        zmax = zmax.max(*zc);
                    }
                    let zy = z[yi] - zmax;
                    let mut sum = 0f64;
                    for zc in z.iter_mut() {
                        *zc = (*zc - zmax).exp();
                        sum += *zc;
                    }
                    let s = sw[i];
                    // CE = log Σ exp(z) - z_y, both shifted by zmax.
                    loss += s * (sum.ln() - zy);
                    if s == 0.0 {
                        continue;
                    }
                    for (c, (&e, r32)) in z.iter().zip(rf.iter_mut()).enumerate() {
                        let p = e / sum;
                        let r = s * (p - if c == yi { 1.0 } else { 0.0 });
                        gb[c] += r;
                        *r32 = r as f32;
                    }
                    x.for_each_in_row(i, |j, v| {
                        for (g, &r) in buf[j * k..(j + 1) * k].iter_mut().zip(&rf) {
                            *g += v * r;
                        }
                    });
                }
                (loss, gb)
            })
            .collect();

        // Reduce the chunk buffers in chunk order, in parallel over coordinates.
        let buffers = &self.buffers;
        let (l2, inv_s) = (self.l2, self.inv_s);
        grad[..kd]
            .par_chunks_mut(4096)
            .zip(theta[..kd].par_chunks(4096))
            .enumerate()
            .for_each(|(block, (g, t))| {
                let start = block * 4096;
                for (j, (gj, tj)) in g.iter_mut().zip(t).enumerate() {
                    let mut acc = 0f64;
                    for buf in buffers {
                        acc += buf[start + j] as f64;
                    }
                    *gj = acc * inv_s + l2 * tj;
                }
            });
        let mut loss = 0f64;
        let mut gb = vec![0f64; k];
        for (l, g) in &partials {
            loss += l;
            for (a, v) in gb.iter_mut().zip(g) {
                *a += v;
            }
        }
        if self.fit_intercept {
            for (gj, v) in grad[kd..].iter_mut().zip(&gb) {
                *gj = v * inv_s;
            }
        }
        let w = &theta[..kd];
        loss * inv_s + 0.5 * l2 * lbfgs::dot(w, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Dense;
    use crate::models::linear::test_data::{separable, to_csr};

    #[test]
    fn separable_data_is_fitted_and_probabilities_sum_to_one() {
        let (x, y) = separable();
        let model = LogisticRegression::default().fit(&x, &y, 3).unwrap();
        assert_eq!(model.predict(&x).unwrap(), y);
        let p = model.predict_proba(&x).unwrap().unwrap();
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-5);
        }
        let h = model.history();
        // Non-increasing, up to the rounding noise the approximate Wolfe conditions allow.
        let rises = h.windows(2).all(|w| w[1] <= w[0] + 1e-6 * w[0].abs());
        assert!(h.len() >= 2 && rises, "{h:?}");
        assert_eq!(model.kind(), LinearKind::Logistic);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (x, y) = separable();
        let sw: Vec<f64> = y.iter().map(|&c| 1.0 + c as f64).collect();
        let s: f64 = sw.iter().sum();
        let mut obj = Objective::new(&x, &y, sw, 3, true, 0.3, 1.0 / s);
        let theta: Vec<f64> = (0..12)
            .map(|i| ((i * 37) % 11) as f64 / 20.0 - 0.25)
            .collect();
        let mut g = vec![0.0; 12];
        obj.eval(&theta, &mut g);
        for j in 0..12 {
            let h = 1e-3;
            let mut tp = theta.clone();
            tp[j] += h;
            let mut tm = theta.clone();
            tm[j] -= h;
            let mut scratch = vec![0.0; 12];
            let fd = (obj.eval(&tp, &mut scratch) - obj.eval(&tm, &mut scratch)) / (2.0 * h);
            assert!((fd - g[j]).abs() < 1e-4, "coordinate {j}: {fd} vs {}", g[j]);
        }
    }

    #[test]
    fn sparse_and_dense_agree_and_runs_are_identical() {
        let (x, y) = separable();
        let csr = to_csr(&x);
        let lr = LogisticRegression::default().c(0.1);
        let a = lr.fit(&x, &y, 3).unwrap();
        let b = lr.fit(&csr, &y, 3).unwrap();
        let c = lr.fit(&csr, &y, 3).unwrap();
        assert_eq!(b, c, "same input, same model bit for bit");
        for (p, q) in a.coef().iter().zip(b.coef()) {
            assert!((p - q).abs() < 1e-4, "{p} vs {q}");
        }
    }

    #[test]
    fn bad_options_are_config_errors() {
        let (x, y) = separable();
        for bad in [
            LogisticRegression::default().c(0.0),
            LogisticRegression::default().c(-1.0),
            LogisticRegression::default().tol(0.0),
            LogisticRegression::default().max_iter(0),
            LogisticRegression::default().class_weight(ClassWeight::Custom(vec![1.0])),
        ] {
            assert!(
                matches!(bad.fit(&x, &y, 3), Err(Error::Config(_))),
                "{bad:?}"
            );
        }
        let lr = LogisticRegression::default();
        let empty = Dense::zeros((0, 3));
        assert!(matches!(lr.fit(&empty, &[], 3), Err(Error::Config(_))));
        assert!(matches!(lr.fit(&x, &y, 2), Err(Error::Config(_))));
        assert!(matches!(lr.fit(&x, &y[1..], 3), Err(Error::Config(_))));
    }
}
