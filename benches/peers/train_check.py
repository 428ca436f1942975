"""What the step-by-step training checks share (`torch_rnn_train_check.py`,
`torch_ffnn_train_check.py`): the optional perturbation of the start, the optimiser and
schedule as ours (AdamW, warm-up then linear decay, the warm-up rounded as Rust rounds), the
training loop over our batches (`run`) and the lines that print our numbers beside
PyTorch's."""

import math
import os
import sys

import torch


def perturb(net):
    """GENRE_CHECK_PERTURB=eps: every initial weight times (1 + eps * N(0, 1)), a control for
    how fast PyTorch drifts from itself."""
    eps = float(os.environ.get("GENRE_CHECK_PERTURB", "0"))
    if eps > 0:
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(1 + eps * torch.randn(p.shape, generator=gen))
        print(f"initial weights perturbed by a relative {eps:g}")


def optimiser(params, tc, n, epochs):
    """AdamW and the warm-up + linear-decay schedule of our `TrainConfig` `tc` for `n` rows."""
    opt = torch.optim.AdamW(params, lr=tc["lr"], betas=tuple(tc["betas"]), eps=tc["eps"],
                            weight_decay=tc["weight_decay"])
    steps = math.ceil(n / tc["batch_size"]) * epochs
    warm = math.floor(tc["warmup"] * steps + 0.5)  # Rust rounds halves away from zero
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warm) if s < warm else max(0.0, (steps - s) / max(1, steps - warm))
    )
    return opt, sched


def update(params, clip, opt, sched):
    """The optimiser step after the backward pass: clipping (when `clip`), AdamW, schedule."""
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(params, clip)
    opt.step()
    sched.step()


def print_step_header():
    print("step  loss ours | PyTorch     grad norm ours | PyTorch   largest relative "
          "difference of a parameter's gradient norm")


def print_step(step, o, loss, gn):
    """Our step `o` (from meta.json's ours_steps) beside PyTorch's loss and per-parameter
    gradient norms `gn` (our parameter names). Parameters whose gradient norm is below 1e-6 of
    the whole gradient's on PyTorch's side are left out of the largest difference: their true
    gradient is zero (an attention key's bias shifts every score of a query alike, which the
    softmax cancels), so both sides hold only rounding there."""
    total = math.sqrt(sum(x * x for x in gn.values()))
    live = [k for k in gn if gn[k] > 1e-6 * total]
    worst = max(live, key=lambda k: abs(gn[k] - o["grad_norms"].get(k, 0.0)) / gn[k])
    rel = abs(gn[worst] - o["grad_norms"].get(worst, 0.0)) / gn[worst]
    print(f"{step + 1:4d}  {o['loss']:.6f} | {loss:.6f}  "
          f"{o['grad_norm']:.6f} | {total:.6f}  {worst} {rel:.2e}")


def print_epoch_header(meta):
    print(f"{meta['pipeline']} seed {meta['seed']}: per epoch, ours | PyTorch")
    print("epoch  train loss         val loss           val macro-F1")


def print_epoch(meta, ep, train_loss, vloss, f1):
    o = meta["ours"][ep] if ep < len(meta["ours"]) else None
    if o is None:
        print(f"{ep + 1:5d}  -      | {train_loss:.4f}  -      | {vloss:.4f}  -      | {f1:.4f}")
    else:
        print(f"{ep + 1:5d}  {o['train_loss']:.4f} | {train_loss:.4f}  {o['val_loss']:.4f} | "
              f"{vloss:.4f}  {o['val_macro_f1']:.4f} | {f1:.4f}")


def run(meta, net, opt_state, step_loss, grad_norms, validate, masked, n):
    """The check's training: `meta`'s batches epoch by epoch (EPOCHS from argv[2] if given).
    Per step `step_loss(rows)` (the batch's loss, with our masks of the step when `masked`),
    our first steps printed beside PyTorch's (`grad_norms()`: per our parameter name), then
    the optimiser step; per epoch `validate()` -> (validation loss, macro-F1) beside ours.
    With our masks it stops after the steps they cover. `opt_state` = (params, clip, opt,
    sched); `n` training rows."""
    ours_steps = meta.get("ours_steps", [])
    if ours_steps:
        print_step_header()
    print_epoch_header(meta)
    step = 0
    for ep in range(int(sys.argv[2]) if len(sys.argv) > 2 else meta["epochs"]):
        net.train()
        tot = 0.0
        for rows in meta["batches"][ep]:
            if masked and step >= len(ours_steps):
                return
            opt_state[2].zero_grad()
            loss = step_loss(rows)
            loss.backward()
            if step < len(ours_steps):
                print_step(step, ours_steps[step], loss.item(), grad_norms())
            step += 1
            update(*opt_state)
            tot += loss.item() * len(rows)
        if masked:
            continue  # our epochs ran with other masks than the steps handed over
        net.eval()
        with torch.no_grad():
            vloss, f1 = validate()
        print_epoch(meta, ep, tot / n, vloss, f1)
