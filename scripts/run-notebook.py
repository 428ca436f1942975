#!/usr/bin/env python3
"""Execute a notebook headless through the evcxr kernel and save the executed copy.

Unlike `jupyter nbconvert --execute`, this prints every failing cell's source and its full
error output (evcxr's compile errors included) and exits non-zero on the first error.

    run-notebook.py NOTEBOOK --out EXECUTED.ipynb [--timeout SECONDS]
"""
import argparse
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def outputs_text(cell):
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
            parts.extend(out.get("traceback", []))
        else:
            data = out.get("data", {})
            if "text/plain" in data:
                parts.append(data["text/plain"])
    return "\n".join(parts)


# Variables cargo sets for the crate it runs (`cargo test` runs the notebook tests). The kernel
# would inherit them, and build scripts in the kernel's build (ring's, through cc) list several
# as rerun-if-env-changed: a kernel started by `cargo test` and one started by scripts/notebook
# would then rebuild ring, rustls, reqwest and polars (≈ 15 min) every time they alternate.
CARGO_RUN_VARS = ("CARGO", "CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH", "CARGO_CRATE_NAME",
                  "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "CARGO_RUSTC_CURRENT_DIR",
                  "CARGO_MANIFEST_LINKS", "OUT_DIR",
                  # set by rustup's proxy around `cargo test`, absent in a plain shell
                  "RUSTUP_TOOLCHAIN", "RUSTUP_TOOLCHAIN_SOURCE", "RUST_RECURSION_COUNT")
CARGO_RUN_PREFIXES = ("CARGO_PKG_", "CARGO_BIN_", "CARGO_CFG_")


def clean_cargo_env():
    for name in list(os.environ):
        if name in CARGO_RUN_VARS or name.startswith(CARGO_RUN_PREFIXES):
            del os.environ[name]
    # rustup's proxy also spells out the default CARGO_HOME; a plain shell leaves it unset.
    if os.environ.get("CARGO_HOME") == os.path.expanduser("~/.cargo"):
        del os.environ["CARGO_HOME"]


def main():
    clean_cargo_env()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("notebook")
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    ap.add_argument("--kernel", default="rust")
    args = ap.parse_args()

    # The kernel inherits it: MLflow runs logged from the notebook name it as their source
    # (Jupyter Server sets JPY_SESSION_NAME for the same purpose; nbclient does not).
    os.environ["GENRE_NOTEBOOK"] = os.path.basename(args.notebook)
    nb = nbformat.read(args.notebook, as_version=4)
    workdir = os.path.dirname(os.path.abspath(args.notebook))
    client = NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name=args.kernel,
        resources={"metadata": {"path": workdir}},
        startup_timeout=900,  # a cold kernel may wait for another build of the shared cache
    )
    timings = []
    started = time.time()
    failed = None

    # Execute cell by cell so we can time each one and report errors with their source.
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t0 = time.time()
            try:
                client.execute_cell(cell, index)
            except CellExecutionError:
                failed = (index, cell)
            elapsed = time.time() - t0
            timings.append((index, elapsed))
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            print(f"[notebook] cell {index:>2} {elapsed:7.1f}s  {first[:70]}", file=sys.stderr, flush=True)
            if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                failed = (index, cell)
            if failed:
                break

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    nbformat.write(nb, args.out)
    total = time.time() - started
    if failed:
        index, cell = failed
        print(f"\n[notebook] cell {index} FAILED\n--- source ---\n{cell.source}\n--- output ---\n"
              f"{outputs_text(cell)}\n", file=sys.stderr)
        print(f"[notebook] partial executed copy: {args.out}", file=sys.stderr)
        sys.exit(1)
    print(f"[notebook] executed {len(timings)} code cells in {total:.1f}s -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
