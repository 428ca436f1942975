//! Writers: Kaggle ` ::: ` files and CSV, so split sides can be saved and re-read.

use super::dataset::Dataset;
use super::read::SEP;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(std::io::BufWriter::new(f))
}

/// One line per row, `ID ::: TITLE ::: GENRE ::: DESCRIPTION` (GENRE omitted when unlabelled).
pub(crate) fn write_kaggle(ds: &Dataset, path: &Path) -> Result<()> {
    let mut out = create(path)?;
    let labelled = ds.is_labelled();
    let (ids, titles, texts, genres) = (ds.ids(), ds.titles(), ds.texts(), ds.genres());
    for i in 0..ds.len() {
        let r = if labelled {
            writeln!(
                out,
                "{}{SEP}{}{SEP}{}{SEP}{}",
                ids[i],
                titles[i],
                genres[i].unwrap_or(""),
                texts[i]
            )
        } else {
            writeln!(out, "{}{SEP}{}{SEP}{}", ids[i], titles[i], texts[i])
        };
        r.map_err(|e| Error::io(path, e))?;
    }
    out.flush().map_err(|e| Error::io(path, e))
}

/// CSV with the header `id,title,text,genre`.
pub(crate) fn write_csv(ds: &Dataset, path: &Path) -> Result<()> {
    let out = create(path)?;
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| Error::io(path, std::io::Error::other(e.to_string()));
    w.write_record(["id", "title", "text", "genre"])
        .map_err(io)?;
    let (ids, titles, texts, genres) = (ds.ids(), ds.titles(), ds.texts(), ds.genres());
    for i in 0..ds.len() {
        let id = ids[i].to_string();
        w.write_record([id.as_str(), titles[i], texts[i], genres[i].unwrap_or("")])
            .map_err(io)?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

/// A predictions file: the header `id,genre`, then one line per row of `ds` in input order
/// (the Kaggle submission layout). `genres` must have one entry per row.
pub fn write_predictions(ds: &Dataset, genres: &[String], path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    if genres.len() != ds.len() {
        return Err(Error::Config(format!(
            "{}: {} predictions for {} rows",
            path.display(),
            genres.len(),
            ds.len()
        )));
    }
    let mut w = csv::Writer::from_writer(create(path)?);
    let csv_err = |e: csv::Error| Error::io(path, std::io::Error::other(e.to_string()));
    w.write_record(["id", "genre"]).map_err(csv_err)?;
    for (id, g) in ds.ids().iter().zip(genres) {
        w.write_record([id.to_string().as_str(), g.as_str()])
            .map_err(csv_err)?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}
