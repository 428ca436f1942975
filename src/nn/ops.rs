//! Custom candle ops of the networks.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

/// `x · w` for an input `x` that needs no gradient (the data): its backward computes only
/// `xᵀ · g` for `w`. candle's own matmul backward always computes the gradient of both sides,
/// which for a network's first layer is a third of the whole step's work thrown away.
#[derive(Debug, Clone, Copy)]
pub struct DataMatmul;

fn dims(l1: &Layout, l2: &Layout) -> Result<(usize, usize, usize)> {
    let (m, k) = l1.shape().dims2()?;
    let (k2, n) = l2.shape().dims2()?;
    if k != k2 {
        candle_core::bail!("data_matmul: {m}×{k} · {k2}×{n}: inner sizes differ");
    }
    Ok((m, k, n))
}

impl CustomOp2 for DataMatmul {
    fn name(&self) -> &'static str {
        "data_matmul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (m, k, n) = dims(l1, l2)?;
        Ok((s1.matmul(s2, (1, m, n, k), l1, l2)?, Shape::from((m, n))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        _w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((None, Some(x.t()?.matmul(grad)?)))
    }
}

/// `x · w` where `x` is data (no gradient): [`DataMatmul`] on the CPU, candle's matmul elsewhere.
pub fn data_matmul(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && w.device().is_cpu() {
        x.apply_op2(w, DataMatmul)
    } else {
        x.matmul(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn data_matmul_matches_matmul_and_skips_the_input_gradient() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1., (5, 7), &dev).unwrap();
        let w = Var::randn(0f32, 1., (7, 3), &dev).unwrap();
        let ours = data_matmul(&x, w.as_tensor()).unwrap();
        let theirs = x.matmul(w.as_tensor()).unwrap();
        let diff = (&ours - &theirs).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-6);
        let g_ours = ours.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let g_theirs = theirs.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let (a, b) = (
            g_ours.get(w.as_tensor()).unwrap(),
            g_theirs.get(w.as_tensor()).unwrap(),
        );
        let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
        assert!(
            g_ours.get(&x).is_none(),
            "no gradient computed for the data"
        );
        assert!(g_theirs.get(&x).is_some(), "candle's matmul computes one");
    }
}
