//! [`Labels`]: the genre vocabulary, index ↔ name, in alphabetical order.

use super::dataset::{Dataset, Mode, Skipped};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// The genres a model knows, sorted alphabetically (byte order of the names), so index `i`
/// means the same genre for every dataset that has the same set of genres.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Labels {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl From<Vec<String>> for Labels {
    fn from(names: Vec<String>) -> Self {
        Labels::from_names(names)
    }
}

impl From<Labels> for Vec<String> {
    fn from(l: Labels) -> Self {
        l.names
    }
}

impl Labels {
    /// The distinct genres of `names`, sorted.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        let set: BTreeSet<String> = names.into_iter().map(|s| s.as_ref().to_string()).collect();
        let names: Vec<String> = set.into_iter().collect();
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Labels { names, index }
    }

    /// The genres of a labelled dataset; an error if any row lacks a genre.
    pub fn from_dataset(ds: &Dataset) -> Result<Self> {
        let genres = ds.genres();
        if let Some(i) = genres.iter().position(Option::is_none) {
            let (path, line) = ds.locate(i);
            return Err(Error::Parse {
                path,
                line,
                message: "row has no genre; labels need a labelled dataset".into(),
            });
        }
        Ok(Self::from_names(genres.into_iter().flatten()))
    }

    /// Number of genres.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are no genres.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Genre names, index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The name of genre `i`.
    pub fn name(&self, i: usize) -> Option<&str> {
        self.names.get(i).map(String::as_str)
    }

    /// The index of `genre`.
    pub fn index(&self, genre: &str) -> Option<usize> {
        self.index.get(genre).copied()
    }

    /// Every row's genre index. A genre never seen in training is an error naming the file
    /// and line of the row; so is an unlabelled row.
    pub fn encode(&self, ds: &Dataset) -> Result<Vec<usize>> {
        let genres = ds.genres();
        let mut out = Vec::with_capacity(genres.len());
        for (i, g) in genres.iter().enumerate() {
            match g {
                None => {
                    let (path, line) = ds.locate(i);
                    return Err(Error::Parse {
                        path,
                        line,
                        message: "row has no genre".into(),
                    });
                }
                Some(g) => match self.index(g) {
                    Some(k) => out.push(k),
                    None => return Err(self.unknown(ds, i, g)),
                },
            }
        }
        Ok(out)
    }

    fn unknown(&self, ds: &Dataset, i: usize, genre: &str) -> Error {
        let (path, line) = ds.locate(i);
        Error::UnknownLabel {
            path,
            line,
            genre: genre.to_string(),
            known: self.names.join(", "),
        }
    }

    /// Keeps the rows whose genre is known. Strict mode fails on the first unknown genre;
    /// lenient mode drops those rows and returns every one of them as [`Skipped`].
    pub fn restrict(&self, ds: &Dataset, mode: Mode) -> Result<(Dataset, Vec<Skipped>)> {
        let mut keep = Vec::with_capacity(ds.len());
        let mut skipped = Vec::new();
        let lines = ds.lines();
        for (i, g) in ds.genres().iter().enumerate() {
            match g.map(|g| (g, self.index(g))) {
                Some((_, Some(_))) => keep.push(i),
                Some((g, None)) if mode == Mode::Lenient => skipped.push(Skipped {
                    line: lines[i],
                    reason: format!("genre `{g}` was never seen in training"),
                }),
                Some((g, None)) => return Err(self.unknown(ds, i, g)),
                None if mode == Mode::Lenient => skipped.push(Skipped {
                    line: lines[i],
                    reason: "row has no genre".into(),
                }),
                None => {
                    let (path, line) = ds.locate(i);
                    return Err(Error::Parse {
                        path,
                        line,
                        message: "row has no genre".into(),
                    });
                }
            }
        }
        if !skipped.is_empty() {
            let name = ds
                .source()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            eprintln!(
                "warning: {name}: {} rows with genres unknown to the model skipped",
                skipped.len()
            );
        }
        Ok((ds.take(&keep)?, skipped))
    }
}
