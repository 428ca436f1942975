//! Client configuration: where the server is, how to authenticate, how hard to retry, where the
//! outbox lives. [`MlflowConfig::from_env`] reads the standard `MLFLOW_*` variables.

use crate::error::{Error, Result};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A secret string (token or password): its `Debug` and `Display` print `***`, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for building the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How requests authenticate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// `Authorization: Bearer <token>` (`MLFLOW_TRACKING_TOKEN`).
    Bearer(Secret),
    /// HTTP basic auth (`MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`).
    Basic {
        /// User name (shown in Debug output).
        username: String,
        /// Password (never shown).
        password: Secret,
    },
}

/// What to do with a NaN or infinite metric value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NonFinite {
    /// Send it, encoded as the protobuf-JSON strings `"NaN"`, `"Infinity"`, `"-Infinity"`:
    /// the server keeps NaN, and stores ±infinity as ±`f64::MAX`.
    #[default]
    Send,
    /// Drop the point silently.
    Skip,
    /// Fail the call with [`Error::Tracking`].
    Reject,
}

/// Bounded retries with exponential backoff and full jitter, on connection errors, 429 and 5xx.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Backoff cap before the first retry; doubles each retry.
    pub initial_backoff: Duration,
    /// Upper bound of any single wait.
    pub max_backoff: Duration,
    /// Seed of the jitter RNG (`None`: seeded from the clock).
    pub seed: Option<u64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            seed: None,
        }
    }
}

impl RetryPolicy {
    /// Sets the number of retries after the first attempt.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }
    /// Sets the first backoff cap.
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }
    /// Sets the largest single wait.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }
    /// Seeds the jitter RNG (reproducible waits).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

/// Everything [`super::Mlflow`] needs to talk to a server. `Debug` never shows secrets.
#[derive(Clone, Debug, PartialEq)]
pub struct MlflowConfig {
    /// Base URL, e.g. `http://127.0.0.1:5000` (no credentials: they go in [`MlflowConfig::auth`]).
    pub tracking_uri: String,
    /// Default experiment name (`MLFLOW_EXPERIMENT_NAME`).
    pub experiment_name: Option<String>,
    /// Authentication.
    pub auth: Auth,
    /// Accept invalid TLS certificates (`MLFLOW_TRACKING_INSECURE_TLS=true`).
    pub insecure_tls: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Offline outbox folder (`None`: no outbox, an unreachable server is an error).
    pub outbox_dir: Option<PathBuf>,
    /// NaN / infinity handling for metric values.
    pub non_finite: NonFinite,
    /// In offline mode, how often a write may probe the server before queueing.
    pub offline_probe_interval: Duration,
    /// How long the first call (the experiment lookup) waits for the server, retries
    /// included, before going offline (`GENRE_MLFLOW_STARTUP_TIMEOUT`, seconds; default 3).
    pub startup_timeout: Duration,
    /// Other tracking URIs of the same server (it moved): entries queued for them are replayed
    /// to [`MlflowConfig::tracking_uri`] too (`genre mlflow sync --from URI`).
    pub replay_from: Vec<String>,
}

/// Default outbox folder, relative to the working directory.
pub const DEFAULT_OUTBOX_DIR: &str = "artifacts/mlflow-outbox";

impl Default for MlflowConfig {
    fn default() -> Self {
        MlflowConfig {
            tracking_uri: "http://127.0.0.1:5000".into(),
            experiment_name: None,
            auth: Auth::None,
            insecure_tls: false,
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            outbox_dir: Some(PathBuf::from(DEFAULT_OUTBOX_DIR)),
            non_finite: NonFinite::default(),
            offline_probe_interval: Duration::from_secs(2),
            startup_timeout: Duration::from_secs(3),
            replay_from: Vec::new(),
        }
    }
}

impl MlflowConfig {
    /// A configuration for `tracking_uri` (credentials embedded as `user:pass@` are moved into
    /// [`Auth::Basic`]); other fields take their defaults.
    pub fn new(tracking_uri: &str) -> Result<Self> {
        let (uri, auth) = split_credentials(tracking_uri)?;
        Ok(MlflowConfig {
            tracking_uri: uri,
            auth: auth.unwrap_or_default(),
            ..Default::default()
        })
    }

    /// Reads `MLFLOW_TRACKING_URI` (required, http or https), `MLFLOW_EXPERIMENT_NAME`,
    /// `MLFLOW_TRACKING_TOKEN` or `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD`,
    /// `MLFLOW_TRACKING_INSECURE_TLS`, `MLFLOW_HTTP_REQUEST_TIMEOUT` (seconds),
    /// `MLFLOW_HTTP_REQUEST_MAX_RETRIES`, `GENRE_MLFLOW_STARTUP_TIMEOUT` (seconds) and
    /// `GENRE_MLFLOW_OUTBOX` (outbox folder).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// [`MlflowConfig::from_env`] over any variable lookup (testable without touching the
    /// process environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let uri = get("MLFLOW_TRACKING_URI").ok_or_else(|| {
            Error::Tracking("MLFLOW_TRACKING_URI is not set (e.g. http://127.0.0.1:5000)".into())
        })?;
        let mut cfg = MlflowConfig::new(&uri)?;
        cfg.experiment_name = get("MLFLOW_EXPERIMENT_NAME");
        if let Some(token) = get("MLFLOW_TRACKING_TOKEN") {
            cfg.auth = Auth::Bearer(Secret::new(token));
        } else if let Some(username) = get("MLFLOW_TRACKING_USERNAME") {
            let password = get("MLFLOW_TRACKING_PASSWORD").ok_or_else(|| {
                Error::Tracking(
                    "MLFLOW_TRACKING_USERNAME is set but MLFLOW_TRACKING_PASSWORD is not".into(),
                )
            })?;
            cfg.auth = Auth::Basic {
                username,
                password: Secret::new(password),
            };
        }
        if let Some(v) = get("MLFLOW_TRACKING_INSECURE_TLS") {
            cfg.insecure_tls = parse_bool("MLFLOW_TRACKING_INSECURE_TLS", &v)?;
        }
        if let Some(v) = get("MLFLOW_HTTP_REQUEST_TIMEOUT") {
            let secs: u64 = v.trim().parse().map_err(|_| {
                Error::Tracking(format!("MLFLOW_HTTP_REQUEST_TIMEOUT={v} is not seconds"))
            })?;
            cfg.timeout = Duration::from_secs(secs.max(1));
        }
        if let Some(v) = get("MLFLOW_HTTP_REQUEST_MAX_RETRIES") {
            cfg.retry.max_retries = v.trim().parse().map_err(|_| {
                Error::Tracking(format!(
                    "MLFLOW_HTTP_REQUEST_MAX_RETRIES={v} is not a count"
                ))
            })?;
        }
        if let Some(v) = get("GENRE_MLFLOW_STARTUP_TIMEOUT") {
            let secs: f64 = v
                .trim()
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| {
                    Error::Tracking(format!(
                        "GENRE_MLFLOW_STARTUP_TIMEOUT={v} is not a number of seconds"
                    ))
                })?;
            cfg.startup_timeout = Duration::from_secs_f64(secs);
        }
        if let Some(v) = get("GENRE_MLFLOW_OUTBOX") {
            cfg.outbox_dir = Some(PathBuf::from(v));
        }
        Ok(cfg)
    }

    /// Sets the default experiment name.
    pub fn experiment_name(mut self, name: impl Into<String>) -> Self {
        self.experiment_name = Some(name.into());
        self
    }
    /// Authenticates with a bearer token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.auth = Auth::Bearer(Secret::new(token));
        self
    }
    /// Authenticates with HTTP basic auth.
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Auth::Basic {
            username: username.into(),
            password: Secret::new(password),
        };
        self
    }
    /// Accepts invalid TLS certificates.
    pub fn insecure_tls(mut self, yes: bool) -> Self {
        self.insecure_tls = yes;
        self
    }
    /// Sets the per-request timeout.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    /// Sets the outbox folder (`None` disables offline queueing).
    pub fn outbox_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.outbox_dir = dir;
        self
    }
    /// Sets how NaN / infinite metric values are handled.
    pub fn non_finite(mut self, policy: NonFinite) -> Self {
        self.non_finite = policy;
        self
    }
    /// Sets how often an offline client probes the server before queueing a write.
    pub fn offline_probe_interval(mut self, d: Duration) -> Self {
        self.offline_probe_interval = d;
        self
    }
    /// Sets how long the first call waits for the server before going offline.
    pub fn startup_timeout(mut self, d: Duration) -> Self {
        self.startup_timeout = d;
        self
    }
    /// Also replays entries queued for `uri` (an earlier address of the same server).
    pub fn replay_from(mut self, uri: impl Into<String>) -> Self {
        let uri: String = uri.into();
        let uri = split_credentials(&uri).map(|(u, _)| u).unwrap_or(uri);
        if !self.replay_from.contains(&uri) {
            self.replay_from.push(uri);
        }
        self
    }
}

fn parse_bool(name: &str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(Error::Tracking(format!("{name}={v} is not a boolean"))),
    }
}

/// Splits `scheme://user:pass@host/...` into a credential-free URI and basic auth.
fn split_credentials(uri: &str) -> Result<(String, Option<Auth>)> {
    let mut url = reqwest::Url::parse(uri.trim()).map_err(|e| {
        Error::Tracking(format!(
            "tracking URI is not a URL ({e}); expected http(s)://host:port"
        ))
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::Tracking(format!(
            "tracking URI scheme `{}` is not supported: this client speaks MLflow's REST API over http(s)",
            url.scheme()
        )));
    }
    let auth = if !url.username().is_empty() {
        let username = percent_decode(url.username());
        let password = Secret::new(percent_decode(url.password().unwrap_or_default()));
        Some(Auth::Basic { username, password })
    } else {
        None
    };
    // Both calls only fail for URLs that cannot have credentials (checked above).
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let s = url.as_str().trim_end_matches('/').to_string();
    Ok((s, auth))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_reads_standard_variables_and_hides_secrets() {
        let vars = [
            (
                "MLFLOW_TRACKING_URI",
                "http://alice:s%40cret@127.0.0.1:5000/",
            ),
            ("MLFLOW_EXPERIMENT_NAME", "exp"),
            ("MLFLOW_TRACKING_INSECURE_TLS", "true"),
        ];
        let cfg = MlflowConfig::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap();
        assert_eq!(cfg.tracking_uri, "http://127.0.0.1:5000");
        assert_eq!(cfg.experiment_name.as_deref(), Some("exp"));
        assert!(cfg.insecure_tls);
        match &cfg.auth {
            Auth::Basic { username, password } => {
                assert_eq!(username, "alice");
                assert_eq!(password.expose(), "s@cret");
            }
            other => panic!("{other:?}"),
        }
        let dbg = format!("{cfg:?}");
        assert!(
            !dbg.contains("s@cret") && !dbg.contains("s%40cret"),
            "{dbg}"
        );
        let tok = MlflowConfig::default().token("tok-123");
        assert!(!format!("{tok:?}").contains("tok-123"));
    }

    #[test]
    fn rejects_non_http_uris() {
        assert!(MlflowConfig::new("databricks").is_err());
        assert!(MlflowConfig::new("file:///tmp/mlruns").is_err());
        assert!(MlflowConfig::from_lookup(|_| None).is_err());
    }
}
