//! A small L-BFGS minimiser (Nocedal & Wright, algorithms 7.4 / 7.5) with a strong-Wolfe line
//! search (algorithms 3.5 / 3.6, cubic interpolation; Hager & Zhang's approximate Wolfe
//! conditions accepted too, for when `f` is only known to rounding noise), stopping as scipy's
//! L-BFGS-B does without bounds: `max|g| <= gtol`, or a relative decrease of `f` below `ftol`,
//! or `max_iter` iterations.
//!
//! Vector reductions use fixed-size chunks summed in order, so a run is bit-identical to the
//! next whatever the number of threads.

use std::collections::VecDeque;

use rayon::prelude::*;

/// Elements per parallel block in the vector helpers (fixed: results do not depend on the
/// number of threads).
const BLOCK: usize = 1 << 14;

/// Sufficient-decrease constant of the line search (as scipy's L-BFGS-B).
const C1: f64 = 1e-3;
/// Curvature constant of the line search.
const C2: f64 = 0.9;
/// Relative rise of `f` tolerated by the approximate Wolfe conditions (Hager & Zhang's `ε`).
const F_NOISE: f64 = 1e-6;

/// Options of [`minimize`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LbfgsOptions {
    /// Number of correction pairs kept.
    pub memory: usize,
    /// Iteration limit.
    pub max_iter: usize,
    /// Stop when `max|g| <= gtol`.
    pub gtol: f64,
    /// Stop when `(f_old - f) / max(|f_old|, |f|, 1) <= ftol`.
    pub ftol: f64,
    /// Function evaluations allowed per line search.
    pub max_linesearch: usize,
}

/// Why [`minimize`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// `max|g| <= gtol`.
    Gradient,
    /// Relative decrease of `f` below `ftol`.
    Ftol,
    /// `max_iter` iterations ran.
    MaxIter,
    /// No step along a descent direction lowered `f` (noise level reached).
    LineSearch,
}

/// What [`minimize`] found.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// The last iterate.
    pub x: Vec<f64>,
    /// `f` at the start and after each iteration.
    pub history: Vec<f64>,
    /// `max|g|` at `x`.
    pub grad_max: f64,
    /// Why it stopped.
    pub status: Status,
    /// Iterations run.
    pub iterations: usize,
}

/// Minimises `fun`, which returns `f(x)` and writes `∇f(x)` into its second argument.
pub(crate) fn minimize<F>(mut fun: F, x0: Vec<f64>, opts: &LbfgsOptions) -> Outcome
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x0.len();
    let mut x = x0;
    let mut g = vec![0f64; n];
    let mut f = fun(&x, &mut g);
    let mut history = vec![f];
    // (s, y, 1 / (s·y)), oldest first.
    let mut memory: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();
    let mut iterations = 0;
    let status = loop {
        if max_abs(&g) <= opts.gtol {
            break Status::Gradient;
        }
        if iterations >= opts.max_iter {
            break Status::MaxIter;
        }
        let mut dir = two_loop(&g, &memory);
        let slope = dot(&g, &dir);
        if slope.is_nan() || slope >= 0.0 {
            memory.clear();
            dir = g.iter().map(|v| -v).collect();
        }
        let step0 = if memory.is_empty() {
            (1.0 / norm2(&dir)).min(1.0)
        } else {
            1.0
        };
        let mut found = line_search(&mut fun, &x, f, &g, &dir, step0, opts.max_linesearch);
        if found.is_none() && !memory.is_empty() {
            // Restart from steepest descent before giving up (scipy's L-BFGS-B does the same).
            memory.clear();
            dir = g.iter().map(|v| -v).collect();
            let step0 = (1.0 / norm2(&dir)).min(1.0);
            found = line_search(&mut fun, &x, f, &g, &dir, step0, opts.max_linesearch);
        }
        let Some((x_new, f_new, g_new)) = found else {
            break Status::LineSearch;
        };
        let s = sub(&x_new, &x);
        let y = sub(&g_new, &g);
        let sy = dot(&s, &y);
        if sy > f64::EPSILON * dot(&y, &y) {
            if memory.len() == opts.memory.max(1) {
                memory.pop_front();
            }
            memory.push_back((s, y, 1.0 / sy));
        }
        let f_old = f;
        x = x_new;
        g = g_new;
        f = f_new;
        iterations += 1;
        history.push(f);
        if max_abs(&g) <= opts.gtol {
            break Status::Gradient;
        }
        // A rise of f (accepted by the approximate Wolfe conditions) is rounding noise, not
        // convergence: only a genuine tiny decrease stops here.
        let decrease = (f_old - f) / f_old.abs().max(f.abs()).max(1.0);
        if (0.0..=opts.ftol).contains(&decrease) {
            break Status::Ftol;
        }
    };
    Outcome {
        grad_max: max_abs(&g),
        x,
        history,
        status,
        iterations,
    }
}

/// `-H·g` with the L-BFGS inverse-Hessian approximation of the stored pairs.
fn two_loop(g: &[f64], memory: &VecDeque<(Vec<f64>, Vec<f64>, f64)>) -> Vec<f64> {
    let mut q = g.to_vec();
    let mut alphas = Vec::with_capacity(memory.len());
    for (s, y, rho) in memory.iter().rev() {
        let a = rho * dot(s, &q);
        axpy(-a, y, &mut q);
        alphas.push(a);
    }
    if let Some((s, y, _)) = memory.back() {
        let gamma = dot(s, y) / dot(y, y);
        scale(gamma, &mut q);
    }
    for ((s, y, rho), a) in memory.iter().zip(alphas.into_iter().rev()) {
        let b = rho * dot(y, &q);
        axpy(a - b, s, &mut q);
    }
    scale(-1.0, &mut q);
    q
}

/// A trial point of the line search: step, `φ(α)`, `φ'(α)` and, for `α > 0`, `x` and `g`.
struct Trial {
    alpha: f64,
    f: f64,
    d: f64,
    point: Option<(Vec<f64>, Vec<f64>)>,
}

impl Trial {
    fn into_result(self) -> Option<(Vec<f64>, f64, Vec<f64>)> {
        let f = self.f;
        self.point.map(|(x, g)| (x, f, g))
    }
}

/// Line search along `dir` from `x` (`f0`, `g0`) for a step meeting the strong Wolfe (or the
/// approximate Wolfe) conditions. Returns the new point, or the best point satisfying
/// sufficient decrease when the evaluations run out, or `None` when no step lowered `f`.
fn line_search<F>(
    fun: &mut F,
    x: &[f64],
    f0: f64,
    g0: &[f64],
    dir: &[f64],
    step0: f64,
    max_evals: usize,
) -> Option<(Vec<f64>, f64, Vec<f64>)>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let d0 = dot(g0, dir);
    let mut evals = 0;
    let mut at = |alpha: f64, evals: &mut usize| -> Trial {
        *evals += 1;
        let mut xt = x.to_vec();
        axpy(alpha, dir, &mut xt);
        let mut gt = vec![0f64; x.len()];
        let f = fun(&xt, &mut gt);
        let d = dot(&gt, dir);
        Trial {
            alpha,
            f,
            d,
            point: Some((xt, gt)),
        }
    };
    let armijo = |t: &Trial| t.f.is_finite() && t.f <= f0 + C1 * t.alpha * d0;
    // Strong Wolfe, or Hager & Zhang's approximate Wolfe conditions (CG_DESCENT, 2005): near
    // the optimum `f` differences drown in rounding noise (the loss is summed from `f32` dot
    // products) while the directional derivative stays accurate.
    let accept = |t: &Trial| {
        (armijo(t) && t.d.abs() <= -C2 * d0)
            || (t.f.is_finite()
                && t.f <= f0 + F_NOISE * f0.abs()
                && C2 * d0 <= t.d
                && t.d <= (2.0 * C1 - 1.0) * d0)
    };

    let mut prev = Trial {
        alpha: 0.0,
        f: f0,
        d: d0,
        point: None,
    };
    let mut alpha = step0;
    let (lo, hi) = loop {
        if evals >= max_evals {
            return prev.into_result();
        }
        let t = at(alpha, &mut evals);
        if accept(&t) {
            return t.into_result();
        }
        if !armijo(&t) || (prev.alpha > 0.0 && t.f >= prev.f) {
            break (prev, t);
        }
        if t.d >= 0.0 {
            break (t, prev);
        }
        prev = t;
        alpha *= 2.0;
        if !alpha.is_finite() {
            return prev.into_result();
        }
    };
    // Zoom: `lo` satisfies sufficient decrease with the lowest f so far; the minimiser lies
    // between lo and hi.
    let (mut lo, mut hi) = (lo, hi);
    loop {
        let width = (hi.alpha - lo.alpha).abs();
        if evals >= max_evals || width <= 1e-15 * lo.alpha.abs().max(hi.alpha.abs()) {
            return lo.into_result();
        }
        let a = interpolate(&lo, &hi);
        let t = at(a, &mut evals);
        if accept(&t) {
            return t.into_result();
        }
        if !armijo(&t) || t.f >= lo.f {
            hi = t;
        } else {
            if t.d * (hi.alpha - lo.alpha) >= 0.0 {
                hi = lo;
            }
            lo = t;
        }
    }
}

/// Minimiser of the cubic through `(α, φ, φ')` of `lo` and `hi`, kept at least 10 % of the
/// interval away from both ends (bisection when the cubic is not usable).
fn interpolate(lo: &Trial, hi: &Trial) -> f64 {
    let (a, b) = (lo.alpha, hi.alpha);
    let (left, right) = (a.min(b), a.max(b));
    let margin = 0.1 * (right - left);
    let mid = 0.5 * (a + b);
    if !(lo.f.is_finite() && hi.f.is_finite() && hi.d.is_finite()) {
        return mid;
    }
    let d1 = lo.d + hi.d - 3.0 * (lo.f - hi.f) / (a - b);
    let disc = d1 * d1 - lo.d * hi.d;
    if disc < 0.0 {
        return mid;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let t = b - (b - a) * (hi.d + d2 - d1) / (hi.d - lo.d + 2.0 * d2);
    if t.is_finite() {
        t.clamp(left + margin, right - margin)
    } else {
        mid
    }
}

/// `a·b`, summed in fixed blocks in order.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let parts: Vec<f64> = a
        .par_chunks(BLOCK)
        .zip(b.par_chunks(BLOCK))
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>())
        .collect();
    parts.iter().sum()
}

fn norm2(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn max_abs(a: &[f64]) -> f64 {
    a.par_chunks(BLOCK)
        .map(|c| c.iter().fold(0f64, |m, v| m.max(v.abs())))
        .reduce(|| 0.0, f64::max)
}

/// `y += a·x`.
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.par_chunks_mut(BLOCK)
        .zip(x.par_chunks(BLOCK))
        .for_each(|(yc, xc)| {
            for (p, q) in yc.iter_mut().zip(xc) {
                *p += a * q;
            }
        });
}

fn scale(a: f64, x: &mut [f64]) {
    x.par_chunks_mut(BLOCK)
        .for_each(|c| c.iter_mut().for_each(|v| *v *= a));
}

fn sub(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.par_iter().zip(b).map(|(p, q)| p - q).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> LbfgsOptions {
        LbfgsOptions {
            memory: 10,
            max_iter: 500,
            gtol: 1e-10,
            ftol: 0.0,
            max_linesearch: 50,
        }
    }

    #[test]
    fn minimises_rosenbrock() {
        let rosen = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let out = minimize(rosen, vec![-1.2, 1.0], &opts());
        assert!(
            (out.x[0] - 1.0).abs() < 1e-6 && (out.x[1] - 1.0).abs() < 1e-6,
            "{out:?}"
        );
        assert!(out.history.windows(2).all(|w| w[1] <= w[0]));
    }

    #[test]
    fn minimises_a_quadratic_and_reports_max_iter() {
        // f = Σ (i+1)/2 · (x_i - 1)²
        let quad = |x: &[f64], g: &mut [f64]| {
            let mut f = 0.0;
            for (i, (xi, gi)) in x.iter().zip(g.iter_mut()).enumerate() {
                let h = (i + 1) as f64;
                *gi = h * (xi - 1.0);
                f += 0.5 * h * (xi - 1.0).powi(2);
            }
            f
        };
        let out = minimize(quad, vec![0.0; 20], &opts());
        assert_eq!(out.status, Status::Gradient);
        assert!(out.x.iter().all(|v| (v - 1.0).abs() < 1e-9));
        let short = LbfgsOptions {
            max_iter: 2,
            ..opts()
        };
        let out = minimize(quad, vec![0.0; 20], &short);
        assert_eq!(
            (out.status, out.iterations, out.history.len()),
            (Status::MaxIter, 2, 3)
        );
    }
}
