//! `genre`: the study's command line — the same pipeline as the notebook, without Jupyter.

use clap::{Parser, Subcommand};
use genre_nlp::prelude::*;
use std::path::PathBuf;
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
    /// MLflow tracking: replay the offline outbox, or show what it still holds.
    Mlflow {
        #[command(subcommand)]
        action: MlflowAction,
    },
}

#[derive(Subcommand)]
enum MlflowAction {
    /// Replay the outbox to MLFLOW_TRACKING_URI, in order; print what was delivered.
    Sync {
        /// Outbox folder (default: $GENRE_MLFLOW_OUTBOX or artifacts/mlflow-outbox).
        #[arg(long)]
        outbox: Option<PathBuf>,
    },
    /// Show what the outbox still holds (no server needed).
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
        Command::Mlflow { action } => match action {
            MlflowAction::Status { outbox } => {
                let st = genre_nlp::track::Outbox::open(outbox_dir(outbox))?.status()?;
                println!("{st}");
            }
            MlflowAction::Sync { outbox } => {
                let cfg = MlflowConfig::from_env()?.outbox_dir(Some(outbox_dir(outbox)));
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

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
