//! Data stage: load labelled or unlabelled plot summaries into a [`Dataset`], name the genres with
//! [`Labels`], and cut reproducible stratified splits ([`SplitConfig`]).

mod dataset;
mod labels;
mod read;
mod split;
mod write;

pub use dataset::{Dataset, LoadOptions, LoadReport, Mode, Skipped, SourceFormat};
pub use labels::Labels;
pub use split::{RareGenre, Side, Split, SplitConfig, SplitManifest};
pub use write::write_predictions;

use crate::error::{Error, Result};
use std::path::PathBuf;

/// Finds a data file by name: in `$GENRE_DATA_DIR`, then `data/` (the full Kaggle files a user
/// puts there), then the real slice in `../shared/data/imdb-genre/` — each also one folder up,
/// so notebooks in `notebooks/` find the same files. The error lists every place searched.
pub fn data_file(name: &str) -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Ok(d) = std::env::var("GENRE_DATA_DIR") {
        dirs.push(PathBuf::from(d));
    }
    for base in ["", "../"] {
        dirs.push(PathBuf::from(format!("{base}data")));
        dirs.push(PathBuf::from(format!("{base}../shared/data/imdb-genre")));
    }
    for d in &dirs {
        let p = d.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(Error::Config(format!(
        "data file `{name}` not found; searched {} (set GENRE_DATA_DIR, or see data/README.md)",
        searched.join(", ")
    )))
}
