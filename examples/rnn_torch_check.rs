//! Writes one packed bidirectional scan of our GRU and LSTM (`genre_nlp::nn::rnn::scan`) on
//! random pre-activations and weights — the inputs, the outputs and the gradients of
//! Σ outputs · C — as JSON, so that `benches/peers/torch_rnn_check.py` can run the same numbers
//! through `torch.nn.GRU` / `torch.nn.LSTM` over a `PackedSequence` and compare: a check of our
//! recurrent layer against PyTorch itself (the unit tests compare it with plain candle ops).
//!
//! ```bash
//! cargo run --release --example rnn_torch_check -- /tmp/rnn_check.json
//! $GENRE_NLP_TOOLS/torch-venv/bin/python benches/peers/torch_rnn_check.py /tmp/rnn_check.json
//! ```

use std::sync::Arc;

use candle_core::{Device, Tensor, Var};
use genre_nlp::nn::rnn::{scan, Cell, Packed};
use serde_json::json;

fn flat(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.flatten_all()?.to_vec1::<f32>()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: rnn_torch_check OUT.json")?;
    let dev = Device::Cpu;
    let h = 8;
    let lengths = [9usize, 6, 6, 3, 1];
    let packed = Arc::new(Packed::from_lengths(&lengths)?);
    let mut cases = Vec::new();
    for cell in [Cell::Gru, Cell::Lstm] {
        let g = cell.gates() * h;
        let xp = Var::randn(0f32, 1., (packed.n, 2 * g), &dev)?;
        let w = Var::randn(0f32, 0.5, (2, h, g), &dev)?;
        let b = Var::randn(0f32, 0.5, (2, g), &dev)?;
        let c = Tensor::randn(0f32, 1., (packed.n, 2 * h), &dev)?;
        let y = scan(&xp, &w, &b, &packed, cell, true, None)?;
        let grads = y.mul(&c)?.sum_all()?.backward()?;
        let grad = |v: &Var| -> Result<Vec<f32>, Box<dyn std::error::Error>> {
            Ok(flat(grads.get(v.as_tensor()).ok_or("no gradient")?)?)
        };
        cases.push(json!({
            "cell": cell.name(),
            "hidden": h,
            "lengths": lengths,
            "sizes": packed.sizes,
            "offsets": packed.offsets,
            "xp": flat(&xp)?,
            "w_hh": flat(&w)?,
            "b_hh": flat(&b)?,
            "c": flat(&c)?,
            "y": flat(&y)?,
            "grad_xp": grad(&xp)?,
            "grad_w_hh": grad(&w)?,
            "grad_b_hh": grad(&b)?,
        }));
    }
    std::fs::write(&out, serde_json::to_string(&cases)?)?;
    println!("wrote {out}");
    Ok(())
}
