"""Runs in PyTorch the very training `examples/rnn_train_check.rs` ran with our code, and prints
both loss curves side by side.

Reads from DIR: train.jsonl / val.jsonl (tokens and genres, as torch_rnn.py reads them),
init.safetensors (our initial weights: embedding, rnn.w_ih E x D*G, rnn.b_ih, rnn.w_hh
D x H x G, rnn.b_hh D x G, head.w D*H x K, head.b; gates in PyTorch's order), meta.json (label
names in our order, vocabulary, shape, training options, class weights, every epoch's batches,
our first steps and our per-epoch numbers). Builds the same network from torch.nn (Embedding,
GRU/LSTM over a PackedSequence, max or mean pooling, Linear), both dropouts off, and trains it
on the same batches: CrossEntropyLoss(weight), clip_grad_norm_, AdamW, warm-up then linear
decay (the warm-up rounded as we round it: 22.5 steps -> 23; torch_rnn.py's round() gives 22).
Prints each of our first steps beside PyTorch's (loss, gradient norm before clipping, the
parameter whose gradient norm differs most), then each epoch (training loss, validation loss,
validation macro-F1).

A control for the drift: with GENRE_CHECK_PERTURB=1e-7 every initial weight is multiplied by
(1 + 1e-7 * N(0, 1)) (about float32's rounding) before PyTorch trains, so the PyTorch column of
two runs shows how fast PyTorch drifts from itself. When the example ran with `dropout`, the
recipe's dropouts stay on and masks.bin holds our masks of its first steps (one byte per value,
1 kept; per step the embedded tokens' B x longest x E, then the pooled vectors' B x D*H, in the
batch's row order): PyTorch applies them (scaled by 1 / (1 - p)) and stops after those steps.

usage: python torch_rnn_train_check.py DIR [EPOCHS]   (EPOCHS: stop after that many)
"""

import json
import math
import sys

import numpy as np
import torch
from safetensors.numpy import load_file
from sklearn.metrics import f1_score

from torch_rnn import batch, read
from train_check import optimiser, perturb, run


class Net(torch.nn.Module):
    def __init__(self, w, shape, k):
        super().__init__()
        v, e = w["embedding"].shape
        h, bi = shape["hidden"], shape["bidirectional"]
        cell = shape["cell"]
        self.emb = torch.nn.Embedding(v, e)
        rnn = torch.nn.GRU if cell == "gru" else torch.nn.LSTM
        self.rnn = rnn(e, h, batch_first=True, bidirectional=bi)
        d = 2 if bi else 1
        self.out = torch.nn.Linear(d * h, k)
        self.pooling = shape["pooling"]
        g = (3 if cell == "gru" else 4) * h
        with torch.no_grad():
            self.emb.weight.copy_(torch.from_numpy(w["embedding"]))
            for di, sfx in enumerate(("", "_reverse")[:d]):
                getattr(self.rnn, f"weight_ih_l0{sfx}").copy_(
                    torch.from_numpy(w["rnn.w_ih"][:, di * g:(di + 1) * g].T.copy()))
                getattr(self.rnn, f"bias_ih_l0{sfx}").copy_(
                    torch.from_numpy(w["rnn.b_ih"][di * g:(di + 1) * g].copy()))
                getattr(self.rnn, f"weight_hh_l0{sfx}").copy_(
                    torch.from_numpy(w["rnn.w_hh"][di].T.copy()))
                getattr(self.rnn, f"bias_hh_l0{sfx}").copy_(
                    torch.from_numpy(w["rnn.b_hh"][di].copy()))
            self.out.weight.copy_(torch.from_numpy(w["head.w"].T.copy()))
            self.out.bias.copy_(torch.from_numpy(w["head.b"].copy()))

    def forward(self, ids, lens, masks=None):
        x = self.emb(ids)
        if masks is not None:
            x = x * masks[0]
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lens, batch_first=True,
                                                         enforce_sorted=False)
        y, _ = self.rnn(packed)
        if self.pooling == "max":
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True,
                                                          padding_value=-1e4)
            pooled = y.max(1).values
        elif self.pooling == "mean":
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True)
            pooled = y.sum(1) / lens.unsqueeze(1).to(y.dtype)
        else:
            raise SystemExit("pooling `last` is not checked here")
        if masks is not None:
            pooled = pooled * masks[1]
        return self.out(pooled)


def main():
    d = sys.argv[1]
    torch.set_num_threads(2)
    meta = json.load(open(f"{d}/meta.json"))
    shape, tc = meta["shape"], meta["train"]
    k = meta["n_classes"]
    index = {w: i for i, w in enumerate(meta["vocab"]) if i >= 2}
    max_len = shape["max_len"]

    def encode(docs):
        return [[index.get(t, 1) for t in doc[:max_len]] or [1] for doc in docs]

    ids = {g: i for i, g in enumerate(meta["labels"])}
    tr, gtr = read(f"{d}/train.jsonl")
    va, gva = read(f"{d}/val.jsonl")
    ytr, yva = np.array([ids[g] for g in gtr]), np.array([ids[g] for g in gva])
    str_, sva = encode(tr), encode(va)
    net = Net(load_file(f"{d}/init.safetensors"), shape, k)
    perturb(net)
    if shape["freeze_embedding"]:
        net.emb.weight.requires_grad_(False)
    params = [p for p in net.parameters() if p.requires_grad]
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(meta["class_weights"], dtype=torch.float32))
    n, epochs = len(ytr), meta["epochs"]
    opt, sched = optimiser(params, tc, n, epochs)
    clip = tc["clip_norm"]
    names = {"embedding": ["emb.weight"], "head.w": ["out.weight"], "head.b": ["out.bias"]}
    for ours_name, kind in (("rnn.w_ih", "weight_ih"), ("rnn.b_ih", "bias_ih"),
                            ("rnn.w_hh", "weight_hh"), ("rnn.b_hh", "bias_hh")):
        names[ours_name] = [f"rnn.{kind}_l0{sfx}" for sfx in ("", "_reverse")]
    named = dict(net.named_parameters())
    # With our dropout masks (the example's `dropout` mode): only the steps they cover.
    masks = (np.fromfile(f"{d}/masks.bin", dtype=np.uint8) if meta.get("masks") else None)
    mpos, e = 0, net.emb.weight.shape[1]
    dh = net.out.in_features

    def take_masks(rows, longest):
        nonlocal mpos
        ne, npool = len(rows) * longest * e, len(rows) * dh
        me = masks[mpos:mpos + ne].reshape(len(rows), longest, e).astype(np.float32)
        mp = masks[mpos + ne:mpos + ne + npool].reshape(len(rows), dh).astype(np.float32)
        mpos += ne + npool
        return (torch.from_numpy(me / (1 - shape["embedding_dropout"])),
                torch.from_numpy(mp / (1 - shape["dropout"])))

    def step_loss(rows):
        ids, lens = batch(str_, rows)
        m = take_masks(rows, ids.shape[1]) if masks is not None else None
        return loss_fn(net(ids, lens, m), torch.from_numpy(ytr[rows]))

    def grad_norms():
        return {k: math.sqrt(sum(float(named[p].grad.pow(2).sum()) for p in v
                                 if named[p].grad is not None))
                for k, v in names.items()}

    def validate():
        logits = torch.cat([net(*batch(sva, list(range(s, min(s + 512, len(sva))))))
                            for s in range(0, len(sva), 512)])
        vloss = loss_fn(logits, torch.from_numpy(yva)).item()
        return vloss, f1_score(yva, logits.argmax(1).numpy(), average="macro", zero_division=0)

    run(meta, net, (params, clip, opt, sched), step_loss, grad_norms, validate,
        masks is not None, n)

if __name__ == "__main__":
    main()
