//! Exploratory summaries, each returned as a [`Table`] (a polars DataFrame that shows itself).

pub mod clusters;

pub use clusters::{document_clusters, kmeans_clusters, Clusters};

use crate::data::{Dataset, Labels};
use crate::display::Table;
use crate::error::{Error, Result};
use polars::prelude::*;
use std::collections::HashMap;

/// Rows and share per genre, most frequent first (same as [`Dataset::summary`]).
pub fn genre_table(ds: &Dataset) -> Table {
    ds.summary()
}

fn median(sorted: &[usize]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2] as f64,
        n => (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0,
    }
}

/// Plot length per genre, in characters and whitespace tokens: mean, median, min, max.
/// One row per genre (most frequent first) and a final `(all)` row.
pub fn length_stats(ds: &Dataset) -> Result<Table> {
    let texts = ds.texts();
    let genres = ds.genres();
    /// Character and token counts of one group's plots.
    type Lengths = (Vec<usize>, Vec<usize>);
    let mut groups: HashMap<&str, Lengths> = HashMap::new();
    let mut all = (Vec::new(), Vec::new());
    for (t, g) in texts.iter().zip(&genres) {
        let (c, w) = (t.chars().count(), t.split_whitespace().count());
        let e = groups.entry(g.unwrap_or("(unlabelled)")).or_default();
        e.0.push(c);
        e.1.push(w);
        all.0.push(c);
        all.1.push(w);
    }
    let mut order: Vec<(&str, Lengths)> = groups.into_iter().collect();
    order.sort_by(|a, b| b.1 .0.len().cmp(&a.1 .0.len()).then(a.0.cmp(b.0)));
    order.push(("(all)", all));
    let mut cols: [Vec<f64>; 6] = Default::default();
    let (mut names, mut rows) = (Vec::new(), Vec::new());
    for (name, (mut chars, mut words)) in order {
        chars.sort_unstable();
        words.sort_unstable();
        let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
        names.push(name.to_string());
        rows.push(chars.len() as u32);
        let vals = [
            mean(&chars),
            median(&chars),
            *chars.first().unwrap_or(&0) as f64,
            *chars.last().unwrap_or(&0) as f64,
            mean(&words),
            median(&words),
        ];
        for (c, v) in cols.iter_mut().zip(vals) {
            c.push(v);
        }
    }
    let names_of = [
        "chars_mean",
        "chars_median",
        "chars_min",
        "chars_max",
        "tokens_mean",
        "tokens_median",
    ];
    let mut columns = vec![
        Column::new("genre".into(), names),
        Column::new("rows".into(), rows),
    ];
    for (name, c) in names_of.iter().zip(cols) {
        columns.push(Column::new((*name).into(), c));
    }
    let df = DataFrame::new(columns[0].len(), columns)?;
    Ok(Table::new(df).title("plot length per genre (chars, whitespace tokens)"))
}

/// Texts that occur more than once: the text (first 80 chars), copies, ids, genres, and
/// whether the copies disagree on the genre. Most copies first.
pub fn duplicate_texts(ds: &Dataset) -> Result<Table> {
    let texts = ds.texts();
    let (ids, genres) = (ds.ids(), ds.genres());
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, t) in texts.iter().enumerate() {
        groups.entry(t.trim()).or_default().push(i);
    }
    let mut dups: Vec<Vec<usize>> = groups.into_values().filter(|v| v.len() > 1).collect();
    dups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    let text: Vec<String> = dups
        .iter()
        .map(|g| texts[g[0]].chars().take(80).collect())
        .collect();
    let copies: Vec<u32> = dups.iter().map(|g| g.len() as u32).collect();
    let id_list: Vec<String> = dups
        .iter()
        .map(|g| {
            g.iter()
                .map(|&i| ids[i].to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    let genre_list: Vec<String> = dups
        .iter()
        .map(|g| {
            g.iter()
                .map(|&i| genres[i].unwrap_or("?"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    let conflict: Vec<bool> = dups
        .iter()
        .map(|g| g.iter().any(|&i| genres[i] != genres[g[0]]))
        .collect();
    let df = DataFrame::new(
        dups.len(),
        vec![
            Column::new("text".into(), text),
            Column::new("copies".into(), copies),
            Column::new("ids".into(), id_list),
            Column::new("genres".into(), genre_list),
            Column::new("conflicting_genres".into(), conflict),
        ],
    )?;
    Ok(Table::new(df).title(format!("{} texts occur more than once", dups.len())))
}

/// The `k` most distinctive terms of each genre by weighted log-odds with an informative
/// Dirichlet prior (Monroe, Colaresi & Quinn 2008), genre vs. all other genres. `docs` are the
/// token lists of `ds`'s rows (for example the `classic_text` view), in row order. The prior is
/// the corpus frequency of each term scaled to `prior_strength` pseudo-counts (500 is typical).
/// Columns: `genre`, `rank`, `term`, `z` (log-odds z-score), `count` (uses in the genre).
pub fn top_terms(
    ds: &Dataset,
    docs: &[Vec<String>],
    k: usize,
    prior_strength: f64,
) -> Result<Table> {
    if docs.len() != ds.len() {
        return Err(Error::Config(format!(
            "top_terms: {} token lists for {} rows",
            docs.len(),
            ds.len()
        )));
    }
    let labels = Labels::from_dataset(ds)?;
    let codes = labels.encode(ds)?;
    let mut vocab: HashMap<&str, usize> = HashMap::new();
    for d in docs {
        for t in d {
            let n = vocab.len();
            vocab.entry(t.as_str()).or_insert(n);
        }
    }
    let (g, v) = (labels.len(), vocab.len());
    let mut counts = vec![0f64; g * v];
    let mut totals = vec![0f64; g];
    for (d, &c) in docs.iter().zip(&codes) {
        for t in d {
            counts[c * v + vocab[t.as_str()]] += 1.0;
            totals[c] += 1.0;
        }
    }
    let all_total: f64 = totals.iter().sum();
    let term_total: Vec<f64> = (0..v)
        .map(|w| (0..g).map(|c| counts[c * v + w]).sum())
        .collect();
    let mut terms: Vec<&str> = vec![""; v];
    for (t, &i) in &vocab {
        terms[i] = t;
    }
    let a0 = prior_strength.max(1e-9);
    let (mut out_g, mut out_rank, mut out_term, mut out_z, mut out_n) =
        (vec![], vec![], vec![], vec![], vec![]);
    for c in 0..g {
        let n_g = totals[c];
        let n_r = all_total - n_g;
        let mut scored: Vec<(f64, usize)> = (0..v)
            .filter(|&w| counts[c * v + w] > 0.0)
            .map(|w| {
                let a_w = a0 * term_total[w] / all_total;
                let y_g = counts[c * v + w];
                let y_r = term_total[w] - y_g;
                let l_g = ((y_g + a_w) / (n_g + a0 - y_g - a_w)).ln();
                let l_r = ((y_r + a_w) / (n_r + a0 - y_r - a_w)).ln();
                let var = 1.0 / (y_g + a_w) + 1.0 / (y_r + a_w);
                ((l_g - l_r) / var.sqrt(), w)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(terms[a.1].cmp(terms[b.1])));
        for (rank, (z, w)) in scored.into_iter().take(k).enumerate() {
            out_g.push(labels.name(c).unwrap_or_default().to_string());
            out_rank.push(rank as u32 + 1);
            out_term.push(terms[w].to_string());
            out_z.push(z);
            out_n.push(counts[c * v + w] as u32);
        }
    }
    let df = DataFrame::new(
        out_g.len(),
        vec![
            Column::new("genre".into(), out_g),
            Column::new("rank".into(), out_rank),
            Column::new("term".into(), out_term),
            Column::new("z".into(), out_z),
            Column::new("count".into(), out_n),
        ],
    )?;
    Ok(Table::new(df).title(format!(
        "top {k} terms per genre (log-odds z, informative Dirichlet prior)"
    )))
}

/// `top_terms` pivoted for reading: one row per genre, its terms joined by spaces.
pub fn top_terms_wide(table: &Table) -> Result<Table> {
    let genre = table.column("genre")?.str()?.clone();
    let term = table.column("term")?.str()?.clone();
    let mut order: Vec<String> = Vec::new();
    let mut joined: HashMap<String, Vec<String>> = HashMap::new();
    for (g, t) in genre.iter().zip(term.iter()) {
        let (g, t) = (
            g.unwrap_or_default().to_string(),
            t.unwrap_or_default().to_string(),
        );
        if !joined.contains_key(&g) {
            order.push(g.clone());
        }
        joined.entry(g).or_default().push(t);
    }
    let terms: Vec<String> = order.iter().map(|g| joined[g].join(" ")).collect();
    let df = DataFrame::new(
        order.len(),
        vec![
            Column::new("genre".into(), order.clone()),
            Column::new("top_terms".into(), terms),
        ],
    )?;
    Ok(Table::new(df).title("most distinctive terms per genre"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        let df = DataFrame::new(
            5,
            vec![
                Column::new("id".into(), [1u64, 2, 3, 4, 5]),
                Column::new(
                    "text".into(),
                    [
                        "a cowboy rides",
                        "the sheriff rides",
                        "a robot dreams",
                        "a cowboy rides",
                        "ships fly",
                    ],
                ),
                Column::new(
                    "genre".into(),
                    ["western", "western", "sci-fi", "comedy", "sci-fi"],
                ),
            ],
        )
        .unwrap();
        Dataset::from_df(&df).unwrap()
    }

    #[test]
    fn lengths_per_genre_and_overall() {
        let t = length_stats(&tiny()).unwrap();
        let genres: Vec<&str> = t
            .column("genre")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(genres, ["sci-fi", "western", "comedy", "(all)"]);
        let chars = t.column("chars_max").unwrap().f64().unwrap();
        assert_eq!(chars.get(1), Some(17.0)); // "the sheriff rides"
        let med = t.column("tokens_median").unwrap().f64().unwrap();
        assert_eq!(med.get(0), Some(2.5)); // 3 and 2 tokens
        assert_eq!(med.get(3), Some(3.0));
    }

    #[test]
    fn duplicates_flag_conflicting_genres() {
        let t = duplicate_texts(&tiny()).unwrap();
        assert_eq!(t.height(), 1);
        assert_eq!(t.column("ids").unwrap().str().unwrap().get(0), Some("1, 4"));
        assert_eq!(
            t.column("genres").unwrap().str().unwrap().get(0),
            Some("western, comedy")
        );
        assert_eq!(
            t.column("conflicting_genres")
                .unwrap()
                .bool()
                .unwrap()
                .get(0),
            Some(true)
        );
    }

    #[test]
    fn top_terms_rank_genre_specific_words_first() {
        let ds = tiny();
        let docs: Vec<Vec<String>> = ds
            .texts()
            .iter()
            .map(|t| t.split_whitespace().map(str::to_string).collect())
            .collect();
        let t = top_terms(&ds, &docs, 5, 10.0).unwrap();
        let rows: Vec<(String, String)> = t
            .column("genre")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .zip(t.column("term").unwrap().str().unwrap().iter().flatten())
            .map(|(g, w)| (g.to_string(), w.to_string()))
            .collect();
        // Words only western uses lead it (ties broken alphabetically), "a" (used by all) trails;
        // z values computed by hand: sheriff = the = 0.757, rides 0.671, cowboy 0.151, a -0.269.
        let western: Vec<&str> = rows
            .iter()
            .filter(|r| r.0 == "western")
            .map(|r| r.1.as_str())
            .collect();
        assert_eq!(western, ["sheriff", "the", "rides", "cowboy", "a"]);
        // Hand check of the statistic for ("western", "rides"): 14 tokens, 6 of them western,
        // "rides" 3 times (2 western); prior strength 10.
        let (a_w, y_g, y_r, n_g, n_r, a0) = (10.0 * 3.0 / 14.0, 2.0f64, 1.0f64, 6.0, 8.0, 10.0);
        let z = (((y_g + a_w) / (n_g + a0 - y_g - a_w)).ln()
            - ((y_r + a_w) / (n_r + a0 - y_r - a_w)).ln())
            / (1.0 / (y_g + a_w) + 1.0 / (y_r + a_w)).sqrt();
        let zs: Vec<f64> = t
            .column("z")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        let k = rows
            .iter()
            .position(|r| r.0 == "western" && r.1 == "rides")
            .unwrap();
        assert!((zs[k] - z).abs() < 1e-12, "{} vs {z}", zs[k]);
        let wide = top_terms_wide(&t).unwrap();
        assert_eq!(wide.height(), 3);
        assert!(top_terms(&ds, &docs[..2], 2, 10.0).is_err());
    }
}
