//! What one experiment of a study gave: [`ExperimentResult`], and the study's results table.

use std::path::PathBuf;

use polars::prelude::*;
use serde::Serialize;

use super::experiment::Family;
use crate::display::Table;
use crate::error::{Error, Result};
use crate::models::Evaluation;
use crate::plot::{FamilyScore, Figure, ModelLatency};
use crate::train::History;

/// One experiment's outcome: scores on the study's validation and hold-out sides, costs, where
/// its model and report went, or the error that stopped it.
#[derive(Debug, Clone)]
pub struct ExperimentResult {
    /// The pipeline name.
    pub pipeline: String,
    /// Its family.
    pub family: Family,
    /// Its representation (`tfidf`, `tfidf-svd`, `minilm`, ...).
    pub representation: String,
    /// The MLflow run it was logged as.
    pub run_id: Option<String>,
    /// Scores on the study's validation side (what picks the best model).
    pub val: Option<Evaluation>,
    /// Scores on the hold-out side (never seen in training, tuning or model choice).
    pub hold: Option<Evaluation>,
    /// Per-epoch numbers of a network's training.
    pub history: Option<History>,
    /// Wall seconds of the fit (representation and model).
    pub fit_seconds: f64,
    /// Milliseconds per document of batch inference, warm-up excluded.
    pub latency_ms: Option<f64>,
    /// Bytes of the saved model directory.
    pub model_bytes: Option<u64>,
    /// Where the model was saved.
    pub model_dir: Option<PathBuf>,
    /// Its MLflow logged model (Models tab), when tracked.
    pub model_id: Option<String>,
    /// Where its figures and tables were written.
    pub report_dir: Option<PathBuf>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

impl ExperimentResult {
    /// A result that records only a failure.
    pub(crate) fn failed(
        pipeline: String,
        family: Family,
        representation: String,
        e: &Error,
    ) -> Self {
        ExperimentResult {
            pipeline,
            family,
            representation,
            run_id: None,
            val: None,
            hold: None,
            history: None,
            fit_seconds: 0.0,
            latency_ms: None,
            model_bytes: None,
            model_dir: None,
            model_id: None,
            report_dir: None,
            error: Some(e.to_string()),
        }
    }

    /// Hold-out macro-F1.
    pub fn macro_f1(&self) -> Option<f64> {
        self.hold.as_ref().map(Evaluation::macro_f1)
    }

    /// Hold-out accuracy.
    pub fn accuracy(&self) -> Option<f64> {
        self.hold.as_ref().map(Evaluation::accuracy)
    }

    /// Hold-out weighted F1.
    pub fn weighted_f1(&self) -> Option<f64> {
        self.hold.as_ref().map(|e| e.report.weighted_f1())
    }

    /// Validation macro-F1 (the study picks its best model by it).
    pub fn val_macro_f1(&self) -> Option<f64> {
        self.val.as_ref().map(Evaluation::macro_f1)
    }

    fn hold_or_err(&self) -> Result<&Evaluation> {
        self.hold.as_ref().ok_or_else(|| {
            Error::Config(format!(
                "{} has no scores: {}",
                self.pipeline,
                self.error.as_deref().unwrap_or("not evaluated")
            ))
        })
    }

    /// The training curves (losses and validation macro-F1 per epoch) of a network.
    pub fn curves(&self) -> Result<Figure> {
        match &self.history {
            Some(h) if !h.epochs.is_empty() => h.figure(),
            _ => Err(Error::Config(format!(
                "{} was not trained by epochs: no training curves",
                self.pipeline
            ))),
        }
    }

    /// The hold-out confusion matrix, rows normalised.
    pub fn confusion(&self) -> Result<Figure> {
        crate::plot::confusion_matrix_normalized(&self.hold_or_err()?.confusion)
    }

    /// One-vs-rest precision–recall curves on the hold-out side.
    pub fn pr_curves(&self) -> Result<Figure> {
        crate::plot::pr_curves(&self.hold_or_err()?.curves)
    }

    /// One-vs-rest ROC curves on the hold-out side.
    pub fn roc_curves(&self) -> Result<Figure> {
        crate::plot::roc_curves(&self.hold_or_err()?.curves)
    }

    /// The hold-out per-class report.
    pub fn report(&self) -> Result<Table> {
        Ok(self.hold_or_err()?.report.table().clone())
    }

    /// This result as a one-row results table.
    pub fn table(&self) -> Table {
        results_table(
            std::slice::from_ref(self),
            &format!("{} ({})", self.pipeline, self.family),
        )
    }

    /// Shows the one-row results table inline in evcxr.
    pub fn evcxr_display(&self) {
        self.table().evcxr_display();
    }
}

/// One row of `summary.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    /// Family.
    pub family: String,
    /// Pipeline.
    pub pipeline: String,
    /// Representation.
    pub representation: String,
    /// Validation macro-F1.
    pub val_macro_f1: Option<f64>,
    /// Hold-out macro-F1.
    pub macro_f1: Option<f64>,
    /// Hold-out accuracy.
    pub accuracy: Option<f64>,
    /// Hold-out weighted F1.
    pub weighted_f1: Option<f64>,
    /// Fit wall seconds.
    pub fit_seconds: Option<f64>,
    /// Inference milliseconds per document.
    pub latency_ms_per_doc: Option<f64>,
    /// Saved model size in MB.
    pub model_mb: Option<f64>,
    /// The kept epoch of a network.
    pub best_epoch: Option<u32>,
    /// Why it failed (empty when it did not).
    pub error: String,
}

impl SummaryRow {
    /// The row of a result.
    pub fn of(r: &ExperimentResult) -> Self {
        let ok = r.error.is_none();
        SummaryRow {
            family: r.family.to_string(),
            pipeline: r.pipeline.clone(),
            representation: r.representation.clone(),
            val_macro_f1: r.val_macro_f1(),
            macro_f1: r.macro_f1(),
            accuracy: r.accuracy(),
            weighted_f1: r.weighted_f1(),
            fit_seconds: ok.then_some(r.fit_seconds),
            latency_ms_per_doc: r.latency_ms,
            model_mb: r.model_bytes.map(|b| b as f64 / 1e6),
            best_epoch: r
                .history
                .as_ref()
                .and_then(|h| h.best_epoch)
                .map(|e| e as u32),
            error: r.error.clone().unwrap_or_default(),
        }
    }

    /// Column names, in order.
    pub const COLUMNS: [&'static str; 12] = [
        "family",
        "pipeline",
        "representation",
        "val_macro_f1",
        "macro_f1",
        "accuracy",
        "weighted_f1",
        "fit_seconds",
        "latency_ms_per_doc",
        "model_mb",
        "best_epoch",
        "error",
    ];

    /// The row as JSON values, in [`SummaryRow::COLUMNS`] order (for MLflow's table artifacts).
    pub fn values(&self) -> Vec<serde_json::Value> {
        use serde_json::json;
        vec![
            json!(self.family),
            json!(self.pipeline),
            json!(self.representation),
            json!(self.val_macro_f1),
            json!(self.macro_f1),
            json!(self.accuracy),
            json!(self.weighted_f1),
            json!(self.fit_seconds),
            json!(self.latency_ms_per_doc),
            json!(self.model_mb),
            json!(self.best_epoch),
            json!(self.error),
        ]
    }

    /// The row as CSV fields, in [`SummaryRow::COLUMNS`] order (empty when missing).
    pub fn csv_fields(&self) -> Vec<String> {
        let f = |v: Option<f64>, d: usize| v.map(|x| format!("{x:.d$}")).unwrap_or_default();
        vec![
            self.family.clone(),
            self.pipeline.clone(),
            self.representation.clone(),
            f(self.val_macro_f1, 4),
            f(self.macro_f1, 4),
            f(self.accuracy, 4),
            f(self.weighted_f1, 4),
            f(self.fit_seconds, 1),
            f(self.latency_ms_per_doc, 3),
            f(self.model_mb, 2),
            self.best_epoch.map(|e| e.to_string()).unwrap_or_default(),
            self.error.clone(),
        ]
    }
}

/// The results table of `results`, titled `title`, shown inline in notebooks.
pub fn results_table(results: &[ExperimentResult], title: &str) -> Table {
    let rows: Vec<SummaryRow> = results.iter().map(SummaryRow::of).collect();
    let s = |f: fn(&SummaryRow) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let n = |f: fn(&SummaryRow) -> Option<f64>, d: i32| {
        let scale = 10f64.powi(d);
        rows.iter()
            .map(|r| f(r).map(|v| (v * scale).round() / scale))
            .collect::<Vec<Option<f64>>>()
    };
    let columns = vec![
        Column::new("family".into(), s(|r| r.family.clone())),
        Column::new("pipeline".into(), s(|r| r.pipeline.clone())),
        Column::new("representation".into(), s(|r| r.representation.clone())),
        Column::new("val_macro_f1".into(), n(|r| r.val_macro_f1, 4)),
        Column::new("macro_f1".into(), n(|r| r.macro_f1, 4)),
        Column::new("accuracy".into(), n(|r| r.accuracy, 4)),
        Column::new("weighted_f1".into(), n(|r| r.weighted_f1, 4)),
        Column::new("fit_s".into(), n(|r| r.fit_seconds, 1)),
        Column::new("ms_per_doc".into(), n(|r| r.latency_ms_per_doc, 3)),
        Column::new("model_mb".into(), n(|r| r.model_mb, 2)),
        Column::new(
            "best_epoch".into(),
            rows.iter()
                .map(|r| r.best_epoch)
                .collect::<Vec<Option<u32>>>(),
        ),
        Column::new("error".into(), s(|r| r.error.clone())),
    ];
    match DataFrame::new(rows.len(), columns) {
        Ok(df) => Table::new(df).title(title),
        // Every column has one entry per row by construction.
        Err(e) => Table::new(DataFrame::empty()).title(format!("{title}: {e}")),
    }
}

/// The best hold-out scores per family, for [`crate::plot::family_evolution`].
pub fn family_scores(results: &[ExperimentResult]) -> Vec<FamilyScore> {
    results
        .iter()
        .filter_map(|r| {
            Some(FamilyScore::new(
                r.family.as_str(),
                r.pipeline.clone(),
                r.macro_f1()?,
                r.accuracy()?,
            ))
        })
        .collect()
}

/// Inference cost per model, for [`crate::plot::latency`].
pub fn latencies(results: &[ExperimentResult]) -> Vec<ModelLatency> {
    results
        .iter()
        .filter_map(|r| Some(ModelLatency::new(r.pipeline.clone(), r.latency_ms?)))
        .collect()
}
