"""The PyTorch + transformers peer of `benches/finetune.rs`: the `minilm-finetune` recipe on the
same word pieces.

Reads what the Rust bench wrote: JSON lines {"ids": [...], "genre": ...} (word pieces of our
tokenizer, [CLS] ... [SEP], truncated as our pipeline truncated them) for the internal training
part, the internal validation part and the test file, then fine-tunes the same model directory:

  transformers.AutoModel (all-MiniLM-L6-v2, train mode: dropout 0.1 as its config says);
  mean of the last hidden states over each row's tokens -> Dropout(0.1) -> Linear(384, K)
  (weights N(0, 0.02^2), bias 0);
  AdamW(lr 1e-4 (--lr), betas 0.9/0.999, eps 1e-8, weight decay 0.01 except biases and LayerNorm
  weights), 10 % linear warm-up then linear decay to 0 over all epochs' steps, gradient norm
  clipped at 1.0, cross-entropy with balanced class weights, batch 16 grouped by length
  (shuffled windows of 50 batches, each sorted, batches shuffled), early stopping on
  validation macro-F1 with patience 2 (at most 6 epochs, --epochs), best epoch restored; 2 threads.

Prints one JSON object: test macro-F1 and accuracy, seconds (train, whole fit), the seconds of
each epoch (training + validation), validation macro-F1 of each epoch, best epoch.

usage: python torch_finetune.py --model DIR --train T.jsonl --val V.jsonl --test S.jsonl
       [--epochs N] [--lr LR] [--batch B] [--seed S] [--max-steps N]
"""

import argparse
import copy
import json
import random
import time

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from transformers import AutoModel


def read(path):
    ids, genres = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            ids.append(row["ids"])
            genres.append(row["genre"])
    return ids, genres


class Classifier(torch.nn.Module):
    def __init__(self, model_dir, k):
        super().__init__()
        self.bert = AutoModel.from_pretrained(model_dir)
        h = self.bert.config.hidden_size
        self.dropout = torch.nn.Dropout(0.1)
        self.classifier = torch.nn.Linear(h, k)
        torch.nn.init.normal_(self.classifier.weight, std=0.02)
        torch.nn.init.zeros_(self.classifier.bias)

    def forward(self, ids, mask):
        x = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1)
        return self.classifier(self.dropout(pooled))


def pad(batch):
    n = max(len(s) for s in batch)
    ids = torch.zeros((len(batch), n), dtype=torch.long)
    mask = torch.zeros((len(batch), n), dtype=torch.long)
    for i, s in enumerate(batch):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def length_grouped(order, lens, batch, rng):
    out = []
    for w in range(0, len(order), batch * 50):
        window = sorted(order[w : w + batch * 50], key=lambda i: -lens[i])
        out.extend(window[i : i + batch] for i in range(0, len(window), batch))
    rng.shuffle(out)
    return out


@torch.no_grad()
def logits(model, ids, batch=64):
    """The model's logits of every row of `ids` (in eval mode, in batches of rows of similar
    length), in input order."""
    model.eval()
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = None
    for s in range(0, len(order), batch):
        rows = order[s : s + batch]
        x, m = pad([ids[r] for r in rows])
        z = model(x, m)
        if out is None:
            out = torch.zeros((len(ids), z.shape[1]))
        out[rows] = z
    return out


def predict(model, ids, batch=64):
    return logits(model, ids, batch).argmax(1).tolist()


def decay_groups(model, weight_decay):
    """AdamW's parameter groups: `weight_decay` except on biases and LayerNorm weights."""
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if n.endswith("bias") or "LayerNorm" in n else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--max-steps", type=int, default=0, help="stop each epoch after N steps")
    a = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    t_fit = time.perf_counter()
    xtr, gtr = read(a.train)
    xva, gva = read(a.val)
    xte, gte = read(a.test)
    names = sorted(set(gtr) | set(gva))
    index = {g: i for i, g in enumerate(names)}
    ytr = [index[g] for g in gtr]
    yva = [index[g] for g in gva]
    k = len(names)
    counts = np.bincount(ytr, minlength=k).astype(np.float64)
    weights = np.where(counts > 0, len(ytr) / (k * np.maximum(counts, 1)), 0.0)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))
    model = Classifier(a.model, k)
    opt = torch.optim.AdamW(
        decay_groups(model, 0.01),
        lr=a.lr,
        betas=(0.9, 0.999),
        eps=1e-8,
    )
    steps_per_epoch = (len(xtr) + a.batch - 1) // a.batch
    total = steps_per_epoch * a.epochs
    warmup = round(0.1 * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)),
    )
    lens = [len(s) for s in xtr]
    best, best_state, bad = None, None, 0
    epoch_seconds, val_f1s = [], []
    t_train = time.perf_counter()
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        model.train()
        order = list(range(len(xtr)))
        rng.shuffle(order)
        for step, rows in enumerate(length_grouped(order, lens, a.batch, rng)):
            if a.max_steps and step >= a.max_steps:
                break
            x, m = pad([xtr[r] for r in rows])
            loss = loss_fn(model(x, m), torch.tensor([ytr[r] for r in rows]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        f1 = f1_score(yva, predict(model, xva), average="macro")
        epoch_seconds.append(time.perf_counter() - t0)
        val_f1s.append(f1)
        if best is None or f1 > best[1]:
            best, best_state, bad = (epoch + 1, f1), copy.deepcopy(model.state_dict()), 0
        else:
            bad += 1
            if bad >= 2:
                break
    model.load_state_dict(best_state)
    train_s = time.perf_counter() - t_train
    pred = predict(model, xte)
    yte = [index.get(g, -1) for g in gte]
    print(
        json.dumps(
            {
                "macro_f1": f1_score(yte, pred, average="macro"),
                "accuracy": accuracy_score(yte, pred),
                "train_seconds": train_s,
                "fit_seconds": time.perf_counter() - t_fit,
                "epoch_seconds": epoch_seconds,
                "val_macro_f1": val_f1s,
                "best_epoch": best[0],
            }
        )
    )


if __name__ == "__main__":
    main()
