//! Reading and writing word vectors: the word2vec text format (header `n dim`, then
//! `word v1 … vdim` per line; fastText's `.vec` is the same), the word2vec binary format
//! (header line, then per word: the UTF-8 word, a space, `dim` little-endian f32 and a newline,
//! as word2vec.c and gensim write it) and GloVe's text format (the text format without header).
//!
//! Text values are written with Rust's shortest round-trip formatting, so text and binary
//! round trips are bit-exact. Errors name the file, the 1-based line (binary: the record) and
//! the field. A word repeated in a file keeps its first vector (some published files repeat
//! words); the number of dropped repeats is not an error.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;

use rustc_hash::FxHashSet;

use super::{valid_word, WordVectors};
use crate::error::{Error, Result};

/// A word-vector file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorFormat {
    /// word2vec text: `n dim` header, one word per line.
    Word2VecText,
    /// word2vec binary: `n dim` header line, then word, space, little-endian f32s, newline.
    Word2VecBinary,
    /// fastText `.vec`: the word2vec text format.
    FastTextVec,
    /// GloVe text: one word per line, no header; `dim` from the first line.
    GloveText,
}

impl VectorFormat {
    /// Reads a file in this format.
    pub fn read(self, path: impl AsRef<Path>) -> Result<WordVectors> {
        let path = path.as_ref();
        match self {
            Self::Word2VecText | Self::FastTextVec => read_text(path, true),
            Self::GloveText => read_text(path, false),
            Self::Word2VecBinary => read_word2vec_binary(path),
        }
    }

    /// Writes `vectors` in this format (GloVe: without header).
    pub fn write(self, vectors: &WordVectors, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        match self {
            Self::Word2VecText | Self::FastTextVec => write_text(vectors, path, true),
            Self::GloveText => write_text(vectors, path, false),
            Self::Word2VecBinary => write_word2vec_binary(vectors, path),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn no_vectors(path: &Path) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        message: "no vectors in the file".into(),
    }
}

fn fmt_err(path: &Path, line: usize, msg: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        line,
        message: msg.into(),
    }
}

/// Parses the `n dim` header.
fn parse_header(path: &Path, line: &str) -> Result<(usize, usize)> {
    let mut it = line.split_ascii_whitespace();
    let mut field = |i: usize, name: &str| -> Result<usize> {
        let tok = it.next().ok_or_else(|| {
            fmt_err(
                path,
                1,
                format!("header: field {i} ({name}) is missing (expected `count dim`)"),
            )
        })?;
        tok.parse().map_err(|_| {
            fmt_err(
                path,
                1,
                format!("header: field {i} ({name}) `{tok}` is not a non-negative integer"),
            )
        })
    };
    let n = field(1, "word count")?;
    let dim = field(2, "dim")?;
    if dim == 0 {
        return Err(fmt_err(path, 1, "header: field 2 (dim) is 0"));
    }
    Ok((n, dim))
}

struct Builder {
    words: Vec<String>,
    seen: FxHashSet<String>,
    data: Vec<f32>,
}

impl Builder {
    fn new(capacity: usize, dim: usize) -> Self {
        let capacity = capacity.min(1 << 24);
        Self {
            words: Vec::with_capacity(capacity),
            seen: FxHashSet::default(),
            data: Vec::with_capacity(capacity * dim),
        }
    }

    /// Adds a word unless it is a repeat; `values` are pushed by the caller when true.
    fn add(&mut self, word: &str) -> bool {
        if self.seen.contains(word) {
            return false;
        }
        self.seen.insert(word.to_string());
        self.words.push(word.to_string());
        true
    }
}

fn read_text(path: &Path, header: bool) -> Result<WordVectors> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    let mut lineno = 0usize;
    let mut expected: Option<(usize, usize)> = None;
    let mut dim = 0usize;
    let mut b: Option<Builder> = None;
    let mut rows = 0usize;
    let mut scratch: Vec<f32> = Vec::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => fmt_err(path, lineno + 1, "not valid UTF-8"),
            _ => Error::Io {
                path: path.to_path_buf(),
                source: e,
            },
        })?;
        if n == 0 {
            break;
        }
        lineno += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        if header && lineno == 1 {
            let (count, d) = parse_header(path, text)?;
            expected = Some((count, d));
            dim = d;
            b = Some(Builder::new(count, d));
            continue;
        }
        if text.trim().is_empty() {
            continue;
        }
        let mut fields = text.split(' ').filter(|t| !t.is_empty());
        let word = fields.next().unwrap_or_default();
        scratch.clear();
        for (k, tok) in fields.enumerate() {
            let v: f32 = tok.parse().map_err(|_| {
                fmt_err(
                    path,
                    lineno,
                    format!(
                        "field {} (value {} of word {word:?}) `{tok}` is not a number",
                        k + 2,
                        k + 1
                    ),
                )
            })?;
            scratch.push(v);
        }
        if dim == 0 {
            if scratch.is_empty() {
                return Err(fmt_err(
                    path,
                    lineno,
                    format!("word {word:?} has no values"),
                ));
            }
            dim = scratch.len();
            b = Some(Builder::new(1024, dim));
        }
        if scratch.len() != dim {
            return Err(fmt_err(
                path,
                lineno,
                format!(
                    "word {word:?} has {} values, expected dim = {dim}{}",
                    scratch.len(),
                    if header { " (header)" } else { " (first line)" }
                ),
            ));
        }
        if !valid_word(word) {
            return Err(fmt_err(
                path,
                lineno,
                format!("field 1 (word) {word:?} is invalid"),
            ));
        }
        rows += 1;
        let builder = b.get_or_insert_with(|| Builder::new(0, dim));
        if builder.add(word) {
            builder.data.extend_from_slice(&scratch);
        }
    }
    if let Some((count, _)) = expected {
        if rows != count {
            return Err(fmt_err(
                path,
                lineno,
                format!("header says {count} words, the file has {rows}"),
            ));
        }
    }
    let b = b.ok_or_else(|| no_vectors(path))?;
    if b.words.is_empty() {
        return Err(no_vectors(path));
    }
    WordVectors::new(b.words, dim, b.data)
}

fn write_text(vectors: &WordVectors, path: &Path, header: bool) -> Result<()> {
    let file = File::create(path).map_err(io_err(path))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut go = || -> std::io::Result<()> {
        if header {
            writeln!(w, "{} {}", vectors.len(), vectors.dim())?;
        }
        for (i, word) in vectors.words().iter().enumerate() {
            w.write_all(word.as_bytes())?;
            for v in vectors.row(i) {
                write!(w, " {v}")?;
            }
            w.write_all(b"\n")?;
        }
        w.flush()
    };
    go().map_err(io_err(path))
}

fn read_word2vec_binary(path: &Path) -> Result<WordVectors> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut head = Vec::new();
    r.read_until(b'\n', &mut head).map_err(io_err(path))?;
    let head = std::str::from_utf8(&head).map_err(|_| fmt_err(path, 1, "header is not UTF-8"))?;
    let (count, dim) = parse_header(path, head.trim_end())?;
    let mut b = Builder::new(count, dim);
    let mut word = Vec::new();
    let mut raw = vec![0u8; dim * 4];
    for rec in 1..=count {
        word.clear();
        // word: bytes up to a space; newlines before it (the previous record's) are skipped
        loop {
            let mut byte = [0u8; 1];
            match r.read(&mut byte) {
                Ok(0) => {
                    return Err(fmt_err(
                        path,
                        rec,
                        format!("file ends in record {rec} of {count} (header)"),
                    ))
                }
                Ok(_) => match byte[0] {
                    b' ' if !word.is_empty() => break,
                    b'\n' | b'\r' if word.is_empty() => continue,
                    c => word.push(c),
                },
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(path)(e)),
            }
        }
        let w = std::str::from_utf8(&word).map_err(|_| {
            fmt_err(
                path,
                rec,
                format!("record {rec}: field 1 (word) is not valid UTF-8"),
            )
        })?;
        if !valid_word(w) {
            return Err(fmt_err(
                path,
                rec,
                format!("record {rec}: field 1 (word) {w:?} is invalid"),
            ));
        }
        r.read_exact(&mut raw).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => fmt_err(
                path,
                rec,
                format!("record {rec} (word {w:?}): file ends inside its {dim} values"),
            ),
            _ => io_err(path)(e),
        })?;
        if b.add(w) {
            b.data.extend(
                raw.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
    }
    if b.words.is_empty() {
        return Err(no_vectors(path));
    }
    WordVectors::new(b.words, dim, b.data)
}

fn write_word2vec_binary(vectors: &WordVectors, path: &Path) -> Result<()> {
    let file = File::create(path).map_err(io_err(path))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut go = || -> std::io::Result<()> {
        writeln!(w, "{} {}", vectors.len(), vectors.dim())?;
        for (i, word) in vectors.words().iter().enumerate() {
            w.write_all(word.as_bytes())?;
            w.write_all(b" ")?;
            for v in vectors.row(i) {
                w.write_all(&v.to_le_bytes())?;
            }
            w.write_all(b"\n")?;
        }
        w.flush()
    };
    go().map_err(io_err(path))
}

/// A path for temporary files in tests.
#[cfg(test)]
pub(crate) fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wordvec-tests-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir.join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> WordVectors {
        let words = vec!["alpha".to_string(), "β-word".into(), "x".into()];
        let data = vec![
            0.1f32,
            -2.5e-8,
            1.0 / 3.0,
            f32::MAX,
            f32::MIN_POSITIVE,
            -0.0,
            std::f32::consts::PI,
            1e30,
            -7.0,
        ];
        WordVectors::new(words, 3, data).unwrap()
    }

    fn same_bits(a: &WordVectors, b: &WordVectors) {
        assert_eq!(a.words(), b.words());
        assert_eq!(a.dim(), b.dim());
        let ab: Vec<u32> = a.data().iter().map(|v| v.to_bits()).collect();
        let bb: Vec<u32> = b.data().iter().map(|v| v.to_bits()).collect();
        assert_eq!(ab, bb);
    }

    #[test]
    fn round_trips_are_bit_exact() {
        let v = sample();
        for (f, name) in [
            (VectorFormat::Word2VecText, "a.txt"),
            (VectorFormat::Word2VecBinary, "a.bin"),
            (VectorFormat::FastTextVec, "a.vec"),
            (VectorFormat::GloveText, "a.glove"),
        ] {
            let p = temp_path(name);
            f.write(&v, &p).unwrap();
            same_bits(&v, &f.read(&p).unwrap());
        }
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let p = temp_path("bad.txt");
        std::fs::write(&p, "2 3\na 1 2 3\nb 1 zz 3\n").unwrap();
        let e = VectorFormat::Word2VecText.read(&p).unwrap_err().to_string();
        assert!(
            e.contains("bad.txt:3:") && e.contains("field 3") && e.contains("`zz`"),
            "{e}"
        );

        std::fs::write(&p, "2 x\n").unwrap();
        let e = VectorFormat::Word2VecText.read(&p).unwrap_err().to_string();
        assert!(
            e.contains("bad.txt:1:") && e.contains("field 2 (dim)"),
            "{e}"
        );

        std::fs::write(&p, "2 3\na 1 2 3\nb 1 2\n").unwrap();
        let e = VectorFormat::Word2VecText.read(&p).unwrap_err().to_string();
        assert!(e.contains(":3:") && e.contains("has 2 values"), "{e}");

        std::fs::write(&p, "3 3\na 1 2 3\n").unwrap();
        let e = VectorFormat::Word2VecText.read(&p).unwrap_err().to_string();
        assert!(e.contains("header says 3 words"), "{e}");

        let pb = temp_path("bad.bin");
        std::fs::write(&pb, b"2 2\na \x00\x00\x80\x3f\x00\x00\x00\x40\nb \x00\x00").unwrap();
        let e = VectorFormat::Word2VecBinary
            .read(&pb)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.bin:2:") && e.contains("word \"b\""), "{e}");

        let missing = temp_path("missing.txt");
        assert!(matches!(
            VectorFormat::Word2VecText.read(&missing),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn glove_without_header_and_repeats_keep_the_first() {
        let p = temp_path("g.txt");
        std::fs::write(&p, "the 0.5 -1\nof 2 3\nthe 9 9\n").unwrap();
        let v = VectorFormat::GloveText.read(&p).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v.get("the").unwrap(), &[0.5, -1.0]);
    }
}
