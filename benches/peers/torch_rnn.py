"""The PyTorch peer of `benches/rnn.rs`: the same BiGRU / BiLSTM recipes on the same tokens.

Reads what the Rust bench wrote: JSON lines {"tokens": [...], "genre": ...} for the internal
training part, the internal validation part and the test file (the tokens our word-vector
representation gives the RNN), and optionally the word vectors the embedding starts from
(word2vec text format, the very vectors our pipeline used), then trains:

  vocabulary: training tokens, most frequent first (ties by token), ids 0 pad / 1 unknown;
  embedding: the vector of each token (else N(0, sigma^2), sigma the vectors' std), or N(0, 1)
             without vectors, trainable (or frozen with --freeze);
  nn.GRU / nn.LSTM(E, 128, bidirectional) over packed sequences of at most 256 tokens;
  max over the valid steps -> Dropout(0.3) -> Linear(256, K); embedding dropout 0.2;
  AdamW(lr 5e-3, betas 0.9/0.999, weight decay 0.01), 5 % linear warm-up then linear decay
  (round() takes a half to even: 450 steps give 22 warm-up steps where ours takes 23; one step,
  kept so that earlier runs stay comparable — torch_rnn_train_check.py rounds as we do),
  gradient norm clipped at 1.0, cross-entropy with balanced class weights, batch 64, early
  stopping on validation macro-F1 with patience 4 (at most 15 epochs), best epoch restored;
  2 threads.

Prints one JSON object: test macro-F1 and accuracy, seconds (train, whole fit), mean epoch
seconds, epochs run, best epoch.

usage: python torch_rnn.py --train T.jsonl --val V.jsonl --test S.jsonl --cell gru|lstm
       [--vectors V.txt] [--freeze] [--epochs N] [--seed S] [--speed-only]
"""

import argparse
import json
import math
import time
from collections import Counter

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score

MAX_LEN = 256


def read(path):
    docs, genres = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append(row["tokens"])
            genres.append(row["genre"])
    return docs, genres


def read_vectors(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        n, d = map(int, f.readline().split())
        for line in f:
            parts = line.rstrip("\n").split(" ")
            out[parts[0]] = np.asarray(parts[1 : d + 1], dtype=np.float32)
    return out, d


def encode(docs, index):
    seqs = []
    for d in docs:
        ids = [index.get(t, 1) for t in d[:MAX_LEN]] or [1]
        seqs.append(ids)
    return seqs


class Net(torch.nn.Module):
    def __init__(self, emb, cell, k, freeze):
        super().__init__()
        self.emb = torch.nn.Embedding.from_pretrained(torch.from_numpy(emb), freeze=freeze,
                                                      padding_idx=0)
        rnn = torch.nn.GRU if cell == "gru" else torch.nn.LSTM
        self.rnn = rnn(emb.shape[1], 128, batch_first=True, bidirectional=True)
        self.edrop = torch.nn.Dropout(0.2)
        self.drop = torch.nn.Dropout(0.3)
        self.out = torch.nn.Linear(256, k)

    def forward(self, ids, lens):
        x = self.edrop(self.emb(ids))
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lens, batch_first=True,
                                                         enforce_sorted=False)
        y, _ = self.rnn(packed)
        y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True, padding_value=-1e4)
        return self.out(self.drop(y.max(1).values))


def batch(seqs, rows):
    lens = torch.tensor([len(seqs[i]) for i in rows])
    ids = torch.zeros(len(rows), int(lens.max()), dtype=torch.long)
    for b, i in enumerate(rows):
        ids[b, : len(seqs[i])] = torch.tensor(seqs[i])
    return ids, lens


def predict(net, seqs):
    net.eval()
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = torch.zeros(len(seqs), net.out.out_features)
    with torch.no_grad():
        for s in range(0, len(seqs), 256):
            rows = order[s : s + 256]
            out[torch.from_numpy(rows)] = net(*batch(seqs, rows))
    return out


def main():
    ap = argparse.ArgumentParser()
    for a in ("--train", "--val", "--test", "--cell"):
        ap.add_argument(a, required=True)
    ap.add_argument("--vectors", default=None)
    ap.add_argument("--freeze", action="store_true")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--speed-only", action="store_true",
                    help="one epoch of training + validation, no test scoring")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    tr, ytr_s = read(args.train)
    va, yva_s = read(args.val)
    te, yte_s = read(args.test)
    classes = sorted(set(ytr_s) | set(yva_s))
    idx = {c: i for i, c in enumerate(classes)}
    ytr = np.array([idx[g] for g in ytr_s])
    yva = np.array([idx[g] for g in yva_s])
    yte = np.array([idx.get(g, -1) for g in yte_s])
    k = len(classes)
    counts = Counter(t for d in tr for t in d)
    words = sorted(counts, key=lambda w: (-counts[w], w))[:50000]
    index = {w: i + 2 for i, w in enumerate(words)}
    if args.vectors:
        vecs, dim = read_vectors(args.vectors)
        found = [vecs[w] for w in words if w in vecs]
        sigma = float(np.std(np.stack(found))) if found else 1.0
        emb = rng.normal(0.0, sigma, (len(words) + 2, dim)).astype(np.float32)
        for w, i in index.items():
            if w in vecs:
                emb[i] = vecs[w]
    else:
        emb = rng.normal(0.0, 1.0, (len(words) + 2, 100)).astype(np.float32)
    emb[0] = 0.0
    str_, sva, ste = encode(tr, index), encode(va, index), encode(te, index)
    present = (np.bincount(ytr, minlength=k) > 0).sum()
    c = np.bincount(ytr, minlength=k)
    w = np.where(c > 0, len(ytr) / (present * np.maximum(c, 1)), 0.0)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float32))
    net = Net(emb, args.cell, k, args.freeze)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=5e-3, betas=(0.9, 0.999), weight_decay=0.01)
    epochs_max = 1 if args.speed_only else args.epochs
    n, bs = len(ytr), 64
    steps = math.ceil(n / bs) * args.epochs
    warm = round(0.05 * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warm) if s < warm else max(0.0, (steps - s) / max(1, steps - warm))
    )
    best, best_state, bad, epochs, epoch_s, best_epoch = -1.0, None, 0, 0, [], 0
    t1 = time.perf_counter()
    for ep in range(epochs_max):
        te0 = time.perf_counter()
        net.train()
        order = rng.permutation(n)
        for s in range(0, n, bs):
            rows = order[s : s + bs]
            opt.zero_grad()
            loss = loss_fn(net(*batch(str_, rows)), torch.from_numpy(ytr[rows]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
        pred = predict(net, sva).argmax(1).numpy()
        f1 = f1_score(yva, pred, average="macro", zero_division=0)
        epoch_s.append(time.perf_counter() - te0)
        epochs += 1
        if f1 > best:
            best, bad, best_epoch = f1, 0, ep + 1
            best_state = {a: b.clone() for a, b in net.state_dict().items()}
        else:
            bad += 1
            if bad >= 4:
                break
    train_s = time.perf_counter() - t1
    out = {
        "name": f"torch bi{args.cell}",
        "train_seconds": train_s,
        "epoch_seconds": float(np.mean(epoch_s)),
        "epochs": epochs,
        "best_epoch": best_epoch,
        "val_macro_f1": best,
    }
    if not args.speed_only:
        net.load_state_dict(best_state)
        pred = predict(net, ste).argmax(1).numpy()
        out["macro_f1"] = f1_score(yte, pred, average="macro", zero_division=0)
        out["accuracy"] = accuracy_score(yte, pred)
    out["fit_seconds"] = time.perf_counter() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
