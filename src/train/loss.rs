//! Losses over logits: cross-entropy and focal loss, both with optional class weights and
//! label smoothing, made of differentiable tensor ops.
//!
//! With `K` classes, smoothing ε and true class `y_i`, the target distribution is
//! `q_ic = (1 − ε)·[c = y_i] + ε / K`. Per row,
//! - cross-entropy: `ℓ_i = −Σ_c q_ic · log p_ic`;
//! - focal (Lin et al. 2017): `ℓ_i = −Σ_c q_ic · (1 − p_ic)^γ · log p_ic` (γ = 0 is cross-entropy).
//!
//! With class weights `w`, the batch loss is `Σ_i w_{y_i} ℓ_i / Σ_i w_{y_i}` (PyTorch's
//! `CrossEntropyLoss(weight=…)` reduction); without, the mean of `ℓ_i`.

use candle_core::{CpuStorage, CustomOp1, Device, Layout, Shape, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which loss the loop minimises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Cross-entropy.
    #[default]
    #[serde(alias = "ce")]
    CrossEntropy,
    /// Focal loss with exponent γ.
    Focal,
}

/// A loss ready to apply to `(batch × K)` logits.
#[derive(Debug, Clone)]
pub struct Loss {
    kind: LossKind,
    gamma: f32,
    label_smoothing: f32,
    weights: Option<Vec<f32>>,
    n_classes: usize,
}

impl Loss {
    /// A loss over `n_classes` classes; `weights` (one per class) or `None` for equal weights.
    pub fn new(
        kind: LossKind,
        gamma: f32,
        label_smoothing: f32,
        weights: Option<Vec<f32>>,
        n_classes: usize,
    ) -> Result<Self> {
        if !(0.0..1.0).contains(&label_smoothing) {
            return Err(Error::Config(format!(
                "label_smoothing must be in [0, 1), got {label_smoothing}"
            )));
        }
        if !(gamma.is_finite() && gamma >= 0.0) {
            return Err(Error::Config(format!("gamma must be >= 0, got {gamma}")));
        }
        if let Some(w) = &weights {
            if w.len() != n_classes {
                return Err(Error::Config(format!(
                    "class_weight: {} weights for {n_classes} classes",
                    w.len()
                )));
            }
        }
        Ok(Loss {
            kind,
            gamma,
            label_smoothing,
            weights,
            n_classes,
        })
    }

    /// Cross-entropy, no weights, no smoothing.
    pub fn cross_entropy(n_classes: usize) -> Self {
        Loss {
            kind: LossKind::CrossEntropy,
            gamma: 0.0,
            label_smoothing: 0.0,
            weights: None,
            n_classes,
        }
    }

    /// The scalar loss of `logits` (`batch × K`) against `targets` (one class per row).
    ///
    /// On the CPU it is one fused op whose backward writes the logits' gradient in one pass
    /// ([`LossOp`]); elsewhere the same formula from plain tensor ops ([`Loss::forward_ops`]).
    pub fn forward(&self, logits: &Tensor, targets: &[usize]) -> candle_core::Result<Tensor> {
        let (q, coef) = self.targets(logits, targets)?;
        if crate::nn::fused::supported(logits) {
            let (b, k) = logits.dims2()?;
            let gamma = match self.kind {
                LossKind::Focal => self.gamma,
                LossKind::CrossEntropy => 0.0,
            };
            return logits.contiguous()?.apply_op1(LossOp {
                q,
                coef,
                gamma,
                k,
                rows: b,
            });
        }
        self.ops(logits, q, coef)
    }

    /// What a batch of `targets` weighs in a mean over several batches: the sum of its rows'
    /// class weights (the denominator of its weighted mean), or its row count without weights.
    /// `Σ loss_b · weight_b / Σ weight_b` over the batches is then the loss of all their rows
    /// as one batch, whatever the batch size.
    pub fn batch_weight(&self, targets: &[usize]) -> f64 {
        match &self.weights {
            None => targets.len() as f64,
            Some(w) => targets
                .iter()
                .map(|&y| f64::from(w.get(y).copied().unwrap_or(0.0)))
                .sum(),
        }
    }

    /// [`Loss::forward`] from plain candle ops only (every device; the fused op's reference).
    pub fn forward_ops(&self, logits: &Tensor, targets: &[usize]) -> candle_core::Result<Tensor> {
        let (q, coef) = self.targets(logits, targets)?;
        self.ops(logits, q, coef)
    }

    /// The smoothed target distribution `q` (`b × K`, row-major) and each row's share of the
    /// batch loss (`w_{y_i} / Σ w`, or `1 / b`).
    fn targets(
        &self,
        logits: &Tensor,
        targets: &[usize],
    ) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
        let (b, k) = logits.dims2()?;
        if b != targets.len() || k != self.n_classes {
            candle_core::bail!(
                "loss: logits are {b}×{k} but there are {} targets and {} classes",
                targets.len(),
                self.n_classes
            );
        }
        let eps = self.label_smoothing;
        let mut q = vec![eps / k as f32; b * k];
        for (i, &y) in targets.iter().enumerate() {
            if y >= k {
                candle_core::bail!("loss: target {y} of row {i} is out of range for {k} classes");
            }
            q[i * k + y] += 1.0 - eps;
        }
        let coef = match &self.weights {
            None => vec![1.0 / b.max(1) as f32; b],
            Some(w) => {
                let wr: Vec<f32> = targets.iter().map(|&y| w[y]).collect();
                let total: f32 = wr.iter().sum();
                let scale = if total > 0.0 { 1.0 / total } else { 1.0 };
                wr.into_iter().map(|v| v * scale).collect()
            }
        };
        Ok((q, coef))
    }

    fn ops(&self, logits: &Tensor, q: Vec<f32>, coef: Vec<f32>) -> candle_core::Result<Tensor> {
        let (b, k) = logits.dims2()?;
        let dev = logits.device();
        let q = Tensor::from_vec(q, (b, k), dev)?;
        let logp = candle_nn::ops::log_softmax(logits, 1)?;
        let term = match self.kind {
            LossKind::Focal if self.gamma > 0.0 => {
                let one_minus_p = logp.exp()?.affine(-1.0, 1.0)?.clamp(0.0, 1.0)?;
                let factor = one_minus_p.powf(f64::from(self.gamma))?;
                logp.mul(&factor)?.mul(&q)?
            }
            _ => logp.mul(&q)?,
        };
        let per_row = term.sum(1)?.neg()?;
        per_row.mul(&Tensor::from_vec(coef, b, dev)?)?.sum_all()
    }
}

/// The loss as one CPU op: `Σ_i coef_i · ℓ_i` with `ℓ_i = −Σ_c q_ic (1 − p_ic)^γ log p_ic`.
///
/// Its backward: with `a_c = q_c [(1 − p_c)^γ − γ (1 − p_c)^(γ−1) p_c log p_c]` and `A = Σ_c a_c`,
/// `∂ℓ/∂z_j = p_j A − a_j` (for γ = 0: `p_j − q_j`).
struct LossOp {
    q: Vec<f32>,
    coef: Vec<f32>,
    gamma: f32,
    k: usize,
    rows: usize,
}

impl LossOp {
    /// Log-probabilities of row `z` into `logp`.
    fn log_softmax(z: &[f32], logp: &mut [f32]) {
        let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let s: f32 = z.iter().map(|v| (v - m).exp()).sum();
        let lse = m + s.ln();
        logp.iter_mut().zip(z).for_each(|(l, v)| *l = v - lse);
    }

    fn logits<'a>(&self, s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
        let z = crate::nn::fused::slice(s, l, "loss logits")?;
        if z.len() != self.rows * self.k {
            candle_core::bail!("loss: {} logits for {}×{}", z.len(), self.rows, self.k);
        }
        Ok(z)
    }
}

impl CustomOp1 for LossOp {
    fn name(&self) -> &'static str {
        "fused-loss"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let z = self.logits(s, l)?;
        let k = self.k;
        let mut logp = vec![0f32; k];
        let mut total = 0f64;
        for (i, row) in z.chunks(k).enumerate() {
            Self::log_softmax(row, &mut logp);
            let q = &self.q[i * k..(i + 1) * k];
            let li: f32 = if self.gamma == 0.0 {
                -q.iter().zip(&logp).map(|(q, l)| q * l).sum::<f32>()
            } else {
                -q.iter()
                    .zip(&logp)
                    .map(|(q, &l)| q * (-l.exp_m1()).clamp(0.0, 1.0).powf(self.gamma) * l)
                    .sum::<f32>()
            };
            total += f64::from(self.coef[i]) * f64::from(li);
        }
        Ok((CpuStorage::F32(vec![total as f32]), Shape::from(())))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let g = grad.to_dtype(candle_core::DType::F32)?.to_scalar::<f32>()?;
        let z = arg.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let k = self.k;
        let mut dz = vec![0f32; z.len()];
        let mut logp = vec![0f32; k];
        let mut a = vec![0f32; k];
        for (i, (row, out)) in z.chunks(k).zip(dz.chunks_mut(k)).enumerate() {
            Self::log_softmax(row, &mut logp);
            let q = &self.q[i * k..(i + 1) * k];
            if self.gamma == 0.0 {
                a.copy_from_slice(q);
            } else {
                for c in 0..k {
                    let lp = logp[c];
                    let p = lp.exp();
                    let omp = (-lp.exp_m1()).clamp(0.0, 1.0);
                    let second = if omp > 0.0 {
                        self.gamma * omp.powf(self.gamma - 1.0) * p * lp
                    } else {
                        0.0
                    };
                    a[c] = q[c] * (omp.powf(self.gamma) - second);
                }
            }
            let big_a: f32 = a.iter().sum();
            let s = g * self.coef[i];
            for c in 0..k {
                out[c] = s * (logp[c].exp() * big_a - a[c]);
            }
        }
        Ok(Some(Tensor::from_vec(dz, arg.shape(), arg.device())?))
    }
}

/// A device-agnostic scalar read.
pub(crate) fn scalar(t: &Tensor) -> candle_core::Result<f32> {
    t.to_device(&Device::Cpu)?.to_scalar::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logits() -> Tensor {
        Tensor::from_vec(vec![2.0f32, 0.5, -1.0, 0.1, 0.2, 0.3], (2, 3), &Device::Cpu).unwrap()
    }

    /// log-softmax of a row, by hand.
    fn logp(row: &[f64]) -> Vec<f64> {
        let m = row.iter().cloned().fold(f64::MIN, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        row.iter().map(|v| v - m - s.ln()).collect()
    }

    fn close(a: f32, b: f64) {
        assert!((f64::from(a) - b).abs() < 1e-5, "{a} vs {b}");
    }

    #[test]
    fn cross_entropy_weighted_and_unweighted() {
        let l0 = logp(&[2.0, 0.5, -1.0]);
        let l1 = logp(&[0.1, 0.2, 0.3]);
        let ce = Loss::cross_entropy(3).forward(&logits(), &[0, 2]).unwrap();
        close(scalar(&ce).unwrap(), -(l0[0] + l1[2]) / 2.0);
        let w = Loss::new(
            LossKind::CrossEntropy,
            0.0,
            0.0,
            Some(vec![1.0, 1.0, 3.0]),
            3,
        )
        .unwrap();
        let v = w.forward(&logits(), &[0, 2]).unwrap();
        close(scalar(&v).unwrap(), -(1.0 * l0[0] + 3.0 * l1[2]) / 4.0);
    }

    #[test]
    fn focal_gamma_zero_is_cross_entropy_and_gamma_two_by_hand() {
        let ce = Loss::cross_entropy(3).forward(&logits(), &[1, 0]).unwrap();
        let f0 = Loss::new(LossKind::Focal, 0.0, 0.0, None, 3).unwrap();
        let f0 = f0.forward(&logits(), &[1, 0]).unwrap();
        assert_eq!(scalar(&ce).unwrap(), scalar(&f0).unwrap());
        let l0 = logp(&[2.0, 0.5, -1.0]);
        let l1 = logp(&[0.1, 0.2, 0.3]);
        let fl = |lp: f64| -(1.0 - lp.exp()).powi(2) * lp;
        let f2 = Loss::new(LossKind::Focal, 2.0, 0.0, None, 3).unwrap();
        let v = f2.forward(&logits(), &[1, 0]).unwrap();
        close(scalar(&v).unwrap(), (fl(l0[1]) + fl(l1[0])) / 2.0);
    }

    #[test]
    fn label_smoothing_by_hand() {
        let eps = 0.1;
        let l0 = logp(&[2.0, 0.5, -1.0]);
        let l1 = logp(&[0.1, 0.2, 0.3]);
        let row = |l: &[f64], y: usize| -> f64 {
            -(0..3)
                .map(|c| (eps / 3.0 + if c == y { 1.0 - eps } else { 0.0 }) * l[c])
                .sum::<f64>()
        };
        let ls = Loss::new(LossKind::CrossEntropy, 0.0, eps as f32, None, 3).unwrap();
        let v = ls.forward(&logits(), &[0, 2]).unwrap();
        close(scalar(&v).unwrap(), (row(&l0, 0) + row(&l1, 2)) / 2.0);
    }

    #[test]
    fn fused_loss_matches_the_tensor_ops_in_value_and_gradient() {
        let z = candle_core::Var::randn(0f32, 2., (7, 5), &Device::Cpu).unwrap();
        let ys = [0usize, 4, 2, 2, 1, 3, 0];
        let w = Some(vec![1.0, 2.0, 0.5, 3.0, 1.5]);
        for (kind, gamma, eps, w) in [
            (LossKind::CrossEntropy, 0.0, 0.0, None),
            (LossKind::CrossEntropy, 0.0, 0.1, w.clone()),
            (LossKind::Focal, 2.0, 0.0, None),
            (LossKind::Focal, 0.5, 0.05, w.clone()),
            (LossKind::Focal, 0.0, 0.0, w.clone()),
        ] {
            let loss = Loss::new(kind, gamma, eps, w, 5).unwrap();
            let a = loss.forward(&z, &ys).unwrap();
            let b = loss.forward_ops(&z, &ys).unwrap();
            let (va, vb) = (scalar(&a).unwrap(), scalar(&b).unwrap());
            assert!(
                (va - vb).abs() < 1e-5,
                "{kind:?} γ={gamma} ε={eps}: {va} vs {vb}"
            );
            let ga = a.backward().unwrap().get(&z).unwrap().clone();
            let gb = b.backward().unwrap().get(&z).unwrap().clone();
            let d = (ga - gb).unwrap().abs().unwrap().max_all().unwrap();
            let d = d.to_scalar::<f32>().unwrap();
            assert!(
                d < 1e-5,
                "{kind:?} γ={gamma} ε={eps}: gradients differ by {d}"
            );
        }
    }

    #[test]
    fn bad_options_are_errors_naming_the_field() {
        let e = Loss::new(LossKind::CrossEntropy, 0.0, 1.5, None, 3).unwrap_err();
        assert!(e.to_string().contains("label_smoothing"), "{e}");
        let e = Loss::new(LossKind::Focal, -1.0, 0.0, None, 3).unwrap_err();
        assert!(e.to_string().contains("gamma"), "{e}");
        assert!(Loss::cross_entropy(3).forward(&logits(), &[0, 5]).is_err());
    }
}
