//! Where one dense FFNN training step (SVD-512 input → 512 → 27, batch 64) spends its time:
//! forward, loss, backward, optimiser, timed over 400 steps.
//!
//! ```bash
//! cargo run --release --example ffnn_step_profile
//! ```

use candle_core::{Device, Tensor};
use genre_nlp::nn::{Activation, Ffnn, FfnnShape};
use genre_nlp::train::{AdamW, Ctx, Loss, Params};
use rand::SeedableRng;
use std::time::Instant;

fn main() -> genre_nlp::Result<()> {
    let dev = Device::Cpu;
    let mut params = Params::new(dev.clone());
    let shape = FfnnShape {
        input_dim: 512,
        hidden: vec![512],
        n_classes: 27,
        activation: Activation::Relu,
        dropout: 0.2,
        layer_norm: false,
    };
    let net = Ffnn::new(&mut params, shape, 1)?;
    let loss = Loss::cross_entropy(27);
    let mut opt = AdamW::new((0.9, 0.999), 1e-8, 0.01);
    let mut ctx = Ctx::train(rand_chacha::ChaCha8Rng::seed_from_u64(1));
    let x = Tensor::randn(0f32, 1., (64, 512), &dev)?;
    let ys: Vec<usize> = (0..64).map(|i| i % 27).collect();
    let (mut tf, mut tl, mut tb, mut to) = (0.0, 0.0, 0.0, 0.0);
    let steps = 400;
    for s in 0..steps + 20 {
        let t0 = Instant::now();
        let logits = net.forward(&x, &mut ctx)?;
        let t1 = Instant::now();
        let l = loss.forward(&logits, &ys)?;
        let _ = l.to_scalar::<f32>()?;
        let t2 = Instant::now();
        let g = l.backward()?;
        let t3 = Instant::now();
        opt.step(&params, &g, 1e-3, Some(1.0))?;
        let t4 = Instant::now();
        if s >= 20 {
            tf += (t1 - t0).as_secs_f64();
            tl += (t2 - t1).as_secs_f64();
            tb += (t3 - t2).as_secs_f64();
            to += (t4 - t3).as_secs_f64();
        }
    }
    let ms = |t: f64| t * 1e3 / steps as f64;
    let total = tf + tl + tb + to;
    println!("| part | ms / step | share |\n|---|---:|---:|");
    for (n, t) in [
        ("forward", tf),
        ("loss", tl),
        ("backward", tb),
        ("optimiser", to),
    ] {
        println!("| {n} | {:.3} | {:.0} % |", ms(t), 100.0 * t / total);
    }
    println!(
        "| total | {:.3} | 54,214 rows: {:.2} s / epoch |",
        ms(total),
        total / steps as f64 * (54_214f64 / 64.0).ceil()
    );
    Ok(())
}
