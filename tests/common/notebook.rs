//! Headless notebook execution through the project's runner (scripts/run-notebook.py) and the
//! real evcxr kernel; needs `scripts/setup` (the README's test command runs it).

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// One notebook at a time per test binary: each kernel would otherwise take a build folder of its
/// own (scripts/setup's kernel.sh), and only the first one is warm; on 2 cores they would also
/// just share the CPUs.
static ONE_KERNEL: Mutex<()> = Mutex::new(());

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Executes `notebook` (relative to the crate root) and returns the executed notebook. With
/// `tracking_uri`, runs log there and the MLflow outbox lives in a temporary folder. Studies run
/// the `smoke` profile (`GENRE_PROFILE=smoke`): the quick profile's cells and pipelines, trained
/// for an epoch or two on short inputs, so the notebooks are tested end to end in minutes.
pub fn execute(notebook: &str, tracking_uri: Option<&str>) -> Value {
    let (ok, _, executed) = run(notebook, tracking_uri, false);
    assert!(
        ok,
        "{notebook} failed; the cell and its error are printed above"
    );
    executed
}

/// Executes `notebook` expecting a cell to fail: returns what the runner printed to stderr and
/// the partial executed copy it saves. Panics if every cell ran.
pub fn execute_failing(notebook: &str) -> (String, Value) {
    let (ok, stderr, executed) = run(notebook, None, true);
    assert!(
        !ok,
        "{notebook} ran to the end; a failing cell was expected"
    );
    (stderr, executed)
}

fn run(notebook: &str, tracking_uri: Option<&str>, capture: bool) -> (bool, String, Value) {
    let _one = ONE_KERNEL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let tools = std::env::var("GENRE_NLP_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join(".tools"));
    let python = tools.join("venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/setup first (the README's test command does)",
        python.display()
    );
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("executed.ipynb");
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#"source scripts/env.sh && exec "$VENV/bin/python" scripts/run-notebook.py "$0" --out "$1""#)
        .arg(notebook)
        .arg(&out)
        .current_dir(root())
        .env("GENRE_NLP_TOOLS", &tools)
        .env("GENRE_PROFILE", "smoke");
    if let Some(uri) = tracking_uri {
        cmd.env("MLFLOW_TRACKING_URI", uri)
            .env("GENRE_MLFLOW_OUTBOX", out_dir.path().join("outbox"));
    }
    let (ok, stderr) = if capture {
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        eprintln!("{stderr}");
        (output.status.success(), stderr)
    } else {
        (cmd.status().unwrap().success(), String::new())
    };
    let executed = std::fs::read_to_string(&out)
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or(Value::Null);
    (ok, stderr, executed)
}
