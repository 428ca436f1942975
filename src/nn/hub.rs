//! Model directories by Hugging Face hub id. A `model_dir` that is a directory is used as it
//! is; with the `hub` feature, one that is not (`distilroberta-base`,
//! `google/electra-base-discriminator`) is fetched through the `hf-hub` crate into the
//! Hugging Face cache (`$HF_HOME`, as Python's `huggingface_hub` shares it): `config.json`,
//! `tokenizer.json` and `model.safetensors` (else `pytorch_model.bin`). Tests never download:
//! they read the tiny models of `tests/fixtures/tiny-hf`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The directory `model_dir` names: itself when it is one, else (feature `hub`) the snapshot
/// of the hub model of that id, downloaded when missing.
pub fn resolve_model_dir(model_dir: &Path) -> Result<PathBuf> {
    if model_dir.is_dir() {
        return Ok(model_dir.to_path_buf());
    }
    #[cfg(feature = "hub")]
    if let Some(id) = model_dir.to_str().filter(|s| is_hub_id(s)) {
        return download(id);
    }
    Err(Error::Format {
        path: model_dir.to_path_buf(),
        message: if cfg!(feature = "hub") {
            "no such model directory, nor a hub id (owner/name)".into()
        } else {
            "no such model directory (a Hugging Face model directory: config.json, \
             model.safetensors or pytorch_model.bin, tokenizer.json; build with \
             `--features hub` to fetch a hub id such as distilroberta-base)"
                .into()
        },
    })
}

/// `name` or `owner/name` of letters, digits, `-`, `_` and `.`.
pub fn is_hub_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    (1..=2).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && !p.starts_with('.')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

/// Fetches the files an encoder needs of hub model `id` (progress bars on stderr) and returns
/// their snapshot directory.
#[cfg(feature = "hub")]
pub fn download(id: &str) -> Result<PathBuf> {
    let err = |file: &str, e: &dyn std::fmt::Display| {
        Error::Model(format!("hub model `{id}`: cannot fetch {file}: {e}"))
    };
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(true)
        .build()
        .map_err(|e| Error::Model(format!("hub: {e}")))?;
    let repo = api.model(id.to_string());
    let config = repo
        .get("config.json")
        .map_err(|e| err("config.json", &e))?;
    repo.get("tokenizer.json")
        .map_err(|e| err("tokenizer.json", &e))?;
    if let Err(first) = repo.get("model.safetensors") {
        repo.get("pytorch_model.bin").map_err(|e| {
            err(
                "model.safetensors or pytorch_model.bin",
                &format!("{first}; {e}"),
            )
        })?;
    }
    config
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| Error::Model(format!("hub model `{id}`: no snapshot directory")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_kept_and_other_names_say_what_a_model_dir_is() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resolve_model_dir(dir.path()).unwrap(), dir.path());
        let e = resolve_model_dir(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("missing") && e.contains("model directory"),
            "{e}"
        );
        assert!(is_hub_id("distilroberta-base"));
        assert!(is_hub_id("google/electra-base-discriminator"));
        assert!(!is_hub_id("/tmp/x"));
        assert!(!is_hub_id("a/b/c"));
        assert!(!is_hub_id("../x"));
    }
}
