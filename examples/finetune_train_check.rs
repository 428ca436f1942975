//! Fine-tunes `minilm-finetune` on the real slice with every dropout off (the encoder's hidden
//! and attention dropout, the head's), so that training is deterministic given the start and
//! the batches, and writes what PyTorch + transformers need to run the very same training
//! (`benches/peers/torch_finetune_train_check.py`): the word pieces and genres of the internal
//! training and validation parts, a copy of the model directory whose `config.json` says
//! dropout 0 (the weights linked, not copied), the head's initial weights
//! (`init.safetensors`), every epoch's length-grouped batches and the class weights, plus our
//! first steps one by one (loss, learning rate, gradient norms, run with the training loop's
//! pieces and the pipeline's parameter groups: no weight decay on biases and layer norms) and
//! the loop's per-epoch training loss, validation loss and validation macro-F1. Same start,
//! same batches, same arithmetic: the two sides must agree to float32 rounding at first — a
//! check of the trainable encoder (embeddings, attention, GELU, layer norms and their
//! hand-written backward), mean pooling, head, weighted loss, clipping, AdamW with its
//! groups and the schedule against `transformers.AutoModel` and `torch.optim.AdamW` — and
//! drift apart only as training amplifies that rounding.
//!
//! ```bash
//! cargo run --release --example finetune_train_check -- /tmp/ft_train [seed] [epochs] [steps]
//! $GENRE_NLP_TOOLS/torch-venv/bin/python benches/peers/torch_finetune_train_check.py /tmp/ft_train
//! ```
//! (defaults: seed 42, 1 epoch, 40 steps compared one by one)

#[path = "../benches/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::path::Path;

use candle_core::Device;
use genre_nlp::data::data_file;
use genre_nlp::models::finetune::FinetuneModel;
use genre_nlp::models::FittedRepresentation;
use genre_nlp::prelude::*;
use serde_json::{json, Value};

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// `out/model`: `src`'s files linked, `config.json` rewritten with both dropouts 0.
fn model_without_dropout(src: &Path, out: &Path) -> Res<std::path::PathBuf> {
    let dir = out.join("model");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir(src)? {
        let p = entry?.path();
        let name = p.file_name().ok_or("a file without a name")?;
        if p.is_file() && name != "config.json" {
            std::os::unix::fs::symlink(std::fs::canonicalize(&p)?, dir.join(name))?;
        }
    }
    let text = std::fs::read_to_string(src.join("config.json"))?;
    let mut cfg: Value = serde_json::from_str(&text)?;
    let o = cfg.as_object_mut().ok_or("config.json is not an object")?;
    for key in ["hidden_dropout_prob", "attention_probs_dropout_prob"] {
        o.insert(key.into(), json!(0.0));
    }
    std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(&cfg)?)?;
    Ok(dir)
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = Path::new(
        args.get(1)
            .ok_or("usage: finetune_train_check OUT [seed] [epochs] [steps]")?,
    );
    let seed: u64 = args.get(2).map_or(Ok(42), |s| s.parse())?;
    let epochs: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let check_steps: usize = args.get(4).map_or(Ok(40), |s| s.parse())?;
    std::fs::create_dir_all(out)?;
    let train = Dataset::kaggle(data_file("train_data.txt")?)?;
    let name = "minilm-finetune";
    let mut cfg = PipelineConfig::from_name(name)?;
    let src = match &cfg.representation {
        RepresentationSpec::Sentence(s) => s
            .model_dir
            .clone()
            .unwrap_or_else(genre_nlp::features::sentence::default_model_dir),
        _ => return Err(format!("{name} reads no transformer").into()),
    };
    let dir = model_without_dropout(&src, out)?;
    cfg.set("model_dir", &dir.to_string_lossy())?;
    cfg.set("seed", &seed.to_string())?;
    cfg.set("epochs", &epochs.to_string())?;
    cfg.set("head_dropout", "0")?;
    let ModelSpec::Finetune(fc) = &cfg.model else {
        return Err(format!("{name} is not a fine-tuning pipeline").into());
    };
    eprintln!("ours: {name}, {epochs} epoch(s), dropout off ...");
    let model = cfg.fit_with(&train, PipelineFitOptions::default())?;
    let FittedRepresentation::WordPieces(wp) = model.representation() else {
        return Err(format!("{name}: no word pieces").into());
    };
    // The internal split, label ids and word pieces exactly as the pipeline made them.
    let inner = cfg.inner_split(&train)?;
    let labels = Labels::from_dataset(&train)?;
    let ytr = labels.encode(&inner.train)?;
    let yva = labels.encode(&inner.val)?;
    let xtr = wp.ids(&inner.train)?;
    let xva = wp.ids(&inner.val)?;
    // The start: the same directory, labels and seed give the same untrained model.
    let init = FinetuneModel::from_pretrained(&dir, &labels, fc, &Device::Cpu)?;
    let head: HashMap<String, candle_core::Tensor> = init
        .params()
        .iter()
        .filter(|(n, _)| n.starts_with("classifier."))
        .map(|(n, v)| (n.to_string(), v.as_tensor().clone()))
        .collect();
    candle_core::safetensors::save(&head, out.join("init.safetensors"))?;
    // Every epoch's batches as the loop draws them: the epoch's order, grouped by length.
    let batches = common::epoch_batches(&init, &xtr[..], &fc.train, epochs, xtr.len());
    eprintln!("ours: the first {check_steps} steps one by one ...");
    let steps = common::replay_steps(
        &init,
        (&xtr[..], &ytr),
        &batches,
        &fc.train,
        (labels.len(), check_steps),
        |_, _| Ok(()),
    )?;
    common::write_check(
        out,
        (name, seed, epochs),
        &labels,
        &fc.train,
        &ytr,
        &batches,
        (steps, None),
        model.history(),
        json!({
            "model_dir": dir,
            "pooling": init.head().pooling,
            "x_train": xtr,
            "x_val": xva,
            "y_train": ytr,
            "y_val": yva,
        }),
    )
}
