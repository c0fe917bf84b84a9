"""The built-in preprocessing, fitted on one model's own training samples: fill gaps, scale, one-hot encode.

Numeric gaps are filled with the training samples' median or mean (or a
constant), then the numeric columns are scaled (gridflow.data.scale). Each
categorical column becomes one 0/1 feature per category, in its place, plus
one for a gap where the data set has gaps in it. A category the training
samples never show encodes as all zeros, as scikit-learn's
``OneHotEncoder(handle_unknown="ignore")`` does: its feature is zero in
training too, so the model learns nothing from it. Every model of a data set
thus gets the same number of features. No TensorFlow.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gridflow.data.scale import fit_scaler


@dataclass(frozen=True)
class Layout:
    """What the encoding's shape depends on, the same for every model of a split.

    ``widths``: per column, None (numeric) or its one-hot width (categories,
    plus one for a gap when the column has any).
    """

    names: list[str]
    widths: list[int | None]
    gaps: list[str]  # the columns with any gap, numeric or categorical

    @property
    def n_features(self) -> int:
        return sum(1 if w is None else w for w in self.widths)

    def describe(self) -> dict:
        """What the encoding does to the columns, for a cell's record."""
        one_hot = [n for n, w in zip(self.names, self.widths) if w is not None]
        numeric_gaps = [n for n, w in zip(self.names, self.widths) if w is None and n in self.gaps]
        return {"columns_in": len(self.names), "features_out": self.n_features, "one_hot": one_hot,
                "imputed": numeric_gaps}  # fmt: skip


def layout_of(*parts: np.ndarray, names: list[str], categories: dict[str, list[str]]) -> Layout:
    """The layout of a data set's features, from all its rows (``parts``): which columns have gaps, every category."""
    has_gap = np.logical_or.reduce([np.isnan(x).any(axis=0) for x in parts])
    widths = [None if n not in categories else len(categories[n]) + int(has_gap[j]) for j, n in enumerate(names)]
    return Layout(list(names), widths, [n for j, n in enumerate(names) if has_gap[j]])


def fit_encoding(
    x: np.ndarray, layout: Layout, *, scaler: str, impute: str, fill_value: float
) -> Callable[[np.ndarray], np.ndarray]:
    """A function from raw feature rows to the model's float32 features, fitted on the rows ``x`` alone."""
    numeric = [j for j, w in enumerate(layout.widths) if w is None]
    if len(numeric) == x.shape[1]:  # numbers only: taken as they are (a column subset would change the sums' order)
        fills = _fills(x, impute, fill_value)
        scale = fit_scaler(scaler, _filled(x, fills))
        return lambda rows: scale(_filled(rows, fills))
    fills = _fills(x[:, numeric], impute, fill_value)
    scale = fit_scaler(scaler, _filled(np.ascontiguousarray(x[:, numeric]), fills))
    seen = {j: np.isin(np.arange(w), _slots(x[:, j], w)) for j, w in enumerate(layout.widths) if w is not None}

    def encode(rows: np.ndarray) -> np.ndarray:
        out = np.zeros((len(rows), layout.n_features), dtype=np.float32)
        scaled, at, k = scale(_filled(np.ascontiguousarray(rows[:, numeric]), fills)), 0, 0
        for j, width in enumerate(layout.widths):
            if width is None:
                out[:, at], at, k = scaled[:, k], at + 1, k + 1
                continue
            slots = _slots(rows[:, j], width)
            known = seen[j][slots]
            out[np.flatnonzero(known), at + slots[known]] = 1.0
            at += width
        return out

    return encode


def _fills(x: np.ndarray, impute: str, fill_value: float) -> np.ndarray:
    """Each numeric column's fill for a gap; under median or mean, a column with no value in ``x`` gets 0."""
    if impute == "constant":
        return np.full(x.shape[1], fill_value, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column of gaps only: handled below
        fills = np.nanmedian(x, axis=0) if impute == "median" else np.nanmean(x, axis=0)
    return np.where(np.isnan(fills), 0.0, fills).astype(np.float32)


def _filled(x: np.ndarray, fills: np.ndarray) -> np.ndarray:
    gaps = np.isnan(x)
    return np.where(gaps, fills, x) if gaps.any() else x


def _slots(codes: np.ndarray, width: int) -> np.ndarray:
    """Each row's one-hot slot: its category code, or the last slot for a gap."""
    return np.where(np.isnan(codes), width - 1, codes).astype(np.int64)
