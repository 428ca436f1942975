//! Executes the notebooks headless through the real evcxr Jupyter kernel (scripts/run-notebook.py)
//! and checks what they showed. Needs `scripts/setup` (the README's test command runs it), so
//! these tests are `#[ignore]`d in a plain `cargo test` and run with `-- --include-ignored`.

mod common;

use common::mlflow_server::MlflowServer;
use common::notebook::{execute, root};
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

#[test]
#[ignore = "needs scripts/setup (Jupyter + evcxr); run with -- --include-ignored"]
fn main_notebook_runs_and_shows_the_genre_table() {
    assert!(Path::new(&root().join("notebook.ipynb")).exists());
    let server = MlflowServer::start();
    let nb = execute("notebook.ipynb", Some(&server.uri()));
    let outs = outputs(&nb);
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
    // The later sections showed their tables too.
    for needle in [
        "plot length per genre",
        "texts occur more than once",
        "split sides",
        "most distinctive terms per genre",
    ] {
        assert!(
            html.iter().any(|h| h.contains(needle)),
            "no output mentions {needle:?}"
        );
    }
    // And the tracking cell logged its run to the real server, manifest included.
    let client = Mlflow::new(MlflowConfig::new(&server.uri()).unwrap().outbox_dir(None)).unwrap();
    let exp = client
        .get_experiment_by_name("movie-genre-nlp")
        .unwrap()
        .expect("experiment created");
    let runs = client
        .search_runs(&[exp.experiment_id.as_str()], "", 10)
        .unwrap();
    assert_eq!(
        runs.len(),
        2,
        "data-and-split + tfidf-linear per notebook execution"
    );
    let run = runs
        .iter()
        .find(|r| r.info.run_name == "data-and-split")
        .expect("data-and-split run");
    assert_eq!(run.param("data.rows"), Some("2110"));
    assert_eq!(run.param("split.seed"), Some("42"));
    // What the MLflow UI shows as the run's source, and the experiment's view.
    assert_eq!(run.tag("mlflow.source.type"), Some("NOTEBOOK"));
    assert_eq!(run.tag("mlflow.source.name"), Some("notebook.ipynb"));
    assert!(
        exp.tags
            .iter()
            .any(|t| t.key == "mlflow.experimentKind" && t.value == "custom_model_development"),
        "{:?}",
        exp.tags
    );
    assert_eq!(run.param("text.fields"), Some("TitlePlot"));
    let files = client
        .list_artifacts(&run.info.run_id, Some("split"))
        .unwrap();
    assert!(
        files
            .iter()
            .any(|f| f.path.starts_with("split/split-seed42-")),
        "{files:?}"
    );

    // The baseline section: a per-class report, two inline figures, and its own run with the
    // hold-out metrics, the model directory and the report figures.
    assert!(
        html.iter()
            .any(|h| h.contains("precision") && h.contains("drama")),
        "no per-class report among the HTML outputs"
    );
    let pngs = outs.iter().filter(|o| o.1 == "image/png").count();
    assert!(
        pngs >= 2,
        "expected the confusion matrix and PR curves inline, got {pngs} images"
    );
    let run = runs
        .iter()
        .find(|r| r.info.run_name == "tfidf-linear")
        .expect("tfidf-linear run");
    assert_eq!(run.param("pipeline"), Some("tfidf-linear"));
    let acc = run
        .data
        .metrics
        .iter()
        .find(|m| m.key == "hold.accuracy")
        .expect("hold.accuracy logged");
    assert!(acc.value > 0.3, "hold accuracy {}", acc.value);
    let model = client
        .list_artifacts(&run.info.run_id, Some("model"))
        .unwrap();
    assert!(
        model.iter().any(|f| f.path.ends_with("linear.bin")),
        "{model:?}"
    );
    let report = client
        .list_artifacts(&run.info.run_id, Some("report"))
        .unwrap();
    assert!(
        report
            .iter()
            .any(|f| f.path.ends_with("confusion_matrix.png")),
        "{report:?}"
    );

    // The FFNN section: training curves inline and a hold-out score well above chance.
    assert!(
        pngs >= 3,
        "expected the FFNN's training curves inline too, got {pngs} images"
    );
    let line = outs
        .iter()
        .filter(|o| o.1 == "stream")
        .flat_map(|o| o.2.lines().map(str::to_string).collect::<Vec<_>>())
        .find(|l| l.starts_with("tfidf-svd-ffnn hold-out:"))
        .expect("the FFNN's hold-out line");
    let f1: f64 = line
        .split("macro-F1 ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no macro-F1 in {line:?}"));
    assert!(f1 > 0.1, "{line}");
}
