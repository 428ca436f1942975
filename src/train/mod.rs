//! The training loop every neural family shares (candle): [`TrainConfig`], AdamW with warm-up
//! and linear / cosine decay, gradient clipping, losses (class weights, focal, label
//! smoothing), validation every epoch with early stopping on macro-F1, checkpoints with resume,
//! and the per-epoch [`History`].
//!
//! A network implements [`Network`] (its [`Params`] and logits for some rows); [`fit`] does the
//! rest.

pub mod checkpoint;
pub mod class_weight;
pub mod config;
pub mod history;
pub mod loss;
pub mod optim;
pub mod params;
pub mod trainer;

pub use checkpoint::{CheckpointDir, CheckpointState};
pub use class_weight::ClassWeight;
pub use config::{TrainConfig, TRAIN_KEYS};
pub use history::{EpochRecord, History};
pub use loss::{Loss, LossKind};
pub use optim::{lr_at, AdamW, Schedule};
pub use params::{Ctx, GradSink, Params};
pub use trainer::{fit, predict_logits, FitOptions, Labelled, Network, TrainOutcome};

/// The device the neural families compute on: `GENRE_DEVICE=cpu|cuda` (default: CUDA when the
/// crate is built with the `cuda` feature and a GPU is present, else the CPU).
pub fn default_device() -> crate::Result<candle_core::Device> {
    match std::env::var("GENRE_DEVICE").as_deref() {
        Ok("cpu") => Ok(candle_core::Device::Cpu),
        Ok("cuda") => Ok(candle_core::Device::new_cuda(0)?),
        Ok(other) if !other.is_empty() => Err(crate::Error::Config(format!(
            "GENRE_DEVICE={other}: expected cpu or cuda"
        ))),
        _ => Ok(candle_core::Device::cuda_if_available(0)?),
    }
}
