//! [`Params`]: a network's trainable tensors by name, seeded initialisation, safetensors I/O;
//! [`Ctx`]: train / eval mode and the seeded randomness of dropout.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};

/// The trainable tensors of a network, by name (sorted: every walk over them has one order,
/// which keeps sums such as the global gradient norm bit-identical from run to run).
#[derive(Debug)]
pub struct Params {
    vars: BTreeMap<String, Var>,
    device: Device,
}

impl Params {
    /// An empty store whose tensors live on `device`.
    pub fn new(device: Device) -> Self {
        Params {
            vars: BTreeMap::new(),
            device,
        }
    }

    /// The device the tensors live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Adds `name` with the values of `init` (moved to the store's device); returns the tensor
    /// the network computes with (it tracks gradients). A name already present is an error.
    pub fn add(&mut self, name: &str, init: Tensor) -> Result<Tensor> {
        if self.vars.contains_key(name) {
            return Err(Error::Model(format!("parameter `{name}` defined twice")));
        }
        let var = Var::from_tensor(&init.to_device(&self.device)?.to_dtype(DType::F32)?)?;
        let t = var.as_tensor().clone();
        self.vars.insert(name.to_string(), var);
        Ok(t)
    }

    /// Adds `name` drawn from U(-bound, bound) with `rng` (PyTorch's `nn.Linear` default uses
    /// bound = 1/√fan_in).
    pub fn uniform(
        &mut self,
        name: &str,
        shape: &[usize],
        bound: f32,
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * bound)
            .collect();
        self.add(name, Tensor::from_vec(v, shape, &Device::Cpu)?)
    }

    /// Adds `name` filled with `value`.
    pub fn constant(&mut self, name: &str, shape: &[usize], value: f32) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        self.add(name, Tensor::from_vec(vec![value; n], shape, &Device::Cpu)?)
    }

    /// The parameters in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Var)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// One parameter by name.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.vars.get(name)
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// `true` when there is no tensor.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// Number of scalar values over all tensors.
    pub fn n_values(&self) -> usize {
        self.vars.values().map(|v| v.elem_count()).sum()
    }

    /// A deep copy of every tensor (the best epoch's weights, say).
    pub fn snapshot(&self) -> Result<BTreeMap<String, Tensor>> {
        self.vars
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
            .collect()
    }

    /// Sets every tensor from `values` (same names and shapes, else an error naming the tensor).
    pub fn restore(&self, values: &BTreeMap<String, Tensor>) -> Result<()> {
        self.set_from(|name| values.get(name).cloned(), "snapshot")
    }

    fn set_from(&self, get: impl Fn(&str) -> Option<Tensor>, what: &str) -> Result<()> {
        for (name, var) in &self.vars {
            let t = get(name)
                .ok_or_else(|| Error::Model(format!("{what}: tensor `{name}` is missing")))?;
            if t.dims() != var.dims() {
                return Err(Error::Model(format!(
                    "{what}: tensor `{name}` has shape {:?}, the network needs {:?}",
                    t.dims(),
                    var.dims()
                )));
            }
            var.set(&t.to_device(&self.device)?.to_dtype(DType::F32)?)?;
        }
        Ok(())
    }

    /// Writes every tensor to `path` as safetensors (atomically: a temporary file renamed).
    pub fn save(&self, path: &Path) -> Result<()> {
        let map: HashMap<String, Tensor> = self
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        save_tensors(&map, path)
    }

    /// Reads `path` (safetensors) into the tensors; errors name the file and the tensor.
    pub fn load(&self, path: &Path) -> Result<()> {
        let map = load_tensors(path)?;
        self.set_from(|n| map.get(n).cloned(), &path.display().to_string())
    }
}

/// Writes `tensors` to `path` as safetensors through a temporary file and a rename, so a run
/// killed while writing never leaves a half-written file under the final name.
pub fn save_tensors(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension("safetensors.tmp");
    candle_core::safetensors::save(tensors, &tmp).map_err(|e| Error::Format {
        path: tmp.clone(),
        message: format!("cannot write tensors: {e}"),
    })?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Reads a safetensors file onto the CPU, with errors naming the file.
pub fn load_tensors(path: &Path) -> Result<HashMap<String, Tensor>> {
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
        ));
    }
    candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        message: format!("not a readable safetensors file: {e}"),
    })
}

/// Forward-pass context: training or inference, and the seeded generator dropout draws from.
#[derive(Debug, Clone)]
pub struct Ctx {
    train: bool,
    rng: ChaCha8Rng,
    sink: Option<GradSink>,
}

/// Parameter gradients that fused ops hand over directly instead of through candle's
/// `GradStore` (candle adds every gradient it receives onto a fresh zero tensor, ≈ 0.4 ms for a
/// 512 × 512 weight — as long as the matmul that computed it). [`Ctx::merge_grads`] moves them
/// into the store after the backward pass, so optimisers see one complete `GradStore`.
#[derive(Debug, Clone, Default)]
pub struct GradSink(std::sync::Arc<std::sync::Mutex<Vec<(candle_core::TensorId, Tensor)>>>);

impl GradSink {
    /// Records the gradient of the tensor `id`.
    pub fn push(&self, id: candle_core::TensorId, grad: Tensor) -> candle_core::Result<()> {
        self.0
            .lock()
            .map_err(|_| candle_core::Error::Msg("gradient sink: lock".into()))?
            .push((id, grad));
        Ok(())
    }
}

impl Ctx {
    /// Inference: dropout is the identity.
    pub fn eval() -> Self {
        Ctx {
            train: false,
            rng: ChaCha8Rng::seed_from_u64(0),
            sink: None,
        }
    }

    /// Training with dropout masks drawn from `rng`.
    pub fn train(rng: ChaCha8Rng) -> Self {
        Ctx {
            train: true,
            rng,
            sink: None,
        }
    }

    /// Lets fused ops hand their parameter gradients to a [`GradSink`] instead of candle's
    /// `GradStore`; whoever runs the backward pass must then call [`Ctx::merge_grads`] (the
    /// training loop does).
    pub fn with_grad_sink(mut self) -> Self {
        self.sink = Some(GradSink::default());
        self
    }

    /// The sink fused ops write to, when [`Ctx::with_grad_sink`] made one.
    pub fn grad_sink(&self) -> Option<&GradSink> {
        self.sink.as_ref()
    }

    /// Moves the gradients the sink collected since the last call into `grads` (adding to a
    /// gradient the store already holds for the same tensor).
    pub fn merge_grads(
        &mut self,
        grads: &mut candle_core::backprop::GradStore,
    ) -> candle_core::Result<()> {
        let Some(sink) = &self.sink else {
            return Ok(());
        };
        let taken = std::mem::take(
            &mut *sink
                .0
                .lock()
                .map_err(|_| candle_core::Error::Msg("gradient sink: lock".into()))?,
        );
        for (id, g) in taken {
            let g = match grads.get_id(id) {
                Some(old) => old.add(&g)?,
                None => g,
            };
            grads.insert_id(id, g);
        }
        Ok(())
    }

    /// `true` in training mode.
    pub fn is_train(&self) -> bool {
        self.train
    }

    /// The generator (shuffles, masks).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// Inverted dropout with drop probability `p`: in training each value is zeroed with
    /// probability `p` and the rest scaled by 1/(1-p); in inference `x` unchanged.
    pub fn dropout(&mut self, x: &Tensor, p: f32) -> candle_core::Result<Tensor> {
        match self.dropout_mask(x.elem_count(), p) {
            Some(mask) => x.mul(&Tensor::from_vec(mask, x.shape(), x.device())?),
            None => Ok(x.clone()),
        }
    }

    /// The factors [`Ctx::dropout`] multiplies `n` values by (0 for a dropped value, 1/(1-p)
    /// for a kept one), drawn from the same stream; `None` in inference or when `p <= 0`.
    pub fn dropout_mask(&mut self, n: usize, p: f32) -> Option<Vec<f32>> {
        if !self.train || p <= 0.0 {
            return None;
        }
        let keep = 1.0 / (1.0 - p);
        // One block fill of 16-bit draws, then a branch-free compare: a value is dropped when
        // its draw is below p·2¹⁶ (a per-value `random::<f32>() < p` costs ~8 ns on a
        // mispredicted branch, 0.27 ms for a 64 × 512 mask; 16 bits halve the generator's work
        // over 32 and quantise p to 1.5e-5).
        let threshold = (f64::from(p) * 65_536.0).round().min(65_535.0) as u16;
        let mut draws = vec![0u16; n];
        self.rng.fill(&mut draws[..]);
        let mut mask = vec![0.0f32; n];
        crate::nn::kernels::dropout_mask(&mut mask, &draws, threshold, keep);
        Some(mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn dropout_masks_drop_p_of_the_values_and_repeat_with_the_seed() {
        let rng = |s| rand_chacha::ChaCha8Rng::seed_from_u64(s);
        let n = 200_000;
        for p in [0.1f32, 0.3, 0.5] {
            let m = Ctx::train(rng(7))
                .dropout_mask(n, p)
                .expect("a mask in training");
            let keep = 1.0 / (1.0 - p);
            assert!(m.iter().all(|&v| v == 0.0 || v == keep));
            let dropped = m.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
            assert!(
                (dropped - f64::from(p)).abs() < 0.005,
                "p {p}: dropped {dropped}"
            );
            assert_eq!(Some(m), Ctx::train(rng(7)).dropout_mask(n, p));
            assert_ne!(
                Ctx::train(rng(8)).dropout_mask(64, p),
                Ctx::train(rng(7)).dropout_mask(64, p)
            );
        }
        assert_eq!(Ctx::eval().dropout_mask(10, 0.5), None);
        assert_eq!(Ctx::train(rng(1)).dropout_mask(10, 0.0), None);
    }
}
