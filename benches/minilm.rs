//! The MiniLM sentence encoder and the `minilm-*` pipelines against sentence-transformers, side
//! by side, in one run (one table):
//! - speed: the first 1,000 real training plots (title + plot, max length 256, batch 32, 2
//!   threads) through our encoder and through sentence-transformers on PyTorch with the same
//!   model files (`benches/peers/st_embed.py`): docs/s, ms/doc, peak memory, GFLOP/s on the
//!   tokens actually processed, and the ratios;
//! - quality: `minilm-linear` and `minilm-ffnn` trained on train_data.txt and scored on
//!   test_data_solution.txt beside the peer recipe (`benches/peers/st_linear.py`:
//!   sentence-transformers embeddings, StandardScaler + LogisticRegression(balanced), C picked
//!   by stratified 5-fold CV repeated 3 times, as ours), over several seeds (`GENRE_BENCH_SEEDS`, default 5);
//! - with `--resample`: the time to embed a 54,214-row resample of the real training rows (ours
//!   only: the peer would take about half an hour).
//!
//! The peer runs in `$GENRE_NLP_TOOLS/torch-venv`, created from
//! `benches/peers/requirements-torch.txt` on first use (~5 GB, a few minutes).
//!
//! cargo bench --bench minilm                  # speed + quality
//! cargo bench --bench minilm -- --speed       # 1,000 plots only
//! cargo bench --bench minilm -- --quality     # real slice only
//! cargo bench --bench minilm -- --resample    # also the 54,214-row embed

#[path = "common/mod.rs"]
mod common;

use common::f;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use genre_nlp::features::{EncoderOptions, SentenceEncoder};
use genre_nlp::prelude::*;
use serde_json::{json, Value};

const FULL_ROWS: usize = 54_214;
const SPEED_DOCS: usize = 1_000;
/// The AVX-512 FMA peak of the two cores as the issue states it (2 × 16 f32 lanes × 2 FMA
/// units × 2 flops × ≈ 2.6 GHz).
const PEAK_ASSUMED: f64 = 333.0;
/// The FMA peak measured on this machine by `examples/matmul_probe` (a register-only FMA loop
/// on both cores): the cores run AVX-512 at the rate of AVX2.
const PEAK_MEASURED: f64 = 210.9;

fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers")
}

fn write_jsonl(path: &Path, texts: &[String], genres: Option<&[Option<&str>]>) -> Result<()> {
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| Error::io(path, e))?);
    for (i, t) in texts.iter().enumerate() {
        let line = match genres {
            Some(g) => json!({"text": t, "genre": g[i].unwrap_or_default()}),
            None => json!(t),
        };
        writeln!(f, "{line}").map_err(|e| Error::io(path, e))?;
    }
    f.flush().map_err(|e| Error::io(path, e))
}

fn run_peer(py: &Path, script: &str, args: &[&std::ffi::OsStr]) -> Option<Value> {
    let out = Command::new(py)
        .arg(peers_dir().join(script))
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "peer {script} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
}

/// This process's peak resident memory (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let sd = if xs.len() > 1 {
        (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    (m, sd)
}

struct Speed {
    docs_per_s: f64,
    ms_per_doc: f64,
    peak_mb: f64,
    gflops: f64,
    tokens: usize,
}

fn speed(py: Option<&Path>, texts: &[String], work: &Path) -> Result<(Speed, Option<Speed>)> {
    let enc = SentenceEncoder::minilm()?.with_options(
        EncoderOptions::default()
            .max_length(256)
            .batch_size(32)
            .threads(Some(2))
            .progress(false),
    )?;
    let _ = enc.embed(&texts[..32])?; // warm-up, as the peer does
    genre_nlp::nn::BertEncoder::reset_profile();
    let (_, r) = enc.embed_report(texts)?;
    let secs = r.tokenize_seconds + r.encode_seconds;
    eprintln!("our profile over {} docs:", r.docs);
    for (phase, s) in genre_nlp::nn::BertEncoder::profile() {
        eprintln!(
            "  {phase:<16} {s:>7.3} s  {:>5.1} %",
            100.0 * s / r.encode_seconds
        );
    }
    let ours = Speed {
        docs_per_s: r.docs as f64 / secs,
        ms_per_doc: 1000.0 * secs / r.docs as f64,
        peak_mb: peak_rss_mb(),
        gflops: r.flops / secs / 1e9,
        tokens: r.tokens,
    };
    let peer = py.and_then(|py| {
        let input = work.join("speed.jsonl");
        write_jsonl(&input, texts, None).ok()?;
        let dir = enc.dir().as_os_str().to_owned();
        let v = run_peer(
            py,
            "st_embed.py",
            &[
                "--model-dir".as_ref(),
                dir.as_os_str(),
                "--texts".as_ref(),
                input.as_os_str(),
                "--threads".as_ref(),
                "2".as_ref(),
                "--batch-size".as_ref(),
                "32".as_ref(),
                "--max-length".as_ref(),
                "256".as_ref(),
            ],
        )?;
        let secs = v["seconds"].as_f64()?;
        Some(Speed {
            docs_per_s: v["docs_per_s"].as_f64()?,
            ms_per_doc: v["ms_per_doc"].as_f64()?,
            peak_mb: v["peak_rss_mb"].as_f64()?,
            // The same texts and truncation: the same useful work as ours.
            gflops: r.flops / secs / 1e9,
            tokens: v["tokens"].as_u64()? as usize,
        })
    });
    Ok((ours, peer))
}

/// One seed of ours: test macro-F1, accuracy, fit seconds and the chosen C (linear).
fn ours_fit(name: &str, train: &Dataset, test: &Dataset, cache: &Path, seed: u64) -> Result<Value> {
    let mut cfg = PipelineConfig::from_name(name)?;
    cfg.set("seed", &seed.to_string())?;
    cfg.set("cache_dir", &cache.display().to_string())?;
    let t0 = Instant::now();
    let model = cfg.fit_with(
        train,
        PipelineFitOptions {
            quiet: true,
            ..Default::default()
        },
    )?;
    let secs = t0.elapsed().as_secs_f64();
    let ev = evaluate(&model, test)?;
    let chosen = model
        .fit_report()
        .tuning
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|t| f64::from(t.0));
    Ok(json!({
        "macro_f1": ev.macro_f1(),
        "accuracy": ev.accuracy(),
        "fit_seconds": secs,
        "chosen_c": chosen,
    }))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let has = |a: &str| args.iter().any(|x| x == a);
    let (do_speed, do_quality) = match (has("--speed"), has("--quality")) {
        (false, false) => (true, true),
        q => q,
    };
    let py = common::peer_python(
        false,
        "torch, sklearn, sentence_transformers",
        "sentence-transformers",
    );
    let train = Dataset::kaggle(data_file("train_data.txt")?)?;
    let test = Dataset::kaggle(data_file("test_data_solution.txt")?)?;
    let work = std::env::temp_dir().join(format!("genre-minilm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    let texts = train.neural_text(TextFields::TitlePlot);

    let mut out = Vec::new();
    if do_speed {
        eprintln!("speed: {SPEED_DOCS} real plots ...");
        let docs: Vec<String> = texts.iter().take(SPEED_DOCS).cloned().collect();
        let (o, p) = speed(py.as_deref(), &docs, &work)?;
        out.push(format!(
            "Encoder speed: the first {SPEED_DOCS} training plots (title + plot, {} word pieces \
             after truncation at 256), batch 32, 2 threads, f32.\n",
            o.tokens
        ));
        out.push(
            "| encoder | docs/s | ms/doc | peak memory MB | GFLOP/s | of 333 (AVX-512, assumed) | of 211 (measured FMA peak) |"
                .into(),
        );
        out.push("|---|---:|---:|---:|---:|---:|---:|".into());
        let row = |name: &str, s: &Speed| {
            format!(
                "| {name} | {:.1} | {:.2} | {:.0} | {:.1} | {:.0} % | {:.0} % |",
                s.docs_per_s,
                s.ms_per_doc,
                s.peak_mb,
                s.gflops,
                100.0 * s.gflops / PEAK_ASSUMED,
                100.0 * s.gflops / PEAK_MEASURED
            )
        };
        out.push(row("genre-nlp (candle + own kernels)", &o));
        match &p {
            Some(p) => {
                out.push(row("sentence-transformers 6.3 / PyTorch 2.15", p));
                out.push(format!(
                    "\nRatio: {:.2}× the peer's docs/s, {:.2}× its peak memory (peer tokens: {}).",
                    o.docs_per_s / p.docs_per_s,
                    o.peak_mb / p.peak_mb,
                    p.tokens
                ));
            }
            None => out.push("| sentence-transformers | (not run) | | | | | |".into()),
        }
    }
    if has("--resample") {
        eprintln!("embedding a {FULL_ROWS}-row resample ...");
        let big = train.resample(FULL_ROWS, 1)?;
        let enc =
            SentenceEncoder::minilm()?.with_options(EncoderOptions::default().threads(Some(2)))?;
        let t0 = Instant::now();
        let (x, r) = enc.embed_report(&big.neural_text(TextFields::TitlePlot))?;
        let secs = t0.elapsed().as_secs_f64();
        out.push(format!(
            "\n{FULL_ROWS}-row resample of the training rows: {} × {} embedded in {:.0} s \
             ({:.1} min; {:.1} docs/s, {:.1} GFLOP/s, {} word pieces, {} cut at 256).",
            x.nrows(),
            x.ncols(),
            secs,
            secs / 60.0,
            r.docs as f64 / secs,
            r.flops / secs / 1e9,
            r.tokens,
            r.truncated
        ));
    }
    if do_quality {
        let seeds = common::bench_seeds(5);
        let cache = work.join("cache");
        let (tr, te) = (work.join("train.jsonl"), work.join("test.jsonl"));
        write_jsonl(&tr, &texts, Some(&train.genres()))?;
        write_jsonl(
            &te,
            &test.neural_text(TextFields::TitlePlot),
            Some(&test.genres()),
        )?;
        // Both sides embed the slice once (ours into the cache the pipelines read, the peer
        // into .npy files), so the fit columns compare the heads.
        let enc = SentenceEncoder::minilm()?
            .with_options(EncoderOptions::default().progress(false))?
            .with_cache(EmbeddingCache::new(&cache));
        let t0 = Instant::now();
        enc.embed(&texts)?;
        enc.embed(&test.neural_text(TextFields::TitlePlot))?;
        let ours_embed_s = t0.elapsed().as_secs_f64();
        let model_dir = enc.dir().as_os_str().to_owned();
        let emb_cache = work.join("st-emb");
        let mut rows: Vec<(&str, Vec<Value>)> = vec![
            ("minilm-linear", vec![]),
            ("minilm-ffnn", vec![]),
            ("peer", vec![]),
        ];
        let mut lines = Vec::new();
        for &seed in &seeds {
            for (name, vs) in rows.iter_mut() {
                eprintln!("real slice, seed {seed}: {name} ...");
                let v = if *name == "peer" {
                    let s = seed.to_string();
                    py.as_ref().and_then(|py| {
                        run_peer(
                            py,
                            "st_linear.py",
                            &[
                                "--model-dir".as_ref(),
                                model_dir.as_os_str(),
                                "--train".as_ref(),
                                tr.as_os_str(),
                                "--test".as_ref(),
                                te.as_os_str(),
                                "--cv".as_ref(),
                                "5".as_ref(),
                                "--seed".as_ref(),
                                s.as_ref(),
                                "--emb-cache".as_ref(),
                                emb_cache.as_os_str(),
                            ],
                        )
                    })
                } else {
                    Some(ours_fit(name, &train, &test, &cache, seed)?)
                };
                if let Some(v) = v {
                    lines.push(format!(
                        "seed {seed} {name}: macro-F1 {:.4}, accuracy {:.4}, C {}, fit {:.1} s",
                        f(&Some(v.clone()), "macro_f1"),
                        f(&Some(v.clone()), "accuracy"),
                        v["chosen_c"],
                        f(&Some(v.clone()), "fit_seconds")
                    ));
                    vs.push(v);
                }
            }
        }
        out.push(format!(
            "\nQuality: train_data.txt → test_data_solution.txt, mean ± sd over seeds {seeds:?} \
             (each seed: its own folds / internal split and initialisation, both sides).\n"
        ));
        let peer_embed_s = rows[2]
            .1
            .first()
            .map_or(f64::NAN, |v| f(&Some(v.clone()), "embed_seconds"));
        out.push(format!(
            "Embedding the slice ({} + {} rows): ours {ours_embed_s:.1} s, sentence-transformers {peer_embed_s:.1} s.\n",
            train.len(),
            test.len()
        ));
        out.push("| pipeline | macro-F1 | accuracy | fit s (embeddings cached) |".into());
        out.push("|---|---:|---:|---:|".into());
        for (name, vs) in &rows {
            if vs.is_empty() {
                continue;
            }
            let col =
                |k: &str| mean_sd(&vs.iter().filter_map(|v| v[k].as_f64()).collect::<Vec<_>>());
            let label = if *name == "peer" {
                "peer: sentence-transformers + scikit-learn LogisticRegression (C by 5-fold CV × 3)"
            } else {
                name
            };
            let (f1, f1sd) = col("macro_f1");
            let (acc, accsd) = col("accuracy");
            out.push(format!(
                "| {label} | {f1:.4} ± {f1sd:.4} | {acc:.4} ± {accsd:.4} | {:.1} |",
                col("fit_seconds").0
            ));
        }
        out.push(String::new());
        out.extend(lines);
    }
    let _ = std::fs::remove_dir_all(&work);
    println!("\nMiniLM (all-MiniLM-L6-v2) vs sentence-transformers, one run.\n");
    for l in out {
        println!("{l}");
    }
    Ok(())
}
