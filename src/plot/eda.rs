//! Exploratory figures: genre counts, plot lengths, top terms per genre, a 2-D document map.

use super::draw::{
    fmt_num, hbars, legend, log_ticks, max_text_width, put, put_vertical, rel, Entry, HBars, Mark,
};
use super::figure::{bold, text, Figure, OrPlot, Paint};
use super::palette::{genre_rgb, lighten, name_colors};
use super::PlotConfig;
use crate::data::Dataset;
use crate::display::Table;
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::collections::HashMap;

/// Top terms per genre as `(genre, [(term, score)])`, best term first: the input of
/// [`super::top_terms`].
pub type TermScores = Vec<(String, Vec<(String, f64)>)>;

/// Reads a `top_terms` table (columns `genre`, `term` and a score column `z`, as
/// [`crate::eda::top_terms`] returns) into [`TermScores`], genres in table order.
///
/// Errors: a missing or mistyped column ([`Error::Polars`]).
pub fn terms_from_table(table: &Table) -> Result<TermScores> {
    let genre = table.column("genre")?.str()?.clone();
    let term = table.column("term")?.str()?.clone();
    let z = table.column("z")?.f64()?.clone();
    let mut out: TermScores = Vec::new();
    for ((g, t), s) in genre.iter().zip(term.iter()).zip(z.iter()) {
        let (Some(g), Some(t), Some(s)) = (g, t, s) else {
            continue;
        };
        match out.iter_mut().find(|(name, _)| name == g) {
            Some((_, v)) => v.push((t.to_string(), s)),
            None => out.push((g.to_string(), vec![(t.to_string(), s)])),
        }
    }
    Ok(out)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let x = q * (sorted.len() - 1) as f64;
    let (i, f) = (x.floor() as usize, x - x.floor());
    if i + 1 < sorted.len() {
        sorted[i] + (sorted[i + 1] - sorted[i]) * f
    } else {
        sorted[i]
    }
}

fn check_names<S: AsRef<str>>(names: &[S], what: &str) -> Result<Vec<String>> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let n = n.as_ref().trim();
            if n.is_empty() {
                Err(Error::Config(format!("{what}[{i}] is an empty name")))
            } else {
                Ok(n.to_string())
            }
        })
        .collect()
}

// ---------------------------------------------------------------- genre counts

/// A horizontal bar figure's content (see [`HBars`]).
pub(crate) struct Bars {
    pub names: Vec<String>,
    pub values: Vec<f64>,
    pub labels: Vec<String>,
    pub x_desc: String,
    pub y_desc: String,
    pub x_max: f64,
    pub log_floor: Option<f64>,
    pub reference: Option<(f64, String)>,
    pub colors: Vec<RGBColor>,
}

impl Paint for Bars {
    fn paint<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let size = if self.names.len() > 20 { 13.0 } else { 14.0 };
        hbars(
            area,
            &HBars {
                names: &self.names,
                values: &self.values,
                colors: &self.colors,
                value_labels: &self.labels,
                x_desc: &self.x_desc,
                y_desc: &self.y_desc,
                x_max: self.x_max,
                log_floor: self.log_floor,
                reference: self.reference.clone(),
                label_size: size,
            },
        )
    }
}

/// Height that gives each of `n` bars about 22 px.
pub(crate) fn bars_height(n: usize) -> u32 {
    (130 + 22 * n as u32).max(360)
}

pub(crate) fn bar_figure(title: String, size: (u32, u32), bars: Bars) -> Result<Figure> {
    Figure::render(title, size, &bars)
}

impl PlotConfig {
    /// Genre counts of a labelled dataset as horizontal bars sorted by count (largest at the
    /// top), each labelled with its count and share, coloured by genre. Default 800 px wide.
    ///
    /// Errors: an unlabelled or empty dataset ([`Error::Config`]).
    pub fn genre_distribution(&self, ds: &Dataset) -> Result<Figure> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for (i, g) in ds.genres().into_iter().enumerate() {
            let g = g.ok_or_else(|| {
                Error::Config(format!(
                    "genre_distribution needs labelled rows; row {i} has no genre"
                ))
            })?;
            *counts.entry(g).or_default() += 1;
        }
        let pairs: Vec<(&str, usize)> = counts.into_iter().collect();
        self.genre_counts(&pairs)
    }

    /// `(genre, count)` pairs as horizontal bars sorted by count (ties by name), each labelled
    /// with its count and share of the total, coloured by genre. Default 800 × (130 + 22 per
    /// genre) px.
    ///
    /// Errors: no pairs, an empty name or a zero total ([`Error::Config`]).
    pub fn genre_counts<S: AsRef<str>>(&self, counts: &[(S, usize)]) -> Result<Figure> {
        let names = check_names(
            &counts.iter().map(|(n, _)| n.as_ref()).collect::<Vec<_>>(),
            "genre",
        )?;
        let total: usize = counts.iter().map(|c| c.1).sum();
        if counts.is_empty() || total == 0 {
            return Err(Error::Config(
                "genre_counts needs at least one genre with a positive count".into(),
            ));
        }
        let mut rows: Vec<(String, usize)> =
            names.into_iter().zip(counts.iter().map(|c| c.1)).collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let max = rows[0].1 as f64;
        let labels = rows
            .iter()
            .map(|(_, c)| format!("{c} ({:.1}%)", 100.0 * *c as f64 / total as f64))
            .collect();
        let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let bars = Bars {
            colors: names.iter().map(|n| genre_rgb(n)).collect(),
            values: rows.iter().map(|r| r.1 as f64).collect(),
            labels,
            x_desc: self.x_or("plots"),
            y_desc: self.y_or("genre"),
            x_max: max * 1.2,
            log_floor: None,
            reference: None,
            names,
        };
        let title = self.title_or(format!(
            "Genre distribution: {} plots, {} genres",
            fmt_num(total as f64),
            rows.len()
        ));
        bar_figure(title, self.size_or(800, bars_height(rows.len())), bars)
    }
}

// ---------------------------------------------------------------- length histogram

struct Histogram {
    edges: Vec<f64>,
    counts: Vec<usize>,
    median: f64,
    overflow: usize,
    x_desc: String,
    y_desc: String,
}

impl Paint for Histogram {
    fn paint<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let x_max = *self.edges.last().unwrap_or(&1.0);
        let y_max = self.counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.12;
        let mut chart = ChartBuilder::on(area)
            .margin_right(16)
            .margin_top(8)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .plot()?;
        chart
            .configure_mesh()
            .x_desc(&self.x_desc)
            .y_desc(&self.y_desc)
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .label_style(text(13.0))
            .axis_desc_style(text(15.0))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .plot()?;
        let color = RGBColor(0x00, 0x72, 0xB2);
        chart
            .draw_series(self.counts.iter().enumerate().map(|(i, &c)| {
                Rectangle::new(
                    [(self.edges[i], 0.0), (self.edges[i + 1], c as f64)],
                    color.mix(0.85).filled(),
                )
            }))
            .plot()?;
        chart
            .draw_series(self.counts.iter().enumerate().map(|(i, &c)| {
                Rectangle::new(
                    [(self.edges[i], 0.0), (self.edges[i + 1], c as f64)],
                    WHITE.stroke_width(1),
                )
            }))
            .plot()?;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(self.median, 0.0), (self.median, y_max)],
                6,
                4,
                BLACK.stroke_width(2),
            ))
            .plot()?;
        let (px, py) = rel(area, chart.backend_coord(&(self.median, y_max)));
        put(
            area,
            &format!("median {}", fmt_num(self.median)),
            &text(13.0),
            (px + 5, py + 4),
            HPos::Left,
            VPos::Top,
        )?;
        if self.overflow > 0 {
            let (px, py) = rel(area, chart.backend_coord(&(x_max, y_max)));
            put(
                area,
                &format!(
                    "last bar also counts {} longer plots",
                    fmt_num(self.overflow as f64)
                ),
                &text(12.0),
                (px - 6, py + 24),
                HPos::Right,
                VPos::Top,
            )?;
        }
        Ok(())
    }
}

impl PlotConfig {
    /// Histogram of plot lengths: 40 equal bins up to the 99th percentile (longer plots are
    /// counted in the last bin, and the figure says how many), the median marked. `unit` names
    /// what a length counts ("words", "characters"). Default 800 × 480 px.
    ///
    /// Errors: no lengths ([`Error::Config`]).
    pub fn length_histogram(&self, lengths: &[usize], unit: &str) -> Result<Figure> {
        if lengths.is_empty() {
            return Err(Error::Config(
                "length_histogram needs at least one length".into(),
            ));
        }
        let mut sorted: Vec<f64> = lengths.iter().map(|&l| l as f64).collect();
        sorted.sort_by(f64::total_cmp);
        let median = percentile(&sorted, 0.5);
        let upper = percentile(&sorted, 0.99).max(1.0).ceil();
        let bins = 40usize;
        let width = (upper / bins as f64).max(f64::MIN_POSITIVE);
        let edges: Vec<f64> = (0..=bins).map(|i| i as f64 * width).collect();
        let mut counts = vec![0usize; bins];
        let mut overflow = 0;
        for &l in &sorted {
            let b = (l / width).floor() as usize;
            if l > upper {
                overflow += 1;
            }
            counts[b.min(bins - 1)] += 1;
        }
        let title = self.title_or(format!(
            "Plot length: {} plots, median {} {unit}",
            fmt_num(lengths.len() as f64),
            fmt_num(median)
        ));
        let h = Histogram {
            edges,
            counts,
            median,
            overflow,
            x_desc: self.x_or(&format!("{unit} per plot")),
            y_desc: self.y_or("plots"),
        };
        Figure::render(title, self.size_or(800, 480), &h)
    }
}

// ---------------------------------------------------------------- box plots per genre

struct BoxStats {
    name: String,
    n: usize,
    q1: f64,
    median: f64,
    q3: f64,
    lo: f64,
    hi: f64,
    outliers: Vec<f64>,
}

struct Boxes {
    boxes: Vec<BoxStats>,
    x_desc: String,
    y_desc: String,
    floor: f64,
    ceil: f64,
}

impl Paint for Boxes {
    fn paint<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let n = self.boxes.len();
        let size = if n > 20 { 13.0 } else { 14.0 };
        let labels: Vec<String> = self
            .boxes
            .iter()
            .map(|b| format!("{} ({})", b.name, b.n))
            .collect();
        let name_w = max_text_width(area, &labels, &text(size))? as i32;
        // The chart runs over log10 of the lengths; ticks are drawn by `log_ticks`.
        let (lo, hi) = (self.floor.log10(), self.ceil.log10());
        let mut chart = ChartBuilder::on(area)
            .margin_right(16)
            .margin_top(6)
            .x_label_area_size(44)
            .y_label_area_size(name_w + 36)
            .build_cartesian_2d(lo..hi, 0f64..n as f64)
            .plot()?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(0)
            .x_desc(&self.x_desc)
            .y_desc(&self.y_desc)
            .label_style(text(13.0))
            .axis_desc_style(text(15.0))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .plot()?;
        log_ticks(area, &chart, lo, hi, (0.0, n as f64))?;
        let l = |v: f64| v.max(f64::MIN_POSITIVE).log10();
        for (i, b) in self.boxes.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let c = genre_rgb(&b.name);
            let (y0, y1, ym) = (y + 0.2, y + 0.8, y + 0.5);
            let thin = c.stroke_width(1);
            chart
                .draw_series([
                    PathElement::new(vec![(l(b.lo), ym), (l(b.q1), ym)], thin),
                    PathElement::new(vec![(l(b.q3), ym), (l(b.hi), ym)], thin),
                    PathElement::new(vec![(l(b.lo), y + 0.32), (l(b.lo), y + 0.68)], thin),
                    PathElement::new(vec![(l(b.hi), y + 0.32), (l(b.hi), y + 0.68)], thin),
                ])
                .plot()?;
            chart
                .draw_series([
                    Rectangle::new([(l(b.q1), y0), (l(b.q3), y1)], lighten(c, 0.45).filled()),
                    Rectangle::new([(l(b.q1), y0), (l(b.q3), y1)], c.stroke_width(1)),
                ])
                .plot()?;
            chart
                .draw_series([PathElement::new(
                    vec![(l(b.median), y0), (l(b.median), y1)],
                    BLACK.stroke_width(2),
                )])
                .plot()?;
            chart
                .draw_series(
                    b.outliers
                        .iter()
                        .map(|&o| Circle::new((l(o), ym), 2, c.mix(0.6).stroke_width(1))),
                )
                .plot()?;
            let (x_axis, _) = chart.backend_coord(&(lo, 0.0));
            let (_, py) = chart.backend_coord(&(lo, ym));
            let (x, y) = rel(area, (x_axis, py));
            put(
                area,
                &labels[i],
                &text(size),
                (x - 6, y),
                HPos::Right,
                VPos::Center,
            )?;
        }
        Ok(())
    }
}

impl PlotConfig {
    /// One horizontal box plot per genre (sorted by median, longest at the top) on a log axis:
    /// box from the 25th to the 75th percentile, median line, whiskers to the furthest length
    /// within 1.5 IQR, longer or shorter lengths as circles; labels give each genre's count.
    /// `genres[i]` is the genre of `lengths[i]`; lengths of 0 are drawn at 1. Default 800 ×
    /// (130 + 22 per genre) px.
    ///
    /// Errors: empty input, lengths that disagree or an empty genre name ([`Error::Config`]).
    pub fn lengths_by_genre<S: AsRef<str>>(
        &self,
        genres: &[S],
        lengths: &[usize],
        unit: &str,
    ) -> Result<Figure> {
        if genres.is_empty() || genres.len() != lengths.len() {
            return Err(Error::Config(format!(
                "lengths_by_genre needs one genre per length, got {} genres and {} lengths",
                genres.len(),
                lengths.len()
            )));
        }
        let names = check_names(genres, "genres")?;
        let mut groups: HashMap<&str, Vec<f64>> = HashMap::new();
        for (g, &l) in names.iter().zip(lengths) {
            groups.entry(g).or_default().push((l as f64).max(1.0));
        }
        let mut boxes: Vec<BoxStats> = groups
            .into_iter()
            .map(|(g, mut v)| {
                v.sort_by(f64::total_cmp);
                let (q1, median, q3) = (
                    percentile(&v, 0.25),
                    percentile(&v, 0.5),
                    percentile(&v, 0.75),
                );
                let iqr = q3 - q1;
                let (lo_fence, hi_fence) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
                let lo = v.iter().copied().find(|&x| x >= lo_fence).unwrap_or(q1);
                let hi = v
                    .iter()
                    .rev()
                    .copied()
                    .find(|&x| x <= hi_fence)
                    .unwrap_or(q3);
                let outliers = v.iter().copied().filter(|&x| x < lo || x > hi).collect();
                BoxStats {
                    name: g.to_string(),
                    n: v.len(),
                    q1,
                    median,
                    q3,
                    lo,
                    hi,
                    outliers,
                }
            })
            .collect();
        boxes.sort_by(|a, b| {
            b.median
                .total_cmp(&a.median)
                .then_with(|| a.name.cmp(&b.name))
        });
        let min = lengths.iter().copied().min().unwrap_or(1).max(1) as f64;
        let max = lengths.iter().copied().max().unwrap_or(1).max(2) as f64;
        let n = boxes.len();
        let title = self.title_or(format!(
            "Plot length per genre ({unit}, log scale), {} plots",
            fmt_num(lengths.len() as f64)
        ));
        let b = Boxes {
            boxes,
            x_desc: self.x_or(&format!("{unit} per plot (log scale)")),
            y_desc: self.y_or("genre (plots)"),
            floor: (min / 1.25).max(0.5),
            ceil: max * 1.25,
        };
        Figure::render(title, self.size_or(800, bars_height(n)), &b)
    }

    /// Words per plot (whitespace-separated tokens), one box per genre, from a labelled
    /// dataset; see [`PlotConfig::lengths_by_genre`].
    ///
    /// Errors: an unlabelled or empty dataset ([`Error::Config`]).
    pub fn text_lengths(&self, ds: &Dataset) -> Result<Figure> {
        let genres: Vec<&str> = ds
            .genres()
            .into_iter()
            .enumerate()
            .map(|(i, g)| {
                g.ok_or_else(|| {
                    Error::Config(format!(
                        "text_lengths needs labelled rows; row {i} has no genre"
                    ))
                })
            })
            .collect::<Result<_>>()?;
        let lengths: Vec<usize> = ds
            .texts()
            .iter()
            .map(|t| t.split_whitespace().count())
            .collect();
        self.lengths_by_genre(&genres, &lengths, "words")
    }
}

// ---------------------------------------------------------------- top terms

struct Terms {
    panels: Vec<(String, Vec<(String, f64)>)>,
    cols: usize,
    x_desc: String,
    y_desc: String,
}

impl Paint for Terms {
    fn paint<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let (w, h) = area.dim_in_pixel();
        let (w, h) = (w as i32, h as i32);
        put_vertical(area, &self.y_desc, 15.0, (10, h / 2))?;
        put(
            area,
            &self.x_desc,
            &text(15.0),
            (w / 2, h - 4),
            HPos::Center,
            VPos::Bottom,
        )?;
        let grid = area.margin(0, 26, 24, 0);
        let rows = self.panels.len().div_ceil(self.cols);
        let cells = grid.split_evenly((rows, self.cols));
        for (cell, (genre, terms)) in cells.iter().zip(&self.panels) {
            let term_names: Vec<String> = terms.iter().map(|t| t.0.clone()).collect();
            let label = text(11.0);
            let term_w = max_text_width(cell, &term_names, &label)? as i32;
            let max = terms.iter().map(|t| t.1).fold(0.0, f64::max);
            let min = terms.iter().map(|t| t.1).fold(0.0, f64::min);
            let span = (max - min).max(1e-9);
            let k = terms.len().max(1);
            let c = genre_rgb(genre);
            let mut chart = ChartBuilder::on(cell)
                .caption(genre, bold(13.0))
                .margin(4)
                .margin_right(10)
                .x_label_area_size(18)
                .y_label_area_size(term_w + 8)
                .build_cartesian_2d(min..max + span * 0.05, 0f64..k as f64)
                .plot()?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(0)
                .x_labels(3)
                .x_label_formatter(&|v| fmt_num(*v))
                .label_style(text(10.0))
                .light_line_style(TRANSPARENT)
                .bold_line_style(BLACK.mix(0.1))
                .draw()
                .plot()?;
            chart
                .draw_series(terms.iter().enumerate().map(|(i, (_, s))| {
                    let y = (k - 1 - i) as f64;
                    Rectangle::new([(0.0, y + 0.14), (*s, y + 0.86)], c.filled())
                }))
                .plot()?;
            for (i, t) in term_names.iter().enumerate() {
                let y = (k - 1 - i) as f64 + 0.5;
                let (x_axis, _) = chart.backend_coord(&(min, 0.0));
                let (_, py) = chart.backend_coord(&(min, y));
                let (x, y) = rel(cell, (x_axis, py));
                put(cell, t, &label, (x - 3, y), HPos::Right, VPos::Center)?;
            }
        }
        Ok(())
    }
}

impl PlotConfig {
    /// The top terms of each genre as small multiples: one panel per genre (in input order,
    /// five per row when there are more than twelve), its terms as bars of their score, best at
    /// the top. Each panel has its own score scale. `terms`: `(genre, [(term, score)])`, e.g.
    /// from [`terms_from_table`] of [`crate::eda::top_terms`]. Default 1200 px wide, 24 px per
    /// term row.
    ///
    /// Errors: no genres, a genre without terms, an empty name or a non-finite score
    /// ([`Error::Config`]).
    pub fn top_terms<G: AsRef<str>, T: AsRef<str>>(
        &self,
        terms: &[(G, Vec<(T, f64)>)],
    ) -> Result<Figure> {
        if terms.is_empty() {
            return Err(Error::Config("top_terms needs at least one genre".into()));
        }
        let mut panels = Vec::with_capacity(terms.len());
        for (g, list) in terms {
            let g = g.as_ref().trim();
            if g.is_empty() || list.is_empty() {
                return Err(Error::Config(format!(
                    "top_terms: genre {g:?} needs a name and at least one term"
                )));
            }
            let mut v = Vec::with_capacity(list.len());
            for (t, s) in list {
                if !s.is_finite() || t.as_ref().trim().is_empty() {
                    return Err(Error::Config(format!(
                        "top_terms: genre {g}: term {:?} has score {s}",
                        t.as_ref()
                    )));
                }
                v.push((t.as_ref().trim().to_string(), *s));
            }
            panels.push((g.to_string(), v));
        }
        let n = panels.len();
        let cols = if n > 12 { 5 } else { n.min(4) };
        let rows = n.div_ceil(cols);
        let k = panels.iter().map(|p| p.1.len()).max().unwrap_or(1);
        let panel_h = 52 + 17 * k as u32;
        let width = if cols >= 5 {
            1200
        } else {
            (300 * cols as u32).max(600)
        };
        let title = self.title_or(format!("Top {k} terms per genre ({n} genres)"));
        let t = Terms {
            panels,
            cols,
            x_desc: self.x_or("score (log-odds z, informative Dirichlet prior)"),
            y_desc: self.y_or("term"),
        };
        Figure::render(title, self.size_or(width, 80 + rows as u32 * panel_h), &t)
    }
}

// ---------------------------------------------------------------- document map

struct Map {
    points: Vec<(f64, f64)>,
    labels: Vec<usize>,
    names: Vec<String>,
    colors: Vec<RGBColor>,
    order: Vec<usize>,
    counts: Vec<usize>,
    x_desc: String,
    y_desc: String,
    legend_head: String,
}

impl Paint for Map {
    fn paint<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let entries: Vec<Entry> = self
            .order
            .iter()
            .map(|&g| Entry {
                label: format!("{} ({})", self.names[g], self.counts[g]),
                color: self.colors[g],
                mark: Mark::Box,
            })
            .collect();
        let labels: Vec<&str> = entries.iter().map(|e| e.label.as_str()).collect();
        let legend_w = (max_text_width(area, &labels, &text(12.0))? + 44).max(120);
        let (w, _) = area.dim_in_pixel();
        let (plot, side) = area.split_horizontally(w.saturating_sub(legend_w));
        let (x0, x1, y0, y1) = self.points.iter().fold(
            (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
            |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
        );
        let px = ((x1 - x0) * 0.04).max(1e-6);
        let py = ((y1 - y0) * 0.04).max(1e-6);
        let mut chart = ChartBuilder::on(&plot)
            .margin_right(12)
            .margin_top(6)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(x0 - px..x1 + px, y0 - py..y1 + py)
            .plot()?;
        chart
            .configure_mesh()
            .x_desc(&self.x_desc)
            .y_desc(&self.y_desc)
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .label_style(text(13.0))
            .axis_desc_style(text(15.0))
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .draw()
            .plot()?;
        let radius = if self.points.len() > 3000 { 2 } else { 3 };
        // Largest groups first, so the small ones stay visible on top.
        for &g in &self.order {
            let c = self.colors[g];
            chart
                .draw_series(
                    self.points
                        .iter()
                        .zip(&self.labels)
                        .filter(|(_, &l)| l == g)
                        .map(|(&p, _)| Circle::new(p, radius, c.mix(0.7).filled())),
                )
                .plot()?;
        }
        legend(
            &side.margin(8, 0, 8, 0),
            Some(&self.legend_head),
            &entries,
            12.0,
        )
    }
}

impl PlotConfig {
    /// Documents as points in a 2-D projection (PCA, SVD, t-SNE, ... computed by the caller),
    /// coloured by group: `labels[i]` indexes `names` for point `i`. Genre names get their
    /// genre colours; other names (clusters) the category colours. The legend lists the
    /// groups by size; large groups are drawn first so small ones stay visible. Default
    /// 800 × 640 px.
    ///
    /// Errors: no points, lengths that disagree, a label `≥ names.len()`, an empty name or a
    /// non-finite coordinate ([`Error::Config`]).
    pub fn document_map<S: AsRef<str>>(
        &self,
        points: &[[f32; 2]],
        labels: &[usize],
        names: &[S],
    ) -> Result<Figure> {
        if points.is_empty() || points.len() != labels.len() {
            return Err(Error::Config(format!(
                "document_map needs one label per point, got {} points and {} labels",
                points.len(),
                labels.len()
            )));
        }
        let names = check_names(names, "names")?;
        let mut counts = vec![0usize; names.len()];
        for (i, &l) in labels.iter().enumerate() {
            if l >= names.len() {
                return Err(Error::Config(format!(
                    "document_map: labels[{i}] = {l} but only {} names",
                    names.len()
                )));
            }
            counts[l] += 1;
        }
        let mut pts = Vec::with_capacity(points.len());
        for (i, p) in points.iter().enumerate() {
            if !p[0].is_finite() || !p[1].is_finite() {
                return Err(Error::Config(format!(
                    "document_map: point {i} = ({}, {}) is not finite",
                    p[0], p[1]
                )));
            }
            pts.push((f64::from(p[0]), f64::from(p[1])));
        }
        let mut order: Vec<usize> = (0..names.len()).filter(|&g| counts[g] > 0).collect();
        order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        let genres = super::palette::all_genres(&names);
        let what = if genres { "genre" } else { "group" };
        let title = self.title_or(format!(
            "{} documents in 2-D, coloured by {what}",
            fmt_num(points.len() as f64)
        ));
        let map = Map {
            colors: name_colors(&names),
            points: pts,
            labels: labels.to_vec(),
            names,
            order,
            counts,
            x_desc: self.x_or("component 1"),
            y_desc: self.y_or("component 2"),
            legend_head: format!("{what} (documents)"),
        };
        Figure::render(title, self.size_or(800, 640), &map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 0.5), 2.5);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 1.0), 4.0);
    }

    #[test]
    fn bad_inputs_are_config_errors() {
        let c = PlotConfig::default();
        assert!(matches!(c.genre_counts::<&str>(&[]), Err(Error::Config(_))));
        assert!(matches!(
            c.lengths_by_genre(&["drama"], &[1, 2], "words"),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            c.document_map(&[[0.0, f32::NAN]], &[0], &["drama"]),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            c.document_map(&[[0.0, 0.0]], &[1], &["drama"]),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            c.top_terms(&[("drama", Vec::<(&str, f64)>::new())]),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn small_figures_render() {
        let f = genre_counts_fig();
        assert_eq!((f.width(), f.height()), (800, 360));
        assert!(f.svg().contains("Genre distribution"));
        assert!(f.svg().contains("drama"));
        let dir = tempfile::tempdir().unwrap();
        let paths = f.save(dir.path(), "g").unwrap();
        assert_eq!(paths.len(), 2);
        assert!(paths[0].ends_with("g.png") && paths[0].is_file());
        assert!(matches!(f.save(dir.path(), "a/b"), Err(Error::Config(_))));
    }

    fn genre_counts_fig() -> Figure {
        PlotConfig::default()
            .genre_counts(&[("drama", 5), ("comedy", 3)])
            .unwrap()
    }

    #[test]
    fn terms_table_round_trip() {
        use polars::prelude::*;
        let df = DataFrame::new(
            3,
            vec![
                Column::new("genre".into(), ["a", "a", "b"]),
                Column::new("term".into(), ["x", "y", "z"]),
                Column::new("z".into(), [2.0, 1.0, 3.0]),
            ],
        )
        .unwrap();
        let t = terms_from_table(&Table::new(df)).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].1, vec![("x".to_string(), 2.0), ("y".to_string(), 1.0)]);
    }
}
