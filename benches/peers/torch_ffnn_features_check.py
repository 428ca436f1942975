"""Compares the features our FFNN pipeline fed its network with the features the peer
(`torch_ffnn.py`) computes from the same tokens, for a word-vector recipe (w2v, fasttext,
glove, spacy): per part (internal training, internal validation, test) the largest absolute
difference, the relative Frobenius difference and the rows that differ by more than 1e-3.

    cargo run --release --example dump_features -- spacy 42 /tmp/sp42
    $GENRE_NLP_TOOLS/torch-venv/bin/python benches/peers/torch_ffnn_features_check.py \
        /tmp/sp42 spacy 42 --assets $GENRE_NLP_TOOLS/assets

(The trained recipes, w2v and fasttext, train gensim's vectors here, so their features differ
from ours by design: the check is for glove and spacy, where both sides read one table.)
Then `torch_ffnn.py --features DIR` trains the peer's network on our features.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_ffnn as T  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", help="a folder written by `cargo run --example dump_features`")
    ap.add_argument("recipe", choices=T.WORD_VECTOR_RECIPES)
    ap.add_argument("seed", type=int)
    ap.add_argument("--assets", default=".tools/assets",
                    help="folder with glove-6B-50d/ and spacy-en-md/ (scripts/assets)")
    args = ap.parse_args()
    parts = ("train", "val", "test")
    texts = [T.read(f"{args.dir}/{p}.jsonl")[0] for p in parts]
    peer = T.word_vector_features(args.recipe, *texts, args.assets, args.seed)
    for name, p in zip(parts, peer):
        o, _ = T.read_dumped(args.dir, name)
        if o.shape != p.shape:
            sys.exit(f"{name}: ours {o.shape}, peer {p.shape}")
        d = np.abs(o - p)
        rel = np.linalg.norm(o - p) / np.linalg.norm(p)
        print(f"{args.recipe} seed {args.seed} {name} {o.shape}: max |diff| {d.max():.3g}, "
              f"relative {rel:.3g}, rows differing by > 1e-3: {(d.max(1) > 1e-3).sum()}")


if __name__ == "__main__":
    main()
