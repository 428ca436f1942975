//! The embedding cache: one vector per text, so re-running a notebook cell, a pipeline with
//! another seed (other split, same texts) or `genre evaluate` after `genre fit` skips the
//! encoder for every text it has seen.
//!
//! Layout: `<dir>/embeddings/<space>/<shard>.bin`. The *space* is the sha256 of the model
//! file's sha256, the max length and the pooling ([`CacheSpace`]); inside it a text's key is
//! the first 16 bytes of its sha256 ([`text_key`]). A shard holds the rows one call added:
//! header `GNEMB001`, width and row count (u64 LE), then per row its key and `width` f32 LE.
//! Shards are written to a temporary name and renamed, so two processes writing at once each
//! leave whole files and a reader never sees half of one; a shard that cannot be read back
//! (truncated by a crash, another width) is skipped and removed. Past [`COMPACT_AT`] shards
//! a writer merges them into one (the merged file is renamed in first, then only the shards it
//! read are removed, so rows another process adds meanwhile survive).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::features::matrix::Dense;

const MAGIC: &[u8; 8] = b"GNEMB001";

/// Shards in one space above which a writer merges them.
pub const COMPACT_AT: usize = 32;

/// Which model and options a cached vector belongs to (one folder of shards).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheSpace(String);

impl CacheSpace {
    /// The space of the model whose weights hash to `model_sha256`, cut at `max_length`,
    /// pooled by `pooling` (e.g. `mean+l2`).
    pub fn new(model_sha256: &str, max_length: usize, pooling: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"genre-nlp embeddings v2\0");
        h.update(model_sha256.as_bytes());
        h.update(b"\0");
        h.update((max_length as u64).to_le_bytes());
        h.update(pooling.as_bytes());
        CacheSpace(format!("{:x}", h.finalize()))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A text's key inside a space: the first 16 bytes of its sha256.
pub fn text_key(text: &str) -> [u8; 16] {
    let d = Sha256::digest(text.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

/// A folder of cached embeddings.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingCache {
    dir: PathBuf,
}

/// What [`EmbeddingCache::clear`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Files removed.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// The vectors of one space, as read from its shards.
#[derive(Debug, Default)]
struct Loaded {
    rows: HashMap<[u8; 16], Vec<f32>>,
    shards: Vec<PathBuf>,
}

impl EmbeddingCache {
    /// A cache in `dir` (its `embeddings/` subfolder), created on first write.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        EmbeddingCache { dir: dir.into() }
    }

    /// `$GENRE_CACHE_DIR`, else `artifacts/cache` (or `../artifacts/cache` from `notebooks/`).
    pub fn default_dir() -> PathBuf {
        if let Ok(d) = std::env::var("GENRE_CACHE_DIR") {
            return PathBuf::from(d);
        }
        if !Path::new("artifacts").is_dir() && Path::new("../artifacts").is_dir() {
            return PathBuf::from("../artifacts/cache");
        }
        PathBuf::from("artifacts/cache")
    }

    /// The cache in [`EmbeddingCache::default_dir`].
    pub fn open_default() -> Self {
        Self::new(Self::default_dir())
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn space_dir(&self, space: &CacheSpace) -> PathBuf {
        self.dir.join("embeddings").join(&space.0)
    }

    fn load(&self, space: &CacheSpace, width: usize) -> Result<Loaded> {
        let dir = self.space_dir(space);
        let mut out = Loaded::default();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "bin")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        paths.sort();
        for p in paths {
            match read_shard(&p, width) {
                Some(rows) => {
                    out.rows.extend(rows);
                    out.shards.push(p);
                }
                None => {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
        Ok(out)
    }

    /// The cached vector (`width` floats) of each text, `None` where there is none.
    pub fn lookup<S: AsRef<str>>(
        &self,
        space: &CacheSpace,
        texts: &[S],
        width: usize,
    ) -> Result<Vec<Option<Vec<f32>>>> {
        let loaded = self.load(space, width)?;
        Ok(texts
            .iter()
            .map(|t| loaded.rows.get(&text_key(t.as_ref())).cloned())
            .collect())
    }

    /// Adds the rows of `x` under `texts` (one new shard; duplicates written once), then
    /// merges the space's shards when there are more than [`COMPACT_AT`].
    pub fn store<S: AsRef<str>>(&self, space: &CacheSpace, texts: &[S], x: &Dense) -> Result<()> {
        let (n, width) = x.dim();
        if n != texts.len() {
            return Err(Error::Model(format!(
                "embedding cache: {} texts but {n} rows",
                texts.len()
            )));
        }
        if n == 0 {
            return Ok(());
        }
        let mut seen = std::collections::HashSet::new();
        let rows: Vec<([u8; 16], Vec<f32>)> = texts
            .iter()
            .zip(x.rows())
            .filter_map(|(t, r)| {
                let k = text_key(t.as_ref());
                seen.insert(k).then(|| (k, r.to_vec()))
            })
            .collect();
        let dir = self.space_dir(space);
        write_shard(&dir, width, rows.iter().map(|(k, v)| (k, v.as_slice())))?;
        let shards = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .filter_map(|e| e.ok())
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.ends_with(".bin") && !n.starts_with('.')
            })
            .count();
        if shards > COMPACT_AT {
            let loaded = self.load(space, width)?;
            let mut all: Vec<(&[u8; 16], &Vec<f32>)> = loaded.rows.iter().collect();
            all.sort_by(|a, b| a.0.cmp(b.0));
            let merged = write_shard(&dir, width, all.into_iter().map(|(k, v)| (k, v.as_slice())))?;
            for p in loaded.shards.iter().filter(|p| **p != merged) {
                let _ = std::fs::remove_file(p);
            }
        }
        Ok(())
    }

    /// Rows cached in `space` (read from disk).
    pub fn len(&self, space: &CacheSpace, width: usize) -> Result<usize> {
        Ok(self.load(space, width)?.rows.len())
    }

    /// `true` when `space` holds no rows.
    pub fn is_empty(&self, space: &CacheSpace, width: usize) -> Result<bool> {
        Ok(self.len(space, width)? == 0)
    }

    /// Removes every cached embedding (every space).
    pub fn clear(&self) -> Result<Cleared> {
        let root = self.dir.join("embeddings");
        let mut out = Cleared::default();
        let spaces = match std::fs::read_dir(&root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(&root, e)),
        };
        for space in spaces {
            let space = space.map_err(|e| Error::io(&root, e))?.path();
            if !space.is_dir() {
                continue;
            }
            for e in std::fs::read_dir(&space).map_err(|e| Error::io(&space, e))? {
                let e = e.map_err(|e| Error::io(&space, e))?;
                let p = e.path();
                if p.extension().is_some_and(|x| x == "bin") {
                    out.bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
                    std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
                    out.files += 1;
                }
            }
            let _ = std::fs::remove_dir(&space);
        }
        Ok(out)
    }
}

/// Writes one shard into `dir` (temp file + rename; the name is the sha256 of its bytes).
fn write_shard<'a>(
    dir: &Path,
    width: usize,
    rows: impl Iterator<Item = (&'a [u8; 16], &'a [f32])>,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut body = Vec::new();
    let mut n = 0u64;
    for (k, v) in rows {
        body.extend_from_slice(k);
        for x in v {
            body.extend_from_slice(&x.to_le_bytes());
        }
        n += 1;
    }
    let mut bytes = Vec::with_capacity(24 + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(width as u64).to_le_bytes());
    bytes.extend_from_slice(&n.to_le_bytes());
    bytes.extend_from_slice(&body);
    let name = format!("{:x}", Sha256::digest(&bytes));
    let path = dir.join(format!("{}.bin", &name[..32]));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(
        ".{}.{}-{nanos}.tmp",
        &name[..32],
        std::process::id()
    ));
    std::fs::write(&tmp, &bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

/// A shard's rows, or `None` when it is damaged or of another width.
fn read_shard(path: &Path, width: usize) -> Option<Vec<([u8; 16], Vec<f32>)>> {
    let b = std::fs::read(path).ok()?;
    if b.len() < 24 || &b[..8] != MAGIC {
        return None;
    }
    let w = u64::from_le_bytes(b[8..16].try_into().ok()?) as usize;
    let n = u64::from_le_bytes(b[16..24].try_into().ok()?) as usize;
    let rec = 16 + 4 * w;
    if w != width || b.len() != 24 + n.checked_mul(rec)? {
        return None;
    }
    Some(
        b[24..]
            .chunks_exact(rec)
            .map(|r| {
                let mut k = [0u8; 16];
                k.copy_from_slice(&r[..16]);
                let v = r[16..]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                (k, v)
            })
            .collect(),
    )
}

/// Writes a float32 matrix as `.npy` (C order), readable by numpy.
pub fn write_npy(x: &Dense, path: &Path) -> Result<()> {
    let (r, c) = x.dim();
    let flat: Vec<f32> = x.iter().copied().collect();
    let t = Tensor::from_vec(flat, (r, c), &Device::Cpu)?;
    t.write_npy(path).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        message: format!("cannot write .npy: {e}"),
    })
}

/// Reads a float32 `.npy` matrix.
pub fn read_npy(path: &Path) -> Result<Dense> {
    let t = Tensor::read_npy(path).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        message: format!("cannot read .npy: {e}"),
    })?;
    let (r, c) = t.dims2()?;
    let v = t
        .to_dtype(candle_core::DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    Dense::from_shape_vec((r, c), v).map_err(|e| Error::Model(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards(cache: &EmbeddingCache, space: &CacheSpace) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(cache.space_dir(space))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn store_lookup_corrupt_compact_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache::new(dir.path());
        let space = CacheSpace::new("abc", 256, "mean+l2");
        assert_ne!(space, CacheSpace::new("abc", 128, "mean+l2"));
        assert_ne!(space, CacheSpace::new("abc", 256, "mean"));
        assert_eq!(cache.lookup(&space, &["one"], 3).unwrap(), vec![None]);
        let x = Dense::from_shape_vec((2, 3), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        cache.store(&space, &["one", "two"], &x).unwrap();
        let got = cache.lookup(&space, &["two", "three", "one"], 3).unwrap();
        assert_eq!(got[0].as_deref(), Some(&[4.0, 5.0, 6.0][..]));
        assert_eq!(got[1], None);
        assert_eq!(got[2].as_deref(), Some(&[1.0, 2.0, 3.0][..]));
        // Another width is a miss (and that shard is dropped).
        assert_eq!(cache.lookup(&space, &["one"], 4).unwrap(), vec![None]);
        assert!(shards(&cache, &space).is_empty());
        // A truncated shard is skipped and removed; whole ones still answer.
        cache.store(&space, &["one", "two"], &x).unwrap();
        let y = Dense::from_shape_vec((1, 3), vec![7.0, 8.0, 9.0]).unwrap();
        cache.store(&space, &["three"], &y).unwrap();
        let files = shards(&cache, &space);
        assert_eq!(files.len(), 2);
        // Shards are named by their content's hash: damage the larger (two-row) one.
        let two = files
            .iter()
            .max_by_key(|p| std::fs::metadata(p).unwrap().len())
            .unwrap();
        let bytes = std::fs::read(two).unwrap();
        std::fs::write(two, &bytes[..bytes.len() - 5]).unwrap();
        let got = cache.lookup(&space, &["one", "two", "three"], 3).unwrap();
        assert_eq!(got[0], None);
        assert_eq!(got[1], None);
        assert_eq!(got[2].as_deref(), Some(&[7.0, 8.0, 9.0][..]));
        assert_eq!(shards(&cache, &space).len(), 1);
        // Many small writes are merged; every row survives.
        for i in 0..(COMPACT_AT + 3) {
            let r = Dense::from_shape_vec((1, 3), vec![i as f32; 3]).unwrap();
            cache.store(&space, &[format!("t{i}")], &r).unwrap();
        }
        assert!(shards(&cache, &space).len() <= COMPACT_AT);
        assert_eq!(cache.len(&space, 3).unwrap(), COMPACT_AT + 4);
        let keys: Vec<String> = (0..COMPACT_AT + 3).map(|i| format!("t{i}")).collect();
        for (i, r) in cache
            .lookup(&space, &keys, 3)
            .unwrap()
            .into_iter()
            .enumerate()
        {
            assert_eq!(r, Some(vec![i as f32; 3]));
        }
        let c = cache.clear().unwrap();
        assert!(c.files >= 1 && c.bytes > 24);
        assert!(cache.is_empty(&space, 3).unwrap());
    }
}
