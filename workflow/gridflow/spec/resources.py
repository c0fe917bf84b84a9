"""What a cell job asks a scheduler for: its runtime and its memory."""

from __future__ import annotations

from collections.abc import Mapping

# One cluster job's process: Snakemake and TensorFlow (measured 0.85 GB for a
# job of the Slurm test's grid), shared by the cells the job trains.
PROCESS_MB = 1500
# What each cell adds on top: its data, models, and compiled loop.
CELL_MB = 100
# A cluster run submits at most about this many jobs of cells: a larger grid puts more cells in each job.
MAX_CELL_JOBS = 200


def cells_per_cluster_job(asked: int, n_cells: int) -> int:
    """Cells one cluster job trains: ``asked`` (--group-components cells=N, 8 in profiles/slurm), or as many
    as keep a grid of ``n_cells`` within MAX_CELL_JOBS jobs (10,000 cells: 50 a job). A scheduler handles a
    few hundred jobs well, each job's Snakemake process costs seconds to start, and its cells share one
    TensorFlow process."""
    return max(asked, -(-n_cells // MAX_CELL_JOBS))


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


def cell_data_mb(training: Mapping, *, rows: int, features: int) -> int:
    """What a cell's data take in its process: the prepared features of every model, and the training loop's
    copies of them (one per model, as float32, twice while they go to TensorFlow).

    Measured for a 200,000-row file making 321 features (2 folds, 1 repetition):
    the largest process of a run 7.2 GB with two cells at once, this estimate 3.1 GB a cell plus the process's
    (benchmarks/bench_tabular.py). Negligible for small data sets.
    """
    folds = training["cv_folds"] or 1
    models = training["repetitions"] * (folds + 1)
    one_copy_mb = rows * features * 4 / 1e6
    return int(one_copy_mb * ((folds + 1) + 3 * models))


def cell_mem_mb(cells_at_once: int, attempt: int = 1, data_mb: int = 0) -> int:
    """A cell's share of its job's memory: the process split over the cells that train in it at once, plus
    its own and its data's.

    A group of cells asks for the sum of the shares of the cells that run at once (Snakemake lays a group
    wider than its CPUs out in rounds). A job holding
    fewer cells than a full group (the grid's last, a rerun of a few) asks for
    less than its process needs and may be killed for it: its retry asks for
    a whole process per cell, and twice that on each further retry.
    """
    if attempt == 1:
        return -(-PROCESS_MB // cells_at_once) + CELL_MB + data_mb
    return (PROCESS_MB + CELL_MB + data_mb) * 2 ** (attempt - 2)
