"""A large tabular file end to end: 200,000 rows, 40 columns (half text categories, numeric gaps), a 16-cell grid.

    .venv/bin/python benchmarks/bench_tabular.py                  # about 2 minutes on 2 cores
    .venv/bin/python benchmarks/bench_tabular.py --rows 20000     # a quicker look

Writes the file (scripts/tabular_data.py `wide`) as Parquet and as CSV, reads
each through gridflow's loader side by side, then runs the workflow on the
Parquet file with scaler x impute x hidden_units x learning_rate as the grid
(2 folds, 1 repetition, 2 epochs, batches of 256). Prints the wall time, the
time per cell, the features the preprocessing made, the peak memory of the
training process (the cells' records) and of every process of the run.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from workflow_runs import ROOT, describe, run_workflow

sys.path[:0] = [str(ROOT / "workflow"), str(ROOT / "scripts")]

from tabular_data import wide  # noqa: E402

from gridflow.data.load import load_dataset  # noqa: E402

GRID = {"hidden_units": [8, 32], "learning_rate": [0.01, 0.1], "impute": ["median", "mean"],
        "scaler": ["standard", "minmax"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--columns", type=int, default=40)
    args = parser.parse_args()
    print(f"{platform.machine()}, {platform.python_version()}; {args.rows} rows x {args.columns} columns")
    with tempfile.TemporaryDirectory(prefix="bench-tabular-") as tmp:
        workdir = Path(tmp)
        table = wide(args.rows, args.columns)
        table.to_parquet(workdir / "data.parquet", index=False)
        table.to_csv(workdir / "data.csv", index=False)
        for name in ("data.parquet", "data.csv"):
            started = time.perf_counter()
            data = load_dataset(str(workdir / name), "label")
            size = (workdir / name).stat().st_size / 1e6
            print(f"read {name} ({size:.0f} MB): {time.perf_counter() - started:.1f} s, "
                  f"{len(data.categories)} categorical columns")  # fmt: skip
        config = {"dataset": {"source": "data.parquet", "target": "label"},
                  "training": {"epochs": 2, "batch_size": 256, "repetitions": 1, "cv_folds": 2},
                  "export": {"tensorboard": False}, "grid": GRID}  # fmt: skip
        run = run_workflow(workdir, config, 2)
        records = run.records
        print(f"workflow: {describe(run)}")
        print(f"per cell: {run.wall / len(records):.1f} s of wall time; preprocessing: {records[0]['preprocessing']}")
        print(
            f"training process peak memory: {max(r['peak_rss_mb'] for r in records):.0f} MB; "
            f"any process of the run: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB"
        )
        best = json.loads((workdir / "results/best.json").read_text())
        accuracy, chance = best["cv"]["accuracy"]["mean"], best["baseline"]["cv"]["accuracy"]["mean"]
        print(f"cells ok: {sum(r['status'] == 'ok' for r in records)} of {len(records)}; best {best['cell']}: "
              f"CV accuracy {accuracy:.3f} (chance baseline {chance:.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
