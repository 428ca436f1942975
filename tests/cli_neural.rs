//! `genre fit / predict / evaluate` end to end for every composed pipeline on the real slice,
//! `--pipeline help`, a bad `--set`, and `--resume` after killing a training process.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::cli::{genre, genre_env, predict_and_evaluate, s, shared};

#[test]
fn fit_predict_evaluate_every_composed_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let train = shared("train_data.txt");
    for name in ["tfidf-svd-ffnn", "bow-svd-ffnn", "tfidf-ffnn"] {
        let model = dir.path().join(name);
        let (ok, out, err) = genre(&[
            "fit",
            "--train",
            s(&train),
            "--pipeline",
            name,
            "--out",
            s(&model),
            "--set",
            "epochs=6",
        ]);
        assert!(ok, "{name}: fit failed: {err}");
        assert!(
            out.contains(&format!("trained {name} on 1898 rows")),
            "{out}"
        );
        assert!(err.contains(&format!("{name} epoch 6/6")), "{err}");
        assert!(model.join(format!("{name}_epoch_metrics.csv")).exists());
        let csv = std::fs::read_to_string(model.join(format!("{name}_epoch_metrics.csv"))).unwrap();
        assert_eq!(csv.lines().count(), 7, "{csv}");
        let (acc, f1) = predict_and_evaluate(name, &model, dir.path());
        // Chance over 27 genres is a macro-F1 near 0.03; six epochs already reach > 0.1.
        assert!(
            acc > 0.1 && f1 > 0.1,
            "{name}: accuracy {acc}, macro-F1 {f1}"
        );
    }
}

#[test]
fn pipeline_help_and_bad_options() {
    let (ok, out, _) = genre(&["fit", "--train", "x", "--pipeline", "help", "--out", "x"]);
    assert!(ok);
    for name in [
        "tfidf-linear",
        "tfidf-svd-ffnn",
        "bow-svd-ffnn",
        "tfidf-ffnn",
        "minilm-linear",
        "minilm-ffnn",
    ] {
        assert!(out.contains(&format!("{name}: ")), "{out}");
    }
    for key in [
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "hidden",
        "dropout",
        "loss",
        "gamma",
        "label_smoothing",
        "class_weight",
        "patience",
        "val_fraction",
        "seed",
    ] {
        assert!(out.contains(key), "--pipeline help lacks {key}: {out}");
    }
    let train = shared("train_data.txt");
    let out_dir = tempfile::tempdir().unwrap();
    let fit_fails = |pipeline: &str, set: &str| -> String {
        let (ok, _, err) = genre(&[
            "fit",
            "--train",
            s(&train),
            "--pipeline",
            pipeline,
            "--out",
            s(out_dir.path()),
            "--set",
            set,
        ]);
        assert!(!ok, "{pipeline} --set {set} should fail");
        err
    };
    let err = fit_fails("tfidf-svd-ffnn", "dropout=2");
    assert!(err.contains("dropout"), "{err}");
    let err = fit_fails("tfidf-svd-ffnn", "lossy=ce");
    assert!(err.contains("unknown option `lossy`"), "{err}");
    let err = fit_fails("minilm-linear", "max_length=1");
    assert!(err.contains("max_length"), "{err}");
    let err = fit_fails("minilm-linear", "c_grid=0.1,-1");
    assert!(err.contains("c_grid"), "{err}");
    let err = fit_fails("svd-ffnn", "epochs=1");
    assert!(err.contains("unknown pipeline"), "{err}");
}

fn state_epoch(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("checkpoints/state.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["epoch"].as_u64())
        .unwrap_or(0) as usize
}

#[test]
fn resume_after_a_killed_fit_ends_with_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let train = shared("train_data.txt");
    let args = |out: &Path| -> Vec<String> {
        [
            "fit",
            "--train",
            s(&train),
            "--pipeline",
            "tfidf-svd-ffnn",
            "--out",
            s(out),
            "--set",
            "epochs=12",
            "--set",
            "patience=0",
            "--set",
            "svd=128",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    };
    let whole = dir.path().join("whole");
    let (ok, _, err) = genre(&args(&whole).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{err}");

    let cut = dir.path().join("cut");
    let mut child = Command::new(env!("CARGO_BIN_EXE_genre"))
        .args(args(&cut))
        .env_remove("MLFLOW_TRACKING_URI")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while state_epoch(&cut) < 3 {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no checkpoint after 300 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "fit ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at = state_epoch(&cut);
    assert!(at < 12, "killed too late (epoch {at})");
    assert!(!cut.join("model.safetensors").exists());

    let mut resumed = args(&cut);
    resumed.push("--resume".into());
    let (ok, _, err) = genre(&resumed.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{err}");
    assert!(err.contains(&format!("resuming after epoch {at}")), "{err}");
    let a = std::fs::read(whole.join("model.safetensors")).unwrap();
    let b = std::fs::read(cut.join("model.safetensors")).unwrap();
    assert!(a == b, "weights differ after resume");
    let ha = std::fs::read_to_string(whole.join("tfidf-svd-ffnn_epoch_metrics.csv")).unwrap();
    let hb = std::fs::read_to_string(cut.join("tfidf-svd-ffnn_epoch_metrics.csv")).unwrap();
    let strip = |t: &str| -> Vec<String> {
        // All columns but the seconds.
        t.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(strip(&ha), strip(&hb));
}

/// With a real MLflow server: the fit run holds the options as params, every epoch as step
/// metrics (1..=epochs), the best epoch's numbers and the model directory.
#[test]
#[ignore = "starts a real mlflow server (bash scripts/test runs it)"]
fn neural_fit_logs_epochs_to_mlflow() {
    use genre_nlp::prelude::*;
    let server = common::mlflow_server::MlflowServer::start();
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let model = dir.path().join("m");
    let train = shared("train_data.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_genre"))
        .args([
            "fit",
            "--train",
            s(&train),
            "--pipeline",
            "tfidf-svd-ffnn",
            "--out",
            s(&model),
            "--set",
            "epochs=4",
            "--set",
            "svd=64",
        ])
        .env("MLFLOW_TRACKING_URI", &uri)
        .env("MLFLOW_EXPERIMENT_NAME", "neural-test")
        .env("GENRE_MLFLOW_OUTBOX", outbox.to_str().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client = Mlflow::new(MlflowConfig::new(&uri).unwrap()).unwrap();
    let exp = client
        .get_experiment_by_name("neural-test")
        .unwrap()
        .unwrap();
    let runs = client.search_runs(&[&exp.experiment_id], "", 10).unwrap();
    let fit = runs
        .iter()
        .find(|r| r.info.run_name == "fit tfidf-svd-ffnn")
        .expect("fit run");
    assert_eq!(fit.info.status, RunStatus::Finished);
    assert_eq!(fit.param("pipeline"), Some("tfidf-svd-ffnn"));
    assert_eq!(fit.param("model.ffnn.train.epochs"), Some("4"));
    let f1 = client
        .get_metric_history(&fit.info.run_id, "val_macro_f1")
        .unwrap();
    let mut steps: Vec<i64> = f1.iter().map(|m| m.step).collect();
    steps.sort();
    assert_eq!(steps, vec![1, 2, 3, 4]);
    let csv = std::fs::read_to_string(model.join("tfidf-svd-ffnn_epoch_metrics.csv")).unwrap();
    for m in &f1 {
        let line = csv.lines().nth(m.step as usize).unwrap();
        let logged: f64 = line.split(',').nth(4).unwrap().parse().unwrap();
        assert!((logged - m.value).abs() < 1e-6, "{line} vs {}", m.value);
    }
    assert!(fit
        .data
        .metrics
        .iter()
        .any(|m| m.key == "best.val_macro_f1"));
    let fit = client.get_run(&fit.info.run_id).unwrap();
    assert_eq!(fit.inputs.dataset_inputs[0].context(), Some("training"));
    let logged = client
        .get_logged_model(&fit.outputs.model_outputs[0].model_id)
        .unwrap();
    assert_eq!(logged.info.model_type, "genre-nlp/tfidf-svd-ffnn");
    assert_eq!(logged.info.status, genre_nlp::track::LOGGED_MODEL_READY);
    assert!(logged
        .data
        .metrics
        .iter()
        .any(|m| m.key == "best.val_macro_f1"));
    let files = client.list_artifacts(&logged.info.model_id, None).unwrap();
    assert!(
        files.iter().any(|f| f.path.ends_with("model.safetensors")),
        "{files:?}"
    );
}

/// The first `n` rows of a real file whose genre is one of `known` (any genre when `None`),
/// written as a Kaggle file of their own; returns its path and the genres it holds.
fn head_file(
    name: &str,
    n: usize,
    known: Option<&std::collections::BTreeSet<String>>,
    out: &Path,
) -> (PathBuf, std::collections::BTreeSet<String>) {
    let ds = genre_nlp::data::Dataset::kaggle(shared(name)).unwrap();
    let rows: Vec<usize> = ds
        .genres()
        .iter()
        .enumerate()
        .filter(|(_, g)| known.is_none_or(|k| g.is_some_and(|g| k.contains(g))))
        .map(|(i, _)| i)
        .take(n)
        .collect();
    assert_eq!(rows.len(), n, "{name} has fewer than {n} such rows");
    let head = ds.take(&rows).unwrap();
    let genres = head
        .genres()
        .into_iter()
        .flatten()
        .map(String::from)
        .collect();
    let path = out.join(name);
    head.write_kaggle(&path).unwrap();
    (path, genres)
}

#[test]
fn embed_cache_clear_and_the_minilm_pipelines() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let env = [("GENRE_CACHE_DIR", cache.as_path())];
    // 300 training rows, and 100 test rows of the genres those hold (evaluate refuses genres
    // the model never saw).
    let (train, seen) = head_file("train_data.txt", 300, None, dir.path());
    let (test, _) = head_file("test_data_solution.txt", 100, Some(&seen), dir.path());
    let npy = dir.path().join("test.npy");
    let embed = |extra: &[&str]| {
        let mut args = vec!["embed", "--input", s(&test), "--output", s(&npy)];
        args.extend_from_slice(extra);
        genre_env(&args, &env)
    };
    let (ok, out, err) = embed(&["--max-length", "64", "--batch-size", "16"]);
    assert!(ok, "embed failed: {err}");
    assert!(
        out.contains("embedded 100 rows (0 from the cache; 100 encoded")
            && out.contains("docs/s")
            && out.contains("(100 × 384)"),
        "{out}"
    );
    let x = genre_nlp::features::cache::read_npy(&npy).unwrap();
    assert_eq!(x.dim(), (100, 384));
    for row in x.rows() {
        let n: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-4, "row norm {n}");
    }
    // The same rows again: all from the cache, the same file.
    let (ok, out, err) = embed(&["--max-length", "64"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("embedded 100 rows (all from the cache)"),
        "{out}"
    );
    assert_eq!(genre_nlp::features::cache::read_npy(&npy).unwrap(), x);
    // Title-less plots are other texts; --no-cache leaves the cache alone.
    let (ok, out, err) = embed(&["--max-length", "64", "--fields", "plot", "--no-cache"]);
    assert!(ok, "{err}");
    assert!(out.contains("(0 from the cache; 100 encoded"), "{out}");
    assert_ne!(genre_nlp::features::cache::read_npy(&npy).unwrap(), x);
    let (ok, out, err) = genre_env(&["cache", "clear"], &env);
    assert!(ok, "{err}");
    assert!(out.contains("removed 1 cached embedding files"), "{out}");
    let (ok, _, err) = embed(&["--model-dir", s(dir.path())]);
    assert!(!ok && err.contains("config.json not found"), "{err}");

    for name in ["minilm-linear", "minilm-ffnn"] {
        let model = dir.path().join(name);
        let (ok, out, err) = genre_env(
            &[
                "fit",
                "--train",
                s(&train),
                "--pipeline",
                name,
                "--out",
                s(&model),
                "--set",
                "max_length=64",
            ],
            &env,
        );
        assert!(ok, "{name}: fit failed: {err}");
        assert!(out.contains(&format!("trained {name} on ")), "{out}");
        if name == "minilm-linear" {
            assert!(
                out.contains("C = ") && err.contains("chosen C = "),
                "{out}{err}"
            );
        }
        let pred = dir.path().join(format!("{name}.csv"));
        let (ok, _, err) = genre_env(
            &[
                "predict",
                "--model",
                s(&model),
                "--input",
                s(&test),
                "--output",
                s(&pred),
            ],
            &env,
        );
        assert!(ok, "{name}: predict failed: {err}");
        assert_eq!(std::fs::read_to_string(&pred).unwrap().lines().count(), 101);
        let (ok, out, err) = genre_env(
            &[
                "evaluate",
                "--model",
                s(&model),
                "--input",
                s(&test),
                "--json",
            ],
            &env,
        );
        assert!(ok, "{name}: evaluate failed: {err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let acc = v["accuracy"].as_f64().unwrap();
        assert!(acc > 0.1, "{name}: accuracy {acc} on 100 rows");
        let rep = dir.path().join(format!("{name}-report"));
        let (ok, out, err) = genre_env(
            &[
                "report",
                "--model",
                s(&model),
                "--input",
                s(&test),
                "--out",
                s(&rep),
            ],
            &env,
        );
        assert!(ok, "{name}: report failed: {err}");
        assert!(rep.join("evaluation.json").is_file(), "{out}");
    }
}
