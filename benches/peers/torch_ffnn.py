"""The PyTorch peer of `benches/ffnn.rs`: the same FFNN recipes on the same rows.

Reads the texts the Rust bench wrote (JSON lines {"text": ..., "genre": ...}; the text is our
classic_text view, space-separated, so both sides vectorize the same tokens) for the internal
training part, the internal validation part and the test file, then runs one recipe:

  tfidf-svd   TfidfVectorizer(1-2, sublinear, min_df=2) -> TruncatedSVD(512) -> StandardScaler
  bow-svd     CountVectorizer(1-2, min_df=2)            -> TruncatedSVD(512) -> StandardScaler
  tfidf       TfidfVectorizer(1-2, sublinear, min_df=2, max_features=50000), sparse rows
  w2v         gensim Word2Vec (skip-gram, 100-d, window 5, min_count 5, 5 negatives, sample
              1e-3, 20 epochs, 1 worker) trained on the lowercased training tokens -> SIF
  fasttext    gensim FastText, the same plus character 3-6-grams in 2M buckets -> SIF
  glove       GloVe 6B 50d (the npy + words.txt that scripts/assets fetched) -> SIF
  spacy       spaCy en_core_web_md's 300-d table (vectors, key2row, strings.json) -> SIF

SIF as ours (Arora et al. 2017): weight a/(a + p(w)), a = 1e-3, p from the training tokens'
counts (1 for a word never seen in training), summed over the tokens that have a vector and
divided by their number; then the first right singular vector of the training rows removed
from every row; then StandardScaler. A phrase token (`new_york`) without a vector of its own
becomes its words, as in our pipeline.

and the same network and loop as ours: Linear(d, 512) -> ReLU -> Dropout(0.5) -> Linear(512, K);
AdamW(lr 1e-3, betas 0.9/0.999, weight decay 0.01); 5 % linear warm-up then linear decay;
gradient norm clipped at 1.0; cross-entropy with balanced class weights; batch 64; early
stopping on validation macro-F1 with patience 5, best epoch restored; 2 threads.

Prints one JSON object: macro-F1 and accuracy on the test file, seconds (vectorize, train,
whole fit), mean epoch seconds, epochs run, best epoch.

usage: python torch_ffnn.py --train T.jsonl --val V.jsonl --test S.jsonl --recipe tfidf-svd
       [--epochs N] [--max-features N] [--seed S] [--assets DIR]
       (--assets: the folder with glove-6B-50d/ and spacy-en-md/, for glove and spacy)
"""

import argparse
import json
import math
import time

import numpy as np
import torch
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import StandardScaler


def read(path):
    texts, genres = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            texts.append(row["text"])
            genres.append(row["genre"])
    return texts, genres


def features(recipe, tr, va, te, max_features, seed):
    common = dict(tokenizer=str.split, token_pattern=None, ngram_range=(1, 2), min_df=2)
    if max_features:
        common["max_features"] = max_features
    if recipe == "bow-svd":
        vec = CountVectorizer(**common)
    elif recipe == "tfidf":
        vec = TfidfVectorizer(sublinear_tf=True, **{"max_features": 50000, **common})
    else:
        vec = TfidfVectorizer(sublinear_tf=True, **common)
    xtr = vec.fit_transform(tr)
    xva, xte = vec.transform(va), vec.transform(te)
    if recipe == "tfidf":
        return xtr.astype(np.float32), xva.astype(np.float32), xte.astype(np.float32)
    svd = TruncatedSVD(512, random_state=seed)
    sc = StandardScaler()
    ztr = sc.fit_transform(svd.fit_transform(xtr))
    return (
        ztr.astype(np.float32),
        sc.transform(svd.transform(xva)).astype(np.float32),
        sc.transform(svd.transform(xte)).astype(np.float32),
    )


WORD_VECTOR_RECIPES = ("w2v", "fasttext", "glove", "spacy")


def murmurhash64a(data, seed=1):
    """MurmurHash64A, the hash spaCy keys its strings by (seed 1)."""
    m, r, mask = 0xC6A4A7935BD1E995, 47, (1 << 64) - 1
    h = (seed ^ (len(data) * m)) & mask
    n8 = len(data) // 8 * 8
    for i in range(0, n8, 8):
        k = int.from_bytes(data[i : i + 8], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h ^= k
        h = (h * m) & mask
    tail = data[n8:]
    if tail:
        h ^= int.from_bytes(tail, "little")
        h = (h * m) & mask
    h ^= h >> r
    h = (h * m) & mask
    h ^= h >> r
    return h


def load_vectors(recipe, train_docs, assets, seed):
    """A lookup word -> vector (a dict, or gensim's KeyedVectors) and `vocab`, the words that
    have a vector of their own (what decides whether a phrase is split)."""
    if recipe in ("w2v", "fasttext"):
        from gensim.models import FastText, Word2Vec

        kw = dict(vector_size=100, window=5, min_count=5, sg=1, negative=5, sample=1e-3,
                  alpha=0.025, min_alpha=1e-4, epochs=20, workers=1, seed=seed)
        if recipe == "w2v":
            wv = Word2Vec(train_docs, **kw).wv
            return wv, wv.key_to_index
        wv = FastText(train_docs, min_n=3, max_n=6, bucket=2_000_000, **kw).wv
        return wv, wv.key_to_index
    if recipe == "glove":
        d = f"{assets}/glove-6B-50d"
        emb = np.load(f"{d}/glove_6B_50d_emb.npy")
        if emb.shape[0] < emb.shape[1]:
            emb = emb.T
        words = open(f"{d}/words.txt", encoding="utf-8").read().split("\n")
        table = {}
        for i, w in enumerate(words[: emb.shape[0]]):
            if w and w not in table:
                table[w] = emb[i]
        return table, table
    import msgpack

    d = f"{assets}/spacy-en-md"
    emb = np.load(f"{d}/vectors")
    key2row = msgpack.unpackb(open(f"{d}/key2row", "rb").read(), strict_map_key=False)
    table = {}
    for s in json.load(open(f"{d}/strings.json", encoding="utf-8")):
        row = key2row.get(murmurhash64a(s.encode("utf-8")))
        if row is not None and row < emb.shape[0]:
            table[s] = emb[row]
    return table, table


def vector(wv, w):
    """The vector `wv` gives `w` (FastText: any word, through its n-grams), or None."""
    try:
        return wv[w]
    except KeyError:
        return None


def lookup_tokens(docs, vocab):
    out = []
    for d in docs:
        row = []
        for t in d:
            if t not in vocab and "_" in t:
                row.extend(p for p in t.split("_") if p)
            else:
                row.append(t)
        out.append(row)
    return out


def sif(docs, wv, weights, dim):
    x = np.zeros((len(docs), dim), dtype=np.float64)
    for i, d in enumerate(docs):
        n = 0
        for t in d:
            v = vector(wv, t)
            if v is None:
                continue
            x[i] += weights.get(t, 1.0) * np.asarray(v, dtype=np.float64)
            n += 1
        if n:
            x[i] /= n
    return x


def lowercase_tokens(texts):
    return [[t.lower() for t in text.split()] for text in texts]


def word_vector_features(recipe, tr, va, te, assets, seed):
    docs = lowercase_tokens(tr)
    wv, vocab = load_vectors(recipe, docs, assets, seed)
    dim = wv.vector_size if hasattr(wv, "vector_size") else len(next(iter(wv.values())))
    docs = lookup_tokens(docs, vocab)
    counts, total = {}, 0
    for d in docs:
        for t in d:
            counts[t] = counts.get(t, 0) + 1
            total += 1
    weights = {t: 1e-3 / (1e-3 + c / total) for t, c in counts.items()}
    xs = [sif(docs, wv, weights, dim)]
    xs += [sif(lookup_tokens(lowercase_tokens(texts), vocab), wv, weights, dim)
           for texts in (va, te)]
    u = np.linalg.svd(xs[0], full_matrices=False)[2][0]
    out = [x - np.outer(x @ u, u) for x in xs]
    sc = StandardScaler().fit(out[0])
    return tuple(sc.transform(x).astype(np.float32) for x in out)


def read_dumped(directory, name):
    """Features written by `cargo run --example dump_features` (raw f32 + JSON shape, genres)."""
    with open(f"{directory}/{name}.json", encoding="utf-8") as f:
        meta = json.load(f)
    x = np.fromfile(f"{directory}/{name}.f32", dtype="<f4").reshape(meta["rows"], meta["cols"])
    return x, meta["genres"]


def batch(x, rows):
    if hasattr(x, "tocsr"):
        sub = x[rows].tocoo()
        idx = torch.from_numpy(np.vstack([sub.row, sub.col]).astype(np.int64))
        return torch.sparse_coo_tensor(idx, torch.from_numpy(sub.data), sub.shape)
    return torch.from_numpy(x[rows])


class Net(torch.nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.l1 = torch.nn.Linear(d, 512)
        self.drop = torch.nn.Dropout(0.5)
        self.l2 = torch.nn.Linear(512, k)

    def forward(self, x):
        h = torch.sparse.mm(x, self.l1.weight.t()) + self.l1.bias if x.is_sparse else self.l1(x)
        return self.l2(self.drop(torch.relu(h)))


def predict(net, x, n):
    net.eval()
    out = []
    with torch.no_grad():
        for s in range(0, n, 512):
            out.append(net(batch(x, np.arange(s, min(n, s + 512)))))
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser()
    for a in ("--train", "--val", "--test", "--recipe"):
        ap.add_argument(a, required=True)
    ap.add_argument("--features", default=None,
                    help="train on the dense features our pipeline dumped here (dump_features)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--max-features", type=int, default=None)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--assets", default=".tools/assets",
                    help="folder with glove-6B-50d/ and spacy-en-md/ (scripts/assets)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    tr, ytr_s = read(args.train)
    va, yva_s = read(args.val)
    te, yte_s = read(args.test)
    classes = sorted(set(ytr_s) | set(yva_s))
    idx = {c: i for i, c in enumerate(classes)}
    ytr = np.array([idx[g] for g in ytr_s])
    yva = np.array([idx[g] for g in yva_s])
    yte = np.array([idx.get(g, -1) for g in yte_s])
    k = len(classes)
    t0 = time.perf_counter()
    if args.features:
        (xtr, ytr_d), (xva, yva_d), (xte, yte_d) = (
            read_dumped(args.features, n) for n in ("train", "val", "test"))
        assert (ytr_d, yva_d, yte_d) == (ytr_s, yva_s, yte_s), "dumped rows differ from the inputs"
    elif args.recipe in WORD_VECTOR_RECIPES:
        xtr, xva, xte = word_vector_features(args.recipe, tr, va, te, args.assets, args.seed)
    else:
        xtr, xva, xte = features(args.recipe, tr, va, te, args.max_features, args.seed)
    vec_s = time.perf_counter() - t0
    counts = np.bincount(ytr, minlength=k)
    present = (counts > 0).sum()
    w = np.where(counts > 0, len(ytr) / (present * np.maximum(counts, 1)), 0.0)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float32))
    net = Net(xtr.shape[1], k)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01)
    n, bs = len(ytr), 64
    steps = math.ceil(n / bs) * args.epochs
    warm = round(0.05 * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warm) if s < warm else max(0.0, (steps - s) / max(1, steps - warm))
    )
    best, best_state, bad, epochs, epoch_s = -1.0, None, 0, 0, []
    t1 = time.perf_counter()
    for ep in range(args.epochs):
        te0 = time.perf_counter()
        net.train()
        order = rng.permutation(n)
        for s in range(0, n, bs):
            rows = order[s : s + bs]
            opt.zero_grad()
            loss = loss_fn(net(batch(xtr, rows)), torch.from_numpy(ytr[rows]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
        pred = predict(net, xva, len(yva)).argmax(1).numpy()
        f1 = f1_score(yva, pred, average="macro", zero_division=0)
        epoch_s.append(time.perf_counter() - te0)
        epochs += 1
        if f1 > best:
            best, bad, best_epoch = f1, 0, ep + 1
            best_state = {a: b.clone() for a, b in net.state_dict().items()}
        else:
            bad += 1
            if bad >= 5:
                break
    train_s = time.perf_counter() - t1
    net.load_state_dict(best_state)
    pred = predict(net, xte, len(yte)).argmax(1).numpy()
    print(json.dumps({
        "name": f"torch {args.recipe}-ffnn",
        "macro_f1": f1_score(yte, pred, average="macro", zero_division=0),
        "accuracy": accuracy_score(yte, pred),
        "vectorize_seconds": vec_s,
        "train_seconds": train_s,
        "fit_seconds": time.perf_counter() - t0,
        "epoch_seconds": float(np.mean(epoch_s)),
        "epochs": epochs,
        "best_epoch": best_epoch,
        "n_features": int(xtr.shape[1]),
    }))


if __name__ == "__main__":
    main()
