"""Runs in PyTorch the very training `examples/ffnn_train_check.rs` ran with our code, and prints
both loss curves side by side.

Reads from DIR: train.f32 / val.f32 (the features our representation gave the internal
training and validation parts, raw little-endian float32, shapes in meta.json; for the sparse
`tfidf` recipe train/val.indptr (u64), .indices (u32), .data (f32): CSR rows, densified per
batch here, so the first layer is an ordinary Linear),
init.safetensors (our initial weights: layers.{i}.weight in x out, layers.{i}.bias) and
meta.json (labels, label ids of both parts, shape, training options, class weights, every
epoch's batches, our first steps and our per-epoch numbers). Builds the same network from
torch.nn (Linear -> ReLU -> [Dropout] -> ... -> Linear) and trains it on the same batches:
CrossEntropyLoss(weight), clip_grad_norm_, AdamW, warm-up then linear decay. Prints each of our
first steps beside PyTorch's (loss, gradient norm before clipping, the parameter whose gradient
norm differs most), then each epoch (training loss, validation loss, validation macro-F1).

A control for the drift: with GENRE_CHECK_PERTURB=1e-7 every initial weight is multiplied by
(1 + 1e-7 * N(0, 1)) (about float32's rounding) before PyTorch trains, so two PyTorch runs show
how fast PyTorch drifts from itself. When the example ran with `dropout`, masks.bin holds our
masks of its first steps (one byte per value, 1 kept; per step each hidden layer's
rows x width, in the batch's row order): PyTorch applies them (scaled by 1 / (1 - p)) and stops
after those steps.

usage: python torch_ffnn_train_check.py DIR [EPOCHS]   (EPOCHS: stop after that many)
"""

import json
import sys

import numpy as np
import torch
from safetensors.numpy import load_file
from scipy.sparse import csr_matrix
from sklearn.metrics import f1_score

from train_check import optimiser, perturb, run


def features(d, name, rows, cols, sparse):
    """Dense rows, or a CSR matrix whose batches `take` densifies."""
    if not sparse:
        return np.fromfile(f"{d}/{name}.f32", dtype="<f4").reshape(rows, cols)
    indptr = np.fromfile(f"{d}/{name}.indptr", dtype="<u8").astype(np.int64)
    indices = np.fromfile(f"{d}/{name}.indices", dtype="<u4").astype(np.int64)
    data = np.fromfile(f"{d}/{name}.data", dtype="<f4")
    return csr_matrix((data, indices, indptr), shape=(rows, cols))


def take(x, rows):
    sub = x[rows]
    return torch.from_numpy(sub.toarray() if hasattr(sub, "toarray") else sub)


class Net(torch.nn.Module):
    def __init__(self, w, shape):
        super().__init__()
        if shape["layer_norm"]:
            raise SystemExit("layer norm is not checked here")
        sizes = [shape["input_dim"], *shape["hidden"], shape["n_classes"]]
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act = {"relu": torch.nn.ReLU(), "gelu": torch.nn.GELU(approximate="tanh")}[
            shape["activation"]]
        self.p = shape["dropout"]
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                layer.weight.copy_(torch.from_numpy(w[f"layers.{i}.weight"].T.copy()))
                layer.bias.copy_(torch.from_numpy(w[f"layers.{i}.bias"].copy()))

    def forward(self, x, masks=None):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i + 1 < len(self.layers):
                x = self.act(x)
                if masks is not None:
                    x = x * masks[i]
                elif self.training and self.p > 0:
                    raise SystemExit("dropout without our masks is not checked here")
        return x


def main():
    d = sys.argv[1]
    torch.set_num_threads(2)
    meta = json.load(open(f"{d}/meta.json"))
    shape, tc, rows_meta = meta["shape"], meta["train"], meta["rows"]
    cols = rows_meta["cols"]
    sparse = meta.get("sparse", False)
    xtr = features(d, "train", rows_meta["train"], cols, sparse)
    xva = features(d, "val", rows_meta["val"], cols, sparse)
    ytr, yva = np.array(meta["y_train"]), np.array(meta["y_val"])
    net = Net(load_file(f"{d}/init.safetensors"), shape)
    perturb(net)
    params = list(net.parameters())
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(meta["class_weights"], dtype=torch.float32))
    n, epochs = len(ytr), meta["epochs"]
    opt, sched = optimiser(params, tc, n, epochs)
    clip = tc["clip_norm"]
    named = {f"layers.{i}.{kind}": getattr(layer, kind)
             for i, layer in enumerate(net.layers) for kind in ("weight", "bias")}
    masks = (np.fromfile(f"{d}/masks.bin", dtype=np.uint8) if meta.get("masks") else None)
    mpos = 0

    def take_masks(b):
        nonlocal mpos
        out = []
        for h in shape["hidden"]:
            m = masks[mpos:mpos + b * h].reshape(b, h).astype(np.float32)
            out.append(torch.from_numpy(m / (1 - shape["dropout"])))
            mpos += b * h
        return out

    def step_loss(rows):
        m = take_masks(len(rows)) if masks is not None else None
        return loss_fn(net(take(xtr, rows), m), torch.from_numpy(ytr[rows]))

    def validate():
        logits = net(take(xva, np.arange(xva.shape[0])))
        vloss = loss_fn(logits, torch.from_numpy(yva)).item()
        return vloss, f1_score(yva, logits.argmax(1).numpy(), average="macro", zero_division=0)

    run(meta, net, (params, clip, opt, sched), step_loss,
        lambda: {k: float(p.grad.pow(2).sum()) ** 0.5 for k, p in named.items()},
        validate, masks is not None, n)

if __name__ == "__main__":
    main()
