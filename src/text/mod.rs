//! The two text views of a movie's title and plot:
//!
//! - [`neural_text`]: a minimal clean for transformers (HTML entities decoded, whitespace
//!   normalised; case and punctuation kept);
//! - the classic view for bag-of-words models: [`classic_tokens`] (POS filter, lemmas,
//!   stopwords) and [`ClassicText`], which also learns bigram [`Phrases`] on the training split.
//!
//! [`compose`] builds the text a view starts from, out of title and plot ([`TextFields`]).

pub mod classic;
pub mod neural;
pub mod phrases;
pub mod stopwords;
mod views;

pub use classic::{
    classic_tokens, classic_tokens_all, shared_tagger, ClassicConfig, ClassicText, Pos,
};
pub use neural::{neural_text, neural_texts};
pub use phrases::{Phrase, Phrases, PhrasesConfig, Scoring};
pub use stopwords::{is_stopword, STOPWORDS};
pub use views::ClassicViews;

use serde::{Deserialize, Serialize};

/// Which fields of a movie make up its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TextFields {
    /// The plot description only.
    Plot,
    /// The title (without its year suffix and quotes), `". "`, then the plot.
    #[default]
    TitlePlot,
}

/// Builds a movie's text from its IMDb title and plot.
///
/// With [`TextFields::TitlePlot`] the title loses its IMDb year suffix (`" (2009)"`,
/// `" (2013/I)"`, `" (????)"`) and the quotes around TV series titles, then is joined to the
/// plot with `". "`; an empty cleaned title gives the plot alone. Both parts are trimmed.
///
/// ```
/// use genre_nlp::text::{compose, TextFields};
/// assert_eq!(compose("\"Pink Slip\" (2009)", "A man loses his job.", TextFields::TitlePlot),
///            "Pink Slip. A man loses his job.");
/// assert_eq!(compose("Avatar (2009)", "Blue aliens.", TextFields::Plot), "Blue aliens.");
/// ```
pub fn compose(title: &str, plot: &str, fields: TextFields) -> String {
    let plot = plot.trim();
    match fields {
        TextFields::Plot => plot.to_string(),
        TextFields::TitlePlot => {
            let title = clean_title(title);
            if title.is_empty() {
                plot.to_string()
            } else if plot.is_empty() {
                title.to_string()
            } else {
                format!("{title}. {plot}")
            }
        }
    }
}

/// Removes the IMDb year suffix and surrounding double quotes from a title.
fn clean_title(title: &str) -> &str {
    let mut t = title.trim();
    if let Some(stripped) = strip_year_suffix(t) {
        t = stripped.trim_end();
    }
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        t = t[1..t.len() - 1].trim();
    }
    t
}

/// `Some(rest)` when `title` ends with `(YYYY)`, `(????)` or `(YYYY/ROMAN)`.
fn strip_year_suffix(title: &str) -> Option<&str> {
    let inner_start = title.strip_suffix(')')?.rfind('(')?;
    let inner = &title[inner_start + 1..title.len() - 1];
    let (year, roman) = match inner.split_once('/') {
        Some((y, r)) => (y, Some(r)),
        None => (inner, None),
    };
    let year_ok = year.len() == 4
        && (year.bytes().all(|b| b.is_ascii_digit()) || year.bytes().all(|b| b == b'?'));
    let roman_ok = roman
        .is_none_or(|r| !r.is_empty() && r.bytes().all(|b| matches!(b, b'I' | b'V' | b'X' | b'L')));
    (year_ok && roman_ok).then(|| &title[..inner_start])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_strips_year_and_quotes() {
        let p = "A plot.";
        let tp = TextFields::TitlePlot;
        assert_eq!(
            compose("Oscar et la dame rose (2009)", p, tp),
            "Oscar et la dame rose. A plot."
        );
        assert_eq!(
            compose("Er ist wieder da (2015/I)", p, tp),
            "Er ist wieder da. A plot."
        );
        assert_eq!(compose("Untitled (????)", p, tp), "Untitled. A plot.");
        assert_eq!(
            compose("\"Desperate Hours\" (2016)", p, tp),
            "Desperate Hours. A plot."
        );
        assert_eq!(compose(" \"Quoted\" ", " A plot. ", tp), "Quoted. A plot.");
        // Parentheses that are not a year stay.
        assert_eq!(
            compose("Movie (The Return)", p, tp),
            "Movie (The Return). A plot."
        );
        assert_eq!(compose("Movie (20091)", p, tp), "Movie (20091). A plot.");
        assert_eq!(compose("(2009)", p, tp), "A plot.");
        assert_eq!(compose("Title (2009)", "", tp), "Title");
    }

    #[test]
    fn compose_plot_only_and_default() {
        assert_eq!(compose("T (2001)", " plot ", TextFields::Plot), "plot");
        assert_eq!(TextFields::default(), TextFields::TitlePlot);
    }
}
