//! Trains an RNN pipeline (default `glove-bilstm`) on the real slice with both dropouts off, so
//! that training is deterministic given the start and the batches, and writes what PyTorch needs
//! to run the very same training (`benches/peers/torch_rnn_train_check.py`): the tokens and
//! genres of the internal training and validation parts, the network's initial weights
//! (`init.safetensors`, our parameter names), the batches of every epoch and the class weights,
//! plus our first 60 steps one by one (loss, learning rate, gradient norms, run with the
//! training loop's pieces) and the loop's per-epoch training loss, validation loss and
//! validation macro-F1. Same start, same batches, same arithmetic: the two sides must agree to
//! float32 rounding at first — a check of the whole training step (embedding, input
//! projection, scan, pooling, head, weighted loss, clipping, AdamW, schedule) against PyTorch —
//! and drift apart only as training amplifies that rounding. With a fifth argument `dropout`
//! the recipe's dropouts stay on and `masks.bin` holds the masks of our first 60 steps, which
//! the script applies in PyTorch: the same check of the stochastic part.
//!
//! ```bash
//! cargo run --release --example rnn_train_check -- /tmp/rnn_train [glove-bilstm] [seed] [epochs] [dropout]
//! $GENRE_NLP_TOOLS/torch-venv/bin/python benches/peers/torch_rnn_train_check.py /tmp/rnn_train
//! ```

#[path = "../benches/common/mod.rs"]
mod common;

use std::path::Path;

use candle_core::Device;
use genre_nlp::data::data_file;
use genre_nlp::models::rnn::{RnnModel, Sequences};
use genre_nlp::models::{FittedModel, FittedRepresentation};
use genre_nlp::nn::rnn::Packed;
use genre_nlp::prelude::*;
use genre_nlp::train::Ctx;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Steps compared one by one.
const CHECK_STEPS: usize = 60;

/// The dropout masks a step of `model` on `rows` drew from `rng` (the generator as the step
/// began), in the batch's own row order, as bytes (1 kept, 0 dropped): the embedded tokens'
/// (`rows × longest × E`, padding positions 0) and the pooled vectors' (`rows × D·H`).
fn step_masks(
    model: &RnnModel,
    xtr: &Sequences,
    rows: &[usize],
    rng: ChaCha8Rng,
) -> Res<(Vec<u8>, Vec<u8>)> {
    let s = model.shape();
    let (e, dh) = (s.embedding_dim, s.hidden * s.dirs());
    // The layout the network packs the batch in (`RnnModel`'s `Network::logits`).
    let order = xtr.packed_order(rows);
    let lens: Vec<usize> = order
        .iter()
        .map(|&b| xtr.ids[rows[b]].len().max(1))
        .collect();
    let packed = Packed::from_lengths(&lens)?;
    let longest = packed.sizes.len();
    let mut ctx = Ctx::train(rng);
    let me = ctx.dropout_mask(packed.n * e, s.embedding_dropout);
    let mp = ctx.dropout_mask(rows.len() * dh, s.dropout);
    let mut emb = vec![0u8; rows.len() * longest * e];
    let mut k = 0;
    for (t, &size) in packed.sizes.iter().enumerate() {
        for &b in &order[..size] {
            for j in 0..e {
                let kept = me.as_ref().is_none_or(|m| m[k * e + j] > 0.0);
                emb[(b * longest + t) * e + j] = u8::from(kept);
            }
            k += 1;
        }
    }
    let mut pool = vec![0u8; rows.len() * dh];
    for (p, &b) in order.iter().enumerate() {
        for j in 0..dh {
            pool[b * dh + j] = u8::from(mp.as_ref().is_none_or(|m| m[p * dh + j] > 0.0));
        }
    }
    Ok((emb, pool))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = Path::new(
        args.get(1)
            .ok_or("usage: rnn_train_check OUT [pipeline] [seed] [epochs] [dropout]")?,
    );
    let name = args.get(2).map_or("glove-bilstm", String::as_str);
    let seed: u64 = args.get(3).map_or(Ok(42), |s| s.parse())?;
    let epochs: usize = args.get(4).map_or(Ok(15), |s| s.parse())?;
    // `dropout`: keep the recipe's dropouts and hand PyTorch our masks of the first steps.
    let with_dropout = args.get(5).is_some_and(|a| a == "dropout");
    std::fs::create_dir_all(out)?;
    let train = Dataset::kaggle(data_file("train_data.txt")?)?;
    let mut cfg = PipelineConfig::from_name(name)?;
    cfg.set("seed", &seed.to_string())?;
    cfg.set("epochs", &epochs.to_string())?;
    if !with_dropout {
        cfg.set("dropout", "0")?;
        cfg.set("embedding_dropout", "0")?;
    }
    let model = cfg.fit_with(&train, PipelineFitOptions::default())?;
    let ModelSpec::Rnn(rc) = &cfg.model else {
        return Err(format!("{name} is not an RNN pipeline").into());
    };
    let FittedRepresentation::WordVectors(wv) = model.representation() else {
        return Err(format!("{name}: no word vectors").into());
    };
    let FittedModel::Rnn(rnn) = model.model() else {
        return Err(format!("{name}: no RNN").into());
    };
    // The internal split and label ids exactly as the pipeline made them.
    let inner = cfg.inner_split(&train)?;
    let labels = Labels::from_dataset(&train)?;
    let ytr = labels.encode(&inner.train)?;
    for (file, part) in [("train.jsonl", &inner.train), ("val.jsonl", &inner.val)] {
        common::write_labelled(&out.join(file), "tokens", &wv.tokens(part), part)?;
    }
    // The start: the same vocabulary, vectors and seed give the same untrained network.
    let init = rc.build(
        rnn.vocab().clone(),
        Some(wv.vectors()),
        labels.len(),
        &Device::Cpu,
    )?;
    init.params().save(&out.join("init.safetensors"))?;
    let n = ytr.len();
    let xtr = init.vocab().encode(&wv.tokens(&inner.train), rc.max_len);
    let batches = common::epoch_batches(&init, &xtr, &rc.train, epochs, n);
    let mut masks = Vec::new();
    let steps = common::replay_steps(
        &init,
        (&xtr, &ytr),
        &batches,
        &rc.train,
        (labels.len(), CHECK_STEPS),
        |rows, rng| {
            if with_dropout {
                let (emb, pool) = step_masks(&init, &xtr, rows, rng)?;
                masks.extend(emb);
                masks.extend(pool);
            }
            Ok(())
        },
    )?;
    common::write_check(
        out,
        (name, seed, epochs),
        &labels,
        &rc.train,
        &ytr,
        &batches,
        (steps, with_dropout.then_some(masks)),
        model.history(),
        json!({
            "vocab": rnn.vocab().words(),
            "shape": rnn.shape(),
        }),
    )
}
