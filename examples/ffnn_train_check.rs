//! Trains an FFNN pipeline (default `tfidf-svd`, i.e. `tfidf-svd-ffnn`; `tfidf` checks the
//! sparse first layer) on the real slice and writes what PyTorch needs to run the very same training
//! (`benches/peers/torch_ffnn_train_check.py`): the features our representation gives the
//! internal training and validation parts (raw f32, or CSR for `tfidf`), the network's initial weights
//! (`init.safetensors`, our names: `layers.{i}.weight` is `in × out`), the batches of every
//! epoch and the class weights, plus our first 60 steps one by one (loss, learning rate,
//! gradient norms, run with the training loop's pieces) and the loop's per-epoch training loss,
//! validation loss and validation macro-F1. With the dropout off (the default here) training is
//! deterministic given the start and the batches, so the two sides must agree to float32
//! rounding at first — a check of the fused layers, the weighted loss, clipping, AdamW and the
//! schedule against PyTorch — and drift apart only as training amplifies that rounding. With a
//! fifth argument `dropout` the recipe's dropout stays on and `masks.bin` holds the masks of our
//! first 60 steps (one byte per value, 1 kept; per step each hidden layer's `rows × width`, in
//! the batch's row order), which the script applies in PyTorch.
//!
//! ```bash
//! cargo run --release --example ffnn_train_check -- /tmp/ffnn_train [tfidf-svd] [seed] [epochs] [dropout]
//! $GENRE_NLP_TOOLS/torch-venv/bin/python benches/peers/torch_ffnn_train_check.py /tmp/ffnn_train
//! ```

#[path = "../benches/common/mod.rs"]
mod common;

use std::io::Write;
use std::path::Path;

use candle_core::Device;
use genre_nlp::data::data_file;
use genre_nlp::features::{Features, RowMatrix};
use genre_nlp::models::ffnn::FfnnModel;
use genre_nlp::models::FittedModel;
use genre_nlp::prelude::*;
use genre_nlp::train::Ctx;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Steps compared one by one.
const CHECK_STEPS: usize = 60;

/// The dropout masks a step of `model` on `rows` draws from `rng` (the generator as the step
/// began): each hidden layer's `rows × width`, in the batch's row order, as bytes (1 kept).
fn step_masks(model: &FfnnModel, rows: usize, rng: ChaCha8Rng) -> Vec<u8> {
    let s = model.shape();
    let mut ctx = Ctx::train(rng);
    let mut out = Vec::new();
    for &h in &s.hidden {
        match ctx.dropout_mask(rows * h, s.dropout) {
            Some(m) => out.extend(m.iter().map(|&v| u8::from(v > 0.0))),
            None => out.extend(std::iter::repeat_n(1u8, rows * h)),
        }
    }
    out
}

/// `x` as raw little-endian files: dense as `out/name.f32` (rows × cols); sparse (CSR) as
/// `out/name.indptr` (u64, rows + 1), `out/name.indices` (u32) and `out/name.data` (f32).
/// Returns its shape.
fn write_features(out: &Path, name: &str, x: &Features) -> Res<(usize, usize)> {
    let file = |ext: &str| -> Res<std::io::BufWriter<std::fs::File>> {
        let f = std::fs::File::create(out.join(format!("{name}.{ext}")))?;
        Ok(std::io::BufWriter::new(f))
    };
    match x {
        Features::Dense(x) => {
            let mut f = file("f32")?;
            for v in x.iter() {
                f.write_all(&v.to_le_bytes())?;
            }
            f.flush()?;
        }
        Features::Sparse(x) => {
            let (mut p, mut j, mut v) = (file("indptr")?, file("indices")?, file("data")?);
            let mut nnz = 0u64;
            p.write_all(&nnz.to_le_bytes())?;
            for i in 0..x.n_rows() {
                let mut err = None;
                x.for_each_in_row(i, |c, val| {
                    let r = j
                        .write_all(&(c as u32).to_le_bytes())
                        .and_then(|_| v.write_all(&val.to_le_bytes()));
                    if let Err(e) = r {
                        err = Some(e);
                    }
                    nnz += 1;
                });
                if let Some(e) = err {
                    return Err(e.into());
                }
                p.write_all(&nnz.to_le_bytes())?;
            }
            for f in [&mut p, &mut j, &mut v] {
                f.flush()?;
            }
        }
    }
    Ok((x.n_rows(), x.n_cols()))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = Path::new(
        args.get(1)
            .ok_or("usage: ffnn_train_check OUT [recipe] [seed] [epochs] [dropout]")?,
    );
    let recipe = args.get(2).map_or("tfidf-svd", String::as_str);
    let name = format!("{recipe}-ffnn");
    let seed: u64 = args.get(3).map_or(Ok(42), |s| s.parse())?;
    let epochs: usize = args.get(4).map_or(Ok(15), |s| s.parse())?;
    let with_dropout = args.get(5).is_some_and(|a| a == "dropout");
    std::fs::create_dir_all(out)?;
    let train = Dataset::kaggle(data_file("train_data.txt")?)?;
    let mut cfg = PipelineConfig::from_name(&name)?;
    cfg.set("seed", &seed.to_string())?;
    cfg.set("epochs", &epochs.to_string())?;
    if !with_dropout {
        cfg.set("dropout", "0")?;
    }
    let model = cfg.fit_with(&train, PipelineFitOptions::default())?;
    let ModelSpec::Ffnn(fc) = &cfg.model else {
        return Err(format!("{name} is not an FFNN pipeline").into());
    };
    let FittedModel::Ffnn(net) = model.model() else {
        return Err(format!("{name}: no FFNN").into());
    };
    // The internal split, label ids and features exactly as the pipeline made them.
    let inner = cfg.inner_split(&train)?;
    let labels = Labels::from_dataset(&train)?;
    let ytr = labels.encode(&inner.train)?;
    let yva = labels.encode(&inner.val)?;
    let xtr = model.representation().transform(&inner.train)?;
    let xva = model.representation().transform(&inner.val)?;
    let (ntr, d) = write_features(out, "train", &xtr)?;
    let (nva, _) = write_features(out, "val", &xva)?;
    // The start: the same shape and seed give the same untrained network.
    let init = fc.build(d, labels.len(), &Device::Cpu)?;
    init.params().save(&out.join("init.safetensors"))?;
    let batches = common::epoch_batches(&init, &xtr, &fc.train, epochs, ntr);
    let mut masks = Vec::new();
    let steps = common::replay_steps(
        &init,
        (&xtr, &ytr),
        &batches,
        &fc.train,
        (labels.len(), CHECK_STEPS),
        |rows, rng| {
            if with_dropout {
                masks.extend(step_masks(&init, rows.len(), rng));
            }
            Ok(())
        },
    )?;
    common::write_check(
        out,
        (&name, seed, epochs),
        &labels,
        &fc.train,
        &ytr,
        &batches,
        (steps, with_dropout.then_some(masks)),
        model.history(),
        json!({
            "rows": { "train": ntr, "val": nva, "cols": d },
            "sparse": matches!(xtr, Features::Sparse(_)),
            "y_train": ytr,
            "y_val": yva,
            "shape": net.shape(),
        }),
    )
}
