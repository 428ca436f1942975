"""The scikit-learn peer of `benches/tfidf_linear.rs`.

Reads the exact texts and genres our bench feeds its own pipeline (JSON lines written by the
Rust bench: {"text": ..., "genre": ...}), then fits
    TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True) + LinearSVC(class_weight="balanced")
    TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True) + LogisticRegression(class_weight="balanced")
and prints one JSON object per peer on stdout: macro-F1, accuracy, TF-IDF fit+transform
seconds, whole fit seconds, predict seconds, peak RSS (MiB; the process runs one peer only,
chosen with --peer, so peaks don't mix).

usage: python sklearn_tfidf_linear.py --train TRAIN.jsonl --test TEST.jsonl --peer svc|logreg
"""

import argparse
import json
import resource
import sys
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC


def read(path):
    texts, genres = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            texts.append(row["text"])
            genres.append(row["genre"])
    return texts, genres


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--peer", choices=["svc", "logreg"], required=True)
    a = ap.parse_args()
    x_train, y_train = read(a.train)
    x_test, y_test = read(a.test)

    t0 = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    xtr = vec.fit_transform(x_train)
    t_tfidf = time.perf_counter() - t0
    if a.peer == "svc":
        clf = LinearSVC(class_weight="balanced", random_state=42)
    else:
        clf = LogisticRegression(class_weight="balanced")  # defaults: lbfgs, max_iter=100
    clf.fit(xtr, y_train)
    t_fit = time.perf_counter() - t0

    t1 = time.perf_counter()
    pred = clf.predict(vec.transform(x_test))
    t_predict = time.perf_counter() - t1

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out = {
        "name": "sklearn TfidfVectorizer(1-2, sublinear) + "
        + ("LinearSVC(balanced)" if a.peer == "svc" else "LogisticRegression(balanced)"),
        "macro_f1": f1_score(y_test, pred, average="macro"),
        "accuracy": accuracy_score(y_test, pred),
        "tfidf_seconds": t_tfidf,
        "fit_seconds": t_fit,
        "predict_seconds": t_predict,
        "peak_mib": peak,
        "n_features": len(vec.vocabulary_),
        "train_rows": len(x_train),
        "test_rows": len(x_test),
        "sklearn": __import__("sklearn").__version__,
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
