//! Feature matrices: sparse CSR ([`Csr`], from sprs) for bag-of-words features, dense row-major
//! ([`Dense`], ndarray) for SVD and embeddings, and the [`RowMatrix`] face linear models train on.

use ndarray::Array2;

/// A sparse matrix in compressed-row storage (one row per document), `f32` values.
pub type Csr = sprs::CsMat<f32>;

/// A dense row-major matrix (one row per document), `f32` values.
pub type Dense = Array2<f32>;

/// Row access that linear models need, the same for sparse and dense features.
///
/// `Sync` so solvers can read rows from several threads.
pub trait RowMatrix: Sync {
    /// Number of rows (documents).
    fn n_rows(&self) -> usize;
    /// Number of columns (features).
    fn n_cols(&self) -> usize;
    /// `x_i · w`; `w.len()` must be at least [`RowMatrix::n_cols`].
    fn dot_row(&self, i: usize, w: &[f32]) -> f32;
    /// `w += a · x_i`; `w.len()` must be at least [`RowMatrix::n_cols`].
    fn axpy_row(&self, i: usize, a: f32, w: &mut [f32]);
    /// `‖x_i‖²`.
    fn row_sq_norm(&self, i: usize) -> f32;
    /// Number of stored values in row `i` (all columns for a dense matrix).
    fn row_nnz(&self, i: usize) -> usize;
    /// Calls `f(j, x_ij)` for every stored value of row `i`, columns ascending.
    fn for_each_in_row(&self, i: usize, f: impl FnMut(usize, f32));
}

/// Panics in debug builds when `m` is stored column-major: every [`Csr`] this crate builds is
/// row-major, and the row functions below read `indptr` as rows.
#[inline]
fn csr_rows(m: &Csr) -> &Csr {
    debug_assert!(m.is_csr(), "RowMatrix needs a CSR (row-major) sprs matrix");
    m
}

impl RowMatrix for Csr {
    fn n_rows(&self) -> usize {
        self.rows()
    }

    fn n_cols(&self) -> usize {
        self.cols()
    }

    #[inline]
    fn dot_row(&self, i: usize, w: &[f32]) -> f32 {
        let m = csr_rows(self);
        let range = m.indptr().outer_inds_sz(i);
        let idx = &m.indices()[range.clone()];
        let val = &m.data()[range];
        idx.iter().zip(val).map(|(&j, &v)| v * w[j]).sum()
    }

    #[inline]
    fn axpy_row(&self, i: usize, a: f32, w: &mut [f32]) {
        let m = csr_rows(self);
        let range = m.indptr().outer_inds_sz(i);
        let idx = &m.indices()[range.clone()];
        let val = &m.data()[range];
        for (&j, &v) in idx.iter().zip(val) {
            w[j] += a * v;
        }
    }

    #[inline]
    fn row_sq_norm(&self, i: usize) -> f32 {
        let m = csr_rows(self);
        let range = m.indptr().outer_inds_sz(i);
        m.data()[range].iter().map(|v| v * v).sum()
    }

    fn row_nnz(&self, i: usize) -> usize {
        csr_rows(self).indptr().outer_inds_sz(i).len()
    }

    #[inline]
    fn for_each_in_row(&self, i: usize, mut f: impl FnMut(usize, f32)) {
        let m = csr_rows(self);
        let range = m.indptr().outer_inds_sz(i);
        for (&j, &v) in m.indices()[range.clone()].iter().zip(&m.data()[range]) {
            f(j, v);
        }
    }
}

impl RowMatrix for Dense {
    fn n_rows(&self) -> usize {
        self.nrows()
    }

    fn n_cols(&self) -> usize {
        self.ncols()
    }

    #[inline]
    fn dot_row(&self, i: usize, w: &[f32]) -> f32 {
        self.row(i).iter().zip(w).map(|(x, w)| x * w).sum()
    }

    #[inline]
    fn axpy_row(&self, i: usize, a: f32, w: &mut [f32]) {
        for (w, x) in w.iter_mut().zip(self.row(i).iter()) {
            *w += a * x;
        }
    }

    #[inline]
    fn row_sq_norm(&self, i: usize) -> f32 {
        self.row(i).iter().map(|x| x * x).sum()
    }

    fn row_nnz(&self, _i: usize) -> usize {
        self.ncols()
    }

    #[inline]
    fn for_each_in_row(&self, i: usize, mut f: impl FnMut(usize, f32)) {
        for (j, &v) in self.row(i).iter().enumerate() {
            f(j, v);
        }
    }
}

/// Builds a [`Csr`] from per-row `(column, value)` lists; columns within a row must be
/// strictly increasing (the vectorizers guarantee it).
pub fn csr_from_rows(n_cols: usize, rows: Vec<Vec<(usize, f32)>>) -> Csr {
    let nnz = rows.iter().map(Vec::len).sum();
    let mut indptr = Vec::with_capacity(rows.len() + 1);
    let mut indices = Vec::with_capacity(nnz);
    let mut data = Vec::with_capacity(nnz);
    indptr.push(0);
    for row in &rows {
        for &(j, v) in row {
            indices.push(j);
            data.push(v);
        }
        indptr.push(indices.len());
    }
    Csr::new((rows.len(), n_cols), indptr, indices, data)
}

/// Joins CSR matrices with the same number of rows side by side (columns of `parts[0]` first).
pub fn hstack(parts: &[&Csr]) -> crate::Result<Csr> {
    let Some(first) = parts.first() else {
        return Err(crate::Error::Config("hstack: no matrices given".into()));
    };
    let n = first.rows();
    if let Some(bad) = parts.iter().find(|m| m.rows() != n) {
        return Err(crate::Error::Model(format!(
            "hstack: row counts differ ({n} vs {})",
            bad.rows()
        )));
    }
    let n_cols: usize = parts.iter().map(|m| m.cols()).sum();
    let nnz: usize = parts.iter().map(|m| m.nnz()).sum();
    let mut indptr = Vec::with_capacity(n + 1);
    let mut indices = Vec::with_capacity(nnz);
    let mut data = Vec::with_capacity(nnz);
    indptr.push(0);
    for i in 0..n {
        let mut offset = 0;
        for m in parts {
            let range = m.indptr().outer_inds_sz(i);
            indices.extend(m.indices()[range.clone()].iter().map(|&j| j + offset));
            data.extend_from_slice(&m.data()[range]);
            offset += m.cols();
        }
        indptr.push(indices.len());
    }
    Ok(Csr::new((n, n_cols), indptr, indices, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_and_dense_rows_agree() {
        let sparse = csr_from_rows(3, vec![vec![(0, 1.0), (2, 2.0)], vec![], vec![(1, -3.0)]]);
        let dense = sparse.to_dense();
        let w = [0.5f32, 2.0, -1.0];
        for i in 0..3 {
            assert_eq!(sparse.dot_row(i, &w), dense.dot_row(i, &w));
            assert_eq!(sparse.row_sq_norm(i), dense.row_sq_norm(i));
            let (mut a, mut b) = ([0f32; 3], [0f32; 3]);
            sparse.axpy_row(i, 2.0, &mut a);
            dense.axpy_row(i, 2.0, &mut b);
            assert_eq!(a, b);
        }
        assert_eq!(sparse.dot_row(0, &w), 0.5 - 2.0);
        assert_eq!(sparse.row_nnz(1), 0);
        assert_eq!(dense.row_nnz(1), 3);
    }

    #[test]
    fn hstack_puts_columns_side_by_side() {
        let a = csr_from_rows(2, vec![vec![(1, 1.0)], vec![(0, 2.0)]]);
        let b = csr_from_rows(3, vec![vec![], vec![(2, 3.0)]]);
        let c = hstack(&[&a, &b]).unwrap();
        assert_eq!(c.shape(), (2, 5));
        assert_eq!(c.to_dense().row(1).to_vec(), vec![2.0, 0.0, 0.0, 0.0, 3.0]);
        let short = csr_from_rows(1, vec![vec![]]);
        assert!(hstack(&[&a, &short]).is_err());
    }
}
