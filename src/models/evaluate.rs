//! Scoring a trained [`Classifier`] on labelled data: every metric of [`crate::eval`] at once.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::{ClassificationReport, ConfusionMatrix, Curves};
use crate::models::classifier::{argmax_rows, Classifier};

/// A model's scores on one labelled dataset.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Per-class precision / recall / F1 / support, accuracy, macro and weighted F1.
    pub report: ClassificationReport,
    /// Confusion matrix over the model's genres.
    pub confusion: ConfusionMatrix,
    /// One-vs-rest ROC and PR curves from the model's scores.
    pub curves: Curves,
    /// Rows scored.
    pub rows: usize,
    /// Wall seconds to score them (text view, features, model).
    pub predict_seconds: f64,
}

impl Evaluation {
    /// Accuracy.
    pub fn accuracy(&self) -> f64 {
        self.report.accuracy()
    }

    /// Macro-averaged F1 (scikit-learn's `f1_score(average="macro")`).
    pub fn macro_f1(&self) -> f64 {
        self.report.macro_f1()
    }

    /// The headline numbers as `(name, value)` pairs, for printing and tracking.
    pub fn metrics(&self) -> Vec<(String, f64)> {
        let mut out = vec![
            ("accuracy".to_string(), self.accuracy()),
            ("macro_f1".to_string(), self.macro_f1()),
            ("weighted_f1".to_string(), self.report.weighted_f1()),
            (
                "micro_ap".to_string(),
                self.curves.micro_average_precision(),
            ),
        ];
        if let Some(v) = self.curves.macro_roc_auc() {
            out.push(("macro_roc_auc".into(), v));
        }
        if let Some(v) = self.curves.macro_average_precision() {
            out.push(("macro_ap".into(), v));
        }
        out.push((
            "ms_per_doc".into(),
            1000.0 * self.predict_seconds / self.rows.max(1) as f64,
        ));
        out
    }
}

impl Evaluation {
    /// Writes `evaluation.json` (the headline [`Evaluation::metrics`]) and `per_class.csv`
    /// (`genre,precision,recall,f1,support`) into `dir` (created when missing); returns both
    /// paths.
    pub fn write_files(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let obj: serde_json::Map<String, serde_json::Value> = self
            .metrics()
            .into_iter()
            .map(|(k, v)| (k, serde_json::json!(v)))
            .collect();
        let json = dir.join("evaluation.json");
        std::fs::write(&json, serde_json::to_string_pretty(&obj)?)
            .map_err(|e| Error::io(&json, e))?;
        let csv = dir.join("per_class.csv");
        let mut out = String::from("genre,precision,recall,f1,support\n");
        let pc = self.report.per_class();
        for (i, name) in self.report.names().iter().enumerate() {
            out.push_str(&format!(
                "{},{:.6},{:.6},{:.6},{}\n",
                csv_field(name),
                pc.precision[i],
                pc.recall[i],
                pc.f1[i],
                pc.support[i]
            ));
        }
        std::fs::write(&csv, out).map_err(|e| Error::io(&csv, e))?;
        Ok(vec![json, csv])
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Scores `model` on `data`, whose genres must all be known to the model (an unknown genre is
/// an error naming the file and line of the row).
pub fn evaluate(model: &dyn Classifier, data: &Dataset) -> Result<Evaluation> {
    let labels = model.labels();
    let y = labels.encode(data)?;
    let t = Instant::now();
    let scores = model.scores(data)?;
    let predict_seconds = t.elapsed().as_secs_f64();
    let pred = argmax_rows(&scores);
    let flat: Vec<f32> = scores.iter().copied().collect();
    Ok(Evaluation {
        report: ClassificationReport::new(&y, &pred, labels)?,
        confusion: ConfusionMatrix::new(&y, &pred, labels)?,
        curves: Curves::one_vs_rest(&y, &flat, labels)?,
        rows: data.len(),
        predict_seconds,
    })
}
