//! [`Tracker`]: the one face the study and the CLI log through, with a no-op implementation
//! and the MLflow-backed [`MlflowTracker`].

use super::client::{Mlflow, SyncReport};
use super::config::MlflowConfig;
use super::types::{
    now_ms, Batch, DatasetInfo, DatasetInput, Metric, Param, RunStatus, Tag, LOGGED_MODEL_READY,
    LOGGED_MODEL_UPLOAD_FAILED, MAX_METRICS_PER_BATCH,
};
use crate::data::Dataset;
use crate::error::Result;
use std::path::Path;
use std::time::{Duration, Instant};

/// Logs runs, params, step metrics, tags and artifacts. Runs nest: [`Tracker::start_run`] while a
/// run is active opens a child run (study → family → model); every logging call goes to the
/// innermost active run.
pub trait Tracker {
    /// Opens a run (nested under the active one, if any) and makes it active; returns its id.
    fn start_run(&mut self, name: &str) -> Result<String>;
    /// Logs a param of the active run.
    fn log_param(&mut self, key: &str, value: &str) -> Result<()>;
    /// Logs a metric point of the active run at `step` (timestamped now).
    fn log_metric(&mut self, key: &str, value: f64, step: i64) -> Result<()>;
    /// Logs a metric point taken at `timestamp_ms` (milliseconds since the Unix epoch), e.g. a
    /// system-metrics sample logged after the fact; trackers without timestamps log it now.
    fn log_metric_at(&mut self, key: &str, value: f64, step: i64, timestamp_ms: i64) -> Result<()> {
        let _ = timestamp_ms;
        self.log_metric(key, value, step)
    }
    /// Sets a tag of the active run.
    fn set_tag(&mut self, key: &str, value: &str) -> Result<()>;
    /// Uploads a file, or a folder recursively, into `artifact_dir` of the active run
    /// (`""`: its root).
    fn log_artifact(&mut self, local: &Path, artifact_dir: &str) -> Result<()>;
    /// Sends what is buffered.
    fn flush(&mut self) -> Result<()>;
    /// Ends the active run with `status`; its parent becomes active again.
    fn end_run(&mut self, status: RunStatus) -> Result<()>;
    /// The active run's id.
    fn active_run(&self) -> Option<&str>;

    /// Where the active run (or, offline, its experiment) is in the tracking server's UI;
    /// `None` from trackers that record nothing.
    fn ui_url(&self) -> Option<String> {
        None
    }

    /// A markdown description of the active run (`mlflow.note.content`: the UI's
    /// Description).
    fn set_description(&mut self, markdown: &str) -> Result<()> {
        self.set_tag("mlflow.note.content", markdown)
    }

    /// Records a dataset the active run used (see [`dataset_input`]); trackers that record
    /// nothing ignore it.
    fn log_dataset(&mut self, _input: &DatasetInput) -> Result<()> {
        Ok(())
    }

    /// Logs the model folder `dir` as an MLflow 3 logged model named `name` (type
    /// `model_type`, with `params`) produced by the active run: its files uploaded, finalised
    /// READY, recorded as the run's output, `metrics` logged on the run and linked to the
    /// model. Returns the model id; `None` from trackers that record nothing.
    fn log_model(
        &mut self,
        _name: &str,
        _dir: &Path,
        _model_type: &str,
        _params: &[(String, String)],
        _metrics: &[(&str, f64)],
    ) -> Result<Option<String>> {
        Ok(None)
    }

    /// Registers logged model `model_id` (from [`Tracker::log_model`]) in the Model Registry
    /// as a new version of `name`; returns the version, `None` from trackers that record
    /// nothing.
    fn register_model(&mut self, _name: &str, _model_id: &str) -> Result<Option<u64>> {
        Ok(None)
    }

    /// Logs several params.
    fn log_params(&mut self, params: &[(&str, &str)]) -> Result<()> {
        for (k, v) in params {
            self.log_param(k, v)?;
        }
        Ok(())
    }
    /// Logs several metrics at one step.
    fn log_metrics(&mut self, metrics: &[(&str, f64)], step: i64) -> Result<()> {
        for (k, v) in metrics {
            self.log_metric(k, *v, step)?;
        }
        Ok(())
    }
}

/// A tracker that records nothing (for users who do not track). Run ids are `noop-<n>`.
#[derive(Debug, Default)]
pub struct NoopTracker {
    stack: Vec<String>,
    started: usize,
}

impl NoopTracker {
    /// A no-op tracker.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Tracker for NoopTracker {
    fn start_run(&mut self, _name: &str) -> Result<String> {
        self.started += 1;
        let id = format!("noop-{}", self.started);
        self.stack.push(id.clone());
        Ok(id)
    }
    fn log_param(&mut self, _key: &str, _value: &str) -> Result<()> {
        Ok(())
    }
    fn log_metric(&mut self, _key: &str, _value: f64, _step: i64) -> Result<()> {
        Ok(())
    }
    fn set_tag(&mut self, _key: &str, _value: &str) -> Result<()> {
        Ok(())
    }
    fn log_artifact(&mut self, _local: &Path, _artifact_dir: &str) -> Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    fn end_run(&mut self, _status: RunStatus) -> Result<()> {
        self.stack.pop();
        Ok(())
    }
    fn active_run(&self) -> Option<&str> {
        self.stack.last().map(String::as_str)
    }
}

/// The tracker from the environment: [`MlflowTracker`] when `MLFLOW_TRACKING_URI` is set,
/// [`NoopTracker`] otherwise. `MLFLOW_EXPERIMENT_NAME`, when set, overrides `experiment`.
pub fn from_env(experiment: &str) -> Result<Box<dyn Tracker>> {
    if std::env::var_os("MLFLOW_TRACKING_URI").is_some_and(|v| !v.is_empty()) {
        Ok(Box::new(MlflowTracker::from_env(experiment)?))
    } else {
        Ok(Box::new(NoopTracker::new()))
    }
}

#[derive(Debug)]
struct ActiveRun {
    id: String,
    pending: Batch,
}

/// Tracks to an MLflow server through [`Mlflow`]. Metric points are buffered and sent in
/// batches (1000 points, or every `flush_interval`); params and tags go with them. Runs get the
/// standard tags `mlflow.runName`, `mlflow.user`, `mlflow.source.name`, `mlflow.source.type`,
/// `mlflow.source.git.commit` (when found) and `mlflow.parentRunId` for nested runs.
///
/// Dropping it flushes and ends the runs still active (FAILED while panicking, FINISHED
/// otherwise), as the Python client does at exit.
#[derive(Debug)]
pub struct MlflowTracker {
    client: Mlflow,
    experiment_id: String,
    stack: Vec<ActiveRun>,
    flush_every: usize,
    flush_interval: Duration,
    last_flush: Instant,
}

impl MlflowTracker {
    /// Tracks into experiment `experiment` (created if missing) with `client`. When the server
    /// does not answer at start-up, everything goes to the outbox from the first call (see
    /// [`Mlflow::get_or_create_experiment`]) and the work goes on.
    ///
    /// The experiment is tagged `mlflow.experimentKind = custom_model_development` (at
    /// creation, or when an existing one has no kind yet) so that the MLflow UI opens it in its
    /// model-training view.
    pub fn new(client: Mlflow, experiment: &str) -> Result<Self> {
        let kind = Tag::new(EXPERIMENT_KIND_TAG, EXPERIMENT_KIND);
        let experiment_id = client.get_or_create_experiment(experiment, &[kind])?;
        if !super::outbox::is_placeholder(&experiment_id) {
            // An experiment made elsewhere (the Python client, the UI) may have no kind.
            if let Ok(e) = client.get_experiment(&experiment_id) {
                if !e.tags.iter().any(|t| t.key == EXPERIMENT_KIND_TAG) {
                    client.set_experiment_tag(
                        &experiment_id,
                        EXPERIMENT_KIND_TAG,
                        EXPERIMENT_KIND,
                    )?;
                }
            }
        }
        Ok(Self::with_experiment_id(client, experiment_id))
    }

    /// Tracks into an existing experiment id (no server call).
    pub fn with_experiment_id(client: Mlflow, experiment_id: impl Into<String>) -> Self {
        MlflowTracker {
            client,
            experiment_id: experiment_id.into(),
            stack: Vec::new(),
            flush_every: MAX_METRICS_PER_BATCH,
            flush_interval: Duration::from_secs(2),
            last_flush: Instant::now(),
        }
    }

    /// From the `MLFLOW_*` variables; `MLFLOW_EXPERIMENT_NAME` overrides `experiment`.
    pub fn from_env(experiment: &str) -> Result<Self> {
        let cfg = MlflowConfig::from_env()?;
        let name = cfg
            .experiment_name
            .clone()
            .unwrap_or_else(|| experiment.to_string());
        Self::new(Mlflow::new(cfg)?, &name)
    }

    /// Sends buffered points once this many are waiting (default 1000, at least 1).
    pub fn flush_every(mut self, points: usize) -> Self {
        self.flush_every = points.max(1);
        self
    }

    /// Sends buffered points at the first call after this much time (default 2 s).
    pub fn flush_interval(mut self, d: Duration) -> Self {
        self.flush_interval = d;
        self
    }

    /// The client.
    pub fn client(&self) -> &Mlflow {
        &self.client
    }

    /// Points the tracker at another address of the same server (see
    /// [`Mlflow::set_tracking_uri`]); active runs go on there.
    pub fn set_tracking_uri(&mut self, uri: &str) -> Result<()> {
        self.flush()?;
        self.client.set_tracking_uri(uri)
    }

    /// The experiment id (a `local-exp-…` placeholder when the server was unreachable at
    /// start-up).
    pub fn experiment_id(&self) -> &str {
        &self.experiment_id
    }

    /// Replays the outbox now.
    pub fn sync(&mut self) -> Result<SyncReport> {
        self.flush()?;
        self.client.sync()
    }

    fn active(&mut self) -> Result<&mut ActiveRun> {
        self.stack
            .last_mut()
            .ok_or_else(|| crate::Error::Tracking("no active run: call start_run first".into()))
    }

    fn maybe_flush(&mut self) -> Result<()> {
        let due = self
            .stack
            .last()
            .is_some_and(|r| r.pending.len() >= self.flush_every)
            || self.last_flush.elapsed() >= self.flush_interval;
        if due {
            self.flush()?;
        }
        Ok(())
    }

    fn flush_run(&mut self, i: usize) -> Result<()> {
        let batch = std::mem::take(&mut self.stack[i].pending);
        if !batch.is_empty() {
            self.client.log_batch(&self.stack[i].id, batch)?;
        }
        Ok(())
    }

    fn default_tags(&self, name: &str) -> Vec<Tag> {
        let (source_type, source) = run_source();
        let mut tags = vec![
            Tag::new("mlflow.runName", name),
            Tag::new("mlflow.source.type", source_type),
            Tag::new("mlflow.source.name", source),
            Tag::new("mlflow.user", run_user()),
        ];
        if let Some(commit) = git_commit() {
            tags.push(Tag::new("mlflow.source.git.commit", commit));
        }
        if let Some(parent) = self.stack.last() {
            tags.push(Tag::new("mlflow.parentRunId", parent.id.clone()));
        }
        tags
    }
}

impl Tracker for MlflowTracker {
    fn start_run(&mut self, name: &str) -> Result<String> {
        self.flush()?;
        let tags = self.default_tags(name);
        let id = self.client.create_run(&self.experiment_id, name, &tags)?;
        self.stack.push(ActiveRun {
            id: id.clone(),
            pending: Batch::default(),
        });
        Ok(id)
    }

    fn log_param(&mut self, key: &str, value: &str) -> Result<()> {
        self.active()?.pending.params.push(Param::new(key, value));
        self.maybe_flush()
    }

    fn log_metric(&mut self, key: &str, value: f64, step: i64) -> Result<()> {
        self.active()?
            .pending
            .metrics
            .push(Metric::new(key, value, step));
        self.maybe_flush()
    }

    fn log_metric_at(&mut self, key: &str, value: f64, step: i64, timestamp_ms: i64) -> Result<()> {
        let mut m = Metric::new(key, value, step);
        m.timestamp = timestamp_ms;
        self.active()?.pending.metrics.push(m);
        self.maybe_flush()
    }

    fn set_tag(&mut self, key: &str, value: &str) -> Result<()> {
        self.active()?.pending.tags.push(Tag::new(key, value));
        self.maybe_flush()
    }

    fn log_artifact(&mut self, local: &Path, artifact_dir: &str) -> Result<()> {
        self.flush()?;
        let id = self.active()?.id.clone();
        let dir = (!artifact_dir.is_empty()).then_some(artifact_dir);
        if local.is_dir() {
            self.client.log_artifacts(&id, local, dir)?;
        } else {
            self.client.log_artifact(&id, local, dir)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        for i in 0..self.stack.len() {
            self.flush_run(i)?;
        }
        self.last_flush = Instant::now();
        Ok(())
    }

    fn end_run(&mut self, status: RunStatus) -> Result<()> {
        if self.stack.is_empty() {
            return Ok(());
        }
        let i = self.stack.len() - 1;
        self.flush_run(i)?;
        let run = &self.stack[i];
        self.client.update_run(&run.id, status, Some(now_ms()))?;
        self.stack.pop();
        Ok(())
    }

    fn active_run(&self) -> Option<&str> {
        self.stack.last().map(|r| r.id.as_str())
    }

    fn register_model(&mut self, name: &str, model_id: &str) -> Result<Option<u64>> {
        self.flush()?;
        let run = self.active_run().map(str::to_string);
        self.client
            .register_model(name, model_id, run.as_deref())
            .map(Some)
    }

    fn ui_url(&self) -> Option<String> {
        let base = self
            .client
            .config()
            .tracking_uri
            .trim_end_matches('/')
            .to_string();
        let exp = &self.experiment_id;
        // MLflow 3.17's UI picks its GenAI or model-training view from a per-browser setting
        // (GenAI on a fresh browser) unless the link names one.
        let view = "workflowType=machine_learning";
        if exp.starts_with("local-") {
            return Some(format!("{base}/#/experiments?{view}"));
        }
        Some(
            match self.active_run().filter(|r| !r.starts_with("local-")) {
                Some(run) => format!("{base}/#/experiments/{exp}/runs/{run}?{view}"),
                None => format!("{base}/#/experiments/{exp}/runs?{view}"),
            },
        )
    }

    fn log_dataset(&mut self, input: &DatasetInput) -> Result<()> {
        self.flush()?;
        let id = self.active()?.id.clone();
        self.client.log_inputs(&id, std::slice::from_ref(input))
    }

    fn log_model(
        &mut self,
        name: &str,
        dir: &Path,
        model_type: &str,
        params: &[(String, String)],
        metrics: &[(&str, f64)],
    ) -> Result<Option<String>> {
        self.flush()?;
        let run = self.active()?.id.clone();
        let params: Vec<Param> = params.iter().map(|(k, v)| Param::new(k, v)).collect();
        let model = self.client.create_logged_model(
            &self.experiment_id,
            name,
            Some(&run),
            model_type,
            &params,
            &[],
        )?;
        if let Err(e) = self.client.log_artifacts(&model, dir, None) {
            let _ = self
                .client
                .finalize_logged_model(&model, LOGGED_MODEL_UPLOAD_FAILED);
            return Err(e);
        }
        self.client
            .finalize_logged_model(&model, LOGGED_MODEL_READY)?;
        self.client.log_outputs(&run, &model, 0)?;
        if !metrics.is_empty() {
            let batch = Batch {
                metrics: metrics
                    .iter()
                    .map(|(k, v)| Metric::new(*k, *v, 0).for_model(&model))
                    .collect(),
                ..Default::default()
            };
            self.client.log_batch(&run, batch)?;
        }
        Ok(Some(model))
    }
}

/// The experiment tag the MLflow 3 UI reads to pick an experiment's view.
pub const EXPERIMENT_KIND_TAG: &str = "mlflow.experimentKind";
/// The model-training kind (MLflow's `custom_model_development`).
pub const EXPERIMENT_KIND: &str = "custom_model_development";

/// `(mlflow.source.type, mlflow.source.name)` of this process: `NOTEBOOK` and the notebook's
/// file name inside a Jupyter kernel (`JPY_SESSION_NAME`, set by Jupyter Server, or
/// `GENRE_NOTEBOOK`, set by our scripts; `notebook` when neither says which), `LOCAL` and the
/// program's name otherwise.
pub fn run_source() -> (&'static str, String) {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let base = |p: String| {
        Path::new(&p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(p)
    };
    if let Some(nb) = var("JPY_SESSION_NAME").or_else(|| var("GENRE_NOTEBOOK")) {
        return ("NOTEBOOK", base(nb));
    }
    if var("JPY_PARENT_PID").is_some() || var("EVCXR_IS_RUNTIME").is_some() {
        return ("NOTEBOOK", "notebook".into());
    }
    let program = std::env::args()
        .next()
        .map(base)
        .unwrap_or_else(|| "genre_nlp".into());
    ("LOCAL", program)
}

/// `mlflow.user`: `MLFLOW_TRACKING_USERNAME`, else `$USER` (`USERNAME`, `LOGNAME`), else the
/// login name of this process's uid, else `unknown`.
pub fn run_user() -> String {
    ["MLFLOW_TRACKING_USERNAME", "USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
        .or_else(passwd_user)
        .unwrap_or_else(|| "unknown".into())
}

/// The login name of this process's real uid in `/etc/passwd` (as Python's
/// `getpass.getuser()` falls back to), for shells and services that set no `$USER`.
fn passwd_user() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        (f.next()? == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// `ds` as an MLflow dataset input named `name`, used in `context` (`training`,
/// `validation`, `evaluation`): digest = the first 32 hex digits of the rows' SHA-256 (the
/// whole hash is in the profile), source = the file it was read from, schema = its four
/// columns, profile = rows, genres and the hash.
pub fn dataset_input(ds: &Dataset, name: &str, context: &str) -> DatasetInput {
    let sha = ds.sha256();
    let (source_type, source) = match ds.source() {
        Some(p) => (
            "local",
            serde_json::json!({ "uri": p.display().to_string() }).to_string(),
        ),
        None => ("code", "{}".to_string()),
    };
    let col = |n: &str, t: &str| serde_json::json!({ "name": n, "type": t, "required": true });
    let schema = serde_json::json!({ "mlflow_colspec": [
        col("id", "long"), col("title", "string"), col("genre", "string"), col("plot", "string")
    ] });
    let genres: std::collections::BTreeSet<&str> = ds.genres().into_iter().flatten().collect();
    let profile = serde_json::json!({
        "num_rows": ds.len(),
        "num_genres": genres.len(),
        "labelled": ds.is_labelled(),
        "sha256": sha,
    });
    DatasetInput::new(
        DatasetInfo {
            name: name.to_string(),
            digest: sha.chars().take(32).collect(),
            source_type: source_type.into(),
            source,
            schema: schema.to_string(),
            profile: profile.to_string(),
        },
        context,
    )
}

impl Drop for MlflowTracker {
    fn drop(&mut self) {
        let status = if std::thread::panicking() {
            RunStatus::Failed
        } else {
            RunStatus::Finished
        };
        while !self.stack.is_empty() {
            if let Err(e) = self.end_run(status) {
                eprintln!("warning: ending MLflow run at drop: {e}");
                self.stack.pop();
            }
        }
    }
}

/// The commit of the enclosing git checkout, read from `.git` (no `git` process).
fn git_commit() -> Option<String> {
    let mut dir = std::env::current_dir().ok()?;
    loop {
        let git = dir.join(".git");
        if git.is_dir() {
            let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
            let head = head.trim();
            let Some(reference) = head.strip_prefix("ref: ") else {
                return Some(head.to_string());
            };
            if let Ok(c) = std::fs::read_to_string(git.join(reference)) {
                return Some(c.trim().to_string());
            }
            let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
            return packed.lines().find_map(|l| {
                let (sha, name) = l.split_once(' ')?;
                (name == reference).then(|| sha.to_string())
            });
        }
        if !dir.pop() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_user_falls_back_to_the_login_name() {
        // With none of the variables set (as in this sandbox and in services), the passwd
        // entry of our uid names the user; with them set, the variable wins.
        let u = run_user();
        assert!(!u.is_empty());
        if ["MLFLOW_TRACKING_USERNAME", "USER", "USERNAME", "LOGNAME"]
            .iter()
            .all(|v| std::env::var(v).map_or(true, |x| x.trim().is_empty()))
        {
            assert_eq!(Some(u.clone()), passwd_user());
            assert_ne!(u, "unknown");
        }
    }

    #[test]
    fn noop_tracker_nests_and_records_nothing() {
        let mut t = NoopTracker::new();
        let a = t.start_run("study").unwrap();
        let b = t.start_run("model").unwrap();
        assert_ne!(a, b);
        t.log_metrics(&[("loss", 1.0)], 0).unwrap();
        t.end_run(RunStatus::Finished).unwrap();
        assert_eq!(t.active_run(), Some(a.as_str()));
        t.end_run(RunStatus::Finished).unwrap();
        assert_eq!(t.active_run(), None);
    }
}
