//! `genre fit` / `predict` / `evaluate` end to end on the real slice, the saved-model round
//! trip, and (with a real MLflow server, `--include-ignored`) what `fit` and `evaluate` log.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use genre_nlp::prelude::*;

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/imdb-genre")
        .join(name)
}

fn genre(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Fits the default pipeline once per test binary run (a few seconds) into `dir/model`.
fn fit_default(dir: &Path, env: &[(&str, &str)]) -> PathBuf {
    let model = dir.join("model");
    let train = shared("train_data.txt");
    let (ok, out, err) = genre(
        &[
            "fit",
            "--train",
            s(&train),
            "--pipeline",
            "tfidf-linear",
            "--out",
            s(&model),
        ],
        env,
    );
    assert!(ok, "fit failed: {err}");
    assert!(out.contains("trained tfidf-linear on 2110 rows"), "{out}");
    model
}

#[test]
fn fit_predict_evaluate_on_the_real_slice() {
    let dir = tempfile::tempdir().unwrap();
    let model = fit_default(dir.path(), &[]);
    for f in [
        "model.json",
        "labels.json",
        "tfidf_word.json",
        "linear.json",
        "linear.bin",
    ] {
        assert!(
            model.join(f).is_file(),
            "{f} missing from the model directory"
        );
    }

    // predict: header id,genre, one row per input row, in input order.
    let test = shared("test_data_solution.txt");
    let pred = dir.path().join("pred.csv");
    let (ok, _, err) = genre(
        &[
            "predict",
            "--model",
            s(&model),
            "--input",
            s(&test),
            "--output",
            s(&pred),
        ],
        &[],
    );
    assert!(ok, "{err}");
    let truth = Dataset::load(&test).unwrap();
    let text = std::fs::read_to_string(&pred).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,genre"));
    let rows: Vec<(u64, String)> = lines
        .map(|l| {
            let (id, g) = l.split_once(',').unwrap();
            (id.parse().unwrap(), g.to_string())
        })
        .collect();
    assert_eq!(rows.len(), truth.len());
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), truth.ids());
    let labels = Labels::from_dataset(&truth).unwrap();
    assert!(rows.iter().all(|(_, g)| labels.index(g).is_some()));

    // evaluate --json agrees with the predictions file scored by the library.
    let (ok, out, err) = genre(
        &[
            "evaluate",
            "--model",
            s(&model),
            "--input",
            s(&test),
            "--json",
        ],
        &[],
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let y: Vec<usize> = labels.encode(&truth).unwrap();
    let p: Vec<usize> = rows.iter().map(|(_, g)| labels.index(g).unwrap()).collect();
    let report = ClassificationReport::new(&y, &p, &labels).unwrap();
    assert!((v["accuracy"].as_f64().unwrap() - report.accuracy()).abs() < 1e-12);
    assert!((v["macro_f1"].as_f64().unwrap() - report.macro_f1()).abs() < 1e-12);
    assert_eq!(v["rows"], 1670);
    // A real model, not a constant: far above the 1/27 chance level and the majority class.
    assert!(report.accuracy() > 0.45, "accuracy {}", report.accuracy());
    assert!(report.macro_f1() > 0.2, "macro-F1 {}", report.macro_f1());

    // Plain output and report files.
    let rep = dir.path().join("report");
    let (ok, out, err) = genre(
        &[
            "evaluate",
            "--model",
            s(&model),
            "--input",
            s(&test),
            "--report-dir",
            s(&rep),
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("1670 rows: accuracy 0."), "{out}");
    let per_class = std::fs::read_to_string(rep.join("per_class.csv")).unwrap();
    assert_eq!(per_class.lines().count(), 28, "header + 27 genres");
    assert!(rep.join("evaluation.json").is_file());

    // Unlabelled Kaggle input (3 fields) predicts too.
    let unlabelled = dir.path().join("test_data.txt");
    let body: String = std::fs::read_to_string(&test)
        .unwrap()
        .lines()
        .take(25)
        .map(|l| {
            let f: Vec<&str> = l.split(" ::: ").collect();
            format!("{} ::: {} ::: {}\n", f[0], f[1], f[3])
        })
        .collect();
    std::fs::write(&unlabelled, body).unwrap();
    let pred2 = dir.path().join("pred2.csv");
    let (ok, _, err) = genre(
        &[
            "predict",
            "--model",
            s(&model),
            "--input",
            s(&unlabelled),
            "--output",
            s(&pred2),
        ],
        &[],
    );
    assert!(ok, "{err}");
    let first: Vec<String> = text.lines().skip(1).take(25).map(String::from).collect();
    let again: Vec<String> = std::fs::read_to_string(&pred2)
        .unwrap()
        .lines()
        .skip(1)
        .map(String::from)
        .collect();
    assert_eq!(
        first, again,
        "labels in the input must not change predictions"
    );

    // A genre the model never saw is an error naming file and line.
    let odd = dir.path().join("odd.txt");
    std::fs::write(
        &odd,
        "1 ::: A (2001) ::: drama ::: A plot.\n2 ::: B (2002) ::: space-opera ::: Ships.\n",
    )
    .unwrap();
    let (ok, _, err) = genre(&["evaluate", "--model", s(&model), "--input", s(&odd)], &[]);
    assert!(!ok);
    assert!(
        err.contains("odd.txt:2") && err.contains("space-opera"),
        "{err}"
    );
}

#[test]
fn fit_rejects_unknown_pipelines_and_options() {
    let train = shared("train_data.txt");
    let (ok, _, err) = genre(
        &[
            "fit",
            "--train",
            s(&train),
            "--pipeline",
            "nope",
            "--out",
            "/tmp/x",
        ],
        &[],
    );
    assert!(!ok && err.contains("unknown pipeline `nope`"), "{err}");
    let (ok, _, err) = genre(
        &[
            "fit",
            "--train",
            s(&train),
            "--out",
            "/tmp/x",
            "--set",
            "colour=blue",
        ],
        &[],
    );
    assert!(
        !ok && err.contains("unknown option `colour`") && err.contains("c_grid"),
        "{err}"
    );
    let (ok, _, err) = genre(
        &[
            "fit",
            "--train",
            s(&train),
            "--out",
            "/tmp/x",
            "--set",
            "c=-1",
        ],
        &[],
    );
    assert!(!ok && err.contains("c must be positive"), "{err}");
    let (ok, _, err) = genre(
        &[
            "predict",
            "--model",
            "/nonexistent/model",
            "--input",
            s(&train),
            "--output",
            "/tmp/p.csv",
        ],
        &[],
    );
    assert!(
        !ok && err.contains("/nonexistent/model/model.json"),
        "{err}"
    );
}

#[test]
fn saved_models_reload_with_identical_scores() {
    let train = Dataset::load(shared("train_data.txt")).unwrap();
    let test = Dataset::load(shared("test_data_solution.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (i, cfg) in [
        TfidfLinearConfig::default().c(0.5),
        TfidfLinearConfig::default()
            .head(Head::Logistic)
            .view(TextView::Classic)
            .c(4.0),
        TfidfLinearConfig::default()
            .chars(Some(Tfidf::char_wb(2, 4)))
            .c(1.0),
    ]
    .into_iter()
    .enumerate()
    {
        let model = cfg.fit(&train).unwrap();
        let path = dir.path().join(format!("m{i}"));
        model.save(&path).unwrap();
        let back = load_model(&path).unwrap();
        assert_eq!(back.pipeline(), "tfidf-linear");
        assert_eq!(back.labels(), model.labels());
        assert_eq!(back.scores(&test).unwrap(), model.scores(&test).unwrap());
        assert_eq!(
            back.predict_proba(&test).unwrap(),
            model.predict_proba(&test).unwrap()
        );
        let proba = model.predict_proba(&test).unwrap();
        assert_eq!(proba.is_some(), cfg.head == Head::Logistic);
    }
    // A damaged directory is an error naming the file.
    let m0 = dir.path().join("m0");
    std::fs::write(m0.join("labels.json"), "[not json").unwrap();
    let err = load_model(&m0).err().unwrap().to_string();
    assert!(err.contains("labels.json"), "{err}");
}

/// `genre fit` and `genre evaluate` with MLFLOW_TRACKING_URI set log their runs to a real
/// server: params, tuning steps, final metrics, the model directory and report files.
#[test]
#[ignore = "starts a real MLflow server; run with --include-ignored"]
fn fit_and_evaluate_log_their_runs_to_mlflow() {
    let server = common::mlflow_server::MlflowServer::start();
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let env = [
        ("MLFLOW_TRACKING_URI", uri.as_str()),
        ("MLFLOW_EXPERIMENT_NAME", "cli-test"),
        ("GENRE_MLFLOW_OUTBOX", outbox.to_str().unwrap()),
    ];
    let model = fit_default(dir.path(), &env);
    let test = shared("test_data_solution.txt");
    let (ok, _, err) = genre(
        &["evaluate", "--model", s(&model), "--input", s(&test)],
        &env,
    );
    assert!(ok, "{err}");

    let client = Mlflow::new(MlflowConfig::new(&uri).unwrap()).unwrap();
    let exp = client.get_experiment_by_name("cli-test").unwrap().unwrap();
    let runs = client.search_runs(&[&exp.experiment_id], "", 10).unwrap();
    let by_name: HashMap<&str, &genre_nlp::track::Run> =
        runs.iter().map(|r| (r.info.run_name.as_str(), r)).collect();
    let fit = by_name["fit tfidf-linear"];
    assert_eq!(fit.info.status, RunStatus::Finished);
    assert_eq!(fit.param("data.rows"), Some("2110"));
    assert_eq!(fit.param("head"), Some("svm"));
    assert_eq!(fit.param("class_weight"), Some("balanced"));
    let tuning = client
        .get_metric_history(&fit.info.run_id, "tuning.val_macro_f1")
        .unwrap();
    assert_eq!(tuning.len(), 4, "one point per C of the default grid");
    let mut steps: Vec<i64> = tuning.iter().map(|m| m.step).collect();
    steps.sort();
    assert_eq!(steps, vec![0, 1, 2, 3]);
    // The training data as the run's input, the model directory as its logged model.
    let fit = client.get_run(&fit.info.run_id).unwrap();
    let input = &fit.inputs.dataset_inputs;
    assert_eq!(input.len(), 1, "{input:?}");
    assert_eq!(input[0].context(), Some("training"));
    assert_eq!(input[0].dataset.name, "train_data.txt");
    assert_eq!(fit.outputs.model_outputs.len(), 1, "{:?}", fit.outputs);
    let logged = client
        .get_logged_model(&fit.outputs.model_outputs[0].model_id)
        .unwrap();
    assert_eq!(logged.info.name, "tfidf-linear");
    assert_eq!(logged.info.status, genre_nlp::track::LOGGED_MODEL_READY);
    assert!(logged
        .data
        .params
        .iter()
        .any(|p| p.key == "head" && p.value == "svm"));
    assert!(logged
        .data
        .metrics
        .iter()
        .any(|m| m.key == "best.val_macro_f1"));
    let files = client.list_artifacts(&logged.info.model_id, None).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert!(names.iter().any(|p| p.ends_with("linear.bin")), "{names:?}");
    let bin = client
        .download_artifact(&logged.info.model_id, "linear.bin")
        .unwrap();
    assert_eq!(bin, std::fs::read(model.join("linear.bin")).unwrap());

    let ev = by_name["evaluate tfidf-linear"];
    assert_eq!(ev.info.status, RunStatus::Finished);
    let acc = ev
        .data
        .metrics
        .iter()
        .find(|m| m.key == "test.accuracy")
        .expect("test.accuracy logged");
    assert!(acc.value > 0.45);
    let ev_run = client.get_run(&ev.info.run_id).unwrap();
    assert_eq!(
        ev_run.inputs.dataset_inputs[0].context(),
        Some("evaluation"),
        "{:?}",
        ev_run.inputs
    );
    let files = client
        .list_artifacts(&ev.info.run_id, Some("evaluation"))
        .unwrap();
    assert!(files.iter().any(|f| f.path.ends_with("per_class.csv")));
}

#[test]
fn report_writes_metrics_and_every_evaluation_figure() {
    let dir = tempfile::tempdir().unwrap();
    let model = fit_default(dir.path(), &[]);
    let test = shared("test_data_solution.txt");
    let out = dir.path().join("reports");
    let (ok, stdout, err) = genre(
        &[
            "report",
            "--model",
            s(&model),
            "--input",
            s(&test),
            "--out",
            s(&out),
        ],
        &[],
    );
    assert!(ok, "{err}");
    for stem in [
        "confusion_matrix",
        "confusion_matrix_normalized",
        "roc_curves",
        "pr_curves",
        "per_class_f1",
    ] {
        for ext in ["png", "svg"] {
            let p = out.join(format!("{stem}.{ext}"));
            assert!(stdout.contains(p.to_str().unwrap()), "{stdout}");
            let bytes = std::fs::read(&p).unwrap();
            if ext == "png" {
                let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
                let px: Vec<f64> = img.pixels().map(|p| f64::from(p.0[0])).collect();
                let mean = px.iter().sum::<f64>() / px.len() as f64;
                let var = px.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / px.len() as f64;
                assert!(var > 10.0, "{stem}.png looks blank");
            } else {
                let svg = String::from_utf8(bytes).unwrap();
                assert!(svg.contains("drama"), "{stem}.svg has no genre label");
            }
        }
    }
    let per_class = std::fs::read_to_string(out.join("per_class.csv")).unwrap();
    assert_eq!(per_class.lines().count(), 28);
}

/// With the server down, two `genre fit` commands at once share one outbox: both exit 0 after
/// one line saying they log offline; `genre mlflow status` lists both runs by name; once the
/// server is up, `genre mlflow sync` delivers both (params, metrics, artifacts) and `status`
/// shows nothing pending.
#[test]
#[ignore = "starts a real MLflow server; run with --include-ignored"]
fn two_fits_with_the_server_down_are_delivered_by_sync() {
    let port = common::mlflow_server::free_port();
    let uri = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let env = [
        ("MLFLOW_TRACKING_URI", uri.as_str()),
        ("MLFLOW_EXPERIMENT_NAME", "offline-cli"),
        ("GENRE_MLFLOW_OUTBOX", outbox.to_str().unwrap()),
        ("GENRE_MLFLOW_STARTUP_TIMEOUT", "1"),
    ];
    let train = shared("train_data.txt");
    let children: Vec<_> = [1, 2]
        .iter()
        .map(|seed| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_genre"));
            cmd.args(["fit", "--train", s(&train), "--pipeline", "tfidf-linear"])
                .arg("--out")
                .arg(dir.path().join(format!("m{seed}")))
                .args(["--seed", &seed.to_string()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            for (k, v) in env {
                cmd.env(k, v);
            }
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "fit failed offline: {err}");
        let offline: Vec<&str> = err.lines().filter(|l| l.contains("unreachable")).collect();
        assert_eq!(offline.len(), 1, "one line about going offline: {err}");
        assert!(offline[0].contains("genre mlflow sync"), "{err}");
    }

    let (ok, status, err) = genre(&["mlflow", "status", "--outbox", s(&outbox)], &[]);
    assert!(ok, "{err}");
    assert!(status.contains("for 2 run(s)"), "{status}");
    assert_eq!(
        status.matches("run \"fit tfidf-linear\"").count(),
        2,
        "{status}"
    );

    let server = common::mlflow_server::MlflowServer::start_on(port);
    let (ok, out, err) = genre(&["mlflow", "sync", "--outbox", s(&outbox)], &env);
    assert!(ok, "sync: {out}{err}");
    assert!(out.contains("delivered"), "{out}");
    let (ok, status, _) = genre(&["mlflow", "status", "--outbox", s(&outbox)], &[]);
    assert!(ok && status.contains("nothing pending"), "{status}");

    let client = Mlflow::new(MlflowConfig::new(&server.uri()).unwrap().outbox_dir(None)).unwrap();
    let exp = client
        .get_experiment_by_name("offline-cli")
        .unwrap()
        .unwrap();
    let runs = client.search_runs(&[&exp.experiment_id], "", 10).unwrap();
    assert_eq!(runs.len(), 2, "each offline run delivered once");
    let mut seeds = Vec::new();
    for run in &runs {
        assert_eq!(run.info.run_name, "fit tfidf-linear");
        assert_eq!(run.info.status, RunStatus::Finished);
        assert_eq!(run.param("data.rows"), Some("2110"));
        let seed = run.param("seed").expect("seed param").to_string();
        let tuning = client
            .get_metric_history(&run.info.run_id, "tuning.val_macro_f1")
            .unwrap();
        assert_eq!(tuning.len(), 4, "one point per C of the default grid");
        // The model queued offline: created on replay, its files uploaded, linked to the run.
        let outputs = client
            .get_run(&run.info.run_id)
            .unwrap()
            .outputs
            .model_outputs;
        assert_eq!(outputs.len(), 1, "{outputs:?}");
        let logged = client.get_logged_model(&outputs[0].model_id).unwrap();
        assert_eq!(logged.info.status, genre_nlp::track::LOGGED_MODEL_READY);
        assert_eq!(logged.info.source_run_id, run.info.run_id);
        let bin = client
            .download_artifact(&logged.info.model_id, "linear.bin")
            .unwrap();
        let local = dir.path().join(format!("m{seed}/linear.bin"));
        assert_eq!(bin, std::fs::read(local).unwrap(), "run of seed {seed}");
        seeds.push(seed);
    }
    seeds.sort();
    assert_eq!(seeds, ["1", "2"]);
}
