//! What the benches that run a PyTorch peer share: where the tools live, the peer's venv, and
//! reading the JSON results of either side.
#![allow(dead_code)] // each bench uses a part

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

/// Field `k` of a result, NaN when the result or the field is missing.
pub fn f(v: &Option<Value>, k: &str) -> f64 {
    v.as_ref().and_then(|v| v[k].as_f64()).unwrap_or(f64::NAN)
}

/// Field-wise mean of numeric fields (plus `"_sd_macro_f1"`, the macro-F1 standard deviation).
pub fn mean(vs: &[Value]) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(first) = vs.first().and_then(Value::as_object) {
        for k in first.keys() {
            let xs: Vec<f64> = vs.iter().filter_map(|v| v[k].as_f64()).collect();
            if !xs.is_empty() {
                out.insert(k.clone(), json!(xs.iter().sum::<f64>() / xs.len() as f64));
            }
        }
    }
    let f1: Vec<f64> = vs.iter().filter_map(|v| v["macro_f1"].as_f64()).collect();
    if f1.len() > 1 {
        let m = f1.iter().sum::<f64>() / f1.len() as f64;
        let var = f1.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (f1.len() - 1) as f64;
        out.insert("_sd_macro_f1".into(), json!(var.sqrt()));
    }
    Value::Object(out)
}

/// [`mean`], or `None` without results (a peer that did not run).
pub fn mean_opt(vs: &[Value]) -> Option<Value> {
    (!vs.is_empty()).then(|| mean(vs))
}

/// The quality seeds: `GENRE_BENCH_SEEDS` of them (default `default_n`) from
/// `GENRE_BENCH_FIRST_SEED` on (default 42), so a later run can add seeds to an earlier one.
pub fn bench_seeds(default_n: u64) -> Vec<u64> {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let first = env("GENRE_BENCH_FIRST_SEED").unwrap_or(42);
    (0..env("GENRE_BENCH_SEEDS").unwrap_or(default_n))
        .map(|i| first + i)
        .collect()
}

/// The comma-separated list after `flag` in `args` (each entry one of `known`, in the given
/// order), `None` without the flag; an unknown entry is an error naming it and `what`.
pub fn pick_list(
    args: &[String],
    flag: &str,
    what: &str,
    known: &[&str],
) -> Option<std::result::Result<Vec<String>, String>> {
    let i = args.iter().position(|a| a == flag)?;
    let list = args.get(i + 1).map(String::as_str).unwrap_or_default();
    let picked: Vec<String> = list
        .split(',')
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    Some(match picked.iter().find(|r| !known.contains(&r.as_str())) {
        Some(bad) => Err(format!(
            "{flag}: unknown {what} `{bad}` (one of {})",
            known.join(", ")
        )),
        None => Ok(picked),
    })
}

/// Writes one JSON line per row of `ds` for the peers: `{key: items[i], "genre": genre}` (the
/// genre empty when the row has none).
pub fn write_labelled<T: serde::Serialize>(
    path: &Path,
    key: &str,
    items: &[T],
    ds: &genre_nlp::data::Dataset,
) -> genre_nlp::Result<()> {
    use std::io::Write;
    let io = |e| genre_nlp::Error::io(path, e);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for (t, g) in items.iter().zip(ds.genres()) {
        writeln!(f, "{}", json!({key: t, "genre": g.unwrap_or_default()})).map_err(io)?;
    }
    f.flush().map_err(io)
}

/// The tokens the FFNN peer is handed for an internal split and a test file: the classic view
/// (title + plot) fitted on the training part, each row's tokens joined by spaces, in the order
/// training, validation, test.
pub fn peer_classic_tokens(
    train: &genre_nlp::data::Dataset,
    val: &genre_nlp::data::Dataset,
    test: &genre_nlp::data::Dataset,
) -> genre_nlp::Result<[Vec<String>; 3]> {
    use genre_nlp::text::{ClassicConfig, ClassicText, TextFields};
    let fields = TextFields::TitlePlot;
    let (view, toks) =
        ClassicText::fit_transform(&train.neural_text(fields), ClassicConfig::default())?;
    Ok([
        toks.into_iter().map(|d| d.join(" ")).collect(),
        view.transform_joined(&val.neural_text(fields)),
        view.transform_joined(&test.neural_text(fields)),
    ])
}

/// `$GENRE_NLP_TOOLS`, or `.tools` (the scripts' default).
pub fn tools_dir() -> PathBuf {
    std::env::var_os("GENRE_NLP_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".tools"))
}

/// The peer's Python ([`torch_python`] with `imports`), or `None` — when `ours_only` (the
/// benches' `--ours-only`) or when the venv cannot be made ready, which is said on stderr
/// naming the `what` peer — so that our side runs either way.
pub fn peer_python(ours_only: bool, imports: &str, what: &str) -> Option<PathBuf> {
    if ours_only {
        return None;
    }
    torch_python(imports)
        .map_err(|e| eprintln!("no {what} peer: {e}"))
        .ok()
}

/// The Python of `$GENRE_NLP_TOOLS/torch-venv` once `import {imports}` works there, installing
/// `benches/peers/requirements-torch.txt` into it first when it does not.
pub fn torch_python(imports: &str) -> std::result::Result<PathBuf, String> {
    let venv = tools_dir().join("torch-venv");
    let py = venv.join("bin/python");
    let ok = |py: &Path| {
        Command::new(py)
            .args(["-c", &format!("import {imports}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ok(&py) {
        return Ok(py);
    }
    eprintln!("installing the PyTorch peer into {} ...", venv.display());
    if !py.exists() {
        let st = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map_err(|e| format!("python3 -m venv: {e}"))?;
        if !st.success() {
            return Err("python3 -m venv failed".into());
        }
    }
    let req = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/requirements-torch.txt");
    let st = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&req)
        .status()
        .map_err(|e| format!("pip: {e}"))?;
    if !st.success() || !ok(&py) {
        return Err("pip install of the PyTorch peer failed".into());
    }
    Ok(py)
}

/// The training loop's first `n` steps of `net` from its start over `batches` (every epoch's
/// batches, in order), as `train::fit` runs them (loss, clipping, AdamW with the network's
/// parameter groups, schedule), for the step-by-step checks against PyTorch
/// (`rnn_train_check`, `ffnn_train_check`, `finetune_train_check`): per step the
/// loss, the learning rate, the global gradient norm before clipping and each parameter's
/// gradient norm. `before_step(rows, rng)` sees each step's rows and the generator its
/// dropout masks will be drawn from (to write them for the peer).
#[allow(clippy::type_complexity)]
pub fn replay_steps<N: genre_nlp::train::Network>(
    net: &N,
    (input, y): (&N::Input, &[usize]),
    batches: &[Vec<Vec<usize>>],
    tc: &genre_nlp::train::TrainConfig,
    (k, n): (usize, usize),
    mut before_step: impl FnMut(
        &[usize],
        rand_chacha::ChaCha8Rng,
    ) -> std::result::Result<(), Box<dyn std::error::Error>>,
) -> std::result::Result<Vec<Value>, Box<dyn std::error::Error>> {
    use genre_nlp::train::trainer::schedule_steps;
    use genre_nlp::train::{lr_at, AdamW, Ctx, Loss};
    use rand::SeedableRng;
    let loss = Loss::new(
        tc.loss,
        tc.gamma,
        tc.label_smoothing,
        Some(tc.class_weight.weights(y, k)?),
        k,
    )?;
    let (total, warmup) = schedule_steps(tc, y.len());
    let mut opt = AdamW::new(tc.betas, tc.eps, tc.weight_decay);
    let mut out = Vec::new();
    let mut ctx = Ctx::train(rand_chacha::ChaCha8Rng::seed_from_u64(0)).with_grad_sink();
    for (step, rows) in batches.iter().flatten().take(n).enumerate() {
        let lr = lr_at(tc.lr, step, total, warmup, tc.schedule);
        before_step(rows, ctx.rng().clone())?;
        let logits = net.logits(input, rows, &mut ctx)?;
        let ys: Vec<usize> = rows.iter().map(|&i| y[i]).collect();
        let l = loss.forward(&logits, &ys)?;
        let mut g = l.backward()?;
        ctx.merge_grads(&mut g)?;
        let mut norms = serde_json::Map::new();
        for (name, var) in net.params().iter() {
            if let Some(t) = g.get(var.as_tensor()) {
                let s = t.sqr()?.sum_all()?.to_scalar::<f32>()?;
                norms.insert(name.to_string(), json!(f64::from(s).sqrt()));
            }
        }
        let norm = opt.step_groups(net.params(), &g, lr, tc.clip_norm, &|name| {
            net.param_group(name)
        })?;
        out.push(json!({
            "loss": l.to_scalar::<f32>()?,
            "lr": lr,
            "grad_norm": norm,
            "grad_norms": norms,
        }));
    }
    Ok(out)
}

/// Every epoch's batches as `train::fit` visits them: the epoch's order of the `n` rows of
/// `input` (`trainer::epoch_order` of `tc.seed`) split by `net`'s own `Network::batches`
/// (consecutive chunks of `tc.batch_size`, or grouped by length for the fine-tuned encoder).
pub fn epoch_batches<N: genre_nlp::train::Network>(
    net: &N,
    input: &N::Input,
    tc: &genre_nlp::train::TrainConfig,
    epochs: usize,
    n: usize,
) -> Vec<Vec<Vec<usize>>> {
    (0..epochs)
        .map(|e| {
            let (order, mut rng) = genre_nlp::train::trainer::epoch_order(tc.seed, e, n);
            net.batches(input, order, tc.batch_size, &mut rng)
        })
        .collect()
}

/// What a step-by-step check writes besides its inputs: `masks.bin` (when it ran with
/// dropout) and `meta.json` — the run (`pipeline`, `seed`, `epochs`, labels, training options,
/// class weights, batches), our first steps, our per-epoch numbers from `history`, and the
/// check's own fields from `extra` (an object).
#[allow(clippy::too_many_arguments)]
pub fn write_check(
    out: &Path,
    (name, seed, epochs): (&str, u64, usize),
    labels: &genre_nlp::data::Labels,
    tc: &genre_nlp::train::TrainConfig,
    ytr: &[usize],
    batches: &[Vec<Vec<usize>>],
    (steps, masks): (Vec<Value>, Option<Vec<u8>>),
    history: &genre_nlp::train::History,
    extra: Value,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    if let Some(m) = &masks {
        std::fs::write(out.join("masks.bin"), m)?;
    }
    let mut meta = json!({
        "pipeline": name,
        "seed": seed,
        "epochs": epochs,
        "n_classes": labels.len(),
        "labels": labels.names(),
        "train": tc,
        "class_weights": tc.class_weight.weights(ytr, labels.len())?,
        "batches": batches,
        "ours_steps": steps,
        "masks": masks.is_some(),
        "ours": history.epochs.iter().map(|e| json!({
            "epoch": e.epoch,
            "train_loss": e.train_loss,
            "val_loss": e.val_loss,
            "val_macro_f1": e.val_macro_f1,
            "lr": e.lr,
        })).collect::<Vec<_>>(),
    });
    if let (Some(m), Value::Object(x)) = (meta.as_object_mut(), extra) {
        m.extend(x);
    }
    std::fs::write(out.join("meta.json"), serde_json::to_string(&meta)?)?;
    println!("wrote {}", out.display());
    Ok(())
}
