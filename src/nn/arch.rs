//! The BERT-family architectures the encoders read — BERT (and MiniLM), DistilBERT, RoBERTa
//! (and DistilRoBERTa), ELECTRA (discriminator) and ALBERT — as one post-layer-norm transformer
//! with a few switches, and where each keeps its tensors.
//!
//! All five are the same maths: embeddings (word + position [+ token type]) → layer norm →
//! layers of (attention → dense → add & norm → dense → GELU → dense → add & norm). They differ
//! in tensor names (DistilBERT's `transformer.layer.N.attention.q_lin`, ALBERT's
//! `encoder.albert_layer_groups.G.albert_layers.0.ffn`, …), in RoBERTa's positions (counted
//! from `pad_token_id + 1`), in ELECTRA's and ALBERT's narrower embeddings projected up to the
//! hidden width, in ALBERT's layers sharing one set of weights per group and its tanh GELU
//! (`gelu_new`), in DistilBERT having no token types, and in where dropout sits in training.
//! [`Slot`] names a tensor by its role; [`Arch::name`] gives its name in the checkpoint.

use serde::{Deserialize, Serialize};

use crate::nn::bert::BertConfig;

/// A BERT-family architecture, from `config.json`'s `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// BERT and MiniLM (`model_type` `bert`).
    #[default]
    Bert,
    /// DistilBERT.
    DistilBert,
    /// RoBERTa and DistilRoBERTa.
    Roberta,
    /// ELECTRA's discriminator.
    Electra,
    /// ALBERT.
    Albert,
}

/// The `model_type`s [`Arch::from_model_type`] knows, for error messages.
pub const MODEL_TYPES: &str = "bert, distilbert, roberta, electra, albert";

/// A tensor of the encoder by its role (each a dense or norm has `.weight` and `.bias`; the
/// embedding tables have `.weight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Word embeddings (`vocab × E`).
    Word,
    /// Position embeddings (`positions × E`).
    Position,
    /// Token-type embeddings (`types × E`; not in DistilBERT).
    TokenType,
    /// Layer norm of the embeddings (`E`).
    EmbNorm,
    /// ELECTRA's / ALBERT's projection of the embeddings to the hidden width (`H × E`).
    Project,
    /// Attention query of layer `l`.
    Query(usize),
    /// Attention key of layer `l`.
    Key(usize),
    /// Attention value of layer `l`.
    Value(usize),
    /// Attention output dense of layer `l`.
    AttnOut(usize),
    /// Layer norm after attention of layer `l`.
    AttnNorm(usize),
    /// Feed-forward input dense (`I × H`) of layer `l`.
    Inter(usize),
    /// Feed-forward output dense (`H × I`) of layer `l`.
    Out(usize),
    /// Layer norm after the feed-forward of layer `l`.
    OutNorm(usize),
}

impl Slot {
    /// Depth for layer-wise learning-rate decay: 0 for the embeddings block and its
    /// projection, `l + 1` for layer `l`.
    pub fn depth(&self) -> usize {
        match *self {
            Slot::Word | Slot::Position | Slot::TokenType | Slot::EmbNorm | Slot::Project => 0,
            Slot::Query(l)
            | Slot::Key(l)
            | Slot::Value(l)
            | Slot::AttnOut(l)
            | Slot::AttnNorm(l)
            | Slot::Inter(l)
            | Slot::Out(l)
            | Slot::OutNorm(l) => l + 1,
        }
    }

    /// Whether the slot belongs to the embeddings block ([`Slot::Project`] does not: it trains
    /// when the embeddings are frozen).
    pub fn is_embedding(&self) -> bool {
        matches!(
            self,
            Slot::Word | Slot::Position | Slot::TokenType | Slot::EmbNorm
        )
    }
}

impl Arch {
    /// The architecture of a `model_type` (`None` for one we do not read).
    pub fn from_model_type(model_type: &str) -> Option<Arch> {
        Some(match model_type {
            "bert" => Arch::Bert,
            "distilbert" => Arch::DistilBert,
            "roberta" => Arch::Roberta,
            "electra" => Arch::Electra,
            "albert" => Arch::Albert,
            _ => return None,
        })
    }

    /// `config.json`'s `model_type`.
    pub fn model_type(&self) -> &'static str {
        match self {
            Arch::Bert => "bert",
            Arch::DistilBert => "distilbert",
            Arch::Roberta => "roberta",
            Arch::Electra => "electra",
            Arch::Albert => "albert",
        }
    }

    /// Prefix of the encoder's tensors in a checkpoint of a model with a head (transformers'
    /// `base_model_prefix` and a dot).
    pub fn prefix(&self) -> &'static str {
        match self {
            Arch::Bert => "bert.",
            Arch::DistilBert => "distilbert.",
            Arch::Roberta => "roberta.",
            Arch::Electra => "electra.",
            Arch::Albert => "albert.",
        }
    }

    /// transformers' class of the bare encoder (`architectures` in a saved `config.json`).
    pub fn base_class(&self) -> &'static str {
        match self {
            Arch::Bert => "BertModel",
            Arch::DistilBert => "DistilBertModel",
            Arch::Roberta => "RobertaModel",
            Arch::Electra => "ElectraModel",
            Arch::Albert => "AlbertModel",
        }
    }

    /// Whether the embeddings include token types.
    pub fn has_token_types(&self) -> bool {
        *self != Arch::DistilBert
    }

    /// Whether the embeddings are projected to the hidden width ([`Slot::Project`]).
    pub fn has_projection(&self, c: &BertConfig) -> bool {
        match self {
            Arch::Albert => true,
            Arch::Electra => c.embedding_dim() != c.hidden_size,
            _ => false,
        }
    }

    /// Position id of a sequence's first token (RoBERTa counts from `pad_token_id + 1`).
    pub fn position_offset(&self, c: &BertConfig) -> usize {
        match self {
            Arch::Roberta => c.pad_token_id.unwrap_or(1) + 1,
            _ => 0,
        }
    }

    /// Training dropout after the attention's output dense (DistilBERT has none there).
    pub fn dropout_after_attention(&self) -> bool {
        *self != Arch::DistilBert
    }

    /// Training dropout after the feed-forward's output dense (ALBERT has none there).
    pub fn dropout_after_ffn(&self) -> bool {
        *self != Arch::Albert
    }

    /// The checkpoint name (without prefix and without `.weight` / `.bias`) of `slot` in a
    /// model of config `c`. ALBERT's layers map to their group's shared tensors.
    pub fn name(&self, slot: Slot, c: &BertConfig) -> String {
        use Slot::*;
        match (self, slot) {
            (_, Word) => "embeddings.word_embeddings".into(),
            (_, Position) => "embeddings.position_embeddings".into(),
            (_, TokenType) => "embeddings.token_type_embeddings".into(),
            (_, EmbNorm) => "embeddings.LayerNorm".into(),
            (Arch::Albert, Project) => "encoder.embedding_hidden_mapping_in".into(),
            (_, Project) => "embeddings_project".into(),
            (Arch::DistilBert, s) => {
                let (l, part) = match s {
                    Query(l) => (l, "attention.q_lin"),
                    Key(l) => (l, "attention.k_lin"),
                    Value(l) => (l, "attention.v_lin"),
                    AttnOut(l) => (l, "attention.out_lin"),
                    AttnNorm(l) => (l, "sa_layer_norm"),
                    Inter(l) => (l, "ffn.lin1"),
                    Out(l) => (l, "ffn.lin2"),
                    OutNorm(l) => (l, "output_layer_norm"),
                    _ => unreachable!("embedding slots are matched above"),
                };
                format!("transformer.layer.{l}.{part}")
            }
            (Arch::Albert, s) => {
                let (l, part) = match s {
                    Query(l) => (l, "attention.query"),
                    Key(l) => (l, "attention.key"),
                    Value(l) => (l, "attention.value"),
                    AttnOut(l) => (l, "attention.dense"),
                    AttnNorm(l) => (l, "attention.LayerNorm"),
                    Inter(l) => (l, "ffn"),
                    Out(l) => (l, "ffn_output"),
                    OutNorm(l) => (l, "full_layer_layer_norm"),
                    _ => unreachable!("embedding slots are matched above"),
                };
                // transformers: group = int(l / (layers / groups)).
                let layers = c.num_hidden_layers.max(1) as f64;
                let groups = c.num_hidden_groups.max(1) as f64;
                let g = (l as f64 / (layers / groups)) as usize;
                format!("encoder.albert_layer_groups.{g}.albert_layers.0.{part}")
            }
            (_, s) => {
                let (l, part) = match s {
                    Query(l) => (l, "attention.self.query"),
                    Key(l) => (l, "attention.self.key"),
                    Value(l) => (l, "attention.self.value"),
                    AttnOut(l) => (l, "attention.output.dense"),
                    AttnNorm(l) => (l, "attention.output.LayerNorm"),
                    Inter(l) => (l, "intermediate.dense"),
                    Out(l) => (l, "output.dense"),
                    OutNorm(l) => (l, "output.LayerNorm"),
                    _ => unreachable!("embedding slots are matched above"),
                };
                format!("encoder.layer.{l}.{part}")
            }
        }
    }

    /// Every slot of a model of config `c`, in forward order.
    pub fn slots(&self, c: &BertConfig) -> Vec<Slot> {
        let mut v = vec![Slot::Word, Slot::Position];
        if self.has_token_types() {
            v.push(Slot::TokenType);
        }
        v.push(Slot::EmbNorm);
        if self.has_projection(c) {
            v.push(Slot::Project);
        }
        for l in 0..c.num_hidden_layers {
            v.extend([
                Slot::Query(l),
                Slot::Key(l),
                Slot::Value(l),
                Slot::AttnOut(l),
                Slot::AttnNorm(l),
                Slot::Inter(l),
                Slot::Out(l),
                Slot::OutNorm(l),
            ]);
        }
        v
    }
}

/// `""` when `has(name)` finds the encoder's word embeddings without a prefix, else the
/// architecture's prefix (a checkpoint of a model with a head: `bert.`, `roberta.`, …).
pub fn weight_prefix(arch: Arch, c: &BertConfig, has: impl Fn(&str) -> bool) -> &'static str {
    if has(&format!("{}.weight", arch.name(Slot::Word, c))) {
        ""
    } else {
        arch.prefix()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> BertConfig {
        serde_json::from_str::<BertConfig>(text)
            .unwrap()
            .validated()
            .unwrap()
    }

    #[test]
    fn names_follow_each_architecture() {
        let c = config(
            r#"{"vocab_size": 9, "hidden_size": 8, "num_hidden_layers": 4,
                "num_attention_heads": 2, "intermediate_size": 16, "num_hidden_groups": 2,
                "model_type": "albert", "embedding_size": 4}"#,
        );
        let a = Arch::Albert;
        assert_eq!(
            a.name(Slot::Inter(1), &c),
            "encoder.albert_layer_groups.0.albert_layers.0.ffn"
        );
        assert_eq!(
            a.name(Slot::OutNorm(2), &c),
            "encoder.albert_layer_groups.1.albert_layers.0.full_layer_layer_norm"
        );
        assert!(a.has_projection(&c));
        assert_eq!(
            Arch::DistilBert.name(Slot::AttnNorm(3), &c),
            "transformer.layer.3.sa_layer_norm"
        );
        assert_eq!(
            Arch::Roberta.name(Slot::Query(0), &c),
            "encoder.layer.0.attention.self.query"
        );
        assert_eq!(Arch::Electra.name(Slot::Project, &c), "embeddings_project");
        assert!(!Arch::DistilBert.slots(&c).contains(&Slot::TokenType));
        assert_eq!(Slot::Out(2).depth(), 3);
        assert_eq!(Slot::Project.depth(), 0);
    }

    #[test]
    fn distilbert_keys_and_roberta_positions_are_read() {
        let c = config(
            r#"{"vocab_size": 9, "dim": 8, "n_layers": 3, "n_heads": 2, "hidden_dim": 16,
                "activation": "gelu", "dropout": 0.2, "attention_dropout": 0.3,
                "model_type": "distilbert", "max_position_embeddings": 20}"#,
        );
        assert_eq!(c.arch(), Arch::DistilBert);
        assert_eq!(
            (c.hidden_size, c.num_hidden_layers, c.intermediate_size),
            (8, 3, 16)
        );
        assert_eq!(c.hidden_dropout_prob, 0.2);
        assert_eq!(c.max_tokens(), 20);
        let r = config(
            r#"{"vocab_size": 9, "hidden_size": 8, "num_hidden_layers": 1,
                "num_attention_heads": 2, "intermediate_size": 16, "model_type": "roberta",
                "pad_token_id": 1, "max_position_embeddings": 514}"#,
        );
        assert_eq!(Arch::Roberta.position_offset(&r), 2);
        assert_eq!(r.max_tokens(), 512);
        let bad = serde_json::from_str::<BertConfig>(
            r#"{"vocab_size": 9, "hidden_size": 8, "num_hidden_layers": 1,
                "num_attention_heads": 2, "intermediate_size": 16, "model_type": "gpt2"}"#,
        )
        .unwrap()
        .validated()
        .unwrap_err();
        assert!(bad.contains("gpt2") && bad.contains("distilbert"), "{bad}");
    }
}
