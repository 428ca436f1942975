//! The study: runs (representation × model) experiments on one split, logs each as a nested
//! MLflow run under one study run, and gathers the results table, the family-evolution and
//! latency charts, and the submission file.
//!
//! ```no_run
//! use genre_nlp::prelude::*;
//! # fn main() -> genre_nlp::Result<()> {
//! let data = Dataset::kaggle(data_file("train_data.txt")?)?;
//! let split = data.split(SplitConfig::default())?;
//! let mut study = Study::new(split, genre_nlp::track::from_env("movie-genre-nlp")?)?;
//! study.run(Experiment::new("tfidf-linear")?)?;
//! study.run(Experiment::new("tfidf-svd-ffnn")?.set("epochs", "20")?)?;
//! let summary = study.finish()?;             // summary.csv, figures, the study run ended
//! # Ok(()) }
//! ```

pub mod experiment;
pub mod result;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::data::{Dataset, Split};
use crate::display::Table;
use crate::error::{Error, Result};
use crate::models::{evaluate, Classifier, Evaluation, Fit, PipelineFitOptions};
use crate::plot::Figure;
use crate::track::system::{log_samples, SystemSampler};
use crate::track::{dataset_input, RunStatus, Tracker};
use crate::train::History;

pub use experiment::{Experiment, ExperimentSpec, Family, Profile, PROFILE_VAR};
pub use result::{family_scores, latencies, results_table, ExperimentResult, SummaryRow};

/// Where a study writes and how it measures.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyConfig {
    /// The profile the study was sized by (shown and logged; [`Profile::experiments`] lists
    /// its experiments).
    pub profile: Profile,
    /// Seed given to every experiment by [`Study::run_profile`].
    pub seed: u64,
    /// Name of the study's MLflow run (default `study-<profile>`).
    pub run_name: Option<String>,
    /// Model folders go to `models_dir/<pipeline>` (default `artifacts/models`).
    pub models_dir: PathBuf,
    /// Figures, tables and `summary.csv` go to `reports_dir` (default `artifacts/reports`).
    pub reports_dir: PathBuf,
    /// Hold-out rows scored by the latency probe (after a warm-up of 8).
    pub latency_rows: usize,
    /// Sample system metrics this often during each experiment (`None`: off).
    pub system_metrics: Option<Duration>,
    /// Name of the training data in MLflow's dataset list.
    pub data_name: String,
    /// No progress lines.
    pub quiet: bool,
}

/// `artifacts/<sub>`, or `../artifacts/<sub>` when run from `notebooks/`.
fn artifacts(sub: &str) -> PathBuf {
    if !Path::new("artifacts").is_dir() && Path::new("../artifacts").is_dir() {
        return Path::new("../artifacts").join(sub);
    }
    Path::new("artifacts").join(sub)
}

impl Default for StudyConfig {
    fn default() -> Self {
        StudyConfig {
            profile: Profile::Quick,
            seed: 42,
            run_name: None,
            models_dir: artifacts("models"),
            reports_dir: artifacts("reports"),
            latency_rows: 256,
            system_metrics: Some(Duration::from_secs(2)),
            data_name: "train_data.txt".into(),
            quiet: false,
        }
    }
}

impl StudyConfig {
    /// The defaults with the profile of `$GENRE_PROFILE` (`quick` when unset).
    pub fn from_env() -> Result<Self> {
        Ok(StudyConfig::default().profile(Profile::from_env()?))
    }
    /// Sets the profile.
    pub fn profile(mut self, p: Profile) -> Self {
        self.profile = p;
        self
    }
    /// Sets the seed of every experiment.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Names the study's MLflow run.
    pub fn run_name(mut self, name: impl Into<String>) -> Self {
        self.run_name = Some(name.into());
        self
    }
    /// Sets the models folder.
    pub fn models_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.models_dir = dir.into();
        self
    }
    /// Sets the reports folder.
    pub fn reports_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.reports_dir = dir.into();
        self
    }
    /// Sets how many rows the latency probe scores.
    pub fn latency_rows(mut self, n: usize) -> Self {
        self.latency_rows = n;
        self
    }
    /// Sets the system-metrics interval (`None`: off).
    pub fn system_metrics(mut self, every: Option<Duration>) -> Self {
        self.system_metrics = every;
        self
    }
    /// Sets the training data's name in MLflow.
    pub fn data_name(mut self, name: impl Into<String>) -> Self {
        self.data_name = name.into();
        self
    }
    /// Silences progress lines.
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }
    /// Checks the options.
    pub fn validate(&self) -> Result<()> {
        if self.latency_rows == 0 {
            return Err(Error::Config("latency_rows must be at least 1".into()));
        }
        Ok(())
    }
}

/// The files [`Study::finish`] wrote.
#[derive(Debug, Clone, Default)]
pub struct StudyFiles {
    /// `summary.csv`.
    pub summary_csv: PathBuf,
    /// The figures (PNG and SVG of `evolution_bar_val_macroF1` and `latency`).
    pub figures: Vec<PathBuf>,
}

impl StudyFiles {
    /// Shows the files written as an HTML list in evcxr.
    pub fn evcxr_display(&self) {
        let esc = |p: &Path| html_escape::encode_text(&p.display().to_string()).into_owned();
        let mut h = String::from("<p><b>study files</b></p><ul>");
        for p in std::iter::once(&self.summary_csv).chain(&self.figures) {
            h.push_str(&format!("<li><code>{}</code></li>", esc(p)));
        }
        h.push_str("</ul>");
        println!("EVCXR_BEGIN_CONTENT text/html\n{h}\nEVCXR_END_CONTENT");
    }
}

/// The predictions for unlabelled rows written by [`Study::submission`].
#[derive(Debug, Clone)]
pub struct Submission {
    /// The CSV written (`id,genre`, input order).
    pub path: PathBuf,
    /// The model that predicted.
    pub pipeline: String,
    /// The predicted genre of each row.
    pub genres: Vec<String>,
    /// The ids of the rows.
    pub ids: Vec<u64>,
    /// Its scores when the rows were labelled (e.g. `test_data_solution.txt`).
    pub score: Option<Evaluation>,
}

impl Submission {
    /// The first `n` predictions as a table.
    pub fn head(&self, n: usize) -> Table {
        let n = n.min(self.ids.len());
        let df = polars::prelude::DataFrame::new(
            n,
            vec![
                polars::prelude::Column::new("id".into(), self.ids[..n].to_vec()),
                polars::prelude::Column::new("genre".into(), self.genres[..n].to_vec()),
            ],
        );
        let title = format!(
            "{}: {} predictions by {}{}",
            self.path.display(),
            self.ids.len(),
            self.pipeline,
            self.score
                .as_ref()
                .map(|s| format!(
                    " (labelled: macro-F1 {:.4}, accuracy {:.4})",
                    s.macro_f1(),
                    s.accuracy()
                ))
                .unwrap_or_default()
        );
        match df {
            Ok(df) => Table::new(df).title(title),
            Err(e) => {
                Table::new(polars::prelude::DataFrame::empty()).title(format!("{title}: {e}"))
            }
        }
    }

    /// Shows the first 10 predictions inline in evcxr.
    pub fn evcxr_display(&self) {
        self.head(10).evcxr_display();
    }
}

/// A study over one split: every [`Study::run`] fits one experiment on the training side,
/// scores it on the validation and hold-out sides, saves and logs it as a nested run.
pub struct Study {
    split: Split,
    tracker: Box<dyn Tracker>,
    config: StudyConfig,
    results: Vec<ExperimentResult>,
    run_id: Option<String>,
    url: Option<String>,
}

impl std::fmt::Debug for Study {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Study")
            .field("config", &self.config)
            .field("results", &self.results.len())
            .field("run_id", &self.run_id)
            .finish()
    }
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// Writes an MLflow table artifact (`mlflow.log_table`'s JSON: `columns` and `data`).
fn write_table_json(
    path: &Path,
    columns: &[&str],
    rows: Vec<Vec<serde_json::Value>>,
) -> Result<()> {
    let v = serde_json::json!({ "columns": columns, "data": rows });
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    std::fs::write(path, serde_json::to_string(&v)?).map_err(|e| Error::io(path, e))
}

/// The `mlflow.loggedArtifacts` tag value listing `paths` as tables.
fn tables_tag(paths: &[&str]) -> String {
    let v: Vec<serde_json::Value> = paths
        .iter()
        .map(|p| serde_json::json!({"path": p, "type": "table"}))
        .collect();
    serde_json::Value::Array(v).to_string()
}

/// Milliseconds per document scoring up to `rows` rows of `data` in one batch, after scoring 8.
/// Each probe text ends in an extra " ." so that no embedding cache has seen it: the probe
/// times the whole model, encoder included, as for new documents.
fn latency_probe(model: &dyn Classifier, data: &Dataset, rows: usize) -> Result<f64> {
    let n = rows.min(data.len());
    if n == 0 {
        return Err(Error::Config("latency probe: no rows to score".into()));
    }
    let nonce = format!(" . {}", crate::track::types::now_ms());
    let fresh = data.map_texts(|t| format!("{t}{nonce}"));
    let warm: Vec<usize> = (0..8.min(n)).collect();
    model.scores(&fresh.take(&warm)?)?;
    let probe = fresh.take(&(0..n).collect::<Vec<_>>())?;
    let t = Instant::now();
    model.scores(&probe)?;
    Ok(1000.0 * t.elapsed().as_secs_f64() / n as f64)
}

/// The reference study's latency setting for transformers: word pieces per text at most.
pub const PROBE_MAX_LENGTH: usize = 192;
/// The reference study's latency setting for transformers: texts per forward pass.
pub const PROBE_BATCH: usize = 32;

/// For a fine-tuned transformer: [`crate::models::FinetuneModel::latency`] on up to `rows`
/// texts of `data` (at least two batches) cut at [`PROBE_MAX_LENGTH`] word pieces (or the
/// model's positions) in batches of [`PROBE_BATCH`]; `None` for any other model.
fn transformer_probe(
    p: &crate::models::Pipeline,
    data: &Dataset,
    rows: usize,
) -> Result<Option<crate::models::LatencyProbe>> {
    use crate::models::{FittedModel, FittedRepresentation};
    let (FittedModel::Finetune(m), FittedRepresentation::WordPieces(wp)) =
        (p.model(), p.representation())
    else {
        return Ok(None);
    };
    let max_length = PROBE_MAX_LENGTH.min(m.bert_config().max_tokens());
    let spec = crate::features::SentenceFeatures {
        max_length,
        ..wp.spec().clone()
    };
    let long = crate::features::WordPieces::from_dir(wp.dir(), &spec)?;
    let n = rows.max(2 * PROBE_BATCH + 1).min(data.len());
    let ids = long.ids(&data.take(&(0..n).collect::<Vec<_>>())?)?;
    if ids.len() <= PROBE_BATCH {
        return Ok(None);
    }
    Ok(Some(m.latency(&ids, max_length, PROBE_BATCH)?))
}

impl Study {
    /// A study of `split`, logging to `tracker`, with [`StudyConfig::from_env`] (the profile
    /// of `$GENRE_PROFILE`). Opens the study's run.
    pub fn new(split: Split, tracker: Box<dyn Tracker>) -> Result<Self> {
        Self::with_config(split, tracker, StudyConfig::from_env()?)
    }

    /// A study with explicit options. Opens the study's run: its description, the profile,
    /// the split and the three sides as dataset inputs.
    pub fn with_config(
        split: Split,
        mut tracker: Box<dyn Tracker>,
        config: StudyConfig,
    ) -> Result<Self> {
        config.validate()?;
        let name = config
            .run_name
            .clone()
            .unwrap_or_else(|| format!("study-{}", config.profile));
        let run_id = tracker.start_run(&name)?;
        tracker.set_tag("genre.command", "study")?;
        tracker.set_tag("genre.profile", config.profile.as_str())?;
        tracker.set_description(&format!(
            "**Movie-genre study** (`{}` profile): every (representation × model) pipeline \
             fitted on the training side ({} rows), scored on the validation ({} rows) and \
             hold-out ({} rows) sides of split `{}` (seed {}). Each pipeline is a nested run; \
             `summary.json` lists them all.",
            config.profile,
            split.train.len(),
            split.val.len(),
            split.hold.len(),
            &split.manifest.split_sha256[..12.min(split.manifest.split_sha256.len())],
            split.manifest.seed
        ))?;
        tracker.log_params(&[
            ("profile", config.profile.as_str()),
            ("seed", &config.seed.to_string()),
            ("data.rows", &split.manifest.rows.to_string()),
            ("data.genres", &split.labels.len().to_string()),
            ("split.seed", &split.manifest.seed.to_string()),
            ("split.sha256", &split.manifest.split_sha256),
        ])?;
        Self::log_sides(tracker.as_mut(), &split, &config.data_name)?;
        let manifest = split.manifest.write(config.reports_dir.join("split"))?;
        tracker.log_artifact(&manifest, "split")?;
        let url = tracker.ui_url();
        if let (Some(u), false) = (&url, config.quiet) {
            eprintln!("[study] {name} in MLflow: {u}");
        }
        Ok(Study {
            url,
            split,
            tracker,
            config,
            results: Vec::new(),
            run_id: Some(run_id),
        })
    }

    fn log_sides(t: &mut dyn Tracker, split: &Split, data_name: &str) -> Result<()> {
        let stem = data_name.trim_end_matches(".txt");
        t.log_dataset(&dataset_input(
            &split.train,
            &format!("{stem}:train"),
            "training",
        ))?;
        t.log_dataset(&dataset_input(
            &split.val,
            &format!("{stem}:val"),
            "validation",
        ))?;
        t.log_dataset(&dataset_input(
            &split.hold,
            &format!("{stem}:hold"),
            "evaluation",
        ))
    }

    /// The study's run in the MLflow UI (its model-training view), when tracked.
    pub fn ui_url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The options.
    pub fn config(&self) -> &StudyConfig {
        &self.config
    }

    /// The split it runs on.
    pub fn split(&self) -> &Split {
        &self.split
    }

    /// The tracker it logs to.
    pub fn tracker(&mut self) -> &mut dyn Tracker {
        self.tracker.as_mut()
    }

    /// Every result so far, in run order.
    pub fn results(&self) -> &[ExperimentResult] {
        &self.results
    }

    /// The pipeline named `pipeline`'s latest result.
    pub fn result(&self, pipeline: &str) -> Option<&ExperimentResult> {
        self.results.iter().rev().find(|r| r.pipeline == pipeline)
    }

    /// Pipeline `name` with this study's profile overrides and seed.
    pub fn experiment(&self, name: &str) -> Result<Experiment> {
        Experiment::for_profile(name, self.config.profile)?
            .set("seed", &self.config.seed.to_string())
    }

    /// Runs pipeline `name` with this study's profile and seed ([`Study::experiment`]).
    pub fn fit(&mut self, name: &str) -> Result<&ExperimentResult> {
        let e = self.experiment(name)?;
        self.run(e)
    }

    /// Runs every pipeline of `family` in this study's profile; returns their results table.
    pub fn run_family(&mut self, family: Family) -> Result<Table> {
        let experiments: Vec<Experiment> = self
            .config
            .profile
            .experiments(self.config.seed)?
            .into_iter()
            .filter(|e| e.family() == family)
            .collect();
        let from = self.results.len();
        for e in experiments {
            self.run(e)?;
        }
        Ok(results_table(
            &self.results[from..],
            &format!("{family} ({} profile)", self.config.profile),
        ))
    }

    /// The latest result of pipeline `name`; an error naming the pipelines run so far when it
    /// has not run.
    pub fn get(&self, name: &str) -> Result<&ExperimentResult> {
        self.result(name).ok_or_else(|| {
            Error::Config(format!(
                "pipeline `{name}` has not run in this study; ran: {}",
                self.results
                    .iter()
                    .map(|r| r.pipeline.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    /// [`Study::best`], or an error when nothing has scores yet.
    pub fn best_result(&self) -> Result<&ExperimentResult> {
        self.best()
            .ok_or_else(|| Error::Config("no experiment of this study has scores yet".into()))
    }

    /// The best result's pipeline name and its model, loaded from its saved directory.
    fn best_model(&self) -> Result<(String, Box<dyn Classifier>)> {
        let best = self.best_result()?;
        let dir = best
            .model_dir
            .as_ref()
            .ok_or_else(|| Error::Config(format!("{} has no saved model", best.pipeline)))?;
        Ok((best.pipeline.clone(), crate::models::load(dir)?))
    }

    /// Runs `experiment` as a nested run and records its result. A failing experiment does not
    /// fail the study: its run ends FAILED and its result carries the error. `Err` only when
    /// the tracker itself refuses a call.
    pub fn run(&mut self, experiment: Experiment) -> Result<&ExperimentResult> {
        let name = experiment.name();
        let family = experiment.family();
        if !self.config.quiet {
            eprintln!(
                "[study] {name} ({family}): fitting on {} rows",
                self.split.train.len()
            );
        }
        let t0 = Instant::now();
        let run_id = self.tracker.start_run(&name)?;
        let sampler = self.config.system_metrics.map(SystemSampler::start);
        let outcome = run_one(
            &self.split,
            self.tracker.as_mut(),
            &self.config,
            &experiment,
        );
        let samples = sampler.map(SystemSampler::stop).unwrap_or_default();
        log_samples(self.tracker.as_mut(), &samples)?;
        let mut result = match outcome {
            Ok(r) => {
                self.tracker.end_run(RunStatus::Finished)?;
                r
            }
            Err(e) => {
                let msg = e.to_string();
                self.tracker
                    .set_tag("genre.error", &msg.chars().take(4000).collect::<String>())?;
                self.tracker.end_run(RunStatus::Failed)?;
                ExperimentResult::failed(name.clone(), family, experiment.representation(), &e)
            }
        };
        result.run_id = Some(run_id);
        if !self.config.quiet {
            match (&result.error, result.macro_f1(), result.accuracy()) {
                (None, Some(f1), Some(acc)) => eprintln!(
                    "[study] {name}: hold-out macro-F1 {f1:.4}, accuracy {acc:.4} ({:.1} s)",
                    t0.elapsed().as_secs_f64()
                ),
                (e, _, _) => eprintln!(
                    "[study] {name} FAILED: {}",
                    e.as_deref().unwrap_or("no scores")
                ),
            }
        }
        self.results.push(result);
        Ok(self.results.last().expect("just pushed"))
    }

    /// Runs every experiment of the profile ([`Profile::experiments`]) in order, then
    /// [`Study::finish`]es; returns the results table.
    pub fn run_profile(&mut self) -> Result<Table> {
        let experiments = self.config.profile.experiments(self.config.seed)?;
        let n = experiments.len();
        for (i, e) in experiments.into_iter().enumerate() {
            if !self.config.quiet {
                eprintln!("[study] experiment {}/{n}", i + 1);
            }
            self.run(e)?;
        }
        self.finish()?;
        Ok(self.summary())
    }

    /// The results table (family, pipeline, representation, validation and hold-out scores,
    /// fit seconds, latency, model size, error), shown inline in notebooks.
    pub fn summary(&self) -> Table {
        results_table(
            &self.results,
            &format!(
                "study ({} profile): hold-out scores on {} rows; the best model is picked by validation macro-F1",
                self.config.profile,
                self.split.hold.len()
            ),
        )
    }

    /// The result with the best validation macro-F1 (ties: the earlier one).
    pub fn best(&self) -> Option<&ExperimentResult> {
        self.results
            .iter()
            .filter(|r| r.error.is_none())
            .filter_map(|r| Some((r, r.val_macro_f1()?)))
            .fold(
                None,
                |best: Option<(&ExperimentResult, f64)>, (r, f)| match best {
                    Some((_, bf)) if bf >= f => best,
                    _ => Some((r, f)),
                },
            )
            .map(|(r, _)| r)
    }

    /// The best family score per family, hold-out macro-F1 with accuracy beside it.
    pub fn evolution(&self) -> Result<Figure> {
        crate::plot::family_evolution(&family_scores(&self.results))
    }

    /// Milliseconds per document of each model.
    pub fn latency(&self) -> Result<Figure> {
        crate::plot::latency(&latencies(&self.results))
    }

    /// Predicts `data` (e.g. `test_data.txt`) with the best model, writes
    /// `reports_dir/submission.csv` (`id,genre`, input order), logs it on the study's run, and
    /// scores it when `data` is labelled.
    pub fn submission(&mut self, data: &Dataset) -> Result<Submission> {
        let (pipeline, model) = self.best_model()?;
        let genres = model.predict_genres(data)?;
        let path = self.config.reports_dir.join("submission.csv");
        crate::data::write_predictions(data, &genres, &path)?;
        let score = if data.is_labelled() {
            Some(evaluate(model.as_ref(), data)?)
        } else {
            None
        };
        self.tracker.log_param("submission.pipeline", &pipeline)?;
        self.tracker
            .log_metric("submission.rows", data.len() as f64, 0)?;
        if let Some(s) = &score {
            self.tracker
                .log_metric("submission.macro_f1", s.macro_f1(), 0)?;
            self.tracker
                .log_metric("submission.accuracy", s.accuracy(), 0)?;
        }
        self.tracker.log_artifact(&path, "")?;
        if !self.config.quiet {
            eprintln!(
                "[study] {} predictions by {pipeline} -> {}",
                genres.len(),
                path.display()
            );
        }
        Ok(Submission {
            path,
            pipeline,
            genres,
            ids: data.ids(),
            score,
        })
    }

    /// Registers the best model (by validation macro-F1) in the MLflow Model Registry as a new
    /// version of `name`; returns `(pipeline, version)`. `None` as version when untracked.
    pub fn register_best(&mut self, name: &str) -> Result<(String, Option<u64>)> {
        let best = self.best_result()?;
        let pipeline = best.pipeline.clone();
        let version = match best.model_id.clone() {
            Some(id) => self.tracker.register_model(name, &id)?,
            None => None,
        };
        if let (Some(v), false) = (version, self.config.quiet) {
            eprintln!("[study] {pipeline} registered as `{name}` version {v}");
        }
        Ok((pipeline, version))
    }

    /// Scores the best model on labelled `data` (e.g. `test_data_solution.txt`), logs the
    /// scores as `test.*` on the study's run and writes `reports_dir/test/` (per-class CSV,
    /// headline JSON, figures).
    pub fn test(&mut self, data: &Dataset) -> Result<Evaluation> {
        let (pipeline, model) = self.best_model()?;
        let ev = evaluate(model.as_ref(), data)?;
        let out = self.config.reports_dir.join("test");
        ev.write_files(&out)?;
        crate::plot::evaluation_figures(&ev.report, &ev.confusion, &ev.curves, &out)?;
        self.tracker.log_param("test.pipeline", &pipeline)?;
        for (k, v) in ev.metrics() {
            self.tracker.log_metric(&format!("test.{k}"), v, 0)?;
        }
        self.tracker.log_artifact(&out, "test")?;
        if !self.config.quiet {
            eprintln!(
                "[study] {pipeline} on {} labelled test rows: macro-F1 {:.4}, accuracy {:.4}",
                ev.rows,
                ev.macro_f1(),
                ev.accuracy()
            );
        }
        Ok(ev)
    }

    /// Writes `summary.csv`, `summary.json` (MLflow table), the evolution and latency charts
    /// into `reports_dir`, logs them on the study's run with the best model's scores, and ends
    /// the study's run. Calling it again rewrites the files (the run stays ended).
    pub fn finish(&mut self) -> Result<StudyFiles> {
        let dir = self.config.reports_dir.clone();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let rows: Vec<SummaryRow> = self.results.iter().map(SummaryRow::of).collect();
        let csv_path = dir.join("summary.csv");
        let mut w = csv::Writer::from_path(&csv_path)
            .map_err(|e| Error::io(&csv_path, std::io::Error::other(e.to_string())))?;
        let csv_err = |e: csv::Error| Error::io(&csv_path, std::io::Error::other(e.to_string()));
        w.write_record(SummaryRow::COLUMNS).map_err(csv_err)?;
        for r in &rows {
            w.write_record(r.csv_fields()).map_err(csv_err)?;
        }
        w.flush().map_err(|e| Error::io(&csv_path, e))?;
        let json_path = dir.join("summary.json");
        write_table_json(
            &json_path,
            &SummaryRow::COLUMNS,
            rows.iter().map(SummaryRow::values).collect(),
        )?;
        let mut figures = Vec::new();
        if !family_scores(&self.results).is_empty() {
            figures.extend(self.evolution()?.save(&dir, "evolution_bar_val_macroF1")?);
        }
        if !latencies(&self.results).is_empty() {
            figures.extend(self.latency()?.save(&dir, "latency")?);
        }
        if self.run_id.is_some() {
            let best = self.best().map(|b| {
                (
                    b.pipeline.clone(),
                    b.val_macro_f1().unwrap_or(f64::NAN),
                    b.macro_f1().unwrap_or(f64::NAN),
                    b.accuracy().unwrap_or(f64::NAN),
                )
            });
            let t = self.tracker.as_mut();
            if let Some((name, val, f1, acc)) = best {
                t.log_param("best.pipeline", &name)?;
                t.log_metrics(
                    &[
                        ("best.val_macro_f1", val),
                        ("best.macro_f1", f1),
                        ("best.accuracy", acc),
                    ],
                    0,
                )?;
            }
            t.log_metric("experiments", self.results.len() as f64, 0)?;
            t.log_metric(
                "experiments_failed",
                self.results.iter().filter(|r| r.error.is_some()).count() as f64,
                0,
            )?;
            t.log_artifact(&csv_path, "")?;
            t.log_artifact(&json_path, "")?;
            for f in &figures {
                t.log_artifact(f, "figures")?;
            }
            t.set_tag("mlflow.loggedArtifacts", &tables_tag(&["summary.json"]))?;
            let failed = self.results.iter().any(|r| r.error.is_some());
            t.set_tag(
                "genre.experiments_failed",
                if failed { "yes" } else { "no" },
            )?;
            t.end_run(RunStatus::Finished)?;
            self.run_id = None;
        }
        Ok(StudyFiles {
            summary_csv: csv_path,
            figures,
        })
    }

    /// Shows the results table inline in evcxr.
    pub fn evcxr_display(&self) {
        self.summary().evcxr_display();
    }
}

/// A fitted model, its per-epoch history (networks) and its C tuning (linear models).
type Fitted = (Box<dyn Classifier>, Option<History>, Vec<(f32, f64, f64)>);

/// Fits, scores, saves and logs one experiment inside its (already started) run.
fn run_one(
    split: &Split,
    t: &mut dyn Tracker,
    cfg: &StudyConfig,
    exp: &Experiment,
) -> Result<ExperimentResult> {
    let name = exp.name();
    let family = exp.family();
    t.set_tag("genre.command", "study")?;
    t.set_tag("genre.family", family.as_str())?;
    t.set_tag("genre.representation", &exp.representation())?;
    t.set_description(&format!("**{name}** ({family}): {}", exp.description()))?;
    t.log_param("profile", cfg.profile.as_str())?;
    t.log_param("split.sha256", &split.manifest.split_sha256)?;
    for (k, v) in exp.params() {
        t.log_param(&k, &v)?;
    }
    Study::log_sides(t, split, &cfg.data_name)?;
    exp.validate()?;
    let model_dir = cfg.models_dir.join(&name);
    let report_dir = cfg.reports_dir.join(&name);
    for d in [&model_dir, &report_dir] {
        if d.is_dir() {
            std::fs::remove_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
    }
    let t_fit = Instant::now();
    let mut probe_seconds = 0.0;
    let (model, history, tuning): Fitted = match &exp.spec {
        ExperimentSpec::TfidfLinear(c) => {
            let m = c.fit(&split.train)?;
            let tuning = m.fit_report().tuning.clone();
            t.log_metric("chosen_c", f64::from(m.fit_report().chosen_c), 0)?;
            (Box::new(m), None, tuning)
        }
        ExperimentSpec::Pipeline(c) => {
            let p = c.fit_with(
                &split.train,
                PipelineFitOptions {
                    tracker: Some(&mut *t),
                    quiet: cfg.quiet,
                    ..Default::default()
                },
            )?;
            let h = (!p.history().epochs.is_empty()).then(|| p.history().clone());
            let tuning = p.fit_report().tuning.clone();
            let t_probe = Instant::now();
            if let Some(probe) = transformer_probe(&p, &split.hold, cfg.latency_rows)? {
                probe.log(t)?;
                probe_seconds = t_probe.elapsed().as_secs_f64();
            }
            (Box::new(p), h, tuning)
        }
    };
    let fit_seconds = t_fit.elapsed().as_secs_f64() - probe_seconds;
    if matches!(exp.spec, ExperimentSpec::TfidfLinear(_)) {
        for (step, (c, f1, acc)) in tuning.iter().enumerate() {
            t.log_metric("tuning.c", f64::from(*c), step as i64)?;
            t.log_metric("tuning.val_macro_f1", *f1, step as i64)?;
            t.log_metric("tuning.val_accuracy", *acc, step as i64)?;
        }
    }
    model.save(&model_dir)?;
    let val = evaluate(model.as_ref(), &split.val)?;
    let hold = evaluate(model.as_ref(), &split.hold)?;
    let latency_ms = latency_probe(model.as_ref(), &split.hold, cfg.latency_rows)?;
    let mut metrics: Vec<(String, f64)> = vec![
        ("fit_seconds".into(), fit_seconds),
        ("latency_ms_per_doc".into(), latency_ms),
    ];
    metrics.extend(
        val.metrics()
            .into_iter()
            .map(|(k, v)| (format!("val.{k}"), v)),
    );
    metrics.extend(
        hold.metrics()
            .into_iter()
            .map(|(k, v)| (format!("hold.{k}"), v)),
    );
    if let Some(b) = history.as_ref().and_then(History::best) {
        metrics.push(("best_epoch".into(), b.epoch as f64));
    }
    let refs: Vec<(&str, f64)> = metrics.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    t.log_metrics(&refs, 0)?;
    // Figures and tables: the evaluation on the hold-out side, the training curves and the
    // per-epoch CSV of a network.
    crate::plot::evaluation_figures(&hold.report, &hold.confusion, &hold.curves, &report_dir)?;
    hold.write_files(&report_dir)?;
    if let Some(h) = &history {
        h.figure()?.save(&report_dir, "training_curves")?;
        h.write_csv(&report_dir.join(format!("{name}_epoch_metrics.csv")))?;
    }
    let pc = hold.report.per_class();
    let per_class_rows = hold
        .report
        .names()
        .iter()
        .enumerate()
        .map(|(i, g)| {
            vec![
                serde_json::json!(g),
                serde_json::json!(pc.precision[i]),
                serde_json::json!(pc.recall[i]),
                serde_json::json!(pc.f1[i]),
                serde_json::json!(pc.support[i]),
            ]
        })
        .collect();
    write_table_json(
        &report_dir.join("per_class.json"),
        &["genre", "precision", "recall", "f1", "support"],
        per_class_rows,
    )?;
    t.log_artifact(&report_dir, "report")?;
    t.set_tag(
        "mlflow.loggedArtifacts",
        &tables_tag(&["report/per_class.json"]),
    )?;
    let model_bytes = dir_bytes(&model_dir);
    t.log_metric("model_mb", model_bytes as f64 / 1e6, 0)?;
    let model_metrics = [
        ("val.macro_f1", val.macro_f1()),
        ("val.accuracy", val.accuracy()),
        ("hold.macro_f1", hold.macro_f1()),
        ("hold.accuracy", hold.accuracy()),
    ];
    let model_id = t.log_model(
        &name,
        &model_dir,
        &format!("genre-nlp/{name}"),
        &exp.params(),
        &model_metrics,
    )?;
    Ok(ExperimentResult {
        pipeline: name,
        family,
        representation: exp.representation(),
        run_id: None,
        val: Some(val),
        hold: Some(hold),
        history,
        fit_seconds,
        latency_ms: Some(latency_ms),
        model_bytes: Some(model_bytes),
        model_dir: Some(model_dir),
        model_id,
        report_dir: Some(report_dir),
        error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Labels;
    use crate::features::Dense;
    use std::sync::Mutex;

    /// Records every text it scores.
    struct Recorder {
        labels: Labels,
        seen: Mutex<Vec<String>>,
    }

    impl Classifier for Recorder {
        fn pipeline(&self) -> &str {
            "recorder"
        }
        fn labels(&self) -> &Labels {
            &self.labels
        }
        fn scores(&self, data: &Dataset) -> Result<Dense> {
            let mut seen = self.seen.lock().expect("lock");
            seen.extend(data.texts().iter().map(|t| t.to_string()));
            Ok(Dense::zeros((data.len(), self.labels.len())))
        }
        fn predict_proba(&self, _data: &Dataset) -> Result<Option<Dense>> {
            Ok(None)
        }
        fn params(&self) -> Vec<(String, String)> {
            Vec::new()
        }
        fn save(&self, _dir: &Path) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn latency_probe_scores_texts_no_cache_has_seen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("d.txt");
        let rows: String = (1..=20)
            .map(|i| {
                format!(
                    "{i} ::: T{i} ::: {} ::: plot number {i}\n",
                    ["drama", "comedy"][i % 2]
                )
            })
            .collect();
        std::fs::write(&path, rows).expect("write");
        let ds = Dataset::kaggle(&path).expect("load");
        let model = Recorder {
            labels: Labels::from_dataset(&ds).expect("labels"),
            seen: Mutex::new(Vec::new()),
        };
        let ms = latency_probe(&model, &ds, 12).expect("probe");
        assert!(ms >= 0.0);
        let seen = model.seen.lock().expect("lock");
        // 8 warm-up rows, then the 12 probe rows; none is an original text, each extends one.
        assert_eq!(seen.len(), 20);
        let originals = ds.texts();
        for t in seen.iter() {
            assert!(!originals.contains(&t.as_str()), "{t}");
            assert!(originals.iter().any(|o| t.starts_with(*o)), "{t}");
        }
    }
}
