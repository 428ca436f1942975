//! MLflow's entities as they travel over REST, and the checks a value passes before it is sent.

use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most metrics per `log-batch` request (MLflow's documented limit).
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// Most params per `log-batch` request.
pub const MAX_PARAMS_PER_BATCH: usize = 100;
/// Most tags per `log-batch` request.
pub const MAX_TAGS_PER_BATCH: usize = 100;
/// Most entities (metrics + params + tags) per `log-batch` request.
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
/// Longest param value, in characters.
pub const MAX_PARAM_VALUE_LEN: usize = 6000;
/// Longest tag value, in characters.
pub const MAX_TAG_VALUE_LEN: usize = 8000;
/// Longest metric, param or tag key, in characters.
pub const MAX_KEY_LEN: usize = 250;
/// Request body budget we keep under MLflow's 1 MB `log-batch` limit.
const MAX_BATCH_BYTES: usize = 900_000;

/// One metric point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Metric name.
    pub key: String,
    /// Value; NaN and ±infinity travel as protobuf-JSON strings.
    #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64")]
    pub value: f64,
    /// Milliseconds since the Unix epoch (MLflow requires it).
    #[serde(deserialize_with = "de_i64")]
    pub timestamp: i64,
    /// Training step.
    #[serde(default, deserialize_with = "de_i64")]
    pub step: i64,
    /// The logged model the point is about (MLflow 3: shown on the model's page), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

impl Metric {
    /// A point stamped with the current time.
    pub fn new(key: impl Into<String>, value: f64, step: i64) -> Self {
        Metric {
            key: key.into(),
            value,
            timestamp: now_ms(),
            step,
            model_id: None,
        }
    }

    /// The point linked to logged model `model_id`.
    pub fn for_model(mut self, model_id: impl Into<String>) -> Self {
        self.model_id = Some(model_id.into());
        self
    }

    /// (step, timestamp): with [`Metric::same_value`], recognises a point already on the
    /// server.
    pub(crate) fn slot(&self) -> (i64, i64) {
        (self.step, self.timestamp)
    }

    /// Whether `self.value` and `other` are the same point's value as the server stores it:
    /// NaNs match, ±infinity matches ±`f64::MAX`, and finite values match within a relative
    /// 1e-12 (the server's float round trip may change the last bits).
    pub(crate) fn same_value(&self, other: f64) -> bool {
        let norm = |v: f64| {
            if v.is_infinite() {
                f64::MAX.copysign(v)
            } else {
                v
            }
        };
        let (a, b) = (norm(self.value), norm(other));
        if a.is_nan() || b.is_nan() {
            return a.is_nan() && b.is_nan();
        }
        a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
    }
}

/// A run parameter (immutable once logged).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// Name.
    pub key: String,
    /// Value, at most [`MAX_PARAM_VALUE_LEN`] characters.
    #[serde(default)]
    pub value: String,
}

/// A run or experiment tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Name (`mlflow.*` names are MLflow's own).
    pub key: String,
    /// Value, at most [`MAX_TAG_VALUE_LEN`] characters.
    #[serde(default)]
    pub value: String,
}

impl Tag {
    /// A tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl Param {
    /// A param.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Param {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A run's lifecycle status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// In progress.
    #[default]
    Running,
    /// Scheduled, not started.
    Scheduled,
    /// Ended normally.
    Finished,
    /// Ended with an error.
    Failed,
    /// Stopped by the user.
    Killed,
}

/// An experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Experiment {
    /// Id (a string in MLflow's API).
    pub experiment_id: String,
    /// Unique name.
    pub name: String,
    /// Where its runs' artifacts go.
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// Metadata of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunInfo {
    /// Run id.
    pub run_id: String,
    /// Display name.
    pub run_name: String,
    /// Experiment id.
    pub experiment_id: String,
    /// User.
    pub user_id: String,
    /// Status.
    pub status: RunStatus,
    /// Start, ms since the epoch.
    #[serde(deserialize_with = "de_opt_i64")]
    pub start_time: Option<i64>,
    /// End, ms since the epoch.
    #[serde(deserialize_with = "de_opt_i64")]
    pub end_time: Option<i64>,
    /// Artifact root, e.g. `mlflow-artifacts:/1/<run_id>/artifacts`.
    pub artifact_uri: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
}

/// What a run holds: latest metric values, params, tags.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunData {
    /// Latest value of each metric.
    pub metrics: Vec<Metric>,
    /// Params.
    pub params: Vec<Param>,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// A dataset as MLflow records it (`runs/log-inputs`; the UI's "Datasets used").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetInfo {
    /// Name shown in the UI.
    pub name: String,
    /// Content digest (at most 36 characters).
    pub digest: String,
    /// Kind of source, e.g. `local`.
    pub source_type: String,
    /// Where it was read from (JSON, e.g. `{"uri": "/data/train.txt"}`).
    pub source: String,
    /// Columns (JSON, MLflow's `mlflow_colspec`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub schema: String,
    /// Summary statistics (JSON).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub profile: String,
}

/// A dataset a run used, with its input tags (`mlflow.data.context`: `training`,
/// `validation`, `evaluation`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetInput {
    /// Input tags.
    pub tags: Vec<Tag>,
    /// The dataset.
    pub dataset: DatasetInfo,
}

/// The input tag naming what a run did with a dataset.
pub const DATASET_CONTEXT_TAG: &str = "mlflow.data.context";

impl DatasetInput {
    /// `dataset` used in `context` (`training`, `validation`, `evaluation`, ...).
    pub fn new(dataset: DatasetInfo, context: &str) -> Self {
        DatasetInput {
            tags: vec![Tag::new(DATASET_CONTEXT_TAG, context)],
            dataset,
        }
    }

    /// The `mlflow.data.context` tag, if set.
    pub fn context(&self) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == DATASET_CONTEXT_TAG)
            .map(|t| t.value.as_str())
    }
}

/// A logged model a run produced, at a step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelOutput {
    /// Logged model id (`m-…`).
    pub model_id: String,
    /// Step it was produced at.
    #[serde(deserialize_with = "de_i64")]
    pub step: i64,
}

/// What a run read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunInputs {
    /// Datasets.
    pub dataset_inputs: Vec<DatasetInput>,
}

/// What a run produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOutputs {
    /// Logged models.
    pub model_outputs: Vec<ModelOutput>,
}

/// A run as the server returns it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// Contents.
    pub data: RunData,
    /// Datasets it read.
    pub inputs: RunInputs,
    /// Models it produced.
    pub outputs: RunOutputs,
}

/// `LOGGED_MODEL_READY`: a logged model whose files are all uploaded.
pub const LOGGED_MODEL_READY: &str = "LOGGED_MODEL_READY";
/// `LOGGED_MODEL_UPLOAD_FAILED`.
pub const LOGGED_MODEL_UPLOAD_FAILED: &str = "LOGGED_MODEL_UPLOAD_FAILED";

/// Metadata of an MLflow 3 logged model (the UI's Models tab).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggedModelInfo {
    /// Id (`m-…`).
    pub model_id: String,
    /// Experiment.
    pub experiment_id: String,
    /// Name.
    pub name: String,
    /// Where its files go, e.g. `mlflow-artifacts:/1/models/m-…/artifacts`.
    pub artifact_uri: String,
    /// `LOGGED_MODEL_PENDING`, [`LOGGED_MODEL_READY`] or [`LOGGED_MODEL_UPLOAD_FAILED`].
    pub status: String,
    /// The run that produced it.
    pub source_run_id: String,
    /// Free-form type (ours: `genre-nlp/<pipeline>`).
    pub model_type: String,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// Params and metrics of a logged model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggedModelData {
    /// Params.
    pub params: Vec<Param>,
    /// Metrics linked to it.
    pub metrics: Vec<Metric>,
}

/// A logged model as the server returns it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggedModel {
    /// Metadata.
    pub info: LoggedModelInfo,
    /// Params and metrics.
    pub data: LoggedModelData,
}

impl Run {
    /// The value of a param, if logged.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.data
            .params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    }
    /// The value of a tag, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.data
            .tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }
    /// The parent run id (`mlflow.parentRunId`), for nested runs.
    pub fn parent_run_id(&self) -> Option<&str> {
        self.tag("mlflow.parentRunId")
    }
}

/// An entry of an artifact listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileInfo {
    /// Path relative to the listed folder's root.
    pub path: String,
    /// Whether it is a folder.
    pub is_dir: bool,
    /// Size in bytes (files only).
    #[serde(deserialize_with = "de_opt_i64")]
    pub file_size: Option<i64>,
}

/// Metrics, params and tags for one run, before chunking.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Metric points.
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// Params.
    #[serde(default)]
    pub params: Vec<Param>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl Batch {
    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty() && self.params.is_empty() && self.tags.is_empty()
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.metrics.len() + self.params.len() + self.tags.len()
    }

    /// Splits into requests within MLflow's limits (1000 metrics, 100 params, 100 tags, 1000
    /// entities, < 1 MB each), keeping order within each kind.
    pub fn chunks(self) -> Vec<Batch> {
        let mut out = Vec::new();
        let (mut m, mut p, mut t) = (
            self.metrics.into_iter().peekable(),
            self.params.into_iter().peekable(),
            self.tags.into_iter().peekable(),
        );
        loop {
            let mut b = Batch::default();
            let mut bytes = 64;
            while b.params.len() < MAX_PARAMS_PER_BATCH {
                match p.peek() {
                    Some(x) if bytes + x.key.len() + x.value.len() + 32 <= MAX_BATCH_BYTES => {
                        bytes += x.key.len() + x.value.len() + 32;
                        b.params.extend(p.next());
                    }
                    _ => break,
                }
            }
            while b.tags.len() < MAX_TAGS_PER_BATCH {
                match t.peek() {
                    Some(x) if bytes + x.key.len() + x.value.len() + 32 <= MAX_BATCH_BYTES => {
                        bytes += x.key.len() + x.value.len() + 32;
                        b.tags.extend(t.next());
                    }
                    _ => break,
                }
            }
            while b.metrics.len() < MAX_METRICS_PER_BATCH && b.len() < MAX_ENTITIES_PER_BATCH {
                match m.peek() {
                    Some(x) if bytes + x.key.len() + 96 <= MAX_BATCH_BYTES => {
                        bytes += x.key.len() + 96;
                        b.metrics.extend(m.next());
                    }
                    _ => break,
                }
            }
            if b.is_empty() {
                break;
            }
            out.push(b);
        }
        out
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Checks a metric / param / tag key the way the MLflow server does: 1–250 characters from
/// letters, digits, `_ - . / :` and space, and a normalised relative path (no empty, `.` or
/// `..` segment, no leading or trailing `/`).
pub fn validate_key(kind: &str, key: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::Tracking(format!("{kind} key {key:?} {why}")));
    if key.is_empty() {
        return bad("is empty");
    }
    if key.chars().count() > MAX_KEY_LEN {
        return bad(&format!("is longer than {MAX_KEY_LEN} characters"));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' ' | ':')))
    {
        return bad(&format!(
            "contains {c:?}: only letters, digits, `_`, `-`, `.`, `/`, `:` and space are allowed"
        ));
    }
    if key
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return bad("is not a normalised relative path (empty, `.` or `..` segment)");
    }
    Ok(())
}

/// Checks every entity of a batch (keys, value lengths, duplicate params) and applies the
/// non-finite policy to metric values. Returns the batch to send.
pub(crate) fn validate_batch(mut b: Batch, non_finite: super::NonFinite) -> Result<Batch> {
    for m in &b.metrics {
        validate_key("metric", &m.key)?;
        if !m.value.is_finite() && non_finite == super::NonFinite::Reject {
            return Err(Error::Tracking(format!(
                "metric {:?} at step {} is {} (set NonFinite::Send or Skip to allow it)",
                m.key, m.step, m.value
            )));
        }
    }
    if non_finite == super::NonFinite::Skip {
        b.metrics.retain(|m| m.value.is_finite());
    }
    let mut dup = vec![false; b.params.len()];
    let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for (i, p) in b.params.iter().enumerate() {
        validate_key("param", &p.key)?;
        let n = p.value.chars().count();
        if n > MAX_PARAM_VALUE_LEN {
            return Err(Error::Tracking(format!(
                "param {:?} value has {n} characters; MLflow accepts at most {MAX_PARAM_VALUE_LEN}",
                p.key
            )));
        }
        match seen.get(p.key.as_str()) {
            Some(v) if *v == p.value => dup[i] = true,
            Some(v) => {
                return Err(Error::Tracking(format!(
                    "param {:?} given twice with different values ({v:?} and {:?}); params are immutable",
                    p.key, p.value
                )))
            }
            None => {
                seen.insert(&p.key, &p.value);
            }
        }
    }
    drop(seen);
    for t in &b.tags {
        validate_key("tag", &t.key)?;
        let n = t.value.chars().count();
        if n > MAX_TAG_VALUE_LEN {
            return Err(Error::Tracking(format!(
                "tag {:?} value has {n} characters; MLflow accepts at most {MAX_TAG_VALUE_LEN}",
                t.key
            )));
        }
    }
    let mut i = 0;
    b.params.retain(|_| {
        i += 1;
        !dup[i - 1]
    });
    Ok(b)
}

fn ser_f64<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if v.is_infinite() {
        s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        s.serialize_f64(*v)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    F(f64),
    S(String),
}

fn de_f64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    match NumOrStr::deserialize(d)? {
        NumOrStr::F(f) => Ok(f),
        NumOrStr::S(s) => match s.as_str() {
            "NaN" | "nan" => Ok(f64::NAN),
            "Infinity" | "inf" => Ok(f64::INFINITY),
            "-Infinity" | "-inf" => Ok(f64::NEG_INFINITY),
            other => other.parse().map_err(serde::de::Error::custom),
        },
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrStr {
    I(i64),
    F(f64),
    S(String),
}

fn de_i64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    match IntOrStr::deserialize(d)? {
        IntOrStr::I(i) => Ok(i),
        IntOrStr::F(f) => Ok(f as i64),
        IntOrStr::S(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<i64>, D::Error> {
    match Option::<IntOrStr>::deserialize(d)? {
        None => Ok(None),
        Some(IntOrStr::I(i)) => Ok(Some(i)),
        Some(IntOrStr::F(f)) => Ok(Some(f as i64)),
        Some(IntOrStr::S(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::NonFinite;

    #[test]
    fn keys_follow_mlflow_rules() {
        for ok in ["loss", "val/macro_f1", "lr 0", "a.b-c_d:e", "épreuve"] {
            validate_key("metric", ok).unwrap();
        }
        for bad in ["", "a//b", "/a", "a/", "./a", "a/../b", "x?y", "a\nb"] {
            assert!(validate_key("metric", bad).is_err(), "{bad:?}");
        }
        assert!(validate_key("metric", &"k".repeat(251)).is_err());
    }

    #[test]
    fn chunks_respect_every_limit() {
        let b = Batch {
            metrics: (0..2500).map(|i| Metric::new("m", i as f64, i)).collect(),
            params: (0..250).map(|i| Param::new(format!("p{i}"), "v")).collect(),
            tags: (0..130).map(|i| Tag::new(format!("t{i}"), "v")).collect(),
        };
        let chunks = b.clone().chunks();
        for c in &chunks {
            assert!(c.metrics.len() <= 1000 && c.params.len() <= 100 && c.tags.len() <= 100);
            assert!(c.len() <= 1000);
        }
        let m: Vec<_> = chunks.iter().flat_map(|c| c.metrics.clone()).collect();
        assert_eq!(m, b.metrics);
        assert_eq!(chunks.iter().map(|c| c.params.len()).sum::<usize>(), 250);
        assert_eq!(chunks.iter().map(|c| c.tags.len()).sum::<usize>(), 130);
        // Large values: the byte budget splits before the count limits do.
        let big = Batch {
            tags: (0..100)
                .map(|i| Tag::new(format!("t{i}"), "x".repeat(8000)))
                .collect(),
            params: (0..100)
                .map(|i| Param::new(format!("p{i}"), "y".repeat(6000)))
                .collect(),
            ..Default::default()
        };
        for c in big.chunks() {
            assert!(serde_json::to_vec(&c).unwrap().len() < 1_000_000);
        }
    }

    #[test]
    fn validation_applies_limits_and_policy() {
        let nan = Batch {
            metrics: vec![
                Metric::new("loss", f64::NAN, 0),
                Metric::new("loss", 1.0, 1),
            ],
            ..Default::default()
        };
        assert!(validate_batch(nan.clone(), NonFinite::Reject).is_err());
        assert_eq!(
            validate_batch(nan.clone(), NonFinite::Skip)
                .unwrap()
                .metrics
                .len(),
            1
        );
        let sent = validate_batch(nan, NonFinite::Send).unwrap();
        let json = serde_json::to_string(&sent.metrics[0]).unwrap();
        assert!(json.contains("\"NaN\""), "{json}");
        let back: Metric = serde_json::from_str(&json).unwrap();
        assert!(back.value.is_nan());
        let long = Batch {
            params: vec![Param::new("p", "x".repeat(6001))],
            ..Default::default()
        };
        assert!(validate_batch(long, NonFinite::Send).is_err());
        let dup = Batch {
            params: vec![Param::new("p", "1"), Param::new("p", "1")],
            ..Default::default()
        };
        assert_eq!(
            validate_batch(dup, NonFinite::Send).unwrap().params.len(),
            1
        );
        let clash = Batch {
            params: vec![Param::new("p", "1"), Param::new("p", "2")],
            ..Default::default()
        };
        assert!(validate_batch(clash, NonFinite::Send).is_err());
    }
}
