//! `genre`: the study's command line — the same pipeline as the notebook, without Jupyter.

use clap::{Parser, Subcommand};
use genre_nlp::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "genre",
    version,
    about = "Movie-genre classification from plot summaries"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the EDA tables of a data file: genres, lengths, duplicates, distinctive terms.
    Eda {
        /// Kaggle ` ::: ` file or CSV (`text,genre`).
        #[arg(long)]
        data: PathBuf,
        /// Skip malformed records (listed on stderr) instead of failing.
        #[arg(long)]
        lenient: bool,
        /// Distinctive terms shown per genre.
        #[arg(long, default_value_t = 8)]
        top_k: usize,
        /// Skip the distinctive-terms table (it runs the classic_text view).
        #[arg(long)]
        no_terms: bool,
    },
    /// Cut a stratified train/val/hold split; write its manifest and the three sides (Kaggle format).
    Split {
        /// Labelled Kaggle ` ::: ` file or CSV.
        #[arg(long)]
        data: PathBuf,
        /// Seed of the per-genre shuffle.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Ratios train,val,hold.
        #[arg(
            long,
            default_value = "0.8,0.1,0.1",
            value_delimiter = ',',
            num_args = 3
        )]
        ratios: Vec<f64>,
        /// Output folder for the manifest and train.txt / val.txt / hold.txt.
        #[arg(long)]
        out: PathBuf,
        /// Skip malformed records (listed on stderr) instead of failing.
        #[arg(long)]
        lenient: bool,
    },
    /// Train a pipeline on a labelled file and save the model directory.
    Fit {
        /// Labelled Kaggle ` ::: ` file or CSV (`text,genre`).
        #[arg(long)]
        train: PathBuf,
        /// Pipeline to train (`--pipeline help` lists them with their `--set` keys).
        #[arg(long, default_value = "tfidf-linear")]
        pipeline: String,
        /// Output model directory.
        #[arg(long)]
        out: PathBuf,
        /// Seed of the internal validation split and the solvers.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Pipeline option `key=value` (repeatable); `--set help=1` lists the keys.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Skip malformed records (listed on stderr) instead of failing.
        #[arg(long)]
        lenient: bool,
        /// Continue an interrupted neural training from OUT/checkpoints (same options).
        #[arg(long)]
        resume: bool,
    },
    /// Predict genres with a saved model; write `id,genre` rows in input order.
    Predict {
        /// Model directory written by `genre fit`.
        #[arg(long)]
        model: PathBuf,
        /// Kaggle ` ::: ` file (3 or 4 fields) or CSV, labelled or not.
        #[arg(long)]
        input: PathBuf,
        /// Output CSV (`id,genre`).
        #[arg(long)]
        output: PathBuf,
        /// Skip malformed records (listed on stderr) instead of failing.
        #[arg(long)]
        lenient: bool,
    },
    /// Score a saved model on a labelled file: accuracy and macro-F1 (and more with --json).
    Evaluate {
        /// Model directory written by `genre fit`.
        #[arg(long)]
        model: PathBuf,
        /// Labelled Kaggle ` ::: ` file or CSV.
        #[arg(long)]
        input: PathBuf,
        /// Print every metric as one JSON object.
        #[arg(long)]
        json: bool,
        /// Also write evaluation.json and per_class.csv into this folder.
        #[arg(long)]
        report_dir: Option<PathBuf>,
        /// Skip malformed records (listed on stderr) instead of failing.
        #[arg(long)]
        lenient: bool,
    },
    /// Evaluation report of a saved model on a labelled file: metrics, per-class table and
    /// figures (confusion matrices, ROC and PR curves, per-class F1) as PNG + SVG.
    Report {
        /// Model directory written by `genre fit`.
        #[arg(long)]
        model: PathBuf,
        /// Labelled Kaggle ` ::: ` file or CSV.
        #[arg(long)]
        input: PathBuf,
        /// Output folder (e.g. artifacts/reports/tfidf-linear).
        #[arg(long)]
        out: PathBuf,
        /// Skip malformed records (listed on stderr) instead of failing.
        #[arg(long)]
        lenient: bool,
    },
    /// Embed every row of a Kaggle / CSV file with the sentence encoder (all-MiniLM-L6-v2 by
    /// default) into a float32 .npy of rows × 384, in input order.
    Embed {
        /// Kaggle ` ::: ` file (labelled or not) or CSV.
        #[arg(long)]
        input: PathBuf,
        /// The .npy to write.
        #[arg(long)]
        output: PathBuf,
        /// Model directory (config.json, model.safetensors, tokenizer.json); default:
        /// $GENRE_NLP_TOOLS/assets/all-MiniLM-L6-v2, fetched by `scripts/assets`.
        #[arg(long)]
        model_dir: Option<PathBuf>,
        /// Texts per forward pass (after sorting by length).
        #[arg(long, default_value_t = 32)]
        batch_size: usize,
        /// Word pieces kept per text.
        #[arg(long, default_value_t = 256)]
        max_length: usize,
        /// Threads (default: RAYON_NUM_THREADS or every core).
        #[arg(long)]
        threads: Option<usize>,
        /// Which fields make the text.
        #[arg(long, default_value = "title_plot", value_parser = ["plot", "title_plot"])]
        fields: String,
        /// Do not read or write the embedding cache.
        #[arg(long)]
        no_cache: bool,
        /// Skip malformed records (listed on stderr) instead of failing.
        #[arg(long)]
        lenient: bool,
    },
    /// Run the study: every pipeline of a profile on a stratified 80/10/10 split of
    /// train_data.txt, each a nested MLflow run; write summary.csv, the figures and
    /// submission.csv (the best model's predictions for test_data.txt).
    Study {
        /// Folder holding the Kaggle files (train_data.txt, test_data.txt, optionally
        /// test_data_solution.txt); default: $GENRE_DATA_DIR, data/, ../shared/data/imdb-genre.
        #[arg(long)]
        data: Option<PathBuf>,
        /// quick (every family, short training), full (every pipeline, full training) or
        /// smoke (quick with MiniLM on 32 word pieces, 1 fine-tuning epoch); default:
        /// $GENRE_PROFILE, else quick.
        #[arg(long, value_parser = ["quick", "full", "smoke"])]
        profile: Option<String>,
        /// Folder for summary.csv, the figures, per-model reports and submission.csv.
        #[arg(long, default_value = "artifacts/reports")]
        out: PathBuf,
        /// Folder for the model directories.
        #[arg(long, default_value = "artifacts/models")]
        models: PathBuf,
        /// Seed of the split and of every experiment.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Only these pipelines, comma-separated (default: the profile's list).
        #[arg(long, value_delimiter = ',')]
        pipelines: Vec<String>,
        /// Register the best model in the MLflow Model Registry under this name.
        #[arg(long, value_name = "NAME")]
        register: Option<String>,
        /// Skip malformed records (listed on stderr) instead of failing.
        #[arg(long)]
        lenient: bool,
    },
    /// The embedding cache (artifacts/cache, or $GENRE_CACHE_DIR).
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// MLflow tracking: replay the offline outbox, or show what it still holds.
    Mlflow {
        #[command(subcommand)]
        action: MlflowAction,
    },
}

#[derive(Subcommand)]
enum CacheAction {
    /// Remove every cached embedding.
    Clear {
        /// Cache folder (default: $GENRE_CACHE_DIR or artifacts/cache).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum MlflowAction {
    /// Replay the outbox to MLFLOW_TRACKING_URI, in order; print what was delivered.
    Sync {
        /// Outbox folder (default: $GENRE_MLFLOW_OUTBOX or artifacts/mlflow-outbox).
        #[arg(long)]
        outbox: Option<PathBuf>,
        /// Also replay what was queued for this earlier address of the same server (it moved
        /// to a new host or port); repeatable.
        #[arg(long = "from", value_name = "URI")]
        from: Vec<String>,
    },
    /// Show what the outbox still holds, run by run (no server needed).
    Status {
        /// Outbox folder (default: $GENRE_MLFLOW_OUTBOX or artifacts/mlflow-outbox).
        #[arg(long)]
        outbox: Option<PathBuf>,
    },
}

fn outbox_dir(arg: Option<PathBuf>) -> PathBuf {
    arg.or_else(|| std::env::var_os("GENRE_MLFLOW_OUTBOX").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(genre_nlp::track::DEFAULT_OUTBOX_DIR))
}

fn load(data: &PathBuf, lenient: bool) -> Result<Dataset> {
    let opts = if lenient {
        LoadOptions::new().lenient()
    } else {
        LoadOptions::new()
    };
    Dataset::load_with(data, opts)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Eda {
            data,
            lenient,
            top_k,
            no_terms,
        } => {
            let ds = load(&data, lenient)?;
            println!("{}\n", ds.summary());
            println!("{}\n", length_stats(&ds)?);
            println!("{}\n", duplicate_texts(&ds)?);
            if !no_terms && ds.is_labelled() {
                let texts = ds.text_views(TextFields::default());
                let (_, docs) = ClassicText::fit_transform(&texts, ClassicConfig::default())?;
                let terms = top_terms(&ds, &docs, top_k, 500.0)?;
                println!("{}", top_terms_wide(&terms)?.max_rows(1000));
            }
        }
        Command::Split {
            data,
            seed,
            ratios,
            out,
            lenient,
        } => {
            let ds = load(&data, lenient)?;
            let cfg = SplitConfig::default()
                .ratios(ratios[0], ratios[1], ratios[2])
                .seed(seed);
            let split = ds.split(cfg)?;
            let manifest = split.manifest.write(&out)?;
            for (name, side) in [
                ("train", &split.train),
                ("val", &split.val),
                ("hold", &split.hold),
            ] {
                let path = out.join(format!("{name}.txt"));
                side.write_kaggle(&path)?;
                println!("{name:>5}: {:>6} rows -> {}", side.len(), path.display());
            }
            println!(
                "manifest: {} (split sha256 {})",
                manifest.display(),
                split.manifest.split_sha256
            );
        }
        Command::Fit {
            train,
            pipeline,
            out,
            seed,
            set,
            lenient,
            resume,
        } => {
            if pipeline == "help" {
                print_pipelines()?;
            } else if pipeline == genre_nlp::models::tfidf_linear::PIPELINE {
                fit(&train, &pipeline, &out, seed, &set, lenient)?
            } else {
                fit_composed(&train, &pipeline, &out, seed, &set, lenient, resume)?
            }
        }
        Command::Predict {
            model,
            input,
            output,
            lenient,
        } => {
            let m = genre_nlp::models::load(&model)?;
            let ds = load(&input, lenient)?;
            let genres = m.predict_genres(&ds)?;
            genre_nlp::data::write_predictions(&ds, &genres, &output)?;
            eprintln!("{} predictions -> {}", genres.len(), output.display());
        }
        Command::Evaluate {
            model,
            input,
            json,
            report_dir,
            lenient,
        } => evaluate(&model, &input, json, report_dir, lenient)?,
        Command::Report {
            model,
            input,
            out,
            lenient,
        } => report(&model, &input, &out, lenient)?,
        Command::Embed {
            input,
            output,
            model_dir,
            batch_size,
            max_length,
            threads,
            fields,
            no_cache,
            lenient,
        } => {
            let fields = if fields == "plot" {
                TextFields::Plot
            } else {
                TextFields::TitlePlot
            };
            let dir = model_dir.unwrap_or_else(genre_nlp::features::sentence::default_model_dir);
            let mut enc = SentenceEncoder::from_dir(&dir)?.with_options(
                EncoderOptions::default()
                    .batch_size(batch_size)
                    .max_length(max_length)
                    .threads(threads),
            )?;
            if !no_cache {
                enc = enc.with_cache(EmbeddingCache::open_default());
            }
            let ds = load(&input, lenient)?;
            let (x, r) = enc.embed_report(&ds.neural_text(fields))?;
            genre_nlp::features::cache::write_npy(&x, &output)?;
            if r.encoded() == 0 {
                println!(
                    "embedded {} rows (all from the cache) -> {} ({} × {})",
                    r.docs,
                    output.display(),
                    x.nrows(),
                    x.ncols()
                );
            } else {
                println!(
                    "embedded {} rows ({} from the cache; {} encoded: {} word pieces, {} at max \
                     length {max_length}) in {:.1} s: {:.1} docs/s, {:.1} GFLOP/s -> {} ({} × {})",
                    r.docs,
                    r.cached,
                    r.encoded(),
                    r.tokens,
                    r.truncated,
                    r.tokenize_seconds + r.encode_seconds,
                    r.docs_per_second(),
                    r.gflops(),
                    output.display(),
                    x.nrows(),
                    x.ncols()
                );
            }
        }
        Command::Study {
            data,
            profile,
            out,
            models,
            seed,
            pipelines,
            register,
            lenient,
        } => study(
            data,
            profile,
            StudyOut {
                reports: out,
                models,
            },
            seed,
            pipelines,
            register,
            lenient,
        )?,
        Command::Cache { action } => match action {
            CacheAction::Clear { dir } => {
                let cache = EmbeddingCache::new(dir.unwrap_or_else(EmbeddingCache::default_dir));
                let c = cache.clear()?;
                println!(
                    "removed {} cached embedding files ({:.1} MB) from {}",
                    c.files,
                    c.bytes as f64 / 1e6,
                    cache.dir().display()
                );
            }
        },
        Command::Mlflow { action } => match action {
            MlflowAction::Status { outbox } => {
                let st = genre_nlp::track::Outbox::open(outbox_dir(outbox))?.status()?;
                println!("{st}");
            }
            MlflowAction::Sync { outbox, from } => {
                let mut cfg = MlflowConfig::from_env()?.outbox_dir(Some(outbox_dir(outbox)));
                for uri in from {
                    cfg = cfg.replay_from(uri);
                }
                let uri = cfg.tracking_uri.clone();
                let report = Mlflow::new(cfg)?.sync()?;
                println!("{uri}: {report}");
                if report.remaining > 0 || !report.rejected.is_empty() {
                    return Err(Error::Tracking(format!(
                        "{} entries still pending, {} refused (see above)",
                        report.remaining,
                        report.rejected.len()
                    )));
                }
            }
        },
    }
    Ok(())
}

/// A data file's name for MLflow's dataset list (`train_data.txt`).
fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Experiment the CLI logs to (MLFLOW_EXPERIMENT_NAME overrides it).
const EXPERIMENT: &str = "movie-genre-nlp";

/// Runs `body` inside a tracked run named `name`; the run ends FAILED if `body` fails.
fn tracked<T>(
    tracker: &mut dyn Tracker,
    name: &str,
    body: impl FnOnce(&mut dyn Tracker) -> Result<T>,
) -> Result<T> {
    tracker.start_run(name)?;
    match body(tracker) {
        Ok(v) => {
            tracker.end_run(RunStatus::Finished)?;
            Ok(v)
        }
        Err(e) => {
            let _ = tracker.end_run(RunStatus::Failed);
            Err(e)
        }
    }
}

fn fit(
    train: &Path,
    pipeline: &str,
    out: &Path,
    seed: u64,
    set: &[String],
    lenient: bool,
) -> Result<()> {
    if pipeline != genre_nlp::models::tfidf_linear::PIPELINE {
        return Err(Error::Config(format!(
            "unknown pipeline `{pipeline}` (known: tfidf-linear)"
        )));
    }
    let mut cfg = TfidfLinearConfig::default().seed(seed);
    let keys = genre_nlp::models::tfidf_linear::SET_KEYS;
    if apply_sets(pipeline, set, keys, |k, v| cfg.set(k, v))? {
        return Ok(());
    }
    cfg.validate()?;
    let ds = load(&train.to_path_buf(), lenient)?;
    let mut tracker = genre_nlp::track::from_env(EXPERIMENT)?;
    tracked(tracker.as_mut(), &format!("fit {pipeline}"), |t| {
        log_fit_params(t, train, &ds, &cfg.params())?;
        let model = cfg.fit(&ds)?;
        let r = model.fit_report();
        for (step, (c, f1, acc)) in r.tuning.iter().enumerate() {
            t.log_metric("tuning.c", f64::from(*c), step as i64)?;
            t.log_metric("tuning.val_macro_f1", *f1, step as i64)?;
            t.log_metric("tuning.val_accuracy", *acc, step as i64)?;
            eprintln!("  C = {c:<6} validation macro-F1 {f1:.4}  accuracy {acc:.4}");
        }
        t.log_metrics(
            &[
                ("chosen_c", f64::from(r.chosen_c)),
                ("n_features", r.n_features as f64),
                ("seconds.view", r.view_seconds),
                ("seconds.tuning", r.tuning_seconds),
                ("seconds.vectorize", r.vectorize_seconds),
                ("seconds.model", r.model_seconds),
                ("seconds.total", r.total_seconds),
            ],
            0,
        )?;
        model.save(out)?;
        let best = r.tuning.iter().find(|t| t.0 == r.chosen_c);
        let metrics: Vec<(&str, f64)> = best
            .map(|(_, f1, acc)| vec![("best.val_macro_f1", *f1), ("best.val_accuracy", *acc)])
            .unwrap_or_default();
        let kind = format!("genre-nlp/{pipeline}");
        t.log_model(pipeline, out, &kind, &cfg.params(), &metrics)?;
        println!(
            "trained {pipeline} on {} rows ({} features, C = {}) in {:.1} s -> {}",
            r.train_rows,
            r.n_features,
            r.chosen_c,
            r.total_seconds,
            out.display()
        );
        Ok(())
    })
}

/// `genre fit --pipeline help`: every pipeline and its `--set` keys.
fn print_pipelines() -> Result<()> {
    for (name, what) in genre_nlp::models::PIPELINES {
        println!("{name}: {what}");
        let keys: Vec<&str> = if *name == genre_nlp::models::tfidf_linear::PIPELINE {
            genre_nlp::models::tfidf_linear::SET_KEYS.to_vec()
        } else {
            PipelineConfig::from_name(name)?.keys()
        };
        println!("  --set keys: {}\n", keys.join(", "));
    }
    Ok(())
}

/// Applies every `--set KEY=VALUE` with `apply`; `Ok(true)` when one was `help` (the keys
/// were printed and nothing should run).
fn apply_sets(
    pipeline: &str,
    set: &[String],
    keys: &[&str],
    mut apply: impl FnMut(&str, &str) -> Result<()>,
) -> Result<bool> {
    for kv in set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Error::Config(format!("--set {kv}: expected KEY=VALUE")))?;
        if k == "help" {
            println!("options of {pipeline}:\n  {}", keys.join("\n  "));
            return Ok(true);
        }
        apply(k, v)?;
    }
    Ok(false)
}

/// What every `fit` run logs first: the command, the training file and its rows, the options.
fn log_fit_params(
    t: &mut dyn Tracker,
    train: &Path,
    ds: &Dataset,
    params: &[(String, String)],
) -> Result<()> {
    t.set_tag("genre.command", "fit")?;
    t.log_param("data.train", &train.display().to_string())?;
    t.log_param("data.rows", &ds.len().to_string())?;
    t.log_dataset(&genre_nlp::track::dataset_input(
        ds,
        &file_label(train),
        "training",
    ))?;
    for (k, v) in params {
        t.log_param(k, v)?;
    }
    Ok(())
}

/// `genre fit` for a composed pipeline (representation × model).
fn fit_composed(
    train: &Path,
    pipeline: &str,
    out: &Path,
    seed: u64,
    set: &[String],
    lenient: bool,
    resume: bool,
) -> Result<()> {
    let mut cfg = PipelineConfig::from_name(pipeline)?;
    cfg.set("seed", &seed.to_string())?;
    let keys = cfg.keys();
    if apply_sets(pipeline, set, &keys, |k, v| cfg.set(k, v))? {
        return Ok(());
    }
    cfg.validate()?;
    let ds = load(&train.to_path_buf(), lenient)?;
    let mut tracker = genre_nlp::track::from_env(EXPERIMENT)?;
    tracked(tracker.as_mut(), &format!("fit {pipeline}"), |t| {
        log_fit_params(t, train, &ds, &cfg.params())?;
        let model = cfg.fit_with(
            &ds,
            PipelineFitOptions {
                tracker: Some(&mut *t),
                checkpoint_dir: Some(out.join("checkpoints")),
                resume,
                ..Default::default()
            },
        )?;
        let r = model.fit_report().clone();
        let best = model.history().best().cloned();
        let mut finals = vec![
            ("n_features", r.n_features as f64),
            ("n_params", r.n_params as f64),
            ("seconds.representation", r.representation_seconds),
            ("seconds.train", r.train_seconds),
            ("seconds.total", r.total_seconds),
        ];
        if let Some(b) = &best {
            finals.push(("best_epoch", b.epoch as f64));
        }
        t.log_metrics(&finals, 0)?;
        model.save(out)?;
        // The kept epoch's scores, on the run and on its logged model.
        let metrics: Vec<(&str, f64)> = best
            .as_ref()
            .map(|b| {
                vec![
                    ("best.val_macro_f1", b.val_macro_f1),
                    ("best.val_accuracy", b.val_accuracy),
                ]
            })
            .unwrap_or_default();
        let kind = format!("genre-nlp/{pipeline}");
        t.log_model(pipeline, out, &kind, &cfg.params(), &metrics)?;
        let how = match (&best, r.tuning.iter().max_by(|a, b| a.1.total_cmp(&b.1))) {
            (Some(b), _) => format!(
                "best epoch {} of {}, validation macro-F1 {:.4}",
                b.epoch,
                model.history().epochs.len(),
                b.val_macro_f1
            ),
            (None, Some((c, f1, _))) => format!(
                "C = {c}, {} macro-F1 {f1:.4}",
                tuned_on(&cfg, r.train_rows + r.val_rows)
            ),
            (None, None) => "no validation".to_string(),
        };
        // A linear model is refitted on the validation rows too.
        let rows = match &cfg.model {
            genre_nlp::models::ModelSpec::Linear(_) => r.train_rows + r.val_rows,
            _ => r.train_rows,
        };
        println!(
            "trained {pipeline} on {} rows ({} features, {} parameters; {how}) in {:.1} s -> {}",
            rows,
            r.n_features,
            r.n_params,
            r.total_seconds,
            out.display()
        );
        Ok(())
    })
}

fn evaluate(
    model_dir: &Path,
    input: &Path,
    json: bool,
    report_dir: Option<PathBuf>,
    lenient: bool,
) -> Result<()> {
    let model = genre_nlp::models::load(model_dir)?;
    let ds = load(&input.to_path_buf(), lenient)?;
    let mut tracker = genre_nlp::track::from_env(EXPERIMENT)?;
    let name = format!("evaluate {}", model.pipeline());
    tracked(tracker.as_mut(), &name, |t| {
        t.set_tag("genre.command", "evaluate")?;
        t.log_param("model.dir", &model_dir.display().to_string())?;
        t.log_param("data.input", &input.display().to_string())?;
        t.log_param("data.rows", &ds.len().to_string())?;
        t.log_dataset(&genre_nlp::track::dataset_input(
            &ds,
            &file_label(input),
            "evaluation",
        ))?;
        for (k, v) in model.params() {
            t.log_param(&k, &v)?;
        }
        let ev = genre_nlp::models::evaluate(model.as_ref(), &ds)?;
        let metrics = ev.metrics();
        for (k, v) in &metrics {
            t.log_metric(&format!("test.{k}"), *v, 0)?;
        }
        let scratch;
        let dir = match &report_dir {
            Some(d) => d.clone(),
            None => {
                scratch = std::env::temp_dir().join(format!("genre-eval-{}", std::process::id()));
                scratch.clone()
            }
        };
        ev.write_files(&dir)?;
        t.log_artifact(&dir, "evaluation")?;
        if report_dir.is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        if json {
            let obj: serde_json::Map<String, serde_json::Value> = metrics
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!(v)))
                .chain([("rows".to_string(), serde_json::json!(ev.rows))])
                .collect();
            println!("{}", serde_json::Value::Object(obj));
        } else {
            println!(
                "{} rows: accuracy {:.4}, macro-F1 {:.4}",
                ev.rows,
                ev.accuracy(),
                ev.macro_f1()
            );
        }
        Ok(())
    })
}

/// Where `genre study` writes.
struct StudyOut {
    reports: PathBuf,
    models: PathBuf,
}

/// `genre study`.
fn study(
    data: Option<PathBuf>,
    profile: Option<String>,
    out: StudyOut,
    seed: u64,
    pipelines: Vec<String>,
    register: Option<String>,
    lenient: bool,
) -> Result<()> {
    let find = |name: &str| -> Result<PathBuf> {
        match &data {
            Some(dir) => {
                let p = dir.join(name);
                if p.is_file() {
                    Ok(p)
                } else {
                    Err(Error::Config(format!("{}: no such file", p.display())))
                }
            }
            None => genre_nlp::data::data_file(name),
        }
    };
    let profile = match profile {
        Some(p) => Profile::parse(&p)?,
        None => Profile::from_env()?,
    };
    let experiments: Vec<Experiment> = if pipelines.is_empty() {
        profile.experiments(seed)?
    } else {
        pipelines
            .iter()
            .map(|n| Experiment::for_profile(n.trim(), profile)?.set("seed", &seed.to_string()))
            .collect::<Result<_>>()?
    };
    let train = find("train_data.txt")?;
    let ds = load(&train, lenient)?;
    let split = ds.split(SplitConfig::default().seed(seed))?;
    let cfg = StudyConfig::default()
        .profile(profile)
        .seed(seed)
        .reports_dir(&out.reports)
        .models_dir(&out.models)
        .data_name(file_label(&train));
    let tracker = genre_nlp::track::from_env(EXPERIMENT)?;
    let mut study = Study::with_config(split, tracker, cfg)?;
    study
        .tracker()
        .log_param("data.train", &train.display().to_string())?;
    let n = experiments.len();
    let t0 = std::time::Instant::now();
    for (i, e) in experiments.into_iter().enumerate() {
        eprintln!("[study] experiment {}/{n}: {}", i + 1, e.name());
        study.run(e)?;
    }
    let outcome = (|| -> Result<()> {
        match find("test_data.txt") {
            Ok(test) => {
                let sub = study.submission(&load(&test, lenient)?)?;
                println!("{}", sub.path.display());
            }
            Err(e) => eprintln!("[study] no submission: {e}"),
        }
        if let Ok(solution) = find("test_data_solution.txt") {
            study.test(&load(&solution, lenient)?)?;
        }
        if let Some(name) = &register {
            study.register_best(name)?;
        }
        Ok(())
    })();
    let files = study.finish()?;
    outcome?;
    println!("{}", study.summary());
    println!("{}", files.summary_csv.display());
    for f in &files.figures {
        println!("{}", f.display());
    }
    if let Some(u) = study.ui_url() {
        println!("MLflow: {u}");
    }
    eprintln!(
        "[study] {n} experiments in {:.1} s ({} failed)",
        t0.elapsed().as_secs_f64(),
        study.results().iter().filter(|r| r.error.is_some()).count()
    );
    Ok(())
}

/// How a linear head's C was picked, for messages.
fn tuned_on(cfg: &PipelineConfig, rows: usize) -> String {
    match &cfg.model {
        genre_nlp::models::ModelSpec::Linear(h) => h.tuned_on(rows),
        _ => "validation".into(),
    }
}

fn report(model_dir: &Path, input: &Path, out: &Path, lenient: bool) -> Result<()> {
    let model = genre_nlp::models::load(model_dir)?;
    let ds = load(&input.to_path_buf(), lenient)?;
    let mut tracker = genre_nlp::track::from_env(EXPERIMENT)?;
    let name = format!("report {}", model.pipeline());
    tracked(tracker.as_mut(), &name, |t| {
        t.set_tag("genre.command", "report")?;
        t.log_param("model.dir", &model_dir.display().to_string())?;
        t.log_param("data.input", &input.display().to_string())?;
        let ev = genre_nlp::models::evaluate(model.as_ref(), &ds)?;
        let metrics = ev.metrics();
        for (k, v) in &metrics {
            t.log_metric(&format!("test.{k}"), *v, 0)?;
        }
        ev.write_files(out)?;
        let figures =
            genre_nlp::plot::evaluation_figures(&ev.report, &ev.confusion, &ev.curves, out)?;
        t.log_artifact(out, "report")?;
        println!(
            "{} rows: accuracy {:.4}, macro-F1 {:.4}",
            ev.rows,
            ev.accuracy(),
            ev.macro_f1()
        );
        for f in ["evaluation.json", "per_class.csv"] {
            println!("{}", out.join(f).display());
        }
        for f in figures {
            println!("{}", f.display());
        }
        Ok(())
    })
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
