//! Writes the dense features one of our FFNN pipelines feeds its network (`tfidf-svd`,
//! `bow-svd`, or a word-vector recipe: `w2v`, `fasttext`, `glove`, `spacy`), for the internal
//! training part, the internal validation part and the test file, so that the PyTorch peer can
//! train on exactly our features (`benches/peers/torch_ffnn.py --features DIR`): a diagnostic of
//! where a quality gap comes from (features or training). Beside each part's features it writes
//! the peer's row file (`train.jsonl`, …: the classic-view tokens the `ffnn` bench hands the
//! peer, and the genre), so `benches/peers/torch_ffnn_features_check.py` can also compute the
//! peer's own features from the same tokens and compare the two matrices.
//!
//! ```bash
//! cargo run --release --example dump_features -- tfidf-svd 42 /tmp/feats
//! ```

#[path = "../benches/common/mod.rs"]
mod common;

use genre_nlp::data::{data_file, Dataset, SplitConfig};
use genre_nlp::features::{Features, Representation};
use genre_nlp::models::{PipelineConfig, PipelineFitOptions};
use std::io::Write;

fn write(
    dir: &std::path::Path,
    name: &str,
    x: &Features,
    ds: &Dataset,
    texts: &[String],
) -> genre_nlp::Result<()> {
    let Features::Dense(x) = x else {
        return Err(genre_nlp::Error::Config("dense features only".into()));
    };
    let mut f = std::fs::File::create(dir.join(format!("{name}.f32")))
        .map_err(|e| genre_nlp::Error::io(dir, e))?;
    for v in x.iter() {
        f.write_all(&v.to_le_bytes())
            .map_err(|e| genre_nlp::Error::io(dir, e))?;
    }
    let genres: Vec<&str> = ds.genres().into_iter().map(|g| g.unwrap_or("")).collect();
    let meta = serde_json::json!({ "rows": x.nrows(), "cols": x.ncols(), "genres": genres });
    std::fs::write(dir.join(format!("{name}.json")), meta.to_string())
        .map_err(|e| genre_nlp::Error::io(dir, e))?;
    // The peer's row file: the tokens the ffnn bench hands it, and the genre.
    common::write_labelled(&dir.join(format!("{name}.jsonl")), "text", texts, ds)
}

fn main() -> genre_nlp::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let recipe = args.get(1).map_or("tfidf-svd", String::as_str);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(42);
    let dir = std::path::PathBuf::from(args.get(3).map_or("/tmp/feats", String::as_str));
    std::fs::create_dir_all(&dir).map_err(|e| genre_nlp::Error::io(&dir, e))?;
    let train = Dataset::kaggle(data_file("train_data.txt")?)?;
    let test = Dataset::kaggle(data_file("test_data_solution.txt")?)?;
    let mut cfg = PipelineConfig::from_name(&format!("{recipe}-ffnn"))?;
    cfg.set("seed", &seed.to_string())?;
    cfg.set("epochs", "1")?;
    let model = cfg.fit_with(
        &train,
        PipelineFitOptions {
            quiet: true,
            ..Default::default()
        },
    )?;
    // The same internal split as the pipeline's.
    let inner = train.split(SplitConfig::new().ratios(0.9, 0.1, 0.0).seed(seed))?;
    let repr = model.representation();
    // The peer's tokens, cut as `benches/ffnn.rs` cuts them.
    let [tr, va, te] = common::peer_classic_tokens(&inner.train, &inner.val, &test)?;
    write(
        &dir,
        "train",
        &repr.transform(&inner.train)?,
        &inner.train,
        &tr,
    )?;
    write(&dir, "val", &repr.transform(&inner.val)?, &inner.val, &va)?;
    write(&dir, "test", &repr.transform(&test)?, &test, &te)?;
    println!("{}", dir.display());
    Ok(())
}
