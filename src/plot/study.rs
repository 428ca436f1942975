//! Study figures: how the best score moved from one model family to the next, and what each
//! model costs per document.

use super::draw::{fmt_num, legend, put, rel, Entry, Mark};
use super::eda::{bar_figure, bars_height, Bars};
use super::figure::{bold, text, Figure, OrPlot, Paint};
use super::palette::rgb;
use super::PlotConfig;
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use serde::{Deserialize, Serialize};

/// One model's scores in the study, the input of [`super::family_evolution`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyScore {
    /// Model family, e.g. `"Baseline"`, `"FFNN"`, `"RNN"`, `"Transformer"`.
    pub family: String,
    /// The model, e.g. `"TF-IDF + logistic regression"`.
    pub name: String,
    /// Macro-F1 on the evaluation side.
    pub macro_f1: f64,
    /// Accuracy on the evaluation side.
    pub accuracy: f64,
}

impl FamilyScore {
    /// A model's scores.
    pub fn new(
        family: impl Into<String>,
        name: impl Into<String>,
        macro_f1: f64,
        accuracy: f64,
    ) -> Self {
        FamilyScore {
            family: family.into(),
            name: name.into(),
            macro_f1,
            accuracy,
        }
    }
}

/// A model's inference cost, the input of [`super::latency`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelLatency {
    /// The model.
    pub name: String,
    /// Milliseconds per document (wall clock, batch inference divided by documents).
    pub ms_per_doc: f64,
}

impl ModelLatency {
    /// A model's latency.
    pub fn new(name: impl Into<String>, ms_per_doc: f64) -> Self {
        ModelLatency {
            name: name.into(),
            ms_per_doc,
        }
    }
}

/// The study's families in the order they are introduced; others follow in input order.
const FAMILY_ORDER: [&str; 4] = ["baseline", "ffnn", "rnn", "transformer"];

const F1_COLOR: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const ACC_COLOR: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
const TREND: RGBColor = RGBColor(0x55, 0x55, 0x55);

struct Evolution {
    best: Vec<FamilyScore>,
    x_desc: String,
    y_desc: String,
}

impl Paint for Evolution {
    fn paint<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let n = self.best.len();
        let y_max = self
            .best
            .iter()
            .flat_map(|b| [b.macro_f1, b.accuracy])
            .fold(0.0, f64::max);
        let y_max = if y_max <= 0.85 {
            (y_max * 1.18).max(0.1)
        } else {
            1.05
        };
        let (w, _) = area.dim_in_pixel();
        let (plot, side) = area.split_horizontally(w.saturating_sub(130));
        let mut chart = ChartBuilder::on(&plot)
            .margin_right(10)
            .margin_top(8)
            .x_label_area_size(64)
            .y_label_area_size(58)
            .build_cartesian_2d(0f64..n as f64, 0f64..y_max)
            .plot()?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_desc(&self.x_desc)
            .y_desc(&self.y_desc)
            .y_label_formatter(&|v| fmt_num(*v))
            .label_style(text(13.0))
            .axis_desc_style(text(15.0))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.1))
            .draw()
            .plot()?;
        let value_style = text(12.0);
        for (i, b) in self.best.iter().enumerate() {
            let x = i as f64;
            for (x0, x1, v, c) in [
                (x + 0.16, x + 0.49, b.macro_f1, F1_COLOR),
                (x + 0.51, x + 0.84, b.accuracy, ACC_COLOR),
            ] {
                chart
                    .draw_series([Rectangle::new([(x0, 0.0), (x1, v.max(0.0))], c.filled())])
                    .plot()?;
                let (px, py) = rel(area, chart.backend_coord(&((x0 + x1) / 2.0, v.max(0.0))));
                put(
                    area,
                    &format!("{v:.3}"),
                    &value_style,
                    (px, py - 3),
                    HPos::Center,
                    VPos::Bottom,
                )?;
            }
            let (px, py) = rel(area, chart.backend_coord(&(x + 0.5, 0.0)));
            put(
                area,
                &b.family,
                &TextStyle::from(bold(14.0)).color(&BLACK),
                (px, py + 6),
                HPos::Center,
                VPos::Top,
            )?;
            put(
                area,
                &b.name,
                &text(11.0),
                (px, py + 25),
                HPos::Center,
                VPos::Top,
            )?;
            if i + 1 < n {
                // The study moves on to the next family.
                let (ax, _) = rel(area, chart.backend_coord(&(x + 1.0, 0.0)));
                let arrow = text(20.0).color(&TREND);
                put(area, "→", &arrow, (ax, py + 4), HPos::Center, VPos::Top)?;
            }
        }
        let entries = [
            Entry {
                label: "macro-F1".into(),
                color: F1_COLOR,
                mark: Mark::Box,
            },
            Entry {
                label: "accuracy".into(),
                color: ACC_COLOR,
                mark: Mark::Box,
            },
        ];
        legend(
            &side.margin(12, 0, 6, 0),
            Some("best model"),
            &entries,
            12.0,
        )
    }
}

impl PlotConfig {
    /// The study's evolution: for each model family (Baseline → FFNN → RNN → Transformer,
    /// then any other family in input order) the model with the best macro-F1, its macro-F1
    /// and accuracy as bars side by side with their values, the model's name under the
    /// family, and arrows between the families in study order. Default 800 × 480 px.
    ///
    /// Errors: no scores, an empty family or model name, or a non-finite score
    /// ([`Error::Config`]).
    pub fn family_evolution(&self, scores: &[FamilyScore]) -> Result<Figure> {
        if scores.is_empty() {
            return Err(Error::Config(
                "family_evolution needs at least one model".into(),
            ));
        }
        let mut best: Vec<FamilyScore> = Vec::new();
        for (i, s) in scores.iter().enumerate() {
            if s.family.trim().is_empty() || s.name.trim().is_empty() {
                return Err(Error::Config(format!(
                    "family_evolution: scores[{i}] needs a family and a model name"
                )));
            }
            if !s.macro_f1.is_finite() || !s.accuracy.is_finite() {
                return Err(Error::Config(format!(
                    "family_evolution: scores[{i}] ({}) has a non-finite score",
                    s.name
                )));
            }
            match best.iter_mut().find(|b| b.family == s.family) {
                Some(b) if s.macro_f1 > b.macro_f1 => *b = s.clone(),
                Some(_) => {}
                None => best.push(s.clone()),
            }
        }
        let rank = |f: &str| {
            FAMILY_ORDER
                .iter()
                .position(|o| o.eq_ignore_ascii_case(f.trim()))
                .unwrap_or(FAMILY_ORDER.len())
        };
        best.sort_by_key(|b| rank(&b.family)); // stable: unknown families keep input order
        let top = best
            .iter()
            .max_by(|a, b| a.macro_f1.total_cmp(&b.macro_f1))
            .map(|b| format!(", best {} {:.3}", b.family, b.macro_f1))
            .unwrap_or_default();
        let title = self.title_or(format!(
            "Best macro-F1 per model family ({} models){top}",
            scores.len()
        ));
        let e = Evolution {
            best,
            x_desc: self.x_or("model family (best model)"),
            y_desc: self.y_or("score on the evaluation side"),
        };
        Figure::render(title, self.size_or(800, 480), &e)
    }

    /// Inference latency per model as horizontal bars, fastest at the top, labelled in
    /// milliseconds per document; the axis is logarithmic when the slowest model is more than
    /// 50 times slower than the fastest. Default 800 × (130 + 22 per model) px.
    ///
    /// Errors: no records, an empty name, or a latency that is not a positive number
    /// ([`Error::Config`]).
    pub fn latency(&self, records: &[ModelLatency]) -> Result<Figure> {
        if records.is_empty() {
            return Err(Error::Config("latency needs at least one model".into()));
        }
        for (i, r) in records.iter().enumerate() {
            if r.name.trim().is_empty() || !(r.ms_per_doc.is_finite() && r.ms_per_doc > 0.0) {
                return Err(Error::Config(format!(
                    "latency: records[{i}] ({:?}, {} ms) needs a name and a positive latency",
                    r.name, r.ms_per_doc
                )));
            }
        }
        let mut rows: Vec<&ModelLatency> = records.iter().collect();
        rows.sort_by(|a, b| {
            a.ms_per_doc
                .total_cmp(&b.ms_per_doc)
                .then(a.name.cmp(&b.name))
        });
        let (min, max) = (rows[0].ms_per_doc, rows[rows.len() - 1].ms_per_doc);
        let log = max / min > 50.0;
        let names: Vec<String> = rows.iter().map(|r| r.name.trim().to_string()).collect();
        let bars = Bars {
            colors: (0..names.len()).map(|_| rgb([0x00, 0x72, 0xB2])).collect(),
            values: rows.iter().map(|r| r.ms_per_doc).collect(),
            labels: rows
                .iter()
                .map(|r| format!("{} ms", fmt_num(r.ms_per_doc)))
                .collect(),
            x_desc: self.x_or(if log {
                "milliseconds per document (log scale)"
            } else {
                "milliseconds per document"
            }),
            y_desc: self.y_or("model"),
            x_max: if log { max * 8.0 } else { max * 1.25 },
            log_floor: log.then_some(min / 3.0),
            reference: None,
            names,
        };
        let title = self.title_or(format!(
            "Inference latency: {} models, {}× from fastest to slowest",
            rows.len(),
            fmt_num(if max / min >= 10.0 {
                (max / min).round()
            } else {
                (max / min * 10.0).round() / 10.0
            })
        ));
        let n = rows.len();
        bar_figure(title, self.size_or(800, bars_height(n)), bars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evolution_keeps_best_per_family_in_study_order() {
        let scores = [
            FamilyScore::new("RNN", "BiGRU", 0.30, 0.55),
            FamilyScore::new("Baseline", "TF-IDF + LR", 0.25, 0.52),
            FamilyScore::new("Baseline", "BoW + NB", 0.20, 0.50),
            FamilyScore::new("Transformer", "DistilBERT", 0.41, 0.60),
        ];
        let f = family_evolution_fig(&scores);
        assert!(f.svg().contains("TF-IDF + LR"));
        assert!(!f.svg().contains("BoW + NB"));
        let svg = f.svg();
        let (b, r) = (svg.find("Baseline").unwrap(), svg.find("\nRNN\n").unwrap());
        assert!(b < r);
        assert!(matches!(
            PlotConfig::new().latency(&[ModelLatency::new("x", 0.0)]),
            Err(Error::Config(_))
        ));
        let l = PlotConfig::new()
            .latency(&[
                ModelLatency::new("NB", 0.01),
                ModelLatency::new("BERT", 12.0),
            ])
            .unwrap();
        assert!(l.svg().contains("log scale"));
    }

    fn family_evolution_fig(s: &[FamilyScore]) -> Figure {
        PlotConfig::new().family_evolution(s).unwrap()
    }
}
