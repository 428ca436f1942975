//! The offline outbox: an append-only JSONL journal of the writes an unreachable server could not
//! take, replayed in order by [`super::Mlflow::sync`].
//!
//! Layout of the folder (default `artifacts/mlflow-outbox/`):
//! - `outbox.jsonl`: one [`Entry`] per line, appended, never rewritten;
//! - `delivered.jsonl`: one [`Outcome`] per line for every entry delivered (or rejected by the
//!   server), so a replay interrupted half-way resumes where it stopped;
//! - `blobs/`: copies of artifact files queued for upload.
//!
//! - `outbox.lock`, `sync.lock`: advisory locks (never removed). Appends, reads and compaction
//!   take `outbox.lock` (shared to read, exclusive to write), so several processes — a notebook
//!   kernel and two `genre` commands — share one outbox without losing or tearing lines; a replay
//!   holds `sync.lock` for its whole length, so two replays never send an entry twice.
//!
//! When every entry has an outcome, the journal, the outcomes and the blobs they name are removed
//! (compaction, under the exclusive lock: an entry appended meanwhile by another writer keeps
//! them).

use super::types::{now_ms, Batch, DatasetInput, ModelOutput, Param, RunStatus, Tag};
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
    /// An experiment looked up (created if missing) while offline; `local_id` (`local-exp-…`)
    /// stands for its id until replay.
    CreateExperiment {
        /// Placeholder id used by later entries.
        local_id: String,
        /// Experiment name.
        name: String,
        /// Tags given at creation.
        tags: Vec<Tag>,
    },
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
    /// `runs/log-inputs`: datasets the run used.
    LogInputs {
        /// Run id (or placeholder).
        run_id: String,
        /// The datasets.
        datasets: Vec<DatasetInput>,
    },
    /// An MLflow 3 logged model created while offline or online; `local_id`
    /// (`local-model-…`) stands for its id until replay.
    CreateLoggedModel {
        /// Placeholder id used by later entries.
        local_id: String,
        /// Experiment.
        experiment_id: String,
        /// Model name.
        name: String,
        /// The run that produced it (or placeholder).
        source_run_id: Option<String>,
        /// Free-form model type.
        model_type: String,
        /// Params.
        params: Vec<Param>,
        /// Tags.
        tags: Vec<Tag>,
    },
    /// `PATCH logged-models/<id>`: the model's final status.
    FinalizeLoggedModel {
        /// Model id (or placeholder).
        model_id: String,
        /// `LOGGED_MODEL_READY` or `LOGGED_MODEL_UPLOAD_FAILED`.
        status: String,
    },
    /// `runs/outputs`: models the run produced.
    LogOutputs {
        /// Run id (or placeholder).
        run_id: String,
        /// Models (ids or placeholders) and steps.
        models: Vec<ModelOutput>,
    },
    /// An artifact file upload (into a run's, or a logged model's, artifact root); the bytes
    /// wait in `blobs/<blob>`.
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
    /// The ids that must exist on the server before this entry can be sent: the run written
    /// to (and the logged models its metrics or outputs name); for [`Op::CreateRun`] its
    /// experiment and its parent (`mlflow.parentRunId`); for [`Op::SetExperimentTag`] its
    /// experiment; for a logged model, its experiment and source run.
    pub fn depends_on(&self) -> Vec<&str> {
        match self {
            Op::CreateExperiment { .. } => Vec::new(),
            Op::CreateRun {
                tags,
                experiment_id,
                ..
            } => std::iter::once(experiment_id.as_str())
                .chain(
                    tags.iter()
                        .filter(|t| t.key == "mlflow.parentRunId")
                        .map(|t| t.value.as_str()),
                )
                .collect(),
            Op::SetExperimentTag { experiment_id, .. } => vec![experiment_id.as_str()],
            Op::CreateLoggedModel {
                experiment_id,
                source_run_id,
                ..
            } => std::iter::once(experiment_id.as_str())
                .chain(source_run_id.as_deref())
                .collect(),
            Op::FinalizeLoggedModel { model_id, .. } => vec![model_id.as_str()],
            Op::LogBatch { run_id, batch } => std::iter::once(run_id.as_str())
                .chain(batch.metrics.iter().filter_map(|m| m.model_id.as_deref()))
                .collect(),
            Op::LogOutputs { run_id, models } => std::iter::once(run_id.as_str())
                .chain(models.iter().map(|m| m.model_id.as_str()))
                .collect(),
            other => other.run_id().into_iter().collect(),
        }
    }

    /// The run this entry concerns, if any.
    pub fn run_id(&self) -> Option<&str> {
        match self {
            Op::CreateRun { local_id, .. } => Some(local_id),
            Op::LogBatch { run_id, .. }
            | Op::UpdateRun { run_id, .. }
            | Op::LogInputs { run_id, .. }
            | Op::LogOutputs { run_id, .. }
            | Op::UploadArtifact { run_id, .. } => Some(run_id),
            Op::CreateLoggedModel { source_run_id, .. } => source_run_id.as_deref(),
            Op::SetExperimentTag { .. }
            | Op::CreateExperiment { .. }
            | Op::FinalizeLoggedModel { .. } => None,
        }
    }
}

/// Whether `id` is an offline placeholder (`local-…` run, `local-exp-…` experiment).
pub fn is_placeholder(id: &str) -> bool {
    id.starts_with("local-")
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
    /// Name of the run it concerns, when the writer knew it (for `genre mlflow status`; not
    /// `run_name`, which [`Op::CreateRun`] uses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_label: Option<String>,
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
    /// For a delivered [`Op::CreateRun`]: the server's run id ([`Op::CreateLoggedModel`]: the
    /// model id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// For a delivered [`Op::CreateExperiment`]: the server's experiment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
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
    /// Logged models waiting to be created.
    pub models: usize,
    /// Pending run creations / status updates.
    pub runs: usize,
    /// Entries the server refused earlier (kept for inspection in `delivered.jsonl`).
    pub rejected: usize,
    /// Distinct runs concerned by pending entries.
    pub run_ids: Vec<String>,
    /// The same runs with their names (when known) and pending entry counts.
    pub runs_pending: Vec<PendingRun>,
}

/// A run with entries waiting in the outbox.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingRun {
    /// Its id (a `local-…` placeholder when it was created offline).
    pub id: String,
    /// Its name, when a queued entry carries it.
    pub name: Option<String>,
    /// Pending entries that concern it.
    pub entries: usize,
    /// The tracking URI they were queued for.
    pub server: String,
}

impl std::fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pending == 0 {
            write!(f, "outbox {}: nothing pending", self.dir.display())?;
        } else {
            write!(
                f,
                "outbox {}: {} pending entries ({} metric points, {} params, {} tags, {} artifacts, {} run updates, {} logged models) for {} run(s)",
                self.dir.display(),
                self.pending,
                self.metrics,
                self.params,
                self.tags,
                self.artifacts,
                self.runs,
                self.models,
                self.run_ids.len(),
            )?;
        }
        if self.rejected > 0 {
            write!(
                f,
                "; {} entries refused by the server earlier (see delivered.jsonl)",
                self.rejected
            )?;
        }
        for r in &self.runs_pending {
            write!(
                f,
                "\n  run {:?} ({}): {} entries for {}",
                r.name.as_deref().unwrap_or("(unnamed)"),
                r.id,
                r.entries,
                r.server
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

/// An advisory lock on one of the outbox's lock files, released on drop.
#[derive(Debug)]
pub struct OutboxLock {
    _file: File,
}

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

    /// Takes `name`'s lock: `exclusive` or shared, waiting (`wait`) or not. `Ok(None)`: another
    /// process holds it and `wait` is false. Without a folder yet (nothing was ever queued),
    /// reading needs no lock.
    fn lock(&self, name: &str, exclusive: bool, wait: bool) -> Result<Option<OutboxLock>> {
        let path = self.dir.join(name);
        if !exclusive && !self.dir.exists() {
            return Ok(None);
        }
        fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let got = match (exclusive, wait) {
            (true, true) => file.lock().map(|_| true),
            (false, true) => file.lock_shared().map(|_| true),
            (true, false) => match file.try_lock() {
                Ok(()) => Ok(true),
                Err(fs::TryLockError::WouldBlock) => Ok(false),
                Err(fs::TryLockError::Error(e)) => Err(e),
            },
            (false, false) => match file.try_lock_shared() {
                Ok(()) => Ok(true),
                Err(fs::TryLockError::WouldBlock) => Ok(false),
                Err(fs::TryLockError::Error(e)) => Err(e),
            },
        }
        .map_err(|e| Error::io(&path, e))?;
        Ok(got.then_some(OutboxLock { _file: file }))
    }

    fn read_lock(&self) -> Result<Option<OutboxLock>> {
        self.lock("outbox.lock", false, true)
    }

    fn write_lock(&self) -> Result<Option<OutboxLock>> {
        self.lock("outbox.lock", true, true)
    }

    /// The replay lock: held by [`super::Mlflow::sync`] for the whole replay so that two
    /// processes never deliver the same entry. `wait: false` returns `Ok(None)` when another
    /// replay is running.
    pub fn sync_lock(&self, wait: bool) -> Result<Option<OutboxLock>> {
        self.lock("sync.lock", true, wait)
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
        self.append_named(server, op, None)
    }

    /// Appends an entry for `server` that concerns the run named `run_name`; returns its id.
    pub fn append_named(&self, server: &str, op: Op, run_name: Option<String>) -> Result<String> {
        let run_name = run_name.or_else(|| match &op {
            Op::CreateRun { run_name, .. } => Some(run_name.clone()),
            _ => None,
        });
        let entry = Entry {
            id: self.new_id(),
            queued_ms: now_ms(),
            server: server.to_string(),
            run_label: run_name,
            op,
        };
        let mut line = serde_json::to_vec(&entry)?;
        line.push(b'\n');
        let _lock = self.write_lock()?;
        append_line(&self.journal(), &line)?;
        self.pending_hint.fetch_add(1, Ordering::SeqCst);
        Ok(entry.id)
    }

    /// Copies `bytes` into `blobs/` and returns the blob name (unique across processes).
    pub fn store_blob(&self, bytes: &[u8]) -> Result<String> {
        let dir = self.blobs();
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let name = format!("{}.bin", self.new_id());
        let path = dir.join(&name);
        let tmp = dir.join(format!("{name}.part"));
        fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
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
        {
            let _lock = self.write_lock()?;
            append_line(&self.outcomes(), &line)?;
        }
        let _ = self
            .pending_hint
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        Ok(())
    }

    /// Every outcome recorded so far.
    pub fn outcomes_so_far(&self) -> Result<Vec<Outcome>> {
        let _lock = self.read_lock()?;
        read_jsonl(&self.outcomes())
    }

    /// The journal and the outcomes, read under one shared lock.
    fn snapshot(&self) -> Result<(Vec<Entry>, Vec<Outcome>)> {
        let _lock = self.read_lock()?;
        Ok((read_jsonl(&self.journal())?, read_jsonl(&self.outcomes())?))
    }

    /// Placeholder → server id, from delivered [`Op::CreateRun`] and [`Op::CreateExperiment`]
    /// entries.
    pub fn id_map(&self) -> Result<HashMap<String, String>> {
        let (entries, outcomes) = self.snapshot()?;
        let created: HashMap<String, String> = outcomes
            .into_iter()
            .filter_map(|o| o.run_id.or(o.experiment_id).map(|r| (o.id, r)))
            .collect();
        let mut map = HashMap::new();
        for e in entries {
            let local = match &e.op {
                Op::CreateRun { local_id, .. }
                | Op::CreateExperiment { local_id, .. }
                | Op::CreateLoggedModel { local_id, .. } => local_id,
                _ => continue,
            };
            if let Some(real) = created.get(&e.id) {
                map.insert(local.clone(), real.clone());
            }
        }
        Ok(map)
    }

    /// Entries without an outcome, in the order they were queued.
    pub fn pending(&self) -> Result<Vec<Entry>> {
        let (all, outcomes) = self.snapshot()?;
        let pending = pending_of(all, &outcomes);
        self.pending_hint
            .store(pending.len() as u64, Ordering::SeqCst);
        Ok(pending)
    }

    /// Counts what is pending, and lists the runs concerned with their names.
    pub fn status(&self) -> Result<OutboxStatus> {
        let (all, outcomes) = self.snapshot()?;
        // Names of runs, also from entries already delivered (a run created offline earlier).
        let mut names: HashMap<String, String> = HashMap::new();
        // A logged model's entries (its files, its status) count for the run that made it.
        let model_runs: HashMap<String, String> = all
            .iter()
            .filter_map(|e| match &e.op {
                Op::CreateLoggedModel {
                    local_id,
                    source_run_id: Some(r),
                    ..
                } => Some((local_id.clone(), r.clone())),
                _ => None,
            })
            .collect();
        for e in &all {
            if let (Some(r), Some(n)) = (e.op.run_id(), &e.run_label) {
                names.entry(r.to_string()).or_insert_with(|| n.clone());
            }
        }
        let rejected = outcomes.iter().filter(|o| !o.delivered).count();
        let pending = pending_of(all, &outcomes);
        let mut st = OutboxStatus {
            dir: self.dir.clone(),
            pending: pending.len(),
            rejected,
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
                Op::CreateExperiment { .. }
                | Op::LogInputs { .. }
                | Op::FinalizeLoggedModel { .. }
                | Op::LogOutputs { .. } => {}
                Op::CreateLoggedModel { .. } => st.models += 1,
            }
            let run = match &e.op {
                Op::FinalizeLoggedModel { model_id: m, .. } => Some(m.as_str()),
                op => op.run_id(),
            }
            .map(|r| model_runs.get(r).map_or(r, String::as_str));
            if let Some(r) = run {
                match st.runs_pending.iter_mut().find(|p| p.id == r) {
                    Some(p) => p.entries += 1,
                    None => {
                        st.run_ids.push(r.to_string());
                        st.runs_pending.push(PendingRun {
                            id: r.to_string(),
                            name: names.get(r).cloned(),
                            entries: 1,
                            server: e.server.clone(),
                        });
                    }
                }
            }
        }
        Ok(st)
    }

    /// Removes the journal, the outcomes and the blobs they name when nothing is pending and
    /// nothing was refused (checked under the exclusive lock, so an entry another process is
    /// appending is never lost). Returns whether it did.
    pub fn compact(&self) -> Result<bool> {
        let Some(_lock) = self.write_lock()? else {
            return Ok(false);
        };
        let all: Vec<Entry> = read_jsonl(&self.journal())?;
        let outcomes: Vec<Outcome> = read_jsonl(&self.outcomes())?;
        if outcomes.iter().any(|o| !o.delivered) || !pending_of(all.clone(), &outcomes).is_empty() {
            return Ok(false);
        }
        for p in [self.journal(), self.outcomes()] {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&p, e)),
            }
        }
        // Only the blobs these entries name: another writer may be storing one right now.
        for e in &all {
            if let Op::UploadArtifact { blob, .. } = &e.op {
                let p = self.blobs().join(blob);
                match fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&p, e)),
                }
            }
        }
        // Removed only when empty.
        let _ = fs::remove_dir(self.blobs());
        self.pending_hint.store(0, Ordering::SeqCst);
        Ok(true)
    }
}

fn pending_of(all: Vec<Entry>, outcomes: &[Outcome]) -> Vec<Entry> {
    let done: HashSet<&str> = outcomes.iter().map(|o| o.id.as_str()).collect();
    all.into_iter()
        .filter(|e| !done.contains(e.id.as_str()))
        .collect()
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
    // One write per line, under the outbox's exclusive lock.
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
            experiment_id: None,
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

    /// Four writers (each its own handle, as separate processes have) append while two
    /// replayers deliver and compact: every entry is delivered exactly once, none is lost.
    #[test]
    fn writers_and_replayers_share_one_outbox() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ob");
        let writing = Arc::new(AtomicBool::new(true));
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let ob = Outbox::open(&path).unwrap();
                    (0..150)
                        .map(|i| {
                            let op = if i % 10 == 0 {
                                let blob = ob.store_blob(&[w as u8; 100]).unwrap();
                                Op::UploadArtifact {
                                    run_id: format!("run-{w}"),
                                    artifact_path: format!("a/{i}"),
                                    blob,
                                }
                            } else {
                                Op::LogBatch {
                                    run_id: format!("run-{w}"),
                                    batch: Batch {
                                        metrics: vec![Metric::new("m", i as f64, i)],
                                        ..Default::default()
                                    },
                                }
                            };
                            ob.append("http://x", op).unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let replayers: Vec<_> = (0..2)
            .map(|_| {
                let (path, writing) = (path.clone(), writing.clone());
                std::thread::spawn(move || {
                    let ob = Outbox::open(&path).unwrap();
                    let mut delivered = Vec::new();
                    loop {
                        let last_round = !writing.load(Ordering::SeqCst);
                        {
                            let _l = ob.sync_lock(true).unwrap();
                            for e in ob.pending().unwrap() {
                                if let Op::UploadArtifact { blob, .. } = &e.op {
                                    ob.read_blob(blob).expect("the blob is still there");
                                }
                                ob.record(&Outcome {
                                    id: e.id.clone(),
                                    delivered: true,
                                    run_id: None,
                                    experiment_id: None,
                                    error: None,
                                })
                                .unwrap();
                                delivered.push(e.id);
                            }
                            ob.compact().unwrap();
                        }
                        if last_round {
                            return delivered;
                        }
                        std::thread::yield_now();
                    }
                })
            })
            .collect();
        let mut appended: Vec<String> = writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        writing.store(false, Ordering::SeqCst);
        let mut delivered: Vec<String> = replayers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect();
        appended.sort();
        delivered.sort();
        assert_eq!(appended.len(), 600);
        assert_eq!(delivered, appended, "each entry delivered exactly once");
        let ob = Outbox::open(&path).unwrap();
        assert_eq!(ob.status().unwrap().pending, 0);
        assert!(!path.join("outbox.jsonl").exists(), "compacted at the end");
        assert!(
            !path.join("blobs").exists(),
            "blobs removed with their entries"
        );
    }

    #[test]
    fn status_names_the_pending_runs() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(dir.path().join("ob")).unwrap();
        ob.append(
            "http://x",
            Op::CreateRun {
                local_id: "local-1".into(),
                experiment_id: "local-exp-1".into(),
                run_name: "fit tfidf-linear".into(),
                start_time: 1,
                tags: vec![],
            },
        )
        .unwrap();
        ob.append(
            "http://x",
            Op::UpdateRun {
                run_id: "local-1".into(),
                status: RunStatus::Finished,
                end_time: Some(2),
            },
        )
        .unwrap();
        ob.append_named(
            "http://x",
            Op::UpdateRun {
                run_id: "abc".into(),
                status: RunStatus::Finished,
                end_time: Some(2),
            },
            Some("evaluate".into()),
        )
        .unwrap();
        let st = ob.status().unwrap();
        let text = st.to_string();
        assert!(text.contains("for 2 run(s)"), "{text}");
        assert!(
            text.contains("run \"fit tfidf-linear\" (local-1): 2 entries for http://x"),
            "{text}"
        );
        assert!(text.contains("run \"evaluate\" (abc): 1 entries"), "{text}");
        assert_eq!(
            Op::CreateRun {
                local_id: "l".into(),
                experiment_id: "local-exp-1".into(),
                run_name: String::new(),
                start_time: 0,
                tags: vec![Tag::new("mlflow.parentRunId", "local-2")],
            }
            .depends_on(),
            ["local-exp-1", "local-2"]
        );
    }
}
