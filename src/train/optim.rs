//! AdamW (PyTorch's `torch.optim.AdamW` update, decoupled weight decay) with its moments kept
//! in plain host vectors, gradient clipping by global norm, and the learning-rate schedules.
//!
//! Written here rather than taken from `candle_nn::AdamW` because a checkpoint must save and
//! restore the moments and the step count (candle's optimizer keeps them private), and because
//! on the CPU the whole update is one fused in-place pass over each tensor (candle's is ~10
//! tensor ops, each allocating a tensor as large as the parameter).

use std::collections::BTreeMap;
use std::sync::Mutex;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, Layout, Tensor};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::train::params::Params;

/// How the learning rate moves after warm-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Constant after warm-up.
    Constant,
    /// Linear decay to 0 at the last step (Hugging Face `get_linear_schedule_with_warmup`).
    #[default]
    Linear,
    /// Half-cosine decay to 0 at the last step (`get_cosine_schedule_with_warmup`).
    Cosine,
}

/// The learning rate at 0-based `step` of `total`, with `warmup` linear warm-up steps from 0.
pub fn lr_at(base: f64, step: usize, total: usize, warmup: usize, schedule: Schedule) -> f64 {
    if step < warmup {
        return base * step as f64 / warmup.max(1) as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).min(1.0);
    match schedule {
        Schedule::Constant => base,
        Schedule::Linear => base * (1.0 - progress).max(0.0),
        Schedule::Cosine => base * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
    }
}

/// How one parameter tensor is updated: its learning rate relative to the schedule's, and
/// whether weight decay applies (Hugging Face's recipe exempts biases and layer norms, and
/// layer-wise decay gives lower layers a smaller rate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamGroup {
    /// Factor on the scheduled learning rate.
    pub lr_scale: f64,
    /// `false`: no weight decay for this tensor.
    pub decay: bool,
}

impl Default for ParamGroup {
    fn default() -> Self {
        ParamGroup {
            lr_scale: 1.0,
            decay: true,
        }
    }
}

/// AdamW hyper-parameters and state.
#[derive(Debug)]
pub struct AdamW {
    /// β₁, β₂.
    pub betas: (f64, f64),
    /// ε added to the denominator.
    pub eps: f64,
    /// Decoupled weight decay λ (the step multiplies weights by 1 − lr·λ).
    pub weight_decay: f64,
    step: u64,
    moments: BTreeMap<String, (Vec<f32>, Vec<f32>)>,
}

/// The update of one tensor, run in place on the CPU.
struct Update<'a> {
    m: Mutex<&'a mut [f32]>,
    v: Mutex<&'a mut [f32]>,
    h: Hyper,
}

#[derive(Clone, Copy)]
struct Hyper {
    lr: f32,
    b1: f32,
    b2: f32,
    eps: f32,
    decay: f32,
    bc1: f32,
    inv_bc2_sqrt: f32,
    scale: f32,
}

impl Hyper {
    #[inline]
    fn apply(&self, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let h = [
            self.lr / self.bc1,
            self.b1,
            self.b2,
            self.eps,
            self.decay,
            self.inv_bc2_sqrt,
            self.scale,
        ];
        crate::nn::kernels::adamw_update(w, g, m, v, h);
    }
}

const CHUNK: usize = 1 << 14;

impl candle_core::InplaceOp2 for Update<'_> {
    fn name(&self) -> &'static str {
        "adamw-update"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let (CpuStorage::F32(w), CpuStorage::F32(g)) = (s1, s2) else {
            candle_core::bail!("adamw: parameters and gradients must be f32");
        };
        let (Some((w0, w1)), Some((g0, g1))) = (l1.contiguous_offsets(), l2.contiguous_offsets())
        else {
            candle_core::bail!("adamw: non-contiguous tensor");
        };
        let (w, g) = (&mut w[w0..w1], &g[g0..g1]);
        let mut m = self
            .m
            .lock()
            .map_err(|_| candle_core::Error::Msg("lock".into()))?;
        let mut v = self
            .v
            .lock()
            .map_err(|_| candle_core::Error::Msg("lock".into()))?;
        let h = self.h;
        w.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .for_each(|(((w, g), m), v)| h.apply(w, g, m, v));
        Ok(())
    }
}

impl AdamW {
    /// AdamW with these hyper-parameters and no state yet.
    pub fn new(betas: (f64, f64), eps: f64, weight_decay: f64) -> Self {
        AdamW {
            betas,
            eps,
            weight_decay,
            step: 0,
            moments: BTreeMap::new(),
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Global L2 norm of the gradients of `params` (in name order, summed in f64).
    pub fn grad_norm(params: &Params, grads: &GradStore) -> Result<f64> {
        let mut total = 0.0f64;
        for (_, var) in params.iter() {
            if let Some(g) = grads.get(var.as_tensor()) {
                total += if crate::nn::fused::supported(g) {
                    crate::nn::fused::sum_squares(g)?
                } else {
                    f64::from(crate::train::loss::scalar(&g.sqr()?.sum_all()?)?)
                };
            }
        }
        Ok(total.sqrt())
    }

    /// One update of every parameter that has a gradient, at learning rate `lr`, after
    /// clipping the gradients to global norm `clip` (PyTorch's `clip_grad_norm_`). Returns the
    /// gradient norm before clipping.
    pub fn step(
        &mut self,
        params: &Params,
        grads: &GradStore,
        lr: f64,
        clip: Option<f64>,
    ) -> Result<f64> {
        self.step_groups(params, grads, lr, clip, &|_| ParamGroup::default())
    }

    /// [`AdamW::step`] with each tensor's learning-rate factor and weight decay from `group`
    /// (called with the tensor's name).
    pub fn step_groups(
        &mut self,
        params: &Params,
        grads: &GradStore,
        lr: f64,
        clip: Option<f64>,
        group: &dyn Fn(&str) -> ParamGroup,
    ) -> Result<f64> {
        let norm = Self::grad_norm(params, grads)?;
        let scale = match clip {
            Some(max) if norm > max => (max / (norm + 1e-6)) as f32,
            _ => 1.0,
        };
        self.step += 1;
        let t = self.step as i32;
        let (b1, b2) = self.betas;
        let base = Hyper {
            lr: lr as f32,
            b1: b1 as f32,
            b2: b2 as f32,
            eps: self.eps as f32,
            decay: (1.0 - lr * self.weight_decay) as f32,
            bc1: (1.0 - b1.powi(t)) as f32,
            inv_bc2_sqrt: (1.0 / (1.0 - b2.powi(t)).sqrt()) as f32,
            scale,
        };
        for (name, var) in params.iter() {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let pg = group(name);
            let h = if pg == ParamGroup::default() {
                base
            } else {
                let lr = lr * pg.lr_scale;
                Hyper {
                    lr: lr as f32,
                    decay: if pg.decay {
                        (1.0 - lr * self.weight_decay) as f32
                    } else {
                        1.0
                    },
                    ..base
                }
            };
            let n = var.elem_count();
            let (m, v) = self
                .moments
                .entry(name.to_string())
                .or_insert_with(|| (vec![0.0; n], vec![0.0; n]));
            let g = g.contiguous()?;
            if var.device().is_cpu() && var.is_contiguous() {
                let op = Update {
                    m: Mutex::new(m.as_mut_slice()),
                    v: Mutex::new(v.as_mut_slice()),
                    h,
                };
                var.as_tensor().inplace_op2(&g, &op)?;
            } else {
                // Other devices: the same update on a host copy.
                let dev = var.device().clone();
                let mut w = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
                let gv = g.flatten_all()?.to_vec1::<f32>()?;
                h.apply(&mut w, &gv, m, v);
                var.set(&Tensor::from_vec(w, var.shape(), &dev)?)?;
            }
        }
        Ok(norm)
    }

    /// The state a checkpoint saves: step count and both moments of every tensor
    /// (`m.<name>`, `v.<name>`).
    pub fn state(&self) -> Result<(u64, std::collections::HashMap<String, Tensor>)> {
        let mut out = std::collections::HashMap::new();
        for (name, (m, v)) in &self.moments {
            let dev = candle_core::Device::Cpu;
            out.insert(format!("m.{name}"), Tensor::from_slice(m, m.len(), &dev)?);
            out.insert(format!("v.{name}"), Tensor::from_slice(v, v.len(), &dev)?);
        }
        Ok((self.step, out))
    }

    /// Restores what [`AdamW::state`] saved.
    pub fn restore(
        &mut self,
        step: u64,
        tensors: &std::collections::HashMap<String, Tensor>,
    ) -> Result<()> {
        self.step = step;
        self.moments.clear();
        for (key, m) in tensors {
            let Some(name) = key.strip_prefix("m.") else {
                continue;
            };
            let v = tensors
                .get(&format!("v.{name}"))
                .ok_or_else(|| Error::Model(format!("optimizer state: `v.{name}` is missing")))?;
            self.moments
                .insert(name.to_string(), (m.to_vec1::<f32>()?, v.to_vec1::<f32>()?));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn schedules() {
        assert_eq!(lr_at(1.0, 0, 100, 10, Schedule::Linear), 0.0);
        assert_eq!(lr_at(1.0, 5, 100, 10, Schedule::Linear), 0.5);
        assert_eq!(lr_at(1.0, 10, 100, 10, Schedule::Linear), 1.0);
        assert!((lr_at(1.0, 55, 100, 10, Schedule::Linear) - 0.5).abs() < 1e-12);
        assert!((lr_at(1.0, 55, 100, 10, Schedule::Cosine) - 0.5).abs() < 1e-12);
        assert_eq!(lr_at(0.1, 99, 100, 0, Schedule::Constant), 0.1);
    }

    /// Two steps of AdamW on f(w) = Σ w², checked against the update written out by hand.
    #[test]
    fn adamw_matches_the_formula() {
        let mut p = Params::new(Device::Cpu);
        let w = p
            .add("w", Tensor::new(&[1.0f32, -2.0], &Device::Cpu).unwrap())
            .unwrap();
        let mut opt = AdamW::new((0.9, 0.999), 1e-8, 0.01);
        let (lr, wd) = (0.1f64, 0.01f64);
        let mut ww = [1.0f64, -2.0];
        let (mut m, mut v) = ([0.0f64; 2], [0.0f64; 2]);
        for t in 1..=2 {
            let loss = w.sqr().unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            opt.step(&p, &grads, lr, None).unwrap();
            for i in 0..2 {
                let g = 2.0 * ww[i];
                ww[i] *= 1.0 - lr * wd;
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                let mh = m[i] / (1.0 - 0.9f64.powi(t));
                let vh = v[i] / (1.0 - 0.999f64.powi(t));
                ww[i] -= lr * mh / (vh.sqrt() + 1e-8);
            }
        }
        let got = w.to_vec1::<f32>().unwrap();
        for i in 0..2 {
            assert!(
                (f64::from(got[i]) - ww[i]).abs() < 1e-5,
                "{got:?} vs {ww:?}"
            );
        }
        let _ = Var::from_tensor(&w);
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let mut p = Params::new(Device::Cpu);
        let w = p
            .add("w", Tensor::new(&[3.0f32, 4.0], &Device::Cpu).unwrap())
            .unwrap();
        let loss = w
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .affine(0.5, 0.0)
            .unwrap();
        let grads = loss.backward().unwrap();
        assert!((AdamW::grad_norm(&p, &grads).unwrap() - 5.0).abs() < 1e-6);
        let mut opt = AdamW::new((0.9, 0.999), 1e-8, 0.0);
        let norm = opt.step(&p, &grads, 0.1, Some(1.0)).unwrap();
        assert!((norm - 5.0).abs() < 1e-6);
        // Adam's first step moves each weight by ≈ lr·sign(g), clipped or not.
        let got = w.to_vec1::<f32>().unwrap();
        assert!(
            (got[0] - 2.9).abs() < 1e-4 && (got[1] - 3.9).abs() < 1e-4,
            "{got:?}"
        );
        let (step, st) = opt.state().unwrap();
        let mut again = AdamW::new((0.9, 0.999), 1e-8, 0.0);
        again.restore(step, &st).unwrap();
        assert_eq!(again.steps(), 1);
        assert_eq!(again.moments, opt.moments);
    }
}
