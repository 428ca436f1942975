//! `minilm-finetune` on the real all-MiniLM-L6-v2 and real plots: every encoder parameter gets
//! a gradient in a fine-tuning step, a few steps lower the loss, the fast inference encoder
//! gives the trainable encoder's logits, save → load gives identical scores in the Hugging
//! Face layout, and `genre fit / predict / evaluate` end to end. (The fused ops against plain
//! candle ops, and the check failing with candle-nn's layer norm, are unit tests in
//! src/nn/bert_train.rs.) Needs the model that `scripts/assets` fetches.

mod common;

use candle_core::Device;
use common::cli::{genre, predict_and_evaluate, s, shared};
use genre_nlp::data::Labels;
use genre_nlp::features::{SentenceFeatures, WordPieces};
use genre_nlp::models::{FinetuneConfig, FinetuneModel, FittedModel};
use genre_nlp::prelude::*;
use genre_nlp::train::{AdamW, Ctx, Loss, Network};
use rand::SeedableRng;

fn model_dir() -> std::path::PathBuf {
    genre_nlp::features::sentence::default_model_dir()
}

/// Real plots as word pieces (max length 64: these tests check plumbing, not quality).
fn pieces(rows: usize) -> (Vec<Vec<u32>>, Vec<usize>, Labels) {
    let train = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let train = train.take(&(0..rows).collect::<Vec<_>>()).unwrap();
    let spec = SentenceFeatures {
        max_length: 64,
        ..SentenceFeatures::minilm()
    };
    let wp = WordPieces::from_spec(&spec).expect("all-MiniLM-L6-v2 is missing: run scripts/assets");
    let labels = Labels::from_dataset(&train).unwrap();
    let y = labels.encode(&train).unwrap();
    (wp.ids(&train).unwrap(), y, labels)
}

fn model(labels: &Labels) -> FinetuneModel {
    FinetuneModel::from_pretrained(
        &model_dir(),
        labels,
        &FinetuneConfig::default(),
        &Device::Cpu,
    )
    .unwrap()
}

#[test]
fn every_minilm_parameter_gets_a_gradient_and_steps_lower_the_loss() {
    let (ids, y, labels) = pieces(16);
    let m = model(&labels);
    let rows: Vec<usize> = (0..ids.len()).collect();
    let loss = Loss::new(
        genre_nlp::train::LossKind::CrossEntropy,
        2.0,
        0.0,
        None,
        labels.len(),
    )
    .unwrap();
    let mut opt = AdamW::new((0.9, 0.999), 1e-8, 0.01);
    let mut first = None;
    let mut last = 0.0;
    for step in 0..4 {
        let mut ctx = Ctx::train(rand_chacha::ChaCha8Rng::seed_from_u64(step));
        let logits = m.logits(&ids[..], &rows, &mut ctx).unwrap();
        let l = loss.forward(&logits, &y).unwrap();
        let lv = l.to_scalar::<f32>().unwrap();
        let grads = l.backward().unwrap();
        if step == 0 {
            let mut without = Vec::new();
            for (name, var) in m.params().iter() {
                let nonzero = grads
                    .get(var.as_tensor())
                    .map(|g| {
                        g.abs()
                            .unwrap()
                            .max_all()
                            .unwrap()
                            .to_scalar::<f32>()
                            .unwrap()
                            > 0.0
                    })
                    .unwrap_or(false);
                if !nonzero {
                    without.push(name.to_string());
                }
            }
            assert!(without.is_empty(), "no gradient: {without:?}");
            assert_eq!(m.params().len(), 5 + 6 * 16 + 2);
        }
        opt.step(m.params(), &grads, 1e-4, Some(1.0)).unwrap();
        first.get_or_insert(lv);
        last = lv;
    }
    // Dropout makes single steps noisy; four steps on the same 16 rows must still go down.
    let first = first.unwrap();
    assert!(last < first, "loss {first} → {last}");
}

#[test]
fn the_fast_encoder_gives_the_trainable_encoders_logits() {
    let (ids, _, labels) = pieces(24);
    let m = model(&labels);
    let rows: Vec<usize> = (0..ids.len()).collect();
    // Inference through the network interface runs the fast packed encoder on the CPU ...
    let fast = m.scores(&ids).unwrap();
    // ... against the trainable encoder (plain candle ops) in inference mode.
    let mut slow_m = model(&labels);
    slow_m.set_ops(genre_nlp::nn::BertOps::Reference);
    let slow = genre_nlp::train::predict_logits(&NoFast(&slow_m), &ids[..], ids.len(), 64)
        .unwrap()
        .0;
    let k = labels.len();
    let mut worst = 0.0f32;
    for (i, r) in rows.iter().enumerate() {
        for j in 0..k {
            worst = worst.max((fast[[*r, j]] - slow[i * k + j]).abs());
        }
    }
    assert!(worst < 1e-4, "logits differ by {worst}");
}

/// The trainable path in inference mode (no fast encoder).
struct NoFast<'a>(&'a FinetuneModel);

impl Network for NoFast<'_> {
    type Input = [Vec<u32>];
    fn params(&self) -> &genre_nlp::train::Params {
        self.0.params()
    }
    fn logits(
        &self,
        input: &[Vec<u32>],
        rows: &[usize],
        ctx: &mut Ctx,
    ) -> candle_core::Result<candle_core::Tensor> {
        self.0.trainable_logits(input, rows, ctx)
    }
}

fn fit(rows: usize, sets: &[(&str, &str)]) -> Pipeline {
    let train = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let train = train.take(&(0..rows).collect::<Vec<_>>()).unwrap();
    let mut cfg = PipelineConfig::from_name("minilm-finetune").unwrap();
    for (k, v) in [("epochs", "1"), ("max_length", "48"), ("batch_size", "8")]
        .iter()
        .chain(sets)
    {
        cfg.set(k, v).unwrap();
    }
    cfg.fit_with(
        &train,
        PipelineFitOptions {
            quiet: true,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn minilm_finetune_saves_in_the_hugging_face_layout_and_reloads_identically() {
    let test = Dataset::kaggle(shared("test_data_solution.txt")).unwrap();
    let test = test.take(&(0..40).collect::<Vec<_>>()).unwrap();
    let model = fit(120, &[("layer_decay", "0.8"), ("accumulate", "2")]);
    assert_eq!(model.pipeline(), "minilm-finetune");
    assert_eq!(model.history().epochs.len(), 1);
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "finetune_head.json",
        "model.json",
        "labels.json",
    ] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["model_type"], "bert");
    assert_eq!(
        cfg["id2label"]["0"].as_str().unwrap(),
        model.labels().names()[0]
    );
    let tensors =
        candle_core::safetensors::load(dir.path().join("model.safetensors"), &Device::Cpu).unwrap();
    assert!(tensors.contains_key("bert.encoder.layer.5.output.dense.weight"));
    assert_eq!(
        tensors["classifier.weight"].dims(),
        &[model.labels().len(), 384]
    );
    let loaded = load_model(dir.path()).unwrap();
    let a = model.scores(&test).unwrap();
    assert!(a.iter().all(|v| v.is_finite()));
    assert_eq!(
        a,
        loaded.scores(&test).unwrap(),
        "scores differ after save → load"
    );
    let p = loaded.predict_proba(&test).unwrap().unwrap();
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-4);
    }
    let FittedModel::Finetune(_) = model.model() else {
        panic!("not a fine-tuned model")
    };
}

#[test]
fn finetune_options_name_their_key() {
    let mut cfg = PipelineConfig::from_name("minilm-finetune").unwrap();
    for (k, v, want) in [
        ("pooling", "max", "mean|cls"),
        ("layer_decay", "1.5", "layer_decay"),
        ("head_dropout", "1", "head_dropout"),
        ("accumulate", "0", "accumulate"),
    ] {
        let before = cfg.clone();
        let e = cfg.set(k, v).unwrap_err().to_string();
        assert!(e.contains(k) && e.contains(want), "{k}={v}: {e}");
        assert_eq!(cfg, before, "a refused {k}={v} changed the options");
    }
    for bad in ["tfidf-finetune", "glove-finetune"] {
        let e = PipelineConfig::from_name(bad).unwrap_err().to_string();
        assert!(e.contains("unknown pipeline"), "{bad}: {e}");
    }
}

#[test]
fn cli_fit_predict_evaluate_minilm_finetune() {
    let dir = tempfile::tempdir().unwrap();
    let train = shared("train_data.txt");
    let name = "minilm-finetune";
    let model = dir.path().join(name);
    let (ok, out, err) = genre(&[
        "fit",
        "--train",
        s(&train),
        "--pipeline",
        name,
        "--out",
        s(&model),
        "--set",
        "epochs=1",
        "--set",
        "max_length=32",
        "--set",
        "batch_size=32",
    ]);
    assert!(ok, "fit failed: {err}");
    assert!(
        out.contains(&format!("trained {name} on 1898 rows")),
        "{out}"
    );
    assert!(err.contains(&format!("{name} epoch 1/1")), "{err}");
    let (acc, f1) = predict_and_evaluate(name, &model, dir.path());
    eprintln!("{name}: 1 epoch at 32 word pieces: accuracy {acc:.4}, macro-F1 {f1:.4}");
    assert!(acc > 0.0 && f1 > 0.0, "accuracy {acc}, macro-F1 {f1}");
}

#[test]
fn frozen_embeddings_get_no_gradient_and_layer_decay_scales_the_rate() {
    let (ids, y, labels) = pieces(8);
    let cfg = FinetuneConfig::default()
        .freeze_embeddings(true)
        .layer_decay(0.5);
    let mut m = FinetuneModel::from_pretrained(&model_dir(), &labels, &cfg, &Device::Cpu).unwrap();
    m.set_layer_decay(0.5);
    let rows: Vec<usize> = (0..ids.len()).collect();
    let mut ctx = Ctx::train(rand_chacha::ChaCha8Rng::seed_from_u64(0)).with_grad_sink();
    let logits = m.logits(&ids[..], &rows, &mut ctx).unwrap();
    let loss = Loss::new(
        genre_nlp::train::LossKind::CrossEntropy,
        2.0,
        0.0,
        None,
        labels.len(),
    )
    .unwrap();
    let mut grads = loss.forward(&logits, &y).unwrap().backward().unwrap();
    ctx.merge_grads(&mut grads).unwrap();
    for (name, var) in m.params().iter() {
        let has = grads.get(var.as_tensor()).is_some();
        assert_eq!(
            has,
            !name.starts_with("bert.embeddings."),
            "{name}: gradient {has}"
        );
    }
    // Layer-wise decay: the head and the top layer at the full rate, each layer below halved,
    // the embeddings at 0.5^6; no weight decay on biases and layer norms.
    let g = |n: &str| m.param_group(n);
    assert_eq!(g("classifier.weight").lr_scale, 1.0);
    assert_eq!(g("bert.encoder.layer.5.output.dense.weight").lr_scale, 1.0);
    assert_eq!(g("bert.encoder.layer.4.output.dense.weight").lr_scale, 0.5);
    assert_eq!(
        g("bert.encoder.layer.0.output.dense.weight").lr_scale,
        0.5f64.powi(5)
    );
    assert_eq!(
        g("bert.embeddings.word_embeddings.weight").lr_scale,
        0.5f64.powi(6)
    );
    assert!(g("bert.encoder.layer.0.output.dense.weight").decay);
    assert!(!g("bert.encoder.layer.0.output.dense.bias").decay);
    assert!(!g("bert.encoder.layer.0.output.LayerNorm.weight").decay);
}
