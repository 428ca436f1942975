//! The RNN pipelines against PyTorch, side by side, in one run (one table): `w2v-bigru`,
//! `fasttext-bilstm`, `glove-bilstm` and `random-bigru` vs the same recipes in PyTorch
//! (`benches/peers/torch_rnn.py`: same tokens, internal split, vocabulary, initial vectors,
//! layers, pooling, dropout, optimiser, schedule, clipping, class weights and early stopping) —
//! test macro-F1, accuracy and fit seconds on the real slice — and the seconds of one BiGRU
//! epoch (training + validation, max length 256) on a 54,214-row resample of the real rows,
//! with the ratio and the GFLOP/s reached.
//!
//! The peer reads the tokens our word-vector representation gives the RNN and the vectors our
//! pipeline started its embedding from (Word2Vec / FastText trained by us, GloVe), so the two
//! sides differ only in the network code. It runs in `$GENRE_NLP_TOOLS/torch-venv` (see
//! benches/ffnn.rs).
//!
//! cargo bench --bench rnn                 # quality + speed
//! cargo bench --bench rnn -- --quality    # real slice only
//! cargo bench --bench rnn -- --speed      # 54k epoch only
//! GENRE_BENCH_SEEDS=5 cargo bench --bench rnn -- --quality --pipelines glove-bilstm
//! cargo bench --bench rnn -- --quality --ours-only   # no peer (our side only)
//! GENRE_BENCH_FIRST_SEED=44 GENRE_BENCH_SEEDS=3 cargo bench --bench rnn -- --quality  # seeds 44-46

#[path = "common/mod.rs"]
mod common;

use common::{f, mean_opt};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use genre_nlp::models::{FittedModel, FittedRepresentation};
use genre_nlp::prelude::*;
use serde_json::{json, Value};

const FULL_ROWS: usize = 54_214;
const PIPES: &[&str] = &[
    "w2v-bigru",
    "fasttext-bilstm",
    "glove-bilstm",
    "random-bigru",
];

/// Fits `name` with `set`; returns our numbers and writes the peer's inputs into `dir`
/// (tokens of the internal training / validation parts and of `test`, and the vectors of the
/// vocabulary when the pipeline starts from word vectors).
fn ours(
    name: &str,
    train: &Dataset,
    test: &Dataset,
    set: &[(&str, &str)],
    dir: &Path,
) -> Result<(Value, [PathBuf; 3], Option<PathBuf>)> {
    let mut cfg = PipelineConfig::from_name(name)?;
    for (k, v) in set {
        cfg.set(k, v)?;
    }
    let model = cfg.fit_with(
        train,
        PipelineFitOptions {
            quiet: true,
            ..Default::default()
        },
    )?;
    let h = model.history();
    let ev = evaluate(&model, test)?;
    let epoch_s = h.epochs.iter().map(|e| e.seconds).sum::<f64>() / h.epochs.len().max(1) as f64;
    // The peer's inputs, cut as the pipeline cut them.
    let ModelSpec::Rnn(rc) = &cfg.model else {
        return Err(Error::Config(format!("{name} is not an RNN pipeline")));
    };
    let inner = cfg.inner_split(train)?;
    let FittedRepresentation::WordVectors(wv) = model.representation() else {
        return Err(Error::Config(format!("{name}: no word vectors")));
    };
    let FittedModel::Rnn(rnn) = model.model() else {
        return Err(Error::Config(format!("{name}: no RNN")));
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let paths = [
        dir.join("train.jsonl"),
        dir.join("val.jsonl"),
        dir.join("test.jsonl"),
    ];
    let ttr = wv.tokens(&inner.train);
    let tokens: usize = ttr.iter().map(|d| d.len().min(rc.max_len)).sum();
    common::write_labelled(&paths[0], "tokens", &ttr, &inner.train)?;
    common::write_labelled(&paths[1], "tokens", &wv.tokens(&inner.val), &inner.val)?;
    common::write_labelled(&paths[2], "tokens", &wv.tokens(test), test)?;
    let vectors = if name.starts_with("random") {
        None
    } else {
        let p = dir.join("vectors.txt");
        let v = wv.vectors();
        let words: Vec<&String> = rnn.vocab().words()[2..]
            .iter()
            .filter(|w| v.vector(w).is_some())
            .collect();
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(&p).map_err(|e| Error::io(&p, e))?);
        let io = |e| Error::io(&p, e);
        writeln!(f, "{} {}", words.len(), v.dim()).map_err(io)?;
        for w in words {
            let x = v.vector(w).expect("filtered");
            let vals: Vec<String> = x.iter().map(|z| z.to_string()).collect();
            writeln!(f, "{w} {}", vals.join(" ")).map_err(io)?;
        }
        f.flush().map_err(io)?;
        Some(p)
    };
    Ok((
        json!({
            "macro_f1": ev.macro_f1(),
            "accuracy": ev.accuracy(),
            "fit_seconds": model.fit_report().total_seconds,
            "epoch_seconds": epoch_s,
            "epochs": h.epochs.len(),
            "best_epoch": h.best_epoch,
            "tokens": tokens,
            "embedding_dim": rnn.shape().embedding_dim,
        }),
        paths,
        vectors,
    ))
}

fn peer(
    py: &Path,
    cell: &str,
    inputs: &[PathBuf; 3],
    vectors: Option<&Path>,
    extra: &[&str],
) -> Option<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/torch_rnn.py");
    let mut cmd = Command::new(py);
    cmd.arg(&script)
        .args(["--cell", cell, "--train"])
        .arg(&inputs[0])
        .arg("--val")
        .arg(&inputs[1])
        .arg("--test")
        .arg(&inputs[2])
        .args(extra);
    if let Some(v) = vectors {
        cmd.arg("--vectors").arg(v);
    }
    let out = cmd.output().ok()?;
    if !out.status.success() {
        eprintln!(
            "peer {cell} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// Useful GFLOP of one training epoch of a bidirectional layer: per token, the input
/// projection `2·E·2G` and the recurrent matmul `2·H·2G` forward, twice that backward (the
/// gradients of the weights and of the input).
fn epoch_gflop(tokens: f64, e: f64, h: f64, gates: f64) -> f64 {
    let g = gates * h;
    tokens * 3.0 * (2.0 * e * 2.0 * g + 2.0 * h * 2.0 * g) / 1e9
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (quality, speed) = match (
        args.iter().any(|a| a == "--quality"),
        args.iter().any(|a| a == "--speed"),
    ) {
        (false, false) => (true, true),
        q => q,
    };
    // `--ours-only`: no peer.
    let py = common::peer_python(
        args.iter().any(|a| a == "--ours-only"),
        "torch, sklearn",
        "PyTorch",
    );
    let train = Dataset::kaggle(data_file("train_data.txt")?)?;
    let test = Dataset::kaggle(data_file("test_data_solution.txt")?)?;
    let work = std::env::temp_dir().join(format!("genre-rnn-bench-{}", std::process::id()));
    let seeds = common::bench_seeds(2);
    // `--pipelines a,b`: only these of PIPES (default all).
    let pipes: Vec<String> = match common::pick_list(&args, "--pipelines", "pipeline", PIPES) {
        Some(p) => p.map_err(Error::Config)?,
        None => PIPES.iter().map(|p| p.to_string()).collect(),
    };
    let mut rows: Vec<(String, Option<Value>, Option<Value>)> = Vec::new();
    let mut per_seed = Vec::new();
    if quality {
        for name in &pipes {
            let cell = if name.ends_with("lstm") {
                "lstm"
            } else {
                "gru"
            };
            let (mut o, mut p) = (Vec::new(), Vec::new());
            for &seed in &seeds {
                eprintln!("real slice, seed {seed}: {name} ...");
                let s = seed.to_string();
                let dir = work.join(format!("{name}-{seed}"));
                let (ov, inputs, vectors) = ours(name, &train, &test, &[("seed", &s)], &dir)?;
                let pv = py
                    .as_ref()
                    .and_then(|py| peer(py, cell, &inputs, vectors.as_deref(), &["--seed", &s]));
                per_seed.push(format!(
                    "seed {seed} {name}: ours {:.4} / {:.4} in {:.1} s, peer {:.4} / {:.4} in {:.1} s (macro-F1 / accuracy)",
                    f(&Some(ov.clone()), "macro_f1"),
                    f(&Some(ov.clone()), "accuracy"),
                    f(&Some(ov.clone()), "fit_seconds"),
                    f(&pv, "macro_f1"),
                    f(&pv, "accuracy"),
                    f(&pv, "fit_seconds"),
                ));
                // Also now, so that a run cut short keeps the seeds it finished.
                eprintln!("{}", per_seed[per_seed.len() - 1]);
                o.push(ov);
                p.extend(pv);
            }
            rows.push((name.to_string(), mean_opt(&o), mean_opt(&p)));
        }
    }
    let mut speed_row = None;
    if speed {
        let big = train.resample(FULL_ROWS, 1)?;
        let small_test = test.take(&(0..200).collect::<Vec<_>>())?;
        eprintln!("{FULL_ROWS}-row resample: one epoch of random-bigru ...");
        let set = [("epochs", "1"), ("patience", "0")];
        let (o, inputs, _) = ours(
            "random-bigru",
            &big,
            &small_test,
            &set,
            &work.join("resample"),
        )?;
        let p = py
            .as_ref()
            .and_then(|py| peer(py, "gru", &inputs, None, &["--speed-only"]));
        speed_row = Some((o, p));
    }
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "\nRNN pipelines vs PyTorch 2.15 (2 threads each; same tokens, vocabulary, initial \
         vectors and recipe). Quality: train_data.txt → test_data_solution.txt, mean over seeds \
         {seeds:?}.\n"
    );
    println!(
        "| pipeline | macro-F1 ours | macro-F1 peer | acc ours | acc peer | fit s ours | fit s peer | epochs ours / peer |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, o, p) in &rows {
        println!(
            "| {name} | {:.4} | {:.4} | {:.4} | {:.4} | {:.1} | {:.1} | {:.1} / {:.1} |",
            f(o, "macro_f1"),
            f(p, "macro_f1"),
            f(o, "accuracy"),
            f(p, "accuracy"),
            f(o, "fit_seconds"),
            f(p, "fit_seconds"),
            f(o, "epochs"),
            f(p, "epochs"),
        );
    }
    for line in &per_seed {
        println!("{line}");
    }
    if let Some((o, p)) = speed_row {
        let o = Some(o);
        let tokens = f(&o, "tokens");
        let gf = epoch_gflop(tokens, f(&o, "embedding_dim"), 128.0, 3.0);
        println!(
            "\nOne BiGRU epoch (random-bigru: training on {} rows, {tokens:.0} tokens ≤ 256 per \
             row, then validation) on the {FULL_ROWS}-row resample:\n",
            (FULL_ROWS as f64 * 0.9).round()
        );
        println!("| | ours | PyTorch | ratio (peer / ours) |");
        println!("|---|---:|---:|---:|");
        println!(
            "| epoch seconds | {:.1} | {:.1} | {:.2}× |",
            f(&o, "epoch_seconds"),
            f(&p, "epoch_seconds"),
            f(&p, "epoch_seconds") / f(&o, "epoch_seconds")
        );
        println!(
            "| useful GFLOP/s (training matmuls / epoch s) | {:.1} | {:.1} | |",
            gf / f(&o, "epoch_seconds"),
            gf / f(&p, "epoch_seconds")
        );
        println!(
            "\nGFLOP per epoch: tokens · 3 · (2·E·2G + 2·H·2G) with E = {}, H = 128, G = 3H = {gf:.0} \
             GFLOP; the machine's 2-core FMA peak is ≈ 211–230 GFLOP/s (README).",
            f(&o, "embedding_dim")
        );
    }
    Ok(())
}
