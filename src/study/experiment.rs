//! What a study runs: an [`Experiment`] is one (representation × model) pipeline with its
//! options, its [`Family`], and the [`Profile`] that sized it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::{ModelSpec, PipelineConfig, TfidfLinearConfig, PIPELINES};

/// The study's model families, in the order the reference study climbs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Linear models on any representation (TF-IDF + SVM, MiniLM + logistic regression).
    Baseline,
    /// Feed-forward networks on dense or sparse representations.
    Ffnn,
    /// Recurrent networks over token sequences.
    Rnn,
    /// Fine-tuned transformer encoders.
    Transformer,
}

impl Family {
    /// The lower-case name used in tables, tags and figures.
    pub fn as_str(&self) -> &'static str {
        match self {
            Family::Baseline => "baseline",
            Family::Ffnn => "ffnn",
            Family::Rnn => "rnn",
            Family::Transformer => "transformer",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How big a study is: `quick` (first contact: every family, short training, a few minutes on
/// 2 cores), `full` (every pipeline with the reference study's settings) or `smoke` (quick with
/// MiniLM on 32 word pieces and one fine-tuning epoch: what the notebook tests run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Every family once, short training.
    Quick,
    /// Every pipeline, full training.
    Full,
    /// The quick pipelines, MiniLM on short inputs and one fine-tuning epoch (tests and CI).
    Smoke,
}

/// The variable that picks the profile.
pub const PROFILE_VAR: &str = "GENRE_PROFILE";

impl Profile {
    /// `quick`, `full` or `smoke`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quick" => Ok(Profile::Quick),
            "full" => Ok(Profile::Full),
            "smoke" => Ok(Profile::Smoke),
            other => Err(Error::Config(format!(
                "profile `{other}`: expected quick, full or smoke"
            ))),
        }
    }

    /// From `$GENRE_PROFILE` (`quick` when unset or empty); any other value is an error naming
    /// the variable.
    pub fn from_env() -> Result<Self> {
        match std::env::var(PROFILE_VAR) {
            Ok(v) if !v.trim().is_empty() => {
                Self::parse(&v).map_err(|e| Error::Config(format!("{PROFILE_VAR}: {e}")))
            }
            _ => Ok(Profile::Quick),
        }
    }

    /// `quick`, `full` or `smoke`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Full => "full",
            Profile::Smoke => "smoke",
        }
    }

    /// The pipelines a study of this profile runs, in the order of the reference study.
    pub fn pipelines(&self) -> &'static [&'static str] {
        match self {
            Profile::Quick | Profile::Smoke => &[
                "tfidf-linear",
                "tfidf-svd-ffnn",
                "glove-ffnn",
                "minilm-ffnn",
                "glove-bilstm",
                "minilm-finetune",
            ],
            Profile::Full => &[
                "tfidf-linear",
                "minilm-linear",
                "tfidf-svd-ffnn",
                "bow-svd-ffnn",
                "tfidf-ffnn",
                "w2v-ffnn",
                "fasttext-ffnn",
                "glove-ffnn",
                "spacy-ffnn",
                "minilm-ffnn",
                "random-bigru",
                "w2v-bigru",
                "fasttext-bilstm",
                "glove-bilstm",
                "minilm-finetune",
            ],
        }
    }

    /// The profile's `--set` overrides of a pipeline of `family` on `representation` (`quick`
    /// trains FFNNs and RNNs for at most 12 epochs with patience 3 and fine-tunes for 2 epochs on
    /// the first 64 word pieces; `smoke` trains FFNNs and RNNs as `quick`, fine-tunes for 1 epoch,
    /// and reads the first 32 word pieces wherever MiniLM reads text; `full` keeps every default).
    pub fn overrides(
        &self,
        family: Family,
        representation: &str,
    ) -> Vec<(&'static str, &'static str)> {
        let mut sets = match (self, family) {
            (Profile::Quick | Profile::Smoke, Family::Ffnn | Family::Rnn) => {
                vec![("epochs", "12"), ("patience", "3")]
            }
            (Profile::Quick, Family::Transformer) => {
                vec![("epochs", "2"), ("max_length", "64"), ("patience", "0")]
            }
            (Profile::Smoke, Family::Transformer) => vec![("epochs", "1"), ("patience", "0")],
            _ => vec![],
        };
        if *self == Profile::Smoke && representation == "minilm" {
            sets.push(("max_length", "32"));
        }
        sets
    }

    /// Every experiment of the profile, seeded with `seed`.
    pub fn experiments(&self, seed: u64) -> Result<Vec<Experiment>> {
        self.pipelines()
            .iter()
            .map(|name| Experiment::for_profile(name, *self)?.set("seed", &seed.to_string()))
            .collect()
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The configuration an experiment fits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentSpec {
    /// The `tfidf-linear` baseline (its own tuned config).
    TfidfLinear(TfidfLinearConfig),
    /// Any composed pipeline (representation × model).
    Pipeline(PipelineConfig),
}

/// One (representation × model) run of a study: `Experiment::new("tfidf-svd-ffnn")?`, options
/// with `.set("epochs", "20")?` (the same keys as `genre fit --set`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// The configuration it fits.
    pub spec: ExperimentSpec,
}

impl Experiment {
    /// The defaults of pipeline `name` (`genre fit --pipeline help` lists them).
    pub fn new(name: &str) -> Result<Self> {
        let spec = if name == crate::models::tfidf_linear::PIPELINE {
            ExperimentSpec::TfidfLinear(TfidfLinearConfig::default())
        } else {
            ExperimentSpec::Pipeline(PipelineConfig::from_name(name)?)
        };
        Ok(Experiment { spec })
    }

    /// Pipeline `name` with the overrides of `profile`.
    pub fn for_profile(name: &str, profile: Profile) -> Result<Self> {
        let mut e = Self::new(name)?;
        for (k, v) in profile.overrides(e.family(), &e.representation()) {
            e = e.set(k, v)?;
        }
        Ok(e)
    }

    /// Any composed pipeline.
    pub fn from_config(config: PipelineConfig) -> Self {
        Experiment {
            spec: ExperimentSpec::Pipeline(config),
        }
    }

    /// Sets option `key` (unknown keys and bad values are errors naming the key).
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        match &mut self.spec {
            ExperimentSpec::TfidfLinear(c) => {
                if key.trim() == "seed" {
                    let seed: u64 = crate::train::config::parse_value(key, value)?;
                    *c = c.clone().seed(seed);
                } else {
                    c.set(key, value)?;
                }
            }
            ExperimentSpec::Pipeline(c) => c.set(key, value)?,
        }
        Ok(self)
    }

    /// The pipeline name (`tfidf-linear`, `tfidf-svd-ffnn`, ...).
    pub fn name(&self) -> String {
        match &self.spec {
            ExperimentSpec::TfidfLinear(_) => crate::models::tfidf_linear::PIPELINE.to_string(),
            ExperimentSpec::Pipeline(c) => c.name(),
        }
    }

    /// The representation part of the name (`tfidf`, `tfidf-svd`, `minilm`, ...).
    pub fn representation(&self) -> String {
        match &self.spec {
            ExperimentSpec::TfidfLinear(_) => "tfidf".into(),
            ExperimentSpec::Pipeline(c) => c.representation.name(),
        }
    }

    /// The model family: linear models are the baseline, networks their own family.
    pub fn family(&self) -> Family {
        match &self.spec {
            ExperimentSpec::TfidfLinear(_) => Family::Baseline,
            ExperimentSpec::Pipeline(c) => match c.model {
                ModelSpec::Linear(_) => Family::Baseline,
                ModelSpec::Ffnn(_) => Family::Ffnn,
                ModelSpec::Rnn(_) => Family::Rnn,
                ModelSpec::Finetune(_) => Family::Transformer,
            },
        }
    }

    /// A one-line description of the pipeline (from [`PIPELINES`]).
    pub fn description(&self) -> &'static str {
        let name = self.name();
        PIPELINES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| *d)
            .unwrap_or("")
    }

    /// The options as flat `key → value` pairs, for tracking.
    pub fn params(&self) -> Vec<(String, String)> {
        match &self.spec {
            ExperimentSpec::TfidfLinear(c) => c.params(),
            ExperimentSpec::Pipeline(c) => c.params(),
        }
    }

    /// Checks every option.
    pub fn validate(&self) -> Result<()> {
        match &self.spec {
            ExperimentSpec::TfidfLinear(c) => c.validate(),
            ExperimentSpec::Pipeline(c) => c.validate(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_families_and_profiles() {
        let e = Experiment::new("tfidf-linear").unwrap();
        assert_eq!(
            (e.name(), e.family()),
            ("tfidf-linear".into(), Family::Baseline)
        );
        let e = Experiment::new("minilm-linear").unwrap();
        assert_eq!(e.family(), Family::Baseline);
        assert_eq!(e.representation(), "minilm");
        let e = Experiment::for_profile("tfidf-svd-ffnn", Profile::Quick).unwrap();
        assert_eq!(e.family(), Family::Ffnn);
        match &e.spec {
            ExperimentSpec::Pipeline(c) => match &c.model {
                ModelSpec::Ffnn(f) => assert_eq!((f.train.epochs, f.train.patience), (12, 3)),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        for p in [Profile::Quick, Profile::Full, Profile::Smoke] {
            let ex = p.experiments(7).unwrap();
            assert_eq!(ex.len(), p.pipelines().len());
            let fams: std::collections::BTreeSet<&str> =
                ex.iter().map(|e| e.family().as_str()).collect();
            assert!(
                fams.contains("baseline") && fams.contains("ffnn"),
                "{fams:?}"
            );
        }
        // smoke: quick's pipelines and FFNN / RNN training, MiniLM on 32 word pieces, 1
        // fine-tuning epoch.
        assert_eq!(Profile::Smoke.pipelines(), Profile::Quick.pipelines());
        let has = |name: &str, key: &str, value: &str| {
            let e = Experiment::for_profile(name, Profile::Smoke).unwrap();
            let params = e.params();
            let found = params
                .iter()
                .any(|(k, v)| (k == key || k.ends_with(&format!(".{key}"))) && v == value);
            assert!(found, "{name}: no {key} = {value} in {params:?}");
        };
        has("minilm-ffnn", "epochs", "12");
        has("minilm-ffnn", "max_length", "32");
        has("glove-bilstm", "epochs", "12");
        has("minilm-finetune", "epochs", "1");
        has("minilm-finetune", "max_length", "32");
        let quick = Experiment::for_profile("minilm-ffnn", Profile::Quick).unwrap();
        assert!(!quick
            .params()
            .iter()
            .any(|(k, v)| k.ends_with("max_length") && v == "32"));
        assert!(Profile::parse("Full").is_ok());
        let err = Profile::parse("fast").unwrap_err().to_string();
        assert!(
            err.contains("fast") && err.contains("quick, full or smoke"),
            "{err}"
        );
    }

    #[test]
    fn bad_options_name_the_key() {
        let err = Experiment::new("tfidf-svd-ffnn")
            .unwrap()
            .set("epochs", "many")
            .unwrap_err()
            .to_string();
        assert!(err.contains("epochs"), "{err}");
        let err = Experiment::new("nope-ffnn").unwrap_err().to_string();
        assert!(err.contains("nope-ffnn"), "{err}");
        assert!(Experiment::new("tfidf-linear")
            .unwrap()
            .set("seed", "3")
            .is_ok());
    }
}
