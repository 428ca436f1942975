//! Writes the dense features one of our `*-svd-ffnn` pipelines feeds its network, for the
//! internal training part, the internal validation part and the test file, so that the PyTorch
//! peer can train on exactly our features (`benches/peers/torch_ffnn.py --features DIR`): a
//! diagnostic of where a quality gap comes from (features or training).
//!
//! ```bash
//! cargo run --release --example dump_features -- tfidf-svd 42 /tmp/feats
//! ```

use genre_nlp::data::{data_file, Dataset, SplitConfig};
use genre_nlp::features::{Features, Representation};
use genre_nlp::models::{PipelineConfig, PipelineFitOptions};
use std::io::Write;

fn write(dir: &std::path::Path, name: &str, x: &Features, ds: &Dataset) -> genre_nlp::Result<()> {
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
    // The peer's row files (genres only: with --features it reads no text).
    let lines: String = genres
        .iter()
        .map(|g| format!("{}\n", serde_json::json!({ "text": "", "genre": g })))
        .collect();
    std::fs::write(dir.join(format!("{name}.jsonl")), lines)
        .map_err(|e| genre_nlp::Error::io(dir, e))
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
    write(&dir, "train", &repr.transform(&inner.train)?, &inner.train)?;
    write(&dir, "val", &repr.transform(&inner.val)?, &inner.val)?;
    write(&dir, "test", &repr.transform(&test)?, &test)?;
    println!("{}", dir.display());
    Ok(())
}
