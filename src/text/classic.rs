//! The `classic_text` view for bag-of-words models: POS-tagged, lemmatised, stopword-free
//! lowercase content words, with bigram phrases learned on the training split
//! (`new york` → `new_york`).

use super::phrases::{Phrases, PhrasesConfig};
use super::stopwords::is_stopword;
use crate::{Error, Result};
use english_pos_tagger::{Tagger, Token};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::OnceLock;

/// Coarse part of speech (the Universal tags the reference pipeline filters on), mapped from
/// the tagger's Penn Treebank tags by [`Pos::from_penn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pos {
    /// Common noun (`NN`, `NNS`).
    Noun,
    /// Proper noun (`NNP`, `NNPS`).
    Propn,
    /// Verb (`VB`, `VBD`, `VBG`, `VBN`, `VBP`, `VBZ`).
    Verb,
    /// Adjective (`JJ`, `JJR`, `JJS`).
    Adj,
    /// Adverb (`RB`, `RBR`, `RBS`).
    Adv,
    /// Anything else: determiners, pronouns, prepositions, numbers, punctuation, ...
    Other,
}

impl Pos {
    /// Maps a Penn Treebank tag: `NN`/`NNS` → Noun, `NNP`/`NNPS` → Propn, `VB*` → Verb,
    /// `JJ*` → Adj, `RB*` → Adv, everything else (including `WRB`, `MD`, `CD`) → Other.
    ///
    /// ```
    /// use genre_nlp::text::Pos;
    /// assert_eq!(Pos::from_penn("NNS"), Pos::Noun);
    /// assert_eq!(Pos::from_penn("VBD"), Pos::Verb);
    /// assert_eq!(Pos::from_penn("WRB"), Pos::Other);
    /// ```
    pub fn from_penn(tag: &str) -> Pos {
        match tag {
            "NN" | "NNS" => Pos::Noun,
            "NNP" | "NNPS" => Pos::Propn,
            t if t.starts_with("VB") => Pos::Verb,
            t if t.starts_with("JJ") => Pos::Adj,
            t if t.starts_with("RB") => Pos::Adv,
            _ => Pos::Other,
        }
    }
}

/// Options of the classic view. Defaults: keep NOUN, PROPN, VERB, ADJ, ADV; lowercase;
/// lemmatise; remove stopwords; tokens of at least 2 characters; phrases with gensim's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicConfig {
    /// Coarse parts of speech to keep; all other tokens are dropped.
    pub keep_pos: Vec<Pos>,
    /// Lowercase the output tokens.
    pub lowercase: bool,
    /// Drop tokens with fewer characters than this.
    pub min_token_len: usize,
    /// Replace words by their lemma (`fought` → `fight`); proper nouns keep their form.
    pub lemmatize: bool,
    /// Drop spaCy English stopwords (checked on the lowercased word and on its lemma).
    pub remove_stopwords: bool,
    /// Learn bigram phrases on the training texts; `None` disables phrases.
    pub phrases: Option<PhrasesConfig>,
}

impl Default for ClassicConfig {
    fn default() -> Self {
        ClassicConfig {
            keep_pos: vec![Pos::Noun, Pos::Propn, Pos::Verb, Pos::Adj, Pos::Adv],
            lowercase: true,
            min_token_len: 2,
            lemmatize: true,
            remove_stopwords: true,
            phrases: Some(PhrasesConfig::default()),
        }
    }
}

impl ClassicConfig {
    /// Sets [`ClassicConfig::keep_pos`].
    pub fn keep_pos(mut self, keep_pos: impl IntoIterator<Item = Pos>) -> Self {
        self.keep_pos = keep_pos.into_iter().collect();
        self
    }
    /// Sets [`ClassicConfig::lowercase`].
    pub fn lowercase(mut self, lowercase: bool) -> Self {
        self.lowercase = lowercase;
        self
    }
    /// Sets [`ClassicConfig::min_token_len`].
    pub fn min_token_len(mut self, min_token_len: usize) -> Self {
        self.min_token_len = min_token_len;
        self
    }
    /// Sets [`ClassicConfig::lemmatize`].
    pub fn lemmatize(mut self, lemmatize: bool) -> Self {
        self.lemmatize = lemmatize;
        self
    }
    /// Sets [`ClassicConfig::remove_stopwords`].
    pub fn remove_stopwords(mut self, remove_stopwords: bool) -> Self {
        self.remove_stopwords = remove_stopwords;
        self
    }
    /// Sets [`ClassicConfig::phrases`].
    pub fn phrases(mut self, phrases: Option<PhrasesConfig>) -> Self {
        self.phrases = phrases;
        self
    }

    /// Checks the options: `keep_pos` must name at least one part of speech, and the phrase
    /// options must be valid ([`PhrasesConfig::validate`]).
    pub fn validate(&self) -> Result<()> {
        if self.keep_pos.is_empty() {
            return Err(Error::Config(
                "classic_text keep_pos is empty: every token would be dropped".into(),
            ));
        }
        if let Some(p) = &self.phrases {
            p.validate()?;
        }
        Ok(())
    }
}

/// The process-wide tagger, built on first use. `Tagger::new()` copies the built-in lexicon,
/// so build it once and share it (it is `Sync`).
pub fn shared_tagger() -> &'static Tagger {
    static TAGGER: OnceLock<Tagger> = OnceLock::new();
    TAGGER.get_or_init(Tagger::new)
}

/// Tokens of one document for the classic view, without phrases: tags `text` with
/// english-pos-tagger (whole text at once; it needs no sentence splitting), keeps word tokens
/// whose coarse POS is in `config.keep_pos` (punctuation, numbers, symbols and URLs go),
/// replaces them by their lemma when `config.lemmatize` (proper nouns keep their form),
/// lowercases, drops stopwords (the lowercased word or its lemma), tokens shorter than
/// `config.min_token_len` characters and tokens without a letter.
///
/// The tagger marks every capitalised noun or adjective as a proper noun; for a
/// sentence-initial word that is never capitalised mid-sentence in the same text, the word
/// is re-tagged in lowercase, so "Aliens attack." yields `alien`, while "Jack runs. Jack hides."
/// keeps `jack` as a proper noun. A word capitalised mid-sentence that the tagger calls a
/// verb (the name "Rose" → `rise`) becomes a proper noun.
///
/// ```
/// use genre_nlp::text::{classic_tokens, shared_tagger, ClassicConfig};
/// let t = classic_tokens(shared_tagger(), "The soldiers fought bravely.", &ClassicConfig::default());
/// assert_eq!(t, vec!["soldier", "fight", "bravely"]);
/// ```
pub fn classic_tokens(tagger: &Tagger, text: &str, config: &ClassicConfig) -> Vec<String> {
    let mut tokens = tagger.tag_sentence(text);
    fix_sentence_initial(tagger, &mut tokens);
    let mut out = Vec::new();
    for t in &tokens {
        if t.tag != "word" && t.tag != "alien" {
            continue;
        }
        let pos = Pos::from_penn(t.pos.as_deref().unwrap_or(""));
        if !config.keep_pos.contains(&pos) {
            continue;
        }
        let normal = t.normal.as_deref().unwrap_or(&t.value);
        let lemma = match t.lemma.as_deref() {
            // The tagger's lemma is built on the normal form (lowercase, accents stripped):
            // where lemmatising changes nothing keep the surface form and its accents.
            Some(l) if pos != Pos::Propn && l != normal => l,
            _ => t.value.as_str(),
        };
        if config.remove_stopwords
            && (is_stopword(&t.value.to_lowercase()) || is_stopword(&lemma.to_lowercase()))
        {
            continue;
        }
        let form = if config.lemmatize { lemma } else { &t.value };
        let form = if config.lowercase {
            form.to_lowercase()
        } else {
            form.to_string()
        };
        if form.chars().count() < config.min_token_len || !form.chars().any(char::is_alphabetic) {
            continue;
        }
        out.push(form);
    }
    out
}

/// [`classic_tokens`] for many texts with the shared tagger, in parallel (rayon), with a
/// progress bar on stderr for large inputs. No phrases are applied.
pub fn classic_tokens_all<S: AsRef<str> + Sync>(
    texts: &[S],
    config: &ClassicConfig,
) -> Vec<Vec<String>> {
    let tagger = shared_tagger();
    let pb = crate::progress::bar(texts.len() as u64, "tagging");
    let out = texts
        .par_iter()
        .map(|t| {
            let tokens = classic_tokens(tagger, t.as_ref(), config);
            pb.inc(1);
            tokens
        })
        .collect();
    pb.finish_and_clear();
    out
}

/// Abbreviations whose trailing period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "capt", "col", "dr", "gen", "jr", "lt", "mr", "mrs", "ms", "mt", "prof", "rev", "sgt", "sr",
    "st", "vs",
];

/// Re-tags sentence-initial words that the tagger turned into proper nouns only because they
/// are capitalised, and capitalised names it took for verbs (see [`classic_tokens`]).
fn fix_sentence_initial(tagger: &Tagger, tokens: &mut [Token]) {
    let mut starts = vec![false; tokens.len()];
    let mut at_start = true;
    for i in 0..tokens.len() {
        starts[i] = at_start;
        let t = &tokens[i];
        if t.tag == "punctuation" {
            match t.value.as_str() {
                "." => {
                    let prev = i.checked_sub(1).map(|p| tokens[p].value.as_str());
                    // "Mr. Smith", "J. R. R. Tolkien" do not start sentences.
                    at_start = !prev.is_some_and(|p| {
                        p.chars().count() == 1 && p.chars().all(char::is_uppercase)
                            || ABBREVIATIONS.contains(&p.to_lowercase().as_str())
                    });
                }
                "!" | "?" | "…" | "..." => at_start = true,
                "," | ";" | ":" | "-" | "--" => at_start = false,
                // Quotes and brackets are transparent.
                _ => {}
            }
        } else {
            at_start = false;
        }
    }
    let capitalised = |t: &Token| t.value.chars().next().is_some_and(char::is_uppercase);
    // Words capitalised mid-sentence somewhere in the text: names.
    let seen_mid: HashSet<String> = (0..tokens.len())
        .filter(|&j| !starts[j] && tokens[j].tag == "word" && capitalised(&tokens[j]))
        .filter_map(|j| tokens[j].normal.clone())
        .collect();
    for i in 0..tokens.len() {
        let t = &tokens[i];
        if t.tag != "word" || !capitalised(t) {
            continue;
        }
        let Some(normal) = t.normal.clone() else {
            continue;
        };
        let pos = t.pos.as_deref().unwrap_or("");
        let is_name = seen_mid.contains(&normal);
        if pos.starts_with('V') && is_name {
            // A name the lexicon knows only as a verb ("Rose" → rise): a proper noun.
            tokens[i].pos = Some("NNP".to_string());
            tokens[i].lemma = Some(normal);
        } else if starts[i] && matches!(pos, "NNP" | "NNPS") && !is_name {
            let lower = t.value.to_lowercase();
            let retagged = tagger.tag_raw_tokens(&[lower.as_str()]);
            if let Some(r) = retagged.into_iter().next() {
                if !matches!(r.pos.as_deref(), Some("NNP" | "NNPS") | None) {
                    let t = &mut tokens[i];
                    t.pos = r.pos;
                    t.lemma = r.lemma;
                }
            }
        }
    }
}

/// The fitted classic view: the options plus the phrase table learned on the training texts.
/// Serialisable (serde), so a fitted view can be saved and applied later to new texts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassicText {
    config: ClassicConfig,
    phrases: Option<Phrases>,
}

impl ClassicText {
    /// Tokenises `train_texts` ([`classic_tokens_all`]) and learns phrases on them when
    /// `config.phrases` is set. Errors with [`Error::Config`] on invalid options.
    pub fn fit<S: AsRef<str> + Sync>(train_texts: &[S], config: ClassicConfig) -> Result<Self> {
        Ok(Self::fit_transform(train_texts, config)?.0)
    }

    /// [`ClassicText::fit`] and the training tokens with the learned phrases applied (what
    /// [`ClassicText::transform`] would return for `train_texts`), tagging them only once.
    pub fn fit_transform<S: AsRef<str> + Sync>(
        train_texts: &[S],
        config: ClassicConfig,
    ) -> Result<(Self, Vec<Vec<String>>)> {
        config.validate()?;
        let tokens = classic_tokens_all(train_texts, &config);
        Self::fit_tokens(tokens, config)
    }

    /// [`ClassicText::fit_transform`] from tokens already made by [`classic_tokens_all`] with
    /// the same `config` (tagging is the slow part: tag once, fit phrases on several subsets).
    pub fn fit_tokens(
        tokens: Vec<Vec<String>>,
        config: ClassicConfig,
    ) -> Result<(Self, Vec<Vec<String>>)> {
        config.validate()?;
        let phrases = match &config.phrases {
            Some(p) => Some(Phrases::fit(&tokens, p.clone())?),
            None => None,
        };
        let fitted = ClassicText { config, phrases };
        let tokens = match &fitted.phrases {
            Some(p) => tokens.into_par_iter().map(|d| p.apply_owned(d)).collect(),
            None => tokens,
        };
        Ok((fitted, tokens))
    }

    /// Tokens of each text: [`classic_tokens`] then the learned phrases (rayon, order kept).
    pub fn transform<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<Vec<String>> {
        let tokens = classic_tokens_all(texts, &self.config);
        match &self.phrases {
            Some(p) => tokens.into_par_iter().map(|d| p.apply_owned(d)).collect(),
            None => tokens,
        }
    }

    /// Applies the learned phrases to tokens made by [`classic_tokens_all`] (rayon, order kept).
    pub fn apply_phrases(&self, tokens: Vec<Vec<String>>) -> Vec<Vec<String>> {
        match &self.phrases {
            Some(p) => tokens.into_par_iter().map(|d| p.apply_owned(d)).collect(),
            None => tokens,
        }
    }

    /// [`ClassicText::transform`] with each document's tokens joined by single spaces.
    pub fn transform_joined<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<String> {
        self.transform(texts)
            .into_par_iter()
            .map(|d| d.join(" "))
            .collect()
    }

    /// The options this view was fitted with.
    pub fn config(&self) -> &ClassicConfig {
        &self.config
    }

    /// The learned phrases, or `None` when phrases were disabled.
    pub fn phrases(&self) -> Option<&Phrases> {
        self.phrases.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::phrases::PhrasesConfig;

    fn toks(text: &str) -> Vec<String> {
        classic_tokens(shared_tagger(), text, &ClassicConfig::default())
    }

    fn toks_with(text: &str, cfg: &ClassicConfig) -> Vec<String> {
        classic_tokens(shared_tagger(), text, cfg)
    }

    #[test]
    fn penn_to_coarse() {
        let cases = [
            ("NN", Pos::Noun),
            ("NNS", Pos::Noun),
            ("NNP", Pos::Propn),
            ("NNPS", Pos::Propn),
            ("VB", Pos::Verb),
            ("VBD", Pos::Verb),
            ("VBG", Pos::Verb),
            ("VBN", Pos::Verb),
            ("VBP", Pos::Verb),
            ("VBZ", Pos::Verb),
            ("JJ", Pos::Adj),
            ("JJR", Pos::Adj),
            ("JJS", Pos::Adj),
            ("RB", Pos::Adv),
            ("RBR", Pos::Adv),
            ("RBS", Pos::Adv),
            ("WRB", Pos::Other),
            ("MD", Pos::Other),
            ("DT", Pos::Other),
            ("IN", Pos::Other),
            ("CD", Pos::Other),
            ("PRP", Pos::Other),
            (".", Pos::Other),
            ("", Pos::Other),
        ];
        for (tag, pos) in cases {
            assert_eq!(Pos::from_penn(tag), pos, "{tag}");
        }
    }

    #[test]
    fn golden_sentences() {
        // Lemmas: aliens → alien, fought → fight, soldiers → soldier; "were", "by", "the",
        // "in" are stopwords; New York is a proper noun and keeps its (lowercased) words.
        assert_eq!(
            toks("Aliens were fought by the soldiers in New York."),
            vec!["alien", "fight", "soldier", "new", "york"]
        );
        // women → woman; investigates → investigate; "three" is a number.
        assert_eq!(
            toks("A young detective investigates the mysterious murders of three women."),
            vec![
                "young",
                "detective",
                "investigate",
                "mysterious",
                "murder",
                "woman"
            ]
        );
        // Numbers, punctuation and stopwords go; "she", "her", "'s" too.
        assert_eq!(
            toks("In 1999, she finds her brother's diary!!"),
            vec!["find", "brother", "diary"]
        );
    }

    #[test]
    fn sentence_initial_capitals() {
        let nouns = ClassicConfig::default().keep_pos([Pos::Noun]);
        let propn = ClassicConfig::default().keep_pos([Pos::Propn]);
        // "Aliens" starts the sentence: a common noun, lemmatised.
        assert_eq!(
            toks_with("Aliens attack the city.", &nouns),
            vec!["alien", "city"]
        );
        // Capitalised mid-sentence elsewhere in the text: a name, kept as a proper noun.
        assert_eq!(
            toks_with("Rose sings. She meets Rose again.", &propn),
            vec!["rose", "rose"]
        );
        // Never capitalised mid-sentence: re-tagged in lowercase, a common noun.
        assert_eq!(toks_with("Soldiers march.", &nouns), vec!["soldier"]);
    }

    #[test]
    fn options() {
        let text = "Aliens were fought by the soldiers in New York.";
        let no_lemma = ClassicConfig::default().lemmatize(false);
        assert_eq!(
            toks_with(text, &no_lemma),
            vec!["aliens", "fought", "soldiers", "new", "york"]
        );
        let keep_case = ClassicConfig::default().lowercase(false);
        assert_eq!(
            toks_with(text, &keep_case),
            vec!["alien", "fight", "soldier", "New", "York"]
        );
        let long = ClassicConfig::default().min_token_len(6);
        assert_eq!(toks_with(text, &long), vec!["soldier"]);
        let verbs = ClassicConfig::default().keep_pos([Pos::Verb]);
        assert_eq!(toks_with(text, &verbs), vec!["fight"]);
        // Without stopword removal, "were" (lemma "be") is a kept verb.
        let all = ClassicConfig::default().remove_stopwords(false);
        assert_eq!(toks_with(text, &all)[..3], ["alien", "be", "fight"]);
        assert!(matches!(
            ClassicConfig::default().keep_pos([]).validate(),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn stopwords_checked_on_word_and_lemma() {
        // "did" is a stopword as a word; "does" lemmatises to "do", a stopword.
        let verbs = ClassicConfig::default()
            .keep_pos([Pos::Verb])
            .remove_stopwords(true);
        assert!(toks_with("He did it and does it.", &verbs).is_empty());
    }

    #[test]
    fn empty_and_junk_text() {
        assert!(toks("").is_empty());
        assert!(toks("... 123 !!! -- 42").is_empty());
    }

    fn corpus() -> Vec<String> {
        [
            "A dancer moves to New York to find fame.",
            "Two cops patrol the streets of New York at night.",
            "In New York, a young lawyer defends a killer.",
            "A family leaves New York for a farm.",
            "The mayor of New York fights corruption.",
            "A chef opens a restaurant in Paris.",
            "A boxer trains hard for the final fight.",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn fit_transform_learns_new_york() {
        // new 5, york 5, new york 5: (5 - 2) / 25 * len_vocab > 1 for any non-trivial vocabulary.
        let cfg = ClassicConfig::default()
            .phrases(Some(PhrasesConfig::default().min_count(2).threshold(1.0)));
        let (fitted, train) = ClassicText::fit_transform(&corpus(), cfg.clone()).unwrap();
        let phrases = fitted.phrases().unwrap();
        assert_eq!(phrases.phrases()[0].first, "new");
        assert_eq!(phrases.phrases()[0].second, "york");
        assert_eq!(phrases.phrases()[0].count, 5);
        // "moves" → "move", a spaCy stopword.
        assert_eq!(train[0], vec!["dancer", "new_york", "find", "fame"]);
        assert_eq!(train, fitted.transform(&corpus()));
        let fitted2 = ClassicText::fit(&corpus(), cfg).unwrap();
        assert_eq!(
            fitted2.transform_joined(&["Lost in New York again."]),
            vec!["lose new_york"]
        );
        // Without phrases the words stay apart.
        let plain = ClassicText::fit(&corpus(), ClassicConfig::default().phrases(None)).unwrap();
        assert!(plain.phrases().is_none());
        assert_eq!(plain.transform_joined(&["New York"]), vec!["new york"]);
    }

    #[test]
    fn classic_text_serde_round_trip() {
        let cfg = ClassicConfig::default()
            .phrases(Some(PhrasesConfig::default().min_count(2).threshold(1.0)));
        let fitted = ClassicText::fit(&corpus(), cfg).unwrap();
        let json = serde_json::to_string(&fitted).unwrap();
        let back: ClassicText = serde_json::from_str(&json).unwrap();
        assert_eq!(back.config(), fitted.config());
        assert_eq!(
            back.phrases().unwrap().phrases(),
            fitted.phrases().unwrap().phrases()
        );
        let text = ["A cop in New York."];
        assert_eq!(back.transform(&text), fitted.transform(&text));
        assert_eq!(back.transform(&text), vec![vec!["cop", "new_york"]]);
    }

    #[test]
    fn invalid_phrase_config_is_an_error() {
        let cfg = ClassicConfig::default().phrases(Some(PhrasesConfig::default().delimiter("")));
        assert!(matches!(
            ClassicText::fit(&corpus(), cfg),
            Err(Error::Config(_))
        ));
    }
}
