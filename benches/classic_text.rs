//! Throughput of the classic text view on full-size input.
//!
//! Reads the Kaggle training file (`GENRE_DATA`, default `../shared/data/imdb-genre/train_data.txt`
//! relative to the crate), resamples its real rows with a seeded RNG to `GENRE_BENCH_ROWS` rows
//! (default 54,214, the size of the full training file), and times each stage of
//! `ClassicText` — tagging, phrase learning, phrase application — then `fit` and `transform`
//! end to end. Run: `cargo bench --bench classic_text`.

use genre_nlp::text::{
    classic_tokens_all, compose, shared_tagger, ClassicConfig, ClassicText, Phrases, TextFields,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let path = std::env::var_os("GENRE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/data/imdb-genre/train_data.txt")
        });
    let rows: usize = match std::env::var("GENRE_BENCH_ROWS") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| fail(&format!("GENRE_BENCH_ROWS={v} is not a number"))),
        Err(_) => 54_214,
    };
    let raw = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    // `ID ::: TITLE ::: GENRE ::: DESCRIPTION`
    let base: Vec<String> = raw
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(" ::: ").collect();
            (f.len() == 4).then(|| compose(f[1], f[3], TextFields::TitlePlot))
        })
        .collect();
    if base.is_empty() {
        fail(&format!(
            "{}: no `ID ::: TITLE ::: GENRE ::: DESCRIPTION` rows",
            path.display()
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let texts: Vec<&str> = (0..rows)
        .map(|_| base[rng.random_range(0..base.len())].as_str())
        .collect();
    let threads = rayon::current_num_threads();
    eprintln!(
        "{} real rows from {}, resampled (seed 42) to {rows}; {threads} rayon threads",
        base.len(),
        path.display()
    );

    let t = Instant::now();
    shared_tagger();
    let tagger_init = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let _ = english_pos_tagger::Tagger::new();
    let tagger_new = t.elapsed().as_secs_f64();
    eprintln!("first tagger (lexicon parse + copy): {tagger_init:.3} s; Tagger::new() after: {tagger_new:.3} s");

    let cfg = ClassicConfig::default();
    let mut table = Vec::new();

    let t = Instant::now();
    let tokens = classic_tokens_all(&texts, &cfg);
    let tag_s = t.elapsed().as_secs_f64();
    let n_tokens: usize = tokens.iter().map(Vec::len).sum();
    table.push(("tag + filter (classic_tokens)", tag_s, n_tokens));

    let phrases_cfg = cfg.phrases.clone().unwrap_or_default();
    let t = Instant::now();
    let phrases = Phrases::fit(&tokens, phrases_cfg).unwrap_or_else(|e| fail(&e.to_string()));
    table.push(("phrases fit", t.elapsed().as_secs_f64(), n_tokens));

    let t = Instant::now();
    let joined = phrases.apply_all(&tokens);
    table.push(("phrases apply", t.elapsed().as_secs_f64(), n_tokens));
    let n_joined: usize = joined.iter().map(Vec::len).sum();

    let t = Instant::now();
    let fitted = ClassicText::fit(&texts, cfg).unwrap_or_else(|e| fail(&e.to_string()));
    table.push(("ClassicText::fit", t.elapsed().as_secs_f64(), n_tokens));

    let t = Instant::now();
    let out = fitted.transform(&texts);
    table.push((
        "ClassicText::transform",
        t.elapsed().as_secs_f64(),
        n_tokens,
    ));
    assert_eq!(out, joined, "transform must equal tag + phrases apply");

    println!(
        "\n{:<30} {:>8} {:>8} {:>9} {:>11} {:>12}",
        "stage", "rows", "threads", "seconds", "rows/s", "tokens/s"
    );
    for (stage, secs, toks) in &table {
        println!(
            "{stage:<30} {rows:>8} {threads:>8} {secs:>9.3} {:>11.0} {:>12.0}",
            rows as f64 / secs,
            *toks as f64 / secs
        );
    }
    println!(
        "\n{n_tokens} kept tokens ({:.1}/row); {} phrases learned; {n_joined} tokens after joining",
        n_tokens as f64 / rows as f64,
        phrases.len()
    );
    for p in phrases.phrases().iter().take(15) {
        println!(
            "  {}_{}  count {}  score {:.1}",
            p.first, p.second, p.count, p.score
        );
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("classic_text bench: {msg}");
    std::process::exit(1)
}
