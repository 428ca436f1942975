#!/usr/bin/env python3
"""Per-cell wall time of a small notebook in the real evcxr kernel: one table.

Executes benches/notebook_cells.ipynb RUNS times in each mode (a fresh kernel each time, the
kernel's compiled dependencies kept in $EVCXR_TMPDIR as in every notebook run), the modes
alternating, and prints per code cell the median of each mode and every run. The modes switch
the three parts of our kernel patch (scripts/evcxr-kernel.patch) through the kernel's
environment:

- `infer`: as close to evcxr 0.22.0 as the patch allows: rust-analyzer runs for every cell
  (GENRE_NLP_KERNEL_ALWAYS_INFER=1; a written type is still not also inferred), every cell goes
  through cargo (GENRE_NLP_KERNEL_ALWAYS_CARGO=1) and a final expression is compiled twice when
  its type has no `evcxr_display` (GENRE_NLP_KERNEL_TWO_TRIES=1);
- `explicit`: annotated types read from the syntax, rust-analyzer only for a cell that needs
  inference; cargo and the two tries as in evcxr (the kernel of the previous release);
- `direct`: the default: also rustc run directly while cargo would find every dependency
  fresh, and one compilation for every final expression.

    benches/notebook_cells.py [--runs 2] [--modes infer,explicit,direct] [--notebook PATH]

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


MODES = {
    "infer": {"GENRE_NLP_KERNEL_ALWAYS_INFER": "1", "GENRE_NLP_KERNEL_ALWAYS_CARGO": "1",
              "GENRE_NLP_KERNEL_TWO_TRIES": "1"},
    "explicit": {"GENRE_NLP_KERNEL_ALWAYS_CARGO": "1", "GENRE_NLP_KERNEL_TWO_TRIES": "1"},
    "direct": {},
}
SWITCHES = sorted({name for env in MODES.values() for name in env})


def run_once(path, mode):
    for name in SWITCHES:
        os.environ.pop(name, None)
    os.environ.update(MODES[mode])
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
    ap.add_argument("--runs", type=int, default=2, help="runs per mode")
    ap.add_argument("--modes", default="infer,explicit,direct",
                    help="comma-separated, of: " + ", ".join(MODES))
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--notebook", default=os.path.join(here, "notebook_cells.ipynb"))
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        ap.error(f"--modes: unknown {unknown}; expected some of {list(MODES)}")
    runs = {m: [] for m in modes}
    for r in range(args.runs):
        for mode in modes:
            t = run_once(os.path.abspath(args.notebook), mode)
            print(f"[cells] {mode} run {r + 1}: {sum(s for _, s in t):.1f} s",
                  file=sys.stderr, flush=True)
            runs[mode].append(t)
    medians = " | ".join(f"{m} (median)" for m in modes)
    each = " | ".join(f"{m} {i + 1}" for m in modes for i in range(args.runs))
    print(f"| cell | {medians} | {each} |")
    print("|---|" + "---:|" * (len(modes) * (args.runs + 1)))
    first = runs[modes[0]][0]
    for i, (src, _) in enumerate(first):
        med = " | ".join(f"{statistics.median(run[i][1] for run in runs[m]):.2f} s" for m in modes)
        all_ = " | ".join(f"{run[i][1]:.2f} s" for m in modes for run in runs[m])
        print(f"| `{src}` | {med} | {all_} |")
    totals = " | ".join(f"{statistics.median(sum(s for _, s in run) for run in runs[m]):.1f} s"
                        for m in modes)
    print(f"| all cells | {totals} |" + " |" * (len(modes) * args.runs))


if __name__ == "__main__":
    main()
