"""Feature scaling, fitted on one model's own training samples."""

from __future__ import annotations

import numpy as np


def fit_scaler(name: str, x: np.ndarray):
    """Return a function that scales features as fitted on ``x`` alone."""
    if name == "none":
        return lambda a: a.astype(np.float32)
    if name == "standard":
        center, scale = x.mean(axis=0), x.std(axis=0)
    elif name == "minmax":
        center, scale = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
    else:
        raise ValueError(f"unknown scaler {name!r}")
    scale = np.where(scale > 0, scale, 1.0)
    return lambda a: ((a - center) / scale).astype(np.float32)
