//! [`Mlflow`]: a blocking client of MLflow's REST API (`/api/2.0/mlflow/…` and the artifact proxy
//! `/api/2.0/mlflow-artifacts/artifacts/…`) with bounded retries, chunked `log-batch`, and an
//! offline outbox.

use super::config::{Auth, MlflowConfig};
use super::outbox::{is_placeholder, Op, Outbox, OutboxStatus, Outcome};
use super::types::{
    now_ms, validate_batch, validate_key, Batch, DatasetInput, Experiment, FileInfo, LoggedModel,
    Metric, ModelOutput, Param, Run, RunStatus, Tag,
};
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why one HTTP exchange failed; decides retrying and queueing.
#[derive(Debug)]
enum Failure {
    /// The request never reached the server (connection refused, DNS, TLS handshake).
    Connect(String),
    /// The exchange broke after sending began (timeout, reset): the server may have acted.
    Transport(String),
    /// The server answered with an error status.
    Status {
        status: u16,
        code: String,
        message: String,
        /// The server's `Retry-After`, in seconds (429 / 503).
        retry_after: Option<Duration>,
    },
    /// A local problem (file, decoding): never retried.
    Local(Error),
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Failure::Connect(_) | Failure::Transport(_) => true,
            Failure::Status { status, .. } => *status == 429 || *status >= 500,
            Failure::Local(_) => false,
        }
    }

    /// The server is down or overloaded: queue the write rather than fail the run.
    fn offline(&self) -> bool {
        match self {
            Failure::Connect(_) | Failure::Transport(_) => true,
            Failure::Status { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            Failure::Local(_) => false,
        }
    }

    fn into_error(self) -> Error {
        match self {
            Failure::Connect(m) | Failure::Transport(m) => Error::Http(m),
            Failure::Status {
                status,
                code,
                mut message,
                ..
            } => {
                if status == 401 || status == 403 {
                    message.push_str(
                        " (check MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN)",
                    );
                }
                Error::Mlflow {
                    status,
                    code,
                    message,
                }
            }
            Failure::Local(e) => e,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Local(e)
    }
}

/// A transport error's message with its causes ("… : Connection refused"). URLs never carry
/// credentials here ([`MlflowConfig`] moves them out), so the text is safe to print.
fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        let c_s = c.to_string();
        if !s.contains(&c_s) {
            s.push_str(": ");
            s.push_str(&c_s);
        }
        src = c.source();
    }
    s
}

fn classify(e: reqwest::Error) -> Failure {
    if e.is_connect() || e.is_builder() {
        Failure::Connect(describe(&e))
    } else {
        Failure::Transport(describe(&e))
    }
}

fn status_failure(status: u16, body: &[u8]) -> Failure {
    #[derive(Deserialize)]
    struct ErrBody {
        error_code: Option<String>,
        message: Option<String>,
    }
    if let Ok(ErrBody {
        error_code: Some(code),
        message,
    }) = serde_json::from_slice::<ErrBody>(body)
    {
        return Failure::Status {
            status,
            code,
            message: message.unwrap_or_default(),
            retry_after: None,
        };
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let short: String = text.chars().take(300).collect();
    let code = match status {
        401 => "UNAUTHENTICATED".to_string(),
        403 => "PERMISSION_DENIED".to_string(),
        404 => "ENDPOINT_NOT_FOUND".to_string(),
        429 => "REQUEST_LIMIT_EXCEEDED".to_string(),
        s => format!("HTTP_{s}"),
    };
    Failure::Status {
        status,
        code,
        message: if short.is_empty() {
            "(empty body)".into()
        } else {
            short
        },
        retry_after: None,
    }
}

enum Body {
    None,
    Json(Vec<u8>),
    Bytes(Vec<u8>),
}

/// Metric points already on the server, per (run, key), loaded on demand during a replay.
#[derive(Default)]
struct Delivered(HashMap<(String, String), Slots>);

/// Values on the server per (step, timestamp) of one metric.
type Slots = HashMap<(i64, i64), Vec<f64>>;

impl Delivered {
    fn add(&mut self, run_id: &str, m: &Metric) {
        if let Some(slots) = self.0.get_mut(&(run_id.to_string(), m.key.clone())) {
            slots.entry(m.slot()).or_default().push(m.value);
        }
    }

    fn has(&self, run_id: &str, m: &Metric) -> bool {
        self.0
            .get(&(run_id.to_string(), m.key.clone()))
            .and_then(|slots| slots.get(&m.slot()))
            .is_some_and(|vals| vals.iter().any(|v| m.same_value(*v)))
    }
}

/// What [`Mlflow::sync`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Entries the server took.
    pub delivered: usize,
    /// Metric points among them (after dropping those already on the server).
    pub metric_points: usize,
    /// Points found already on the server and not sent again.
    pub duplicates_skipped: usize,
    /// Runs created from offline placeholders: (placeholder, server id).
    pub runs_created: Vec<(String, String)>,
    /// Entries the server refused (4xx): entry id and error. Recorded, not retried.
    pub rejected: Vec<(String, String)>,
    /// Entries for this server still pending (the server went away again).
    pub remaining: usize,
    /// Entries queued for another tracking URI, left alone.
    pub other_server: usize,
    /// Why the replay stopped early, if it did.
    pub stopped: Option<String>,
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "delivered {} entries ({} metric points, {} already present skipped)",
            self.delivered, self.metric_points, self.duplicates_skipped
        )?;
        for (local, real) in &self.runs_created {
            write!(f, "; run {local} created as {real}")?;
        }
        if !self.rejected.is_empty() {
            write!(f, "; {} refused by the server:", self.rejected.len())?;
            for (id, e) in &self.rejected {
                write!(f, " [{id}: {e}]")?;
            }
        }
        if self.remaining > 0 {
            write!(f, "; {} still pending", self.remaining)?;
        }
        if self.other_server > 0 {
            write!(
                f,
                "; {} queued for another tracking URI left alone",
                self.other_server
            )?;
        }
        if let Some(s) = &self.stopped {
            write!(f, "; stopped: {s}")?;
        }
        Ok(())
    }
}

/// A blocking MLflow REST client: experiments, runs (nested), batched params / metrics / tags,
/// metric history, artifacts through the server's proxy. Writes are retried (exponential
/// backoff + jitter) and, when the server stays unreachable, queued in the outbox and replayed
/// by [`Mlflow::sync`] or automatically by the next write that finds the server back.
///
/// `Debug` shows the tracking URI and auth kind, never a token or password.
pub struct Mlflow {
    cfg: MlflowConfig,
    http: Client,
    rng: Mutex<ChaCha8Rng>,
    artifact_roots: Mutex<HashMap<String, String>>,
    outbox: Option<Outbox>,
    run_map: Mutex<HashMap<String, String>>,
    run_names: Mutex<HashMap<String, String>>,
    last_failed_probe: Mutex<Option<Instant>>,
    warned: AtomicBool,
    sync_lock: Mutex<()>,
}

impl fmt::Debug for Mlflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mlflow")
            .field("tracking_uri", &self.cfg.tracking_uri)
            .field("auth", &self.cfg.auth)
            .field(
                "outbox",
                &self.outbox.as_ref().map(|o| o.dir().to_path_buf()),
            )
            .finish_non_exhaustive()
    }
}

const API: &str = "/api/2.0/mlflow";
/// Tag carrying the client-side id of every run this client creates (makes creation
/// idempotent across retries and replays).
pub const CLIENT_RUN_ID_TAG: &str = "genre_nlp.client_run_id";
const ARTIFACTS_API: &str = "/api/2.0/mlflow-artifacts/artifacts";

impl Mlflow {
    /// A client for `cfg`. Opens (does not create) the outbox folder.
    pub fn new(cfg: MlflowConfig) -> Result<Self> {
        let http = Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(Duration::from_secs(10).min(cfg.timeout))
            .danger_accept_invalid_certs(cfg.insecure_tls)
            .user_agent(concat!("genre_nlp-mlflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Tracking(format!("HTTP client: {}", describe(&e))))?;
        let seed = cfg.retry.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
                ^ u64::from(std::process::id())
        });
        let outbox = cfg.outbox_dir.as_ref().map(Outbox::open).transpose()?;
        Ok(Mlflow {
            http,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            artifact_roots: Mutex::new(HashMap::new()),
            outbox,
            run_map: Mutex::new(HashMap::new()),
            run_names: Mutex::new(HashMap::new()),
            last_failed_probe: Mutex::new(None),
            warned: AtomicBool::new(false),
            sync_lock: Mutex::new(()),
            cfg,
        })
    }

    /// A client configured from the `MLFLOW_*` variables ([`MlflowConfig::from_env`]).
    pub fn from_env() -> Result<Self> {
        Self::new(MlflowConfig::from_env()?)
    }

    /// The configuration.
    pub fn config(&self) -> &MlflowConfig {
        &self.cfg
    }

    /// The outbox, when configured.
    pub fn outbox(&self) -> Option<&Outbox> {
        self.outbox.as_ref()
    }

    /// Points the client at another address of the same server (it moved to a new port or
    /// host, same backend store): later calls go to `uri`, and what was queued for the old URI
    /// is replayed there too (it joins [`MlflowConfig::replay_from`]). The next write probes
    /// the new address at once.
    pub fn set_tracking_uri(&mut self, uri: &str) -> Result<()> {
        let parsed = MlflowConfig::new(uri)?;
        let old = std::mem::replace(&mut self.cfg.tracking_uri, parsed.tracking_uri);
        if old != self.cfg.tracking_uri && !self.cfg.replay_from.contains(&old) {
            self.cfg.replay_from.push(old);
        }
        if parsed.auth != Auth::None {
            self.cfg.auth = parsed.auth;
        }
        if let Ok(mut p) = self.last_failed_probe.lock() {
            *p = None;
        }
        Ok(())
    }

    /// Whether entries queued for `server` are replayed by this client.
    fn replays_for(&self, server: &str) -> bool {
        server == self.cfg.tracking_uri || self.cfg.replay_from.iter().any(|u| u == server)
    }

    // ---------------------------------------------------------------- transport

    fn backoff(&self, attempt: u32) -> Duration {
        let r = &self.cfg.retry;
        let cap = r
            .initial_backoff
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(r.max_backoff);
        // "Equal jitter": half the cap, plus a random share of the other half.
        let half = cap / 2;
        let jitter = match self.rng.lock() {
            Ok(mut rng) => rng.random_range(0.0..=1.0),
            Err(_) => 0.5,
        };
        half + half.mul_f64(jitter)
    }

    fn with_auth(&self, rb: RequestBuilder) -> RequestBuilder {
        match &self.cfg.auth {
            Auth::None => rb,
            Auth::Bearer(t) => rb.bearer_auth(t.expose()),
            Auth::Basic { username, password } => rb.basic_auth(username, Some(password.expose())),
        }
    }

    fn attempt(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: &Body,
    ) -> Result<Vec<u8>, Failure> {
        let url = format!("{}{}", self.cfg.tracking_uri, path);
        let mut rb = self.with_auth(self.http.request(method, &url));
        if !query.is_empty() {
            rb = rb.query(query);
        }
        rb = match body {
            Body::None => rb,
            Body::Json(v) => rb
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(v.clone()),
            Body::Bytes(v) => rb
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(v.clone()),
        };
        let resp = rb.send().map_err(classify)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = resp.bytes().map_err(|e| Failure::Transport(describe(&e)))?;
        if (200..300).contains(&status) {
            Ok(bytes.to_vec())
        } else {
            let mut f = status_failure(status, &bytes);
            if let Failure::Status {
                retry_after: ra, ..
            } = &mut f
            {
                *ra = retry_after;
            }
            Err(f)
        }
    }

    /// Runs `f(attempt)` until it succeeds, fails for good, or the retries are spent.
    fn retrying<T>(&self, f: impl FnMut(u32) -> Result<T, Failure>) -> Result<T, Failure> {
        self.retrying_within(None, f)
    }

    /// [`Mlflow::retrying`], giving up early rather than waiting past `limit` in all.
    fn retrying_within<T>(
        &self,
        limit: Option<Duration>,
        mut f: impl FnMut(u32) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            match f(attempt) {
                Ok(v) => return Ok(v),
                Err(e)
                    if e.retryable()
                        && attempt < self.cfg.retry.max_retries
                        && limit.is_none_or(|l| start.elapsed() + self.backoff(attempt) <= l) =>
                {
                    // Honour the server's Retry-After, within the policy's largest wait.
                    let asked = match &e {
                        Failure::Status {
                            retry_after: Some(d),
                            ..
                        } => (*d).min(self.cfg.retry.max_backoff),
                        _ => Duration::ZERO,
                    };
                    std::thread::sleep(self.backoff(attempt).max(asked));
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Body,
    ) -> Result<Vec<u8>, Failure> {
        self.request_within(method, path, query, body, None)
    }

    fn request_within(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Body,
        limit: Option<Duration>,
    ) -> Result<Vec<u8>, Failure> {
        self.retrying_within(limit, |_| self.attempt(method.clone(), path, query, &body))
    }

    fn get_json<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
    ) -> Result<T, Failure> {
        self.get_json_within(endpoint, query, None)
    }

    fn get_json_within<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
        limit: Option<Duration>,
    ) -> Result<T, Failure> {
        let path = format!("{API}/{endpoint}");
        let bytes = self.request_within(Method::GET, &path, query, Body::None, limit)?;
        decode(endpoint, &bytes)
    }

    fn post_json<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        body: &impl Serialize,
    ) -> Result<T, Failure> {
        self.post_json_within(endpoint, body, None)
    }

    fn post_json_within<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        body: &impl Serialize,
        limit: Option<Duration>,
    ) -> Result<T, Failure> {
        let body = serde_json::to_vec(body).map_err(|e| Failure::Local(e.into()))?;
        let path = format!("{API}/{endpoint}");
        let bytes = self.request_within(Method::POST, &path, &[], Body::Json(body), limit)?;
        decode(endpoint, &bytes)
    }

    /// `GET /health`: `Ok` when the server answers.
    pub fn ping(&self) -> Result<()> {
        self.request(Method::GET, "/health", &[], Body::None)
            .map(|_| ())
            .map_err(Failure::into_error)
    }

    fn probe_once(&self) -> bool {
        self.attempt(Method::GET, "/health", &[], &Body::None)
            .is_ok()
    }

    // ---------------------------------------------------------------- experiments

    /// The experiment named `name`, if it exists.
    pub fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        self.experiment_by_name(name, None)
            .map_err(Failure::into_error)
    }

    fn experiment_by_name(
        &self,
        name: &str,
        limit: Option<Duration>,
    ) -> Result<Option<Experiment>, Failure> {
        #[derive(Deserialize)]
        struct R {
            experiment: Experiment,
        }
        match self.get_json_within::<R>(
            "experiments/get-by-name",
            &[("experiment_name", name)],
            limit,
        ) {
            Ok(r) => Ok(Some(r.experiment)),
            Err(Failure::Status { code, .. }) if code == "RESOURCE_DOES_NOT_EXIST" => Ok(None),
            Err(f) => Err(f),
        }
    }

    /// The experiment with id `experiment_id` (a placeholder is resolved once replayed).
    pub fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let id = self.resolve(experiment_id)?;
        #[derive(Deserialize)]
        struct R {
            experiment: Experiment,
        }
        self.get_json::<R>("experiments/get", &[("experiment_id", id.as_str())])
            .map(|r| r.experiment)
            .map_err(Failure::into_error)
    }

    /// Creates an experiment; returns its id.
    pub fn create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String> {
        for t in tags {
            validate_key("experiment tag", &t.key)?;
        }
        self.create_experiment_within(name, tags, None)
            .map_err(Failure::into_error)
    }

    fn create_experiment_within(
        &self,
        name: &str,
        tags: &[Tag],
        limit: Option<Duration>,
    ) -> Result<String, Failure> {
        #[derive(Deserialize)]
        struct R {
            experiment_id: String,
        }
        self.post_json_within::<R>(
            "experiments/create",
            &json!({ "name": name, "tags": tags }),
            limit,
        )
        .map(|r| r.experiment_id)
    }

    /// The id of the experiment named `name`, created (with `tags`) if missing.
    ///
    /// At start-up the server gets [`MlflowConfig::startup_timeout`] to answer (retries
    /// included). When it does not and an outbox is configured, the lookup is queued and a
    /// `local-exp-…` placeholder returned: runs created in it are queued too, and the replay
    /// maps everything to the server's ids (the experiment found or created by name).
    pub fn get_or_create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String> {
        for t in tags {
            validate_key("experiment tag", &t.key)?;
        }
        match (
            self.lookup_or_create(name, tags, Some(self.cfg.startup_timeout)),
            &self.outbox,
        ) {
            (Ok(id), _) => Ok(id),
            (Err(f), Some(ob)) if f.offline() => {
                self.went_offline(&f);
                let local_id = format!("local-exp-{}", random_hex(&self.rng));
                let op = Op::CreateExperiment {
                    local_id: local_id.clone(),
                    name: name.to_string(),
                    tags: tags.to_vec(),
                };
                self.queue(ob, &op)?;
                Ok(local_id)
            }
            (Err(f), _) => Err(f.into_error()),
        }
    }

    fn lookup_or_create(
        &self,
        name: &str,
        tags: &[Tag],
        limit: Option<Duration>,
    ) -> Result<String, Failure> {
        if let Some(e) = self.experiment_by_name(name, limit)? {
            if e.lifecycle_stage == "deleted" {
                return Err(Failure::Local(Error::Tracking(format!(
                    "experiment {name:?} (id {}) is deleted: restore it in the MLflow UI or pick another name",
                    e.experiment_id
                ))));
            }
            return Ok(e.experiment_id);
        }
        match self.create_experiment_within(name, tags, limit) {
            Ok(id) => Ok(id),
            // Another process created it in between (or our request went through but its
            // answer was lost).
            Err(Failure::Status { code, .. }) if code == "RESOURCE_ALREADY_EXISTS" => self
                .experiment_by_name(name, limit)?
                .map(|e| e.experiment_id)
                .ok_or_else(|| {
                    Failure::Local(Error::Tracking(format!("experiment {name:?} vanished")))
                }),
            Err(f) => Err(f),
        }
    }

    /// Sets a tag on an experiment (queued when offline).
    pub fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        validate_key("experiment tag", key)?;
        self.write(Op::SetExperimentTag {
            experiment_id: experiment_id.to_string(),
            tag: Tag::new(key, value),
        })
    }

    // ---------------------------------------------------------------- runs

    /// Creates a run named `run_name` (also set as `mlflow.runName`) with `tags`; returns its id.
    /// When the server is unreachable and an outbox is configured, returns a `local-…`
    /// placeholder that the outbox maps to the real id on replay.
    pub fn create_run(&self, experiment_id: &str, run_name: &str, tags: &[Tag]) -> Result<String> {
        let mut tags = tags.to_vec();
        if !tags.iter().any(|t| t.key == "mlflow.runName") && !run_name.is_empty() {
            tags.push(Tag::new("mlflow.runName", run_name));
        }
        for t in &tags {
            validate_key("tag", &t.key)?;
        }
        let local_id = format!("local-{}", random_hex(&self.rng));
        // Makes creation idempotent: a replay, or a retry after an answer was lost, first looks
        // for a run carrying this tag.
        tags.retain(|t| t.key != CLIENT_RUN_ID_TAG);
        tags.push(Tag::new(CLIENT_RUN_ID_TAG, &local_id));
        let op = Op::CreateRun {
            local_id,
            experiment_id: experiment_id.to_string(),
            run_name: run_name.to_string(),
            start_time: now_ms(),
            tags,
        };
        let id = match self.write_with_result(op)? {
            Written::Done(Some(id)) => id,
            Written::Done(None) => {
                return Err(Error::Tracking("runs/create returned no run id".into()))
            }
            Written::Queued(op) => match op {
                Op::CreateRun { local_id, .. } => local_id,
                _ => return Err(Error::Tracking("queued the wrong operation".into())),
            },
        };
        if let Ok(mut m) = self.run_names.lock() {
            m.insert(id.clone(), run_name.to_string());
        }
        Ok(id)
    }

    /// Creates a run nested under `parent_run_id` (tag `mlflow.parentRunId`).
    pub fn create_nested_run(
        &self,
        experiment_id: &str,
        parent_run_id: &str,
        run_name: &str,
        tags: &[Tag],
    ) -> Result<String> {
        let mut tags = tags.to_vec();
        tags.retain(|t| t.key != "mlflow.parentRunId");
        tags.push(Tag::new("mlflow.parentRunId", parent_run_id));
        self.create_run(experiment_id, run_name, &tags)
    }

    /// The run with id `run_id` (a placeholder is resolved once its creation was replayed).
    pub fn get_run(&self, run_id: &str) -> Result<Run> {
        let id = self.resolve(run_id)?;
        #[derive(Deserialize)]
        struct R {
            run: Run,
        }
        let r = self
            .get_json::<R>("runs/get", &[("run_id", id.as_str())])
            .map_err(Failure::into_error)?;
        Ok(r.run)
    }

    /// Sets a run's status and end time (queued when offline).
    pub fn update_run(&self, run_id: &str, status: RunStatus, end_time: Option<i64>) -> Result<()> {
        self.write(Op::UpdateRun {
            run_id: run_id.to_string(),
            status,
            end_time,
        })
    }

    /// Ends a run now with `status` (FINISHED, FAILED or KILLED).
    pub fn set_terminated(&self, run_id: &str, status: RunStatus) -> Result<()> {
        self.update_run(run_id, status, Some(now_ms()))
    }

    /// Runs of `experiment_ids` matching `filter` (MLflow search syntax, e.g.
    /// `params.model = 'ffnn' and metrics.f1 > 0.5`; empty: all), newest first, at most
    /// `max_results` (pages through the server's 1000-per-request limit).
    pub fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        max_results: usize,
    ) -> Result<Vec<Run>> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct R {
            runs: Vec<Run>,
            next_page_token: Option<String>,
        }
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        while out.len() < max_results {
            let page = (max_results - out.len()).min(1000);
            let mut body = json!({
                "experiment_ids": experiment_ids,
                "filter": filter,
                "max_results": page,
                "order_by": ["attributes.start_time DESC"],
            });
            if let Some(t) = &token {
                body["page_token"] = json!(t);
            }
            let r: R = self
                .post_json("runs/search", &body)
                .map_err(Failure::into_error)?;
            out.extend(r.runs);
            match r.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(out)
    }

    /// Every point of metric `key` of a run, in the server's order (pages through).
    pub fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        let id = self.resolve(run_id)?;
        self.history(&id, key).map_err(Failure::into_error)
    }

    fn history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, Failure> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct R {
            metrics: Vec<Metric>,
            next_page_token: Option<String>,
        }
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        // Bounded: 10,000 pages of 25,000 points.
        for _ in 0..10_000 {
            let mut q = vec![
                ("run_id", run_id),
                ("metric_key", key),
                ("max_results", "25000"),
            ];
            if let Some(t) = &token {
                q.push(("page_token", t.as_str()));
            }
            let r: R = self.get_json("metrics/get-history", &q)?;
            out.extend(r.metrics);
            match r.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- logging

    /// Logs metrics, params and tags of one run: validated, then sent in chunks within MLflow's
    /// limits, in order. Each chunk is queued when the server is unreachable.
    pub fn log_batch(&self, run_id: &str, batch: Batch) -> Result<()> {
        let batch = validate_batch(batch, self.cfg.non_finite)?;
        for chunk in batch.chunks() {
            self.write(Op::LogBatch {
                run_id: run_id.to_string(),
                batch: chunk,
            })?;
        }
        Ok(())
    }

    /// Logs one metric point (timestamped now).
    pub fn log_metric(&self, run_id: &str, key: &str, value: f64, step: i64) -> Result<()> {
        self.log_batch(
            run_id,
            Batch {
                metrics: vec![Metric::new(key, value, step)],
                ..Default::default()
            },
        )
    }

    /// Logs one param.
    pub fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_batch(
            run_id,
            Batch {
                params: vec![Param::new(key, value)],
                ..Default::default()
            },
        )
    }

    /// Sets one run tag.
    pub fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_batch(
            run_id,
            Batch {
                tags: vec![Tag::new(key, value)],
                ..Default::default()
            },
        )
    }

    // ---------------------------------------------------------------- inputs, models

    /// Records datasets the run used (`runs/log-inputs`; queued when offline).
    pub fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput]) -> Result<()> {
        for d in datasets {
            let ds = &d.dataset;
            if ds.name.is_empty() || ds.name.chars().count() > 500 {
                return Err(Error::Tracking(format!(
                    "dataset name {:?}: 1 to 500 characters",
                    ds.name
                )));
            }
            if ds.digest.is_empty() || ds.digest.chars().count() > 36 {
                return Err(Error::Tracking(format!(
                    "dataset {:?}: digest {:?} must be 1 to 36 characters",
                    ds.name, ds.digest
                )));
            }
        }
        self.write(Op::LogInputs {
            run_id: run_id.to_string(),
            datasets: datasets.to_vec(),
        })
    }

    /// Creates an MLflow 3 logged model named `name` in the experiment, produced by
    /// `source_run_id`; returns its id (a `local-model-…` placeholder when queued offline).
    /// Upload its files with [`Mlflow::log_artifacts`] on that id, then
    /// [`Mlflow::finalize_logged_model`].
    pub fn create_logged_model(
        &self,
        experiment_id: &str,
        name: &str,
        source_run_id: Option<&str>,
        model_type: &str,
        params: &[Param],
        tags: &[Tag],
    ) -> Result<String> {
        for t in tags {
            validate_key("logged model tag", &t.key)?;
        }
        for p in params {
            validate_key("logged model param", &p.key)?;
        }
        let op = Op::CreateLoggedModel {
            local_id: format!("local-model-{}", random_hex(&self.rng)),
            experiment_id: experiment_id.to_string(),
            name: name.to_string(),
            source_run_id: source_run_id.map(str::to_string),
            model_type: model_type.to_string(),
            params: params.to_vec(),
            tags: tags.to_vec(),
        };
        match self.write_with_result(op)? {
            Written::Done(Some(id)) => Ok(id),
            Written::Done(None) => Err(Error::Tracking("logged-models returned no id".into())),
            Written::Queued(Op::CreateLoggedModel { local_id, .. }) => Ok(local_id),
            Written::Queued(_) => Err(Error::Tracking("queued the wrong operation".into())),
        }
    }

    /// Sets a logged model's final status ([`super::LOGGED_MODEL_READY`] once its files are
    /// uploaded; queued when offline).
    pub fn finalize_logged_model(&self, model_id: &str, status: &str) -> Result<()> {
        self.write(Op::FinalizeLoggedModel {
            model_id: model_id.to_string(),
            status: status.to_string(),
        })
    }

    /// Records that the run produced `model_id` at `step` (`runs/outputs`; queued offline).
    pub fn log_outputs(&self, run_id: &str, model_id: &str, step: i64) -> Result<()> {
        self.write(Op::LogOutputs {
            run_id: run_id.to_string(),
            models: vec![ModelOutput {
                model_id: model_id.to_string(),
                step,
            }],
        })
    }

    /// Registers logged model `model_id` under `name` in the Model Registry (the registered
    /// model is created when new) as a new version whose source is `models:/<model_id>`, as
    /// Python's `mlflow.register_model` does; returns the version. Needs the server (not
    /// queued): a model still waiting in the outbox is an error saying so.
    pub fn register_model(&self, name: &str, model_id: &str, run_id: Option<&str>) -> Result<u64> {
        if name.trim().is_empty() {
            return Err(Error::Tracking("register_model: empty model name".into()));
        }
        let id = self.resolve(model_id)?;
        if id.starts_with("local-") {
            return Err(Error::Tracking(format!(
                "register_model: model {model_id} is still queued offline; run `genre mlflow sync` first"
            )));
        }
        let run = match run_id {
            Some(r) => Some(self.resolve(r)?),
            None => None,
        };
        match self
            .post_json::<serde_json::Value>("registered-models/create", &json!({ "name": name }))
        {
            Ok(_) => {}
            Err(Failure::Status { code, .. }) if code == "RESOURCE_ALREADY_EXISTS" => {}
            Err(f) => return Err(f.into_error()),
        }
        let mut body = json!({
            "name": name,
            "source": format!("models:/{id}"),
            "model_id": id,
        });
        if let Some(r) = run {
            body["run_id"] = json!(r);
        }
        let v: serde_json::Value = self
            .post_json("model-versions/create", &body)
            .map_err(Failure::into_error)?;
        let version = &v["model_version"]["version"];
        version
            .as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| version.as_u64())
            .ok_or_else(|| Error::Tracking(format!("model-versions/create answered {v}")))
    }

    /// The logged model `model_id` (a placeholder is resolved once its creation was replayed).
    pub fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        let id = self.resolve(model_id)?;
        #[derive(Deserialize)]
        struct R {
            model: LoggedModel,
        }
        let path = format!("{API}/logged-models/{}", encode_path(&id));
        let bytes = self
            .request(Method::GET, &path, &[], Body::None)
            .map_err(Failure::into_error)?;
        decode::<R>("logged-models", &bytes)
            .map(|r| r.model)
            .map_err(Failure::into_error)
    }

    /// Sends one chunk; `dedupe` drops points the server already has (after an ambiguous
    /// failure, and always on replay).
    fn send_batch(
        &self,
        run_id: &str,
        batch: &Batch,
        dedupe: bool,
        seen: &mut Delivered,
        report: &mut SyncReport,
    ) -> Result<(), Failure> {
        let mut dedupe = dedupe;
        self.retrying(|_| {
            let b = if dedupe {
                let (b, skipped) = self.without_delivered(run_id, batch, seen)?;
                report.duplicates_skipped += skipped;
                b
            } else {
                batch.clone()
            };
            if b.is_empty() {
                return Ok(());
            }
            let body = json!({
                "run_id": run_id,
                "metrics": b.metrics,
                "params": b.params,
                "tags": b.tags,
            });
            match self.post_json::<Value>("runs/log-batch", &body) {
                Ok(_) => {
                    for m in &b.metrics {
                        seen.add(run_id, m);
                    }
                    report.metric_points += b.metrics.len();
                    Ok(())
                }
                Err(f) => {
                    if matches!(f, Failure::Transport(_)) {
                        // The server may have stored part of it: re-read before resending.
                        dedupe = true;
                        for m in &b.metrics {
                            seen.0.remove(&(run_id.to_string(), m.key.clone()));
                        }
                    }
                    Err(f)
                }
            }
        })
    }

    fn without_delivered(
        &self,
        run_id: &str,
        batch: &Batch,
        seen: &mut Delivered,
    ) -> Result<(Batch, usize), Failure> {
        let mut out = batch.clone();
        for m in &batch.metrics {
            let k = (run_id.to_string(), m.key.clone());
            if let std::collections::hash_map::Entry::Vacant(slot) = seen.0.entry(k) {
                let hist = match self.history(run_id, &m.key) {
                    Ok(h) => h,
                    Err(Failure::Status { code, .. }) if code == "RESOURCE_DOES_NOT_EXIST" => {
                        Vec::new()
                    }
                    Err(f) => return Err(f),
                };
                let mut slots = Slots::new();
                for p in &hist {
                    slots.entry(p.slot()).or_default().push(p.value);
                }
                slot.insert(slots);
            }
        }
        let before = out.metrics.len();
        out.metrics.retain(|m| !seen.has(run_id, m));
        Ok((out.clone(), before - out.metrics.len()))
    }

    // ---------------------------------------------------------------- artifacts

    fn artifact_root(&self, run_id: &str) -> Result<String, Failure> {
        if let Some(r) = self
            .artifact_roots
            .lock()
            .ok()
            .and_then(|m| m.get(run_id).cloned())
        {
            return Ok(r);
        }
        let uri = if run_id.starts_with("m-") {
            // A logged model's files go under its own root.
            #[derive(Deserialize)]
            struct R {
                model: LoggedModel,
            }
            let path = format!("{API}/logged-models/{}", encode_path(run_id));
            let bytes = self.request(Method::GET, &path, &[], Body::None)?;
            decode::<R>("logged-models", &bytes)?
                .model
                .info
                .artifact_uri
        } else {
            #[derive(Deserialize)]
            struct R {
                run: Run,
            }
            let r: R = self.get_json("runs/get", &[("run_id", run_id)])?;
            r.run.info.artifact_uri
        };
        let root = proxy_root(&uri)?;
        if let Ok(mut m) = self.artifact_roots.lock() {
            m.insert(run_id.to_string(), root.clone());
        }
        Ok(root)
    }

    fn upload(&self, run_id: &str, artifact_path: &str, bytes: Vec<u8>) -> Result<(), Failure> {
        let root = self.artifact_root(run_id)?;
        let url = format!(
            "{ARTIFACTS_API}/{}/{}",
            encode_path(&root),
            encode_path(artifact_path)
        );
        self.request(Method::PUT, &url, &[], Body::Bytes(bytes))
            .map(|_| ())
    }

    /// Uploads one file to `<artifact_dir>/<file name>` of the run (`artifact_dir` `None` or
    /// empty: the root). Queued (with a copy of the bytes) when the server is unreachable.
    pub fn log_artifact(
        &self,
        run_id: &str,
        local_file: &Path,
        artifact_dir: Option<&str>,
    ) -> Result<()> {
        let name = local_file
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::Tracking(format!("{}: not a file name", local_file.display())))?;
        let dest = join_artifact_path(artifact_dir.unwrap_or(""), name)?;
        self.upload_file(run_id, local_file, &dest)
    }

    fn upload_file(&self, run_id: &str, local_file: &Path, dest: &str) -> Result<()> {
        let bytes = std::fs::read(local_file).map_err(|e| Error::io(local_file, e))?;
        self.write_upload(run_id, dest, bytes)
    }

    fn write_upload(&self, run_id: &str, dest: &str, bytes: Vec<u8>) -> Result<()> {
        // Online fast path without copying the bytes into the outbox first.
        let offline_now = self.outbox.as_ref().is_some_and(|o| o.has_pending())
            || self.unresolved_placeholder(run_id);
        if !offline_now || self.try_drain()? {
            let id = self.resolve(run_id)?;
            match self.upload(&id, dest, bytes.clone()) {
                Ok(()) => return Ok(()),
                Err(f) if f.offline() && self.outbox.is_some() => self.went_offline(&f),
                Err(f) => return Err(f.into_error()),
            }
        }
        let ob = self
            .outbox
            .as_ref()
            .ok_or_else(|| Error::Tracking("no outbox configured".into()))?;
        let blob = ob.store_blob(&bytes)?;
        self.queue(
            ob,
            &Op::UploadArtifact {
                run_id: run_id.to_string(),
                artifact_path: dest.to_string(),
                blob,
            },
        )
    }

    /// Uploads every file under `local_dir` (recursively, sorted) to `<artifact_dir>/…`, keeping
    /// the relative layout. Returns the number of files.
    pub fn log_artifacts(
        &self,
        run_id: &str,
        local_dir: &Path,
        artifact_dir: Option<&str>,
    ) -> Result<usize> {
        let mut files = Vec::new();
        walk(local_dir, local_dir, &mut files)?;
        for (path, rel) in &files {
            let dest = join_artifact_path(artifact_dir.unwrap_or(""), rel)?;
            self.upload_file(run_id, path, &dest)?;
        }
        Ok(files.len())
    }

    /// Lists a run's artifacts under `path` (`None`: the root). Paths are relative to the run's
    /// artifact root, like the MLflow UI shows them.
    pub fn list_artifacts(&self, run_id: &str, path: Option<&str>) -> Result<Vec<FileInfo>> {
        let id = self.resolve(run_id)?;
        let root = self.artifact_root(&id).map_err(Failure::into_error)?;
        let sub = path.unwrap_or("").trim_matches('/');
        let full = if sub.is_empty() {
            root.clone()
        } else {
            format!("{root}/{sub}")
        };
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct R {
            files: Vec<FileInfo>,
        }
        let bytes = self
            .request(
                Method::GET,
                ARTIFACTS_API,
                &[("path", full.as_str())],
                Body::None,
            )
            .map_err(Failure::into_error)?;
        let r: R = decode("mlflow-artifacts list", &bytes).map_err(Failure::into_error)?;
        Ok(r.files
            .into_iter()
            .map(|mut f| {
                let name = f.path.rsplit('/').next().unwrap_or(&f.path).to_string();
                f.path = if sub.is_empty() {
                    name
                } else {
                    format!("{sub}/{name}")
                };
                f
            })
            .collect())
    }

    /// Downloads one artifact file's bytes.
    pub fn download_artifact(&self, run_id: &str, path: &str) -> Result<Vec<u8>> {
        let id = self.resolve(run_id)?;
        let root = self.artifact_root(&id).map_err(Failure::into_error)?;
        let url = format!(
            "{ARTIFACTS_API}/{}/{}",
            encode_path(&root),
            encode_path(path.trim_matches('/'))
        );
        self.request(Method::GET, &url, &[], Body::None)
            .map_err(Failure::into_error)
    }

    // ---------------------------------------------------------------- outbox

    fn unresolved_placeholder(&self, run_id: &str) -> bool {
        is_placeholder(run_id)
            && !self
                .run_map
                .lock()
                .map(|m| m.contains_key(run_id))
                .unwrap_or(false)
    }

    /// Maps a `local-…` placeholder to its server id (once replayed).
    fn resolve(&self, run_id: &str) -> Result<String> {
        if !is_placeholder(run_id) {
            return Ok(run_id.to_string());
        }
        if let Some(id) = self
            .run_map
            .lock()
            .ok()
            .and_then(|m| m.get(run_id).cloned())
        {
            return Ok(id);
        }
        if let Some(ob) = &self.outbox {
            if let Some(id) = ob.id_map()?.get(run_id) {
                if let Ok(mut m) = self.run_map.lock() {
                    m.insert(run_id.to_string(), id.clone());
                }
                return Ok(id.clone());
            }
        }
        Err(Error::Tracking(format!(
            "{run_id} was created offline and is not on the server yet: run `genre mlflow sync` when it is reachable"
        )))
    }

    fn went_offline(&self, f: &Failure) {
        if let Ok(mut p) = self.last_failed_probe.lock() {
            *p = Some(Instant::now());
        }
        if !self.warned.swap(true, Ordering::SeqCst) {
            let dir = self
                .outbox
                .as_ref()
                .map(|o| o.dir().display().to_string())
                .unwrap_or_default();
            let why = match f {
                Failure::Connect(m) | Failure::Transport(m) => m.clone(),
                Failure::Status { status, code, .. } => format!("HTTP {status} {code}"),
                Failure::Local(e) => e.to_string(),
            };
            eprintln!(
                "warning: MLflow server {} unreachable ({why}); queueing tracking calls in {dir} — they are replayed automatically when it is back, or by `genre mlflow sync`",
                self.cfg.tracking_uri
            );
        }
    }

    /// When writes are being queued: probes the server (at most once per
    /// `offline_probe_interval`) and, if it answers, replays the outbox. Returns whether
    /// nothing for this server is pending any more.
    fn try_drain(&self) -> Result<bool> {
        if let Ok(p) = self.last_failed_probe.lock() {
            if let Some(t) = *p {
                if t.elapsed() < self.cfg.offline_probe_interval {
                    return Ok(false);
                }
            }
        }
        if !self.probe_once() {
            if let Ok(mut p) = self.last_failed_probe.lock() {
                *p = Some(Instant::now());
            }
            return Ok(false);
        }
        // Another process replaying this outbox: keep queueing until it is done.
        let Some(report) = self.sync_with(false)? else {
            return Ok(false);
        };
        if report.remaining == 0 && report.stopped.is_none() {
            if let Ok(mut p) = self.last_failed_probe.lock() {
                *p = None;
            }
            self.warned.store(false, Ordering::SeqCst);
            if !report.rejected.is_empty() {
                eprintln!("warning: MLflow outbox replay: {report}");
            }
            Ok(true)
        } else {
            if let Ok(mut p) = self.last_failed_probe.lock() {
                *p = Some(Instant::now());
            }
            Ok(false)
        }
    }

    fn write(&self, op: Op) -> Result<()> {
        self.write_with_result(op).map(|_| ())
    }

    fn write_with_result(&self, op: Op) -> Result<Written> {
        let Some(ob) = &self.outbox else {
            let mut seen = Delivered::default();
            let mut rep = SyncReport::default();
            return self
                .execute(&op, false, &mut seen, &mut rep)
                .map(Written::Done)
                .map_err(Failure::into_error);
        };
        let blocked = ob.has_pending()
            || op
                .depends_on()
                .iter()
                .any(|r| self.unresolved_placeholder(r));
        if blocked && !self.try_drain()? {
            self.queue(ob, &op)?;
            return Ok(Written::Queued(op));
        }
        let mut seen = Delivered::default();
        let mut rep = SyncReport::default();
        match self.execute(&op, false, &mut seen, &mut rep) {
            Ok(v) => Ok(Written::Done(v)),
            Err(f) if f.offline() => {
                self.went_offline(&f);
                self.queue(ob, &op)?;
                Ok(Written::Queued(op))
            }
            Err(f) => Err(f.into_error()),
        }
    }

    /// Appends `op` to the outbox with the name of its run, when this client created it.
    fn queue(&self, ob: &Outbox, op: &Op) -> Result<()> {
        let name = op
            .run_id()
            .and_then(|r| self.run_names.lock().ok().and_then(|m| m.get(r).cloned()));
        ob.append_named(&self.cfg.tracking_uri, op.clone(), name)?;
        Ok(())
    }

    fn map_run(&self, run_id: &str) -> Result<String, Failure> {
        self.resolve(run_id).map_err(Failure::Local)
    }

    /// Performs one write. Returns the new run id for [`Op::CreateRun`].
    fn execute(
        &self,
        op: &Op,
        replay: bool,
        seen: &mut Delivered,
        report: &mut SyncReport,
    ) -> Result<Option<String>, Failure> {
        match op {
            Op::CreateExperiment {
                local_id,
                name,
                tags,
            } => {
                let id = self.lookup_or_create(name, tags, None)?;
                if let Ok(mut m) = self.run_map.lock() {
                    m.insert(local_id.clone(), id.clone());
                }
                Ok(Some(id))
            }
            Op::CreateRun {
                local_id,
                experiment_id,
                run_name,
                start_time,
                tags,
            } => {
                let experiment_id = self.map_run(experiment_id)?;
                let mut tags = tags.clone();
                for t in tags.iter_mut() {
                    if t.key == "mlflow.parentRunId" {
                        t.value = self.map_run(&t.value)?;
                    }
                }
                // `user_id` is what the UI shows as "Created by"; the `mlflow.user` tag, when the
                // caller set one, says the same.
                let user = tags
                    .iter()
                    .find(|t| t.key == "mlflow.user")
                    .map(|t| t.value.clone());
                let mut body = json!({
                    "experiment_id": experiment_id,
                    "run_name": run_name,
                    "start_time": start_time,
                    "tags": tags,
                });
                if let Some(u) = user {
                    body["user_id"] = json!(u);
                }
                let body = serde_json::to_vec(&body).map_err(|e| Failure::Local(e.into()))?;
                // On replay, or after an exchange whose answer was lost, the run may exist.
                let mut ambiguous = replay;
                let run = self.retrying(|_| {
                    if ambiguous {
                        if let Some(run) = self.find_client_run(&experiment_id, local_id)? {
                            return Ok(run);
                        }
                    }
                    #[derive(Deserialize)]
                    struct R {
                        run: Run,
                    }
                    let path = format!("{API}/runs/create");
                    match self.attempt(Method::POST, &path, &[], &Body::Json(body.clone())) {
                        Ok(bytes) => decode::<R>("runs/create", &bytes).map(|r| r.run),
                        Err(f) => {
                            if matches!(f, Failure::Transport(_)) {
                                ambiguous = true;
                            }
                            Err(f)
                        }
                    }
                })?;
                let id = run.info.run_id.clone();
                if let Ok(root) = proxy_root(&run.info.artifact_uri) {
                    if let Ok(mut m) = self.artifact_roots.lock() {
                        m.insert(id.clone(), root);
                    }
                }
                if let Ok(mut m) = self.run_map.lock() {
                    m.insert(local_id.clone(), id.clone());
                }
                Ok(Some(id))
            }
            Op::LogBatch { run_id, batch } => {
                let id = self.map_run(run_id)?;
                if batch
                    .metrics
                    .iter()
                    .any(|m| m.model_id.as_deref().is_some_and(is_placeholder))
                {
                    let mut batch = batch.clone();
                    for m in batch.metrics.iter_mut() {
                        if let Some(mid) = &m.model_id {
                            m.model_id = Some(self.map_run(mid)?);
                        }
                    }
                    self.send_batch(&id, &batch, replay, seen, report)?;
                } else {
                    self.send_batch(&id, batch, replay, seen, report)?;
                }
                Ok(None)
            }
            Op::UpdateRun {
                run_id,
                status,
                end_time,
            } => {
                let id = self.map_run(run_id)?;
                let mut body = json!({ "run_id": id, "status": status });
                if let Some(t) = end_time {
                    body["end_time"] = json!(t);
                }
                self.post_json::<Value>("runs/update", &body)?;
                Ok(None)
            }
            Op::SetExperimentTag { experiment_id, tag } => {
                let experiment_id = self.map_run(experiment_id)?;
                self.post_json::<Value>(
                    "experiments/set-experiment-tag",
                    &json!({
                        "experiment_id": experiment_id,
                        "key": tag.key,
                        "value": tag.value,
                    }),
                )?;
                Ok(None)
            }
            Op::LogInputs { run_id, datasets } => {
                let id = self.map_run(run_id)?;
                self.post_json::<Value>(
                    "runs/log-inputs",
                    &json!({ "run_id": id, "datasets": datasets }),
                )?;
                Ok(None)
            }
            Op::CreateLoggedModel {
                local_id,
                experiment_id,
                name,
                source_run_id,
                model_type,
                params,
                tags,
            } => {
                let experiment_id = self.map_run(experiment_id)?;
                let mut body = json!({
                    "experiment_id": experiment_id,
                    "name": name,
                    "model_type": model_type,
                    "params": params,
                    "tags": tags,
                });
                if let Some(r) = source_run_id {
                    body["source_run_id"] = json!(self.map_run(r)?);
                }
                #[derive(Deserialize)]
                struct R {
                    model: LoggedModel,
                }
                // Not idempotent on the server: a replay after a lost answer makes a second
                // (PENDING) model, which the UI lists apart from the READY one.
                let m = self.post_json::<R>("logged-models", &body)?.model.info;
                if let Ok(root) = proxy_root(&m.artifact_uri) {
                    if let Ok(mut roots) = self.artifact_roots.lock() {
                        roots.insert(m.model_id.clone(), root);
                    }
                }
                if let Ok(mut map) = self.run_map.lock() {
                    map.insert(local_id.clone(), m.model_id.clone());
                }
                Ok(Some(m.model_id))
            }
            Op::FinalizeLoggedModel { model_id, status } => {
                let id = self.map_run(model_id)?;
                let body = serde_json::to_vec(&json!({ "model_id": id, "status": status }))
                    .map_err(|e| Failure::Local(e.into()))?;
                let path = format!("{API}/logged-models/{}", encode_path(&id));
                self.request(Method::PATCH, &path, &[], Body::Json(body))?;
                Ok(None)
            }
            Op::LogOutputs { run_id, models } => {
                let id = self.map_run(run_id)?;
                let models = models
                    .iter()
                    .map(|m| {
                        Ok(ModelOutput {
                            model_id: self.map_run(&m.model_id)?,
                            step: m.step,
                        })
                    })
                    .collect::<Result<Vec<_>, Failure>>()?;
                self.post_json::<Value>(
                    "runs/outputs",
                    &json!({ "run_id": id, "models": models }),
                )?;
                Ok(None)
            }
            Op::UploadArtifact {
                run_id,
                artifact_path,
                blob,
            } => {
                let id = self.map_run(run_id)?;
                let ob = self
                    .outbox
                    .as_ref()
                    .ok_or_else(|| Failure::Local(Error::Tracking("no outbox".into())))?;
                let bytes = ob.read_blob(blob)?;
                self.upload(&id, artifact_path, bytes)?;
                Ok(None)
            }
        }
    }

    /// Replays the outbox in order. Metric points already on the server (a batch that was
    /// partly delivered before the outage) are not sent twice. Entries the server refuses (4xx)
    /// are recorded as rejected and skipped; the replay stops at the first sign the server is
    /// unreachable again. Compacts the outbox when everything went through.
    ///
    /// Several processes may share the outbox: the replay holds the outbox's replay lock
    /// (waiting for another process's replay to end), and entries other writers append
    /// meanwhile stay pending for the next replay.
    pub fn sync(&self) -> Result<SyncReport> {
        Ok(self.sync_with(true)?.unwrap_or_default())
    }

    /// [`Mlflow::sync`]; with `wait: false`, `Ok(None)` when another replay is running.
    fn sync_with(&self, wait: bool) -> Result<Option<SyncReport>> {
        let Some(ob) = &self.outbox else {
            return Ok(Some(SyncReport::default()));
        };
        if !ob.dir().exists() {
            return Ok(Some(SyncReport::default()));
        }
        let _guard = self.sync_lock.lock();
        let Some(_file_lock) = ob.sync_lock(wait)? else {
            return Ok(None);
        };
        if let Ok(mut m) = self.run_map.lock() {
            m.extend(ob.id_map()?);
        }
        let pending = ob.pending()?;
        let mut report = SyncReport::default();
        let mut seen = Delivered::default();
        for e in &pending {
            if !self.replays_for(&e.server) {
                report.other_server += 1;
                continue;
            }
            if report.stopped.is_some() {
                report.remaining += 1;
                continue;
            }
            match self.execute(&e.op, true, &mut seen, &mut report) {
                Ok(created) => {
                    if let (Some(real), Op::CreateRun { local_id, .. }) = (&created, &e.op) {
                        report.runs_created.push((local_id.clone(), real.clone()));
                    }
                    let is_exp = matches!(e.op, Op::CreateExperiment { .. });
                    ob.record(&Outcome {
                        id: e.id.clone(),
                        delivered: true,
                        run_id: if is_exp { None } else { created.clone() },
                        experiment_id: if is_exp { created } else { None },
                        error: None,
                    })?;
                    report.delivered += 1;
                }
                Err(f)
                    if f.offline()
                        || matches!(&f, Failure::Status { status, .. } if *status >= 500) =>
                {
                    report.remaining += 1;
                    report.stopped = Some(f.into_error().to_string());
                }
                Err(Failure::Local(Error::Io { path, source })) => {
                    // A local file problem (e.g. a blob removed by hand): keep it pending.
                    report.remaining += 1;
                    report.stopped = Some(Error::Io { path, source }.to_string());
                }
                Err(f) => {
                    let err = f.into_error().to_string();
                    ob.record(&Outcome {
                        id: e.id.clone(),
                        delivered: false,
                        run_id: None,
                        experiment_id: None,
                        error: Some(err.clone()),
                    })?;
                    report.rejected.push((e.id.clone(), err));
                }
            }
        }
        if report.remaining == 0 && report.other_server == 0 {
            ob.compact()?;
        }
        Ok(Some(report))
    }

    /// The run this client created with placeholder `local_id` in `experiment_id`, if the
    /// server has it (one search, not retried: the caller retries).
    fn find_client_run(&self, experiment_id: &str, local_id: &str) -> Result<Option<Run>, Failure> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct R {
            runs: Vec<Run>,
        }
        let body = json!({
            "experiment_ids": [experiment_id],
            "filter": format!("tags.{CLIENT_RUN_ID_TAG} = '{local_id}'"),
            "max_results": 2,
            "run_view_type": "ALL",
        });
        let body = serde_json::to_vec(&body).map_err(|e| Failure::Local(e.into()))?;
        let path = format!("{API}/runs/search");
        let bytes = self.attempt(Method::POST, &path, &[], &Body::Json(body))?;
        let r: R = decode("runs/search", &bytes)?;
        Ok(r.runs.into_iter().next())
    }

    /// What the outbox holds (`None` without an outbox).
    pub fn outbox_status(&self) -> Result<Option<OutboxStatus>> {
        self.outbox.as_ref().map(Outbox::status).transpose()
    }
}

enum Written {
    Done(Option<String>),
    Queued(Op),
}

fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, Failure> {
    let bytes = if bytes.is_empty() {
        b"{}" as &[u8]
    } else {
        bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|e| Failure::Local(Error::Tracking(format!("unexpected answer to {what}: {e}"))))
}

fn random_hex(rng: &Mutex<ChaCha8Rng>) -> String {
    let (a, b): (u64, u64) = match rng.lock() {
        Ok(mut r) => (r.random(), r.random()),
        Err(_) => (now_ms() as u64, u64::from(std::process::id())),
    };
    format!("{a:016x}{b:016x}")
}

/// `mlflow-artifacts:/1/<run>/artifacts` or `mlflow-artifacts://host:port/1/<run>/artifacts`
/// → `1/<run>/artifacts`.
fn proxy_root(artifact_uri: &str) -> Result<String, Failure> {
    let rest = artifact_uri.strip_prefix("mlflow-artifacts:").ok_or_else(|| {
        Failure::Local(Error::Tracking(format!(
            "the run's artifact root {artifact_uri:?} is not served by the tracking server; start \
             `mlflow server` with artifact serving (--artifacts-destination), as scripts/mlflow does"
        )))
    })?;
    let path = match rest.strip_prefix("//") {
        Some(after) => after.find('/').map(|i| &after[i..]).unwrap_or(""),
        None => rest,
    };
    Ok(path.trim_matches('/').to_string())
}

fn join_artifact_path(dir: &str, rel: &str) -> Result<String> {
    let dir = dir.trim_matches('/');
    let joined = if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    };
    if joined
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(Error::Tracking(format!(
            "artifact path {joined:?} must be relative, without empty, `.` or `..` parts"
        )));
    }
    Ok(joined)
}

/// Percent-encodes each `/`-separated segment (RFC 3986 unreserved characters stay).
fn encode_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for (i, seg) in p.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        for b in seg.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Files under `dir`, sorted, with their `/`-separated path relative to `base`.
fn walk(base: &Path, dir: &Path, out: &mut Vec<(std::path::PathBuf, String)>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let ft = e.file_type().map_err(|err| Error::io(&path, err))?;
        if ft.is_dir() {
            walk(base, &path, out)?;
        } else if ft.is_file() || path.is_file() {
            let rel = path
                .strip_prefix(base)
                .map_err(|_| Error::Tracking(format!("{} escapes its folder", path.display())))?;
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push((path, rel.join("/")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_roots_and_paths() {
        assert_eq!(
            proxy_root("mlflow-artifacts:/1/abc/artifacts").unwrap(),
            "1/abc/artifacts"
        );
        assert_eq!(
            proxy_root("mlflow-artifacts://127.0.0.1:5000/1/abc/artifacts").unwrap(),
            "1/abc/artifacts"
        );
        assert!(proxy_root("/tmp/mlruns/1/abc/artifacts").is_err());
        assert_eq!(encode_path("a b/c%d/é"), "a%20b/c%25d/%C3%A9");
        assert!(join_artifact_path("models", "../x").is_err());
        assert_eq!(
            join_artifact_path("/models/", "m.bin").unwrap(),
            "models/m.bin"
        );
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let cfg = MlflowConfig::default().outbox_dir(None).retry(
            crate::track::RetryPolicy::default()
                .initial_backoff(Duration::from_millis(100))
                .max_backoff(Duration::from_secs(1))
                .seed(7),
        );
        let c = Mlflow::new(cfg).unwrap();
        for a in 0..10 {
            let cap = Duration::from_millis(100 * (1u64 << a)).min(Duration::from_secs(1));
            let d = c.backoff(a);
            assert!(d >= cap / 2 && d <= cap, "{a}: {d:?} vs {cap:?}");
        }
    }

    #[test]
    fn errors_quote_the_server_and_hide_secrets() {
        let f = status_failure(
            400,
            br#"{"error_code":"INVALID_PARAMETER_VALUE","message":"bad key"}"#,
        );
        let e = f.into_error().to_string();
        assert!(
            e.contains("INVALID_PARAMETER_VALUE") && e.contains("bad key"),
            "{e}"
        );
        let c = Mlflow::new(
            MlflowConfig::new("http://bob:hunter2@127.0.0.1:9")
                .unwrap()
                .outbox_dir(None),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
