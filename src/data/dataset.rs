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
            write!(
                f,
                "\n  ... and {} more (see LoadReport::skipped)",
                self.skipped.len() - Self::EXAMPLES
            )?;
        }
        Ok(())
    }
}

/// Plot summaries with their genre, one row per movie: `id`, `title`, `text` (the plot),
/// `genre` (`None` when unlabelled) and `line` (where the row sits in its source file, so any
/// later error can point back at it). [`Dataset::df`] gives the rows as a polars DataFrame with
/// those five columns.
///
/// The rows are held as plain Rust columns and the DataFrame is built on demand: in an evcxr
/// notebook every cell is linked as its own library with its own copy of polars' global hash
/// seed, so a DataFrame kept from one cell to the next cannot find its columns by name any more
/// (seen with polars 0.55). Build DataFrames in the cell that uses them.
#[derive(Debug, Clone)]
pub struct Dataset {
    ids: Vec<u64>,
    titles: Vec<String>,
    texts: Vec<String>,
    genres: Vec<Option<String>>,
    lines: Vec<u32>,
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
            format: if format == SourceFormat::Csv {
                SourceFormat::Csv
            } else {
                SourceFormat::Kaggle
            },
            rows: raw.ids.len(),
            skipped: raw.skipped.clone(),
        };
        if !report.skipped.is_empty() {
            eprintln!("warning: {report}");
        }
        Ok(Dataset {
            ids: raw.ids,
            titles: raw.titles,
            texts: raw.texts,
            genres: raw.genres,
            lines: raw.lines,
            report,
        })
    }

    /// Builds a dataset from a DataFrame with the columns `id` (integer), `text`, and optionally
    /// `title`, `genre` (string, may be null) and `line`; other columns are ignored.
    pub fn from_df(df: &DataFrame) -> Result<Self> {
        let height = df.height();
        let missing = |name: &str| Error::Config(format!("DataFrame lacks column `{name}`"));
        let strings = |name: &str| -> Result<Option<Vec<Option<String>>>> {
            match df.column(name) {
                Ok(c) => {
                    let c = c.cast(&DataType::String)?;
                    Ok(Some(
                        c.str()?.iter().map(|v| v.map(str::to_string)).collect(),
                    ))
                }
                Err(_) => Ok(None),
            }
        };
        let ids: Vec<u64> = {
            let c = df
                .column("id")
                .map_err(|_| missing("id"))?
                .cast(&DataType::UInt64)?;
            let ca = c.u64()?;
            if ca.null_count() > 0 {
                return Err(Error::Config("column `id` has nulls".into()));
            }
            ca.iter().flatten().collect()
        };
        let texts: Vec<String> = strings("text")?
            .ok_or_else(|| missing("text"))?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();
        let titles: Vec<String> = strings("title")?
            .map(|v| v.into_iter().map(Option::unwrap_or_default).collect())
            .unwrap_or_else(|| vec![String::new(); height]);
        let genres = strings("genre")?.unwrap_or_else(|| vec![None; height]);
        let lines: Vec<u32> = match df.column("line") {
            Ok(c) => c
                .cast(&DataType::UInt32)?
                .u32()?
                .iter()
                .map(|v| v.unwrap_or(0))
                .collect(),
            Err(_) => (1..=height as u32).collect(),
        };
        Ok(Dataset {
            ids,
            titles,
            texts,
            genres,
            lines,
            report: LoadReport {
                path: None,
                format: SourceFormat::Memory,
                rows: height,
                skipped: vec![],
            },
        })
    }

    /// The rows as a polars DataFrame: `id` (u64), `title`, `text`, `genre` (null when
    /// unlabelled), `line` (u32). Built anew on each call.
    pub fn df(&self) -> DataFrame {
        let n = self.len();
        DataFrame::new(
            n,
            vec![
                Column::new("id".into(), &self.ids),
                Column::new("title".into(), &self.titles),
                Column::new("text".into(), &self.texts),
                Column::new("genre".into(), &self.genres),
                Column::new("line".into(), &self.lines),
            ],
        )
        .expect("five columns of equal length")
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
        self.ids.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// True when every row has a genre.
    pub fn is_labelled(&self) -> bool {
        !self.is_empty() && self.genres.iter().all(Option::is_some)
    }

    /// SHA-256 (hex) of the rows in order: ids, titles, genres and plots. Two datasets with
    /// the same rows have the same hash wherever they were read from.
    pub fn sha256(&self) -> String {
        super::split::content_hash(self)
    }

    /// Row ids, in row order.
    pub fn ids(&self) -> Vec<u64> {
        self.ids.clone()
    }

    /// Titles, in row order (empty where the source had none).
    pub fn titles(&self) -> Vec<&str> {
        self.titles.iter().map(String::as_str).collect()
    }

    /// Plot summaries, in row order.
    pub fn texts(&self) -> Vec<&str> {
        self.texts.iter().map(String::as_str).collect()
    }

    /// Genres in row order, `None` for an unlabelled row.
    pub fn genres(&self) -> Vec<Option<&str>> {
        self.genres.iter().map(Option::as_deref).collect()
    }

    /// 1-based source line of each row.
    pub fn lines(&self) -> Vec<usize> {
        self.lines.iter().map(|&l| l as usize).collect()
    }

    /// The same rows with every plot text passed through `f` (ids, titles, genres and lines
    /// kept): e.g. probe rows no cache has seen.
    pub(crate) fn map_texts(&self, f: impl Fn(&str) -> String) -> Dataset {
        Dataset {
            ids: self.ids.clone(),
            titles: self.titles.clone(),
            texts: self.texts.iter().map(|t| f(t)).collect(),
            genres: self.genres.clone(),
            lines: self.lines.clone(),
            report: self.report.clone(),
        }
    }

    /// The rows at `indices`, in that order (a split side, a resample). An index out of range
    /// is an error.
    pub fn take(&self, indices: &[usize]) -> Result<Dataset> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::Config(format!(
                "row {bad} out of range for {} rows",
                self.len()
            )));
        }
        Ok(Dataset {
            ids: indices.iter().map(|&i| self.ids[i]).collect(),
            titles: indices.iter().map(|&i| self.titles[i].clone()).collect(),
            texts: indices.iter().map(|&i| self.texts[i].clone()).collect(),
            genres: indices.iter().map(|&i| self.genres[i].clone()).collect(),
            lines: indices.iter().map(|&i| self.lines[i]).collect(),
            report: LoadReport {
                rows: indices.len(),
                skipped: vec![],
                ..self.report.clone()
            },
        })
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
        out.ids = (1..=n as u64).collect();
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
        let path = self
            .report
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from("<memory>"));
        let line = self.lines.get(i).map(|&l| l as usize).unwrap_or(i + 1);
        (path, line)
    }

    /// Shows the first rows inline in a notebook.
    pub fn head(&self, n: usize) -> Table {
        Table::new(self.df().head(Some(n))).title(format!(
            "first {} of {} rows",
            n.min(self.len()),
            self.len()
        ))
    }

    /// Lets evcxr show a dataset as its first rows.
    pub fn evcxr_display(&self) {
        self.head(10).evcxr_display();
    }
}
