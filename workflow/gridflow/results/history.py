"""Per-epoch training history of a cell's models, averaged over its cross-validation models."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from gridflow.results.arrays import CellArrays, read_arrays
from gridflow.results.record import CellRecord, arrays_path, read_record


def read_cell(metrics_path: str | Path) -> tuple[CellRecord, CellArrays]:
    """A cell's record and, from models.npz beside it, what its models computed."""
    return read_record(metrics_path), read_arrays(arrays_path(metrics_path))


def mean_curve(record: CellRecord, arrays: CellArrays, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per epoch of ``key`` over the cell's CV models.

    Models that stopped early (diverged) count only for the epochs they ran.
    """
    curves = [arrays.curve(i, key, m.epochs_run) for i, m in enumerate(record.models) if m.role == "cv"]
    length = max((len(c) for c in curves), default=0)
    stacked = np.full((len(curves), length), np.nan)
    for row, curve in zip(stacked, curves):
        row[: len(curve)] = curve
    if not length:
        return np.zeros(0), np.zeros(0)
    with warnings.catch_warnings():
        # An epoch every model has NaN for (all diverged by then) is NaN, as meant: no warning.
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(stacked, axis=0), np.nanstd(stacked, axis=0)
