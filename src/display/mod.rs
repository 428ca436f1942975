//! Values that show themselves: [`Table`] prints as aligned text in a terminal and as an HTML
//! table when it ends a notebook cell (evcxr calls `evcxr_display`).

use polars::prelude::*;
use std::fmt;

/// A DataFrame with an optional title, shown whole (no row elision) as text or HTML.
/// Derefs to the DataFrame, so every polars method is at hand.
#[derive(Debug, Clone)]
pub struct Table {
    df: DataFrame,
    title: Option<String>,
    max_rows: usize,
}

impl Table {
    /// Wraps a DataFrame; at most 200 rows are shown by default.
    pub fn new(df: DataFrame) -> Self {
        Table {
            df,
            title: None,
            max_rows: 200,
        }
    }
    /// Sets the caption shown above the table.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
    /// Sets how many rows are shown before the rest is summarised.
    pub fn max_rows(mut self, n: usize) -> Self {
        self.max_rows = n;
        self
    }
    /// The wrapped DataFrame.
    pub fn df(&self) -> &DataFrame {
        &self.df
    }
    /// Unwraps the DataFrame.
    pub fn into_df(self) -> DataFrame {
        self.df
    }

    /// Header and cell strings, at most `max_rows` rows.
    fn cells(&self) -> (Vec<String>, Vec<Vec<String>>, Vec<bool>) {
        let cols = self.df.columns();
        let header = cols.iter().map(|c| c.name().to_string()).collect();
        let numeric = cols
            .iter()
            .map(|c| c.dtype().is_primitive_numeric())
            .collect();
        let n = self.df.height().min(self.max_rows);
        let rows = (0..n)
            .map(|i| {
                cols.iter()
                    .map(|c| cell(c.get(i).unwrap_or(AnyValue::Null)))
                    .collect()
            })
            .collect();
        (header, rows, numeric)
    }

    /// The table as an HTML fragment (escaped), as shown in notebooks.
    pub fn to_html(&self) -> String {
        let (header, rows, numeric) = self.cells();
        let esc = |s: &str| html_escape::encode_text(s).into_owned();
        let mut h = String::from("<div class=\"genre-nlp-table\">");
        if let Some(t) = &self.title {
            h.push_str(&format!("<p><b>{}</b></p>", esc(t)));
        }
        h.push_str("<table><thead><tr>");
        for name in &header {
            h.push_str(&format!("<th>{}</th>", esc(name)));
        }
        h.push_str("</tr></thead><tbody>");
        for row in &rows {
            h.push_str("<tr>");
            for (v, num) in row.iter().zip(&numeric) {
                let align = if *num {
                    " style=\"text-align:right\""
                } else {
                    ""
                };
                h.push_str(&format!("<td{align}>{}</td>", esc(v)));
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody></table>");
        if self.df.height() > rows.len() {
            h.push_str(&format!(
                "<p>… {} more rows</p>",
                self.df.height() - rows.len()
            ));
        }
        h.push_str("</div>");
        h
    }

    /// Shows the table inline in an evcxr notebook (called by the kernel for a cell's last value).
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
            self.to_html()
        );
    }
}

impl std::ops::Deref for Table {
    type Target = DataFrame;
    fn deref(&self) -> &DataFrame {
        &self.df
    }
}

impl From<DataFrame> for Table {
    fn from(df: DataFrame) -> Self {
        Table::new(df)
    }
}

fn cell(v: AnyValue<'_>) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        AnyValue::Float64(x) => format_float(x),
        AnyValue::Float32(x) => format_float(x as f64),
        other => other.to_string(),
    }
}

fn format_float(x: f64) -> String {
    if x.is_finite() && x.abs() >= 1e5 {
        format!("{x:.0}")
    } else if x.is_finite() && x.abs() < 1e-3 && x != 0.0 {
        format!("{x:.3e}")
    } else {
        format!("{x:.3}")
    }
}

impl fmt::Display for Table {
    /// Aligned plain text: strings left, numbers right, every row up to `max_rows`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (header, rows, numeric) = self.cells();
        let width = |s: &str| s.chars().count();
        let mut w: Vec<usize> = header.iter().map(|h| width(h)).collect();
        for row in &rows {
            for (k, v) in row.iter().enumerate() {
                w[k] = w[k].max(width(v).min(60));
            }
        }
        if let Some(t) = &self.title {
            writeln!(f, "{t}")?;
        }
        let line = |f: &mut fmt::Formatter<'_>, vals: &[String]| -> fmt::Result {
            let mut parts = Vec::with_capacity(vals.len());
            for (k, v) in vals.iter().enumerate() {
                let v: String = if width(v) > 60 {
                    v.chars().take(59).chain(['…']).collect()
                } else {
                    v.clone()
                };
                let pad = " ".repeat(w[k].saturating_sub(width(&v)));
                parts.push(if numeric[k] {
                    format!("{pad}{v}")
                } else {
                    format!("{v}{pad}")
                });
            }
            writeln!(f, "{}", parts.join("  ").trim_end())
        };
        line(f, &header)?;
        let rule: Vec<String> = w.iter().map(|n| "-".repeat(*n)).collect();
        writeln!(f, "{}", rule.join("  "))?;
        for row in &rows {
            line(f, row)?;
        }
        if self.df.height() > rows.len() {
            writeln!(f, "… {} more rows", self.df.height() - rows.len())?;
        }
        Ok(())
    }
}
