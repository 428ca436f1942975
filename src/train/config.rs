//! [`TrainConfig`]: the options every neural family shares, validated with errors naming the
//! field, and settable as `key=value` (`genre fit --set`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::train::class_weight::ClassWeight;
use crate::train::loss::LossKind;
use crate::train::optim::Schedule;

/// Options of the shared training loop. Defaults: 30 epochs, batch 64, AdamW (lr 1e-3, betas
/// 0.9 / 0.999, weight decay 0.01), 5 % linear warm-up then linear decay, gradient norm clipped
/// at 1.0, cross-entropy with balanced class weights, early stopping on validation macro-F1
/// with patience 5 on a stratified 10 % internal split, seed 42.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Rows per forward / backward pass.
    pub batch_size: usize,
    /// Batches whose gradients are summed before one optimiser step (gradient accumulation:
    /// an effective batch of `batch_size × accumulate` rows at the memory of one batch).
    pub accumulate: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Adam β₁ and β₂.
    pub betas: (f64, f64),
    /// Adam ε.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Share of all steps spent warming the learning rate up from 0.
    pub warmup: f64,
    /// Decay after warm-up.
    pub schedule: Schedule,
    /// Maximum global gradient norm; `None`: no clipping.
    pub clip_norm: Option<f64>,
    /// Loss.
    pub loss: LossKind,
    /// Focal-loss exponent γ (used when `loss` is focal).
    pub gamma: f32,
    /// Label smoothing ε in [0, 1).
    pub label_smoothing: f32,
    /// Per-class loss weights.
    pub class_weight: ClassWeight,
    /// Epochs without a better validation macro-F1 before stopping; 0: never stop early.
    pub patience: usize,
    /// Share of the training rows held out (stratified) for validation.
    pub val_fraction: f64,
    /// Seed of initialisation, shuffling, dropout and the internal split.
    pub seed: u64,
    /// Rows per batch when scoring (validation, prediction).
    pub eval_batch_size: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 30,
            batch_size: 64,
            accumulate: 1,
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.01,
            warmup: 0.05,
            schedule: Schedule::Linear,
            clip_norm: Some(1.0),
            loss: LossKind::CrossEntropy,
            gamma: 2.0,
            label_smoothing: 0.0,
            class_weight: ClassWeight::Balanced,
            patience: 5,
            val_fraction: 0.1,
            seed: 42,
            eval_batch_size: 512,
        }
    }
}

/// Keys [`TrainConfig::set`] accepts, with what they take.
pub const TRAIN_KEYS: &[&str] = &[
    "epochs (int >= 1)",
    "batch_size (int >= 1)",
    "accumulate (int >= 1: batches per optimiser step)",
    "lr (float > 0)",
    "beta1, beta2 (float in [0, 1))",
    "weight_decay (float >= 0)",
    "warmup (fraction of steps in [0, 1))",
    "schedule (linear|cosine|constant)",
    "clip_norm (float > 0, or none)",
    "loss (ce|focal)",
    "gamma (float >= 0, focal loss)",
    "label_smoothing (float in [0, 1))",
    "class_weight (balanced|none|w0,w1,...)",
    "patience (int, 0 = no early stopping)",
    "val_fraction (float in (0, 0.5))",
    "seed (int)",
];

/// Parses `value` for `--set key=value`, naming the key on failure.
pub fn parse_value<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value.trim().parse().map_err(|_| {
        Error::Config(format!(
            "--set {key}={value}: cannot parse `{value}` as {}",
            std::any::type_name::<T>()
        ))
    })
}

/// An error for `--set key=value` listing what is allowed.
pub fn bad_value(key: &str, value: &str, allowed: &str) -> Error {
    Error::Config(format!("--set {key}={value}: expected {allowed}"))
}

impl TrainConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the maximum number of epochs.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    /// Sets the batch size.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Sets the number of batches accumulated per optimiser step.
    pub fn accumulate(mut self, k: usize) -> Self {
        self.accumulate = k;
        self
    }
    /// Sets the peak learning rate.
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }
    /// Sets the weight decay.
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Sets the warm-up share of steps.
    pub fn warmup(mut self, warmup: f64) -> Self {
        self.warmup = warmup;
        self
    }
    /// Sets the schedule.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }
    /// Sets (or removes) gradient clipping.
    pub fn clip_norm(mut self, clip: Option<f64>) -> Self {
        self.clip_norm = clip;
        self
    }
    /// Sets the loss.
    pub fn loss(mut self, loss: LossKind) -> Self {
        self.loss = loss;
        self
    }
    /// Sets the focal γ.
    pub fn gamma(mut self, gamma: f32) -> Self {
        self.gamma = gamma;
        self
    }
    /// Sets label smoothing.
    pub fn label_smoothing(mut self, eps: f32) -> Self {
        self.label_smoothing = eps;
        self
    }
    /// Sets the class weights.
    pub fn class_weight(mut self, cw: ClassWeight) -> Self {
        self.class_weight = cw;
        self
    }
    /// Sets the early-stopping patience (0: off).
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }
    /// Sets the validation share.
    pub fn val_fraction(mut self, f: f64) -> Self {
        self.val_fraction = f;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Applies `key=value`; `Ok(false)` when the key is not a training key (so a pipeline can
    /// try its own keys), an error naming the key when the value is bad.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        let v = value.trim();
        match key.trim() {
            "epochs" => self.epochs = parse_value(key, v)?,
            "batch_size" => self.batch_size = parse_value(key, v)?,
            "accumulate" => self.accumulate = parse_value(key, v)?,
            "lr" => self.lr = parse_value(key, v)?,
            "beta1" => self.betas.0 = parse_value(key, v)?,
            "beta2" => self.betas.1 = parse_value(key, v)?,
            "weight_decay" => self.weight_decay = parse_value(key, v)?,
            "warmup" => self.warmup = parse_value(key, v)?,
            "schedule" => {
                self.schedule = match v {
                    "linear" => Schedule::Linear,
                    "cosine" => Schedule::Cosine,
                    "constant" => Schedule::Constant,
                    _ => return Err(bad_value(key, v, "linear|cosine|constant")),
                }
            }
            "clip_norm" => {
                self.clip_norm = if v.eq_ignore_ascii_case("none") {
                    None
                } else {
                    Some(parse_value(key, v)?)
                }
            }
            "loss" => {
                self.loss = match v {
                    "ce" | "cross_entropy" => LossKind::CrossEntropy,
                    "focal" => LossKind::Focal,
                    _ => return Err(bad_value(key, v, "ce|focal")),
                }
            }
            "gamma" => self.gamma = parse_value(key, v)?,
            "label_smoothing" => self.label_smoothing = parse_value(key, v)?,
            "class_weight" => {
                self.class_weight = match v {
                    "balanced" => ClassWeight::Balanced,
                    "none" => ClassWeight::None,
                    list if list.contains(',') => ClassWeight::Custom(
                        list.split(',')
                            .map(|x| parse_value(key, x))
                            .collect::<Result<_>>()?,
                    ),
                    _ => return Err(bad_value(key, v, "balanced|none|w0,w1,...")),
                }
            }
            "patience" => self.patience = parse_value(key, v)?,
            "val_fraction" => self.val_fraction = parse_value(key, v)?,
            "seed" => self.seed = parse_value(key, v)?,
            _ => return Ok(false),
        }
        self.validate()?;
        Ok(true)
    }

    /// Checks every option; the error names the field and the value.
    pub fn validate(&self) -> Result<()> {
        let fail = |field: &str, want: &str, got: String| {
            Err(Error::Config(format!("{field} must be {want}, got {got}")))
        };
        if self.epochs == 0 {
            return fail("epochs", ">= 1", self.epochs.to_string());
        }
        if self.batch_size == 0 {
            return fail("batch_size", ">= 1", self.batch_size.to_string());
        }
        if self.accumulate == 0 {
            return fail("accumulate", ">= 1", "0".into());
        }
        if self.eval_batch_size == 0 {
            return fail("eval_batch_size", ">= 1", "0".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return fail("lr", "a positive number", self.lr.to_string());
        }
        for (name, b) in [("beta1", self.betas.0), ("beta2", self.betas.1)] {
            if !(0.0..1.0).contains(&b) {
                return fail(name, "in [0, 1)", b.to_string());
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return fail("eps", "a positive number", self.eps.to_string());
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return fail("weight_decay", ">= 0", self.weight_decay.to_string());
        }
        if !(0.0..1.0).contains(&self.warmup) {
            return fail("warmup", "a fraction in [0, 1)", self.warmup.to_string());
        }
        if let Some(c) = self.clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return fail("clip_norm", "a positive number or none", c.to_string());
            }
        }
        if !(self.gamma.is_finite() && self.gamma >= 0.0) {
            return fail("gamma", ">= 0", self.gamma.to_string());
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return fail(
                "label_smoothing",
                "in [0, 1)",
                self.label_smoothing.to_string(),
            );
        }
        if !(self.val_fraction > 0.0 && self.val_fraction < 0.5) {
            return fail("val_fraction", "in (0, 0.5)", self.val_fraction.to_string());
        }
        self.class_weight.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_parses_and_bad_values_name_the_key() {
        let mut c = TrainConfig::default();
        assert!(c.set("epochs", "3").unwrap());
        assert!(c.set("loss", "focal").unwrap());
        assert!(c.set("class_weight", "1,2,3").unwrap());
        assert_eq!(c.epochs, 3);
        assert_eq!(c.loss, LossKind::Focal);
        assert_eq!(c.class_weight, ClassWeight::Custom(vec![1.0, 2.0, 3.0]));
        assert!(!c.set("hidden", "5").unwrap());
        for (k, v) in [
            ("epochs", "zero"),
            ("epochs", "0"),
            ("lr", "-1"),
            ("loss", "hinge"),
            ("label_smoothing", "1.0"),
            ("val_fraction", "0.7"),
            ("beta1", "1.0"),
        ] {
            let e = TrainConfig::default().set(k, v).unwrap_err().to_string();
            assert!(e.contains(k), "{k}={v}: {e}");
        }
    }
}
