//! Word2Vec and FastText training speed against gensim 4.4, side by side, in one run (one
//! table): the classic_text tokens of a 54,214-row resample of the real rows (lowercased, as
//! the `w2v` / `fasttext` pipelines train on), skip-gram, 100-d, window 5, 5 negatives,
//! min_count 5, subsampling 1e-3, 5 epochs, 2 threads on both sides. Raw words/s = corpus
//! tokens × epochs / seconds in the training passes (gensim's `train()`; vocabulary building
//! excluded on both sides). The peer (`benches/peers/gensim_w2v.py speed`) reads the same
//! corpus file, as an iterable of lists and through `corpus_file`; both sides print the nearest
//! neighbours of a few words as the downstream check.
//!
//! cargo bench --bench wordvec

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use genre_nlp::features::wordvec::{FastTextConfig, TrainStats, Word2VecConfig, WordVectors};
use genre_nlp::prelude::*;
use serde_json::Value;

const FULL_ROWS: usize = 54_214;
const PROBE: &[&str] = &[
    "love", "murder", "police", "family", "war", "music", "school", "alien",
];

fn neighbours(v: &WordVectors) -> String {
    PROBE
        .iter()
        .filter_map(|w| {
            v.nearest(w, 5).ok().map(|n| {
                let ws: Vec<&str> = n.iter().map(|x| x.word.as_str()).collect();
                format!("{w}: {}", ws.join(", "))
            })
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn main() -> Result<()> {
    let train = Dataset::kaggle(data_file("train_data.txt")?)?;
    let big = train.resample(FULL_ROWS, 1)?;
    eprintln!("classic_text of {FULL_ROWS} rows ...");
    let (_, docs) = ClassicText::fit_transform(
        &big.neural_text(TextFields::TitlePlot),
        ClassicConfig::default(),
    )?;
    let docs: Vec<Vec<String>> = docs
        .into_iter()
        .map(|d| d.into_iter().map(|t| t.to_lowercase()).collect())
        .collect();
    let tokens: usize = docs.iter().map(Vec::len).sum();
    let work = std::env::temp_dir().join(format!("genre-wordvec-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    let corpus = work.join("corpus.txt");
    {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(&corpus).map_err(|e| Error::io(&corpus, e))?,
        );
        for d in &docs {
            writeln!(f, "{}", d.join(" ")).map_err(|e| Error::io(&corpus, e))?;
        }
        f.flush().map_err(|e| Error::io(&corpus, e))?;
    }
    let w2v = Word2VecConfig::default().epochs(5).threads(2);
    eprintln!("ours: Word2Vec ...");
    let (wv, ws) = w2v.train_with_stats(&docs)?;
    eprintln!("ours: FastText ...");
    let (fv, fs) = FastTextConfig::default()
        .word2vec(w2v.clone())
        .train_with_stats(&docs)?;
    let peer = common::peer_python(false, "gensim", "gensim")
        .map(|py| run_peer(&py, &corpus))
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "\nWord2Vec / FastText training vs gensim 4.4.0: {FULL_ROWS}-row resample of the real \
         rows, {} documents, {tokens} tokens; skip-gram, 100-d, window 5, 5 negatives, \
         min_count 5, 5 epochs, 2 threads.\n",
        docs.len()
    );
    println!("| model | ours words/s | gensim words/s (iterable) | gensim words/s (corpus_file) | ours / best gensim | vocab ours / gensim |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, stats) in [("word2vec", &ws), ("fasttext", &fs)] {
        let get = |mode: &str, k: &str| {
            peer.iter()
                .find(|(n, m, _)| n == name && m == mode)
                .and_then(|(_, _, v)| v[k].as_f64())
                .unwrap_or(f64::NAN)
        };
        let (it, cf) = (
            get("iterable", "raw_words_per_s"),
            get("corpus_file", "raw_words_per_s"),
        );
        let best = it.max(cf);
        row(name, stats, it, cf, best, get("iterable", "vocab"));
    }
    println!("\nNearest neighbours (cosine), ours:");
    println!("- word2vec: {}", neighbours(&wv));
    println!("- fasttext: {}", neighbours(&fv));
    for (name, mode, v) in &peer {
        if mode == "iterable" {
            println!("gensim {name}: {}", v["neighbours"]);
        }
    }
    Ok(())
}

fn row(name: &str, s: &TrainStats, it: f64, cf: f64, best: f64, vocab: f64) {
    let ours = s.raw_words_per_sec();
    println!(
        "| {name} | {:.0} | {:.0} | {:.0} | {:.2}× | {} / {:.0} |",
        ours,
        it,
        cf,
        ours / best,
        s.vocab_size,
        vocab
    );
}

fn run_peer(py: &Path, corpus: &Path) -> Vec<(String, String, Value)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/gensim_w2v.py");
    let out = match Command::new(py)
        .arg(&script)
        .arg("speed")
        .arg(corpus)
        .output()
    {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!("gensim peer failed: {}", String::from_utf8_lossy(&o.stderr));
            return Vec::new();
        }
        Err(e) => {
            eprintln!("gensim peer: {e}");
            return Vec::new();
        }
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ' ');
            let (n, m, j) = (parts.next()?, parts.next()?, parts.next()?);
            Some((n.to_string(), m.to_string(), serde_json::from_str(j).ok()?))
        })
        .collect()
}
