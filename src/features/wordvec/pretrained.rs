//! Pretrained word vectors from the folders `scripts/assets` fills (`$GENRE_NLP_TOOLS/assets/`):
//!
//! - GloVe 6B 50d (`glove-6B-50d/`): `glove_6B_50d_emb.npy`, float32 (400000, 50) stored in
//!   Fortran order (read as 50 × 400000 column-major and transposed into word rows), and
//!   `words.txt`, the words in row order (converted from the package's parquet index at asset
//!   time, the crate has no parquet reader);
//! - spaCy en_core_web_md (`spacy-en-md/`): `vectors`, a C-order float32 npy (20000, 300);
//!   `key2row`, a msgpack map {u64 key → row} (684,830 keys onto 20,000 rows); `strings.json`,
//!   the strings whose key is MurmurHash64A (seed 1) of their UTF-8 bytes. A row is named by
//!   its first lowercase string (else its first string) and every other string of that row
//!   becomes an alias ([`WordVectors::with_aliases`]), so no vector is stored twice.
//!
//! [`load_vectors_path`] also reads any word2vec text / binary, fastText `.vec` or GloVe text
//! file (`--set vectors=PATH`).

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::io::VectorFormat;
use super::{valid_word, WordVectors};
use crate::error::{Error, Result};
use crate::features::sentence::assets_dir;

/// GloVe's folder under the assets folder.
pub const GLOVE_DIR: &str = "glove-6B-50d";
/// spaCy en_core_web_md's folder under the assets folder.
pub const SPACY_DIR: &str = "spacy-en-md";
/// GloVe's vector file.
pub const GLOVE_NPY: &str = "glove_6B_50d_emb.npy";
/// GloVe's word list (one a line, row order).
pub const GLOVE_WORDS: &str = "words.txt";
/// spaCy's vector file.
pub const SPACY_VECTORS: &str = "vectors";
/// spaCy's key → row map.
pub const SPACY_KEY2ROW: &str = "key2row";
/// spaCy's strings.
pub const SPACY_STRINGS: &str = "strings.json";

/// `$GENRE_NLP_TOOLS/assets/glove-6B-50d` (or `.tools/assets/...`).
pub fn glove_dir() -> PathBuf {
    assets_dir().join(GLOVE_DIR)
}

/// `$GENRE_NLP_TOOLS/assets/spacy-en-md` (or `.tools/assets/...`).
pub fn spacy_dir() -> PathBuf {
    assets_dir().join(SPACY_DIR)
}

impl WordVectors {
    /// GloVe 6B 50d from `$GENRE_NLP_TOOLS/assets/glove-6B-50d` (`scripts/assets` fetches it).
    pub fn glove() -> Result<Self> {
        load_glove(&glove_dir())
    }

    /// spaCy en_core_web_md's vectors from `$GENRE_NLP_TOOLS/assets/spacy-en-md`.
    pub fn spacy() -> Result<Self> {
        load_spacy(&spacy_dir())
    }

    /// Reads a vectors folder or file ([`load_vectors_path`]).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        load_vectors_path(path.as_ref())
    }
}

/// The files a pretrained folder must hold, for error messages and checksums.
pub fn glove_files(dir: &Path) -> Vec<PathBuf> {
    vec![dir.join(GLOVE_NPY), dir.join(GLOVE_WORDS)]
}

/// The files spaCy's folder must hold.
pub fn spacy_files(dir: &Path) -> Vec<PathBuf> {
    vec![
        dir.join(SPACY_VECTORS),
        dir.join(SPACY_KEY2ROW),
        dir.join(SPACY_STRINGS),
    ]
}

/// An error for a missing pretrained file, naming it and the command that fetches it.
fn require(path: &Path, what: &str) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    Err(Error::Format {
        path: path.to_path_buf(),
        message: format!(
            "missing: the {what} vectors are not there; run `bash scripts/assets` (scripts/setup \
             runs it) to fetch them into $GENRE_NLP_TOOLS/assets, or point `--set vectors=PATH` \
             at another folder or a word2vec / .vec file"
        ),
    })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// A float32 `.npy` array: its shape, whether it is Fortran-ordered, and its values as stored.
pub struct Npy {
    /// Shape (two dimensions).
    pub shape: (usize, usize),
    /// `true` when stored column-major.
    pub fortran_order: bool,
    /// The values in file order.
    pub data: Vec<f32>,
}

/// Reads a 2-d little-endian float32 `.npy` file (format versions 1–3), checking its header.
pub fn read_npy_f32(path: &Path) -> Result<Npy> {
    let bytes = read(path)?;
    let bad = |m: String| Error::Format {
        path: path.to_path_buf(),
        message: format!("not a 2-d float32 .npy file: {m}"),
    };
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("no \\x93NUMPY magic".into()));
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(format!("version {v}"))),
    };
    let header = bytes
        .get(start..start + hlen)
        .ok_or_else(|| bad("header cut short".into()))?;
    let header = String::from_utf8_lossy(header);
    let field = |name: &str| -> Result<&str> {
        let key = format!("'{name}':");
        let at = header
            .find(&key)
            .ok_or_else(|| bad(format!("no `{name}` in the header")))?;
        Ok(header[at + key.len()..].trim_start())
    };
    let descr = field("descr")?;
    if !descr.starts_with("'<f4'") {
        return Err(bad(format!(
            "descr {}",
            descr.split(',').next().unwrap_or("")
        )));
    }
    let fortran_order = field("fortran_order")?.starts_with("True");
    let shape = field("shape")?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("unreadable shape".into()))?;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad(format!("shape ({inner})"))))
        .collect::<Result<_>>()?;
    let [rows, cols] = dims[..] else {
        return Err(bad(format!("shape ({inner}) is not 2-d")));
    };
    let body = &bytes[start + hlen..];
    if body.len() != rows * cols * 4 {
        return Err(bad(format!(
            "{} data bytes for shape ({rows}, {cols})",
            body.len()
        )));
    }
    let data = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Npy {
        shape: (rows, cols),
        fortran_order,
        data,
    })
}

impl Npy {
    /// The values row-major (transposed when the file is Fortran-ordered).
    pub fn into_row_major(self) -> Vec<f32> {
        if !self.fortran_order {
            return self.data;
        }
        let (rows, cols) = self.shape;
        let mut out = vec![0f32; rows * cols];
        // file: column c is data[c * rows .. (c + 1) * rows]
        for (c, col) in self.data.chunks_exact(rows.max(1)).enumerate() {
            for (r, &v) in col.iter().enumerate() {
                out[r * cols + c] = v;
            }
        }
        out
    }
}

/// GloVe 6B 50d from `dir` (words.txt + the npy). Words that repeat or cannot be a word2vec
/// word keep only their first row (none in the shipped files).
pub fn load_glove(dir: &Path) -> Result<WordVectors> {
    let (npy_path, words_path) = (dir.join(GLOVE_NPY), dir.join(GLOVE_WORDS));
    require(&npy_path, "GloVe 6B 50d")?;
    require(&words_path, "GloVe 6B 50d")?;
    let npy = read_npy_f32(&npy_path)?;
    let (rows, dim) = npy.shape;
    let text = std::fs::read_to_string(&words_path).map_err(|e| Error::io(&words_path, e))?;
    let words: Vec<&str> = text.lines().collect();
    if words.len() != rows {
        return Err(Error::Format {
            path: words_path,
            message: format!(
                "{} words, but {} has {rows} rows",
                words.len(),
                npy_path.display()
            ),
        });
    }
    let data = npy.into_row_major();
    keep_valid(words.into_iter().map(str::to_string).collect(), dim, data)
}

/// Builds a table from `words` and their rows, dropping repeats and invalid words.
fn keep_valid(words: Vec<String>, dim: usize, data: Vec<f32>) -> Result<WordVectors> {
    let mut seen = rustc_hash::FxHashSet::default();
    let mut keep_words = Vec::with_capacity(words.len());
    let mut keep = Vec::with_capacity(data.len());
    for (i, w) in words.into_iter().enumerate() {
        if valid_word(&w) && seen.insert(w.clone()) {
            keep.extend_from_slice(&data[i * dim..(i + 1) * dim]);
            keep_words.push(w);
        }
    }
    WordVectors::new(keep_words, dim, keep)
}

/// MurmurHash64A (Austin Appleby) of `data` with `seed`: spaCy's string key is this with
/// seed 1 over the UTF-8 bytes.
pub fn murmurhash64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let chunks = data.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// A msgpack map of unsigned integers to unsigned integers (spaCy's `key2row`): fixmap, map16
/// or map32, keys and values positive fixint / uint8–64.
pub fn read_msgpack_u64_map(path: &Path) -> Result<FxHashMap<u64, u64>> {
    let b = read(path)?;
    let bad = |at: usize, m: &str| Error::Format {
        path: path.to_path_buf(),
        message: format!("msgpack map of unsigned integers expected; byte {at}: {m}"),
    };
    let be = |at: usize, n: usize| -> Result<u64> {
        let s = b
            .get(at..at + n)
            .ok_or_else(|| bad(at, "file ends early"))?;
        Ok(s.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64))
    };
    let (n, mut p) = match b.first() {
        Some(&c) if c & 0xf0 == 0x80 => ((c & 0x0f) as u64, 1),
        Some(0xde) => (be(1, 2)?, 3),
        Some(0xdf) => (be(1, 4)?, 5),
        _ => return Err(bad(0, "not a map header")),
    };
    let uint = |p: &mut usize| -> Result<u64> {
        let c = *b.get(*p).ok_or_else(|| bad(*p, "file ends early"))?;
        let (v, len) = match c {
            0x00..=0x7f => (c as u64, 1),
            0xcc => (be(*p + 1, 1)?, 2),
            0xcd => (be(*p + 1, 2)?, 3),
            0xce => (be(*p + 1, 4)?, 5),
            0xcf => (be(*p + 1, 8)?, 9),
            _ => {
                return Err(bad(
                    *p,
                    &format!("type byte 0x{c:02x} is not an unsigned int"),
                ))
            }
        };
        *p += len;
        Ok(v)
    };
    let mut map = FxHashMap::default();
    map.reserve(n as usize);
    for _ in 0..n {
        let k = uint(&mut p)?;
        let v = uint(&mut p)?;
        map.insert(k, v);
    }
    Ok(map)
}

/// spaCy en_core_web_md's vectors from `dir` (`vectors`, `key2row`, `strings.json`): the
/// strings whose key is in `key2row` (684,752 of them in the shipped files), one row per
/// vector, the other strings of a row as aliases.
pub fn load_spacy(dir: &Path) -> Result<WordVectors> {
    let files = spacy_files(dir);
    for f in &files {
        require(f, "spaCy en_core_web_md")?;
    }
    let npy = read_npy_f32(&files[0])?;
    let (rows, dim) = npy.shape;
    let data = npy.into_row_major();
    let key2row = read_msgpack_u64_map(&files[1])?;
    let text = std::fs::read_to_string(&files[2]).map_err(|e| Error::io(&files[2], e))?;
    let strings: Vec<String> = serde_json::from_str(&text).map_err(|e| Error::Format {
        path: files[2].clone(),
        message: format!("expected a JSON list of strings: {e}"),
    })?;
    // (row, string) for every valid string with a vector
    let mut hits: Vec<(usize, String)> = Vec::new();
    for s in strings {
        if !valid_word(&s) {
            continue;
        }
        if let Some(&r) = key2row.get(&murmurhash64a(s.as_bytes(), 1)) {
            if (r as usize) < rows {
                hits.push((r as usize, s));
            }
        }
    }
    let mut name: Vec<Option<usize>> = vec![None; rows];
    for (i, (r, s)) in hits.iter().enumerate() {
        let lower = !s.chars().any(char::is_uppercase);
        match name[*r] {
            None => name[*r] = Some(i),
            Some(j) => {
                let jl = !hits[j].1.chars().any(char::is_uppercase);
                if lower && !jl {
                    name[*r] = Some(i);
                }
            }
        }
    }
    // rows named by a string, in row order
    let mut new_row = vec![usize::MAX; rows];
    let mut words = Vec::new();
    let mut kept = Vec::new();
    for (r, n) in name.iter().enumerate() {
        if let Some(i) = n {
            new_row[r] = words.len();
            words.push(hits[*i].1.clone());
            kept.extend_from_slice(&data[r * dim..(r + 1) * dim]);
        }
    }
    if words.is_empty() {
        return Err(Error::Format {
            path: files[1].clone(),
            message: "no string of strings.json has a key in key2row".into(),
        });
    }
    let aliases: Vec<(String, usize)> = hits.into_iter().map(|(r, s)| (s, new_row[r])).collect();
    Ok(WordVectors::new(words, dim, kept)?.with_aliases(aliases))
}

/// Word vectors from `path`: a GloVe folder (`words.txt` + npy), a spaCy folder (`vectors`,
/// `key2row`, `strings.json`), or a file by its extension: `.bin` word2vec binary, `.vec` /
/// `.txt` with an `n dim` header word2vec text, otherwise GloVe text (no header).
pub fn load_vectors_path(path: &Path) -> Result<WordVectors> {
    if path.is_dir() {
        if path.join(GLOVE_NPY).is_file() {
            return load_glove(path);
        }
        if path.join(SPACY_KEY2ROW).is_file() || path.join(SPACY_VECTORS).is_file() {
            return load_spacy(path);
        }
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "a vectors folder must hold GloVe's {GLOVE_NPY} + {GLOVE_WORDS} or spaCy's \
                 {SPACY_VECTORS} + {SPACY_KEY2ROW} + {SPACY_STRINGS} (run `bash scripts/assets`)"
            ),
        });
    }
    if !path.is_file() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: "no such vectors file or folder (`--set vectors=PATH`)".into(),
        });
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "bin" {
        return VectorFormat::Word2VecBinary.read(path);
    }
    // a header line `n dim` means word2vec text / .vec
    let first = {
        use std::io::BufRead;
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut line = String::new();
        std::io::BufReader::new(f)
            .read_line(&mut line)
            .map_err(|e| Error::io(path, e))?;
        line
    };
    let header = {
        let t: Vec<&str> = first.split_ascii_whitespace().collect();
        t.len() == 2 && t.iter().all(|x| x.parse::<usize>().is_ok())
    };
    if header {
        VectorFormat::Word2VecText.read(path)
    } else {
        VectorFormat::GloveText.read(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmurhash64a_gives_spacy_keys() {
        // spaCy's `nlp.vocab.strings["cat"]` is 5439657043933447811 (its docs); the others were
        // computed with a Python MurmurHash64A and all four are keys of en_core_web_md's key2row.
        assert_eq!(murmurhash64a(b"cat", 1), 5_439_657_043_933_447_811);
        assert_eq!(murmurhash64a(b"dog", 1), 7_562_983_679_033_046_312);
        assert_eq!(murmurhash64a(b"the", 1), 7_425_985_699_627_899_538);
        // 15 bytes: one whole 8-byte block and a 7-byte tail
        assert_eq!(
            murmurhash64a(b"extraordinarily", 1),
            18_201_962_105_863_827_175
        );
    }

    #[test]
    fn npy_fortran_order_is_transposed_and_msgpack_maps_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let mut header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }".to_string();
        while !(10 + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        // rows (1 2 3) and (4 5 6) stored column by column
        for v in [1f32, 4., 2., 5., 3., 6.] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        std::fs::write(&p, &b).unwrap();
        let n = read_npy_f32(&p).unwrap();
        assert_eq!(n.shape, (2, 3));
        assert_eq!(n.into_row_major(), vec![1., 2., 3., 4., 5., 6.]);

        let m = dir.path().join("m");
        // {1: 2, 300: 70000, 2^40: 5}
        let mut b = vec![
            0x83, 0x01, 0x02, 0xcd, 0x01, 0x2c, 0xce, 0x00, 0x01, 0x11, 0x70,
        ];
        b.extend_from_slice(&[0xcf, 0, 0, 1, 0, 0, 0, 0, 0, 0x05]);
        std::fs::write(&m, &b).unwrap();
        let map = read_msgpack_u64_map(&m).unwrap();
        assert_eq!(map.len(), 3);
        assert_eq!(map[&1], 2);
        assert_eq!(map[&300], 70_000);
        assert_eq!(map[&(1u64 << 40)], 5);
    }

    #[test]
    fn a_missing_folder_says_which_command_fetches_it() {
        let e = load_glove(Path::new("/nonexistent/glove"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(GLOVE_NPY) && e.contains("scripts/assets"), "{e}");
        let e = load_spacy(Path::new("/nonexistent/spacy"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(SPACY_VECTORS) && e.contains("scripts/assets"),
            "{e}"
        );
    }
}
