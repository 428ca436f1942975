//! Prints this machine's measured FMA peak (GFLOP/s: independent fused multiply-adds in
//! registers on every thread, AVX-512 and AVX2), then candle's CPU matmul speed on the shapes of
//! an FFNN step, of the MiniLM encoder and a square one.
//!
//! ```bash
//! cargo run --release --example matmul_probe
//! ```

use candle_core::{Device, Tensor};
use std::time::Instant;

/// GFLOP/s of `threads` threads each running 12 independent FMA chains for `iters` rounds.
#[cfg(target_arch = "x86_64")]
fn fma_peak(threads: usize, wide: bool) -> f64 {
    use std::arch::x86_64::*;
    #[target_feature(enable = "avx512f")]
    unsafe fn run512(iters: usize) -> f32 {
        let mut acc = [_mm512_set1_ps(0.0); 12];
        let a = _mm512_set1_ps(0.999_999);
        let b = _mm512_set1_ps(1e-7);
        for _ in 0..iters {
            for r in acc.iter_mut() {
                *r = _mm512_fmadd_ps(*r, a, b);
            }
        }
        acc.iter().map(|r| _mm512_reduce_add_ps(*r)).sum()
    }
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run256(iters: usize) -> f32 {
        let mut acc = [_mm256_set1_ps(0.0); 12];
        let a = _mm256_set1_ps(0.999_999);
        let b = _mm256_set1_ps(1e-7);
        for _ in 0..iters {
            for r in acc.iter_mut() {
                *r = _mm256_fmadd_ps(*r, a, b);
            }
        }
        let mut out = [0f32; 8];
        let s = acc
            .iter()
            .fold(_mm256_set1_ps(0.0), |s, r| _mm256_add_ps(s, *r));
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }
    let iters = 50_000_000usize;
    let t = Instant::now();
    let sums: Vec<f32> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                sc.spawn(move || unsafe {
                    if wide {
                        run512(iters)
                    } else {
                        run256(iters)
                    }
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0.0)).collect()
    });
    let s = t.elapsed().as_secs_f64();
    std::hint::black_box(sums);
    let lanes = if wide { 16.0 } else { 8.0 };
    (threads * iters * 12) as f64 * lanes * 2.0 / s / 1e9
}

fn main() -> candle_core::Result<()> {
    let dev = Device::Cpu;
    #[cfg(target_arch = "x86_64")]
    {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        if is_x86_feature_detected!("avx512f") {
            println!(
                "FMA peak, {threads} threads, AVX-512: {:.1} GFLOP/s",
                fma_peak(threads, true)
            );
        }
        if is_x86_feature_detected!("fma") {
            println!(
                "FMA peak, {threads} threads, AVX2:    {:.1} GFLOP/s",
                fma_peak(threads, false)
            );
        }
    }
    println!("| m × k · k × n | GFLOP/s |");
    println!("|---|---|");
    for &(m, k, n) in &[
        (64, 512, 512),
        (512, 64, 512),
        (64, 512, 27),
        (256, 384, 1536),
        (4096, 384, 1152),
        (4096, 1536, 384),
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
