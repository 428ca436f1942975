"""Runs in PyTorch + transformers the very fine-tuning `examples/finetune_train_check.rs` ran with
our code (dropout off everywhere), and prints both curves side by side.

Reads from DIR: meta.json (word pieces and label ids of the internal training and validation
parts, labels, training options, class weights, every epoch's batches, our first steps and our
per-epoch numbers, the model directory: a copy of all-MiniLM-L6-v2 whose config.json says
dropout 0) and init.safetensors (the head's initial weights: classifier.weight K x H,
classifier.bias). Builds torch_finetune.py's model (transformers.AutoModel, mean pooling over
each row's tokens, Linear) with those weights and trains it on the same batches:
CrossEntropyLoss(weight), clip_grad_norm_, AdamW with weight decay except on biases and
LayerNorm weights, warm-up then linear decay. Prints each of our first steps beside PyTorch's
(loss, gradient norm before clipping, the parameter whose gradient norm differs most; our
parameter names are transformers' with the `bert.` prefix), then each epoch (training loss,
validation loss, validation macro-F1 over all genres).

GENRE_CHECK_PERTURB=1e-7 multiplies every initial weight by (1 + 1e-7 * N(0, 1)) first: a
control for how fast PyTorch drifts from itself.

usage: python torch_finetune_train_check.py DIR [EPOCHS]   (EPOCHS: stop after that many)
"""

import json
import sys

import numpy as np
import torch
from safetensors.torch import load_file
from sklearn.metrics import f1_score

from torch_finetune import Classifier, decay_groups, logits, pad
from train_check import optimiser, perturb, run


def main():
    d = sys.argv[1]
    torch.set_num_threads(2)
    meta = json.load(open(f"{d}/meta.json"))
    tc = meta["train"]
    if meta["pooling"] != "mean":
        raise SystemExit("only mean pooling is checked here")
    xtr, xva = meta["x_train"], meta["x_val"]
    ytr, yva = np.array(meta["y_train"]), np.array(meta["y_val"])
    k = meta["n_classes"]
    net = Classifier(meta["model_dir"], k)
    cfg = net.bert.config
    if cfg.hidden_dropout_prob != 0 or cfg.attention_probs_dropout_prob != 0:
        raise SystemExit(f"{meta['model_dir']}: dropout is on")
    net.dropout.p = 0.0
    head = load_file(f"{d}/init.safetensors")
    with torch.no_grad():
        net.classifier.weight.copy_(head["classifier.weight"])
        net.classifier.bias.copy_(head["classifier.bias"])
    perturb(net)
    named = dict(net.named_parameters())
    n, epochs = len(ytr), meta["epochs"]
    opt, sched = optimiser(decay_groups(net, tc["weight_decay"]), tc, n, epochs)
    params = list(named.values())
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(meta["class_weights"], dtype=torch.float32))

    def step_loss(rows):
        x, m = pad([xtr[r] for r in rows])
        return loss_fn(net(x, m), torch.from_numpy(ytr[rows]))

    def validate():
        z = logits(net, xva, tc["eval_batch_size"])
        vloss = loss_fn(z, torch.from_numpy(yva)).item()
        pred = z.argmax(1).numpy()
        return vloss, f1_score(yva, pred, labels=range(k), average="macro", zero_division=0)

    run(meta, net, (params, tc["clip_norm"], opt, sched), step_loss,
        lambda: {name: float(p.grad.pow(2).sum()) ** 0.5
                 for name, p in named.items() if p.grad is not None},
        validate, False, n)


if __name__ == "__main__":
    main()
