#!/usr/bin/env python3
"""Per-cell wall time of a small notebook in the real evcxr kernel: one table.

Executes benches/notebook_cells.ipynb RUNS times (a fresh kernel each time, the kernel's
compiled dependencies kept in $EVCXR_TMPDIR as in every notebook run) and prints, per code
cell, the wall time of each run and the median.

    benches/notebook_cells.py [--runs 3] [--notebook PATH]

Run it through `bash scripts/bench-cells` (which sets up the kernel's environment).
"""
import argparse
import os
import statistics
import sys
import time

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
run_notebook = __import__("run-notebook")


def run_once(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=3600, kernel_name="rust",
                            resources={"metadata": {"path": os.path.dirname(path)}},
                            startup_timeout=900)
    times = []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t0 = time.perf_counter()
            client.execute_cell(cell, index)
            times.append((cell.source.strip().splitlines()[0][:60], time.perf_counter() - t0))
            errors = [o for o in cell.outputs if o.get("output_type") == "error"]
            if errors:
                sys.exit(f"cell {index} failed: {errors[0].get('evalue')}\n{run_notebook.outputs_text(cell)}")
    return times


def main():
    run_notebook.clean_cargo_env()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--notebook", default=os.path.join(here, "notebook_cells.ipynb"))
    args = ap.parse_args()
    runs = []
    for r in range(args.runs):
        t = run_once(os.path.abspath(args.notebook))
        print(f"[cells] run {r + 1}: {sum(s for _, s in t):.1f} s", file=sys.stderr, flush=True)
        runs.append(t)
    head = " | ".join(f"run {i + 1}" for i in range(args.runs))
    print(f"| cell | {head} | median |")
    print("|---|" + "---:|" * (args.runs + 1))
    for i, (src, _) in enumerate(runs[0]):
        ts = [run[i][1] for run in runs]
        cells = " | ".join(f"{t:.2f} s" for t in ts)
        print(f"| `{src}` | {cells} | {statistics.median(ts):.2f} s |")


if __name__ == "__main__":
    main()
