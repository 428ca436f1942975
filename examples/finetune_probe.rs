//! Times fine-tuning steps of all-MiniLM-L6-v2 on real plots (forward, backward, optimiser),
//! to profile `minilm-finetune`. `cargo run --release --example finetune_probe [-- STEPS
//! BATCH MAX_LENGTH]`; needs `scripts/assets`.

use std::time::Instant;

use genre_nlp::data::{data_file, Dataset, Labels};
use genre_nlp::features::{SentenceFeatures, WordPieces};
use genre_nlp::models::{FinetuneConfig, FinetuneModel};
use genre_nlp::train::{AdamW, Ctx, Loss, LossKind, Network};
use rand::SeedableRng;

fn main() -> genre_nlp::Result<()> {
    genre_nlp::train::keep_freed_buffers();
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let steps = args.first().copied().unwrap_or(6);
    let batch = args.get(1).copied().unwrap_or(16);
    let max_length = args.get(2).copied().unwrap_or(256);
    let train = Dataset::kaggle(data_file("train_data.txt")?)?;
    let labels = Labels::from_dataset(&train)?;
    let y = labels.encode(&train)?;
    let spec = SentenceFeatures {
        max_length,
        ..SentenceFeatures::minilm()
    };
    let ids = WordPieces::from_spec(&spec)?.ids(&train)?;
    let m = FinetuneModel::from_pretrained(
        &genre_nlp::features::sentence::default_model_dir(),
        &labels,
        &FinetuneConfig::default(),
        &candle_core::Device::Cpu,
    )?;
    let loss = Loss::new(LossKind::CrossEntropy, 2.0, 0.0, None, labels.len())?;
    let mut opt = AdamW::new((0.9, 0.999), 1e-8, 0.01);
    let (mut tf, mut tb, mut to, mut tokens) = (0.0, 0.0, 0.0, 0usize);
    let cfg = m.bert_config().clone();
    let mut flops = 0.0;
    for step in 0..steps {
        let rows: Vec<usize> = (step * batch..(step + 1) * batch).collect();
        let lens: Vec<usize> = rows.iter().map(|&r| ids[r].len()).collect();
        tokens += lens.iter().sum::<usize>();
        flops += 3.0 * cfg.flops(&lens);
        let ys: Vec<usize> = rows.iter().map(|&r| y[r]).collect();
        let mut ctx = Ctx::train(rand_chacha::ChaCha8Rng::seed_from_u64(step as u64));
        let t0 = Instant::now();
        let l = loss.forward(&m.logits(&ids[..], &rows, &mut ctx)?, &ys)?;
        let t1 = Instant::now();
        let g = l.backward()?;
        let t2 = Instant::now();
        opt.step(m.params(), &g, 5e-5, Some(1.0))?;
        let t3 = Instant::now();
        let (f, b, o) = (
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
        );
        println!(
            "step {step}: loss {:.4}, {} tokens, forward {f:.3} s, backward {b:.3} s, optimiser {o:.3} s",
            l.to_scalar::<f32>()?,
            lens.iter().sum::<usize>()
        );
        if step > 0 {
            tf += f;
            tb += b;
            to += o;
        }
    }
    let n = (steps - 1).max(1) as f64;
    let total = tf + tb + to;
    println!(
        "mean of steps 2..{steps}: forward {:.3} s, backward {:.3} s, optimiser {:.3} s; {:.1} GFLOP/s over all steps' tokens ({tokens} tokens)",
        tf / n,
        tb / n,
        to / n,
        flops / 1e9 * n / steps as f64 / total
    );
    Ok(())
}
