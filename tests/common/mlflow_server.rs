//! A real `mlflow server` on a free loopback port, in a temporary folder (sqlite backend, local
//! artifact destination), stopped on drop. Needs `scripts/setup` (the MLflow venv).

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `mlflow` executable installed by scripts/setup; panics (test failure) when missing.
pub fn mlflow_bin() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tools = std::env::var_os("GENRE_NLP_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".tools"));
    let bin = tools.join("mlflow-venv/bin/mlflow");
    assert!(
        bin.exists(),
        "{} missing: run scripts/setup first (it installs the MLflow server; the README's test command does)",
        bin.display()
    );
    bin
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// A running MLflow tracking server.
pub struct MlflowServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its folder: mlflow.db, artifacts/, server.log (and auth files).
    pub dir: tempfile::TempDir,
    basic_auth_password: Option<String>,
    child: Option<Child>,
}

impl MlflowServer {
    /// Starts a server and waits until it answers.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts a server with `--app-name basic-auth`; the admin user is `admin` / `password`.
    pub fn start_basic_auth(password: &str) -> Self {
        Self::start_with(Some(password.to_string()))
    }

    /// Starts a server on `port` (e.g. one a client was pointed at while nothing listened).
    pub fn start_on(port: u16) -> Self {
        let mut s = MlflowServer {
            port,
            dir: tempfile::tempdir().expect("temp dir"),
            basic_auth_password: None,
            child: None,
        };
        s.spawn();
        s
    }

    fn start_with(basic_auth_password: Option<String>) -> Self {
        let mut s = MlflowServer {
            port: free_port(),
            dir: tempfile::tempdir().expect("temp dir"),
            basic_auth_password,
            child: None,
        };
        s.spawn();
        s
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn spawn(&mut self) {
        let bin = mlflow_bin();
        let d = self.dir.path();
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("server log");
        let mut cmd = Command::new(&bin);
        cmd.arg("server")
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", d.join("mlflow.db").display()))
            .arg("--artifacts-destination")
            .arg(d.join("artifacts"))
            .args(["--workers", "1"])
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            // Its own process group: `mlflow server` runs uvicorn as a child; we stop both.
            .process_group(0);
        if let Some(pw) = &self.basic_auth_password {
            let ini = d.join("basic_auth.ini");
            std::fs::write(
                &ini,
                format!(
                    "[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{}\nadmin_username = admin\nadmin_password = {pw}\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
                    d.join("basic_auth.db").display()
                ),
            )
            .expect("auth ini");
            cmd.args(["--app-name", "basic-auth"])
                .env("MLFLOW_AUTH_CONFIG_PATH", &ini)
                .env("MLFLOW_FLASK_SERVER_SECRET_KEY", "genre-nlp-test-secret");
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(180));
    }

    fn wait_ready(&mut self, limit: Duration) {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("http client");
        let url = format!("{}/health", self.uri());
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "mlflow server exited ({status}) before answering; log:\n{}",
                        tail(&self.log_path())
                    );
                }
            }
            // 401: up, behind basic auth.
            if http
                .get(&url)
                .send()
                .is_ok_and(|r| r.status().is_success() || r.status().as_u16() == 401)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "mlflow server did not answer within {limit:?}; log:\n{}",
            tail(&self.log_path())
        );
    }

    fn signal(&mut self, sig: &str) {
        if let Some(child) = self.child.as_mut() {
            let _ = Command::new("kill")
                .args([sig, "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Kills the server abruptly (SIGKILL to its process group), as a crash would.
    pub fn kill(&mut self) {
        self.signal("-KILL");
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// Starts it again after [`MlflowServer::kill`]: same port, database and artifacts.
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    /// Kills it and starts it on a fresh port with the same database and artifacts (the server
    /// moved); returns the new port.
    pub fn kill_and_move(&mut self) -> u16 {
        self.kill();
        self.port = free_port();
        self.spawn();
        self.port
    }

    /// Starts it again on the same port, with the same database and artifacts.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Stops it cleanly (SIGTERM, then SIGKILL after 15 s).
    pub fn stop(&mut self) {
        self.signal("-TERM");
        if let Some(mut child) = self.child.take() {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if !matches!(child.try_wait(), Ok(Some(_))) {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .stderr(Stdio::null())
                    .status();
                let _ = child.wait();
            }
        }
        // uvicorn may outlive its parent for a moment: wait until the port is free.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15)
            && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tail(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
