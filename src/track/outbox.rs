//! The offline outbox: an append-only JSONL journal of the writes an unreachable server could not
//! take, replayed in order by [`super::Mlflow::sync`].
//!
//! Layout of the folder (default `artifacts/mlflow-outbox/`):
//! - `outbox.jsonl`: one [`Entry`] per line, appended, never rewritten;
//! - `delivered.jsonl`: one [`Outcome`] per line for every entry delivered (or rejected by the
//!   server), so a replay interrupted half-way resumes where it stopped;
//! - `blobs/`: copies of artifact files queued for upload.
//!
//! When every entry has an outcome, the folder's files are removed (compaction). One process
//! writes an outbox at a time.

use super::types::{now_ms, Batch, RunStatus, Tag};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A write the server did not receive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// A run created while offline; `local_id` stands for its id until replay.
    CreateRun {
        /// Placeholder id (`local-…`) used by later entries.
        local_id: String,
        /// Experiment.
        experiment_id: String,
        /// Run name.
        run_name: String,
        /// Start, ms since the epoch.
        start_time: i64,
        /// Tags (incl. `mlflow.parentRunId`).
        tags: Vec<Tag>,
    },
    /// One `log-batch` request (already within the limits).
    LogBatch {
        /// Run id (or placeholder).
        run_id: String,
        /// The request's entities.
        batch: Batch,
    },
    /// `runs/update`.
    UpdateRun {
        /// Run id (or placeholder).
        run_id: String,
        /// New status.
        status: RunStatus,
        /// End, ms since the epoch.
        end_time: Option<i64>,
    },
    /// `experiments/set-experiment-tag`.
    SetExperimentTag {
        /// Experiment.
        experiment_id: String,
        /// Tag.
        tag: Tag,
    },
    /// An artifact file upload; the bytes wait in `blobs/<blob>`.
    UploadArtifact {
        /// Run id (or placeholder).
        run_id: String,
        /// Destination path inside the run's artifact root.
        artifact_path: String,
        /// File name under `blobs/`.
        blob: String,
    },
}

impl Op {
    /// The run that must exist on the server before this entry can be sent: the run written
    /// to, or for [`Op::CreateRun`] its parent (`mlflow.parentRunId`).
    pub fn depends_on(&self) -> Option<&str> {
        match self {
            Op::CreateRun { tags, .. } => tags
                .iter()
                .find(|t| t.key == "mlflow.parentRunId")
                .map(|t| t.value.as_str()),
            other => other.run_id(),
        }
    }

    /// The run this entry concerns, if any.
    pub fn run_id(&self) -> Option<&str> {
        match self {
            Op::CreateRun { local_id, .. } => Some(local_id),
            Op::LogBatch { run_id, .. }
            | Op::UpdateRun { run_id, .. }
            | Op::UploadArtifact { run_id, .. } => Some(run_id),
            Op::SetExperimentTag { .. } => None,
        }
    }
}

/// One line of `outbox.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unique id (time, process, counter).
    pub id: String,
    /// When it was queued, ms since the epoch.
    pub queued_ms: i64,
    /// The tracking URI it was meant for (credential-free).
    pub server: String,
    /// The write.
    #[serde(flatten)]
    pub op: Op,
}

/// One line of `delivered.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The entry's id.
    pub id: String,
    /// `true`: the server took it; `false`: the server refused it (4xx), see `error`.
    pub delivered: bool,
    /// For a delivered [`Op::CreateRun`]: the server's run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The server's refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What an outbox still holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxStatus {
    /// The folder.
    pub dir: PathBuf,
    /// Entries without an outcome.
    pub pending: usize,
    /// Metric points in pending entries.
    pub metrics: usize,
    /// Params in pending entries.
    pub params: usize,
    /// Tags in pending entries.
    pub tags: usize,
    /// Pending artifact uploads.
    pub artifacts: usize,
    /// Pending run creations / status updates.
    pub runs: usize,
    /// Entries the server refused earlier (kept for inspection in `delivered.jsonl`).
    pub rejected: usize,
    /// Distinct runs concerned by pending entries.
    pub run_ids: Vec<String>,
}

impl std::fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pending == 0 {
            write!(f, "outbox {}: nothing pending", self.dir.display())?;
        } else {
            write!(
                f,
                "outbox {}: {} pending entries ({} metric points, {} params, {} tags, {} artifacts, {} run updates) for {} run(s): {}",
                self.dir.display(),
                self.pending,
                self.metrics,
                self.params,
                self.tags,
                self.artifacts,
                self.runs,
                self.run_ids.len(),
                self.run_ids.join(", ")
            )?;
        }
        if self.rejected > 0 {
            write!(
                f,
                "; {} entries refused by the server earlier",
                self.rejected
            )?;
        }
        Ok(())
    }
}

/// The outbox folder. Cheap to open: files are created on the first append.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    counter: AtomicU64,
    pending_hint: AtomicU64,
}

static PROCESS_SEQ: AtomicU64 = AtomicU64::new(0);

impl Outbox {
    /// Opens (without creating) the outbox in `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let ob = Outbox {
            dir: dir.into(),
            counter: AtomicU64::new(0),
            pending_hint: AtomicU64::new(0),
        };
        let n = ob.pending()?.len() as u64;
        ob.pending_hint.store(n, Ordering::SeqCst);
        Ok(ob)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn journal(&self) -> PathBuf {
        self.dir.join("outbox.jsonl")
    }
    fn outcomes(&self) -> PathBuf {
        self.dir.join("delivered.jsonl")
    }
    fn blobs(&self) -> PathBuf {
        self.dir.join("blobs")
    }

    /// Whether this process queued or found entries not yet replayed (no file access).
    pub fn has_pending(&self) -> bool {
        self.pending_hint.load(Ordering::SeqCst) > 0
    }

    fn new_id(&self) -> String {
        let seq = self.counter.fetch_add(1, Ordering::SeqCst);
        let global = PROCESS_SEQ.fetch_add(1, Ordering::SeqCst);
        format!("{:013}-{}-{}-{}", now_ms(), std::process::id(), global, seq)
    }

    /// Appends an entry for `server`; returns its id.
    pub fn append(&self, server: &str, op: Op) -> Result<String> {
        let entry = Entry {
            id: self.new_id(),
            queued_ms: now_ms(),
            server: server.to_string(),
            op,
        };
        let mut line = serde_json::to_vec(&entry)?;
        line.push(b'\n');
        append_line(&self.journal(), &line)?;
        self.pending_hint.fetch_add(1, Ordering::SeqCst);
        Ok(entry.id)
    }

    /// Copies `bytes` into `blobs/` and returns the blob name.
    pub fn store_blob(&self, bytes: &[u8]) -> Result<String> {
        let dir = self.blobs();
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let name = format!("{}.bin", self.new_id());
        let path = dir.join(&name);
        fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        Ok(name)
    }

    /// Reads a blob back.
    pub fn read_blob(&self, name: &str) -> Result<Vec<u8>> {
        if name.contains('/') || name.contains("..") {
            return Err(Error::Tracking(format!("bad blob name {name:?} in outbox")));
        }
        let path = self.blobs().join(name);
        fs::read(&path).map_err(|e| Error::io(&path, e))
    }

    /// Records the outcome of an entry.
    pub fn record(&self, outcome: &Outcome) -> Result<()> {
        let mut line = serde_json::to_vec(outcome)?;
        line.push(b'\n');
        append_line(&self.outcomes(), &line)?;
        let _ = self
            .pending_hint
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        Ok(())
    }

    /// Every outcome recorded so far.
    pub fn outcomes_so_far(&self) -> Result<Vec<Outcome>> {
        read_jsonl(&self.outcomes())
    }

    /// Placeholder → server run ids, from delivered [`Op::CreateRun`] entries.
    pub fn run_id_map(&self) -> Result<HashMap<String, String>> {
        let outcomes = self.outcomes_so_far()?;
        let created: HashMap<String, String> = outcomes
            .into_iter()
            .filter_map(|o| o.run_id.map(|r| (o.id, r)))
            .collect();
        let mut map = HashMap::new();
        for e in read_jsonl::<Entry>(&self.journal())? {
            if let (Op::CreateRun { local_id, .. }, Some(real)) = (&e.op, created.get(&e.id)) {
                map.insert(local_id.clone(), real.clone());
            }
        }
        Ok(map)
    }

    /// Entries without an outcome, in the order they were queued.
    pub fn pending(&self) -> Result<Vec<Entry>> {
        let done: HashSet<String> = self.outcomes_so_far()?.into_iter().map(|o| o.id).collect();
        let all: Vec<Entry> = read_jsonl(&self.journal())?;
        let pending: Vec<Entry> = all.into_iter().filter(|e| !done.contains(&e.id)).collect();
        self.pending_hint
            .store(pending.len() as u64, Ordering::SeqCst);
        Ok(pending)
    }

    /// Counts what is pending.
    pub fn status(&self) -> Result<OutboxStatus> {
        let pending = self.pending()?;
        let mut st = OutboxStatus {
            dir: self.dir.clone(),
            pending: pending.len(),
            rejected: self
                .outcomes_so_far()?
                .iter()
                .filter(|o| !o.delivered)
                .count(),
            ..Default::default()
        };
        for e in &pending {
            match &e.op {
                Op::LogBatch { batch, .. } => {
                    st.metrics += batch.metrics.len();
                    st.params += batch.params.len();
                    st.tags += batch.tags.len();
                }
                Op::UploadArtifact { .. } => st.artifacts += 1,
                Op::CreateRun { .. } | Op::UpdateRun { .. } => st.runs += 1,
                Op::SetExperimentTag { .. } => st.tags += 1,
            }
            if let Some(r) = e.op.run_id() {
                if !st.run_ids.iter().any(|x| x == r) {
                    st.run_ids.push(r.to_string());
                }
            }
        }
        Ok(st)
    }

    /// Removes the journal, outcomes and blobs when nothing is pending and nothing was refused.
    /// Returns whether it did.
    pub fn compact(&self) -> Result<bool> {
        if !self.pending()?.is_empty() || self.status()?.rejected > 0 {
            return Ok(false);
        }
        for p in [self.journal(), self.outcomes()] {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&p, e)),
            }
        }
        let blobs = self.blobs();
        if blobs.exists() {
            fs::remove_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
        }
        Ok(true)
    }
}

fn append_line(path: &Path, line: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    // A crash mid-append leaves a torn last line: start on a fresh line so it stays alone.
    let torn = {
        use std::io::{Read, Seek, SeekFrom};
        let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut last = [b'\n'];
        if len > 0 {
            f.seek(SeekFrom::Start(len - 1))
                .and_then(|_| f.read_exact(&mut last))
                .map_err(|e| Error::io(path, e))?;
        }
        last[0] != b'\n'
    };
    let mut buf = Vec::with_capacity(line.len() + 1);
    if torn {
        buf.push(b'\n');
    }
    buf.extend_from_slice(line);
    // One write per line: concurrent appenders never interleave inside a line.
    f.write_all(&buf).map_err(|e| Error::io(path, e))?;
    f.sync_data().map_err(|e| Error::io(path, e))
}

/// Reads a JSONL file; a missing file is empty; a torn last line (crash mid-append) is skipped.
fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let lines: Vec<String> = BufReader::new(f)
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(path, e))?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(v) => out.push(v),
            // A torn line (crash mid-append) was never acknowledged to the caller: skip it.
            Err(e) => eprintln!(
                "warning: {}:{}: skipping unreadable outbox line ({e})",
                path.display(),
                i + 1
            ),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::types::Metric;

    #[test]
    fn append_pending_record_compact() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(dir.path().join("ob")).unwrap();
        assert!(!ob.has_pending());
        let batch = Batch {
            metrics: vec![Metric::new("loss", f64::NAN, 3)],
            ..Default::default()
        };
        let a = ob
            .append(
                "http://x",
                Op::LogBatch {
                    run_id: "r".into(),
                    batch,
                },
            )
            .unwrap();
        let b = ob
            .append(
                "http://x",
                Op::UpdateRun {
                    run_id: "r".into(),
                    status: RunStatus::Finished,
                    end_time: Some(1),
                },
            )
            .unwrap();
        assert!(ob.has_pending());
        let p = ob.pending().unwrap();
        assert_eq!(
            p.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
            [a.clone(), b]
        );
        match &p[0].op {
            Op::LogBatch { batch, .. } => assert!(batch.metrics[0].value.is_nan()),
            other => panic!("{other:?}"),
        }
        ob.record(&Outcome {
            id: a,
            delivered: true,
            run_id: None,
            error: None,
        })
        .unwrap();
        let st = ob.status().unwrap();
        assert_eq!((st.pending, st.runs, st.metrics), (1, 1, 0));
        // A torn last line is ignored.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("ob/outbox.jsonl"))
            .unwrap();
        f.write_all(b"{\"id\":\"torn").unwrap();
        assert_eq!(
            Outbox::open(dir.path().join("ob"))
                .unwrap()
                .pending()
                .unwrap()
                .len(),
            1
        );
        // ... and the next append starts on its own line.
        ob.append(
            "http://x",
            Op::SetExperimentTag {
                experiment_id: "1".into(),
                tag: Tag::new("k", "v"),
            },
        )
        .unwrap();
        assert_eq!(ob.pending().unwrap().len(), 2);
        assert!(!ob.compact().unwrap());
    }
}
