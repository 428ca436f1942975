//! [`History`]: what each epoch of a training run measured, as CSV, step metrics and curves.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::plot::{Figure, PlotConfig, TrainingCurves};
use crate::track::Tracker;

/// One epoch's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's rows.
    pub train_loss: f64,
    /// Loss on the validation rows (same loss, weights and smoothing).
    pub val_loss: f64,
    /// Validation accuracy.
    pub val_accuracy: f64,
    /// Validation macro-F1 (the early-stopping metric).
    pub val_macro_f1: f64,
    /// Learning rate at the epoch's last step.
    pub lr: f64,
    /// Wall seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// Every epoch of a run, the best one, and whether it stopped early.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The epochs, in order.
    pub epochs: Vec<EpochRecord>,
    /// The epoch (1-based) whose weights the model keeps.
    pub best_epoch: Option<usize>,
    /// `true` when patience ran out before the last epoch.
    pub stopped_early: bool,
}

impl History {
    /// The best epoch's record.
    pub fn best(&self) -> Option<&EpochRecord> {
        let b = self.best_epoch?;
        self.epochs.iter().find(|e| e.epoch == b)
    }

    /// Writes the per-epoch table as CSV (`epoch,train_loss,val_loss,val_accuracy,val_macro_f1,lr,seconds`).
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut out =
            String::from("epoch,train_loss,val_loss,val_accuracy,val_macro_f1,lr,seconds\n");
        for e in &self.epochs {
            out.push_str(&format!(
                "{},{:.6},{:.6},{:.6},{:.6},{:.8},{:.3}\n",
                e.epoch, e.train_loss, e.val_loss, e.val_accuracy, e.val_macro_f1, e.lr, e.seconds
            ));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        std::fs::write(path, out).map_err(|e| Error::io(path, e))
    }

    /// The curves for [`PlotConfig::training_curves`]: losses and validation macro-F1.
    pub fn curves(&self) -> TrainingCurves {
        let mut c = TrainingCurves::new(self.epochs.iter().map(|e| e.epoch))
            .train_loss(self.epochs.iter().map(|e| e.train_loss).collect())
            .val_loss(self.epochs.iter().map(|e| e.val_loss).collect())
            .val_metric(self.epochs.iter().map(|e| e.val_macro_f1).collect())
            .metric_name("macro-F1");
        if let Some(b) = self.best_epoch {
            c = c.best_epoch(b);
        }
        c
    }

    /// The training-curves figure (shows itself inline in a notebook).
    pub fn figure(&self) -> Result<Figure> {
        PlotConfig::default().training_curves(&self.curves())
    }

    /// Logs one epoch as step metrics (`step` = epoch) under `prefix` (e.g. `"train."`).
    pub fn log_epoch(tracker: &mut dyn Tracker, e: &EpochRecord) -> Result<()> {
        tracker.log_metrics(
            &[
                ("train_loss", e.train_loss),
                ("val_loss", e.val_loss),
                ("val_accuracy", e.val_accuracy),
                ("val_macro_f1", e.val_macro_f1),
                ("lr", e.lr),
                ("epoch_seconds", e.seconds),
            ],
            e.epoch as i64,
        )
    }

    /// Shows the curves inline in evcxr.
    pub fn evcxr_display(&self) {
        match self.figure() {
            Ok(f) => f.evcxr_display(),
            Err(e) => println!("{e}"),
        }
    }
}
