//! The text views of a [`Dataset`] and of a whole [`Split`]: which fields feed the text, the
//! neural view, and the classic view fitted on the training side only.

use super::{compose, neural_text, ClassicConfig, ClassicText, TextFields};
use crate::data::{Dataset, Split};
use crate::display::Table;
use crate::error::Result;
use polars::prelude::{Column, DataFrame};
use rayon::prelude::*;

impl Dataset {
    /// Each row's text built from `fields` (plot only, or title + plot), before any cleaning.
    pub fn text_views(&self, fields: TextFields) -> Vec<String> {
        let (titles, texts) = (self.titles(), self.texts());
        titles
            .par_iter()
            .zip(texts.par_iter())
            .map(|(t, p)| compose(t, p, fields))
            .collect()
    }

    /// The neural view of each row: `fields` composed, then minimally cleaned (case and
    /// punctuation kept), as transformers expect.
    pub fn neural_text(&self, fields: TextFields) -> Vec<String> {
        self.text_views(fields)
            .par_iter()
            .map(|t| neural_text(t))
            .collect()
    }
}

/// The classic view of every side of a split: the fitted [`ClassicText`] (phrases learned on
/// train only) and the token lists of each side.
#[derive(Debug, Clone)]
pub struct ClassicViews {
    /// Which fields fed the text.
    pub fields: TextFields,
    /// The fitted view (apply it to new data with `transform`).
    pub model: ClassicText,
    /// Tokens of the training rows.
    pub train: Vec<Vec<String>>,
    /// Tokens of the validation rows.
    pub val: Vec<Vec<String>>,
    /// Tokens of the hold-out rows.
    pub hold: Vec<Vec<String>>,
}

impl Split {
    /// Fits the classic view on the training side and applies it to all three sides.
    pub fn classic_text(&self, fields: TextFields, cfg: ClassicConfig) -> Result<ClassicViews> {
        let train_texts = self.train.text_views(fields);
        let (model, train) = ClassicText::fit_transform(&train_texts, cfg)?;
        let val = model.transform(&self.val.text_views(fields));
        let hold = model.transform(&self.hold.text_views(fields));
        Ok(ClassicViews {
            fields,
            model,
            train,
            val,
            hold,
        })
    }
}

impl ClassicViews {
    /// The first `n` training rows side by side: title, neural view, classic view.
    pub fn examples(&self, train: &Dataset, n: usize) -> Table {
        let n = n.min(train.len()).min(self.train.len());
        let titles: Vec<&str> = train.titles().into_iter().take(n).collect();
        let neural: Vec<String> = titles
            .iter()
            .zip(train.texts())
            .map(|(t, p)| neural_text(&compose(t, p, self.fields)))
            .collect();
        let classic: Vec<String> = self.train.iter().take(n).map(|d| d.join(" ")).collect();
        let df = DataFrame::new(
            n,
            vec![
                Column::new("title".into(), titles),
                Column::new("neural_text".into(), neural),
                Column::new("classic_text".into(), classic),
            ],
        )
        .expect("three columns of n rows");
        Table::new(df).title(format!("the two text views ({:?} fields)", self.fields))
    }
}

impl ClassicText {
    /// The `n` highest-scoring learned phrases: `phrase`, `count` (in the training corpus), `score`.
    pub fn phrases_table(&self, n: usize) -> Table {
        let mut list: Vec<&super::Phrase> = self
            .phrases()
            .map(|p| p.phrases().iter().collect())
            .unwrap_or_default();
        list.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.first.cmp(&b.first)));
        let total = list.len();
        list.truncate(n);
        let df = DataFrame::new(
            list.len(),
            vec![
                Column::new(
                    "phrase".into(),
                    list.iter()
                        .map(|p| format!("{} {}", p.first, p.second))
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "count".into(),
                    list.iter().map(|p| p.count).collect::<Vec<_>>(),
                ),
                Column::new(
                    "score".into(),
                    list.iter().map(|p| p.score).collect::<Vec<_>>(),
                ),
            ],
        )
        .expect("three columns of equal length");
        Table::new(df).title(format!(
            "{total} phrases learned on the training side (top {})",
            n.min(total)
        ))
    }
}
