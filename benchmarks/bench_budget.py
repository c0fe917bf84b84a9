"""The training budget, side by side in one run: successive halving against the exhaustive grid, and more epochs
going on from kept states against training them from epoch 0.

    .venv/bin/python benchmarks/bench_budget.py                 # both parts, about 6 minutes on 2 cores
    .venv/bin/python benchmarks/bench_budget.py --only halving  # or: --only epochs

halving: a 64-cell grid on breast cancer (3 folds, 5 repetitions, batches of 1),
every cell for 27 epochs, then successive halving with factor 3 from 3 to 27
epochs; each run in a fresh folder with an empty loop cache. Prints both runs'
wall time, the cell-epochs each trained, the best cell of each, and whether
halving's best is the exhaustive grid's best or tied with it (the corrected
t-test of the exhaustive summary).

epochs: the default grid (config/config.yaml) for 20 epochs, then raised to
40 in the same folder (each cell goes on from its kept state), against the
40-epoch grid from epoch 0 in a fresh folder sharing the loop cache. Prints
both 40-epoch runs' wall time and training time (the cells' fit seconds
summed), and the largest difference between their summaries.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from workflow_runs import ROOT, describe, run_workflow

sys.path.insert(0, str(ROOT / "workflow"))
from gridflow.spec.search import without_budget  # noqa: E402

# 64 cells in 2 compiled loops (the learning rate and dropout are inputs of the loop): training, not compiling,
# is what the budget changes.
HALVING_GRID = {
    "hidden_units": [128, 512],
    "dropout": [0.0, 0.2, 0.4, 0.6],
    "learning_rate": [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2],
}
HALVING_TRAINING = {"repetitions": 5, "cv_folds": 3, "batch_size": 1}
# Columns that say how a run went, not what it computed.
MEASURED = ["mean_fit_time", "std_fit_time", "fit_seconds", "loop_source", "trained_from"]


def environment(cache: Path) -> dict:
    env = {**os.environ, "GRIDFLOW_XLA_CACHE": str(cache), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_XLA_FLAGS", None)
    return env


def read(workdir: Path) -> tuple[pd.DataFrame, dict]:
    return pd.read_csv(workdir / "results/summary.csv"), json.loads((workdir / "results/best.json").read_text())


def halving(tmp: Path, cores: int) -> None:
    exhaustive_config = {"training": {**HALVING_TRAINING, "epochs": 27}, "grid": HALVING_GRID}
    halving_config = {"training": HALVING_TRAINING, "grid": HALVING_GRID,
                      "search": {"strategy": "halving", "factor": 3, "min_epochs": 3, "max_epochs": 27}}  # fmt: skip
    exhaustive = run_workflow(tmp / "exhaustive", exhaustive_config, cores, environment(tmp / "cache-exhaustive"))
    halved = run_workflow(tmp / "halving", halving_config, cores, environment(tmp / "cache-halving"))
    table, best = read(tmp / "exhaustive")
    halved_table, halved_best = read(tmp / "halving")
    cells = len(table)
    exhaustive_epochs = cells * 27
    trained = halved_best["search"]["cell_epochs_trained"]
    rounds = ", ".join(f"{r['cells']} cells x {r['epochs']}" for r in halved_best["search"]["rounds"])
    if best["cell"] is None or halved_best["cell"] is None:
        raise SystemExit("a run has no ok cell: nothing to compare")
    grid_cell = without_budget(halved_best["cell"])
    same = table.set_index("cell").loc[grid_cell]
    print(f"| run | wall s | cell-epochs | best cell | CV {best['metric']} |")
    print("|---|---|---|---|---|")
    print(f"| exhaustive, {cells} cells x 27 epochs | {exhaustive.wall:.1f} | {exhaustive_epochs} | {best['cell']} | "
          f"{best['cv'][best['metric']]['mean']:.4f} |")  # fmt: skip
    print(f"| halving ({rounds}) | {halved.wall:.1f} | {trained} | {halved_best['cell']} | "
          f"{halved_best['cv'][best['metric']]['mean']:.4f} |")  # fmt: skip
    print(f"exhaustive: {describe(exhaustive)}")
    print(f"halving: {describe(halved)}")
    print(f"halving / exhaustive: {trained / exhaustive_epochs:.0%} of the cell-epochs, "
          f"{halved.wall / exhaustive.wall:.0%} of the wall time")  # fmt: skip
    tied = str(same["tied_with_best"]) == "True"
    verdict = "the same cell" if grid_cell == best["cell"] else f"{'' if tied else 'NOT '}tied with it"
    verdict += f" (p_vs_best {same['p_vs_best']:.3f})"
    metric = best["metric"]
    halved_mean = float(halved_table.set_index("cell").loc[halved_best["cell"], f"mean_test_{metric}"])
    print(
        f"halving's best in the exhaustive grid: rank {int(same[f'rank_test_{metric}'])}, {verdict}; its CV mean "
        f"there {same[f'mean_test_{metric}']:.4f}, in the halving run {halved_mean:.4f}"
    )


def epochs(tmp: Path, cores: int) -> None:
    default = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    longer = copy.deepcopy(default)
    longer["training"]["epochs"] = 40
    env = environment(tmp / "cache")
    run_workflow(tmp / "going-on", default, cores, env)
    going_on = run_workflow(tmp / "going-on", longer, cores, env)
    scratch = run_workflow(tmp / "scratch", longer, cores, env)
    on_table, scratch_table = (pd.read_csv(tmp / name / "results/summary.csv") for name in ("going-on", "scratch"))
    fit_on = sum(r["timing"]["fit_seconds"] for r in going_on.records)
    fit_scratch = sum(r["timing"]["fit_seconds"] for r in scratch.records)
    a, b = (t.drop(columns=MEASURED).set_index("cell").sort_index() for t in (on_table, scratch_table))
    numbers = a.select_dtypes("number").columns
    largest = float((a[numbers] - b[numbers]).abs().max().max())
    print("| 40 epochs of the default grid | wall s | fit s (cells summed) | trained from |")
    print("|---|---|---|---|")
    print(f"| going on from the 20-epoch states | {going_on.wall:.1f} | {fit_on:.1f} | "
          f"{sorted({r['trained_from'] for r in going_on.records})} |")  # fmt: skip
    print(f"| from epoch 0 | {scratch.wall:.1f} | {fit_scratch:.1f} | "
          f"{sorted({r['trained_from'] for r in scratch.records})} |")  # fmt: skip
    print(f"going on / from epoch 0: {fit_on / fit_scratch:.0%} of the training time, "
          f"{going_on.wall / scratch.wall:.0%} of the wall time; summaries differ by at most {largest:.2g} "
          f"(non-numeric columns equal: {a.drop(columns=numbers).equals(b.drop(columns=numbers))})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--only", choices=["halving", "epochs"])
    args = parser.parse_args()
    print(f"# the training budget: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"--cores {args.cores}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "halving"):
            halving(Path(tmp), args.cores)
        if args.only in (None, "epochs"):
            epochs(Path(tmp), args.cores)


if __name__ == "__main__":
    main()
