"""What the summary, the importance analysis and the TensorBoard export cost on a default-sized grid.

Synthetic metrics files shaped like the default grid's (216 cells, 3 repetitions x 5 folds + 3 holdout
models, 20 epochs of curves), so no cell is trained. Prints seconds per step: its first run (which pays for
the imports it needs, as the rule's run does) and the best of 3:

    .venv/bin/python benchmarks/bench_analysis.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from gridflow.analysis.importance import write_importance  # noqa: E402
from gridflow.analysis.summary import write_summary  # noqa: E402
from gridflow.data.load import load_dataset
from gridflow.data.split import make_split, save_split  # noqa: E402
from gridflow.report.tensorboard import write_tensorboard  # noqa: E402
from gridflow.spec.grid import cell_id, expand_grid  # noqa: E402

GRID = {
    "hidden_units": [1, 32, 64],
    "activation": ["linear", "relu"],
    "dropout": [0, 0.3, 0.6],
    "batch_size": [4, 16, 32],
    "learning_rate": [0.01, 0.1, 0.5, 1],
}
REPETITIONS, FOLDS, EPOCHS = 3, 5, 20


def model(rng, role: str, repetition: int, fold) -> dict:
    accuracy = float(rng.uniform(0.9, 0.98))
    metrics = {"accuracy": accuracy, "loss": 1 - accuracy, "roc_auc": accuracy, "f1": accuracy,
               "precision": accuracy, "recall": accuracy}  # fmt: skip
    curve = list(np.linspace(0.7, 0.1, EPOCHS))
    history = {"loss": curve, "accuracy": curve, "val_loss": curve, "val_accuracy": curve}
    return {"role": role, "repetition": repetition, "fold": fold, "status": "ok", "metrics": metrics,
            "history": history, "fit_seconds": 0.01, "n_train": 364, "n_eval": 91}  # fmt: skip


def write_cells(folder: Path) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for values in expand_grid(GRID):
        models = [model(rng, "cv", r, f) for r in range(REPETITIONS) for f in range(FOLDS)]
        models += [model(rng, "test", r, "full") for r in range(REPETITIONS)]
        record = {"cell": cell_id(values), "params": values, "status": "ok", "error": None, "n_params": 100,
                  "trainer": "fused", "timing": {"fit_seconds": 0.2}, "models": models}  # fmt: skip
        path = folder / "cells" / cell_id(values) / "metrics.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(record))
        paths.append(str(path))
    return paths


def first_and_best_of_3(step) -> tuple[float, float]:
    """Seconds of the first run (with this process's imports) and of the best of three."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return times[0], min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_cells(folder)
        split = folder / "split.npz"
        save_split(make_split(load_dataset("breast_cancer", None), test_size=0.2, cv_folds=FOLDS,
                              validation_size=0.2, seed=42), split)  # fmt: skip
        summary, log = folder / "summary.csv", folder / "log"
        steps = {
            "summary.csv + best.json (incl. t-tests, baseline)": lambda: write_summary(
                metric_paths=paths, axes=sorted(GRID), metric="accuracy", alpha=0.05, split_path=str(split),
                csv_path=str(summary), best_path=str(folder / "best.json"), log_path=str(log)),
            "importance.csv (1,000 bootstrap resamples)": lambda: write_importance(
                summary_csv=str(summary), grid=GRID, metric="accuracy", folds=FOLDS,
                csv_path=str(folder / "importance.csv"), log_path=str(log)),
            "TensorBoard runs, first write": lambda: write_tensorboard(
                summary_csv=str(summary), metric_paths=paths, grid=GRID, metric="accuracy",
                output=str(folder / f"tb{time.perf_counter_ns()}" / "events.out.tfevents.gridflow"),
                log_path=str(log)),
            "TensorBoard runs, nothing changed": lambda: write_tensorboard(
                summary_csv=str(summary), metric_paths=paths, grid=GRID, metric="accuracy",
                output=str(folder / "tb" / "events.out.tfevents.gridflow"), log_path=str(log)),
        }  # fmt: skip
        print(f"{len(paths)} cells, {REPETITIONS * (FOLDS + 1)} models each; seconds: first run, best of 3")
        for name, step in steps.items():
            first, best = first_and_best_of_3(step)
            print(f"{name:55s} {first:6.2f} {best:6.2f}")


if __name__ == "__main__":
    main()
