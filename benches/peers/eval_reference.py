#!/usr/bin/env python3
"""Reference numbers for `genre_nlp::eval`, computed with scikit-learn.

Prints one JSON document (stdout) holding two fixed cases, their inputs and scikit-learn's
outputs; `tests/eval.rs` embeds that document verbatim and asserts agreement to 1e-9.
Regenerate after changing the inputs:

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn numpy
    /tmp/skl/bin/python benches/peers/eval_reference.py > /tmp/eval_reference.json

Numbers in tests/eval.rs were produced with scikit-learn 1.9.1, numpy 2.4.6.

Case "a" (40 samples, 5 classes): class 4 never occurs in y_true, class 2 is never predicted,
scores are rounded to one decimal so many are tied. Class 4 has no positives, so its ROC-AUC is
undefined (scikit-learn 1.9 returns NaN with a warning, which makes its OvR macro NaN) and its AP
is 0 with a warning; genre_nlp excludes such classes from macro averages, so the script also
prints the macro over the defined classes.
Case "b" (30 samples, 4 classes, all present): softmax probabilities with duplicated rows (ties),
so scikit-learn's multiclass `roc_auc_score(multi_class="ovr")` and multiclass
`average_precision_score` can be called directly.
Non-finite floats are written as the strings "inf" / "nan" (JSON has no literal for them).
"""
import json
import math

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.preprocessing import label_binarize


def clean(x):
    """Lists of plain floats, with inf / nan as strings."""
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def evaluate(y_true, y_pred, scores, k):
    labels = list(range(k))
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    out = {
        "k": k,
        "y_true": y_true.tolist(),
        "y_pred": y_pred.tolist(),
        "scores": scores.ravel().tolist(),  # row-major n x k
        "precision": p,
        "recall": r,
        "f1": f,
        "support": s,
        "accuracy": accuracy_score(y_true, y_pred),
    }
    for avg in ["macro", "weighted", "micro"]:
        kw = dict(labels=labels, average=avg, zero_division=0)
        out[f"{avg}_precision"] = precision_score(y_true, y_pred, **kw)
        out[f"{avg}_recall"] = recall_score(y_true, y_pred, **kw)
        out[f"{avg}_f1"] = f1_score(y_true, y_pred, **kw)
    out["confusion"] = confusion_matrix(y_true, y_pred, labels=labels)
    out["confusion_true"] = confusion_matrix(
        y_true, y_pred, labels=labels, normalize="true"
    )

    Y = label_binarize(y_true, classes=labels)
    if k == 2:  # label_binarize gives one column for two classes
        Y = np.hstack([1 - Y, Y])
    per_class = []
    for c in labels:
        yc, sc = Y[:, c], scores[:, c]
        entry = {"positives": int(yc.sum())}
        if 0 < yc.sum() < len(yc):
            fpr, tpr, thr = roc_curve(yc, sc)  # drop_intermediate=True
            entry["roc"] = {"fpr": fpr, "tpr": tpr, "thresholds": thr}
            entry["roc_auc"] = roc_auc_score(yc, sc)
        else:
            entry["roc"] = None
            entry["roc_auc"] = None
        if yc.sum() > 0:
            prec, rec, thr = precision_recall_curve(yc, sc)
            entry["pr"] = {"precision": prec, "recall": rec, "thresholds": thr}
            entry["average_precision"] = average_precision_score(yc, sc)
        else:
            entry["pr"] = None
            entry["average_precision"] = None
        per_class.append(entry)
    out["per_class"] = per_class
    defined_auc = [e["roc_auc"] for e in per_class if e["roc_auc"] is not None]
    defined_ap = [e["average_precision"] for e in per_class if e["average_precision"] is not None]
    out["macro_roc_auc_defined"] = float(np.mean(defined_auc))
    out["macro_ap_defined"] = float(np.mean(defined_ap))
    # scikit-learn's own averages over the binarized indicator matrix (all k columns)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["sklearn_macro_roc_auc"] = roc_auc_score(Y, scores, average="macro")
            out["sklearn_macro_ap"] = average_precision_score(Y, scores, average="macro")
    out["micro_roc_auc"] = roc_auc_score(Y, scores, average="micro")
    out["micro_ap"] = average_precision_score(Y, scores, average="micro")
    fpr, tpr, thr = roc_curve(Y.ravel(), scores.ravel())
    out["micro_roc"] = {"fpr": fpr, "tpr": tpr, "thresholds": thr}
    prec, rec, thr = precision_recall_curve(Y.ravel(), scores.ravel())
    out["micro_pr"] = {"precision": prec, "recall": rec, "thresholds": thr}
    if len(np.unique(y_true)) == k:  # multiclass entry points need every class present
        out["ovr_macro_roc_auc"] = roc_auc_score(
            y_true, scores, multi_class="ovr", average="macro", labels=labels
        )
        out["ovr_micro_roc_auc"] = roc_auc_score(
            y_true, scores, multi_class="ovr", average="micro", labels=labels
        )
        out["multiclass_macro_ap"] = average_precision_score(y_true, scores)
    return {k_: clean(v) for k_, v in out.items()}


def case_a():
    rng = np.random.default_rng(7)
    n, k = 40, 5
    y_true = rng.integers(0, 4, size=n)  # class 4 absent from y_true
    y_pred = y_true.copy()
    flip = rng.random(n) < 0.4
    y_pred[flip] = rng.integers(0, 5, size=flip.sum())
    y_pred[y_pred == 2] = 3  # class 2 never predicted
    scores = rng.random((n, k)) * 0.7
    scores[np.arange(n), y_true] += 0.3
    scores = np.round(scores, 1)  # one decimal: many ties
    return evaluate(y_true, y_pred, scores, k)


def case_b():
    rng = np.random.default_rng(11)
    n, k = 30, 4
    y_true = np.arange(n) % k
    rng.shuffle(y_true)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y_true] += 1.0
    logits[5] = logits[0]  # duplicated rows: tied scores across samples
    logits[17] = logits[3]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_pred = proba.argmax(axis=1)
    return evaluate(y_true, y_pred, proba, k)


if __name__ == "__main__":
    doc = {
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "a": case_a(),
        "b": case_b(),
    }
    print(json.dumps(doc, separators=(",", ":")))
