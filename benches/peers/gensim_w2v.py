#!/usr/bin/env python3
"""gensim peer for the Rust word-vector core.

Subcommands (run from the crate root with the venv's python):
  fixture            train a tiny gensim Word2Vec on a toy corpus and write it in word2vec
                     text and binary format to tests/fixtures/wordvec/ (+ gensim_small.json with the
                     vocabulary, dim and a few values) for the Rust test tests/wordvec.rs.
  check TXT BIN      load vectors we wrote (word2vec text / binary) with
                     KeyedVectors.load_word2vec_format and check both agree; prints a summary.
  corpus OUT [N]     tokenise train_data.txt (lowercase, split on non-alphanumeric, drop a small
                     stopword list), resample N rows (default 54214) with replacement, seed 42,
                     write one document per line, tokens space-separated.
  speed CORPUS       train gensim Word2Vec and FastText (sg=1, negative=5, window=5, epochs=5,
                     dim=100, workers=2, min_count=5) and print one line per model and input
                     mode, `NAME MODE {json}`: raw words/s (corpus tokens x epochs / seconds
                     in train()) and nearest neighbours (benches/wordvec.rs runs it).
"""
import json
import os
import random
import re
import sys
import time

import numpy as np

DATA = "/work/shared/data/imdb-genre/train_data.txt"
STOP = set(
    "a an the and or but if of to in on at by for with from as is are was were be been being "
    "it its this that these those he she they them his her their him we our you your i me my "
    "not no so than then there here who whom which what when where while how all any both each "
    "into onto over under about after before between through during out up down off again "
    "has have had do does did will would can could should may might must shall s t".split()
)
PROBE = ["love", "murder", "police", "family", "war", "music", "school", "alien"]


def tokenize(text):
    return [t for t in re.findall(r"[a-z0-9]+", text.lower()) if t not in STOP]


def toy_corpus():
    rng = random.Random(3)
    pets = ["cat", "dog", "pet", "fur", "paw", "tail", "bark", "meow"]
    cars = ["car", "engine", "wheel", "road", "fuel", "drive", "brake", "gear"]
    out = []
    for i in range(400):
        topic = pets if i % 2 == 0 else cars
        out.append([rng.choice(topic) for _ in range(8)] + ["ünïcode"] * (i % 3 == 0))
    return out


def fixture():
    from gensim.models import Word2Vec

    os.makedirs("tests/fixtures/wordvec", exist_ok=True)
    m = Word2Vec(toy_corpus(), vector_size=8, window=3, min_count=1, sg=1, negative=5,
                 epochs=5, workers=1, seed=1)
    kv = m.wv
    kv.save_word2vec_format("tests/fixtures/wordvec/gensim_small.txt", binary=False)
    kv.save_word2vec_format("tests/fixtures/wordvec/gensim_small.bin", binary=True)
    probe = {w: [float(x) for x in kv[w]] for w in ["cat", "engine", "ünïcode"]}
    json.dump({"words": list(kv.index_to_key), "dim": kv.vector_size, "values": probe,
               "similarity_cat_dog": float(kv.similarity("cat", "dog"))},
              open("tests/fixtures/wordvec/gensim_small.json", "w"), ensure_ascii=False, indent=1)
    for f in ["gensim_small.txt", "gensim_small.bin", "gensim_small.json"]:
        print(f, os.path.getsize("tests/fixtures/wordvec/" + f), "bytes")


def check(txt, binp):
    from gensim.models import KeyedVectors

    t = KeyedVectors.load_word2vec_format(txt, binary=False)
    b = KeyedVectors.load_word2vec_format(binp, binary=True)
    assert t.index_to_key == b.index_to_key, "text and binary vocabularies differ"
    same = np.array_equal(t.vectors, b.vectors)
    w = t.index_to_key[min(10, len(t) - 1)]
    print(json.dumps({"text": txt, "binary": binp, "words": len(t), "dim": t.vector_size,
                      "text_equals_binary_bitwise": bool(same),
                      "sample_word": w, "sample_neighbours": t.most_similar(w, topn=5)}))
    if not same:
        sys.exit(1)


def corpus(out, n="54214"):
    n = int(n)
    docs = []
    with open(DATA, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ::: ")
            if len(parts) == 4:
                docs.append(tokenize(parts[3]))
    rng = random.Random(42)
    with open(out, "w", encoding="utf-8") as f:
        for _ in range(n):
            f.write(" ".join(docs[rng.randrange(len(docs))]) + "\n")
    print(f"{out}: {n} docs resampled from {len(docs)} rows")


def speed(path):
    from gensim.models import FastText, Word2Vec

    docs = [line.split() for line in open(path, encoding="utf-8")]
    tokens = sum(len(d) for d in docs)
    kw = dict(vector_size=100, window=5, min_count=5, sg=1, negative=5, epochs=5, workers=2,
              seed=42, sample=1e-3, alpha=0.025, min_alpha=1e-4)
    results = {"docs": len(docs), "tokens": tokens, "epochs": 5, "workers": 2}
    for name, cls, extra in [("word2vec", Word2Vec, {}),
                             ("fasttext", FastText, dict(min_n=3, max_n=6, bucket=2_000_000))]:
        for mode in ["iterable", "corpus_file"]:
            m = cls(**kw, **extra)
            t0 = time.perf_counter()
            if mode == "iterable":
                m.build_vocab(docs)
            else:
                m.build_vocab(corpus_file=path)
            t1 = time.perf_counter()
            if mode == "iterable":
                trained, raw = m.train(docs, total_examples=len(docs), epochs=5)
            else:
                trained, raw = m.train(corpus_file=path, total_words=m.corpus_total_words,
                                       total_examples=len(docs), epochs=5)
            t2 = time.perf_counter()
            secs = t2 - t1
            results[f"{name}_{mode}"] = {
                "vocab": len(m.wv), "build_vocab_s": round(t1 - t0, 2),
                "train_s": round(secs, 2), "raw_words": tokens * 5,
                "raw_words_per_s": round(tokens * 5 / secs),
                "gensim_effective_words": trained,
                "neighbours": {w: [x for x, _ in m.wv.most_similar(w, topn=5)]
                               for w in PROBE if w in m.wv},
            }
            if name == "fasttext":
                results[f"{name}_{mode}"]["oov_runnings_vs_running"] = float(
                    m.wv.similarity("runnings", "running")) if "running" in m.wv else None
            print(name, mode, json.dumps(results[f"{name}_{mode}"]), flush=True)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"fixture": fixture, "check": check, "corpus": corpus, "speed": speed}[cmd](*args)
