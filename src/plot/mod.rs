//! Figures: every chart of the study as a [`Figure`], rendered to PNG and SVG from plain library
//! values, shown inline in notebooks and saved under [`DEFAULT_OUT_DIR`].
//!
//! Each figure is a function from values the other stages already produce ([`Dataset`],
//! [`ConfusionMatrix`], [`Curves`], [`ClassificationReport`]) or from plain slices, so the
//! plot module needs nothing from the feature or model stages. Every figure has a title and
//! axis labels, text is drawn with the embedded DejaVu Sans (no system font needed), and every
//! genre has one fixed colour in all figures ([`GENRE_COLORS`], [`genre_color`]).
//!
//! | figure | function | file stem in [`evaluation_figures`] |
//! |---|---|---|
//! | genre counts, sorted bars | [`genre_distribution`], [`genre_counts`] | |
//! | plot-length histogram | [`length_histogram`] | |
//! | plot length per genre, box plots | [`lengths_by_genre`], [`text_lengths`] | |
//! | top terms per genre, small multiples | [`top_terms`] | |
//! | documents in 2-D coloured by genre or cluster | [`document_map`] | |
//! | loss and metric per epoch, best epoch marked | [`training_curves`] | |
//! | confusion matrix, counts / row-normalised | [`confusion_matrix`], [`confusion_matrix_normalized`] | `confusion_matrix`, `confusion_matrix_normalized` |
//! | one-vs-rest ROC and PR curves | [`roc_curves`], [`pr_curves`] | `roc_curves`, `pr_curves` |
//! | per-class F1 bars | [`per_class_f1`] | `per_class_f1` |
//! | best macro-F1 and accuracy per model family | [`family_evolution`] | |
//! | inference latency per model | [`latency`] | |
//!
//! The free functions draw with the defaults; [`PlotConfig`] has the same figures as methods,
//! with a size, title, axis labels or number of classes of its own:
//!
//! ```no_run
//! use genre_nlp::prelude::*;
//! let data = Dataset::kaggle(data_file("train_data.txt")?)?;
//! let fig = plot::genre_distribution(&data)?;          // shows itself as a notebook cell's value
//! fig.save(plot::DEFAULT_OUT_DIR, "genres")?;           // artifacts/reports/genres.{png,svg}
//! let big = PlotConfig::new().size(1200, 900).genre_distribution(&data)?;
//! # Ok::<(), genre_nlp::Error>(())
//! ```
//!
//! [`Dataset`]: crate::data::Dataset
//! [`ConfusionMatrix`]: crate::eval::ConfusionMatrix
//! [`Curves`]: crate::eval::Curves
//! [`ClassificationReport`]: crate::eval::ClassificationReport

mod draw;
mod eda;
mod evaluation;
mod figure;
mod palette;
mod study;
mod training;

pub use eda::{terms_from_table, TermScores};
pub use figure::Figure;
pub use palette::{category_color, genre_color, CATEGORY_COLORS, GENRE_COLORS};
pub use study::{FamilyScore, ModelLatency};
pub use training::TrainingCurves;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::{ClassificationReport, ConfusionMatrix, Curves};
use std::path::{Path, PathBuf};

/// Where figures go by default: `artifacts/reports/` (relative to the working directory).
pub const DEFAULT_OUT_DIR: &str = "artifacts/reports";

/// Options shared by every figure, builder style; [`PlotConfig::default`] gives each figure
/// its own default size, title and axis labels. Every figure function is also a method here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlotConfig {
    size: Option<(u32, u32)>,
    title: Option<String>,
    x_label: Option<String>,
    y_label: Option<String>,
    top_k: Option<usize>,
}

impl PlotConfig {
    /// The defaults (same as [`PlotConfig::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Size in pixels (each figure has its own default, about 800 px wide; 64..=8192 allowed).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = Some((width, height));
        self
    }

    /// Replaces the figure's default title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Replaces the default label of the horizontal axis.
    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = Some(label.into());
        self
    }

    /// Replaces the default label of the vertical axis.
    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = Some(label.into());
        self
    }

    /// How many classes the ROC / PR figures draw one curve for (the most frequent ones;
    /// default 8), besides the micro and macro averages. `0` means every class.
    pub fn top_k(mut self, k: usize) -> Self {
        self.top_k = Some(k);
        self
    }

    pub(crate) fn size_or(&self, w: u32, h: u32) -> (u32, u32) {
        self.size.unwrap_or((w, h))
    }

    pub(crate) fn title_or(&self, default: String) -> String {
        self.title.clone().unwrap_or(default)
    }

    pub(crate) fn x_or(&self, default: &str) -> String {
        self.x_label.clone().unwrap_or_else(|| default.to_string())
    }

    pub(crate) fn y_or(&self, default: &str) -> String {
        self.y_label.clone().unwrap_or_else(|| default.to_string())
    }
}

/// Genre counts of a labelled dataset as sorted horizontal bars, largest first, each with its
/// count and share. See [`PlotConfig::genre_distribution`].
pub fn genre_distribution(ds: &Dataset) -> Result<Figure> {
    PlotConfig::default().genre_distribution(ds)
}

/// `(genre, count)` pairs as sorted horizontal bars. See [`PlotConfig::genre_counts`].
pub fn genre_counts<S: AsRef<str>>(counts: &[(S, usize)]) -> Result<Figure> {
    PlotConfig::default().genre_counts(counts)
}

/// Histogram of plot lengths (`unit`: what a length counts, e.g. `"words"`). See
/// [`PlotConfig::length_histogram`].
pub fn length_histogram(lengths: &[usize], unit: &str) -> Result<Figure> {
    PlotConfig::default().length_histogram(lengths, unit)
}

/// One box plot of lengths per genre (`genres[i]` is the genre of `lengths[i]`). See
/// [`PlotConfig::lengths_by_genre`].
pub fn lengths_by_genre<S: AsRef<str>>(
    genres: &[S],
    lengths: &[usize],
    unit: &str,
) -> Result<Figure> {
    PlotConfig::default().lengths_by_genre(genres, lengths, unit)
}

/// Words per plot, one box per genre, from a labelled dataset. See [`PlotConfig::text_lengths`].
pub fn text_lengths(ds: &Dataset) -> Result<Figure> {
    PlotConfig::default().text_lengths(ds)
}

/// The top terms of each genre as small multiples of bar charts. See [`PlotConfig::top_terms`].
pub fn top_terms<G: AsRef<str>, T: AsRef<str>>(terms: &[(G, Vec<(T, f64)>)]) -> Result<Figure> {
    PlotConfig::default().top_terms(terms)
}

/// Documents as points in 2-D, coloured by group. See [`PlotConfig::document_map`].
pub fn document_map<S: AsRef<str>>(
    points: &[[f32; 2]],
    labels: &[usize],
    names: &[S],
) -> Result<Figure> {
    PlotConfig::default().document_map(points, labels, names)
}

/// Loss and metric per epoch, train against validation, best epoch marked. See
/// [`PlotConfig::training_curves`].
pub fn training_curves(curves: &TrainingCurves) -> Result<Figure> {
    PlotConfig::default().training_curves(curves)
}

/// Confusion-matrix heatmap of counts. See [`PlotConfig::confusion_matrix`].
pub fn confusion_matrix(cm: &ConfusionMatrix) -> Result<Figure> {
    PlotConfig::default().confusion_matrix(cm)
}

/// Row-normalised confusion-matrix heatmap (percent of each true genre). See
/// [`PlotConfig::confusion_matrix_normalized`].
pub fn confusion_matrix_normalized(cm: &ConfusionMatrix) -> Result<Figure> {
    PlotConfig::default().confusion_matrix_normalized(cm)
}

/// One-vs-rest ROC curves with AUC in the legend. See [`PlotConfig::roc_curves`].
pub fn roc_curves(curves: &Curves) -> Result<Figure> {
    PlotConfig::default().roc_curves(curves)
}

/// One-vs-rest precision-recall curves with AP in the legend. See [`PlotConfig::pr_curves`].
pub fn pr_curves(curves: &Curves) -> Result<Figure> {
    PlotConfig::default().pr_curves(curves)
}

/// Per-class F1 as sorted bars, macro-F1 marked. See [`PlotConfig::per_class_f1`].
pub fn per_class_f1(report: &ClassificationReport) -> Result<Figure> {
    PlotConfig::default().per_class_f1(report)
}

/// Best macro-F1 per model family with its accuracy beside it. See
/// [`PlotConfig::family_evolution`].
pub fn family_evolution(scores: &[FamilyScore]) -> Result<Figure> {
    PlotConfig::default().family_evolution(scores)
}

/// Inference latency per model, fastest first. See [`PlotConfig::latency`].
pub fn latency(records: &[ModelLatency]) -> Result<Figure> {
    PlotConfig::default().latency(records)
}

/// Writes every evaluation figure of one model into `out_dir` (created when missing), PNG and
/// SVG each: `confusion_matrix`, `confusion_matrix_normalized`, `roc_curves`, `pr_curves` and
/// `per_class_f1`. Returns the ten paths written, in that order (PNG before SVG).
///
/// Errors: inputs whose class names disagree ([`Error::Config`]), drawing failures
/// ([`Error::Plot`]) and unwritable files ([`Error::Io`]).
pub fn evaluation_figures(
    report: &ClassificationReport,
    confusion: &ConfusionMatrix,
    curves: &Curves,
    out_dir: &Path,
) -> Result<Vec<PathBuf>> {
    let curve_names: Vec<String> = curves.classes().iter().map(|c| c.name.clone()).collect();
    if report.names() != confusion.names() || report.names() != curve_names.as_slice() {
        return Err(Error::Config(
            "evaluation_figures: the report, confusion matrix and curves name different classes"
                .into(),
        ));
    }
    let figures = [
        ("confusion_matrix", confusion_matrix(confusion)?),
        (
            "confusion_matrix_normalized",
            confusion_matrix_normalized(confusion)?,
        ),
        ("roc_curves", roc_curves(curves)?),
        ("pr_curves", pr_curves(curves)?),
        ("per_class_f1", per_class_f1(report)?),
    ];
    let mut paths = Vec::with_capacity(2 * figures.len());
    for (stem, fig) in &figures {
        paths.extend(fig.save(out_dir, stem)?);
    }
    Ok(paths)
}
