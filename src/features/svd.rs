//! Truncated randomized SVD straight on a sparse matrix, as scikit-learn's
//! `TruncatedSVD(algorithm="randomized")`: no centering, so it is latent semantic analysis
//! when applied to TF-IDF.
//!
//! [`Svd::fit`] runs the randomized range finder of Halko, Martinsson & Tropp (2011) on `X`
//! (`n × d`, CSR) with `l = k + n_oversamples` probe vectors:
//!
//! 1. `Y = X Ω`, `Ω` a `d × l` standard Gaussian matrix drawn from the seed;
//! 2. `n_iter` power iterations `Q ← orth(Xᵀ Q)`, `Q ← orth(X Q)`;
//! 3. `C = Xᵀ Q = Bᵀ` (so `B = Qᵀ X` without forming `Qᵀ`), `C = Q_c R`, and the SVD of the
//!    small `l × l` factor `R = U_r S V_rᵀ` in `f64` gives `B = V_r S (Q_c U_r)ᵀ`;
//! 4. the components are the first `k` rows of `(Q_c U_r)ᵀ`, with scikit-learn's `svd_flip`
//!    sign convention (the largest-magnitude entry of every component is positive).
//!
//! `X` is never densified: `X · M` runs over the CSR rows in parallel (per row, the rows of `M`
//! it touches are gathered and multiplied by one GEMM call), `Xᵀ · M` the same way over a CSR
//! copy of `Xᵀ` built once (`O(nnz)` memory). The tall blocks (`n × l`, `d × l`) are orthonormalised
//! by CholeskyQR (Gram matrix in `f64`, products in `f32` through `matrixmultiply`, split
//! over row blocks with rayon), two passes where orthonormality matters (the final range basis
//! and `C`); a (numerically) rank-deficient block falls back to Householder QR in `f64`
//! (correct but ~100× slower, e.g. when `l` exceeds the rank of `X`). Every reduction runs
//! over a fixed partition in a fixed order, so on a given CPU a seed gives bit-identical
//! results whatever the number of threads.
//!
//! Differences from scikit-learn: the random stream is not NumPy's; power iterations are
//! normalised by QR (`power_iteration_normalizer="QR"`; scikit-learn's default is LU), which
//! spans the same subspace; the range finder always runs on `X`, where scikit-learn runs it
//! on `Xᵀ` when `n_rows < n_cols` (same result up to the approximation error). As in
//! scikit-learn, the transformed training data is `X Vᵀ` and the explained variance is
//! measured on it.

use std::borrow::Cow;

use linfa_linalg::cholesky::CholeskyInplace;
use linfa_linalg::qr::QRInto;
use linfa_linalg::svd::{SVDInto, SvdSort};
use linfa_linalg::triangular::{SolveTriangularInplace, UPLO};
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::matrix::{Csr, Dense};

/// Options of the truncated SVD (scikit-learn's names and defaults); [`Svd::fit`] learns a
/// [`FittedSvd`].
///
/// ```
/// use genre_nlp::features::{csr_from_rows, Svd};
/// let x = csr_from_rows(4, vec![
///     vec![(0, 1.0), (1, 2.0)],
///     vec![(1, 1.0), (2, 3.0)],
///     vec![(0, 2.0), (3, 1.0)],
/// ]);
/// let (fitted, z) = Svd::new(2).fit_transform(&x).unwrap();
/// assert_eq!(z.dim(), (3, 2));
/// assert_eq!(fitted.components().dim(), (2, 4));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Svd {
    /// Number of singular vectors kept (`k`), at most `min(n_rows, n_cols)` of the data.
    pub n_components: usize,
    /// Extra random probe vectors beyond `k` (scikit-learn's default 10).
    pub n_oversamples: usize,
    /// Power iterations (scikit-learn's `TruncatedSVD` default 5; 7 sharpens flat spectra).
    pub n_iter: usize,
    /// Seed of the Gaussian test matrix.
    pub seed: u64,
}

impl Default for Svd {
    /// 512 components, 10 oversamples, 5 power iterations, seed 42.
    fn default() -> Self {
        Svd {
            n_components: 512,
            n_oversamples: 10,
            n_iter: 5,
            seed: 42,
        }
    }
}

impl Svd {
    /// Keeps `n_components` singular vectors, other options at their defaults.
    pub fn new(n_components: usize) -> Self {
        Svd {
            n_components,
            ..Self::default()
        }
    }

    /// Sets the number of components `k`.
    pub fn n_components(mut self, n_components: usize) -> Self {
        self.n_components = n_components;
        self
    }
    /// Sets the number of extra probe vectors.
    pub fn n_oversamples(mut self, n_oversamples: usize) -> Self {
        self.n_oversamples = n_oversamples;
        self
    }
    /// Sets the number of power iterations.
    pub fn n_iter(mut self, n_iter: usize) -> Self {
        self.n_iter = n_iter;
        self
    }
    /// Sets the seed of the random test matrix.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks the options that do not depend on the data (`n_components ≥ 1`).
    pub fn validate(&self) -> Result<()> {
        if self.n_components == 0 {
            return Err(Error::Config("svd: n_components must be at least 1".into()));
        }
        if self.n_components.checked_add(self.n_oversamples).is_none() {
            return Err(Error::Config(format!(
                "svd: n_components + n_oversamples overflows ({} + {})",
                self.n_components, self.n_oversamples
            )));
        }
        Ok(())
    }

    /// Learns the top `k` right singular vectors of `x` (rows = documents).
    ///
    /// Errors: [`Error::Config`] for bad options or `k > min(n_rows, n_cols)`;
    /// [`Error::Model`] when `x` holds a non-finite value.
    pub fn fit(&self, x: &Csr) -> Result<FittedSvd> {
        self.fit_transform(x).map(|(fitted, _)| fitted)
    }

    /// [`Svd::fit`], also returning `x` projected on the components (`n × k`), exactly what
    /// [`FittedSvd::transform`] gives for `x`.
    pub fn fit_transform(&self, x: &Csr) -> Result<(FittedSvd, Dense)> {
        self.validate()?;
        let (n, d) = (x.rows(), x.cols());
        let k = self.n_components;
        if k > n.min(d) {
            return Err(Error::Config(format!(
                "svd: n_components = {k} exceeds min(n_rows, n_cols) = min({n}, {d})"
            )));
        }
        check_finite(x)?;
        let x = csr_rows(x);
        let xt = transpose_csr(&x);
        let l = (k + self.n_oversamples).min(n).min(d);

        let q = range_finder(&x, &xt, l, self.n_iter, self.seed)?;
        // C = Xᵀ Q = Bᵀ, C = Q_c R, so B = Rᵀ Q_cᵀ and SVD(R) = U_r S V_rᵀ gives
        // B = V_r S (Q_c U_r)ᵀ: the right singular vectors of B are the columns of Q_c U_r.
        let mut c = spmm(&xt, q.view());
        drop(q);
        let r = orthonormalize(&mut c, true)?;
        let (u_r, sigma) = small_svd(r, k)?;
        let mut v = par_gemm(c.view(), u_r.view()); // d × k, columns = right singular vectors
        drop(c);
        svd_flip_columns(&mut v);

        let z = spmm(&x, v.view());
        let explained_variance = column_variances(&z);
        let total_variance = total_column_variance(&x);
        let explained_variance_ratio = explained_variance
            .iter()
            .map(|&v| {
                if total_variance > 0.0 {
                    (v / total_variance) as f32
                } else {
                    0.0
                }
            })
            .collect();
        let components = v.t().as_standard_layout().into_owned();
        let fitted = FittedSvd {
            config: *self,
            components,
            singular_values: sigma,
            explained_variance: explained_variance.iter().map(|&v| v as f32).collect(),
            explained_variance_ratio,
        };
        Ok((fitted, z))
    }
}

/// A fitted truncated SVD: the components (right singular vectors, `k × d`), the singular
/// values and the variance each component explains. Serialisable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FittedSvdState", into = "FittedSvdState")]
pub struct FittedSvd {
    config: Svd,
    components: Dense,
    singular_values: Vec<f32>,
    explained_variance: Vec<f32>,
    explained_variance_ratio: Vec<f32>,
}

/// What a [`FittedSvd`] saves: the components as a flat row-major vector.
#[derive(Serialize, Deserialize)]
struct FittedSvdState {
    config: Svd,
    n_features: usize,
    components: Vec<f32>,
    singular_values: Vec<f32>,
    explained_variance: Vec<f32>,
    explained_variance_ratio: Vec<f32>,
}

impl TryFrom<FittedSvdState> for FittedSvd {
    type Error = String;

    fn try_from(s: FittedSvdState) -> std::result::Result<Self, String> {
        let k = s.singular_values.len();
        if s.explained_variance.len() != k || s.explained_variance_ratio.len() != k {
            return Err(format!(
                "svd: {k} singular values but {} explained variances and {} ratios",
                s.explained_variance.len(),
                s.explained_variance_ratio.len()
            ));
        }
        let len = s.components.len();
        let components = Array2::from_shape_vec((k, s.n_features), s.components).map_err(|_| {
            format!(
                "svd: {len} component values do not make {k} components of {} features",
                s.n_features
            )
        })?;
        Ok(FittedSvd {
            config: s.config,
            components,
            singular_values: s.singular_values,
            explained_variance: s.explained_variance,
            explained_variance_ratio: s.explained_variance_ratio,
        })
    }
}

impl From<FittedSvd> for FittedSvdState {
    fn from(f: FittedSvd) -> Self {
        let n_features = f.components.ncols();
        let components = if f.components.is_standard_layout() {
            f.components.into_raw_vec_and_offset().0
        } else {
            f.components.iter().copied().collect()
        };
        FittedSvdState {
            config: f.config,
            n_features,
            components,
            singular_values: f.singular_values,
            explained_variance: f.explained_variance,
            explained_variance_ratio: f.explained_variance_ratio,
        }
    }
}

impl FittedSvd {
    /// Rebuilds a fitted SVD from its parts (as saved by a pipeline); the lengths must agree.
    pub fn from_parts(
        config: Svd,
        components: Dense,
        singular_values: Vec<f32>,
        explained_variance: Vec<f32>,
        explained_variance_ratio: Vec<f32>,
    ) -> Result<Self> {
        let n_features = components.ncols();
        let components = components.as_standard_layout().iter().copied().collect();
        FittedSvd::try_from(FittedSvdState {
            config,
            n_features,
            components,
            singular_values,
            explained_variance,
            explained_variance_ratio,
        })
        .map_err(Error::Model)
    }

    /// The options it was fitted with.
    pub fn config(&self) -> &Svd {
        &self.config
    }

    /// Number of components `k`.
    pub fn n_components(&self) -> usize {
        self.components.nrows()
    }

    /// Number of input features `d` the components live in.
    pub fn n_features(&self) -> usize {
        self.components.ncols()
    }

    /// The components, `k × d`: row `i` is the `i`-th right singular vector (unit norm).
    pub fn components(&self) -> &Dense {
        &self.components
    }

    /// The `k` largest singular values, in decreasing order.
    pub fn singular_values(&self) -> &[f32] {
        &self.singular_values
    }

    /// Variance (over the training rows, `ddof = 0`) of each column of the transformed data.
    pub fn explained_variance(&self) -> &[f32] {
        &self.explained_variance
    }

    /// [`FittedSvd::explained_variance`] over the total variance of the training matrix's
    /// columns (scikit-learn's definition); sums to at most 1, all 0 for a constant matrix.
    pub fn explained_variance_ratio(&self) -> &[f32] {
        &self.explained_variance_ratio
    }

    /// Projects sparse rows on the components: `X Vᵀ`, `n × k`, without densifying `x`.
    ///
    /// Errors: [`Error::Model`] when `x` has another column count than the training matrix.
    pub fn transform(&self, x: &Csr) -> Result<Dense> {
        self.check_features(x.cols(), "transform")?;
        let x = csr_rows(x);
        let (k, d) = self.components.dim();
        if x.nnz().saturating_mul(GATHER_RATIO) < d {
            // Few stored values (a handful of documents): read the components in place rather
            // than transposing all `k × d` of them.
            return Ok(spmm_gather(&x, self.components.view()));
        }
        let vt = self.components.t().as_standard_layout().into_owned();
        debug_assert_eq!(vt.dim(), (d, k));
        Ok(spmm(&x, vt.view()))
    }

    /// Projects dense rows on the components: `X Vᵀ`, `n × k`.
    ///
    /// Errors: [`Error::Model`] when `x` has another column count than the training matrix.
    pub fn transform_dense(&self, x: &Dense) -> Result<Dense> {
        self.check_features(x.ncols(), "transform_dense")?;
        Ok(par_gemm(x.view(), self.components.t()))
    }

    /// Maps projected rows back to feature space: `Z V`, `n × d` (dense).
    ///
    /// Errors: [`Error::Model`] when `z` does not have `k` columns.
    pub fn inverse_transform(&self, z: &Dense) -> Result<Dense> {
        let k = self.n_components();
        if z.ncols() != k {
            return Err(Error::Model(format!(
                "svd: inverse_transform expects {k} columns (one per component), got {}",
                z.ncols()
            )));
        }
        Ok(par_gemm(z.view(), self.components.view()))
    }

    fn check_features(&self, cols: usize, what: &str) -> Result<()> {
        let d = self.n_features();
        if cols != d {
            return Err(Error::Model(format!(
                "svd: {what} expects {d} columns (the training feature count), got {cols}"
            )));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The algorithm.

/// Rows per parallel task in the dense kernels (Gram blocks, tall × small products). Fixed, so
/// reductions do not depend on the number of threads.
const BLOCK: usize = 2048;
/// Rows per parallel task in the sparse × dense product.
const SPARSE_ROWS: usize = 64;
/// Rows of the Gaussian matrix drawn from one random stream.
const GAUSS_ROWS: usize = 256;
/// `transform` reads the components in place when `nnz · GATHER_RATIO < d`.
const GATHER_RATIO: usize = 16;
/// First CholeskyQR pass: the block counts as rank-deficient (Householder fallback) when the
/// smallest diagonal entry of its Cholesky factor is below this fraction of the largest.
const PASS1_MIN_RATIO: f64 = 1e-4;
/// Second pass: the block must already be close to orthonormal.
const PASS2_MIN_RATIO: f64 = 0.25;

/// The randomized range finder: an orthonormal `n × l` basis `Q` whose span approximates the
/// top-`l` left singular subspace of `x`.
fn range_finder(x: &Csr, xt: &Csr, l: usize, n_iter: usize, seed: u64) -> Result<Dense> {
    let omega = gaussian(x.cols(), l, seed);
    let mut q = spmm(x, omega.view());
    drop(omega);
    // Intermediate bases only need to be well conditioned (scikit-learn's LU normaliser is not
    // even orthogonal): one CholeskyQR pass; the final basis gets two.
    orthonormalize(&mut q, n_iter == 0)?;
    for it in 0..n_iter {
        let mut p = spmm(xt, q.view());
        orthonormalize(&mut p, false)?;
        q = spmm(x, p.view());
        orthonormalize(&mut q, it + 1 == n_iter)?;
    }
    Ok(q)
}

/// SVD of the small upper-triangular factor `r` (`l × l`, `f64`): its first `k` left singular
/// vectors (`f32`, `l × k`) and the `k` largest singular values.
fn small_svd(r: Array2<f64>, k: usize) -> Result<(Array2<f32>, Vec<f32>)> {
    let (u, s, _) = r
        .svd_into(true, false)
        .map_err(|e| Error::Model(format!("svd: small SVD failed: {e}")))?
        .sort_svd_desc();
    let u = u.ok_or_else(|| Error::Model("svd: small SVD returned no vectors".into()))?;
    let u_k = u.slice(s![.., ..k]).mapv(|v| v as f32);
    let sigma = s.iter().take(k).map(|&v| v as f32).collect();
    Ok((u_k, sigma))
}

/// Makes the columns of `y` (tall) orthonormal in place, `y_in = y_out · R`; returns `R`
/// (upper triangular, `f64`). CholeskyQR, one or two passes, Householder QR when `y` is
/// numerically rank-deficient.
fn orthonormalize(y: &mut Dense, two_passes: bool) -> Result<Array2<f64>> {
    let Some(r1) = cholqr_pass(y, PASS1_MIN_RATIO) else {
        return householder_qr(y);
    };
    if !two_passes {
        return Ok(r1);
    }
    let r2 = match cholqr_pass(y, PASS2_MIN_RATIO) {
        Some(r2) => r2,
        None => householder_qr(y)?,
    };
    Ok(r2.dot(&r1))
}

/// One CholeskyQR pass: `G = YᵀY` (`f64`), `G = RᵀR`, `Y ← Y R⁻¹`. Leaves `y` untouched and
/// returns `None` when the Cholesky factor is not clearly positive definite.
fn cholqr_pass(y: &mut Dense, min_ratio: f64) -> Option<Array2<f64>> {
    let l = y.ncols();
    let mut g = gram(y.view());
    g.cholesky_inplace().ok()?; // lower factor L, upper triangle zeroed: R = Lᵀ
    let (lo, hi) = g
        .diag()
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    // Also refuses NaN (a failed factorisation).
    if lo.is_nan() || hi.is_nan() || lo <= min_ratio * hi {
        return None;
    }
    let mut l_inv = Array2::<f64>::eye(l);
    g.solve_triangular_inplace(&mut l_inv, UPLO::Lower).ok()?;
    // R⁻¹ = (Lᵀ)⁻¹ = (L⁻¹)ᵀ
    let r_inv = l_inv.t().mapv(|v| v as f32);
    *y = par_gemm(y.view(), r_inv.view());
    Some(g.t().to_owned())
}

/// Householder QR in `f64` (linfa-linalg): robust for rank-deficient blocks, slower.
fn householder_qr(y: &mut Dense) -> Result<Array2<f64>> {
    let (q, r) = y
        .mapv(f64::from)
        .qr_into()
        .map_err(|e| Error::Model(format!("svd: QR failed: {e}")))?
        .into_decomp();
    *y = q.mapv(|v| v as f32);
    Ok(r)
}

/// `YᵀY` in `f64`, summed over fixed row blocks in order.
fn gram(y: ArrayView2<f32>) -> Array2<f64> {
    let l = y.ncols();
    let parts: Vec<Array2<f64>> = row_blocks(y.nrows(), BLOCK)
        .into_par_iter()
        .map(|(a, b)| {
            let blk = y.slice(s![a..b, ..]).mapv(f64::from);
            blk.t().dot(&blk)
        })
        .collect();
    let mut g = Array2::<f64>::zeros((l, l));
    for p in &parts {
        g += p;
    }
    g
}

/// `A · B` with `A` tall, split over row blocks of `A` (matrixmultiply is single-threaded).
fn par_gemm(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Dense {
    let mut out = Dense::zeros((a.nrows(), b.ncols()));
    let blocks: Vec<(usize, ArrayViewMut2<f32>)> = out
        .axis_chunks_iter_mut(Axis(0), BLOCK)
        .enumerate()
        .collect();
    blocks.into_par_iter().for_each(|(i, mut o)| {
        let start = i * BLOCK;
        let a_blk = a.slice(s![start..start + o.nrows(), ..]);
        general_mat_mul(1.0, &a_blk, &b, 0.0, &mut o);
    });
    out
}

/// `[a, b)` row ranges of height `block` covering `0..n`.
fn row_blocks(n: usize, block: usize) -> Vec<(usize, usize)> {
    (0..n)
        .step_by(block)
        .map(|a| (a, (a + block).min(n)))
        .collect()
}

/// `X · M` for CSR `x` (`n × d`) and dense `m` (`d × c`), parallel over rows of `x`.
///
/// Row `i` of the result is `vals_i · M[cols_i, :]`: the rows of `M` a document touches are
/// copied into a small block and multiplied by one GEMM call (matrixmultiply), so the
/// arithmetic runs in optimised, vectorised code in every build profile.
fn spmm(x: &Csr, m: ArrayView2<f32>) -> Dense {
    debug_assert!(x.is_csr());
    debug_assert_eq!(x.cols(), m.nrows());
    let c = m.ncols();
    let mut out = Dense::zeros((x.rows(), c));
    if c == 0 || x.rows() == 0 {
        return out;
    }
    let m = m.as_standard_layout();
    let Some(ms) = m.as_slice() else {
        unreachable!("as_standard_layout gives a contiguous array")
    };
    let Some(out_s) = out.as_slice_mut() else {
        unreachable!("a fresh array is contiguous")
    };
    let indptr = x.indptr();
    let (indices, data) = (x.indices(), x.data());
    out_s
        .par_chunks_mut(c * SPARSE_ROWS)
        .enumerate()
        .for_each(|(chunk, rows)| {
            let mut block = Vec::new();
            for (r, orow) in rows.chunks_mut(c).enumerate() {
                let range = indptr.outer_inds_sz(chunk * SPARSE_ROWS + r);
                block.clear();
                for &j in &indices[range.clone()] {
                    block.extend_from_slice(&ms[j * c..(j + 1) * c]);
                }
                row_times_block(&data[range], &block, orow);
            }
        });
    out
}

/// `X · Vᵀ` reading `v` (`k × d`, row-major) in place: the same blocks and GEMM calls as
/// [`spmm`] on `Vᵀ`, so both give bit-identical results.
fn spmm_gather(x: &Csr, v: ArrayView2<f32>) -> Dense {
    let k = v.nrows();
    let mut out = Dense::zeros((x.rows(), k));
    let mut block = Vec::new();
    for (mut orow, row) in out.outer_iter_mut().zip(x.outer_iterator()) {
        block.clear();
        for &j in row.indices() {
            block.extend(v.column(j).iter());
        }
        let Some(o) = orow.as_slice_mut() else {
            unreachable!("rows of a fresh array are contiguous")
        };
        row_times_block(row.data(), &block, o);
    }
    out
}

/// `out = vals · B`, `B` the `vals.len() × out.len()` row-major `block`; `out` is left as it
/// is (zero) for an empty row.
fn row_times_block(vals: &[f32], block: &[f32], out: &mut [f32]) {
    let (nnz, c) = (vals.len(), out.len());
    if nnz == 0 {
        return;
    }
    let (Ok(a), Ok(b), Ok(mut o)) = (
        ArrayView2::from_shape((1, nnz), vals),
        ArrayView2::from_shape((nnz, c), block),
        ArrayViewMut2::from_shape((1, c), out),
    ) else {
        unreachable!("block holds nnz rows of c values")
    };
    general_mat_mul(1.0, &a, &b, 0.0, &mut o);
}

/// `x` in CSR storage (a copy only when it is stored column-major).
fn csr_rows(x: &Csr) -> Cow<'_, Csr> {
    if x.is_csr() {
        Cow::Borrowed(x)
    } else {
        Cow::Owned(x.to_csr())
    }
}

/// `Xᵀ` in CSR storage (`d × n`): one `O(nnz)` conversion, then `Xᵀ · M` is a row-parallel
/// product like `X · M`, without per-thread `d × l` accumulators.
fn transpose_csr(x: &Csr) -> Csr {
    x.to_csc().transpose_into()
}

/// A `rows × cols` standard Gaussian matrix (Box–Muller on ChaCha8); each block of
/// [`GAUSS_ROWS`] rows has its own stream ([`crate::seed::SVD`] + block), so it is drawn in
/// parallel and reproducibly.
fn gaussian(rows: usize, cols: usize, seed: u64) -> Dense {
    let mut out = Dense::zeros((rows, cols));
    if rows == 0 || cols == 0 {
        return out;
    }
    let Some(s) = out.as_slice_mut() else {
        unreachable!("a fresh array is contiguous")
    };
    s.par_chunks_mut(cols * GAUSS_ROWS)
        .enumerate()
        .for_each(|(block, chunk)| {
            let mut rng = crate::seed::rng(seed, crate::seed::SVD + block as u64);
            for pair in chunk.chunks_mut(2) {
                let (a, b) = box_muller(&mut rng);
                pair[0] = a;
                if let Some(p) = pair.get_mut(1) {
                    *p = b;
                }
            }
        });
    out
}

/// Two independent standard normal draws.
pub(crate) fn box_muller(rng: &mut ChaCha8Rng) -> (f32, f32) {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2 = rng.random::<f64>();
    let r = (-2.0 * u1.ln()).sqrt();
    let t = std::f64::consts::TAU * u2;
    ((r * t.cos()) as f32, (r * t.sin()) as f32)
}

/// scikit-learn's `svd_flip(u_based_decision=False)` on the columns of `v` (`d × k`): each
/// column is negated when its largest-magnitude entry (the first one on ties) is negative.
fn svd_flip_columns(v: &mut Dense) {
    for mut col in v.columns_mut() {
        let mut best = 0.0f32;
        let mut best_abs = -1.0f32;
        for &x in col.iter() {
            if x.abs() > best_abs {
                best_abs = x.abs();
                best = x;
            }
        }
        if best < 0.0 {
            col.mapv_inplace(|x| -x);
        }
    }
}

/// Population variance (`ddof = 0`) of each column, in `f64`.
fn column_variances(z: &Dense) -> Vec<f64> {
    let n = z.nrows().max(1) as f64;
    z.columns()
        .into_iter()
        .map(|col| {
            let mean = col.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            col.iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / n
        })
        .collect()
}

/// Sum over the columns of `x` of their population variance (zeros included), in `f64`.
fn total_column_variance(x: &Csr) -> f64 {
    let n = x.rows().max(1) as f64;
    let mut sum = vec![0.0f64; x.cols()];
    let mut sq = vec![0.0f64; x.cols()];
    for row in x.outer_iterator() {
        for (j, &v) in row.iter() {
            let v = f64::from(v);
            sum[j] += v;
            sq[j] += v * v;
        }
    }
    sum.iter()
        .zip(&sq)
        .map(|(&s, &q)| (q / n - (s / n).powi(2)).max(0.0))
        .sum()
}

/// Refuses NaN and infinite values, naming the first one.
fn check_finite(x: &Csr) -> Result<()> {
    for (outer, vec) in x.outer_iterator().enumerate() {
        if let Some((inner, v)) = vec.iter().find(|(_, v)| !v.is_finite()) {
            let (row, col) = if x.is_csr() {
                (outer, inner)
            } else {
                (inner, outer)
            };
            return Err(Error::Model(format!(
                "svd: the matrix holds {v} at row {row}, column {col}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    use linfa_linalg::svd::SVD;
    use rand::SeedableRng;

    use super::*;
    use crate::features::matrix::csr_from_rows;

    /// `n × d` with `per_row` distinct random columns per row, values in (0, 1].
    fn random_csr(n: usize, d: usize, per_row: usize, seed: u64) -> Csr {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows = (0..n)
            .map(|_| {
                let mut cols: Vec<usize> = (0..per_row).map(|_| rng.random_range(0..d)).collect();
                cols.sort_unstable();
                cols.dedup();
                cols.into_iter()
                    .map(|j| (j, 1.0 - rng.random::<f32>()))
                    .collect()
            })
            .collect();
        csr_from_rows(d, rows)
    }

    fn dense_csr(x: &Dense) -> Csr {
        let rows = x
            .outer_iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(j, &v)| (j, v))
                    .collect()
            })
            .collect();
        csr_from_rows(x.ncols(), rows)
    }

    /// `x` densified (sprs' own `to_dense` returns an ndarray 0.17 array).
    fn to_dense(x: &Csr) -> Dense {
        let mut out = Dense::zeros((x.rows(), x.cols()));
        for (i, row) in x.outer_iterator().enumerate() {
            for (j, &v) in row.iter() {
                out[[i, j]] = v;
            }
        }
        out
    }

    fn exact_singular_values(x: &Csr) -> Vec<f64> {
        let dense = to_dense(x).mapv(f64::from);
        let (_, s, _) = dense.svd(false, false).unwrap().sort_svd_desc();
        s.to_vec()
    }

    fn rel_frobenius(a: &Dense, b: &Dense) -> f64 {
        let num: f64 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x - y).powi(2))
            .sum();
        let den: f64 = b.iter().map(|&y| f64::from(y).powi(2)).sum();
        (num / den).sqrt()
    }

    /// Exactly rank `r`: `U W` with sparse random factors.
    fn rank_r(n: usize, d: usize, r: usize) -> Csr {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut sparse = |rows: usize, cols: usize| {
            Array2::from_shape_fn((rows, cols), |_| {
                if rng.random::<f32>() < 0.3 {
                    rng.random::<f32>() * 2.0 - 1.0
                } else {
                    0.0
                }
            })
        };
        let u = sparse(n, r);
        let w = sparse(r, d);
        dense_csr(&u.dot(&w))
    }

    #[test]
    fn rank_r_matrix_reconstructs() {
        let x = rank_r(300, 200, 5);
        let fitted = Svd::new(5).fit(&x).unwrap();
        let back = fitted
            .inverse_transform(&fitted.transform(&x).unwrap())
            .unwrap();
        let err = rel_frobenius(&back, &to_dense(&x));
        assert!(err < 1e-4, "relative Frobenius error {err}");
    }

    /// Columns scaled like term frequencies (`(j + 1)^-½`): a decaying spectrum, as TF-IDF has.
    fn zipf_csr(n: usize, d: usize, per_row: usize, seed: u64) -> Csr {
        let mut x = random_csr(n, d, per_row, seed);
        for mut row in x.outer_iterator_mut() {
            for (j, v) in row.iter_mut() {
                *v /= ((j + 1) as f32).sqrt();
            }
        }
        x
    }

    fn max_rel_error(fitted: &FittedSvd, exact: &[f64]) -> f64 {
        fitted
            .singular_values()
            .iter()
            .zip(exact)
            .map(|(&s, &e)| (f64::from(s) - e).abs() / e)
            .fold(0.0, f64::max)
    }

    #[test]
    fn top_singular_values_match_exact_svd() {
        let x = zipf_csr(200, 150, 15, 1);
        let exact = exact_singular_values(&x);
        let fitted = Svd::new(10).n_iter(7).fit(&x).unwrap();
        let err = max_rel_error(&fitted, &exact);
        assert!(err < 1e-3, "max relative error {err}");
        // A flat spectrum (uniform random entries, σ₁₁/σ₁₀ ≈ 0.99) is the hard case: there
        // scikit-learn's randomized_svd itself is off by 2e-3 to 9e-3 (5 seeds, same setting).
        let flat = random_csr(200, 150, 15, 1);
        let exact = exact_singular_values(&flat);
        let fitted = Svd::new(10).n_iter(7).fit(&flat).unwrap();
        let err = max_rel_error(&fitted, &exact);
        assert!(err < 1e-2, "flat spectrum: max relative error {err}");
    }

    #[test]
    fn same_seed_is_bit_identical_and_other_seeds_agree() {
        let x = random_csr(200, 150, 15, 2);
        let svd = Svd::new(8).n_iter(7);
        let a = svd.fit(&x).unwrap();
        let b = svd.fit(&x).unwrap();
        assert_eq!(a.components(), b.components());
        assert_eq!(a.singular_values(), b.singular_values());
        // One thread gives the same bits as the default pool.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let c = pool.install(|| svd.fit(&x).unwrap());
        assert_eq!(a.components(), c.components());
        let other = svd.seed(7).fit(&x).unwrap();
        assert_ne!(a.components(), other.components());
        for (&s, &t) in a.singular_values()[..3]
            .iter()
            .zip(&other.singular_values()[..3])
        {
            assert!((s - t).abs() / s < 1e-3, "{s} vs {t}");
        }
    }

    #[test]
    fn transform_equals_fit_transform() {
        let x = random_csr(300, 500, 20, 3);
        let (fitted, z) = Svd::new(12).fit_transform(&x).unwrap();
        assert_eq!(fitted.transform(&x).unwrap(), z);
        // A CSC copy of the same matrix gives the same projection.
        assert_eq!(fitted.transform(&x.to_csc()).unwrap(), z);
        // One row (the in-place gather path) gives that row's bits.
        let one = csr_from_rows(
            500,
            vec![x
                .outer_view(4)
                .unwrap()
                .iter()
                .map(|(j, &v)| (j, v))
                .collect()],
        );
        assert!(one.nnz() * GATHER_RATIO < 500);
        assert_eq!(fitted.transform(&one).unwrap().row(0), z.row(4));
        // Dense input agrees up to rounding.
        let zd = fitted.transform_dense(&to_dense(&x)).unwrap();
        assert!(rel_frobenius(&zd, &z) < 1e-5);
    }

    #[test]
    fn components_are_orthonormal_and_sign_flipped() {
        let x = random_csr(300, 400, 20, 4);
        let fitted = Svd::new(20).fit(&x).unwrap();
        let v = fitted.components();
        let vvt = v.dot(&v.t());
        for ((i, j), &g) in vvt.indexed_iter() {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((g - want).abs() < 1e-4, "VVᵀ[{i},{j}] = {g}");
        }
        for row in v.outer_iter() {
            let max = row
                .iter()
                .copied()
                .fold(0.0f32, |m, x| if x.abs() > m.abs() { x } else { m });
            assert!(max > 0.0);
        }
        let s = fitted.singular_values();
        assert!(s.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn explained_variance_ratio_is_sklearns() {
        let x = random_csr(300, 200, 20, 5);
        let (fitted, z) = Svd::new(15).fit_transform(&x).unwrap();
        let evr = fitted.explained_variance_ratio();
        let total: f32 = evr.iter().sum();
        assert!(evr.iter().all(|&r| r >= 0.0) && total <= 1.0, "{evr:?}");
        // Uncentred: the first component carries the mean, so only the rest must decrease.
        assert!(evr[1..].windows(2).all(|w| w[1] <= w[0] * 1.05), "{evr:?}");
        // Definition: var(Z) / Σ var(X columns), ddof = 0.
        let xd = to_dense(&x).mapv(f64::from);
        let full: f64 = xd.var_axis(Axis(0), 0.0).sum();
        let zv = z.mapv(f64::from).var_axis(Axis(0), 0.0);
        for (i, (&r, &v)) in evr.iter().zip(&zv).enumerate() {
            assert!((f64::from(r) - v / full).abs() < 1e-6, "ratio {i}");
        }
        // With k = min(n, d) everything is explained.
        let small = random_csr(30, 20, 6, 6);
        let all = Svd::new(20).fit(&small).unwrap();
        let total: f32 = all.explained_variance_ratio().iter().sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
    }

    /// scikit-learn 1.9.1: `TruncatedSVD(n_components=3, algorithm="randomized",
    /// random_state=0).fit_transform(X)` on this matrix (`l = min(n, d)`, so the range finder is
    /// exact and both sides give the exact SVD, signs by `svd_flip`).
    #[test]
    fn matches_sklearn_on_a_small_matrix() {
        let x = csr_from_rows(
            5,
            vec![
                vec![(0, 1.0), (2, 2.0)],
                vec![(1, 3.0), (4, 1.0)],
                vec![(0, -2.0), (3, 1.5)],
                vec![(2, 0.5), (3, -1.0), (4, 2.0)],
                vec![],
                vec![(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0)],
            ],
        );
        let (fitted, z) = Svd::new(3).fit_transform(&x).unwrap();
        let close = |got: &[f32], want: &[f64], what: &str| {
            for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
                assert!((f64::from(g) - w).abs() < 1e-5, "{what}[{i}]: {g} vs {w}");
            }
        };
        close(
            fitted.singular_values(),
            &[3.68640380, 2.89857817, 2.22121820],
            "sigma",
        );
        close(
            fitted.explained_variance_ratio(),
            &[0.31179603, 0.34786830, 0.18245944],
            "evr",
        );
        close(
            fitted.explained_variance(),
            &[1.23419263, 1.37697867, 0.72223530],
            "ev",
        );
        close(
            fitted.components().as_slice().unwrap(),
            &[
                0.29658963,
                0.73862651,
                0.31741097,
                -0.02257373,
                0.51498172,
                0.66628559,
                -0.47160791,
                0.43019816,
                -0.38531253,
                0.01064339,
                0.01862206,
                -0.04156243,
                0.59993543,
                0.74493330,
                -0.28823191,
            ],
            "components",
        );
        close(
            z.as_slice().unwrap(),
            &[
                0.93141157,
                1.52668192,
                1.21849293,
                2.73086125,
                -1.40418033,
                -0.41291921,
                -0.62703984,
                -1.91053999,
                1.08015583,
                1.21124265,
                0.62169840,
                -1.02142940,
                0.0,
                0.0,
                0.0,
                1.84503510,
                0.25020670,
                1.03369646,
            ],
            "transformed",
        );
    }

    #[test]
    fn bad_options_are_config_errors() {
        let x = random_csr(3, 4, 2, 8);
        assert!(matches!(Svd::new(0).fit(&x), Err(Error::Config(_))));
        assert!(matches!(Svd::new(0).validate(), Err(Error::Config(_))));
        let Err(Error::Config(msg)) = Svd::new(4).fit(&x) else {
            panic!("k > min(n, d) must be refused")
        };
        assert!(
            msg.contains("n_components = 4") && msg.contains("min(3, 4)"),
            "{msg}"
        );
        assert!(Svd::new(3).n_oversamples(0).n_iter(0).fit(&x).is_ok());
    }

    #[test]
    fn misuse_is_a_model_error() {
        let x = random_csr(40, 30, 5, 9);
        let fitted = Svd::new(4).fit(&x).unwrap();
        let wrong = random_csr(5, 29, 3, 10);
        let Err(Error::Model(msg)) = fitted.transform(&wrong) else {
            panic!("column mismatch must be refused")
        };
        assert!(msg.contains("30") && msg.contains("29"), "{msg}");
        assert!(matches!(
            fitted.transform_dense(&Dense::zeros((2, 31))),
            Err(Error::Model(_))
        ));
        assert!(matches!(
            fitted.inverse_transform(&Dense::zeros((2, 5))),
            Err(Error::Model(_))
        ));
        let nan = csr_from_rows(3, vec![vec![(0, 1.0)], vec![(2, f32::NAN)], vec![(1, 1.0)]]);
        let Err(Error::Model(msg)) = Svd::new(2).fit(&nan) else {
            panic!("NaN must be refused")
        };
        assert!(msg.contains("row 1, column 2"), "{msg}");
    }

    #[test]
    fn all_zero_matrix_gives_zero_singular_values() {
        let x = csr_from_rows(6, vec![vec![]; 8]);
        let (fitted, z) = Svd::new(3).fit_transform(&x).unwrap();
        assert_eq!(fitted.singular_values(), &[0.0; 3]);
        assert_eq!(fitted.explained_variance_ratio(), &[0.0; 3]);
        assert!(z.iter().all(|&v| v == 0.0));
        assert!(fitted.components().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn serde_round_trip() {
        let x = random_csr(50, 40, 6, 11);
        let fitted = Svd::new(5).fit(&x).unwrap();
        let json = serde_json::to_string(&fitted).unwrap();
        let back: FittedSvd = serde_json::from_str(&json).unwrap();
        assert_eq!(back, fitted);
        assert_eq!(back.transform(&x).unwrap(), fitted.transform(&x).unwrap());
        let broken = json.replace("\"n_features\":40", "\"n_features\":41");
        assert!(serde_json::from_str::<FittedSvd>(&broken).is_err());
    }

    #[test]
    fn orthonormalize_handles_full_and_deficient_rank() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let y = Array2::from_shape_fn((500, 12), |_| rng.random::<f32>() - 0.5);
        // Rank 4: the last 8 columns repeat the first 4.
        let mut deficient = y.clone();
        for j in 4..12 {
            let src = deficient.column(j % 4).to_owned();
            deficient.column_mut(j).assign(&src);
        }
        for (name, y0) in [("full", y), ("deficient", deficient)] {
            for two in [false, true] {
                let mut q = y0.clone();
                let r = orthonormalize(&mut q, two).unwrap();
                let qtq = q.t().dot(&q);
                let tol = if two || name == "deficient" {
                    1e-5
                } else {
                    1e-4
                };
                for ((i, j), &g) in qtq.indexed_iter() {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((g - want).abs() < tol, "{name} {two}: QᵀQ[{i},{j}] = {g}");
                }
                let back = q.mapv(f64::from).dot(&r).mapv(|v| v as f32);
                assert!(rel_frobenius(&back, &y0) < 1e-5, "{name} {two}: QR ≠ Y");
            }
        }
    }

    #[test]
    fn gaussian_draws_are_standard_normal() {
        let g = gaussian(1000, 50, 1);
        let n = g.len() as f64;
        let mean = g.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = g
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.02,
            "{mean} {var}"
        );
        assert_eq!(g, gaussian(1000, 50, 1));
        assert_ne!(g, gaussian(1000, 50, 2));
    }
}
