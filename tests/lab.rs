//! `scripts/lab` as a user's browser meets it: JupyterLab starts with the project's kernel, a
//! session for notebook.ipynb is created over Jupyter's REST API, and its first cells run over
//! the kernel's websocket channel and show the genre table. Needs `scripts/setup`, so
//! `#[ignore]`d in a plain `cargo test`.

mod common;

use common::mlflow_server::{free_port, MlflowServer};
use common::notebook::root;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
#[ignore = "needs scripts/setup (Jupyter + evcxr); run with -- --include-ignored"]
fn lab_serves_the_notebook_with_the_rust_kernel() {
    let server = MlflowServer::start();
    let port = free_port();
    let token = "genre-lab-test-token";
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("lab.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let log_tail = || {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };
    // Started as a user starts it, from a plain shell: without the variables `cargo test` sets
    // (the kernel would inherit them, and build scripts that read them would rebuild ring,
    // reqwest and polars in the kernel's cache — scripts/run-notebook.py drops them too).
    let mut lab = Command::new("bash");
    for (k, _) in std::env::vars() {
        let cargo_run = [
            "CARGO",
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_CRATE_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
            "CARGO_MANIFEST_LINKS",
            "OUT_DIR",
            "RUSTUP_TOOLCHAIN",
            "RUSTUP_TOOLCHAIN_SOURCE",
            "RUST_RECURSION_COUNT",
        ]
        .contains(&k.as_str())
            || ["CARGO_PKG_", "CARGO_BIN_", "CARGO_CFG_"]
                .iter()
                .any(|p| k.starts_with(p));
        // rustup's proxy also spells out the default CARGO_HOME; a plain shell leaves it unset.
        let default_home = std::env::var("HOME").map(|h| format!("{h}/.cargo"));
        let cargo_home = k == "CARGO_HOME" && std::env::var(&k).ok() == default_home.ok();
        if cargo_run || cargo_home {
            lab.env_remove(&k);
        }
    }
    let mut lab = lab
        .arg("scripts/lab")
        .current_dir(root())
        .env("JUPYTER_PORT", port.to_string())
        .env("JUPYTER_TOKEN", token)
        .env_remove("GENRE_PROFILE")
        .env("MLFLOW_TRACKING_URI", server.uri())
        .stdout(Stdio::piped())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = lab.id();
    let stop = move || {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pgid}")])
            .status();
    };
    // The two URLs it prints, the first two lines of its stdout.
    let mut lines = BufReader::new(lab.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let second = lines.next().and_then(Result::ok).unwrap_or_default();
    if !first.starts_with("JupyterLab: ") {
        stop();
    }
    let url = format!("http://127.0.0.1:{port}");
    assert!(
        first.contains(&format!("{url}/lab/tree/notebook.ipynb?token={token}")),
        "{first}\n{}",
        log_tail()
    );
    assert!(second.contains(&server.uri()), "{second}");
    // Wait until the server answers its API.
    let t = Instant::now();
    let ready = loop {
        let ok = Command::new("curl")
            .args(["-sf", "-H", &format!("Authorization: token {token}")])
            .arg(format!("{url}/api/kernelspecs"))
            .output()
            .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("\"rust\""))
            .unwrap_or(false);
        if ok || t.elapsed() > Duration::from_secs(180) {
            break ok;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    if !ready {
        stop();
        panic!(
            "JupyterLab did not list the rust kernel at {url} within 180 s; its log:\n{}",
            log_tail()
        );
    }
    let tools = std::env::var("GENRE_NLP_TOOLS")
        .unwrap_or_else(|_| root().join(".tools").display().to_string());
    let out = Command::new(format!("{tools}/venv/bin/python"))
        .arg("scripts/lab-check.py")
        .args([&url, token, "notebook.ipynb", "5"])
        .current_dir(root())
        .output()
        .unwrap();
    stop();
    let _ = lab.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "lab-check failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cells: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cells.len(), 5, "{stdout}");
    for c in &cells {
        assert_eq!(c["status"], "ok", "{c}");
    }
    let html: Vec<String> = cells
        .iter()
        .flat_map(|c| c["outputs"].as_array().cloned().unwrap_or_default())
        .filter_map(|o| o["data"]["text/html"].as_str().map(String::from))
        .collect();
    assert!(
        html.iter().any(|h| h.contains("2110 rows, 27 genres")),
        "no genre table in {html:?}"
    );
    assert!(stdout.contains("profile: quick"), "{stdout}");
}
