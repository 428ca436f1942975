//! Prints candle's CPU matmul speed (GFLOP/s) on the shapes of an FFNN step and a square one.
//!
//! ```bash
//! cargo run --release --example matmul_probe
//! ```

use candle_core::{Device, Tensor};
use std::time::Instant;

fn main() -> candle_core::Result<()> {
    let dev = Device::Cpu;
    println!("| m × k · k × n | GFLOP/s |");
    println!("|---|---|");
    for &(m, k, n) in &[
        (64, 512, 512),
        (512, 64, 512),
        (64, 512, 27),
        (256, 384, 1536),
        (2048, 2048, 2048),
    ] {
        let a = Tensor::randn(0f32, 1., (m, k), &dev)?;
        let b = Tensor::randn(0f32, 1., (k, n), &dev)?;
        let _ = a.matmul(&b)?;
        let flop = 2.0 * (m * k * n) as f64;
        let reps = ((2e10 / flop) as usize).clamp(3, 5000);
        let t = Instant::now();
        for _ in 0..reps {
            let _ = a.matmul(&b)?;
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "| {m} × {k} · {k} × {n} | {:.1} |",
            flop * reps as f64 / s / 1e9
        );
    }
    Ok(())
}
