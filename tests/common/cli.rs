//! Running the `genre` binary on the real data slice, and the predict → evaluate round every
//! CLI pipeline test ends with.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A file of the real slice in `../shared/data/imdb-genre/`.
pub fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/imdb-genre")
        .join(name)
}

/// `genre ARGS` without MLflow tracking: (success, stdout, stderr).
pub fn genre(args: &[&str]) -> (bool, String, String) {
    genre_env(args, &[])
}

/// `genre ARGS` with extra variables.
pub fn genre_env(args: &[&str], env: &[(&str, &Path)]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_genre"));
    cmd.args(args).env_remove("MLFLOW_TRACKING_URI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A path as `&str`.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `genre predict` (one `id,genre` row per test row, input order) then `genre evaluate --json`
/// of the model in `model` on test_data_solution.txt; returns (accuracy, macro-F1).
pub fn predict_and_evaluate(name: &str, model: &Path, dir: &Path) -> (f64, f64) {
    let test = shared("test_data_solution.txt");
    let pred = dir.join(format!("{name}.csv"));
    let (ok, _, err) = genre(&[
        "predict",
        "--model",
        s(model),
        "--input",
        s(&test),
        "--output",
        s(&pred),
    ]);
    assert!(ok, "{name}: predict failed: {err}");
    let rows = std::fs::read_to_string(&pred).unwrap();
    assert_eq!(rows.lines().count(), 1671);
    assert!(rows.starts_with("id,genre\n2,"), "{}", &rows[..40]);
    let (ok, out, err) = genre(&[
        "evaluate",
        "--model",
        s(model),
        "--input",
        s(&test),
        "--json",
    ]);
    assert!(ok, "{name}: evaluate failed: {err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    (
        v["accuracy"].as_f64().unwrap(),
        v["macro_f1"].as_f64().unwrap(),
    )
}
