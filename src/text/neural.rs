//! The `neural_text` view: the minimal clean that transformer tokenizers want. Case,
//! punctuation and word forms are kept; only markup residue and layout noise go.

use rayon::prelude::*;

/// Cleans one text for a transformer: decodes HTML entities (`&amp;` → `&`, `&quot;` → `"`,
/// `&#39;` → `'`, ...), turns tabs, newlines and other control characters into spaces, drops
/// invisible format characters (zero-width space, BOM, soft hyphen), collapses whitespace runs
/// to one space and trims. Case and punctuation are kept.
///
/// ```
/// use genre_nlp::text::neural_text;
/// assert_eq!(neural_text("  Tom &amp; Jerry\t&quot;chase&quot;\n"), "Tom & Jerry \"chase\"");
/// ```
pub fn neural_text(text: &str) -> String {
    let decoded = html_escape::decode_html_entities(text);
    let mut out = String::with_capacity(decoded.len());
    // Pending space: written only before the next visible character, so runs collapse
    // and the result is trimmed at both ends.
    let mut pending_space = false;
    for c in decoded.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
        } else if is_invisible_format(c) {
            continue;
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// [`neural_text`] over many texts, in parallel (rayon); the output keeps the input order.
pub fn neural_texts<S: AsRef<str> + Sync>(texts: &[S]) -> Vec<String> {
    texts.par_iter().map(|t| neural_text(t.as_ref())).collect()
}

/// Zero-width and other invisible format characters that carry no text.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_entities() {
        assert_eq!(
            neural_text("Tom &amp; Jerry say &quot;hi&quot; &#39;n&#x27; &lt;b&gt; caf&eacute;"),
            "Tom & Jerry say \"hi\" 'n' <b> café"
        );
        // Unknown entities and bare ampersands stay as written.
        assert_eq!(neural_text("R&D &bogus; A & B"), "R&D &bogus; A & B");
    }

    #[test]
    fn whitespace_and_control_characters() {
        assert_eq!(neural_text("  a\tb\n\nc\r\n d  "), "a b c d");
        assert_eq!(neural_text("x\u{0}y\u{7}z\u{1b}w"), "x y z w");
        assert_eq!(
            neural_text("non\u{a0}breaking\u{2003}space"),
            "non breaking space"
        );
        assert_eq!(neural_text("zero\u{200b}width\u{feff}"), "zerowidth");
        assert_eq!(neural_text(" \t\n "), "");
        assert_eq!(neural_text(""), "");
    }

    #[test]
    fn keeps_case_and_punctuation() {
        let s = "He said: \"Don't!\" -- (NYC, 1999).";
        assert_eq!(neural_text(s), s);
    }

    #[test]
    fn many_texts_keep_order() {
        let v = neural_texts(&["a  b", "&amp;", "c"]);
        assert_eq!(v, vec!["a b", "&", "c"]);
    }
}
