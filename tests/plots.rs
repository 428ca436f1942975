//! Every figure of `genre_nlp::plot`, drawn from real results on the real data slice: a
//! multinomial naive Bayes over lowercase words trained on `train_data.txt` and scored on
//! `test_data_solution.txt` gives the confusion matrix, ROC / PR curves and report; its
//! accuracy as the training set grows gives the training curves; its log-posteriors projected
//! on their two principal directions give the document map; timed predictions give the
//! latencies. Each figure is saved, and its PNG must decode at the expected size and not be
//! blank, its SVG must carry the title and genre names.
//!
//! Set `GENRE_PLOTS_KEEP=DIR` to keep the figures in DIR for a look.

use genre_nlp::plot::{self, FamilyScore, Figure, ModelLatency, PlotConfig, TrainingCurves};
use genre_nlp::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

// ---------------------------------------------------------------- a real model

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(str::to_string)
        .collect()
}

/// Multinomial naive Bayes with Laplace smoothing over word ids.
struct NaiveBayes {
    v: usize,
    log_prior: Vec<f64>,
    log_p: Vec<f64>,
}

impl NaiveBayes {
    fn fit(docs: &[Vec<usize>], y: &[usize], k: usize, v: usize) -> Self {
        let mut counts = vec![1.0f64; k * v];
        let mut totals = vec![v as f64; k];
        let mut prior = vec![1.0f64; k];
        for (d, &c) in docs.iter().zip(y) {
            prior[c] += 1.0;
            for &w in d {
                counts[c * v + w] += 1.0;
                totals[c] += 1.0;
            }
        }
        let n: f64 = prior.iter().sum();
        let log_p = (0..k * v)
            .map(|i| (counts[i] / totals[i / v]).ln())
            .collect();
        NaiveBayes {
            v,
            log_prior: prior.iter().map(|p| (p / n).ln()).collect(),
            log_p,
        }
    }

    /// Normalised log-posteriors (log-softmax of the joint log-likelihoods).
    fn log_posterior(&self, doc: &[usize]) -> Vec<f64> {
        let mut s = self.log_prior.clone();
        for &w in doc {
            if w < self.v {
                for (c, x) in s.iter_mut().enumerate() {
                    *x += self.log_p[c * self.v + w];
                }
            }
        }
        let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + s.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
        s.iter().map(|x| (x - lse).max(-700.0)).collect()
    }

    fn predict(&self, doc: &[usize]) -> usize {
        argmax(&self.log_posterior(doc))
    }
}

fn argmax(v: &[f64]) -> usize {
    (0..v.len())
        .max_by(|&a, &b| v[a].total_cmp(&v[b]).then(b.cmp(&a)))
        .unwrap_or(0)
}

/// TF-IDF nearest centroid (cosine), a second real family.
struct Centroid {
    centroids: Vec<HashMap<usize, f64>>,
    idf: Vec<f64>,
}

impl Centroid {
    fn vector(idf: &[f64], doc: &[usize]) -> HashMap<usize, f64> {
        let mut m: HashMap<usize, f64> = HashMap::new();
        for &w in doc.iter().filter(|&&w| w < idf.len()) {
            *m.entry(w).or_default() += idf[w];
        }
        let norm = m.values().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        m.values_mut().for_each(|x| *x /= norm);
        m
    }

    fn fit(docs: &[Vec<usize>], y: &[usize], k: usize, v: usize) -> Self {
        let mut df = vec![0f64; v];
        for d in docs {
            let mut seen: Vec<usize> = d.clone();
            seen.sort_unstable();
            seen.dedup();
            seen.iter().for_each(|&w| df[w] += 1.0);
        }
        let n = docs.len() as f64;
        let idf: Vec<f64> = df
            .iter()
            .map(|d| ((1.0 + n) / (1.0 + d)).ln() + 1.0)
            .collect();
        let mut centroids = vec![HashMap::new(); k];
        for (d, &c) in docs.iter().zip(y) {
            for (w, x) in Self::vector(&idf, d) {
                *centroids[c].entry(w).or_default() += x;
            }
        }
        Centroid { centroids, idf }
    }

    fn predict(&self, doc: &[usize]) -> usize {
        let x = Self::vector(&self.idf, doc);
        let scores: Vec<f64> = self
            .centroids
            .iter()
            .map(|c| {
                let norm = c.values().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
                x.iter()
                    .map(|(w, v)| v * c.get(w).unwrap_or(&0.0))
                    .sum::<f64>()
                    / norm
            })
            .collect();
        argmax(&scores)
    }
}

// ---------------------------------------------------------------- the shared results

struct Results {
    train: Dataset,
    train_tokens: Vec<Vec<String>>,
    names: Vec<String>,
    report: ClassificationReport,
    confusion: ConfusionMatrix,
    curves: Curves,
    training: TrainingCurves,
    map_points: Vec<[f32; 2]>,
    map_labels: Vec<usize>,
    scores: Vec<FamilyScore>,
    latencies: Vec<ModelLatency>,
}

fn results() -> &'static Results {
    static R: OnceLock<Results> = OnceLock::new();
    R.get_or_init(|| compute().expect("real results"))
}

fn accuracy(y: &[usize], p: &[usize]) -> f64 {
    y.iter().zip(p).filter(|(a, b)| a == b).count() as f64 / y.len() as f64
}

fn compute() -> genre_nlp::Result<Results> {
    let train = Dataset::kaggle(data_file("train_data.txt")?)?;
    let test = Dataset::kaggle(data_file("test_data_solution.txt")?)?;
    let labels = Labels::from_dataset(&train)?;
    let (y_train, y_test) = (labels.encode(&train)?, labels.encode(&test)?);
    let k = labels.len();
    let train_tokens: Vec<Vec<String>> = train.texts().iter().map(|t| words(t)).collect();
    let mut vocab: HashMap<String, usize> = HashMap::new();
    for d in &train_tokens {
        for t in d {
            let n = vocab.len();
            vocab.entry(t.clone()).or_insert(n);
        }
    }
    let v = vocab.len();
    let ids = |docs: &[Vec<String>]| -> Vec<Vec<usize>> {
        docs.iter()
            .map(|d| d.iter().filter_map(|t| vocab.get(t).copied()).collect())
            .collect()
    };
    let train_ids = ids(&train_tokens);
    let test_tokens: Vec<Vec<String>> = test.texts().iter().map(|t| words(t)).collect();
    let test_ids = ids(&test_tokens);

    // The model of the evaluation figures, timed for the latency figure.
    let nb = NaiveBayes::fit(&train_ids, &y_train, k, v);
    let t0 = Instant::now();
    let post: Vec<Vec<f64>> = test_ids.iter().map(|d| nb.log_posterior(d)).collect();
    let nb_ms = t0.elapsed().as_secs_f64() * 1e3 / test_ids.len() as f64;
    let pred: Vec<usize> = post.iter().map(|p| argmax(p)).collect();
    let scores_flat: Vec<f64> = post.iter().flatten().copied().collect();
    let report = ClassificationReport::new(&y_test, &pred, &labels)?;
    let confusion = ConfusionMatrix::new(&y_test, &pred, &labels)?;
    let curves = Curves::one_vs_rest(&y_test, &scores_flat, &labels)?;

    // Training curves: "epoch" e trains on the first e tenths of train_data.txt.
    let epochs: Vec<usize> = (1..=10).collect();
    let (mut tl, mut vl, mut ta, mut va) = (vec![], vec![], vec![], vec![]);
    for &e in &epochs {
        let n = train_ids.len() * e / 10;
        let m = NaiveBayes::fit(&train_ids[..n], &y_train[..n], k, v);
        let loss_acc = |docs: &[Vec<usize>], y: &[usize]| {
            let (mut loss, mut pred) = (0.0, Vec::with_capacity(docs.len()));
            for (d, &t) in docs.iter().zip(y) {
                let p = m.log_posterior(d);
                loss -= p[t];
                pred.push(argmax(&p));
            }
            (loss / docs.len() as f64, accuracy(y, &pred))
        };
        let (l, a) = loss_acc(&train_ids[..n], &y_train[..n]);
        tl.push(l);
        ta.push(a);
        let (l, a) = loss_acc(&test_ids, &y_test);
        vl.push(l);
        va.push(a);
    }
    let training = TrainingCurves::new(epochs)
        .train_loss(tl)
        .val_loss(vl)
        .train_metric(ta)
        .val_metric(va)
        .metric_name("accuracy");

    // Document map: the log-posteriors (clipped at -50) on their two principal directions.
    let x: Vec<Vec<f64>> = post
        .iter()
        .map(|p| p.iter().map(|v| v.max(-50.0)).collect())
        .collect();
    let mean: Vec<f64> = (0..k)
        .map(|c| x.iter().map(|r| r[c]).sum::<f64>() / x.len() as f64)
        .collect();
    let mut cov = vec![0f64; k * k];
    for r in &x {
        for a in 0..k {
            for b in 0..k {
                cov[a * k + b] += (r[a] - mean[a]) * (r[b] - mean[b]);
            }
        }
    }
    let mut comps: Vec<Vec<f64>> = Vec::new();
    for _ in 0..2 {
        let mut u: Vec<f64> = (0..k).map(|i| 1.0 + (i as f64 * 0.37).sin()).collect();
        for _ in 0..200 {
            let mut w: Vec<f64> = (0..k)
                .map(|a| (0..k).map(|b| cov[a * k + b] * u[b]).sum())
                .collect();
            for c in &comps {
                let d: f64 = w.iter().zip(c).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(c).for_each(|(a, b)| *a -= d * b);
            }
            let n = w.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-12);
            u = w.into_iter().map(|a| a / n).collect();
        }
        comps.push(u);
    }
    let map_points: Vec<[f32; 2]> = x
        .iter()
        .map(|r| {
            let proj = |c: &Vec<f64>| -> f32 {
                r.iter()
                    .zip(&mean)
                    .zip(c)
                    .map(|((a, m), u)| (a - m) * u)
                    .sum::<f64>() as f32
            };
            [proj(&comps[0]), proj(&comps[1])]
        })
        .collect();

    // Study records: real models of three families, scored and timed on the test file.
    let majority = argmax(
        &(0..k)
            .map(|c| y_train.iter().filter(|&&y| y == c).count() as f64)
            .collect::<Vec<_>>(),
    );
    let t0 = Instant::now();
    let maj_pred: Vec<usize> = test_ids.iter().map(|_| majority).collect();
    let maj_ms = t0.elapsed().as_secs_f64() * 1e3 / test_ids.len() as f64;
    let maj = ClassificationReport::new(&y_test, &maj_pred, &labels)?;
    let centroid = Centroid::fit(&train_ids, &y_train, k, v);
    let t0 = Instant::now();
    let cen_pred: Vec<usize> = test_ids.iter().map(|d| centroid.predict(d)).collect();
    let cen_ms = t0.elapsed().as_secs_f64() * 1e3 / test_ids.len() as f64;
    let cen = ClassificationReport::new(&y_test, &cen_pred, &labels)?;
    let half = NaiveBayes::fit(
        &train_ids[..train_ids.len() / 2],
        &y_train[..train_ids.len() / 2],
        k,
        v,
    );
    let t0 = Instant::now();
    let half_pred: Vec<usize> = test_ids.iter().map(|d| half.predict(d)).collect();
    let half_ms = t0.elapsed().as_secs_f64() * 1e3 / test_ids.len() as f64;
    let half_r = ClassificationReport::new(&y_test, &half_pred, &labels)?;
    let scores = vec![
        FamilyScore::new(
            "Majority",
            "most frequent genre",
            maj.macro_f1(),
            maj.accuracy(),
        ),
        FamilyScore::new(
            "Baseline",
            "NB, half the words",
            half_r.macro_f1(),
            half_r.accuracy(),
        ),
        FamilyScore::new(
            "Baseline",
            "NB, words",
            report.macro_f1(),
            report.accuracy(),
        ),
        FamilyScore::new(
            "Centroid",
            "TF-IDF centroid",
            cen.macro_f1(),
            cen.accuracy(),
        ),
    ];
    let latencies = vec![
        ModelLatency::new("naive Bayes (words)", nb_ms.max(1e-6)),
        ModelLatency::new("naive Bayes (half data)", half_ms.max(1e-6)),
        ModelLatency::new("TF-IDF nearest centroid", cen_ms.max(1e-6)),
        ModelLatency::new("most frequent genre", maj_ms.max(1e-6)),
    ];
    Ok(Results {
        names: labels.names().to_vec(),
        train,
        train_tokens,
        report,
        confusion,
        curves,
        training,
        map_points,
        map_labels: y_test,
        scores,
        latencies,
    })
}

// ---------------------------------------------------------------- checks

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The contents of the SVG's `<text>` elements, trimmed.
fn svg_texts(svg: &str) -> Vec<&str> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim())
        })
        .collect()
}

/// Saves `fig` as `stem` and checks both files: the PNG decodes to the figure's size, is not
/// blank; the SVG has the title and every one of `labels`.
fn check(fig: &Figure, stem: &str, size: (u32, u32), title: &str, labels: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let paths = fig.save(dir.path(), stem).unwrap();
    assert_eq!(
        paths,
        vec![
            dir.path().join(format!("{stem}.png")),
            dir.path().join(format!("{stem}.svg"))
        ]
    );
    if let Ok(keep) = std::env::var("GENRE_PLOTS_KEEP") {
        fig.save(&keep, stem).unwrap();
    }
    assert_eq!((fig.width(), fig.height()), size, "{stem}: size");
    let bytes = std::fs::read(&paths[0]).unwrap();
    assert_eq!(bytes, fig.png_bytes());
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{stem}.png does not decode: {e}"))
        .to_rgb8();
    assert_eq!(img.dimensions(), size, "{stem}.png size");
    let lum: Vec<f64> = img
        .pixels()
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect();
    let mean = lum.iter().sum::<f64>() / lum.len() as f64;
    let var = lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / lum.len() as f64;
    let inked = lum.iter().filter(|&&l| l < 200.0).count() as f64 / lum.len() as f64;
    assert!(
        var > 150.0,
        "{stem}.png looks blank: luminance variance {var:.1}"
    );
    assert!(
        inked > 0.01,
        "{stem}.png looks blank: {:.3} of pixels inked",
        inked
    );
    let svg = std::fs::read_to_string(&paths[1]).unwrap();
    assert_eq!(svg, fig.svg());
    assert!(svg.starts_with("<svg"), "{stem}.svg is not an SVG document");
    assert_eq!(fig.title(), title);
    let texts = svg_texts(&svg);
    assert!(
        texts.iter().any(|t| *t == escape(title)),
        "{stem}.svg lacks its title {title:?}"
    );
    for l in labels {
        assert!(
            texts.iter().any(|t| t.contains(&escape(l))),
            "{stem}.svg lacks the label {l:?}"
        );
    }
    // Every figure has axis labels: at least a handful of text elements.
    assert!(texts.len() >= 6, "{stem}.svg has too little text");
}

fn genres_subset(r: &Results) -> Vec<&str> {
    ["drama", "documentary", "comedy", "horror"]
        .into_iter()
        .filter(|g| r.names.iter().any(|n| n == g))
        .collect()
}

// ---------------------------------------------------------------- the figures

#[test]
fn eda_figures() {
    let r = results();
    let g = genres_subset(r);
    assert_eq!(g.len(), 4);
    let fig = plot::genre_distribution(&r.train).unwrap();
    let mut labels = g.clone();
    labels.extend(["plots", "genre", "522 (24.7%)"]);
    check(
        &fig,
        "genre_distribution",
        (800, 130 + 22 * 27),
        "Genre distribution: 2,110 plots, 27 genres",
        &labels,
    );

    let fig = plot::text_lengths(&r.train).unwrap();
    let mut labels = vec!["drama (522)", "war (4)", "words per plot (log scale)"];
    labels.push("genre (plots)");
    check(
        &fig,
        "lengths_by_genre",
        (800, 130 + 22 * 27),
        "Plot length per genre (words, log scale), 2,110 plots",
        &labels,
    );

    let lengths: Vec<usize> = r.train.texts().iter().map(|t| t.chars().count()).collect();
    let fig = plot::length_histogram(&lengths, "characters").unwrap();
    assert!(fig.title().starts_with("Plot length: 2,110 plots, median "));
    let title = fig.title().to_string();
    check(
        &fig,
        "length_histogram",
        (800, 480),
        &title,
        &["characters per plot", "plots", "median"],
    );

    let table = top_terms(&r.train, &r.train_tokens, 8, 500.0).unwrap();
    let terms = plot::terms_from_table(&table).unwrap();
    assert_eq!(terms.len(), 27);
    let fig = plot::top_terms(&terms).unwrap();
    let mut labels = g.clone();
    labels.push("term");
    labels.push(terms[0].1[0].0.as_str());
    check(
        &fig,
        "top_terms",
        (1200, 80 + 6 * (52 + 17 * 8)),
        "Top 8 terms per genre (27 genres)",
        &labels,
    );

    let fig = plot::document_map(&r.map_points, &r.map_labels, &r.names).unwrap();
    let mut labels: Vec<&str> = g.clone();
    labels.extend(["component 1", "component 2", "genre (documents)"]);
    check(
        &fig,
        "document_map",
        (800, 640),
        "1,670 documents in 2-D, coloured by genre",
        &labels,
    );
    // A clustering's groups get category colours and say so.
    let clusters: Vec<usize> = r
        .map_points
        .iter()
        .map(|p| usize::from(p[0] > 0.0))
        .collect();
    let fig = PlotConfig::new()
        .x_label("PC 1")
        .y_label("PC 2")
        .document_map(&r.map_points, &clusters, &["cluster 0", "cluster 1"])
        .unwrap();
    check(
        &fig,
        "document_map_clusters",
        (800, 640),
        "1,670 documents in 2-D, coloured by group",
        &["cluster 0", "cluster 1", "PC 1", "PC 2"],
    );
}

#[test]
fn training_figure() {
    let r = results();
    let best = r.training.best().unwrap();
    let fig = plot::training_curves(&r.training).unwrap();
    let va = r.training.val_metric.as_ref().unwrap();
    assert!(fig
        .title()
        .starts_with(&format!("Training curves: 10 epochs, best epoch {best}")));
    let title = fig.title().to_string();
    assert!(va.iter().all(|a| *a > 0.2), "{va:?}");
    check(
        &fig,
        "training_curves",
        (900, 420),
        &title,
        &[
            "epoch",
            "loss",
            "accuracy",
            "train",
            "validation",
            &format!("best epoch {best}"),
        ],
    );
}

#[test]
fn evaluation_figures() {
    let r = results();
    let g = genres_subset(r);
    let acc = r.report.accuracy();
    assert!(acc > 0.3, "naive Bayes accuracy {acc}");

    let fig = plot::confusion_matrix(&r.confusion).unwrap();
    let mut labels = g.clone();
    labels.extend(["predicted genre", "true genre (plots)", "war"]);
    check(
        &fig,
        "confusion_matrix",
        (1000, 940),
        &format!("Confusion matrix: 1,670 plots, accuracy {acc:.3}"),
        &labels,
    );
    let fig = plot::confusion_matrix_normalized(&r.confusion).unwrap();
    let title = fig.title().to_string();
    assert!(title.starts_with("Confusion matrix, row-normalised"));
    check(
        &fig,
        "confusion_matrix_normalized",
        (1000, 940),
        &title,
        &labels,
    );

    let fig = plot::roc_curves(&r.curves).unwrap();
    let title = fig.title().to_string();
    let micro = r.curves.micro_roc_auc().unwrap();
    assert!(title.contains(&format!("micro-AUC {micro:.3}")), "{title}");
    let drama = r
        .curves
        .classes()
        .iter()
        .find(|c| c.name == "drama")
        .unwrap();
    let drama_label = format!(
        "drama: AUC {:.3} (n={})",
        drama.roc_auc.unwrap(),
        drama.positives
    );
    check(
        &fig,
        "roc_curves",
        (860, 600),
        &title,
        &[
            "false positive rate",
            "true positive rate",
            &drama_label,
            "documentary",
            "8 most frequent of 27 classes",
        ],
    );
    let fig = PlotConfig::new().top_k(0).roc_curves(&r.curves).unwrap();
    check(
        &fig,
        "roc_curves_all",
        (860, 150 + 19 * 31),
        &title,
        &["war", "news", "drama"],
    );

    let fig = plot::pr_curves(&r.curves).unwrap();
    let title = fig.title().to_string();
    assert!(title.starts_with("Precision-recall, one-vs-rest: micro-AP"));
    check(
        &fig,
        "pr_curves",
        (860, 600),
        &title,
        &["recall", "precision", "drama: AP", "micro-average: AP"],
    );

    let fig = plot::per_class_f1(&r.report).unwrap();
    let title = format!(
        "Per-class F1: macro-F1 {:.3}, accuracy {acc:.3} (1,670 plots)",
        r.report.macro_f1()
    );
    let mut labels = g.clone();
    labels.extend(["macro-F1", "F1 (one class against the rest)"]);
    check(&fig, "per_class_f1", (800, 130 + 22 * 27), &title, &labels);

    // The CLI's entry point: all of them, PNG and SVG.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let paths = plot::evaluation_figures(&r.report, &r.confusion, &r.curves, &out).unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "confusion_matrix.png",
            "confusion_matrix.svg",
            "confusion_matrix_normalized.png",
            "confusion_matrix_normalized.svg",
            "roc_curves.png",
            "roc_curves.svg",
            "pr_curves.png",
            "pr_curves.svg",
            "per_class_f1.png",
            "per_class_f1.svg",
        ]
    );
    for p in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
    {
        let img = image::open(p).unwrap();
        assert!(img.width() >= 800, "{}", p.display());
    }
}

#[test]
fn study_figures() {
    let r = results();
    let fig = plot::family_evolution(&r.scores).unwrap();
    let best = r
        .scores
        .iter()
        .max_by(|a, b| a.macro_f1.total_cmp(&b.macro_f1))
        .unwrap();
    let title = format!(
        "Best macro-F1 per model family (4 models), best {} {:.3}",
        best.family, best.macro_f1
    );
    check(
        &fig,
        "family_evolution",
        (800, 480),
        &title,
        &[
            "Baseline",
            "Centroid",
            "Majority",
            "macro-F1",
            "accuracy",
            "model family (best model)",
        ],
    );
    let fig = plot::latency(&r.latencies).unwrap();
    let title = fig.title().to_string();
    assert!(title.starts_with("Inference latency: 4 models"));
    check(
        &fig,
        "latency",
        (800, 360),
        &title,
        &["naive Bayes (words)", "TF-IDF nearest centroid", "model"],
    );
}

#[test]
fn figures_are_stable_and_inline() {
    // Same input, same bytes: the figures can be compared across runs.
    let r = results();
    let a = plot::per_class_f1(&r.report).unwrap();
    let b = plot::per_class_f1(&r.report).unwrap();
    assert_eq!(a.png_bytes(), b.png_bytes());
    assert_eq!(a.svg(), b.svg());
    // Inline display is base64 PNG.
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(a.png_base64())
        .unwrap();
    assert_eq!(decoded, a.png_bytes());
    // A custom size and title are honoured.
    let c = PlotConfig::new()
        .size(640, 900)
        .title("F1 & friends")
        .per_class_f1(&r.report)
        .unwrap();
    check(&c, "custom", (640, 900), "F1 & friends", &["drama"]);
    // The default folder.
    assert_eq!(
        Path::new(plot::DEFAULT_OUT_DIR),
        PathBuf::from("artifacts/reports")
    );
}
