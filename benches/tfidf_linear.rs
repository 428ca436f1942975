//! `tfidf-linear` against scikit-learn, side by side, in one run:
//! our pipeline vs `TfidfVectorizer(1–2, sublinear) + LinearSVC(balanced)` and
//! `+ LogisticRegression(balanced)` — macro-F1, accuracy, TF-IDF fit+transform time, whole fit
//! time, predict time and peak memory — on the real slice (quality) and on a 54,214-row
//! resample of it (speed).
//!
//! Every pipeline runs in its own process (ours: this binary re-run with `--child`), so each
//! peak-memory number is that pipeline's alone. Both sides read the same cleaned texts
//! (`neural_text` of title + plot). The scikit-learn side runs in a venv at
//! `$GENRE_NLP_TOOLS/peers-venv` (default `.tools/peers-venv`), created from
//! `benches/peers/requirements-sklearn.txt` on first use.
//!
//! cargo bench --bench tfidf_linear                  # quality + speed
//! cargo bench --bench tfidf_linear -- --quality     # real slice only
//! GENRE_BENCH_ROWS=20000 cargo bench --bench tfidf_linear -- --speed
//! cargo bench --bench tfidf_linear -- --speed --ours-only   # skip scikit-learn

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use genre_nlp::prelude::*;
use serde_json::{json, Value};

const FULL_ROWS: usize = 54_214;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let spec: Value = serde_json::from_str(&args[i + 1]).expect("child spec JSON");
        match child(&spec) {
            Ok(v) => println!("{v}"),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if let Err(e) = parent(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Peak resident memory of this process so far (VmHWM), MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// One of our pipelines, in this (child) process: fit on `train`, score `test`.
fn child(spec: &Value) -> Result<Value> {
    let train = Dataset::load(spec["train"].as_str().unwrap_or_default())?;
    let test = Dataset::load(spec["test"].as_str().unwrap_or_default())?;
    let mut cfg = TfidfLinearConfig::default();
    for kv in spec["set"].as_array().into_iter().flatten() {
        let kv = kv.as_str().unwrap_or_default();
        if let Some((k, v)) = kv.split_once('=') {
            cfg.set(k, v)?;
        }
    }
    let t0 = Instant::now();
    let model = cfg.fit(&train)?;
    let fit_seconds = t0.elapsed().as_secs_f64();
    let ev = evaluate(&model, &test)?;
    let r = model.fit_report();
    Ok(json!({
        "name": spec["name"],
        "macro_f1": ev.macro_f1(),
        "accuracy": ev.accuracy(),
        "tfidf_seconds": r.vectorize_seconds,
        "fit_seconds": fit_seconds,
        "predict_seconds": ev.predict_seconds,
        "peak_mib": peak_mib(),
        "n_features": r.n_features,
        "chosen_c": r.chosen_c,
        "tuning": r.tuning,
    }))
}

fn tools_dir() -> PathBuf {
    std::env::var_os("GENRE_NLP_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".tools"))
}

/// The peers' Python, installing the pinned scikit-learn into a venv on first use.
fn peers_python() -> std::result::Result<PathBuf, String> {
    let venv = tools_dir().join("peers-venv");
    let py = venv.join("bin/python");
    let ok = |py: &Path| {
        Command::new(py)
            .args(["-c", "import sklearn"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if py.exists() && ok(&py) {
        return Ok(py);
    }
    eprintln!("installing scikit-learn into {} ...", venv.display());
    let st = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 -m venv: {e}"))?;
    if !st.success() {
        return Err("python3 -m venv failed".into());
    }
    let req = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/requirements-sklearn.txt");
    let st = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "-r"])
        .arg(&req)
        .status()
        .map_err(|e| format!("pip: {e}"))?;
    if !st.success() || !ok(&py) {
        return Err(format!("pip install -r {} failed", req.display()));
    }
    Ok(py)
}

/// Writes the texts exactly as our default pipeline reads them, for the Python peer.
fn write_jsonl(ds: &Dataset, path: &Path) -> Result<()> {
    let texts = ds.neural_text(TextFields::TitlePlot);
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| Error::io(path, e))?);
    for (t, g) in texts.iter().zip(ds.genres()) {
        writeln!(f, "{}", json!({"text": t, "genre": g.unwrap_or_default()}))
            .map_err(|e| Error::io(path, e))?;
    }
    f.flush().map_err(|e| Error::io(path, e))
}

fn run_ours(name: &str, train: &Path, test: &Path, set: &[&str]) -> Option<Value> {
    let spec = json!({"name": name, "train": train, "test": test, "set": set});
    let exe = std::env::current_exe().ok()?;
    eprintln!("running ours: {name} ...");
    let out = Command::new(exe)
        .arg("--child")
        .arg(spec.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("{name} failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    serde_json::from_slice(out.stdout.trim_ascii()).ok()
}

fn run_peer(py: &Path, peer: &str, train: &Path, test: &Path) -> Option<Value> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/sklearn_tfidf_linear.py");
    eprintln!("running scikit-learn: {peer} ...");
    let out = Command::new(py)
        .arg(&script)
        .args(["--train"])
        .arg(train)
        .arg("--test")
        .arg(test)
        .args(["--peer", peer])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "sklearn {peer} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    serde_json::from_slice(out.stdout.trim_ascii()).ok()
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(f64::NAN)
}

fn print_table(title: &str, rows: &[Value], base: Option<&Value>) {
    println!("\n## {title}\n");
    println!(
        "| pipeline | macro-F1 | accuracy | TF-IDF fit+transform s | whole fit s | predict s | peak MiB | features | TF-IDF / sklearn | fit / sklearn |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let ratio =
            |k: &str| base.map_or(String::from("-"), |b| format!("{:.2}×", f(r, k) / f(b, k)));
        println!(
            "| {} | {:.4} | {:.4} | {:.2} | {:.2} | {:.2} | {:.0} | {} | {} | {} |",
            r["name"].as_str().unwrap_or("?"),
            f(r, "macro_f1"),
            f(r, "accuracy"),
            f(r, "tfidf_seconds"),
            f(r, "fit_seconds"),
            f(r, "predict_seconds"),
            f(r, "peak_mib"),
            r["n_features"],
            ratio("tfidf_seconds"),
            ratio("fit_seconds"),
        );
    }
}

fn section(
    peers: bool,
    title: &str,
    train: &Dataset,
    test: &Dataset,
    dir: &Path,
    ours: &[(&str, Vec<&str>)],
) -> Result<()> {
    let (tr, te) = (dir.join("train.txt"), dir.join("test.txt"));
    train.write_kaggle(&tr)?;
    test.write_kaggle(&te)?;
    let (trj, tej) = (dir.join("train.jsonl"), dir.join("test.jsonl"));
    write_jsonl(train, &trj)?;
    write_jsonl(test, &tej)?;
    let mut rows = Vec::new();
    let mut base: Option<Value> = None;
    match peers
        .then(peers_python)
        .unwrap_or(Err("skipped (--ours-only)".into()))
    {
        Ok(py) => {
            for peer in ["svc", "logreg"] {
                if let Some(v) = run_peer(&py, peer, &trj, &tej) {
                    // The time baseline is the faster scikit-learn pipeline of the two.
                    if base
                        .as_ref()
                        .is_none_or(|b| f(&v, "fit_seconds") < f(b, "fit_seconds"))
                    {
                        base = Some(v.clone());
                    }
                    rows.push(v);
                }
            }
        }
        Err(e) => eprintln!("scikit-learn peer unavailable: {e}"),
    }
    for (name, set) in ours {
        if let Some(v) = run_ours(name, &tr, &te, set) {
            rows.push(v);
        }
    }
    print_table(
        &format!(
            "{title} — train {} rows, test {} rows",
            train.len(),
            test.len()
        ),
        &rows,
        base.as_ref(),
    );
    for r in &rows {
        if let Some(t) = r["tuning"].as_array().filter(|t| !t.is_empty()) {
            println!(
                "  {}: C grid (C, val macro-F1, val acc) = {}",
                r["name"].as_str().unwrap_or("?"),
                Value::Array(t.clone())
            );
        }
    }
    Ok(())
}

fn parent(args: &[String]) -> Result<()> {
    let quality = !args.iter().any(|a| a == "--speed");
    let peers = !args.iter().any(|a| a == "--ours-only");
    let speed = !args.iter().any(|a| a == "--quality");
    let train = Dataset::load(data_file("train_data.txt")?)?;
    let test = Dataset::load(data_file("test_data_solution.txt")?)?;
    let tmp = std::env::temp_dir().join(format!("genre-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    println!(
        "tfidf-linear vs scikit-learn; {} threads; ours = genre_nlp {} ({} profile)",
        rayon::current_num_threads(),
        env!("CARGO_PKG_VERSION"),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    if quality {
        let q = tmp.join("quality");
        std::fs::create_dir_all(&q).map_err(|e| Error::io(&q, e))?;
        section(
            peers,
            "Quality: real slice (train_data.txt → test_data_solution.txt)",
            &train,
            &test,
            &q,
            &[
                (
                    "ours default: classic view + SVM(balanced), C tuned",
                    vec![],
                ),
                (
                    "ours: raw 1-2 sublinear + SVM(balanced), C tuned",
                    vec!["view=raw"],
                ),
                (
                    "ours: raw + logistic(balanced), C tuned",
                    vec!["view=raw", "head=logistic"],
                ),
                (
                    "ours: raw + char 2-5 + SVM(balanced), C tuned",
                    vec!["view=raw", "char_ngrams=2-5"],
                ),
                (
                    "ours: raw + SVM(balanced) C=1 (sklearn's setting)",
                    vec!["view=raw", "c=1"],
                ),
            ],
        )?;
    }
    if speed {
        let n: usize = std::env::var("GENRE_BENCH_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(FULL_ROWS);
        let s = tmp.join("speed");
        std::fs::create_dir_all(&s).map_err(|e| Error::io(&s, e))?;
        section(
            peers,
            "Speed: resample of the real rows",
            &train.resample(n, 1)?,
            &test.resample(n, 2)?,
            &s,
            &[
                (
                    "ours: raw + SVM(balanced) C=1 (same work as sklearn)",
                    vec!["view=raw", "c=1"],
                ),
                (
                    "ours: raw + logistic(balanced) C=1",
                    vec!["view=raw", "c=1", "head=logistic"],
                ),
                (
                    "ours default (classic view, C tuned on 4 values + refit)",
                    vec![],
                ),
            ],
        )?;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
