"""The Python peer of `minilm-linear` (benches/minilm.rs): sentence-transformers embeddings of
the same texts, then scikit-learn — StandardScaler + LogisticRegression(class_weight="balanced"),
C picked from the same grid by stratified 5-fold cross-validation on the training rows, repeated
as ours repeats it (`--cv-repeats`, 0 = auto: 3 below 10,000 rows, else 1; RepeatedStratifiedKFold)
by mean macro-F1 (`--cv 0` picks it on a stratified 10 % split instead), refitted on every training row —
scored on the test rows. Also the untuned default a scikit-learn user
writes first (LogisticRegression(max_iter=1000) on the raw embeddings). Prints one JSON line.

    python st_linear.py --model-dir DIR --train train.jsonl --test test.jsonl [--threads 2]
        [--cv 5] [--cv-repeats 0] [--emb-cache DIR]   (DIR keeps the embeddings as .npy between runs)
(each JSON line: {"text": ..., "genre": ...})
"""
import argparse, json, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--grid", default="0.001,0.003,0.01,0.03,0.1,0.3,1")
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--cv-repeats", type=int, default=0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--emb-cache", default=None)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    load = lambda p: [json.loads(l) for l in open(p, encoding="utf-8") if l.strip()]
    tr, te = load(a.train), load(a.test)
    import os
    cached = a.emb_cache and os.path.exists(os.path.join(a.emb_cache, "st_test.npy"))
    t0 = time.perf_counter()
    if cached:
        xtr = np.load(os.path.join(a.emb_cache, "st_train.npy"))
        xte = np.load(os.path.join(a.emb_cache, "st_test.npy"))
    else:
        model = SentenceTransformer(a.model_dir, device="cpu")
        model.max_seq_length = 256
        xtr = model.encode([r["text"] for r in tr], batch_size=32, normalize_embeddings=True)
        xte = model.encode([r["text"] for r in te], batch_size=32, normalize_embeddings=True)
        if a.emb_cache:
            os.makedirs(a.emb_cache, exist_ok=True)
            np.save(os.path.join(a.emb_cache, "st_train.npy"), xtr)
            np.save(os.path.join(a.emb_cache, "st_test.npy"), xte)
    embed_s = time.perf_counter() - t0
    ytr = np.array([r["genre"] for r in tr]); yte = np.array([r["genre"] for r in te])
    t0 = time.perf_counter()
    grid = [float(v) for v in a.grid.split(",")]
    if a.cv >= 2:
        from sklearn.model_selection import RepeatedStratifiedKFold
        import warnings
        warnings.filterwarnings("ignore")  # classes with fewer rows than folds
        repeats = a.cv_repeats or (3 if len(tr) < 10_000 else 1)
        folds = list(RepeatedStratifiedKFold(n_splits=a.cv, n_repeats=repeats,
                                             random_state=a.seed).split(xtr, ytr))
    else:
        i_tr, i_va = train_test_split(np.arange(len(tr)), test_size=0.1, stratify=ytr, random_state=a.seed)
        folds = [(i_tr, i_va)]
    best = None
    for c in grid:
        f1 = 0.0
        for i_tr, i_va in folds:
            sc = StandardScaler().fit(xtr[i_tr])
            m = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
            m.fit(sc.transform(xtr[i_tr]), ytr[i_tr])
            f1 += f1_score(ytr[i_va], m.predict(sc.transform(xtr[i_va])), average="macro") / len(folds)
        if best is None or f1 > best[1]:
            best = (c, f1)
    sc = StandardScaler().fit(xtr)
    m = LogisticRegression(C=best[0], class_weight="balanced", max_iter=2000).fit(sc.transform(xtr), ytr)
    pred = m.predict(sc.transform(xte))
    fit_s = time.perf_counter() - t0
    d = LogisticRegression(max_iter=1000).fit(xtr, ytr)
    dpred = d.predict(xte)
    print(json.dumps({
        "peer": "sentence-transformers + scikit-learn StandardScaler + LogisticRegression(balanced)",
        "cv_folds": a.cv, "cv_repeats": len(folds) // max(a.cv, 1), "seed": a.seed, "chosen_c": best[0], "val_macro_f1": best[1],
        "macro_f1": f1_score(yte, pred, average="macro"), "accuracy": accuracy_score(yte, pred),
        "embed_seconds": embed_s, "fit_seconds": fit_s,
        "default_lr_macro_f1": f1_score(yte, dpred, average="macro"),
        "default_lr_accuracy": accuracy_score(yte, dpred)}))

if __name__ == "__main__":
    main()
