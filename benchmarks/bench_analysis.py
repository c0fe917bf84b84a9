"""What the summary, the importance analysis and the TensorBoard export cost on a default-sized grid.

Synthetic cell files shaped like the default grid's (216 cells, 3 repetitions x 5 folds + 3 holdout
models, 20 epochs of curves), so no cell is trained. Prints seconds per step: its first run (which pays for
the imports it needs, as the rule's run does) and the best of 3:

    .venv/bin/python benchmarks/bench_analysis.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from gridflow.analysis.importance import write_importance  # noqa: E402
from gridflow.analysis.summary import write_summary  # noqa: E402
from gridflow.data.load import load_dataset
from gridflow.data.split import FULL, load_split, make_split, save_split  # noqa: E402
from gridflow.io import file_digest  # noqa: E402
from gridflow.report.tensorboard import write_tensorboard  # noqa: E402
from gridflow.results.arrays import cell_arrays, write_arrays  # noqa: E402
from gridflow.results.record import CellRecord, Execution, ModelRecord, Seeds, Timing, arrays_path, write_record  # noqa: E402
from gridflow.spec.grid import cell_id, expand_grid  # noqa: E402

GRID = {
    "hidden_units": [1, 32, 64],
    "activation": ["linear", "relu"],
    "dropout": [0, 0.3, 0.6],
    "batch_size": [4, 16, 32],
    "learning_rate": [0.01, 0.1, 0.5, 1],
}
REPETITIONS, FOLDS, EPOCHS = 3, 5, 20


def write_cells(folder: Path, split_path: Path) -> list[str]:
    """Every cell's metrics.json and models.npz as training writes them: each model's class probabilities on the
    rows the split gives it, random, and 20 epochs of curves."""
    rng = np.random.default_rng(0)
    split, digest = load_split(split_path), file_digest(split_path)
    paths = []
    for values in expand_grid(GRID):
        models, outputs = [], []
        for repetition in range(REPETITIONS):
            for fold in [*range(FOLDS), FULL]:
                rows = len(split.eval_labels(fold))
                models.append(ModelRecord(repetition=repetition, fold=fold, role="test" if fold == FULL else "cv",
                                          seeds=Seeds(1, 2), status="ok", epochs_run=EPOCHS, fit_seconds=0.01,
                                          n_train=len(split.y_train) - rows, n_eval=rows))  # fmt: skip
                p = rng.uniform(0.0, 1.0, size=rows).astype(np.float32)
                outputs.append(np.stack([p, 1 - p], axis=1))
        curve = list(np.linspace(0.7, 0.1, EPOCHS))
        histories = [{"loss": curve, "accuracy": curve, "val_loss": curve, "val_accuracy": curve}] * len(models)
        record = CellRecord(cell=cell_id(values), params=values, status="ok", error=None, key_digest="0" * 16,
                            settings={}, split_digest=digest, trainer="fused", trainer_note=None, trained_from=0,
                            trained_from_note=None, n_params=100, timing=Timing(fit_seconds=0.2), peak_rss_mb=0.0,
                            versions={}, execution=Execution("bench", 0, None, 1), models=models)  # fmt: skip
        path = folder / "cells" / cell_id(values) / "metrics.json"
        keys = ("loss", "accuracy", "val_loss", "val_accuracy")
        write_arrays(cell_arrays(outputs, histories, history_keys=keys), arrays_path(path))
        write_record(record, path)
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
        split = folder / "split.npz"
        save_split(make_split(load_dataset("breast_cancer", None), test_size=0.2, cv_folds=FOLDS,
                              validation_size=0.2, seed=42), split)  # fmt: skip
        paths = write_cells(folder, split)
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
