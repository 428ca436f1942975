//! Evaluation figures: confusion-matrix heatmaps, one-vs-rest ROC and PR curves, per-class F1.

use super::draw::{fmt_num, legend, max_text_width, put, put_vertical, thin, Entry, Mark};
use super::eda::{bar_figure, bars_height, Bars};
use super::figure::{font, text, Figure, OrPlot, Paint};
use super::palette::{blues, genre_rgb, name_colors};
use super::PlotConfig;
use crate::error::{Error, Result};
use crate::eval::{ClassificationReport, ConfusionMatrix, Curves};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

// ---------------------------------------------------------------- confusion matrix

struct Heatmap {
    row_labels: Vec<String>,
    col_labels: Vec<String>,
    /// Colour intensity per cell, `0..=1`.
    shade: Vec<Vec<f64>>,
    /// Text per cell (empty: none).
    cells: Vec<Vec<String>>,
    /// Colour-bar ticks: position `0..=1` and label.
    ticks: Vec<(f64, String)>,
    bar_desc: String,
    x_desc: String,
    y_desc: String,
}

impl Paint for Heatmap {
    fn paint<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let k = self.col_labels.len() as i32;
        let (w, h) = area.dim_in_pixel();
        let (w, h) = (w as i32, h as i32);
        let label_size = if k > 30 { 10.0 } else { 12.0 };
        let label = text(label_size);
        let row_w = max_text_width(area, &self.row_labels, &label)? as i32;
        let col_h = max_text_width(area, &self.col_labels, &label)? as i32;
        let tick_w = max_text_width(
            area,
            &self.ticks.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            &text(11.0),
        )? as i32;
        let left = 28 + row_w + 8;
        let bottom = col_h + 10 + 28;
        let right = 16 + 14 + 6 + tick_w + 28;
        let top = 4;
        let cell = ((w - left - right) / k).min((h - top - bottom) / k).max(4);
        let (x0, y0) = (left, top);
        let side = cell * k;
        // Cells.
        let cell_size = (cell as f64 * 0.4).clamp(7.0, 13.0);
        for (i, row) in self.shade.iter().enumerate() {
            for (j, &t) in row.iter().enumerate() {
                let (cx, cy) = (x0 + j as i32 * cell, y0 + i as i32 * cell);
                area.draw(&Rectangle::new(
                    [(cx, cy), (cx + cell, cy + cell)],
                    blues(t).filled(),
                ))
                .plot()?;
                let s = &self.cells[i][j];
                if !s.is_empty() {
                    let color = if t > 0.55 { WHITE } else { BLACK };
                    let style = text(cell_size).color(&color);
                    put(
                        area,
                        s,
                        &style,
                        (cx + cell / 2, cy + cell / 2),
                        HPos::Center,
                        VPos::Center,
                    )?;
                }
            }
        }
        // Grid lines every cell, light; outline and diagonal emphasis.
        for i in 0..=k {
            let p = i * cell;
            let style = BLACK.mix(0.08).stroke_width(1);
            area.draw(&PathElement::new(
                vec![(x0, y0 + p), (x0 + side, y0 + p)],
                style,
            ))
            .plot()?;
            area.draw(&PathElement::new(
                vec![(x0 + p, y0), (x0 + p, y0 + side)],
                style,
            ))
            .plot()?;
        }
        // The diagonal (correct predictions): an inset frame, so neighbours do not touch.
        for d in 0..k {
            let (cx, cy) = (x0 + d * cell, y0 + d * cell);
            area.draw(&Rectangle::new(
                [(cx + 1, cy + 1), (cx + cell - 2, cy + cell - 2)],
                RGBColor(0xD5, 0x5E, 0x00).stroke_width(1),
            ))
            .plot()?;
        }
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + side, y0 + side)],
            BLACK.stroke_width(1),
        ))
        .plot()?;
        // Row labels (true genre) and column labels (predicted genre), read bottom-to-top.
        for (i, l) in self.row_labels.iter().enumerate() {
            let y = y0 + i as i32 * cell + cell / 2;
            put(area, l, &label, (x0 - 6, y), HPos::Right, VPos::Center)?;
        }
        let rotated = TextStyle::from(font(label_size).transform(FontTransform::Rotate270))
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (j, l) in self.col_labels.iter().enumerate() {
            let x = x0 + j as i32 * cell + cell / 2;
            area.draw_text(l, &rotated, (x, y0 + side + 6)).plot()?;
        }
        put(
            area,
            &self.x_desc,
            &text(15.0),
            (x0 + side / 2, y0 + side + col_h + 14),
            HPos::Center,
            VPos::Top,
        )?;
        put_vertical(area, &self.y_desc, 15.0, (12, y0 + side / 2))?;
        // Colour bar.
        let bx = x0 + side + 16;
        let steps = 100;
        for s in 0..steps {
            let t0 = s as f64 / steps as f64;
            let ya = y0 + side - (side as f64 * t0) as i32;
            let yb = y0 + side - (side as f64 * (t0 + 1.0 / steps as f64)) as i32;
            area.draw(&Rectangle::new(
                [(bx, yb), (bx + 14, ya)],
                blues(t0 + 0.5 / steps as f64).filled(),
            ))
            .plot()?;
        }
        area.draw(&Rectangle::new(
            [(bx, y0), (bx + 14, y0 + side)],
            BLACK.stroke_width(1),
        ))
        .plot()?;
        for (t, l) in &self.ticks {
            let y = y0 + side - (side as f64 * t) as i32;
            area.draw(&PathElement::new(vec![(bx + 14, y), (bx + 18, y)], BLACK))
                .plot()?;
            put(area, l, &text(11.0), (bx + 20, y), HPos::Left, VPos::Center)?;
        }
        put_vertical(
            area,
            &self.bar_desc,
            13.0,
            (bx + 20 + tick_w + 14, y0 + side / 2),
        )?;
        Ok(())
    }
}

/// Colour-bar ticks for counts shown on a square-root scale: 1-2-5 steps up to `max`, then
/// `max`, dropping ticks closer than 6 % of the bar to the previous one.
fn count_ticks(max: usize) -> Vec<(f64, String)> {
    let m = max.max(1) as f64;
    let mut vals = vec![0.0];
    let mut step = 1.0;
    while step < m {
        for f in [1.0, 2.0, 5.0] {
            let v = step * f;
            if v < m {
                vals.push(v);
            }
        }
        step *= 10.0;
    }
    let mut out: Vec<(f64, String)> = Vec::new();
    for v in vals {
        let t = (v / m).sqrt();
        if out.last().is_none_or(|(p, _)| t - p >= 0.06) && 1.0 - t >= 0.06 {
            out.push((t, fmt_num(v)));
        }
    }
    out.push((1.0, fmt_num(m)));
    out
}

fn heatmap_size(k: usize) -> (u32, u32) {
    if k > 15 {
        (1000, 940)
    } else {
        (800, 780)
    }
}

impl PlotConfig {
    /// Confusion matrix as a heatmap of counts (rows: true genre with its support, columns:
    /// predicted genre), every non-zero cell annotated, the diagonal outlined; the colour
    /// scale is the square root of the count so small confusions stay visible. Readable at
    /// 27 × 27: default 1000 × 1000 px for more than 15 classes, 800 × 780 otherwise.
    pub fn confusion_matrix(&self, cm: &ConfusionMatrix) -> Result<Figure> {
        let counts = cm.counts();
        let k = cm.n_classes();
        let max = counts.iter().flatten().copied().max().unwrap_or(0);
        let total: usize = counts.iter().flatten().sum();
        let correct: usize = (0..k).map(|i| counts[i][i]).sum();
        let shade = counts
            .iter()
            .map(|r| {
                r.iter()
                    .map(|&c| (c as f64 / max.max(1) as f64).sqrt())
                    .collect()
            })
            .collect();
        let cells = counts
            .iter()
            .map(|r| {
                r.iter()
                    .map(|&c| if c == 0 { String::new() } else { c.to_string() })
                    .collect()
            })
            .collect();
        let title = self.title_or(format!(
            "Confusion matrix: {} plots, accuracy {:.3}",
            fmt_num(total as f64),
            correct as f64 / total.max(1) as f64
        ));
        let map = Heatmap {
            row_labels: row_labels(cm),
            col_labels: cm.names().to_vec(),
            shade,
            cells,
            ticks: count_ticks(max),
            bar_desc: "plots (square-root scale)".into(),
            x_desc: self.x_or("predicted genre"),
            y_desc: self.y_or("true genre (plots)"),
        };
        let (w, h) = heatmap_size(k);
        Figure::render(title, self.size_or(w, h), &map)
    }

    /// Row-normalised confusion matrix: each cell is the percentage of the true genre's plots
    /// predicted as the column's genre (the diagonal is each genre's recall), annotated in
    /// whole percent ("<1" for a non-zero share below 0.5 %). Same layout as
    /// [`PlotConfig::confusion_matrix`].
    pub fn confusion_matrix_normalized(&self, cm: &ConfusionMatrix) -> Result<Figure> {
        let norm = cm.normalized();
        let k = cm.n_classes();
        let cells = norm
            .iter()
            .map(|r| {
                r.iter()
                    .map(|&v| {
                        let p = 100.0 * v;
                        if v <= 0.0 {
                            String::new()
                        } else if p < 0.5 {
                            "<1".into()
                        } else {
                            format!("{}", p.round() as i64)
                        }
                    })
                    .collect()
            })
            .collect();
        let mean_recall = (0..k).map(|i| norm[i][i]).sum::<f64>() / k.max(1) as f64;
        let title = self.title_or(format!(
            "Confusion matrix, row-normalised (% of true genre); mean recall {mean_recall:.3}"
        ));
        let map = Heatmap {
            row_labels: row_labels(cm),
            col_labels: cm.names().to_vec(),
            shade: norm,
            cells,
            ticks: (0..=4)
                .map(|i| (i as f64 / 4.0, format!("{}%", i * 25)))
                .collect(),
            bar_desc: "share of the true genre's plots".into(),
            x_desc: self.x_or("predicted genre"),
            y_desc: self.y_or("true genre (plots)"),
        };
        let (w, h) = heatmap_size(k);
        Figure::render(title, self.size_or(w, h), &map)
    }
}

fn row_labels(cm: &ConfusionMatrix) -> Vec<String> {
    cm.counts()
        .iter()
        .zip(cm.names())
        .map(|(r, n)| format!("{n} ({})", r.iter().sum::<usize>()))
        .collect()
}

// ---------------------------------------------------------------- ROC / PR

struct Line {
    label: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    dashed: bool,
    width: u32,
}

struct CurvePlot {
    lines: Vec<Line>,
    x_desc: String,
    y_desc: String,
    chance: Option<Vec<(f64, f64)>>,
    legend_head: String,
    note: Option<String>,
}

impl Paint for CurvePlot {
    fn paint<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let size = 12.0;
        let mut labels: Vec<&str> = self.lines.iter().map(|l| l.label.as_str()).collect();
        labels.push(&self.legend_head);
        if let Some(n) = &self.note {
            labels.push(n);
        }
        let legend_w = (max_text_width(area, &labels, &text(size))? + 44).max(150);
        let (w, _) = area.dim_in_pixel();
        let (plot, side) = area.split_horizontally(w.saturating_sub(legend_w));
        let mut chart = ChartBuilder::on(&plot)
            .margin_right(14)
            .margin_top(8)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..1.0, 0f64..1.02)
            .plot()?;
        chart
            .configure_mesh()
            .x_desc(&self.x_desc)
            .y_desc(&self.y_desc)
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .label_style(text(13.0))
            .axis_desc_style(text(15.0))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.1))
            .draw()
            .plot()?;
        if let Some(ch) = &self.chance {
            chart
                .draw_series(DashedLineSeries::new(
                    ch.clone(),
                    5,
                    5,
                    BLACK.mix(0.35).stroke_width(1),
                ))
                .plot()?;
        }
        // Per-class lines first, the averages on top.
        for l in self.lines.iter().rev() {
            let style = l.color.stroke_width(l.width);
            if l.dashed {
                chart
                    .draw_series(DashedLineSeries::new(l.points.clone(), 8, 4, style))
                    .plot()?;
            } else {
                chart
                    .draw_series(LineSeries::new(l.points.clone(), style))
                    .plot()?;
            }
        }
        let mut entries: Vec<Entry> = self
            .lines
            .iter()
            .map(|l| Entry {
                label: l.label.clone(),
                color: l.color,
                mark: if l.dashed { Mark::Dashed } else { Mark::Line },
            })
            .collect();
        if let Some(n) = &self.note {
            entries.push(Entry {
                label: n.clone(),
                color: WHITE,
                mark: Mark::Box,
            });
        }
        legend(
            &side.margin(10, 0, 6, 0),
            Some(&self.legend_head),
            &entries,
            size,
        )
    }
}

/// The classes drawn one by one: those with a curve, most positives first, at most `k`
/// (all when `k == 0`).
fn top_classes(curves: &Curves, k: usize, has: impl Fn(usize) -> bool) -> (Vec<usize>, usize) {
    let mut idx: Vec<usize> = curves
        .classes()
        .iter()
        .filter(|c| has(c.class))
        .map(|c| c.class)
        .collect();
    let available = idx.len();
    idx.sort_by(|&a, &b| {
        let (ca, cb) = (&curves.classes()[a], &curves.classes()[b]);
        cb.positives.cmp(&ca.positives).then(a.cmp(&b))
    });
    if k > 0 {
        idx.truncate(k);
    }
    (idx, available)
}

/// `y` of the piecewise-linear curve `(xs, ys)` (xs non-decreasing) at `x`; at a vertical
/// jump, the highest `y`.
fn interp(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let i = xs.partition_point(|&v| v <= x);
    if i == 0 {
        return ys.first().copied().unwrap_or(0.0);
    }
    if i >= xs.len() {
        return ys.last().copied().unwrap_or(0.0);
    }
    let (x0, x1, y0, y1) = (xs[i - 1], xs[i], ys[i - 1], ys[i]);
    if x1 <= x0 {
        y1
    } else {
        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }
}

/// 600 px, or more when the legend needs it (19 px per line, plus heading and note).
fn curve_height(lines: usize) -> u32 {
    (150 + 19 * (lines as u32 + 2)).max(600)
}

const MICRO: RGBColor = RGBColor(0, 0, 0);
const MACRO: RGBColor = RGBColor(0x70, 0x70, 0x70);
const EPS: f64 = 0.0015;

impl PlotConfig {
    fn k_or_default(&self) -> usize {
        self.top_k.unwrap_or(8)
    }

    /// One-vs-rest ROC curves: the micro average (black, dashed), the macro average (grey,
    /// dashed: mean true-positive rate over the classes at each false-positive rate) and one
    /// curve per class for the [`PlotConfig::top_k`] most frequent classes (default 8), in
    /// genre colours; the legend gives each AUC and positive count, the chance diagonal is
    /// dashed. Default 860 × 600 px, taller when the legend needs it (`top_k(0)`).
    ///
    /// Errors: no class has a ROC curve (every class absent or all samples one class;
    /// [`Error::Config`]).
    pub fn roc_curves(&self, curves: &Curves) -> Result<Figure> {
        let (shown, available) = top_classes(curves, self.k_or_default(), |c| {
            curves.classes()[c].roc.is_some()
        });
        if available == 0 {
            return Err(Error::Config(
                "roc_curves: no class has both positives and negatives".into(),
            ));
        }
        let mut lines = Vec::new();
        if let (Some(roc), Some(auc)) = (curves.micro_roc(), curves.micro_roc_auc()) {
            lines.push(Line {
                label: format!("micro-average: AUC {auc:.3}"),
                color: MICRO,
                points: thin(roc.fpr.iter().copied().zip(roc.tpr.iter().copied()), EPS),
                dashed: true,
                width: 3,
            });
        }
        if let Some(auc) = curves.macro_roc_auc() {
            let rocs: Vec<_> = curves
                .classes()
                .iter()
                .filter_map(|c| c.roc.as_ref())
                .collect();
            let grid = (0..=500).map(|i| i as f64 / 500.0);
            let pts: Vec<(f64, f64)> = grid
                .map(|x| {
                    let m = rocs.iter().map(|r| interp(&r.fpr, &r.tpr, x)).sum::<f64>()
                        / rocs.len() as f64;
                    (x, m)
                })
                .collect();
            lines.push(Line {
                label: format!("macro-average: AUC {auc:.3}"),
                color: MACRO,
                points: thin(std::iter::once((0.0, 0.0)).chain(pts), EPS),
                dashed: true,
                width: 3,
            });
        }
        for &c in &shown {
            let cc = &curves.classes()[c];
            if let (Some(roc), Some(auc)) = (&cc.roc, cc.roc_auc) {
                lines.push(Line {
                    label: format!("{}: AUC {auc:.3} (n={})", cc.name, cc.positives),
                    color: genre_rgb(&cc.name),
                    points: thin(roc.fpr.iter().copied().zip(roc.tpr.iter().copied()), EPS),
                    dashed: false,
                    width: 2,
                });
            }
        }
        let title = self.title_or(format!(
            "ROC curves, one-vs-rest: micro-AUC {}, macro-AUC {}",
            curves
                .micro_roc_auc()
                .map_or("n/a".into(), |a| format!("{a:.3}")),
            curves
                .macro_roc_auc()
                .map_or("n/a".into(), |a| format!("{a:.3}"))
        ));
        let plot = CurvePlot {
            lines,
            x_desc: self.x_or("false positive rate"),
            y_desc: self.y_or("true positive rate"),
            chance: Some(vec![(0.0, 0.0), (1.0, 1.0)]),
            legend_head: "ROC-AUC (positives)".into(),
            note: (shown.len() < available)
                .then(|| format!("{} most frequent of {available} classes", shown.len())),
        };
        let h = curve_height(plot.lines.len());
        Figure::render(title, self.size_or(860, h), &plot)
    }

    /// One-vs-rest precision-recall curves: the micro average (black, dashed) and one curve per
    /// class for the [`PlotConfig::top_k`] most frequent classes (default 8) in genre colours,
    /// the legend giving each average precision and positive count; the macro AP is in the
    /// title. Default 860 × 600 px, taller when the legend needs it (`top_k(0)`).
    ///
    /// Errors: no class has positives ([`Error::Config`]).
    pub fn pr_curves(&self, curves: &Curves) -> Result<Figure> {
        let (shown, available) = top_classes(curves, self.k_or_default(), |c| {
            curves.classes()[c].pr.is_some()
        });
        if available == 0 {
            return Err(Error::Config("pr_curves: no class has positives".into()));
        }
        let micro = curves.micro_pr();
        let mut lines = vec![Line {
            label: format!("micro-average: AP {:.3}", curves.micro_average_precision()),
            color: MICRO,
            points: thin(
                micro
                    .recall
                    .iter()
                    .copied()
                    .zip(micro.precision.iter().copied()),
                EPS,
            ),
            dashed: true,
            width: 3,
        }];
        for &c in &shown {
            let cc = &curves.classes()[c];
            if let (Some(pr), Some(ap)) = (&cc.pr, cc.average_precision) {
                lines.push(Line {
                    label: format!("{}: AP {ap:.3} (n={})", cc.name, cc.positives),
                    color: genre_rgb(&cc.name),
                    points: thin(
                        pr.recall.iter().copied().zip(pr.precision.iter().copied()),
                        EPS,
                    ),
                    dashed: false,
                    width: 2,
                });
            }
        }
        let title = self.title_or(format!(
            "Precision-recall, one-vs-rest: micro-AP {:.3}, macro-AP {}",
            curves.micro_average_precision(),
            curves
                .macro_average_precision()
                .map_or("n/a".into(), |a| format!("{a:.3}"))
        ));
        let plot = CurvePlot {
            lines,
            x_desc: self.x_or("recall"),
            y_desc: self.y_or("precision"),
            chance: None,
            legend_head: "average precision (positives)".into(),
            note: (shown.len() < available)
                .then(|| format!("{} most frequent of {available} classes", shown.len())),
        };
        let h = curve_height(plot.lines.len());
        Figure::render(title, self.size_or(860, h), &plot)
    }

    /// Per-class F1 as horizontal bars sorted by F1 (best at the top), in genre colours, each
    /// labelled with its F1 and support; a dashed line marks the macro-F1. Default 800 ×
    /// (130 + 22 per class) px.
    pub fn per_class_f1(&self, report: &ClassificationReport) -> Result<Figure> {
        let pc = report.per_class();
        let mut order: Vec<usize> = (0..report.names().len()).collect();
        order.sort_by(|&a, &b| {
            pc.f1[b]
                .total_cmp(&pc.f1[a])
                .then(pc.support[b].cmp(&pc.support[a]))
                .then(a.cmp(&b))
        });
        let names: Vec<String> = order.iter().map(|&i| report.names()[i].clone()).collect();
        let values: Vec<f64> = order.iter().map(|&i| pc.f1[i]).collect();
        let labels = order
            .iter()
            .map(|&i| format!("{:.2} (n={})", pc.f1[i], pc.support[i]))
            .collect();
        let max = values.iter().copied().fold(0.0, f64::max);
        let macro_f1 = report.macro_f1();
        let bars = Bars {
            colors: name_colors(&names),
            values,
            labels,
            x_desc: self.x_or("F1 (one class against the rest)"),
            y_desc: self.y_or("genre"),
            x_max: (max * 1.3).max(0.1),
            log_floor: None,
            reference: Some((macro_f1, format!("macro-F1 {macro_f1:.3}"))),
            names,
        };
        let title = self.title_or(format!(
            "Per-class F1: macro-F1 {:.3}, accuracy {:.3} ({} plots)",
            macro_f1,
            report.accuracy(),
            fmt_num(report.samples() as f64)
        ));
        let n = bars.names.len();
        bar_figure(title, self.size_or(800, bars_height(n)), bars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Labels;

    #[test]
    fn ticks_and_interp() {
        let t = count_ticks(300);
        assert_eq!(t.first().unwrap().1, "0");
        assert_eq!(t.last().unwrap(), &(1.0, "300".to_string()));
        assert!(t.windows(2).all(|w| w[1].0 > w[0].0));
        assert_eq!(interp(&[0.0, 0.5, 1.0], &[0.0, 1.0, 1.0], 0.25), 0.5);
        assert_eq!(interp(&[0.0, 0.0, 1.0], &[0.0, 0.6, 1.0], 0.0), 0.6);
    }

    #[test]
    fn small_evaluation_figures() {
        let labels = Labels::from_names(["comedy", "drama", "horror"]);
        let y = [0, 1, 1, 2, 2, 0];
        let p = [0, 1, 2, 2, 1, 1];
        let scores: Vec<f64> = vec![
            0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.3, 0.5, 0.1, 0.2, 0.7, 0.3, 0.4, 0.3, 0.3, 0.4,
            0.3,
        ];
        let cm = ConfusionMatrix::new(&y, &p, &labels).unwrap();
        let curves = Curves::one_vs_rest(&y, &scores, &labels).unwrap();
        let report = ClassificationReport::new(&y, &p, &labels).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let paths = super::super::evaluation_figures(&report, &cm, &curves, dir.path()).unwrap();
        assert_eq!(paths.len(), 10);
        assert!(paths.iter().all(|p| p.is_file()));
        let roc = PlotConfig::new().top_k(1).roc_curves(&curves).unwrap();
        assert!(roc.svg().contains("most frequent of 3"));
        let other = ConfusionMatrix::new(&y, &p, &Labels::from_names(["a", "b", "c"])).unwrap();
        assert!(matches!(
            super::super::evaluation_figures(&report, &other, &curves, dir.path()),
            Err(Error::Config(_))
        ));
    }
}
