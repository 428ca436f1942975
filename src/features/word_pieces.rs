//! Word pieces for a fine-tuned encoder (`minilm-finetune`): each row's text (title + plot or
//! plot) through the model's own `tokenizer.json`, `[CLS] … [SEP]`, truncated at the max
//! length. Unlike the other representations it gives token ids, not feature columns: the
//! encoder that reads them is the model being trained.

use std::path::{Path, PathBuf};

use tokenizers::{Tokenizer, TruncationParams};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::features::embedding::SentenceFeatures;
use crate::features::representation::{Features, Representation};
use crate::features::sentence::default_model_dir;

/// File name of the tokenizer in a model directory (Hugging Face layout).
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// A tokenizer with the truncation and text view of a [`SentenceFeatures`] spec.
#[derive(Clone)]
pub struct WordPieces {
    spec: SentenceFeatures,
    tokenizer: Tokenizer,
    dir: PathBuf,
}

impl std::fmt::Debug for WordPieces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordPieces")
            .field("spec", &self.spec)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl WordPieces {
    /// The tokenizer of the spec's model directory (default: the MiniLM assets).
    pub fn from_spec(spec: &SentenceFeatures) -> Result<Self> {
        spec.validate()?;
        let dir = match &spec.model_dir {
            Some(d) => crate::nn::hub::resolve_model_dir(d)?,
            None => default_model_dir(),
        };
        Self::from_dir(&dir, spec)
    }

    /// The tokenizer saved in `dir` (a saved pipeline or a model directory).
    pub fn from_dir(dir: &Path, spec: &SentenceFeatures) -> Result<Self> {
        let path = dir.join(TOKENIZER_FILE);
        if !path.exists() {
            return Err(Error::Format {
                path,
                message: "no tokenizer here (run `scripts/assets` to fetch all-MiniLM-L6-v2, \
                          or --set model_dir=DIR for a Hugging Face model directory)"
                    .into(),
            });
        }
        let mut tokenizer = Tokenizer::from_file(&path).map_err(|e| Error::Format {
            path: path.clone(),
            message: format!("cannot read the tokenizer: {e}"),
        })?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: spec.max_length,
                ..Default::default()
            }))
            .map_err(|e| Error::Model(format!("tokenizer truncation: {e}")))?;
        tokenizer.with_padding(None);
        Ok(WordPieces {
            spec: spec.clone(),
            tokenizer,
            dir: dir.to_path_buf(),
        })
    }

    /// The options (model directory, text view, max length).
    pub fn spec(&self) -> &SentenceFeatures {
        &self.spec
    }

    /// The directory the tokenizer came from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Word-piece ids of each row, `[CLS] … [SEP]`, at most `max_length`.
    pub fn ids(&self, data: &Dataset) -> Result<Vec<Vec<u32>>> {
        let texts = data.neural_text(self.spec.fields);
        let inputs: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
        let enc = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| Error::Model(format!("tokenizer: {e}")))?;
        Ok(enc.into_iter().map(|e| e.get_ids().to_vec()).collect())
    }
}

impl Representation for WordPieces {
    fn name(&self) -> String {
        self.spec.name()
    }

    fn dim(&self) -> usize {
        self.spec.max_length
    }

    fn sparse(&self) -> bool {
        false
    }

    fn transform(&self, _data: &Dataset) -> Result<Features> {
        Err(Error::Config(
            "word pieces feed a fine-tuned encoder directly; they are not feature columns \
             (use the pipeline's predict / scores)"
                .into(),
        ))
    }

    fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(TOKENIZER_FILE);
        // The tokenizer as the model directory holds it (the truncation is ours, kept in the
        // pipeline's options), so `transformers` reads the saved directory as a model.
        let src = self.dir.join(TOKENIZER_FILE);
        if src != path {
            std::fs::copy(&src, &path).map_err(|e| Error::io(&src, e))?;
        }
        Ok(())
    }
}
