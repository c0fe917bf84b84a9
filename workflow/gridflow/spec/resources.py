"""What a cell job asks a scheduler for: its runtime and its memory."""

from __future__ import annotations

from collections.abc import Mapping

# One cluster job's process: Snakemake and TensorFlow (measured 0.85 GB for a
# job of the Slurm test's grid), shared by the cells the job trains.
PROCESS_MB = 1500
# What each cell adds on top: its data, models, and compiled loop.
CELL_MB = 100


def cell_runtime_minutes(
    training: Mapping, *, epochs: int, batch_size: int, n_train_rows: int, attempt: int = 1
) -> int:
    """An honest upper bound of one cell job's wall time, for a scheduler.

    One minute of start-up (imports, compiling) plus every model's steps at
    ``model.fit``'s pace on a CPU (about 3 ms per step of a small network),
    so even a cell that falls back to ``model.fit`` fits; doubled per retry.
    """
    folds = training["cv_folds"] or 1
    models = training["repetitions"] * (folds + 1)
    steps = epochs * -(-n_train_rows // batch_size)
    seconds = 60 + models * steps * 0.003
    return int(-(-seconds // 60)) * 2 ** (attempt - 1)


def cell_mem_mb(cells_per_job: int, attempt: int = 1) -> int:
    """A cell's share of its job's memory: the process split over the job's cells, plus its own.

    A group of cells asks for the sum of its cells' shares. A job holding
    fewer cells than a full group (the grid's last, a rerun of a few) asks for
    less than its process needs and may be killed for it: its retry asks for
    a whole process per cell, and twice that on each further retry.
    """
    if attempt == 1:
        return -(-PROCESS_MB // cells_per_job) + CELL_MB
    return (PROCESS_MB + CELL_MB) * 2 ** (attempt - 2)
