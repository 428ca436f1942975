//! Which fields should feed the text: plot only, or title + plot? Trains a multinomial naive
//! Bayes (Laplace smoothing) on the classic_text view of train_data.txt and scores it on
//! test_data_solution.txt, once per choice, and prints macro-F1 and accuracy.
//!
//! cargo run --release --example fields_ablation [DATA_DIR]

use genre_nlp::prelude::*;
use std::collections::HashMap;
use std::path::PathBuf;

fn macro_f1(truth: &[usize], pred: &[usize], k: usize) -> (f64, f64) {
    let (mut tp, mut fp, mut fn_) = (vec![0f64; k], vec![0f64; k], vec![0f64; k]);
    for (&t, &p) in truth.iter().zip(pred) {
        if t == p {
            tp[t] += 1.0;
        } else {
            fp[p] += 1.0;
            fn_[t] += 1.0;
        }
    }
    let f1: f64 = (0..k)
        .map(|c| {
            let d = 2.0 * tp[c] + fp[c] + fn_[c];
            if d == 0.0 {
                0.0
            } else {
                2.0 * tp[c] / d
            }
        })
        .sum::<f64>()
        / k as f64;
    let acc = tp.iter().sum::<f64>() / truth.len() as f64;
    (f1, acc)
}

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| "../shared/data/imdb-genre".into());
    let train = Dataset::kaggle(dir.join("train_data.txt"))?;
    let test = Dataset::kaggle(dir.join("test_data_solution.txt"))?;
    let labels = Labels::from_dataset(&train)?;
    let (y_train, y_test) = (labels.encode(&train)?, labels.encode(&test)?);
    let k = labels.len();
    println!("{:<10} {:>9} {:>9}", "fields", "macro-F1", "accuracy");
    for fields in [TextFields::Plot, TextFields::TitlePlot] {
        let texts = train.text_views(fields);
        let (view, docs) = ClassicText::fit_transform(&texts, ClassicConfig::default())?;
        let mut vocab: HashMap<&str, usize> = HashMap::new();
        for d in &docs {
            for t in d {
                let n = vocab.len();
                vocab.entry(t).or_insert(n);
            }
        }
        let v = vocab.len();
        let mut counts = vec![1.0f64; k * v];
        let mut totals = vec![v as f64; k];
        let mut prior = vec![0f64; k];
        for (d, &c) in docs.iter().zip(&y_train) {
            prior[c] += 1.0;
            for t in d {
                counts[c * v + vocab[t.as_str()]] += 1.0;
                totals[c] += 1.0;
            }
        }
        let test_docs = view.transform(&test.text_views(fields));
        let pred: Vec<usize> = test_docs
            .iter()
            .map(|d| {
                let score = |c: usize| {
                    (prior[c] / y_train.len() as f64).ln()
                        + d.iter()
                            .filter_map(|t| vocab.get(t.as_str()))
                            .map(|&w| (counts[c * v + w] / totals[c]).ln())
                            .sum::<f64>()
                };
                (0..k)
                    .max_by(|&a, &b| score(a).total_cmp(&score(b)))
                    .unwrap_or(0)
            })
            .collect();
        let (f1, acc) = macro_f1(&y_test, &pred, k);
        println!("{:<10} {:>9.4} {:>9.4}", format!("{fields:?}"), f1, acc);
    }
    Ok(())
}
