//! Time to log 10,000 metric points to a real MLflow server: `genre_nlp::track` vs the MLflow
//! Python client (benches/peers/mlflow_log.py), against the same server, started here on a free
//! loopback port. Needs `scripts/setup` (the MLflow venv). Run: `cargo bench --bench mlflow_log`.
//! `GENRE_BENCH_POINTS` (default 10000) and `GENRE_BENCH_REPEATS` (default 3) adjust it. The
//! Python fluent API with `synchronous=False` is measured once (it sends about one request per
//! point: minutes for 10,000).

#[allow(dead_code)]
#[path = "../tests/common/mlflow_server.rs"]
mod mlflow_server;

use genre_nlp::track::{Batch, Metric, Mlflow, MlflowConfig, MlflowTracker, Tracker};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n = env_usize("GENRE_BENCH_POINTS", 10_000);
    let repeats = env_usize("GENRE_BENCH_REPEATS", 3);
    eprintln!("starting mlflow server ...");
    let server = mlflow_server::MlflowServer::start();
    let uri = server.uri();
    let client = Mlflow::new(MlflowConfig::new(&uri).unwrap().outbox_dir(None)).unwrap();
    let exp = client.get_or_create_experiment("bench", &[]).unwrap();
    let mut rows: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();

    for _ in 0..repeats {
        let run = client.create_run(&exp, "rust-log-batch", &[]).unwrap();
        let batch = Batch {
            metrics: (0..n)
                .map(|i| Metric::new("loss", i as f64 * 0.5, i as i64))
                .collect(),
            ..Default::default()
        };
        let t0 = Instant::now();
        client.log_batch(&run, batch).unwrap();
        let dt = t0.elapsed().as_secs_f64();
        let name = "rust Mlflow::log_batch".to_string();
        counts.insert(
            name.clone(),
            client.get_metric_history(&run, "loss").unwrap().len(),
        );
        rows.entry(name).or_default().push(dt);

        let t_client = Mlflow::new(MlflowConfig::new(&uri).unwrap().outbox_dir(None)).unwrap();
        let mut t = MlflowTracker::with_experiment_id(t_client, &exp);
        let run = t.start_run("rust-tracker").unwrap();
        let t0 = Instant::now();
        for i in 0..n {
            t.log_metric("loss", i as f64 * 0.5, i as i64).unwrap();
        }
        t.flush().unwrap();
        let dt = t0.elapsed().as_secs_f64();
        drop(t);
        let name = "rust Tracker::log_metric x N + flush".to_string();
        counts.insert(
            name.clone(),
            client.get_metric_history(&run, "loss").unwrap().len(),
        );
        rows.entry(name).or_default().push(dt);
    }

    let tools = std::env::var_os("GENRE_NLP_TOOLS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools"));
    let python = tools.join("mlflow-venv/bin/python");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/mlflow_log.py");
    let out = Command::new(&python)
        .arg(&script)
        .args([&uri, &exp, &n.to_string(), &repeats.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    if !out.status.success() {
        panic!(
            "python peer failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let name = v["name"].as_str().unwrap_or("?").to_string();
        counts.insert(name.clone(), v["points"].as_u64().unwrap_or(0) as usize);
        rows.entry(name)
            .or_default()
            .push(v["seconds"].as_f64().unwrap_or(f64::NAN));
    }

    println!("\nlogging {n} metric points to MLflow at {uri} (median of {repeats}; same server)\n");
    println!(
        "| {:<55} | {:>10} | {:>12} | {:>9} |",
        "client", "median s", "points/s", "delivered"
    );
    println!("|{:-<57}|{:->12}|{:->14}|{:->11}|", "", "", "", "");
    for (name, mut v) in rows {
        v.sort_by(|a, b| a.total_cmp(b));
        let med = v[v.len() / 2];
        println!(
            "| {:<55} | {:>10.3} | {:>12.0} | {:>9} |",
            name,
            med,
            n as f64 / med,
            counts.get(&name).copied().unwrap_or(0)
        );
    }
}
