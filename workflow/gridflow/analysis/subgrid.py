"""The grid's cells as a complete factorial: split scores on every axis, and the values to drop to complete it."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction

import numpy as np
import pandas as pd

from gridflow.analysis.folds import usable_rows
from gridflow.results.grammar import param_column


def _value_index(values: pd.Series, options: Sequence) -> np.ndarray:
    """Position of every value among ``options`` (-1 if absent).

    Exact match first, then by text: a table read back from CSV may hold ``"relu"`` or ``0.5`` where the config
    holds the same value, but also ``"True"`` where the config holds ``True``.
    """
    exact: dict[Hashable, int] = {}
    text: dict[str, int] = {}
    for i, option in enumerate(options):
        exact.setdefault(option, i)
        text.setdefault(str(option), i)

    def position(value) -> int:
        try:
            if value in exact:
                return exact[value]
        except TypeError:  # unhashable: fall through to the text
            pass
        return text.get(str(value), -1)

    return np.array([position(v) for v in values], dtype=int)


def cube(table: pd.DataFrame, grid: Mapping[str, Sequence], columns: Sequence[str]) -> np.ndarray:
    """Split scores on the full factorial: shape ``(n_axis_1, ..., n_axis_d, K)``, NaN where a cell is not usable.

    Rows whose values are not in the grid (an older config) are ignored; two rows for one cell are an error.
    """
    axes = list(grid)
    shape = tuple(len(grid[a]) for a in axes)
    cube = np.full((*shape, len(columns)), np.nan)
    if table.empty:
        return cube
    positions = np.column_stack([_value_index(table[param_column(a)], grid[a]) for a in axes])
    keep = usable_rows(table, columns) & (positions >= 0).all(axis=1)
    where = [tuple(p) for p in positions[keep]]
    if len(set(where)) != len(where):
        raise ValueError("several rows of the table are the same grid cell")
    scores = table[list(columns)].to_numpy(dtype=float)[keep]
    for point, row in zip(where, scores):
        cube[point] = row
    return cube


def complete_subgrid(ok: np.ndarray) -> list[list[int]]:
    """Which values of each axis to keep so that every kept cell is ok: a greedy choice.

    While a kept cell is not ok, drop the one axis value whose slice has the largest share of bad cells
    (bad cells removed per cell removed), among axes that still have at least 2 values. Ties go first to a removal
    that leaves its axis with 2 or more values (an axis left with 1 value drops out of the decomposition), then to
    the lower axis position, then to the lower value position: deterministic.

    Parameters
    ----------
    ok : bool array, one dimension per axis, True where a cell is usable.

    Returns
    -------
    For each axis, the kept value positions in increasing order. An axis may end with a single value; if the last
    cell left is bad, every axis keeps one value and the caller finds no ok cell.
    """
    kept = [list(range(n)) for n in ok.shape]
    while True:
        sub = ok[np.ix_(*kept)]
        if sub.all():
            return kept
        bad = ~sub
        best: tuple | None = None
        for axis, values in enumerate(kept):
            if len(values) < 2:
                continue
            others = tuple(i for i in range(ok.ndim) if i != axis)
            bad_per_value = bad.sum(axis=others) if others else bad.astype(int)
            removed = sub.size // len(values)
            for position, n_bad in enumerate(bad_per_value):
                # Fractions: exact ratios, so ties are ties and the tie-break decides, not rounding.
                key = (-Fraction(int(n_bad), removed), len(values) == 2, axis, position)
                if best is None or key < best:
                    best = key
        if best is None:  # every axis has one value and that cell is bad
            return kept
        _, _, axis, position = best
        del kept[axis][position]


def kept_by_name(ok: np.ndarray, axes: Sequence[str]) -> list[list[int]]:
    """:func:`complete_subgrid` with ties between axes going by axis name rather than grid order."""
    # complete_subgrid prefers lower axis positions, so hand it the axes sorted by name and map back.
    order = sorted(range(len(axes)), key=lambda i: str(axes[i]))
    kept = complete_subgrid(np.transpose(ok, order))
    return [kept[order.index(i)] for i in range(len(axes))]
