//! The MiniLM sentence encoder against sentence-transformers (tests/fixtures/minilm_reference.json,
//! written by tests/fixtures/minilm_reference.py), length sorting and batching, the embedding
//! cache under the `minilm-*` pipelines, and their save → load round trip. Needs the model that
//! `scripts/assets` fetches (`scripts/setup` runs it).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use genre_nlp::features::sentence::cosine;
use genre_nlp::nn::BertEncoder;
use genre_nlp::prelude::*;
use serde_json::Value;

/// The forward-pass counter is process-wide: every test that runs the encoder holds this lock,
/// so none moves the counter while another reads it.
static ENCODER: Mutex<()> = Mutex::new(());

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/imdb-genre")
        .join(name)
}

fn reference() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm_reference.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn encoder() -> SentenceEncoder {
    SentenceEncoder::minilm().expect("all-MiniLM-L6-v2 is missing: run scripts/assets")
}

#[test]
fn the_model_card_pair_has_cosine_0_7553() {
    let _g = ENCODER.lock().unwrap_or_else(|e| e.into_inner());
    let enc = encoder();
    let r = reference();
    let pair: Vec<String> = r["pair"]["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let e = enc.embed(&pair).unwrap();
    let c = cosine(e.row(0).as_slice().unwrap(), e.row(1).as_slice().unwrap());
    assert!((c - 0.7553).abs() < 1e-3, "cosine {c}");
    let py = r["pair"]["cosine"].as_f64().unwrap() as f32;
    assert!(
        (c - py).abs() < 1e-5,
        "ours {c}, sentence-transformers {py}"
    );
    // Unit length (L2-normalised mean pooling).
    let n: f32 = e.row(0).iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((n - 1.0).abs() < 1e-5, "norm {n}");
}

#[test]
fn real_plots_match_sentence_transformers_whatever_the_batching() {
    let _g = ENCODER.lock().unwrap_or_else(|e| e.into_inner());
    let r = reference();
    let train = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let texts = train.neural_text(TextFields::TitlePlot);
    let plots = r["plots"].as_array().unwrap();
    let rows: Vec<usize> = plots
        .iter()
        .map(|p| p["row"].as_u64().unwrap() as usize)
        .collect();
    let mine: Vec<&str> = rows.iter().map(|&i| texts[i].as_str()).collect();
    for (p, t) in plots.iter().zip(&mine) {
        assert_eq!(p["text"].as_str().unwrap(), *t, "row {} differs", p["row"]);
    }
    let enc = encoder();
    // Word pieces as the Python tokenizer counts them: 31 … 256 (two cut at 256).
    let ids = enc.tokenize(&mine).unwrap();
    let lens: Vec<usize> = ids.iter().map(|s| s.len()).collect();
    let py_lens: Vec<usize> = plots
        .iter()
        .map(|p| p["tokens"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(lens, py_lens);
    assert!(lens.iter().max().unwrap() / lens.iter().min().unwrap() >= 8);

    // One batch holding every length.
    let all = enc.embed(&mine).unwrap();
    for (i, p) in plots.iter().enumerate() {
        let py = floats(&p["embedding"]);
        let d = max_abs_diff(all.row(i).as_slice().unwrap(), &py);
        assert!(d < 2e-5, "row {}: max |ours - python| = {d}", rows[i]);
        assert!(cosine(all.row(i).as_slice().unwrap(), &py) > 0.99999);
    }
    // Batches of 1 and 2, and the texts reversed: the same vectors.
    for bs in [1, 2] {
        let e = encoder()
            .with_options(EncoderOptions::default().batch_size(bs))
            .unwrap();
        let x = e.embed(&mine).unwrap();
        for (i, row) in rows.iter().enumerate() {
            let d = max_abs_diff(x.row(i).as_slice().unwrap(), all.row(i).as_slice().unwrap());
            assert!(d < 1e-6, "batch size {bs}, row {row}: {d}");
        }
    }
    let rev: Vec<&str> = mine.iter().rev().copied().collect();
    let x = enc.embed(&rev).unwrap();
    for (i, row) in rows.iter().enumerate() {
        let j = mine.len() - 1 - i;
        let d = max_abs_diff(x.row(j).as_slice().unwrap(), all.row(i).as_slice().unwrap());
        assert!(d < 1e-6, "reversed, row {row}: {d}");
    }
    // Embedded next to 40 other plots (other batches, other neighbours): the same.
    let mut mixed: Vec<&str> = texts[100..140].iter().map(|s| s.as_str()).collect();
    mixed.splice(7..7, mine.iter().copied());
    let x = enc.embed(&mixed).unwrap();
    for (i, row) in rows.iter().enumerate() {
        let d = max_abs_diff(
            x.row(7 + i).as_slice().unwrap(),
            all.row(i).as_slice().unwrap(),
        );
        assert!(d < 1e-6, "among others, row {row}: {d}");
    }
}

#[test]
fn the_cache_serves_a_second_run_and_only_encodes_new_texts() {
    let _g = ENCODER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let train = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let texts = train.neural_text(TextFields::TitlePlot);
    let opts = EncoderOptions::default().max_length(64);
    let enc = encoder()
        .with_options(opts.clone())
        .unwrap()
        .with_cache(EmbeddingCache::new(dir.path()));
    let first: Vec<&str> = texts[..40].iter().map(|s| s.as_str()).collect();
    let before = BertEncoder::forward_passes();
    let (a, r1) = enc.embed_report(&first).unwrap();
    assert_eq!((r1.docs, r1.cached), (40, 0));
    assert!(BertEncoder::forward_passes() > before);

    let before = BertEncoder::forward_passes();
    let (b, r2) = enc.embed_report(&first).unwrap();
    assert_eq!(
        BertEncoder::forward_passes(),
        before,
        "second run called the encoder"
    );
    assert_eq!((r2.cached, r2.encoded(), r2.tokens), (40, 0, 0));
    assert_eq!(a, b);

    // Half old, half new: only the new ones are encoded, every row equals a fresh encoding.
    let mixed: Vec<&str> = texts[20..60].iter().map(|s| s.as_str()).collect();
    let (c, r3) = enc.embed_report(&mixed).unwrap();
    assert_eq!((r3.cached, r3.encoded()), (20, 20));
    let plain = encoder().with_options(opts).unwrap().embed(&mixed).unwrap();
    let d = max_abs_diff(c.as_slice().unwrap(), plain.as_slice().unwrap());
    assert!(d < 1e-6, "{d}");

    // Another max length is another cache space.
    let other = encoder()
        .with_options(EncoderOptions::default().max_length(32))
        .unwrap()
        .with_cache(EmbeddingCache::new(dir.path()));
    assert_eq!(other.embed_report(&first).unwrap().1.cached, 0);

    let cleared = EmbeddingCache::new(dir.path()).clear().unwrap();
    assert!(cleared.files >= 3, "{cleared:?}");
    assert_eq!(enc.embed_report(&first).unwrap().1.cached, 0);
}

fn small(ds: &Dataset, n: usize) -> Dataset {
    ds.take(&(0..n).collect::<Vec<_>>()).unwrap()
}

#[test]
fn minilm_pipelines_refit_from_the_cache_and_reload_identically() {
    let _g = ENCODER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let train = small(&Dataset::kaggle(shared("train_data.txt")).unwrap(), 400);
    let test = small(
        &Dataset::kaggle(shared("test_data_solution.txt")).unwrap(),
        120,
    );
    let quiet = || PipelineFitOptions {
        quiet: true,
        ..Default::default()
    };
    for name in ["minilm-linear", "minilm-ffnn"] {
        let mut cfg = PipelineConfig::from_name(name).unwrap();
        cfg.set("max_length", "64").unwrap();
        cfg.set("cache_dir", cache.to_str().unwrap()).unwrap();
        let p1 = cfg.fit_with(&train, quiet()).unwrap();
        let before = BertEncoder::forward_passes();
        let p2 = cfg.fit_with(&train, quiet()).unwrap();
        assert_eq!(
            BertEncoder::forward_passes(),
            before,
            "{name}: the second fit called the encoder"
        );
        let s1 = p1.scores(&test).unwrap();
        assert_eq!(s1, p2.scores(&test).unwrap(), "{name}: refit differs");
        let out = dir.path().join(name);
        p1.save(&out).unwrap();
        let loaded = genre_nlp::models::load(&out).unwrap();
        assert_eq!(
            loaded.scores(&test).unwrap(),
            s1,
            "{name}: reloaded differs"
        );
        let probs = loaded.predict_proba(&test).unwrap().unwrap();
        for row in probs.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-4);
        }
        // The 120 test rows are right more often than chance (1/27) even from 400 rows.
        let pred = loaded.predict(&test).unwrap();
        let truth = test.genres();
        let labels = Labels::from_dataset(&train).unwrap();
        let hits = pred
            .iter()
            .zip(&truth)
            .filter(|(p, t)| labels.name(**p) == **t)
            .count();
        assert!(hits > 120 / 27 * 3, "{name}: {hits} of 120 right");
    }
    // A bad option names its key.
    let mut cfg = PipelineConfig::from_name("minilm-linear").unwrap();
    let err = cfg.set("max_length", "1").unwrap_err().to_string();
    assert!(err.contains("max_length"), "{err}");
    let err = cfg.set("no_such_key", "1").unwrap_err().to_string();
    assert!(
        err.contains("no_such_key") && err.contains("cache_dir"),
        "{err}"
    );
}
