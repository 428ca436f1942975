//! The shared training loop and the FFNN: gradients (finite differences, every parameter
//! reached, sparse = dense), early stopping keeps the best epoch, resume after an interruption
//! is bit-identical, and save → load gives identical scores for every composed pipeline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use genre_nlp::features::csr_from_rows;
use genre_nlp::nn::{Activation, Ffnn, FfnnShape};
use genre_nlp::prelude::*;
use genre_nlp::train::{
    fit, CheckpointDir, Ctx, FitOptions, Labelled, Loss, Network, Params, TrainConfig,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/imdb-genre")
        .join(name)
}

/// A tiny network over a dense input.
struct Tiny {
    params: Params,
    net: Ffnn,
}

impl Tiny {
    fn new(shape: FfnnShape, seed: u64) -> Self {
        let mut params = Params::new(Device::Cpu);
        let net = Ffnn::new(&mut params, shape, seed).unwrap();
        Tiny { params, net }
    }
}

impl Network for Tiny {
    type Input = Tensor;
    fn params(&self) -> &Params {
        &self.params
    }
    fn logits(&self, x: &Tensor, rows: &[usize], ctx: &mut Ctx) -> candle_core::Result<Tensor> {
        let idx = Tensor::from_vec(
            rows.iter().map(|&r| r as u32).collect::<Vec<_>>(),
            rows.len(),
            &Device::Cpu,
        )?;
        self.net.forward(&x.index_select(&idx, 0)?, ctx)
    }
}

/// Largest absolute difference between two tensors of one shape.
fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap()
}

fn shape(d: usize, k: usize, layer_norm: bool, activation: Activation, dropout: f32) -> FfnnShape {
    FfnnShape {
        input_dim: d,
        hidden: vec![7, 5],
        n_classes: k,
        activation,
        dropout,
        layer_norm,
    }
}

/// Gaussian blobs: class c centred at a random point, plus noise; a share of labels flipped.
fn blobs(n: usize, d: usize, k: usize, flip: f64, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..k)
        .map(|_| (0..d).map(|_| rng.random::<f32>() * 4.0 - 2.0).collect())
        .collect();
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % k;
        for &centre in &centres[c] {
            x.push(centre + rng.random::<f32>() * 2.0 - 1.0);
        }
        y.push(if rng.random::<f64>() < flip {
            rng.random_range(0..k)
        } else {
            c
        });
    }
    (x, y)
}

#[test]
fn finite_difference_gradient_check() {
    let (d, k, n) = (4, 3, 6);
    let (xv, y) = blobs(n, d, k, 0.0, 1);
    let x = Tensor::from_vec(xv, (n, d), &Device::Cpu).unwrap();
    let rows: Vec<usize> = (0..n).collect();
    // Without layer norm the CPU runs the fused layers (nn::fused), with it plain candle ops.
    for (ln, act) in [
        (false, Activation::Relu),
        (false, Activation::Gelu),
        (true, Activation::Gelu),
    ] {
        let net = Tiny::new(shape(d, k, ln, act, 0.0), 3);
        let loss = Loss::new(LossKind::Focal, 1.5, 0.1, Some(vec![1.0, 2.0, 0.5]), k).unwrap();
        let value = |net: &Tiny| -> f64 {
            let l = net.logits(&x, &rows, &mut Ctx::eval()).unwrap();
            f64::from(loss.forward(&l, &y).unwrap().to_scalar::<f32>().unwrap())
        };
        let l = net.logits(&x, &rows, &mut Ctx::eval()).unwrap();
        let grads = loss.forward(&l, &y).unwrap().backward().unwrap();
        let mut checked = 0;
        for (name, var) in net.params().iter() {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{name}: no gradient"))
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let w0 = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            // A few coordinates of every tensor, central differences.
            for j in (0..w0.len()).step_by(w0.len().div_ceil(4).max(1)) {
                let h = 1e-2f32;
                let mut w = w0.clone();
                w[j] = w0[j] + h;
                var.set(&Tensor::from_vec(w.clone(), var.shape(), &Device::Cpu).unwrap())
                    .unwrap();
                let up = value(&net);
                w[j] = w0[j] - h;
                var.set(&Tensor::from_vec(w, var.shape(), &Device::Cpu).unwrap())
                    .unwrap();
                let down = value(&net);
                var.set(&Tensor::from_vec(w0.clone(), var.shape(), &Device::Cpu).unwrap())
                    .unwrap();
                let numeric = (up - down) / (2.0 * f64::from(h));
                let analytic = f64::from(g[j]);
                assert!(
                    (numeric - analytic).abs() <= 2e-3 + 2e-2 * analytic.abs(),
                    "{name}[{j}] (layer_norm {ln}): numeric {numeric} vs analytic {analytic}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 20, "checked only {checked} coordinates");
    }
}

#[test]
fn every_parameter_gets_a_nonzero_gradient_and_sparse_equals_dense() {
    let (d, k, n) = (6, 3, 8);
    let (xv, y) = blobs(n, d, k, 0.0, 2);
    // Sparse rows: zero out some entries so the CSR path has real gaps.
    let xv: Vec<f32> = xv
        .iter()
        .enumerate()
        .map(|(i, &v)| if i % 3 == 0 { 0.0 } else { v })
        .collect();
    let x = Tensor::from_vec(xv.clone(), (n, d), &Device::Cpu).unwrap();
    let rows: Vec<usize> = (0..n).collect();
    // Layer norm: plain candle ops; without: the fused layers.
    for ln in [true, false] {
        let net = Tiny::new(shape(d, k, ln, Activation::Relu, 0.0), 5);
        let loss = Loss::cross_entropy(k);
        let dense_logits = net.logits(&x, &rows, &mut Ctx::eval()).unwrap();
        let grads = loss.forward(&dense_logits, &y).unwrap().backward().unwrap();
        for (name, var) in net.params().iter() {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{name}: no gradient"));
            let norm: f32 = g.sqr().unwrap().sum_all().unwrap().to_scalar().unwrap();
            assert!(norm > 0.0, "{name}: zero gradient");
        }
        // The same network through the sparse first layer.
        let csr = csr_from_rows(
            d,
            (0..n)
                .map(|i| {
                    (0..d)
                        .filter(|&j| xv[i * d + j] != 0.0)
                        .map(|j| (j, xv[i * d + j]))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>(),
        );
        let batch = {
            let (mut idx, mut val, mut row) = (vec![], vec![], vec![]);
            for i in 0..n {
                for (j, v) in (0..d).filter_map(|j| {
                    let v = xv[i * d + j];
                    (v != 0.0).then_some((j, v))
                }) {
                    idx.push(j as u32);
                    val.push(v);
                    row.push(i as u32);
                }
            }
            let nnz = idx.len();
            genre_nlp::nn::SparseBatch {
                indices: Tensor::from_vec(idx, nnz, &Device::Cpu).unwrap(),
                values: Tensor::from_vec(val, (nnz, 1), &Device::Cpu).unwrap(),
                rows: Tensor::from_vec(row, nnz, &Device::Cpu).unwrap(),
                n_rows: n,
            }
        };
        assert_eq!(csr.nnz(), batch.indices.dim(0).unwrap());
        let sparse_logits = net.net.forward_sparse(&batch, &mut Ctx::eval()).unwrap();
        let diff = max_diff(&sparse_logits, &dense_logits);
        assert!(diff < 1e-5, "sparse and dense logits differ by {diff}");
        let sgrads = loss
            .forward(&sparse_logits, &y)
            .unwrap()
            .backward()
            .unwrap();
        for (name, var) in net.params().iter() {
            let a = grads.get(var.as_tensor()).unwrap();
            let b = sgrads.get(var.as_tensor()).unwrap();
            let diff = max_diff(a, b);
            assert!(
                diff < 1e-5,
                "{name}: sparse and dense gradients differ by {diff}"
            );
        }
    }
}

#[test]
fn fused_layers_equal_plain_candle_ops_with_dropout() {
    let (d, k, n) = (9, 4, 12);
    let (xv, y) = blobs(n, d, k, 0.0, 4);
    let x = Tensor::from_vec(xv, (n, d), &Device::Cpu).unwrap();
    for act in [Activation::Relu, Activation::Gelu] {
        let net = Tiny::new(shape(d, k, false, act, 0.3), 6);
        let loss = Loss::new(LossKind::Focal, 2.0, 0.1, Some(vec![1.0, 2.0, 0.5, 1.5]), k).unwrap();
        // The same dropout stream on both sides.
        let mut c1 = Ctx::train(ChaCha8Rng::seed_from_u64(9));
        let mut c2 = Ctx::train(ChaCha8Rng::seed_from_u64(9));
        let fused = net.net.forward(&x, &mut c1).unwrap();
        let plain = net.net.forward_unfused(&x, &mut c2).unwrap();
        let diff = max_diff(&fused, &plain);
        assert!(diff < 1e-5, "{act:?}: logits differ by {diff}");
        let g1 = loss.forward(&fused, &y).unwrap().backward().unwrap();
        let g2 = loss.forward_ops(&plain, &y).unwrap().backward().unwrap();
        // As the training loop runs it: the fused layers hand their weight gradients to the
        // context's sink, merged into the store after the backward pass.
        let mut c3 = Ctx::train(ChaCha8Rng::seed_from_u64(9)).with_grad_sink();
        let sunk = net.net.forward(&x, &mut c3).unwrap();
        let mut g3 = loss.forward(&sunk, &y).unwrap().backward().unwrap();
        let w0 = net.params().iter().next().unwrap().1.as_tensor().clone();
        assert!(
            g3.get(&w0).is_none(),
            "before the merge the sink holds the gradients"
        );
        c3.merge_grads(&mut g3).unwrap();
        for (name, var) in net.params().iter() {
            let c = g3.get(var.as_tensor()).unwrap();
            let b = g2.get(var.as_tensor()).unwrap();
            let diff = max_diff(c, b);
            assert!(
                diff < 1e-5,
                "{act:?} {name}: sunk gradients differ by {diff}"
            );
        }
        for (name, var) in net.params().iter() {
            let a = g1.get(var.as_tensor()).unwrap();
            let b = g2.get(var.as_tensor()).unwrap();
            let diff = max_diff(a, b);
            assert!(diff < 1e-5, "{act:?} {name}: gradients differ by {diff}");
            let norm: f32 = a.sqr().unwrap().sum_all().unwrap().to_scalar().unwrap();
            assert!(norm > 0.0, "{act:?} {name}: zero gradient");
        }
    }
}

fn weights(p: &Params) -> BTreeMap<String, Vec<f32>> {
    p.iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                v.as_tensor()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap(),
            )
        })
        .collect()
}

struct Problem {
    xtr: Tensor,
    ytr: Vec<usize>,
    xva: Tensor,
    yva: Vec<usize>,
    labels: Labels,
}

fn problem() -> Problem {
    let (d, k) = (8, 4);
    let (xa, ya) = blobs(240, d, k, 0.35, 7);
    let (xb, yb) = blobs(80, d, k, 0.35, 8);
    Problem {
        xtr: Tensor::from_vec(xa, (240, d), &Device::Cpu).unwrap(),
        ytr: ya,
        xva: Tensor::from_vec(xb, (80, d), &Device::Cpu).unwrap(),
        yva: yb,
        labels: Labels::from_names(["a", "b", "c", "d"]),
    }
}

fn run(p: &Problem, cfg: &TrainConfig, opts: FitOptions) -> (Tiny, genre_nlp::train::TrainOutcome) {
    let net = Tiny::new(shape(8, 4, false, Activation::Relu, 0.2), cfg.seed);
    let out = fit(
        &net,
        cfg,
        &p.labels,
        Labelled {
            input: &p.xtr,
            labels: &p.ytr,
        },
        Labelled {
            input: &p.xva,
            labels: &p.yva,
        },
        opts,
    )
    .unwrap();
    (net, out)
}

fn quiet() -> FitOptions<'static> {
    FitOptions {
        quiet: true,
        ..Default::default()
    }
}

#[test]
fn early_stopping_restores_the_best_epoch() {
    let p = problem();
    // A high learning rate and noisy labels: validation macro-F1 peaks, then wanders.
    let cfg = TrainConfig::default()
        .epochs(40)
        .batch_size(16)
        .lr(0.05)
        .patience(3)
        .seed(11);
    let dir = tempfile::tempdir().unwrap();
    let ck = CheckpointDir::new(dir.path());
    let (net, out) = run(
        &p,
        &cfg,
        FitOptions {
            checkpoint: Some(ck.clone()),
            ..quiet()
        },
    );
    let h = &out.history;
    let best = h.best().expect("a best epoch");
    let last = h.epochs.last().unwrap();
    assert!(
        h.stopped_early,
        "expected early stopping in 40 epochs: {h:?}"
    );
    assert_eq!(last.epoch, best.epoch + cfg.patience, "{h:?}");
    assert!(h.epochs.iter().all(|e| e.val_macro_f1 <= best.val_macro_f1));
    // The weights in the network are the best epoch's, not the last one's.
    let mut best_file = Params::new(Device::Cpu);
    let _ = Ffnn::new(&mut best_file, shape(8, 4, false, Activation::Relu, 0.2), 0).unwrap();
    best_file.load(&ck.best(best.epoch)).unwrap();
    assert_eq!(weights(net.params()), weights(&best_file));
    let mut last_file = Params::new(Device::Cpu);
    let _ = Ffnn::new(&mut last_file, shape(8, 4, false, Activation::Relu, 0.2), 0).unwrap();
    last_file.load(&ck.weights(last.epoch)).unwrap();
    assert_ne!(weights(net.params()), weights(&last_file));
    // And they score what the history says the best epoch scored.
    let (v, k) = genre_nlp::train::predict_logits(&net, &p.xva, p.yva.len(), 64).unwrap();
    let pred: Vec<usize> = v
        .chunks(k)
        .map(|r| {
            (0..k)
                .max_by(|&a, &b| r[a].partial_cmp(&r[b]).unwrap().then(b.cmp(&a)))
                .unwrap()
        })
        .collect();
    let rep = ClassificationReport::new(&p.yva, &pred, &p.labels).unwrap();
    assert!((rep.macro_f1() - best.val_macro_f1).abs() < 1e-12);
}

#[test]
fn resume_after_interruptions_is_bit_identical() {
    let p = problem();
    let cfg = TrainConfig::default()
        .epochs(7)
        .batch_size(32)
        .patience(0)
        .seed(5);
    let (whole, whole_out) = run(&p, &cfg, quiet());
    let dir = tempfile::tempdir().unwrap();
    let ck = CheckpointDir::new(dir.path().join("ck"));
    // Interrupted after 2 epochs, then after 2 more, then run to the end.
    let resume = |stop_after: Option<usize>| {
        run(
            &p,
            &cfg,
            FitOptions {
                checkpoint: Some(ck.clone()),
                stop_after,
                resume: true,
                ..quiet()
            },
        )
    };
    let (_, first) = resume(Some(2));
    assert!(first.interrupted);
    assert_eq!(first.history.epochs.len(), 2);
    let (_, second) = resume(Some(2));
    assert!(second.interrupted);
    assert_eq!(second.history.epochs.len(), 4);
    let (resumed, out) = resume(None);
    assert!(!out.interrupted);
    assert_eq!(weights(resumed.params()), weights(whole.params()));
    let strip = |h: &History| -> Vec<(usize, u64, u64)> {
        h.epochs
            .iter()
            .map(|e| (e.epoch, e.train_loss.to_bits(), e.val_macro_f1.to_bits()))
            .collect()
    };
    assert_eq!(strip(&out.history), strip(&whole_out.history));
    // Other options refuse to resume, naming the file.
    let other = cfg.clone().lr(0.01);
    let net = Tiny::new(shape(8, 4, false, Activation::Relu, 0.2), 5);
    let err = fit(
        &net,
        &other,
        &p.labels,
        Labelled {
            input: &p.xtr,
            labels: &p.ytr,
        },
        Labelled {
            input: &p.xva,
            labels: &p.yva,
        },
        FitOptions {
            checkpoint: Some(ck.clone()),
            resume: true,
            ..quiet()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("state.json") && err.contains("other training options"),
        "{err}"
    );
}

#[test]
fn training_learns_separable_data() {
    let p = {
        let (d, k) = (8, 4);
        let (xa, ya) = blobs(240, d, k, 0.0, 21);
        let (xb, yb) = blobs(80, d, k, 0.0, 21);
        Problem {
            xtr: Tensor::from_vec(xa, (240, d), &Device::Cpu).unwrap(),
            ytr: ya,
            xva: Tensor::from_vec(xb, (80, d), &Device::Cpu).unwrap(),
            yva: yb,
            labels: Labels::from_names(["a", "b", "c", "d"]),
        }
    };
    let cfg = TrainConfig::default()
        .epochs(30)
        .batch_size(16)
        .lr(0.01)
        .seed(3);
    let (_, out) = run(&p, &cfg, quiet());
    let best = out.history.best().unwrap();
    assert!(best.val_macro_f1 > 0.95, "{:?}", out.history);
    assert!(out.history.epochs[0].train_loss > out.history.epochs.last().unwrap().train_loss);
}

/// Every composed pipeline: fit (2 epochs, on 600 real rows) → save → load → identical scores.
#[test]
fn save_load_gives_identical_scores_for_every_pipeline() {
    let train = Dataset::kaggle(shared("train_data.txt")).unwrap();
    let test = Dataset::kaggle(shared("test_data_solution.txt")).unwrap();
    let train = train.take(&(0..600).collect::<Vec<_>>()).unwrap();
    let test = test.take(&(0..200).collect::<Vec<_>>()).unwrap();
    for name in ["tfidf-svd-ffnn", "bow-svd-ffnn", "tfidf-ffnn", "bow-ffnn"] {
        let mut cfg = PipelineConfig::from_name(name).unwrap();
        assert_eq!(cfg.name(), name);
        cfg.set("epochs", "2").unwrap();
        cfg.set("hidden", "32").unwrap();
        if name.contains("svd") {
            cfg.set("svd", "64").unwrap();
        }
        let model = cfg
            .fit_with(
                &train,
                PipelineFitOptions {
                    quiet: true,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(model.history().epochs.len(), 2);
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        assert!(dir
            .path()
            .join(format!("{name}_epoch_metrics.csv"))
            .exists());
        let loaded = load_model(dir.path()).unwrap();
        assert_eq!(loaded.pipeline(), name);
        let a = model.scores(&test).unwrap();
        let b = loaded.scores(&test).unwrap();
        assert_eq!(a, b, "{name}: scores differ after save → load");
        let p = loaded.predict_proba(&test).unwrap().unwrap();
        assert!((p.row(0).sum() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn bad_options_name_the_key() {
    let mut cfg = PipelineConfig::from_name("tfidf-svd-ffnn").unwrap();
    for (k, v) in [
        ("epochs", "-1"),
        ("dropout", "1.5"),
        ("hidden", "512,x"),
        ("loss", "hinge"),
        ("svd", "many"),
    ] {
        let e = cfg.set(k, v).unwrap_err().to_string();
        assert!(e.contains(k), "{k}={v}: {e}");
    }
    let e = cfg.set("colour", "red").unwrap_err().to_string();
    assert!(
        e.contains("unknown option `colour`") && e.contains("hidden"),
        "{e}"
    );
    let e = PipelineConfig::from_name("tfidf-svd-rnn")
        .unwrap_err()
        .to_string();
    assert!(e.contains("tfidf-svd-ffnn"), "{e}");
    let mut sparse = PipelineConfig::from_name("tfidf-ffnn").unwrap();
    assert!(sparse
        .set("svd", "64")
        .unwrap_err()
        .to_string()
        .contains("svd"));
}

#[test]
fn accumulating_two_batches_equals_one_batch_of_both() {
    let p = problem();
    let base = TrainConfig::default()
        .epochs(3)
        .patience(0)
        .class_weight(genre_nlp::train::ClassWeight::None);
    let one = |cfg: &TrainConfig| {
        let net = Tiny::new(shape(8, 4, false, Activation::Relu, 0.0), cfg.seed);
        fit(
            &net,
            cfg,
            &p.labels,
            Labelled {
                input: &p.xtr,
                labels: &p.ytr,
            },
            Labelled {
                input: &p.xva,
                labels: &p.yva,
            },
            quiet(),
        )
        .unwrap();
        weights(&net.params)
    };
    let big = one(&base.clone().batch_size(32));
    let acc = one(&base.clone().batch_size(16).accumulate(2));
    let small = one(&base.clone().batch_size(16));
    let diff = |a: &BTreeMap<String, Vec<f32>>, b: &BTreeMap<String, Vec<f32>>| {
        a.values()
            .zip(b.values())
            .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
            .fold(0.0f32, f32::max)
    };
    assert!(
        diff(&big, &acc) < 1e-4,
        "accumulated differs by {}",
        diff(&big, &acc)
    );
    assert!(
        diff(&big, &small) > 1e-3,
        "batch 16 should train differently"
    );
    let e = TrainConfig::default().accumulate(0).validate().unwrap_err();
    assert!(e.to_string().contains("accumulate"), "{e}");
}

#[test]
fn validation_loss_is_the_weighted_loss_of_all_rows_whatever_the_eval_batch() {
    // Uneven class weights: a chunk's weighted mean is over its own weight sum, so averaging
    // the chunks' means by their row counts (as the loop did) depends on the chunking.
    let p = problem();
    let base = TrainConfig::default().epochs(2).patience(0).class_weight(
        genre_nlp::train::ClassWeight::Custom(vec![0.2, 1.0, 3.0, 0.5]),
    );
    let val_losses = |eval_batch: usize| -> Vec<f64> {
        let mut cfg = base.clone();
        cfg.eval_batch_size = eval_batch;
        let (_, out) = run(&p, &cfg, quiet());
        out.history.epochs.iter().map(|e| e.val_loss).collect()
    };
    let one = val_losses(1000);
    // The same loss computed here over all validation rows at once, on the weights kept (the
    // best epoch's).
    let mut cfg = base.clone();
    cfg.eval_batch_size = 5;
    let (net, out) = run(&p, &cfg, quiet());
    let best = out.history.best().expect("a best epoch").val_loss;
    let loss = Loss::new(
        genre_nlp::train::LossKind::CrossEntropy,
        0.0,
        0.0,
        Some(vec![0.2, 1.0, 3.0, 0.5]),
        4,
    )
    .unwrap();
    let rows: Vec<usize> = (0..p.yva.len()).collect();
    let logits = net.logits(&p.xva, &rows, &mut Ctx::eval()).unwrap();
    let whole = f64::from(
        loss.forward(&logits, &p.yva)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap(),
    );
    assert!((best - whole).abs() < 1e-5, "{best} vs {whole}");
    for b in [7, 16, 33] {
        let chunked = val_losses(b);
        for (a, c) in one.iter().zip(&chunked) {
            assert!(
                (a - c).abs() < 1e-5,
                "eval batch {b}: {chunked:?} vs {one:?}"
            );
        }
    }
}
