//! Readers for Kaggle ` ::: ` files and CSV. Every problem names the file, the line and the field.

use super::dataset::{Mode, Skipped};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// The Kaggle field separator.
pub(crate) const SEP: &str = " ::: ";

/// Rows as read, before they become a DataFrame.
#[derive(Default)]
pub(crate) struct RawRows {
    pub ids: Vec<u64>,
    pub titles: Vec<String>,
    pub texts: Vec<String>,
    pub genres: Vec<Option<String>>,
    pub lines: Vec<u32>,
    pub skipped: Vec<Skipped>,
    first_line_of: HashMap<u64, usize>,
}

impl RawRows {
    /// Records a problem: an error in strict mode, a skipped line in lenient mode.
    fn reject(&mut self, path: &Path, mode: Mode, line: usize, message: String) -> Result<()> {
        match mode {
            Mode::Strict => Err(Error::Parse {
                path: path.to_path_buf(),
                line,
                message,
            }),
            Mode::Lenient => {
                self.skipped.push(Skipped {
                    line,
                    reason: message,
                });
                Ok(())
            }
        }
    }

    /// Validates one record's fields and keeps it, or rejects it.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        path: &Path,
        mode: Mode,
        line: usize,
        id: u64,
        title: &str,
        genre: Option<&str>,
        text: &str,
    ) -> Result<()> {
        let text = text.trim();
        if text.is_empty() {
            return self.reject(path, mode, line, "field DESCRIPTION/text is empty".into());
        }
        let genre = genre.map(str::trim);
        if genre == Some("") {
            return self.reject(path, mode, line, "field GENRE is empty".into());
        }
        if let Some(first) = self.first_line_of.get(&id) {
            let msg = format!("field ID: duplicate id {id} (first on line {first})");
            return self.reject(path, mode, line, msg);
        }
        self.first_line_of.insert(id, line);
        self.ids.push(id);
        self.titles.push(title.trim().to_string());
        self.texts.push(text.to_string());
        self.genres.push(genre.map(str::to_string));
        self.lines.push(line as u32);
        Ok(())
    }
}

fn parse_id(raw: &str) -> std::result::Result<u64, String> {
    raw.trim()
        .parse::<u64>()
        .map_err(|_| format!("field ID: `{}` is not a non-negative integer", raw.trim()))
}

/// Reads `ID ::: TITLE ::: GENRE ::: DESCRIPTION` (4 fields) or `ID ::: TITLE ::: DESCRIPTION`
/// (3 fields); the first record decides which. CRLF endings, a BOM and trailing blank lines are fine.
pub(crate) fn read_kaggle(path: &Path, mode: Mode) -> Result<RawRows> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // A final newline and trailing blank lines end the file; they are not records.
    while lines
        .last()
        .is_some_and(|l| l.iter().all(u8::is_ascii_whitespace))
    {
        lines.pop();
    }
    let mut rows = RawRows::default();
    let mut fields_expected: Option<usize> = None;
    for (i, raw) in lines.iter().enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t,
            Err(e) => {
                let msg = format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1);
                rows.reject(path, mode, line, msg)?;
                continue;
            }
        };
        if text.trim().is_empty() {
            rows.reject(path, mode, line, "empty line inside the file".into())?;
            continue;
        }
        let fields: Vec<&str> = text.split(SEP).collect();
        let expected = *fields_expected.get_or_insert(match fields.len() {
            3 => 3,
            _ => 4,
        });
        if fields.len() != expected {
            let layout = if expected == 4 {
                "ID ::: TITLE ::: GENRE ::: DESCRIPTION"
            } else {
                "ID ::: TITLE ::: DESCRIPTION"
            };
            let msg = format!(
                "expected {expected} fields `{layout}` separated by \" ::: \", found {}",
                fields.len()
            );
            rows.reject(path, mode, line, msg)?;
            continue;
        }
        let id = match parse_id(fields[0]) {
            Ok(id) => id,
            Err(msg) => {
                rows.reject(path, mode, line, msg)?;
                continue;
            }
        };
        let (genre, desc) = if expected == 4 {
            (Some(fields[2]), fields[3])
        } else {
            (None, fields[2])
        };
        rows.push(path, mode, line, id, fields[1], genre, desc)?;
    }
    if rows.ids.is_empty() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!("no usable records ({} skipped)", rows.skipped.len()),
        });
    }
    Ok(rows)
}

/// Reads CSV with a header row: `text` required; `genre`, `id`, `title` optional.
/// Without an `id` column rows are numbered from 1 in file order.
pub(crate) fn read_csv(path: &Path, mode: Mode) -> Result<RawRows> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader
        .byte_headers()
        .map_err(|e| csv_error(path, e))?
        .clone();
    let names: Vec<String> = headers
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_ascii_lowercase())
        .collect();
    let find = |name: &str| names.iter().position(|h| h == name);
    let Some(text_col) = find("text") else {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "missing column `text` (header line 1 has: {})",
                names.join(", ")
            ),
        });
    };
    let (genre_col, id_col, title_col) = (find("genre"), find("id"), find("title"));
    let mut rows = RawRows::default();
    let mut record = csv::ByteRecord::new();
    let mut row_number = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                rows.reject(path, mode, line, format!("{e}"))?;
                continue;
            }
        }
        row_number += 1;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            rows.reject(path, mode, line, "empty record inside the file".into())?;
            continue;
        }
        if record.len() != names.len() {
            let msg = format!(
                "expected {} fields like the header, found {}",
                names.len(),
                record.len()
            );
            rows.reject(path, mode, line, msg)?;
            continue;
        }
        let mut fields: Vec<&str> = Vec::with_capacity(record.len());
        let mut bad = None;
        for (k, f) in record.iter().enumerate() {
            match std::str::from_utf8(f) {
                Ok(s) => fields.push(s),
                Err(e) => {
                    bad = Some(format!(
                        "field `{}`: invalid UTF-8 at byte {}",
                        names[k],
                        e.valid_up_to() + 1
                    ));
                    break;
                }
            }
        }
        if let Some(msg) = bad {
            rows.reject(path, mode, line, msg)?;
            continue;
        }
        let id = match id_col {
            Some(c) => match parse_id(fields[c]) {
                Ok(id) => id,
                Err(msg) => {
                    rows.reject(path, mode, line, msg.replace("field ID", "field `id`"))?;
                    continue;
                }
            },
            None => row_number,
        };
        let title = title_col.map(|c| fields[c]).unwrap_or("");
        let genre = genre_col.map(|c| fields[c]);
        if genre.is_some_and(|g| g.trim().is_empty()) {
            rows.reject(path, mode, line, "field `genre` is empty".into())?;
            continue;
        }
        if fields[text_col].trim().is_empty() {
            rows.reject(path, mode, line, "field `text` is empty".into())?;
            continue;
        }
        rows.push(path, mode, line, id, title, genre, fields[text_col])?;
    }
    if rows.ids.is_empty() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!("no usable records ({} skipped)", rows.skipped.len()),
        });
    }
    Ok(rows)
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line() as usize).unwrap_or(1);
    Error::Parse {
        path: path.to_path_buf(),
        line,
        message: e.to_string(),
    }
}
