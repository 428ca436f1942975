//! `genre study` end to end on the real slice against a real MLflow server: the results table,
//! summary.csv, the figures, submission.csv for test_data.txt, the best model's score on
//! test_data_solution.txt, and what the server holds — the study run with its nested runs,
//! dataset inputs, logged models, step and system metrics, table artifacts — including an
//! experiment that fails (its model asset is missing) while the study goes on.
//! Needs `scripts/setup` (the MLflow server), so `#[ignore]`d in a plain `cargo test`.

mod common;

use common::mlflow_server::MlflowServer;
use genre_nlp::track::{Mlflow, MlflowConfig, Run, RunStatus};
use std::path::{Path, PathBuf};
use std::process::Command;

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/imdb-genre")
}

fn metric(run: &Run, key: &str) -> f64 {
    run.data
        .metrics
        .iter()
        .find(|m| m.key == key)
        .unwrap_or_else(|| panic!("run {} has no metric {key}", run.info.run_name))
        .value
}

#[test]
#[ignore = "needs scripts/setup (the MLflow server); run with -- --include-ignored"]
fn study_cli_logs_every_family_and_writes_the_submission() {
    let server = MlflowServer::start();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("reports");
    let models = work.path().join("models");
    let no_assets = work.path().join("no-tools");
    std::fs::create_dir_all(&no_assets).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_genre"))
        .current_dir(work.path())
        .args(["study", "--profile", "quick", "--data"])
        .arg(shared_dir())
        .arg("--out")
        .arg(&out)
        .arg("--models")
        .arg(&models)
        .args(["--pipelines", "tfidf-linear,tfidf-svd-ffnn,minilm-ffnn"])
        .args(["--register", "genre-best"])
        .env("MLFLOW_TRACKING_URI", server.uri())
        // No MiniLM weights here: minilm-ffnn fails, the study goes on.
        .env("GENRE_NLP_TOOLS", &no_assets)
        .env("GENRE_CACHE_DIR", work.path().join("cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "genre study failed:\n{stderr}");
    for line in [
        "[study] experiment 1/3: tfidf-linear",
        "[study] experiment 3/3: minilm-ffnn",
        "[study] minilm-ffnn FAILED",
        "predictions by",
        "labelled test rows: macro-F1",
        "registered as `genre-best` version 1",
    ] {
        assert!(stderr.contains(line), "no {line:?} in:\n{stderr}");
    }

    // summary.csv: one row per experiment, the failure with its error.
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, genre_nlp::study::SummaryRow::COLUMNS.to_vec());
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3, "{csv}");
    let families: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(families, ["baseline", "ffnn", "ffnn"]);
    for r in &rows[..2] {
        let f1: f64 = r[4].parse().unwrap();
        let acc: f64 = r[5].parse().unwrap();
        assert!(f1 > 0.08 && acc > 0.3, "{r:?}");
        assert!(r[11].is_empty(), "{r:?}");
        let latency: f64 = r[8].parse().unwrap();
        let mb: f64 = r[9].parse().unwrap();
        assert!(latency > 0.0 && mb > 0.0, "{r:?}");
    }
    assert_eq!(&rows[2][1], "minilm-ffnn");
    assert!(rows[2][4].is_empty(), "{:?}", rows[2]);
    assert!(rows[2][11].contains("scripts/assets"), "{:?}", rows[2]);
    assert!(stdout.contains("tfidf-svd-ffnn"), "{stdout}");
    // A link that opens the study run in the UI's model-training view.
    let link = format!("MLflow: {}/#/experiments/", server.uri());
    assert!(
        stdout.contains(&link) && stdout.contains("?workflowType=machine_learning"),
        "{stdout}"
    );

    // The figures, per-model reports and the submission in input order.
    for f in [
        "evolution_bar_val_macroF1.png",
        "evolution_bar_val_macroF1.svg",
        "latency.png",
        "summary.json",
        "tfidf-linear/confusion_matrix.png",
        "tfidf-svd-ffnn/training_curves.png",
        "tfidf-svd-ffnn/tfidf-svd-ffnn_epoch_metrics.csv",
        "tfidf-svd-ffnn/per_class.json",
        "test/evaluation.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let sub = std::fs::read_to_string(out.join("submission.csv")).unwrap();
    let test = genre_nlp::data::Dataset::kaggle(shared_dir().join("test_data.txt")).unwrap();
    let lines: Vec<&str> = sub.lines().collect();
    assert_eq!(lines.len(), test.len() + 1);
    assert_eq!(lines[0], "id,genre");
    for (line, id) in lines[1..].iter().zip(test.ids()) {
        assert!(line.starts_with(&format!("{id},")), "{line} vs id {id}");
    }
    assert!(models.join("tfidf-svd-ffnn/model.json").is_file());

    // What the server holds.
    let client = Mlflow::new(MlflowConfig::new(&server.uri()).unwrap().outbox_dir(None)).unwrap();
    let exp = client
        .get_experiment_by_name("movie-genre-nlp")
        .unwrap()
        .expect("experiment");
    let runs = client
        .search_runs(&[exp.experiment_id.as_str()], "", 50)
        .unwrap();
    assert_eq!(runs.len(), 4, "study + 3 experiments");
    let get = |name: &str| -> Run {
        let id = &runs
            .iter()
            .find(|r| r.info.run_name == name)
            .unwrap_or_else(|| panic!("no run {name}"))
            .info
            .run_id;
        client.get_run(id).unwrap()
    };
    let study = get("study-quick");
    assert_eq!(study.info.status, RunStatus::Finished);
    assert_eq!(study.tag("genre.profile"), Some("quick"));
    // "Created by" in the UI: the run's user, never "unknown" when the machine has a login name.
    assert_eq!(study.info.user_id, genre_nlp::track::run_user());
    assert_ne!(study.info.user_id, "unknown");
    assert!(study
        .tag("mlflow.note.content")
        .is_some_and(|d| d.contains("Movie-genre study")));
    assert!(study
        .tag("mlflow.loggedArtifacts")
        .is_some_and(|t| t.contains("summary.json") && t.contains("table")));
    assert_eq!(study.inputs.dataset_inputs.len(), 3);
    assert!(metric(&study, "test.macro_f1") > 0.08);
    assert_eq!(metric(&study, "experiments_failed"), 1.0);
    assert!(study.param("best.pipeline").is_some());
    let files: Vec<String> = client
        .list_artifacts(&study.info.run_id, None)
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    for f in [
        "summary.csv",
        "summary.json",
        "submission.csv",
        "figures",
        "split",
        "test",
    ] {
        assert!(files.iter().any(|p| p == f), "{f} not in {files:?}");
    }
    let summary_json = client
        .download_artifact(&study.info.run_id, "summary.json")
        .unwrap();
    let table: serde_json::Value = serde_json::from_slice(&summary_json).unwrap();
    assert_eq!(table["data"].as_array().unwrap().len(), 3);

    let ffnn = get("tfidf-svd-ffnn");
    assert_eq!(ffnn.parent_run_id(), Some(study.info.run_id.as_str()));
    assert_eq!(ffnn.info.status, RunStatus::Finished);
    assert_eq!(ffnn.tag("genre.family"), Some("ffnn"));
    assert!(metric(&ffnn, "hold.macro_f1") > 0.08);
    assert!(metric(&ffnn, "latency_ms_per_doc") > 0.0);
    let epochs = client
        .get_metric_history(&ffnn.info.run_id, "val_macro_f1")
        .unwrap();
    assert!(epochs.len() >= 2, "{epochs:?}");
    let cpu = client
        .get_metric_history(&ffnn.info.run_id, "system/cpu_utilization_percentage")
        .unwrap();
    assert!(!cpu.is_empty(), "no system metrics");
    let contexts: Vec<String> = ffnn
        .inputs
        .dataset_inputs
        .iter()
        .flat_map(|d| d.tags.iter().map(|t| t.value.clone()))
        .collect();
    for c in ["training", "validation", "evaluation"] {
        assert!(contexts.iter().any(|v| v == c), "{contexts:?}");
    }
    assert_eq!(ffnn.outputs.model_outputs.len(), 1);
    let model = client
        .get_logged_model(&ffnn.outputs.model_outputs[0].model_id)
        .unwrap();
    assert_eq!(model.info.status, "LOGGED_MODEL_READY");
    assert_eq!(model.info.model_type, "genre-nlp/tfidf-svd-ffnn");
    let report: Vec<String> = client
        .list_artifacts(&ffnn.info.run_id, Some("report"))
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    for f in [
        "report/confusion_matrix.png",
        "report/per_class.json",
        "report/training_curves.png",
    ] {
        assert!(report.iter().any(|p| p == f), "{f} not in {report:?}");
    }

    // The best model is version 1 of `genre-best` in the Model Registry, pointing at its
    // logged model.
    let best = study.param("best.pipeline").unwrap().to_string();
    let best_model = get(&best).outputs.model_outputs[0].model_id.clone();
    let reg = Command::new("curl")
        .args([
            "-sf",
            &format!(
                "{}/api/2.0/mlflow/model-versions/get?name=genre-best&version=1",
                server.uri()
            ),
        ])
        .output()
        .unwrap();
    let reg: serde_json::Value = serde_json::from_slice(&reg.stdout).unwrap_or_default();
    assert_eq!(
        reg["model_version"]["source"].as_str(),
        Some(format!("models:/{best_model}").as_str()),
        "{reg}"
    );

    let failed = get("minilm-ffnn");
    assert_eq!(failed.info.status, RunStatus::Failed);
    assert_eq!(failed.parent_run_id(), Some(study.info.run_id.as_str()));
    assert!(failed
        .tag("genre.error")
        .is_some_and(|e| e.contains("scripts/assets")));
}
