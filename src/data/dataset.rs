//! [`Dataset`]: plot summaries in a polars DataFrame, with where each row came from.

use crate::display::Table;
use crate::error::{Error, Result};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// What to do with a malformed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Fail on the first malformed record, naming file, line and field (the default).
    #[default]
    Strict,
    /// Skip malformed records and list every one of them in the [`LoadReport`].
    Lenient,
}

/// The on-disk layout of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// Kaggle's `ID ::: TITLE ::: GENRE ::: DESCRIPTION` (or without GENRE for `test_data.txt`).
    Kaggle,
    /// CSV with a header: `text` required, `genre`, `id`, `title` optional.
    Csv,
    /// Rows built in memory (a split side, a resample).
    Memory,
}

/// Options for [`Dataset::load_with`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub(crate) mode: Mode,
    pub(crate) format: Option<SourceFormat>,
}

impl LoadOptions {
    /// Strict mode, format guessed from the extension (`.csv` → CSV, anything else → Kaggle).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets strict or lenient handling of malformed records.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    /// Shorthand for `mode(Mode::Lenient)`.
    pub fn lenient(self) -> Self {
        self.mode(Mode::Lenient)
    }
    /// Forces a format instead of guessing it from the file extension.
    pub fn format(mut self, format: SourceFormat) -> Self {
        self.format = Some(format);
        self
    }
}

/// One record that lenient loading skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line number in the source file.
    pub line: usize,
    /// What was wrong with it, naming the field.
    pub reason: String,
}

/// What loading did: rows kept and every record skipped (lenient mode).
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    /// The format it was read as.
    pub format: SourceFormat,
    /// Rows kept.
    pub rows: usize,
    /// Every skipped record, in file order.
    pub skipped: Vec<Skipped>,
}

impl LoadReport {
    /// Number of examples [`Display`](fmt::Display) lists before summarising the rest.
    pub const EXAMPLES: usize = 5;
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self
            .path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<memory>".into());
        write!(f, "{name}: {} rows kept", self.rows)?;
        if self.skipped.is_empty() {
            return Ok(());
        }
        write!(f, ", {} skipped", self.skipped.len())?;
        for s in self.skipped.iter().take(Self::EXAMPLES) {
            write!(f, "\n  line {}: {}", s.line, s.reason)?;
        }
        if self.skipped.len() > Self::EXAMPLES {
            write!(f, "\n  ... and {} more (see LoadReport::skipped)", self.skipped.len() - Self::EXAMPLES)?;
        }
        Ok(())
    }
}

/// Plot summaries with their genre: a polars DataFrame with columns `id` (u64), `title`,
/// `text` (the plot), `genre` (null when unlabelled) and `line` (u32, where the row sits in
/// its source file, so any later error can point back at it).
#[derive(Debug, Clone)]
pub struct Dataset {
    df: DataFrame,
    report: LoadReport,
}

impl Dataset {
    /// Loads a Kaggle ` ::: ` file (labelled or not, detected by field count) or a CSV file
    /// (by extension), strictly: the first malformed record is an error naming its line.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(path, LoadOptions::default())
    }

    /// Loads a Kaggle ` ::: ` file strictly (`train_data.txt`, `test_data_solution.txt`, `test_data.txt`).
    pub fn kaggle(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(path, LoadOptions::default().format(SourceFormat::Kaggle))
    }

    /// Loads a CSV file with a `text` column (and optionally `genre`, `id`, `title`) strictly.
    pub fn csv(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(path, LoadOptions::default().format(SourceFormat::Csv))
    }

    /// Loads with explicit options. In lenient mode skipped records are listed in
    /// [`Dataset::report`] and summarised on stderr, never dropped silently.
    pub fn load_with(path: impl AsRef<Path>, options: LoadOptions) -> Result<Self> {
        let path = path.as_ref();
        let format = options.format.unwrap_or_else(|| {
            let is_csv = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            if is_csv {
                SourceFormat::Csv
            } else {
                SourceFormat::Kaggle
            }
        });
        let raw = match format {
            SourceFormat::Csv => super::read::read_csv(path, options.mode)?,
            _ => super::read::read_kaggle(path, options.mode)?,
        };
        let report = LoadReport {
            path: Some(path.to_path_buf()),
            format: if format == SourceFormat::Csv { SourceFormat::Csv } else { SourceFormat::Kaggle },
            rows: raw.ids.len(),
            skipped: raw.skipped.clone(),
        };
        if !report.skipped.is_empty() {
            eprintln!("warning: {report}");
        }
        let df = raw.into_frame()?;
        Ok(Dataset { df, report })
    }

    /// Builds a dataset from a DataFrame with the columns `id` (u64), `title`, `text`,
    /// `genre` (string, may be null) and `line` (u32); `title` and `line` may be absent.
    pub fn from_df(df: DataFrame) -> Result<Self> {
        let height = df.height();
        let get = |name: &str| df.column(name).ok().cloned();
        let missing = |name: &str| Error::Config(format!("DataFrame lacks column `{name}`"));
        let id = get("id").ok_or_else(|| missing("id"))?.cast(&DataType::UInt64)?;
        let text = get("text").ok_or_else(|| missing("text"))?.cast(&DataType::String)?;
        let genre = match get("genre") {
            Some(c) => c.cast(&DataType::String)?,
            None => Column::full_null("genre".into(), height, &DataType::String),
        };
        let title = match get("title") {
            Some(c) => c.cast(&DataType::String)?,
            None => Column::new("title".into(), vec![""; height]),
        };
        let line = match get("line") {
            Some(c) => c.cast(&DataType::UInt32)?,
            None => Column::new("line".into(), (1..=height as u32).collect::<Vec<_>>()),
        };
        let df = DataFrame::new(height, vec![id, title, text, genre, line])?;
        Ok(Dataset {
            report: LoadReport { path: None, format: SourceFormat::Memory, rows: height, skipped: vec![] },
            df,
        })
    }

    /// The backing DataFrame (`id, title, text, genre, line`).
    pub fn df(&self) -> &DataFrame {
        &self.df
    }

    /// Consumes the dataset and returns its DataFrame.
    pub fn into_df(self) -> DataFrame {
        self.df
    }

    /// What loading did: source, format, rows kept, records skipped.
    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    /// The file the rows came from, if any.
    pub fn source(&self) -> Option<&Path> {
        self.report.path.as_deref()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.df.height()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.df.height() == 0
    }

    /// True when every row has a genre.
    pub fn is_labelled(&self) -> bool {
        self.len() > 0 && self.col("genre").null_count() == 0
    }

    fn col(&self, name: &str) -> &Column {
        // The schema is fixed by every constructor, so the column exists with the right type.
        self.df.column(name).expect("Dataset frames always hold their five columns")
    }

    fn strs(&self, name: &str) -> Vec<&str> {
        let ca = self.col(name).str().expect("string column");
        ca.iter().map(|v| v.unwrap_or("")).collect()
    }

    /// Row ids, in row order.
    pub fn ids(&self) -> Vec<u64> {
        let ca = self.col("id").u64().expect("u64 column");
        ca.iter().map(|v| v.unwrap_or(0)).collect()
    }

    /// Titles, in row order (empty where the source had none).
    pub fn titles(&self) -> Vec<&str> {
        self.strs("title")
    }

    /// Plot summaries, in row order.
    pub fn texts(&self) -> Vec<&str> {
        self.strs("text")
    }

    /// Genres in row order, `None` for an unlabelled row.
    pub fn genres(&self) -> Vec<Option<&str>> {
        let ca = self.col("genre").str().expect("string column");
        ca.iter().collect()
    }

    /// 1-based source line of each row.
    pub fn lines(&self) -> Vec<usize> {
        let ca = self.col("line").u32().expect("u32 column");
        ca.iter().map(|v| v.unwrap_or(0) as usize).collect()
    }

    /// The rows at `indices`, in that order (a split side, a resample).
    pub fn take(&self, indices: &[usize]) -> Result<Dataset> {
        let idx: Vec<IdxSize> = indices.iter().map(|&i| i as IdxSize).collect();
        let idx = IdxCa::from_vec("idx".into(), idx);
        let df = self.df.take(&idx)?;
        let report = LoadReport { rows: df.height(), skipped: vec![], ..self.report.clone() };
        Ok(Dataset { df, report })
    }

    /// `n` rows drawn with replacement from this dataset's real rows, seeded; ids are
    /// renumbered 1..=n so the result is a valid dataset (used to benchmark at full size).
    pub fn resample(&self, n: usize, seed: u64) -> Result<Dataset> {
        use rand::{Rng, SeedableRng};
        if self.is_empty() {
            return Err(Error::Config("cannot resample an empty dataset".into()));
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..self.len())).collect();
        let mut out = self.take(&idx)?;
        out.df.with_column(Column::new("id".into(), (1..=n as u64).collect::<Vec<_>>()))?;
        out.report.path = None;
        out.report.format = SourceFormat::Memory;
        Ok(out)
    }

    /// Rows per genre, sorted by count (descending) then name: columns `genre`, `rows`, `share`
    /// (percent of labelled rows). Unlabelled rows are counted under `(unlabelled)`.
    pub fn summary(&self) -> Table {
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for g in self.genres() {
            *counts.entry(g.unwrap_or("(unlabelled)")).or_default() += 1;
        }
        let mut rows: Vec<(&str, u32)> = counts.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let total = self.len().max(1) as f64;
        let genre: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let n: Vec<u32> = rows.iter().map(|r| r.1).collect();
        let share: Vec<f64> = rows.iter().map(|r| 100.0 * r.1 as f64 / total).collect();
        let df = DataFrame::new(
            rows.len(),
            vec![
                Column::new("genre".into(), genre),
                Column::new("rows".into(), n),
                Column::new("share_pct".into(), share),
            ],
        )
        .expect("three columns of equal length");
        Table::new(df).title(format!("{} rows, {} genres", self.len(), rows.len()))
    }

    /// Writes the rows as a Kaggle ` ::: ` file (with GENRE when labelled).
    pub fn write_kaggle(&self, path: impl AsRef<Path>) -> Result<()> {
        super::write::write_kaggle(self, path.as_ref())
    }

    /// Writes the rows as CSV with the header `id,title,text,genre`.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        super::write::write_csv(self, path.as_ref())
    }

    /// Where row `i` came from, as `file:line` (for error messages).
    pub fn locate(&self, i: usize) -> (PathBuf, usize) {
        let path = self.report.path.clone().unwrap_or_else(|| PathBuf::from("<memory>"));
        let line = self.lines().get(i).copied().unwrap_or(i + 1);
        (path, line)
    }

    /// Shows the first rows inline in a notebook.
    pub fn head(&self, n: usize) -> Table {
        Table::new(self.df.head(Some(n))).title(format!("first {} of {} rows", n.min(self.len()), self.len()))
    }

    /// Lets evcxr show a dataset as its first rows.
    pub fn evcxr_display(&self) {
        self.head(10).evcxr_display();
    }
}
