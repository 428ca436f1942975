"""The sentence-transformers peer of benches/minilm.rs: embeds the texts of a JSON-lines file
with the same model files, threads, batch size and max length, and prints one JSON line
(docs/s, ms/doc, peak RSS). `--out` writes the embeddings as float32 .npy.

    python st_embed.py --model-dir DIR --texts texts.jsonl --threads 2 --batch-size 32 \
        --max-length 256 [--out emb.npy] [--warmup 32]
"""
import argparse, json, resource, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=32)
    ap.add_argument("--out")
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    import numpy as np
    from sentence_transformers import SentenceTransformer
    texts = [json.loads(l) for l in open(a.texts, encoding="utf-8") if l.strip()]
    model = SentenceTransformer(a.model_dir, device="cpu")
    model.max_seq_length = a.max_length
    with torch.inference_mode():
        model.encode(texts[: a.warmup], batch_size=a.batch_size, normalize_embeddings=True)
        t0 = time.perf_counter()
        emb = model.encode(texts, batch_size=a.batch_size, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False)
        secs = time.perf_counter() - t0
    tok = model.tokenizer(texts, truncation=True, max_length=a.max_length)
    tokens = sum(len(ids) for ids in tok["input_ids"])
    if a.out:
        np.save(a.out, emb.astype(np.float32))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peer": f"sentence-transformers {__import__('sentence_transformers').__version__} "
                              f"torch {torch.__version__.split('+')[0]}",
                      "docs": len(texts), "tokens": tokens, "seconds": secs,
                      "docs_per_s": len(texts) / secs, "ms_per_doc": 1000 * secs / len(texts),
                      "peak_rss_mb": peak_mb, "threads": a.threads}))

if __name__ == "__main__":
    main()
