//! `minilm-finetune` against the same recipe in PyTorch + transformers, side by side in one run
//! (one table): all-MiniLM-L6-v2 fine-tuned on the real slice (train_data.txt, internal 90/10
//! split, scored on test_data_solution.txt) — test macro-F1, accuracy, seconds per epoch and
//! of the whole fit, validation macro-F1 after each epoch — and the latency probe of the
//! fine-tuned model (samples/s at max length 192, batch 32).
//!
//! The peer (`benches/peers/torch_finetune.py`) reads the word pieces our tokenizer gave each
//! row (same truncation) and the same model directory, and trains the same head with the same
//! optimiser, schedule, clipping, class weights, batch size, length grouping and early
//! stopping. It runs in `$GENRE_NLP_TOOLS/torch-venv` (see benches/ffnn.rs).
//!
//! cargo bench --bench finetune [-- --epochs N] [--seed S] [--ours-only]   (defaults: the
//! pipeline's, 6 and 42)

#[path = "common/mod.rs"]
mod common;

use common::f;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use genre_nlp::features::WordPieces;
use genre_nlp::models::{FittedModel, FittedRepresentation};
use genre_nlp::prelude::*;
use serde_json::{json, Value};

fn write_ids(ids: &[Vec<u32>], ds: &Dataset, path: &Path) -> Result<()> {
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| Error::io(path, e))?);
    for (t, g) in ids.iter().zip(ds.genres()) {
        let line = json!({"ids": t, "genre": g.unwrap_or_default()});
        writeln!(f, "{line}").map_err(|e| Error::io(path, e))?;
    }
    f.flush().map_err(|e| Error::io(path, e))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut cfg = PipelineConfig::from_name("minilm-finetune")?;
    if let Some(e) = args
        .iter()
        .position(|a| a == "--epochs")
        .and_then(|i| args.get(i + 1))
    {
        cfg.set("epochs", e)?;
    }
    // `--seed N`: ours (split, head, dropout, batches) and the peer's (head, dropout, batches).
    if let Some(s) = args
        .iter()
        .position(|a| a == "--seed")
        .and_then(|i| args.get(i + 1))
    {
        cfg.set("seed", s)?;
    }
    let ModelSpec::Finetune(fc) = &cfg.model else {
        return Err(Error::Config("not a fine-tuning pipeline".into()));
    };
    let (epochs, lr, seed) = (
        fc.train.epochs.to_string(),
        fc.train.lr.to_string(),
        fc.train.seed.to_string(),
    );
    // `--ours-only`: no peer (its runs are deterministic per seed, so a rerun of ours after a
    // change of our side compares with the peer's earlier run of the seed).
    let ours_only = args.iter().any(|a| a == "--ours-only");
    let py = common::peer_python(ours_only, "torch, sklearn, transformers", "PyTorch");
    let train = Dataset::kaggle(data_file("train_data.txt")?)?;
    let test = Dataset::kaggle(data_file("test_data_solution.txt")?)?;
    let work = std::env::temp_dir().join(format!("genre-finetune-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;

    eprintln!("ours: minilm-finetune, {epochs} epochs ...");
    let model = cfg.fit_with(&train, PipelineFitOptions::default())?;
    let ev = evaluate(&model, &test)?;
    let h = model.history();
    let ours = json!({
        "macro_f1": ev.macro_f1(),
        "accuracy": ev.accuracy(),
        "fit_seconds": model.fit_report().total_seconds,
        "train_seconds": model.fit_report().train_seconds,
        "epoch_seconds": h.epochs.iter().map(|e| e.seconds).collect::<Vec<_>>(),
        "val_macro_f1": h.epochs.iter().map(|e| e.val_macro_f1).collect::<Vec<_>>(),
        "best_epoch": h.best_epoch,
    });
    let FittedRepresentation::WordPieces(wp) = model.representation() else {
        return Err(Error::Config("minilm-finetune: no word pieces".into()));
    };
    let latency = match model.model() {
        FittedModel::Finetune(m) => Some(latency_probe(m, wp, &test)?),
        _ => None,
    };
    // Now, before the peer's half hour, so that a run cut short keeps ours.
    eprintln!("ours, seed {seed}: {ours}");

    // The peer's inputs, cut as the pipeline cut them.
    let inner = cfg.inner_split(&train)?;
    let paths: Vec<PathBuf> = ["train", "val", "test"]
        .iter()
        .map(|n| work.join(format!("{n}.jsonl")))
        .collect();
    write_ids(&wp.ids(&inner.train)?, &inner.train, &paths[0])?;
    write_ids(&wp.ids(&inner.val)?, &inner.val, &paths[1])?;
    write_ids(&wp.ids(&test)?, &test, &paths[2])?;
    let peer = py.as_ref().and_then(|py| {
        eprintln!("peer: transformers + PyTorch, {epochs} epochs ...");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/torch_finetune.py");
        let out = Command::new(py)
            .arg(&script)
            .arg("--model")
            .arg(wp.dir())
            .arg("--train")
            .arg(&paths[0])
            .arg("--val")
            .arg(&paths[1])
            .arg("--test")
            .arg(&paths[2])
            .args(["--epochs", &epochs, "--lr", &lr, "--seed", &seed])
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!("peer failed: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
        serde_json::from_slice::<Value>(&out.stdout).ok()
    });
    let _ = std::fs::remove_dir_all(&work);

    let mean_epoch = |v: &Option<Value>| -> f64 {
        v.as_ref()
            .and_then(|v| v["epoch_seconds"].as_array().cloned())
            .map(|a| {
                let s: Vec<f64> = a.iter().filter_map(|x| x.as_f64()).collect();
                s.iter().sum::<f64>() / s.len().max(1) as f64
            })
            .unwrap_or(f64::NAN)
    };
    let list = |v: &Option<Value>, key: &str| -> String {
        v.as_ref()
            .and_then(|v| v[key].as_array().cloned())
            .map(|a| {
                a.iter()
                    .map(|x| format!("{:.3}", x.as_f64().unwrap_or(f64::NAN)))
                    .collect::<Vec<_>>()
                    .join(" / ")
            })
            .unwrap_or_else(|| "—".into())
    };
    let ours = Some(ours);
    println!(
        "\nminilm-finetune vs transformers + PyTorch 2.15 (2 threads each; same word pieces, max \
         length 256, batch 16, AdamW {lr}, at most {epochs} epochs, seed {seed}). train_data.txt → test_data_solution.txt.\n"
    );
    println!("| | macro-F1 | accuracy | s / epoch (train + val) | whole fit s | val macro-F1 by epoch | best epoch |");
    println!("|---|---:|---:|---:|---:|---|---:|");
    for (name, v) in [("ours", &ours), ("peer", &peer)] {
        println!(
            "| {name} | {:.4} | {:.4} | {:.1} | {:.1} | {} | {} |",
            f(v, "macro_f1"),
            f(v, "accuracy"),
            mean_epoch(v),
            f(v, "fit_seconds"),
            list(v, "val_macro_f1"),
            v.as_ref()
                .map(|v| v["best_epoch"].to_string())
                .unwrap_or_else(|| "—".into())
        );
    }
    println!(
        "\nper-epoch ratio (peer / ours): {:.2}×",
        mean_epoch(&peer) / mean_epoch(&ours)
    );
    if let Some(l) = latency {
        println!(
            "\nlatency probe (fine-tuned model, CPU, {} threads): {l}",
            rayon::current_num_threads()
        );
    }
    Ok(())
}

/// Samples/s and ms/sample of the fine-tuned model on the first 1,024 test rows at max length
/// 192, batch 32 (one warm-up batch excluded).
fn latency_probe(
    m: &genre_nlp::models::FinetuneModel,
    wp: &WordPieces,
    test: &Dataset,
) -> Result<String> {
    let p = m.latency(
        &wp.ids(&test.take(&(0..1024).collect::<Vec<_>>())?)?,
        192,
        32,
    )?;
    Ok(p.to_string())
}
