//! The reference study's architectures — DistilBERT, RoBERTa (DistilRoBERTa), ELECTRA, ALBERT,
//! and BERT — on tiny randomly initialised models that transformers' own classes built and
//! saved (tests/fixtures/tiny_hf.py writes tests/fixtures/tiny-hf/; no weights of the real
//! models can be had here). For each: the tokenizer gives the word pieces transformers was fed,
//! the loaded model's logits match transformers' to 1e-4 (fast and trainable encoders), every
//! parameter gets a gradient and fine-tuning steps lower the loss, save → load gives identical
//! logits in the architecture's own layout; weights are read from `model.safetensors` or
//! `pytorch_model.bin`; and `genre fit --set model_dir=DIR` trains one.

mod common;

use std::path::{Path, PathBuf};

use candle_core::Device;
use common::cli::{genre, predict_and_evaluate, s, shared};
use genre_nlp::data::Labels;
use genre_nlp::models::{FinetuneConfig, FinetuneModel};
use genre_nlp::train::{AdamW, Ctx, Loss, LossKind, Network};
use rand::SeedableRng;
use serde::Deserialize;

const ARCHS: [&str; 5] = ["bert", "distilbert", "roberta", "electra", "albert"];

fn fixture(arch: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/tiny-hf/{arch}"))
}

/// `expected.json`: what transformers computed.
#[derive(Deserialize)]
struct Expected {
    model: String,
    max_length: usize,
    texts: Vec<String>,
    ids: Vec<Vec<u32>>,
    logits: Vec<Vec<f32>>,
}

fn expected(arch: &str) -> Expected {
    let p = fixture(arch).join("expected.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn to_vec(t: &candle_core::Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

#[test]
fn tokenizers_and_logits_match_transformers() {
    // electra-bin: the ELECTRA model again, its weights in PyTorch's pytorch_model.bin.
    for dir_name in ARCHS.iter().copied().chain(["electra-bin"]) {
        let arch = dir_name.trim_end_matches("-bin");
        let exp = expected(dir_name);
        let dir = fixture(dir_name);
        let mut tok = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
        tok.with_truncation(Some(tokenizers::TruncationParams {
            max_length: exp.max_length,
            ..Default::default()
        }))
        .unwrap();
        for (text, ids) in exp.texts.iter().zip(&exp.ids) {
            let got = tok.encode(text.as_str(), true).unwrap();
            assert_eq!(
                got.get_ids(),
                ids.as_slice(),
                "{arch}: word pieces of {text:?}"
            );
        }
        let m = FinetuneModel::load(&dir).unwrap();
        assert_eq!(m.bert_config().arch().model_type(), arch);
        assert_eq!(m.bert_config().arch().base_class(), exp.model);
        let want: Vec<f32> = exp.logits.concat();
        let fast = m.scores(&exp.ids).unwrap();
        let fast: Vec<f32> = fast.iter().copied().collect();
        assert!(
            max_diff(&fast, &want) < 1e-4,
            "{arch}: fast encoder's logits differ from transformers' by {}",
            max_diff(&fast, &want)
        );
        let rows: Vec<usize> = (0..exp.ids.len()).collect();
        let slow = m
            .trainable_logits(&exp.ids, &rows, &mut Ctx::eval())
            .unwrap();
        eprintln!(
            "{dir_name}: max |logit - transformers'| fast {:.1e}, trainable {:.1e}",
            max_diff(&fast, &want),
            max_diff(&to_vec(&slow), &want)
        );
        assert!(
            max_diff(&to_vec(&slow), &want) < 1e-4,
            "{arch}: trainable encoder's logits differ from transformers' by {}",
            max_diff(&to_vec(&slow), &want)
        );
    }
}

#[test]
fn fine_tuning_steps_lower_the_loss_and_save_load_is_identical() {
    let labels = Labels::from_names(["comedy", "drama", "horror"]);
    for arch in ARCHS {
        let exp = expected(arch);
        let dir = fixture(arch);
        let m =
            FinetuneModel::from_pretrained(&dir, &labels, &FinetuneConfig::default(), &Device::Cpu)
                .unwrap();
        let ids = &exp.ids;
        let y = vec![0usize, 1, 2, 0];
        let rows: Vec<usize> = (0..ids.len()).collect();
        let loss = Loss::new(LossKind::CrossEntropy, 2.0, 0.0, None, labels.len()).unwrap();
        let eval_loss = |m: &FinetuneModel| {
            let l = m.trainable_logits(ids, &rows, &mut Ctx::eval()).unwrap();
            loss.forward(&l, &y).unwrap().to_scalar::<f32>().unwrap()
        };
        let before = eval_loss(&m);
        let mut opt = AdamW::new((0.9, 0.999), 1e-8, 0.01);
        for step in 0..5 {
            let mut ctx = Ctx::train(rand_chacha::ChaCha8Rng::seed_from_u64(step)).with_grad_sink();
            let logits = m.logits(&ids[..], &rows, &mut ctx).unwrap();
            let mut grads = loss.forward(&logits, &y).unwrap().backward().unwrap();
            ctx.merge_grads(&mut grads).unwrap();
            if step == 0 {
                let without: Vec<&str> = m
                    .params()
                    .iter()
                    .filter(|(_, v)| {
                        grads
                            .get(v.as_tensor())
                            .is_none_or(|g| to_vec(g).iter().all(|&x| x == 0.0))
                    })
                    .map(|(n, _)| n)
                    .collect();
                assert!(without.is_empty(), "{arch}: no gradient for {without:?}");
            }
            opt.step(m.params(), &grads, 3e-3, Some(1.0)).unwrap();
        }
        let after = eval_loss(&m);
        assert!(after < before, "{arch}: loss {before} → {after}");

        let out = tempfile::tempdir().unwrap();
        m.save(out.path()).unwrap();
        let cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.path().join("config.json")).unwrap())
                .unwrap();
        assert_eq!(cfg["model_type"], arch);
        assert_eq!(cfg["architectures"][0], exp.model.as_str());
        assert_eq!(cfg["id2label"]["2"], "horror");
        let tensors =
            candle_core::safetensors::load(out.path().join("model.safetensors"), &Device::Cpu)
                .unwrap();
        let prefix = format!("{arch}.");
        assert!(
            tensors
                .keys()
                .all(|k| k.starts_with(&prefix) || k.starts_with("classifier.")),
            "{arch}: {:?}",
            tensors.keys().collect::<Vec<_>>()
        );
        // The same tensor names and shapes as the checkpoint transformers wrote, less the
        // pooler our head does not use (transformers initialises it when it reads the dir).
        let src =
            candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap();
        let mut a: Vec<(&String, Vec<usize>)> = tensors
            .iter()
            .map(|(k, t)| (k, t.dims().to_vec()))
            .collect();
        let mut b: Vec<(&String, Vec<usize>)> = src
            .iter()
            .filter(|(k, _)| !k.contains("pooler"))
            .map(|(k, t)| (k, t.dims().to_vec()))
            .collect();
        a.sort();
        b.sort();
        assert_eq!(
            a, b,
            "{arch}: saved tensors differ from transformers' in names or shapes"
        );
        let loaded = FinetuneModel::load(out.path()).unwrap();
        assert_eq!(
            m.scores(ids).unwrap(),
            loaded.scores(ids).unwrap(),
            "{arch}: logits differ after save → load"
        );
    }
}

#[test]
fn a_model_longer_than_its_positions_is_refused_with_the_limit() {
    let labels = Labels::from_names(["comedy", "drama", "horror"]);
    let m = FinetuneModel::from_pretrained(
        &fixture("roberta"),
        &labels,
        &FinetuneConfig::default(),
        &Device::Cpu,
    )
    .unwrap();
    assert_eq!(m.bert_config().max_tokens(), 64);
    let long = vec![vec![0u32; 65]];
    let e = m.scores(&long).unwrap_err().to_string();
    assert!(e.contains("65") && e.contains("64"), "{e}");
}

#[test]
fn cli_fits_a_model_dir_of_another_architecture() {
    // `--set model_dir=DIR` takes any of the architectures: the tiny ALBERT (shared layers,
    // tanh GELU, projected embeddings) on the real slice, then predict / evaluate.
    let dir = tempfile::tempdir().unwrap();
    let train = shared("train_data.txt");
    let model = dir.path().join("albert-tiny");
    let model_dir = fixture("albert");
    let (ok, out, err) = genre(&[
        "fit",
        "--train",
        s(&train),
        "--pipeline",
        "minilm-finetune",
        "--out",
        s(&model),
        "--set",
        &format!("model_dir={}", s(&model_dir)),
        "--set",
        "epochs=1",
        "--set",
        "max_length=48",
        "--set",
        "batch_size=32",
    ]);
    assert!(ok, "fit failed: {err}");
    assert!(
        out.contains("trained minilm-finetune on 1898 rows"),
        "{out}"
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["model_type"], "albert");
    let (acc, f1) = predict_and_evaluate("minilm-finetune", &model, dir.path());
    eprintln!("tiny ALBERT, 1 epoch: accuracy {acc:.4}, macro-F1 {f1:.4}");
    assert!(acc > 0.0, "accuracy {acc}, macro-F1 {f1}");
    // A max length past the model's positions is refused before training, naming the limit.
    let (ok, _, err) = genre(&[
        "fit",
        "--train",
        s(&train),
        "--pipeline",
        "minilm-finetune",
        "--out",
        s(&dir.path().join("too-long")),
        "--set",
        &format!("model_dir={}", s(&model_dir)),
        "--set",
        "max_length=128",
    ]);
    assert!(!ok, "a max_length past 64 positions was accepted");
    assert!(err.contains("max_length") && err.contains("64"), "{err}");
}
