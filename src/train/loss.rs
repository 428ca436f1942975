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

use candle_core::{Device, Tensor};
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
    pub fn forward(&self, logits: &Tensor, targets: &[usize]) -> candle_core::Result<Tensor> {
        let (b, k) = logits.dims2()?;
        if b != targets.len() || k != self.n_classes {
            candle_core::bail!(
                "loss: logits are {b}×{k} but there are {} targets and {} classes",
                targets.len(),
                self.n_classes
            );
        }
        let dev = logits.device();
        let eps = self.label_smoothing;
        let mut q = vec![eps / k as f32; b * k];
        for (i, &y) in targets.iter().enumerate() {
            if y >= k {
                candle_core::bail!("loss: target {y} of row {i} is out of range for {k} classes");
            }
            q[i * k + y] += 1.0 - eps;
        }
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
        match &self.weights {
            None => per_row.mean_all(),
            Some(w) => {
                let wr: Vec<f32> = targets.iter().map(|&y| w[y]).collect();
                let total: f32 = wr.iter().sum();
                let wr = Tensor::from_vec(wr, b, dev)?;
                if total > 0.0 {
                    per_row
                        .mul(&wr)?
                        .sum_all()?
                        .affine(1.0 / f64::from(total), 0.0)
                } else {
                    per_row.mul(&wr)?.sum_all()
                }
            }
        }
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
    fn bad_options_are_errors_naming_the_field() {
        let e = Loss::new(LossKind::CrossEntropy, 0.0, 1.5, None, 3).unwrap_err();
        assert!(e.to_string().contains("label_smoothing"), "{e}");
        let e = Loss::new(LossKind::Focal, -1.0, 0.0, None, 3).unwrap_err();
        assert!(e.to_string().contains("gamma"), "{e}");
        assert!(Loss::cross_entropy(3).forward(&logits(), &[0, 5]).is_err());
    }
}
