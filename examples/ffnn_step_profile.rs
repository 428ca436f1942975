//! Where one dense FFNN training step (SVD-512 input → 512 → 27, batch 64) spends its time:
//! forward, loss, backward, optimiser, timed over 400 steps — with the fused CPU layers and
//! loss (`nn::fused`, the default on the CPU, with the training loop's gradient sink) and with
//! plain candle ops, one table.
//!
//! ```bash
//! cargo run --release --example ffnn_step_profile
//! ```

use candle_core::{Device, Tensor};
use genre_nlp::data::Labels;
use genre_nlp::features::{Dense, Features};
use genre_nlp::models::FfnnConfig;
use genre_nlp::nn::{Activation, Ffnn, FfnnShape};
use genre_nlp::train::{AdamW, Ctx, FitOptions, Loss, Params, TrainConfig};
use rand::SeedableRng;
use std::time::Instant;

/// Seconds per part over `steps` steps: forward, loss, backward, optimiser.
fn profile(fused: bool, steps: usize) -> genre_nlp::Result<[f64; 4]> {
    let dev = Device::Cpu;
    let mut params = Params::new(dev.clone());
    let shape = FfnnShape {
        input_dim: 512,
        hidden: vec![512],
        n_classes: 27,
        activation: Activation::Relu,
        dropout: 0.5,
        layer_norm: false,
    };
    let net = Ffnn::new(&mut params, shape, 1)?;
    let loss = Loss::cross_entropy(27);
    let mut opt = AdamW::new((0.9, 0.999), 1e-8, 0.01);
    let mut ctx = Ctx::train(rand_chacha::ChaCha8Rng::seed_from_u64(1));
    if fused {
        // As the training loop runs it: fused layers hand their gradients over directly.
        ctx = ctx.with_grad_sink();
    }
    let x = Tensor::randn(0f32, 1., (64, 512), &dev)?;
    let ys: Vec<usize> = (0..64).map(|i| i % 27).collect();
    let mut t = [0.0f64; 4];
    for s in 0..steps + 20 {
        let t0 = Instant::now();
        let logits = if fused {
            net.forward(&x, &mut ctx)?
        } else {
            net.forward_unfused(&x, &mut ctx)?
        };
        let t1 = Instant::now();
        let l = if fused {
            loss.forward(&logits, &ys)?
        } else {
            loss.forward_ops(&logits, &ys)?
        };
        let _ = l.to_scalar::<f32>()?;
        let t2 = Instant::now();
        let mut g = l.backward()?;
        ctx.merge_grads(&mut g)?;
        let t3 = Instant::now();
        opt.step(&params, &g, 1e-3, Some(1.0))?;
        let t4 = Instant::now();
        if s >= 20 {
            for (acc, d) in t.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3]) {
                *acc += d.as_secs_f64();
            }
        }
    }
    Ok(t)
}

fn main() -> genre_nlp::Result<()> {
    let steps = 400;
    if std::env::args().any(|a| a == "--loop-only") {
        return whole_loop(0.0);
    }
    let plain = profile(false, steps)?;
    let fused = profile(true, steps)?;
    let ms = |t: f64| t * 1e3 / steps as f64;
    let (tp, tf): (f64, f64) = (plain.iter().sum(), fused.iter().sum());
    println!("| part | plain candle ops, ms / step | share | fused, ms / step | share |");
    println!("|---|---:|---:|---:|---:|");
    for (i, n) in ["forward", "loss", "backward", "optimiser"]
        .iter()
        .enumerate()
    {
        println!(
            "| {n} | {:.3} | {:.0} % | {:.3} | {:.0} % |",
            ms(plain[i]),
            100.0 * plain[i] / tp,
            ms(fused[i]),
            100.0 * fused[i] / tf
        );
    }
    let epoch = |t: f64| t / steps as f64 * (48_793f64 / 64.0).ceil();
    println!(
        "| total | {:.3} | {:.2} s / 48,793-row epoch | {:.3} | {:.2} s / epoch |",
        ms(tp),
        epoch(tp),
        ms(tf),
        epoch(tf)
    );
    // 2·64·512·512 (first layer) + 2·64·512·27 (output) forward; the weight gradients of both
    // and the hidden layer's input gradient backward.
    let flops = 2.0 * 64.0 * 512.0 * (512.0 + 27.0) * 2.0 + 2.0 * 64.0 * 512.0 * 27.0;
    println!(
        "matmul work {:.1} MFLOP / step: {:.1} GFLOP/s plain, {:.1} GFLOP/s fused (whole step)",
        flops / 1e6,
        flops / (tp / steps as f64) / 1e9,
        flops / (tf / steps as f64) / 1e9
    );
    whole_loop(epoch(tf))
}

/// The real loop (`train::fit`) over a 48,793-row dense epoch with a 5,421-row validation
/// side: what the loop adds to the steps (batch gathering, shuffling, validation, ...).
fn whole_loop(steps_s: f64) -> genre_nlp::Result<()> {
    // The real loop (`train::fit`) over a 48,793-row dense epoch with a 5,421-row validation
    // side: what the loop adds to the steps (batch gathering, shuffling, validation, ...).
    let (n, nv) = (48_793usize, 5_421usize);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut rand_dense = |rows: usize| {
        Dense::from_shape_fn((rows, 512), |_| {
            rand::Rng::random_range(&mut rng, -1.0f32..1.0)
        })
    };
    let (x, xv) = (
        Features::Dense(rand_dense(n)),
        Features::Dense(rand_dense(nv)),
    );
    let y: Vec<usize> = (0..n).map(|i| i % 27).collect();
    let yv: Vec<usize> = (0..nv).map(|i| i % 27).collect();
    let labels = Labels::from_names((0..27).map(|i| format!("g{i}")));
    let cfg = FfnnConfig::default().train(TrainConfig::default().epochs(1));
    let (_, out) = cfg.fit(
        &labels,
        (&x, &y),
        (&xv, &yv),
        FitOptions {
            quiet: true,
            ..Default::default()
        },
    )?;
    println!(
        "train::fit, one 48,793-row epoch + 5,421-row validation: {:.2} s (steps alone above: {:.2} s)",
        out.history.epochs[0].seconds,
        steps_s
    );
    Ok(())
}
