#!/usr/bin/env python3
"""Reference numbers for `genre_nlp::models::linear`, computed with scikit-learn.

Prints one JSON document (stdout): a small fixed dataset (60 x 8, 3 classes of 30 / 18 / 12
rows, about a third of the values zero, values rounded to two decimals so the Rust test reads
exactly the same numbers) and what scikit-learn fits on it:

- `LinearSVC(C=0.5, dual=True, tol=1e-6, max_iter=100000)` (squared hinge, liblinear
  L2R_L2LOSS_SVC_DUAL, one-vs-rest), without and with `class_weight="balanced"`, and with
  `intercept_scaling=2`;
- `LogisticRegression(C=0.5, tol=1e-8, max_iter=10000)` (lbfgs, multinomial, L2), without and
  with `class_weight="balanced"`;
- the same two models on the two-class subset (classes 0 and 1), where scikit-learn fits a
  single coefficient row (class 1 positive);
- `compute_class_weight("balanced", ...)` of the labels.

`tests/linear.rs` embeds that document verbatim and asserts agreement. Regenerate after
changing the inputs:

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn numpy
    /tmp/skl/bin/python benches/peers/linear_reference.py > /tmp/linear_reference.json

The numbers in tests/linear.rs were produced with scikit-learn 1.9.1, numpy 2.4.6, scipy 1.17.1.
"""
import json

import numpy as np
import scipy
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.utils.class_weight import compute_class_weight


def dataset():
    rng = np.random.RandomState(0)
    counts = [30, 18, 12]
    centers = rng.normal(0.0, 1.0, size=(3, 8))
    xs, ys = [], []
    for k, n in enumerate(counts):
        xs.append(centers[k] + rng.normal(0.0, 1.2, size=(n, 8)))
        ys += [k] * n
    x = np.vstack(xs)
    x[rng.uniform(size=x.shape) < 0.33] = 0.0
    x = np.round(x, 2)
    y = np.array(ys)
    order = rng.permutation(len(y))
    return x[order], y[order]


def fit_svc(x, y, **kw):
    m = LinearSVC(C=0.5, dual=True, tol=1e-6, max_iter=100000, **kw).fit(x, y)
    return {
        "coef": m.coef_.tolist(),
        "intercept": m.intercept_.tolist(),
        "decision": np.atleast_2d(m.decision_function(x).T).T.tolist(),
        "n_iter": int(m.n_iter_),
    }


def fit_lr(x, y, **kw):
    m = LogisticRegression(C=0.5, tol=1e-8, max_iter=10000, **kw).fit(x, y)
    return {
        "coef": m.coef_.tolist(),
        "intercept": m.intercept_.tolist(),
        "proba": m.predict_proba(x).tolist(),
        "n_iter": int(m.n_iter_[0]),
    }


def main():
    x, y = dataset()
    binary = y < 2
    xb, yb = x[binary], y[binary]
    out = {
        "versions": {
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "x": x.tolist(),
        "y": y.tolist(),
        "balanced_weights": compute_class_weight("balanced", classes=np.unique(y), y=y).tolist(),
        "svc": fit_svc(x, y),
        "svc_balanced": fit_svc(x, y, class_weight="balanced"),
        "svc_scaling2": fit_svc(x, y, intercept_scaling=2.0),
        "lr": fit_lr(x, y),
        "lr_balanced": fit_lr(x, y, class_weight="balanced"),
        "binary_svc_balanced": fit_svc(xb, yb, class_weight="balanced"),
        "binary_lr_balanced": fit_lr(xb, yb, class_weight="balanced"),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
