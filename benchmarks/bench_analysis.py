"""What the summary, the importance analysis and the TensorBoard export cost, on the default grid or a huge one.

Synthetic cell files, so no cell is trained: shaped like the default grid's (216 cells, 3 repetitions x 5
folds + 3 holdout models, 20 epochs of curves), or with --cells like bench_scale.py's tiny cells (10,000 or
100,000 cells of 2 folds + 1 holdout model, 1 epoch). Prints seconds per step: its first run (which pays for
the imports it needs, as the rule's run does) and the best of 3 (the first only, with --cells), and the
peak memory after it of this process and of the largest process it started (a summary of 5,000 cells or
more is scored in a process per core):

    .venv/bin/python benchmarks/bench_analysis.py                 # ~15 s
    .venv/bin/python benchmarks/bench_analysis.py --cells 10000   # ~2 minutes
    .venv/bin/python benchmarks/bench_analysis.py --cells 100000  # ~20 minutes, most of it writing the cells
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gridflow.analysis.importance import write_importance  # noqa: E402
from gridflow.analysis.summary import write_summary  # noqa: E402
from gridflow.data.load import load_dataset
from gridflow.data.split import FULL, load_split, make_split, save_split  # noqa: E402
from gridflow.io import file_digest  # noqa: E402
from gridflow.report.tensorboard import write_tensorboard  # noqa: E402
from gridflow.results.arrays import cell_arrays, write_arrays  # noqa: E402
from gridflow.results.record import CellRecord, Execution, ModelRecord, Seeds, Timing, arrays_path, write_record  # noqa: E402
from gridflow.spec.grid import cell_id, expand_grid  # noqa: E402


@dataclass(frozen=True)
class Shape:
    grid: dict
    repetitions: int
    folds: int
    epochs: int


# The default grid's shape.
GRID = {
    "hidden_units": [1, 32, 64],
    "activation": ["linear", "relu"],
    "dropout": [0, 0.3, 0.6],
    "batch_size": [4, 16, 32],
    "learning_rate": [0.01, 0.1, 0.5, 1],
}
REPETITIONS, FOLDS, EPOCHS = 3, 5, 20
DEFAULT = Shape(grid=GRID, repetitions=REPETITIONS, folds=FOLDS, epochs=EPOCHS)


def huge(cells: int) -> Shape:
    """bench_scale.py's grid of tiny cells."""
    from bench_scale import grid

    return Shape(grid=grid(cells), repetitions=1, folds=2, epochs=1)


def write_cells(folder: Path, split_path: Path, shape: Shape) -> list[str]:
    """Every cell's metrics.json and models.npz as training writes them: each model's class probabilities on the
    rows the split gives it, random, and a curve per epoch."""
    rng = np.random.default_rng(0)
    split, digest = load_split(split_path), file_digest(split_path)
    paths = []
    for values in expand_grid(shape.grid):
        models, outputs = [], []
        for repetition in range(shape.repetitions):
            for fold in [*range(shape.folds), FULL]:
                rows = len(split.eval_labels(fold))
                models.append(ModelRecord(repetition=repetition, fold=fold, role="test" if fold == FULL else "cv",
                                          seeds=Seeds(1, 2), status="ok", epochs_run=shape.epochs, fit_seconds=0.01,
                                          n_train=len(split.y_train) - rows, n_eval=rows))  # fmt: skip
                p = rng.uniform(0.0, 1.0, size=rows).astype(np.float32)
                outputs.append(np.stack([p, 1 - p], axis=1))
        curve = list(np.linspace(0.7, 0.1, shape.epochs))
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


def timed(step, repeats: int) -> tuple[float, float]:
    """Seconds of the first run (with this process's imports) and of the best of ``repeats``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return times[0], min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, help="10000 or 100000 tiny cells instead of the default grid")
    args = parser.parse_args()
    shape = huge(args.cells) if args.cells else DEFAULT
    grid, folds = shape.grid, shape.folds
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        split = folder / "split.npz"
        save_split(make_split(load_dataset("breast_cancer", None), test_size=0.2, cv_folds=folds,
                              validation_size=0.2, seed=42), split)  # fmt: skip
        started = time.perf_counter()
        paths = write_cells(folder, split, shape)
        print(f"{len(paths)} cells, {shape.repetitions * (folds + 1)} models each, written in "
              f"{time.perf_counter() - started:.0f} s; seconds: first run, best of {1 if args.cells else 3}; "
              "peak memory after the step: this process's, its largest child's")  # fmt: skip
        summary, log = folder / "summary.csv", folder / "log"
        steps = {
            "summary.csv + best.json (incl. t-tests, baseline)": lambda: write_summary(
                metric_paths=paths, axes=sorted(grid), metric="accuracy", alpha=0.05, split_path=str(split),
                csv_path=str(summary), best_path=str(folder / "best.json"), log_path=str(log),
                processes=os.cpu_count()),
            "importance.csv (1,000 bootstrap resamples)": lambda: write_importance(
                summary_csv=str(summary), grid=grid, metric="accuracy", folds=folds,
                csv_path=str(folder / "importance.csv"), log_path=str(log)),
            "TensorBoard runs, first write": lambda: write_tensorboard(
                summary_csv=str(summary), cells_dir=str(folder / "cells"), grid=grid, metric="accuracy",
                output=str(folder / f"tb{time.perf_counter_ns()}" / "events.out.tfevents.gridflow"),
                log_path=str(log)),
            "TensorBoard runs, nothing changed": lambda: write_tensorboard(
                summary_csv=str(summary), cells_dir=str(folder / "cells"), grid=grid, metric="accuracy",
                output=str(folder / "tb" / "events.out.tfevents.gridflow"), log_path=str(log)),
        }  # fmt: skip
        for name, step in steps.items():
            first, best = timed(step, 1 if args.cells else 3)
            # This process's peak, and its scoring processes' (the larger of them), which ran beside it.
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"{name:55s} {first:6.2f} {best:6.2f} {peak:6.0f} MB {children:6.0f} MB", flush=True)


if __name__ == "__main__":
    main()
