//! Embeds the real training plots with the sentence encoder and prints docs/s and GFLOP/s, and
//! the known check cos("A man is eating food.", "A man is eating a piece of bread.").
//!
//! `cargo run --release --example embed_probe -- [N_DOCS] [BATCH]`
use genre_nlp::features::sentence::cosine;
use genre_nlp::features::{EncoderOptions, SentenceEncoder};
use genre_nlp::prelude::*;

fn main() -> genre_nlp::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let batch: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(32);
    let enc = SentenceEncoder::minilm()?
        .with_options(EncoderOptions::default().batch_size(batch).progress(false))?;
    let e = enc.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
    let c = cosine(e.row(0).as_slice().unwrap(), e.row(1).as_slice().unwrap());
    println!("cos = {c:.4}");
    let data = Dataset::kaggle(data_file("train_data.txt")?)?;
    let texts: Vec<String> = data
        .neural_text(TextFields::TitlePlot)
        .into_iter()
        .take(n)
        .collect();
    if let Ok(dump) = std::env::var("EMBED_PROBE_DUMP") {
        let lines: Vec<String> = texts
            .iter()
            .map(|t| serde_json::to_string(t).unwrap())
            .collect();
        std::fs::write(format!("{dump}.jsonl"), lines.join("\n")).unwrap();
    }
    let _ = enc.embed(&texts[..texts.len().min(32)])?; // warm-up
    genre_nlp::nn::BertEncoder::reset_profile();
    let (x, r) = enc.embed_report(&texts)?;
    for (phase, secs) in genre_nlp::nn::BertEncoder::profile() {
        println!(
            "  {phase:<16} {secs:>7.3} s  {:>5.1} %",
            100.0 * secs / r.encode_seconds
        );
    }
    println!(
        "{} docs, {} tokens ({:.1}/doc, {} at max length): tokenize {:.3} s, encode {:.3} s, {:.1} docs/s, {:.1} GFLOP/s; first values {:?}",
        r.docs, r.tokens, r.tokens as f64 / r.docs as f64, r.truncated, r.tokenize_seconds, r.encode_seconds,
        r.docs_per_second(), r.gflops(), &x.row(0).as_slice().unwrap()[..4]
    );
    if let Ok(dump) = std::env::var("EMBED_PROBE_DUMP") {
        genre_nlp::features::cache::write_npy(&x, std::path::Path::new(&format!("{dump}.npy")))?;
    }
    Ok(())
}
