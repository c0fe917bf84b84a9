"""Per-epoch training history of a cell's models, averaged over its cross-validation models."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from gridflow.results.record import ModelRecord


def mean_curve(models: Sequence[ModelRecord], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per epoch of history[key] over the CV models.

    Models that stopped early (diverged) count only for the epochs they ran.
    """
    curves = [m.history.get(key, []) for m in models if m.role == "cv"]
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
