//! Fused CPU ops for dense layers: `act(x · W + b) ⊙ mask` as ONE autograd node with a
//! hand-written backward, instead of candle's five (matmul, broadcast add, activation, dropout
//! mask multiply, each allocating, each with its own backward pass).
//!
//! On two cores a 64-row step of the 512 → 512 → 27 FFNN spent ≈ 2 ms of its 4 ms in candle's
//! autograd over those small ops (README, "Results: FFNN pipelines"); here a layer's forward is
//! one `gemm` call into a buffer pre-filled with the bias, then one in-place pass for the
//! activation and the dropout mask, and its backward one pass for the activation gradient, one
//! `gemm` for the weight gradient, one column sum for the bias and — only when the input is not
//! data — one `gemm` for the input gradient.
//!
//! Layout: `x` is `rows × in`, `W` is `in × out` (the FFNN's layout), `b` is `out`. ReLU needs
//! nothing kept for its backward (`out > 0` exactly where `z > 0` and the unit was kept); GELU
//! keeps its pre-activation `z` from the forward pass. The ops are CPU-only; callers fall back
//! to plain candle ops on other devices ([`supported`]).

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Storage, Tensor, TensorId};
use gemm::Parallelism;

use crate::nn::kernels::{gelu_tanh as gelu, gelu_tanh_grad as gelu_grad};
use crate::train::GradSink;

/// The activation of a fused layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FusedAct {
    /// None (an output layer).
    Identity,
    /// max(0, z).
    Relu,
    /// GELU, tanh approximation (candle's `gelu`).
    Gelu,
}

/// `true` when the fused ops can run on `t`'s device (the CPU) and dtype (f32).
pub fn supported(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == candle_core::DType::F32
}

/// `act(·) ⊙ mask` in place; returns the pre-activation when the backward will need it.
fn activate(
    z: &mut [f32],
    act: FusedAct,
    mask: Option<&[f32]>,
    keep_pre: bool,
) -> candle_core::Result<Option<Vec<f32>>> {
    if let Some(m) = mask {
        if m.len() != z.len() {
            candle_core::bail!(
                "fused op: dropout mask of {} for {} values",
                m.len(),
                z.len()
            );
        }
    }
    let pre = (keep_pre && act == FusedAct::Gelu).then(|| z.to_vec());
    match act {
        FusedAct::Identity => {}
        FusedAct::Relu => z.iter_mut().for_each(|v| *v = v.max(0.0)),
        FusedAct::Gelu => z.iter_mut().for_each(|v| *v = gelu(*v)),
    }
    if let Some(m) = mask {
        z.iter_mut().zip(m).for_each(|(v, &m)| *v *= m);
    }
    Ok(pre)
}

/// The gradient at the pre-activation from the gradient at the output.
fn activation_grad(
    g: &[f32],
    out: &[f32],
    pre: Option<&[f32]>,
    act: FusedAct,
    mask: Option<&[f32]>,
) -> candle_core::Result<Vec<f32>> {
    if act == FusedAct::Relu {
        let mut gz = vec![0.0f32; g.len()];
        crate::nn::kernels::relu_grad(&mut gz, g, out, mask);
        return Ok(gz);
    }
    let mut gz = g.to_vec();
    match act {
        FusedAct::Identity | FusedAct::Relu => {
            if let Some(m) = mask {
                gz.iter_mut().zip(m).for_each(|(g, &m)| *g *= m);
            }
        }
        FusedAct::Gelu => {
            let Some(z) = pre else {
                candle_core::bail!("fused gelu: backward without a kept pre-activation");
            };
            gz.iter_mut().zip(z).for_each(|(g, &z)| *g *= gelu_grad(z));
            if let Some(m) = mask {
                gz.iter_mut().zip(m).for_each(|(g, &m)| *g *= m);
            }
        }
    }
    Ok(gz)
}

/// Runs `f` on the f32 values of a CPU tensor (made contiguous first).
pub(crate) fn with_values<R>(
    t: &Tensor,
    f: impl FnOnce(&[f32]) -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        candle_core::bail!("fused op: expected a CPU tensor");
    };
    f(slice(cpu, layout, "a tensor")?)
}

/// The values of an f32, contiguous CPU storage (`what` names it in the error).
pub(crate) fn slice<'a>(
    s: &'a CpuStorage,
    l: &Layout,
    what: &str,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("fused op: {what} must be f32");
    };
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("fused op: {what} must be contiguous");
    };
    Ok(&v[a..b])
}

/// `dst (m × n, row-major) = beta_dst·dst + lhs · rhs` where `lhs(i, p) = lhs[i·lrs + p·lcs]`
/// and `rhs(p, j) = rhs[p·rrs + j·rcs]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_into(
    dst: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    read_dst: bool,
    lhs: &[f32],
    l: (usize, usize),
    rhs: &[f32],
    r: (usize, usize),
) {
    assert!(
        dst.len() >= m * n,
        "gemm: destination of {} for {m} × {n}",
        dst.len()
    );
    // SAFETY: `dst` holds m·n initialised values.
    unsafe { gemm_raw(dst.as_mut_ptr(), m, n, k, read_dst, lhs, l, rhs, r) }
}

/// [`gemm_into`] on a raw destination.
///
/// # Safety
/// `dst` must be valid for writes of `m·n` values (and initialised when `read_dst`).
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_raw(
    dst: *mut f32,
    m: usize,
    n: usize,
    k: usize,
    read_dst: bool,
    lhs: &[f32],
    l: (usize, usize),
    rhs: &[f32],
    r: (usize, usize),
) {
    // Below ~4 M multiply-adds (an output layer of 27 classes) rayon's split costs more than
    // it saves: 21 µs single-threaded vs 49 µs on two threads for 64 × 512 · 512 × 27.
    let par = if m * n * k >= 1 << 22 {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    // SAFETY: forwarded from the caller; rows of `dst` are `n` apart.
    unsafe { gemm_strided(dst, n, m, n, k, read_dst, lhs, l, rhs, r, par) }
}

/// `dst (m × n, row stride dst_rs) = [dst +] lhs · rhs` (strides as in [`gemm_into`]) with
/// the given threading: the one raw `gemm` call every fused op goes through.
///
/// # Safety
/// `dst` must be valid for writes at `i·dst_rs + j` for every `i < m`, `j < n` (and
/// initialised there when `read_dst`).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_strided(
    dst: *mut f32,
    dst_rs: usize,
    m: usize,
    n: usize,
    k: usize,
    read_dst: bool,
    lhs: &[f32],
    (lrs, lcs): (usize, usize),
    rhs: &[f32],
    (rrs, rcs): (usize, usize),
    par: Parallelism,
) {
    assert!(m == 0 || k == 0 || lhs.len() > (m - 1) * lrs + (k - 1) * lcs);
    assert!(k == 0 || n == 0 || rhs.len() > (k - 1) * rrs + (n - 1) * rcs);
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the caller vouches for the writes; the asserts above bound every index gemm
    // reads from lhs and rhs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            read_dst,
            lhs.as_ptr(),
            lcs as isize,
            lrs as isize,
            rhs.as_ptr(),
            rcs as isize,
            rrs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// A new `m × n` matrix `lhs · rhs` (strides as in [`gemm_into`]), written without zeroing it
/// first (a weight gradient is a megabyte per step).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_new(
    m: usize,
    n: usize,
    k: usize,
    lhs: &[f32],
    l: (usize, usize),
    rhs: &[f32],
    r: (usize, usize),
) -> Vec<f32> {
    if m == 0 || n == 0 || k == 0 {
        return vec![0f32; m * n];
    }
    let mut dst: Vec<f32> = Vec::with_capacity(m * n);
    // SAFETY: `dst` has room for m·n values; with `read_dst = false` gemm writes each of them
    // and reads none, so all are initialised before `set_len`.
    unsafe {
        gemm_raw(dst.as_mut_ptr(), m, n, k, false, lhs, l, rhs, r);
        dst.set_len(m * n);
    }
    dst
}

/// `z = x · W + b` (`rows × out`): the bias rows, then one `gemm` accumulating into them.
fn pre_activation(x: &[f32], w: &[f32], b: &[f32], rows: usize, inp: usize) -> Vec<f32> {
    let out = b.len();
    let mut z = vec![0f32; rows * out];
    crate::nn::kernels::fill_bias(&mut z, b, None);
    gemm_into(&mut z, rows, out, inp, true, x, (inp, 1), w, (out, 1));
    z
}

/// The fused dense layer (see the module doc).
#[derive(Debug, Clone)]
struct DenseLayer {
    act: FusedAct,
    mask: Option<Arc<Vec<f32>>>,
    input_grad: bool,
    keep_pre: bool,
    pre: Arc<Mutex<Option<Vec<f32>>>>,
    /// Where the weight and bias gradients go instead of candle's store (with their ids).
    sink: Option<(GradSink, TensorId, TensorId)>,
}

impl CustomOp3 for DenseLayer {
    fn name(&self) -> &'static str {
        "fused-dense"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (rows, inp) = l1.shape().dims2()?;
        let (inp2, out) = l2.shape().dims2()?;
        let nb = l3.shape().elem_count();
        if inp != inp2 || nb != out {
            candle_core::bail!("fused dense: {rows}×{inp} · {inp2}×{out} + {nb}: sizes differ");
        }
        let (x, w, b) = (
            slice(s1, l1, "x")?,
            slice(s2, l2, "W")?,
            slice(s3, l3, "b")?,
        );
        let mut z = pre_activation(x, w, b, rows, inp);
        let pre = activate(
            &mut z,
            self.act,
            self.mask.as_deref().map(|m| &m[..]),
            self.keep_pre,
        )?;
        if let Some(p) = pre {
            *self
                .pre
                .lock()
                .map_err(|_| candle_core::Error::Msg("fused dense: lock".into()))? = Some(p);
        }
        Ok((CpuStorage::F32(z), Shape::from((rows, out))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (rows, inp) = x.dims2()?;
        let out = w.dim(1)?;
        let dev = x.device();
        let kept = self
            .pre
            .lock()
            .map_err(|_| candle_core::Error::Msg("fused dense: lock".into()))?;
        // GELU needs z = x·W + b: kept by a training forward, recomputed after an inference
        // one (a gradient taken in inference mode, e.g. a gradient check).
        let recomputed = if self.act == FusedAct::Gelu && kept.is_none() {
            Some(with_values(x, |xv| {
                with_values(w, |wv| {
                    with_values(b, |bv| Ok(pre_activation(xv, wv, bv, rows, inp)))
                })
            })?)
        } else {
            None
        };
        let pre = kept.as_deref().or(recomputed.as_deref());
        let mask = self.mask.as_deref().map(|m| &m[..]);
        let gz = with_values(grad, |g| {
            with_values(res, |o| activation_grad(g, o, pre, self.act, mask))
        })?;
        // dW = xᵀ · gz (in × out).
        let dw = with_values(x, |xv| {
            Ok(gemm_new(inp, out, rows, xv, (1, inp), &gz, (out, 1)))
        })?;
        // db = Σ_rows gz.
        let mut db = vec![0f32; out];
        for r in gz.chunks(out) {
            db.iter_mut().zip(r).for_each(|(d, &g)| *d += g);
        }
        // dx = gz · Wᵀ (rows × in), only when the input is not data.
        let dx = if self.input_grad {
            let dx = with_values(w, |wv| {
                Ok(gemm_new(rows, inp, out, &gz, (out, 1), wv, (1, out)))
            })?;
            Some(Tensor::from_vec(dx, (rows, inp), dev)?)
        } else {
            None
        };
        let dw = Tensor::from_vec(dw, (inp, out), dev)?;
        let db = Tensor::from_vec(db, out, dev)?;
        match &self.sink {
            Some((sink, w_id, b_id)) => {
                sink.push(*w_id, dw)?;
                sink.push(*b_id, db)?;
                Ok((dx, None, None))
            }
            None => Ok((dx, Some(dw), Some(db))),
        }
    }
}

/// The fused activation (and dropout) alone, for a first layer computed otherwise (sparse).
/// Its input is the pre-activation, so the backward needs nothing kept.
#[derive(Debug, Clone)]
struct Activate {
    act: FusedAct,
    mask: Option<Arc<Vec<f32>>>,
}

impl CustomOp1 for Activate {
    fn name(&self) -> &'static str {
        "fused-activate"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let mut z = slice(s, l, "input")?.to_vec();
        activate(
            &mut z,
            self.act,
            self.mask.as_deref().map(|m| &m[..]),
            false,
        )?;
        Ok((CpuStorage::F32(z), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let mask = self.mask.as_deref().map(|m| &m[..]);
        let gz = with_values(grad, |g| {
            with_values(res, |o| {
                with_values(x, |z| activation_grad(g, o, Some(z), self.act, mask))
            })
        })?;
        Ok(Some(Tensor::from_vec(gz, x.shape(), x.device())?))
    }
}

/// `act(x · W + b) ⊙ mask` as one op (CPU, f32, contiguous inputs): `x` is `rows × in`,
/// `w` is `in × out`, `b` is `out`, `mask` (when given) holds `rows × out` factors (0 for a
/// dropped unit, 1/(1−p) for a kept one). `input_grad = false` skips the input's gradient
/// (the input is data). `train` keeps GELU's pre-activation for the backward (without it, a
/// backward recomputes it). With a `sink`, the backward hands the gradients of `w` and `b` to
/// it instead of to candle's `GradStore` (see [`GradSink`]; `w` and `b` must be contiguous).
#[allow(clippy::too_many_arguments)]
pub fn dense(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    act: FusedAct,
    mask: Option<Vec<f32>>,
    input_grad: bool,
    train: bool,
    sink: Option<&GradSink>,
) -> candle_core::Result<Tensor> {
    if sink.is_some() && !(w.is_contiguous() && b.is_contiguous()) {
        candle_core::bail!("fused dense: a gradient sink needs contiguous parameters");
    }
    let op = DenseLayer {
        act,
        mask: mask.map(Arc::new),
        input_grad,
        keep_pre: train,
        pre: Arc::new(Mutex::new(None)),
        sink: sink.map(|s| (s.clone(), w.id(), b.id())),
    };
    x.contiguous()?
        .apply_op3(&w.contiguous()?, &b.contiguous()?, op)
}

/// `act(z) ⊙ mask` as one op (CPU, f32); see [`dense`].
pub fn activation(
    z: &Tensor,
    act: FusedAct,
    mask: Option<Vec<f32>>,
) -> candle_core::Result<Tensor> {
    let op = Activate {
        act,
        mask: mask.map(Arc::new),
    };
    z.contiguous()?.apply_op1(op)
}

/// `Σ v²` of a CPU f32 tensor in f64 (gradient norms without a temporary tensor).
pub fn sum_squares(t: &Tensor) -> candle_core::Result<f64> {
    with_values(t, |v| {
        let mut total = 0.0;
        crate::nn::kernels::sum_squares(v, &mut total);
        Ok(total)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn close(a: &Tensor, b: &Tensor, tol: f32) {
        let d = (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < tol, "max difference {d} >= {tol}");
    }

    /// The plain candle ops the fused layer replaces.
    fn reference(
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        act: FusedAct,
        mask: Option<&Tensor>,
    ) -> Tensor {
        let z = x.matmul(w).unwrap().broadcast_add(b).unwrap();
        let a = match act {
            FusedAct::Identity => z,
            FusedAct::Relu => z.relu().unwrap(),
            FusedAct::Gelu => z.gelu().unwrap(),
        };
        match mask {
            Some(m) => a.mul(m).unwrap(),
            None => a,
        }
    }

    #[test]
    fn dense_matches_candle_ops_in_values_and_every_gradient() {
        let dev = Device::Cpu;
        for act in [FusedAct::Identity, FusedAct::Relu, FusedAct::Gelu] {
            for input_grad in [false, true] {
                let xv = Var::randn(0f32, 1., (6, 5), &dev).unwrap();
                let w = Var::randn(0f32, 0.5, (5, 4), &dev).unwrap();
                let b = Var::randn(0f32, 0.5, 4, &dev).unwrap();
                let mask: Vec<f32> = (0..24)
                    .map(|i| if i % 3 == 0 { 0.0 } else { 1.5 })
                    .collect();
                let mt = Tensor::from_vec(mask.clone(), (6, 4), &dev).unwrap();
                let x = if input_grad {
                    xv.as_tensor().clone()
                } else {
                    xv.as_tensor().detach()
                };
                let ours = dense(&x, &w, &b, act, Some(mask), input_grad, true, None).unwrap();
                let theirs = reference(&x, &w, &b, act, Some(&mt));
                close(&ours, &theirs, 1e-5);
                // A loss that weighs every output differently.
                let c = Tensor::randn(0f32, 1., (6, 4), &dev).unwrap();
                let g1 = ours.mul(&c).unwrap().sum_all().unwrap().backward().unwrap();
                let g2 = theirs
                    .mul(&c)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                close(g1.get(&w).unwrap(), g2.get(&w).unwrap(), 1e-4);
                close(g1.get(&b).unwrap(), g2.get(&b).unwrap(), 1e-4);
                if input_grad {
                    close(g1.get(&x).unwrap(), g2.get(&x).unwrap(), 1e-4);
                } else {
                    assert!(g1.get(xv.as_tensor()).is_none());
                }
            }
        }
    }

    #[test]
    fn gelu_backward_after_an_inference_forward_recomputes_the_pre_activation() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1., (4, 3), &dev).unwrap();
        let w = Var::randn(0f32, 0.5, (3, 5), &dev).unwrap();
        let b = Var::randn(0f32, 0.5, 5, &dev).unwrap();
        let kept = dense(&x, &w, &b, FusedAct::Gelu, None, false, true, None).unwrap();
        let recomputed = dense(&x, &w, &b, FusedAct::Gelu, None, false, false, None).unwrap();
        let g1 = kept.sum_all().unwrap().backward().unwrap();
        let g2 = recomputed.sum_all().unwrap().backward().unwrap();
        close(g1.get(&w).unwrap(), g2.get(&w).unwrap(), 1e-6);
        close(g1.get(&b).unwrap(), g2.get(&b).unwrap(), 1e-6);
    }

    #[test]
    fn activation_alone_matches_candle_ops() {
        let dev = Device::Cpu;
        for act in [FusedAct::Relu, FusedAct::Gelu] {
            let z = Var::randn(0f32, 1., (3, 7), &dev).unwrap();
            let mask: Vec<f32> = (0..21)
                .map(|i| if i % 4 == 1 { 0.0 } else { 2.0 })
                .collect();
            let mt = Tensor::from_vec(mask.clone(), (3, 7), &dev).unwrap();
            let ours = activation(&z, act, Some(mask)).unwrap();
            let a = if act == FusedAct::Relu {
                z.relu().unwrap()
            } else {
                z.gelu().unwrap()
            };
            let theirs = a.mul(&mt).unwrap();
            close(&ours, &theirs, 1e-6);
            let g1 = ours.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            let g2 = theirs.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            close(g1.get(&z).unwrap(), g2.get(&z).unwrap(), 1e-4);
        }
    }

    #[test]
    fn gelu_gradient_matches_a_finite_difference() {
        for &z in &[-3.0f32, -1.0, -0.1, 0.0, 0.3, 1.0, 2.5] {
            let h = 1e-3f32;
            let fd = (gelu(z + h) - gelu(z - h)) / (2.0 * h);
            assert!(
                (fd - gelu_grad(z)).abs() < 1e-3,
                "z = {z}: {fd} vs {}",
                gelu_grad(z)
            );
        }
    }
}
