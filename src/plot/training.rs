//! Training curves: loss and a metric per epoch, train against validation, best epoch marked.

use super::draw::{fmt_num, legend_row, Entry, Mark};
use super::figure::{bold, text, Figure, OrPlot, Paint};
use super::PlotConfig;
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

/// What a training run recorded per epoch; every series is optional, but each one present has
/// one value per epoch (non-finite values are left out of the drawing).
///
/// ```
/// use genre_nlp::plot::TrainingCurves;
/// let c = TrainingCurves::new([1, 2, 3])
///     .train_loss(vec![1.2, 0.9, 0.7])
///     .val_loss(vec![1.3, 1.1, 1.15])
///     .val_metric(vec![0.31, 0.38, 0.36])
///     .metric_name("macro-F1");
/// assert_eq!(c.best(), Some(2));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingCurves {
    /// Epoch numbers, increasing (usually `1..=n`).
    pub epochs: Vec<usize>,
    /// Training loss per epoch.
    pub train_loss: Option<Vec<f64>>,
    /// Validation loss per epoch.
    pub val_loss: Option<Vec<f64>>,
    /// Training metric per epoch.
    pub train_metric: Option<Vec<f64>>,
    /// Validation metric per epoch.
    pub val_metric: Option<Vec<f64>>,
    /// Name of the metric (axis label and legend), e.g. `"macro-F1"`; `"metric"` when empty.
    pub metric_name: String,
    /// The epoch to mark as best; when `None`, [`TrainingCurves::best`] picks one.
    pub best_epoch: Option<usize>,
}

impl TrainingCurves {
    /// Curves over these epochs, no series yet, metric named `"metric"`.
    pub fn new(epochs: impl IntoIterator<Item = usize>) -> Self {
        TrainingCurves {
            epochs: epochs.into_iter().collect(),
            metric_name: "metric".into(),
            ..Default::default()
        }
    }

    /// Sets the training loss per epoch.
    pub fn train_loss(mut self, v: Vec<f64>) -> Self {
        self.train_loss = Some(v);
        self
    }

    /// Sets the validation loss per epoch.
    pub fn val_loss(mut self, v: Vec<f64>) -> Self {
        self.val_loss = Some(v);
        self
    }

    /// Sets the training metric per epoch.
    pub fn train_metric(mut self, v: Vec<f64>) -> Self {
        self.train_metric = Some(v);
        self
    }

    /// Sets the validation metric per epoch.
    pub fn val_metric(mut self, v: Vec<f64>) -> Self {
        self.val_metric = Some(v);
        self
    }

    /// Names the metric (higher is better).
    pub fn metric_name(mut self, name: impl Into<String>) -> Self {
        self.metric_name = name.into();
        self
    }

    /// Marks `epoch` as the best one (e.g. the checkpoint early stopping kept).
    pub fn best_epoch(mut self, epoch: usize) -> Self {
        self.best_epoch = Some(epoch);
        self
    }

    /// The epoch marked as best: the one set with [`TrainingCurves::best_epoch`], else the
    /// epoch of the highest validation metric (first on ties), else that of the lowest
    /// validation loss; `None` when there is neither.
    pub fn best(&self) -> Option<usize> {
        if self.best_epoch.is_some() {
            return self.best_epoch;
        }
        let pick = |v: &Vec<f64>, higher: bool| {
            let mut best: Option<(usize, f64)> = None;
            for (i, &x) in v.iter().enumerate() {
                if !x.is_finite() {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some((_, b)) => (higher && x > b) || (!higher && x < b),
                };
                if better {
                    best = Some((i, x));
                }
            }
            best.and_then(|(i, _)| self.epochs.get(i).copied())
        };
        self.val_metric
            .as_ref()
            .and_then(|v| pick(v, true))
            .or_else(|| self.val_loss.as_ref().and_then(|v| pick(v, false)))
    }

    fn check(&self) -> Result<()> {
        if self.epochs.is_empty() {
            return Err(Error::Config(
                "training curves need at least one epoch".into(),
            ));
        }
        if self.epochs.windows(2).any(|w| w[1] <= w[0]) {
            return Err(Error::Config(
                "training curves: epochs must be strictly increasing".into(),
            ));
        }
        for (name, s) in self.series() {
            if let Some(v) = s {
                if v.len() != self.epochs.len() {
                    return Err(Error::Config(format!(
                        "training curves: {name} has {} values for {} epochs",
                        v.len(),
                        self.epochs.len()
                    )));
                }
            }
        }
        if self.series().iter().all(|(_, s)| s.is_none()) {
            return Err(Error::Config(
                "training curves: no series (train/val loss or metric) to draw".into(),
            ));
        }
        Ok(())
    }

    fn series(&self) -> [(&'static str, Option<&Vec<f64>>); 4] {
        [
            ("train_loss", self.train_loss.as_ref()),
            ("val_loss", self.val_loss.as_ref()),
            ("train_metric", self.train_metric.as_ref()),
            ("val_metric", self.val_metric.as_ref()),
        ]
    }

    fn metric(&self) -> &str {
        if self.metric_name.trim().is_empty() {
            "metric"
        } else {
            self.metric_name.trim()
        }
    }
}

const TRAIN: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const VAL: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
const BEST: RGBColor = RGBColor(0x70, 0x70, 0x70);

struct Panel<'a> {
    name: String,
    train: Option<&'a Vec<f64>>,
    val: Option<&'a Vec<f64>>,
}

struct Painter<'a> {
    curves: &'a TrainingCurves,
    panels: Vec<Panel<'a>>,
    best: Option<usize>,
    x_desc: String,
}

impl Paint for Painter<'_> {
    fn paint<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        // One legend for both panels, above them, so it never covers a curve.
        let mut entries = Vec::new();
        let has = |f: fn(&Panel) -> bool| self.panels.iter().any(f);
        if has(|p| p.train.is_some()) {
            entries.push(Entry {
                label: "train".into(),
                color: TRAIN,
                mark: Mark::Line,
            });
        }
        if has(|p| p.val.is_some()) {
            entries.push(Entry {
                label: "validation".into(),
                color: VAL,
                mark: Mark::Line,
            });
        }
        if let Some(b) = self.best {
            entries.push(Entry {
                label: format!("best epoch {b}"),
                color: BEST,
                mark: Mark::Dashed,
            });
        }
        legend_row(area, &entries, 13.0, 24)?;
        let (_, body) = area.split_vertically(26);
        let parts = body.split_evenly((1, self.panels.len()));
        let epochs = &self.curves.epochs;
        let (e0, e1) = (epochs[0] as i32, epochs[epochs.len() - 1] as i32);
        let (e0, e1) = if e0 == e1 { (e0 - 1, e1 + 1) } else { (e0, e1) };
        for (part, p) in parts.iter().zip(&self.panels) {
            let points = |v: &Vec<f64>| -> Vec<(i32, f64)> {
                epochs
                    .iter()
                    .zip(v)
                    .filter(|(_, y)| y.is_finite())
                    .map(|(&e, &y)| (e as i32, y))
                    .collect()
            };
            let all: Vec<f64> = [p.train, p.val]
                .into_iter()
                .flatten()
                .flat_map(|v| v.iter().copied().filter(|y| y.is_finite()))
                .collect();
            let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
            let pad = ((hi - lo) * 0.12).max(hi.abs() * 0.02).max(1e-6);
            let mut chart = ChartBuilder::on(part)
                .caption(&p.name, bold(15.0))
                .margin(8)
                .margin_right(18)
                .x_label_area_size(44)
                .y_label_area_size(62)
                .build_cartesian_2d(e0..e1, (lo - pad)..(hi + pad))
                .plot()?;
            chart
                .configure_mesh()
                .x_desc(&self.x_desc)
                .y_desc(&p.name)
                .x_labels(((e1 - e0 + 1) as usize).min(12))
                .y_label_formatter(&|v| fmt_num(*v))
                .label_style(text(13.0))
                .axis_desc_style(text(15.0))
                .light_line_style(TRANSPARENT)
                .bold_line_style(BLACK.mix(0.1))
                .draw()
                .plot()?;
            if let Some(best) = self.best {
                let b = best as i32;
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(b, lo - pad), (b, hi + pad)],
                        6,
                        4,
                        BEST.stroke_width(2),
                    ))
                    .plot()?;
            }
            for (series, color) in [(p.train, TRAIN), (p.val, VAL)] {
                let Some(v) = series else { continue };
                chart
                    .draw_series(LineSeries::new(points(v), color.stroke_width(2)).point_size(3))
                    .plot()?;
            }
            if let (Some(best), Some(v)) = (self.best, p.val) {
                if let Some(i) = epochs.iter().position(|&e| e == best) {
                    if v[i].is_finite() {
                        chart
                            .draw_series([Circle::new(
                                (best as i32, v[i]),
                                7,
                                BLACK.stroke_width(2),
                            )])
                            .plot()?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl PlotConfig {
    /// Loss (left) and metric (right) per epoch, train in blue and validation in orange, the
    /// best epoch ([`TrainingCurves::best`]) marked by a dashed line and a ring around its
    /// validation points; one legend above both panels. A panel is drawn only when it has a series. Default 900 × 420 px
    /// (two panels) or 640 × 420 (one).
    ///
    /// Errors: no epochs, epochs not increasing, no series, or a series whose length is not
    /// the number of epochs ([`Error::Config`]).
    pub fn training_curves(&self, curves: &TrainingCurves) -> Result<Figure> {
        curves.check()?;
        let mut panels = Vec::new();
        if curves.train_loss.is_some() || curves.val_loss.is_some() {
            panels.push(Panel {
                name: "loss".into(),
                train: curves.train_loss.as_ref(),
                val: curves.val_loss.as_ref(),
            });
        }
        if curves.train_metric.is_some() || curves.val_metric.is_some() {
            panels.push(Panel {
                name: curves.metric().to_string(),
                train: curves.train_metric.as_ref(),
                val: curves.val_metric.as_ref(),
            });
        }
        let best = curves.best();
        let best_text = match (best, &curves.val_metric) {
            (Some(b), Some(v)) => curves
                .epochs
                .iter()
                .position(|&e| e == b)
                .and_then(|i| v.get(i))
                .map(|x| {
                    format!(
                        ", best epoch {b} (validation {} {})",
                        curves.metric(),
                        fmt_num(*x)
                    )
                })
                .unwrap_or_else(|| format!(", best epoch {b}")),
            (Some(b), None) => format!(", best epoch {b}"),
            (None, _) => String::new(),
        };
        let title = self.title_or(format!(
            "Training curves: {} epochs{best_text}",
            curves.epochs.len()
        ));
        let size = if panels.len() == 2 {
            (900, 420)
        } else {
            (640, 420)
        };
        let painter = Painter {
            curves,
            panels,
            best,
            x_desc: self.x_or("epoch"),
        };
        Figure::render(title, self.size_or(size.0, size.1), &painter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_epoch_rules() {
        let c = TrainingCurves::new([1, 2, 3]).val_loss(vec![0.9, 0.5, 0.7]);
        assert_eq!(c.best(), Some(2));
        let c = c.val_metric(vec![0.1, 0.2, f64::NAN]);
        assert_eq!(c.best(), Some(2));
        assert_eq!(c.clone().best_epoch(3).best(), Some(3));
        assert_eq!(TrainingCurves::new([1]).best(), None);
    }

    #[test]
    fn checks() {
        let c = PlotConfig::default();
        assert!(matches!(
            c.training_curves(&TrainingCurves::new([1, 2])),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            c.training_curves(&TrainingCurves::new([1, 2]).val_loss(vec![1.0])),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            c.training_curves(&TrainingCurves::new([2, 1]).val_loss(vec![1.0, 2.0])),
            Err(Error::Config(_))
        ));
        let f = c
            .training_curves(&TrainingCurves::new([1]).train_loss(vec![0.5]))
            .unwrap();
        assert_eq!(f.width(), 640);
        assert!(f.svg().contains("loss"));
    }
}
