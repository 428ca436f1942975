//! Executes the notebooks headless through the real evcxr Jupyter kernel (scripts/run-notebook.py)
//! and checks what they showed. Needs `scripts/setup` (the README's test command runs it), so
//! these tests are `#[ignore]`d in a plain `cargo test` and run with `-- --include-ignored`.

mod common;

use common::mlflow_server::MlflowServer;
use common::notebook::{execute, execute_failing, root};
use genre_nlp::track::{Mlflow, MlflowConfig};
use serde_json::Value;
use std::path::Path;

fn outputs(nb: &Value) -> Vec<(usize, String, String)> {
    let mut v = Vec::new();
    for (i, cell) in nb["cells"].as_array().unwrap().iter().enumerate() {
        for out in cell["outputs"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            assert_ne!(out["output_type"], "error", "cell {i} raised: {out}");
            if let Some(data) = out["data"].as_object() {
                for (mime, text) in data {
                    let text = match text {
                        Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect(),
                        other => other.as_str().unwrap_or_default().to_string(),
                    };
                    v.push((i, mime.clone(), text));
                }
            }
            if let Some(text) = out["text"].as_str() {
                v.push((i, "stream".into(), text.into()));
            } else if let Some(parts) = out["text"].as_array() {
                v.push((
                    i,
                    "stream".into(),
                    parts.iter().filter_map(Value::as_str).collect(),
                ));
            }
        }
    }
    v
}

/// Writes a notebook of code `cells` for the `rust` kernel to `path` and returns it.
fn write_notebook(path: &Path, cells: &[impl AsRef<str>]) -> std::path::PathBuf {
    let nb = serde_json::json!({
        "cells": cells.iter().map(|c| serde_json::json!({
            "cell_type": "code", "metadata": {}, "source": c.as_ref(), "outputs": [],
            "execution_count": null
        })).collect::<Vec<_>>(),
        "metadata": {"kernelspec": {"name": "rust", "display_name": "Rust", "language": "rust"}},
        "nbformat": 4, "nbformat_minor": 5
    });
    std::fs::write(path, nb.to_string()).unwrap();
    path.to_path_buf()
}

/// Every code cell of `notebook` (relative to the crate root) is at most `max` lines.
fn cells_are_short(notebook: &str, max: usize) {
    let nb: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(notebook)).unwrap()).unwrap();
    for (i, cell) in nb["cells"].as_array().unwrap().iter().enumerate() {
        if cell["cell_type"] != "code" {
            continue;
        }
        let src: String = match &cell["source"] {
            Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().unwrap_or_default().to_string(),
        };
        let lines = src.trim_end().lines().count();
        assert!(
            lines <= max,
            "{notebook} cell {i} has {lines} lines:\n{src}"
        );
    }
}

#[test]
fn notebook_cells_are_at_most_five_lines() {
    cells_are_short("notebook.ipynb", 5);
}

#[test]
#[ignore = "needs scripts/setup (Jupyter + evcxr); run with -- --include-ignored"]
fn main_notebook_runs_the_study_top_to_bottom() {
    assert!(Path::new(&root().join("notebook.ipynb")).exists());
    let started = std::time::SystemTime::now();
    let server = MlflowServer::start();
    let nb = execute("notebook.ipynb", Some(&server.uri()));
    let outs = outputs(&nb);
    // No cell shows a bare `()`.
    for (i, mime, text) in &outs {
        assert!(
            !(mime == "text/plain" && text.trim() == "()"),
            "cell {i} shows a bare ()"
        );
    }
    let html: Vec<&String> = outs
        .iter()
        .filter(|o| o.1 == "text/html")
        .map(|o| &o.2)
        .collect();
    let genre_table = html
        .iter()
        .find(|h| h.contains("2110 rows, 27 genres"))
        .unwrap_or_else(|| panic!("no genre table among {} HTML outputs", html.len()));
    assert_eq!(
        genre_table.matches("<tr>").count(),
        28,
        "header + 27 genres"
    );
    assert!(
        genre_table.contains("<td>drama</td><td style=\"text-align:right\">522</td>"),
        "{genre_table}"
    );
    for needle in [
        "plot length per genre",
        "texts occur more than once",
        "split sides",
        "most distinctive terms per genre",
        "KMeans clusters vs 27 genres",
        "baseline (smoke profile)",
        "ffnn (smoke profile)",
        "rnn (smoke profile)",
        "transformer (smoke profile)",
        "nearest 5 neighbours by cosine",
        "study (smoke profile)",
        "predictions by",
        "study files",
    ] {
        assert!(
            html.iter().any(|h| h.contains(needle)),
            "no output mentions {needle:?}"
        );
    }
    assert!(
        html.iter()
            .any(|h| h.contains("precision") && h.contains("drama")),
        "no per-class report among the HTML outputs"
    );
    // Confusion matrices, training curves, evolution, latency, PR and ROC curves inline.
    let pngs = outs.iter().filter(|o| o.1 == "image/png").count();
    assert!(pngs >= 8, "expected 8 inline figures, got {pngs}");

    // The files: summary.csv with a row per landed family, the submission in input order.
    let reports = root().join("artifacts/reports");
    let fresh = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= started)
    };
    let summary = reports.join("summary.csv");
    assert!(
        fresh(&summary),
        "{} not written by this run",
        summary.display()
    );
    let csv = std::fs::read_to_string(&summary).unwrap();
    for family in ["baseline", "ffnn", "rnn", "transformer"] {
        assert!(
            csv.lines()
                .skip(1)
                .any(|l| l.starts_with(&format!("{family},"))),
            "no {family} row in\n{csv}"
        );
    }
    for line in csv.lines().skip(1) {
        assert!(line.ends_with(','), "an experiment failed: {line}");
    }
    let sub = reports.join("submission.csv");
    assert!(fresh(&sub));
    let sub = std::fs::read_to_string(&sub).unwrap();
    assert_eq!(
        sub.lines().count(),
        1671,
        "header + one row per test_data.txt row"
    );
    assert!(sub.starts_with("id,genre\n2,"), "{}", &sub[..30]);

    // The server holds the study run and its nested runs with inputs, models, metrics and
    // artifacts; the UI shows them as a notebook's runs in the model-training view.
    let client = Mlflow::new(MlflowConfig::new(&server.uri()).unwrap().outbox_dir(None)).unwrap();
    let exp = client
        .get_experiment_by_name("movie-genre-nlp")
        .unwrap()
        .expect("experiment created");
    assert!(
        exp.tags
            .iter()
            .any(|t| t.key == "mlflow.experimentKind" && t.value == "custom_model_development"),
        "{:?}",
        exp.tags
    );
    let runs = client
        .search_runs(&[exp.experiment_id.as_str()], "", 50)
        .unwrap();
    let study = runs
        .iter()
        .find(|r| r.info.run_name == "study-smoke")
        .expect("the study run");
    let study = client.get_run(&study.info.run_id).unwrap();
    assert_eq!(study.tag("mlflow.source.type"), Some("NOTEBOOK"));
    assert_eq!(study.tag("mlflow.source.name"), Some("notebook.ipynb"));
    assert_eq!(study.param("data.rows"), Some("2110"));
    assert_eq!(study.inputs.dataset_inputs.len(), 3);
    let files = client.list_artifacts(&study.info.run_id, None).unwrap();
    for f in [
        "summary.csv",
        "summary.json",
        "submission.csv",
        "figures",
        "split",
    ] {
        assert!(files.iter().any(|p| p.path == f), "{f} not in {files:?}");
    }
    let children: Vec<_> = runs
        .iter()
        .filter(|r| r.parent_run_id() == Some(study.info.run_id.as_str()))
        .collect();
    let names: Vec<&str> = children.iter().map(|r| r.info.run_name.as_str()).collect();
    for name in [
        "tfidf-linear",
        "tfidf-svd-ffnn",
        "glove-ffnn",
        "minilm-ffnn",
        "glove-bilstm",
        "minilm-finetune",
    ] {
        assert!(names.contains(&name), "no nested run {name} in {names:?}");
    }
    for child in children {
        let run = client.get_run(&child.info.run_id).unwrap();
        let name = &run.info.run_name;
        assert_eq!(
            run.info.status,
            genre_nlp::track::RunStatus::Finished,
            "{name}"
        );
        assert_eq!(run.inputs.dataset_inputs.len(), 3, "{name}");
        assert_eq!(run.outputs.model_outputs.len(), 1, "{name}");
        let f1 = run
            .data
            .metrics
            .iter()
            .find(|m| m.key == "hold.macro_f1")
            .unwrap_or_else(|| panic!("{name}: no hold.macro_f1"));
        assert!(f1.value > 0.05, "{name}: {}", f1.value);
        // The transformer's latency probe (max length 192, batch 32) is on its run.
        let probe = run
            .data
            .metrics
            .iter()
            .find(|m| m.key == "latency.samples_per_second");
        assert_eq!(
            probe.is_some(),
            name == "minilm-finetune",
            "{name}: {probe:?}"
        );
        if name == "minilm-finetune" {
            assert!(probe.is_some_and(|m| m.value > 0.0));
            assert_eq!(run.param("latency.batch_size"), Some("32"));
        }
        let report = client
            .list_artifacts(&run.info.run_id, Some("report"))
            .unwrap();
        assert!(
            report
                .iter()
                .any(|f| f.path == "report/confusion_matrix.png"),
            "{name}: {report:?}"
        );
    }
}

#[test]
fn focused_notebook_cells_are_at_most_five_lines() {
    for nb in ["eda", "classic", "neural", "transformers"] {
        cells_are_short(&format!("notebooks/{nb}.ipynb"), 5);
    }
}

#[test]
#[ignore = "needs scripts/setup (Jupyter + evcxr); run with -- --include-ignored"]
fn focused_notebooks_run_on_their_own() {
    // notebooks/plots.ipynb has its own test (tests/notebook_plots.rs).
    let server = MlflowServer::start();
    for (name, needles, images) in [
        (
            "eda",
            &[
                "2110 rows, 27 genres",
                "most distinctive terms per genre",
                "KMeans clusters vs",
            ][..],
            3,
        ),
        (
            "classic",
            &["baseline (smoke profile)", "precision", "study files"][..],
            2,
        ),
        ("neural", &["ffnn (smoke profile)", "study files"][..], 1),
        (
            "transformers",
            &["minilm-linear", "minilm-ffnn", "study files"][..],
            0,
        ),
    ] {
        let nb = execute(&format!("notebooks/{name}.ipynb"), Some(&server.uri()));
        let outs = outputs(&nb);
        for (i, mime, text) in &outs {
            assert!(
                !(mime == "text/plain" && text.trim() == "()"),
                "{name}: cell {i} shows a bare ()"
            );
        }
        for needle in needles {
            assert!(
                outs.iter()
                    .any(|o| o.1 == "text/html" && o.2.contains(needle)),
                "{name}: no HTML output mentions {needle:?}"
            );
        }
        let pngs = outs.iter().filter(|o| o.1 == "image/png").count();
        assert!(
            pngs >= images,
            "{name}: {pngs} inline figures, expected {images}"
        );
        if name == "transformers" {
            let line = outs
                .iter()
                .filter(|o| o.1 == "stream")
                .find(|o| o.2.contains("cosine "))
                .map(|o| o.2.clone())
                .expect("the cosine line");
            assert!(line.contains("cosine 0.755"), "{line}");
        }
    }
}

/// The kernel patch (scripts/evcxr-kernel.patch) through the real kernel: final expressions
/// show through `evcxr_display` where the type has one and `Debug` otherwise (one compilation
/// each), `?` works in the first cell that uses it, and an edit to a path dependency between
/// two cells is seen although later cells run rustc without cargo.
#[test]
#[ignore = "needs scripts/setup (Jupyter + evcxr); run with -- --include-ignored"]
fn kernel_patch_shows_values_and_sees_an_edited_path_dependency() {
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path().join("answer");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"answer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    let lib = |n: u32| {
        format!(
            "pub fn answer() -> u32 {{ {n} }}\n\
             #[derive(Debug)]\npub struct Shown;\n\
             impl Shown {{\n    pub fn evcxr_display(&self) {{\n        \
             println!(\"EVCXR_BEGIN_CONTENT text/html\\n<b>shown</b>\\nEVCXR_END_CONTENT\");\n    }}\n}}\n"
        )
    };
    let lib_rs = krate.join("src/lib.rs");
    std::fs::write(&lib_rs, lib(41)).unwrap();
    let cells = [
        format!(
            ":dep answer = {{ path = {:?} }}",
            krate.display().to_string()
        ),
        "answer::answer()".to_string(),
        format!(
            "std::fs::write({:?}, {:?})?;",
            lib_rs.display().to_string(),
            lib(42)
        ),
        "answer::answer()".to_string(),
        "40 + 2".to_string(),
        "answer::Shown".to_string(),
        "&answer::Shown".to_string(),
        "let v: Vec<u32> = vec![1, 2];\nv".to_string(),
        "let x: u32 = \"7\".parse()?;\nx".to_string(),
        "Box::new(5u8)".to_string(),
    ];
    let path = write_notebook(&dir.path().join("kernel_patch.ipynb"), &cells);
    let outs = outputs(&execute(path.to_str().unwrap(), None));
    let shown = |cell: usize| -> Vec<(String, String)> {
        outs.iter()
            .filter(|o| o.0 == cell && o.1 != "stream")
            .map(|o| (o.1.clone(), o.2.trim().to_string()))
            .collect()
    };
    let plain = |text: &str| vec![("text/plain".to_string(), text.to_string())];
    let html = vec![("text/html".to_string(), "<b>shown</b>".to_string())];
    assert_eq!(shown(1), plain("41"));
    assert_eq!(
        shown(3),
        plain("42"),
        "the edited dependency was not rebuilt"
    );
    assert_eq!(shown(4), plain("42"));
    assert_eq!(shown(5), html, "evcxr_display first");
    assert_eq!(shown(6), html, "through a reference too");
    assert_eq!(shown(7), plain("[1, 2]"));
    assert_eq!(shown(8), plain("7"));
    assert_eq!(shown(9), plain("5"));
}

/// A cell whose `?` returns an error fails there, as a Python cell that raises does (stock evcxr
/// prints the error and reports success, so "run all" went on to fail at the next cell that used
/// the variable, with "cannot find value"): the runner names that cell, shows the error's own
/// text, and runs nothing after it; what ran before the `?` is kept.
#[test]
#[ignore = "needs scripts/setup (Jupyter + evcxr); run with -- --include-ignored"]
fn a_question_mark_error_fails_its_own_cell() {
    let dir = tempfile::tempdir().unwrap();
    let cells = [
        "let kept: u32 = 40;",
        "let bad: u32 = \"forty-two\".parse()?;\nbad",
        "kept + bad",
    ];
    let path = write_notebook(&dir.path().join("question_mark.ipynb"), &cells);
    let (stderr, executed) = execute_failing(path.to_str().unwrap());
    assert!(stderr.contains("cell 1 FAILED"), "{stderr}");
    assert!(
        stderr.contains("invalid digit found in string"),
        "the error's own text: {stderr}"
    );
    assert!(stderr.contains("stopped at a `?`"), "{stderr}");
    let cells = executed["cells"].as_array().unwrap();
    assert!(
        cells[2]["outputs"].as_array().unwrap().is_empty() && cells[2]["execution_count"].is_null(),
        "the cell after the failing one ran: {}",
        cells[2]
    );
}
