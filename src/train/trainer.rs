//! The training loop every network shares: shuffled mini-batches, AdamW with warm-up and decay,
//! gradient clipping, validation every epoch, early stopping on validation macro-F1 with the
//! best epoch's weights restored, checkpoints with resume, a [`History`], a progress bar and
//! step metrics sent to a [`Tracker`].

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Instant;

use candle_core::{Device, Tensor};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::Labels;
use crate::error::{Error, Result};
use crate::eval::ClassificationReport;
use crate::track::Tracker;
use crate::train::checkpoint::{CheckpointDir, CheckpointState, CHECKPOINT_FORMAT};
use crate::train::config::TrainConfig;
use crate::train::history::{EpochRecord, History};
use crate::train::loss::{scalar, Loss};
use crate::train::optim::{lr_at, AdamW, ParamGroup};
use crate::train::params::{load_tensors, save_tensors, Ctx, Params};

/// A network the loop can train: its parameters, and logits for some rows of its input.
pub trait Network {
    /// What it reads: a feature matrix, token ids, ... (all rows; [`Network::logits`] picks).
    type Input: ?Sized;

    /// The trainable parameters.
    fn params(&self) -> &Params;

    /// Logits (`rows.len() × n_classes`) of `rows` of `input`; `ctx` says train or eval.
    fn logits(
        &self,
        input: &Self::Input,
        rows: &[usize],
        ctx: &mut Ctx,
    ) -> candle_core::Result<Tensor>;

    /// The learning-rate factor and weight decay of the parameter `name` (default: the
    /// schedule's rate, decayed).
    fn param_group(&self, _name: &str) -> ParamGroup {
        ParamGroup::default()
    }

    /// Splits an epoch's shuffled row order into training batches of at most `batch` rows
    /// (default: consecutive chunks). Networks whose cost grows with the longest row of a
    /// batch group rows of similar length here.
    fn batches(
        &self,
        _input: &Self::Input,
        order: Vec<usize>,
        batch: usize,
        _rng: &mut ChaCha8Rng,
    ) -> Vec<Vec<usize>> {
        order.chunks(batch.max(1)).map(|c| c.to_vec()).collect()
    }
}

/// An input and one label per row.
pub struct Labelled<'a, I: ?Sized> {
    /// All rows.
    pub input: &'a I,
    /// Label of each row.
    pub labels: &'a [usize],
}

/// Where the loop reports and saves, and how a run ends early.
#[derive(Default)]
pub struct FitOptions<'a> {
    /// Receives every epoch as step metrics.
    pub tracker: Option<&'a mut dyn Tracker>,
    /// Checkpoint folder (written after each epoch).
    pub checkpoint: Option<CheckpointDir>,
    /// Continue from the checkpoint folder's last state when it has one.
    pub resume: bool,
    /// Stop after this many finished epochs as if interrupted (tests; a budget per call).
    pub stop_after: Option<usize>,
    /// Name shown on the progress bar.
    pub name: String,
    /// No progress bar and no per-epoch lines.
    pub quiet: bool,
}

/// What a call to [`fit`] produced.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// Every epoch (including those of an earlier, resumed call).
    pub history: History,
    /// `true` when it stopped because of [`FitOptions::stop_after`]: the weights are the last
    /// epoch's, not the best one's, and [`fit`] with `resume` continues.
    pub interrupted: bool,
    /// Seconds of this call.
    pub seconds: f64,
}

/// The ChaCha8 generator of 0-based `epoch` (stream [`crate::seed::EPOCHS`] + `epoch` of `seed`).
pub fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    crate::seed::rng(seed, crate::seed::EPOCHS + epoch as u64)
}

/// The order in which [`fit`] visits `n` training rows in 0-based `epoch`, and the generator
/// as the shuffle left it (the epoch's dropout masks come from it).
pub fn epoch_order(seed: u64, epoch: usize, n: usize) -> (Vec<usize>, ChaCha8Rng) {
    let mut rng = epoch_rng(seed, epoch);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    (order, rng)
}

/// The optimiser steps of a whole run of `cfg` over `n` training rows and how many of them
/// warm up (the schedule [`fit`] gives [`lr_at`]).
pub fn schedule_steps(cfg: &TrainConfig, n: usize) -> (usize, usize) {
    let total = n.div_ceil(cfg.batch_size).div_ceil(cfg.accumulate) * cfg.epochs;
    (total, (cfg.warmup * total as f64).round() as usize)
}

/// Logits of every row of `input`, in batches of `batch`, in inference mode, as a row-major
/// `n_rows × k` vector.
pub fn predict_logits<N: Network>(
    net: &N,
    input: &N::Input,
    n_rows: usize,
    batch: usize,
) -> Result<(Vec<f32>, usize)> {
    let mut out = Vec::new();
    let mut k = 0;
    let rows: Vec<usize> = (0..n_rows).collect();
    let mut ctx = Ctx::eval();
    for chunk in rows.chunks(batch.max(1)) {
        let l = net.logits(input, chunk, &mut ctx)?;
        k = l.dims2()?.1;
        out.extend(l.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?);
    }
    Ok((out, k))
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

/// Loss, accuracy and macro-F1 of `data` in inference mode.
fn validate<N: Network>(
    net: &N,
    data: &Labelled<N::Input>,
    loss: &Loss,
    labels: &Labels,
    batch: usize,
) -> Result<(f64, f64, f64)> {
    let n = data.labels.len();
    let rows: Vec<usize> = (0..n).collect();
    let mut ctx = Ctx::eval();
    let mut pred = Vec::with_capacity(n);
    // The loss of all rows as one batch: each chunk's mean weighted by its rows' class
    // weights (with class weights, a chunk's mean is over its own weight sum).
    let (mut total, mut weight) = (0.0f64, 0.0f64);
    for chunk in rows.chunks(batch.max(1)) {
        let logits = net.logits(data.input, chunk, &mut ctx)?;
        let ys: Vec<usize> = chunk.iter().map(|&i| data.labels[i]).collect();
        let w = loss.batch_weight(&ys);
        total += f64::from(scalar(&loss.forward(&logits, &ys)?)?) * w;
        weight += w;
        let (_, k) = logits.dims2()?;
        let v = logits
            .to_device(&Device::Cpu)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        pred.extend(v.chunks(k).map(argmax));
    }
    let report = ClassificationReport::new(data.labels, &pred, labels)?;
    Ok((
        if weight > 0.0 { total / weight } else { 0.0 },
        report.accuracy(),
        report.macro_f1(),
    ))
}

fn bar(steps: usize, name: &str, epoch: usize, epochs: usize, quiet: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
    if quiet || !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} batches, {msg} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    pb.set_style(style);
    pb.set_prefix(format!("{name} epoch {epoch}/{epochs}"));
    pb
}

/// Trains `net` on `train`, validating on `val` after every epoch (see the module doc).
///
/// At the end (patience exhausted or the last epoch), the best epoch's weights are in `net`.
/// With [`FitOptions::resume`] and a checkpoint folder holding a state, it continues from the
/// last finished epoch: same options and data are required (else an error says what differs).
pub fn fit<N: Network>(
    net: &N,
    cfg: &TrainConfig,
    labels: &Labels,
    train: Labelled<N::Input>,
    val: Labelled<N::Input>,
    mut opts: FitOptions,
) -> Result<TrainOutcome> {
    cfg.validate()?;
    crate::train::keep_freed_buffers();
    let t_call = Instant::now();
    let k = labels.len();
    let n = train.labels.len();
    if n == 0 || val.labels.is_empty() {
        return Err(Error::Config(format!(
            "training needs rows on both sides: {n} training, {} validation",
            val.labels.len()
        )));
    }
    let weights = match cfg.class_weight {
        crate::train::ClassWeight::None => None,
        ref cw => Some(cw.weights(train.labels, k)?),
    };
    let loss = Loss::new(cfg.loss, cfg.gamma, cfg.label_smoothing, weights, k)?;
    let params = net.params();
    let (total_steps, warmup) = schedule_steps(cfg, n);
    let mut opt = AdamW::new(cfg.betas, cfg.eps, cfg.weight_decay);
    let mut history = History::default();
    let mut best: Option<(usize, f64)> = None;
    let mut best_weights: Option<BTreeMap<String, Tensor>> = None;
    let mut bad_epochs = 0usize;
    let mut start_epoch = 0usize;

    if let (true, Some(ck)) = (opts.resume, &opts.checkpoint) {
        if let Some(st) = ck.read_state()? {
            let where_ = ck.state_path().display().to_string();
            if st.config != *cfg {
                return Err(Error::Config(format!(
                    "{where_}: the checkpoint was written with other training options; \
                     resume with the same options or start afresh without --resume"
                )));
            }
            if st.n_train != n || st.n_params != params.n_values() {
                return Err(Error::Config(format!(
                    "{where_}: the checkpoint is of {} training rows and {} parameters, this \
                     run has {n} and {}",
                    st.n_train,
                    st.n_params,
                    params.n_values()
                )));
            }
            params.load(&ck.weights(st.epoch))?;
            opt.restore(st.step, &load_tensors(&ck.optimizer(st.epoch))?)?;
            if let Some((b, _)) = st.best {
                let t = load_tensors(&ck.best(b))?;
                best_weights = Some(t.into_iter().collect());
            }
            start_epoch = st.epoch;
            best = st.best;
            bad_epochs = st.bad_epochs;
            history = st.history;
            if !opts.quiet {
                eprintln!(
                    "{}: resuming after epoch {} from {}",
                    opts.name,
                    st.epoch,
                    ck.path().display()
                );
            }
        }
    }

    let mut interrupted = false;
    let done = history.stopped_early;
    for epoch in start_epoch..cfg.epochs {
        if done {
            break;
        }
        let t0 = Instant::now();
        let (order, mut rng) = epoch_order(cfg.seed, epoch, n);
        let batches = net.batches(train.input, order, cfg.batch_size, &mut rng);
        let mut ctx = Ctx::train(rng).with_grad_sink();
        let pb = bar(batches.len(), &opts.name, epoch + 1, cfg.epochs, opts.quiet);
        let mut loss_sum = 0.0f64;
        let mut seen = 0usize;
        let mut lr = cfg.lr;
        let group = |name: &str| net.param_group(name);
        for step_batches in batches.chunks(cfg.accumulate) {
            let step = opt.steps() as usize;
            lr = lr_at(cfg.lr, step, total_steps, warmup, cfg.schedule);
            let step_rows: usize = step_batches.iter().map(Vec::len).sum();
            let mut grads: Option<candle_core::backprop::GradStore> = None;
            for batch in step_batches {
                let logits = net.logits(train.input, batch, &mut ctx)?;
                let ys: Vec<usize> = batch.iter().map(|&i| train.labels[i]).collect();
                let l = loss.forward(&logits, &ys)?;
                let lv = f64::from(scalar(&l)?);
                if !lv.is_finite() {
                    return Err(Error::Model(format!(
                        "{}: the loss became {lv} at epoch {} step {step}; lower lr",
                        opts.name,
                        epoch + 1
                    )));
                }
                // Each batch's mean loss weighted by its share of the step's rows: the
                // accumulated gradient is that of the mean over all of them.
                let l = if step_batches.len() > 1 {
                    l.affine(batch.len() as f64 / step_rows as f64, 0.0)?
                } else {
                    l
                };
                let mut g = l.backward()?;
                ctx.merge_grads(&mut g)?;
                match grads.as_mut() {
                    Some(acc) => acc.extend(g)?,
                    None => grads = Some(g),
                }
                loss_sum += lv * batch.len() as f64;
                seen += batch.len();
                pb.inc(1);
                let secs = t0.elapsed().as_secs_f64().max(1e-9);
                pb.set_message(format!(
                    "loss {:.4}, {:.0} rows/s",
                    loss_sum / seen as f64,
                    seen as f64 / secs
                ));
            }
            if let Some(g) = grads {
                opt.step_groups(params, &g, lr, cfg.clip_norm, &group)?;
            }
        }
        pb.finish_and_clear();
        let (val_loss, val_acc, val_f1) = validate(net, &val, &loss, labels, cfg.eval_batch_size)?;
        let rec = EpochRecord {
            epoch: epoch + 1,
            train_loss: loss_sum / seen.max(1) as f64,
            val_loss,
            val_accuracy: val_acc,
            val_macro_f1: val_f1,
            lr,
            seconds: t0.elapsed().as_secs_f64(),
        };
        let improved = best.is_none_or(|(_, f)| val_f1 > f);
        if improved {
            best = Some((epoch + 1, val_f1));
            best_weights = Some(params.snapshot()?);
            bad_epochs = 0;
        } else {
            bad_epochs += 1;
        }
        if !opts.quiet {
            eprintln!(
                "{} epoch {}/{}: train loss {:.4}, val loss {:.4}, val acc {:.4}, val macro-F1 {:.4}{}, {:.1} s ({:.0} rows/s)",
                opts.name,
                rec.epoch,
                cfg.epochs,
                rec.train_loss,
                rec.val_loss,
                rec.val_accuracy,
                rec.val_macro_f1,
                if improved { " *" } else { "" },
                rec.seconds,
                n as f64 / rec.seconds.max(1e-9)
            );
        }
        if let Some(t) = opts.tracker.as_deref_mut() {
            History::log_epoch(t, &rec)?;
        }
        history.epochs.push(rec);
        history.best_epoch = best.map(|(b, _)| b);
        if cfg.patience > 0 && bad_epochs >= cfg.patience && epoch + 1 < cfg.epochs {
            history.stopped_early = true;
        }
        if let Some(ck) = &opts.checkpoint {
            params.save(&ck.weights(epoch + 1))?;
            let (step, moments) = opt.state()?;
            save_tensors(&moments, &ck.optimizer(epoch + 1))?;
            if improved {
                if let Some(bw) = &best_weights {
                    save_tensors(&bw.clone().into_iter().collect(), &ck.best(epoch + 1))?;
                }
            }
            ck.commit(&CheckpointState {
                format: CHECKPOINT_FORMAT,
                epoch: epoch + 1,
                step,
                best,
                bad_epochs,
                history: history.clone(),
                rng_seed: cfg.seed,
                config: cfg.clone(),
                n_train: n,
                n_params: params.n_values(),
            })?;
        }
        if history.stopped_early {
            if !opts.quiet {
                eprintln!(
                    "{}: no better validation macro-F1 for {} epochs; stopping",
                    opts.name, cfg.patience
                );
            }
            break;
        }
        if opts
            .stop_after
            .is_some_and(|s| epoch + 1 - start_epoch >= s)
            && epoch + 1 < cfg.epochs
        {
            interrupted = true;
            break;
        }
    }
    if !interrupted {
        if let Some(bw) = &best_weights {
            params.restore(bw)?;
        }
    }
    Ok(TrainOutcome {
        history,
        interrupted,
        seconds: t_call.elapsed().as_secs_f64(),
    })
}
